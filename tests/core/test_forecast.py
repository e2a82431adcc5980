"""Burn-rate forecasts on synthetic histories with answers worked out by hand."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest
from test_limits import DAY, HOUR, MIN, WEEK, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.text import clock_time, span
from tokentop.ingest.usage.forecast import build_forecast, pace
from tokentop.ingest.usage.limits import compute_status

UTC = ZoneInfo("UTC")


def three_days_of_ten_busy_hours(start: int, per_hour: float) -> list[tuple[int, float]]:
    return [(start + d * DAY + h * HOUR, per_hour) for d in range(3) for h in range(10)]


def test_pace_is_the_active_rate_and_the_active_share_of_time():
    start = ms("2026-05-04T00:00:00+00:00")
    p = pace(three_days_of_ten_busy_hours(start, 2.0), start + 72 * HOUR)
    assert p.rate == pytest.approx(2.0) and p.low == pytest.approx(2.0) and p.high == pytest.approx(2.0)
    assert p.duty == pytest.approx(30 / 72)  # 30 active hours out of the 72 since the first one
    assert p.expected == pytest.approx(2.0 * 30 / 72)


def test_constant_burn_projects_to_a_known_reset_figure_and_eta():
    start = ms("2026-05-04T00:00:00+00:00")
    now = start + 72 * HOUR
    p = pace(three_days_of_ten_busy_hours(start, 2.0), now)
    f = build_forecast(name="week", used=60.0, history=[], pace_=p, now_ms=now, end_ms=start + WEEK, zone=UTC,
                       capped=True)
    # 60 % + 2 %/h × 30/72 active × 96 h left = 60 + 80 = 140 %; 100 % is 40 points away at 5/6 %/h = 48 h.
    assert f.pct_at_reset == pytest.approx(140.0)
    assert f.low_pct_at_reset == pytest.approx(140.0) and f.high_pct_at_reset == pytest.approx(140.0)
    assert f.eta_ms == now + 48 * HOUR
    assert f.rate_pct_per_hour == pytest.approx(2.0)
    assert f.summary == "cap reached in 2d (Sat 00:00)"
    assert f.projection[0] == (now, 60.0, 60.0, 60.0)
    assert f.projection[-1][0] == start + WEEK and f.projection[-1][1] == pytest.approx(140.0)


def test_an_idle_night_neither_drags_the_pace_down_nor_counts_toward_its_age():
    start = ms("2026-05-04T00:00:00+00:00")
    # Two active hours 10 h apart, half-life 1 active hour: weights 0.5 and 1 → (0.5 × 1 + 1 × 4) / 1.5 = 3.
    buckets = [(start, 1.0), (start + 10 * HOUR, 4.0)]
    p = pace(buckets, start + 11 * HOUR, half_life=1.0, min_span_ms=0)
    assert p.rate == pytest.approx(3.0)
    # Eight idle hours later the pace is unchanged (a wall-clock average would have fallen to 5/19 per hour)…
    assert pace(buckets, start + 19 * HOUR, half_life=1.0, min_span_ms=0).rate == pytest.approx(3.0)
    # …but the share of time that is active falls: 2 active hours of the 19 since the first.
    assert pace(buckets, start + 19 * HOUR, half_life=1.0, min_span_ms=0).duty == pytest.approx(2 / 19)


def test_band_from_the_spread_of_recent_active_hours():
    start = ms("2026-05-04T00:00:00+00:00")
    buckets = [(start + i * HOUR, r) for i, r in enumerate([1.0, 2.0, 3.0, 4.0, 5.0])]
    p = pace(buckets, start + 5 * HOUR, half_life=1e9)  # no decay: the plain mean, 3
    assert p.rate == pytest.approx(3.0)
    assert (p.low, p.high) == (pytest.approx(2.0), pytest.approx(4.0))  # 25th and 75th percentiles
    f = build_forecast(name="five_hour", used=10.0, history=[], pace_=p, now_ms=start + 5 * HOUR,
                       end_ms=start + 7 * HOUR, zone=UTC, capped=True)
    # Over a day-long minimum span, 5 active hours → duty 5/24; 2 h left.
    assert f.low_pct_at_reset == pytest.approx(10 + 2.0 * 5 / 24 * 2)
    assert f.pct_at_reset == pytest.approx(10 + 3.0 * 5 / 24 * 2)
    assert f.high_pct_at_reset == pytest.approx(10 + 4.0 * 5 / 24 * 2)
    assert f.eta_ms is None and f.summary == "on pace to end the 5-hour window at 11%"


def test_only_the_current_partial_hour_is_scaled_to_an_hourly_rate():
    start = ms("2026-05-04T10:00:00+00:00")
    p = pace([(start, 1.0)], start + 30 * MIN)
    assert (p.rate, p.duty) == (pytest.approx(2.0), 1.0)
    assert pace([], start).rate is None


def test_exhausted_and_uncapped_summaries():
    start = ms("2026-05-04T00:00:00+00:00")
    p = pace([(start, 1.0)], start + 2 * HOUR, min_span_ms=0)
    f = build_forecast(name="week", used=100.0, history=[], pace_=p, now_ms=start + 2 * HOUR,
                       end_ms=start + 3 * DAY + 9 * HOUR, zone=UTC, capped=True)
    assert f.eta_ms == start + 2 * HOUR and f.summary == "cap reached — resets Thu 09:00"
    f = build_forecast(name="week", used=12.5, history=[], pace_=p, now_ms=start + 2 * HOUR,
                       end_ms=start + 12 * HOUR, zone=UTC, capped=False)
    # $12.50 + $1/h × (1 active hour of 2) × 10 h = $17.50.
    assert f.unit == "$" and f.pct_at_reset is None and f.eta_ms is None
    assert f.projected_total == pytest.approx(17.5)
    assert f.summary == "no cap set: on pace for $17.50 by the end of the week (est)"


def test_week_forecast_end_to_end_with_a_configured_cap(tmp_path):
    store = make_store(tmp_path)
    start = ms("2026-05-04T00:00:00+00:00")  # a Monday
    for d in range(3):
        for h in range(10):
            add_usage(store, start + d * DAY + h * HOUR + 20 * MIN, cost=2.0)
    settings = Settings(timezone="UTC", week_reset="mon 00:00 UTC", weekly_cap_usd=100.0)
    week = compute_status(store, settings, start + 72 * HOUR)["week"]
    f = week.forecast
    assert week.used_pct == pytest.approx(60.0)
    assert f.pct_at_reset == pytest.approx(140.0) and f.eta_ms == start + 120 * HOUR
    assert f.summary == "cap reached in 2d (Sat 00:00) · by recent pace"  # only days of history: no profile


def test_month_budget_forecast_projects_the_month_total(tmp_path):
    store = make_store(tmp_path)
    month_start = ms("2026-06-01T00:00:00+00:00")
    now = month_start + 10 * DAY
    for d in range(3, 10):  # $24 a day, an hour at a time, in the last 7 days
        for h in range(8):
            add_usage(store, month_start + d * DAY + (9 + h) * HOUR, cost=3.0)
    month = compute_status(store, Settings(timezone="UTC", monthly_budget_usd=1000.0), now)["month"]
    f = month.forecast
    assert month.used_cost == pytest.approx(168.0) and month.used_pct == pytest.approx(16.8)
    # $3/active hour × (56 active hours of the 159 since the first, day 3 09:00) × 480 h left ≈ $507 more.
    assert f.projected_total == pytest.approx(168.0 + 3.0 * 56 / 159 * 480)
    assert f.pct_at_reset == pytest.approx(f.projected_total / 10)
    assert f.summary == "on pace to end the month at 68% ($675.17 est)"


def test_fmt_helpers():
    assert span(44 * HOUR) == "1d 20h"
    assert span(2 * DAY) == "2d"
    assert span(90 * MIN) == "1h 30m"
    assert span(59_000) == "<1m"
    berlin = ZoneInfo("Europe/Berlin")
    reset = ms("2026-03-31T07:00:00+00:00")  # after the spring change: 09:00 CEST
    assert clock_time(reset, berlin) == "Tue 09:00"
    assert clock_time(reset, berlin, reset - 2 * HOUR) == "09:00"
    assert clock_time(reset, berlin, reset - 6 * DAY) == "Tue 09:00"  # within a week the weekday says which
    assert clock_time(reset, berlin, reset - 9 * DAY) == "Tue 31 Mar 09:00"  # (a month's ETA): not this Tuesday


# -- the weekly profile, end to end through compute_status -------------------------------------------------


def _work_hours(store, first_monday: int, weeks: int, cost: float = 0.5) -> None:
    """`cost` dollars in each work hour (Mon–Fri 09:00–17:00 UTC) of `weeks` weeks."""
    for w in range(weeks):
        for d in range(5):
            for h in range(9, 17):
                add_usage(store, first_monday + w * WEEK + d * DAY + h * HOUR + 10 * MIN, cost=cost)


def test_week_forecast_follows_the_users_week_and_knows_the_weekend_is_quiet(tmp_path):
    store = make_store(tmp_path)
    monday = ms("2026-10-05T00:00:00+00:00")
    _work_hours(store, monday, 4)  # three past weeks and this one up to Friday evening
    store.db.commit()
    settings = Settings(timezone="UTC", week_reset="mon 00:00 UTC", weekly_cap_usd=25.0)
    friday_evening = monday + 3 * WEEK + 4 * DAY + 18 * HOUR
    week = compute_status(store, settings, friday_evening)["week"]
    f = week.forecast
    # $20 of a $25 cap used; the three past weekends were idle, so the week ends where it is.
    assert week.used_pct == pytest.approx(80.0)
    # Three weeks less the nine hours before the first request ever made.
    assert f.method == "profile" and f.profile_weeks == pytest.approx(3 - 9 / 168, abs=0.06)
    assert f.pct_at_reset == pytest.approx(80.0) and f.eta_ms is None
    # Identical past weeks: the backtest measured no error, so the band has no width.
    assert f.low_pct_at_reset == pytest.approx(80.0) and f.high_pct_at_reset == pytest.approx(80.0)
    assert f.summary.startswith("won't hit the cap before reset")
    # A straight pace over the last days would have projected the work-hour rate across the weekend.
    assert f.rate_pct_per_hour > 0

    # Wednesday noon of a week running twice as heavy: the profile, scaled up, hits the cap on Thursday.
    store2 = make_store(tmp_path / "heavy")
    _work_hours(store2, monday, 3)
    _work_hours_heavy = [(monday + 3 * WEEK + d * DAY + h * HOUR + 10 * MIN) for d in range(2) for h in range(9, 17)]
    for ts in _work_hours_heavy + [monday + 3 * WEEK + 2 * DAY + h * HOUR + 10 * MIN for h in range(9, 12)]:
        add_usage(store2, ts, cost=1.0)
    store2.db.commit()
    wednesday = monday + 3 * WEEK + 2 * DAY + 12 * HOUR
    f = compute_status(store2, settings, wednesday)["week"].forecast
    assert f.method == "profile"
    assert f.eta_ms is not None and monday + 3 * WEEK + 3 * DAY + 9 * HOUR <= f.eta_ms < monday + 3 * WEEK + 4 * DAY
    assert f.summary.startswith("on pace to hit the cap Thu ")
