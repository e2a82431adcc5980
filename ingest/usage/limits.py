"""`compute_status`: how much of each cap is used, where that figure comes from, and where it is heading. Reads
local usage in one grouped scan, calibrates it to the official samples (used % ≈ k × usage), and hands each
window's pace to the forecast."""

from __future__ import annotations

import math
import sqlite3
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo

from ..clock import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, local_day, local_ms
from ..clock import now_ms as current_ms
from ..records import SOURCES
from ..store.schema import SLOT_MS, USAGE_SQL
from .forecast import HALF_LIFE_ACTIVE, Forecast, Pace, build_forecast, pace
from .samples import FRESH_MS, Sample, load_samples
from .series import CAP_SOURCE, FAMILY, PastCache, Series, load_series
from .top_sessions import scope_filter, top_sessions
from .weekly import FIVE_HOUR, MONTH, MONTHS_BACK, kind_for, lookback_start, weekly_forecast
from .windows import (
    FIVE_HOURS_MS,
    MODEL_WINDOWS,
    OFFICIAL_KEY,
    Calibration,
    WindowName,
    WindowStatus,
    five_hour_start,
    month_bounds,
    past_blocks,
    past_months,
    roll_forward,
    week_from_reset_spec,
)
from .windows import claude_block as _block_start

LOOKBACK_MS = WEEK_MS
"""How far back the pace looks: a week, so the start of a new window still has a rate to project."""
FIVE_HOUR_BUCKET_MS = 10 * MINUTE_MS
"""The 5-hour window is paced in 10-minute buckets: hours are too coarse for a window five of them long."""
MAX_FIT_POINTS = 16
"""Calibration uses at most this many samples per window (spread evenly, newest always kept)."""


def _unpriced(store, lo: int, hi: int, scope: str, cap_sources: Sequence[str] = (CAP_SOURCE,)) -> int:
    """Requests in [lo, hi) without a price (their cost is not, or only partly, in the window's dollars). The slot
    sums answer the common case (none) at once; only when they hold some are the rows counted exactly."""
    where, args = scope_filter(scope, cap_sources)
    try:
        near = store.db.execute(f"SELECT COALESCE(SUM(unpriced), 0) FROM slot_usage WHERE slot >= ? AND slot < ?"
                                f"{where}", (lo - lo % SLOT_MS, hi, *args)).fetchone()[0]
    except sqlite3.OperationalError:  # a store older than the slot sums (read-only): count the rows
        near = 1
    if not near:
        return 0
    return store.db.execute(f"SELECT COALESCE(SUM(CASE WHEN priced = 0 THEN requests ELSE 0 END), 0) FROM "
                            f"({USAGE_SQL}) WHERE ts >= ? AND ts < ?{where}", (lo, hi, *args)).fetchone()[0]


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


def _points(samples: Sequence[Sample], series: Series, start: int) -> list[tuple[float, float, float]]:
    return [(s.used_pct, *series.between(start, s.taken_ms)) for s in samples]


# -- one window -------------------------------------------------------------------------------------


@dataclass
class _Plan:
    name: WindowName
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
    history: list[Sample] = field(default_factory=list)
    """Every sample of this window's kind, past weeks included (the weekly profile finds time spent at the cap)."""

    def splits(self) -> list[int]:
        out = [self.start, self.end, *(s.taken_ms for s in self.fit), *(s.confirmed_ms for s in self.fit[-1:])]
        for start, samples in self.earlier:
            out += [start, *(s.taken_ms for s in samples)]
        return out


def _plan_samples(plan: _Plan, samples: Sequence[Sample], now: int) -> _Plan:
    """Sort a window's samples into its own (thinned) and, when it has fewer than two, the earlier windows'."""
    plan.history = list(samples)
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


def _evaluate(plan: _Plan, series: Series, now: int, zone: tzinfo, store, detail: bool, sessions: bool,
              cap_sources: Sequence[str] = (CAP_SOURCE,), past: PastCache | None = None) -> WindowStatus:
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

    # A % comes only from a sample, a calibration or a cap, each of which named its source above.
    assert source is not None
    forecast = _forecast(plan, series, proxy, k, used_pct, used_cost, pct_at, now, zone, plan.history) \
        if detail else None
    top = top_sessions(store, start, upto, plan.scope, proxy, cap_sources, past) if sessions else []
    return WindowStatus(
        name=plan.name, start_ms=start, end_ms=end, source=source, used_pct=used_pct, used_tokens=int(used_tokens),
        used_cost=used_cost, cap_tokens=cap_tokens, cap_usd=cap_usd,
        official_pct=last.used_pct if last else None, official_at_ms=last.confirmed_ms if last else None,
        forecast=forecast, top_sessions=top, window_source=plan.window_source, calibration=cal,
        samples=len(fit), counts=tuple(SOURCES) if plan.scope == "all" else tuple(cap_sources),
        unpriced_requests=_unpriced(store, start, upto, plan.scope, cap_sources))


