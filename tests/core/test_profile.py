"""The hour-of-week forecaster on histories whose answers are known by construction."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tokentop.ingest.clock import DAY_MS, HOUR_MS, WEEK_MS
from tokentop.ingest.usage.profile import (
    PRIOR_WEIGHT,
    band_ratios,
    crossing,
    hour_of_week,
    learn_profile,
    past_windows,
    project,
)

MONDAY = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp() * 1000)  # a Monday 00:00 UTC


def workweek(weeks: int, per_hour: float = 2.0, start: int = MONDAY, hours=range(9, 17), days=range(5)):
    """`per_hour` in each work hour (Mon–Fri 09–17 UTC by default) of `weeks` weeks from `start`."""
    return [(start + w * WEEK_MS + d * DAY_MS + h * HOUR_MS, per_hour) for w in range(weeks) for d in days
            for h in hours]


def test_hour_of_week_counts_from_monday_midnight_in_the_zone():
    assert hour_of_week(MONDAY, UTC) == 0
    assert hour_of_week(MONDAY + 6 * DAY_MS + 23 * HOUR_MS + 30 * 60_000, UTC) == 167
    # 23:30 UTC on Sunday is already Monday 00:30 in Berlin.
    assert hour_of_week(MONDAY - 30 * 60_000, ZoneInfo("Europe/Berlin")) == 0


def test_profile_is_the_mean_per_hour_and_blocked_hours_do_not_teach_idleness():
    buckets = workweek(2)
    profile = learn_profile(buckets, MONDAY, MONDAY + 2 * WEEK_MS, UTC)
    assert profile is not None and profile.weeks == 2.0
    assert profile.per_hour[9] == 2.0 and profile.per_hour[8] == 0.0 and profile.per_hour[5 * 24 + 10] == 0.0
    # Week 3 sat at the cap all Monday and idle the rest: its blocked Monday is left out, its level (0) comes from
    # the hours it had, and the profile is the usual shape at the mean level, (168 + 168 + 0) / (168 + 168 + 144).
    blocked = range(MONDAY + 2 * WEEK_MS, MONDAY + 2 * WEEK_MS + DAY_MS, HOUR_MS)
    profile = learn_profile(buckets, MONDAY, MONDAY + 3 * WEEK_MS, UTC, blocked=blocked)
    assert abs(profile.per_hour[9] - 1.4) < 1e-6 and abs(profile.per_hour[24 + 9] - 1.4) < 1e-6
    assert profile.weeks == (3 * 168 - 24) / 168


def test_a_heavy_week_blocked_from_thursday_does_not_make_fridays_look_light():
    # Two usual weeks (2 per work hour), then a week at 4 per hour that hit the cap Wednesday night.
    buckets = workweek(2) + [(ts + 2 * WEEK_MS, 4.0) for ts, _ in workweek(1, days=range(3))]
    blocked = range(MONDAY + 2 * WEEK_MS + 3 * DAY_MS, MONDAY + 3 * WEEK_MS, HOUR_MS)
    profile = learn_profile(buckets, MONDAY, MONDAY + 3 * WEEK_MS, UTC, blocked=blocked)
    # Plain means would say Monday 8/3, Friday 2. Levels 1, 1, 2 over 168, 168 and 72 observed hours: every work
    # hour is 2 × (168 + 168 + 2·72) / 408.
    expected = 2 * 480 / 408
    assert abs(profile.per_hour[9] - expected) < 1e-6 and abs(profile.per_hour[4 * 24 + 9] - expected) < 1e-6
    assert learn_profile(buckets, MONDAY, MONDAY + 5 * DAY_MS, UTC) is None  # less than a week: no profile


def test_a_usual_week_projects_the_usual_total_and_friday_evening_knows_the_weekend_is_quiet():
    profile = learn_profile(workweek(3), MONDAY, MONDAY + 3 * WEEK_MS, UTC)
    start, end = MONDAY + 3 * WEEK_MS, MONDAY + 4 * WEEK_MS
    friday_evening = start + 4 * DAY_MS + 18 * HOUR_MS
    used = 5 * 8 * 2.0  # the whole usual week is already used by Friday evening
    proj = project(profile, used, start, friday_evening, end, UTC)
    assert proj.scale == 1.0 and proj.final == used  # nothing more expected until Monday
    # A straight pace from the week's start would project 80 × 168 / 114 ≈ 118 for the same moment.
    assert used * 7 * 24 / (4 * 24 + 18) > 115
    # Tuesday noon after one usual Monday: the rest of the usual week.
    tuesday = start + DAY_MS + 12 * HOUR_MS
    proj = project(profile, 8 * 2.0 + 3 * 2.0, start, tuesday, end, UTC)
    assert abs(proj.final - 80.0) < 1e-9


def test_a_heavy_week_is_projected_heavy_as_evidence_arrives():
    profile = learn_profile(workweek(3), MONDAY, MONDAY + 3 * WEEK_MS, UTC)
    start, end = MONDAY + 3 * WEEK_MS, MONDAY + 4 * WEEK_MS
    wednesday = start + 2 * DAY_MS + 17 * HOUR_MS  # three work days done, at twice the usual use
    proj = project(profile, 3 * 8 * 4.0, start, wednesday, end, UTC)
    # Expected so far 48, whole week 80: scale (96 + p·80) / (48 + p·80), close to 2 with little shrinkage.
    prior = PRIOR_WEIGHT * 80
    assert abs(proj.scale - (96 + prior) / (48 + prior)) < 1e-9 and 1.5 < proj.scale < 2
    assert abs(proj.final - (96 + proj.scale * 32)) < 1e-9


def test_crossing_lands_inside_the_hour_the_cap_is_reached():
    profile = learn_profile(workweek(2, per_hour=10.0), MONDAY, MONDAY + 2 * WEEK_MS, UTC)
    start, end = MONDAY + 2 * WEEK_MS, MONDAY + 3 * WEEK_MS
    now = start + 2 * DAY_MS  # Wednesday 00:00, 160 used (two usual days): scale 1
    proj = project(profile, 160.0, start, now, end, UTC)
    assert proj.scale == 1.0
    eta = crossing(profile, proj, 160.0, now, end, UTC, level=200.0)
    # 40 more at 10 an hour from 09:00: 13:00 on Wednesday.
    assert eta == now + 13 * HOUR_MS
    assert crossing(profile, proj, 160.0, now, end, UTC, level=1000.0) is None
    assert crossing(profile, proj, 250.0, now, end, UTC, level=200.0) == now


def test_the_band_holds_about_its_coverage_on_weeks_it_never_saw():
    rng = random.Random(5)

    def noisy_weeks(n, first):
        out = []
        for w in range(n):
            level = rng.lognormvariate(0, 0.3)  # some weeks heavy, some light
            for d in range(5):
                day = level * rng.lognormvariate(0, 0.4)
                out += [(first + w * WEEK_MS + d * DAY_MS + h * HOUR_MS, day * rng.uniform(0.5, 1.5))
                        for h in range(9, 18)]
        return out

    history = noisy_weeks(12, MONDAY)
    windows = past_windows(MONDAY + 12 * WEEK_MS, count=12)
    band = band_ratios(history, windows, UTC)
    assert band is not None and all(lo < 1.0 < hi for lo, hi in band)
    # Held-out weeks: how often does the actual end of the week fall inside the band?
    test_start = MONDAY + 12 * WEEK_MS
    held_out = noisy_weeks(20, test_start)
    profile = learn_profile(history, MONDAY, test_start, UTC)
    inside = total = 0
    for w in range(20):
        start, end = test_start + w * WEEK_MS, test_start + (w + 1) * WEEK_MS
        week = [(ts, a) for ts, a in held_out if start <= ts < end]
        final = sum(a for _, a in week)
        for now in range(start + DAY_MS, end - DAY_MS, 12 * HOUR_MS):
            used = sum(a for ts, a in week if ts < now)
            proj = project(profile, used, start, now, end, UTC, band=band)
            if proj.final - used < 1e-6:
                continue
            total += 1
            inside += proj.low <= final <= proj.high
    assert total > 100
    assert 0.65 <= inside / total <= 0.95, inside / total


def test_identical_weeks_give_a_band_of_no_width():
    history = workweek(6)
    band = band_ratios(history, past_windows(MONDAY + 6 * WEEK_MS, count=6), UTC)
    assert band is not None and all(abs(lo - 1) < 1e-9 and abs(hi - 1) < 1e-9 for lo, hi in band)


def test_past_windows_start_no_earlier_than_the_first_usage():
    # Usage began 5 ms into week 1 (within its first hour): weeks 1–3 count, week 0 would look idle.
    windows = past_windows(MONDAY + 4 * WEEK_MS, count=8, not_before=MONDAY + WEEK_MS + 5)
    assert windows == [(MONDAY + w * WEEK_MS, MONDAY + (w + 1) * WEEK_MS) for w in (1, 2, 3)]
    assert past_windows(MONDAY + 4 * WEEK_MS, count=8, not_before=MONDAY + WEEK_MS + HOUR_MS)[0][0] == \
        MONDAY + 2 * WEEK_MS
