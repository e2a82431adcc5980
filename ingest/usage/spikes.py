"""The one spike rule, shared by the daily strip (`queries.daily`) and the spike alert (`alerts.spike_alert`).

A day is a spike when it costs at least 2× the median of the active days among the 14 days before it, and at
least 3 of those days were active. Why this rule:
- Only *earlier* days are compared, so a day's flag never changes when later days arrive, and "is today a spike?"
  is a question an alert can ask at any moment of the day (the alert sees today so far; the strip, the whole day).
- The median of the active days is what a usual working day costs: idle days do not drag it down (a weekend off
  does not make Monday a spike) and one earlier heavy day does not pull it up.
- Fewer than 3 active days is no baseline to speak of, so nothing is flagged.
- The measure is the estimated cost, or tokens when nothing in the day and its 14 earlier days is priced (every
  model unknown to the price table); both callers judge a day on the same 15 days, so they pick the same measure.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Literal

from ..clock import day_start_ms, local_day
from ..store.schema import SLOT_MS, USAGE_SQL, has_slot_usage
from .series import TOKENS_SQL

SPIKE_RATIO = 2.0
"""A spike costs at least this many times the median active day before it."""
SPIKE_DAYS = 14
"""How many earlier days a day is compared with."""
SPIKE_MIN_ACTIVE_DAYS = 3
"""Without this many active days among them there is no baseline, and no spike."""

Measure = Literal["cost", "tokens"]


@dataclass(slots=True, frozen=True)
class DayUse:
    """One local day's usage, every source."""

    day: date
    tokens: int
    cost_usd: float
    requests: int

    def amount(self, measure: Measure) -> float:
        return self.cost_usd if measure == "cost" else float(self.tokens)


@dataclass(slots=True, frozen=True)
class Verdict:
    """How one day compares with the days before it."""

    spike: bool
    measure: Measure
    value: float
    """The day's cost (USD) or tokens."""
    baseline: float | None
    """The median of the earlier active days, in the same measure; None without SPIKE_MIN_ACTIVE_DAYS of them."""


_SLOT_DAYS: dict[tzinfo, dict[int, date]] = {}
"""zone → slot (or row time) → the local day it falls on."""


def read_days(store, zone: tzinfo, first: date, last: date, until_ms: int | None = None) -> list[DayUse]:
    """Usage of each local day from `first` to `last` (both included), oldest first; with `until_ms`, only what
    happened by then (the alert's "today so far")."""
    lo = day_start_ms(first, zone)
    hi = day_start_ms(last + timedelta(days=1), zone)
    if until_ms is not None:
        hi = min(hi, until_ms + 1)
    count = (last - first).days + 1
    acc: dict[date, list] = {first + timedelta(days=i): [0, 0.0, 0] for i in range(count)}
    # Whole 15-minute slots come from slot_usage (the sums the writer keeps: ~100 rows a day, where the rows
    # themselves are hundreds, read one by one through the time index: 50 ms for four weeks of a heavy user, and
    # both the overview and the post-commit alerts ask); a slot cut by `until_ms` from the rows, as before. Slots
    # are whole in every real zone, so each falls on one side of every local midnight.
    cut = max(lo, hi - hi % SLOT_MS)
    days = _SLOT_DAYS.setdefault(zone, {})  # (the same slots are read every second: each one's day looked up once)
    if len(days) > 20_000 or len(_SLOT_DAYS) > 4:
        _SLOT_DAYS.clear()
        days = _SLOT_DAYS.setdefault(zone, {})
    if not has_slot_usage(store.db):
        cut = lo  # a store from before slot_usage, looked at read-only: every slot from the rows
    whole = (f"SELECT slot, SUM({TOKENS_SQL}), SUM(cost_usd), SUM(requests) FROM slot_usage "
             "WHERE slot >= ? AND slot < ? GROUP BY slot")
    part = (f"SELECT slot, SUM({TOKENS_SQL}), SUM(cost_usd), SUM(requests) FROM ({USAGE_SQL}) "
            "WHERE ts >= ? AND ts < ? GROUP BY slot")
    for sql, a_ms, b_ms in ((whole, lo, cut), (part, cut, hi)):
        if b_ms <= a_ms:
            continue
        for slot, tokens, cost, reqs in store.db.execute(sql, (a_ms, b_ms)):
            day = days.get(slot)
            if day is None:
                day = days[slot] = local_day(slot, zone)
            a = acc.get(day)
            if a is not None:
                a[0] += tokens or 0
                a[1] += cost or 0.0
                a[2] += reqs or 0
    return [DayUse(d, a[0], a[1], a[2]) for d, a in acc.items()]


def judge(day: DayUse, earlier: Sequence[DayUse]) -> Verdict:
    """Whether `day` is a spike against `earlier` (the days before it; only the last SPIKE_DAYS count)."""
    earlier = earlier[-SPIKE_DAYS:]
    measure: Measure = "cost" if day.cost_usd or any(d.cost_usd for d in earlier) else "tokens"
    value = day.amount(measure)
    active = [v for v in (d.amount(measure) for d in earlier) if v > 0]
    if len(active) < SPIKE_MIN_ACTIVE_DAYS:
        return Verdict(False, measure, value, None)
    baseline = statistics.median(active)
    return Verdict(value >= SPIKE_RATIO * baseline, measure, value, baseline)


def flags(days: Sequence[DayUse]) -> list[bool]:
    """Each day judged against the (up to SPIKE_DAYS) days before it in `days`: pass SPIKE_DAYS more days than
    are shown so that every shown day has its full baseline."""
    return [judge(day, days[max(0, i - SPIKE_DAYS):i]).spike for i, day in enumerate(days)]
