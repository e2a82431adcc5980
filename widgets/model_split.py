"""Share of tokens and of estimated cost per model family (Opus / Sonnet / Haiku / other)."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from . import fmt

NAMES = {"opus": "Opus", "sonnet": "Sonnet", "haiku": "Haiku", "other": "other"}


@dataclass(slots=True, frozen=True)
class Share:
    family: str
    token_share: float
    cost_share: float
    tokens: int = 0
    cost_usd: float = 0.0


def share_text(share: float) -> str:
    """Whole percent, but '<1%' for a share that is small yet not zero (so it never reads as unused)."""
    if 0 < share < 0.005:
        return "<1%"
    return f"{share * 100:.0f}%"


class ModelSplit(Widget):
    """One row per family with a token bar and a cost bar, then (when there is room) the sessions that spent the
    most of the window; a single compact line when only one row fits."""

    COMPONENT_CLASSES = {"split--label", "split--tokens", "split--cost", "split--empty", "split--head"}
    DEFAULT_CSS = "ModelSplit { height: auto; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.shares: list[Share] = []
        self.top: list[tuple[str, float]] = []

    def show(self, shares: list[Share], top: list[tuple[str, float]] | None = None) -> None:
        """`top`: (label, share of the window 0..1) of the sessions that used it most."""
        top = list(top or [])
        if (shares, top) != (self.shares, self.top):
            self.shares, self.top = list(shares), top
            self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(len(self.shares), 1) + 1 + (len(self.top) + 2 if self.top else 0)

    def _style(self, name: str):
        return self.get_component_rich_style(name, partial=True)

    def render(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        if not self.shares:
            text.append("no use in this window", self._style("split--empty"))
            return text
        if self.size.height <= 1:
            return self._compact()
        width = self.size.width
        label_w = 7
        bar_w = max((width - label_w - 2 * 5 - 2) // 2, 3)
        head = " " * label_w + "tokens".ljust(bar_w + 5) + " est. cost"
        text.append(fmt.fit(head, width), self._style("split--head"))
        for s in self.shares:
            text.append("\n")
            text.append(NAMES.get(s.family, s.family).ljust(label_w), self._style("split--label"))
            self._bar(text, s.token_share, bar_w, "split--tokens")
            text.append(" ")
            self._bar(text, s.cost_share, bar_w, "split--cost")
        if self.top and self.size.height >= len(self.shares) + 4:
            text.append("\n\n")
            text.append(fmt.fit("Top sessions this window", width), self._style("split--head"))
            rows = self.size.height - len(self.shares) - 3
            for label, share in self.top[:rows]:
                value = share_text(share).rjust(5)
                text.append("\n")
                text.append(fmt.fit(label, width - len(value) - 1).ljust(width - len(value)))
                text.append(value, self._style("split--label"))
        return text

    def _bar(self, text: Text, share: float, width: int, style: str) -> None:
        filled = round(share * width)
        text.append("█" * filled, self._style(style))
        text.append("░" * (width - filled), self._style("split--empty"))
        text.append(share_text(share).rjust(5))

    def _compact(self) -> Text:
        text = Text(no_wrap=True, overflow="crop")
        text.append("tok/$ ", self._style("split--head"))  # each family: share of tokens / share of cost
        parts = []
        for s in self.shares:
            parts.append((NAMES.get(s.family, s.family),
                          f" {share_text(s.token_share)[:-1]}/{share_text(s.cost_share)}"))
        used = 6
        for i, (name, value) in enumerate(parts):
            piece = ("  " if i else "") + name + value
            if used + len(piece) > self.size.width:
                break  # whole entries only: never a name cut in half
            text.append("  " if i else "")
            text.append(name, self._style("split--label"))
            text.append(value)
            used += len(piece)
        return text
