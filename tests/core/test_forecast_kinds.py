"""The profile forecast for the 5-hour window and the month (issue 18): past windows of the same kind replayed,
their odds and band; and the honest fallback to the pace when there are none."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from test_limits import DAY, HOUR, MIN, WEEK, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.usage.limits import compute_status
from tokentop.ingest.usage.windows import past_blocks, past_months

MONDAY = ms("2026-10-05T00:00:00+00:00")


def test_past_blocks_open_at_the_first_active_hour_after_the_last_one_ended():
    hours = [MONDAY + h * HOUR for h in (9, 10, 13, 14, 15, 20, 26)]
    # 09–14 holds 09, 10, 13; 14 opens the next (14–19: 14, 15); 20 opens 20–01, whose 02:00 (hour 26) is past it.
    assert past_blocks(hours, MONDAY + 2 * DAY) == [(MONDAY + 9 * HOUR, MONDAY + 14 * HOUR),
                                                    (MONDAY + 14 * HOUR, MONDAY + 19 * HOUR),
                                                    (MONDAY + 20 * HOUR, MONDAY + 25 * HOUR),
                                                    (MONDAY + 26 * HOUR, MONDAY + 31 * HOUR)]
    assert past_blocks(hours, MONDAY + 24 * HOUR) == past_blocks(hours, MONDAY + 2 * DAY)[:2]  # 20–01 runs on


def test_past_months_are_the_calendar_months_before_in_the_zone():
    berlin = ZoneInfo("Europe/Berlin")
    start = ms("2026-11-01T00:00:00+01:00")
    assert past_months(berlin, start, 3) == [(ms("2026-08-01T00:00:00+02:00"), ms("2026-09-01T00:00:00+02:00")),
                                             (ms("2026-09-01T00:00:00+02:00"), ms("2026-10-01T00:00:00+02:00")),
                                             (ms("2026-10-01T00:00:00+02:00"), start)]


def _blocks(store, weeks: int, per_hour: float) -> None:
    """A 5-hour window each weekday, 09:00–14:00, `per_hour` dollars in each of its hours."""
    for w in range(weeks):
        for d in range(5):
            for h in range(9, 14):
                add_usage(store, MONDAY + w * WEEK + d * DAY + h * HOUR + 10 * MIN, cost=per_hour)


def test_a_heavy_five_hour_window_is_forecast_by_the_windows_before_it(tmp_path):
    store = make_store(tmp_path)
    _blocks(store, 3, 1.0)  # three weeks of windows at $1/h: 50% of a $10 cap each
    wednesday = MONDAY + 3 * WEEK + 2 * DAY
    for h in (9, 10):
        add_usage(store, wednesday + h * HOUR + 10 * MIN, cost=3.0)  # this one at three times that
    store.db.commit()
    settings = Settings(timezone="UTC", five_hour_cap_usd=10.0)
    five = compute_status(store, settings, wednesday + 11 * HOUR)["five_hour"]
    f = five.forecast
    assert five.start_ms == wednesday + 9 * HOUR and five.used_pct == pytest.approx(60.0)
    assert f.method == "profile" and f.band_level == 0.8
    # Every past window ended where its forecast said: a window needing less than that is sure to hit. At its
    # own 30%/h the cap comes at 12:20; the pace is shrunk a little toward the usual 10%/h.
    assert f.hit_chance == 1.0 and f.eta_ms == f.eta_if_hit_ms
    assert f.eta_ms == pytest.approx(wednesday + 12 * HOUR + 20 * MIN, abs=6 * MIN)
    assert f.summary.startswith("on pace to hit the cap 12:")
    # A usual window: ends at 50%, and no past window came near the cap.
    store2 = make_store(tmp_path / "usual")
    _blocks(store2, 3, 1.0)
    for h in (9, 10):
        add_usage(store2, wednesday + h * HOUR + 10 * MIN, cost=1.0)
    store2.db.commit()
    f = compute_status(store2, settings, wednesday + 11 * HOUR)["five_hour"].forecast
    assert f.method == "profile" and f.pct_at_reset == pytest.approx(50.0, abs=0.5)
    assert f.eta_ms is None and f.summary.startswith("won't hit the cap before the window resets")


def test_a_five_hour_window_without_a_week_behind_it_keeps_the_pace(tmp_path):
    store = make_store(tmp_path)
    _blocks(store, 1, 1.0)  # four past windows, all this week: no week of hours to learn from
    store.db.commit()
    friday = MONDAY + 4 * DAY
    settings = Settings(timezone="UTC", five_hour_cap_usd=10.0)
    f = compute_status(store, settings, friday + 11 * HOUR)["five_hour"].forecast
    assert f.method == "pace"


def _weekday_mornings(store, first: int, last: int, cost: float) -> None:
    t = first
    while t < last:
        if (t // DAY + 3) % 7 < 5:  # Monday..Friday (the epoch was a Thursday)
            add_usage(store, t + 10 * HOUR, cost=cost, source="openclaw")
        t += DAY


def test_the_month_follows_the_months_before_it_and_says_its_total_without_a_budget(tmp_path):
    store = make_store(tmp_path)
    start = ms("2026-11-01T00:00:00+00:00")
    _weekday_mornings(store, ms("2026-08-01T00:00:00+00:00"), start + 17 * DAY, 2.0)  # $2 each weekday
    store.db.commit()
    now = start + 16 * DAY + 12 * HOUR  # Tuesday 17 November, noon
    f = compute_status(store, Settings(timezone="UTC"), now)["month"].forecast
    assert f.method == "profile" and f.unit == "$"
    # 12 weekdays so far ($24), 9 to come (18–20, 23–27, 30 November): $42, with a band of no width (every
    # past month did exactly what its forecast said).
    assert f.projected_total == pytest.approx(42.0, abs=0.05)
    assert f.summary.startswith("no budget set: on pace for $42.00 (80%: $42.00–$42.00) by the end of the month")
    # With a $40 budget, the same month reaches it with the eighth weekday to come: Friday the 27th, 10–11:00.
    f = compute_status(store, Settings(timezone="UTC", monthly_budget_usd=40.0), now)["month"].forecast
    assert f.method == "profile" and f.hit_chance == 1.0
    assert f.eta_ms == pytest.approx(ms("2026-11-27T11:00:00+00:00"), abs=2 * MIN)
    assert f.projected_total == pytest.approx(42.0, abs=0.05) and f.pct_at_reset == pytest.approx(105.0, abs=0.2)
    assert f.summary.startswith("on pace to hit the budget Fri")


def test_a_month_whose_first_day_was_idle_still_counts_and_a_budget_does_not_change_the_total(tmp_path):
    store = make_store(tmp_path)
    start = ms("2027-01-01T00:00:00+00:00")
    # Weekdays from June; the scan starts at the month two back, November, whose 1st was a Sunday (idle).
    _weekday_mornings(store, ms("2026-06-01T00:00:00+00:00"), start + 15 * DAY, 2.0)
    store.db.commit()
    now = start + 14 * DAY + 12 * HOUR  # Friday 15 January, noon: 11 weekdays so far (the 1st, 4–8, 11–15)
    plain = compute_status(store, Settings(timezone="UTC"), now)["month"].forecast
    # Older usage is on record, so November counts though its first row is on the 2nd (the scan's first row is
    # not the user's first use): the profile, and 11 + 10 weekdays of $2.
    assert plain.method == "profile" and plain.projected_total == pytest.approx(42.0, abs=0.05)
    # A budget is not a cap: spending goes on past it, so what the month is forecast to spend does not depend on
    # it. (Read as a cap, the hours after a past month passed it were left out as "blocked".) Weeks that differ,
    # so that leaving hours out would show: each day costs more as the month goes on.
    varied = make_store(tmp_path / "varied")
    t = ms("2026-06-01T00:00:00+00:00")
    while t < start + 15 * DAY:
        if (t // DAY + 3) % 7 < 5:
            day_of_month = int(datetime.fromtimestamp(t / 1000, UTC).day)
            add_usage(varied, t + 10 * HOUR, cost=1.0 + day_of_month / 10, source="openclaw")
        t += DAY
    varied.db.commit()
    total = compute_status(varied, Settings(timezone="UTC"), now)["month"].forecast.projected_total
    for budget in (20.0, 30.0, 40.0):
        f = compute_status(varied, Settings(timezone="UTC", monthly_budget_usd=budget), now)["month"].forecast
        assert f.method == "profile" and f.projected_total == pytest.approx(total, rel=1e-9), budget


def test_the_five_hour_forecast_is_the_same_whichever_windows_are_asked_for(tmp_path):
    store = make_store(tmp_path)
    _blocks(store, 10, 1.0)  # ten weeks: the month's scan reaches further back than the 5-hour window's
    wednesday = MONDAY + 10 * WEEK + 2 * DAY
    for h in (9, 10):
        add_usage(store, wednesday + h * HOUR + 10 * MIN, cost=2.5)
    store.db.commit()
    settings = Settings(timezone="UTC", five_hour_cap_usd=10.0)
    alone = compute_status(store, settings, wednesday + 11 * HOUR, windows=["five_hour"])["five_hour"].forecast
    together = compute_status(store, settings, wednesday + 11 * HOUR)["five_hour"].forecast
    assert alone.method == "profile" and alone.summary == together.summary
    assert alone.pct_at_reset == together.pct_at_reset and alone.profile_weeks == together.profile_weeks
