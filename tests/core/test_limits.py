"""Usage windows (DST, zones, official resets, 5-hour activity), official samples, calibration and compute_status."""

from __future__ import annotations

import itertools
import random
from datetime import datetime
from pathlib import Path

import pytest

from tokentop.ingest.config import Settings
from tokentop.ingest.store.schema import ADD_NEW_SLOT_USAGE_SQL
from tokentop.ingest.store.store import Store
from tokentop.ingest.usage.limits import calibrate, compute_status
from tokentop.ingest.usage.samples import FRESH_MS, Sample, fresh_official, load_samples, record_samples
from tokentop.ingest.usage.windows import five_hour_start, month_bounds, roll_forward, week_from_reset_spec

MIN = 60_000
HOUR = 3_600_000
DAY = 24 * HOUR
WEEK = 7 * DAY
OPUS_OUTPUT_USD = 25e-6  # claude-opus-4-6: $25 per million output tokens

_ids = itertools.count()


def ms(text: str) -> int:
    """ISO-8601 with an offset → Unix ms."""
    return int(datetime.fromisoformat(text).timestamp() * 1000)


def make_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "usage.db")


def add_usage(store: Store, ts: int, cost: float = 1.0, session: str = "s1", model: str = "claude-opus-4-6",
              source: str = "claude-code", tokens: int | None = None) -> None:
    """One response costing `cost` (as output tokens of an Opus 4.6 reply, so a re-price agrees), or with
    `tokens` set, that many tokens at exactly `cost` (cache reads; only for stores never re-priced)."""
    n = next(_ids)
    output = int(round(cost / OPUS_OUTPUT_USD)) if tokens is None else 0
    cache_read = tokens or 0
    cur = store.db.execute(
        "INSERT INTO requests(dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain,"
        " model, ts, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, total_tokens, speed,"
        " cost_usd, priced, reported_cost)"
        " VALUES (?, ?, ?, ?, ?, '/p', NULL, 0, ?, ?, 0, ?, 0, 0, ?, ?, NULL, ?, 1, NULL)",
        (f"m{n}:r{n}", f"m{n}", f"r{n}", source, session, model, ts, output, cache_read, output + cache_read, cost))
    store.db.execute(ADD_NEW_SLOT_USAGE_SQL, (cur.lastrowid - 1,))  # the slot sums, as the writer keeps them


def add_sample(store: Store, window: str, pct: float, resets: int, taken: int, seen: int | None = None) -> None:
    store.db.execute("INSERT INTO official_samples(taken_ms, window, used_pct, resets_at_ms, session_id, seen_ms) "
                     "VALUES (?, ?, ?, ?, NULL, ?)", (taken, window, pct, resets, seen if seen is not None else taken))


# -- window bounds: DST and zones -----------------------------------------------------------------------------


def test_week_reset_berlin_spring_forward_week_is_167_hours():
    from zoneinfo import ZoneInfo
    # DST starts Sun 29 Mar 2026 in Berlin: Tue 09:00 is 08:00Z before, 07:00Z after.
    start, end = week_from_reset_spec("tue 09:00 Europe/Berlin", ZoneInfo("UTC"), ms("2026-03-30T12:00:00+00:00"))
    assert start == ms("2026-03-24T08:00:00+00:00")
    assert end == ms("2026-03-31T07:00:00+00:00")
    assert (end - start) // HOUR == 167


def test_week_reset_berlin_fall_back_ambiguous_time_takes_first_occurrence():
    from zoneinfo import ZoneInfo
    # 02:30 happens twice on Sun 25 Oct 2026 in Berlin; the first (CEST, +02:00) is used. The week is 169 h.
    start, end = week_from_reset_spec("sun 02:30 Europe/Berlin", ZoneInfo("UTC"), ms("2026-10-26T12:00:00+00:00"))
    assert start == ms("2026-10-25T00:30:00+00:00")
    assert end == ms("2026-11-01T01:30:00+00:00")
    assert (end - start) // HOUR == 169


def test_week_reset_berlin_skipped_time_maps_an_hour_later():
    from zoneinfo import ZoneInfo
    # 02:30 does not exist on Sun 29 Mar 2026 in Berlin: it maps to 01:30Z (= 03:30 CEST).
    start, end = week_from_reset_spec("sun 02:30 Europe/Berlin", ZoneInfo("UTC"), ms("2026-03-30T12:00:00+00:00"))
    assert start == ms("2026-03-29T01:30:00+00:00")
    assert end == ms("2026-04-05T00:30:00+00:00")


