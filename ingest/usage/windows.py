"""What a usage window is: the names tokentop and Claude Code give them, how long each lasts, where their bounds
fall (official resets, a configured "tue 09:00" reset, the calendar month, the 5-hour window that follows
activity), `WindowStatus`, the record of how much of one is used, and the threshold message that names one (its
words come from `ingest.text`)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo

from ..clock import HOUR_MS, WEEK_MS, local_day, local_ms, next_midnight_ms
from ..text import UNKNOWN, dollars, pct_text, reset_text, window_label
from .forecast import Forecast

WindowName = Literal["week", "five_hour", "week_opus", "week_sonnet", "week_fable", "month"]
"""The windows tokentop reports on."""
OfficialKey = Literal["five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet", "seven_day_fable"]
"""Claude Code's `rate_limits` keys, as official samples store them."""

FIVE_HOURS_MS = 5 * HOUR_MS

OFFICIAL_WINDOWS: dict[OfficialKey, WindowName] = {
    "seven_day": "week",
    "five_hour": "five_hour",
    "seven_day_opus": "week_opus",
    "seven_day_sonnet": "week_sonnet",
    "seven_day_fable": "week_fable",
}
"""Claude Code's `rate_limits` keys → the window names tokentop uses."""
OFFICIAL_KEY: dict[WindowName, OfficialKey] = {v: k for k, v in OFFICIAL_WINDOWS.items()}
"""The other way round: which official key carries a window's %."""
MODEL_WINDOWS: tuple[WindowName, ...] = ("week_opus", "week_sonnet", "week_fable")
"""The per-model weekly caps: the statusline may carry Opus and Sonnet, Claude Code's cache all three (§4)."""

WINDOW_LENGTH_MS: dict[OfficialKey, int] = {"five_hour": FIVE_HOURS_MS, "seven_day": WEEK_MS,
                                            "seven_day_opus": WEEK_MS, "seven_day_sonnet": WEEK_MS,
                                            "seven_day_fable": WEEK_MS}
"""How long each official window lasts: a sample's reset must fall within that span of the moment it was taken."""

@dataclass
class Calibration:
    """used % ≈ k × local usage, fitted through the origin on official samples."""

    k: float
    """% of the cap per unit of `proxy` (per USD, or per token)."""
    proxy: str
    """"cost" (estimated USD) or "tokens" (all tokens): whichever tracked the samples better."""
    rmse: float
    """Root-mean-square error of the fit on its samples, in percentage points."""
    samples: int


@dataclass
class WindowStatus:
    """One usage window and how much of its cap is used."""

    name: WindowName
    start_ms: int
    end_ms: int
    """The reset time (a rolling 7-day guess ends now)."""
    source: str
    """Where used_pct comes from: "official" (a sample < 5 min old), "calibrated" (samples + local usage since),
    "configured" (your cap or budget); "guess" when the window itself is guessed. Without a %: where the window
    came from."""
    used_pct: float | None
    """None when no cap is known."""
    used_tokens: int
    used_cost: float
    """Estimated USD."""
    cap_tokens: int | None
    cap_usd: float | None
    """The configured cap, or the one implied by calibration (100 / k) in the proxy it chose."""
    official_pct: float | None
    official_at_ms: int | None
    forecast: Forecast | None
    top_sessions: list[tuple[str, float]]
    """(session_id, share of this window's usage 0..1), biggest first, at most 5: which sessions moved it."""
    window_source: str = "guess"
    """Where the window's bounds come from: "official", "configured" (week_reset), "activity" (5-hour window
    from the first request after the last one ended), "calendar" (month) or "guess" (the last 7 days)."""
    calibration: Calibration | None = None
    samples: int = 0
    """Official samples seen in this window."""
    counts: tuple[str, ...] = ()
    """The sources this window's usage counts (`cap_sources` for the subscription windows, every source for money)."""
    unpriced_requests: int = 0
    """Requests in the window without a price: `used_cost` is then a lower bound ("≥ $12.40 · 3 unpriced")."""
    claude_block: int | None = None
    """The 5-hour window's `apiBlockIndex` when Claude Code's own block numbering placed it (else the activity rule)."""

    @property
    def label(self) -> str:
        return window_label(self.name)


# -- window bounds ----------------------------------------------------------------------------------


def week_from_reset_spec(spec: str, zone: tzinfo, now: int) -> tuple[int, int]:
    """The week [start, end) containing `now` for a "tue 09:00 [Zone]" reset, in local wall time (DST-correct:
    a week that crosses a DST change is 167 or 169 hours long). The spec's own zone wins over `zone`."""
    from ..config import parse_week_reset  # config imports this package's callers: keep it lazy

    weekday, hour, minute, zone_name = parse_week_reset(spec)
    tz = ZoneInfo(zone_name) if zone_name else zone
    today = local_day(now, tz)
    day = today - timedelta(days=(today.weekday() - weekday) % 7)
    start = local_ms(day, hour, minute, tz)
    if start > now:
        day -= timedelta(days=7)
        start = local_ms(day, hour, minute, tz)
    return start, local_ms(day + timedelta(days=7), hour, minute, tz)


