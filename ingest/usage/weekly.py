"""The weekly forecast from the user's own hour-of-week profile (usage/profile.py), shaped like every other
`Forecast`: used by `compute_status` for the week windows whenever a few past weeks are on record, so the TUI,
`status`, the statusline, the hook and the alerts all read the same ETA and band."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import tzinfo

from ..clock import HOUR_MS, MINUTE_MS, WEEK_MS, local_day
from ..text import clock_time, span
from . import profile as pf
from . import surfaces
from .forecast import PROJECTION_STEPS, Forecast
from .samples import FRESH_MS, Sample

PROFILE_WEEKS = 8
"""Weeks of history the profile and its backtest read (one grouped scan: hourly buckets)."""
BAND_LEVEL = 0.8
"""What the band promises: the outcome falls inside it this often on the user's past weeks (see profile.py)."""
BLOCKED_PCT = 100.0
"""An official sample this high (or local usage reaching it) means the rest of that week was spent at the cap."""
_PARTS = ((0, 6, "night"), (6, 12, "morning"), (12, 18, "afternoon"), (18, 24, "evening"))


def lookback_start(window_start: int) -> int:
    return window_start - PROFILE_WEEKS * WEEK_MS


_LEARNT: list = []
"""The last (inputs, (profile, fit)): both depend only on the weeks before this one, which live commits do not
touch, and the backtest behind the weights and the band is most of a forecast's time (the TUI re-reads every
second)."""


def _learnt(past: list[tuple[int, float]], lo: int, start: int, zone: tzinfo, windows, blocked: set[int]):
    key = (tuple(past), lo, start, zone, tuple(windows), frozenset(blocked))
    if _LEARNT and _LEARNT[0][0] == key:
        return _LEARNT[0][1]
    profile = pf.learn_profile(past, lo, start, zone, blocked)
    fit = None if profile is None else pf.fit_backtest(past, windows, zone, blocked, cap=100.0)
    _LEARNT[:] = [(key, (profile, fit))]
    return profile, fit


_AWAY: list = []
"""The last (inputs, profile) of what the user does on other surfaces: past weeks only, as `_LEARNT`."""


def _away(past: list[tuple[int, float]], lo: int, start: int, zone: tzinfo, blocked: set[int]):
    key = (tuple(past), lo, start, zone, frozenset(blocked))
    if _AWAY and _AWAY[0][0] == key:
        return _AWAY[0][1]
    profile = pf.learn_profile(past, lo, start, zone, blocked)
    _AWAY[:] = [(key, profile)]
    return profile


def weekly_forecast(*, used: float, start: int, end: int, now: int, zone: tzinfo,
                    hourly: Callable[[int, int], list[tuple[int, float]]], first_use_ms: int | None,
                    history: list[tuple[int, float]], rate_per_hour: float | None, duty: float,
                    samples: Sequence[Sample] = ()) -> Forecast | None:
    """`used` is % of the cap so far; `hourly(a, b)` gives (hour_start, % of the cap) buckets of local usage in
    [a, b) (the caller's calibration turns tokens or dollars into %); `samples` are the official weekly samples
    (they tell when past weeks sat at the cap, and what happened on other surfaces between them). None when
    there is no week of history yet: the caller then falls back to the straight pace and says so."""
    lo = max(lookback_start(start), (first_use_ms or start) - (first_use_ms or start) % HOUR_MS)
    if start - lo < WEEK_MS:
        return None
    windows = pf.past_windows(start, count=PROFILE_WEEKS, not_before=lo)
    # Official % per hour, every surface: what local usage explains plus what happened elsewhere between samples.
    rebuilt = surfaces.rebuild(hourly(lo, now + 1), samples, [*windows, (start, end)], now)
    past = [(ts, v) for ts, v in rebuilt.hourly if ts < start]
    blocked = blocked_hours(past, windows, samples)
    profile, fit = _learnt(past, lo, start, zone, windows, blocked)
    if profile is None:
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
        away = _away([(ts, v) for ts, v in rebuilt.elsewhere if ts < start], lo, start, zone, blocked)
        if away is not None:
            unseen = away.expected(max(last.confirmed_ms, start), now, zone)
    used = min(shown + unseen, 100.0) if shown < 100 else shown
    proj = pf.project(profile, used, start, now, end, zone, band, used_today=today, **weights)
    eta = pf.crossing(profile, proj, used, now, end, zone)
    eta_early = eta_late = None
    if band is not None and proj.low is not None and proj.high is not None and proj.final > used:
        spread = (proj.high - used) / (proj.final - used)
        eta_early = pf.crossing(profile, proj, used, now, end, zone, extra=spread - 1)
        shrink = (proj.low - used) / (proj.final - used)
        eta_late = pf.crossing(profile, proj, used, now, end, zone, extra=shrink - 1)
    projection = []
    steps = PROJECTION_STEPS if end > now else 0
    for i in range(steps + 1):
        ts = now + (end - now) * i // steps if steps else now
        mid = proj.at(profile, now, ts, used, zone)
        grown = mid - used
        lo_r, hi_r = _ratios(proj, used)
        projection.append((ts, mid, max(shown, used + grown * lo_r - unseen), used + grown * hi_r))
    summary = _summary(used, eta, eta_early, eta_late, proj, end, now, zone, profile, band is not None)
    if last is not None and now - last.confirmed_ms >= HOUR_MS:
        summary += f" · official {last.used_pct:.0f}% {span(now - last.confirmed_ms)} ago"
        if unseen >= 0.5:
            summary += f", ~{unseen:.0f}% elsewhere since"
    low = max(shown, proj.low - unseen) if proj.low is not None else None
    return Forecast(rate_per_hour, eta, proj.final, low, proj.high, history, projection, summary, unit="%",
                    rate_per_hour=rate_per_hour, duty=duty, method="profile",
                    band_level=BAND_LEVEL if band is not None else None,
                    eta_early_ms=eta_early, eta_late_ms=eta_late, profile_weeks=round(profile.weeks, 1))


