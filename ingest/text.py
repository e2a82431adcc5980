"""How tokentop writes numbers for people: durations, local times, percentages, money, token counts and window
labels, one spelling each, shared by the command line, the statusline, the hook, alerts and the widgets.

Pure functions of plain values (a window status is read through the few attributes it needs), so the widgets can
use them without reaching the store or the usage maths."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime, tzinfo
from typing import Protocol

from .clock import MINUTE_MS, local_day, local_time

UNKNOWN = "–"
"""How a figure that is not known reads."""

# -- durations --------------------------------------------------------------------------------------


def duration(ms: int | None) -> str:
    """A span for a table cell, to the second under a minute: '3d 4h', '2h 05m', '7m', '40s'."""
    if ms is None:
        return UNKNOWN
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


def span(ms: int) -> str:
    """A span in a sentence ("cap reached in 1d 20h"), to the minute: '1d 20h', '2d', '1h 30m', '45m', '<1m'."""
    minutes = max(0, int(ms // MINUTE_MS))
    if minutes < 1:
        return "<1m"
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {mins}m" if mins else f"{hours}h"
    return f"{mins}m"


def countdown(ms: int) -> str:
    """Time left as '2d 04:13' (days, hours:minutes) or '04:13:09' under a day, for a ticking header."""
    seconds = max(int(ms // 1000), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}"
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"


# -- times ------------------------------------------------------------------------------------------


def local(ts_ms: int, tz: tzinfo) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, tz)


def clock_time(ms: int, zone: tzinfo, now_ms: int | None = None) -> str:
    """A moment ahead or just past (a reset, an ETA, when an alert fired): "Sat 14:20"; on `now_ms`'s local day
    just "14:20"; a week or more away, with its date ("Sat 12 Dec 02:11": a month's ETA nine days out is not
    this Saturday)."""
    when = local_time(ms, zone)
    if now_ms is not None and local_day(now_ms, zone) == when.date():
        return when.strftime("%H:%M")
    if now_ms is not None and abs(ms - now_ms) >= 7 * 86_400_000:
        return when.strftime("%a %d %b %H:%M")
    return when.strftime("%a %H:%M")


def when(ts_ms: int | None, now_ms: int, tz: tzinfo) -> str:
    """Last-activity label: '14:03' today, 'Tue 14:03' this week, else '2026-11-03'."""
    if ts_ms is None:
        return UNKNOWN
    t, now = local(ts_ms, tz), local(now_ms, tz)
    if t.date() == now.date():
        return t.strftime("%H:%M")
    if abs((now - t).days) < 6:
        return t.strftime("%a %H:%M")
    return t.strftime("%Y-%m-%d")


def iso_local(ms: int | None, tz) -> str | None:
    """Unix ms → ISO-8601 in `tz`, to the second (the shape every JSON output uses)."""
    return local_time(ms, tz).isoformat(timespec="seconds") if ms is not None else None


# -- amounts ----------------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    if value is None:
        return UNKNOWN
    return f"{value:.0f}%"


def money(usd: float | None, unpriced: bool = False) -> str:
    """Compact dollars for a cell: '$3.53', '$123', '$1,234', '<$0.01'; `unpriced` marks a lower bound ('≥ $3.53'):
    some of what it sums has no known price."""
    if usd is None:
        return UNKNOWN
    mark = "≥ " if unpriced else ""
    if 0 < usd < 0.005:
        return f"{mark}<$0.01"  # never show a real cost as nothing
    if abs(usd) >= 1000:
        return f"{mark}${usd:,.0f}"
    if abs(usd) >= 100:
        return f"{mark}${usd:.0f}"
    return f"{mark}${usd:.2f}"


def money_total(usd: float | None, unpriced: int) -> str:
    """A total that says how many requests it could not price: '≥ $12.40 · 3 unpriced'."""
    return money(usd, bool(unpriced)) + (f" · {unpriced:,} unpriced" if unpriced else "")


def dollars(usd: float, unpriced: int | bool = 0) -> str:
    """Exact dollars for reports and messages: '$1,234.56'; with unpriced requests in it '≥ $1,234.56 · 3 unpriced'
    (a bare True: just the '≥')."""
    text = ("≥ " if unpriced else "") + f"${usd:,.2f}"
    if unpriced and unpriced is not True:
        text += f" · {int(unpriced):,} unpriced"
    return text


def tokens(n: int | float | None) -> str:
    """Compact: 1234 → '1.2k', 12_345_678 → '12.3M'."""
    if n is None:
        return UNKNOWN
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.1f}{unit}"
    return f"{n:.0f}"


def token_count(n: int | float) -> str:
    """Exact, in a sentence: '2,500 tokens'."""
    return f"{n:,.0f} tokens"


def count(n: int, noun: str) -> str:
    """`1 row`, `2 rows`: a number with its noun in the right form."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


