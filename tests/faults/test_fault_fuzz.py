"""Hostile whole files through the real ingester: random bytes, huge numbers, escapes, byte-order marks, NULs, deep
nesting, long lines and invalid UTF-8 between good lines. `ingest` never raises, and every good line around a bad
one is stored with its own counts, whatever the chunk boundaries.

The example count is kept modest (each example builds a store) so the suite stays fast; the parsers alone get many
more examples in tests/core/test_properties.py."""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.loglines import assistant, openclaw_assistant, openclaw_session, summary, user

from tokentop.ingest.config import Settings
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.discovery import discover
from tokentop.ingest.records import CLAUDE_CODE, OPENCLAW
from tokentop.ingest.store.store import Store

pytestmark = [pytest.mark.faults, pytest.mark.timeout(300)]

FUZZ = settings(max_examples=30, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
NOVEMBER_2026 = 1_795_168_800_000
HUGE = [10 ** 19, 2 ** 64, 2 ** 63, 1e300, -1, 2 ** 62]


def _hostile_json(draw) -> bytes:
    kind = draw(st.sampled_from(["escapes", "huge", "deep", "bom-garbage", "nul", "long", "utf8", "glued", "types"]))
    if kind == "escapes":
        text = draw(st.sampled_from(["\x1b]52;c;cHduZWQ=\x07", "\x1b[2J", "\x9b31m", "\u202e", "\x00",
                                     "\x1b]0;t\x1b\\"]))
        return assistant("esc", "r", model=f"m{text}", cwd=f"/x/{text}", branch=text).encode()
    if kind == "huge":
        n = draw(st.sampled_from(HUGE))  # in a count the parsers read, and where none is read
        if draw(st.booleans()):
            return assistant(f"huge{draw(st.integers(0, 9))}", "r", output=0).replace('"output_tokens":0',
                                                                                    f'"output_tokens":{n}').encode()
        return json.dumps({"type": "user", "n": n, "nested": {"input_tokens": n}}).encode()
    if kind == "deep":
        depth = draw(st.integers(1_000, 100_000))
        return b'{"type":"assistant","message":' + b"[" * depth + b"]" * depth + b"}"
    if kind == "bom-garbage":
        return b"\xef\xbb\xbf" + draw(st.binary(max_size=64)).replace(b"\n", b" ")
    if kind == "nul":
        return b"\x00" * draw(st.integers(1, 4096))
    if kind == "long":
        return b'{"type":"user","message":{"content":"' + b"x" * draw(st.integers(50_000, 300_000)) + b'"}}'
    if kind == "utf8":
        return b'{"type":"assistant","message":{"id":"\xff\xfe' + draw(st.binary(max_size=16)).replace(b"\n", b"")
    if kind == "glued":  # a writer died mid-line, and the next line was appended to the fragment
        half = assistant("glue", "r").encode()
        return half[:draw(st.integers(1, len(half) - 1))] + half
    return json.dumps(draw(st.sampled_from([[], 1, "s", None, {"type": None}, {"type": "assistant", "message": 5}]))
                      ).encode()


@st.composite
def hostile_fragment(draw) -> bytes:
    if draw(st.booleans()):
        return draw(st.binary(min_size=1, max_size=512))
    return _hostile_json(draw)


@st.composite
def hostile_file(draw):
    """(file bytes, {message id: output tokens} of the good lines) — a good line first and last, hostile ones
    between and around them, each segment newline-terminated so a good line always stands on its own."""
    n_good = draw(st.integers(2, 6))
    good = {f"good_{i}": 100 + i * 7 for i in range(n_good)}
    parts: list[bytes] = []
    for i, (mid, out) in enumerate(good.items()):
        if i:  # bad lines between every two good ones
            parts += draw(st.lists(hostile_fragment(), min_size=1, max_size=3))
        parts.append(assistant(mid, f"req_{mid}", output=out).encode())
    parts.insert(draw(st.integers(0, len(parts))), summary("a title").encode())
    parts.insert(0, user().encode())
    return b"".join(p + b"\n" for p in parts), good


def ingest_into(tmp: Path, files: dict[str, bytes], chunk: int):
    home = tmp / "home"
    for rel, data in files.items():
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    db = tmp / "u.db"
    roots = [(home / ".claude" / "projects", CLAUDE_CODE), (home / ".openclaw", OPENCLAW)]
    with Store(db) as store:
        keep_all = Settings(retention_days=100_000)  # every response stays a row, whatever today's date
        summary_ = Ingester(store, keep_all, chunk_bytes=chunk, max_line_bytes=256 << 10).ingest_all(
            discover(roots=roots))
    con = sqlite3.connect(db)
    try:
        return summary_, dict(con.execute("SELECT message_id, output_tokens FROM requests"))
    finally:
        con.close()


@FUZZ
@given(hostile_file(), hostile_file(), st.sampled_from([4096, 65536, 8 << 20]))
def test_hostile_files_never_raise_and_keep_every_good_line(claude_file, second_file, chunk):
    data, good = claude_file
    data2, good2 = second_file
    oc_lines = (openclaw_session("oc1"), openclaw_assistant("e1", output=77, ts_ms=NOVEMBER_2026))
    oc_good = b"".join(line.encode() + b"\n" for line in oc_lines)
    with tempfile.TemporaryDirectory() as tmp:
        summary_, stored = ingest_into(Path(tmp), {
            ".claude/projects/-a/11111111-0000-4000-8000-000000000001.jsonl": data,
            # The same ids in another session file: dedup keeps one row each (the good lines are identical).
            ".claude/projects/-b/11111111-0000-4000-8000-000000000002.jsonl": data2,
            ".openclaw/agents/main/sessions/oc1.jsonl": data2[: len(data2) // 2] + b"\n" + oc_good,
        }, chunk)
    assert not summary_.errors, summary_.errors
    for mid, out in {**good, **good2}.items():
        assert stored.get(mid) == out, (mid, stored)
    assert stored.get("oc:oc1:e1") == 77
    # Nothing but the good lines (and the one escape line, cleaned) became a response.
    extra = set(stored) - set(good) - set(good2) - {"oc:oc1:e1"}
    assert extra <= {"esc", "glue"}, stored  # an impossible count (2**62 included) is refused, not stored


def test_fuzz_strategies_cover_every_hostile_kind():
    """The fuzz above is only as good as its inputs: each kind of fragment is drawn at least once in 200 draws."""
    seen = set()

    @settings(max_examples=200, deadline=None, database=None)
    @given(st.data())
    def draw(data):
        frag = data.draw(hostile_fragment())
        seen.add(_kind_of(frag))

    draw()
    assert {"binary", "escapes", "deep", "nul", "long", "utf8", "bom"} <= seen, seen


def _kind_of(frag: bytes) -> str:
    if frag.startswith(b"\xef\xbb\xbf"):
        return "bom"
    if frag[:1] == b"\x00" and set(frag) == {0}:
        return "nul"
    if b"[[[[[" in frag:
        return "deep"
    if b"xxxxxxxx" in frag:
        return "long"
    if b"\\u001b" in frag or b"\\u009b" in frag or b"\\u202e" in frag:
        return "escapes"
    if b'"id":"\xff\xfe' in frag:
        return "utf8"
    return "binary" if not frag.startswith(b"{") else "json"


if os.environ.get("TOKENTOP_FUZZ_MANY"):  # a longer run on demand: TOKENTOP_FUZZ_MANY=1 pytest tests/faults/...
    test_hostile_files_never_raise_and_keep_every_good_line = settings(max_examples=500)(
        test_hostile_files_never_raise_and_keep_every_good_line)