def test_week_reset_new_york_march_and_november():
    from zoneinfo import ZoneInfo
    utc = ZoneInfo("UTC")
    # DST starts Sun 8 Mar 2026 in New York: Mon 09:00 is 14:00Z (EST) then 13:00Z (EDT).
    start, end = week_from_reset_spec("mon 09:00 America/New_York", utc, ms("2026-03-08T20:00:00+00:00"))
    assert (start, end) == (ms("2026-03-02T14:00:00+00:00"), ms("2026-03-09T13:00:00+00:00"))
    # DST ends Sun 1 Nov 2026: the week around it is 169 h.
    start, end = week_from_reset_spec("mon 09:00 America/New_York", utc, ms("2026-11-01T12:00:00+00:00"))
    assert (start, end) == (ms("2026-10-26T13:00:00+00:00"), ms("2026-11-02T14:00:00+00:00"))


def test_week_reset_without_zone_uses_the_display_zone_and_the_exact_reset_instant_starts_a_new_week():
    from zoneinfo import ZoneInfo
    tokyo = ZoneInfo("Asia/Tokyo")
    reset = ms("2026-06-02T09:00:00+09:00")  # a Tuesday
    assert week_from_reset_spec("tue 09:00", tokyo, reset) == (reset, reset + WEEK)
    assert week_from_reset_spec("tue 09:00", tokyo, reset - 1) == (reset - WEEK, reset)


def test_month_bounds_across_dst():
    from zoneinfo import ZoneInfo
    assert month_bounds(ZoneInfo("Europe/Berlin"), ms("2026-03-15T12:00:00+00:00")) == (
        ms("2026-02-28T23:00:00+00:00"), ms("2026-03-31T22:00:00+00:00"))
    assert month_bounds(ZoneInfo("America/New_York"), ms("2026-11-15T12:00:00+00:00")) == (
        ms("2026-11-01T04:00:00+00:00"), ms("2026-12-01T05:00:00+00:00"))
    # Just before midnight local on Dec 31 is still December, in the next UTC year.
    assert month_bounds(ZoneInfo("America/New_York"), ms("2027-01-01T04:30:00+00:00"))[0] == ms(
        "2026-12-01T05:00:00+00:00")


def test_roll_forward_by_whole_weeks():
    end = ms("2026-03-03T09:00:00+00:00")
    assert roll_forward(end, end - 1, WEEK) == end
    assert roll_forward(end, end, WEEK) == end + WEEK
    assert roll_forward(end, end + 2 * WEEK + 5, WEEK) == end + 3 * WEEK


def test_five_hour_window_chains_from_the_first_request_after_the_last_window_ended():
    day = ms("2026-05-04T00:00:00+00:00")
    acts = [day + 9 * HOUR + 10 * MIN, day + 10 * HOUR + 30 * MIN, day + 13 * HOUR + 59 * MIN,
            day + 14 * HOUR + 5 * MIN]
    # 09:10 opens [09:00, 14:00); 14:05 is after it ended, so it opens [14:00, 19:00).
    assert five_hour_start(acts[:3], day + 13 * HOUR + 59 * MIN) == day + 9 * HOUR
    assert five_hour_start(acts, day + 15 * HOUR) == day + 14 * HOUR
    assert five_hour_start(acts, day + 19 * HOUR) is None  # it ended; nothing running
    # An official reset at 11:30 that has passed: the next window cannot start before it.
    assert five_hour_start([day + 11 * HOUR + 40 * MIN], day + 12 * HOUR, not_before=day + 11 * HOUR + 30 * MIN) == \
        day + 11 * HOUR + 30 * MIN


# -- samples ----------------------------------------------------------------------------------------------------


def test_record_samples_stores_changes_only_and_refreshes_seen_at_most_once_a_minute(tmp_path):
    store = make_store(tmp_path)
    t0 = ms("2026-05-04T10:00:00+00:00")
    resets = t0 + 3 * DAY + 2_000  # seconds of jitter either side round to the same minute
    assert record_samples(store, [Sample("seven_day", 40.0, resets)], t0, "sess") == 1
    assert record_samples(store, [Sample("seven_day", 40.0, resets - 3_000)], t0 + 10_000) == 0
    assert record_samples(store, [Sample("seven_day", 40.0, resets)], t0 + 70_000) == 0  # seen refreshed
    assert record_samples(store, [Sample("seven_day", 41.0, resets)], t0 + 80_000) == 1
    rows = store.db.execute("SELECT used_pct, resets_at_ms, taken_ms, seen_ms, session_id FROM official_samples "
                            "ORDER BY id").fetchall()
    assert rows == [(40.0, t0 + 3 * DAY, t0, t0 + 70_000, "sess"), (41.0, t0 + 3 * DAY, t0 + 80_000, t0 + 80_000, None)]


