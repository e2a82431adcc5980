"""The dedup rule's two forms agree: `wins` (within a batch, and in the parse workers) and `WINS_SQL` (the upsert
against a stored row). Spec: docs/log-formats.md §1 "Duplication"."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tokentop.ingest.records import UsageRecord
from tokentop.ingest.store.dedup import best_per_key, wins
from tokentop.ingest.store.store import Store

# Small ranges, so ties on total and on time (where the tie-breaks decide) come up often.
candidates = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 2), st.sampled_from(["s-a", "s-b", "s-c"]))


def record(output: int, cache_read: int, ts: int, session: str) -> UsageRecord:
    return UsageRecord("msg_1:req_1", "msg_1", "req_1", "claude", session, "/p", None, False, "claude-sonnet-4-5",
                       1_700_000_000_000 + ts, 1, output, 0, 0, cache_read)


def stored(store: Store) -> tuple[int, int, str]:
    return store.db.execute("SELECT total_tokens, ts, session_id FROM requests").fetchone()


def shape(rec: UsageRecord) -> tuple[int, int, str]:
    return rec.total_tokens, rec.ts_ms, rec.session_id


@settings(max_examples=300, deadline=None)
@given(candidates, candidates)
def test_sql_upsert_and_python_rule_pick_the_same_winner(first, second):
    old, new = record(*first), record(*second)
    expected = shape(new) if wins(new, old) else shape(old)
    # The numbers come from the winner; the session from the ownership rule (store/ownership.py), which for two
    # equally sure claims and no known last lines is the smaller session id, whichever copy won on total.
    expected = (*expected[:2], min(old.session_id, new.session_id))
    # SQL: the old record is already stored, the new one arrives in a later batch.
    with Store(":memory:") as store:
        with store.transaction():
            store.write_batch([old])
        with store.transaction():
            store.write_batch([new])
        assert stored(store) == expected
    # Python: both arrive in one batch, in either order.
    for batch in ([old, new], [new, old]):
        with Store(":memory:") as store:
            with store.transaction():
                store.write_batch(batch)
            assert stored(store) == expected or shape(old)[:2] == shape(new)[:2]
    assert [shape(r)[:2] for r in best_per_key([old, new])] == [expected[:2]]


def test_largest_total_then_latest_then_smallest_session():
    small, large = record(5, 100, 2, "s-a"), record(400, 100, 1, "s-b")
    assert wins(large, small) and not wins(small, large)  # total beats time
    early, late = record(5, 100, 1, "s-b"), record(5, 100, 2, "s-b")
    assert wins(late, early) and not wins(early, late)  # equal totals: the later response
    a, b = record(5, 100, 1, "s-a"), record(5, 100, 1, "s-b")
    assert wins(a, b) and not wins(b, a)  # so the winner never depends on reading order (the session: ownership.py)


def test_best_per_key_keeps_tool_calls_from_every_line():
    first = record(2, 100, 1, "s-a")
    first.tool_calls = [("tu_1", "Read")]
    final = record(400, 100, 1, "s-a")
    (kept,) = best_per_key([first, final])
    assert kept.output_tokens == 400 and kept.tool_calls == [("tu_1", "Read")]
