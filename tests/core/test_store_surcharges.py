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
