"""Reading an OpenClaw agent store by per-session cursors: new events only, a rewritten session again."""

from __future__ import annotations

import os
import sqlite3
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from ..jsonl import ParseResult
from ..openclaw import parse_openclaw
from .schema import (
    DB_NAME,
    StoreShape,
    StoreUnreadable,
    classify_error,
    connect,
    inspect,
)

# OpenClaw stores events of 1 KiB and more as zstd frames (schema 24+); without the codec they are counted, not read
try:
    import zstandard
    _ZSTD: zstandard.ZstdDecompressor | None = zstandard.ZstdDecompressor()
except ImportError:  # pragma: no cover - a declared dependency
    _ZSTD = None

PAGE = 2000
"""Events per read transaction: short enough that the gateway's checkpoints are never held back for long."""
MAX_EVENT_BYTES = 4 * 1024 * 1024  # OpenClaw's own bound on a compressed event's size
UNDECODABLE = "undecodable-event"


@dataclass(slots=True, frozen=True)
class AgentStore:
    path: str
    root: str
    agent_id: str
    """The folder name under `agents/`; schema_meta.agent_id when the store says otherwise."""


@dataclass(slots=True)
class SessionCursor:
    """How far one session has been read: rows up to `max_seq` (`count` of them) under rewrite `generation`."""

    max_seq: int = -1
    count: int = 0
    generation: str | None = None
    state: dict = field(default_factory=dict)
    """The OpenClaw parser's carried state (model, cwd) after the last row read."""

    def to_json(self) -> bytes:
        return orjson.dumps({"max_seq": self.max_seq, "count": self.count, "generation": self.generation,
                             "state": self.state})

    @classmethod
    def from_json(cls, data) -> SessionCursor:
        try:
            v = orjson.loads(data)
            return cls(int(v["max_seq"]), int(v["count"]), v.get("generation"), dict(v.get("state") or {}))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return cls()  # a damaged cursor re-reads the session, which dedup makes harmless


@dataclass(slots=True)
class SessionMeta:
    session_id: str
    agent_id: str
    session_key: str | None = None
    title: str | None = None
    model: str | None = None
    provider: str | None = None
    harness: str | None = None
    parent_session_id: str | None = None
    billing: str = "api"
    """'api' (an API key or prepaid balance) or 'cli-harness' (the Claude Code CLI, whose transcripts carry it)."""
    claude_session_id: str | None = None
    """For a CLI-harness session: the Claude Code session (`claudeCliSessionId`) whose transcript holds its usage."""


@dataclass(slots=True)
class Batch:
    """One committed unit: records and the cursors that say they were read (the ingester commits them together)."""

    result: ParseResult
    cursors: dict[str, SessionCursor]
    rewritten: list[str] = field(default_factory=list)


def find_stores(roots) -> tuple[list[AgentStore], list[tuple[str, str]]]:
    """Every `<root>/agents/<agent>/agent/openclaw-agent.sqlite`, and (path, reason) for impostors of that name."""
    stores, problems, seen = [], [], set()
    for root in roots:
        agents = Path(root) / "agents"
        try:
            names = sorted(e.name for e in os.scandir(agents) if e.is_dir())
        except OSError:
            continue
        for name in names:
            path = agents / name / "agent" / DB_NAME
            if not os.path.lexists(path):
                continue
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            if not path.is_file():
                problems.append((str(path), "not a regular file (a directory named like the database?)"))
                continue
            stores.append(AgentStore(str(path), str(root), name))
    return stores, problems


def billing_of(harness: str | None, provider: str | None) -> str:
    """OpenClaw driving the official Claude CLI bills the subscription through that CLI; all else is API-billed."""
    for value in (harness, provider):
        if isinstance(value, str) and value.lower().replace("_", "-") in ("claude-cli", "claude-code", "claude"):
            return "cli-harness"
    return "api"


