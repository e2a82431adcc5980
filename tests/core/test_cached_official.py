"""Claude Code's cached figures (~/.claude.json) as official numbers: recorded as samples while their window is open,
with their age, a fresher statusline sample winning; per-model weekly caps in status, statusline, hook and alerts."""

from __future__ import annotations

import json
import os

from support.claude_json import SECRETS, cached_usage, write_claude_json
from test_limits import HOUR, MIN, add_sample, add_usage, make_store, ms

from tokentop.ingest.claude_code import hook
from tokentop.ingest.claude_code.cached_usage import CachedWatch, read_cached, record_cached
from tokentop.ingest.claude_code.statusline import model_cap_fields, record_claude_cache, render
from tokentop.ingest.config import Settings
from tokentop.ingest.text import official_text
from tokentop.ingest.usage.alerts import check_alerts
from tokentop.ingest.usage.limits import compute_status
from tokentop.tui.cli.limits import source_text, status_json, status_text

NOW = ms("2026-05-04T10:00:00+00:00")  # Monday
WEEK_RESET = ms("2026-05-05T09:00:00+00:00")  # Tuesday 09:00 UTC
FIVE_RESET = NOW + 2 * HOUR
UTC = Settings(timezone="UTC")


def _cache(home, fetched=NOW - HOUR, five=(18.0, FIVE_RESET), week=(41.0, WEEK_RESET),
           models=(("Sonnet", 12.0, None), ("Fable", 83.0, None))):
    return write_claude_json(home, cached_usage(fetched, five=five, week=week, models=models))


def _rows(store):
    return store.db.execute("SELECT window, used_pct, resets_at_ms, taken_ms, seen_ms, session_id "
                            "FROM official_samples ORDER BY window, taken_ms").fetchall()


def test_first_launch_shows_the_cached_figures_as_official_with_their_age(home, tmp_path):
    _cache(home)
    store = make_store(tmp_path)
    assert CachedWatch().check(store, NOW) == 4  # five-hour, week, Sonnet, Fable
    statuses = compute_status(store, UTC, NOW)
    week = statuses["week"]
    assert (week.source, week.used_pct, week.official_at_ms, week.end_ms) == ("official", 41.0, NOW - HOUR, WEEK_RESET)
    assert week.window_source == "official"  # the cache's reset places the week: no week_reset needed
    assert official_text(week, NOW) == "official · 1h old"
    assert source_text(week, NOW) == "official · 1h old"
    five = statuses["five_hour"]
    assert (five.used_pct, five.end_ms, five.start_ms) == (18.0, FIVE_RESET, FIVE_RESET - 5 * HOUR)
    assert statuses["week_fable"].used_pct == 83.0 and statuses["week_sonnet"].used_pct == 12.0
    assert "week_opus" not in statuses  # the cache had no Opus figure


def test_usage_since_the_fetch_is_added_and_the_figure_keeps_its_age(home, tmp_path):
    _cache(home, models=())
    store = make_store(tmp_path)
    add_usage(store, NOW - 3 * HOUR, cost=4.0)  # before the fetch: 41% ≈ $4 → 10.25 %/$
    add_usage(store, NOW - 30 * MIN, cost=1.0)  # after it
    record_cached(store, NOW, read_cached().usage)
    week = compute_status(store, UTC, NOW)["week"]
    assert week.source == "calibrated" and abs(week.used_pct - 51.25) < 0.01
    assert official_text(week, NOW) == "official 41% · 1h old"
    assert source_text(week, NOW) == "calibrated (official 41% · 1h old)"


