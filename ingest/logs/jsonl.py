"""Splitting a byte buffer into complete JSONL lines and decoding one line without ever raising."""

from __future__ import annotations

import math
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import orjson

from ..records import SessionInfo, UsageRecord

MALFORMED = "malformed-json"
NOT_AN_OBJECT = "not-an-object"
BAD_FIELD = "bad-field-type"
NO_ID = "missing-id"
LINE_TOO_LONG = "line-too-long"
# A token count no API response can carry rejects its whole line, each kind under its own reason (see `read_count`).
NEGATIVE_COUNT = "negative-count"
FRACTIONAL_COUNT = "fractional-count"
COUNT_TOO_LARGE = "count-too-large"
COUNT_NOT_A_NUMBER = "count-not-a-number"
NO_TIMESTAMP = "missing-timestamp"
BAD_COUNT_REASONS = (NEGATIVE_COUNT, FRACTIONAL_COUNT, COUNT_TOO_LARGE, COUNT_NOT_A_NUMBER)

MAX_INPUT_SIDE = 2_000_000
"""Input + cache writes + cache reads of one response: above any context window (1M today) with room to spare."""
MAX_OUTPUT = 1_000_000
"""Output tokens of one response (and web searches in it): far above any model's output limit."""
BOM = b"\xef\xbb\xbf"
"""A UTF-8 byte-order mark: files copied or converted on Windows start with one; it is not part of the JSON."""
# A count written as a string is read only in plain decimal form ("1234"); "1e3", " 12", "12.0", "0x10" are not counts.
_DIGITS = re.compile(r"(?:0|[1-9][0-9]{0,18})\Z", re.ASCII)
FUTURE_CLAMPED = "future-time-clamped"
"""Not a skipped line: a response kept, its time (year 9999, a clock far ahead) moved back to now + FUTURE_SLACK_MS.
Counted with the skipped lines so `doctor` shows it per file."""
NOT_SKIPPED = frozenset({FUTURE_CLAMPED})
"""Reasons in the skipped counts that are not lines passed over."""
FUTURE_SLACK_MS = 60_000


@dataclass(slots=True)
class ParseResult:
    """What one buffer of a file yielded. `consumed` counts only bytes up to the last newline."""

    records: list[UsageRecord] = field(default_factory=list)
    sessions: dict[str, SessionInfo] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)
    consumed: int = 0
    lines: int = 0
    tail_skipped: Counter = field(default_factory=Counter)
    """What a file's unterminated last line was skipped for (`final_tail`): kept apart because that line is read
    again with the bytes that finish it, so the reader counts it until then and takes the count back on re-reading."""

    def tail(self) -> ParseResult:
        """Where an unterminated last line's skips go: a scratch result whose counter is `tail_skipped`."""
        return ParseResult(skipped=self.tail_skipped)

    def session(self, session_id: str, source: str) -> SessionInfo:
        info = self.sessions.get(session_id)
        if info is None:
            info = self.sessions[session_id] = SessionInfo(session_id, source)
        return info


def loads(line: bytes, result: ParseResult) -> dict | None:
    """Decode one line into a dict, counting (never raising on) bad JSON and non-object values."""
    if line.startswith(BOM):
        line = line[3:]
    try:
        value = orjson.loads(line)
    except orjson.JSONDecodeError:
        value = _loads_replacing(line)
        if value is None:
            result.skipped[MALFORMED] += 1
            return None
    if not isinstance(value, dict):
        result.skipped[NOT_AN_OBJECT] += 1
        return None
    return value


def _loads_replacing(line: bytes):
    """A line that is valid JSON once its invalid UTF-8 bytes become U+FFFD (one bad byte in a response's text
    must not lose the response); None when it is not valid JSON even then. orjson reads only valid UTF-8."""
    try:
        line.decode("utf-8")
        return None  # valid UTF-8, so the JSON itself is broken
    except UnicodeDecodeError:
        pass
    try:
        return orjson.loads(line.decode("utf-8", "replace"))
    except orjson.JSONDecodeError:
        return None


def clamp_future(result: ParseResult, now_ms: int | None = None) -> ParseResult:
    """Move response times later than now + a minute back to that, and count them: a line dated 9999 must not
    keep its session "live" forever or sit past every report's end."""
    limit = (int(time.time() * 1000) if now_ms is None else now_ms) + FUTURE_SLACK_MS
    clamped = 0
    for rec in result.records:
        if rec.ts_ms > limit:
            rec.ts_ms = limit
            clamped += 1
    if clamped:
        result.skipped[FUTURE_CLAMPED] += clamped
        for info in result.sessions.values():
            if info.first_ts_ms is not None and info.first_ts_ms > limit:
                info.first_ts_ms = limit
            if info.last_ts_ms is not None and info.last_ts_ms > limit:
                info.last_ts_ms = limit
    return result


def check_unread(line: bytes, result: ParseResult) -> None:
    """A line the parser has no use for (a user or progress line, any other type) is still decoded, only to
    count it as malformed when it is not a JSON object: a line inside braces can be broken too, and `doctor`'s
    counts must be the malformed lines present. Blank lines are not lines of the log."""
    if not line.strip():
        return
    try:
        value = orjson.loads(line.removeprefix(BOM))
    except orjson.JSONDecodeError:
        value = _loads_replacing(line.removeprefix(BOM))
    if not isinstance(value, dict):
        result.skipped[MALFORMED] += 1


def read_count(value, limit: int) -> int | str:
    """A token count as the careful reading of §1 allows: the count, or the reason (a str) its line is rejected.

    Missing (the caller passes None) and `null` mean 0: the response happened, the field was just not written.
    An int or integral float in 0..limit is the count; a string of plain decimal digits is read as the number it
    spells. Anything else is not a count an API response can carry: negative, fractional, above `limit` (which
    also keeps every sum far inside SQLite's 64-bit integers), or not a number at all (bools, other strings, lists)."""
    kind = type(value)
    if kind is int:
        n = value
    elif value is None:
        return 0
    elif kind is float:
        if math.isnan(value):
            return COUNT_NOT_A_NUMBER
        if value < 0:
            return NEGATIVE_COUNT
        if math.isinf(value) or value > limit:
            return COUNT_TOO_LARGE
        if not value.is_integer():
            return FRACTIONAL_COUNT
        n = int(value)
    elif kind is str and _DIGITS.match(value):
        n = int(value)
    else:
        return COUNT_NOT_A_NUMBER
    if n < 0:
        return NEGATIVE_COUNT
    if n > limit:
        return COUNT_TOO_LARGE
    return n


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
