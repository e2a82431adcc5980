"""The `/` filter prompt: a small modal that returns the text typed (empty clears) or None when cancelled."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class FilterModal(ModalScreen[str | None]):
    """Enter applies the text, Escape leaves the filter as it was."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cancel_filter", tooltip="Close without changing the filter")]

    def __init__(self, current: str = "", prompt: str = "Filter") -> None:
        super().__init__(classes="filter-modal")
        self.current = current
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(id="filter-box"):
            yield Static(self.prompt, id="filter-prompt", markup=False)
            yield Input(self.current, placeholder="text to match; empty shows everything", id="filter-input")
            yield Static("Enter to apply · Esc to cancel", id="filter-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _submit(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
