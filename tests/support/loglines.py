"""Builders for crafted Claude Code and OpenClaw log lines, shaped like the real transcripts."""

from __future__ import annotations

import json

SESSION = "11111111-2222-3333-4444-555555555555"


def assistant(msg_id: str, req_id: str | None = "req_1", *, output: int = 10, input_: int = 3, cache_5m: int = 0,
              cache_1h: int = 0, cache_read: int = 0, model: str = "claude-sonnet-4-5-20250929",
              ts: str = "2026-11-20T10:00:00.000Z", session: str = SESSION, sidechain: bool = False,
              agent: str | None = None, tools: tuple[str, ...] = (), text: str = "hello", speed: str | None = None,
              cwd: str = "/home/u/src/app", branch: str = "main", split: bool = True) -> str:
    usage = {"input_tokens": input_, "cache_creation_input_tokens": cache_5m + cache_1h,
             "cache_read_input_tokens": cache_read, "output_tokens": output, "service_tier": "standard"}
    if split:
        usage["cache_creation"] = {"ephemeral_5m_input_tokens": cache_5m, "ephemeral_1h_input_tokens": cache_1h}
    if speed:
        usage["speed"] = speed
    content = [{"type": "text", "text": text}]
    content += [{"type": "tool_use", "id": f"toolu_{msg_id}_{name}_{i}", "name": name, "input": {"secret": text}}
                for i, name in enumerate(tools)]
    entry = {"parentUuid": None, "isSidechain": sidechain, "userType": "external", "cwd": cwd, "sessionId": session,
             "version": "2.1.39", "gitBranch": branch, "type": "assistant", "timestamp": ts,
             "message": {"id": msg_id, "type": "message", "role": "assistant", "model": model, "content": content,
                         "stop_reason": None, "usage": usage},
             "uuid": f"u-{msg_id}-{output}"}
    if req_id is not None:
        entry["requestId"] = req_id
    if agent:
        entry["agentId"] = agent
    return json.dumps(entry, separators=(",", ":"))


def user(text: str = "please do it", ts: str = "2026-11-20T09:59:00.000Z", session: str = SESSION) -> str:
    return json.dumps({"type": "user", "sessionId": session, "timestamp": ts, "cwd": "/home/u/src/app",
                       "message": {"role": "user", "content": text}}, separators=(",", ":"))


def progress_with_usage(msg_id: str, output: int = 500, session: str = SESSION) -> str:
    """An agent_progress line embedding a sub-agent's assistant message with usage: must never count."""
    inner = json.loads(assistant(msg_id, "req_inner", output=output, session=session))
    return json.dumps({"type": "progress", "sessionId": session, "timestamp": "2026-11-20T10:00:01.000Z",
                       "data": {"type": "agent_progress", "message": inner}}, separators=(",", ":"))


def summary(title: str) -> str:
    return json.dumps({"type": "summary", "summary": title, "leafUuid": "x"})


def openclaw_session(session_id: str, cwd: str = "/home/u/bot") -> str:
    return json.dumps({"type": "session", "version": 3, "id": session_id, "timestamp": "2026-11-20T10:00:00.000Z",
                       "cwd": cwd})


def openclaw_model_change(model: str, provider: str = "anthropic", entry_id: str = "mc1") -> str:
    return json.dumps({"type": "model_change", "id": entry_id, "provider": provider, "modelId": model})


def openclaw_assistant(entry_id: str, *, input_: int = 100, output: int = 50, cache_read: int = 0,
                       cache_write: int = 0, model: str | None = "claude-sonnet-4-5", ts_ms: int = 1_763_632_800_000,
                       cost_total: float = 0.0, tools: tuple[str, ...] = ()) -> str:
    message = {"role": "assistant", "content": [{"type": "text", "text": "secret reply"}] +
               [{"type": "toolCall", "id": f"call_{entry_id}_{i}", "name": n, "arguments": {"path": "/etc/x"}}
                for i, n in enumerate(tools)],
               "usage": {"input": input_, "output": output, "cacheRead": cache_read, "cacheWrite": cache_write,
                         "totalTokens": input_ + output + cache_read + cache_write,
                         "cost": {"input": 0, "output": 0, "cacheRead": 0, "cacheWrite": 0, "total": cost_total}},
               "provider": "anthropic", "stopReason": "stop", "timestamp": ts_ms}
    if model:
        message["model"] = model
    return json.dumps({"type": "message", "id": entry_id, "parentId": None, "timestamp": "2026-11-20T10:00:00.000Z",
                       "message": message})


def write_lines(path, lines, mode: str = "w") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode) as f:
        for line in lines:
            f.write(line + "\n")


def cost_state(total: float, models: dict[str, dict] | None = None, ts: str | None = "2026-11-20T11:00:00.000Z",
               session: str = SESSION, **extra) -> str:
    """A `cost-state` line: Claude Code's own cumulative figures for the session (never usage)."""
    entry = {"type": "cost-state", "sessionId": session, "totalCostUSD": total, "totalAPIDuration": 1234,
             "totalDuration": 5678, "modelUsage": models or {}, **extra}
    if ts is not None:
        entry["timestamp"] = ts
    return json.dumps(entry, separators=(",", ":"))


def model_usage(input_: int = 0, output: int = 0, cache_read: int = 0, cache_write: int = 0, searches: int = 0,
                cost: float = 0.0) -> dict:
    return {"inputTokens": input_, "outputTokens": output, "cacheReadInputTokens": cache_read,
            "cacheCreationInputTokens": cache_write, "webSearchRequests": searches, "costUSD": cost}


def with_fields(line: str, **fields) -> str:
    """The same line with top-level envelope fields added (`apiBlockIndex`, `attributionSkill`, …)."""
    entry = json.loads(line)
    entry.update(fields)
    return json.dumps(entry, separators=(",", ":"))
