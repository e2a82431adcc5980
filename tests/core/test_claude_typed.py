"""The typed fast reading of assistant lines (logs/claude_typed.py) gives exactly what the careful reading gives:
the same records, skip counts, sessions and positions, on well-formed lines and on every kind of odd one (each
odd one must fall back, and the careful reading then decides)."""

from __future__ import annotations

import json
import operator

from hypothesis import given, settings
from hypothesis import strategies as st

from tokentop.ingest.logs import claude, claude_typed
from tokentop.ingest.records import UsageRecord

_fields = operator.attrgetter(*UsageRecord.__slots__)

# Values a field of a real or hostile log can hold: the right kind, and every wrong kind next to it.
odd = st.one_of(st.none(), st.booleans(), st.integers(-5, 3_000_000), st.floats(allow_nan=False, width=32),
                st.sampled_from(["", "12", "1e3", "us", "fast", "standard", "x\x1b[2Jy"]), st.just([1]),
                st.just({"a": 1}))


@st.composite
def assistant_line(draw) -> bytes:
    def pick(good):  # mostly the right kind, so the fast path is taken often; now and then anything
        return draw(good) if draw(st.integers(0, 19)) < 19 else draw(odd)

    def count():
        return pick(st.integers(0, 50_000))

    usage = {"input_tokens": count(), "output_tokens": count(), "cache_read_input_tokens": count(),
             "cache_creation_input_tokens": count()}
    if draw(st.booleans()):
        usage["cache_creation"] = pick(st.builds(dict, ephemeral_5m_input_tokens=st.just(count()),
                                                 ephemeral_1h_input_tokens=st.just(count())))
    if draw(st.booleans()):
        usage["server_tool_use"] = pick(st.builds(dict, web_search_requests=st.just(count())))
    for key, good in (("speed", st.sampled_from(["fast", "standard", ""])), ("inference_geo", st.just("us"))):
        if draw(st.booleans()):
            usage[key] = pick(good)
    blocks = [pick(st.just({"type": pick(st.sampled_from(["tool_use", "text", "thinking"])),
                             "name": pick(st.sampled_from(["Read", ""])), "id": pick(st.sampled_from(["t1", ""])),
                             "text": draw(st.text(max_size=20))})) for _ in range(draw(st.integers(0, 3)))]
    message = {"id": pick(st.sampled_from(["msg_1", "msg_2", ""])),
               "model": pick(st.sampled_from(["claude-opus-4-6", "claude-opus-4-6", "<synthetic>", ""])),
               "usage": pick(st.just(usage)), "content": pick(st.just(blocks))}
    entry = {"type": pick(st.sampled_from(["assistant", "assistant", "user"])), "message": pick(st.just(message)),
             "uuid": "u1"}
    for key, good in (("requestId", st.sampled_from(["req_1", ""])), ("sessionId", st.sampled_from(["sess-a", ""])),
                      ("agentId", st.sampled_from(["a1", ""])), ("isSidechain", st.booleans()),
                      ("cwd", st.just("/home/u/app")), ("timestamp", st.sampled_from(["2026-03-01T10:00:00.123Z",
                                                                                     "2026-03-01", "nope"])),
                      ("gitBranch", st.sampled_from(["main", ""]))):
        if draw(st.booleans()):
            entry[key] = pick(good)
    raw = json.dumps(entry).encode()
    mangle = draw(st.sampled_from(["none", "none", "bom", "cut", "bad-utf8", "dup"]))
    if mangle == "bom":
        raw = b"\xef\xbb\xbf" + raw
    elif mangle == "cut":
        raw = raw[:draw(st.integers(1, max(1, len(raw) - 1)))]
    elif mangle == "bad-utf8":
        raw = raw.replace(b'"u1"', b'"u\xff1"')
    elif mangle == "dup":  # a key twice: both readings take the last
        raw = raw[:-1] + b', "type": "assistant"}'
    return raw


def both(data: bytes, agent: str | None):
    out = []
    for typed in (True, False):
        claude.TYPED = typed
        try:
            r = claude.parse_claude(data, "file-session", agent, final_tail=True)
        finally:
            claude.TYPED = True
        out.append(([_fields(rec) for rec in r.records], dict(r.skipped), r.lines, r.consumed,
                    {k: (v.project, v.git_branch, v.first_ts_ms, v.last_ts_ms) for k, v in r.sessions.items()}))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(assistant_line(), min_size=1, max_size=4), st.sampled_from([None, "agent-x"]))
def test_typed_and_careful_readings_agree(lines, agent):
    fast, careful = both(b"\n".join(lines) + b"\n", agent)
    assert fast == careful


def test_the_common_line_takes_the_fast_path_and_an_odd_one_does_not():
    line = {"type": "assistant", "requestId": "req_1", "sessionId": "s", "timestamp": "2026-03-01T10:00:00.000Z",
            "message": {"id": "msg_1", "model": "claude-opus-4-6", "content": [
                {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": "/x"}},
                {"type": "text", "text": "a long answer"}],
                "usage": {"input_tokens": 3, "output_tokens": 40, "cache_read_input_tokens": 1000,
                          "cache_creation_input_tokens": 90,
                          "cache_creation": {"ephemeral_5m_input_tokens": 60, "ephemeral_1h_input_tokens": 30}}}}
    fields = claude_typed.assistant_fields(json.dumps(line).encode())
    assert fields is not None
    assert fields[0] == "msg_1" and fields[7] == (3, 40, 60, 30, 1000, 0) and fields[10] == [("toolu_1", "Read")]
    line["message"]["usage"]["output_tokens"] = "40"  # a count as a string: the careful reading's call
    assert claude_typed.assistant_fields(json.dumps(line).encode()) is None
    fast, careful = both(json.dumps(line).encode() + b"\n", None)
    assert fast == careful and fast[0][0][11] == 40
