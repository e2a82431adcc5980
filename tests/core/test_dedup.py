"""The dedup rule, proved on crafted lines through the real ingest path (files → parser → store)."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.loglines import SESSION, assistant, progress_with_usage, user, write_lines

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester


def ingest(home: Path):
    ctx = make_context()
    store = ctx.open_store()
    summary = Ingester(store, ctx.settings).ingest_all()
    return store, summary


def totals(store):
    return store.db.execute("SELECT COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), "
                            "SUM(cache_write_1h), SUM(cache_read) FROM requests").fetchone()


def project(home: Path) -> Path:
    return home / ".claude" / "projects" / "-home-u-src-app"


def test_streaming_lines_keep_the_largest_total_not_the_first(home):
    # One response written as three lines (thinking, text, tool_use); only the last has the final output count.
    write_lines(project(home) / f"{SESSION}.jsonl", [
        user(),
        assistant("msg_A", "req_A", output=2, cache_read=1000, cache_5m=300),
        assistant("msg_A", "req_A", output=7, cache_read=1000, cache_5m=300),
        assistant("msg_A", "req_A", output=431, cache_read=1000, cache_5m=300, tools=("Bash",)),
    ])
    store, _ = ingest(home)
    # first-line-wins would give 2; summing would give 440 output and 3000 cache reads
    assert totals(store) == (1, 3, 431, 300, 0, 1000)


def test_tools_from_every_line_of_a_response_are_kept(home):
    write_lines(project(home) / f"{SESSION}.jsonl", [
        assistant("msg_A", "req_A", output=5, tools=("Read",)),
        assistant("msg_A", "req_A", output=5, tools=("Grep",)),
        assistant("msg_A", "req_A", output=90, tools=()),
    ])
    store, _ = ingest(home)
    names = sorted(r[0] for r in store.db.execute("SELECT name FROM tool_calls"))
    assert names == ["Grep", "Read"]


def test_resumed_session_copy_counts_once_across_files_and_roots(home):
    original = [assistant("msg_A", "req_A", output=100, cache_read=5000),
                assistant("msg_B", "req_B", output=200, cache_read=6000)]
    write_lines(project(home) / f"{SESSION}.jsonl", original)
    # The resumed session copies both responses verbatim, then adds one of its own — in the *other* root.
    other = home / ".config" / "claude" / "projects" / "-home-u-src-app" / "22222222-resumed.jsonl"
    write_lines(other, original + [assistant("msg_C", "req_C", output=300, session="22222222-resumed")])
    store, _ = ingest(home)
    assert totals(store)[:3] == (3, 9, 600)


def test_missing_request_id_keys_on_message_id(home):
    write_lines(project(home) / f"{SESSION}.jsonl", [
        assistant("msg_A", None, output=3),
        assistant("msg_A", None, output=50),
        assistant("msg_B", None, output=8),
    ])
    store, _ = ingest(home)
    assert totals(store)[:3] == (2, 6, 58)


@pytest.mark.parametrize("sidechain_first", [True, False])
def test_sidechain_replay_of_a_main_response_is_dropped_in_either_order(home, sidechain_first):
    main = project(home) / f"{SESSION}.jsonl"
    sub = project(home) / SESSION / "subagents" / "agent-abc.jsonl"
    main_lines = [assistant("msg_A", "req_A", output=100)]
    side_lines = [assistant("msg_A", "req_SIDE", output=120, sidechain=True, agent="abc"),
                  assistant("msg_S", "req_S", output=40, sidechain=True, agent="abc")]
    ctx = make_context()
    store = ctx.open_store()
    ing = Ingester(store, ctx.settings)
    from tokentop.ingest.logs.discovery import classify
    root = str(home / ".claude" / "projects")
    order = [(sub, side_lines), (main, main_lines)] if sidechain_first else [(main, main_lines), (sub, side_lines)]
    for path, lines in order:
        write_lines(path, lines)
        ing.ingest_file(classify(str(path), root, "claude-code"))
    rows = store.db.execute("SELECT message_id, output_tokens, is_sidechain, agent_id, session_id FROM requests "
                            "ORDER BY message_id").fetchall()
    # msg_A counted once, from the main thread; the sub-agent's own response stays, in the parent session.
    assert rows == [("msg_A", 100, 0, None, SESSION), ("msg_S", 40, 1, "abc", SESSION)]


def test_progress_lines_and_synthetic_responses_never_count(home):
    write_lines(project(home) / f"{SESSION}.jsonl", [
        progress_with_usage("msg_P", output=999),
        assistant("msg_Z", "req_Z", output=0, input_=0, model="<synthetic>"),
        assistant("msg_A", "req_A", output=10),
    ])
    store, summary = ingest(home)
    assert totals(store)[:3] == (1, 3, 10)
    assert store.db.execute("SELECT DISTINCT model FROM requests").fetchall() == [("claude-sonnet-4-5-20250929",)]
    assert sum(summary.skipped.values()) == 0  # neither is "malformed"


def test_cache_write_split_5m_and_1h(home):
    write_lines(project(home) / f"{SESSION}.jsonl", [
        assistant("msg_A", "req_A", cache_5m=700, cache_1h=300),
        assistant("msg_B", "req_B", cache_5m=500, split=False),  # no split: all counted as 5m
    ])
    store, _ = ingest(home)
    assert totals(store)[3:5] == (1200, 300)


def test_reingest_after_append_reads_only_new_bytes_and_is_idempotent(home):
    path = project(home) / f"{SESSION}.jsonl"
    write_lines(path, [assistant("msg_A", "req_A", output=5), assistant("msg_A", "req_A", output=50)])
    store, first = ingest(home)
    size = path.stat().st_size
    assert first.bytes_read == size
    _, again = ingest(home)
    assert again.bytes_read == 0 and again.new_requests == 0 and again.updated_requests == 0
    write_lines(path, [assistant("msg_B", "req_B", output=7)], mode="a")
    _, third = ingest(home)
    assert third.bytes_read == path.stat().st_size - size
    assert third.new_requests == 1
    assert totals(store)[:3] == (2, 6, 57)
