"""The forecast from the user's own hour-of-week profile (usage/profile.py), shaped like every other `Forecast`:
used by `compute_status` for the week windows whenever a week of history is on record, and for the 5-hour window
and the month once past windows of their kind are too (`Kind`), so the TUI, `status`, the statusline, the hook and
the alerts all read the same ETA, odds and band."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import tzinfo

from ..clock import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS, local_day
from ..text import clock_time, span
from . import profile as pf
from . import surfaces
from .forecast import PROJECTION_STEPS, Forecast
from .samples import FRESH_MS, Sample
from .windows import FIVE_HOURS_MS

PROFILE_WEEKS = 8
"""Weeks of history the profile and its backtest read (one grouped scan: hourly buckets)."""
BAND_LEVEL = 0.8
"""What the band promises: the outcome falls inside it this often on the user's past weeks (see profile.py)."""
BLOCKED_PCT = 100.0
"""An official sample this high (or local usage reaching it) means the rest of that week was spent at the cap."""
COMMIT_CHANCE = 0.55
SURE_CHANCE = 0.8
NEAR_MS = 42 * HOUR_MS
"""An ETA is committed to when the cap is COMMIT_CHANCE likely and within NEAR_MS, or SURE_CHANCE likely
(further out, "may hit … (n%)"): a cap days away at even odds is a guess, and an alert on it is noise."""
CLEAR_CHANCE = 0.1
"""Under this chance (and the band's top under 100%) the forecast says "won't hit the cap before reset". These
four were chosen on the backtest's tuning seed (tests/bench/backtest_forecast.py --seed 1)."""


@dataclass(frozen=True, slots=True)
class Kind:
    """What differs between the windows the profile forecasts: how its past windows are replayed and grouped, how
    near a cap must be to be committed to, and how it reads."""

    name: str
    step_ms: int
    """The backtest replays each past window every `step_ms`…"""
    edges: tuple[float, ...]
    """…and groups its errors by hours left at these edges."""
    hold_out_ms: int | None
    """Each past window's profile leaves out this much around it (None: the window itself)."""
    near_ms: int
    what: str
    until: str
    stops: bool = True
    """A cap stops use at 100% (the rest of the window is blocked, a window that reached it is "at least this");
    a budget does not: spending goes on past it."""


WEEK = Kind("week", pf.BACKTEST_STEP_MS, pf.HORIZON_EDGES_H, None, NEAR_MS, "cap", "before reset")
FIVE_HOUR = Kind("five_hour", HOUR_MS, (1.5, 2.5, 3.5), WEEK_MS, FIVE_HOURS_MS, "cap", "before the window resets")
"""Past 5-hour windows (dozens a week) are replayed every hour; one profile per held-out week, not per window."""
MONTH = Kind("month", pf.BACKTEST_STEP_MS, (24, 72, 168, 336), None, NEAR_MS, "budget", "before the month ends",
             stops=False)
MONTHS_BACK = 2
"""Past months the month's backtest replays (its profile reads them too): two, the fewest a leave-one-out replay
can use; a third made the first read 45 ms slower (a heavy user's year: 194 → 238 ms) for a band from one more
month."""


def kind_for(name: str, capped: bool) -> Kind | None:
    """Which windows the profile forecasts: the weeks and the 5-hour window against a cap, the month with or
    without a budget (a total in dollars, then)."""
    if name.startswith("week"):
        return WEEK if capped else None
    if name == "five_hour":
        return FIVE_HOUR if capped else None
    return MONTH if name == "month" else None


_PARTS = ((0, 6, "night"), (6, 12, "morning"), (12, 18, "afternoon"), (18, 24, "evening"))


def lookback_start(window_start: int) -> int:
    return window_start - PROFILE_WEEKS * WEEK_MS


_LEARNT: dict = {}
"""Per window (the week and each model's week apart: one slot shared, they evicted each other on every
re-read), the last (inputs, (profile, fit)): both depend only on the windows before this one, which
live commits do not touch, and the backtest behind the weights and the band is most of a forecast's time (the
TUI re-reads every second)."""


