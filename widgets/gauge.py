"""A one- or two-line gauge: label, bar, percent, and a detail line; coloured by level through CSS classes."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from . import fmt

LEVELS = ((100, "-over"), (80, "-high"), (60, "-warn"))
"""Percent thresholds → the CSS class the gauge takes (usage.tcss colours them); below 60 it is "-ok"."""


def level_class(pct: float | None) -> str:
    if pct is None:
        return "-none"
    for threshold, name in LEVELS:
        if pct >= threshold:
            return name
    return "-ok"


class Gauge(Widget):
    """Used vs cap. Line 1: `Week ██████░░░░ 42%`; line 2 (when the widget is 2 rows tall): the detail text.
    Without a cap the bar gives way to a thin rule (or `empty`, e.g. "no budget set") and the amount used, so a
    missing number never looks like 0%; the screen says once, elsewhere, how to get one."""

    COMPONENT_CLASSES = {"gauge--label", "gauge--bar", "gauge--empty", "gauge--value", "gauge--detail"}
    DEFAULT_CSS = "Gauge { height: 1; }"

    def __init__(self, label: str, *, id: str | None = None, classes: str | None = None, empty: str = "") -> None:
        super().__init__(id=id, classes=classes)
        self.label = label
        self.empty = empty
        self.pct: float | None = None
        self.value_text = "–"
        self.detail: list[str] = []
        self.add_class("-none")

    def show(self, pct: float | None, value_text: str, detail: str | list[str] = "") -> None:
        """Set what the gauge says; redraws only when something changed. `detail` may be a list of parts, most
        important first: as many whole parts as fit are shown, joined by ' · '."""
        detail = [detail] if isinstance(detail, str) else list(detail)
        if (pct, value_text, detail) == (self.pct, self.value_text, self.detail):
            return
        self.pct, self.value_text, self.detail = pct, value_text, detail
        for _, name in (*LEVELS, (0, "-ok"), (0, "-none")):
            self.set_class(name == level_class(pct), name)
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def render(self) -> Text:
        width = self.size.width
        label = f"{self.label} "
        marker = "" if self.pct is None or self.pct < 80 else (" !!" if self.pct >= 100 else " !")
        value = f" {self.value_text}{marker}"
        room = width - len(label) - len(value)
        line = Text(no_wrap=True, overflow="crop")
        line.append(label, self._style("gauge--label"))
        if self.pct is None:
            room = max(room, 0)
            text = fmt.fit(self.empty, room).ljust(room) if self.empty else "╌" * room
            line.append(text, self._style("gauge--empty"))
        elif room > 0:
            filled = round(min(self.pct, 100) / 100 * room)
            line.append("█" * filled, self._style("gauge--bar"))
            line.append("░" * (room - filled), self._style("gauge--empty"))
        line.append(value, self._style("gauge--value"))
        if self.size.height < 2 or not self.detail:
            return line
        line.append("\n")
        line.append(fit_parts(self.detail, width), self._style("gauge--detail"))
        return line


def fit_parts(parts: list[str], width: int, sep: str = " · ") -> str:
    """Whole parts, in order, while they fit; the first part alone is shortened at a word if it must be."""
    parts = [p for p in parts if p]
    if not parts:
        return ""
    out = fmt.fit(parts[0], width)
    for part in parts[1:]:
        if len(out) + len(sep) + len(part) > width:
            break
        out += sep + part
    return out