def month_bounds(zone: tzinfo, now: int) -> tuple[int, int]:
    """The calendar month containing `now` in `zone`, as [first day 00:00, next month's first day 00:00)."""
    today = local_day(now, zone)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return local_ms(first, 0, 0, zone), local_ms(following, 0, 0, zone)


def past_months(zone: tzinfo, start: int, count: int = 3) -> list[tuple[int, int]]:
    """The `count` calendar months before the one starting at `start`, oldest first."""
    out = []
    for _ in range(count):
        first = local_day(start - HOUR_MS, zone).replace(day=1)
        out.append((local_ms(first, 0, 0, zone), start))
        start = out[-1][0]
    return out[::-1]


def past_blocks(active_hours: Sequence[int], before: int) -> list[tuple[int, int]]:
    """The 5-hour windows that activity opened, from the starts of hours with usage (ascending), each ending by
    `before`: a window opens at the first active hour after the previous one ended, as `five_hour_start` reads
    the running one (past windows carry no block index in the hourly sums, so the activity rule stands)."""
    out: list[tuple[int, int]] = []
    for ts in active_hours:
        if ts + FIVE_HOURS_MS > before:
            break
        if not out or ts >= out[-1][1]:
            out.append((ts, ts + FIVE_HOURS_MS))
    return out


def roll_forward(end: int, now: int, period: int) -> int:
    """A reset time that has passed, moved on by whole periods to the first one after `now`."""
    if end > now:
        return end
    return end + ((now - end) // period + 1) * period


def five_hour_start(minutes: Sequence[int], now: int, not_before: int | None = None) -> int | None:
    """Start of the active 5-hour window from activity times (ascending), or None when none is active.

    Like the real limit, a window opens at the first request after the previous one ended and lasts 5 hours; its
    start is floored to the hour (as ccusage does, and as Claude's own reset times read)."""
    start = None
    lo = bisect_left(minutes, not_before) if not_before is not None else 0
    for ts in minutes[lo:bisect_left(minutes, now + 1)]:
        if start is None or ts >= start + FIVE_HOURS_MS:
            start = ts - ts % HOUR_MS
            if not_before is not None and start < not_before:
                start = not_before
    if start is None or now >= start + FIVE_HOURS_MS:
        return None
    return start


def claude_block(rows: Sequence[tuple[int, int | None]], now: int, not_before: int | None = None
                 ) -> tuple[int, int] | None:
    """(start, index) of the 5-hour window from `(ts, apiBlockIndex)` rows (ascending, up to now), or None when the
    newest request in the last 5 hours carries no index.

    The newest request's block began at the first request with the same index in the 5 hours before it (a block
    is never longer), floored to the hour as the activity rule floors. The index sees what the activity rule cannot:
    a new block that Claude Code (or usage elsewhere on the account) opened within 5 hours of the last one. A block
    that has ended gives a start of `now`: no window is running, the next request opens one."""
    if not rows or rows[-1][0] <= now - FIVE_HOURS_MS or rows[-1][1] is None:
        return None
    newest_ts, index = rows[-1]
    assert index is not None  # checked above
    first = newest_ts
    for ts, block in reversed(rows):
        if ts <= newest_ts - FIVE_HOURS_MS:
            break
        if block == index:
            first = ts
    start = first - first % HOUR_MS
    if not_before is not None and start < not_before:
        start = not_before
    if now >= start + FIVE_HOURS_MS:
        return now, index
    return start, index


# -- how a window reads ----------------------------------------------------------------------------


OWN_CAP_LABELS = {"week": "Your weekly cap", "five_hour": "Your 5-hour cap"}
"""How a window reads when its % is measured against the user's own configured cap, not Claude's limit."""


def own_cap(status: WindowStatus) -> bool:
    """Whether the % is against the user's own cap (configured, or on a guessed week), not Claude's figure."""
    return status.source in ("configured", "guess") and status.name in OWN_CAP_LABELS and status.used_pct is not None


def cap_label(status: WindowStatus) -> str:
    """"Claude weekly limit" for Claude's own (official or calibrated) figure; "Your weekly cap" for the user's."""
    return OWN_CAP_LABELS[status.name] if own_cap(status) else window_label(status.name)


def threshold_message(status: WindowStatus, zone: tzinfo, now: int) -> str:
    """"Claude weekly limit at 82% — resets Tue 09:00"; "Your weekly cap at ~85% ($85.00 of $100.00 est) — …"
    against a cap of the user's own (never "Claude … limit": Claude said nothing); money windows add the dollars."""
    line = f"{cap_label(status)} at {pct_text(status)}"
    if (status.name == "month" or own_cap(status)) and status.cap_usd:
        line += f" ({dollars(status.used_cost, status.unpriced_requests)} of {dollars(status.cap_usd)} est)"
    reset = reset_text(status, zone, now)
    if reset != UNKNOWN:
        return f"{line} — resets {reset}"
    return f"{line} (last 7 days; reset time unknown)" if status.window_source == "guess" else line


def dedup_end(status: WindowStatus, zone: tzinfo, now: int) -> int:
    """The key that makes an alert or warning fire once per window: the reset time, or for a rolling 7-day guess
    (which never resets) the next local midnight, so it repeats at most once a day."""
    if status.window_source != "guess":
        return status.end_ms
    return next_midnight_ms(now, zone)