def test_sample_without_reset_borrows_the_stored_one_only_while_it_is_ahead(tmp_path):
    store = make_store(tmp_path)
    t0 = ms("2026-05-04T10:00:00+00:00")
    assert record_samples(store, [Sample("five_hour", 10.0, None)], t0) == 0  # nothing to place it in
    record_samples(store, [Sample("five_hour", 10.0, t0 + 2 * HOUR)], t0)
    assert record_samples(store, [Sample("five_hour", 12.0, None)], t0 + HOUR) == 1
    assert record_samples(store, [Sample("five_hour", 15.0, None)], t0 + 3 * HOUR) == 0  # that window is over
    assert [s.used_pct for s in load_samples(store, 0)["five_hour"]] == [10.0, 12.0]


# -- calibration ------------------------------------------------------------------------------------------------


def test_calibrate_through_the_origin_and_choose_the_better_proxy():
    # pct = 2 × cost exactly; tokens are noisy → cost wins with k = 2.
    cost_points = [(10.0, 5.0, 1_000), (20.0, 10.0, 5_000), (30.0, 15.0, 4_000)]
    cal = calibrate(cost_points)
    assert (cal.proxy, cal.k, cal.rmse, cal.samples) == ("cost", pytest.approx(2.0), pytest.approx(0.0), 3)
    # pct = tokens / 1000 exactly; cost noisy → tokens win.
    token_points = [(10.0, 9.0, 10_000), (20.0, 4.0, 20_000), (30.0, 40.0, 30_000)]
    cal = calibrate(token_points)
    assert cal.proxy == "tokens" and cal.k == pytest.approx(0.001)
    # Least squares through the origin, not the mean ratio: k = Σxy / Σx² = (10·1 + 30·2) / (1 + 4) = 14.
    assert calibrate([(10.0, 1.0, 0), (30.0, 2.0, 0)]).k == pytest.approx(14.0)
    assert calibrate([(10.0, 0.0, 0)]) is None


def test_calibrated_between_samples_is_last_official_plus_k_times_usage_since(tmp_path):
    store = make_store(tmp_path)
    rng = random.Random(1)
    start = ms("2026-05-04T09:00:00+00:00")
    resets = start + WEEK
    for i in range(1, 41):  # $1 an hour for 40 hours, token counts all over the place
        add_usage(store, start + i * HOUR, cost=1.0, tokens=rng.randrange(1_000, 100_000))
    # Official samples track cost exactly at 1 % per dollar: 10 %, 20 %, 30 % after $10, $20, $30.
    for pct in (10, 20, 30):
        add_sample(store, "seven_day", pct, resets, start + pct * HOUR + 30 * MIN)
    now = start + 45 * HOUR
    week = compute_status(store, Settings(timezone="UTC"), now)["week"]
    assert (week.start_ms, week.end_ms, week.window_source) == (start, resets, "official")
    assert week.calibration.proxy == "cost" and week.calibration.k == pytest.approx(1.0)
    assert week.source == "calibrated"  # the last sample is 14.5 h old
    # 30 % at the last sample + 1 %/$ × the $10 used since = 40 %.
    assert week.used_pct == pytest.approx(40.0)
    assert (week.official_pct, week.official_at_ms) == (30.0, start + 30 * HOUR + 30 * MIN)
    assert week.used_cost == pytest.approx(40.0) and week.cap_usd == pytest.approx(100.0)
    assert week.samples == 3


def test_a_recently_confirmed_sample_is_official_and_anchors_where_it_was_last_seen(tmp_path):
    store = make_store(tmp_path)
    start = ms("2026-05-04T09:00:00+00:00")
    for i in range(1, 21):
        add_usage(store, start + i * HOUR, cost=1.0)
    add_sample(store, "seven_day", 5.0, start + WEEK, start + 5 * HOUR + 30 * MIN)
    # 12 % first seen after $12 and still confirmed at 20:30 (after $20): the usage up to then is inside the 12 %.
    add_sample(store, "seven_day", 12.0, start + WEEK, start + 12 * HOUR + 30 * MIN, seen=start + 20 * HOUR + 30 * MIN)
    now = start + 20 * HOUR + 32 * MIN
    week = compute_status(store, Settings(timezone="UTC"), now)["week"]
    assert week.source == "official" and week.used_pct == pytest.approx(12.0)
    assert week.official_at_ms == start + 20 * HOUR + 30 * MIN
    assert fresh_official(store, now, ["week", "five_hour"])["week"].used_pct == 12.0
    assert fresh_official(store, now + FRESH_MS, ["week"]) == {}


