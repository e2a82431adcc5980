"""A prepaid API balance (`api_balance_usd` on `balance_as_of`): what is left of it, an estimate that falls with the
list-price cost of the API-billed use since then, how long it lasts at the recent pace, and its alert message.

Which use is API-billed: a session whose OpenClaw agent store says `billing = 'api'`; never one it says runs
through the Claude CLI (`cli-harness`, billed to the subscription); an untagged session (every Claude Code one,
OpenClaw's JSONL logs) counts when its source is not in `cap_sources`, the sources the subscription gauges count.
With the defaults that is all of OpenClaw's own use and none of Claude Code's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import tzinfo

from ..clock import DAY_MS, HOUR_MS, WEEK_MS, local_time, moment_ms
from ..store.schema import USAGE_SQL
from ..text import clock_time, dollars, span
from .series import CAP_SOURCE

PACE_MS = WEEK_MS
"""The pace is the API-billed spend per day of the last 7 days (or since balance_as_of, when more recent), or of
the last 24 hours when that is faster: an agent that just sped up is not hidden in a quiet week."""
MIN_PACE_MS = HOUR_MS
"""Under an hour of history since balance_as_of says nothing about a daily rate."""
KEY_SPAN_MS = 3650 * DAY_MS
"""A balance's alerts are keyed (alerts.window_end_ms) on balance_as_of + 10 years: a new reading starts afresh."""
RUNWAY_WARN_MS = 3 * DAY_MS
"""A warning as soon as the pace says the balance runs out within this long, whatever % is used."""
RUNWAY_ALERT_PCT = 80.0
"""A balance that runs out soon alerts as if this much of it were used (a warning)."""


@dataclass
class Balance:
    start_usd: float
    """api_balance_usd: the balance on `as_of_ms`."""
    as_of_ms: int
    spent_usd: float
    """Estimated (list-price) API-billed spend since `as_of_ms`."""
    daily_usd: float | None
    """API-billed spend per day over the pace span; None with under an hour since `as_of_ms`."""
    now_ms: int

    @property
    def left_usd(self) -> float:
        return max(0.0, self.start_usd - self.spent_usd)

    @property
    def used_pct(self) -> float:
        return self.spent_usd / self.start_usd * 100 if self.start_usd > 0 else 0.0

    @property
    def runs_out_ms(self) -> int | None:
        """When it reaches $0 at `daily_usd` (now when it already has); None without a pace or any spend."""
        if self.left_usd <= 0:
            return self.now_ms
        if not self.daily_usd:
            return None
        return self.now_ms + int(self.left_usd / self.daily_usd * DAY_MS)

    @property
    def key_ms(self) -> int:
        return self.as_of_ms + KEY_SPAN_MS

    @property
    def runs_out_soon(self) -> bool:
        out = self.runs_out_ms
        return out is not None and out - self.now_ms <= RUNWAY_WARN_MS

    @property
    def alert_pct(self) -> float:
        """The % the alert thresholds are held against: the % used, or at least 80 once it runs out soon."""
        return max(self.used_pct, RUNWAY_ALERT_PCT if self.runs_out_soon else 0.0)


def api_billed_sql(cap_sources: Sequence[str]) -> tuple[str, list[str]]:
    """The WHERE clause (over usage rows `u` left-joined to sessions `s`) that picks API-billed use, and its args."""
    marks = ", ".join("?" * len(cap_sources))
    return (f"(s.billing = 'api' OR (s.billing IS NULL AND u.source NOT IN ({marks})))", list(cap_sources))


def api_spend(store, lo: int, hi: int, cap_sources: Sequence[str]) -> float:
    """Estimated USD of the API-billed use in [lo, hi)."""
    where, args = api_billed_sql(cap_sources)
    row = store.db.execute(f"SELECT COALESCE(SUM(u.cost_usd), 0) FROM ({USAGE_SQL}) u LEFT JOIN sessions s "
                           f"ON s.session_id = u.session_id WHERE u.ts >= ? AND u.ts < ? AND {where}",
                           [lo, hi, *args]).fetchone()
    return float(row[0] or 0.0)


def compute_balance(store, settings, now: int) -> Balance | None:
    """The balance as of now, or None when none is configured (or its date does not read)."""
    if not settings.api_balance_usd or not settings.balance_as_of:
        return None
    try:
        as_of = moment_ms(settings.balance_as_of, settings.zone())
    except ValueError:
        return None
    cap_sources = tuple(getattr(settings, "cap_sources", None) or (CAP_SOURCE,))
    spent = api_spend(store, as_of, now + 1, cap_sources) if as_of <= now else 0.0
    daily = None
    for span_ms in (PACE_MS, DAY_MS):
        pace_from = max(as_of, now - span_ms)
        if now - pace_from >= MIN_PACE_MS:
            rate = api_spend(store, pace_from, now + 1, cap_sources) / ((now - pace_from) / DAY_MS)
            daily = rate if daily is None else max(daily, rate)
    return Balance(settings.api_balance_usd, as_of, spent, daily, now)


def runway_text(b: Balance, zone: tzinfo) -> str:
    """"runs out ~Dec 20 (in 17d) at $2.10/day" / "used up" / "no API-billed use in the last 7 days"."""
    out = b.runs_out_ms
    if b.left_usd <= 0:
        return "used up"
    if out is None:
        return "no API-billed use lately: no forecast" if b.daily_usd is not None else "too early to forecast"
    when = clock_time(out, zone, b.now_ms) if out - b.now_ms < 6 * DAY_MS else local_time(out, zone).strftime("%b %d")
    return f"runs out ~{when} (in {span(out - b.now_ms)}) at {dollars(b.daily_usd or 0)}/day"


def balance_message(b: Balance, zone: tzinfo) -> str:
    """The alert: "API balance ~82% used: ≈$18.00 of $100.00 left (est), runs out ~Sat 14:20 (in 2d 4h) at …"."""
    return (f"API balance ~{b.used_pct:.0f}% used: ≈{dollars(b.left_usd)} of {dollars(b.start_usd)} left (est), "
            f"{runway_text(b, zone)}")


def balance_json(b: Balance | None, zone: tzinfo) -> dict | None:
    from ..text import iso_local
    if b is None:
        return None
    return {"estimate": True, "balance_usd": b.start_usd, "as_of": iso_local(b.as_of_ms, zone),
            "spent_usd": round(b.spent_usd, 6), "left_usd": round(b.left_usd, 6), "used_pct": round(b.used_pct, 2),
            "daily_usd": None if b.daily_usd is None else round(b.daily_usd, 6),
            "runs_out": iso_local(b.runs_out_ms, zone), "runs_out_ms": b.runs_out_ms, "summary": runway_text(b, zone)}
