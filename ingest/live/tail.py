"""Where reading of each log file stands, and every rule for what changed in it since: a `FileCursor`.

A file is unchanged (same inode, size and time as when its position was committed), appended to (grew past the
position, with the bytes before it still in place), truncated (shorter than the position), replaced (another inode
at the path), or rewritten (same or larger size, but the bytes already read are not the ones there now). A rename
keeps the inode, so the position moves with it. The live path, the poll and the backfill all ask this one object."""

from __future__ import annotations

import hashlib
import json
import os
import stat

from ..logs.discovery import LogFile
from ..store.store import FileState, Store

HEAD_BYTES = 1024
"""How much of a file's start is fingerprinted to notice a rewrite that kept or grew its size."""
REPLACED, TRUNCATED, REWRITTEN = "replaced", "truncated", "rewritten"


def head_hash(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=12).hexdigest()


def head_of(data: bytes, consumed: int) -> list | None:
    """The fingerprint stored for a file whose first `consumed` bytes were read from `data` (None when none were)."""
    length = min(HEAD_BYTES, consumed, len(data))
    return [length, head_hash(data[:length])] if length else None


def unchanged(fs: FileState, st: os.stat_result) -> bool:
    """The file is exactly as it was when its stored position was committed: nothing to read."""
    return (fs.id is not None and not fs.gone and fs.inode == st.st_ino and fs.device == st.st_dev
            and fs.size == st.st_size and fs.mtime_ns == st.st_mtime_ns)


def stat_differs(fs: FileState, st: os.stat_result) -> bool:
    """Anything a poll can see moved since the position was stored (size, time or identity)."""
    return (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev) != (fs.size, fs.mtime_ns, fs.inode, fs.device)


class FileCursor:
    """The stored positions of every file, loaded once from the store and kept in step with what is committed."""

    def __init__(self, store: Store):
        self.store = store
        self._states: dict[str, FileState] | None = None
        self._inodes: set[tuple] = set()
        """(device, inode) of every file state: a superset, so a new file needs the rename scan only on a match."""

    def states(self) -> dict[str, FileState]:
        if self._states is None:
            self._states = self.store.file_states()
            self._inodes = {(fs.device, fs.inode) for fs in self._states.values()}
        return self._states

    def forget(self) -> None:
        """Read the positions again next time: a rolled-back commit left the cached ones ahead of the store."""
        self._states = None

    # -- deciding from a stat -----------------------------------------------------------------------

    def untouched(self, path: str) -> bool:
        """`unchanged` decided from one stat(), without opening the file: on a warm run over thousands of files,
        open+fstat+close per file was most of the catch-up time."""
        fs = self.states().get(path)
        if fs is None:
            return False
        try:
            st = os.stat(path)
        except OSError:
            return False  # the ordinary path says what is wrong
        return stat.S_ISREG(st.st_mode) and unchanged(fs, st)

    def unread_bytes(self, path: str) -> int:
        """How much of the file a read would take now: past the position when it is the same file, else all."""
        try:
            st = os.stat(path)
        except OSError:
            return 0
        fs = self.states().get(path)
        if fs is not None and fs.inode == st.st_ino and fs.device == st.st_dev and st.st_size >= fs.offset:
            return st.st_size - fs.offset  # the same file: past the position
        return st.st_size

    def is_new(self, path: str) -> bool:
        return path not in self.states()

    # -- deciding from the open file ----------------------------------------------------------------

    def known(self, log: LogFile, st: os.stat_result) -> FileState:
        """The position for `log`: its own, one carried over from a rename of the same inode, or a new one at 0."""
        states = self.states()
        fs = states.get(log.path)
        seen = (st.st_dev, st.st_ino) in self._inodes
        self._inodes.add((st.st_dev, st.st_ino))  # whatever follows, the state will hold this inode
        if fs is not None:
            return fs
        # A rename (OpenClaw archiving `x.jsonl` → `x.jsonl.deleted.<ts>`) keeps the inode: carry the position over.
        # (Only a known inode can be a rename: scanning every state for each new file was quadratic on a backfill.)
        for old in states.values() if seen else ():
            if old.inode == st.st_ino and old.device == st.st_dev and old.source == log.source \
                    and old.path != log.path and not os.path.exists(old.path):
                del states[old.path]
                old.path, old.gone = log.path, False
                states[log.path] = old
                # Saved now: with no new bytes the read returns early, and the row would keep the old path.
                with self.store.transaction():
                    self.store.save_file_state(old)
                return old
        fs = FileState(None, log.path, log.source, log.session_id, log.agent_id, st.st_dev, st.st_ino, 0, 0, None,
                       None, 0)
        states[log.path] = fs
        return fs

    def restart_reason(self, fd: int, fs: FileState, st: os.stat_result, extra: dict) -> str | None:
        """Why the file must be read again from the start, or None when the new bytes simply follow the old."""
        if fs.id is not None and (fs.inode != st.st_ino or fs.device != st.st_dev):
            return REPLACED
        if st.st_size < fs.offset:
            return TRUNCATED
        if fs.offset and not self._same_prefix(fd, fs, extra):
            return REWRITTEN
        return None

    @staticmethod
    def _same_prefix(fd: int, fs: FileState, extra: dict) -> bool:
        """True when the bytes already read are still there: the start matches and a newline ends them."""
        if os.pread(fd, 1, fs.offset - 1) != b"\n":
            return False
        head = extra.get("head")
        return head is None or head[1] == head_hash(os.pread(fd, head[0], 0))

    @staticmethod
    def read_head(fd: int) -> bytes:
        # Read before the bytes after it: a rewrite racing the read then shows up as a mismatch next time (and a
        # re-read), never as a match that would hide the new content's first lines.
        return os.pread(fd, HEAD_BYTES, 0)

    @staticmethod
    def note_head(fs: FileState, extra: dict, head: bytes) -> None:
        """Fingerprint as much of the start as has now been read, once it is more than was fingerprinted."""
        length = min(HEAD_BYTES, fs.offset, len(head))
        if fs.offset and extra.get("head", [0])[0] < length:
            extra["head"] = [length, head_hash(head[:length])]

    def mark_gone(self, path: str) -> None:
        fs = self.states().get(path)
        if fs is not None and not fs.gone:
            fs.gone = True
            with self.store.transaction():
                self.store.save_file_state(fs)


def load_extra(fs: FileState) -> dict:
    return json.loads(fs.state) if fs.state else {}