def test_a_passed_reset_rolls_forward_and_borrows_the_previous_windows_calibration(tmp_path):
    store = make_store(tmp_path)
    old_start = ms("2026-04-27T09:00:00+00:00")
    for i in range(1, 11):
        add_usage(store, old_start + i * HOUR, cost=2.0)
    add_sample(store, "seven_day", 4.0, old_start + WEEK, old_start + 4 * HOUR + 30 * MIN)  # $8 → 4 %: 0.5 %/$
    add_sample(store, "seven_day", 10.0, old_start + WEEK, old_start + 10 * HOUR + 30 * MIN)  # $20 → 10 %
    new_start = old_start + WEEK
    add_usage(store, new_start + HOUR, cost=30.0)
    week = compute_status(store, Settings(timezone="UTC"), new_start + 2 * HOUR)["week"]
    assert (week.start_ms, week.end_ms) == (new_start, new_start + WEEK)
    assert week.source == "calibrated" and week.official_pct is None
    assert week.used_pct == pytest.approx(15.0)  # $30 × 0.5 %/$


def test_configured_cap_and_week_reset_without_samples(tmp_path):
    store = make_store(tmp_path)
    start = ms("2026-05-05T09:00:00+02:00")  # Tue 09:00 Berlin
    add_usage(store, start - HOUR, cost=50.0)  # the week before: not counted
    add_usage(store, start + HOUR, cost=20.0, session="a")
    add_usage(store, start + 2 * HOUR, cost=5.0, session="b")
    settings = Settings(timezone="UTC", week_reset="tue 09:00 Europe/Berlin", weekly_cap_usd=100.0,
                        weekly_cap_tokens=10_000_000)
    week = compute_status(store, settings, start + 3 * HOUR)["week"]
    assert (week.start_ms, week.end_ms, week.window_source, week.source) == (start, start + WEEK, "configured",
                                                                            "configured")
    # $25 of $100 = 25 %; 1,000,000 tokens of 10M = 10 %: the cap that reads higher counts.
    assert week.used_pct == pytest.approx(25.0) and week.used_tokens == 1_000_000
    assert week.top_sessions == [("a", pytest.approx(0.8)), ("b", pytest.approx(0.2))]


def test_no_cap_no_reset_is_a_guessed_rolling_week_without_a_percentage(tmp_path):
    store = make_store(tmp_path)
    now = ms("2026-05-05T12:00:00+00:00")
    add_usage(store, now - 8 * DAY, cost=9.0)
    add_usage(store, now - 6 * DAY, cost=3.0)
    week = compute_status(store, Settings(timezone="UTC"), now)["week"]
    assert (week.start_ms, week.end_ms, week.source, week.used_pct) == (now - WEEK, now, "guess", None)
    assert week.used_cost == pytest.approx(3.0)
    assert week.forecast.unit == "$" and "week_reset" in week.forecast.summary


def test_five_hour_from_activity_and_from_an_official_sample(tmp_path):
    store = make_store(tmp_path)
    day = ms("2026-05-04T00:00:00+00:00")
    add_usage(store, day + 9 * HOUR + 10 * MIN, cost=3.0)
    add_usage(store, day + 11 * HOUR, cost=2.0)
    add_usage(store, day + 11 * HOUR, cost=4.0, source="openclaw")  # not Claude Code: not in the cap
    settings = Settings(timezone="UTC", five_hour_cap_usd=10.0)
    five = compute_status(store, settings, day + 12 * HOUR)["five_hour"]
    assert (five.start_ms, five.end_ms, five.window_source) == (day + 9 * HOUR, day + 14 * HOUR, "activity")
    assert (five.used_cost, five.used_pct, five.source) == (pytest.approx(5.0), pytest.approx(50.0), "configured")
    # An official sample wins and sets the window from its reset.
    add_sample(store, "five_hour", 70.0, day + 15 * HOUR, day + 12 * HOUR)
    five = compute_status(store, settings, day + 12 * HOUR + MIN)["five_hour"]
    assert (five.start_ms, five.end_ms, five.source, five.used_pct) == (day + 10 * HOUR, day + 15 * HOUR, "official",
                                                                       pytest.approx(70.0))


