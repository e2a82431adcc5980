"""The store migration that gives every row a machine: an existing store keeps every count, its rows are claimed
by this machine's name, and the result passes SQLite's integrity check."""

from __future__ import annotations

import sqlite3

from tokentop.ingest.store import schema as store_mod
from tokentop.ingest.store.store import Store

BEFORE = 6  # the schema version before machines


def old_store(path) -> tuple[int, int]:
    """A store as the previous tokentop left it (schema 6): 3 responses as rows, 3 more in a rollup, a tool rollup."""
    db = sqlite3.connect(path, isolation_level=None)
    for script in store_mod.MIGRATIONS[:BEFORE]:
        for statement in store_mod.statements(script):
            db.execute(statement)
    db.execute(f"PRAGMA user_version = {BEFORE}")
    for i in range(3):
        db.execute("INSERT INTO requests(dedup_key, message_id, request_id, source, session_id, project, model, ts, "
                   "input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, total_tokens, cost_usd) "
                   "VALUES (?, ?, 'r', 'claude-code', 's1', '/p', 'claude-sonnet-4-5', ?, 10, ?, 30, 0, 40, 0, 0.5)",
                   (f"m{i}:r", f"m{i}", 1_800_000_000_000 + i * 900_000, 20 + i))
    db.execute(store_mod.ADD_NEW_SLOT_USAGE_SQL, (0,))
    db.execute("INSERT INTO rollups VALUES (1700000100000, 'claude-code', 's0', '/p', 'claude-sonnet-4-5', '', 0, "
               "30, 500, 90, 0, 120, 3, 1.5, 1, 0)")
    db.execute("INSERT INTO tool_rollups VALUES (1700000100000, 'claude-code', 'claude-sonnet-4-5', '', 0, 'Bash', "
               "2, 1, 10, 100, 30, 0, 40, 0.5, 1, 0)")
    before = db.execute("SELECT SUM(output_tokens), SUM(requests) FROM slot_usage").fetchone()
    db.close()
    return before


def test_an_existing_store_is_migrated_and_claimed(tmp_path):
    path = tmp_path / "usage.db"
    before = old_store(path)
    assert before == (20 + 21 + 22 + 500, 6)
    new = Store(path, machine="laptop")
    assert new.db.execute("PRAGMA user_version").fetchone()[0] == store_mod.SCHEMA_VERSION
    assert new.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert new.db.execute("SELECT SUM(output_tokens), SUM(requests) FROM slot_usage").fetchone() == before
    for table in ("requests", "rollups", "tool_rollups"):
        assert {r[0] for r in new.db.execute(f"SELECT DISTINCT machine FROM {table}")} == {"laptop"}, table
    assert new.db.execute("SELECT calls, name FROM tool_rollups").fetchall() == [(2, "Bash")]
    assert new.db.execute("SELECT requests, output_tokens FROM rollups").fetchall() == [(3, 500)]
    # The narrowed update trigger still keeps slot_usage right when a summed column changes.
    new.db.execute("UPDATE requests SET output_tokens = output_tokens + 100")
    assert new.db.execute("SELECT SUM(output_tokens) FROM slot_usage").fetchone()[0] == before[0] + 300
    new.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'machine_claimed'").fetchone() == ("laptop",)


def test_a_store_from_before_machines_read_only_still_answers_per_machine(tmp_path):
    """`tokentop metrics` reads the store read-only on every scrape, and status or a report may meet a store that an
    older tokentop (the writer) has not migrated: the per-machine figures come from its rows, all this machine's."""
    from datetime import UTC, datetime

    from tokentop.ingest.config import Settings
    from tokentop.ingest.export.snapshot import read
    from tokentop.ingest.usage.limits import compute_status
    from tokentop.ingest.usage.queries import has_machines, stored_machines
    from tokentop.ingest.usage.reports import build_report
    from tokentop.tui.cli.limits import machine_view
    path = tmp_path / "usage.db"
    old_store(path)
    store = Store(path, machine="laptop", readonly=True)
    assert not has_machines(store) and store.version == BEFORE
    assert stored_machines(store) == ["laptop"]
    snap = read(store, Settings(), 1_800_000_000_000 + 3_600_000)
    assert snap.machines == 1
    assert snap.tokens[("laptop", "claude-code", "claude-sonnet-4-5", "output")] == 20 + 21 + 22 + 500
    assert snap.requests[("laptop", "claude-code", "claude-sonnet-4-5")] == 6
    rows = build_report(store, "machines", UTC, now=datetime(2027, 1, 1, tzinfo=UTC)).rows
    assert [(r.key, r.totals.output_tokens, r.totals.requests) for r in rows] == [("laptop", 563, 6)]
    only = build_report(store, "daily", UTC, machine="laptop", now=datetime(2027, 1, 1, tzinfo=UTC))
    assert only.totals.output_tokens == 563
    now = 1_800_000_000_000 + 3_600_000
    statuses = compute_status(store, Settings(), now)
    mine = machine_view(store, statuses, "laptop")
    assert {k: v.used_tokens for k, v in mine.items()} == {k: v.used_tokens for k, v in statuses.items()}
    assert all(v.used_tokens == 0 for v in machine_view(store, statuses, "desktop").values())
    store.close()
