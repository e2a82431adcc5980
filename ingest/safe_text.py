"""Untrusted text from logs made harmless: no control character or escape sequence reaches a terminal or a CSV.

Every string a log carries (a project path, model, git branch, title, tool name, session id) is untrusted: a
transcript can hold `ESC ] 52 ;` (write the clipboard), `ESC [ 2 J` (clear the screen) or a bidi override that
makes text read differently from what it is. `clean` is applied once where the parsers turn bytes into values
(`clean_result`) and again where text leaves for a terminal or CSV, so rows stored by an older tokentop are safe too.
"""

from __future__ import annotations

import re

# Whole escape sequences first, so their parameters ("]52;c;…") do not survive as visible junk:
# CSI (ESC [ … final, or the 8-bit CSI), OSC / DCS / SOS / PM / APC strings up to their terminator (BEL or ST)
# or the end of the text, and the two-byte ESC sequences.
_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
# What is left that a terminal acts on: C0 (tab and newlines included: every field is one line), DEL, C1, the
# Unicode line/paragraph separators, and the bidi embeddings, overrides, isolates and marks.
_CONTROLS = "\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u061c\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[{_CONTROLS}]")
_SPACING = re.compile("[\t\n\r\v\f\u2028\u2029]+")
FORMULA_START = ("=", "+", "-", "@")
"""A spreadsheet runs a cell that starts with one of these (and tab / CR, which `clean` already removes)."""


def clean(text: str) -> str:
    """`text` without escape sequences or control characters; line breaks and tabs become one space.

    Text that holds none (nearly all of it) is returned as it is, after one regex scan."""
    if _UNSAFE.search(text) is None:
        return text
    text = _SEQUENCES.sub("", text)
    text = _SPACING.sub(" ", text)
    return _UNSAFE.sub("", text)


def for_terminal(text: str) -> str:
    """A whole block of output made safe line by line: its own line breaks stay, everything else `clean` removes."""
    return "\n".join(clean(line) for line in text.split("\n"))


def clean_tree(value):
    """A JSON-shaped value with every string in it cleaned: `jq -r` would otherwise print the escapes raw."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean_tree(k): clean_tree(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_tree(v) for v in value]
    return value


def clean_or_none(text):
    """`clean` for optional fields: a non-string passes through untouched."""
    return clean(text) if isinstance(text, str) else text


def csv_cell(value):
    """A value for a CSV cell: cleaned, and a text that a spreadsheet would run as a formula gets a leading `'`.

    Numbers stay numbers (a negative count is never written, but a negative number is not a formula either)."""
    if not isinstance(value, str):
        return value
    value = clean(value)
    return "'" + value if value.startswith(FORMULA_START) else value


def clean_result(result):
    """Clean every text field of a parser's `ParseResult` in place, and return it: the one ingest boundary."""
    search = _UNSAFE.search
    for rec in result.records:
        # One scan over the fields joined (None reads as "None": harmless), not one per field: this runs for every
        # response of a backfill.
        # (Printable ASCII holds none of the unsafe characters: `isascii` is a flag, `isprintable` one C loop.)
        joined = f"{rec.project}{rec.model}{rec.session_id}{rec.agent_id}{rec.speed}{rec.dedup_key}{rec.request_id}"
        if not (joined.isascii() and joined.isprintable()) and search(joined) is not None:
            rec.project = clean_or_none(rec.project)
            rec.model = clean(rec.model)
            rec.session_id = clean(rec.session_id)
            rec.agent_id = clean_or_none(rec.agent_id)
            rec.speed = clean_or_none(rec.speed)
            # Ids too (the request pane shows them); cleaned the same way every time, so dedup is unchanged.
            rec.dedup_key = clean(rec.dedup_key)
            rec.message_id = clean(rec.message_id)
            rec.request_id = clean_or_none(rec.request_id)
        tools = "".join(text for call in rec.tool_calls for text in call) if rec.tool_calls else ""
        if tools and not (tools.isascii() and tools.isprintable()) and search(tools) is not None:
            rec.tool_calls = [(clean(tool_id), clean(name)) for tool_id, name in rec.tool_calls]
    dirty_keys = [sid for sid in result.sessions if _dirty(sid)]
    for info in result.sessions.values():
        if _dirty(info.project, info.title, info.git_branch):
            info.project = clean_or_none(info.project)
            info.title = clean_or_none(info.title)
            info.git_branch = clean_or_none(info.git_branch)
    for sid in dirty_keys:
        info = result.sessions.pop(sid)
        info.session_id = clean(sid)
        have = result.sessions.setdefault(info.session_id, info)
        if have is not info:  # two ids that differ only by control characters are one session once cleaned
            have.seen(info.first_ts_ms)
            have.seen(info.last_ts_ms)
    return result


def _dirty(*texts) -> bool:
    return any(isinstance(t, str) and _UNSAFE.search(t) is not None for t in texts)
