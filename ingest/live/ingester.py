"""Reading log files incrementally into the store: only new bytes, rows and offsets committed together."""

from __future__ import annotations

import json
import os
import stat
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

from ..logs.claude import parse_claude
from ..logs.discovery import Discovery, LogFile
from ..logs.jsonl import FUTURE_CLAMPED, LINE_TOO_LONG, NOT_SKIPPED, ParseResult
from ..logs.openclaw import parse_openclaw
from ..records import CLAUDE_CODE
from ..store.store import FileState, Store
from .agent_stores import AgentStores
from .backfill import (  # noqa: F401
    APPLY_GROUP_BYTES,
    APPLY_GROUP_FILES,
    PARALLEL_MIN_BYTES,
    PARALLEL_WORKERS,
    PREFETCH_BYTES,
    READ_SLACK_BYTES,
    TASK_BYTES,
    Backfill,
)
from .tail import HEAD_BYTES, FileCursor, load_extra, unchanged  # noqa: F401

CHUNK_BYTES = 8 << 20
"""Sequential read size: large reads are what make a cold backfill fast."""
COMMIT_BYTES = 64 << 20
"""A huge file commits its rows and offset every this many bytes, so a kill loses little work."""
BATCH_BYTES = 256 << 20
"""During `ingest_all`, files share one transaction until this much was read: every commit rewrites the index
pages the batch touched (random keys touch most of them), so 64 MB batches spent 0.4 s per GB committing."""
BATCH_SECONDS = 2.0
"""…or once it is this old, whichever comes first: an interrupted or killed cold backfill loses at most about this
much work, however slow the machine (at backfill speed 2 s is near 256 MB anyway, so commits are no more frequent)."""
MAX_LINE_BYTES = 64 << 20
"""A line longer than this is skipped and counted rather than held in memory."""


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
    agent_stores: list = field(default_factory=list)
    """A StoreStatus per OpenClaw agent store (2026.8+), read after the files."""

    def add_stores(self, outcome) -> None:
        self.agent_stores = outcome.statuses
        self.lines += outcome.lines
        self.new_requests += outcome.new_requests
        self.updated_requests += outcome.updated_requests
        self.skipped.update(outcome.skipped)
        self.sessions |= outcome.sessions
        for status in outcome.statuses:
            if status.problem:
                self.errors[status.path] = status.problem
        if outcome.newest_ts and (self.newest_ts is None or outcome.newest_ts > self.newest_ts):
            self.newest_ts = outcome.newest_ts

    def add(self, outcome: FileOutcome) -> None:
        if outcome.bytes_read or outcome.restarted:
            self.files_read += 1
        self.bytes_read += outcome.bytes_read
        self.lines += outcome.lines
        self.new_requests += outcome.new_requests
        self.updated_requests += outcome.updated_requests
        self.skipped.update(+outcome.skipped)  # (a last line counted by an earlier run and taken back: nothing)
        self.sessions |= outcome.sessions
        if outcome.error:
            self.errors[outcome.path] = outcome.error
        if outcome.newest_ts and (self.newest_ts is None or outcome.newest_ts > self.newest_ts):
            self.newest_ts = outcome.newest_ts

    def line(self) -> str:
        """The one-line summary printed after `tokentop ingest`."""
        skipped = sum(n for reason, n in self.skipped.items() if reason not in NOT_SKIPPED)
        stores = f", {len(self.agent_stores)} OpenClaw agent stores" if self.agent_stores else ""
        text = (f"{self.files} files ({self.files_read} read, {_size(self.bytes_read)}){stores}, "
                f"{self.new_requests} new responses, {self.updated_requests} updated, "
                f"{skipped} malformed lines skipped, {self.seconds:.1f}s")
        if self.skipped.get(FUTURE_CLAMPED):
            text += f", {self.skipped[FUTURE_CLAMPED]} future times moved back to now"
        if self.errors:
            text += f", {len(self.errors)} unreadable files"
        return text


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} B"


