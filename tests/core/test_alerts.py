"""Alerts: once per window and level, spikes (the strip's rule), notify-send, and the status level."""

from __future__ import annotations

import os
import random
import stat
from zoneinfo import ZoneInfo

import pytest
from test_limits import DAY, HOUR, WEEK, add_sample, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.usage import queries
from tokentop.ingest.usage.alerts import (
    CRITICAL,
    OK,
    WARNING,
    active_alerts,
    check_alerts,
    spike_alert,
    status_level,
    warning_pct,
)
from tokentop.ingest.usage.limits import compute_status

START = ms("2026-05-04T09:00:00+00:00")  # a Monday
ZoneUTC = ZoneInfo("UTC")


def capped(**kw) -> Settings:
    return Settings(timezone="UTC", week_reset="mon 09:00 UTC", weekly_cap_usd=100.0, **kw)


def test_each_level_fires_once_per_window_and_a_jump_reports_only_the_highest(tmp_path):
    store = make_store(tmp_path)
    settings = capped()
    add_usage(store, START + HOUR, cost=85.0)
    fired = check_alerts(store, settings, START + 2 * HOUR)
    assert [(a.window, a.level, a.window_end_ms) for a in fired] == [("week", 80, START + WEEK)]
    # Against the user's own cap: never "Claude … limit" (Claude said nothing about it).
    assert fired[0].message == "Your weekly cap at ~85% ($85.00 of $100.00 est) — resets Mon 09:00"
    # 60 was passed on the way: recorded, so it never fires later.
    recorded = store.db.execute("SELECT window, level FROM alerts ORDER BY level").fetchall()
    assert recorded == [("week", 60), ("week", 80)]
    assert check_alerts(store, settings, START + 3 * HOUR) == []
    add_usage(store, START + 4 * HOUR, cost=11.0)
    assert [a.level for a in check_alerts(store, settings, START + 5 * HOUR)] == [95]
    assert [a.level for a in active_alerts(store, START + 5 * HOUR)] == [95]
    assert [a.level for a in active_alerts(store, START + 5 * HOUR, every_level=True)] == [95, 80, 60]
    # A new week: the same levels fire again, and last week's are no longer active.
    add_usage(store, START + WEEK + HOUR, cost=61.0)
    fired = check_alerts(store, settings, START + WEEK + 2 * HOUR)
    assert [(a.level, a.window_end_ms) for a in fired] == [(60, START + 2 * WEEK)]
    assert [a.level for a in active_alerts(store, START + WEEK + 2 * HOUR)] == [60]


def test_month_budget_and_official_windows_alert_too(tmp_path):
    store = make_store(tmp_path)
    settings = Settings(timezone="UTC", monthly_budget_usd=50.0)
    add_usage(store, START, cost=31.0)
    add_sample(store, "five_hour", 96.0, START + 3 * HOUR, START + HOUR)
    fired = {a.window: a for a in check_alerts(store, settings, START + HOUR + 1)}
    assert fired["five_hour"].level == 95 and fired["five_hour"].severity == "critical"
    assert fired["five_hour"].message == "Claude 5-hour limit at 96% — resets 12:00"
    assert fired["month"].level == 60
    assert fired["month"].message == "Monthly budget at ~62% ($31.00 of $50.00 est) — resets Jun 01"
    assert "week" not in fired  # no cap, no %: nothing to alert on


def test_a_guessed_rolling_week_alerts_at_most_once_a_day(tmp_path):
    store = make_store(tmp_path)
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0)
    add_usage(store, START, cost=70.0)
    assert [a.level for a in check_alerts(store, settings, START + HOUR)] == [60]
    assert check_alerts(store, settings, START + 2 * HOUR) == []
    assert [a.level for a in check_alerts(store, settings, START + DAY)] == [60]


def test_spike_is_today_at_twice_the_median_active_day_of_the_fourteen_before(tmp_path):
    # Was "over 3x the trailing 14-day average and over $5": the strip and the alert now share one rule (spikes.py).
    store = make_store(tmp_path)
    now = START + 6 * HOUR
    for d, cost in ((2, 1.0), (5, 1.0), (9, 1.0), (13, 7.0)):  # median active day $1 (the $7 day does not pull it up)
        add_usage(store, START - d * DAY, cost=cost)
    add_usage(store, START + HOUR, cost=2.5)  # old rule: under the $5 floor, and 3.5x a $0.71 mean: no alert
    spike = spike_alert(store, ZoneUTC, now)
    assert spike is not None and spike.level == 200 and spike.window_end_ms == ms("2026-05-05T00:00:00+00:00")
    assert spike.message == "Usage spike: $2.50 est today, 2.5× your median active day of the last 14 ($1.00)"
    fired = check_alerts(store, Settings(timezone="UTC"), now)
    assert [(a.window, a.kind, a.severity) for a in fired] == [("day", "spike", "warning")]
    assert check_alerts(store, Settings(timezone="UTC"), now + HOUR) == []


