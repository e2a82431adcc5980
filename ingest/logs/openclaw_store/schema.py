"""Opening an OpenClaw agent store read-only and deciding whether its tables are shapes we know."""

from __future__ import annotations

import os
import sqlite3
import stat
import urllib.parse
from dataclasses import dataclass, field

DB_NAME = "openclaw-agent.sqlite"
TESTED_SCHEMA = (1, 24)
"""schema_meta.schema_version values whose layouts the tests build (OpenClaw 2026.8 to 2026.9.x)."""
BUSY_MS = 50
"""A WAL reader meets a lock only while the writer recovers or truncates the WAL: wait a moment, never long."""

# What each table we read must (required) or may (optional) hold; nothing else is ever selected.
REQUIRED = {"transcript_events": ("session_id", "seq")}
OPTIONAL = {
    "transcript_events": ("event_json", "event_zstd", "event_utf8_bytes"),
    "transcript_rewrite_watermarks": ("session_id", "generation"),
    "session_windows": ("session_id", "session_key", "model_provider", "model", "agent_harness_id",
                        "parent_session_key", "spawned_by", "display_name"),
    # OpenClaw 2026.8's first schema kept the same per-transcript columns in `sessions`.
    "sessions": ("session_id", "session_key", "model_provider", "model", "agent_harness_id",
                 "parent_session_key", "spawned_by", "display_name"),
    # entry_json is read only through json_extract of one key (claudeCliSessionId), never whole.
    "session_nodes": ("session_key", "current_session_id", "label", "display_name", "entry_json"),
    "schema_meta": ("meta_key", "role", "schema_version", "agent_id", "app_version"),
}
READABLE = frozenset(REQUIRED) | frozenset(OPTIONAL) | {"sqlite_master", "sqlite_schema"}
"""The authorizer refuses every other table: those holding message text (FTS, deliveries, memory) are never read."""


class StoreUnreadable(Exception):
    """A store we cannot read; `reason` is one short doctor line (never a traceback, never store contents)."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(slots=True)
class StoreShape:
    schema_version: int | None = None
    agent_id: str | None = None
    app_version: str | None = None
    columns: dict[str, set[str]] = field(default_factory=dict)
    """Readable columns per table we know, only the ones present."""
    notes: list[str] = field(default_factory=list)

    @property
    def layout(self) -> str:
        if "event_zstd" in self.columns.get("transcript_events", ()):
            return "windows+zstd"
        if "session_windows" in self.columns:
            return "windows"
        return "sessions"

    def has(self, table: str, column: str) -> bool:
        return column in self.columns.get(table, ())


def _guard(action, arg1, arg2, _db, _trigger):
    if action == sqlite3.SQLITE_READ and arg1 not in READABLE:
        return sqlite3.SQLITE_DENY
    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, sqlite3.SQLITE_TRANSACTION):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and arg1 in ("table_info", "query_only"):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY  # writes, checkpoints, ATTACH: a guest does none of them


def connect(path: str) -> sqlite3.Connection:
    """A read-only URI connection with a short busy timeout, autocommit (explicit short read transactions)."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise StoreUnreadable("missing", f"cannot stat: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise StoreUnreadable("not-a-file", "not a regular file (a directory named like the database?)")
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_MS / 1000, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only = 1")
        conn.set_authorizer(_guard)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise classify_error(exc) from None
    return conn


def classify_error(exc: sqlite3.Error) -> StoreUnreadable:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return StoreUnreadable("locked", "locked by another process (will retry)")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreUnreadable("corrupt", "not a readable SQLite database (corrupt or not SQLite)")
    if "unable to open" in text or "readonly" in text or "read-only" in text or "permission" in text:
        return StoreUnreadable("read-only",
                               "cannot open read-only (permissions, or a missing -shm in a read-only folder)")
    return StoreUnreadable("error", f"SQLite error: {type(exc).__name__}")


def inspect(conn: sqlite3.Connection) -> StoreShape:
    """The tables and columns we know, schema version and agent id; StoreUnreadable for shapes we cannot read."""
    shape = StoreShape()
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in sorted((set(REQUIRED) | set(OPTIONAL)) & tables):
            present = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}  # a name from our own list
            wanted = set(REQUIRED.get(table, ())) | set(OPTIONAL.get(table, ()))
            shape.columns[table] = present & wanted
        if "schema_meta" in shape.columns and {"schema_version", "agent_id"} <= shape.columns["schema_meta"]:
            row = conn.execute("SELECT schema_version, agent_id, "
                               + ("app_version" if shape.has("schema_meta", "app_version") else "NULL")
                               + " FROM schema_meta ORDER BY meta_key = 'primary' DESC LIMIT 1").fetchone()
            if row:
                shape.schema_version = row[0] if isinstance(row[0], int) else None
                shape.agent_id = row[1] if isinstance(row[1], str) else None
                shape.app_version = row[2] if isinstance(row[2], str) else None
    except sqlite3.Error as exc:
        raise classify_error(exc) from None
    if "transcript_events" not in shape.columns:
        raise StoreUnreadable("unknown-shape",
                              "no transcript_events table (half-migrated or not an OpenClaw agent store)")
    missing = [c for c in REQUIRED["transcript_events"] if c not in shape.columns["transcript_events"]]
    if not shape.has("transcript_events", "event_json"):
        missing.append("event_json")
    if missing:
        raise StoreUnreadable("unknown-shape", "transcript_events lacks " + ", ".join(missing) + ": an unknown shape")
    low, high = TESTED_SCHEMA
    if shape.schema_version is not None and shape.schema_version > high:
        shape.notes.append(f"schema {shape.schema_version} is newer than tested (≤ {high}); "
                           "read because its columns match")
    elif shape.schema_version is not None and shape.schema_version < low:
        shape.notes.append(f"schema {shape.schema_version} is older than any known")
    return shape
