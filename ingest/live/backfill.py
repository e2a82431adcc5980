"""The cold read of many files: new files parsed ahead in worker processes, written in shared transactions.

Each file still goes through the same `FileCursor` rules as a live read; a file that is not new after all (a
rename carried a position over) is read the ordinary way by the `Ingester`."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from ..logs.discovery import Discovery, LogFile, discover
from ..logs.jsonl import ParseResult
from ..records import SessionInfo
from ..store import indexes
from ..store.batch import StageBuilder, attach_stage
from ..store.dedup import best_per_key
from .tail import head_of

if TYPE_CHECKING:
    from .ingester import FileOutcome, Ingester, IngestSummary

READ_SLACK_BYTES = 64 << 10
"""Read this much past the size `fstat` gave, so a file that grew meanwhile is noticed and read on."""
PARALLEL_MIN_BYTES = 32 << 20
"""New files are parsed in worker processes only when they hold at least this much: below it, starting the
workers costs more than they save."""
PARALLEL_WORKERS = min(max(2, os.cpu_count() or 2), 8)
"""One parse worker per core: parsing is most of a cold backfill's CPU, and the writer, a third of the workers' CPU,
fits in the gaps while it waits for their results. (Beyond 8 the one writer could not keep up, and each worker is a
process of its own.)"""
PREFETCH_BYTES = 64 << 20
"""How far ahead of the writer the workers may read, which bounds the parsed results waiting in memory."""
APPLY_GROUP_FILES = 256
APPLY_GROUP_BYTES = 32 << 20
"""Worker-parsed files are written with one `write_batch` per this many files or bytes of logs, whichever comes
first: the batch's rows move into the store in one sorted statement, and bigger batches touch each index page
fewer times."""
TASK_BYTES = 2 << 20
"""Files are handed to a worker in groups of about this size: one hand-off per small file cost the writer more
than the file's parse."""


class Backfill:
    """One catch-up over `found` files, writing through `ingester` (its cursor, its transactions)."""

    def __init__(self, ingester: Ingester):
        self.ingester = ingester
        self.cursor = ingester.cursor
        self.deferred = False
        """True once the read-only indexes were dropped for this (cold) backfill, to be built at its end."""

    def run(self, found: Discovery | None = None,
            progress: Callable[[int, int, str], None] | None = None) -> IngestSummary:
        from .ingester import IngestSummary
        ingester = self.ingester
        started = time.perf_counter()
        found = found or discover(ingester.settings)
        summary = IngestSummary(files=len(found.files), roots=found.roots, problems=dict(found.problems))
        try:
            # Larger-first would finish the bar unevenly; path order keeps runs reproducible.
            group: list = []  # consecutive worker-parsed files, written together
            group_bytes = 0
            for index, (log, parsed) in enumerate(self._prefetched(found.files)):
                if parsed:
                    group.append((log, parsed))
                    group_bytes += parsed[1]
                if group and (not parsed or len(group) >= APPLY_GROUP_FILES or group_bytes >= APPLY_GROUP_BYTES):
                    for outcome in self._apply(group):
                        summary.add(outcome)
                    group, group_bytes = [], 0
                if not parsed and not self.cursor.untouched(log.path):
                    summary.add(ingester.ingest_file(log))
                if progress:  # (a file parsed ahead counts as done here; its group is written moments later)
                    progress(index + 1, len(found.files), log.path)
            for outcome in self._apply(group):
                summary.add(outcome)
        except BaseException:
            ingester.end_batch(failed=True)
            if self.deferred:  # Ctrl-C keeps the work committed so far; its indexes are built now, if they can be
                with contextlib.suppress(sqlite3.Error):  # (else the next open of the store builds them)
                    indexes.restore(ingester.store.db)
            raise
        ingester.end_batch()
        if self.deferred:
            indexes.restore(ingester.store.db)
        summary.add_stores(ingester.agent_stores.ingest())  # after the files: its own short transactions
        retention = getattr(ingester.settings, "retention_days", 90) or 90
        ingester.store.prune(retention)
        summary.seconds = time.perf_counter() - started
        return summary

    def _prefetched(self, files: list[LogFile]) -> Iterator[tuple[LogFile, tuple | None]]:
        """Yield (file, parsed or None) in the given order. On a cold backfill, new files small enough for one read
        are read and parsed ahead by worker processes (parsing is most of the CPU; the writer stays here, alone)."""
        ingester = self.ingester
        limit = min(ingester.chunk_bytes, ingester.max_line_bytes)  # what one read of `Ingester._read` takes
        sizes: dict[str, int] = {}
        for log in files:
            if self.cursor.is_new(log.path):
                try:
                    on_disk = os.stat(log.path).st_size
                except OSError:
                    continue
                if on_disk <= limit:
                    sizes[log.path] = on_disk
        pool = None
        # Forking is safe only while this process has no other thread (the TUI's ingest thread reads serially).
        if (sum(sizes.values()) >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) >= 2
                and threading.active_count() == 1):
            import multiprocessing
            try:
                store = ingester.store
                pool = multiprocessing.get_context("fork").Pool(
                    PARALLEL_WORKERS, initializer=_worker_start, initargs=(os.getpid(), store.prices, store.machine))
            except (ValueError, OSError):  # no fork here, or no processes left: read serially
                pool = None
        if pool is None:
            for log in files:
                yield log, None
            return
        # A backfill this size also shares transactions of up to BATCH_BYTES between files (see `Ingester._write`):
        # one commit per small file cost more than parsing it. (Smaller catch-ups keep a commit per file, so a
        # reader sees them progress file by file.)
        attach_stage(ingester.store.db)  # (outside any transaction, as ATTACH must be)
        self.deferred = indexes.defer(ingester.store.db)
        ingester.begin_batch()
        with pool:
            pending: deque = deque()  # (files, task or None, bytes), in file order
            group: list[LogFile] = []
            group_bytes = ahead = 0
            for log in files:
                size = sizes.get(log.path)
                if size is not None:
                    group.append(log)
                    group_bytes += size
                if group and (size is None or group_bytes >= TASK_BYTES):
                    jobs = [(g.path, g.source, g.session_id, g.agent_id, limit) for g in group]
                    pending.append((group, pool.apply_async(_parse_whole_files, (jobs,)), group_bytes))
                    ahead += group_bytes
                    group, group_bytes = [], 0
                if size is None:
                    pending.append(([log], None, 0))
                while pending and ahead >= PREFETCH_BYTES:
                    ahead -= yield from _take(pending)
            if group:
                jobs = [(g.path, g.source, g.session_id, g.agent_id, limit) for g in group]
                pending.append((group, pool.apply_async(_parse_whole_files, (jobs,)), group_bytes))
            while pending:
                yield from _take(pending)

    def _apply(self, group: list) -> list[FileOutcome]:
        """Commit new files that workers read whole, each exactly as `Ingester._read` would have, with one
        `write_batch` for the group (per file, its statements cost the writer more than the rows). A file that
        turns out to be known after all (a rename carries its position over) goes the ordinary way, and its staged
        rows are left out. The group's rows and counts are reported on its last file's outcome."""
        from .ingester import FileOutcome, count_tail, merge
        ingester = self.ingester
        outcomes, files, combined, nbytes = [], [], ParseResult(), 0
        staged: dict[int, tuple[bytes, list[int]]] = {}  # per worker task's staging database: the files taken
        for log, (st, size, packed, parser_state, head, stage) in group:
            number, result = _unpack(packed)
            fs = self.cursor.known(log, st)
            if fs.id is not None or fs.offset:
                outcomes.append(ingester.ingest_file(log))
                continue
            outcomes.append(FileOutcome(log.path, bytes_read=size))
            fs.session_id, fs.agent_id, fs.gone = log.session_id, log.agent_id, False
            fs.device, fs.inode = st.st_dev, st.st_ino
            fs.offset, fs.size, fs.mtime_ns = result.consumed, st.st_size, st.st_mtime_ns
            fs.lines += result.lines
            extra = {"head": head} if head else {}
            extra["parser"] = parser_state
            count_tail(result, extra)
            fs.state = json.dumps(extra)
            files.append((fs, result.skipped))
            merge(combined, result)
            staged.setdefault(id(stage), (stage, []))[1].append(number)
            nbytes += size
        if files:
            ingester.write(files, combined, outcomes[-1], nbytes, staged=list(staged.values()))
        return outcomes


