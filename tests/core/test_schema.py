"""Shipped migrations are frozen: a store made by an older tokentop must upgrade to exactly what a new one builds."""

from __future__ import annotations

import hashlib
import sqlite3

from tokentop.ingest.store.schema import MIGRATIONS, SCHEMA_VERSION, statements

# sha256 of each shipped migration's text, recorded when it shipped. Never change one of these: a store already on
# disk ran the old text and will never run it again.
SHIPPED = (
    "6be7cb9004463a6776858100fd67424a56415ebace2a12633d82cb9882f315f2",
    "bdbcfd01596fc19b265533cf3271a34793ff2b333166c90e2c7a6940be24580f",
    "40bffc12138c3f2dc53ca2fab581a4ce66f77d3c8777a36197e606a2d1759f76",
    "60492ac404f4718ba90c7f72249d7c36d68709da1f8ba712caee08797ff00c2f",
    "c6c26b104e0cf71b5598f83d585853803d4a87f2d2254b0199fd8accf7834322",
    "ef8c5f6e04f6e0c43c3988b78cf2cebcea367d04a58b7a1060acc2b8d48d790a",
    "d249e60c50933b824d145169a03fdedc87a09d4a681c4109f94f3a1bbbe20364",  # 6: machines
    "f32dbd5008d90fa133a07f8900f1ec52f3f8206ff892169d7a8eb04f21beb47f",  # 7: session claims, geo in rollups
    "d9935fb3c5c093f4cdfd3dd595528f62a6c5330829634bda3c4dd812df0bd561",  # 8: Claude Code's own figures
)


def test_shipped_migrations_are_unchanged():
    assert len(MIGRATIONS) >= len(SHIPPED), "a shipped migration was removed"
    for version, recorded in enumerate(SHIPPED):
        digest = hashlib.sha256(MIGRATIONS[version].encode()).hexdigest()
        assert digest == recorded, (
            f"migration {version} (to schema version {version + 1}) changed: shipped migrations are frozen, because "
            "stores already on disk ran the old text; revert it and add a new migration instead")


def test_every_migration_has_a_recorded_hash():
    assert len(MIGRATIONS) == len(SHIPPED), (
        "a new migration was added: record its sha256 in SHIPPED (the test above then keeps it frozen)")
    assert SCHEMA_VERSION == len(SHIPPED)


def test_migrations_run_in_order_on_an_empty_database():
    db = sqlite3.connect(":memory:")
    for script in MIGRATIONS:
        for statement in statements(script):
            db.execute(statement)
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"meta", "requests", "rollups", "pruned", "slot_usage", "tool_rollups", "alerts"} <= tables
    triggers = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert triggers == {"requests_usage_delete", "requests_usage_update", "rollups_usage_insert",
                        "rollups_usage_delete", "rollups_usage_update"}


def test_migration_7_keeps_rolled_up_history_and_its_triggers():
    db = sqlite3.connect(":memory:")
    for script in MIGRATIONS[:7]:
        for statement in statements(script):
            db.execute(statement)
    db.execute("INSERT INTO rollups(slot, source, session_id, project, model, speed, long_context, machine, "
               "input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, "
               "web_search_requests) VALUES (900000, 'claude-code', 's1', '/p', 'm', '', 0, 'box', 10, 20, 3, 4, 50, "
               "2, 0.25, 1, 1)")
    db.execute("INSERT INTO tool_rollups(slot, source, model, speed, long_context, name, machine, calls, requests, "
               "input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_usd, priced, "
               "web_search_requests) VALUES (900000, 'claude-code', 'm', '', 0, 'Read', 'box', 3, 2, 10, 20, 3, 4, "
               "50, 0.25, 1, 1)")
    for statement in statements(MIGRATIONS[7]):
        db.execute(statement)
    assert db.execute("SELECT session_id, machine, inference_geo, requests, cost_usd, web_search_requests "
                      "FROM rollups").fetchall() == [("s1", "box", "", 2, 0.25, 1)]
    assert db.execute("SELECT name, machine, inference_geo, calls FROM tool_rollups").fetchall() == \
        [("Read", "box", "", 3)]
    # The slot_usage triggers came back with the rebuilt table: a US rollup beside the old one is summed.
    db.execute("INSERT INTO rollups(slot, source, session_id, project, model, speed, long_context, machine, "
               "inference_geo, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, "
               "cost_usd, priced) VALUES (900000, 'claude-code', 's1', '/p', 'm', '', 0, 'box', 'us', 1, 1, 0, 0, 0, "
               "1, 0.5, 1)")
    assert db.execute("SELECT requests, cost_usd FROM slot_usage").fetchall() == [(3, 0.75)]
    assert "session_rank" in {r[1] for r in db.execute("PRAGMA table_info(requests)")}
