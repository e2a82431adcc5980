"""The sync file format, version 3: gzip'd JSON lines, a header, typed rows, a count at the end.

Why this shape: gzip and JSON are readable by any tool (`zcat file | head`), need nothing beyond the orjson tokentop
already uses, and gzip's own trailer (CRC and length) plus our `end` line tell a complete file from one a sync tool
has copied half of. One JSON array per row with a tag first keeps a year of one machine in a few MB and parses at
about a microsecond a row. Every value is checked (checks.py) before it reaches the store: a peer file is input
like any log.

    {"format": "tokentop-sync", "version": 3, "machine": "laptop", "kind": "usage", "period": "2026-11",
     "written_ms": ..., "prices": "<the writer's price-table fingerprint>"}
    ["r", dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain, model, ts,
          input, output, cache_write_5m, cache_write_1h, cache_read, speed, reported_cost,
          web_search_requests, inference_geo, cost_usd, priced]                         one API response
    ["t", tool_use_id, message_id, name]                                                  one tool call
    ["u", slot, source, session_id, project, model, speed, long_context, input, output, cache_write_5m,
          cache_write_1h, cache_read, requests, cost_usd, priced, web_search_requests, inference_geo]
                                                                                          a retention rollup
    ["x", slot, source, model, speed, long_context, name, calls, requests, input, output, cache_write_5m,
          cache_write_1h, cache_read, cost_usd, priced, web_search_requests, inference_geo]
                                                                                          a per-tool rollup
    ["s", session_id, source, project, title, title_rank, git_branch, first_ts, last_ts]   a session
    ["o", window, used_pct, resets_at_ms, taken_ms, seen_ms]                               an official sample
    ["end", rows]                                                                          rows written above

Version 1 (tokentop before the surcharge fields travelled) has no `prices`, and its "r", "u" and "x" rows stop
before web_search_requests: they are read as having no web searches, no US-only inference and no cost (priced by
the reader). Version 2's "u" and "x" rows stop before inference_geo ("us" for US-only inference, else ""): they
are read as not US-only. Rollups are keyed by it (the store keeps US-only and other rows of a slot apart, since
only the first carry the surcharge), so v3 carries it: without it a peer's two rows of a slot were summed into one
on receipt, the month never compared equal to the store's again, and its US-only surcharge was lost on re-pricing.
A file of a version above 3 is not read: `doctor` names it and says to upgrade (a v2 tokentop says so of v3 files).
"""

from __future__ import annotations

import gc
import gzip
import operator
import re
import zlib
from collections import deque
from dataclasses import dataclass, field
from itertools import groupby, repeat

import orjson

from .checks import MIN_TS, columns_pass, count, row_problem

FORMAT = "tokentop-sync"
VERSION = 3
SUFFIX = ".tokentop.gz"
USAGE = "usage"
LIMITS = "limits"
LIMITS_FILE = "limits" + SUFFIX
_USAGE_FILE = re.compile(r"^usage-(\d{4})-(\d{2})" + re.escape(SUFFIX) + "$")

MAX_FILE_BYTES = 64 << 20
"""A compressed file larger than this is not read (a year of a heavy machine is a few MB)."""
MAX_RAW_BYTES = 512 << 20
"""Decompressed bytes read from one file at most: a gzip bomb stops here."""
FUTURE_SLACK_MS = 7 * 86_400_000
"""A row dated more than a week after this machine's clock is refused: a peer clock that far off is broken."""

_ROWS = {"r": "requests", "t": "tools", "u": "rollups", "x": "tool_rollups", "s": "sessions", "o": "samples"}
"""Row tag → the PeerFile list its rows go to."""
_WIDTHS = {"r": 21, "t": 3, "u": 17, "x": 17, "s": 8, "o": 5}
"""Values after the tag, in the current version; older versions' rows are padded to these."""
_PADS = {1: {"r": (0, None, None, None), "u": (0, ""), "x": (0, "")}, 2: {"u": ("",), "x": ("",)}}
"""What an older version's rows lack, as read. Version 1: no web searches, no US-only inference, no cost (priced
here); version 2: rollups without their inference_geo (not US-only)."""


