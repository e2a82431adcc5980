"""Property-based tests of the parsers and the dedup store: arbitrary bytes never raise, and however a session's
lines are duplicated, re-ordered, spread over files, cut into chunks and committed, the totals are the clean file's."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.loglines import (
    SESSION,
    assistant,
    openclaw_assistant,
    openclaw_model_change,
    openclaw_session,
    progress_with_usage,
    summary,
    user,
)

from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.claude import parse_claude
from tokentop.ingest.logs.discovery import LogFile
from tokentop.ingest.logs.openclaw import parse_openclaw
from tokentop.ingest.store.store import Store

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN_COLUMNS = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read")


# -- arbitrary input never raises -------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=12)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = ["type", "message", "id", "model", "usage", "input_tokens", "output_tokens", "cache_creation_input_tokens",
          "cache_read_input_tokens", "cache_creation", "ephemeral_1h_input_tokens", "requestId", "timestamp",
          "sessionId", "agentId", "isSidechain", "content", "name", "role", "input", "output", "cacheRead",
          "cacheWrite", "cost", "total", "modelId", "provider", "customType", "data", "summary", "customTitle", "cwd"]


@st.composite
def near_json_lines(draw) -> bytes:
    """Lines shaped like the real ones, with every field possibly the wrong type: what garbage rarely reaches."""
    kind = draw(st.sampled_from(["assistant", "message", "session", "model_change", "custom", "summary", "user", "x"]))

    def obj(depth):
        keys = draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True))
        out = {}
        for k in keys:
            out[k] = obj(depth + 1) if depth < 2 and draw(st.booleans()) else draw(json_values)
        return out

    entry = obj(0)
    entry["type"] = kind
    if draw(st.booleans()):
        entry["message"] = {"role": "assistant", **obj(1)}
    try:
        text = json.dumps(entry)
    except ValueError:
        text = "{}"
    return text.encode()


@FAST
@given(data=st.binary(max_size=3000), final_tail=st.booleans(), agent=st.none() | st.text(max_size=5))
def test_claude_parser_never_raises_on_bytes(data, final_tail, agent):
    result = parse_claude(data, "s", agent, final_tail=final_tail)
    assert 0 <= result.consumed <= len(data)
    assert result.consumed == 0 or data[result.consumed - 1:result.consumed] == b"\n"
    assert result.lines == data[:result.consumed].count(b"\n")


@FAST
@given(data=st.binary(max_size=3000), final_tail=st.booleans(),
       state=st.none() | st.dictionaries(st.sampled_from(["session_id", "cwd", "model", "provider"]),
                                         st.text(min_size=1, max_size=8), max_size=4))
def test_openclaw_parser_never_raises_on_bytes(data, final_tail, state):
    result, new_state = parse_openclaw(data, "s", state, final_tail=final_tail)
    assert 0 <= result.consumed <= len(data)
    assert isinstance(new_state, dict) and isinstance(new_state.get("session_id"), str)
    json.dumps(new_state)  # it is saved with the file position: must stay serialisable


@FAST
@given(lines=st.lists(near_json_lines(), min_size=1, max_size=8))
def test_parsers_never_raise_on_near_json(lines):
    data = b"\n".join(lines) + b"\n"
    claude = parse_claude(data, "s")
    oc, _ = parse_openclaw(data, "s")
    for result in (claude, oc):
        assert result.lines == len(lines)
        for rec in result.records:  # what does come out is well-typed
            assert all(type(getattr(rec, c)) is int and getattr(rec, c) >= 0 for c in TOKEN_COLUMNS)
            assert isinstance(rec.model, str) and isinstance(rec.session_id, str) and isinstance(rec.ts_ms, int)
    with Store(":memory:") as store, store.transaction():
        store.write_batch(claude.records + oc.records, list(claude.sessions.values()) + list(oc.sessions.values()))


@SLOW
@given(content=st.lists(st.binary(max_size=400) | near_json_lines(), max_size=10),
       chunk=st.integers(1, 300), source=st.sampled_from(["claude-code", "openclaw"]))
def test_ingester_never_raises_on_arbitrary_files(content, chunk, source):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "f.jsonl")
        with open(path, "wb") as f:
            f.write(b"\n".join(content))
        with Store(os.path.join(tmp, "u.db")) as store:
            out = Ingester(store, chunk_bytes=chunk, commit_bytes=1024, max_line_bytes=500).ingest_file(
                LogFile(path, source, "s", None, tmp))
            assert out.error is None
            blob = b"\n".join(content)
            longest = max(len(line) for line in blob.split(b"\n"))
            assert out.lines == blob.count(b"\n") or (longest > 500 and out.skipped["line-too-long"])


# -- the same totals however the lines arrive -------------------------------------------------------

@st.composite
def claude_session(draw):
    """A session as Claude Code writes it: each response streamed over several lines (partial output counts,
    then the final one), user lines, progress lines embedding usage, sub-agent replays, a title, garbage.
    Returns (lines, expected totals) where the totals come from the model, not from parsing."""
    lines: list[tuple[str, str]] = []  # (line, which file it belongs in: "main" or "agent")
    expected = Counter()
    n = draw(st.integers(1, 10))
    for i in range(n):
        msg, req = f"msg_{i}", f"req_{i}"
        usage = dict(input_=draw(st.integers(0, 5000)), cache_read=draw(st.integers(0, 500_000)),
                     cache_5m=draw(st.integers(0, 20_000)), cache_1h=draw(st.integers(0, 20_000)))
        ts = f"2026-11-20T10:{i:02d}:00.000Z"
        final = draw(st.integers(10, 4000))
        for partial in draw(st.lists(st.integers(1, 9), max_size=3)):
            lines.append((assistant(msg, req, output=partial, ts=ts, **usage), "main"))
        lines.append((assistant(msg, req, output=final, ts=ts, tools=("Read",) * draw(st.integers(0, 2)), **usage),
                      "main"))
        expected.update(requests=1, input_tokens=usage["input_"], output_tokens=final, cache_read=usage["cache_read"],
                        cache_write_5m=usage["cache_5m"], cache_write_1h=usage["cache_1h"])
        if draw(st.booleans()):
            lines.append((user(f"prompt {i}"), "main"))
        if draw(st.integers(0, 3)) == 0:  # usage embedded in a progress line: never counted
            lines.append((progress_with_usage(f"msg_sub_{i}", output=draw(st.integers(1, 9999))), "main"))
        if draw(st.integers(0, 3)) == 0:  # a sub-agent's replay of this response: the main copy wins
            lines.append((assistant(msg, f"req_replay_{i}", output=final + draw(st.integers(0, 500)), ts=ts,
                                    sidechain=True, agent="a1", **usage), "agent"))
    for j in range(draw(st.integers(0, 3))):  # the sub-agent's own responses: counted
        out = draw(st.integers(1, 999))
        lines.append((assistant(f"msg_agent_{j}", f"req_agent_{j}", output=out, sidechain=True, agent="a1",
                                ts=f"2026-11-20T11:{j:02d}:00.000Z"), "agent"))
        expected.update(requests=1, input_tokens=3, output_tokens=out)
    if draw(st.booleans()):
        lines.append((summary("a title"), "main"))
    if draw(st.booleans()):
        lines.append(('{"type":"assistant","message":{"id":"msg_trunc","usage":{"input_tok', "main"))  # cut short
    return lines, expected


def feed(store: Store, files: list[tuple[bytes, str | None]], cuts: list[list[int]], order: list[int],
         batches: list[int]) -> None:
    """Read each file in chunks cut at `cuts`, files interleaved in `order`, the way the ingester does (an
    unfinished line is carried into the next chunk; the unterminated tail is looked at only at the end), and
    write the records with `write_batch` in transactions of `batches[k]` chunks each."""
    positions = [0] * len(files)
    carries = [b""] * len(files)
    pieces = []
    for index in order:
        data, agent = files[index]
        cut_list = cuts[index]
        k = positions[index]
        start = cut_list[k - 1] if k else 0
        end = cut_list[k] if k < len(cut_list) else len(data)
        positions[index] += 1
        last = end >= len(data)
        buffer = carries[index] + data[start:end]
        result = parse_claude(buffer, SESSION, agent, final_tail=last)
        carries[index] = buffer[result.consumed:]
        pieces.append(result)
    b = 0
    while pieces:
        size = max(1, batches[b % len(batches)]) if batches else len(pieces)
        group, pieces = pieces[:size], pieces[size:]
        b += 1
        with store.transaction():
            for result in group:
                store.write_batch(result.records, result.sessions.values())


def totals(store: Store) -> Counter:
    row = store.db.execute("SELECT COUNT(*), " + ", ".join(f"COALESCE(SUM({c}), 0)" for c in TOKEN_COLUMNS) +
                           " FROM requests").fetchone()
    return Counter({k: v for k, v in zip(("requests",) + TOKEN_COLUMNS, row) if v})


def rows(store: Store) -> dict:
    return {r[0]: r[1:] for r in store.db.execute(
        "SELECT dedup_key, is_sidechain, " + ", ".join(TOKEN_COLUMNS) + " FROM requests")}


@FAST
@given(session=claude_session(), data=st.data())
def test_any_arrival_of_a_sessions_lines_gives_the_clean_totals(session, data):
    lines, expected = session
    main = [text for text, where in lines if where == "main"]
    agent = [text for text, where in lines if where == "agent"]
    clean = Store(":memory:")
    feed(clean, [("\n".join(main).encode() + b"\n", None), ("\n".join(agent).encode() + b"\n", "a1")],
         [[], []], [0, 1], [])
    assert totals(clean) == expected  # the clean files agree with the model of what was written
    reference = rows(clean)

    # Duplicate any line, re-order everything, spread it over 1–4 files (some of them sub-agent files).
    copies = [text for text, _ in lines for _ in range(1 + data.draw(st.integers(0, 2), label="copies"))]
    shuffled = data.draw(st.permutations(copies), label="order of lines")
    n_files = data.draw(st.integers(1, 4), label="files")
    agents = [data.draw(st.sampled_from([None, "a1"]), label="agent file?") for _ in range(n_files)]
    where = [data.draw(st.integers(0, n_files - 1), label="file of line") for _ in shuffled]
    files = []
    for f in range(n_files):
        text = "\n".join(line for line, w in zip(shuffled, where) if w == f)
        files.append(((text + "\n").encode() if text else b"", agents[f]))
    # Cut every file at arbitrary bytes (mid-line, mid-UTF-8 sequence), interleave the files' chunks.
    cuts = []
    for blob, _ in files:
        points = data.draw(st.lists(st.integers(1, max(1, len(blob) - 1)), max_size=6, unique=True), label="cuts")
        cuts.append(sorted(p for p in points if p < len(blob)))
    order = data.draw(st.permutations([f for f in range(n_files) for _ in range(len(cuts[f]) + 1)]), label="interleave")
    batches = data.draw(st.lists(st.integers(1, 4), max_size=5), label="chunks per transaction")

    messy = Store(":memory:")
    feed(messy, files, cuts, order, batches)
    assert rows(messy) == reference
    assert totals(messy) == expected


@FAST
@given(data=st.data())
def test_openclaw_duplicated_split_and_archived_gives_the_clean_totals(data):
    n = data.draw(st.integers(1, 8))
    entries = [(f"e{i}", data.draw(st.integers(0, 9000)), data.draw(st.integers(1, 3000)),
                data.draw(st.integers(0, 90_000))) for i in range(n)]
    lines = [openclaw_session("oc-sess"), openclaw_model_change("claude-sonnet-4-5")]
    for entry_id, inp, out, read in entries:
        lines.append(openclaw_assistant(entry_id, input_=inp, output=out, cache_read=read, model=None))
        if data.draw(st.booleans()):
            lines.append(lines[-1])  # written twice
    blob = ("\n".join(lines) + "\n").encode()
    want = Counter(requests=n, input_tokens=sum(e[1] for e in entries), output_tokens=sum(e[2] for e in entries),
                   cache_read=sum(e[3] for e in entries))
    store = Store(":memory:")
    # The live file read in arbitrary chunks, with the parser state carried from chunk to chunk …
    cuts = sorted(data.draw(st.lists(st.integers(1, len(blob) - 1), max_size=8, unique=True)))
    state, carry = None, b""
    for start, end in zip([0] + cuts, cuts + [len(blob)]):
        buffer = carry + blob[start:end]
        result, state = parse_openclaw(buffer, "file-name-id", state, final_tail=end == len(blob))
        carry = buffer[result.consumed:]
        with store.transaction():
            store.write_batch(result.records, result.sessions.values())
    # … and its archived `.deleted.<ts>` copy read whole later: the same session and entries, counted once.
    result, _ = parse_openclaw(blob, "other-file-name-id", None, final_tail=True)
    with store.transaction():
        store.write_batch(result.records, result.sessions.values())
    assert totals(store) == want
    assert {r[0] for r in store.db.execute("SELECT DISTINCT session_id FROM requests")} == {"oc-sess"}
    assert {r[0] for r in store.db.execute("SELECT DISTINCT model FROM requests")} == {"claude-sonnet-4-5"}


@SLOW
@given(session=claude_session(), chunk=st.integers(16, 2048), data=st.data())
def test_real_files_read_in_small_chunks_give_the_clean_totals(session, chunk, data):
    """The same through the real Ingester and real files: chunk boundaries anywhere, a file appended to between
    reads, then read again by a second ingester (a restart)."""
    lines, expected = session
    with tempfile.TemporaryDirectory() as tmp:
        main_path = os.path.join(tmp, f"{SESSION}.jsonl")
        agent_path = os.path.join(tmp, SESSION, "subagents", "agent-a1.jsonl")
        os.makedirs(os.path.dirname(agent_path))
        logs = [LogFile(main_path, "claude-code", SESSION, None, tmp),
                LogFile(agent_path, "claude-code", SESSION, "a1", tmp)]
        split = data.draw(st.integers(0, len(lines)), label="lines written before the first read")
        with Store(os.path.join(tmp, "u.db")) as store:
            for part, _ingester_no in ((lines[:split], 0), (lines[split:], 1)):
                for path, which in ((main_path, "main"), (agent_path, "agent")):
                    with open(path, "a") as f:
                        f.writelines(text + "\n" for text, where in part if where == which)
                ingester = Ingester(store, chunk_bytes=chunk, commit_bytes=chunk)
                for log in logs:
                    assert ingester.ingest_file(log).error is None
            assert totals(store) == expected
