"""Claude Code transcript lines → usage records and session facts (pure: bytes in, values out)."""

from __future__ import annotations

from datetime import datetime

from ..records import CLAUDE_CODE, UsageRecord
from ..safe_text import clean_result
from .cost_state import COST_STATE, api_block, attribution, cost_state
from .jsonl import (
    BAD_FIELD,
    BOM,
    COUNT_TOO_LARGE,
    MAX_INPUT_SIDE,
    MAX_OUTPUT,
    NO_ID,
    NO_TIMESTAMP,
    ParseResult,
    check_unread,
    clamp_future,
    loads,
    read_count,
)

SYNTHETIC_MODEL = "<synthetic>"
TYPE_HEAD_BYTES = 2048
"""How far into a line its top-level `"type"` is looked for (Claude Code writes it within ~300 bytes)."""
# Title sources, weakest first: a user-set title beats Claude's summary, which beats an AI-made title.
TITLE_RANK = {"ai-title": 1, "summary": 2, "custom-title": 3}
_DECODED_TYPES = frozenset([b"assistant", COST_STATE.encode(), *(kind.encode() for kind in TITLE_RANK)])
_TITLE_FIELDS = ("customTitle", "aiTitle", "title", "summary")


def parse_timestamp(value) -> int | None:
    """ISO-8601 (with `Z`) → Unix ms; None when absent or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError:
        return None


def parse_claude(data: bytes, session_id: str, agent_id: str | None = None, final_tail: bool = False) -> ParseResult:
    """Parse a buffer of Claude Code JSONL.

    `session_id` comes from the file's place (a `<session>/subagents/` file belongs to its parent); a line's
    own `sessionId` wins for main-thread files. Only `assistant` lines carry billable usage; `progress` lines
    embed sub-agent usage that is also in the sub-agent's own file, so they are never counted."""
    result = ParseResult()
    undated: list[tuple[UsageRecord, dict, bool]] = []  # assistant lines without a timestamp, dated at the end
    # Pre-filter, so that only lines that can matter are parsed into records. Most bytes are `user` lines with big
    # tool results, then `progress` lines: such a line is recognised by its head alone (below) and not searched
    # further; it is still decoded once by `check_unread`, so that a broken one is counted (doctor's counts are the
    # malformed lines present, issue 16) — that decode is most of the parse cost of those bytes.
    find = data.find
    count = data.count
    size = len(data)
    start = 0
    while start < size:
        end = find(b"\n", start)
        complete = end >= 0
        if complete:
            result.lines += 1
            result.consumed = end + 1
        elif final_tail:
            end = size
        else:
            break
        if data[start] == 0xEF and data.startswith(BOM, start):  # a byte-order mark (first line of a copied file)
            start += 3
            if start >= end:
                start = end + 1
                continue
        # Skips of an unterminated last line are counted apart (ParseResult.tail_skipped).
        sink = result if complete else result.tail()
        if data[start] == 0x7B:  # '{'
            at = find(b'"type":"', start, min(end, start + TYPE_HEAD_BYTES))
            # No other brace before it: the key is in the top-level object, so it is the line's type. (In valid
            # JSON these quotes cannot be inside a string: they would be escaped.) Assistant lines put their own
            # `type` after the message, so they fail this test and are searched in full below.
            if at >= 0 and count(b"{", start, at) == 1 and count(b"}", start, at) == 0:
                close = find(b'"', at + 8, end)
                if close >= 0 and data[at + 8:close] not in _DECODED_TYPES:
                    check_unread(data[start:end], sink)  # e.g. a line cut short, or broken inside its braces
                    start = end + 1
                    continue
        if find(b'"assistant"', start, end) >= 0:
            _assistant(data[start:end], session_id, agent_id, result, complete, undated, sink)
        elif find(b'"cost-state"', start, end) >= 0:  # an unterminated tail's goes to the scratch: still growing
            _cost_state(loads(data[start:end], sink), session_id, agent_id, sink)
        elif find(b'"summary"', start, end) >= 0 or find(b'title"', start, end) >= 0:
            _title(data[start:end], session_id, result, sink)
        else:
            check_unread(data[start:end], sink)
        start = end + 1
    if undated:
        _date_from_siblings(undated, result)
    return clamp_future(clean_result(result))


def _date_from_siblings(undated: list[tuple[UsageRecord, dict, bool]], result: ParseResult) -> None:
    """A line without a (readable) timestamp keeps its counts if another line of the same response (same dedup key)
    in this read has one: the lines of one response are one event, so they share its time. Without such a sibling
    the time is unknown, and a guess could move tokens into the wrong 5-hour window or week: the line is rejected."""
    dated = {rec.dedup_key: rec.ts_ms for rec in result.records}
    for rec, facts, complete in undated:
        ts = dated.get(rec.dedup_key)
        if ts is None:
            (result.skipped if complete else result.tail_skipped)[NO_TIMESTAMP] += 1
            continue
        rec.ts_ms = ts
        result.records.append(rec)
        _session_facts(result, rec, facts)