def _learnt(past: list[tuple[int, float]], lo: int, start: int, zone: tzinfo, windows, blocked: set[int],
            kind: Kind = WEEK, stops: bool = True, slot: str | None = None):
    key = (tuple(past), lo, start, zone, tuple(windows), frozenset(blocked), stops)
    slot = slot or kind.name
    held = _LEARNT.get(slot)
    if held is not None and held[0] == key:
        return held[1]
    profile = pf.learn_profile(past, lo, start, zone, blocked)
    fit = None if profile is None else pf.fit_backtest(past, windows, zone, blocked, cap=100.0 if stops else None,
                                                       step_ms=kind.step_ms, edges=kind.edges,
                                                       hold_out_ms=kind.hold_out_ms)
    _LEARNT[slot] = (key, (profile, fit))
    return profile, fit


_AWAY: dict = {}
"""Per window, the last (inputs, profile) of what the user does on other surfaces: past windows only, as
`_LEARNT`."""


def _away(past: list[tuple[int, float]], lo: int, start: int, zone: tzinfo, blocked: set[int], slot: str):
    key = (tuple(past), lo, start, zone, frozenset(blocked))
    held = _AWAY.get(slot)
    if held is not None and held[0] == key:
        return held[1]
    profile = pf.learn_profile(past, lo, start, zone, blocked)
    _AWAY[slot] = (key, profile)
    return profile


