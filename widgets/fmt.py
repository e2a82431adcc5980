"""Formatting for narrow terminal cells: compact numbers, money, durations, local times, word-boundary fitting."""

from __future__ import annotations

import os
from datetime import datetime, tzinfo

BLOCKS = " ▁▂▃▄▅▆▇█"
"""Eighth-height bars for one-line sparklines (index 0 = nothing)."""


def tokens(n: int | float | None) -> str:
    """1234 → '1.2k', 12_345_678 → '12.3M'."""
    if n is None:
        return "–"
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def money(usd: float | None, unpriced: bool = False) -> str:
    if usd is None:
        return "–"
    mark = "*" if unpriced else ""
    if 0 < usd < 0.005:
        return f"<$0.01{mark}"  # never show a real cost as nothing
    if abs(usd) >= 1000:
        return f"${usd:,.0f}{mark}"
    if abs(usd) >= 100:
        return f"${usd:.0f}{mark}"
    return f"${usd:.2f}{mark}"


def pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}%"


def countdown(ms: int) -> str:
    """Time left as '2d 04:13' (days, hours:minutes) or '04:13:09' under a day, for a ticking header."""
    seconds = max(int(ms // 1000), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


def duration(ms: int | None) -> str:
    """A span as '3d 4h', '2h 05m', '7m' or '40s'."""
    if ms is None:
        return "–"
    seconds = max(int(ms // 1000), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def local(ts_ms: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz)


def when(ts_ms: int | None, now_ms: int, tz: tzinfo) -> str:
    """Last-activity label: '14:03' today, 'Tue 14:03' this week, else '2026-11-03'."""
    if ts_ms is None:
        return "–"
    t, now = local(ts_ms, tz), local(now_ms, tz)
    if t.date() == now.date():
        return t.strftime("%H:%M")
    if abs((now - t).days) < 6:
        return t.strftime("%a %H:%M")
    return t.strftime("%Y-%m-%d")


def project_name(path: str | None) -> str:
    """The last part of a project path ('/home/a/src/app' → 'app'); home shown as '~'."""
    if not path:
        return "–"
    trimmed = path.rstrip("/")
    if trimmed == os.path.expanduser("~").rstrip("/"):
        return "~"
    return trimmed.rsplit("/", 1)[-1] or path


def model_short(model: str) -> str:
    """'claude-sonnet-4-5-20250929' → 'sonnet-4-5'; unknown ids pass through, minus a 'claude-' prefix."""
    name = model.rsplit("/", 1)[-1]
    if name.startswith("claude-"):
        name = name[len("claude-"):]
    parts = name.split("-")
    while parts and len(parts[-1]) == 8 and parts[-1].isdigit():  # a date suffix
        parts.pop()
    return "-".join(parts) or model


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


def count(n: int, noun: str) -> str:
    """`1 row`, `2 rows`: a number with its noun in the right form."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"