def pad_of(version: int, tag: str) -> tuple:
    return _PADS.get(version, {}).get(tag, ())


def usage_file_name(period: str) -> str:
    return f"usage-{period}{SUFFIX}"


def period_of(name: str) -> str | None:
    """`usage-2026-11.tokentop.gz` → `2026-11`; None for any other name."""
    m = _USAGE_FILE.match(name)
    if not m or not 1 <= int(m[2]) <= 12:
        return None
    return f"{m[1]}-{m[2]}"


class BadFile(Exception):
    """A peer file that cannot be used at all; str() says why, in words fit for `doctor`."""


@dataclass
class PeerFile:
    """What one peer file holds, every row checked; rows that failed a check are counted, not kept."""

    machine: str
    kind: str
    period: str | None
    written_ms: int
    version: int = VERSION
    prices: str | None = None
    """The writer's price-table fingerprint (v2): when it is this store's, the costs it wrote are taken as they
    are (they hold every surcharge, US-only inference of rolled-up rows too); else every row is priced here."""
    requests: list[tuple] = field(default_factory=list)
    tools: list[tuple] = field(default_factory=list)
    rollups: list[tuple] = field(default_factory=list)
    tool_rollups: list[tuple] = field(default_factory=list)
    sessions: list[tuple] = field(default_factory=list)
    samples: list[tuple] = field(default_factory=list)
    bad_rows: dict[str, int] = field(default_factory=dict)

    def refuse(self, reason: str) -> None:
        self.bad_rows[reason] = self.bad_rows.get(reason, 0) + 1


# -- writing ----------------------------------------------------------------------------------------


def encode(machine: str, kind: str, period: str | None, written_ms: int, rows: list[list],
           prices: str | None = None) -> bytes:
    """A whole file's bytes. gzip's mtime is fixed at 0 so equal content gives equal bytes (nothing to re-sync)."""
    header = {"format": FORMAT, "version": VERSION, "machine": machine, "kind": kind, "period": period,
              "written_ms": written_ms, "prices": prices}
    parts = [orjson.dumps(header)]
    parts.extend(orjson.dumps(row) for row in rows)
    parts.append(orjson.dumps(["end", len(rows)]))
    return gzip.compress(b"\n".join(parts) + b"\n", compresslevel=6, mtime=0)


# -- reading ----------------------------------------------------------------------------------------


def decompress(data: bytes) -> bytes:
    if len(data) > MAX_FILE_BYTES:
        raise BadFile(f"larger than {MAX_FILE_BYTES >> 20} MB")
    if data[:2] != b"\x1f\x8b":
        raise BadFile("not a tokentop sync file (not gzip)")
    inflater = zlib.decompressobj(wbits=31)
    try:
        raw = inflater.decompress(data, MAX_RAW_BYTES)
    except zlib.error as exc:
        raise BadFile(f"damaged ({exc})") from None
    if inflater.unconsumed_tail:
        raise BadFile(f"expands to more than {MAX_RAW_BYTES >> 20} MB")
    if not inflater.eof:
        raise BadFile("truncated (still being copied, or cut short)")
    return raw


def decode(data: bytes, now_ms: int, expect_machine: str | None = None) -> PeerFile:
    """Parse and check a whole file. Raises BadFile when nothing in it can be trusted.

    The cycle collector is paused meanwhile: a year's file is hundreds of thousands of small lists and tuples,
    none in a cycle, and every few hundred of them made it walk all the objects the process holds (reading 10
    machines' years: 3.4 s with it, 1.8 s without, when the files are kept; ~0.3 s of a cold merge)."""
    paused = gc.isenabled()
    gc.disable()
    try:
        return _decode(data, now_ms, expect_machine)
    finally:
        if paused:
            gc.enable()