def weekly_forecast(*, used: float, start: int, end: int, now: int, zone: tzinfo,
                    hourly: Callable[[int, int], list[tuple[int, float]]], first_use_ms: int | None,
                    history: list[tuple[int, float]], rate_per_hour: float | None, duty: float,
                    samples: Sequence[Sample] = (), kind: Kind = WEEK,
                    windows: Sequence[tuple[int, int]] | None = None, capped: bool = True,
                    name: str | None = None) -> Forecast | None:
    """`used` is % of the cap so far; `hourly(a, b)` gives (hour_start, % of the cap) buckets of local usage in
    [a, b) (the caller's calibration turns tokens or dollars into %); `samples` are the official weekly samples
    (they tell when past weeks sat at the cap, and what happened on other surfaces between them). None when
    there is no week of history yet: the caller then falls back to the straight pace and says so.

    Another `kind` of window names its past `windows` (the 5-hour windows or months before this one; the lookback
    is the caller's: `hourly` is asked from the first of them); it needs at least one the backtest could replay,
    else None too. `capped` False: `used` and `hourly` are estimated USD (a month without a budget), and the
    forecast is a total with its band, with no odds or ETA."""
    lo = (first_use_ms or start) - (first_use_ms or start) % HOUR_MS
    if windows is None:
        lo = max(lookback_start(start), lo)
        windows = pf.past_windows(start, count=PROFILE_WEEKS, not_before=lo)
    else:
        # A past window counts once usage is on record from its first day (the first use of a month at 10:00 on
        # the 1st is that month seen); the history starts with the first one that counts.
        windows = [(a, b) for a, b in windows if a + DAY_MS > lo and b <= start]
        lo = min((a for a, _ in windows), default=start)  # (not the caller's scan: every surface reads the same)
    if start - lo < WEEK_MS:
        return None
    # Official % per hour, every surface: what local usage explains plus what happened elsewhere between samples.
    rebuilt = surfaces.rebuild(hourly(lo, now + 1), samples, [*windows, (start, end)], now)
    past = [(ts, v) for ts, v in rebuilt.hourly if ts < start]
    stops = capped and kind.stops
    blocked = blocked_hours(past, windows, samples) if stops else set()
    slot = name or kind.name  # what the caches keep apart: "week", "week_opus", … share a kind
    profile, fit = _learnt(past, lo, start, zone, windows, blocked, kind, stops, slot)
    if profile is None or (fit is None and kind is not WEEK):
        return None
    band = fit.band if fit is not None else None
    midnight = max(start, pf.day_start(now, zone))
    today = sum(v for ts, v in rebuilt.hourly if midnight <= ts <= now)
    weights = {"prior_weight": fit.prior_weight, "today_weight": fit.today_weight} if fit is not None else {}
    # The level between samples: what the user usually does elsewhere in the hours since the official % was last
    # seen is added to the level the forecast starts from (the low edge keeps the level as shown).
    shown = used
    last = max((s for s in samples if s.resets_at_ms is not None and abs(s.resets_at_ms - end) < HOUR_MS
                and s.taken_ms <= now), key=lambda s: s.confirmed_ms, default=None)
    unseen = 0.0
    if last is not None and now - last.confirmed_ms > FRESH_MS:
        away = _away([(ts, v) for ts, v in rebuilt.elsewhere if ts < start], lo, start, zone, blocked, slot)
        if away is not None:
            unseen = away.expected(max(last.confirmed_ms, start), now, zone)
    used = shown if shown >= 100 or not capped else min(shown + unseen, 100.0)  # (no samples: no unseen)
    proj = pf.project(profile, used, start, now, end, zone, band, used_today=today, edges=kind.edges, **weights)
    if unseen > 0 and proj.high is not None:
        # What happened elsewhere since the sample is a guess that grows with its age: the low edge assumes none
        # (below), the high edge twice the usual.
        proj = replace(proj, high=proj.high + unseen)
    if not capped:
        return _total_forecast(proj, used, history, rate_per_hour, duty, profile, now, end, zone, band is not None)
    eta, eta_if_hit, hit_chance = _eta_by_odds(fit, profile, proj, used, now, end, zone, kind)
    eta_early = eta_late = None
    if band is not None and proj.low is not None and proj.high is not None and proj.final > used:
        spread = (proj.high - used) / (proj.final - used)
        eta_early = pf.crossing(profile, proj, used, now, end, zone, extra=spread - 1)
        shrink = (proj.low - used) / (proj.final - used)
        eta_late = pf.crossing(profile, proj, used, now, end, zone, extra=shrink - 1)
    projection = []
    times = _steps(now, end)
    lo_r, hi_r = _ratios(proj, used)
    for ts, mid in zip(times, proj.curve(profile, now, times, used, zone)):
        grown = mid - used
        projection.append((ts, mid, max(shown, used + grown * lo_r - unseen), used + grown * hi_r))
    summary = _summary(used, eta, eta_early, eta_late, proj, end, now, zone, profile, band is not None,
                       eta_if_hit, hit_chance, kind)
    if last is not None and now - last.confirmed_ms >= HOUR_MS:
        summary += f" · official {last.used_pct:.0f}% {span(now - last.confirmed_ms)} ago"
        if unseen >= 0.5:
            summary += f", ~{unseen:.0f}% elsewhere since"
    low = max(shown, proj.low - unseen) if proj.low is not None else None
    return Forecast(rate_per_hour, eta, proj.final, low, proj.high, history, projection, summary, unit="%",
                    rate_per_hour=rate_per_hour, duty=duty, method="profile",
                    band_level=BAND_LEVEL if band is not None else None,
                    eta_early_ms=eta_early, eta_late_ms=eta_late, profile_weeks=round(profile.weeks, 1),
                    hit_chance=hit_chance, eta_if_hit_ms=eta_if_hit)