class StoreReader:
    """A guest on one agent store: a read-only connection kept between scans, reopened when the file is replaced."""

    def __init__(self, store: AgentStore):
        self.store = store
        self.conn: sqlite3.Connection | None = None
        self.shape: StoreShape | None = None
        self._inode: tuple[int, int] | None = None
        self._counted = False
        """Whether this connection's first full count of every session has been done."""

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def open(self) -> StoreShape:
        try:
            st = os.stat(self.store.path)
        except OSError:
            self.close()
            raise StoreUnreadable("missing", "gone") from None
        if self.conn is None or self._inode != (st.st_dev, st.st_ino):
            self.close()
            self.conn = connect(self.store.path)
            self._inode = (st.st_dev, st.st_ino)
            self._counted = False
        try:
            self.shape = inspect(self.conn)
        except StoreUnreadable:
            self.close()
            raise
        return self.shape

    def _opened(self) -> tuple[sqlite3.Connection, StoreShape]:
        """The connection and shape of the last successful open(): every read below runs after one (scan opens)."""
        assert self.conn is not None and self.shape is not None, "StoreReader.open() first"
        return self.conn, self.shape

    @property
    def agent_id(self) -> str:
        return (self.shape.agent_id if self.shape and self.shape.agent_id else None) or self.store.agent_id

    def sessions(self) -> dict[str, SessionMeta]:
        """Per-session metadata; never a message text column."""
        conn, shape = self._opened()
        agent = self.agent_id
        metas: dict[str, SessionMeta] = {}
        try:
            nodes: dict[object, dict[str, object]] = {}
            if shape.has("session_nodes", "session_key"):
                cols = [c for c in ("session_key", "current_session_id", "label", "display_name")
                        if shape.has("session_nodes", c)]
                link = ("json_extract(entry_json, '$.claudeCliSessionId')" if shape.has("session_nodes", "entry_json")
                        else "NULL")
                for row in conn.execute(f"SELECT {', '.join(cols)}, CASE WHEN json_valid(entry_json) THEN {link} END "
                                        "FROM session_nodes" if link != "NULL" else
                                        f"SELECT {', '.join(cols)}, NULL FROM session_nodes"):
                    nodes[row[0]] = dict(zip(cols, row[:-1]), claude=row[-1])
            table = "session_windows" if "session_windows" in shape.columns else "sessions"
            if shape.has(table, "session_id"):
                cols = [c for c in ("session_id", "session_key", "model_provider", "model", "agent_harness_id",
                                    "parent_session_key", "spawned_by", "display_name") if shape.has(table, c)]
                for row in conn.execute(f"SELECT {', '.join(cols)} FROM {table}"):
                    w = dict(zip(cols, row))
                    if not isinstance(w["session_id"], str):
                        continue
                    node = nodes.get(w.get("session_key")) or {}
                    parent_key = w.get("parent_session_key") or w.get("spawned_by")
                    parent = (nodes.get(parent_key) or {}).get("current_session_id") if parent_key else None
                    metas[w["session_id"]] = SessionMeta(
                        w["session_id"], agent, _text(w.get("session_key")),
                        _text(node.get("label")) or _text(node.get("display_name")) or _text(w.get("display_name")),
                        _text(w.get("model")), _text(w.get("model_provider")), _text(w.get("agent_harness_id")),
                        _text(parent) if parent != w["session_id"] else None,
                        billing_of(_text(w.get("agent_harness_id")), _text(w.get("model_provider"))),
                        _text(node.get("claude")))
        except sqlite3.Error as exc:
            raise classify_error(exc) from None
        return metas

    def heads(self) -> tuple[dict[str, tuple[int, int | None]], dict[str, str]]:
        """(max seq, row count) per session and each session's rewrite generation, in one short read transaction.

        The first scan counts every session's rows (one pass over the index: 30-60 ms at 200 MB). Later scans of a
        store with rewrite watermarks seek each session's max seq instead (microseconds each) and leave the count
        to the sessions that are read (None here): a rewrite there always moves the generation."""
        conn, shape = self._opened()
        cheap = self._counted and shape.has("transcript_rewrite_watermarks", "generation") and shape.has(
            "session_windows", "session_id")
        try:
            conn.execute("BEGIN")
            try:
                heads: dict[str, tuple[int, int | None]] = {}
                if cheap:
                    sids = [r[0] for r in conn.execute("SELECT session_id FROM session_windows")]
                    for sid in sids:
                        (mx,) = conn.execute("SELECT max(seq) FROM transcript_events WHERE session_id = ?",
                                             (sid,)).fetchone()
                        if isinstance(sid, str) and isinstance(mx, int):
                            heads[sid] = (mx, None)
                else:
                    heads = {sid: (mx, n) for sid, mx, n in conn.execute(
                        "SELECT session_id, max(seq), count(*) FROM transcript_events GROUP BY session_id")
                        if isinstance(sid, str) and isinstance(mx, int)}
                gens: dict[str, str] = {}
                if shape.has("transcript_rewrite_watermarks", "generation"):
                    gens = {sid: str(g) for sid, g in conn.execute(
                        "SELECT session_id, generation FROM transcript_rewrite_watermarks")}
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise classify_error(exc) from None
        self._counted = True
        return heads, gens

    def scan(self, cursors: dict[str, SessionCursor], metas: dict[str, SessionMeta] | None = None,
             page: int = PAGE) -> Iterator[Batch]:
        """Yield batches of new records with the cursors that cover them; untouched sessions cost one dict lookup."""
        if self.conn is None:
            self.open()
        metas = self.sessions() if metas is None else metas
        heads, gens = self.heads()
        for sid in sorted(heads):
            max_seq, count = heads[sid]
            cur = cursors.get(sid)
            gen = gens.get(sid)
            if cur is not None and cur.generation == gen and cur.max_seq == max_seq and count in (None, cur.count):
                continue
            yield from self._read_session(sid, cur, gen, metas.get(sid), page)

    def _read_session(self, sid: str, cur: SessionCursor | None, gen: str | None, meta: SessionMeta | None,
                      page: int) -> Iterator[Batch]:
        conn, shape = self._opened()
        rewritten: list[str] = []
        if cur is not None and not self._still_prefix(sid, cur, gen):
            rewritten.append(sid)
            cur = None  # deleted and re-inserted rows: read the whole session again; the dedup key keeps one of each
        cur = SessionCursor(generation=gen) if cur is None else SessionCursor(cur.max_seq, cur.count, gen,
                                                                              dict(cur.state))
        if meta and meta.model and "model" not in cur.state:
            cur.state["model"] = meta.model  # session_windows.model, for events that name none
        has_zstd = shape.has("transcript_events", "event_zstd") and shape.has(
            "transcript_events", "event_utf8_bytes")
        cols = "seq, event_json" + (", event_zstd, event_utf8_bytes" if has_zstd else "")
        while True:
            try:
                conn.execute("BEGIN")
                try:
                    if gen is not None and self._generation(sid) != gen:
                        rewritten.append(sid)  # rewritten between two pages: the next scan starts it over
                        return
                    rows = conn.execute(f"SELECT {cols} FROM transcript_events WHERE session_id = ? AND seq > ? "
                                        "ORDER BY seq LIMIT ?", (sid, cur.max_seq, page)).fetchall()
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise classify_error(exc) from None
            if not rows:
                return
            result, cur = self._parse(sid, rows, cur)
            yield Batch(result, {sid: cur}, rewritten)
            rewritten = []
            if len(rows) < page:
                return

    def _still_prefix(self, sid: str, cur: SessionCursor, gen: str | None) -> bool:
        """True when the rows already read are still there unchanged: same generation, same count up to max_seq."""
        if cur.generation != gen:
            return False
        try:
            (n,) = self._opened()[0].execute("SELECT count(*) FROM transcript_events WHERE session_id = ? AND seq <= ?",
                                     (sid, cur.max_seq)).fetchone()
        except sqlite3.Error as exc:
            raise classify_error(exc) from None
        return n == cur.count

    def _generation(self, sid: str) -> str | None:
        row = self._opened()[0].execute("SELECT generation FROM transcript_rewrite_watermarks WHERE session_id = ?",
                                (sid,)).fetchone()
        return str(row[0]) if row else None

    def _parse(self, sid: str, rows, cur: SessionCursor) -> tuple[ParseResult, SessionCursor]:
        bad: Counter[str] = Counter()
        lines: list[bytes] = []
        for row in rows:
            line = _event_bytes(row, bad)
            if line is not None:
                lines.append(line)
        # The parser rejects counts no response can carry (logs/jsonl.py), as it does for JSONL lines.
        result, state = parse_openclaw(b"\n".join(lines) + b"\n", sid, cur.state)
        result.skipped.update(bad)
        return result, SessionCursor(rows[-1][0], cur.count + len(rows), cur.generation, state)