class Ingester:
    """Parses new bytes and commits them with the file positions in one transaction. Owns no thread; the caller
    holds the writer role. What changed in a file is the `FileCursor`'s to say; cold reads go through `Backfill`."""

    def __init__(self, store: Store, settings=None, chunk_bytes: int = CHUNK_BYTES, commit_bytes: int = COMMIT_BYTES,
                 max_line_bytes: int = MAX_LINE_BYTES):
        self.store = store
        self.settings = settings
        self.chunk_bytes = chunk_bytes
        self.commit_bytes = max(commit_bytes, chunk_bytes)
        self.max_line_bytes = max_line_bytes
        self.batch_seconds = BATCH_SECONDS
        self.cursor = FileCursor(store)
        self._batch: _Batch | None = None
        self.agent_stores = AgentStores(self)

    def states(self) -> dict[str, FileState]:
        return self.cursor.states()

    def ingest_all(self, found: Discovery | None = None,
                   progress: Callable[[int, int, str], None] | None = None) -> IngestSummary:
        """Catch up every file under every root; `progress(done, total, path)` after each file."""
        return Backfill(self).run(found, progress)

    # -- one file -----------------------------------------------------------------------------------

    def ingest_file(self, log: LogFile) -> FileOutcome:
        """Read what is new in one file. Never raises for a bad file: the reason lands in `error`."""
        outcome = FileOutcome(log.path)
        try:
            fd = os.open(log.path, os.O_RDONLY | os.O_NONBLOCK)
        except FileNotFoundError:
            self.cursor.mark_gone(log.path)
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

    def _read(self, fd: int, st: os.stat_result, log: LogFile, outcome: FileOutcome) -> None:
        cursor = self.cursor
        fs = cursor.known(log, st)
        if unchanged(fs, st):
            return  # untouched since the last read: the common case on every warm run and safety poll
        fs.session_id, fs.agent_id, fs.gone = log.session_id, log.agent_id, False
        extra = load_extra(fs)
        restart = cursor.restart_reason(fd, fs, st, extra)
        if restart:
            outcome.restarted = restart
            fs.offset, fs.lines, extra = 0, 0, {}
            if fs.id is not None:
                self.store.forget_skips(fs.id)
        fs.device, fs.inode = st.st_dev, st.st_ino
        head = cursor.read_head(fd)
        offset = fs.offset
        carry = b""
        skipping = False  # inside an over-long line, dropping bytes until its newline
        skip_from = offset  # where that line started (set again when one is found)
        pending = ParseResult()
        pending_bytes = 0
        parser_state = extra.get("parser")
        _take_back_tail(extra, pending)
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
            if len(carry) <= self.max_line_bytes:  # (an over-long one is counted once it ends, as too long)
                count_tail(result, extra)
            # (At the end of the file an unfinished long line is left where it starts, as above.)
            if len(carry) > self.max_line_bytes and not at_eof:
                pending.skipped[LINE_TOO_LONG] += 1
                skip_from = offset
                offset += len(carry)
                carry = b""
                skipping = True
            merge(pending, result)
            pending_bytes += new_bytes
            if at_eof or pending_bytes >= self.commit_bytes:
                # Mid-file, record the size read so far: a kill before the end must not look "untouched" later.
                fs.offset, fs.size, fs.mtime_ns = offset, st.st_size if at_eof else offset, st.st_mtime_ns
                fs.lines += pending.lines
                cursor.note_head(fs, extra, head)
                extra["parser"] = parser_state
                fs.state = json.dumps(extra)
                self._commit(fs, pending, outcome, pending_bytes)
                pending, pending_bytes = ParseResult(), 0
            if at_eof:
                break

    def _parse(self, log: LogFile, data: bytes, parser_state, final_tail: bool):
        return parse(log.source, log.session_id, log.agent_id, data, parser_state, final_tail)

    def _commit(self, fs: FileState, pending: ParseResult, outcome: FileOutcome, nbytes: int = 0) -> None:
        self.write([(fs, pending.skipped)], pending, outcome, nbytes)

    def write(self, files: list[tuple[FileState, Counter]], pending: ParseResult, outcome: FileOutcome,
              nbytes: int, staged: list | None = None) -> None:
        """`pending`'s rows (and rows parse workers `staged`) and each file's position (with its skipped lines) in
        one transaction."""
        batch = self._batch
        if batch is None:
            with self.store.transaction():
                written = self._write_rows(files, pending, staged or ())
        else:
            # A backfill's shared transaction, committed once it holds BATCH_BYTES or is BATCH_SECONDS old: rows
            # and positions still commit together, and a kill or Ctrl-C loses at most that much work.
            if batch.tx is None:
                batch.tx = self.store.transaction()
                batch.tx.__enter__()
                batch.started = time.monotonic()
            written = self._write_rows(files, pending, staged or ())
            batch.bytes += nbytes
            if (batch.bytes >= max(self.commit_bytes, BATCH_BYTES)
                    or time.monotonic() - batch.started >= self.batch_seconds):
                self.end_batch(keep=True)
        outcome.lines += pending.lines
        outcome.new_requests += written.new_requests
        outcome.updated_requests += written.updated_requests
        outcome.skipped.update(pending.skipped)
        outcome.sessions |= written.sessions
        if written.newest_ts and (outcome.newest_ts is None or written.newest_ts > outcome.newest_ts):
            outcome.newest_ts = written.newest_ts

    def _write_rows(self, files: list[tuple[FileState, Counter]], pending: ParseResult, staged=()):
        written = self.store.write_batch(pending.records, pending.sessions.values(), staged)
        for fs, skipped in files:
            self.store.save_file_state(fs, skipped)
        return written

    def end_batch(self, failed: bool = False, keep: bool = False) -> None:
        """Commit (or, after a failure, roll back) the shared transaction; `keep` carries on batching."""
        batch, self._batch = self._batch, (_Batch() if keep else None)
        if batch is None or batch.tx is None:
            return
        if failed:
            batch.tx.__exit__(Exception, None, None)
            self.cursor.forget()  # the rolled-back positions and row ids must be read again
        else:
            batch.tx.__exit__(None, None, None)

    def begin_batch(self) -> None:
        """Let the following commits share one transaction (committed every BATCH_BYTES) until `end_batch`."""
        self._batch = _Batch()