def _forecast(plan: _Plan, series: Series, proxy: str, k: float | None, used_pct: float | None, used_cost: float,
              pct_at, now: int, zone: tzinfo, samples: Sequence[Sample] = ()) -> Forecast:
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
    scale = k if capped and k is not None else 1.0  # capped implies k (the case without one returned above)
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
    used_now = used_pct if used_pct is not None else used_cost
    kind = kind_for(plan.name, capped)
    if kind is not None:
        # The window follows the user's own rhythm once a week of history, and past windows of its kind, are on
        # record (usage/weekly.py); else the active-hours pace below.
        def hourly(a: int, b: int) -> list[tuple[int, float]]:
            return [(ts, v * scale) for ts, v in series.buckets(unit_proxy, a, b, HOUR_MS)]

        windows = past_blocks([ts for ts, _ in hourly(lookback_start(start), start)], start) \
            if kind is FIVE_HOUR else past_months(zone, start, MONTHS_BACK) if kind is MONTH else None
        profiled = weekly_forecast(used=used_now, start=start, end=end, now=now, zone=zone, hourly=hourly,
                                   first_use_ms=series.known_from or (series.ts[0] if series.ts else None),
                                   history=history,
                                   rate_per_hour=p.rate, duty=p.duty, samples=samples, kind=kind, windows=windows,
                                   capped=capped, name=plan.name)
        if profiled is not None:
            if plan.name == "month" and capped and profiled.pct_at_reset is not None:
                profiled.projected_total = profiled.pct_at_reset * plan.cap_usd / 100
            return profiled
    usd_per_unit = None
    if plan.name == "month" and capped:
        usd_per_unit = plan.cap_usd / 100
    forecast = build_forecast(name=plan.name, used=used_now, history=history, pace_=p, now_ms=now, end_ms=end,
                              zone=zone, capped=capped, usd_per_unit=usd_per_unit)
    if capped and plan.name.startswith("week"):
        forecast.summary += " · by recent pace"  # under a week of history: no profile yet
    return forecast


# -- all windows ------------------------------------------------------------------------------------


def _used_before(store, t: int) -> bool:
    """Whether the store holds any usage before `t` (two index probes)."""
    return bool(store.db.execute("SELECT EXISTS(SELECT 1 FROM requests WHERE ts < ?) OR "
                                 "EXISTS(SELECT 1 FROM rollups WHERE slot < ?)", (t, t)).fetchone()[0])


def _newest(samples: Sequence[Sample]) -> Sample | None:
    dated = [s for s in samples if s.resets_at_ms is not None]
    return max(dated, key=lambda s: s.taken_ms) if dated else None