def _decode(data: bytes, now_ms: int, expect_machine: str | None) -> PeerFile:
    lines = decompress(data).split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    try:
        header = orjson.loads(lines[0]) if lines else None
    except orjson.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BadFile("not a tokentop sync file (no tokentop header)")
    version = header.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise BadFile("header has no usable format version")
    if version > VERSION:
        raise BadFile(f"written by a newer tokentop (format v{version}; this one reads v{VERSION}): upgrade here")
    machine, kind, period, written = (header.get(k) for k in ("machine", "kind", "period", "written_ms"))
    if not isinstance(machine, str) or (expect_machine is not None and machine != expect_machine):
        raise BadFile("header names another machine than its folder")
    if kind not in (USAGE, LIMITS) or (period is not None and not isinstance(period, str)):
        raise BadFile("header has an unknown kind of file")
    if not count(written, MIN_TS, 2**53):
        raise BadFile("header has no usable write time")
    try:
        end = orjson.loads(lines[-1]) if len(lines) > 1 else None
    except orjson.JSONDecodeError:
        end = None
    if not (isinstance(end, list) and len(end) == 2 and end[0] == "end" and end[1] == len(lines) - 2):
        raise BadFile("truncated (its row count is missing or does not match)")
    fingerprint = header.get("prices")
    if not (type(fingerprint) is str and 0 < len(fingerprint) <= 64 and fingerprint.isalnum()):
        fingerprint = None
    out = PeerFile(machine, kind, period, written, version, fingerprint)
    _read_rows(out, lines[1:-1], version, now_ms + FUTURE_SLACK_MS)
    return out


def _read_rows(out: PeerFile, lines: list[bytes], version: int, limit: int) -> None:
    try:  # one parse for the whole body; a line that is not one JSON value sends it line by line
        rows = orjson.loads(b"[" + b",".join(lines) + b"]")
    except orjson.JSONDecodeError:
        rows = None
    if rows is None or len(rows) != len(lines):
        rows = []
        for line in lines:
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                out.refuse("unreadable row")
    groups = _grouped(rows)
    if groups is None:
        groups = {}
        for row in rows:
            if type(row) is list and row and type(row[0]) is str:
                groups.setdefault(row[0], []).append(row)
            else:
                out.refuse("unreadable row")
    for tag, group in groups.items():
        target = _ROWS.get(tag)
        if target is None:
            for _ in group:
                out.refuse(f"unknown row type {tag[:12]!r}")
            continue
        width, pad = _WIDTHS[tag], pad_of(version, tag)
        if not pad and set(map(len, group)) == {width + 1}:
            deque(map(operator.delitem, group, repeat(0)), 0)  # every row the right width: drop the tags in place
            values = group
        else:
            values = [row[1:] + list(pad) if pad else row[1:] for row in group if len(row) + len(pad) == width + 1]
        for _ in range(len(group) - len(values)):
            out.refuse(f"{tag!r} row of the wrong length")
        if columns_pass(tag, values, limit):
            getattr(out, target).extend(values)
            continue
        kept = getattr(out, target)
        for v in values:
            problem = row_problem(tag, v, limit)
            if problem:
                out.refuse(problem)
            else:
                kept.append(v)


def _grouped(rows: list) -> dict[str, list] | None:
    """The rows by tag (first seen first, file order within a tag) when every row is a list starting with a string,
    as in every file tokentop writes, found at C speed; None: some row is not, sort them one by one."""
    if not rows:
        return {}
    if set(map(type, rows)) != {list} or not min(map(len, rows)):
        return None
    tags = list(map(operator.itemgetter(0), rows))
    if set(map(type, tags)) != {str}:
        return None
    groups: dict[str, list] = {}
    start = 0
    for tag, run in groupby(tags):  # a file is written a tag at a time: a handful of runs
        end = start + len(list(run))
        groups.setdefault(tag, []).extend(rows[start:end])
        start = end
    return groups
