"""Shown instead of the monitor while the terminal is smaller than 80x24: cut tables would mislead."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

MIN_SIZE = (80, 24)


class ChecksSize:
    """Mixed into the main screens: a resize is seen by the screen on top (the app's own Resize handler stops the
    event), which asks the app to compare the size with MIN_SIZE. Textual runs this beside a screen's own
    on_resize (it calls the handler of every class in the MRO)."""

    def on_resize(self) -> None:
        self.app.check_size()


class TooSmallScreen(ChecksSize, Screen):
    """Pushed and popped by the app as the terminal resizes; q and ctrl+c still quit."""

    def compose(self) -> ComposeResult:
        yield Static(self._text(self.app.size), id="too-small", markup=False)

    def show_size(self, size) -> None:
        for notice in self.query("#too-small").results(Static):  # none yet while the screen composes
            notice.update(self._text(size))

    @staticmethod
    def _text(size) -> str:
        return (f"tokentop needs a terminal of at least {MIN_SIZE[0]}×{MIN_SIZE[1]} (this one is "
                f"{size.width}×{size.height}).\nMake the window bigger, or press q to quit.")