def _usage_counts(usage: dict) -> tuple[int, int, int, int, int, int] | str:
    """(input, output, cache write 5m, cache write 1h, cache read, web searches), or why the line is rejected."""
    counts: list[int] = []
    for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens"):
        n = read_count(usage.get(key), MAX_INPUT_SIDE)
        if isinstance(n, str):
            return n
        counts.append(n)
    if sum(counts) > MAX_INPUT_SIDE:
        return COUNT_TOO_LARGE
    input_tokens, cache_write, cache_read = counts
    output_tokens = read_count(usage.get("output_tokens"), MAX_OUTPUT)
    if isinstance(output_tokens, str):
        return output_tokens
    write_1h = 0
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        write_5m = read_count(split.get("ephemeral_5m_input_tokens"), MAX_INPUT_SIDE)
        if isinstance(write_5m, str):
            return write_5m
        split_1h = read_count(split.get("ephemeral_1h_input_tokens"), MAX_INPUT_SIDE)
        if isinstance(split_1h, str):
            return split_1h
        write_1h = split_1h
        if not cache_write:  # some writers give only the split
            cache_write = write_5m + write_1h
            if input_tokens + cache_write + cache_read > MAX_INPUT_SIDE:
                return COUNT_TOO_LARGE
        write_1h = min(write_1h, cache_write)
    searches = 0
    tools = usage.get("server_tool_use")
    if isinstance(tools, dict):
        search_count = read_count(tools.get("web_search_requests"), MAX_OUTPUT)
        if isinstance(search_count, str):
            return search_count
        searches = search_count
    return input_tokens, output_tokens, cache_write - write_1h, write_1h, cache_read, searches


def _assistant(line: bytes, file_session: str, agent_id: str | None, result: ParseResult, complete: bool,
               undated: list, scratch: ParseResult) -> None:
    """`scratch`: where skips are counted (`result`, or its tail counter for an unterminated last line)."""
    entry = loads(line, scratch)
    if entry is not None and entry.get("type") == COST_STATE:  # one that happens to name "assistant" somewhere
        _cost_state(entry, file_session, agent_id, scratch)
    if entry is None or entry.get("type") != "assistant":
        return
    message = entry.get("message")
    if not isinstance(message, dict):
        scratch.skipped[BAD_FIELD] += 1
        return
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return  # written by Claude Code itself, never sent to the API
    usage = message.get("usage")
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id:
        scratch.skipped[NO_ID] += 1
        return
    if not isinstance(usage, dict) or not isinstance(model, str):
        scratch.skipped[BAD_FIELD] += 1
        return
    counts = _usage_counts(usage)
    if isinstance(counts, str):
        scratch.skipped[counts] += 1
        return
    input_tokens, output_tokens, write_5m, write_1h, cache_read, searches = counts
    request_id = entry.get("requestId")
    if not isinstance(request_id, str) or not request_id:
        request_id = None
    line_session = entry.get("sessionId")
    session_id = line_session if agent_id is None and isinstance(line_session, str) and line_session else file_session
    # Whether a session is named at all, or only the file's name speaks (records.UsageRecord.session_rank).
    rank = 1 if agent_id is not None or session_id == line_session else 0
    line_agent = entry.get("agentId")
    if agent_id is None and isinstance(line_agent, str) and entry.get("isSidechain") is True:
        agent_id = line_agent
    cwd = entry.get("cwd")
    cwd = cwd if isinstance(cwd, str) else None
    speed = usage.get("speed")
    geo = usage.get("inference_geo")
    tools = []
    content = message.get("content")
    if isinstance(content, list):
        for block in content:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                name, tool_id = block.get("name"), block.get("id")
                if isinstance(name, str) and isinstance(tool_id, str):
                    tools.append((tool_id, name))
    ts = parse_timestamp(entry.get("timestamp"))
    rec = UsageRecord(
        dedup_key=f"{message_id}:{request_id}" if request_id else message_id,
        message_id=message_id,
        request_id=request_id,
        source=CLAUDE_CODE,
        session_id=session_id,
        project=cwd,
        agent_id=agent_id,
        is_sidechain=entry.get("isSidechain") is True,
        model=model,
        ts_ms=0 if ts is None else ts,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_write_5m=write_5m,
        cache_write_1h=write_1h,
        cache_read=cache_read,
        speed=speed if isinstance(speed, str) else None,
        tool_calls=tools,
        web_search_requests=searches,
        inference_geo=geo if isinstance(geo, str) else None,
        api_block=api_block(entry),
        attribution=attribution(entry),
        session_rank=rank,
    )
    facts = {"cwd": cwd, "gitBranch": entry.get("gitBranch")}
    if ts is None:
        undated.append((rec, facts, complete))
        return
    result.records.append(rec)
    _session_facts(result, rec, facts)


def _cost_state(entry: dict | None, file_session: str, agent_id: str | None, result: ParseResult) -> None:
    """Claude Code's own cumulative figures for the session: kept beside it, never added to usage. A sub-agent's
    file holds no session total (its usage is in the parent's)."""
    if entry is None or entry.get("type") != COST_STATE or agent_id is not None:
        return
    state = cost_state(entry, parse_timestamp(entry.get("timestamp")))
    if isinstance(state, str):
        result.skipped[state] += 1
        return
    line_session = entry.get("sessionId")
    session_id = line_session if isinstance(line_session, str) and line_session else file_session
    info = result.session(session_id, CLAUDE_CODE)
    if info.cost_state is None or state.beats(info.cost_state):
        info.cost_state = state


def _session_facts(result: ParseResult, rec: UsageRecord, facts: dict) -> None:
    info = result.session(rec.session_id, CLAUDE_CODE)
    info.seen(rec.ts_ms)
    if facts["cwd"]:
        info.project = facts["cwd"]
    branch = facts["gitBranch"]
    if isinstance(branch, str) and branch:
        info.git_branch = branch


def _title(line: bytes, session_id: str, result: ParseResult, sink: ParseResult) -> None:
    entry = loads(line, sink)
    if entry is None:
        return
    kind = entry.get("type")
    rank = TITLE_RANK.get(kind) if isinstance(kind, str) else None
    if rank is None:
        return
    for key in _TITLE_FIELDS:
        title = entry.get(key)
        if isinstance(title, str) and title.strip():
            info = result.session(session_id, CLAUDE_CODE)
            if info.title is None or rank >= info.title_rank:
                info.title, info.title_rank = title.strip()[:200], rank
            return
