"""Where live work comes from: watchdog file events and a slow safety poll, both turned into an inbox of paths.

The event callbacks do no I/O: they map a path back to its root's spelling and queue it. The ingest thread takes
the inbox, and `expand` turns each path into the session files it stands for."""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ..logs.discovery import LogFile, classify, discover, inside_roots, real_roots
from ..logs.openclaw_store.schema import DB_NAME
from ..store.store import FileState
from .tail import stat_differs

if TYPE_CHECKING:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers.api import BaseObserver, ObservedWatch

log = logging.getLogger("tokentop.ingest.live.service")

POLL_ONLY_INTERVAL = 1.0
"""Poll period when file events are off (`--poll`) or unavailable."""

Item = tuple[str, str, str]
"""An inbox entry: (path, root, source)."""
RECHECK: Item = ("", "", "")
"""Asks the ingest thread to look at missing roots again."""


STORE_FILES = (DB_NAME, DB_NAME + "-wal")
"""OpenClaw's agent store files whose change means a gateway commit."""


class Inbox:
    """Paths waiting for the ingest thread. A set, so a burst of events on one file is one entry; no I/O here."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._items: set[Item] = set()

    def put(self, item: Item) -> None:
        with self._cond:
            if not self._items:
                self._cond.notify()
            self._items.add(item)

    def put_many(self, items: Iterable[Item]) -> None:
        with self._cond:
            self._items.update(items)
            self._cond.notify()

    def wait(self, timeout: float) -> bool:
        """Block until something arrives, `wake()` is called or `timeout` passes; True when items wait."""
        with self._cond:
            if not self._items and timeout > 0:
                self._cond.wait(timeout)
            return bool(self._items)

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def take(self) -> set[Item]:
        with self._cond:
            items, self._items = self._items, set()
            return items


class Sources:
    """The roots, their watches and the directory times the poll compares. Used by the ingest thread only, except
    `missing_prefix` (read by event callbacks). `on_mode(text, fell_back)` hears 'events' or why polling."""

    def __init__(self, roots: list[tuple[str, str]], inbox: Inbox, on_mode: Callable[[str, bool], None]):
        self.roots = roots
        self.inbox = inbox
        self._on_mode = on_mode
        self.live: dict[str, str] = {}  # existing root -> source
        self._missing: tuple[str, ...] = ()  # read by event callbacks; replaced, never mutated
        self._dirs: dict[str, tuple[int, str, str]] = {}  # directory -> (mtime_ns, root, source), for the poll
        self._observer: BaseObserver | None = None
        self._watches: dict[tuple[str, bool], ObservedWatch] = {}  # (watched path, recursive) -> ObservedWatch

    # -- the observer -------------------------------------------------------------------------------

    def start_observer(self) -> None:
        try:
            from watchdog.observers import Observer
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
            self._on_mode("events", False)
        except Exception as exc:  # noqa: BLE001 - no inotify (limits, platform): polling still works
            self._fall_back_to_polling(exc)

    def stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        self._watches.clear()
        if observer is not None:
            observer.stop()
            observer.join(5)

    def _fall_back_to_polling(self, exc: BaseException) -> None:
        log.warning("file events unavailable (%s); polling every %.0fs instead", exc, POLL_ONLY_INTERVAL)
        self.stop_observer()
        self._on_mode(f"polling (file events unavailable: {exc})", True)

    def _watch(self, path: str, root: str | None, source: str | None, recursive: bool) -> None:
        if self._observer is None or (path, recursive) in self._watches:
            return
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
        )
        # Never opened/closed events: reading a file ourselves would wake us again.
        kinds = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent, DirCreatedEvent,
                 DirMovedEvent, DirDeletedEvent]
        watched = os.path.realpath(path)  # inotify does not follow a symlinked root by itself
        try:
            # watchdog calls only `dispatch`: _Handler is a handler without importing watchdog at module load
            handler = cast("FileSystemEventHandler", _Handler(self, watched, root, source))
            self._watches[(path, recursive)] = self._observer.schedule(
                handler, watched, recursive=recursive, event_filter=kinds)
        except OSError as exc:  # e.g. the inotify watch limit: the poll covers everything, just more slowly
            self._fall_back_to_polling(exc)

    def _unwatch(self, path: str, recursive: bool) -> None:
        watch = self._watches.pop((path, recursive), None)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except Exception:  # noqa: BLE001 - the emitter already stopped itself when its directory was deleted
                pass

    # -- roots --------------------------------------------------------------------------------------

    def refresh_roots(self) -> set[Item]:
        """Watch roots that exist, and the nearest existing parent of those that do not (to see them appear).
        Returns the roots that appeared since the last call, to be walked."""
        appeared: set[Item] = set()
        for _ in range(3):  # a root may appear while its parent's watch is being set up: look again
            for root, source in self.roots:
                exists = os.path.isdir(root)
                if exists and root not in self.live:
                    self.live[root] = source
                    self._watch(root, root, source, recursive=True)
                    self._index_dirs(root, root, source)
                    appeared.add((root, root, source))
                elif not exists and root in self.live:
                    del self.live[root]
                    self._unwatch(root, True)
                    self._forget_dirs(root)
            self._missing = tuple(root for root, _ in self.roots if root not in self.live)
            wanted = {_nearest_existing(root) for root in self._missing}
            for path, recursive in list(self._watches):
                if not recursive and path not in wanted:
                    self._unwatch(path, False)
            for path in wanted:
                if path:
                    self._watch(path, None, None, recursive=False)
            if all(not os.path.isdir(root) for root in self._missing):
                break
        return appeared

    def every_root(self) -> set[Item]:
        return {(root, root, source) for root, source in self.live.items()}

    def root_for(self, path: str) -> tuple[str, str] | None:
        best = None
        for root, source in self.live.items():
            if (path == root or path.startswith(root + os.sep)) and (best is None or len(root) > len(best[0])):
                best = (root, source)
        return best

    def missing_prefix(self, path: str) -> bool:
        """True when `path` is a missing root or one of its parents (called from event callbacks: no I/O)."""
        return any(m == path or m.startswith(path.rstrip(os.sep) + os.sep) for m in self._missing)

    def watched_files(self, states: dict[str, FileState]) -> int:
        return sum(1 for p, fs in states.items() if not fs.gone and self.root_for(p) is not None)

    # -- from an inbox path to session files --------------------------------------------------------

    def expand(self, path: str, root: str, source: str, states: dict[str, FileState]) -> list[LogFile]:
        """The session files an inbox path stands for: itself, everything under a directory, or (for a
        directory that vanished) the files known to have been under it."""
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if os.path.islink(path) and not inside_roots(path, real_roots(r for r, _ in self.roots)):
            return []  # a link out of the log roots (to /etc/passwd, say) is not followed: the walk counts it
        if st is not None and stat.S_ISDIR(st.st_mode):
            self._index_dirs(path, root, source)
            found = discover(roots=[(Path(path), source)])
            return [f for f in (classify(f.path, root, source) for f in found.files) if f is not None]
        log_file = classify(path, root, source)
        if log_file is not None:
            return [log_file] if st is None or stat.S_ISREG(st.st_mode) else []
        if st is None:
            self._forget_dirs(path)
            prefix = path + os.sep
            gone = [p for p, fs in states.items() if not fs.gone and p.startswith(prefix)]
            return [f for f in (classify(p, root, source) for p in gone) if f is not None]
        return []

    # -- the safety poll ----------------------------------------------------------------------------

    def poll(self, states: dict[str, FileState], full: bool = False) -> tuple[set[Item], int]:
        """Stat known files and directories: (what changed, files watched). `full` walks every root again."""
        items = self.refresh_roots()
        if full:
            items |= self.every_root()
        watched = 0
        for path, fs in states.items():
            if fs.gone:
                continue
            owner = self.root_for(path)
            if owner is None:
                continue
            watched += 1
            try:
                st = os.stat(path)
            except OSError:
                items.add((path, *owner))
                continue
            if stat_differs(fs, st):
                items.add((path, *owner))
        for d, (mtime, root, source) in list(self._dirs.items()):
            try:
                changed = os.stat(d).st_mtime_ns != mtime
            except OSError:
                changed = True
            if changed:
                items.add((d, root, source))
        return items, watched

    def _index_dirs(self, top: str, root: str, source: str) -> None:
        """Remember the modification time of `top` and every directory below it: a changed time means an
        entry was added or removed there, which is how the poll finds new files without walking everything."""
        stack, seen = [top], set()
        while stack:
            d = stack.pop()
            try:
                st = os.stat(d)  # before the listing, so an entry added meanwhile still changes the time
            except OSError:
                continue
            if (st.st_dev, st.st_ino) in seen:
                continue  # a symlink loop
            seen.add((st.st_dev, st.st_ino))
            self._dirs[d] = (st.st_mtime_ns, root, source)
            try:
                with os.scandir(d) as entries:
                    stack.extend(e.path for e in entries if e.is_dir(follow_symlinks=True))
            except OSError:
                continue

    def _forget_dirs(self, top: str) -> None:
        for d in [d for d in self._dirs if d == top or d.startswith(top + os.sep)]:
            del self._dirs[d]


class _Handler:
    """watchdog callbacks for one watch: map the path back to its root's spelling and queue it. No I/O."""

    def __init__(self, sources: Sources, watched: str, root: str | None, source: str | None):
        self.sources = sources
        self.watched = watched
        self.root = root
        self.source = source

    def dispatch(self, event) -> None:
        kind = event.event_type
        if kind not in ("created", "modified", "moved", "deleted") or (kind == "modified" and event.is_directory):
            return
        paths = (event.src_path, event.dest_path) if kind == "moved" else (event.src_path,)
        inbox = self.sources.inbox
        for path in paths:
            if not path:
                continue
            path = os.fsdecode(path)
            if kind in ("created", "moved") and self.sources.missing_prefix(path):
                inbox.put(RECHECK)
            elif kind == "deleted" and path == self.watched and self.root is not None:
                inbox.put(RECHECK)  # the root itself went away: watch its parent for its return
            if self.root is None or not (path == self.watched or path.startswith(self.watched + os.sep)):
                continue
            # Only session logs (`.jsonl`, OpenClaw's `.jsonl.deleted.<ts>`), OpenClaw's agent store (its WAL
            # changes on every gateway commit) and directories are worth a wake-up.
            name = os.path.basename(path)
            if not event.is_directory and ".jsonl" not in name and name not in STORE_FILES:
                continue
            assert self.source is not None  # _watch gives a root and its source together, or neither
            inbox.put((self.root + path[len(self.watched):], self.root, self.source))


def _nearest_existing(path: str) -> str:
    """The closest existing directory at or above `path` ('' if none)."""
    current = path
    while current and not os.path.isdir(current):
        parent = os.path.dirname(current)
        if parent == current:
            return ""
        current = parent
    return current
