"""Forecast v2 pieces on histories with known answers: usage elsewhere rebuilt from official samples, time at the
cap, the weights the user's own backtest chooses, today's ratio, and the forecast alert."""

from __future__ import annotations

import random
from datetime import UTC

import pytest
from test_forecast import _work_hours
from test_limits import DAY, HOUR, MIN, WEEK, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.usage import profile as pf
from tokentop.ingest.usage.alerts import FORECAST_LEVEL, active_alerts, check_alerts
from tokentop.ingest.usage.samples import Sample
from tokentop.ingest.usage.surfaces import rebuild
from tokentop.ingest.usage.weekly import blocked_hours

MONDAY = ms("2026-11-02T00:00:00+00:00")


def sample(pct: float, taken: int, resets: int = MONDAY + WEEK) -> Sample:
    return Sample("seven_day", pct, resets, taken)


def test_the_rise_local_usage_does_not_explain_is_spread_over_its_gap():
    # Local use (already in % by the calibration) 1 at Monday 09 and 10 and Tuesday 09; the official % reads
    # 2 at 09:45, 4 at 10:45 (2 per local unit over short gaps) and 14 at Tuesday 09:45.
    local = [(MONDAY + 9 * HOUR, 1.0), (MONDAY + 10 * HOUR, 1.0), (MONDAY + DAY + 9 * HOUR, 1.0)]
    samples = [sample(2, MONDAY + 9 * HOUR + 45 * MIN), sample(4, MONDAY + 10 * HOUR + 45 * MIN),
               sample(14, MONDAY + DAY + 9 * HOUR + 45 * MIN)]
    out = rebuild(local, samples, [(MONDAY, MONDAY + WEEK)], MONDAY + DAY + 12 * HOUR)
    hourly = dict(out.hourly)
    # The overnight gap rose 10, local explains 2 (Tuesday 09 at 2 per unit): 8 happened elsewhere, over the 23
    # hours whose middle lies between Monday 10:45 and Tuesday 09:45.
    assert hourly[MONDAY + 9 * HOUR] == pytest.approx(2.0) and hourly[MONDAY + 10 * HOUR] == pytest.approx(2.0)
    assert hourly[MONDAY + 15 * HOUR] == pytest.approx(8 / 23)
    assert hourly[MONDAY + DAY + 9 * HOUR] == pytest.approx(2 + 8 / 23)
    assert sum(v for _, v in out.elsewhere) == pytest.approx(8.0)
    assert sum(v for _, v in out.hourly) == pytest.approx(14.0)
    # Without a sample of its own a window keeps its local figures.
    assert rebuild(local, [], [(MONDAY, MONDAY + WEEK)], MONDAY + WEEK).hourly == local


def test_time_at_the_cap_runs_from_the_sample_at_100_or_from_local_usage_reaching_it():
    windows = [(MONDAY, MONDAY + WEEK), (MONDAY + WEEK, MONDAY + 2 * WEEK)]
    samples = [sample(100, MONDAY + 2 * DAY + 12 * HOUR + 20 * MIN), sample(99, MONDAY + 2 * DAY)]
    local = [(MONDAY + WEEK + d * DAY + 10 * HOUR, 30.0) for d in range(4)]  # week 2 reaches 100 on Thursday
    blocked = blocked_hours(local, windows, samples)
    assert min(b for b in blocked if b < MONDAY + WEEK) == MONDAY + 2 * DAY + 12 * HOUR
    assert min(b for b in blocked if b >= MONDAY + WEEK) == MONDAY + WEEK + 3 * DAY + 11 * HOUR
    assert len(blocked) == (4 * 24 + 12) + (3 * 24 + 13)
    assert blocked_hours(local[:3], windows, samples[1:]) == set()  # 99% and 90% are not the cap


def _weeks(n: int, rng: random.Random, week_sd: float, day_sd: float):
    out = []
    for w in range(n):
        level = rng.lognormvariate(0, week_sd)
        for d in range(5):
            day = level * rng.lognormvariate(0, day_sd)
            out += [(MONDAY + w * WEEK + d * DAY + h * HOUR, day) for h in range(9, 17)]
    return out


def test_the_backtest_trusts_the_weeks_evidence_as_far_as_the_users_history_says():
    windows = pf.past_windows(MONDAY + 8 * WEEK, count=8)
    # Weeks differ a lot, days within a week do not: what a week has done says what it will do.
    steady_days = pf.fit_backtest(_weeks(8, random.Random(3), 0.6, 0.02), windows, UTC)
    # Weeks alike, days all over the place: Monday says little about Friday.
    noisy_days = pf.fit_backtest(_weeks(8, random.Random(3), 0.02, 0.9), windows, UTC)
    assert steady_days is not None and noisy_days is not None
    assert steady_days.prior_weight == min(pf.PRIOR_GRID)
    assert noisy_days.prior_weight > steady_days.prior_weight
    # Hours within a day are all alike in both: today's ratio is trusted for the rest of today.
    assert steady_days.today_weight == min(pf.TODAY_GRID)
    assert steady_days.points == 8 * 27


