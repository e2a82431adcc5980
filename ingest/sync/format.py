"""The sync file format, version 1: gzip'd JSON lines, a header, typed rows, a count at the end; and its checks.

Why this shape: gzip and JSON are readable by any tool (`zcat file | head`), need nothing beyond the orjson tokentop
already uses, and gzip's own trailer (CRC and length) plus our `end` line tell a complete file from one a sync tool
has copied half of. One JSON array per row with a tag first keeps a year of one machine in a few MB and parses at
about a microsecond a row. Every value is checked before it reaches the store: a peer file is input like any log.

    {"format": "tokentop-sync", "version": 1, "machine": "laptop", "kind": "usage", "period": "2026-11", ...}
    ["r", dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain, model, ts,
          input, output, cache_write_5m, cache_write_1h, cache_read, speed, reported_cost]     one API response
    ["t", tool_use_id, message_id, name]                                                  one tool call
    ["u", slot, source, session_id, project, model, speed, long_context, input, output, cache_write_5m,
          cache_write_1h, cache_read, requests, cost_usd, priced]                         a retention rollup
    ["x", slot, source, model, speed, long_context, name, calls, requests, input, output, cache_write_5m,
          cache_write_1h, cache_read, cost_usd, priced]                                    a per-tool rollup
    ["s", session_id, source, project, title, title_rank, git_branch, first_ts, last_ts]   a session
    ["o", window, used_pct, resets_at_ms, taken_ms, seen_ms]                               an official sample
    ["end", rows]                                                                          rows written above
"""

from __future__ import annotations

import gzip
import math
import re
import zlib
from dataclasses import dataclass, field

import orjson

FORMAT = "tokentop-sync"
VERSION = 1
SUFFIX = ".tokentop.gz"
USAGE = "usage"
LIMITS = "limits"
LIMITS_FILE = "limits" + SUFFIX
_USAGE_FILE = re.compile(r"^usage-(\d{4})-(\d{2})" + re.escape(SUFFIX) + "$")

