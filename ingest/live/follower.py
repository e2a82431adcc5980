"""Following another process's writes: a read-only store, checked for commits (`PRAGMA data_version`) and for being
moved, with a try at the writer role every so often. Subscribers hear a `Change` per commit seen."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ..store.errors import StoreDamaged, StoreError
from ..store.recovery import diagnose
from ..store.store import Store
from .reporting import Change, Reporter
from .writer_lock import WriterLock


class Follower:
    """`run()` until stopped (False) or until this process took the writer role (True)."""

    def __init__(self, open_store: Callable[..., Store], db_path: Path | None, lock: WriterLock, reporter: Reporter,
                 stopping: threading.Event, ready: threading.Event, *, follow_interval: float,
                 takeover_interval: float):
        self._open_store = open_store
        self._db_path = db_path
        self._lock = lock
        self._reporter = reporter
        self._stopping = stopping
        self._ready = ready
        self.follow_interval = follow_interval
        self.takeover_interval = takeover_interval

    def run(self) -> bool:
        store = None
        next_try = time.monotonic() + self.takeover_interval
        version = last_id = None
        db_file = self._db_path
        lost = False  # the file was deleted or replaced: subscribers hear once the new one can be read
        problem = None  # why the file could not be opened, said once per reason
        reporter = self._reporter
        try:
            while True:
                if store is not None and store.moved():
                    # The writer takes up a new database (or a restored copy): follow that one, not the old file.
                    what = "replaced" if store.path.exists() else "deleted"
                    store.close()
                    store, lost = None, True
                    reporter.tell(f"the database {db_file} was {what} while running; following the new one as soon "
                                  "as the writer has made it")
                if store is None and (db_file is None or db_file.exists()):
                    try:
                        reason = diagnose(db_file) if db_file is not None else None
                        if reason is not None:  # not even opened: SQLite would read it through the old file's WAL
                            raise StoreDamaged(f"{db_file}: {reason}")
                        store = self._open_store(readonly=True)
                        db_file = store.path
                        version = store.db.execute("PRAGMA data_version").fetchone()[0]
                        last_id = store.db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
                    except (StoreError, sqlite3.DatabaseError) as exc:
                        # Damaged (the writer moves it aside and rebuilds), or so new that the writer has not made
                        # its tables yet: look again next round rather than stop following.
                        if store is not None:
                            store.close()
                            store = None
                        if isinstance(exc, StoreError) and str(exc) != problem:
                            problem = str(exc)
                            reporter.tell(f"cannot read the database yet: {exc}")
                    else:
                        problem = None
                        self._ready.set()
                        if lost:
                            lost = False
                            reporter.add(reopens=1)
                            reporter.notify(Change(frozenset(), None, 0, 0))  # everything may differ: re-read it
                if store is not None:
                    assert last_id is not None  # read in the same step that opened the store
                    now_version = store.db.execute("PRAGMA data_version").fetchone()[0]
                    if now_version != version:
                        version = now_version
                        last_id = self._follow_change(store, last_id)
                if time.monotonic() >= next_try:
                    if self._lock.acquire():
                        return True
                    next_try = time.monotonic() + self.takeover_interval
                if self._stopping.wait(self.follow_interval):
                    return False
        finally:
            if store is not None:
                store.close()

    def _follow_change(self, store: Store, last_id: int) -> int:
        rows = store.db.execute("SELECT session_id, MAX(ts), COUNT(*), MAX(id) FROM requests WHERE id > ? "
                                "GROUP BY session_id", (last_id,)).fetchall()
        sessions = frozenset(r[0] for r in rows)
        newest = max((r[1] for r in rows), default=None)
        new = sum(r[2] for r in rows)
        now = time.time()
        self._reporter.add(responses_added=new, batches=1)
        if new:
            self._reporter.set(last_line=now)
        self._reporter.notify(Change(sessions, newest, new, 0, 0, now))
        return max((r[3] for r in rows), default=last_id)
