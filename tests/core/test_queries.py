"""The TUI's read queries over a crafted store: overview, session detail, views, alerts — numbers worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from support.history import API, DOCS, LIVE, LIVE2, NOW_MS, SPIKE, build_store

from tokentop.ingest.store.store import Store
from tokentop.ingest.usage import queries, spikes
from tokentop.ingest.usage.spikes import DayUse

UTC = ZoneInfo("UTC")
# Per-request costs at list prices (USD per million: Opus 4.6 5/25/6.25/0.5, Sonnet 4.5 3/15/3.75/0.3,
# Haiku 4.5 1/5/1.25/0.1 for input/output/5m cache write/cache read).
LIVE_MAIN = 36 * 0.092525 + 0.093775
LIVE_AGENT = 3 * 0.00293
LIVE2_COST = 5 * 0.018765
API_COST = 12 * 0.029265
NOTES_DAY = 6 * 0.023265
SPIKE_COST = 40 * 0.187525
DOCS_COST = 8 * 0.005255


@pytest.fixture
def store(home):
    ctx = build_store(home)
    with ctx.open_store(readonly=True) as s:
        yield s, ctx


def test_sessions_live_first_with_totals(store):
    s, ctx = store
    rows = queries.sessions(s, NOW_MS)
    assert [r.session_id for r in rows[:3]] == [LIVE2, LIVE, API]
    assert [r.active for r in rows[:3]] == [True, True, False]
    live = rows[1]
    # main thread 36 × 122,805 + 94,205 tokens, sub-agent 3 × 8,805
    assert live.tokens == 4_541_600
    assert live.requests == 40
    assert live.cost_usd == pytest.approx(LIVE_MAIN + LIVE_AGENT, abs=1e-6)
    assert live.models == ("claude-haiku-4-5-20251001", "claude-opus-4-6")
    assert live.title == "Build the live TUI" and live.project == "/home/u/src/tokentop" and live.git_branch == "tui"
    assert len(rows) == 15


def test_session_goes_quiet_after_five_minutes(store):
    s, _ = store
    later = queries.sessions(s, NOW_MS + 210_000)  # LIVE2's last line 4.5 min ago, LIVE's 5.5 min ago
    assert {r.session_id for r in later if r.active} == {LIVE2}
    assert not any(r.active for r in queries.sessions(s, NOW_MS + 6 * 60_000))


def test_sorts(store):
    s, _ = store
    by_cost = queries.sessions(s, NOW_MS, sort="cost")
    assert [r.session_id for r in by_cost[:3]] == [SPIKE, LIVE, API]
    by_tokens = queries.sessions(s, NOW_MS, sort="tokens")
    assert by_tokens[0].session_id == SPIKE and by_tokens[0].tokens == 40 * (5 + 3000 + 6000 + 150_000)
    by_project = queries.sessions(s, NOW_MS, sort="project")
    assert [r.project.rsplit("/", 1)[-1] for r in by_project][:3] == ["api", "docs", "notes"]


@pytest.mark.parametrize("needle, expected", [
    ("pagination", {API}),
    ("SPOTTER", {LIVE2}),
    ("haiku", {LIVE, DOCS}),  # by model family, including a sub-agent's model
    ("fix/pag", {API}),  # the branch
    ("a1b2c3d4-0000-4000-8000-000000000005", {SPIKE}),
    ("nothing-like-this", set()),
])
def test_filter(store, needle, expected):
    s, _ = store
    assert {r.session_id for r in queries.sessions(s, NOW_MS, filter_text=needle)} == expected


def test_overview_windows_split_and_days(store):
    s, ctx = store
    ov = queries.overview(s, ctx.settings, NOW_MS, tz=UTC)
    assert ov.has_data and ov.requests == 165 and ov.last_line_ms == NOW_MS - 60_000
    week = ov.windows["week"]
    week_cost = LIVE_MAIN + LIVE_AGENT + LIVE2_COST + API_COST + NOTES_DAY  # the docs session was on Monday
    assert week.used_cost == pytest.approx(week_cost, abs=1e-6)
    assert week.used_pct == pytest.approx(week_cost / 6 * 100, abs=1e-4)
    split = {f.family: f for f in ov.families}
    assert set(split) == {"opus", "sonnet", "haiku"}
    assert split["opus"].tokens == 36 * 122_805 + 94_205
    assert split["haiku"].tokens == 3 * 8_805
    assert split["opus"].token_share == pytest.approx(4_515_185 / 5_342_715, abs=1e-6)
    assert split["opus"].cost_share == pytest.approx((LIVE_MAIN) / week_cost, abs=1e-6)
    days = {d.day: d for d in ov.days}
    assert len(ov.days) == 14 and ov.days[0].day == date(2026, 11, 13) and ov.days[-1].day == date(2026, 11, 26)
    assert days[date(2026, 11, 20)].cost_usd == pytest.approx(SPIKE_COST, abs=1e-6)
    assert days[date(2026, 11, 23)].cost_usd == pytest.approx(DOCS_COST, abs=1e-6)
    assert days[date(2026, 11, 26)].cost_usd == pytest.approx(LIVE_MAIN + LIVE_AGENT + LIVE2_COST, abs=1e-6)
    # Spikes: at least twice the median day (a notes day, $0.14): the heavy day, yesterday and today.
    assert [d.day.day for d in ov.days if d.spike] == [20, 25, 26]


def _costs(values: list[float]) -> list[DayUse]:
    return [DayUse(date(2026, 11, 1) + timedelta(days=i), 0, v, 1) for i, v in enumerate(values)]


def test_spikes_need_a_baseline_of_earlier_days():
    assert spikes.flags(_costs([0, 0, 5, 0])) == [False] * 4
    assert spikes.flags(_costs([1, 1, 1, 2, 0])) == [False, False, False, True, False]
    # Only earlier days count: a big day first is not a spike, and a later bigger one does not unflag it.
    assert spikes.flags(_costs([9, 1, 1, 1, 3, 8])) == [False, False, False, False, True, True]
    # Only the 14 days before: the three $1 days 15+ days back have dropped out by the last day.
    assert spikes.flags(_costs([1, 1, 1] + [0] * 12 + [5])) == [False] * 16


def test_session_detail(store):
    s, _ = store
    d = queries.session_detail(s, LIVE)
    assert d.found and d.title == "Build the live TUI" and d.git_branch == "tui" and d.source == "claude-code"
    assert len(d.requests) == 40 and d.totals.requests == 40
    assert d.duration_ms == 3 * 3_600_000 - 2 * 60_000
    # cache reads over input + cache writes + cache reads (output tokens are not input)
    assert d.cache_hit_ratio == pytest.approx(4_434_000 / (200 + 76_500 + 4_434_000), abs=1e-9)
    tools = {b.key: b for b in d.tools}
    assert {k: b.count for k, b in tools.items()} == {"Bash": 21, "Read": 15, "Grep": 10, "Edit": 8}
    # Bash was called by 7 single-Bash and 7 double-Bash responses: tokens count once per response.
    assert tools["Bash"].tokens == 14 * 122_805
    agents = {b.key: b for b in d.agents}
    assert [b.key for b in d.agents] == ["main", "a77"]
    assert agents["a77"].count == 3 and agents["a77"].tokens == 3 * 8_805
    last = d.requests[-1]
    assert last.tools == ("Edit",) and last.ts_ms == NOW_MS - 120_000 and last.cache_read == 90_000
    double = next(r for r in d.requests if r.tools.count("Bash") == 2)
    assert sorted(double.tools) == ["Bash", "Bash", "Grep"]


def test_session_detail_unknown(store):
    s, _ = store
    d = queries.session_detail(s, "no-such-session")
    assert not d.found and d.requests == [] and d.cache_hit_ratio is None


def test_views(store):
    s, _ = store
    tools = queries.view_report(s, "tools", UTC, NOW_MS, 30)
    assert {r.key: r.extra["calls"] for r in tools.rows} == {"Bash": 61, "Read": 21, "Grep": 10, "Edit": 8}
    days = queries.view_report(s, "days", UTC, NOW_MS, 7)
    assert [r.key for r in days.rows] == ["2026-11-26", "2026-11-25", "2026-11-24", "2026-11-23", "2026-11-22",
                                          "2026-11-21", "2026-11-20"]
    projects = queries.view_report(s, "projects", UTC, NOW_MS, None)
    assert projects.rows[0].key == "/home/u/src/tokentop"
    assert projects.rows[0].totals.cost_usd == pytest.approx(LIVE_MAIN + LIVE_AGENT + SPIKE_COST, abs=1e-6)


def test_alert_rows(store):
    s, ctx = store
    assert queries.alert_rows(s).rows == []
    with ctx.open_store() as w:
        w.db.execute("INSERT INTO alerts(fired_ms, window, level, window_end_ms, used_pct, source, message) "
                     "VALUES (?, 'week', 60, ?, 61.5, 'configured', 'Claude weekly limit at ~62%')",
                     (NOW_MS, NOW_MS + 86_400_000))
    rows = queries.alert_rows(s)
    assert rows.available and len(rows.rows) == 1
    record = dict(zip(rows.columns, rows.rows[0]))
    assert record["level"] == 60 and record["message"] == "Claude weekly limit at ~62%"


def test_an_unmigrated_store_reads_as_empty(tmp_path):
    with Store(tmp_path / "new.db", readonly=True) as s:
        assert not queries.overview(s, None, NOW_MS, tz=UTC).has_data
        assert not queries.session_detail(s, LIVE).found
        assert queries.view_report(s, "models", UTC, NOW_MS) is None
        assert not queries.alert_rows(s).available


def _days_from_rows(db, zone, first: date, last: date, until_ms: int | None) -> list[tuple]:
    """read_days the slow way: every row, placed on its local day (what it read before slot_usage served it)."""
    from tokentop.ingest.clock import day_start_ms, local_day
    from tokentop.ingest.store.schema import USAGE_SQL
    hi = day_start_ms(last + timedelta(days=1), zone)
    hi = hi if until_ms is None else min(hi, until_ms + 1)
    acc = {first + timedelta(days=i): [0, 0.0, 0] for i in range((last - first).days + 1)}
    for ts, tokens, cost, n in db.execute(
            f"SELECT ts, input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read, cost_usd, "
            f"requests FROM ({USAGE_SQL}) WHERE ts >= ? AND ts < ?", (day_start_ms(first, zone), hi)):
        if (a := acc.get(local_day(ts, zone))) is not None:
            a[0], a[1], a[2] = a[0] + tokens, a[1] + cost, a[2] + n
    return [(d, a[0], round(a[1], 9), a[2]) for d, a in acc.items()]


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns", "Asia/Kathmandu"])
def test_days_read_from_the_slot_sums_equal_the_rows(store, zone):
    # Whole slots come from slot_usage; a slot cut by `until_ms` (the alert's "today so far") from the rows. Zones
    # at :30 and :45 offsets: a local midnight still falls on a slot boundary.
    from tokentop.ingest.clock import local_day
    s, _ = store
    tz = ZoneInfo(zone)
    last = local_day(NOW_MS, tz)
    first = last - timedelta(days=20)
    for until in (None, NOW_MS, NOW_MS - 7 * 60_000, NOW_MS - 3 * 86_400_000 + 1):
        got = [(d.day, d.tokens, round(d.cost_usd, 9), d.requests) for d in spikes.read_days(s, tz, first, last, until)]
        assert got == _days_from_rows(s.db, tz, first, last, until), until
        assert sum(r[3] for r in got) > 0