def test_a_fresher_statusline_sample_wins_and_a_fresher_cache_wins_back(home, tmp_path):
    store = make_store(tmp_path)
    add_sample(store, "seven_day", 45.0, WEEK_RESET, NOW - 10 * MIN)  # the statusline, after the fetch
    _cache(home, fetched=NOW - HOUR, models=())
    record_cached(store, NOW, read_cached().usage)
    week = compute_status(store, UTC, NOW)["week"]
    assert (week.official_pct, week.official_at_ms) == (45.0, NOW - 10 * MIN)
    assert official_text(week, NOW) == "official · 10m old"
    # Claude Code fetches again: now the cache is the newer figure.
    _cache(home, fetched=NOW - 2 * MIN, week=(47.0, WEEK_RESET), models=())
    record_cached(store, NOW, read_cached().usage)
    week = compute_status(store, UTC, NOW)["week"]
    assert (week.used_pct, week.official_at_ms, week.source) == (47.0, NOW - 2 * MIN, "official")
    assert official_text(week, NOW) == "official"  # under five minutes: live


def test_a_closed_window_is_ignored(home, tmp_path):
    _cache(home, fetched=NOW - 30 * HOUR, five=(90.0, NOW - 25 * HOUR), week=(55.0, NOW - MIN),
           models=(("Fable", 99.0, NOW - MIN),))
    store = make_store(tmp_path)
    assert CachedWatch().check(store, NOW) == 0 and _rows(store) == []
    statuses = compute_status(store, UTC, NOW)
    assert statuses["week"].window_source == "guess" and statuses["week"].official_pct is None
    assert statuses["five_hour"].official_pct is None and "week_fable" not in statuses


def test_a_recorded_figure_stops_counting_once_its_window_closed(home, tmp_path):
    _cache(home, models=(("Fable", 83.0, None),))
    store = make_store(tmp_path)
    CachedWatch().check(store, NOW)
    later = WEEK_RESET + HOUR  # the week (and Fable's) reset: a new window, nothing known of it yet
    statuses = compute_status(store, UTC, later)
    assert statuses["week"].end_ms == WEEK_RESET + 7 * 24 * HOUR and statuses["week"].official_pct is None
    fable = statuses.get("week_fable")
    assert fable is None or (fable.used_pct is None and fable.official_pct is None)


def test_a_figure_without_a_fetch_time_or_of_an_unknown_model_is_not_recorded(home, tmp_path):
    cache = cached_usage(NOW - HOUR, five=(18.0, FIVE_RESET), week=(41.0, WEEK_RESET),
                         models=(("Haiku", 5.0, None), ("Opus 4.1", 7.0, None)))
    write_claude_json(home, cache)
    store = make_store(tmp_path)
    assert record_cached(store, NOW, read_cached().usage) == 3  # Haiku has no window of its own in tokentop
    assert [r[:2] for r in _rows(store)] == [("five_hour", 18.0), ("seven_day", 41.0), ("seven_day_opus", 7.0)]
    del cache["fetchedAtMs"]
    write_claude_json(home, cache)
    assert record_cached(make_store(tmp_path / "other"), NOW, read_cached().usage) == 0


def test_the_watch_reads_again_only_when_the_file_changed(home, tmp_path):
    path = _cache(home, models=())
    store = make_store(tmp_path)
    watch = CachedWatch()
    assert watch.check(store, NOW) == 2
    assert watch.check(store, NOW) == 0  # unchanged stat: not even read
    _cache(home, fetched=NOW - MIN, week=(44.0, WEEK_RESET), models=())
    os.utime(path, ns=(NOW * 10**6, NOW * 10**6))
    assert watch.check(store, NOW) == 1  # only the week moved
    assert compute_status(store, UTC, NOW)["week"].used_pct == 44.0
    assert CachedWatch().check(store, NOW) == 0  # a new process: the stamp kept in the store says unchanged
    store.db.execute("DELETE FROM official_samples")
    assert CachedWatch().check(store, NOW) == 0  # (so it is not read: the stamp alone decides)
    path.unlink()
    assert watch.check(store, NOW) == 0


