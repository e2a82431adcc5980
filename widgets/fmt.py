"""Formatting for narrow terminal cells. Numbers, money, durations and times are spelled by `ingest.text` (the one
vocabulary the command line and the statusline use too); this adds what only cells need: word-boundary fitting,
sparkline blocks, short model and project names."""

from __future__ import annotations

import os

from ..ingest.text import (
    count,
    countdown,
    duration,
    local,
    model_labels,
    model_names,
    model_short,
    money,
    money_total,
    pct,
    tokens,
    when,
)

__all__ = ["BLOCKS", "count", "countdown", "duration", "fit", "local", "model_labels", "model_names", "model_short",
           "money", "money_total", "pct", "project_name", "spark", "tokens", "when"]

BLOCKS = " ▁▂▃▄▅▆▇█"
"""Eighth-height bars for one-line sparklines (index 0 = nothing)."""


def project_name(path: str | None) -> str:
    """The last part of a project path ('/home/a/src/app' → 'app'); home shown as '~'."""
    if not path:
        return "–"
    trimmed = path.rstrip("/")
    if trimmed == os.path.expanduser("~").rstrip("/"):
        return "~"
    return trimmed.rsplit("/", 1)[-1] or path


def fit(text: str | None, width: int) -> str:
    """Shorten to `width` cells at a word boundary with an ellipsis, so nothing is cut mid-word."""
    text = " ".join((text or "").split())
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    if width == 1:
        return "…"
    cut = text[: width - 1]
    space = cut.rfind(" ")
    # Keep at least half the room: a single long word (a path, an id) is better clipped than dropped.
    if space >= (width - 1) // 2:
        cut = cut[:space].rstrip(" ,·-")
    return cut + "…"


def spark(values: list[float], top: float | None = None) -> str:
    """One character per value, scaled to `top` (default: the largest value)."""
    top = top if top else max(values, default=0)
    if not top:
        return BLOCKS[1] * len(values) if values else ""
    out = []
    for v in values:
        level = round(min(max(v, 0) / top, 1) * 8)
        out.append(BLOCKS[max(level, 1) if v > 0 else 1])
    return "".join(out)
