"""Reading log files incrementally into the store: only new bytes, rows and offsets committed together."""

from __future__ import annotations

import hashlib
import json
import operator
import os
import stat
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ..logs.claude import parse_claude
from ..logs.discovery import Discovery, LogFile, discover
from ..logs.jsonl import LINE_TOO_LONG, ParseResult
from ..logs.openclaw import parse_openclaw
from ..records import CLAUDE_CODE, SessionInfo, UsageRecord
from ..store.dedup import wins as _wins
from ..store.store import FileState, Store

CHUNK_BYTES = 8 << 20
"""Sequential read size: large reads are what make a cold backfill fast."""
READ_SLACK_BYTES = 64 << 10
"""Read this much past the size `fstat` gave, so a file that grew meanwhile is noticed and read on."""
COMMIT_BYTES = 64 << 20
"""A huge file commits its rows and offset every this many bytes, so a kill loses little work."""
BATCH_BYTES = 256 << 20
"""During `ingest_all`, files share one transaction until this much was read: every commit rewrites the index
pages the batch touched (random keys touch most of them), so 64 MB batches spent 0.4 s per GB committing."""
MAX_LINE_BYTES = 64 << 20
"""A line longer than this is skipped and counted rather than held in memory."""
HEAD_BYTES = 1024
"""How much of a file's start is fingerprinted to notice a rewrite that kept or grew its size."""
PARALLEL_MIN_BYTES = 32 << 20
"""New files are parsed in worker processes only when they hold at least this much: below it, starting the
workers costs more than they save."""
PARALLEL_WORKERS = 2
PREFETCH_BYTES = 64 << 20
"""How far ahead of the writer the workers may read, which bounds the parsed results waiting in memory."""
APPLY_GROUP_FILES = 32
"""Worker-parsed files written with one `write_batch`."""
TASK_BYTES = 2 << 20
"""Files are handed to a worker in groups of about this size: one hand-off per small file cost the writer more
than the file's parse."""


@dataclass(slots=True)
class FileOutcome:
    path: str
    bytes_read: int = 0
    lines: int = 0
    new_requests: int = 0
    updated_requests: int = 0
    skipped: Counter = field(default_factory=Counter)
    sessions: set[str] = field(default_factory=set)
    newest_ts: int | None = None
    restarted: str | None = None
    """Why the file was read again from the start: 'truncated', 'replaced' or 'rewritten'."""
    error: str | None = None


