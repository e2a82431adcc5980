"""Usage windows (week, 5-hour, month, model-scoped weeks), official samples, calibration to the official %, and
`compute_status`: how much of each cap is used, where that figure comes from, and where it is heading."""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta, tzinfo
from zoneinfo import ZoneInfo

from ..clock import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    WEEK_MS,
    local_day,
    local_ms,
    local_time,
    next_midnight_ms,
)
from ..clock import now_ms as current_ms
from ..store.schema import USAGE_SQL
from .forecast import (
    HALF_LIFE_ACTIVE,
    Forecast,
    Pace,
    build_forecast,
    fmt_duration,
    fmt_when,
    pace,
)

__all__ = [
    "OFFICIAL_WINDOWS",
    "Calibration",
    "Forecast",
    "Sample",
    "WindowStatus",
    "calibrate",
    "compute_status",
    "current_ms",
    "dedup_end",
    "five_hour_start",
    "fmt_duration",
    "fmt_when",
    "fresh_official",
    "load_samples",
    "local_ms",
    "month_bounds",
    "pct_text",
    "record_samples",
    "reset_text",
    "round_minute",
    "threshold_message",
    "today_cost",
    "week_from_reset_spec",
    "window_label",
]

FIVE_HOURS_MS = 5 * HOUR_MS
FRESH_MS = 5 * MINUTE_MS
"""A sample confirmed this recently is shown as the official figure itself."""
SEEN_REFRESH_MS = MINUTE_MS
"""An unchanged reading refreshes its sample's `seen_ms` at most this often: the statusline runs every few hundred
ms, and one write a minute is plenty to know the figure is current."""
LOOKBACK_MS = WEEK_MS
"""How far back the pace looks: a week, so the start of a new window still has a rate to project."""
FIVE_HOUR_BUCKET_MS = 10 * MINUTE_MS
"""The 5-hour window is paced in 10-minute buckets: hours are too coarse for a window five of them long."""
SERIES_BUCKET_MS = 10 * MINUTE_MS
"""Usage is read in 10-minute buckets (plus exact cuts at window starts and sample times)."""
MAX_FIT_POINTS = 16
"""Calibration uses at most this many samples per window (spread evenly, newest always kept)."""
CAP_SOURCE = "claude-code"
"""Subscription caps count Claude Code usage only: OpenClaw usually bills an API key, not the subscription.
The month budget is money, so it counts every source."""

OFFICIAL_WINDOWS = {
    "seven_day": "week",
    "five_hour": "five_hour",
    "seven_day_opus": "week_opus",
    "seven_day_sonnet": "week_sonnet",
}
"""Claude Code's `rate_limits` keys → the window names tokentop uses."""
_OFFICIAL_NAME = {v: k for k, v in OFFICIAL_WINDOWS.items()}
_FAMILY = {"week_opus": 1, "week_sonnet": 2}
_FAMILY_SQL = "CASE WHEN model LIKE '%opus%' THEN 1 WHEN model LIKE '%sonnet%' THEN 2 ELSE 0 END"
_TOKENS_SQL = "input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read"
_LABELS = {
    "week": "Claude weekly limit",
    "five_hour": "Claude 5-hour limit",
    "week_opus": "Claude weekly Opus limit",
    "week_sonnet": "Claude weekly Sonnet limit",
    "month": "Monthly budget",
    "day": "Daily usage",
}
UNKNOWN = "–"
"""How a figure that is not known reads in a line of text."""


def window_label(name: str) -> str:
    """"week" → "Claude weekly limit": how messages name a window."""
    return _LABELS.get(name, name)