def test_a_heavy_morning_is_carried_through_the_rest_of_today_only():
    profile = pf.learn_profile([(ts, 2.0) for ts, _ in _weeks(3, random.Random(1), 0, 0)], MONDAY,
                               MONDAY + 3 * WEEK, UTC)
    start, end = MONDAY + 3 * WEEK, MONDAY + 4 * WEEK
    noon = start + 12 * HOUR  # Monday noon: 3 work hours done at 4 per hour instead of 2
    proj = pf.project(profile, 12.0, start, noon, end, UTC, used_today=12.0, prior_weight=1.0, today_weight=0.5)
    # Week: (12 + 80) / (6 + 80); today: (12 + 0.5·16·scale) / (6 + 8), for the 5 work hours left today.
    scale = 92 / 86
    today = (12 + 8 * scale) / 14
    assert proj.scale == pytest.approx(scale) and proj.today_scale == pytest.approx(today)
    assert proj.final == pytest.approx(12 + today * 10 + scale * 64)
    assert proj.at(profile, noon, start + DAY, 12.0, UTC) == pytest.approx(12 + today * 10)


def test_the_forecast_alert_fires_once_before_any_threshold_and_says_when(tmp_path):
    store = make_store(tmp_path)
    monday = ms("2026-10-05T00:00:00+00:00")
    _work_hours(store, monday, 3)
    for d in range(2):
        for h in range(9, 17):
            add_usage(store, monday + 3 * WEEK + d * DAY + h * HOUR + 10 * MIN, cost=1.0)
    store.db.commit()
    settings = Settings(timezone="UTC", week_reset="mon 00:00 UTC", weekly_cap_usd=25.0, notify_send=False)
    tuesday_evening = monday + 3 * WEEK + DAY + 18 * HOUR  # $16 of $25: 64%, at twice the usual pace
    fired = check_alerts(store, settings, tuesday_evening)
    ahead = [a for a in fired if a.kind == "forecast"]
    assert len(ahead) == 1 and ahead[0].level == FORECAST_LEVEL and ahead[0].severity == "warning"
    # Usual weeks are 80% (2% per work hour); 64% by Tuesday evening against 32% expected, with the least
    # shrinkage (identical past weeks: every weight scores alike, the first is kept): scale 68 / 36. Wednesday
    # adds 8 × 2 × 68/36, and the remaining 5.8 points take Thursday's first 1.53 work hours.
    assert ahead[0].message == "week: on pace to hit the cap Thu 10:31"
    # The 60% threshold fired too (and a spike: twice the usual day), and the forecast alert does not hide it.
    kinds = [a.kind for a in active_alerts(store, tuesday_evening) if a.window == "week"]
    assert sorted(kinds) == ["forecast", "threshold"]
    assert not [a for a in check_alerts(store, settings, tuesday_evening + HOUR) if a.kind == "forecast"]
    # The hook tells Claude Code once (when no threshold warning is pending and the cooldown allows).
    from tokentop.ingest.claude_code.hook import forecast_warning
    told = forecast_warning(store, tuesday_evening + HOUR)
    assert told == {"systemMessage": "week: on pace to hit the cap Thu 10:31 (tokentop)"}
    assert forecast_warning(store, tuesday_evening + 10 * HOUR) is None


def test_the_sparkline_marks_where_only_the_bands_top_reaches_the_cap():
    from tokentop.ingest.clock import HOUR_MS
    from tokentop.widgets.burnup import BurnData, spark_cells
    start, now, end = 0, 4 * HOUR_MS, 8 * HOUR_MS
    # Seen: 0 → 40%; projected: the middle to 80%, the band's top to 120% (past the cap halfway to the reset).
    data = BurnData(start, end, now, history=[(0, 0.0), (now, 40.0)],
                    projection=[(now, 40.0, 40.0, 40.0), (end, 80.0, 60.0, 120.0)])
    kinds = [k for _, k in spark_cells(data, 8)]
    # Cells centred at 0.5 h … 7.5 h: four seen; the band's top, 40 + 80·(t − 4 h)/4 h, passes 100% at 7 h.
    assert kinds == ["used"] * 4 + ["projected"] * 3 + ["maybe"]
