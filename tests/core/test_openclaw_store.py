"""OpenClaw's SQLite agent store: discovery, shapes, cursors, rewrites, compressed events, metadata, bad input."""

from __future__ import annotations

import sqlite3

import pytest
from support.loglines import openclaw_assistant, openclaw_model_change, openclaw_session
from support.openclaw_store import Gateway, digest, store_path

from tokentop.ingest.logs.openclaw import parse_openclaw
from tokentop.ingest.logs.openclaw_store.reader import (
    StoreReader,
    billing_of,
    find_stores,
)
from tokentop.ingest.logs.openclaw_store.schema import StoreUnreadable


def read_all(reader: StoreReader, cursors: dict | None = None):
    """Scan once; returns (records by dedup key, cursors, skipped, rewritten sessions)."""
    cursors = dict(cursors or {})
    records, skipped, rewritten = {}, {}, []
    for batch in reader.scan(cursors):
        for rec in batch.result.records:
            records[rec.dedup_key] = rec
        for k, v in batch.result.skipped.items():
            skipped[k] = skipped.get(k, 0) + v
        cursors.update(batch.cursors)
        rewritten += batch.rewritten
    return records, cursors, skipped, rewritten


def open_reader(root, agent="main") -> StoreReader:
    stores, _ = find_stores([root])
    (store,) = [s for s in stores if s.agent_id == agent]
    reader = StoreReader(store)
    reader.open()
    return reader


def test_discovery_finds_every_agent_and_names_a_directory_posing_as_the_db(tmp_path):
    Gateway(store_path(tmp_path, "main")).close()
    Gateway(store_path(tmp_path, "kitchen"), agent="kitchen").close()
    store_path(tmp_path, "broken").mkdir(parents=True)
    (tmp_path / "agents" / "nostore" / "sessions").mkdir(parents=True)
    stores, problems = find_stores([tmp_path, tmp_path / "missing-root"])
    assert [s.agent_id for s in stores] == ["kitchen", "main"]
    assert [(p.split("/agents/")[1], why.split(" (")[0]) for p, why in problems] == [
        ("broken/agent/openclaw-agent.sqlite", "not a regular file")]


def test_incremental_reads_only_new_events_and_totals_are_exact(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1", model="claude-opus-4-5")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("e1", input_=100, output=40, model=None),
                     '{"type":"message","id":"u1","message":{"role":"user","content":"hi"}}'])
    reader = open_reader(tmp_path)
    first, cursors, _, _ = read_all(reader)
    assert sorted(first) == ["oc:s1:e1"] and first["oc:s1:e1"].model == "claude-opus-4-5"  # session_windows.model
    assert cursors["s1"].max_seq == 3 and cursors["s1"].count == 3
    again, same, _, _ = read_all(reader, cursors)
    assert again == {} and same == cursors  # nothing new: nothing read
    gw.append("s1", [openclaw_model_change("claude-haiku-4-5"),
                     openclaw_assistant("e2", input_=7, output=3, model=None),
                     openclaw_assistant("e3", input_=11, output=5, cache_read=900, cache_write=20)])
    new, cursors, _, rewritten = read_all(reader, cursors)
    assert sorted(new) == ["oc:s1:e2", "oc:s1:e3"] and rewritten == []
    assert new["oc:s1:e2"].model == "claude-haiku-4-5"  # the carried parser state crossed the two reads
    total = sum(r.input_tokens + r.output_tokens + r.cache_read + r.cache_write_5m
                for r in {**first, **new}.values())
    assert total == 140 + 10 + 936


def test_pages_carry_the_cursor_and_state(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_model_change("m-a")]
              + [openclaw_assistant(f"e{i}", input_=i, model=None) for i in range(25)])
    reader = open_reader(tmp_path)
    batches = list(reader.scan({}, page=4))
    assert len(batches) == 7  # 27 rows in pages of 4
    recs = [r for b in batches for r in b.result.records]
    assert len(recs) == 25 and {r.model for r in recs} == {"m-a"} and sum(r.input_tokens for r in recs) == 300
    assert batches[-1].cursors["s1"].max_seq == 27


