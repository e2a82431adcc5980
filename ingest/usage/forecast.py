"""Burn-rate forecasts: an active-hours, exponentially weighted pace projected to a window's end, with a band."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

from ..clock import DAY_MS, HOUR_MS, MINUTE_MS
from ..text import clock_time, span

HALF_LIFE_ACTIVE = 4.0
"""Half-life of the pace, counted in *active* buckets: an idle night neither drags the pace to zero nor makes it
spike when work resumes, because idle buckets do not age the history."""
BAND_RECENT = 24
"""The low/high band comes from the spread (25th/75th percentile) of this many most recent active buckets."""
MIN_DUTY_SPAN_MS = DAY_MS
"""The active share of time is measured over at least a day, so one busy hour is not read as 24/7 use."""
PROJECTION_STEPS = 60


@dataclass
class Forecast:
    """Where a window is heading at the current pace. Units are % of the cap, or USD when no cap is known."""

    rate_pct_per_hour: float | None
    """Current burn while active (EWMA over active hours), in % of the cap per hour; None without a cap."""
    eta_ms: int | None
    """When 100% is reached at this pace; None if not before the window ends (or no cap)."""
    pct_at_reset: float | None
    """Projected % at the window's end; None without a cap."""
    low_pct_at_reset: float | None
    high_pct_at_reset: float | None
    history: list[tuple[int, float]]
    """Cumulative % used (USD when no cap) at points through the window so far, ascending."""
    projection: list[tuple[int, float, float, float]]
    """(ts_ms, mid, low, high) from now to the window's end, same units as history."""
    summary: str
    """One phrase for people: "cap reached in 1d 20h (Sat 14:20)", "on pace to end the week at 78%", …"""
    unit: str = "%"
    """"%" when history/projection are % of a cap, "$" when they are estimated USD (no cap known)."""
    projected_total: float | None = None
    """Projected estimated USD at the window's end (month budget, or any window without a cap)."""
    rate_per_hour: float | None = None
    """Burn while active in `unit` per hour (the same as rate_pct_per_hour when unit is "%")."""
    duty: float = 0.0
    """Share of wall-clock time that is active, over the recent past: what turns the active pace into a forecast."""
    method: str = "pace"
    """"profile" (the user's hour-of-week profile, usage/weekly.py) or "pace" (the active-hours pace, this module:
    the 5-hour window, the month, and a week with less than a week of history behind it)."""
    band_level: float | None = None
    """How often the outcome fell inside [low, high] on the user's past weeks (0.8), when a band was measured."""
    eta_early_ms: int | None = None
    """When the band's high edge reaches the cap (the earliest likely ETA); None if it does not before reset."""
    eta_late_ms: int | None = None
    """When the band's low edge reaches the cap; None if it does not before reset."""
    profile_weeks: float | None = None
    """Weeks of history the profile rests on."""
    hit_chance: float | None = None
    """How often, on the user's past weeks, a forecast like this one ended at the cap (0..1); None without them."""
    eta_if_hit_ms: int | None = None
    """When the cap comes if it does (the median of the past weeks like this one that hit it): set whenever the
    cap is a real possibility, while `eta_ms` is set only once the forecast commits to it."""