@dataclass(slots=True)
class IngestSummary:
    files: int = 0
    files_read: int = 0
    bytes_read: int = 0
    lines: int = 0
    new_requests: int = 0
    updated_requests: int = 0
    skipped: Counter = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    newest_ts: int | None = None
    seconds: float = 0.0
    roots: list = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: FileOutcome) -> None:
        if outcome.bytes_read or outcome.restarted:
            self.files_read += 1
        self.bytes_read += outcome.bytes_read
        self.lines += outcome.lines
        self.new_requests += outcome.new_requests
        self.updated_requests += outcome.updated_requests
        self.skipped.update(outcome.skipped)
        self.sessions |= outcome.sessions
        if outcome.error:
            self.errors[outcome.path] = outcome.error
        if outcome.newest_ts and (self.newest_ts is None or outcome.newest_ts > self.newest_ts):
            self.newest_ts = outcome.newest_ts

    def line(self) -> str:
        """The one-line summary printed after `tokentop ingest`."""
        skipped = sum(self.skipped.values())
        text = (f"{self.files} files ({self.files_read} read, {_size(self.bytes_read)}), "
                f"{self.new_requests} new responses, {self.updated_requests} updated, "
                f"{skipped} malformed lines skipped, {self.seconds:.1f}s")
        if self.errors:
            text += f", {len(self.errors)} unreadable files"
        return text


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class Ingester:
    """Brings the store up to date with the files on disk. Owns no thread; the caller holds the writer role."""

    def __init__(self, store: Store, settings=None, chunk_bytes: int = CHUNK_BYTES, commit_bytes: int = COMMIT_BYTES,
                 max_line_bytes: int = MAX_LINE_BYTES):
        self.store = store
        self.settings = settings
        self.chunk_bytes = chunk_bytes
        self.commit_bytes = max(commit_bytes, chunk_bytes)
        self.max_line_bytes = max_line_bytes
        self._states: dict[str, FileState] | None = None
        self._batch: _Batch | None = None
        self._inodes: set[tuple] = set()
        """(device, inode) of every file state: a superset, so a new file needs the rename scan only on a match."""

    def states(self) -> dict[str, FileState]:
        if self._states is None:
            self._states = self.store.file_states()
            self._inodes = {(fs.device, fs.inode) for fs in self._states.values()}
        return self._states

    # -- whole runs ---------------------------------------------------------------------------------

    def ingest_all(self, found: Discovery | None = None,
                   progress: Callable[[int, int, str], None] | None = None) -> IngestSummary:
        """Catch up every file under every root; `progress(done, total, path)` after each file."""
        started = time.perf_counter()
        found = found or discover(self.settings)
        summary = IngestSummary(files=len(found.files), roots=found.roots, problems=dict(found.problems))
        try:
            # Larger-first would finish the bar unevenly; path order keeps runs reproducible.
            group: list = []  # consecutive worker-parsed files, written together
            for index, (log, parsed) in enumerate(self._prefetched(found.files)):
                if parsed:
                    group.append((log, parsed))
                if group and (not parsed or len(group) >= APPLY_GROUP_FILES):
                    for outcome in self._apply(group):
                        summary.add(outcome)
                    group = []
                if not parsed and not self._untouched(log):
                    summary.add(self.ingest_file(log))
                if progress:  # (a file parsed ahead counts as done here; its group is written moments later)
                    progress(index + 1, len(found.files), log.path)
            for outcome in self._apply(group):
                summary.add(outcome)
        except BaseException:
            self._end_batch(failed=True)
            raise
        self._end_batch()
        retention = getattr(self.settings, "retention_days", 90) or 90
        self.store.prune(retention)
        summary.seconds = time.perf_counter() - started
        return summary

    def _prefetched(self, files: list[LogFile]):
        """Yield (file, parsed or None) in the given order. On a cold backfill, new files small enough for one read
        are read and parsed ahead by worker processes (parsing is most of the CPU; the writer stays here, alone)."""
        states = self.states()
        limit = min(self.chunk_bytes, self.max_line_bytes)  # what `_read` would take in a single read
        sizes: dict[str, int] = {}
        for log in files:
            if log.path not in states:
                try:
                    size = os.stat(log.path).st_size
                except OSError:
                    continue
                if size <= limit:
                    sizes[log.path] = size
        pool = None
        # Forking is safe only while this process has no other thread (the TUI's ingest thread reads serially).
        if (sum(sizes.values()) >= PARALLEL_MIN_BYTES and (os.cpu_count() or 1) >= 2
                and threading.active_count() == 1):
            import multiprocessing
            try:
                pool = multiprocessing.get_context("fork").Pool(PARALLEL_WORKERS)
            except (ValueError, OSError):  # no fork here, or no processes left: read serially
                pool = None
        if pool is None:
            for log in files:
                yield log, None
            return
        # A backfill this size also shares transactions of up to BATCH_BYTES between files (see `_write`): one
        # commit per small file cost more than parsing it. (Smaller catch-ups keep a commit per file, so a reader
        # sees them progress file by file.)
        self._batch = _Batch()
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

    def _untouched(self, log: LogFile) -> bool:
        """The `_read` early-out decided from one stat(), without opening the file: on a warm run over thousands of
        files, open+fstat+close per file was most of the catch-up time."""
        fs = self.states().get(log.path)
        if fs is None:
            return False
        try:
            st = os.stat(log.path)
        except OSError:
            return False  # the ordinary path says what is wrong
        return stat.S_ISREG(st.st_mode) and _unchanged(fs, st)

    def _apply(self, group: list) -> list[FileOutcome]:
        """Commit new files that workers read whole, each exactly as `_read` would have, with one `write_batch`
        for the group (per file, its statements cost the writer more than the rows). A file that turns out to be
        known after all (a rename carries its position over) goes the ordinary way. The group's rows and counts
        are reported on its last file's outcome."""
        outcomes, files, combined, nbytes = [], [], ParseResult(), 0
        for log, (st, size, packed, parser_state, head) in group:
            result = _unpack(packed)
            fs = self._known(log, st)
            if fs.id is not None or fs.offset:
                outcomes.append(self.ingest_file(log))
                continue
            outcomes.append(FileOutcome(log.path, bytes_read=size))
            fs.session_id, fs.agent_id, fs.gone = log.session_id, log.agent_id, False
            fs.device, fs.inode = st.st_dev, st.st_ino
            fs.offset, fs.size, fs.mtime_ns = result.consumed, st.st_size, st.st_mtime_ns
            fs.lines += result.lines
            extra = {"head": head} if head else {}
            extra["parser"] = parser_state
            fs.state = json.dumps(extra)
            files.append((fs, result.skipped))
            _merge(combined, result)
            nbytes += size
        if files:
            self._write(files, combined, outcomes[-1], nbytes)
        return outcomes

    # -- one file -----------------------------------------------------------------------------------

    def ingest_file(self, log: LogFile) -> FileOutcome:
        """Read what is new in one file. Never raises for a bad file: the reason lands in `error`."""
        outcome = FileOutcome(log.path)
        try:
            fd = os.open(log.path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            self._mark_gone(log.path)
            return outcome
        except OSError as exc:
            outcome.error = exc.strerror or str(exc)
            return outcome
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                outcome.error = "not a regular file"
                return outcome
            self._read(fd, st, log, outcome)
        except OSError as exc:
            outcome.error = exc.strerror or str(exc)
        finally:
            os.close(fd)
        return outcome

    def _mark_gone(self, path: str) -> None:
        fs = self.states().get(path)
        if fs is not None and not fs.gone:
            fs.gone = True
            with self.store.transaction():
                self.store.save_file_state(fs)

    def _known(self, log: LogFile, st: os.stat_result) -> FileState:
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
                # Saved now: with no new bytes `_read` returns early, and the row would keep the old path.
                with self.store.transaction():
                    self.store.save_file_state(old)
                return old
        fs = FileState(None, log.path, log.source, log.session_id, log.agent_id, st.st_dev, st.st_ino, 0, 0, None,
                       None, 0)
        states[log.path] = fs
        return fs

    def _read(self, fd: int, st: os.stat_result, log: LogFile, outcome: FileOutcome) -> None:
        fs = self._known(log, st)
        if _unchanged(fs, st):
            return  # untouched since the last read: the common case on every warm run and safety poll
        fs.session_id, fs.agent_id, fs.gone = log.session_id, log.agent_id, False
        extra = json.loads(fs.state) if fs.state else {}
        restart = None
        if fs.id is not None and (fs.inode != st.st_ino or fs.device != st.st_dev):
            restart = "replaced"
        elif st.st_size < fs.offset:
            restart = "truncated"
        elif fs.offset and not self._same_prefix(fd, fs, extra):
            restart = "rewritten"
        if restart:
            outcome.restarted = restart
            fs.offset, fs.lines, extra = 0, 0, {}
            if fs.id is not None:
                self.store.forget_skips(fs.id)
        fs.device, fs.inode = st.st_dev, st.st_ino
        # Hashed before the bytes after it are read: a rewrite racing this read then shows up as a mismatch
        # next time (and a re-read), never as a match that would hide the new content's first lines.
        head = os.pread(fd, HEAD_BYTES, 0)
        offset = fs.offset
        carry = b""
        skipping = False  # inside an over-long line, dropping bytes until its newline
        skip_from = offset  # where that line started (set again when one is found)
        pending = ParseResult()
        pending_bytes = 0
        parser_state = extra.get("parser")
        while True:
            # Ask for what the file holds (plus slack to see it grew), not a whole chunk: CPython allocates the
            # full request per read, and 8 MB per small file made reading 2.5x slower in kernel time.
            want = min(self.chunk_bytes, max(st.st_size - offset - len(carry), 0) + READ_SLACK_BYTES)
            # An unfinished line is read again together with the new bytes, in one piece, instead of joined to
            # them: joining holds two copies of a long line at once (2x its size at the peak).
            carried = len(carry)
            carry = buffer = chunk = b""
            chunk = os.pread(fd, carried + want, offset)
            new_bytes = max(len(chunk) - carried, 0)
            at_eof = new_bytes < want
            outcome.bytes_read += new_bytes
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    offset += len(chunk)
                    if not at_eof:
                        continue
                    # The file ends inside the long line: commit what came before it (breaking here lost it, on
                    # every run) and stop at the line's start, to skip it whole once it is finished.
                    offset, chunk, skipping = skip_from, b"", False
                    pending.skipped[LINE_TOO_LONG] -= 1
                else:
                    offset += nl + 1
                    chunk = chunk[nl + 1:]
                    skipping = False
            buffer = chunk
            result, parser_state = self._parse(log, buffer, parser_state, final_tail=at_eof)
            offset += result.consumed
            carry = buffer[result.consumed:]
            # (At the end of the file an unfinished long line is left where it starts, as above.)
            if len(carry) > self.max_line_bytes and not at_eof:
                pending.skipped[LINE_TOO_LONG] += 1
                skip_from = offset
                offset += len(carry)
                carry = b""
                skipping = True
            _merge(pending, result)
            pending_bytes += new_bytes
            if at_eof or pending_bytes >= self.commit_bytes:
                # Mid-file, record the size read so far: a kill before the end must not look "untouched" later.
                fs.offset, fs.size, fs.mtime_ns = offset, st.st_size if at_eof else offset, st.st_mtime_ns
                fs.lines += pending.lines
                if fs.offset and extra.get("head", [0])[0] < min(HEAD_BYTES, fs.offset, len(head)):
                    length = min(HEAD_BYTES, fs.offset, len(head))
                    extra["head"] = [length, hashlib.blake2b(head[:length], digest_size=12).hexdigest()]
                extra["parser"] = parser_state
                fs.state = json.dumps(extra)
                self._commit(fs, pending, outcome, pending_bytes)
                pending, pending_bytes = ParseResult(), 0
            if at_eof:
                break

    def _parse(self, log: LogFile, data: bytes, parser_state, final_tail: bool):
        return _parse(log.source, log.session_id, log.agent_id, data, parser_state, final_tail)

    def _commit(self, fs: FileState, pending: ParseResult, outcome: FileOutcome, nbytes: int = 0) -> None:
        self._write([(fs, pending.skipped)], pending, outcome, nbytes)

    def _write(self, files: list[tuple[FileState, Counter]], pending: ParseResult, outcome: FileOutcome,
               nbytes: int) -> None:
        """`pending`'s rows and each file's position (with its skipped lines) in one transaction."""
        batch = self._batch
        if batch is None:
            with self.store.transaction():
                written = self._write_rows(files, pending)
        else:
            # A backfill's shared transaction, committed once it holds BATCH_BYTES: rows and positions still
            # commit together, and a kill loses at most that much reading.
            if batch.tx is None:
                batch.tx = self.store.transaction()
                batch.tx.__enter__()
            written = self._write_rows(files, pending)
            batch.bytes += nbytes
            if batch.bytes >= max(self.commit_bytes, BATCH_BYTES):
                self._end_batch(keep=True)
        outcome.lines += pending.lines
        outcome.new_requests += written.new_requests
        outcome.updated_requests += written.updated_requests
        outcome.skipped.update(pending.skipped)
        outcome.sessions |= written.sessions
        if written.newest_ts and (outcome.newest_ts is None or written.newest_ts > outcome.newest_ts):
            outcome.newest_ts = written.newest_ts

    def _write_rows(self, files: list[tuple[FileState, Counter]], pending: ParseResult):
        written = self.store.write_batch(pending.records, pending.sessions.values())
        for fs, skipped in files:
            self.store.save_file_state(fs, skipped)
        return written

    def _end_batch(self, failed: bool = False, keep: bool = False) -> None:
        """Commit (or, after a failure, roll back) the shared transaction; `keep` carries on batching."""
        batch, self._batch = self._batch, (_Batch() if keep else None)
        if batch is None or batch.tx is None:
            return
        if failed:
            batch.tx.__exit__(Exception, None, None)
            self._states = None  # the rolled-back positions and row ids must be read again
        else:
            batch.tx.__exit__(None, None, None)

    @staticmethod
    def _head_hash(fd: int, length: int) -> str:
        return _hash(os.pread(fd, length, 0))

    def _same_prefix(self, fd: int, fs: FileState, extra: dict) -> bool:
        """True when the bytes already read are still there: the start matches and a newline ends them."""
        if os.pread(fd, 1, fs.offset - 1) != b"\n":
            return False
        head = extra.get("head")
        return head is None or head[1] == self._head_hash(fd, head[0])


def _parse(source: str, session_id: str, agent_id: str | None, data: bytes, parser_state, final_tail: bool):
    if source == CLAUDE_CODE:
        return parse_claude(data, session_id, agent_id, final_tail=final_tail), None
    return parse_openclaw(data, session_id, parser_state, final_tail=final_tail)


def _hash(head: bytes) -> str:
    return hashlib.blake2b(head, digest_size=12).hexdigest()


def _parse_whole_files(jobs: list[tuple]) -> list[tuple | None]:
    """In a worker: read each new file in one read and parse it as `Ingester._read` would; None for a file that
    is gone, unreadable or bigger than one read (it is then read the ordinary way)."""
    out = []
    for path, source, session_id, agent_id, limit in jobs:
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
        result, parser_state = _parse(source, session_id, agent_id, data, None, final_tail=True)
        length = min(HEAD_BYTES, result.consumed)
        head = [length, _hash(data[:length])] if length else None
        # Plain tuples: pickling the dataclasses themselves took the writer 10x longer to unpickle.
        records = [_record_fields(r) for r in _best_per_key(result.records)]
        sessions = [_session_fields(i) for i in result.sessions.values()]
        out.append((st, len(data), (records, sessions, result.skipped, result.consumed, result.lines), parser_state,
                    head))
    return out


def _best_per_key(records: list[UsageRecord]) -> list[UsageRecord]:
    """What `Store.write_batch` keeps of one file's records — the winner per dedup key, by the same rule and in the
    same order — carrying every tool call seen under that key (write_batch records those from losers too). Done
    in the worker, so the writer unpacks and sorts through half as many records."""
    best: dict[str, UsageRecord] = {}
    for rec in records:
        old = best.get(rec.dedup_key)
        if old is None:
            best[rec.dedup_key] = rec
            continue
        winner, loser = (rec, old) if _wins(rec, old) else (old, rec)
        winner.tool_calls = old.tool_calls + rec.tool_calls if loser.tool_calls else winner.tool_calls
        best[rec.dedup_key] = winner
    return list(best.values())


_record_fields = operator.attrgetter(*UsageRecord.__slots__)
_session_fields = operator.attrgetter(*SessionInfo.__slots__)


def _unpack(packed) -> ParseResult:
    records, sessions, skipped, consumed, lines = packed
    infos = [SessionInfo(*fields) for fields in sessions]
    return ParseResult([UsageRecord(*fields) for fields in records], {i.session_id: i for i in infos}, skipped,
                       consumed, lines)


def _take(pending: deque):
    """Yield the oldest pending group's files with their parsed results; returns the bytes it held."""
    files, task, nbytes = pending.popleft()
    results = task.get() if task is not None else [None] * len(files)
    for log, parsed in zip(files, results):
        yield log, parsed
    return nbytes


@dataclass(slots=True)
class _Batch:
    """The transaction several files' commits share during `ingest_all`, and the bytes read into it."""

    tx: object | None = None
    bytes: int = 0


def _unchanged(fs: FileState, st: os.stat_result) -> bool:
    """The file is exactly as it was when its stored position was committed: nothing to read."""
    return (fs.id is not None and not fs.gone and fs.inode == st.st_ino and fs.device == st.st_dev
            and fs.size == st.st_size and fs.mtime_ns == st.st_mtime_ns)


def _merge(into: ParseResult, part: ParseResult) -> None:
    into.records.extend(part.records)
    into.skipped.update(part.skipped)
    into.lines += part.lines
    for sid, info in part.sessions.items():
        have = into.sessions.get(sid)
        if have is None:
            into.sessions[sid] = info
            continue
        have.seen(info.first_ts_ms)
        have.seen(info.last_ts_ms)
        have.project = info.project or have.project
        have.git_branch = info.git_branch or have.git_branch
        if info.title and info.title_rank >= have.title_rank:
            have.title, have.title_rank = info.title, info.title_rank