def test_only_percentages_and_resets_are_stored(home, tmp_path):
    _cache(home)
    store = make_store(tmp_path)
    CachedWatch().check(store, NOW)
    rows = _rows(store)
    assert {r[0] for r in rows} == {"five_hour", "seven_day", "seven_day_sonnet", "seven_day_fable"}
    assert all(r[3] == r[4] == NOW - HOUR and r[5] is None for r in rows)
    dump = repr(rows) + repr(store.db.execute("SELECT * FROM meta").fetchall() if _has(store, "meta") else "")
    for secret in ("SECRET", "someone@example.com", "Private Org", "PROMPT", "secret-project"):
        assert secret not in dump
    assert json.dumps(SECRETS)


def _has(store, table: str) -> bool:
    return store.db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (table,)).fetchone() is not None


# -- per-model weekly caps ----------------------------------------------------------------------------------


def test_per_model_caps_in_status_text_and_json(home, tmp_path):
    _cache(home)
    store = make_store(tmp_path)
    CachedWatch().check(store, NOW)
    statuses = compute_status(store, UTC, NOW)
    assert list(statuses) == ["week", "five_hour", "week_sonnet", "week_fable", "month"]
    text = status_text(statuses, [], 10, UTC.zone(), NOW)
    fable = next(line for line in text.splitlines() if line.startswith("week Fable"))
    assert "83%" in fable and "official · 1h old" in fable and "resets Tue 09:00" in fable
    data = status_json(statuses, [], [], 10, UTC.zone(), NOW)
    assert data["windows"]["week_fable"]["used_pct"] == 83.0
    assert data["windows"]["week_fable"]["official_age_s"] == 3600
    assert data["windows"]["week_sonnet"]["resets_at_ms"] == WEEK_RESET


def test_statusline_per_model_fields(home, tmp_path):
    _cache(home)
    store = make_store(tmp_path)
    record_claude_cache(store, NOW)  # what each statusline run does first: no tokentop needs to be running
    values: dict[str, str] = {}
    model_cap_fields(store, UTC, NOW, {"model_caps", "fable_pct"}, values)
    assert values["model_caps"] == "Fable 83% · Sonnet 12%"
    assert (values["fable_pct"], values["sonnet_pct"], values["opus_pct"]) == ("83%", "12%", "–")
    untouched: dict[str, str] = {}
    model_cap_fields(store, UTC, NOW, {"week_pct"}, untouched)
    assert untouched == {}  # a format without them costs no scan


def test_the_statusline_line_can_show_the_per_model_caps(home, tmp_path):
    _cache(home)
    settings = Settings(timezone="UTC", statusline_format="week {week_pct} · {model_caps}")
    payload = json.dumps({"session_id": "s1", "rate_limits": {"seven_day": {"used_percentage": 42,
                                                                            "resets_at": WEEK_RESET // 1000}}})
    line = render(payload, settings, tmp_path / "usage.db", NOW)
    assert line == "week 42% · Fable 83% · Sonnet 12%"  # the payload's week, the cache's per-model caps


def test_hook_warns_near_a_per_model_cap_but_does_not_block(home, tmp_path):
    _cache(home, week=(30.0, WEEK_RESET), five=(10.0, FIVE_RESET), models=(("Fable", 97.0, None),))
    store = make_store(tmp_path)
    CachedWatch().check(store, NOW)
    settings = Settings(timezone="UTC", block_at=95)
    answer = hook.respond(store, settings, "PreToolUse", NOW)
    assert answer == {"systemMessage": "Claude weekly Fable limit at 97% — resets Tue 09:00 (tokentop)"}


def test_alerts_fire_for_a_per_model_window(home, tmp_path):
    _cache(home, week=(30.0, WEEK_RESET), five=(10.0, FIVE_RESET), models=(("Sonnet", 81.0, None),))
    store = make_store(tmp_path)
    CachedWatch().check(store, NOW)
    fired = check_alerts(store, UTC, NOW, notify=False)
    assert [(a.window, a.level, a.window_end_ms) for a in fired] == [("week_sonnet", 80, WEEK_RESET)]
    assert fired[0].message == "Claude weekly Sonnet limit at 81% — resets Tue 09:00"
    assert check_alerts(store, UTC, NOW, notify=False) == []  # once per window and level
