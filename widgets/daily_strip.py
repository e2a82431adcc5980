"""The daily strip: one bar per day for the last two weeks, spike days marked with '!' (and a colour)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rich.text import Text
from textual.widget import Widget

from . import fmt
from .gauge import fit_parts


@dataclass(slots=True, frozen=True)
class Day:
    day: date
    value: float
    spike: bool = False


class DailyStrip(Widget):
    """Bars on all rows but the last, which carries each day's date. The caption says what a bar measures."""

    COMPONENT_CLASSES = {"strip--bar", "strip--spike", "strip--today", "strip--label", "strip--caption"}
    DEFAULT_CSS = "DailyStrip { height: 2; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.days: list[Day] = []
        self.caption: list[str] = []

    def show(self, days: list[Day], caption: list[str]) -> None:
        """`caption`: parts, most important first; as many whole parts as fit beside the bars are shown."""
        if (days, caption) != (self.days, self.caption):
            self.days, self.caption = list(days), list(caption)
            self.refresh()

    def _style(self, name: str):
        return self.get_component_rich_style(name, partial=True)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        if not self.days:
            return text
        width, height = self.size
        n = len(self.days)
        # Cells first (four columns fit '!27 '), the caption gets what is left.
        cell = max(min((width - 20) // n, 5), 4 if width >= n * 4 else 3)
        caption = fit_parts(self.caption, max(width - n * cell - 1, 0))
        bar_rows = max(height - 1, 1)
        top = max(d.value for d in self.days) or 1.0
        levels = [round(d.value / top * bar_rows * 8) if d.value > 0 else 0 for d in self.days]
        for row in range(bar_rows - 1, -1, -1):
            for i, (d, level) in enumerate(zip(self.days, levels)):
                fill = min(max(level - row * 8, 0), 8)
                if row == 0 and d.value > 0:
                    fill = max(fill, 1)
                style = "strip--spike" if d.spike else ("strip--today" if i == n - 1 else "strip--bar")
                text.append(fmt.BLOCKS[fill] * (cell - 1) + " ", self._style(style))
            if row == bar_rows - 1:
                text.append(caption, self._style("strip--caption"))
            text.append("\n")
        for d in self.days:
            label = ("!" if d.spike else "") + str(d.day.day)
            style = "strip--spike" if d.spike else "strip--label"
            text.append(label[-(cell - 1):].rjust(cell - 1) + " ", self._style(style))
        return text
