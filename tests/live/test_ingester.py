"""Incremental reading: partial lines, truncation, replacement, rewrites, over-long lines, malformed input."""

from __future__ import annotations

import os

from support.loglines import SESSION, assistant, user, write_lines

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.discovery import classify


def setup(home, **kw):
    ctx = make_context()
    store = ctx.open_store()
    return store, Ingester(store, ctx.settings, **kw)


def log_for(home, name=f"{SESSION}.jsonl"):
    path = home / ".claude" / "projects" / "-p" / name
    return path, classify(str(path), str(home / ".claude" / "projects"), "claude-code")


def outputs(store):
    return dict(store.db.execute("SELECT message_id, output_tokens FROM requests"))


def test_partial_line_waits_for_its_newline(home):
    store, ing = setup(home)
    path, log = log_for(home)
    line = assistant("msg_A", "req_A", output=42)
    path.parent.mkdir(parents=True)
    path.write_text(line[:50])
    assert ing.ingest_file(log).skipped == {"malformed-json": 1}  # the file's last line, as it is now
    assert outputs(store) == {}
    with open(path, "a") as f:
        f.write(line[50:] + "\n")
    out = ing.ingest_file(log)
    assert outputs(store) == {"msg_A": 42}
    assert out.skipped == {"malformed-json": -1}  # the half line the first read counted, taken back
    assert store.skipped_by_reason() == {}


def test_complete_last_line_without_newline_is_not_lost(home):
    store, ing = setup(home)
    path, log = log_for(home)
    path.parent.mkdir(parents=True)
    path.write_text(assistant("msg_A", "req_A", output=1) + "\n" + assistant("msg_B", "req_B", output=2))
    ing.ingest_file(log)
    assert outputs(store) == {"msg_A": 1, "msg_B": 2}
    with open(path, "a") as f:  # the writer finishes the line later: still counted once
        f.write("\n" + assistant("msg_C", "req_C", output=3) + "\n")
    ing.ingest_file(log)
    assert outputs(store) == {"msg_A": 1, "msg_B": 2, "msg_C": 3}


def test_truncated_file_is_reread_from_start(home):
    store, ing = setup(home)
    path, log = log_for(home)
    write_lines(path, [assistant(f"msg_{i}", f"req_{i}", output=i) for i in range(1, 6)])
    ing.ingest_file(log)
    write_lines(path, [assistant("msg_new", "req_new", output=99)])  # shorter than before
    out = ing.ingest_file(log)
    assert out.restarted == "truncated"
    assert outputs(store) == {"msg_1": 1, "msg_2": 2, "msg_3": 3, "msg_4": 4, "msg_5": 5, "msg_new": 99}


def test_rewrite_with_longer_different_content_is_noticed(home):
    store, ing = setup(home)
    path, log = log_for(home)
    write_lines(path, [assistant("msg_A", "req_A", output=1)])
    ing.ingest_file(log)
    # Same inode, rewritten in place with different (longer) content: reading on from the old offset would
    # land mid-line and miss msg_X.
    with open(path, "r+") as f:
        f.seek(0)
        f.write("\n".join([assistant("msg_X", "req_X", output=7, text="a much longer text " * 5),
                           assistant("msg_Y", "req_Y", output=8)]) + "\n")
    out = ing.ingest_file(log)
    assert out.restarted == "rewritten"
    assert outputs(store) == {"msg_A": 1, "msg_X": 7, "msg_Y": 8}
    assert out.skipped == {}


def test_replaced_file_new_inode(home):
    store, ing = setup(home)
    path, log = log_for(home)
    write_lines(path, [assistant("msg_A", "req_A", output=1)])
    ing.ingest_file(log)
    tmp = path.with_suffix(".tmp")
    write_lines(tmp, [assistant("msg_A", "req_A", output=1), assistant("msg_B", "req_B", output=2)])
    os.replace(tmp, path)
    out = ing.ingest_file(log)
    assert out.restarted == "replaced"
    assert outputs(store) == {"msg_A": 1, "msg_B": 2}


def test_malformed_lines_are_skipped_counted_and_good_lines_kept(home):
    store, ing = setup(home)
    path, log = log_for(home)
    bad_type = assistant("msg_T", "req_T", output=5).replace('"output_tokens":5', '"output_tokens":"five"')
    path.parent.mkdir(parents=True)
    with open(path, "wb") as f:
        f.write(b"\n".join([
            assistant("msg_A", "req_A", output=1).encode(),
            b'{"type":"assistant","message":{"id":"msg_trunc","usage":{"input_tok',
            b"\x00\xff\xfe binary garbage \x89PNG",
            bad_type.encode(),
            b"[1, 2, 3]",
            user().encode(),
            assistant("msg_B", "req_B", output=2).encode(),
        ]) + b"\n")
    out = ing.ingest_file(log)
    assert outputs(store) == {"msg_A": 1, "msg_B": 2}
    assert out.skipped == {"malformed-json": 3, "count-not-a-number": 1}
    assert store.skipped_by_reason() == {"malformed-json": 3, "count-not-a-number": 1}


def test_over_long_line_is_skipped_in_bounded_memory(home):
    store, ing = setup(home, chunk_bytes=4096, max_line_bytes=16_384)
    path, log = log_for(home)
    path.parent.mkdir(parents=True)
    with open(path, "w") as f:
        f.write(assistant("msg_A", "req_A", output=1) + "\n")
        f.write('{"type":"user","x":"' + "y" * 100_000 + '"}\n')
        f.write(assistant("msg_B", "req_B", output=2) + "\n")
    out = ing.ingest_file(log)
    assert outputs(store) == {"msg_A": 1, "msg_B": 2}
    assert out.skipped == {"line-too-long": 1}


def test_small_chunks_give_the_same_rows_as_one_read(home):
    path, log = log_for(home)
    write_lines(path, [assistant(f"msg_{i}", f"req_{i}", output=i, text="t" * (i * 37)) for i in range(60)])
    store_a, ing_a = setup(home)
    ing_a.ingest_file(log)
    expected = outputs(store_a)
    store_a.close()
    os.remove(make_context().db_path)
    store_b, ing_b = setup(home, chunk_bytes=512, commit_bytes=512)
    ing_b.ingest_file(log)
    assert outputs(store_b) == expected and len(expected) == 60


def test_path_that_is_not_a_regular_file_is_reported_not_fatal(home):
    store, ing = setup(home)
    path, log = log_for(home)
    path.mkdir(parents=True)  # a directory named like a session file
    out = ing.ingest_file(log)
    assert out.error


def test_archived_openclaw_rename_keeps_position(home):
    from support.loglines import openclaw_assistant, openclaw_session
    store, ing = setup(home)
    sessions = home / ".openclaw" / "agents" / "main" / "sessions"
    live = sessions / "abc.jsonl"
    write_lines(live, [openclaw_session("abc"), openclaw_assistant("e1", output=5), openclaw_assistant("e2", output=6)])
    root = str(home / ".openclaw")
    ing.ingest_file(classify(str(live), root, "openclaw"))
    archived = sessions / "abc.jsonl.deleted.2026-11-20T10-00-00"
    os.rename(live, archived)
    out = ing.ingest_file(classify(str(archived), root, "openclaw"))
    assert out.bytes_read == 0  # same inode: the old position carried over
    assert store.db.execute("SELECT COUNT(*), SUM(output_tokens) FROM requests").fetchone() == (2, 11)
