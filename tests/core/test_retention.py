"""Retention: old per-request rows fold into 15-minute rollups; reports over old months still add up."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tokentop.ingest.pricing import PriceTable
from tokentop.ingest.records import UsageRecord
from tokentop.ingest.store.store import Store
from tokentop.ingest.usage.reports import build_report

DAY = 86_400_000
NOW = 1_790_000_000_000  # 2026-09-21


def rec(key, ts, output=1000, inp=0, read=0, model="claude-sonnet-4-5", session="s1", sidechain=False, tools=()):
    return UsageRecord(key, key.split(":")[0], None, "claude-code", session, "/p", None, sidechain, model, ts, inp,
                       output, 0, 0, read, tool_calls=[(f"toolu_{key}_{i}", name) for i, name in enumerate(tools)])


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "u.db", prices=PriceTable.load())
    with s.transaction():
        s.write_batch([
            rec("old1", NOW - 120 * DAY, output=1000, tools=("Bash", "Read", "Bash")),
            rec("old2", NOW - 120 * DAY + 60_000, output=2000, tools=("Bash",)),  # same slot as old1
            rec("big", NOW - 100 * DAY, inp=150_000, read=100_000, output=10),  # Sonnet 4.5 >200k premium request
            rec("new", NOW - 5 * DAY, output=7, tools=("Read",)),
        ])
    return s


def snapshot(store):
    reports = {}
    for kind in ("daily", "monthly", "sessions", "models", "tools"):
        report = build_report(store, kind, ZoneInfo("Asia/Kolkata"))
        reports[kind] = [(r.key, r.totals.output_tokens, r.totals.input_tokens, r.totals.requests,
                          round(r.totals.cost_usd, 9)) for r in report.rows]
    return reports


def test_prune_keeps_every_report_identical(store):
    before = snapshot(store)
    assert store.prune(90, now_ms=NOW) == 3
    assert store.counts()["requests"] == 1
    assert store.counts()["rollup_rows"] == 2  # old1+old2 share a slot; the premium request is its own row
    assert snapshot(store) == before


def test_pruned_responses_are_not_counted_again_when_a_copy_reappears(store):
    store.prune(90, now_ms=NOW)
    with store.transaction():
        store.write_batch([rec("old1", NOW - 120 * DAY, output=1000)])  # a resumed session copied it
    report = build_report(store, "monthly", ZoneInfo("UTC"))
    assert report.totals.output_tokens == 1000 + 2000 + 10 + 7
    assert report.totals.requests == 4


def test_repricing_reaches_rollups_including_the_premium(store, tmp_path):
    store.prune(90, now_ms=NOW)
    store.close()
    # Premium Sonnet 4.5 rates apply to the whole >200k request: 150k in @6 + 100k read @0.6 + 10 out @22.5
    with Store(tmp_path / "u.db", prices=PriceTable.load()) as s:
        premium = s.db.execute("SELECT cost_usd FROM rollups WHERE long_context = 1").fetchone()[0]
        assert premium == pytest.approx((150_000 * 6 + 100_000 * 0.6 + 10 * 22.5) / 1e6)
    double = PriceTable.load(overrides={"claude-sonnet-4-5": {"long_context": {"input": 12.0}}})
    with Store(tmp_path / "u.db", prices=double) as s:
        premium = s.db.execute("SELECT cost_usd FROM rollups WHERE long_context = 1").fetchone()[0]
        assert premium == pytest.approx((150_000 * 12 + 100_000 * 0.6 + 10 * 22.5) / 1e6)


def test_tools_report_over_rolled_up_months(store):
    def tools(report):
        return {r.key: (r.extra["calls"], r.totals.requests, r.totals.output_tokens) for r in report.rows}

    before = build_report(store, "tools", ZoneInfo("UTC"))
    assert tools(before) == {"Bash": (3, 2, 3000), "Read": (2, 2, 1007)}
    # The totals count each response that called a tool once: old1, old2, new.
    assert (before.totals.requests, before.totals.output_tokens) == (3, 3007)
    store.prune(90, now_ms=NOW)
    after = build_report(store, "tools", ZoneInfo("UTC"))
    assert tools(after) == tools(before)
    assert (after.totals.requests, after.totals.output_tokens, round(after.totals.cost_usd, 9)) == (
        3, 3007, round(before.totals.cost_usd, 9))