_PRICES = None
_MACHINE = ""


def _worker_start(parent: int, prices, machine: str) -> None:
    """In each worker, once: Ctrl-C is the parent's to handle (it stops the pool; a worker printing its own
    KeyboardInterrupt traceback was the noise), and a worker dies with its parent rather than failing on the
    broken result pipe with a BrokenPipeError traceback."""
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG (Linux); elsewhere this fails and is skipped
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)
    global _PRICES, _MACHINE
    _PRICES, _MACHINE = prices, machine  # rows are priced here, off the writer


def _parse_whole_files(jobs: list[tuple]) -> list[tuple | None]:
    """In a worker: read each new file in one read and parse it as `Ingester._read` would; None for a file that
    is gone, unreadable or bigger than one read (it is then read the ordinary way). The rows go, priced, into one
    staging database for the whole task (`StageBuilder`), each under its file's number; the writer copies them
    from there in C, so only a few small tuples per file are pickled."""
    from .ingester import parse
    out: list[tuple | None] = []
    stage = StageBuilder(_PRICES, _MACHINE)
    for number, (path, source, session_id, agent_id, limit) in enumerate(jobs):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            out.append(None)
            continue
        try:
            st = os.fstat(fd)
            want = st.st_size + READ_SLACK_BYTES
            data = os.pread(fd, want, 0) if stat.S_ISREG(st.st_mode) and st.st_size <= limit else None
        except OSError:
            data = None
        finally:
            os.close(fd)
        if data is None or len(data) >= want or len(data) > limit:
            out.append(None)  # grew since it was sized: too big to be sure of one read
            continue
        result, parser_state = parse(source, session_id, agent_id, data, None, final_tail=True)
        # The winner per key (the writer applies the rule again across files), and every record's claim on its
        # response, losers included, as the writer takes them from records read the ordinary way.
        stage.add(number, result.records, best_per_key(result.records))
        sessions = [_session_fields(i) for i in result.sessions.values()]
        out.append((st, len(data), (number, sessions, result.skipped, result.consumed, result.lines,
                                    result.tail_skipped), parser_state, head_of(data, result.consumed)))
    data = stage.done()  # one bytes object, shared by the task's files (pickled once)
    return [None if r is None else (*r, data) for r in out]


def _session_fields(info: SessionInfo) -> tuple:
    return tuple(getattr(info, name) for name in SessionInfo.__slots__)


def _unpack(packed) -> tuple[int, ParseResult]:
    number, sessions, skipped, consumed, lines, tail_skipped = packed
    infos = [SessionInfo(*fields) for fields in sessions]
    return number, ParseResult([], {i.session_id: i for i in infos}, skipped, consumed, lines, tail_skipped)


def _take(pending: deque):
    """Yield the oldest pending group's files with their parsed results; returns the bytes it held."""
    files, task, nbytes = pending.popleft()
    results = task.get() if task is not None else [None] * len(files)
    yield from zip(files, results)
    return nbytes