def _eta_by_odds(fit: pf.Backtest | None, profile: pf.Profile, proj: pf.Projection, used: float, now: int, end: int,
                 zone: tzinfo, kind: Kind = WEEK) -> tuple[int | None, int | None, float | None]:
    """(the ETA the forecast commits to, when the cap comes if it comes, the chance it comes before reset).

    The middle curve is the typical week's, so for exactly the weeks that do hit it crosses 100% late or not at
    all. With the user's past weeks on record, the odds are how often a forecast like this one ended at the cap
    (`Backtest.hit_chance`), and the time is read off the curve of the weeks that did (`ratio_if_hit`). The
    forecast commits (alerts, the hook, "on pace to hit") at COMMIT_CHANCE with the cap within the kind's near_ms,
    or at SURE_CHANCE further out; between that and CLEAR_CHANCE it says "may hit … (n%)"; under it, "won't hit"."""
    if used >= 100:
        return now, now, 1.0
    mid_eta = pf.crossing(profile, proj, used, now, end, zone)
    if fit is None or not fit.ratios:
        return mid_eta, mid_eta, None
    grown, left_h = proj.final - used, (end - now) / HOUR_MS
    needed = (100 - used) / grown if grown > 0 else math.inf
    chance = fit.hit_chance(left_h, needed) if grown > 0 else 0.0
    if chance is None:  # no odds on record this far out: the middle curve's time, named but not committed to
        return None, mid_eta, None
    if chance < CLEAR_CHANCE or grown <= 0:
        return None, None, chance
    ratio = fit.ratio_if_hit(left_h, needed)
    if_hit = pf.crossing(profile, proj, used, now, end, zone, extra=ratio - 1)
    commits = if_hit is not None and chance >= COMMIT_CHANCE and (if_hit - now <= kind.near_ms or
                                                                  chance >= SURE_CHANCE)
    return (if_hit if commits else None), if_hit, chance


def blocked_hours(past: Sequence[tuple[int, float]], windows: Sequence[tuple[int, int]],
                  samples: Sequence[Sample]) -> set[int]:
    """Hours of past windows spent at the cap: from an official sample at ≥ 100% (else from the hour local usage
    took the window to 100%) until that window's reset. Such hours were not idle by choice; counting them as idle
    would teach the profile that a heavy week's Friday is quiet."""
    out: set[int] = set()
    ordered = sorted(past)
    starts = [ts for ts, _ in ordered]
    at_cap = [(s.taken_ms, s.resets_at_ms) for s in samples
              if s.used_pct >= BLOCKED_PCT and s.resets_at_ms is not None]
    for w_start, w_end in windows:
        capped_at = min((taken for taken, resets in at_cap if abs(resets - w_end) < HOUR_MS), default=None)
        total = 0.0
        for ts, amount in ordered[bisect_left(starts, w_start):bisect_left(starts, w_end)]:
            total += amount
            if total >= BLOCKED_PCT:
                capped_at = min(capped_at or ts + HOUR_MS, ts + HOUR_MS)
                break
        if capped_at is not None:
            first = capped_at - capped_at % HOUR_MS
            out.update(range(max(first, w_start), w_end, HOUR_MS))
    return out


