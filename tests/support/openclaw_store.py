"""Builds OpenClaw agent stores as the gateway writes them (upstream table shapes, WAL, short write transactions)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import uuid
from pathlib import Path

import zstandard

HERE = Path(__file__).parent
SCHEMA = (HERE / "openclaw_schema.sql").read_text()
SCHEMA_2026_8 = (HERE / "openclaw_schema_2026_8.sql").read_text()
NAVIGATION = json.dumps({"version": 1, "report": {"kind": "canonical"}, "navigation": {}, "reset": {}, "model": {},
                         "modelBytes": 0, "modelWithoutCheckpointBytes": 0, "withoutCustomDataBytes": 0})


def store_path(root: Path, agent: str) -> Path:
    return root / "agents" / agent / "agent" / "openclaw-agent.sqlite"


def digest(path: Path) -> dict[str, str]:
    """Hashes of the database and its WAL (the -shm is shared memory that every reader maps, so it is left out)."""
    out = {}
    for suffix in ("", "-wal"):
        p = Path(str(path) + suffix)
        out[suffix or "db"] = hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() else "absent"
    return out


class Gateway:
    """A stand-in for the OpenClaw gateway's writer on one agent store."""

    def __init__(self, path: Path, agent: str = "main", schema_version: int = 24, layout: str = "current",
                 compress_from: int | None = 1024, busy_ms: int = 0):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.layout = layout
        self.compress_from = compress_from if layout == "current" else None
        self.db = sqlite3.connect(path, isolation_level=None, timeout=busy_ms / 1000)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(SCHEMA if layout == "current" else SCHEMA_2026_8)
        self.db.execute("INSERT OR REPLACE INTO schema_meta VALUES ('primary', 'agent', ?, ?, '2026.9.6', 1, 1)",
                        (schema_version, agent))
        self._zstd = zstandard.ZstdCompressor(level=1, write_checksum=True)

    def close(self) -> None:
        self.db.close()

    def session(self, session_id: str, key: str | None = None, *, model: str | None = None,
                provider: str | None = "anthropic", harness: str | None = "pi", parent_key: str | None = None,
                spawned_by: str | None = None, label: str | None = None, display_name: str | None = None,
                claude_session: str | None = None) -> str:
        key = key or f"agent:main:{session_id}"
        entry = json.dumps({"sessionId": session_id, **({"claudeCliSessionId": claude_session} if claude_session
                                                         else {})})
        with self._tx():
            if self.layout == "current":
                self.db.execute("INSERT OR REPLACE INTO session_nodes (session_key, current_session_id, entry_json, "
                                "updated_at, label, display_name, parent_session_key) VALUES (?, ?, ?, 1, ?, ?, ?)",
                                (key, session_id, entry, label, display_name, parent_key))
                self.db.execute("INSERT OR REPLACE INTO session_windows (session_id, session_key, reason, created_at, "
                                "updated_at, model_provider, model, agent_harness_id, parent_session_key, spawned_by) "
                                "VALUES (?, ?, 'initial', 1, 1, ?, ?, ?, ?, ?)",
                                (session_id, key, provider, model, harness, parent_key, spawned_by))
                self.db.execute("INSERT OR REPLACE INTO transcript_rewrite_watermarks VALUES (?, ?, 1)",
                                (session_id, uuid.uuid4().hex))
            else:
                self.db.execute("INSERT OR REPLACE INTO sessions (session_id, session_key, created_at, updated_at, "
                                "model_provider, model, agent_harness_id, parent_session_key, spawned_by, "
                                "display_name) "
                                "VALUES (?, ?, 1, 1, ?, ?, ?, ?, ?, ?)",
                                (session_id, key, provider, model, harness, parent_key, spawned_by, display_name))
        return session_id

    def _tx(self):
        db = self.db

        class Tx:
            def __enter__(self):
                db.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                db.execute("ROLLBACK" if exc_type else "COMMIT")
        return Tx()

    def _row(self, session_id: str, seq: int, line: str) -> tuple:
        raw = line.encode()
        if self.compress_from is not None and len(raw) >= self.compress_from:
            return (session_id, seq, None, 1, self._zstd.compress(raw), len(raw), NAVIGATION)
        return (session_id, seq, line, 1, None, len(raw) if self.layout == "current" else None, None)

    def append(self, session_id: str, lines: list[str]) -> None:
        """One committed write, as the gateway appends a turn's events."""
        with self._tx():
            (top,) = self.db.execute("SELECT coalesce(max(seq), 0) FROM transcript_events WHERE session_id = ?",
                                     (session_id,)).fetchone()
            self._insert([self._row(session_id, top + i + 1, line) for i, line in enumerate(lines)])

    def _insert(self, rows) -> None:
        if self.layout == "current":
            self.db.executemany("INSERT INTO transcript_events (session_id, seq, event_json, created_at, event_zstd, "
                                "event_utf8_bytes, navigation_json) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        else:
            self.db.executemany("INSERT INTO transcript_events (session_id, seq, event_json, created_at) "
                                "VALUES (?, ?, ?, ?)", [r[:4] for r in rows])

    def rewrite(self, session_id: str, keep_lines: list[str], start_seq: int = 1, bump: bool = True) -> None:
        """Compaction/rewind: delete the session's events, insert what stays under new seq numbers, new generation."""
        with self._tx():
            self.db.execute("DELETE FROM transcript_events WHERE session_id = ?", (session_id,))
            self._insert([self._row(session_id, start_seq + i, line) for i, line in enumerate(keep_lines)])
            if bump and self.layout == "current":
                self.db.execute("UPDATE transcript_rewrite_watermarks SET generation = ? WHERE session_id = ?",
                                (uuid.uuid4().hex, session_id))

    def put_raw(self, session_id: str, seq: int, event_json) -> None:
        with self._tx():
            self.db.execute("INSERT INTO transcript_events (session_id, seq, event_json, created_at) "
                            "VALUES (?, ?, ?, 1)", (session_id, seq, event_json))

    def secret_text(self, session_id: str, text: str) -> None:
        if self.layout == "current":
            with self._tx():
                self.db.execute("INSERT INTO session_transcript_fts VALUES (?, 1, ?)", (session_id, text))
                self.db.execute("INSERT INTO conversation_deliveries VALUES (?, ?, ?)", (uuid.uuid4().hex, session_id,
                                                                                        text))