def parse(source: str, session_id: str, agent_id: str | None, data: bytes, parser_state, final_tail: bool):
    if source == CLAUDE_CODE:
        return parse_claude(data, session_id, agent_id, final_tail=final_tail), None
    return parse_openclaw(data, session_id, parser_state, final_tail=final_tail)


@dataclass(slots=True)
class _Batch:
    """The transaction several files' commits share during `ingest_all`, and the bytes read into it."""

    tx: AbstractContextManager[object] | None = None
    bytes: int = 0
    started: float = 0.0
    """When its transaction began (monotonic seconds)."""


def count_tail(result: ParseResult, extra: dict) -> None:
    """At the end of a file, count what its unterminated last line was skipped for, and remember that it was: the
    line is read again with the bytes that finish it (see `_take_back_tail`)."""
    if result.tail_skipped:
        result.skipped.update(result.tail_skipped)
        extra["tail_skipped"] = dict(result.tail_skipped)


def _take_back_tail(extra: dict, pending: ParseResult) -> None:
    """Reading resumes where the unterminated last line starts: what it was counted for is taken back (it is
    counted again as it reads now), so `doctor`'s counts stay the malformed lines present."""
    counted = extra.pop("tail_skipped", None)
    if isinstance(counted, dict):
        for reason, n in counted.items():
            if isinstance(reason, str) and type(n) is int:
                pending.skipped[reason] -= n


def merge(into: ParseResult, part: ParseResult) -> None:
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
        if info.cost_state is not None and (have.cost_state is None or info.cost_state.beats(have.cost_state)):
            have.cost_state = info.cost_state
