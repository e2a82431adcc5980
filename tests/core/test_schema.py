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
    # 7: Claude Code's own figures (cost-state, attribution, block index). Written on its branch as 7 -> 8; it moves
    # to 8 -> 9 when merged after the branch that takes 7 -> 8 (its text, and so its hash, stays the same).
    "d9935fb3c5c093f4cdfd3dd595528f62a6c5330829634bda3c4dd812df0bd561",
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
