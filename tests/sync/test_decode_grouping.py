"""format._read_rows sorts a file's rows by tag at C speed when every row is a tagged list (as tokentop writes
them), else one by one as before: either way a file reads exactly as the one-by-one reading read it."""

from __future__ import annotations

import time

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from test_checks import GOOD

from tokentop.ingest.sync import checks
from tokentop.ingest.sync import format as fmt

NOW = int(time.time() * 1000)
LIMIT = NOW + fmt.FUTURE_SLACK_MS
ROWS = st.sampled_from([
    *([tag, *values] for tag, values in GOOD.items()),
    ["s", "s1", "claude-code", "/p", None, 0, None, NOW - 5000, NOW - 1000],
    ["r", *GOOD["r"][:-1]], ["u", *GOOD["u"], 0], ["u", *GOOD["u"][:-1]], ["x", *GOOD["x"][:-1]],
    ["x", "bad"], ["zz", 1], [], [1, 2], {"r": 1}, "r", 7, None,
    ["r", *GOOD["r"][:9], "late", *GOOD["r"][10:]], ["t", "toolu_2", "m2", "\x1b[2J"]])


def one_by_one(rows, version=fmt.VERSION):
    """The reading before the fast path, kept here as the reference."""
    out = fmt.PeerFile("m", fmt.USAGE, "2026-11", NOW, version)
    groups = {}
    for row in rows:
        if type(row) is list and row and type(row[0]) is str:
            groups.setdefault(row[0], []).append(row)
        else:
            out.refuse("unreadable row")
    for tag, group in groups.items():
        target = fmt._ROWS.get(tag)
        if target is None:
            for _ in group:
                out.refuse(f"unknown row type {tag[:12]!r}")
            continue
        width, pad = fmt._WIDTHS[tag], fmt.pad_of(version, tag)
        values = [row[1:] + list(pad) if pad else row[1:] for row in group if len(row) + len(pad) == width + 1]
        for _ in range(len(group) - len(values)):
            out.refuse(f"{tag!r} row of the wrong length")
        kept = getattr(out, target)
        for v in values:
            problem = checks.row_problem(tag, v, LIMIT)
            if problem:
                out.refuse(problem)
            else:
                kept.append(v)
    return out


def read(rows, version=fmt.VERSION):
    out = fmt.PeerFile("m", fmt.USAGE, "2026-11", NOW, version)
    fmt._read_rows(out, [orjson.dumps(r) for r in rows], version, LIMIT)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(ROWS, max_size=14), st.booleans(), st.sampled_from([1, 2, fmt.VERSION]))
def test_fast_grouping_reads_as_one_by_one(rows, by_tag, version):
    if by_tag:  # as tokentop writes them: a tag at a time
        rows.sort(key=lambda r: str(r[0]) if type(r) is list and r else "")
    expected = one_by_one(orjson.loads(orjson.dumps(rows)), version)
    got = read(rows, version)
    for name in ("requests", "tools", "rollups", "tool_rollups", "sessions", "samples", "bad_rows"):
        assert getattr(got, name) == getattr(expected, name), name
    assert list(got.bad_rows) == list(expected.bad_rows)
