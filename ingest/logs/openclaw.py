"""OpenClaw (formerly Clawdbot/Moltbot) session lines → usage records (pure: bytes and carried state in, values out)."""

from __future__ import annotations

from ..records import OPENCLAW, UsageRecord
from ..safe_text import clean, clean_result
from .claude import parse_timestamp
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
    complete_lines,
    loads,
    read_count,
)


def parse_openclaw(data: bytes, session_id: str, state: dict | None = None,
                   final_tail: bool = False) -> tuple[ParseResult, dict]:
    """Parse a buffer of an OpenClaw v3 session file.

    `state` carries what earlier bytes of the same file said and later lines depend on: the session id and
    cwd from the `session` header and the model from the last `model_change`/model-snapshot. It is returned
    updated (for complete lines only) so a reader can resume mid-file."""
    state = dict(state or {})
    state.setdefault("session_id", session_id)
    result = ParseResult()
    for line, end in complete_lines(data, final_tail):
        complete = end is not None
        if complete:
            result.consumed = end
            result.lines += 1
        if line.startswith(BOM):  # a byte-order mark (first line of a copied file)
            line = line[3:]
        if not line.strip():
            continue
        sink = result if complete else result.tail()  # an unterminated last line's skips are counted apart
        if not (b'"session"' in line or b'"assistant"' in line or b"model" in line):
            check_unread(line, sink)
            continue
        entry = loads(line, sink)
        if entry is None:
            continue
        kind = entry.get("type")
        target = state if complete else dict(state)
        if kind == "session":
            if isinstance(entry.get("id"), str) and entry["id"]:
                target["session_id"] = entry["id"]
            if isinstance(entry.get("cwd"), str):
                target["cwd"] = clean(entry["cwd"])  # carried in the stored file state: clean it there too
        elif kind == "model_change":
            _set_model(target, entry.get("modelId"), entry.get("provider"))
        elif kind == "custom" and entry.get("customType") == "model-snapshot":
            data_ = entry.get("data")
            if isinstance(data_, dict):
                _set_model(target, data_.get("modelId"), data_.get("provider"))
        elif kind == "message":
            _message(entry, target, result, complete)
    return clamp_future(clean_result(result)), state


def _set_model(state: dict, model, provider) -> None:
    if isinstance(model, str) and model:
        state["model"] = clean(model)
        state["provider"] = clean(provider) if isinstance(provider, str) else None


def _message(entry: dict, state: dict, result: ParseResult, complete: bool) -> None:
    message = entry.get("message")
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return
    skipped = result.skipped if complete else result.tail_skipped
    usage = message.get("usage")
    entry_id = entry.get("id")
    if not isinstance(entry_id, str) or not entry_id:
        skipped[NO_ID] += 1
        return
    if not isinstance(usage, dict):
        skipped[BAD_FIELD] += 1
        return
    read = [read_count(usage.get(k), MAX_OUTPUT if k == "output" else MAX_INPUT_SIDE)
            for k in ("input", "output", "cacheWrite", "cacheRead")]
    bad = next((n for n in read if isinstance(n, str)), None)
    counts = [n for n in read if isinstance(n, int)]  # all four when nothing is bad
    if bad is None and counts[0] + counts[2] + counts[3] > MAX_INPUT_SIDE:
        bad = COUNT_TOO_LARGE
    if bad is not None:
        skipped[bad] += 1
        return
    unix_ms = message.get("timestamp")
    # Unix ms; the bound keeps a garbage number out of datetime arithmetic (year 9999 is 253e12 ms).
    ts: int | None
    if isinstance(unix_ms, (int, float)) and not isinstance(unix_ms, bool) and 0 < unix_ms < 253_402_300_800_000:
        ts = int(unix_ms)
    else:
        ts = parse_timestamp(entry.get("timestamp"))
    if ts is None:
        skipped[NO_TIMESTAMP] += 1
        return
    own_model = message.get("model")
    model = own_model if isinstance(own_model, str) and own_model else state.get("model")
    reported = None
    cost = usage.get("cost")
    if isinstance(cost, dict) and type(cost.get("total")) in (int, float) and cost["total"] > 0:
        reported = float(cost["total"])
    tools = []
    content = message.get("content")
    if isinstance(content, list):
        for index, block in enumerate(content):
            if isinstance(block, dict) and block.get("type") == "toolCall" and isinstance(block.get("name"), str):
                tool_id = block.get("id") if isinstance(block.get("id"), str) else f"{entry_id}#{index}"
                tools.append((f"oc:{tool_id}", block["name"]))
    session_id = state["session_id"]
    result.records.append(UsageRecord(
        # The entry id is unique within its session file; an archived `.deleted.<ts>` copy has the same ids.
        dedup_key=f"oc:{session_id}:{entry_id}",
        message_id=f"oc:{session_id}:{entry_id}",
        request_id=None,
        source=OPENCLAW,
        session_id=session_id,
        project=state.get("cwd"),
        agent_id=None,
        is_sidechain=False,
        model=model or "unknown",
        ts_ms=ts,
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_write_5m=counts[2],
        cache_write_1h=0,
        cache_read=counts[3],
        tool_calls=tools,
        reported_cost=reported,
    ))
    info = result.session(session_id, OPENCLAW)
    info.seen(ts)
    if state.get("cwd"):
        info.project = state["cwd"]