MAX_FILE_BYTES = 64 << 20
"""A compressed file larger than this is not read (a year of a heavy machine is a few MB)."""
MAX_RAW_BYTES = 512 << 20
"""Decompressed bytes read from one file at most: a gzip bomb stops here."""
MAX_INPUT = 2_000_000
"""Input-side tokens (input, cache writes, cache reads) one response can carry: above any context window."""
MAX_OUTPUT = 1_000_000
MAX_REQUESTS = 10_000_000
"""Responses in one 15-minute rollup row, at most."""
MAX_TEXT = 4096
MAX_COST = 1e7
MIN_TS = 1_500_000_000_000  # 2017: older than any Claude Code log
FUTURE_SLACK_MS = 7 * 86_400_000
"""A row dated more than a week after this machine's clock is refused: a peer clock that far off is broken."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


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


def encode(machine: str, kind: str, period: str | None, written_ms: int, rows: list[list]) -> bytes:
    """A whole file's bytes. gzip's mtime is fixed at 0 so equal content gives equal bytes (nothing to re-sync)."""
    header = {"format": FORMAT, "version": VERSION, "machine": machine, "kind": kind, "period": period,
              "written_ms": written_ms}
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
    """Parse and check a whole file. Raises BadFile when nothing in it can be trusted."""
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
    if not _count(written, MIN_TS, 2**53):
        raise BadFile("header has no usable write time")
    try:
        end = orjson.loads(lines[-1]) if len(lines) > 1 else None
    except orjson.JSONDecodeError:
        end = None
    if not (isinstance(end, list) and len(end) == 2 and end[0] == "end" and end[1] == len(lines) - 2):
        raise BadFile("truncated (its row count is missing or does not match)")
    out = PeerFile(machine, kind, period, written)
    limit = now_ms + FUTURE_SLACK_MS
    for line in lines[1:-1]:
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            out.refuse("unreadable row")
            continue
        if not isinstance(row, list) or not row or not isinstance(row[0], str):
            out.refuse("unreadable row")
            continue
        check = _ROWS.get(row[0])
        if check is None:
            out.refuse(f"unknown row type {row[0][:12]!r}")
            continue
        checked, target, width = check
        values = row[1:]
        if len(values) != width:
            out.refuse(f"{row[0]!r} row of the wrong length")
            continue
        problem = checked(values, limit)
        if problem:
            out.refuse(problem)
            continue
        getattr(out, target).append(tuple(values))
    return out


# -- value checks -----------------------------------------------------------------------------------


def _count(v, low: int = 0, high: int = MAX_INPUT) -> bool:
    return type(v) is int and low <= v <= high


_GOOD_TEXT: set[str] = set()
"""Strings already checked (model names, sessions and projects repeat on every row): a set lookup instead."""


def _text(v, required: bool = True) -> bool:
    if type(v) is str and v in _GOOD_TEXT:  # (a list or dict from a hostile file is not hashable)
        return True
    if v is None:
        return not required
    if type(v) is not str or v == "":
        return type(v) is str and not required
    if len(v) > MAX_TEXT or not (v.isprintable() or not _CONTROL.search(v)):
        return False
    if len(_GOOD_TEXT) > 200_000:
        _GOOD_TEXT.clear()
    _GOOD_TEXT.add(v)
    return True


def _money(v, high: float = MAX_COST) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and 0 <= v <= high


def _ts(v, limit: int) -> str | None:
    if type(v) is not int or v < MIN_TS:
        return "time out of range"
    if v > limit:
        return "dated more than a week ahead (that machine's clock?)"
    return None


def _request(v, limit) -> str | None:
    (key, message_id, request_id, source, session, project, agent, sidechain, model, ts, i, o, w5, w1, r, speed,
     reported) = v
    if not (_text(key) and _text(message_id) and _text(request_id, False) and _text(source) and _text(session)
            and _text(project, False) and _text(agent, False) and _text(model) and _text(speed, False)):
        return "bad text field"
    if sidechain not in (0, 1) or type(sidechain) is not int:
        return "bad flag"
    if not (_count(i) and _count(w5) and _count(w1) and _count(r) and _count(o, 0, MAX_OUTPUT)):
        return "token count no response can carry"
    if reported is not None and not _money(reported, 1e4):
        return "bad cost"
    return _ts(ts, limit)


def _tool(v, limit) -> str | None:
    return None if all(_text(x) for x in v) else "bad text field"


def _slot(v, limit) -> str | None:
    problem = _ts(v, limit)
    return problem or (None if v % 900_000 == 0 else "slot not on a 15-minute boundary")


def _sums_ok(n, i, o, w5, w1, r) -> bool:
    return (_count(n, 1, MAX_REQUESTS) and _count(i, 0, n * MAX_INPUT) and _count(o, 0, n * MAX_OUTPUT)
            and _count(w5, 0, n * MAX_INPUT) and _count(w1, 0, n * MAX_INPUT) and _count(r, 0, n * MAX_INPUT))


def _rollup(v, limit) -> str | None:
    slot, source, session, project, model, speed, long_context, i, o, w5, w1, r, n, cost, priced = v
    if not (_text(source) and _text(session) and _text(project, False) and type(project) is str and _text(model)
            and type(speed) is str and _text(speed, False)):
        return "bad text field"
    if long_context not in (0, 1) or priced not in (0, 1) or type(long_context) is not int or type(priced) is not int:
        return "bad flag"
    if not _sums_ok(n, i, o, w5, w1, r):
        return "token count no response can carry"
    if not _money(cost):
        return "bad cost"
    return _slot(slot, limit)


def _tool_rollup(v, limit) -> str | None:
    slot, source, model, speed, long_context, name, calls, n, i, o, w5, w1, r, cost, priced = v
    if not (_text(source) and _text(model) and type(speed) is str and _text(speed, False) and type(name) is str
            and _text(name, False)):
        return "bad text field"
    if long_context not in (0, 1) or priced not in (0, 1) or type(long_context) is not int or type(priced) is not int:
        return "bad flag"
    if not (_sums_ok(n, i, o, w5, w1, r) and _count(calls, 0, n * 1000)):
        return "token count no response can carry"
    if not _money(cost):
        return "bad cost"
    return _slot(slot, limit)


def _session(v, limit) -> str | None:
    session, source, project, title, rank, branch, first, last = v
    if not (_text(session) and _text(source) and _text(project, False) and _text(title, False)
            and _text(branch, False) and _count(rank, 0, 100)):
        return "bad text field"
    for ts in (first, last):  # a session's span is clamped at merge, not refused: its other rows still count
        if ts is not None and (type(ts) is not int or ts < MIN_TS):
            return "time out of range"
    return None


def _sample(v, limit) -> str | None:
    window, pct, resets, taken, seen = v
    if not (_text(window) and len(window) <= 64):
        return "bad text field"
    if not (type(pct) in (int, float) and math.isfinite(pct) and 0 <= pct <= 1000):
        return "percentage out of range"
    for ts in (resets, taken, seen):
        if type(ts) is not int or ts < MIN_TS or ts > limit + 8 * 86_400_000:
            return "time out of range"
    return None


_ROWS = {
    "r": (_request, "requests", 17),
    "t": (_tool, "tools", 3),
    "u": (_rollup, "rollups", 15),
    "x": (_tool_rollup, "tool_rollups", 15),
    "s": (_session, "sessions", 8),
    "o": (_sample, "samples", 5),
}
