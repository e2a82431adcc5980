"""Noticing a damaged database when a writing command starts, moving it aside, and rebuilding it from the logs."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from .errors import BUSY_TIMEOUT_MS, StoreDamaged
from .store import Store

SQLITE_HEADER = b"SQLite format 3\x00"
SIDE_FILES = ("", "-wal", "-shm")


def diagnose(path: Path | str) -> str | None:
    """Why the file at `path` is not a usable SQLite database, or None when it is (or is absent or empty).

    Cheap on a healthy file: it reads the 100-byte header. Only a file that looks cut short is checked by
    SQLite itself, because a checkpoint interrupted by a kill leaves the same shape with the WAL holding the rest."""
    try:
        with open(path, "rb") as f:
            head = f.read(100)
            size = os.fstat(f.fileno()).st_size
    except OSError:
        return None  # absent, or not ours to read: opening it explains that better than a guess here
    if size == 0:
        return None  # SQLite treats an empty file as a new database
    if len(head) < 100 or not head.startswith(SQLITE_HEADER):
        return "it does not start with an SQLite header"
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return "its header names an impossible page size"
    pages = int.from_bytes(head[28:32], "big")
    counted = head[92:96] == head[24:28]  # the page count is trustworthy only when this matches
    if size % page_size == 0 and not (counted and pages * page_size > size):
        return None
    return _quick_check(path)


def _quick_check(path: Path | str) -> str | None:
    try:
        con = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            rows = con.execute("PRAGMA quick_check").fetchall()
        finally:
            con.close()
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # in use by another process, which would be failing too; opening it will say so
        return f"SQLite reports: {exc}"
    except sqlite3.DatabaseError as exc:
        return f"SQLite reports: {exc}"
    if rows == [("ok",)]:
        return None
    return f"it fails SQLite's integrity check ({rows[0][0].splitlines()[-1]})"


def history_in(path: Path | str) -> tuple[int, int | None] | None:
    """(responses, earliest Unix ms) held by a database file, or None when it cannot be read at all."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            n, first = con.execute(
                "SELECT (SELECT COUNT(*) FROM requests) + (SELECT COALESCE(SUM(requests), 0) FROM rollups), "
                "MIN(COALESCE((SELECT MIN(ts) FROM requests), 1e18), COALESCE((SELECT MIN(slot) FROM rollups), 1e18))"
            ).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None
    return int(n), (int(first) if first is not None and first < 1e17 else None)


def move_aside(path: Path, label: str = "damaged") -> Path:
    """Rename the database and its -wal/-shm to `<name>.<label>-<timestamp>…`, never deleting anything."""
    moved = path.with_name(f"{path.name}.{label}-{time.strftime('%Y%m%d-%H%M%S')}")
    n = 1
    while any(Path(f"{moved}{s}").exists() for s in SIDE_FILES):
        moved = path.with_name(f"{path.name}.{label}-{time.strftime('%Y%m%d-%H%M%S')}-{n}")
        n += 1
    # The WAL and shared-memory files move too: left behind, SQLite would replay them into the new database.
    for suffix in SIDE_FILES:
        source = Path(f"{path}{suffix}")
        if source.exists():
            os.replace(source, f"{moved}{suffix}")
    return moved


def open_unless_damaged(path: Path | None, open_store: Callable[[], Store]) -> tuple[Store | None, str | None]:
    """Open the database for writing unless the file at `path` is not a usable one: (store, None), or (None, why).

    The one check every writer makes first (a command's `open_checked`, the live service's store guard); with
    `path` None (the store finds its own) a damaged store cannot be moved aside, so the error propagates."""
    reason = diagnose(path) if path is not None else None
    if reason is not None:
        return None, reason
    try:
        return open_store(), None
    except StoreDamaged as exc:
        if path is None:
            raise
        return None, f"SQLite reports: {exc.__cause__ or exc}"


def open_checked(ctx, notify: Callable[[str], None]) -> Store:
    """Open the store for writing. A damaged file is moved aside and the store rebuilt from the logs on disk;
    `notify` gets one message saying so and how much older history could not come back."""
    store, reason = open_unless_damaged(ctx.db_path, ctx.open_store)
    if store is not None:
        return store
    assert reason is not None  # open_unless_damaged gives a reason whenever it gives no store
    store, message = recover(ctx, reason)
    notify(message)
    return store


def recover(ctx, reason: str) -> tuple[Store, str]:
    """Move the damaged database aside and ingest every log still on disk into a new one."""
    from ..live.ingester import Ingester
    lock = ctx.writer_lock()
    if not lock.acquire():
        raise StoreDamaged(f"{ctx.db_path} is damaged ({reason}), and another tokentop (pid "
                           f"{lock.holder_pid() or '?'}) is writing to it; stop that process, then run "
                           "`tokentop doctor --rebuild`.")
    try:
        old = history_in(ctx.db_path)
        moved = move_aside(ctx.db_path)
        store = ctx.open_store()
        try:
            summary = Ingester(store, ctx.settings).ingest_all()
            now = store.db.execute(
                "SELECT (SELECT COUNT(*) FROM requests) + (SELECT COALESCE(SUM(requests), 0) FROM rollups)"
            ).fetchone()[0]
        except BaseException:
            store.close()
            raise
    finally:
        lock.release()
    text = (f"the database {ctx.db_path} was damaged ({reason}); moved it to {moved} and rebuilt it from the logs "
            f"on disk ({summary.new_requests:,} responses from {summary.files:,} files).")
    if old is None:
        text += (" How much older history was lost is unknown: the old file cannot be read. Responses whose logs "
                 "are gone (Claude Code deletes them after 30 days by default) are not in the new database.")
    elif old[0] > now:
        since = time.strftime("%Y-%m-%d", time.localtime(old[1] / 1000)) if old[1] else "?"
        text += (f" {old[0] - now:,} of the {old[0]:,} responses the old file held (history from {since}) are no "
                 "longer in any log and could not be recovered.")
    else:
        text += f" All {old[0]:,} responses the old file still showed were recovered."
    return store, text
