"""The hour-of-week forecaster: what the user's own past weeks say the rest of this window will bring, scaled by how
this window has gone so far, with a band measured by running the same forecaster over those past weeks.

Why not a straight pace: usage has a weekly rhythm (work hours, idle nights, light weekends). A pace measured on
Friday afternoon and projected across the weekend arrives ~a day and a half early; the profile knows the weekend
is quiet because the user's weekends were. The band is not the spread of hourly rates (which says little about a
week) but the spread of this forecaster's own errors on past weeks at the same horizon, so an 80% band holds the
outcome about 80% of the time on the user's own history."""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo

from ..clock import HOUR_MS, WEEK_MS, local_time

HOURS_PER_WEEK = 168
MIN_WEEKS = 1.0
"""A profile needs at least a week of observed hours: with less, some hours of the week were never seen."""
PRIOR_WEIGHT = 0.05
"""How much a typical week counts against this window's own evidence. The scale is
(used + PRIOR·E_window) / (E_so_far + PRIOR·E_window): in the first hours it stays near 1 (the usual week), and
as the expected-so-far grows, what this window actually did takes over (a heavy week is projected heavy). This is
the default only: with past weeks on record `fit_backtest` picks the weight from PRIOR_GRID that forecast them
best, since how much a week's first days say about its rest differs from user to user."""
BAND_COVERAGE = 0.8
"""The central share of past errors the band spans: the "80% band" the screen promises. Chosen on the backtest's
tuning seed (tests/bench/backtest_forecast.py --seed 1: 81% held); the held-out seeds are in the README."""
HORIZON_EDGES_H = (6, 12, 24, 48, 96)
"""Backtest errors are grouped by the hours left in the window: 0–6 h, 6–12 h, …, 96 h and more."""
TODAY_WEIGHT = 0.5
"""How much of a usual day today must have seen before its own ratio outweighs the week's for the rest of today."""
PRIOR_GRID = (0.05, 0.15, 0.4, 1.0, 3.0)
TODAY_GRID = (0.25, 0.5, 1.0, 3.0)
"""The weights `fit_backtest` tries on the user's past weeks (the defaults above apply without such a backtest)."""
MIN_BAND_SAMPLES = 6
SHAPE_ROUNDS = 8
"""Alternations of level and shape in the profile fit (it settles in a few)."""
BACKTEST_STEP_MS = 6 * HOUR_MS
UTC_ZONE = UTC


@functools.lru_cache(maxsize=1 << 14)
def hour_of_week(ms: int, zone: tzinfo) -> int:
    """0 = Monday 00:00–01:00 local time, … 167 = Sunday 23:00–24:00. Kept for the hours asked (the same hour
    starts of the last weeks and the rest of the window, on every re-read: a zone lookup each is most of a
    forecast's time); the exact instant is the key, so half-hour zones stay exact."""
    t = local_time(ms, zone)
    return t.weekday() * 24 + t.hour


@dataclass(frozen=True, slots=True)
class Profile:
    """Mean usage per local hour of the week (in the caller's unit: % of the cap, or USD)."""

    per_hour: tuple[float, ...]
    weeks: float
    """Observed hours / 168: how many weeks of history the means rest on (blocked hours excluded)."""

    def expected(self, a_ms: int, b_ms: int, zone: tzinfo) -> float:
        """Usage the profile expects in [a_ms, b_ms), partial hours counted by their share."""
        if b_ms <= a_ms:
            return 0.0
        total = 0.0
        t = a_ms
        while t < b_ms:
            hour_end = t - t % HOUR_MS + HOUR_MS
            stop = min(hour_end, b_ms)
            total += self.per_hour[hour_of_week(t, zone)] * (stop - t) / HOUR_MS
            t = stop
        return total