@dataclass
class Pace:
    """How fast usage grows: per active hour, and how much of the time is active."""

    rate: float | None
    """Units per active hour, exponentially weighted over active buckets (None: no activity seen)."""
    low: float | None
    high: float | None
    duty: float
    active_buckets: int = 0
    rates: list[float] = field(default_factory=list)

    @property
    def expected(self) -> float:
        """Units per wall-clock hour: the pace times the share of time that is active."""
        return (self.rate or 0.0) * self.duty


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def pace(buckets: Sequence[tuple[int, float]], now_ms: int, bucket_ms: int = HOUR_MS,
         half_life: float = HALF_LIFE_ACTIVE, min_span_ms: int = MIN_DUTY_SPAN_MS,
         span_start_ms: int | None = None) -> Pace:
    """The pace from (bucket_start_ms, amount) buckets, ascending; buckets without usage may be left out.

    Only complete buckets count, unless the current partial one is the only activity (then it is scaled by
    the time elapsed in it). The active share is active buckets / buckets since the first active one (or since
    `span_start_ms`), over at least `min_span_ms`."""
    current = now_ms - now_ms % bucket_ms
    per_hour = HOUR_MS / bucket_ms
    complete = [(ts, amount) for ts, amount in buckets if ts < current and amount > 0]
    if not complete:
        partial = sum(amount for ts, amount in buckets if ts >= current)
        if partial <= 0:
            return Pace(None, None, None, 0.0)
        elapsed = max(now_ms - current, 5 * MINUTE_MS)
        rate = partial * HOUR_MS / elapsed
        return Pace(rate, rate, rate, 1.0, 1, [rate])
    rates = [amount * per_hour for _, amount in complete]
    n = len(rates)
    weights = [0.5 ** ((n - 1 - i) / half_life) for i in range(n)]
    rate = sum(w * r for w, r in zip(weights, rates)) / sum(weights)
    recent = rates[-BAND_RECENT:]
    low = min(_percentile(recent, 0.25), rate)
    high = max(_percentile(recent, 0.75), rate)
    first = complete[0][0] if span_start_ms is None else min(span_start_ms - span_start_ms % bucket_ms, complete[0][0])
    span_buckets = max((current - first) // bucket_ms, -(-min_span_ms // bucket_ms), 1)
    duty = min(1.0, n / span_buckets)
    return Pace(rate, low, high, duty, n, rates)


# -- presenting times -------------------------------------------------------------------------------


# -- the forecast -----------------------------------------------------------------------------------

_ENDS = {"week": "the week", "five_hour": "the 5-hour window", "month": "the month"}


def build_forecast(*, name: str, used: float, history: list[tuple[int, float]], pace_: Pace, now_ms: int,
                   end_ms: int, zone: tzinfo, capped: bool, usd_per_unit: float | None = None) -> Forecast:
    """Project `used` (in % when `capped`, else USD) to `end_ms` at `pace_`."""
    remaining_h = max(0, end_ms - now_ms) / HOUR_MS
    mid_rate = pace_.expected
    low_rate = (pace_.low or 0.0) * pace_.duty
    high_rate = (pace_.high or 0.0) * pace_.duty
    mid, low, high = (used + r * remaining_h for r in (mid_rate, low_rate, high_rate))
    steps = PROJECTION_STEPS if end_ms > now_ms else 0
    projection = []
    for i in range(steps + 1):
        ts = now_ms + (end_ms - now_ms) * i // steps if steps else now_ms
        h = (ts - now_ms) / HOUR_MS
        projection.append((ts, used + mid_rate * h, used + low_rate * h, used + high_rate * h))
    projected_total = None
    if usd_per_unit is not None:
        projected_total = mid * usd_per_unit
    end_phrase = _ENDS.get("week" if name.startswith("week") else name, "the window")
    if name == "month" and used <= 0:
        # Nothing spent this month yet: last week's pace (say, of last month's final days) foretells nothing.
        return Forecast(None, None, None, None, None, history, [], "nothing spent this month yet: no forecast",
                        unit="%" if capped else "$", projected_total=0.0 if not capped or usd_per_unit else None,
                        rate_per_hour=pace_.rate, duty=pace_.duty)
    if not capped:
        total = mid if usd_per_unit is None else projected_total
        what = "budget" if name == "month" else "cap"
        return Forecast(None, None, None, None, None, history, projection,
                        f"no {what} set: on pace for ${total:,.2f} by the end of {end_phrase} (est)",
                        unit="$", projected_total=total, rate_per_hour=pace_.rate, duty=pace_.duty)
    eta = None
    if used >= 100:
        eta = now_ms
    elif mid_rate > 0:
        eta_candidate = now_ms + int((100 - used) / mid_rate * HOUR_MS)
        if eta_candidate < end_ms:
            eta = eta_candidate
    what = "budget" if name == "month" else "cap"
    if used >= 100:
        summary = f"{what} reached — resets {clock_time(end_ms, zone, now_ms)}"
    elif eta is not None:
        summary = f"{what} reached in {span(eta - now_ms)} ({clock_time(eta, zone, now_ms)})"
    elif name == "month" and projected_total is not None:
        summary = f"on pace to end the month at {mid:.0f}% (${projected_total:,.2f} est)"
    else:
        summary = f"on pace to end {end_phrase} at {mid:.0f}%"
    return Forecast(pace_.rate, eta, mid, low, high, history, projection, summary, unit="%",
                    projected_total=projected_total, rate_per_hour=pace_.rate, duty=pace_.duty)