def _steps(now: int, end: int) -> list[int]:
    steps = PROJECTION_STEPS if end > now else 0
    return [now + (end - now) * i // steps if steps else now for i in range(steps + 1)]


def _ratios(proj: pf.Projection, used: float) -> tuple[float, float]:
    grown = proj.final - used
    if proj.low is None or proj.high is None or grown <= 0:
        return 1.0, 1.0
    return (proj.low - used) / grown, (proj.high - used) / grown


_NOUN = {"week": "week", "five_hour": "5-hour window", "month": "month"}


def _summary(used: float, eta: int | None, early: int | None, late: int | None, proj: pf.Projection, end: int,
             now: int, zone: tzinfo, profile: pf.Profile, banded: bool, if_hit: int | None = None,
             chance: float | None = None, kind: Kind = WEEK) -> str:
    # What the forecast leans on up to the ETA (or the reset): the rest of today follows today's own ratio, so a cap
    # reached today is "by today's pace", not by a busier part of the week that comes after it.
    named = eta if eta is not None else if_hit
    if named is not None and local_day(named, zone) == local_day(now, zone):
        basis = "today's pace"
    else:
        basis = f"your usual {_busiest_rest(profile, now, named if named is not None else end, zone)}"
    odds = f"{chance:.0%}" if chance is not None else ""
    what, until, noun = kind.what, kind.until, _NOUN.get(kind.name, "window")
    if used >= 100:
        return f"{what} reached — {'resets' if what == 'cap' else 'the month ends'} {clock_time(end, zone, now)}"
    if eta is not None:
        spread = ""
        if early is not None and late is not None and late - early >= 2 * MINUTE_MS:
            spread = f" ±{span((late - early) // 2)}"
        elif early is not None and late is None and chance is None:  # (with odds, they say it)
            spread = " (may not hit)"
        sure = f" ({odds} likely)" if chance is not None and chance < 0.995 else ""
        return f"on pace to hit the {what} {clock_time(eta, zone, now)}{spread}{sure} · by {basis}"
    if chance is not None:  # odds measured on the user's past windows
        if if_hit is not None:
            return f"may hit the {what} {clock_time(if_hit, zone, now)} ({odds} of {noun}s like this did) · " \
                   f"likely ends near {proj.final:.0f}% · by {basis}"
        if proj.high is not None and proj.high < 100:
            return f"won't hit the {what} {until} (ends near {proj.final:.0f}%, at most {proj.high:.0f}%) · " \
                   f"by {basis}"
        return f"unlikely to hit the {what} {until} ({odds}; ends near {math.floor(proj.final)}%) · by {basis}"
    if banded and proj.high is not None and proj.high < 100:
        return f"won't hit the {what} {until} (ends near {proj.final:.0f}%, at most {proj.high:.0f}%) · by {basis}"
    if if_hit is not None and banded:  # a backtest without odds this far out: the middle curve's time
        return f"may hit the {what} {clock_time(if_hit, zone, now)} · likely ends near {proj.final:.0f}% · by {basis}"
    if early is not None:
        return f"may hit the {what} {clock_time(early, zone, now)} if the {noun} runs heavy · likely ends near " \
               f"{proj.final:.0f}% · by {basis}"
    return f"on pace to end the {noun} at {proj.final:.0f}% · by {basis}"


def _total_forecast(proj: pf.Projection, used: float, history: list[tuple[int, float]], rate_per_hour: float | None,
                    duty: float, profile: pf.Profile, now: int, end: int, zone: tzinfo, banded: bool) -> Forecast:
    """A month without a budget: where its estimated USD ends, by the profile, with the band of past months."""
    projection = []
    times = _steps(now, end)
    lo_r, hi_r = _ratios(proj, used)
    for ts, mid in zip(times, proj.curve(profile, now, times, used, zone)):
        grown = mid - used
        projection.append((ts, used + grown, used + grown * lo_r, used + grown * hi_r))
    spread = f" (80%: ${proj.low:,.2f}–${proj.high:,.2f})" if banded and proj.low is not None and proj.high \
        is not None else ""
    summary = f"no budget set: on pace for ${proj.final:,.2f}{spread} by the end of the month (est) · by your " \
              f"usual {_busiest_rest(profile, now, end, zone)}"
    return Forecast(None, None, None, None, None, history, projection, summary, unit="$",
                    projected_total=proj.final, rate_per_hour=rate_per_hour, duty=duty, method="profile",
                    band_level=BAND_LEVEL if banded else None, profile_weeks=round(profile.weeks, 1))


def _busiest_rest(profile: pf.Profile, now: int, end: int, zone: tzinfo) -> str:
    """Names the part of the rest of the week the profile expects most from: "Friday afternoon", "weekend"."""
    totals: dict[str, float] = {}
    t = now - now % HOUR_MS
    while t < end:
        h = pf.hour_of_week(t, zone)
        day, hour = divmod(h, 24)
        part = "weekend" if day >= 5 else \
            f"{('Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday')[day]} " + \
            next(name for lo, hi, name in _PARTS if lo <= hour < hi)
        totals[part] = totals.get(part, 0.0) + profile.per_hour[h]
        t += HOUR_MS
    if not totals or max(totals.values()) <= 0:
        return "quiet rest of the week"
    return max(totals, key=totals.__getitem__)
