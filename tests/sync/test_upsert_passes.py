"""rows._upsert writes a file's responses in two passes (new keys first, then the rows that meet a stored copy or
repeat a key): it must leave exactly what the one dedup upsert per row left — rows, ids and slot_usage."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tokentop.ingest.store.schema import ADD_NEW_SLOT_USAGE_SQL
from tokentop.ingest.store.store import Store
from tokentop.ingest.sync import rows as sync_rows

T0 = 1_790_000_000_000
row = st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 2), st.sampled_from(["s-a", "s-b"]),
                st.sampled_from(["claude-opus-4-6", "claude-haiku-4-5"]), st.floats(0, 2, allow_nan=False))


def file_row(key, output, ts, session, model, cost):
    return (f"msg_{key}:req_{key}", f"msg_{key}", f"req_{key}", "claude", session, "/p", None, 0, model,
            T0 + ts * 400_000, 1, output, 0, 0, 7, None, None, 0, None, cost, 1)


def one_pass(store, machine, rows):
    """The upsert as it was: one statement per row, then the new rows into slot_usage."""
    db = store.db
    max_before = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
    db.executemany(sync_rows._UPSERT_SQL.format(machine=sync_rows._literal(machine)), rows)
    if db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0] > max_before:
        db.execute(ADD_NEW_SLOT_USAGE_SQL, (max_before,))


def state(store):
    return (store.db.execute("SELECT * FROM requests ORDER BY id").fetchall(),
            store.db.execute("SELECT * FROM slot_usage ORDER BY 1, 2, 3").fetchall())


@settings(max_examples=200, deadline=None)
@given(st.lists(row, max_size=8), st.lists(row, max_size=12))
def test_two_passes_leave_what_one_pass_left(held, incoming):
    stored, arriving = [file_row(*r) for r in held], [file_row(*r) for r in incoming]
    results = []
    for write in (one_pass, sync_rows._upsert):
        with Store(":memory:", machine="reader") as store:
            with store.transaction():
                one_pass(store, "desktop", stored)
                write(store, "laptop", arriving)
            results.append(state(store))
    assert results[0] == results[1]
