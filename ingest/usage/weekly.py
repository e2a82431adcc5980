"""The weekly forecast from the user's own hour-of-week profile (usage/profile.py), shaped like every other
`Forecast`: used by `compute_status` for the week windows whenever a few past weeks are on record, so the TUI,
`status`, the statusline, the hook and the alerts all read the same ETA and band."""

from __future__ import annotations

from collections.abc import Callable
from datetime import tzinfo

from ..clock import HOUR_MS, WEEK_MS
from ..text import clock_time, span
from . import profile as pf
from .forecast import PROJECTION_STEPS, Forecast

PROFILE_WEEKS = 8
"""Weeks of history the profile and its backtest read (one grouped scan: hourly buckets)."""
BAND_LEVEL = 0.8
"""What the band promises: the outcome falls inside it this often on the user's past weeks (see profile.py)."""
_PARTS = ((0, 6, "night"), (6, 12, "morning"), (12, 18, "afternoon"), (18, 24, "evening"))


def lookback_start(window_start: int) -> int:
    return window_start - PROFILE_WEEKS * WEEK_MS


_LEARNT: list = []
"""The last (inputs, (profile, band)): both depend only on the weeks before this one, which live commits do not
touch, and the backtest behind the band is most of a forecast's time (the TUI re-reads every second)."""


def _learnt(past: list[tuple[int, float]], lo: int, start: int, zone: tzinfo):
    key = (tuple(past), lo, start, zone)
    if _LEARNT and _LEARNT[0][0] == key:
        return _LEARNT[0][1]
    profile = pf.learn_profile(past, lo, start, zone)
    band = None if profile is None else pf.band_ratios(past, pf.past_windows(start, count=PROFILE_WEEKS,
                                                                             not_before=lo), zone)
    _LEARNT[:] = [(key, (profile, band))]
    return profile, band


def weekly_forecast(*, used: float, start: int, end: int, now: int, zone: tzinfo,
                    hourly: Callable[[int, int], list[tuple[int, float]]], first_use_ms: int | None,
                    history: list[tuple[int, float]], rate_per_hour: float | None, duty: float) -> Forecast | None:
    """`used` is % of the cap so far; `hourly(a, b)` gives (hour_start, % of the cap) buckets of local usage in
    [a, b) (the caller's calibration turns tokens or dollars into %). None when there is no week of history yet:
    the caller then falls back to the straight pace and says so."""
    lo = max(lookback_start(start), (first_use_ms or start) - (first_use_ms or start) % HOUR_MS)
    if start - lo < WEEK_MS:
        return None
    past = hourly(lo, start)
    profile, band = _learnt(past, lo, start, zone)
    if profile is None:
        return None
    proj = pf.project(profile, used, start, now, end, zone, band)
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
        projection.append((ts, mid, used + grown * lo_r, used + grown * hi_r))
    summary = _summary(used, eta, eta_early, eta_late, proj, end, now, zone, profile, band is not None)
    return Forecast(rate_per_hour, eta, proj.final, proj.low, proj.high, history, projection, summary, unit="%",
                    rate_per_hour=rate_per_hour, duty=duty, method="profile",
                    band_level=BAND_LEVEL if band is not None else None,
                    eta_early_ms=eta_early, eta_late_ms=eta_late, profile_weeks=round(profile.weeks, 1))


def _ratios(proj: pf.Projection, used: float) -> tuple[float, float]:
    grown = proj.final - used
    if proj.low is None or proj.high is None or grown <= 0:
        return 1.0, 1.0
    return (proj.low - used) / grown, (proj.high - used) / grown


def _summary(used: float, eta: int | None, early: int | None, late: int | None, proj: pf.Projection, end: int,
             now: int, zone: tzinfo, profile: pf.Profile, banded: bool) -> str:
    basis = f"your usual {_busiest_rest(profile, now, end, zone)}"
    if used >= 100:
        return f"cap reached — resets {clock_time(end, zone, now)}"
    if eta is not None:
        spread = ""
        if early is not None and late is not None:
            spread = f" ±{span(max(1, (late - early) // 2))}"
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
