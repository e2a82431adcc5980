"""The writer's database file: opened (a damaged one moved aside first, by the same rule as `store.recovery`), and
watched for being deleted, replaced or found damaged while running, when a new one is taken up.

SQLite would go on writing, without an error, to a file nobody can see any more; the guard notices with one stat
per check and hands back a new store for the service to refill from the logs."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ..store.recovery import SIDE_FILES, move_aside, open_unless_damaged
from ..store.store import Store
from .ingester import IngestSummary
from .reporting import Reporter
from .writer_lock import WriterLock

Damaged = tuple[str, Path]
"""Why a file at the database path was not usable, and where it was moved."""


class LostWriterRole(Exception):
    """The lock file vanished (its folder was deleted) and another process locked the new one: stop writing."""


class StoreGuard:
    """Owns the writer's Store. `open()` at start; `check()` before and after each batch."""

    def __init__(self, open_store: Callable[..., Store], db_path: Path | None, lock: WriterLock, reporter: Reporter):
        self._open_store = open_store
        self._db_path = db_path
        self._lock = lock
        self._reporter = reporter
        self.store: Store | None = None
        self.db_file: Path | None = None  # where the store was last opened (db_path, or learnt from the Store)
        self._side_files: dict[str, tuple[int, int]] = {}  # our connection's -wal/-shm: suffix -> (device, inode)
        self._lost: str | None = None  # 'deleted' / 'replaced' until a new store has been filled
        self._damaged: Damaged | None = None  # what was moved aside when the store was last reopened

    def open(self) -> Damaged | None:
        """Open the store for writing. A file at the path that is not a usable database (garbage copied over it,
        a torn copy) is moved aside, never deleted, and a new store made: returns (why, where to) then.
        We hold the writer lock, so no other tokentop is using the file."""
        path = self._db_path or self.db_file
        store, reason = open_unless_damaged(path, self._open_store)
        damaged = None
        if store is None:
            # No store comes with a reason, and only for a known path (with none, the error propagates).
            assert reason is not None and path is not None
            damaged = (reason, move_aside(path))
            store = self._open_store()
        self.store = store
        self.db_file = store.path
        self._side_files = side_file_ids(store.path)
        return damaged

    def check(self) -> bool:
        """False when the store and the writer lock are as they were. True when the file was deleted or replaced
        (or an earlier reopening failed) and a new store is open now: the caller refills it, then `reopened`.
        Raises LostWriterRole when the lock file went and another process holds the new one."""
        if not self._lock.still_held() and not self._lock.renew():
            raise LostWriterRole()
        if self.store is not None and not self.store.moved():
            return False
        if self.store is not None:
            old, self.store = self.store, None
            self._lost = "replaced" if old.path.exists() else "deleted"
            # SQLite sees that its file moved: this close neither checkpoints into nor deletes what is at the path.
            old.close()
        # (With no store, an earlier attempt failed: the disk, the folder's permissions. Try again.)
        if self._lost is not None and self.db_file is not None:
            self._drop_stale_side_files(self.db_file)
        self._damaged = self.open()
        return True

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.store = None

    def _drop_stale_side_files(self, path: Path) -> None:
        """Our closed connection's -wal and -shm, if still at the path, next to a file that replaced the database:
        opening it would replay our WAL's pages into that other database. (Beside no file at all, Store removes
        them itself.) A -wal that came with the replacement has another inode and is kept."""
        if not path.exists():
            return
        for suffix, identity in self._side_files.items():
            try:
                st = os.stat(f"{path}{suffix}")
                if (st.st_dev, st.st_ino) == identity:
                    os.remove(f"{path}{suffix}")
            except FileNotFoundError:
                pass

    def reopened(self, summary: IngestSummary | None) -> None:
        """Say what happened to the old file and how the new one was filled (`summary` None: that failed)."""
        what, self._lost = self._lost or "replaced", None
        damaged = self._damaged
        text = f"the database {self.db_file} was {what} while running"
        if damaged is not None:
            text += f", by a file that is not a usable database ({damaged[0]}): moved that to {damaged[1]}"
        if summary is None:
            text += "; filling the new one from the logs on disk failed for now and will be retried"
        elif what == "deleted" or damaged is not None:
            text += (f"; started a new one and filled it from the logs on disk ({summary.new_requests:,} responses "
                     f"from {summary.files:,} files; history whose logs are gone is not in it)")
        else:
            text += (f"; switched to the new file and caught it up from the logs on disk "
                     f"({summary.new_requests:,} responses added)")
        self._reporter.add(reopens=1)
        self._reporter.tell(text)


def side_file_ids(path: Path) -> dict[str, tuple[int, int]]:
    """(device, inode) of the -wal and -shm beside an open database: SQLite keeps these open while connected."""
    ids = {}
    for suffix in SIDE_FILES[1:]:
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        ids[suffix] = (st.st_dev, st.st_ino)
    return ids
