"""The read-only indexes a cold backfill builds at its end (store/indexes.py): dropped only on an empty store, put
back word for word by the next writable open when a backfill was killed in between."""

from __future__ import annotations

import sqlite3

from tokentop.ingest.records import UsageRecord
from tokentop.ingest.store import indexes
from tokentop.ingest.store.store import Store


def schema(path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").fetchall()
    finally:
        db.close()


def rec(n: int) -> UsageRecord:
    return UsageRecord(f"msg_{n}:req_{n}", f"msg_{n}", f"req_{n}", "claude-code", "s", "/p", None, False,
                       "claude-opus-4-6", 1_772_000_000_000 + n, 1, 10, 0, 0, 100)


def test_a_killed_cold_backfill_leaves_indexes_the_next_open_puts_back(tmp_path):
    fresh = schema_of_new_store(tmp_path / "fresh.db")
    path = tmp_path / "usage.db"
    with Store(path) as store:
        assert indexes.defer(store.db) is True  # empty: dropped
        with store.transaction():
            store.write_batch([rec(1), rec(2)])
        # (killed here: the indexes were never rebuilt)
    missing = {name for _, name, _, _ in fresh} - {name for _, name, _, _ in schema(path)}
    assert missing == set(indexes.DEFERRED)
    with Store(path) as store:  # any writable open
        plan = store.db.execute("EXPLAIN QUERY PLAN SELECT * FROM requests WHERE ts > 0").fetchall()
        assert store.db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] == 2
    assert schema(path) == fresh  # the same text as migration 0 wrote
    assert "requests_ts" in str(plan)


def test_a_store_with_rows_keeps_its_indexes(tmp_path):
    with Store(tmp_path / "usage.db") as store:
        with store.transaction():
            store.write_batch([rec(1)])
        assert indexes.defer(store.db) is False
    assert schema(tmp_path / "usage.db") == schema_of_new_store(tmp_path / "fresh.db")


def schema_of_new_store(path) -> list[tuple]:
    Store(path).close()
    return schema(path)