def test_compaction_rewrite_is_reread_without_double_counting(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    lines = [openclaw_session("s1")] + [openclaw_assistant(f"e{i}", input_=10 * (i + 1)) for i in range(4)]
    gw.append("s1", lines)
    reader = open_reader(tmp_path)
    seen, cursors, _, _ = read_all(reader)
    # compaction: the events are deleted and re-inserted under new seq numbers, a compaction entry and one new reply
    gw.rewrite("s1", [lines[0], '{"type":"compaction","id":"c1","summary":"x","firstKeptEntryId":"e2"}']
               + lines[3:] + [openclaw_assistant("e9", input_=1000)], start_seq=50)
    again, cursors, _, rewritten = read_all(reader, cursors)
    assert rewritten == ["s1"]
    assert sorted(again) == ["oc:s1:e2", "oc:s1:e3", "oc:s1:e9"]  # re-read whole; same keys for the kept ones
    union = {**seen, **again}
    assert sorted(union) == ["oc:s1:e0", "oc:s1:e1", "oc:s1:e2", "oc:s1:e3", "oc:s1:e9"]
    assert sum(r.input_tokens for r in union.values()) == 10 + 20 + 30 + 40 + 1000


def test_seq_going_backwards_without_watermarks_is_a_rewrite(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"), layout="2026.8", schema_version=1)
    gw.session("s1", display_name="Legacy title")
    lines = [openclaw_session("s1")] + [openclaw_assistant(f"e{i}") for i in range(5)]
    gw.append("s1", lines)
    reader = open_reader(tmp_path)
    assert reader.shape.layout == "sessions"
    assert reader.sessions()["s1"].title == "Legacy title"
    _, cursors, _, _ = read_all(reader)
    gw.rewrite("s1", lines[:3], start_seq=1, bump=False)  # fewer rows, max seq lower
    again, cursors, _, rewritten = read_all(reader, cursors)
    assert rewritten == ["s1"] and sorted(again) == ["oc:s1:e0", "oc:s1:e1"]
    gw.put_raw("s1", 9, openclaw_assistant("e8"))  # leaves a gap at seq 4..8
    _, cursors, _, _ = read_all(reader, cursors)
    gw.put_raw("s1", 5, openclaw_assistant("e5"))  # filled below the cursor: seq alone would never see it
    again, _, _, rewritten = read_all(reader, cursors)
    assert rewritten == ["s1"] and "oc:s1:e5" in again


def test_compressed_events_are_decoded_and_a_bad_frame_is_counted(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"), compress_from=200)
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("e1", input_=123, tools=("read",) * 5)])
    raw = gw.db.execute("SELECT event_json IS NULL, length(event_zstd) FROM transcript_events WHERE seq = 2").fetchone()
    assert raw[0] == 1 and raw[1] > 0  # really stored as a zstd frame
    gw.db.execute("INSERT INTO transcript_events VALUES ('s1', 3, NULL, 1, x'28b52ffd0102', 400, ?)",
                  (gw.db.execute("SELECT navigation_json FROM transcript_events WHERE seq = 2").fetchone()[0],))
    recs, _, skipped, _ = read_all(open_reader(tmp_path))
    assert list(recs) == ["oc:s1:e1"] and recs["oc:s1:e1"].input_tokens == 123
    assert recs["oc:s1:e1"].tool_calls and len(recs["oc:s1:e1"].tool_calls) == 5
    assert skipped == {"undecodable-event": 1}


def test_metadata_titles_models_subagents_and_billing(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("p1", "agent:main:main", label="Upload retry fix", display_name="ignored", model="claude-sonnet-4-5")
    gw.session("c1", "agent:main:subagent:7c1e", parent_key="agent:main:main", model="claude-haiku-4-5")
    gw.session("c2", "agent:main:subagent:8d2f", spawned_by="agent:main:main", display_name="Research")
    gw.session("k1", "agent:main:cli", harness="claude-cli", provider="claude-cli")
    metas = open_reader(tmp_path).sessions()
    assert metas["p1"].title == "Upload retry fix" and metas["p1"].parent_session_id is None
    assert metas["c1"].parent_session_id == "p1" and metas["c2"].parent_session_id == "p1"
    assert metas["c2"].title == "Research" and metas["c1"].model == "claude-haiku-4-5"
    assert [metas[s].billing for s in ("p1", "c1", "k1")] == ["api", "api", "cli-harness"]
    assert {m.agent_id for m in metas.values()} == {"main"}
    assert billing_of("codex", "openai-codex") == "api" and billing_of("pi", "anthropic") == "api"


PRETTY = ('{"type": "message",\n "id": "e3", "message": {"role": "assistant", "usage": {"input": 9, "output": 1}, '
          '"timestamp": 1763632800000}}')


def test_bad_events_are_counted_like_malformed_lines(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), "not json {", openclaw_assistant("e1", input_=10**12),
                     openclaw_assistant("e2", input_=5), PRETTY, "[1, 2]"])
    recs, _, skipped, _ = read_all(open_reader(tmp_path))
    assert sorted(recs) == ["oc:s1:e2", "oc:s1:e3"]  # a pretty-printed event still reads
    assert skipped == {"malformed-json": 2, "count-too-large": 1}  # "[1, 2]" is malformed to the JSONL parser too