# -- usage windows ----------------------------------------------------------------------------------

_LABELS = {
    "week": "Claude weekly limit",
    "five_hour": "Claude 5-hour limit",
    "week_opus": "Claude weekly Opus limit",
    "week_sonnet": "Claude weekly Sonnet limit",
    "week_fable": "Claude weekly Fable limit",
    "month": "Monthly budget",
    "day": "Daily usage",
}


class WindowFigures(Protocol):
    """What the window texts read of a `usage.windows.WindowStatus`."""

    @property
    def name(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def window_source(self) -> str: ...
    @property
    def used_pct(self) -> float | None: ...
    @property
    def start_ms(self) -> int: ...
    @property
    def end_ms(self) -> int: ...


def window_label(name: str) -> str:
    """"week" → "Claude weekly limit": how messages name a window (also "day", which only alerts use)."""
    return _LABELS.get(name, name)


def pct_text(status: WindowFigures | None) -> str:
    """"62%" for an official figure, "~62%" for a calibrated or configured one, "–" when unknown."""
    if status is None or status.used_pct is None:
        return UNKNOWN
    mark = "" if status.source == "official" else "~"
    return f"{mark}{status.used_pct:.0f}%"


def reset_text(status: WindowFigures | None, zone, now: int) -> str:
    """When a window resets, in local time: "Tue 09:00" (or "14:00" today, "Dec 01" for a month); "–" for a
    rolling 7-day guess or a 5-hour window not running."""
    if status is None or status.window_source == "guess" or (status.window_source == "activity"
                                                                and status.start_ms >= now):
        return UNKNOWN
    if status.name == "month":
        return local_time(status.end_ms, zone).strftime("%b %d")
    return clock_time(status.end_ms, zone, now)


LIVE_MS = 5 * MINUTE_MS
"""An official figure confirmed this recently reads as live (no age): the statusline's `FRESH_MS`."""


def official_text(status, now: int) -> str:
    """Where a window's official figure stands: "official" (live), "official · 1h old" when it is the % shown,
    "official 41% · 1h old" under a % that has added local usage since; "" without one."""
    pct, at = getattr(status, "official_pct", None), getattr(status, "official_at_ms", None)
    if status is None or pct is None or at is None:
        return ""
    shown = status.source == "official" and status.used_pct is not None and abs(status.used_pct - pct) < 0.5
    head = "official" if shown else f"official {pct:.0f}%"
    age = now - at
    return head if age < LIVE_MS else f"{head} · {span(age)} old"


def model_short(model: str) -> str:
    """'claude-sonnet-4-5-20250929' → 'sonnet-4-5'; unknown ids pass through, minus a vendor and a 'claude-' prefix.
    Where two ids shown together read the same after this, `model_labels` tells them apart."""
    name = model.rsplit("/", 1)[-1]
    if name.startswith("claude-"):
        name = name[len("claude-"):]
    parts = name.split("-")
    while parts and len(parts[-1]) == 8 and parts[-1].isdigit():  # a date suffix
        parts.pop()
    return "-".join(parts) or model


def model_labels(models: Iterable[str]) -> dict[str, str]:
    """model id → the name to show it by among `models` (one view): its short name, unless another id there shortens
    the same ('claude-opus-4-5-20251101' and 'claude-opus-4-5'); those keep their date ('opus-4-5-20251101',
    'opus-4-5'), and ids that still read the same (vendor prefixes) are shown whole."""
    ids = sorted(set(models))
    short = {m: model_short(m) for m in ids}
    seen = Counter(short.values())
    labels = {m: short[m] if seen[short[m]] == 1 else m.rsplit("/", 1)[-1].removeprefix("claude-") for m in ids}
    seen = Counter(labels.values())
    return {m: label if seen[label] == 1 else m for m, label in labels.items()}


def model_names(models: Iterable[str]) -> str:
    """The models of one row, each by its label among them: 'opus-4-6, haiku-4-5'."""
    models = list(models)
    labels = model_labels(models)
    return ", ".join(labels[m] for m in models)

