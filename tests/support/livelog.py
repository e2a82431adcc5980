"""Claude Code transcripts written live, shaped like the real ones, with the totals a correct reader must find."""

from __future__ import annotations

import itertools
import json
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_counter = itertools.count(1)


def _token(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


def now_iso(at: float | None = None) -> str:
    """A timestamp like Claude Code writes: ISO-8601 UTC with milliseconds and a `Z`."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Ledger:
    """What a correct reader must end with: one row per response, holding its final (largest) usage."""

    requests: int = 0
    output: int = 0
    cache_read: int = 0

    def add(self, response: Response) -> None:
        self.requests += 1
        self.output += response.output
        self.cache_read += response.cache_read

    def __iadd__(self, other: Ledger) -> Ledger:
        self.requests += other.requests
        self.output += other.output
        self.cache_read += other.cache_read
        return self

    def as_tuple(self) -> tuple[int, int, int]:
        return self.requests, self.output, self.cache_read


@dataclass
class Response:
    message_id: str
    request_id: str
    output: int
    cache_read: int

    @property
    def dedup_key(self) -> str:
        return f"{self.message_id}:{self.request_id}"


class LiveSession:
    """One session file that grows the way Claude Code writes it: a user line, then one assistant line per
    content block of each response (thinking, text, tool_use), sharing message.id and requestId, repeating
    the input/cache usage, with a partial `output_tokens` on every line but the last."""

    def __init__(self, path: Path | str, *, session_id: str | None = None, cwd: str = "/home/u/src/app",
                 model: str = "claude-opus-4-6", agent_id: str | None = None, seed: int | None = None):
        self.path = Path(path)
        self.agent_id = agent_id
        self.session_id = session_id or (self.path.parent.parent.name if agent_id else self.path.stem)
        self.cwd = cwd
        self.model = model
        self.rng = random.Random(seed if seed is not None else next(_counter))
        self.parent: str | None = None
        self.ledger = Ledger()

    # -- lines --------------------------------------------------------------------------------------

    def _envelope(self, kind: str, ts: str) -> dict:
        entry = {"parentUuid": self.parent, "isSidechain": self.agent_id is not None, "userType": "external",
                 "cwd": self.cwd, "sessionId": self.session_id, "version": "2.1.39", "gitBranch": "main",
                 "type": kind, "uuid": f"{_token(self.rng, 8)}-{_token(self.rng, 4)}-{_token(self.rng, 12)}",
                 "timestamp": ts}
        if self.agent_id:
            entry["agentId"] = self.agent_id
        self.parent = entry["uuid"]
        return entry

    def user_line(self, pad: int = 200, ts: str | None = None) -> bytes:
        """A tool_result user line; `pad` bytes of tool output make corpora realistically large."""
        entry = self._envelope("user", ts or now_iso())
        entry["message"] = {"role": "user", "content": [
            {"tool_use_id": f"toolu_{_token(self.rng, 24)}", "type": "tool_result", "content": "x" * pad}]}
        return _dump(entry)

    def response_lines(self, *, output: int | None = None, cache_read: int | None = None, cache_5m: int | None = None,
                       cache_1h: int = 0, blocks: int = 3, message_id: str | None = None,
                       ts: str | None = None) -> tuple[list[bytes], Response]:
        rng = self.rng
        output = output if output is not None else rng.randint(20, 3000)
        cache_read = cache_read if cache_read is not None else rng.randint(10_000, 200_000)
        cache_5m = cache_5m if cache_5m is not None else rng.randint(0, 20_000)
        response = Response(message_id or f"msg_01{_token(rng, 22)}", f"req_011C{_token(rng, 20)}", output, cache_read)
        kinds = ["thinking", "text"] + ["tool_use"] * max(blocks - 2, 0)
        lines = []
        for index, kind in enumerate(kinds[:blocks]):
            last = index == blocks - 1
            block = ({"type": "thinking", "thinking": "…", "signature": _token(rng, 16)} if kind == "thinking" else
                     {"type": "text", "text": "…"} if kind == "text" else
                     {"type": "tool_use", "id": f"toolu_{_token(rng, 24)}", "name": "Bash", "input": {"command": "…"}})
            entry = self._envelope("assistant", ts or now_iso())
            entry["message"] = {
                "model": self.model, "id": response.message_id, "type": "message", "role": "assistant",
                "content": [block], "stop_reason": None, "stop_sequence": None,
                "usage": {"input_tokens": 3, "cache_creation_input_tokens": cache_5m + cache_1h,
                          "cache_read_input_tokens": cache_read,
                          "cache_creation": {"ephemeral_5m_input_tokens": cache_5m,
                                             "ephemeral_1h_input_tokens": cache_1h},
                          "output_tokens": output if last else rng.randint(1, min(9, output)),
                          "service_tier": "standard", "inference_geo": "global"}}
            entry["requestId"] = response.request_id
            lines.append(_dump(entry))
        return lines, response

    # -- writing ------------------------------------------------------------------------------------

    def append(self, data: bytes | list[bytes]) -> None:
        """Append and flush, as a writer process does: readers see the bytes as soon as this returns."""
        if isinstance(data, list):
            data = b"".join(data)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as f:
            f.write(data)

    def respond(self, pad: int = 200, **kwargs) -> Response:
        """Append a user line and a whole response; the ledger counts it once."""
        lines, response = self.response_lines(**kwargs)
        self.append([self.user_line(pad)] + lines)
        self.ledger.add(response)
        return response


def _dump(entry: dict) -> bytes:
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def make_corpus(projects: Path, files: int = 20, responses: int = 30, pad: int = 2000, seed: int = 7) -> Ledger:
    """`files` sessions across a few project dirs (every fifth with a sub-agent file), written in one go."""
    ledger = Ledger()
    for index in range(files):
        project = projects / f"-home-u-src-app{index % 4}"
        session = LiveSession(project / f"{index:08d}-0000-4000-8000-{seed:012d}.jsonl", seed=seed * 1000 + index)
        project.mkdir(parents=True, exist_ok=True)
        with open(session.path, "ab") as f:
            for _ in range(responses):
                lines, response = session.response_lines()
                f.write(session.user_line(pad) + b"".join(lines))
                ledger.add(response)
        if index % 5 == 0:
            agent = LiveSession(project / session.session_id / "subagents" / "agent-a1b2c3.jsonl", agent_id="a1b2c3",
                                seed=seed * 1000 + index + 500)
            for _ in range(responses // 3):
                agent.respond(pad)
            ledger += agent.ledger
    return ledger


def db_totals(db_path: Path | str) -> tuple[int, int, int]:
    """(rows, output tokens, cache-read tokens) in the store's requests table, read without writing anything."""
    if not os.path.exists(db_path):
        return 0, 0, 0
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    try:
        row = con.execute("SELECT COUNT(*), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read), 0) "
                          "FROM requests").fetchone()
    except sqlite3.OperationalError:  # the writer has not created the schema yet
        return 0, 0, 0
    finally:
        con.close()
    return tuple(row)


def wait_for(condition, timeout: float = 5.0, interval: float = 0.02, message: str = ""):
    """Poll `condition()` until it returns something truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)
