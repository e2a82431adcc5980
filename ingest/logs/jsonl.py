"""Splitting a byte buffer into complete JSONL lines and decoding one line without ever raising."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import orjson

from ..records import SessionInfo, UsageRecord

MALFORMED = "malformed-json"
NOT_AN_OBJECT = "not-an-object"
BAD_FIELD = "bad-field-type"
NO_ID = "missing-id"
LINE_TOO_LONG = "line-too-long"


@dataclass(slots=True)
class ParseResult:
    """What one buffer of a file yielded. `consumed` counts only bytes up to the last newline."""

    records: list[UsageRecord] = field(default_factory=list)
    sessions: dict[str, SessionInfo] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    consumed: int = 0
    lines: int = 0

    def session(self, session_id: str, source: str) -> SessionInfo:
        info = self.sessions.get(session_id)
        if info is None:
            info = self.sessions[session_id] = SessionInfo(session_id, source)
        return info


def loads(line: bytes, result: ParseResult) -> dict | None:
    """Decode one line into a dict, counting (never raising on) bad JSON and non-object values."""
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        result.skipped[MALFORMED] += 1
        return None
    if not isinstance(value, dict):
        result.skipped[NOT_AN_OBJECT] += 1
        return None
    return value


def looks_like_json_object(line: bytes) -> bool:
    """Cheap shape check for lines the pre-filter lets pass unparsed, so garbage is still counted."""
    line = line.strip()
    return line[:1] == b"{" and line[-1:] == b"}"


def as_count(value) -> int | None:
    """A token count: a non-negative int; bools, strings and nulls are wrong types (callers default a missing key to 0)."""
    if type(value) is int and value >= 0:
        return value
    if type(value) is float and value >= 0 and value.is_integer():
        return int(value)
    return None


def complete_lines(data: bytes, final_tail: bool):
    """Yield (line, is_complete) for each newline-terminated line, then the unterminated tail if asked.

    The tail is offered only so a finished file whose writer omitted the last newline is not lost; its
    bytes are never counted as consumed, so it is read again (harmlessly, thanks to the dedup key)."""
    start = 0
    find = data.find
    while True:
        end = find(b"\n", start)
        if end < 0:
            break
        yield data[start:end], end + 1
        start = end + 1
    if final_tail and start < len(data):
        yield data[start:], None
