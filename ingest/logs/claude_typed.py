"""The fast reading of a Claude Code `assistant` line: a typed `msgspec` decoder for the common, well-formed case.

It decodes only the fields a usage record needs (the text, thinking and tool inputs of the message are skipped
without being built as Python objects) and checks their types while decoding, so the well-formed line needs almost
no Python. Anything else (a field of another type, a null count, a count out of range, an unusual shape, bad JSON or
bad UTF-8) returns None, and the caller reads the line the careful way (`claude._read_assistant`), which decides
what it is and counts it if it is skipped: the fast path only ever gives the answer the careful one would."""

from __future__ import annotations

import msgspec

from .jsonl import BOM, MAX_INPUT_SIDE, MAX_OUTPUT


class _Block(msgspec.Struct):
    type: str | None = None
    name: str | None = None
    id: str | None = None


class _Split(msgspec.Struct):
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0


class _ServerTools(msgspec.Struct):
    web_search_requests: int = 0


class _Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation: _Split | None = None
    server_tool_use: _ServerTools | None = None
    speed: str | None = None
    inference_geo: str | None = None


class _Message(msgspec.Struct):
    usage: _Usage
    id: str = ""
    model: str = ""
    content: list[_Block] | None = None


class _Entry(msgspec.Struct):
    type: str
    message: _Message
    requestId: str | None = None  # noqa: N815 (the log's own names)
    sessionId: str | None = None  # noqa: N815
    agentId: str | None = None  # noqa: N815
    isSidechain: bool | None = None  # noqa: N815
    cwd: str | None = None
    timestamp: str | None = None
    gitBranch: str | None = None  # noqa: N815


_decode = msgspec.json.Decoder(_Entry).decode
_Error = (msgspec.DecodeError, msgspec.ValidationError)  # (ValidationError is a DecodeError; named for the reader)


def assistant_fields(line: bytes) -> tuple | None:
    """The fields `claude._assistant` builds a record from, in the form `claude._read_assistant` returns them, or
    None when this line is not the plain well-formed case."""
    if line.startswith(BOM):
        line = line[3:]
    try:
        entry = _decode(line)
    except _Error:
        return None
    message = entry.message
    model, message_id = message.model, message.id
    if entry.type != "assistant" or not message_id or not model or model == "<synthetic>":
        return None
    u = message.usage
    inp, cache_write, cache_read, out = (u.input_tokens, u.cache_creation_input_tokens, u.cache_read_input_tokens,
                                         u.output_tokens)
    if inp < 0 or cache_write < 0 or cache_read < 0 or out < 0 or out > MAX_OUTPUT \
            or inp + cache_write + cache_read > MAX_INPUT_SIDE:
        return None
    write_1h = 0
    split = u.cache_creation
    if split is not None:
        write_5m, write_1h = split.ephemeral_5m_input_tokens, split.ephemeral_1h_input_tokens
        if not (0 <= write_5m <= MAX_INPUT_SIDE and 0 <= write_1h <= MAX_INPUT_SIDE):
            return None
        if not cache_write:  # some writers give only the split
            cache_write = write_5m + write_1h
            if inp + cache_write + cache_read > MAX_INPUT_SIDE:
                return None
        write_1h = min(write_1h, cache_write)
    searches = 0
    if u.server_tool_use is not None:
        searches = u.server_tool_use.web_search_requests
        if not 0 <= searches <= MAX_OUTPUT:
            return None
    tools = []
    if message.content:
        for block in message.content:
            if block.type == "tool_use" and block.name is not None and block.id is not None:
                tools.append((block.id, block.name))
    return (message_id, entry.requestId or None, entry.sessionId or None, entry.agentId, entry.isSidechain is True,
            entry.cwd, model, (inp, out, cache_write - write_1h, write_1h, cache_read, searches), u.speed,
            u.inference_geo, tools, entry.timestamp, entry.gitBranch)
