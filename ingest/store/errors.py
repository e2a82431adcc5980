"""Store failures explained for a person, and how long a connection waits on another process's lock."""

from __future__ import annotations

import sqlite3
from pathlib import Path

BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """A store problem explained for a person: what happened, to which file, and what to do."""


class StoreDamaged(StoreError):
    """The database file is not a readable SQLite database."""


class StoreLocked(StoreError):
    """Another process held the database past the busy timeout."""


def explain(path: Path | str, exc: sqlite3.Error) -> StoreError:
    """A SQLite failure as one sentence a person can act on: which file, what happened, what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreLocked(
            f"{path}: the database is locked by another process (waited {BUSY_TIMEOUT_MS // 1000}s). "
            "Another tokentop may be rebuilding it, or a backup tool holds it; try again in a moment.")
    if "full" in text:
        return StoreError(
            f"{path}: the disk is full, so nothing more could be stored; what was stored before is intact. "
            "Free some space and run `tokentop ingest` to catch up.")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(
            f"{path}: cannot write the database ({text}). tokentop needs write access to the file and to its "
            f"folder {Path(path).parent} (SQLite keeps -wal and -shm files beside it).")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreDamaged(
            f"{path}: the database file is damaged ({text}). "
            "Run `tokentop doctor --rebuild` to move it aside and rebuild from the logs on disk.")
    return StoreError(f"{path}: {text}")