def compute_status(store, settings, now_ms: int | None = None, *,
                   windows: Iterable[WindowName] | None = None,
                   detail: bool | Iterable[WindowName] = True,
                   past: PastCache | None = None) -> dict[WindowName, WindowStatus]:
    """Every window's status: keys "week", "five_hour", "month", plus the per-model weeks
    (`MODEL_WINDOWS`) when samples carry them (the statusline's or those recorded from Claude Code's cache).

    `windows` limits which are computed. `detail` says which get a forecast: True (all, and top sessions too),
    False (none: the hook), or a set of names (the statusline wants the week's ETA only, without sessions).
    Costs were priced at ingest, so no price table is needed here."""
    now = current_ms() if now_ms is None else now_ms
    zone = settings.zone()
    wanted = set(windows) if windows is not None else None
    detail_names = (None if detail else set()) if isinstance(detail, bool) else set(detail)  # None: every window

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    def detailed(name: str) -> bool:
        return detail_names is None or name in detail_names

    samples = load_samples(store, lookback_start(now - WEEK_MS), now)
    plans: list[_Plan] = []

    # The weekly window: from the newest official reset, else the configured reset, else the last 7 days.
    if want("week"):
        newest = _newest(samples.get("seven_day", []))
        plan = None
        if newest is not None and newest.resets_at_ms is not None:  # _newest picks a dated sample
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
    for name in MODEL_WINDOWS:
        scoped = samples.get(OFFICIAL_KEY[name], [])
        newest = _newest(scoped)
        if newest is not None and newest.resets_at_ms is not None and want(name):  # _newest: a dated sample
            end = roll_forward(newest.resets_at_ms, now, WEEK_MS)
            plans.append(_plan_samples(_Plan(name, end - WEEK_MS, end, "official", name, WEEK_MS), scoped, now))
    if want("month"):
        plan = _Plan("month", *month_bounds(zone, now), "calendar", "all", 31 * DAY_MS)
        plan.cap_usd = settings.monthly_budget_usd
        plans.append(plan)

    five_samples = samples.get("five_hour", [])
    newest_five = _newest(five_samples)
    five_resets = newest_five.resets_at_ms if newest_five is not None else None  # _newest picks a dated sample
    five_plan = None
    not_before = None
    five_earlier: list[tuple[int, list[Sample]]] = []
    if want("five_hour"):
        if five_resets is not None and five_resets > now:
            end = five_resets
            five_plan = _Plan("five_hour", end - FIVE_HOURS_MS, end, "official", "cc", FIVE_HOURS_MS)
            _plan_samples(five_plan, five_samples, now)
        elif five_resets is not None:
            # The official window has ended: the next one follows activity, calibrated like the ones before.
            not_before = five_resets
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
        if plan.name.startswith("week") and detailed(plan.name) and plan.window_source != "guess":
            # The weekly profile reads the weeks before this one (a rolling 7 days has no profile: see _forecast).
            lo = min(lo, lookback_start(plan.start))
        if plan.name == "month" and detailed("month"):
            lo = min(lo, past_months(zone, plan.start, MONTHS_BACK)[0][0])  # …and the month's, the months before
    if want("five_hour") and detailed("five_hour"):
        lo = min(lo, lookback_start(now - FIVE_HOURS_MS))  # the 5-hour window's: the weeks before it
    cap_sources = tuple(getattr(settings, "cap_sources", None) or (CAP_SOURCE,))
    series = load_series(store, lo, now, splits, families=any(p.scope in FAMILY for p in plans),
                         cap_sources=cap_sources, past=past)
    if detail_names is None or detail_names:
        known = _used_before(store, lo)
        for scope_series in series.values():
            scope_series.known_from = lo if known else None

    if want("five_hour"):
        block = None
        if five_plan is None:
            block = claude_block(store, now, cap_sources, not_before)
            # Claude Code's own block index where its newest request carries one, else the activity rule.
            opened = block[0] if block is not None else five_hour_start(series["cc"].ts, now, not_before)
            # With no window running, the next request would open one now.
            start = now if opened is None else opened
            five_plan = _Plan("five_hour", start, start + FIVE_HOURS_MS, "activity", "cc", FIVE_HOURS_MS)
            five_plan.earlier = five_earlier
        five_plan.cap_usd, five_plan.cap_tokens = settings.five_hour_cap_usd, settings.five_hour_cap_tokens
        plans.append(five_plan)

    order: tuple[WindowName, ...] = ("week", "five_hour", *MODEL_WINDOWS, "month")
    plans.sort(key=lambda p: order.index(p.name))
    out = {plan.name: _evaluate(plan, series[plan.scope], now, zone, store, detailed(plan.name),
                                sessions=detail is True, cap_sources=cap_sources, past=past) for plan in plans}
    if want("five_hour") and block is not None and block[0] < now:
        out["five_hour"].claude_block = block[1]
    return out


def claude_block(store, now: int, cap_sources: Sequence[str], not_before: int | None) -> tuple[int, int] | None:
    """(start, index) of the 5-hour window from Claude Code's `apiBlockIndex`, or None when its newest request in
    the last 5 hours carries none (then the activity rule decides). A start of `now`: that block has ended. Two
    index lookups: the newest request, then the first one of its block (`windows.claude_block` has the rule)."""
    sources = f"source IN ({', '.join('?' * len(cap_sources))})"
    try:
        newest = store.db.execute(f"SELECT ts, api_block FROM requests WHERE ts > ? AND ts <= ? AND {sources} "
                                  "ORDER BY ts DESC LIMIT 1", (now - FIVE_HOURS_MS, now, *cap_sources)).fetchone()
        if newest is None or newest[1] is None:
            return None
        first = store.db.execute(f"SELECT MIN(ts) FROM requests WHERE api_block IS NOT NULL AND api_block = ? AND "
                                 f"ts > ? AND ts <= ? AND {sources}",
                                 (newest[1], newest[0] - FIVE_HOURS_MS, newest[0], *cap_sources)).fetchone()[0]
    except sqlite3.OperationalError:  # a store older than the column (read-only while an older tokentop writes)
        return None
    return _block_start([(first, newest[1]), tuple(newest)], now, not_before)


def today_cost(store, zone: tzinfo, now: int | None = None) -> float:
    """Estimated USD since local midnight, every source."""
    return today_spend(store, zone, now)[0]


def today_spend(store, zone: tzinfo, now: int | None = None) -> tuple[float, int]:
    """(estimated USD, unpriced requests) since local midnight, every source: with unpriced requests the dollars are
    a lower bound, and every place that prints them says so (`text.dollars`)."""
    now = current_ms() if now is None else now
    start = local_ms(local_day(now, zone), 0, 0, zone)
    row = store.db.execute("SELECT (SELECT SUM(cost_usd) FROM requests WHERE ts >= ?1 AND ts <= ?2), "
                           "(SELECT SUM(cost_usd) FROM rollups WHERE slot >= ?1 AND slot <= ?2)",
                           (start, now)).fetchone()
    return (row[0] or 0.0) + (row[1] or 0.0), _unpriced(store, start, now + 1, "all")
