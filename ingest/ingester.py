"""Reading log files incrementally into the store: only new bytes, rows and offsets committed together."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .claude_parser import parse_claude
from .discovery import Discovery, LogFile, discover
from .jsonl import LINE_TOO_LONG, ParseResult
from .openclaw_parser import parse_openclaw
from .records import CLAUDE_CODE
from .store import FileState, Store

CHUNK_BYTES = 8 << 20
"""Sequential read size: large reads are what make a cold backfill fast."""
COMMIT_BYTES = 64 << 20
"""A huge file commits its rows and offset every this many bytes, so a kill loses little work."""
MAX_LINE_BYTES = 64 << 20
"""A line longer than this is skipped and counted rather than held in memory."""
HEAD_BYTES = 1024
"""How much of a file's start is fingerprinted to notice a rewrite that kept or grew its size."""


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

    def states(self) -> dict[str, FileState]:
        if self._states is None:
            self._states = self.store.file_states()
        return self._states

    # -- whole runs ---------------------------------------------------------------------------------

    def ingest_all(self, found: Discovery | None = None,
                   progress: Callable[[int, int, str], None] | None = None) -> IngestSummary:
        """Catch up every file under every root; `progress(done, total, path)` after each file."""
        started = time.perf_counter()
        found = found or discover(self.settings)
        summary = IngestSummary(files=len(found.files), roots=found.roots, problems=dict(found.problems))
        # Larger-first would finish the bar unevenly; path order keeps runs reproducible.
        for index, log in enumerate(found.files):
            summary.add(self.ingest_file(log))
            if progress:
                progress(index + 1, len(found.files), log.path)
        retention = getattr(self.settings, "retention_days", 90) or 90
        self.store.prune(retention)
        summary.seconds = time.perf_counter() - started
        return summary

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
        if fs is not None:
            return fs
        # A rename (OpenClaw archiving `x.jsonl` → `x.jsonl.deleted.<ts>`) keeps the inode: carry the position over.
        for old in states.values():
            if old.inode == st.st_ino and old.device == st.st_dev and old.source == log.source \
                    and old.path != log.path and not os.path.exists(old.path):
                del states[old.path]
                old.path, old.gone = log.path, False
                states[log.path] = old
                return old
        fs = FileState(None, log.path, log.source, log.session_id, log.agent_id, st.st_dev, st.st_ino, 0, 0, None,
                       None, 0)
        states[log.path] = fs
        return fs

    def _read(self, fd: int, st: os.stat_result, log: LogFile, outcome: FileOutcome) -> None:
        fs = self._known(log, st)
        if (fs.id is not None and not fs.gone and fs.inode == st.st_ino and fs.device == st.st_dev
                and fs.size == st.st_size and fs.mtime_ns == st.st_mtime_ns):
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
        offset = fs.offset
        carry = b""
        skipping = False  # inside an over-long line, dropping bytes until its newline
        pending = ParseResult()
        pending_bytes = 0
        parser_state = extra.get("parser")
        while True:
            chunk = os.pread(fd, self.chunk_bytes, offset + len(carry))
            at_eof = len(chunk) < self.chunk_bytes
            outcome.bytes_read += len(chunk)
            if skipping:
                nl = chunk.find(b"\n")
                if nl < 0:
                    offset += len(chunk)
                    if at_eof:
                        break
                    continue
                offset += nl + 1
                chunk = chunk[nl + 1:]
                skipping = False
            buffer = carry + chunk if carry else chunk
            result, parser_state = self._parse(log, buffer, parser_state, final_tail=at_eof)
            offset += result.consumed
            carry = buffer[result.consumed:]
            if len(carry) > self.max_line_bytes:
                pending.skipped[LINE_TOO_LONG] += 1
                offset += len(carry)
                carry = b""
                skipping = True
            _merge(pending, result)
            pending_bytes += len(chunk)
            if at_eof or pending_bytes >= self.commit_bytes:
                fs.offset, fs.size, fs.mtime_ns = offset, st.st_size, st.st_mtime_ns
                fs.lines += pending.lines
                if fs.offset and extra.get("head", [0])[0] < min(HEAD_BYTES, fs.offset):
                    length = min(HEAD_BYTES, fs.offset)
                    extra["head"] = [length, self._head_hash(fd, length)]
                extra["parser"] = parser_state
                fs.state = json.dumps(extra)
                self._commit(fs, pending, outcome)
                pending, pending_bytes = ParseResult(), 0
            if at_eof:
                break

    def _parse(self, log: LogFile, data: bytes, parser_state, final_tail: bool):
        if log.source == CLAUDE_CODE:
            return parse_claude(data, log.session_id, log.agent_id, final_tail=final_tail), None
        return parse_openclaw(data, log.session_id, parser_state, final_tail=final_tail)

    def _commit(self, fs: FileState, pending: ParseResult, outcome: FileOutcome) -> None:
        with self.store.transaction():
            written = self.store.write_batch(pending.records, pending.sessions.values())
            self.store.save_file_state(fs, pending.skipped)
        outcome.lines += pending.lines
        outcome.new_requests += written.new_requests
        outcome.updated_requests += written.updated_requests
        outcome.skipped.update(pending.skipped)
        outcome.sessions |= written.sessions
        if written.newest_ts and (outcome.newest_ts is None or written.newest_ts > outcome.newest_ts):
            outcome.newest_ts = written.newest_ts

    @staticmethod
    def _head_hash(fd: int, length: int) -> str:
        return hashlib.blake2b(os.pread(fd, length, 0), digest_size=12).hexdigest()

    def _same_prefix(self, fd: int, fs: FileState, extra: dict) -> bool:
        """True when the bytes already read are still there: the start matches and a newline ends them."""
        if os.pread(fd, 1, fs.offset - 1) != b"\n":
            return False
        head = extra.get("head")
        return head is None or head[1] == self._head_hash(fd, head[0])


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
