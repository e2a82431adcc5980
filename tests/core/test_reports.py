"""Report buckets: local-day boundaries in several zones, weeks, months, filters, and the JSON shape."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from tokentop.ingest.pricing import PriceTable
from tokentop.ingest.records import UsageRecord
from tokentop.ingest.store.store import Store
from tokentop.ingest.usage.reports import build_report


def rec(key, ts_ms, output=100, model="claude-sonnet-4-5", source="claude-code", session="s1", project="/p"):
    return UsageRecord(key, key, None, source, session, project, None, False, model, ts_ms, 0, output, 0, 0, 0)


def ms(iso: str) -> int:
    from datetime import datetime
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "u.db", prices=PriceTable.load())
    with s.transaction():
        s.write_batch([
            rec("a", ms("2026-03-28T22:30:00+00:00"), 1),    # Sat 23:30 Berlin (CET), Sat 18:30 New York (EDT)
            rec("b", ms("2026-03-28T23:30:00+00:00"), 10),   # Sun 00:30 Berlin (CET), Sat 19:30 New York (EDT)
            # Sun 03:30 Berlin (CEST began at 01:00 UTC), Sat 21:30 New York
            rec("c", ms("2026-03-29T01:30:00+00:00"), 100),
            rec("d", ms("2026-03-29T05:00:00+00:00"), 1000, source="openclaw", model="claude-haiku-4-5"),
            rec("e", ms("2026-03-30T12:00:00+00:00"), 10000, model="mystery-model"),
        ])
    return s


def keyed(report):
    return {r.key: r.totals.output_tokens for r in report.rows}


def test_daily_boundaries_follow_the_zone_across_dst(store):
    assert keyed(build_report(store, "daily", ZoneInfo("UTC"))) == {
        "2026-03-28": 11, "2026-03-29": 1100, "2026-03-30": 10000}
    assert keyed(build_report(store, "daily", ZoneInfo("Europe/Berlin"))) == {
        "2026-03-28": 1, "2026-03-29": 1110, "2026-03-30": 10000}
    assert keyed(build_report(store, "daily", ZoneInfo("America/New_York"))) == {
        "2026-03-28": 111, "2026-03-29": 1000, "2026-03-30": 10000}
    # Nepal is UTC+05:45: 22:30 UTC Saturday is already Sunday there.
    assert keyed(build_report(store, "daily", ZoneInfo("Asia/Kathmandu"))) == {
        "2026-03-29": 1111, "2026-03-30": 10000}


def test_weekly_and_monthly_keys(store):
    assert keyed(build_report(store, "weekly", ZoneInfo("UTC"))) == {"2026-W13": 1111, "2026-W14": 10000}
    assert keyed(build_report(store, "monthly", ZoneInfo("UTC"))) == {"2026-03": 11111}


def test_since_until_are_local_days_inclusive(store):
    berlin = ZoneInfo("Europe/Berlin")
    report = build_report(store, "daily", berlin, since=date(2026, 3, 29), until=date(2026, 3, 29))
    assert keyed(report) == {"2026-03-29": 1110}
    assert report.totals.output_tokens == 1110


def test_source_filter_and_unpriced_models(store):
    report = build_report(store, "models", ZoneInfo("UTC"), source="claude-code")
    rows = {r.key: r for r in report.rows}
    assert set(rows) == {"claude-sonnet-4-5", "mystery-model"}
    assert rows["mystery-model"].totals.cost_usd == 0 and rows["mystery-model"].totals.unpriced_requests == 1
    assert rows["mystery-model"].extra["priced"] is False
    # 111 output tokens of Sonnet 4.5 at $15/M
    assert rows["claude-sonnet-4-5"].totals.cost_usd == pytest.approx(111 * 15 / 1e6, rel=1e-9)


def test_json_shape(store):
    data = build_report(store, "daily", ZoneInfo("UTC")).as_json()
    assert data["estimate"] is True and data["report"] == "daily" and data["tz"] == "UTC"
    for row in [data["totals"], *data["rows"]]:
        for field in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens",
                      "total_tokens", "cost_usd", "requests"):
            assert field in row
    assert data["totals"]["requests"] == 5
    assert [r["key"] for r in data["rows"]] == ["2026-03-28", "2026-03-29", "2026-03-30"]


def test_changing_prices_reprices_history(tmp_path):
    path = tmp_path / "u.db"
    with Store(path, prices=PriceTable.load()) as s, s.transaction():
        s.write_batch([rec("a", ms("2026-03-28T10:00:00+00:00"), output=1_000_000)])
    cheaper = PriceTable.load(overrides={"claude-sonnet-4-5": {"output": 5.0}})
    with Store(path, prices=cheaper) as s:
        assert s.db.execute("SELECT cost_usd FROM requests").fetchone()[0] == pytest.approx(5.0)
    with Store(path, prices=PriceTable.load()) as s:
        assert s.db.execute("SELECT cost_usd FROM requests").fetchone()[0] == pytest.approx(15.0)


def test_table_fits_a_narrow_terminal_by_dropping_columns(store):
    from tokentop.ingest.usage.report_text import to_table
    report = build_report(store, "models", ZoneInfo("UTC"))
    wide = to_table(report, width=120).splitlines()
    assert "Input" in wide[0] and max(len(line) for line in wide[:-1]) <= 120
    narrow = to_table(report, width=60).splitlines()
    assert max(len(line) for line in narrow[:-1]) <= 60  # the note line may wrap; the table does not
    assert "Input" not in narrow[0] and "Output" in narrow[0] and "Cost est" in narrow[0]
