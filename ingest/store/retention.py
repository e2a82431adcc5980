"""Retention: fold old per-request rows into 15-minute rollups, and the tombstones that keep them folded once."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ..pricing import PriceTable
from . import ownership
from .schema import SLOT_MS, SUMMED, fold_on_conflict

if TYPE_CHECKING:
    from .store import Store


_GEO_SQL = "CASE WHEN inference_geo = 'us' THEN 'us' ELSE '' END"
"""What a rollup keeps of `inference_geo`: only whether it was US-only inference (the one value that is priced)."""


def prune(store: Store, retention_days: int, now_ms: int | None = None) -> int:
    """Fold this machine's per-request rows older than `retention_days` into 15-minute rollups; returns rows
    folded. Rows merged from other machines stay as they are until their own machine rolls them up and publishes
    the rollups (sync/merge.py replaces them then), so a response is never in two machines' rollups."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    cutoff = now_ms - retention_days * 86_400_000
    cutoff -= cutoff % SLOT_MS  # whole slots only, so a slot is never half rolled up
    threshold_sql = "0"
    prices = store.prices
    if prices is not None:
        store.db.create_function("tt_long_context", 5, lambda m, i, w5, w1, r: int(
            is_long_context(prices, m, i + w5 + w1 + r)), deterministic=True)
        threshold_sql = "tt_long_context(model, input_tokens, cache_write_5m, cache_write_1h, cache_read)"
    with store.transaction():
        mine = (cutoff, store.machine)
        n = store.db.execute("SELECT COUNT(*) FROM requests WHERE ts < ? AND machine = ?", mine).fetchone()[0]
        if not n:
            return 0
        store.db.execute(f"""
            INSERT INTO rollups(slot, source, session_id, project, model, speed, long_context, input_tokens,
                                output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced,
                                web_search_requests, machine, inference_geo)
            SELECT ts - ts % {SLOT_MS}, source, session_id, COALESCE(project, ''), model, COALESCE(speed, ''),
                   {threshold_sql}, SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h),
                   SUM(cache_read), COUNT(*), SUM(cost_usd), MIN(priced), SUM(web_search_requests), machine,
                   {_GEO_SQL}
              FROM requests WHERE ts < ? AND machine = ?
             GROUP BY 1, 2, 3, 4, 5, 6, 7, 18
            {fold_on_conflict("rollups", (*SUMMED, "requests", "web_search_requests"),
                              "priced = MIN(rollups.priced, excluded.priced)")}
            """, mine)
        for name_sql, tools_sql in (("t.name", "SELECT message_id, name, COUNT(*) AS calls FROM tool_calls "
                                               "GROUP BY message_id, name"),
                                    ("''", "SELECT message_id, COUNT(*) AS calls FROM tool_calls "
                                           "GROUP BY message_id")):
            store.db.execute(f"""
                INSERT INTO tool_rollups(slot, source, model, speed, long_context, name, calls, requests,
                                         input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read,
                                         cost_usd, priced, web_search_requests, machine, inference_geo)
                SELECT ts - ts % {SLOT_MS}, source, model, COALESCE(speed, ''), {threshold_sql}, {name_sql},
                       SUM(t.calls), COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m),
                       SUM(cache_write_1h), SUM(cache_read), SUM(cost_usd), MIN(priced), SUM(web_search_requests),
                       machine, {_GEO_SQL}
                  FROM ({tools_sql}) t JOIN requests r ON r.message_id = t.message_id
                 WHERE r.ts < ? AND r.machine = ?
                 GROUP BY 1, 2, 3, 4, 5, 6, 18
                {fold_on_conflict("tool_rollups", ("calls", "requests", *SUMMED, "web_search_requests"),
                                  "priced = MIN(tool_rollups.priced, excluded.priced)")}
                """, mine)
        ownership.forget(store, cutoff, store.machine)
        store.db.execute("INSERT OR IGNORE INTO pruned(dedup_key, message_id, is_sidechain) "
                         "SELECT dedup_key, message_id, is_sidechain FROM requests WHERE ts < ? AND machine = ?", mine)
        store.db.execute("DELETE FROM requests WHERE ts < ? AND machine = ?", mine)
    return n

def is_long_context(prices: PriceTable, model: str, total_input: int) -> bool:
    price = prices.lookup(model)
    return bool(price and price.long_context and total_input > price.long_context_threshold)


def rollup_cost(prices: PriceTable, model: str, speed: str | None, long_context: bool, i: int, o: int,
                w5: int, w1: int, r: int, web_searches: int = 0, geo: str | None = None) -> float:
    """Price summed tokens of many requests that were all above (or all below) the long-context threshold, all of
    one speed and all US-only inference or none (`geo`), plus their web searches: what `PriceTable.quote` gives
    them one by one."""
    price = prices.lookup(model)
    if price is None:
        return 0.0
    rates = price.long_context if long_context and price.long_context else price.rates
    cost = (i * rates.input + o * rates.output + w5 * rates.cache_write_5m + w1 * rates.cache_write_1h
            + r * rates.cache_read) / 1_000_000
    if speed == "fast" and price.fast_multiplier is not None:  # no known multiplier: the standard cost, a floor
        cost *= price.fast_multiplier
    if geo == "us":
        cost *= price.us_multiplier
    return cost + (web_searches or 0) * prices.web_search_per_1000 / 1000