def learn_profile(buckets: Iterable[tuple[int, float]], start_ms: int, end_ms: int, zone: tzinfo,
                  blocked: Iterable[int] = ()) -> Profile | None:
    """The profile of [start_ms, end_ms) from hourly (hour_start_ms, amount) buckets (missing hours are zero).

    Hours in `blocked` (hour starts where the user sat at a cap and could not use anything) are left out of both
    the sums and the counts, so a week blocked at the cap does not teach that those hours are idle."""
    first = start_ms - start_ms % HOUR_MS
    if first < start_ms:
        first += HOUR_MS
    blocked_set = set(blocked)
    amounts: dict[int, float] = {}
    for ts, amount in buckets:
        if start_ms <= ts < end_ms:
            amounts[ts - ts % HOUR_MS] = amounts.get(ts - ts % HOUR_MS, 0.0) + amount
    cells: list[tuple[int, int, float]] = []  # (week index, hour of week, amount) of every hour not blocked
    counts = [0] * HOURS_PER_WEEK
    for ts in range(first, end_ms - HOUR_MS + 1, HOUR_MS):
        if ts in blocked_set:
            continue
        h = hour_of_week(ts, zone)
        cells.append(((ts - first) // WEEK_MS, h, amounts.get(ts, 0.0)))
        counts[h] += 1
    observed = len(cells)
    if observed < MIN_WEEKS * HOURS_PER_WEEK or min(counts) == 0:
        return None
    return Profile(_level_times_shape(cells, counts), observed / HOURS_PER_WEEK)


def _level_times_shape(cells: Sequence[tuple[int, int, float]], counts: Sequence[int]) -> tuple[float, ...]:
    """Usage per hour of the week as (a week's level) × (the hour's shape), fitted by alternating means.

    Plain means per hour would be biased by blocked time: a heavy week reaches the cap on Thursday, its Friday is
    left out, and Friday's mean then rests on the light weeks only. With a level per week (from the hours it
    did have), each hour's shape is measured against the level of the weeks that saw it, so a heavy week's
    missing Friday no longer makes Fridays look light. The answer is the shape at the mean level."""
    sums = [0.0] * HOURS_PER_WEEK
    for _, h, a in cells:
        sums[h] += a
    shape = [s / c for s, c in zip(sums, counts)]
    n_weeks = max(w for w, _, _ in cells) + 1
    level = [1.0] * n_weeks
    for _ in range(SHAPE_ROUNDS):
        got, exp = [0.0] * n_weeks, [0.0] * n_weeks
        for w, h, a in cells:
            got[w] += a
            exp[w] += shape[h]
        level = [g / e if e > 0 else 1.0 for g, e in zip(got, exp)]
        weight = [0.0] * HOURS_PER_WEEK
        for w, h, _ in cells:
            weight[h] += level[w]
        shape = [s / wt if wt > 0 else 0.0 for s, wt in zip(sums, weight)]
    # The mean level over weeks, each weighted by how much of it was observed (a partial week says less).
    seen = [0] * n_weeks
    for w, _, _ in cells:
        seen[w] += 1
    mean_level = sum(lv * n for lv, n in zip(level, seen)) / sum(seen)
    return tuple(s * mean_level for s in shape)


@dataclass(frozen=True, slots=True)
class Projection:
    """Where the window ends up by the profile: the middle, and the band when past weeks could measure one."""

    final: float
    low: float | None
    high: float | None
    scale: float
    """This window's usage so far over what the profile expected so far, shrunk toward 1 (see PRIOR_WEIGHT)."""
    expected_left: float
    """What the profile expects in the rest of the window, before scaling."""
    today_scale: float = 1.0
    """The same ratio for today so far (local day), shrunk toward `scale`: it applies to the rest of today, since a
    heavy or idle day tends to stay so (see TODAY_WEIGHT)."""
    today_end_ms: int = 0
    """Where `today_scale` stops applying: the next local midnight (or the window's end)."""

    def rate_at(self, t_ms: int) -> float:
        return self.today_scale if t_ms < self.today_end_ms else self.scale

    def curve(self, profile: Profile, now_ms: int, times: Sequence[int], used: float, zone: tzinfo) -> list[float]:
        """`at` for ascending `times`, in one walk over the hours (a month's curve of 61 points would otherwise
        walk its 700 hours 61 times, on every re-read)."""
        out, acc, t = [], used, now_ms
        for target in times:
            while t < target:
                stop = min(t - t % HOUR_MS + HOUR_MS, target)
                if self.today_end_ms > t:
                    stop = min(stop, self.today_end_ms)
                acc += self.rate_at(t) * profile.per_hour[hour_of_week(t, zone)] * (stop - t) / HOUR_MS
                t = stop
            out.append(acc)
        return out

    def at(self, profile: Profile, now_ms: int, t_ms: int, used: float, zone: tzinfo) -> float:
        """The middle curve: usage expected by `t_ms`."""
        cut = max(now_ms, min(t_ms, self.today_end_ms))
        return used + self.today_scale * profile.expected(now_ms, cut, zone) + \
            self.scale * profile.expected(cut, t_ms, zone)


def day_start(ms: int, zone: tzinfo) -> int:
    """The local midnight before `ms`, to the hour (a DST day's odd hour is close enough for a blend)."""
    return ms - ms % HOUR_MS - hour_of_week(ms, zone) % 24 * HOUR_MS


def _blend(used: float, used_today: float | None, so_far: float, e_today: float, rest_today: float,
           after_today: float, prior_weight: float, today_weight: float) -> tuple[float, float, float]:
    """(week scale, today's scale, usage expected in the rest of the window) from what the profile expected so far
    (`so_far`, of which `e_today` today), what it expects in the rest of today and after, and what was used."""
    prior = prior_weight * (so_far + rest_today + after_today)
    scale = (used + prior) / (so_far + prior) if so_far + prior > 0 else 1.0
    today_scale = scale
    if used_today is not None:
        weight = today_weight * (e_today + rest_today)
        if e_today + weight > 0:
            today_scale = (used_today + weight * scale) / (e_today + weight)
    return scale, today_scale, today_scale * rest_today + scale * after_today


def project(profile: Profile, used: float, start_ms: int, now_ms: int, end_ms: int, zone: tzinfo,
            band: Sequence[tuple[float, float]] | None = None, used_today: float | None = None,
            prior_weight: float = PRIOR_WEIGHT, today_weight: float = TODAY_WEIGHT,
            edges: Sequence[float] = HORIZON_EDGES_H) -> Projection:
    """Project `used` (so far in the window [start_ms, end_ms)) to the window's end.

    `band` is a `Backtest`'s band: per horizon group, the (low, high) ratio of actual to predicted remaining
    usage on past weeks. `used_today` is the part of `used` since local midnight (or the window's start); the
    weights are a `Backtest`'s choice (or the defaults)."""
    midnight = day_start(now_ms, zone)
    today_from, today_end = max(start_ms, midnight), min(end_ms, midnight + 24 * HOUR_MS)
    so_far = profile.expected(start_ms, now_ms, zone)
    rest_today = profile.expected(now_ms, today_end, zone)
    after = profile.expected(today_end, end_ms, zone)
    scale, today_scale, mid_left = _blend(used, used_today, so_far, profile.expected(today_from, now_ms, zone),
                                          rest_today, after, prior_weight, today_weight)
    low = high = None
    if band:
        lo_ratio, hi_ratio = band[_horizon_group((end_ms - now_ms) / HOUR_MS, edges)]
        low, high = used + mid_left * lo_ratio, used + mid_left * hi_ratio
    return Projection(used + mid_left, low, high, scale, rest_today + after, today_scale, today_end)


def crossing(profile: Profile, proj: Projection, used: float, now_ms: int, end_ms: int, zone: tzinfo,
             level: float = 100.0, extra: float = 0.0) -> int | None:
    """When the middle curve (plus `extra` spread in proportion to it) reaches `level`, to the minute; None if it
    does not before `end_ms`. `extra` lets a caller ask when the band's edge crosses."""
    if used >= level:
        return now_ms
    if 1.0 + extra <= 0:
        return None
    t, acc = now_ms, used
    while t < end_ms:
        stop = min(t - t % HOUR_MS + HOUR_MS, end_ms)
        if proj.today_end_ms > t:
            stop = min(stop, proj.today_end_ms)
        step = proj.rate_at(t) * (1.0 + extra) * profile.per_hour[hour_of_week(t, zone)] * (stop - t) / HOUR_MS
        if step > 0 and acc + step >= level:
            frac = (level - acc) / step
            return t + int((stop - t) * frac)
        acc += step
        t = stop
    return None


def _horizon_group(hours_left: float, edges: Sequence[float] = HORIZON_EDGES_H) -> int:
    """The group of [0, e0], (e0, e1], …: the replay's points sit on the edges (6 h left, 12 h …), and the first
    group must hold the last ones, not borrow the next group's spread."""
    for i, edge in enumerate(edges):
        if hours_left <= edge:
            return i
    return len(edges)


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class Backtest:
    """What running the forecaster over the user's own past windows chose and measured."""

    prior_weight: float
    today_weight: float
    band: list[tuple[float, float]] | None
    """Per horizon group, the central `coverage` of actual / predicted remaining usage; None when too few points."""
    error: float
    """Mean absolute error of the window's end at the chosen weights (the caller's unit)."""
    points: int
    ratios: list[tuple[tuple[float, bool], ...]] | None = None
    edges: tuple[float, ...] = HORIZON_EDGES_H
    """The horizon groups' edges, in hours left (the window's kind sets them: a 5-hour window's are hours)."""
    """Per horizon group, every (ratio of actual to predicted remaining usage, the window ended at the cap), by
    ratio (borrowed like `band`): the whole spread, from which `hit_chance` reads the odds of reaching the cap."""

    def hit_chance(self, hours_left: float, needed_ratio: float) -> float | None:
        """The chance the window reaches the cap when it needs `needed_ratio` times the predicted remaining usage:
        P(ratio ≥ needed) over the past points at this horizon (None without them).

        A past window that hit the cap stopped there, so its ratio is only a lower bound of what the week would
        have done (right-censored): counted as a plain ratio it would say heavy weeks fall short. The product-limit
        (Kaplan–Meier) estimate keeps such a point as "at least this" and shares it out among the larger ratios."""
        marked = self.ratios[_horizon_group(hours_left, self.edges)] if self.ratios else ()
        if not marked or (needed_ratio > marked[-1][0] and marked[-1][1]):
            # Beyond the largest ratio seen, and that one stopped at the cap: how much further such a week would
            # have gone is not on record (a user whose weeks all hit the cap), so no odds, not 0%.
            return None
        return survival(marked, needed_ratio)

    def ratio_if_hit(self, hours_left: float, needed_ratio: float, q: float = 0.5) -> float:
        """The median ratio among the past points at this horizon that reached at least `needed_ratio` (the
        `q` quantile of the rest of the spread, from the top): how heavy a week that does hit the cap tends to run.
        An ETA read off it is when the cap comes *if* it comes, which the middle curve (ratio 1) says too late
        for exactly the weeks that hit."""
        marked = self.ratios[_horizon_group(hours_left, self.edges)] if self.ratios else ()
        base = survival(marked, needed_ratio)
        if not marked or base <= 0:
            return needed_ratio
        n, p = len(marked), 1.0
        for i, (value, censored) in enumerate(marked):
            if not censored:
                p *= 1.0 - 1.0 / (n - i)
            if value >= needed_ratio and p <= q * base + 1e-12:  # (float products: 0.6 × 2/3 > 0.4)
                return value
        return max(needed_ratio, marked[-1][0])  # the rest is censored: at least the largest ratio seen

def fit_backtest(buckets: Sequence[tuple[int, float]], windows: Sequence[tuple[int, int]], zone: tzinfo,
                 blocked: Iterable[int] = (), coverage: float = BAND_COVERAGE, cap: float | None = None,
                 step_ms: int = BACKTEST_STEP_MS, edges: Sequence[float] = HORIZON_EDGES_H,
                 hold_out_ms: int | None = None) -> Backtest | None:
    """Run the forecaster over each past window (its profile learnt from the other windows, so it never sees the
    answer) every 6 hours, for each pair of weights in PRIOR_GRID × TODAY_GRID; keep the pair whose end-of-window
    error is smallest, and its ratios of actual to predicted remaining usage per horizon group as the band.

    How far one day or one week of evidence should move the forecast depends on how noisy the user's days and
    weeks are; the user's own history answers that, so nothing is tuned to one kind of user. A window that ran
    into `cap` ended there: predictions are scored clipped to it (a forecast of 130% was right about that week).
    `step_ms` spaces the replayed points and `edges` groups them (a 5-hour window: every hour, grouped by hours
    left). With `hold_out_ms` the profile leaves out the whole span of that length around each window (a week for
    5-hour windows: one profile per week, not per window, and none learnt from the same days). None when no
    window could be replayed."""
    blocked = set(blocked)
    hourly: dict[int, float] = {}
    for ts, amount in buckets:
        hourly[ts - ts % HOUR_MS] = hourly.get(ts - ts % HOUR_MS, 0.0) + amount
    span_lo = min((s for s, _ in windows), default=0)
    span_hi = max((e for _, e in windows), default=0)
    combos = [(p, t) for p in PRIOR_GRID for t in TODAY_GRID]
    # Per point: horizon group, actual remaining, and the predicted remaining per pair of weights.
    points: list[tuple[int, float, list[float], float]] = []
    profiles: dict[tuple[int, int], Profile | None] = {}
    for start, end in windows:
        hours = list(range(start - start % HOUR_MS, end, HOUR_MS))
        held = (start, end)
        if hold_out_ms is not None:
            k = (start - span_lo) // hold_out_ms
            held = (span_lo + k * hold_out_ms, span_lo + (k + 1) * hold_out_ms)
        if held not in profiles:
            others = [(ts, a) for ts, a in hourly.items() if not held[0] <= ts < held[1]]
            profiles[held] = learn_profile(others, span_lo, span_hi, zone,
                                           blocked | set(range(held[0] - held[0] % HOUR_MS, held[1], HOUR_MS)))
        profile = profiles[held]
        if profile is None:
            continue
        # Cumulative expected and used usage at each hour of the window: every projection is then a few lookups.
        exp_cum, used_cum = [0.0], [0.0]
        for h in hours:
            exp_cum.append(exp_cum[-1] + profile.per_hour[hour_of_week(h, zone)])
            used_cum.append(used_cum[-1] + hourly.get(h, 0.0))
        total = used_cum[-1]
        for now in range(start + step_ms, end, step_ms):
            i = (now - hours[0]) // HOUR_MS
            midnight = day_start(now, zone)
            d0 = max(0, (midnight - hours[0]) // HOUR_MS)
            d1 = min(len(hours), (midnight + 24 * HOUR_MS - hours[0]) // HOUR_MS)
            used, today = used_cum[i], used_cum[i] - used_cum[d0]
            so_far, e_today = exp_cum[i], exp_cum[i] - exp_cum[d0]
            rest_today, after = exp_cum[d1] - exp_cum[i], exp_cum[-1] - exp_cum[d1]
            preds = [_blend(used, today, so_far, e_today, rest_today, after, p, t)[2] for p, t in combos]
            room = cap - used if cap is not None else math.inf
            points.append((_horizon_group((end - now) / HOUR_MS, edges), total - used, preds, room))
    if not points:
        return None
    errors = [sum(abs(actual - _clip(pred[c], left_room)) for _, actual, pred, left_room in points) / len(points)
              for c in range(len(combos))]
    best = min(range(len(combos)), key=errors.__getitem__)
    by_group: list[list[float]] = [[] for _ in range(len(edges) + 1)]
    marked: list[list[tuple[float, bool]]] = [[] for _ in by_group]
    for group, actual, pred, left_room in points:
        if pred[best] > 1e-9:
            by_group[group].append(actual / pred[best])
            marked[group].append((actual / pred[best], actual >= left_room - 1e-9))
    tail = (1 - coverage) / 2
    # The band holds the middle (ratio 1) too: from few, alike past windows both quantiles can fall on one side.
    bands: list[tuple[float, float] | None] = [
        (min(_quantile(r, tail), 1.0), max(_quantile(r, 1 - tail), 1.0)) if len(r) >= MIN_BAND_SAMPLES else None
        for r in by_group]
    filled: list[tuple[float, float]] | None = None
    ratios: list[tuple[tuple[float, bool], ...]] | None = None
    if any(b is not None for b in bands):
        # A group without enough samples borrows from the nearest group that has them (wider horizons first).
        filled, ratios = [], []
        for i, b in enumerate(bands):
            j = i if b is not None else next(
                j for j in [*range(i + 1, len(bands)), *range(i - 1, -1, -1)] if bands[j] is not None)
            filled.append(bands[j])  # type: ignore[arg-type]
            ratios.append(tuple(sorted(marked[j])))
    return Backtest(combos[best][0], combos[best][1], filled, errors[best], len(points), ratios, tuple(edges))


def survival(marked: Sequence[tuple[float, bool]], x: float) -> float:
    """P(value ≥ x) from (value, censored) pairs sorted by value, a censored one meaning "at least this": the
    product-limit estimate, each uncensored value below x removing its share of those still at risk. Beyond the
    largest value seen it is 0 (Efron's convention): no past point is known to have gone further, and keeping
    the censored share there would never let the odds of a far-off cap fall under it."""
    if not marked or x > marked[-1][0]:
        return 0.0
    n, p = len(marked), 1.0
    for i, (value, censored) in enumerate(marked):
        if value >= x:
            break
        if not censored:
            p *= 1.0 - 1.0 / (n - i)
    return p


def _clip(predicted_left: float, room: float) -> float:
    return min(predicted_left, max(room, 0.0))


def band_ratios(buckets: Sequence[tuple[int, float]], windows: Sequence[tuple[int, int]], zone: tzinfo,
                blocked: Iterable[int] = (), coverage: float = BAND_COVERAGE) -> list[tuple[float, float]] | None:
    """Just the band of `fit_backtest`."""
    fit = fit_backtest(buckets, windows, zone, blocked, coverage)
    return fit.band if fit is not None else None


def past_windows(end_ms: int, length_ms: int = WEEK_MS, count: int = 8, not_before: int | None = None
                 ) -> list[tuple[int, int]]:
    """The `count` windows of `length_ms` that ended at or before `end_ms` (the current window's start), newest
    last, none starting before `not_before` (the first usage on record)."""
    out = []
    for i in range(count, 0, -1):
        start = end_ms - i * length_ms
        if not_before is not None and start < not_before - not_before % HOUR_MS:
            continue
        out.append((start, start + length_ms))
    return out