@pytest.mark.parametrize("make, kind", [
    (lambda p: p.write_bytes(b"this is not sqlite" * 100), "corrupt"),
    (lambda p: sqlite3.connect(p).executescript("CREATE TABLE schema_meta(meta_key TEXT);").close(), "unknown-shape"),
    (lambda p: sqlite3.connect(p).executescript("CREATE TABLE transcript_events(session_id TEXT, body TEXT);").close(),
     "unknown-shape"),
])
def test_unreadable_stores_say_why(tmp_path, make, kind):
    path = store_path(tmp_path, "main")
    path.parent.mkdir(parents=True)
    make(path)
    stores, _ = find_stores([tmp_path])
    with pytest.raises(StoreUnreadable) as err:
        StoreReader(stores[0]).open()
    assert err.value.kind == kind and "Traceback" not in err.value.reason


def test_a_newer_schema_is_read_with_a_note(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"), schema_version=31)
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("e1")])
    reader = open_reader(tmp_path)
    assert reader.shape.schema_version == 31 and "newer than tested" in reader.shape.notes[0]
    assert list(read_all(reader)[0]) == ["oc:s1:e1"]


def test_message_text_tables_cannot_be_read_and_the_files_stay_byte_identical(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("e1")])
    gw.secret_text("s1", "the user's private words")
    before = digest(gw.path)
    reader = open_reader(tmp_path)
    read_all(reader)
    for sql in ("SELECT body FROM session_transcript_fts", "SELECT reply_text FROM conversation_deliveries",
                "INSERT INTO transcript_events VALUES ('x', 1, '{}', 1, NULL, NULL, NULL)", "PRAGMA wal_checkpoint"):
        with pytest.raises(sqlite3.DatabaseError):
            reader.conn.execute(sql).fetchall()
    reader.close()
    assert digest(gw.path) == before and before["-wal"] != "absent"


def test_store_and_archive_jsonl_agree_on_keys(tmp_path):
    """The migration copied JSONL lines verbatim: the same message read from both places has one key."""
    lines = [openclaw_session("s1"), openclaw_assistant("e1", input_=50), openclaw_assistant("e2", input_=60)]
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    gw.append("s1", lines)
    from_store = read_all(open_reader(tmp_path))[0]
    from_file, _ = parse_openclaw(("\n".join(lines) + "\n").encode(), "s1")
    assert sorted(from_store) == sorted(r.dedup_key for r in from_file.records) == ["oc:s1:e1", "oc:s1:e2"]


def test_a_store_locked_exclusively_is_one_line_and_retried_next_scan(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("e1")])
    gw.db.execute("PRAGMA locking_mode = EXCLUSIVE")
    gw.db.execute("BEGIN IMMEDIATE")
    gw.db.execute("COMMIT")  # holds the exclusive lock from now on, as a gateway in exclusive mode would
    stores, _ = find_stores([tmp_path])
    reader = StoreReader(stores[0])
    with pytest.raises(StoreUnreadable) as err:
        reader.open()
        read_all(reader)
    assert err.value.kind == "locked" and "will retry" in err.value.reason
    gw.close()
    reader = StoreReader(stores[0])
    reader.open()
    assert list(read_all(reader)[0]) == ["oc:s1:e1"]


def test_cannot_open_read_only_is_named_as_such():
    from tokentop.ingest.logs.openclaw_store.schema import classify_error
    for message in ("unable to open database file", "attempt to write a readonly database"):
        err = classify_error(sqlite3.OperationalError(message))
        assert err.kind == "read-only" and err.reason.startswith("cannot open read-only")


def test_later_scans_seek_per_session_and_still_find_new_sessions_and_rewrites(tmp_path):
    gw = Gateway(store_path(tmp_path, "main"))
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("e1")])
    reader = open_reader(tmp_path)
    _, cursors, _, _ = read_all(reader)  # the first scan counts every session
    heads, _ = reader.heads()
    assert heads == {"s1": (2, None)}  # later ones only seek the highest seq
    gw.session("s2")
    gw.append("s2", [openclaw_session("s2"), openclaw_assistant("f1")])
    gw.append("s1", [openclaw_assistant("e2")])
    new, cursors, _, _ = read_all(reader, cursors)
    assert sorted(new) == ["oc:s1:e2", "oc:s2:f1"] and cursors["s1"].count == 3
    gw.rewrite("s1", [openclaw_session("s1"), openclaw_assistant("e2"), openclaw_assistant("e3")], start_seq=1)
    new, _, _, rewritten = read_all(reader, cursors)  # max seq is 3 again: the generation tells
    assert rewritten == ["s1"] and sorted(new) == ["oc:s1:e2", "oc:s1:e3"]