def test_month_budget_counts_every_source_and_model_scoped_weeks_need_samples(tmp_path):
    store = make_store(tmp_path)
    now = ms("2026-05-20T12:00:00+00:00")
    add_usage(store, ms("2026-04-30T23:00:00+00:00"), cost=100.0)  # April
    add_usage(store, ms("2026-05-02T10:00:00+00:00"), cost=30.0)
    add_usage(store, ms("2026-05-10T10:00:00+00:00"), cost=10.0, source="openclaw")
    statuses = compute_status(store, Settings(timezone="UTC", monthly_budget_usd=200.0), now)
    month = statuses["month"]
    assert (month.used_cost, month.used_pct, month.source) == (pytest.approx(40.0), pytest.approx(20.0), "configured")
    assert set(statuses) == {"week", "five_hour", "month"}
    add_usage(store, now - HOUR, cost=6.0, model="claude-sonnet-4-5", session="son")
    add_usage(store, now - HOUR, cost=4.0, model="claude-opus-4-6", session="op")
    add_sample(store, "seven_day_sonnet", 30.0, now + 2 * DAY, now - 10 * MIN)
    statuses = compute_status(store, Settings(timezone="UTC"), now)
    assert list(statuses) == ["week", "five_hour", "week_sonnet", "month"]
    sonnet = statuses["week_sonnet"]
    assert (sonnet.used_cost, sonnet.top_sessions) == (pytest.approx(6.0), [("son", 1.0)])
    assert sonnet.used_pct == pytest.approx(30.0 + 0.0)  # the only usage came before the sample


def test_history_and_projection_shapes(tmp_path):
    store = make_store(tmp_path)
    start = ms("2026-05-05T09:00:00+00:00")
    for i in range(10):
        add_usage(store, start + i * HOUR + 5 * MIN, cost=1.0)
    now = start + 10 * HOUR + 30 * MIN
    settings = Settings(timezone="UTC", week_reset="tue 09:00 UTC", weekly_cap_usd=100.0)
    f = compute_status(store, settings, now)["week"].forecast
    assert f.history[0] == (start, 0.0) and f.history[-1] == (now, pytest.approx(10.0))
    assert [t for t, _ in f.history] == sorted(t for t, _ in f.history)
    assert f.history[3] == (start + 3 * HOUR, pytest.approx(3.0))
    assert f.projection[0][0] == now and f.projection[-1][0] == start + WEEK
    assert all(low <= mid <= high for _, mid, low, high in f.projection)


def test_after_an_official_five_hour_window_ends_the_next_follows_activity_with_its_calibration(tmp_path):
    store = make_store(tmp_path)
    day = ms("2026-05-04T00:00:00+00:00")
    for i in range(4):  # $5 at 08:10, 09:10, 10:10, 11:10 in the official window [08:00, 13:00)
        add_usage(store, day + (8 + i) * HOUR + 10 * MIN, cost=5.0)
    add_sample(store, "five_hour", 10.0, day + 13 * HOUR, day + 8 * HOUR + 20 * MIN)  # $5 → 10 %: 2 %/$
    add_sample(store, "five_hour", 40.0, day + 13 * HOUR, day + 11 * HOUR + 20 * MIN)  # $20 → 40 %
    add_usage(store, day + 14 * HOUR + 30 * MIN, cost=3.0)
    five = compute_status(store, Settings(timezone="UTC"), day + 15 * HOUR)["five_hour"]
    assert (five.start_ms, five.end_ms, five.window_source) == (day + 14 * HOUR, day + 19 * HOUR, "activity")
    assert (five.source, five.used_pct) == ("calibrated", pytest.approx(6.0))


def test_a_read_only_look_at_a_store_from_before_the_limits_tables(tmp_path):
    import sqlite3
    db = tmp_path / "old.db"
    from tokentop.ingest.store.schema import MIGRATIONS, statements
    con = sqlite3.connect(db)
    for statement in statements(MIGRATIONS[0]):
        con.execute(statement)
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    old = Store(db, readonly=True)
    statuses = compute_status(old, Settings(timezone="UTC"), ms("2026-05-04T10:00:00+00:00"))
    assert statuses["week"].source == "guess" and fresh_official(old, 0, ["week"]) == {}
