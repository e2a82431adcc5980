#!/usr/bin/env python3
"""Deterministic generator of realistic Claude Code + OpenClaw log corpora, with their expected totals.

    python tests/bench/gen_corpus.py --out DIR --size 100MB --seed 42 [--single-file]

writes a fake HOME under DIR/home (see tests/bench/README.md for the layout) and DIR/expected.json: the totals
a correct reader must find under the dedup rule of docs/log-formats.md. The expected totals are computed
from the generator's own model of what it wrote (which response is new, which line is a copy or a trap),
not by parsing the output, so a reader and this file are two independent routes to the same numbers.

Line shapes are copied from real transcripts (shared/real-logs, Claude Code 2.1.39) and the
pi-coding-agent v3 session format. Only the standard library is used, so the corpus is byte-identical
for the same (seed, size, mode) on any machine.

Speed: most bytes are tool output (tool_result blocks, toolUseResult copies, agent_progress embeds).
That text is never generated per line: one ~2 MB pool of JSON-escaped text is built once and lines
splice memoryview slices of it (cut on line boundaries, so a slice is always a valid JSON string body)
between the json-encoded parts of the line. Only the small envelope goes through json.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import math
import random
import re
import sys
import time
import uuid
from pathlib import Path

# --------------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------------

DAY_MS = 86_400_000
SPAN_DAYS = 120  # timestamps spread over the last ~120 days before the epoch
BASE_EPOCH_MS = 1_772_323_200_000  # 2026-03-01T00:00:00Z; the seed shifts it by whole days

OPUS46 = "claude-opus-4-6"
OPUS45 = "claude-opus-4-5-20251101"
SONNET45 = "claude-sonnet-4-5-20250929"
HAIKU45 = "claude-haiku-4-5-20251001"
CC_MODELS = [OPUS46, OPUS45, SONNET45, HAIKU45]
CC_MODEL_WEIGHTS = [45, 20, 25, 10]
SUBAGENT_MODEL_WEIGHTS = [25, 10, 30, 35]
# pi-coding-agent writes the provider's short ids (no date suffix).
OC_MODELS = ["claude-opus-4-6", "claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"]
OC_MODEL_WEIGHTS = [35, 15, 35, 15]
# USD per million tokens (input, output, cache write 5m, cache read): only to fill OpenClaw's own cost{}.
OC_PRICES = {"opus": (5.0, 25.0, 6.25, 0.5), "sonnet": (3.0, 15.0, 3.75, 0.3), "haiku": (1.0, 5.0, 1.25, 0.1)}

MS_PER_BYTE = 9.0  # measured pace of a transcript at tscale 1 (~9 s of wall time per KB written)
LONG_CONTEXT_THRESHOLD = 200_000  # Sonnet 4.5 bills the whole request at a premium above this total input
SYSTEM_PROMPT_TOKENS = 11_442  # the globally cached system prompt every first request reads

VERSIONS = ["2.0.76", "2.1.20", "2.1.31", "2.1.39", "2.1.50"]
LEGACY_VERSION = "1.0.88"  # old builds: no cache_creation{5m,1h} split -> a reader must treat it all as 5m

PROJECTS = [  # (cwd, git branch, root): two projects live under the second root ~/.config/claude
    ("/home/dev/src/tokentop", "main", ".claude"),
    ("/home/dev/src/api-server", "feature/rate-limits", ".claude"),
    ("/home/dev/src/web.app", "main", ".claude"),
    ("/home/dev/work/infra/terraform", "staging", ".config/claude"),
    ("/home/dev/src/ml_pipeline", "exp/new-loader", ".claude"),
    ("/home/dev/notes", "", ".config/claude"),
    ("C:\\Users\\dev\\src\\winapp", "main", ".claude"),
    ("/home/dev/src/spotter-worktrees/spotter-dov", "spotter-dov", ".claude"),
]
PROJECT_WEIGHTS = [30, 20, 15, 10, 10, 5, 3, 7]
OC_AGENTS = ["main", "main", "main", "work", "research"]

PROMPTS = [
    "Fix the failing test in tests/test_parser.py and explain what was wrong.",
    "Add a --json flag to the report command. Keep the table output as the default.",
    "Why is the daily total different from what /usage shows? Investigate and fix.",
    "Refactor the store module so writes are batched in one transaction per file.",
    "Run the benchmarks and tell me where the time goes.",
    "Review the diff on this branch and point out anything risky.",
    "Write a migration that adds an index on (session_id, ts_ms).",
    "The watcher misses files created while it starts up. Reproduce and fix it.",
    "Update the README with the new install steps, keep it short.",
    "Implement the weekly cap bar in the TUI; it should turn red above 90%.",
    "café ☕ — make the config loader accept UTF-8 paths like ~/Documents/Projekte/über",
]
TEXTS = [
    "I'll start by looking at the relevant files.",
    "Let me check the current implementation first.",
    "Found it. The parser keeps the first line of each response, which under-counts output.",
    "Now let me run the tests to confirm the fix.",
    "All tests pass. Here is a summary of the changes:\n\n- dedup now keeps the largest total\n- added a regression test",
    "The benchmark shows most of the time is spent in json.loads on tool_result lines.",
    "I need to read the rest of the module before changing it.",
]
THINKING = [
    "The user wants the totals to match /usage. The likely cause is duplicate lines from resumed sessions.",
    "Let me think about where the cache tokens are double counted: every line of a response repeats them.",
    "I should check whether the sidechain copy shares the message id with the main thread.",
    "First read the file, then make the smallest change that fixes it, then run the tests.",
]
SUMMARIES = [
    "Fix dedup of streamed assistant lines", "Add JSON output to report command", "Investigate /usage mismatch",
    "Batch store writes per file", "TUI weekly cap bar", "Watcher startup race",
]
SLUG_WORDS = ["radiant", "floating", "music", "quiet", "amber", "swift", "lunar", "copper", "gentle", "river"]
TOOLS = ["Read", "Read", "Read", "Bash", "Bash", "Grep", "Glob", "Edit", "Edit", "Write", "TodoWrite",
         "mcp__github__get_issue", "WebFetch"]
B62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
HEX = "0123456789abcdef"

PH = "@@B@@"  # placeholder string spliced with a pool slice after json encoding
PH_B = PH.encode()
# Bytes that some line splitters (str.splitlines, universal newlines) treat as line breaks: garbage lines
# never contain them, so "a line" means the same thing to every reader.
_BAD_GARBAGE = b"\n\r\x0b\x0c\x1c\x1d\x1e\x85\xe2"
GARBAGE_TABLE = bytes((b if b not in _BAD_GARBAGE else 0x3F) for b in range(256))

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def iso(ms: int) -> str:
    """ISO-8601 UTC with milliseconds and Z, the form Claude Code writes."""
    s, m = divmod(ms, 1000)
    t = time.gmtime(s)
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}.{m:03d}Z"


def escape_cwd(cwd: str) -> str:
    return re.sub(r"[/.\\:]", "-", cwd)


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)B?\s*", text.upper())
    if not m:
        raise argparse.ArgumentTypeError(f"size must look like 5MB, 100MB, 1GB (got {text!r})")
    return int(float(m.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[m.group(2)])


def zero_usage() -> list[int]:
    return [0, 0, 0, 0, 0, 0]  # requests, input, output, cache 5m, cache 1h, cache read


USAGE_KEYS = ["requests", "input_tokens", "output_tokens", "cache_creation_5m_tokens",
              "cache_creation_1h_tokens", "cache_read_tokens"]


def usage_dict(acc: list[int]) -> dict:
    return dict(zip(USAGE_KEYS, acc))


# --------------------------------------------------------------------------------------------------
# The text pool (tool output) and output files
# --------------------------------------------------------------------------------------------------

def build_pool(seed: int, size: int = 2 << 20) -> tuple[memoryview, list[int]]:
    """~2 MB of tool-output-like text, JSON-escaped, plus the offset where each text line starts.

    Mixes Read output (numbered code lines with the real "→" marker), grep hits, test runs and compiler
    warnings with box-drawing characters; includes quotes, backslashes and tabs so readers exercise escapes.
    """
    r = random.Random(seed * 7919 + 17)
    names = ["parse_line", "dedup", "store_batch", "render", "load_config", "walk_roots", "price_for", "tail"]
    mods = ["ingest/parser", "ingest/store", "tui/app", "widgets/bars", "ingest/watch", "ingest/prices"]
    parts, offs, total, n = [], [0], 0, 1
    while total < size:
        x = r.random()
        if x < 0.55:  # Read tool: numbered source lines
            ind = " " * (4 * r.randint(0, 3))
            stmt = r.choice([
                f"def {r.choice(names)}(self, line: bytes) -> dict | None:",
                f"return self._{r.choice(names)}(key, {r.randint(0, 9999)})",
                f'raise ValueError(f"bad line {{n}}: {{raw!r}} in \\"{r.choice(mods)}.py\\"")',
                f"# {r.choice(THINKING)}",
                f"totals[key] = max(totals.get(key, 0), {r.randint(1, 99999)})",
                f'path = Path(r"C:\\Users\\dev\\{r.choice(names)}")\tif WINDOWS else Path.home()',
                "",
            ])
            text = f"{n:>6}→{ind}{stmt}"
            n += 1
        elif x < 0.75:  # Grep hits
            text = f"src/{r.choice(mods)}.py:{r.randint(1, 900)}:    {r.choice(names)}(\"{r.choice(SLUG_WORDS)}\")"
        elif x < 0.9:  # test run
            text = (f"tests/test_{r.choice(names)}.py::test_{r.choice(SLUG_WORDS)}_{r.randint(1, 99)} "
                    f"{r.choice(['PASSED', 'PASSED', 'PASSED', 'FAILED', 'SKIPPED'])} [{r.randint(0, 100):>3}%]")
        else:  # compiler warning with box drawing, as in real bash_progress output
            text = f"     │\n {r.randint(1, 999):>3} │     {r.choice(names)}() ✓\n     └─ lib/{r.choice(mods)}.ex:{r.randint(1, 999)}"
        esc = json.dumps(text + "\n", ensure_ascii=False)[1:-1].encode()
        parts.append(esc)
        total += len(esc)
        offs.append(total)
    return memoryview(b"".join(parts)), offs


class Out:
    """One output file: buffered writes plus the per-file counts the expected totals need.

    Counts are per file so that a resumed session can copy a prefix of a file together with exactly the
    counts of that prefix.
    """

    def __init__(self, path: Path | None, corpus: Corpus):
        self.path = path
        self.corpus = corpus
        self.real = path is not None  # a None path discards lines (sub-agents in --single-file mode)
        if self.real:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.f = open(path, "wb", buffering=4 << 20)
        self.n = 0  # bytes
        self.lines = 0
        self.bad = 0  # unparseable lines
        self.wrong = 0  # parseable assistant lines with a wrongly typed usage field
        self.naive = zero_usage()  # every well-typed assistant line, summed as is
        self.prog = zero_usage()  # usage embedded in progress lines
        self.capture: list | None = None  # chunks kept for a later resumed-session copy

    def put(self, chunks) -> None:
        if not self.real:
            return
        w = self.f.write
        n = 0
        for c in chunks:
            w(c)
            n += len(c)
        self.n += n
        self.corpus.bytes += n
        self.lines += 1
        if self.capture is not None:
            self.capture.extend(chunks)

    def close(self) -> None:
        if not self.real:
            return
        self.f.close()
        c = self.corpus
        c.files += 1
        c.lines += self.lines
        c.bad += self.bad
        c.wrong += self.wrong
        for i in range(6):
            c.naive[i] += self.naive[i]
            c.prog[i] += self.prog[i]


class Sess:
    """State of one transcript being written: a Claude Code session, a sub-agent, or an OpenClaw session."""

    def __init__(self, **kw):
        self.side = False
        self.agent_id = None
        self.mirror = None  # (main Sess, parentToolUseID, prompt) for sub-agents echoed as agent_progress
        self.parent = None
        self.force: set[str] = set()
        self.ttl = "5m"
        self.legacy = False
        self.speed_field = False
        self.hooks = False
        self.tscale = 1.0  # < 1 compresses time so a long transcript still fits before the epoch
        self.raw = 0  # unscaled ms elapsed so far, to measure this transcript's pace
        self.cached = 0  # tokens already in the prompt cache
        self.pending = 0  # tokens added since the last request (become cache writes)
        self.last_req_t = 0
        self.last_final = None  # (response, its last block) of the last main-thread response, for side replays
        self.__dict__.update(kw)


class Corpus:
    def __init__(self, out_dir: Path, size: int, seed: int, single_file: bool = False, realistic: bool = False):
        self.out_dir = Path(out_dir)
        self.realistic = realistic
        # Real transcripts hold less tool output per response than the default mix, and longer thinking and answers:
        # with tool output at ~0.15x and text of ~2.5 KB, assistant lines are ~47% of the bytes (default mix: ~12%).
        self.tool_median = 900 if realistic else 6000
        self.text_median = 2500
        self.home = self.out_dir / "home"
        self.size = size
        self.seed = seed
        self.single = single_file
        self.rng = random.Random(seed)
        self.pool, self.offs = build_pool(seed)
        self.epoch_ms = BASE_EPOCH_MS + (seed % 31) * DAY_MS  # fixed, from the seed: never the wall clock
        self.start_ms = self.epoch_ms - SPAN_DAYS * DAY_MS
        self.hard_end = self.epoch_ms - 3_600_000
        self.sig = "".join(random.Random(seed + 3).choices(B62 + "+/", k=1200))
        # global counters
        self.bytes = self.files = self.lines = self.bad = self.wrong = 0
        self.naive, self.prog = zero_usage(), zero_usage()
        self.sessions = {"claude_code": 0, "openclaw": 0}
        self.totals = {"claude_code": zero_usage(), "openclaw": zero_usage()}
        self.by_day: dict[str, list[int]] = {}
        self.by_model: dict[str, dict[str, list[int]]] = {}
        self.features: dict[str, int] = {}
        self.resume_pool: list[dict] = []  # captured session prefixes that later sessions resume from
        self.oc_ids: set[str] = set()
        # trap rates: ~0.1% of lines malformed overall
        self.p_trunc, self.p_garbage, self.p_wrong = 0.0004, 0.0003, 0.0015

    # ---------------------------------------------------------------- small helpers

    def feat(self, name: str, n: int = 1) -> None:
        self.features[name] = self.features.get(name, 0) + n

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def rid(self, prefix: str, n: int) -> str:
        return prefix + "".join(self.rng.choices(B62, k=n))

    def hexid(self, n: int) -> str:
        return "".join(self.rng.choices(HEX, k=n))

    def blob(self, size: int) -> memoryview:
        """A slice of the pool of about `size` bytes, cut on text-line boundaries (valid JSON string body)."""
        size = max(60, min(size, 120_000))
        offs = self.offs
        top = bisect.bisect_right(offs, len(self.pool) - size - 1) - 1
        i = self.rng.randrange(max(1, top))
        j = bisect.bisect_left(offs, offs[i] + size, i + 1)
        return self.pool[offs[i]:offs[j]]

    def tool_size(self, s: Sess) -> int:
        # Log-normal: median ~6 KB, long tail to ~100 KB, as real tool output; capped for tiny sessions.
        v = int(self.rng.lognormvariate(math.log(self.tool_median), 1.1))
        return max(200, min(v, 100_000, s.target // 5 if s.target else 100_000))

    def tick(self, s: Sess, lo: int, hi: int) -> int:
        """Advance a transcript's clock; approaches hard_end asymptotically so it never passes the epoch."""
        raw = self.rng.randint(lo, hi)
        s.raw += raw
        step = int(raw * s.tscale) + 1
        s.t += max(1, min(step, (self.hard_end - s.t) // 64))
        return s.t

    def enc(self, obj: dict, blob: memoryview | None = None) -> list:
        """Encode a line as chunks: json for the envelope, the pool slice spliced in at each placeholder."""
        b = _encode(obj).encode()
        if blob is None:
            return [b + b"\n"]
        parts = b.split(PH_B)
        chunks = [parts[0]]
        for p in parts[1:]:
            chunks.append(blob)
            chunks.append(p)
        chunks[-1] = chunks[-1] + b"\n"
        return chunks

    def count(self, source: str, ts_ms: int, model: str, u: tuple, tier: str) -> None:
        """Add one unique response to the expected totals (called exactly once per counted response)."""
        inp, out, c5, c1, cr = u
        self.feat(f"{source}_{tier}")
        row = (1, inp, out, c5, c1, cr)
        for acc in (self.totals[source],
                    self.by_day.setdefault(iso(ts_ms)[:10], zero_usage()),
                    self.by_model.setdefault(model, {}).setdefault(tier, zero_usage())):
            for i in range(6):
                acc[i] += row[i]

    # ---------------------------------------------------------------- writing lines (+ trap insertion)

    def line(self, s: Sess, obj: dict, blob=None) -> list:
        """Write one line of a transcript; may follow it by a malformed line (truncated copy or garbage)."""
        chunks = self.enc(obj, blob)
        s.out.put(chunks)
        if s.mirror is not None and obj.get("type") in ("user", "assistant"):
            self.progress_agent(s, obj, blob)
        r = self.rng.random()
        if r < self.p_trunc or "trunc" in s.force:
            s.force.discard("trunc")
            self.malformed_truncated(s, chunks)
        elif r < self.p_trunc + self.p_garbage or "garbage" in s.force:
            s.force.discard("garbage")
            self.malformed_garbage(s)
        return chunks

    def malformed_truncated(self, s: Sess, chunks: list) -> None:
        """A copy of the line cut short (a crash mid-write): never valid JSON, may cut a UTF-8 sequence."""
        whole = b"".join(bytes(c) for c in chunks)[:-1]
        cut = self.rng.randrange(1, len(whole))
        s.out.put([whole[:cut] + b"\n"])
        s.out.bad += 1
        self.feat("malformed_truncated")

    def malformed_garbage(self, s: Sess) -> None:
        """Binary garbage (disk corruption, NUL padding); contains no byte any reader could take as a newline."""
        g = self.rng.randbytes(self.rng.randint(8, 300)).translate(GARBAGE_TABLE)
        s.out.put([b"\x00\xff" + g + b"\n"])
        s.out.bad += 1
        self.feat("malformed_garbage")

    def envelope(self, s: Sess, typ: str | None = None) -> dict:
        d = {"parentUuid": s.parent, "isSidechain": s.side, "userType": "external", "cwd": s.cwd,
             "sessionId": s.sid, "version": s.version, "gitBranch": s.branch}
        if s.agent_id:
            d["agentId"] = s.agent_id
        if s.slug:
            d["slug"] = s.slug
        if typ:
            d["type"] = typ
        return d

    # ---------------------------------------------------------------- Claude Code line kinds

    def cc_summary(self, s: Sess) -> None:
        self.line(s, {"type": "summary", "summary": self.rng.choice(SUMMARIES), "leafUuid": self.uuid()})
        self.feat("summary")

    def cc_snapshot(self, s: Sess, message_id: str) -> None:
        self.line(s, {"type": "file-history-snapshot", "messageId": message_id,
                      "snapshot": {"messageId": message_id, "trackedFileBackups": {}, "timestamp": iso(s.t)},
                      "isSnapshotUpdate": False})

    def cc_hook_progress(self, s: Sess, event: str, tool_id: str) -> None:
        u = self.uuid()
        d = self.envelope(s, "progress")
        d["data"] = {"type": "hook_progress", "hookEvent": event, "hookName": f"{event}:startup" if event == "SessionStart" else event,
                     "command": "/home/dev/.claude/hooks/tmux-waiting.sh mark"}
        d.update(parentToolUseID=tool_id, toolUseID=tool_id, timestamp=iso(self.tick(s, 1, 40)), uuid=u)
        self.line(s, d)
        s.parent = u

    def cc_bash_progress(self, s: Sess, tool_id: str, k: int) -> None:
        u = self.uuid()
        d = self.envelope(s, "progress")
        b = self.blob(self.rng.randint(150, 1500))
        d["data"] = {"type": "bash_progress", "output": PH, "fullOutput": PH, "elapsedTimeSeconds": k + 1,
                     "totalLines": self.rng.randint(5, 400), "timeoutMs": 120000}
        d.update(toolUseID=f"bash-progress-{k}", parentToolUseID=tool_id, uuid=u, timestamp=iso(self.tick(s, 500, 1500)))
        self.line(s, d, b)
        s.parent = u

    def cc_user_prompt(self, s: Sess, text: str | None = None) -> str:
        u = self.uuid()
        self.cc_snapshot(s, u)
        d = self.envelope(s, "user")
        d["message"] = {"role": "user", "content": text or self.rng.choice(PROMPTS)}
        d.update(uuid=u, timestamp=iso(self.tick(s, 2_000, 60_000)),
                 thinkingMetadata={"maxThinkingTokens": 31999}, todos=[], permissionMode="bypassPermissions")
        self.line(s, d)
        s.parent = u
        s.pending += self.rng.randint(20, 800)
        return u

    def cc_system(self, s: Sess, subtype: str, **extra) -> None:
        u = self.uuid()
        d = self.envelope(s, "system")
        d["subtype"] = subtype
        d.update(extra)
        d.update(timestamp=iso(self.tick(s, 5, 200)), uuid=u)
        self.line(s, d)
        s.parent = u

    def cc_queue_op(self, s: Sess) -> None:
        self.line(s, {"type": "queue-operation", "operation": "enqueue", "timestamp": iso(s.t), "sessionId": s.sid,
                      "content": "<task-notification>\n<status>completed</status>\n</task-notification>"})

    def usage(self, s: Sess, inp: int, c5: int, c1: int, cr: int, out: int, speed: str | None) -> dict:
        u = {"input_tokens": inp, "cache_creation_input_tokens": c5 + c1, "cache_read_input_tokens": cr}
        if not s.legacy:
            u["cache_creation"] = {"ephemeral_5m_input_tokens": c5, "ephemeral_1h_input_tokens": c1}
        u["output_tokens"] = out
        u["service_tier"] = "standard"
        if speed:
            u["speed"] = speed
        if not s.legacy:
            u["inference_geo"] = "global"
        return u

    def new_response(self, s: Sess, n_blocks: int, has_thinking: bool) -> dict:
        """Token counts of one API response, from the session's cache model."""
        rng = self.rng
        # a 5m cache expires after an idle gap: the next request rewrites the context (reads only the system prompt)
        if s.ttl == "5m" and s.last_req_t and s.t - s.last_req_t > 300_000 and s.cached > SYSTEM_PROMPT_TOKENS:
            s.pending += s.cached - SYSTEM_PROMPT_TOKENS
            s.cached = SYSTEM_PROMPT_TOKENS
        creation, cr = s.pending, s.cached
        if s.ttl == "5m" or s.legacy:
            c5, c1 = creation, 0
        elif s.ttl == "1h":
            c5, c1 = 0, creation
        else:
            c1 = creation // 3
            c5 = creation - c1
        inp = rng.choice((1, 2, 3, 3, 3, 5, 7, 8, 10)) if rng.random() > 0.03 else rng.randint(500, 9000)
        final = int(rng.lognormvariate(math.log(900 if has_thinking else 220), 1.0)) + 12 * n_blocks
        partial = rng.randint(1, 10)
        final = max(partial + 1, min(final, 32_000))
        speed = None
        if s.model == OPUS46:
            if rng.random() < 0.01 or "fast" in s.force:
                s.force.discard("fast")
                speed = "fast"
            elif s.speed_field:
                speed = "standard"
        total_in = inp + creation + cr
        tier = "fast" if speed == "fast" else (
            "long_context" if s.model.startswith("claude-sonnet") and total_in > LONG_CONTEXT_THRESHOLD else "standard")
        s.cached = cr + creation
        s.pending = final + 30
        s.last_req_t = s.t
        return {"id": self.rid("msg_01", 22), "req": self.rid("req_011C", 20), "model": s.model,
                "inp": inp, "c5": c5, "c1": c1, "cr": cr, "final": final, "partial": partial, "speed": speed, "tier": tier}

    def block(self, kind: str, tool: str | None = None, tid: str | None = None, s: Sess | None = None) -> dict:
        rng = self.rng
        if kind == "thinking":
            k = rng.randrange(200)
            return {"type": "thinking", "thinking": rng.choice(THINKING), "signature": self.sig[k:k + rng.randint(200, 900)]}
        if kind == "text":
            return {"type": "text", "text": rng.choice(TEXTS)}
        path = f"{s.cwd}/src/{rng.choice(['parser', 'store', 'app', 'bars'])}.py"
        inputs = {
            "Read": {"file_path": path},
            "Bash": {"command": rng.choice(["pytest -q", "git diff --stat", "make bench", "ls -la"]), "description": "Run it"},
            "Grep": {"pattern": rng.choice(["requestId", "def dedup", "cache_read"]), "path": s.cwd, "output_mode": "content"},
            "Glob": {"pattern": "**/*.py"},
            "Edit": {"replace_all": False, "file_path": path, "old_string": "keep = first", "new_string": "keep = largest"},
            "Write": {"file_path": path, "content": "print(\"hello\")\n"},
            "TodoWrite": {"todos": [{"content": "Fix dedup", "status": "in_progress", "activeForm": "Fixing dedup"}]},
            "mcp__github__get_issue": {"owner": "dev", "repo": "tokentop", "issue_number": rng.randint(1, 300)},
            "WebFetch": {"url": "https://docs.anthropic.com/en/docs/claude-code", "prompt": "summarize"},
            "Task": {"subagent_type": "Explore", "description": "Explore the codebase", "prompt": rng.choice(PROMPTS)},
        }
        return {"type": "tool_use", "id": tid, "name": tool, "input": inputs[tool], "caller": {"type": "direct"}}

    def assistant_group(self, s: Sess, blocks: list[dict], resp: dict, interrupted: bool = False,
                        counted: bool = True) -> list[str]:
        """One API response written as one line per content block (as Claude Code streams it).

        All lines share message.id/requestId and repeat input/cache usage; every line but the last carries
        the partial output count, the last one the final count. An interrupted response never gets its
        final line: all its lines carry the partial count (a reader can only know that lower bound).
        Returns the uuid of each line (tool results point at the line holding their tool_use).
        """
        rng = self.rng
        n = len(blocks)
        # line times; a response never straddles a UTC midnight, so its day is unambiguous
        gaps = [rng.randint(300, 2500)] + [rng.randint(150, 1200) for _ in range(n - 1)]
        s.raw += sum(gaps)
        gaps = [max(1, int(g * s.tscale)) for g in gaps]
        if s.t + sum(gaps) >= self.hard_end - 1:  # squeezed against the end of the range: 1 ms apart
            gaps = [1] * n
        t0 = s.t + gaps[0]
        t_last = t0 + sum(gaps[1:])
        if t_last // DAY_MS != t0 // DAY_MS:  # (hard_end is 1 h before a midnight: this stays below it)
            t0 = (t_last // DAY_MS) * DAY_MS + rng.randint(5, 500)
        uuids = []
        t = t0
        for i, blk in enumerate(blocks):
            if i:
                t += gaps[i]
            last = i == n - 1
            out_toks = resp["final"] if last and not interrupted else (1 if interrupted else resp["partial"])
            u = self.uuid()
            blob = None
            if self.realistic and blk["type"] in ("thinking", "text"):  # real thinking and answers run to KBs
                blob = self.blob(int(rng.lognormvariate(math.log(self.text_median), 0.9)))
                blk = dict(blk, **{blk["type"]: PH})
            msg = {"model": resp["model"], "id": resp["id"], "type": "message", "role": "assistant", "content": [blk],
                   "stop_reason": None, "stop_sequence": None,
                   "usage": self.usage(s, resp["inp"], resp["c5"], resp["c1"], resp["cr"], out_toks, resp["speed"])}
            d = self.envelope(s)
            d.update(message=msg, requestId=resp["req"], type="assistant", uuid=u, timestamp=iso(t))
            self.line(s, d, blob)
            self.add_naive(s.out.naive, resp, out_toks)
            s.parent = u
            uuids.append(u)
            if not last and (rng.random() < self.p_wrong or "wrong" in s.force):
                s.force.discard("wrong")
                self.malformed_wrong_type(s, d)
        s.t = t
        if counted and s.out.real:
            final = 1 if interrupted else resp["final"]
            self.count("claude_code", t, resp["model"], (resp["inp"], final, resp["c5"], resp["c1"], resp["cr"]), resp["tier"])
        if interrupted:
            self.feat("interrupted_response")
        if n > 1:
            self.feat("multi_line_response")
        return uuids

    @staticmethod
    def add_naive(acc: list[int], resp: dict, out_toks: int) -> None:
        acc[0] += 1
        acc[1] += resp["inp"]
        acc[2] += out_toks
        acc[3] += resp["c5"]
        acc[4] += resp["c1"]
        acc[5] += resp["cr"]

    def malformed_wrong_type(self, s: Sess, d: dict) -> None:
        """A copy of an early line of the group with one field of the wrong type.

        Being a copy of a partial line (same ids, same or smaller numbers), it changes no total whether a
        reader skips it or coerces it: the only wrong answer is to crash.
        """
        kind = self.rng.randrange(4)
        msg = dict(d["message"])
        usage = dict(msg["usage"])
        if kind == 0:
            usage["output_tokens"] = str(usage["output_tokens"])
        elif kind == 1:
            usage["cache_read_input_tokens"] = None
        elif kind == 2:
            usage["input_tokens"] = [usage["input_tokens"]]
        msg["usage"] = usage if kind != 3 else "n/a"
        bad = dict(d, message=msg, uuid=self.uuid())
        s.out.put(self.enc(bad))
        s.out.wrong += 1
        self.feat("malformed_wrong_type")

    def synthetic(self, s: Sess) -> None:
        """A line Claude Code writes itself (API error, usage limit): model <synthetic>, zero usage, no requestId."""
        rng = self.rng
        kind = rng.randrange(3) if "synthetic" not in s.force else 2
        s.force.discard("synthetic")
        if kind == 0:
            text, err = "No response requested.", False
        elif kind == 1:
            text, err = "API Error: 529 {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", True
        else:
            reset = ((s.t // 1000) // 18000 + 1) * 18000  # next 5-hour boundary, unix seconds
            text, err = f"Claude AI usage limit reached|{reset}", True
        u = self.uuid()
        d = self.envelope(s, "assistant")
        d.update(uuid=u, timestamp=iso(self.tick(s, 200, 3000)))
        d["message"] = {"id": self.uuid(), "container": None, "model": "<synthetic>", "role": "assistant",
                        "stop_reason": "stop_sequence", "stop_sequence": "", "type": "message",
                        "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                                  "cache_read_input_tokens": 0,
                                  "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                                  "service_tier": None,
                                  "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0}},
                        "content": [{"type": "text", "text": text}]}
        if err:
            d["isApiErrorMessage"] = True
        self.line(s, d)
        s.out.naive[0] += 1
        s.parent = u
        self.feat("synthetic")

    def tool_result(self, s: Sess, tool: str, tid: str, au: str, result_text: str | None = None,
                    task_result: dict | None = None) -> None:
        """The user line feeding a tool's output back: most of a corpus's bytes.

        Read/Bash/Grep output is a pool slice that also appears a second time in toolUseResult, as in real
        logs. A Task result carries the sub-agent's usage in toolUseResult (a trap: never a billable line).
        """
        u = self.uuid()
        d = self.envelope(s, "user")
        blob = None
        if tool in ("Read", "Bash", "Grep", "mcp__github__get_issue", "WebFetch"):
            blob = self.blob(self.tool_size(s))
            content = PH
            tur = {"Read": {"type": "text", "file": {"filePath": f"{s.cwd}/src/parser.py", "content": PH,
                                                      "numLines": 200, "startLine": 1, "totalLines": 200}},
                   "Bash": {"stdout": PH, "stderr": "", "interrupted": False, "isImage": False},
                   "Grep": {"mode": "content", "numFiles": 3, "filenames": [], "content": PH, "numLines": 40},
                   }.get(tool, {"result": PH})
            s.pending += len(blob) * 2 // 7
        elif tool == "Task":
            content = [{"type": "text", "text": result_text}]
            tur = task_result
            s.pending += len(result_text) // 3
        else:
            content = result_text or f"The file {s.cwd}/src/parser.py has been updated successfully."
            tur = {"filePath": f"{s.cwd}/src/parser.py", "oldString": "keep = first", "newString": "keep = largest",
                   "structuredPatch": [], "userModified": False}
            s.pending += 60
        d["message"] = {"role": "user", "content": [{"tool_use_id": tid, "type": "tool_result", "content": content,
                                                      "is_error": False}]}
        d.update(uuid=u, timestamp=iso(self.tick(s, 300, 40_000)), toolUseResult=tur, sourceToolAssistantUUID=au)
        self.line(s, d, blob)
        s.parent = u

    def progress_agent(self, sub: Sess, obj: dict, blob) -> None:
        """Echo a sub-agent line into the parent transcript as agent_progress, WITH its usage (never count)."""
        main, parent_tool, prompt = sub.mirror
        inner = {"type": obj["type"], "timestamp": obj["timestamp"], "message": obj["message"]}
        if "requestId" in obj:
            inner["requestId"] = obj["requestId"]
        inner["uuid"] = obj["uuid"]
        u = self.uuid()
        d = self.envelope(main, "progress")
        d["data"] = {"message": inner, "normalizedMessages": [], "type": "agent_progress", "prompt": prompt,
                     "agentId": sub.agent_id}
        d.update(toolUseID=f"agent_{sub.mirror_msg}", parentToolUseID=parent_tool, uuid=u, timestamp=obj["timestamp"])
        self.line(main, d, blob)
        main.parent = u
        usage = obj["message"].get("usage") if obj["type"] == "assistant" else None
        if usage:
            p = main.out.prog
            p[0] += 1
            p[1] += usage["input_tokens"]
            p[2] += usage["output_tokens"]
            cc = usage.get("cache_creation") or {}
            p[3] += cc.get("ephemeral_5m_input_tokens", usage["cache_creation_input_tokens"])
            p[4] += cc.get("ephemeral_1h_input_tokens", 0)
            p[5] += usage["cache_read_input_tokens"]
            self.feat("progress_with_usage")

    # ---------------------------------------------------------------- Claude Code turns and transcripts

    def cc_turn(self, s: Sess, allow_task: bool = True) -> bool:
        """One assistant response and the results of the tools it called. Returns True if the turn ended
        (no tool calls), i.e. the assistant now waits for the user."""
        rng = self.rng
        has_thinking = rng.random() < 0.45
        kinds = (["thinking"] if has_thinking else []) + (["text"] if rng.random() < 0.6 else [])
        n_tools = rng.choice((0, 1, 1, 1, 2, 2, 3, 4)) if rng.random() < 0.8 and "interrupt" not in s.force else 0
        tools = [rng.choice(TOOLS) for _ in range(n_tools)]
        if allow_task and not s.side and (rng.random() < 0.03 or "task" in s.force):
            s.force.discard("task")
            tools.append("Task")
        if not kinds and not tools:
            kinds = ["text"]
        tids = [self.rid("toolu_01", 22) for _ in tools]
        blocks = [self.block(k) for k in kinds] + [self.block("tool_use", t, tid, s) for t, tid in zip(tools, tids)]
        if not tools and (rng.random() < 0.005 or "interrupt" in s.force) and not s.side:
            s.force.discard("interrupt")
            resp = self.new_response(s, len(blocks) + 1, has_thinking)
            self.assistant_group(s, blocks + [self.block("text")], resp, interrupted=True)
            self.cc_user_prompt(s, "[Request interrupted by user]")
            return False
        resp = self.new_response(s, len(blocks), has_thinking)
        uuids = self.assistant_group(s, blocks, resp)
        if not s.side:
            s.last_final = (resp, blocks[-1])
        for k, (tool, tid) in enumerate(zip(tools, tids)):
            au = uuids[len(kinds) + k]
            if s.hooks:
                self.cc_hook_progress(s, "PreToolUse", tid)
            if tool == "Bash":
                for j in range(rng.choice((0, 0, 1, 2, 3))):
                    self.cc_bash_progress(s, tid, j)
            if tool == "Task":
                text, tur = self.cc_subagent(s, tid, blocks[len(kinds) + k]["input"]["prompt"])
                self.tool_result(s, tool, tid, au, text, tur)
            else:
                self.tool_result(s, tool, tid, au)
            if s.hooks:
                self.cc_hook_progress(s, "PostToolUse", tid)
        return not tools

    def cc_subagent(self, main: Sess, parent_tool: str, prompt: str) -> tuple[str, dict]:
        """A Task sub-agent: its own sidechain file, echoed into the parent as agent_progress lines."""
        rng = self.rng
        aid = "a" + self.hexid(6)
        path = None if self.single else main.dir / main.sid / "subagents" / f"agent-{aid}.jsonl"
        sub = Sess(sid=main.sid, cwd=main.cwd, branch=main.branch, version=main.version, slug=main.slug,
                   model=rng.choices(CC_MODELS, SUBAGENT_MODEL_WEIGHTS)[0], t=main.t, side=True, agent_id=aid,
                   ttl="5m", legacy=main.legacy, target=main.target // 3 if main.target else 0,
                   cached=0, pending=rng.randint(9_000, 16_000), tscale=main.tscale)
        sub.out = Out(path, self)
        sub.mirror = (main, parent_tool, prompt)
        sub.mirror_msg = self.rid("msg_01", 22)
        u = self.uuid()
        d = self.envelope(sub, "user")
        d.update(message={"role": "user", "content": prompt}, uuid=u, timestamp=iso(self.tick(sub, 50, 500)))
        self.line(sub, d)
        sub.parent = u
        start = sub.t
        before = list(self.totals["claude_code"])
        for _ in range(rng.randint(2, 7)):
            self.cc_turn(sub, allow_task=False)
        resp = self.new_response(sub, 1, False)
        final_text = "## Report\n\n" + rng.choice(TEXTS)
        self.assistant_group(sub, [{"type": "text", "text": final_text}], resp)
        sub.out.close()
        main.t = max(main.t, sub.t)
        after = self.totals["claude_code"]
        self.feat("subagent_file" if path else "subagent_progress_only")
        tur = {"status": "completed", "prompt": prompt, "agentId": aid, "content": [{"type": "text", "text": final_text}],
               "totalDurationMs": sub.t - start, "totalTokens": sum(after[1:]) - sum(before[1:]),
               "totalToolUseCount": rng.randint(1, 30),
               "usage": {"input_tokens": 0, "cache_creation_input_tokens": resp["c5"] + resp["c1"],
                         "cache_read_input_tokens": resp["cr"], "output_tokens": resp["final"],
                         "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
                         "service_tier": "standard",
                         "cache_creation": {"ephemeral_1h_input_tokens": resp["c1"], "ephemeral_5m_input_tokens": resp["c5"]},
                         "inference_geo": "", "iterations": []}}
        return final_text, tur

    def cc_side_replay(self, main: Sess) -> None:
        """A sidechain file that repeats a main-thread response's message.id under a NEW requestId.

        Claude Code writes this for side questions; it is not a new API response: a reader must drop a
        sidechain line whose message.id also appears on a non-sidechain line (here with a LARGER total, so
        "keep the largest per message.id" would also be wrong), wherever the files are in the walk order.
        """
        resp, blk = main.last_final
        aid = "a" + self.hexid(6)
        side = Sess(sid=main.sid, cwd=main.cwd, branch=main.branch, version=main.version, slug=main.slug,
                    model=resp["model"], t=main.t, side=True, agent_id=aid, legacy=main.legacy, target=0)
        side.out = Out(main.dir / main.sid / "subagents" / f"agent-{aid}.jsonl", self)
        u = self.uuid()
        d = self.envelope(side, "user")
        d.update(message={"role": "user", "content": "Quick side question: " + self.rng.choice(PROMPTS)}, uuid=u,
                 timestamp=iso(self.tick(side, 100, 2000)))
        self.line(side, d)
        side.parent = u
        replay = dict(resp, req=self.rid("req_011C", 20), final=resp["final"] + self.rng.randint(50, 500),
                      cr=resp["cr"] + 1000)
        side.t = self.tick(side, 500, 3000)
        self.assistant_group(side, [blk], replay, counted=False)
        side.out.close()
        main.t = max(main.t, side.t)
        self.feat("sidechain_replay")

    def cc_compact(self, s: Sess) -> None:
        """Context full: an acompact sub-agent summarizes (a real, counted request), then the context resets."""
        rng = self.rng
        pre = s.cached + s.pending
        aid = "acompact-" + self.hexid(6)
        path = None if self.single else s.dir / s.sid / "subagents" / f"agent-{aid}.jsonl"
        sub = Sess(sid=s.sid, cwd=s.cwd, branch=s.branch, version=s.version, slug=s.slug, model=s.model, t=s.t,
                   side=True, agent_id=aid, ttl=s.ttl, legacy=s.legacy, target=0, cached=s.cached, pending=s.pending,
                   speed_field=s.speed_field)
        sub.out = Out(path, self)
        u = self.uuid()
        d = self.envelope(sub, "user")
        d.update(message={"role": "user", "content": "Your task is to create a detailed summary of the conversation so far."},
                 uuid=u, timestamp=iso(self.tick(sub, 50, 500)))
        self.line(sub, d)
        sub.parent = u
        resp = self.new_response(sub, 1, False)
        resp["final"] = rng.randint(1500, 6000)
        summary = "<analysis>\nLet me chronologically analyze the conversation:\n" + "\n".join(rng.choices(TEXTS, k=8))
        self.assistant_group(sub, [{"type": "text", "text": summary}], resp)
        sub.out.close()
        s.t = sub.t
        self.cc_system(s, "compact_boundary", content="Conversation compacted", isMeta=False, level="info",
                       compactMetadata={"trigger": "auto", "preTokens": pre})
        u = self.uuid()
        d = self.envelope(s, "user")
        d["message"] = {"role": "user", "content": "This session is being continued from a previous conversation that ran "
                                                   "out of context. The summary below covers the earlier portion.\n\n" + summary}
        d.update(isVisibleInTranscriptOnly=True, isCompactSummary=True, uuid=u, timestamp=iso(s.t))
        self.line(s, d)
        s.parent = u
        s.cached = SYSTEM_PROMPT_TOKENS
        s.pending = resp["final"] + rng.randint(3000, 9000)
        self.feat("compaction")

    def compact_limit(self, s: Sess) -> int:
        # Sonnet sessions may run past 200k total input (the long-context premium); others compact earlier.
        if s.model.startswith("claude-sonnet"):
            return self.rng.randint(150_000, 280_000)
        return self.rng.randint(110_000, 175_000)

    def new_cc_session(self, proj: tuple, root: str, target: int, force=(), start_t: int | None = None) -> Sess:
        rng = self.rng
        cwd, branch, _ = proj
        legacy = "legacy" in force or (not force and rng.random() < 0.04)
        version = LEGACY_VERSION if legacy else rng.choice(VERSIONS)
        s = Sess(sid=self.uuid(), cwd=cwd, branch=branch, version=version,
                 slug=None if legacy else "-".join(rng.sample(SLUG_WORDS, 3)),
                 model=OPUS46 if "fast" in force else (SONNET45 if "long" in force else rng.choices(CC_MODELS, CC_MODEL_WEIGHTS)[0]),
                 ttl="1h" if "long" in force else rng.choice(("5m", "5m", "5m", "1h", "1h", "mix")),
                 legacy=legacy, speed_field=rng.random() < 0.5, hooks=rng.random() < 0.6, target=target,
                 dir=self.home / root / "projects" / escape_cwd(cwd), force=set(force), proj=proj, root=root)
        s.compact_at = 25_000 if "compact" in force else self.compact_limit(s)
        # time: the session gets a span proportional to its size, placed inside the 120-day window
        est_span = max(600_000, int(target * MS_PER_BYTE))
        if self.single:
            s.tscale = min(1.0, (SPAN_DAYS - 1) * DAY_MS / est_span)
            est_span = min(est_span, (SPAN_DAYS - 1) * DAY_MS)
        latest = max(self.start_ms + 1, self.hard_end - int(est_span * 1.2))
        s.t = start_t if start_t is not None else rng.randint(self.start_ms, latest)
        s.cached = rng.choice((0, SYSTEM_PROMPT_TOKENS))
        s.pending = rng.randint(9_000, 22_000)
        if "long" in force:
            s.cached, s.pending, s.compact_at = 192_000, 12_000, 275_000
        s.out = Out(s.dir / f"{s.sid}.jsonl", self)
        return s

    def cc_session(self, proj: tuple, root: str, target: int, force=(), resume: dict | None = None) -> None:
        """A main Claude Code transcript: prompts, responses, tool results, sub-agents, bookkeeping lines."""
        rng = self.rng
        start_t = None
        if resume:
            start_t = min(resume["end_t"] + rng.randint(60_000, 3 * DAY_MS), self.hard_end - 10 * DAY_MS)
        s = self.new_cc_session(proj, root, target, force, start_t)
        self.sessions["claude_code"] += 1
        # capture the first part of every fresh session (from its first byte, so counts and bytes agree):
        # later sessions may resume from it
        cap_limit = min(2 << 20, max(target // 2, 20_000))
        if not self.single and not resume:
            s.out.capture = []
        if resume:
            self.copy_resumed(s, resume)
        elif rng.random() < 0.2 or "summary" in s.force:
            for _ in range(rng.randint(1, 3)):
                self.cc_summary(s)
        if not resume:
            for ev in ("SessionStart", "SessionStart"):
                self.cc_hook_progress(s, ev, self.uuid())
        self.cc_user_prompt(s)
        if "synthetic" in s.force:
            self.synthetic(s)
        while s.out.n < target:
            if s.out.capture is not None and s.out.n >= cap_limit:
                self.finish_capture(s)
            ended = self.cc_turn(s)
            if not self.single and s.last_final and ("replay" in s.force or rng.random() < 0.004):
                s.force.discard("replay")
                self.cc_side_replay(s)
            if s.cached + s.pending > s.compact_at:
                self.cc_compact(s)
                s.compact_at = self.compact_limit(s)
            if ended:
                self.cc_system(s, "turn_duration", durationMs=rng.randint(3_000, 900_000), isMeta=False)
                if rng.random() < 0.3:
                    self.cc_system(s, "stop_hook_summary", hookCount=1,
                                   hookInfos=[{"command": "/home/dev/.claude/hooks/tmux-waiting.sh mark"}],
                                   hookErrors=[], preventedContinuation=False, stopReason="", hasOutput=True,
                                   level="suggestion")
                self.tick(s, 10_000, 3_600_000 if rng.random() < 0.2 else 600_000)  # the user is away
                self.pace(s)
                if rng.random() < 0.03:
                    self.cc_queue_op(s)
                if rng.random() < (0.05 if self.single else 0.02):  # /model switch
                    s.model = rng.choices(CC_MODELS, CC_MODEL_WEIGHTS)[0]
                    s.compact_at = self.compact_limit(s)
                self.cc_user_prompt(s)
                if rng.random() < 0.01:
                    self.synthetic(s)
        if s.out.capture is not None:
            self.finish_capture(s)
        s.out.close()

    def pace(self, s: Sess) -> None:
        """Re-fit the time scale so the rest of this transcript ends before the epoch (its pace is measured)."""
        if s.out.n < 50_000 or s.raw <= 0:
            return
        remaining_raw = s.raw / s.out.n * max(0, s.target - s.out.n)
        room = self.hard_end - DAY_MS // 8 - s.t
        s.tscale = min(1.0, max(1e-4, room / max(remaining_raw, 1.0)))

    def finish_capture(self, s: Sess) -> None:
        o = s.out
        self.resume_pool.append({"chunks": o.capture, "lines": o.lines, "bad": o.bad, "wrong": o.wrong,
                                 "naive": list(o.naive), "prog": list(o.prog), "end_t": s.t, "last_uuid": s.parent,
                                 "proj": s.proj, "root": s.root})
        o.capture = None
        del self.resume_pool[:-6]  # bound memory: keep the last few prefixes only

    def copy_resumed(self, s: Sess, rec: dict) -> None:
        """A resumed session starts with the earlier session's lines copied verbatim (same uuids, message
        ids and requestIds, even the old sessionId): they must count once across files and roots."""
        o = s.out
        if o.real:
            for c in rec["chunks"]:
                o.f.write(c)
                o.n += len(c)
                self.bytes += len(c)
        o.lines += rec["lines"]
        o.bad += rec["bad"]
        o.wrong += rec["wrong"]
        for i in range(6):
            o.naive[i] += rec["naive"][i]
            o.prog[i] += rec["prog"][i]
        s.parent = rec["last_uuid"]
        s.t = max(s.t, rec["end_t"] + 1)
        self.feat("resumed_session")
        self.feat("resumed_copied_lines", rec["lines"])

    # ---------------------------------------------------------------- OpenClaw

    def oc_id(self) -> str:
        while True:  # entry ids are 8 hex chars; keep them unique corpus-wide so (entry id) alone is a safe key
            e = self.hexid(8)
            if e not in self.oc_ids:
                self.oc_ids.add(e)
                return e

    def oc_entry(self, s: Sess, typ: str, **fields) -> dict:
        e = self.oc_id()
        d = {"type": typ, "id": e, "parentId": s.parent, "timestamp": iso(s.t)}
        d.update(fields)
        s.parent = e
        return d

    def oc_session(self, target: int, archived: str | None = None) -> None:
        """A pi-coding-agent v3 session (OpenClaw): one line per message, usage on assistant messages only.

        An archived session is a RENAMED file (<uuid>.jsonl.deleted.<ts> / .reset.<ts>): no live copy is written.
        """
        rng = self.rng
        agent = rng.choice(OC_AGENTS)
        sid = self.uuid()
        model = rng.choices(OC_MODELS, OC_MODEL_WEIGHTS)[0]
        s = Sess(sid=sid, cwd=f"/home/dev/.openclaw/workspace-{agent}", model=model, target=target,
                 t=rng.randint(self.start_ms, max(self.start_ms + 1, self.hard_end - 3 * DAY_MS)))
        s.cached, s.pending = 0, rng.randint(6_000, 14_000)
        zero_cost = rng.random() < 0.1  # OpenClaw's own cost is sometimes 0: readers must price from tokens
        name = f"{sid}.jsonl"
        if archived:
            name += f".{archived}.{iso(s.t + 5 * DAY_MS).replace(':', '-')}"
            self.feat(f"openclaw_{archived}")
        s.out = Out(self.home / ".openclaw" / "agents" / agent / "sessions" / name, self)
        self.sessions["openclaw"] += 1
        self.line(s, {"type": "session", "version": 3, "id": sid, "timestamp": iso(s.t), "cwd": s.cwd})
        self.line(s, self.oc_entry(s, "model_change", provider="anthropic", modelId=model))
        self.line(s, self.oc_entry(s, "thinking_level_change", thinkingLevel=rng.choice(["off", "low", "medium"])))
        self.line(s, self.oc_entry(s, "custom", customType="model-snapshot",
                                   data={"timestamp": s.t, "provider": "anthropic", "modelApi": "anthropic-messages", "modelId": model}))
        while s.out.n < target:
            self.tick(s, 5_000, 400_000)
            self.line(s, self.oc_entry(s, "message", message={"role": "user", "content": [{"type": "text", "text": rng.choice(PROMPTS)}],
                                                              "timestamp": s.t}))
            s.pending += rng.randint(20, 600)
            for _ in range(rng.randint(1, 6)):
                if s.out.n >= target:
                    break
                calls = [self.oc_tool_call(s) for _ in range(rng.choice((0, 1, 1, 2)))]
                self.oc_assistant(s, calls, zero_cost)
                for c in calls:
                    b = self.blob(self.tool_size(s))
                    self.tick(s, 200, 20_000)
                    self.line(s, self.oc_entry(s, "message", message={
                        "role": "toolResult", "toolCallId": c["id"], "toolName": c["name"],
                        "content": [{"type": "text", "text": PH}], "isError": False, "timestamp": s.t}), b)
                    s.pending += len(b) * 2 // 7
                if not calls:
                    break
            if s.cached + s.pending > 150_000:
                self.line(s, self.oc_entry(s, "compaction", summary="Earlier work: " + rng.choice(TEXTS),
                                           firstKeptEntryId=s.parent, tokensBefore=s.cached + s.pending))
                s.cached, s.pending = 0, rng.randint(6_000, 12_000)
            if rng.random() < 0.05:
                s.model = rng.choices(OC_MODELS, OC_MODEL_WEIGHTS)[0]
                self.line(s, self.oc_entry(s, "model_change", provider="anthropic", modelId=s.model))
        s.out.close()

    def oc_tool_call(self, s: Sess) -> dict:
        name = self.rng.choice(["read", "read", "bash", "edit", "web_search"])
        args = {"read": {"path": f"{s.cwd}/notes.md"}, "bash": {"command": "git status --short"},
                "edit": {"path": f"{s.cwd}/notes.md", "oldText": "TODO", "newText": "DONE"},
                "web_search": {"query": "claude code weekly limit reset time"}}[name]
        return {"type": "toolCall", "id": self.rid("toolu_01", 22), "name": name, "arguments": args}

    def oc_assistant(self, s: Sess, calls: list, zero_cost: bool) -> None:
        rng = self.rng
        self.tick(s, 1_000, 60_000)
        inp = rng.randint(1, 12) if rng.random() > 0.05 else rng.randint(500, 5000)
        cw, cr = s.pending, s.cached
        out = int(rng.lognormvariate(math.log(300), 1.0)) + 1
        s.cached, s.pending = cr + cw, out + 20
        fam = next(f for f in OC_PRICES if f in s.model)
        pi, po, pw, pr = OC_PRICES[fam]
        cost = {"input": inp * pi / 1e6, "output": out * po / 1e6, "cacheRead": cr * pr / 1e6, "cacheWrite": cw * pw / 1e6}
        cost = {k: (0 if zero_cost else round(v, 8)) for k, v in cost.items()}
        cost["total"] = round(sum(cost.values()), 8)
        content = ([{"type": "thinking", "thinking": rng.choice(THINKING)}] if rng.random() < 0.4 else []) + \
                  [{"type": "text", "text": rng.choice(TEXTS)}] + calls
        msg = {"role": "assistant", "content": content, "api": "anthropic-messages", "provider": "anthropic", "model": s.model,
               "usage": {"input": inp, "output": out, "cacheRead": cr, "cacheWrite": cw, "totalTokens": inp + out + cr + cw,
                         "cost": cost},
               "stopReason": "toolUse" if calls else "stop", "timestamp": s.t}
        self.line(s, self.oc_entry(s, "message", message=msg))
        n = s.out.naive
        n[0] += 1
        n[1] += inp
        n[2] += out
        n[3] += cw
        n[5] += cr
        # no 5m/1h split in OpenClaw: cache writes count as 5m (docs/log-formats.md)
        tier = "long_context" if "sonnet" in s.model and inp + cw + cr > LONG_CONTEXT_THRESHOLD else "standard"
        self.count("openclaw", s.t, s.model, (inp, out, cw, 0, cr), tier)

    # ---------------------------------------------------------------- the corpus

    def generate(self) -> dict:
        rng = self.rng
        t0 = time.perf_counter()
        if self.single:
            proj = PROJECTS[0]
            self.cc_session(proj, proj[2], self.size,
                            force=("summary", "synthetic", "task", "trunc", "garbage", "wrong", "fast", "interrupt", "compact"))
        else:
            mean = min(4 << 20, max(40_000, self.size // 100))  # mean session size: ~100 sessions per 100 MB
            # a fixed opening guarantees every trap is present even in a tiny corpus
            script = [
                ("cc", 0, ("summary", "synthetic", "task", "replay", "trunc", "garbage", "wrong", "fast", "interrupt", "compact")),
                ("resume", 3, ()),  # resumes session 0 under the other root
                ("oc", "deleted", ()),
                ("cc", 2, ("long",)),
                ("oc", None, ()),
                ("cc", 1, ("legacy",)),
                ("oc", "reset", ()),
            ]
            k = 0
            while self.bytes < self.size:
                remaining = self.size - self.bytes
                if k < len(script):
                    kind, arg, force = script[k]
                else:
                    x = rng.random()
                    kind = "oc" if x < 0.10 else ("resume" if x < 0.16 and self.resume_pool else "cc")
                    arg = rng.choices(range(len(PROJECTS)), PROJECT_WEIGHTS)[0] if kind == "cc" else None
                    if kind == "oc":
                        arg = rng.choice(("deleted", "reset")) if rng.random() < 0.15 else None
                    force = ()
                k += 1
                target = min(int(mean * rng.uniform(0.3, 1.7)), remaining)
                if force:
                    target = max(target, 120_000)
                if kind == "oc":
                    self.oc_session(max(8_000, target // 2), archived=arg)
                elif kind == "resume":
                    if not self.resume_pool:
                        continue
                    rec = self.resume_pool[-1] if k <= len(script) else rng.choice(self.resume_pool)
                    proj = rec["proj"]
                    # half the resumed sessions land under the other root: dedup must work across roots
                    root = rec["root"] if (rng.random() < 0.5 and k > len(script)) else \
                        (".config/claude" if rec["root"] == ".claude" else ".claude")
                    self.cc_session(proj, root, max(target, 20_000), resume=rec)
                else:
                    proj = PROJECTS[arg]
                    self.cc_session(proj, proj[2], max(target, 20_000), force=force)
        self.elapsed = time.perf_counter() - t0
        return self.expected()

    def expected(self) -> dict:
        return {
            "seed": self.seed,
            "size_bytes": self.bytes,
            "requested_size_bytes": self.size,
            "single_file": self.single,
            **({"realistic": True} if self.realistic else {}),
            "epoch": iso(self.epoch_ms),
            "files": self.files,
            "lines": self.lines,
            "malformed_lines": self.bad + self.wrong,
            "malformed": {"unparseable": self.bad, "wrong_type": self.wrong},
            "claude_code": dict(usage_dict(self.totals["claude_code"]), sessions=self.sessions["claude_code"]),
            "openclaw": dict(usage_dict(self.totals["openclaw"]), sessions=self.sessions["openclaw"]),
            "sessions": self.sessions["claude_code"] + self.sessions["openclaw"],
            "by_day_utc": {d: usage_dict(v) for d, v in sorted(self.by_day.items())},
            "by_model": {m: {t: usage_dict(v) for t, v in sorted(tiers.items())} for m, tiers in sorted(self.by_model.items())},
            "naive": {"assistant_lines": usage_dict(self.naive), "progress_embedded": usage_dict(self.prog)},
            "features": dict(sorted(self.features.items())),
        }


def generate(out_dir, size: int, seed: int = 42, single_file: bool = False, realistic: bool = False) -> dict:
    """Write the corpus and DIR/expected.json; returns the expected dict (plus timing, not saved)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    c = Corpus(out_dir, size, seed, single_file, realistic)
    exp = c.generate()
    (out_dir / "expected.json").write_text(json.dumps(exp, indent=1) + "\n")
    exp["_elapsed_s"] = c.elapsed
    return exp


def tree_hash(home: Path) -> str:
    """sha256 over every file (relative path + bytes), in sorted order: the determinism check."""
    h = hashlib.sha256()
    for p in sorted(Path(home).rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(home)).encode() + b"\0")
            h.update(p.read_bytes())
    return h.hexdigest()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="output directory (the fake HOME is DIR/home)")
    ap.add_argument("--size", default="100MB", type=parse_size, help="target corpus size, N[KMG]B (binary units)")
    ap.add_argument("--seed", default=42, type=int)
    ap.add_argument("--single-file", action="store_true", help="write everything into ONE Claude Code session file")
    ap.add_argument("--realistic", action="store_true",
                    help="less tool output per response: assistant lines ~47%% of the bytes, as in real logs")
    a = ap.parse_args(argv)
    if (a.out / "home").exists() and any((a.out / "home").iterdir()):
        ap.error(f"{a.out}/home already exists and is not empty; pick a fresh --out")
    e = generate(a.out, a.size, a.seed, a.single_file, a.realistic)
    cc, oc, nv = e["claude_code"], e["openclaw"], e["naive"]["assistant_lines"]
    mb = e["size_bytes"] / (1 << 20)
    print(f"wrote {e['files']} files, {e['lines']} lines, {mb:.1f} MiB in {e['_elapsed_s']:.1f}s "
          f"({mb / max(e['_elapsed_s'], 1e-9):.0f} MiB/s) -> {a.out}/home, {a.out}/expected.json")
    print(f"sessions: {cc['sessions']} claude code + {oc['sessions']} openclaw; malformed lines: {e['malformed_lines']}")
    print(f"claude_code (dedup): {cc['requests']} requests, in {cc['input_tokens']}, out {cc['output_tokens']}, "
          f"cache write 5m {cc['cache_creation_5m_tokens']} / 1h {cc['cache_creation_1h_tokens']}, read {cc['cache_read_tokens']}")
    print(f"openclaw: {oc['requests']} requests, in {oc['input_tokens']}, out {oc['output_tokens']}, "
          f"cache write {oc['cache_creation_5m_tokens']}, read {oc['cache_read_tokens']}")
    dd = {k: cc[k] + oc[k] for k in USAGE_KEYS}
    print(f"--naive (sum of every assistant line): {nv['requests']} lines, out {nv['output_tokens']}, "
          f"cache read {nv['cache_read_tokens']}, cache write {nv['cache_creation_5m_tokens'] + nv['cache_creation_1h_tokens']} "
          f"vs dedup {dd['requests']} requests, out {dd['output_tokens']}, cache read {dd['cache_read_tokens']} "
          f"(naive cache read x{nv['cache_read_tokens'] / max(dd['cache_read_tokens'], 1):.2f}); "
          f"progress lines embed another {e['naive']['progress_embedded']['requests']} usages that must never count")
    return 0


if __name__ == "__main__":
    sys.exit(main())
