"""The two roads into `requests` (store/batch.py) give the same store: records bound by the writer, and rows a
cold backfill's parse workers staged (`StageBuilder`), including main's per-row steps: OpenClaw copies of a
`cli-harness` session left out, every record's claim on a response (ownership.py), the new columns."""

from __future__ import annotations

import dataclasses

from tokentop.ingest.records import UsageRecord
from tokentop.ingest.store.batch import StageBuilder, attach_stage
from tokentop.ingest.store.dedup import best_per_key
from tokentop.ingest.store.store import Store

T0 = 1_772_000_000_000


def rec(key: str, session: str, total: int, ts: int, *, source: str = "claude-code", rank: int = 1,
        project: str = "/p", **kw) -> UsageRecord:
    r = UsageRecord(key, key, None, source, session, project, None, False, "claude-opus-4-6", T0 + ts, 1, total, 0, 0,
                    0, **kw)
    return dataclasses.replace(r, session_rank=rank)


def records() -> list[list[UsageRecord]]:
    """Two files: a session, and a resumed copy of it (one copy wins on total, one line names no session)."""
    first = [rec("m1", "a", 10, 1, attribution=("agent", None, "plug", None, None), api_block=3),
             rec("m2", "a", 20, 2, tool_calls=[("t1", "Read")]), rec("m3", "a", 5, 3)]
    second = [rec("m1", "b", 12, 1, rank=0), rec("m2", "a", 20, 2), rec("m4", "b", 7, 9),
              rec("o1", "h", 3, 4, source="openclaw"), rec("o2", "k", 3, 5, source="openclaw")]
    return [first, second]


def snapshot(store: Store) -> dict:
    q = store.db.execute
    return {"requests": q("SELECT dedup_key, session_id, project, total_tokens, session_rank, attr_agent, attr_plugin, "
                          "api_block, cost_usd, source FROM requests ORDER BY dedup_key").fetchall(),
            "claims": q("SELECT * FROM session_claims ORDER BY dedup_key, session_id").fetchall(),
            "tools": q("SELECT * FROM tool_calls ORDER BY tool_use_id").fetchall()}


def tagged_store(path) -> Store:
    store = Store(path)
    store.db.execute("INSERT INTO sessions(session_id, source, billing) VALUES ('h', 'openclaw', 'cli-harness')")
    return store


def test_staged_rows_write_what_records_write(tmp_path):
    files = records()
    with tagged_store(tmp_path / "plain.db") as plain, plain.transaction():
        plain.write_batch([r for f in files for r in f])
        expected = snapshot(plain)
    files = records()
    with tagged_store(tmp_path / "staged.db") as staged:
        attach_stage(staged.db)
        builder = StageBuilder(staged.prices, staged.machine)
        for n, f in enumerate(files):
            builder.add(n, f, best_per_key(f))
        data = builder.done()
        with staged.transaction():
            staged.write_batch([], (), [(data, [0, 1])])
        got = snapshot(staged)
    assert got == expected
    assert [r[0] for r in got["requests"]] == ["m1", "m2", "m3", "m4", "o2"]  # the cli-harness copy is left out
    assert {(r[0], r[1]) for r in got["claims"]} == {("m1", "a"), ("m1", "b")}  # m2: one session in both files
    m1 = next(r for r in got["requests"] if r[0] == "m1")
    assert m1[1] == "a" and m1[3] == 13  # the copy's larger total counts; the session that named it owns it
