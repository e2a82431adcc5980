"""The header line's parts: the ticking cap countdown (the only widget redrawn every second) and the status parts."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text
from textual.widget import Widget
from textual.widgets import Static

from . import fmt
from .gauge import fit_parts


class Countdown(Static):
    """'week resets in 2d 04:13 · Tue 09:00'. `tick(now_ms)` is called every second and repaints only when the
    text changes (once a minute above a day, every second below)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes, markup=False)
        self.label = "week"
        self.end_ms: int | None = None
        self.tz: tzinfo | None = None
        self._text = ""

    def set_target(self, label: str, end_ms: int | None, tz: tzinfo) -> None:
        self.label, self.end_ms, self.tz = label, end_ms, tz

    def text_at(self, now_ms: int) -> str:
        if self.end_ms is None or self.tz is None:
            return f"{self.label} reset unknown"
        left = self.end_ms - now_ms
        at = fmt.local(self.end_ms, self.tz).strftime("%a %H:%M")
        if left <= 0:
            return f"{self.label} reset due · {at}"
        return f"{self.label} resets in {fmt.countdown(left)} · {at}"

    def next_change_ms(self, now_ms: int) -> int:
        """Milliseconds until `text_at` gives another text: the countdown's next whole minute above a day, its
        next whole second below (60 s when there is nothing to count down)."""
        if self.end_ms is None or self.end_ms <= now_ms:
            return 60_000
        left = self.end_ms - now_ms
        if left < 1000:
            return left  # "00:00:00" until the reset itself, then "reset due"
        unit = 60_000 if left >= 86_400_000 else 1000
        return left % unit + 1

    def tick(self, now_ms: int) -> None:
        text = self.text_at(now_ms)
        if text != self._text:
            self._text = text
            self.update(text)

    @property
    def text(self) -> str:
        return self._text


class StatusParts(Widget):
    """The right side of the header: as many whole parts as fit, most important first, right-aligned."""

    DEFAULT_CSS = "StatusParts { height: 1; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.parts: list[str] = []

    def show(self, parts: list[str]) -> None:
        parts = [p for p in parts if p]
        if parts != self.parts:
            self.parts = parts
            self.refresh()

    @property
    def text(self) -> str:
        return fit_parts(self.parts, self.size.width or 80)

    def render(self) -> Text:
        return Text(self.text.rjust(self.size.width), no_wrap=True, overflow="crop")
