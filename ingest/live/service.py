"""The live ingest service: file events and a safety poll feed one ingest thread; one writer per store, others follow."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..logs.discovery import LogFile, classify, configured_roots, discover
from ..logs.openclaw_store.schema import DB_NAME
from .ingester import FileOutcome, Ingester, IngestSummary
from ..store.recovery import diagnose, move_aside
from ..store.errors import StoreDamaged, StoreError
from ..store.store import Store
from .writer_lock import WriterLock

log = logging.getLogger(__name__)

BATCH_DELAY = 0.05
"""Seconds to keep collecting events after the first one, so a burst of lines becomes one transaction."""
POLL_ONLY_INTERVAL = 1.0
"""Poll period when file events are off (`--poll`) or unavailable."""
FOLLOW_INTERVAL = 0.5
"""How often a follower checks whether the writer committed something."""
TAKEOVER_INTERVAL = 2.0
"""How often a follower tries to become the writer."""
REDISCOVER_SECONDS = 300.0
"""A full walk of every root this often: the last resort for events and directory times that both missed a file."""
PRUNE_SECONDS = 3600.0
"""Old rows are rolled up this often while running for weeks (the catch-up does it at start)."""
ONE_TRANSACTION_BYTES = 8 << 20
"""A batch with less new data than this commits as one transaction; larger ones commit file by file."""
MAX_RETRY_SECONDS = 60.0

WRITER = "writer"
FOLLOWER = "follower"

# Inbox items are (path, root, source); this one asks the ingest thread to look at missing roots again.
_RECHECK = ("", "", "")
_STORE_FILES = (DB_NAME, DB_NAME + "-wal")
STORE_RECHECK_SECONDS = 0.25
"""After reading a changed OpenClaw store, look once more this much later (see `_process`)."""


@dataclass(frozen=True, slots=True)
class Change:
    """What one committed batch changed; subscribers get it on the ingest thread and must return quickly."""

    sessions: frozenset[str]
    newest_ts: int | None
    """Newest response time in the batch, Unix ms."""
    new_requests: int
    files: int
    """Files that had new bytes (0 when a follower saw another process commit)."""
    updated_requests: int = 0
    """Responses whose row was replaced by a larger copy (a streamed response's final line)."""
    at: float = field(default_factory=time.time)


@dataclass(slots=True)
class WatchStats:
    """Counters for status lines and the TUI. A snapshot: read `service.stats` again for fresh numbers."""

    role: str = "starting"
    mode: str = ""
    """'events' (file events plus a slow safety poll) or 'polling' (with the reason when not asked for)."""
    roots_watched: int = 0
    files_watched: int = 0
    lines_ingested: int = 0
    """Lines read since the catch-up (the catch-up's own figures are in `service.catchup`)."""
    responses_added: int = 0
    responses_updated: int = 0
    batches: int = 0
    polls: int = 0
    last_ingest: float | None = None
    """Wall time of the last batch that read new bytes."""
    last_line: float | None = None
    """Wall time a complete new line last arrived (for a follower: when the writer last added rows)."""
    catchup_done: int = 0
    catchup_total: int = 0
    catchup_seconds: float | None = None
    skipped: Counter = field(default_factory=Counter)
    errors: int = 0
    last_error: str | None = None
    """The last failure, or the last notice about the database file (deleted, replaced, damaged)."""
    reopens: int = 0
    """Times the database file was found deleted or replaced while running and the new one taken up."""


def make_ingester(store: Store, settings) -> Ingester:
    """The Ingester the service writes with; looked up at call time so a test can swap in smaller commits."""
    return Ingester(store, settings)


class _Stopped(Exception):
    """Raised from the catch-up progress hook to abandon a long catch-up when the service stops."""


class _LostWriterRole(Exception):
    """The lock file vanished (its folder was deleted) and another process locked the new one: stop writing."""


class _Inbox:
    """Paths waiting for the ingest thread. A set, so a burst of events on one file is one entry; no I/O here."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._items: set[tuple[str, str, str]] = set()

    def put(self, item: tuple[str, str, str]) -> None:
        with self._cond:
            if not self._items:
                self._cond.notify()
            self._items.add(item)

    def put_many(self, items: Iterable[tuple[str, str, str]]) -> None:
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

    def take(self) -> set[tuple[str, str, str]]:
        with self._cond:
            items, self._items = self._items, set()
            return items


class WatchService:
    """Keeps the store up to date while running: the writer ingests, a follower watches the writer's commits.

    `open_store(readonly=False)` makes a Store for the ingest thread (Store is not thread-safe, so the thread
    opens its own). `start()` decides the role at once; `stop()` ends everything and releases the writer lock."""

    def __init__(self, settings, open_store: Callable[..., Store], lock: WriterLock, *, db_path: Path | str | None = None,
                 poll_only: bool = False, poll_interval: float | None = None, batch_delay: float = BATCH_DELAY,
                 follow_interval: float = FOLLOW_INTERVAL, takeover_interval: float = TAKEOVER_INTERVAL,
                 roots: list[tuple[Path, str]] | None = None,
                 ingester_factory: Callable[[Store, object], Ingester] | None = None):
        self.settings = settings
        self._open_store = open_store
        self._lock = lock
        self.db_path = Path(db_path) if db_path is not None else None
        self.poll_only = poll_only
        self.poll_interval = poll_interval or (
            POLL_ONLY_INTERVAL if poll_only else getattr(settings, "poll_interval", 10.0) or 10.0)
        self.batch_delay = batch_delay
        self.follow_interval = follow_interval
        self.takeover_interval = takeover_interval
        self._roots_override = roots
        self._ingester_factory = ingester_factory
        self._inbox = _Inbox()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribers: list[Callable[[Change], None]] = []
        self._sub_lock = threading.Lock()
        self._stats = WatchStats()
        self._stats_lock = threading.Lock()
        self.last_change: Change | None = None
        self.catchup = None
        """The IngestSummary of the startup catch-up (None until it finished, or for a follower)."""
        self.failure: BaseException | None = None
        """Set when the ingest thread died; the service then does nothing more."""
        # Ingest-thread state.
        self._roots: list[tuple[str, str]] = []
        self._live: dict[str, str] = {}  # existing root -> source
        self._missing: tuple[str, ...] = ()  # read by event callbacks; replaced, never mutated
        self._dirs: dict[str, tuple[int, str, str]] = {}  # directory -> (mtime_ns, root, source), for the poll
        self._observer = None
        self._watches: dict[tuple[str, bool], object] = {}  # (watched path, recursive) -> ObservedWatch
        self._store: Store | None = None
        self._ingester: Ingester | None = None
        self._db_file: Path | None = None  # where the store was last opened (db_path, or learnt from the Store)
        self._side_files: dict[str, tuple[int, int]] = {}  # our connection's -wal/-shm: suffix -> (device, inode)
        self._lost: str | None = None  # 'deleted' / 'replaced' until a new store has been filled
        self._retry: set[tuple[str, str, str]] = set()
        self._retry_at = float("inf")
        self._retry_delay = 1.0

    @classmethod
    def from_context(cls, ctx, **kwargs) -> WatchService:
        return cls(ctx.settings, ctx.open_store, ctx.writer_lock(), db_path=ctx.db_path, **kwargs)

    # -- public -------------------------------------------------------------------------------------

    @property
    def role(self) -> str:
        return self._stats.role

    @property
    def stats(self) -> WatchStats:
        with self._stats_lock:
            return replace(self._stats, skipped=Counter(self._stats.skipped))

    @property
    def writer_pid(self) -> int | None:
        """The pid of the process holding the writer role (this one when role == 'writer')."""
        return os.getpid() if self._lock.held else self._lock.holder_pid()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call `callback(change)` after every commit (on the ingest thread); returns an unsubscribe function."""
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def start(self) -> WatchService:
        if self._thread is not None:
            return self
        self._set(role=WRITER if self._lock.acquire() else FOLLOWER)
        self._thread = threading.Thread(target=self._main, name="tokentop-ingest", daemon=True)
        self._thread.start()
        return self

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Wait until the writer finished its catch-up (or the follower opened the store)."""
        return self._ready.wait(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        self._stopping.set()
        self._inbox.wake()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._lock.release()

    def __enter__(self) -> WatchService:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- the ingest thread --------------------------------------------------------------------------

    def _main(self) -> None:
        try:
            while not self._stopping.is_set():
                if self.role == WRITER:
                    try:
                        self._run_writer()
                        return
                    except _LostWriterRole:
                        self._tell("the database folder was deleted and another tokentop took the writer role; "
                                   "following it")
                        self._lock.release()
                        self._set(role=FOLLOWER)
                        continue
                if not self._run_follower():
                    return
                self._set(role=WRITER)
        except BaseException as exc:  # noqa: BLE001 - kept for whoever runs the service, and logged
            self.failure = exc
            log.exception("tokentop ingest thread stopped")
        finally:
            self._lock.release()  # here, not in stop(): never while this thread may still write
            self._ready.set()

    def _set(self, **values) -> None:
        with self._stats_lock:
            for key, value in values.items():
                setattr(self._stats, key, value)

    def _make_ingester(self) -> Ingester:
        factory = self._ingester_factory or make_ingester
        return factory(self._store, self.settings)

    def _run_writer(self) -> None:
        self._store, damaged = self._open_writable()
        if damaged is not None:
            self._tell(f"the database {self._db_file} was damaged ({damaged[0]}); moved it to {damaged[1]} and "
                       "rebuilding it from the logs on disk")
        try:
            self._ingester = self._make_ingester()
            roots = self._roots_override if self._roots_override is not None else configured_roots(self.settings)
            self._roots = [(str(root), source) for root, source in roots]
            if self.poll_only:
                self._set(mode="polling")
            else:
                self._start_observer()
            self._refresh_roots()
            # Events that arrive during the catch-up wait in the inbox; stored offsets make re-reading harmless.
            if not self._safely(self._catch_up):
                self._retry.update((root, root, source) for root, source in self._live.items())
            self._ready.set()
            now = time.monotonic()
            next_poll, next_walk, next_prune = now + self.poll_interval, now + REDISCOVER_SECONDS, now + PRUNE_SECONDS
            while not self._stopping.is_set():
                due = min(next_poll, next_prune, self._retry_at)
                if self._inbox.wait(due - time.monotonic()):
                    if self._stopping.wait(self.batch_delay):  # the coalescing window
                        break
                    self._safely(self._process, self._inbox.take())
                now = time.monotonic()
                if now >= self._retry_at:
                    self._inbox.put_many(self._retry)
                    self._retry, self._retry_at = set(), float("inf")
                if now >= next_poll:
                    self._safely(self._poll, now >= next_walk)
                    if now >= next_walk:
                        next_walk = now + REDISCOVER_SECONDS
                    next_poll = time.monotonic() + self.poll_interval
                if now >= next_prune:
                    self._safely(self._prune)
                    next_prune = now + PRUNE_SECONDS
        finally:
            self._stop_observer()
            if self._store is not None:
                self._store.close()
            self._store = self._ingester = None

    def _safely(self, step: Callable, *args) -> bool:
        """Run one step of the loop; a failure (a locked or failing database) is counted, logged and retried
        later instead of ending a weeks-long run."""
        try:
            step(*args)
            return True
        except _Stopped:
            return True
        except _LostWriterRole:
            raise
        except Exception as exc:  # noqa: BLE001
            # The Ingester's cached positions may have run ahead of a rolled-back commit: reload them.
            self._ingester = self._make_ingester()
            self._retry_at = min(self._retry_at, time.monotonic() + self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_SECONDS)
            with self._stats_lock:
                self._stats.errors += 1
                self._stats.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("ingest step failed (will retry): %s", exc, exc_info=True)
            return False

    def _catch_up(self, refill: bool = False) -> IngestSummary:
        """Every file under every root. `refill`: into a new database after the old file went away."""
        found = discover(roots=[(Path(root), source) for root, source in self._roots])

        def progress(done: int, total: int, path: str) -> None:
            self._set(catchup_done=done, catchup_total=total)
            if self._stopping.is_set():
                raise _Stopped

        self._set(catchup_total=len(found.files))
        summary = self._ingester.ingest_all(found, progress=progress)
        if not refill:  # a refill re-reads old lines: not news for the startup figures or the skipped counts
            self.catchup = summary
            with self._stats_lock:
                self._stats.catchup_seconds = summary.seconds
                self._stats.skipped.update(summary.skipped)
        self._count_files()
        # After a refill even "nothing new" is news: the new database may hold less than the old one showed.
        if refill or summary.new_requests or summary.updated_requests:
            self._notify(Change(frozenset(summary.sessions), summary.newest_ts, summary.new_requests,
                                summary.files_read, summary.updated_requests))
        return summary

    def _prune(self) -> None:
        self._check_store()
        self._store.prune(getattr(self.settings, "retention_days", 90) or 90)

    # -- the database file itself -------------------------------------------------------------------

    def _tell(self, text: str) -> None:
        """One line for the person running us: logged, and shown as the last error in status lines."""
        with self._stats_lock:
            self._stats.errors += 1
            self._stats.last_error = text
        log.warning("%s", text)

    def _open_writable(self) -> tuple[Store, tuple[str, Path] | None]:
        """Open the store for writing. A file at the path that is not a usable database (garbage copied over it,
        a torn copy) is moved aside, never deleted, and a new store made: the second value is (why, where to).
        We hold the writer lock, so no other tokentop is using the file."""
        path = self.db_path or self._db_file
        reason = diagnose(path) if path is not None else None
        store = None
        if reason is None:
            try:
                store = self._open_store()
            except StoreDamaged as exc:
                if path is None:
                    raise
                reason = f"SQLite reports: {exc.__cause__ or exc}"
        damaged = None
        if store is None:
            damaged = (reason, move_aside(path))
            store = self._open_store()
        self._db_file = store.path
        self._side_files = _side_file_ids(store.path)
        return store, damaged

    def _check_store(self) -> None:
        """Take up a new database when the file was deleted or replaced under us (`rm`, a restored backup, garbage
        copied over it): SQLite would go on writing, without an error, to a file nobody can see any more. The
        new store gets every log read into it, so it ends as a cold ingest would. One stat when nothing happened.
        The writer lock is checked the same way: deleting the folder deletes the lock file with it."""
        if not self._lock.still_held() and not self._lock.renew():
            raise _LostWriterRole()
        if self._store is not None and not self._store.moved():
            return
        if self._store is not None:
            old, self._store = self._store, None
            self._lost = "replaced" if old.path.exists() else "deleted"
            # SQLite sees that its file moved: this close neither checkpoints into nor deletes what is at the path.
            old.close()
        # (With no store, an earlier attempt failed: the disk, the folder's permissions. Try again.)
        if self._lost is not None and self._db_file is not None:
            self._drop_stale_side_files(self._db_file)
        self._store, damaged = self._open_writable()
        self._ingester = self._make_ingester()  # its cached file positions were the old database's
        try:
            summary = self._catch_up(refill=True)
        except _Stopped:
            raise
        except Exception:
            # The walk of every root is retried with the other failed steps; the store itself is usable.
            self._retry.update((root, root, source) for root, source in self._live.items())
            self._tell_new_store(damaged, None)
            raise
        self._tell_new_store(damaged, summary)

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

    def _tell_new_store(self, damaged: tuple[str, Path] | None, summary: IngestSummary | None) -> None:
        what, self._lost = self._lost or "replaced", None
        text = f"the database {self._db_file} was {what} while running"
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
        with self._stats_lock:
            self._stats.reopens += 1
        self._tell(text)

    # -- roots and the observer ---------------------------------------------------------------------

    def _start_observer(self) -> None:
        try:
            from watchdog.observers import Observer
            self._observer = Observer()
            self._observer.daemon = True
            self._observer.start()
            self._set(mode="events")
        except Exception as exc:  # noqa: BLE001 - no inotify (limits, platform): polling still works
            self._fall_back_to_polling(exc)

    def _stop_observer(self) -> None:
        observer, self._observer = self._observer, None
        self._watches.clear()
        if observer is not None:
            observer.stop()
            observer.join(5)

    def _fall_back_to_polling(self, exc: BaseException) -> None:
        log.warning("file events unavailable (%s); polling every %.0fs instead", exc, POLL_ONLY_INTERVAL)
        self._stop_observer()
        self.poll_interval = min(self.poll_interval, POLL_ONLY_INTERVAL)
        self._set(mode=f"polling (file events unavailable: {exc})")

    def _watch(self, path: str, root: str | None, source: str | None, recursive: bool) -> None:
        if self._observer is None or (path, recursive) in self._watches:
            return
        from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileCreatedEvent,
                                     FileDeletedEvent, FileModifiedEvent, FileMovedEvent)
        # Never opened/closed events: reading a file ourselves would wake us again.
        kinds = [FileCreatedEvent, FileModifiedEvent, FileMovedEvent, FileDeletedEvent, DirCreatedEvent,
                 DirMovedEvent, DirDeletedEvent]
        watched = os.path.realpath(path)  # inotify does not follow a symlinked root by itself
        try:
            self._watches[(path, recursive)] = self._observer.schedule(
                _Handler(self, watched, root, source), watched, recursive=recursive, event_filter=kinds)
        except OSError as exc:  # e.g. the inotify watch limit: the poll covers everything, just more slowly
            self._fall_back_to_polling(exc)

    def _unwatch(self, path: str, recursive: bool) -> None:
        watch = self._watches.pop((path, recursive), None)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except Exception:  # noqa: BLE001 - the emitter already stopped itself when its directory was deleted
                pass

    def _refresh_roots(self) -> set[tuple[str, str, str]]:
        """Watch roots that exist, and the nearest existing parent of those that do not (to see them appear).
        Returns the roots that appeared since the last call, to be walked."""
        appeared: set[tuple[str, str, str]] = set()
        for _ in range(3):  # a root may appear while its parent's watch is being set up: look again
            for root, source in self._roots:
                exists = os.path.isdir(root)
                if exists and root not in self._live:
                    self._live[root] = source
                    self._watch(root, root, source, recursive=True)
                    self._index_dirs(root, root, source)
                    appeared.add((root, root, source))
                elif not exists and root in self._live:
                    del self._live[root]
                    self._unwatch(root, True)
                    for d in [d for d in self._dirs if d == root or d.startswith(root + os.sep)]:
                        del self._dirs[d]
            self._missing = tuple(root for root, _ in self._roots if root not in self._live)
            wanted = {_nearest_existing(root) for root in self._missing}
            for path, recursive in list(self._watches):
                if not recursive and path not in wanted:
                    self._unwatch(path, False)
            for path in wanted:
                if path:
                    self._watch(path, None, None, recursive=False)
            if all(not os.path.isdir(root) for root in self._missing):
                break
        self._set(roots_watched=len(self._live))
        return appeared

    def _root_for(self, path: str) -> tuple[str, str] | None:
        best = None
        for root, source in self._live.items():
            if (path == root or path.startswith(root + os.sep)) and (best is None or len(root) > len(best[0])):
                best = (root, source)
        return best

    def missing_prefix(self, path: str) -> bool:
        """True when `path` is a missing root or one of its parents (called from event callbacks: no I/O)."""
        return any(m == path or m.startswith(path.rstrip(os.sep) + os.sep) for m in self._missing)

    # -- a batch ------------------------------------------------------------------------------------

    def _process(self, items: set[tuple[str, str, str]]) -> None:
        self._check_store()
        if _RECHECK in items:
            items.discard(_RECHECK)
            items |= self._refresh_roots()
        logs: dict[str, LogFile] = {}
        for path, root, source in sorted(items):
            for found in self._collect(path, root, source):
                logs[found.path] = found
        if logs:
            self._ingest(list(logs.values()))
            self._check_store()  # deleted during the batch: its rows went to the old file; refill at once
        store_items = {item for item in items if os.path.basename(item[0]) in _STORE_FILES}
        if store_items and self._ingest_stores():
            # The WAL write that woke us comes before the commit is visible in the -shm (mmap writes raise no
            # file event), so a store that was read is looked at once more shortly: unchanged, that costs a header
            # read and schedules nothing; a commit that became visible meanwhile is read then, not at the poll.
            self._retry.update(store_items)
            self._retry_at = min(self._retry_at, time.monotonic() + STORE_RECHECK_SECONDS)

    def _ingest_stores(self) -> bool:
        """New events in the OpenClaw agent stores (each store is skipped at once when its files did not change).
        True when some store had changed and was read."""
        out = self._ingester.agent_stores.ingest()
        outcome = FileOutcome("openclaw agent stores", bytes_read=out.lines, lines=out.lines,
                              new_requests=out.new_requests, updated_requests=out.updated_requests,
                              skipped=Counter(out.skipped), sessions=set(out.sessions), newest_ts=out.newest_ts)
        self._publish([outcome])
        return bool(out.scanned)

    def _collect(self, path: str, root: str, source: str) -> list[LogFile]:
        """The session files an event path stands for: itself, everything under a directory, or (for a
        directory that vanished) the files known to have been under it."""
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode):
            self._index_dirs(path, root, source)
            found = discover(roots=[(Path(path), source)])
            return [f for f in (classify(f.path, root, source) for f in found.files) if f is not None]
        log_file = classify(path, root, source)
        if log_file is not None:
            return [log_file] if st is None or stat.S_ISREG(st.st_mode) else []
        if st is None:
            prefix = path + os.sep
            for d in [d for d in self._dirs if d == path or d.startswith(prefix)]:
                del self._dirs[d]
            gone = [p for p, fs in self._ingester.states().items() if not fs.gone and p.startswith(prefix)]
            return [f for f in (classify(p, root, source) for p in gone) if f is not None]
        return []

    def _ingest(self, logs: list[LogFile]) -> None:
        ingester = self._ingester
        try:
            if self._new_bytes(logs) <= ONE_TRANSACTION_BYTES:
                with self._store.transaction():  # the Ingester's own commits join this one
                    outcomes = [ingester.ingest_file(f) for f in logs]
            else:
                outcomes = [ingester.ingest_file(f) for f in logs]
        except Exception:
            self._retry.update((f.path, f.root, f.source) for f in logs)  # _safely schedules the retry
            raise
        self._retry_delay = 1.0
        self._publish(outcomes)

    def _new_bytes(self, logs: list[LogFile]) -> int:
        states = self._ingester.states()
        total = 0
        for f in logs:
            try:
                st = os.stat(f.path)
            except OSError:
                continue
            fs = states.get(f.path)
            same = fs is not None and fs.inode == st.st_ino and fs.device == st.st_dev and st.st_size >= fs.offset
            total += st.st_size - fs.offset if same else st.st_size
        return total

    def _publish(self, outcomes: list[FileOutcome]) -> None:
        sessions: set[str] = set()
        newest = None
        new = updated = files = lines = 0
        skipped: Counter = Counter()
        for o in outcomes:
            sessions |= o.sessions
            new += o.new_requests
            updated += o.updated_requests
            lines += o.lines
            skipped.update(o.skipped)
            if o.bytes_read or o.restarted:
                files += 1
            if o.newest_ts and (newest is None or o.newest_ts > newest):
                newest = o.newest_ts
            if o.error:
                log.info("could not read %s: %s", o.path, o.error)
        now = time.time()
        with self._stats_lock:
            s = self._stats
            s.batches += 1
            s.lines_ingested += lines
            s.responses_added += new
            s.responses_updated += updated
            s.skipped.update(skipped)
            if files:
                s.last_ingest = now
            if lines:
                s.last_line = now
        if new or updated or sessions:
            self._notify(Change(frozenset(sessions), newest, new, files, updated, now))

    def _notify(self, change: Change) -> None:
        self.last_change = change
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(change)
            except Exception:  # noqa: BLE001 - one broken subscriber must not stop ingestion
                log.exception("change subscriber failed")

    # -- the safety poll ----------------------------------------------------------------------------

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

    def _poll(self, full: bool = False) -> None:
        """Stat known files and directories; queue what changed. `full` walks every root from scratch."""
        self._check_store()  # also when no log changed: a deleted database is noticed within one poll
        items = self._refresh_roots()
        if full:
            items |= {(root, root, source) for root, source in self._live.items()}
        watched = 0
        for path, fs in self._ingester.states().items():
            if fs.gone:
                continue
            owner = self._root_for(path)
            if owner is None:
                continue
            watched += 1
            try:
                st = os.stat(path)
            except OSError:
                items.add((path, *owner))
                continue
            if (st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev) != (fs.size, fs.mtime_ns, fs.inode, fs.device):
                items.add((path, *owner))
        for d, (mtime, root, source) in list(self._dirs.items()):
            try:
                changed = os.stat(d).st_mtime_ns != mtime
            except OSError:
                changed = True
            if changed:
                items.add((d, root, source))
        with self._stats_lock:
            self._stats.polls += 1
            self._stats.files_watched = watched
        if items:
            self._process(items)
            self._count_files()
        self._ingest_stores()  # the safety net for a missed WAL event

    def _count_files(self) -> None:
        states = self._ingester.states()
        watched = sum(1 for p, fs in states.items() if not fs.gone and self._root_for(p) is not None)
        self._set(files_watched=watched)

    # -- following another writer -------------------------------------------------------------------

    def _run_follower(self) -> bool:
        """Watch the writer's commits until stopped (False) or until this process takes the role (True)."""
        store = None
        next_try = time.monotonic() + self.takeover_interval
        version = last_id = None
        db_file = self.db_path
        lost = False  # the file was deleted or replaced: subscribers hear once the new one can be read
        problem = None  # why the file could not be opened, said once per reason
        try:
            while True:
                if store is not None and store.moved():
                    # The writer takes up a new database (or a restored copy): follow that one, not the old file.
                    what = "replaced" if store.path.exists() else "deleted"
                    store.close()
                    store, lost = None, True
                    self._tell(f"the database {db_file} was {what} while running; following the new one as soon "
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
                            self._tell(f"cannot read the database yet: {exc}")
                    else:
                        problem = None
                        self._ready.set()
                        if lost:
                            lost = False
                            with self._stats_lock:
                                self._stats.reopens += 1
                            self._notify(Change(frozenset(), None, 0, 0))  # everything may differ: re-read it
                if store is not None:
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
        with self._stats_lock:
            self._stats.responses_added += new
            self._stats.batches += 1
            if new:
                self._stats.last_line = now
        self._notify(Change(sessions, newest, new, 0, 0, now))
        return max((r[3] for r in rows), default=last_id)


class _Handler:
    """watchdog callbacks for one watch: map the path back to its root's spelling and queue it. No I/O."""

    def __init__(self, service: WatchService, watched: str, root: str | None, source: str | None):
        self.service = service
        self.watched = watched
        self.root = root
        self.source = source

    def dispatch(self, event) -> None:
        kind = event.event_type
        if kind not in ("created", "modified", "moved", "deleted") or (kind == "modified" and event.is_directory):
            return
        paths = (event.src_path, event.dest_path) if kind == "moved" else (event.src_path,)
        for path in paths:
            if not path:
                continue
            path = os.fsdecode(path)
            if kind in ("created", "moved") and self.service.missing_prefix(path):
                self.service._inbox.put(_RECHECK)
            elif kind == "deleted" and path == self.watched and self.root is not None:
                self.service._inbox.put(_RECHECK)  # the root itself went away: watch its parent for its return
            if self.root is None or not (path == self.watched or path.startswith(self.watched + os.sep)):
                continue
            # Only session logs (`.jsonl`, OpenClaw's `.jsonl.deleted.<ts>`) and directories are worth a wake-up.
            # OpenClaw's agent store: its WAL changes on every gateway commit (never the -shm, which readers touch).
            name = os.path.basename(path)
            if not event.is_directory and ".jsonl" not in name and name not in _STORE_FILES:
                continue
            self.service._inbox.put((self.root + path[len(self.watched):], self.root, self.source))


def _nearest_existing(path: str) -> str:
    """The closest existing directory at or above `path` ('' if none)."""
    current = path
    while current and not os.path.isdir(current):
        parent = os.path.dirname(current)
        if parent == current:
            return ""
        current = parent
    return current


def _side_file_ids(path: Path) -> dict[str, tuple[int, int]]:
    """(device, inode) of the -wal and -shm beside an open database: SQLite keeps these open while connected."""
    ids = {}
    for suffix in ("-wal", "-shm"):
        try:
            st = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        ids[suffix] = (st.st_dev, st.st_ino)
    return ids
