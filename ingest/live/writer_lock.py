"""The single-writer role: an OS file lock beside the database that exactly one tokentop process holds."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class WriterLock:
    """`flock` on `<db>.lock`. The kernel drops it when the holder exits or is killed, so a crash never
    leaves a stale lock; the holder's pid is written inside only to tell people who holds it."""

    def __init__(self, db_path: Path | str):
        self.path = Path(str(db_path) + ".lock")
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, blocking: bool = False) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def still_held(self) -> bool:
        """True while the file at the path is the one this process locked. Deleting the database folder deletes
        the lock file too, and then another process could lock a new one: the holder must notice and `renew`."""
        if self._fd is None:
            return False
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(self._fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    def renew(self) -> bool:
        """Lock the file now at the path in place of a vanished one; False when another process got it first
        (the caller must then stop writing)."""
        old, self._fd = self._fd, None
        try:
            return self.acquire()
        finally:
            if old is not None:
                os.close(old)

    def holder_pid(self) -> int | None:
        """The pid written by the current holder, if any process holds the lock."""
        try:
            text = self.path.read_text().strip()
        except OSError:
            return None
        return int(text) if text.isdigit() else None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