def test_no_spike_below_twice_the_median_or_without_three_earlier_active_days(tmp_path):
    store = make_store(tmp_path)
    for d in (2, 5, 9):
        add_usage(store, START - d * DAY, cost=1.0)
    add_usage(store, START + HOUR, cost=1.99)
    assert spike_alert(store, ZoneUTC, START + 2 * HOUR) is None
    add_usage(store, START + 2 * HOUR, cost=0.01)  # now exactly 2x: a spike
    assert spike_alert(store, ZoneUTC, START + 3 * HOUR) is not None
    assert spike_alert(store, ZoneUTC, START + HOUR + 1) is None  # today so far: $1.99 at that moment
    other = make_store(tmp_path / "other")
    for d in (2, 3, 15):  # the day 15 days back is outside the 14 compared with: only 2 active days count
        add_usage(other, START - d * DAY, cost=1.0)
    add_usage(other, START + HOUR, cost=50.0)
    assert spike_alert(other, ZoneUTC, START + 2 * HOUR) is None


def test_with_nothing_priced_the_spike_alert_counts_tokens_like_the_strip(tmp_path):
    store = make_store(tmp_path)
    for d in (1, 2, 3):
        add_usage(store, START - d * DAY, cost=0.0, tokens=1_000)
    add_usage(store, START + HOUR, cost=0.0, tokens=2_500)
    spike = spike_alert(store, ZoneUTC, START + 2 * HOUR)
    assert spike is not None
    assert spike.message == "Usage spike: 2,500 tokens today, 2.5× your median active day of the last 14 (1,000 tokens)"


@pytest.mark.parametrize("priced", [True, False])
def test_the_daily_strip_and_the_spike_alert_flag_the_same_days(tmp_path, priced):
    store = make_store(tmp_path)
    rng = random.Random(11)
    first = START - 40 * DAY
    for d in range(41):
        if rng.random() < 0.25:
            continue  # an idle day
        amount = rng.choice([1.0, 1.5, 2.0, 3.0, 6.0, 9.0])
        for h in range(rng.randint(1, 3)):
            add_usage(store, first + d * DAY + h * HOUR, cost=amount if priced else 0.0,
                      tokens=None if priced else int(amount * 1000))
    last_day_end = START - 9 * HOUR + DAY - 1  # Monday 23:59:59.999 UTC
    strip = queries.daily(store, last_day_end, ZoneUTC)
    assert len(strip) == 14
    alerted = [spike_alert(store, ZoneUTC, last_day_end - (13 - i) * DAY) is not None for i in range(14)]
    assert [d.spike for d in strip] == alerted
    assert any(alerted) and not all(alerted)  # the history has both, so the comparison means something


def test_notify_send_is_called_once_per_new_alert(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "notified.txt"
    script = bindir / "notify-send"
    script.write_text(f'#!/bin/sh\nprintf "%s|" "$@" >> {log}\necho >> {log}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=96.0)
    check_alerts(store, capped(notify_send=True), START + 2 * HOUR)
    check_alerts(store, capped(notify_send=True), START + 3 * HOUR)
    lines = log.read_text().splitlines()
    assert lines == ["--app-name=tokentop|-u|critical|tokentop|"
                     "Your weekly cap at ~96% ($96.00 of $100.00 est) — resets Mon 09:00|"]
    check_alerts(make_store(tmp_path / "quiet"), capped(), START)  # notify_send off: nothing, and no error


def test_status_level_thresholds(tmp_path):
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=79.0)
    now = START + 2 * HOUR
    assert warning_pct(Settings()) == 80.0
    assert status_level(compute_status(store, capped(), now, detail=False), capped()) == OK
    add_usage(store, START + HOUR, cost=1.0)
    assert status_level(compute_status(store, capped(), now, detail=False), capped()) == WARNING
    assert status_level(compute_status(store, capped(block_at=75), now, detail=False), capped(block_at=75)) == CRITICAL
    add_usage(store, START + HOUR, cost=15.0)
    assert status_level(compute_status(store, capped(), now, detail=False), capped()) == CRITICAL
    custom = capped(alert_thresholds=[50, 70, 90, 100])
    assert warning_pct(custom) == 70.0
