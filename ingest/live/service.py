"""The live ingest service: file events and a safety poll feed one ingest thread; one writer per store, others follow.

The pieces, each handed only what it needs: `sources.Sources` (events and the poll → an inbox of paths),
`store_guard.StoreGuard` (the writer's database file), `follower.Follower` (watching another writer), and the
`Ingester` (parse + one transaction). This module wires them: roles, the writer loop, takeover."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..claude_code.cached_usage import CachedWatch
from ..claude_code.state import alerts_and_state
from ..logs.discovery import LogFile, configured_roots, discover
from ..store.errors import StoreError, explain
from ..store.store import Store
from ..usage.alerts import Alert
from .follower import Follower
from .ingester import FileOutcome, Ingester, IngestSummary
from .reporting import Change, Reporter, WatchStats, summarize
from .sources import POLL_ONLY_INTERVAL, RECHECK, STORE_FILES, Inbox, Item, Sources
from .store_guard import LostWriterRole, StoreGuard
from .writer_lock import WriterLock

log = logging.getLogger(__name__)

BATCH_DELAY = 0.05
"""Seconds to keep collecting events after the first one, so a burst of lines becomes one transaction."""
FOLLOW_INTERVAL = 0.5
"""How often a follower checks whether the writer committed something."""
TAKEOVER_INTERVAL = 2.0
"""How often a follower tries to become the writer."""
REDISCOVER_SECONDS = 300.0
"""A full walk of every root this often: the last resort for events and directory times that both missed a file."""
PRUNE_SECONDS = 3600.0
"""Old rows are rolled up this often while running for weeks (the catch-up does it at start)."""
STORE_RECHECK_SECONDS = 0.25
"""After reading a changed OpenClaw store, look once more this much later (see `_process`)."""
ONE_TRANSACTION_BYTES = 8 << 20
"""A batch with less new data than this commits as one transaction; larger ones commit file by file."""
MAX_RETRY_SECONDS = 60.0
ALERTS_EVERY_S = 1.0
"""The post-commit step (alerts, the statusline's state file) runs at most this often; a skipped one runs late."""

WRITER = "writer"
FOLLOWER = "follower"

__all__ = ["FOLLOWER", "POLL_ONLY_INTERVAL", "WRITER", "Change", "WatchService", "WatchStats", "make_ingester"]


def make_ingester(store: Store, settings) -> Ingester:
    """The Ingester the service writes with; looked up at call time so a test can swap in smaller commits."""
    return Ingester(store, settings)


class _Stopped(Exception):
    """Raised from the catch-up progress hook to abandon a long catch-up when the service stops."""


class WatchService:
    """Keeps the store up to date while running: the writer ingests, a follower watches the writer's commits.

    `open_store(readonly=False)` makes a Store for the ingest thread (Store is not thread-safe, so the thread
    opens its own). `start()` decides the role at once; `stop()` ends everything and releases the writer lock."""

    config_path: Path | None = None  # the file `settings` came from (None: the default), for the state file

    def __init__(self, settings, open_store: Callable[..., Store], lock: WriterLock, *,
                 db_path: Path | str | None = None, poll_only: bool = False, poll_interval: float | None = None,
                 batch_delay: float = BATCH_DELAY,
                 follow_interval: float = FOLLOW_INTERVAL, takeover_interval: float = TAKEOVER_INTERVAL,
                 roots: list[tuple[Path, str]] | None = None,
                 ingester_factory: Callable[[Store, object], Ingester] | None = None):
        self.settings = settings
        self._open_store, self._lock = open_store, lock
        self.db_path = Path(db_path) if db_path is not None else None
        self.poll_only = poll_only
        self.poll_interval = poll_interval or (
            POLL_ONLY_INTERVAL if poll_only else getattr(settings, "poll_interval", 10.0) or 10.0)
        self.batch_delay = batch_delay
        self.follow_interval, self.takeover_interval = follow_interval, takeover_interval
        self._roots_override = roots
        self._ingester_factory = ingester_factory
        self._inbox = Inbox()
        self._stopping, self._ready = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None
        self._reporter, self._cached = Reporter(), CachedWatch()
        self.catchup: IngestSummary | None = None
        """The IngestSummary of the startup catch-up (None until it finished, or for a follower)."""
        self.failure: BaseException | None = None
        """Set when the ingest thread died; the service then does nothing more."""
        # Ingest-thread state (the writer's).
        self._sources: Sources | None = None
        self._guard: StoreGuard | None = None
        self._ingester: Ingester | None = None
        self._retry: set[Item] = set()
        self._retry_at, self._retry_delay = float("inf"), 1.0
        self._alerts_ran, self._alerts_at = float("-inf"), float("inf")

    @classmethod
    def from_context(cls, ctx, **kwargs) -> WatchService:
        service = cls(ctx.settings, ctx.open_store, ctx.writer_lock(), db_path=ctx.db_path, **kwargs)
        service.config_path = ctx.config_path
        return service

    # -- public -------------------------------------------------------------------------------------

    @property
    def role(self) -> str:
        return self._reporter.role

    @property
    def stats(self) -> WatchStats:
        return self._reporter.snapshot()

    @property
    def last_change(self) -> Change | None:
        return self._reporter.last_change

    @property
    def writer_pid(self) -> int | None:
        """The pid of the process holding the writer role (this one when role == 'writer')."""
        return os.getpid() if self._lock.held else self._lock.holder_pid()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        """Call `callback(change)` after every commit (on the ingest thread); returns an unsubscribe function."""
        return self._reporter.subscribe(callback)

    def start(self) -> WatchService:
        if self._thread is not None:
            return self
        self._reporter.set(role=WRITER if self._lock.acquire() else FOLLOWER)
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

    # -- the ingest thread: roles -------------------------------------------------------------------

    def _main(self) -> None:
        reporter = self._reporter
        try:
            while not self._stopping.is_set():
                if self.role == WRITER:
                    try:
                        self._run_writer()
                        return
                    except LostWriterRole:
                        reporter.tell("the database folder was deleted and another tokentop took the writer role; "
                                      "following it")
                        self._lock.release()
                        reporter.set(role=FOLLOWER)
                        continue
                follower = Follower(self._open_store, self.db_path, self._lock, reporter, self._stopping,
                                    self._ready, follow_interval=self.follow_interval,
                                    takeover_interval=self.takeover_interval)
                if not follower.run():
                    return
                reporter.set(role=WRITER)
        except BaseException as exc:  # noqa: BLE001 - kept for whoever runs the service, and logged
            self.failure = exc
            log.exception("tokentop ingest thread stopped")
        finally:
            self._lock.release()  # here, not in stop(): never while this thread may still write
            self._ready.set()

    def _make_ingester(self) -> Ingester:
        factory = self._ingester_factory or make_ingester
        return factory(self._live_store, self.settings)

    def _on_mode(self, mode: str, fell_back: bool) -> None:
        if fell_back:
            self.poll_interval = min(self.poll_interval, POLL_ONLY_INTERVAL)
        self._reporter.set(mode=mode)

    # The writer's parts: made at the start of _run_writer, and every step below runs inside it.
    @property
    def _live_sources(self) -> Sources:
        assert self._sources is not None, "a writer-loop step outside _run_writer"
        return self._sources

    @property
    def _live_guard(self) -> StoreGuard:
        assert self._guard is not None, "a writer-loop step outside _run_writer"
        return self._guard

    @property
    def _live_ingester(self) -> Ingester:
        assert self._ingester is not None, "a writer-loop step outside _run_writer"
        return self._ingester

    @property
    def _live_store(self) -> Store:
        store = self._live_guard.store
        # None only after a failed reopening, until the next step's _check_store (each step's first call) reopens.
        assert store is not None, "the store is used before _check_store reopened it"
        return store

    # -- the writer loop ----------------------------------------------------------------------------

    def _run_writer(self) -> None:
        guard = self._guard = StoreGuard(self._open_store, self.db_path, self._lock, self._reporter)
        damaged = guard.open()
        if damaged is not None:
            self._reporter.tell(f"the database {guard.db_file} was damaged ({damaged[0]}); moved it to {damaged[1]} "
                                "and rebuilding it from the logs on disk")
        self._safely(self._check_cached)  # first of all (before watching and the catch-up): for the first paint
        roots = self._roots_override if self._roots_override is not None else configured_roots(self.settings)
        sources = self._sources = Sources([(str(root), source) for root, source in roots], self._inbox,
                                          self._on_mode)
        try:
            self._ingester = self._make_ingester()
            if self.poll_only:
                self._reporter.set(mode="polling")
            else:
                sources.start_observer()
            self._refresh_roots()
            # Events that arrive during the catch-up wait in the inbox; stored offsets make re-reading harmless.
            if not self._safely(self._catch_up):
                self._retry.update(sources.every_root())
            self._ready.set()
            now = time.monotonic()
            next_poll, next_walk, next_prune = now + self.poll_interval, now + REDISCOVER_SECONDS, now + PRUNE_SECONDS
            while not self._stopping.is_set():
                due = min(next_poll, next_prune, self._retry_at, self._alerts_at)
                if self._inbox.wait(due - time.monotonic()):
                    if self._stopping.wait(self.batch_delay):  # the coalescing window
                        break
                    self._safely(self._process, self._inbox.take())
                now = time.monotonic()
                if now >= self._alerts_at and (fired := self._fire_alerts_soon()):
                    self._reporter.notify(Change(frozenset(), None, 0, 0, alerts_fired=fired))
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
            sources.stop_observer()
            guard.close()
            self._ingester = None

    def _safely(self, step: Callable, *args) -> bool:
        """Run one step of the loop; a failure (a locked or failing database) is counted, logged and retried
        later instead of ending a weeks-long run."""
        try:
            step(*args)
            return True
        except _Stopped:
            return True
        except LostWriterRole:
            raise
        except Exception as exc:  # noqa: BLE001
            # The Ingester's cached positions may have run ahead of a rolled-back commit: reload them.
            if self._live_guard.store is not None:  # else the next step's _check_store reopens it and makes one
                self._ingester = self._make_ingester()
            self._retry_at = min(self._retry_at, time.monotonic() + self._retry_delay)
            self._retry_delay = min(self._retry_delay * 2, MAX_RETRY_SECONDS)
            # A store failure (disk full, locked, read-only) is one explained line, never a traceback; anything
            # else is a bug worth its traceback, at debug level only.
            known = isinstance(exc, (sqlite3.Error, StoreError, OSError))
            path = self.db_path or (self._guard.db_file if self._guard is not None else None) or "the database"
            text = str(explain(path, exc)) if isinstance(exc, sqlite3.Error) else str(exc)
            text = text if known else f"{type(exc).__name__}: {exc}"
            self._reporter.failed(text)
            log.warning("ingest step failed (will retry): %s", text)
            if not known:
                log.debug("the failed step's traceback", exc_info=True)
            return False

    def _catch_up(self, refill: bool = False) -> IngestSummary:
        """Every file under every root. `refill`: into a new database after the old file went away."""
        found = discover(roots=[(Path(root), source) for root, source in self._live_sources.roots])

        def progress(done: int, total: int, path: str) -> None:
            self._reporter.set(catchup_done=done, catchup_total=total)
            if self._stopping.is_set():
                raise _Stopped

        self._reporter.set(catchup_total=len(found.files))
        summary = self._live_ingester.ingest_all(found, progress=progress)
        if not refill:  # a refill re-reads old lines: not news for the startup figures or the skipped counts
            self.catchup = summary
            self._reporter.set(catchup_seconds=summary.seconds)
            self._reporter.add(skipped=summary.skipped)
        self._count_files()
        fired = self._fire_alerts()  # once, whatever was read: time alone moves windows past thresholds
        # After a refill even "nothing new" is news: the new database may hold less than the old one showed.
        if refill or summary.new_requests or summary.updated_requests or fired:
            self._reporter.notify(Change(frozenset(summary.sessions), summary.newest_ts, summary.new_requests,
                                         summary.files_read, summary.updated_requests, alerts_fired=fired))
        return summary

    def _fire_alerts_soon(self) -> tuple[Alert, ...]:
        """`_fire_alerts` now, or within ALERTS_EVERY_S of the last run (a burst of commits pays once a second)."""
        if time.monotonic() - self._alerts_ran < ALERTS_EVERY_S:
            self._alerts_at = min(self._alerts_at, self._alerts_ran + ALERTS_EVERY_S)
            return ()
        self._alerts_ran, self._alerts_at = time.monotonic(), float("inf")
        return self._fire_alerts()

    def _fire_alerts(self) -> tuple[Alert, ...]:
        """Record the thresholds and spikes the committed rows crossed (the post-commit step: the writer is the
        one process that fires alerts, so readers only read them). A failure here never stops ingestion."""
        try:
            # The statuses computed for the alerts also write the statusline's state file (claude_code/state.py).
            return tuple(alerts_and_state(self._live_store, self.settings, self.db_path, self.config_path))
        except Exception as exc:  # noqa: BLE001 - an alert is a nicety next to keeping the store filled
            self._reporter.failed(f"checking alerts failed: {type(exc).__name__}: {exc}")
            log.warning("checking alerts failed: %s", exc, exc_info=True)
            return ()

    def _prune(self) -> None:
        self._check_store()
        self._live_store.prune(getattr(self.settings, "retention_days", 90) or 90)

    def _check_store(self) -> None:
        """A deleted, replaced or damaged database file (see StoreGuard): the new store gets every log read into
        it, so it ends as a cold ingest would. One stat when nothing happened."""
        if not self._live_guard.check():
            return
        self._ingester = self._make_ingester()  # its cached file positions were the old database's
        try:
            summary = self._catch_up(refill=True)
        except _Stopped:
            raise
        except Exception:
            # The walk of every root is retried with the other failed steps; the store itself is usable.
            self._retry.update(self._live_sources.every_root())
            self._live_guard.reopened(None)
            raise
        self._live_guard.reopened(summary)

    def _refresh_roots(self) -> set[Item]:
        appeared = self._live_sources.refresh_roots()
        self._reporter.set(roots_watched=len(self._live_sources.live))
        return appeared

    # -- a batch ------------------------------------------------------------------------------------

    def _process(self, items: set[Item]) -> None:
        self._check_store()
        if RECHECK in items:
            items.discard(RECHECK)
            items |= self._refresh_roots()
        logs: dict[str, LogFile] = {}
        for path, root, source in sorted(items):
            for found in self._live_sources.expand(path, root, source, self._live_ingester.states()):
                logs[found.path] = found
        if logs:
            self._ingest(list(logs.values()))
            self._check_store()  # deleted during the batch: its rows went to the old file; refill at once
        store_items = {item for item in items if os.path.basename(item[0]) in STORE_FILES}
        if store_items and self._ingest_stores():
            # The WAL write that woke us comes before the commit is visible in the -shm (mmap writes raise no
            # file event), so a store that was read is looked at once more shortly: unchanged, that costs a header
            # read and schedules nothing; a commit that became visible meanwhile is read then, not at the poll.
            self._retry.update(store_items)
            self._retry_at = min(self._retry_at, time.monotonic() + STORE_RECHECK_SECONDS)

    def _ingest_stores(self) -> bool:
        """New events in the OpenClaw agent stores (each store is skipped at once when its files did not change).
        True when some store had changed and was read."""
        out = self._live_ingester.agent_stores.ingest()
        outcome = FileOutcome("openclaw agent stores", bytes_read=out.lines, lines=out.lines,
                              new_requests=out.new_requests, updated_requests=out.updated_requests,
                              skipped=Counter(out.skipped), sessions=set(out.sessions), newest_ts=out.newest_ts)
        self._publish([outcome])
        return bool(out.scanned)

    def _ingest(self, logs: list[LogFile]) -> None:
        ingester = self._live_ingester
        try:
            if sum(ingester.cursor.unread_bytes(f.path) for f in logs) <= ONE_TRANSACTION_BYTES:
                with self._live_store.transaction():  # the Ingester's own commits join this one
                    outcomes = [ingester.ingest_file(f) for f in logs]
            else:
                outcomes = [ingester.ingest_file(f) for f in logs]
        except Exception:
            self._retry.update((f.path, f.root, f.source) for f in logs)  # _safely schedules the retry
            raise
        self._retry_delay = 1.0
        self._publish(outcomes)

    def _publish(self, outcomes: list[FileOutcome]) -> None:
        sessions, newest, new, updated, files, lines, skipped = summarize(outcomes)
        now = time.time()
        self._reporter.add(skipped, batches=1, lines_ingested=lines, responses_added=new, responses_updated=updated)
        if files:
            self._reporter.set(last_ingest=now)
        if lines:
            self._reporter.set(last_line=now)
        fired = self._fire_alerts_soon() if new or updated else ()
        if new or updated or sessions:
            self._reporter.notify(Change(frozenset(sessions), newest, new, files, updated, now, fired))

    # -- the safety poll ----------------------------------------------------------------------------

    def _poll(self, full: bool = False) -> None:
        """Stat known files and directories; queue what changed. `full` walks every root from scratch."""
        self._check_store()  # also when no log changed: a deleted database is noticed within one poll
        items, watched = self._live_sources.poll(self._live_ingester.states(), full)
        self._reporter.set(roots_watched=len(self._live_sources.live))
        self._reporter.add(polls=1)
        self._reporter.set(files_watched=watched)
        if items:
            self._process(items)
            self._count_files()
        self._ingest_stores()  # the safety net for a missed WAL event
        self._check_cached()  # Claude Code's cached official figures (~/.claude.json): one stat, read on change

    def _check_cached(self) -> None:
        if self._cached.check(self._live_store, int(time.time() * 1000)):
            self._reporter.notify(Change(frozenset(), None, 0, 0, alerts_fired=self._fire_alerts()))

    def _count_files(self) -> None:
        self._reporter.set(files_watched=self._live_sources.watched_files(self._live_ingester.states()))