def blocked_hours(past: Sequence[tuple[int, float]], windows: Sequence[tuple[int, int]],
                  samples: Sequence[Sample]) -> set[int]:
    """Hours of past windows spent at the cap: from an official sample at ≥ 100% (else from the hour local usage
    took the window to 100%) until that window's reset. Such hours were not idle by choice; counting them as idle
    would teach the profile that a heavy week's Friday is quiet."""
    out: set[int] = set()
    for w_start, w_end in windows:
        capped_at = min((s.taken_ms for s in samples if s.used_pct >= BLOCKED_PCT and s.resets_at_ms is not None
                         and abs(s.resets_at_ms - w_end) < HOUR_MS), default=None)
        total = 0.0
        for ts, amount in sorted(p for p in past if w_start <= p[0] < w_end):
            total += amount
            if total >= BLOCKED_PCT:
                capped_at = min(capped_at or ts + HOUR_MS, ts + HOUR_MS)
                break
        if capped_at is not None:
            first = capped_at - capped_at % HOUR_MS
            out.update(range(max(first, w_start), w_end, HOUR_MS))
    return out


def _ratios(proj: pf.Projection, used: float) -> tuple[float, float]:
    grown = proj.final - used
    if proj.low is None or proj.high is None or grown <= 0:
        return 1.0, 1.0
    return (proj.low - used) / grown, (proj.high - used) / grown


def _summary(used: float, eta: int | None, early: int | None, late: int | None, proj: pf.Projection, end: int,
             now: int, zone: tzinfo, profile: pf.Profile, banded: bool) -> str:
    # What the forecast leans on up to the ETA (or the reset): the rest of today follows today's own ratio, so a cap
    # reached today is "by today's pace", not by a busier part of the week that comes after it.
    if eta is not None and local_day(eta, zone) == local_day(now, zone):
        basis = "today's pace"
    else:
        basis = f"your usual {_busiest_rest(profile, now, eta if eta is not None else end, zone)}"
    if used >= 100:
        return f"cap reached — resets {clock_time(end, zone, now)}"
    if eta is not None:
        spread = ""
        if early is not None and late is not None and late - early >= 2 * MINUTE_MS:
            spread = f" ±{span((late - early) // 2)}"
        elif early is not None and late is None:
            spread = " (may not hit)"
        return f"on pace to hit the cap {clock_time(eta, zone, now)}{spread} · by {basis}"
    if banded and proj.high is not None and proj.high < 100:
        return f"won't hit the cap before reset (ends near {proj.final:.0f}%, at most {proj.high:.0f}%) · by {basis}"
    if early is not None:
        return f"may hit the cap {clock_time(early, zone, now)} if the week runs heavy · likely ends near " \
               f"{proj.final:.0f}% · by {basis}"
    return f"on pace to end the week at {proj.final:.0f}% · by {basis}"


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