def _event_bytes(row, bad: Counter) -> bytes | None:
    """The event's JSON on one line: the text column, or the zstd frame decoded to its recorded size."""
    text = row[1]
    if text is None and len(row) > 2 and row[2] is not None:
        blob, size = row[2], row[3]
        if (_ZSTD is None or not isinstance(blob, bytes) or type(size) is not int or not 0 < size <= MAX_EVENT_BYTES
                or len(blob) > MAX_EVENT_BYTES):
            bad[UNDECODABLE] += 1
            return None
        try:
            data = _ZSTD.decompress(blob, max_output_size=size)
        except zstandard.ZstdError:
            bad[UNDECODABLE] += 1
            return None
        if len(data) != size:
            bad[UNDECODABLE] += 1
            return None
    elif isinstance(text, str):
        data = text.encode("utf-8", "surrogatepass")
    elif isinstance(text, bytes):
        data = text
    else:
        bad["malformed-json"] += 1
        return None
    if b"\n" in data or b"\r" in data:  # pretty-printed JSON would split into several "lines": compact it
        try:
            data = orjson.dumps(orjson.loads(data))
        except orjson.JSONDecodeError:
            bad["malformed-json"] += 1
            return None
    return data


def _text(value) -> str | None:
    return value if isinstance(value, str) and value else None
