"""Surcharges through the real ingest path: priced on insert, kept through re-pricing and retention, and a fast
request on a model without a known multiplier stored as unpriced with its standard cost as a floor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.loglines import assistant, write_lines

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.pricing import PriceTable
from tokentop.ingest.store import retention


def line(msg: str, *, model: str, speed: str | None = None, geo: str | None = None, searches: int = 0,
         input_: int = 1_000, output: int = 1_000) -> str:
    entry = json.loads(assistant(msg, f"req_{msg}", input_=input_, output=output, model=model, speed=speed))
    usage = entry["message"]["usage"]
    if geo is not None:
        usage["inference_geo"] = geo
    usage["server_tool_use"] = {"web_search_requests": searches, "web_fetch_requests": 4}
    return json.dumps(entry)


def ingest(home: Path, lines: list[str]):
    write_lines(home / ".claude" / "projects" / "-home-u-app" / "s.jsonl", lines)
    ctx = make_context()
    store = ctx.open_store()
    Ingester(store, ctx.settings).ingest_all()
    return store


def rows(store) -> dict[str, tuple]:
    return {m: (round(c, 9), p, w, g) for m, c, p, w, g in store.db.execute(
        "SELECT message_id, cost_usd, priced, web_search_requests, inference_geo FROM requests")}


EXPECTED = {
    "fast_us": (round(0.03 * 6 * 1.1 + 0.02, 9), 1, 2, "us"),  # Opus 4.6: fast x6, US x1.1, 2 searches
    "opus5_fast": (round(0.03 * 2, 9), 1, 0, "global"),
    "sonnet_fast": (round(0.018, 9), 0, 0, None),  # Sonnet 4.6 has no fast multiplier: a floor, flagged
    "old_us": (round(0.03 + 0.01, 9), 1, 1, "us"),  # Opus 4.5: no US surcharge; the search fee still applies
}


def test_surcharges_priced_on_insert_and_again_after_repricing(home):
    store = ingest(home, [line("fast_us", model="claude-opus-4-6", speed="fast", geo="us", searches=2),
                          line("opus5_fast", model="claude-opus-5[1m]", speed="fast", geo="global"),
                          line("sonnet_fast", model="claude-sonnet-4-6", speed="fast"),
                          line("old_us", model="claude-opus-4-5-20251101", geo="us", searches=1)])
    assert rows(store) == EXPECTED
    store.prices = PriceTable.load(overrides={"claude-sonnet-4-6": {"fast_multiplier": 3}})
    assert store.reprice_if_changed()
    assert rows(store)["sonnet_fast"] == (round(0.054, 9), 1, 0, None)
    store.prices = PriceTable.load()
    assert store.reprice_if_changed()
    assert rows(store) == EXPECTED


def test_web_searches_survive_retention_and_repricing(home):
    store = ingest(home, [line("a", model="claude-sonnet-4-5", searches=3, input_=10_000, output=0)])
    assert rows(store)["a"][0] == pytest.approx(0.03 + 0.03)
    assert retention.prune(store, retention_days=0, now_ms=4_102_444_800_000) == 1
    store.prices = PriceTable.load(overrides={"claude-sonnet-4-5": {"input": 6.0}})
    assert store.reprice_if_changed()
    cost, searches = store.db.execute("SELECT SUM(cost_usd), SUM(web_search_requests) FROM rollups").fetchone()
    assert searches == 3 and cost == pytest.approx(0.06 + 0.03)


def test_us_inference_survives_retention_and_repricing(home):
    # Two Opus 4.6 requests in one 15-minute slot and session, one US-only: retention folds them, re-pricing must
    # still charge x1.1 on the US one alone (it used to re-price the rollup as if neither were).
    store = ingest(home, [line("us", model="claude-opus-4-6", geo="us", input_=10_000, output=0),
                          line("glob", model="claude-opus-4-6", geo="global", input_=10_000, output=0, searches=1)])
    before = rows(store)
    assert before["us"][0] == pytest.approx(0.05 * 1.1) and before["glob"][0] == pytest.approx(0.05 + 0.01)
    assert retention.prune(store, retention_days=0, now_ms=4_102_444_800_000) == 2
    folded = store.db.execute("SELECT SUM(cost_usd) FROM rollups").fetchone()[0]
    assert folded == pytest.approx(0.055 + 0.06)
    store.prices = PriceTable.load(overrides={"claude-opus-4-6": {"input": 10.0}})
    assert store.reprice_if_changed()
    by_geo = dict(store.db.execute("SELECT inference_geo, SUM(cost_usd) FROM rollups GROUP BY 1"))
    assert by_geo == {"us": pytest.approx(0.1 * 1.1), "": pytest.approx(0.1 + 0.01)}
    slot_cost = store.db.execute("SELECT SUM(cost_usd) FROM slot_usage").fetchone()[0]
    assert slot_cost == pytest.approx(0.11 + 0.11)  # what the period reports read agrees
    store.prices = PriceTable.load()
    assert store.reprice_if_changed()
    assert store.db.execute("SELECT SUM(cost_usd) FROM rollups").fetchone()[0] == pytest.approx(folded)


def test_us_inference_survives_in_tool_rollups(home):
    entry = json.loads(line("us", model="claude-opus-4-6", geo="us", input_=10_000, output=0))
    entry["message"]["content"] = [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}}]
    store = ingest(home, [json.dumps(entry)])
    assert retention.prune(store, retention_days=0, now_ms=4_102_444_800_000) == 1
    store.prices = PriceTable.load(overrides={"claude-opus-4-6": {"input": 10.0}})
    assert store.reprice_if_changed()
    costs = store.db.execute("SELECT name, inference_geo, cost_usd FROM tool_rollups ORDER BY name").fetchall()
    assert [(n, g) for n, g, _ in costs] == [("", "us"), ("Read", "us")]
    assert all(c == pytest.approx(0.1 * 1.1) for _, _, c in costs)