@dataclass(frozen=True)
class Sample:
    """One official reading from Claude Code's statusline input."""

    window: str
    """Claude Code's key: five_hour | seven_day | seven_day_opus | seven_day_sonnet."""
    used_pct: float
    resets_at_ms: int | None
    taken_ms: int = 0
    """When this % was first seen: about when usage reached it (what calibration fits)."""
    session_id: str | None = None
    seen_ms: int = 0
    """When this % was last confirmed (what the gauge anchors to); 0 = same as taken_ms."""

    @property
    def confirmed_ms(self) -> int:
        return max(self.seen_ms, self.taken_ms)


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

    name: str
    """"week" | "five_hour" | "week_opus" | "week_sonnet" | "month"."""
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

    @property
    def label(self) -> str:
        return window_label(self.name)


# -- official samples -------------------------------------------------------------------------------


def round_minute(ms: int) -> int:
    # resets_at is a fixed instant; rounding absorbs any seconds of jitter between builds so one window keeps one key.
    return (ms + MINUTE_MS // 2) // MINUTE_MS * MINUTE_MS


# How long each official window lasts: a sample's reset must fall within that span of the moment it was taken.
WINDOW_LENGTH_MS = {"five_hour": FIVE_HOURS_MS, "seven_day": WEEK_MS, "seven_day_opus": WEEK_MS,
                    "seven_day_sonnet": WEEK_MS}


def record_samples(store, samples: Iterable[Sample], taken_ms: int, session_id: str | None = None) -> int:
    """Store each sample that differs from the newest stored one of its window; returns how many were new.
    An unchanged one only refreshes that row's `seen_ms`, at most once per SEEN_REFRESH_MS.

    A sample without `resets_at` borrows the reset of its window's newest stored sample when that is still in the
    future, and is dropped otherwise: a percentage without its window cannot be placed."""
    db = store.db
    rows, seen = [], []
    for s in samples:
        latest = db.execute("SELECT used_pct, resets_at_ms, id, seen_ms FROM official_samples WHERE window = ? "
                            "ORDER BY taken_ms DESC, id DESC LIMIT 1", (s.window,)).fetchone()
        resets = round_minute(s.resets_at_ms) if s.resets_at_ms is not None else None
        if resets is None:
            if latest is None or latest[1] <= taken_ms:
                continue
            resets = latest[1]
        length = WINDOW_LENGTH_MS.get(s.window)
        if length is not None and not taken_ms - MINUTE_MS <= resets <= taken_ms + length + MINUTE_MS:
            continue  # a reset outside the window it names (or in the past) is not a real sample
        if latest is not None and latest[0] == s.used_pct and latest[1] == resets:
            if taken_ms - latest[3] >= SEEN_REFRESH_MS:
                seen.append((taken_ms, latest[2]))
            continue  # the statusline runs every few hundred ms; only a change is worth a row
        rows.append((taken_ms, s.window, float(s.used_pct), resets, session_id, taken_ms))
    if not rows and not seen:
        return 0
    new = 0
    with store.transaction():
        for row in rows:
            new += db.execute("INSERT OR IGNORE INTO official_samples(taken_ms, window, used_pct, resets_at_ms, "
                              "session_id, seen_ms) VALUES (?, ?, ?, ?, ?, ?)", row).rowcount
        db.executemany("UPDATE official_samples SET seen_ms = MAX(seen_ms, ?) WHERE id = ?", seen)
    return new


def load_samples(store, resets_after_ms: int, taken_until_ms: int | None = None) -> dict[str, list[Sample]]:
    """Samples whose window resets after `resets_after_ms` (and taken by `taken_until_ms`), by Claude Code window
    key, oldest first."""
    out: dict[str, list[Sample]] = {}
    until = taken_until_ms if taken_until_ms is not None else 2**62
    try:
        rows = store.db.execute(
            "SELECT window, used_pct, resets_at_ms, taken_ms, session_id, MIN(seen_ms, ?2) FROM official_samples "
            "WHERE resets_at_ms > ?1 AND taken_ms <= ?2 ORDER BY taken_ms, id", (resets_after_ms, until)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return out  # a read-only look at a store no writer has migrated yet: no samples, not an error
    for window, pct, resets, taken, session, seen in rows:
        out.setdefault(window, []).append(Sample(window, pct, resets, taken, session, seen))
    return out


# -- window bounds ----------------------------------------------------------------------------------


def week_from_reset_spec(spec: str, zone: tzinfo, now: int) -> tuple[int, int]:
    """The week [start, end) containing `now` for a "tue 09:00 [Zone]" reset, in local wall time (DST-correct:
    a week that crosses a DST change is 167 or 169 hours long). The spec's own zone wins over `zone`."""
    from ..config import parse_week_reset

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


# -- local usage ------------------------------------------------------------------------------------


class _Series:
    """Usage of one scope in 10-minute buckets, cut exactly at every split point, with prefix sums: the total
    over [a, b) is two bisections, and exact whenever a and b are split points or bucket boundaries."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.cost: list[float] = [0.0]
        self.tokens: list[int] = [0]

    def add(self, ts: int, cost: float, tokens: int) -> None:
        if self.ts and self.ts[-1] == ts:
            self.cost[-1] += cost
            self.tokens[-1] += tokens
            return
        self.ts.append(ts)
        self.cost.append(self.cost[-1] + cost)
        self.tokens.append(self.tokens[-1] + tokens)

    def between(self, a: int, b: int) -> tuple[float, int]:
        """Estimated USD and tokens in [a, b)."""
        i, j = bisect_left(self.ts, a), bisect_left(self.ts, b)
        if j <= i:
            return 0.0, 0
        return self.cost[j] - self.cost[i], self.tokens[j] - self.tokens[i]

    def amount(self, proxy: str, a: int, b: int) -> float:
        cost, tokens = self.between(a, b)
        return cost if proxy == "cost" else float(tokens)

    def buckets(self, proxy: str, a: int, b: int, size: int) -> list[tuple[int, float]]:
        """Totals per `size`-aligned bucket over [a, b), only buckets with usage, ascending."""
        prefix = self.cost if proxy == "cost" else self.tokens
        out: dict[int, float] = {}
        i, j = bisect_left(self.ts, a), bisect_left(self.ts, b)
        for n in range(i, j):
            ts = self.ts[n]
            key = ts - ts % size
            out[key] = out.get(key, 0.0) + (prefix[n + 1] - prefix[n])
        return sorted(out.items())


def _load_series(store, lo: int, hi: int, splits: Iterable[int], families: bool = True) -> dict[str, _Series]:
    """Usage in [lo, hi] for every source ("all"), Claude Code ("cc") and its Opus / Sonnet shares.

    One grouped scan per table: rows are summed per 10-minute bucket *and* per segment between split points
    (window starts, sample times, …), so every total this module asks for is exact without reading rows one by
    one — a heavy user's week is tens of thousands of rows, and the statusline has milliseconds."""
    cuts = sorted({int(s) for s in splits if lo < s <= hi})
    series = {key: _Series() for key in ("all", "cc", "week_opus", "week_sonnet")}
    families = {1: series["week_opus"], 2: series["week_sonnet"]}
    rows = []
    for table, col in (("requests", "ts"), ("rollups", "slot")):
        # The cut points are integers this module computed, so they can be written into the SQL.
        segment = ("CASE " + " ".join(f"WHEN {col} < {c} THEN {i}" for i, c in enumerate(cuts))
                   + f" ELSE {len(cuts)} END") if cuts else "0"
        family = _FAMILY_SQL if families else "0"  # fewer groups when no model-scoped window is asked for
        sql = (f"SELECT {col} - {col} % {SERIES_BUCKET_MS}, {segment}, source = ?, {family}, SUM(cost_usd), "
               f"SUM({_TOKENS_SQL}) FROM {table} WHERE {col} >= ? AND {col} <= ? GROUP BY 1, 2, 3, 4")
        for bucket, seg, cc, fam, cost, tokens in store.db.execute(sql, (CAP_SOURCE, lo, hi)):
            # Stamp each group with the first instant it can hold, so [a, b) sums split it correctly.
            rows.append((max(bucket, cuts[seg - 1] if seg else lo), cc, fam, cost or 0.0, tokens or 0))
    rows.sort()
    for ts, cc, fam, cost, tokens in rows:
        series["all"].add(ts, cost, tokens)
        if cc:
            series["cc"].add(ts, cost, tokens)
            if fam in families:
                families[fam].add(ts, cost, tokens)
    return series


def _top_sessions(store, lo: int, hi: int, scope: str, proxy: str) -> list[tuple[str, float]]:
    where = "ts >= ? AND ts < ?"
    args: list = [lo, hi]
    if scope != "all":
        where += " AND source = ?"
        args.append(CAP_SOURCE)
    if scope in _FAMILY:
        where += f" AND {_FAMILY_SQL} = ?"
        args.append(_FAMILY[scope])
    column = "SUM(cost_usd)" if proxy == "cost" else f"SUM({_TOKENS_SQL})"
    rows = store.db.execute(f"SELECT session_id, {column} FROM ({USAGE_SQL}) WHERE {where} GROUP BY session_id",
                            args).fetchall()
    total = sum(r[1] or 0 for r in rows)
    if total <= 0:
        return []
    rows.sort(key=lambda r: (-(r[1] or 0), r[0]))
    return [(sid, (amount or 0) / total) for sid, amount in rows[:5] if amount]


# -- calibration ------------------------------------------------------------------------------------


def calibrate(points: Sequence[tuple[float, float, float]]) -> Calibration | None:
    """Fit used % ≈ k × usage through the origin (least squares) on (pct, cost, tokens) points, for both proxies,
    and keep the one with the lower error (cost on a tie: it weights token kinds the way the cap is thought to)."""
    best = None
    for index, proxy in ((1, "cost"), (2, "tokens")):
        sxx = sum(p[index] ** 2 for p in points)
        if sxx <= 0:
            continue
        k = sum(p[0] * p[index] for p in points) / sxx
        if k <= 0:
            continue
        rmse = math.sqrt(sum((p[0] - k * p[index]) ** 2 for p in points) / len(points))
        if best is None or rmse < best.rmse - 1e-9:
            best = Calibration(k, proxy, rmse, len(points))
    return best


def _thin(samples: Sequence[Sample], n: int = MAX_FIT_POINTS) -> list[Sample]:
    """At most n samples spread evenly, always keeping the first and the newest: a fit needs a few good points,
    and every point costs a split in the usage scan."""
    if len(samples) <= n:
        return list(samples)
    keep = sorted({round(i * (len(samples) - 1) / (n - 1)) for i in range(n)})
    return [samples[i] for i in keep]


def _points(samples: Sequence[Sample], series: _Series, start: int) -> list[tuple[float, float, float]]:
    return [(s.used_pct, *series.between(start, s.taken_ms)) for s in samples]


# -- one window -------------------------------------------------------------------------------------


@dataclass
class _Plan:
    name: str
    start: int
    end: int
    window_source: str
    scope: str
    period: int
    cap_usd: float = 0.0
    cap_tokens: int = 0
    fit: list[Sample] = field(default_factory=list)
    """This window's samples taken by now (thinned), oldest first."""
    earlier: list[tuple[int, list[Sample]]] = field(default_factory=list)
    """Earlier windows' (start, samples), newest first: their fit carries over while this window has < 2 samples."""

    def splits(self) -> list[int]:
        out = [self.start, self.end, *(s.taken_ms for s in self.fit), *(s.confirmed_ms for s in self.fit[-1:])]
        for start, samples in self.earlier:
            out += [start, *(s.taken_ms for s in samples)]
        return out


def _plan_samples(plan: _Plan, samples: Sequence[Sample], now: int) -> _Plan:
    """Sort a window's samples into its own (thinned) and, when it has fewer than two, the earlier windows'."""
    current = [s for s in samples if s.resets_at_ms is not None and abs(s.resets_at_ms - plan.end) < MINUTE_MS
               and s.taken_ms <= now]
    plan.fit = _thin(current)
    if len(current) < 2:
        groups: dict[int, list[Sample]] = {}
        for s in samples:
            if s.resets_at_ms is not None and s.resets_at_ms < plan.end - MINUTE_MS:
                groups.setdefault(s.resets_at_ms, []).append(s)
        plan.earlier = [(resets - plan.period, _thin(groups[resets])) for resets in sorted(groups, reverse=True)
                        if len(groups[resets]) >= 2][:1]
    return plan


def _evaluate(plan: _Plan, series: _Series, now: int, zone: tzinfo, store, detail: bool,
              sessions: bool) -> WindowStatus:
    start, end = plan.start, plan.end
    upto = min(now + 1, end)
    used_cost, used_tokens = series.between(start, upto)
    fit = plan.fit
    cal = calibrate(_points(fit, series, start)) if len(fit) >= 2 else None
    for earlier_start, samples in plan.earlier if cal is None else ():
        cal = calibrate(_points(samples, series, earlier_start))
        if cal is not None:
            break
    if cal is None and len(fit) == 1:
        cal = calibrate(_points(fit, series, start))  # one point: the plain ratio
    last = fit[-1] if fit else None

    # What turns usage into %: the calibration, else the configured cap that reads higher (the one hit first).
    proxy, k, source = "cost", None, None
    cap_usd = plan.cap_usd or None
    cap_tokens = plan.cap_tokens or None
    if last is not None:
        source = "official" if (now - last.confirmed_ms < FRESH_MS or cal is None) else "calibrated"
    if cal is not None:
        proxy, k = cal.proxy, cal.k
        source = source or "calibrated"
        if cal.proxy == "cost":
            cap_usd = cap_usd or 100 / cal.k
        else:
            cap_tokens = cap_tokens or int(round(100 / cal.k))
    elif last is None and (plan.cap_usd or plan.cap_tokens):
        by_cost = used_cost / plan.cap_usd * 100 if plan.cap_usd else -1.0
        by_tokens = used_tokens / plan.cap_tokens * 100 if plan.cap_tokens else -1.0
        proxy = "cost" if by_cost >= by_tokens else "tokens"
        k = 100 / (plan.cap_usd if proxy == "cost" else plan.cap_tokens)
        source = "configured"

    taken = [s.taken_ms for s in fit]

    def pct_at(t: int) -> float | None:
        """% used at t: the newest sample before t plus calibrated usage since it was last confirmed (flat while
        it was still being confirmed); before any sample, usage × k."""
        if fit:
            i = bisect_left(taken, t + 1) - 1
            if i >= 0:
                s = fit[i]
                anchor = s.confirmed_ms if s is last else s.taken_ms
                return s.used_pct + (k * series.amount(proxy, anchor, t) if k and t > anchor else 0.0)
            return k * series.amount(proxy, start, t) if k else 0.0
        return k * series.amount(proxy, start, t) if k else None

    used_pct = pct_at(upto)
    if plan.window_source == "guess":
        source = "guess"
    elif used_pct is None:
        source = plan.window_source if plan.window_source in ("official", "configured") else (
            "configured" if plan.window_source == "calendar" else "guess")

    forecast = _forecast(plan, series, proxy, k, used_pct, used_cost, pct_at, now, zone) if detail else None
    top = _top_sessions(store, start, upto, plan.scope, proxy) if sessions else []
    return WindowStatus(
        name=plan.name, start_ms=start, end_ms=end, source=source, used_pct=used_pct, used_tokens=int(used_tokens),
        used_cost=used_cost, cap_tokens=cap_tokens, cap_usd=cap_usd,
        official_pct=last.used_pct if last else None, official_at_ms=last.confirmed_ms if last else None,
        forecast=forecast, top_sessions=top, window_source=plan.window_source, calibration=cal,
        samples=len(fit))


def _forecast(plan: _Plan, series: _Series, proxy: str, k: float | None, used_pct: float | None, used_cost: float,
              pct_at, now: int, zone: tzinfo) -> Forecast:
    start, end = plan.start, plan.end
    if used_pct is not None and k is None:
        # An official % with no local usage to relate it to (e.g. all of it was used on another machine).
        history = [(s.taken_ms, s.used_pct) for s in plan.fit]
        return Forecast(None, None, None, None, None, history, [],
                        f"at {used_pct:.0f}% (official); too little local usage to forecast")
    capped = used_pct is not None
    if plan.window_source == "activity" and start >= now:
        return Forecast(None, None, None, None, None, [(now, used_pct or 0.0)], [],
                        "no 5-hour window running: the next request opens one", unit="%" if capped else "$")
    scale = k if capped else 1.0
    unit_proxy = proxy if capped else "cost"
    if plan.name == "five_hour":
        size, lookback_from, min_span, half_life = FIVE_HOUR_BUCKET_MS, start, 3 * FIVE_HOUR_BUCKET_MS, 3.0
        span_start = start
    else:
        size, lookback_from, min_span, half_life = HOUR_MS, now - LOOKBACK_MS, DAY_MS, HALF_LIFE_ACTIVE
        span_start = None
    buckets = [(ts, amount * scale) for ts, amount in series.buckets(unit_proxy, lookback_from, now + 1, size)]
    p: Pace = pace(buckets, now, size, half_life=half_life, min_span_ms=min_span, span_start_ms=span_start)
    # History at bucket boundaries (exact sums), from the window's start to now.
    upto = min(now, end)
    first = start - start % size + size
    history = []
    for t in [start, *range(first, upto, size), upto]:
        value = pct_at(t) if capped else series.amount("cost", start, t)
        history.append((t, value if value is not None else 0.0))
    if plan.window_source == "guess":
        # A rolling 7 days never resets: there is nothing to project to.
        used = used_pct if capped else used_cost
        return Forecast(p.rate if capped else None, None, None, None, None, history, [],
                        "no reset time known: set week_reset in the config (e.g. \"tue 09:00 Europe/Berlin\")",
                        unit="%" if capped else "$", rate_per_hour=p.rate, duty=p.duty,
                        projected_total=None if capped else used)
    usd_per_unit = None
    if plan.name == "month" and capped:
        usd_per_unit = plan.cap_usd / 100
    return build_forecast(name=plan.name, used=used_pct if capped else used_cost, history=history, pace_=p,
                          now_ms=now, end_ms=end, zone=zone, capped=capped, usd_per_unit=usd_per_unit)


# -- all windows ------------------------------------------------------------------------------------


def _newest(samples: Sequence[Sample]) -> Sample | None:
    dated = [s for s in samples if s.resets_at_ms is not None]
    return max(dated, key=lambda s: s.taken_ms) if dated else None


def compute_status(store, settings, now_ms: int | None = None, prices=None, *,
                   windows: Iterable[str] | None = None,
                   detail: bool | Iterable[str] = True) -> dict[str, WindowStatus]:
    """Every window's status: keys "week", "five_hour", "month", plus "week_opus"/"week_sonnet" when samples
    carry them.

    `windows` limits which are computed. `detail` says which get a forecast: True (all, and top sessions too),
    False (none: the hook), or a set of names (the statusline wants the week's ETA only, without sessions).
    `prices` is accepted for callers that hold one; costs were priced at ingest, so it is not needed here."""
    now = current_ms() if now_ms is None else now_ms
    zone = settings.zone()
    wanted = set(windows) if windows is not None else None
    detail_names = (None if detail else set()) if isinstance(detail, bool) else set(detail)  # None: every window

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    def detailed(name: str) -> bool:
        return detail_names is None or name in detail_names

    samples = load_samples(store, now - 3 * WEEK_MS, now)
    plans: list[_Plan] = []

    # The weekly window: from the newest official reset, else the configured reset, else the last 7 days.
    if want("week"):
        newest = _newest(samples.get("seven_day", []))
        plan = None
        if newest is not None:
            end = roll_forward(newest.resets_at_ms, now, WEEK_MS)
            plan = _Plan("week", end - WEEK_MS, end, "official", "cc", WEEK_MS)
        elif settings.week_reset:
            try:
                plan = _Plan("week", *week_from_reset_spec(settings.week_reset, zone, now), "configured", "cc", WEEK_MS)
            except ValueError:
                plan = None
        if plan is None:
            plan = _Plan("week", now - WEEK_MS, now, "guess", "cc", WEEK_MS)
        plan.cap_usd, plan.cap_tokens = settings.weekly_cap_usd, settings.weekly_cap_tokens
        plans.append(_plan_samples(plan, samples.get("seven_day", []), now))
    for name in ("week_opus", "week_sonnet"):
        scoped = samples.get(_OFFICIAL_NAME[name], [])
        newest = _newest(scoped)
        if newest is not None and want(name):
            end = roll_forward(newest.resets_at_ms, now, WEEK_MS)
            plans.append(_plan_samples(_Plan(name, end - WEEK_MS, end, "official", name, WEEK_MS), scoped, now))
    if want("month"):
        plan = _Plan("month", *month_bounds(zone, now), "calendar", "all", 31 * DAY_MS)
        plan.cap_usd = settings.monthly_budget_usd
        plans.append(plan)

    five_samples = samples.get("five_hour", [])
    newest_five = _newest(five_samples)
    five_plan = None
    not_before = None
    five_earlier: list[tuple[int, list[Sample]]] = []
    if want("five_hour"):
        if newest_five is not None and newest_five.resets_at_ms > now:
            end = newest_five.resets_at_ms
            five_plan = _Plan("five_hour", end - FIVE_HOURS_MS, end, "official", "cc", FIVE_HOURS_MS)
            _plan_samples(five_plan, five_samples, now)
        elif newest_five is not None:
            # The official window has ended: the next one follows activity, calibrated like the ones before.
            not_before = newest_five.resets_at_ms
            five_earlier = _plan_samples(_Plan("five_hour", now, now + FIVE_HOURS_MS, "activity", "cc",
                                               FIVE_HOURS_MS), five_samples, now).earlier

    if not plans and five_plan is None and not want("five_hour"):
        return {}  # e.g. only model-scoped weeks were asked for, and no sample carries them

    # One scan covers every window, the earlier windows calibration may borrow from, and the pace's lookback.
    lo = now - (LOOKBACK_MS if detail_names is None or detail_names else DAY_MS)
    splits = [now, not_before or now]
    for start, group in five_earlier:
        splits += [start, *(s.taken_ms for s in group)]
        lo = min(lo, start)
    for plan in plans + ([five_plan] if five_plan else []):
        splits += plan.splits()
        lo = min(lo, plan.start, *(start for start, _ in plan.earlier))
    series = _load_series(store, lo, now, splits, families=any(p.scope in _FAMILY for p in plans))

    if want("five_hour"):
        if five_plan is None:
            start = five_hour_start(series["cc"].ts, now, not_before)
            # With no window running, the next request would open one now.
            start = now if start is None else start
            five_plan = _Plan("five_hour", start, start + FIVE_HOURS_MS, "activity", "cc", FIVE_HOURS_MS)
            five_plan.earlier = five_earlier
        five_plan.cap_usd, five_plan.cap_tokens = settings.five_hour_cap_usd, settings.five_hour_cap_tokens
        plans.append(five_plan)

    order = ("week", "five_hour", "week_opus", "week_sonnet", "month")
    plans.sort(key=lambda p: order.index(p.name))
    return {plan.name: _evaluate(plan, series[plan.scope], now, zone, store, detailed(plan.name),
                                 sessions=detail is True) for plan in plans}


def fresh_official(store, now: int, names: Iterable[str]) -> dict[str, WindowStatus]:
    """The windows among `names` whose newest official sample was confirmed within FRESH_MS and resets ahead, as
    statuses holding that figure alone — no usage scan, so used_tokens/used_cost read 0. For the hook, which runs
    before every tool call and needs only the %; while Claude Code runs, its statusline keeps these fresh."""
    out = {}
    for name in names:
        key = _OFFICIAL_NAME.get(name)
        if key is None:
            continue
        try:
            row = store.db.execute("SELECT used_pct, resets_at_ms, taken_ms, seen_ms FROM official_samples "
                                   "WHERE window = ? AND taken_ms <= ? ORDER BY taken_ms DESC, id DESC LIMIT 1",
                                   (key, now)).fetchone()
        except sqlite3.OperationalError:
            return out
        if row is None:
            continue
        pct, resets, taken, seen = row
        confirmed = min(max(taken, seen), now)
        if now - confirmed >= FRESH_MS or resets <= now:
            continue
        period = FIVE_HOURS_MS if name == "five_hour" else WEEK_MS
        out[name] = WindowStatus(name, resets - period, resets, "official", pct, 0, 0.0, None, None, pct, confirmed,
                                 None, [], window_source="official", samples=1)
    return out


def pct_text(status: WindowStatus | None) -> str:
    """"62%" for an official figure, "~62%" for a calibrated or configured one, "–" when unknown."""
    if status is None or status.used_pct is None:
        return UNKNOWN
    mark = "" if status.source == "official" else "~"
    return f"{mark}{status.used_pct:.0f}%"


def reset_text(status: WindowStatus | None, zone, now: int) -> str:
    """When a window resets, in local time: "Tue 09:00" (or "14:00" today, "Dec 01" for a month)."""
    if status is None or status.window_source == "guess" or (status.window_source == "activity"
                                                                and status.start_ms >= now):
        return UNKNOWN
    if status.name == "month":
        return local_time(status.end_ms, zone).strftime("%b %d")
    return fmt_when(status.end_ms, zone, now)


def threshold_message(status: WindowStatus, zone: tzinfo, now: int) -> str:
    """"Claude weekly limit at 82% — resets Tue 09:00"; money windows add the dollars."""
    text = f"{window_label(status.name)} at {pct_text(status)}"
    if status.name == "month" and status.cap_usd:
        text += f" (${status.used_cost:,.2f} of ${status.cap_usd:,.2f} est)"
    reset = reset_text(status, zone, now)
    if reset != UNKNOWN:
        return f"{text} — resets {reset}"
    return f"{text} (last 7 days; reset time unknown)" if status.window_source == "guess" else text


def dedup_end(status: WindowStatus, zone: tzinfo, now: int) -> int:
    """The key that makes an alert or warning fire once per window: the reset time, or for a rolling 7-day guess
    (which never resets) the next local midnight, so it repeats at most once a day."""
    if status.window_source != "guess":
        return status.end_ms
    return next_midnight_ms(now, zone)


def today_cost(store, zone: tzinfo, now: int | None = None) -> float:
    """Estimated USD since local midnight, every source."""
    now = current_ms() if now is None else now
    start = local_ms(local_day(now, zone), 0, 0, zone)
    row = store.db.execute("SELECT (SELECT SUM(cost_usd) FROM requests WHERE ts >= ?1 AND ts <= ?2), "
                           "(SELECT SUM(cost_usd) FROM rollups WHERE slot >= ?1 AND slot <= ?2)",
                           (start, now)).fetchone()
    return (row[0] or 0.0) + (row[1] or 0.0)
