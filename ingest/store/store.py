"""The SQLite usage store: opening (permissions, migrations), the dedup upsert, file positions, re-pricing."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ..pricing import PriceTable
from ..records import SessionInfo, UsageRecord
from . import batch, claude_costs, indexes, machines, ownership, retention
from .batch import priced as _priced
from .errors import BUSY_TIMEOUT_MS, StoreError, explain
from .permissions import PermissionRefused, check_path, ensure_private_dir, is_read_only, refuse_foreign
from .schema import enable_wal, migrate
from .transaction import Transaction

CACHE_KIB = 16 << 10
"""SQLite page cache per connection."""

@dataclass(slots=True)
class FileState:
    """Where reading of one log file stopped, as committed with the rows it produced."""

    id: int | None
    path: str
    source: str
    session_id: str | None
    agent_id: str | None
    device: int | None
    inode: int | None
    size: int
    offset: int
    mtime_ns: int | None
    state: str | None
    lines: int
    gone: bool = False


@dataclass(slots=True)
class WriteResult:
    """What one batch changed, for summaries and live subscribers."""

    new_requests: int = 0
    updated_requests: int = 0
    sessions: frozenset[str] = frozenset()
    newest_ts: int | None = None


class Store:
    """One connection to the usage database. Not shared across threads: open one per thread."""

    def __init__(self, path: Path | str, prices: PriceTable | None = None, readonly: bool = False,
                 machine: str | None = None, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
        self.path = Path(path)
        self.machine = machine or machines.default_machine()  # what this store's own rows carry
        self.prices = prices
        self.readonly = readonly
        self.warnings: list[str] = []
        """Things worth telling the user about the files (permissions tightened); callers print them."""
        if str(path) != ":memory:":
            _check_path(self.path, readonly)  # a folder or a read-only file there: refuse before changing anything
            tightened = ensure_private_dir(self.path.parent)
            if tightened:
                self.warnings.append(tightened)
            if not readonly and not self.path.exists():
                # A -wal/-shm left by a deleted database would be replayed into this new, empty file.
                for suffix in ("-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        os.remove(f"{self.path}{suffix}")
                # Create the file 0600 before SQLite does, so it is never briefly world-readable.
                fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
                os.close(fd)
        self._identity: tuple[int, int] | None = None
        try:
            self.db = sqlite3.connect(str(self.path), timeout=busy_timeout_ms / 1000, isolation_level=None,
                                      check_same_thread=False)
            if str(path) != ":memory:":
                st = os.stat(self.path)
                self._identity = (st.st_dev, st.st_ino)
            self.db.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            _refuse_foreign(self.db, self.path)  # before WAL mode, which would already change another's file
            if str(path) != ":memory:":
                self._tighten_files()
            enable_wal(self.db)
            self.db.execute("PRAGMA synchronous = NORMAL")
            # The default 2 MB cache made a cold backfill's random-key index inserts re-read and re-spill pages
            # (~450k page I/Os for 1 GB of logs); 16 MB (allocated only as used) halved its kernel time.
            self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if not readonly:
                migrate(self.db, self.path)
                machines.claim_unnamed_rows(self)
                indexes.restore(self.db)  # after a cold backfill that was killed before it rebuilt them
            self.version = self.db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            self._raise_explained(exc)
        if prices is not None and not readonly:
            self.reprice_if_changed()

    # -- housekeeping -------------------------------------------------------------------------------

    def _tighten_files(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            p = Path(str(self.path) + suffix)
            try:
                mode = stat.S_IMODE(p.stat().st_mode) if p.exists() else 0
                if mode & 0o077 and not is_read_only(p):  # a file the user made read-only keeps its mode
                    os.chmod(p, 0o600)
                    self.warnings.append(f"{p} was readable by other users (mode {mode:o}); tightened to 600")
            except OSError:
                pass

    def _raise_explained(self, exc: sqlite3.Error) -> NoReturn:
        raise explain(self.path, exc) from exc

    def moved(self) -> bool:
        """True when the path no longer names the file this connection writes: deleted, or replaced by another."""
        if self._identity is None:
            return False
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (st.st_dev, st.st_ino) != self._identity

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> Transaction:
        """BEGIN IMMEDIATE … COMMIT (joining one already open); rolled back on any exception."""
        return Transaction(self.db)

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) "
                        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -- pricing ------------------------------------------------------------------------------------

    def reprice_if_changed(self) -> bool:
        """Re-price all stored history when the effective price table differs from the one it was priced with."""
        prices = self.prices
        if prices is None:
            return False
        fingerprint = prices.fingerprint()
        if self.meta("price_fingerprint") == fingerprint:
            return False

        def price_row(*row) -> float:
            return self.price_row(*row)[0]

        def price_rollup(model: str, speed: str | None, long_context: int, i: int, o: int, w5: int, w1: int,
                         r: int, web: int, geo: str) -> float:
            return retention.rollup_cost(prices, model, speed, bool(long_context), i, o, w5, w1, r, web, geo)

        def priced(model: str, speed: str | None) -> int:
            return int(prices.quote(model, 0, 0, 0, 0, 0, speed).priced)

        self.db.create_function("tt_price", 10, price_row, deterministic=True)
        self.db.create_function("tt_price_rollup", 10, price_rollup, deterministic=True)
        self.db.create_function("tt_priced", 2, priced, deterministic=True)
        with self.transaction():
            self.db.execute("UPDATE requests SET cost_usd = tt_price(COALESCE(priced_as, model), speed, inference_geo, "
                            "web_search_requests, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
                            "cache_read, reported_cost), priced = tt_priced(COALESCE(priced_as, model), speed)")
            self.db.execute("UPDATE rollups SET cost_usd = tt_price_rollup(model, NULLIF(speed, ''), long_context, "
                            "input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, "
                            "web_search_requests, inference_geo) "
                            "WHERE priced = 1 OR tt_priced(model, NULLIF(speed, '')) = 1")
            self.db.execute("UPDATE rollups SET priced = tt_priced(model, NULLIF(speed, ''))")
            self.db.execute("UPDATE tool_rollups SET cost_usd = tt_price_rollup(model, NULLIF(speed, ''), "
                            "long_context, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, "
                            "web_search_requests, inference_geo), priced = tt_priced(model, NULLIF(speed, '')) "
                            "WHERE priced = 1 OR tt_priced(model, NULLIF(speed, '')) = 1")
            self.set_meta("price_fingerprint", fingerprint)
        return True

    def price_row(self, model: str, speed: str | None, geo: str | None, web: int, i: int, o: int, w5: int, w1: int,
                  r: int, reported: float | None) -> tuple[float, int]:
        """(cost_usd, priced) of one stored row's numbers (the price table must be loaded)."""
        assert self.prices is not None
        return _priced(self.prices.quote(model, i, o, w5, w1, r, speed, geo, web), reported)

    # -- writes -------------------------------------------------------------------------------------

    def write_batch(self, records: Iterable[UsageRecord], sessions: Iterable[SessionInfo] = (),
                    staged: Iterable[tuple[bytes, Sequence[int]]] = ()) -> WriteResult:
        """Upsert records (and a parse worker's `staged` rows) under the dedup rule: store/batch.py. Call inside
        `transaction()` together with the file positions."""
        return batch.write_batch(self, records, sessions, WriteResult(), staged)

    def _finish(self, sessions: Iterable[SessionInfo], result: WriteResult, contested: set[str]) -> WriteResult:
        """Write the session facts, then give each contested response (of this batch, or of a session whose last
        response may have moved) to its owner."""
        sessions = list(sessions)
        self._write_sessions(sessions, result)
        result.sessions |= ownership.resolve(self, contested, (s.session_id for s in sessions))
        return result

    def _write_sessions(self, sessions: Iterable[SessionInfo], result: WriteResult) -> WriteResult:
        sessions = list(sessions)
        claude_costs.write(self.db, sessions, self.price_row if self.prices is not None else None)
        rows = [(s.session_id, s.source, s.project, s.title, s.title_rank, s.git_branch, s.first_ts_ms, s.last_ts_ms)
                for s in sessions]
        if rows:
            self.db.executemany(
                """INSERT INTO sessions(session_id, source, project, title, title_rank, git_branch, first_ts, last_ts)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT(session_id) DO UPDATE SET
                     project = COALESCE(excluded.project, sessions.project),
                     title = CASE WHEN excluded.title IS NOT NULL AND excluded.title_rank >= sessions.title_rank
                                  THEN excluded.title ELSE sessions.title END,
                     title_rank = MAX(sessions.title_rank,
                                      CASE WHEN excluded.title IS NULL THEN 0 ELSE excluded.title_rank END),
                     git_branch = CASE WHEN excluded.last_ts >= COALESCE(sessions.last_ts, 0)
                                       THEN COALESCE(excluded.git_branch, sessions.git_branch)
                                       ELSE sessions.git_branch END,
                     first_ts = MIN(COALESCE(sessions.first_ts, excluded.first_ts),
                                    COALESCE(excluded.first_ts, sessions.first_ts)),
                     last_ts = MAX(COALESCE(sessions.last_ts, excluded.last_ts),
                                   COALESCE(excluded.last_ts, sessions.last_ts))""",
                rows)
            result.sessions = result.sessions | {r[0] for r in rows}
        return result

    def existing(self, sql: str, keys: set[str]) -> set[str]:
        """The values of `sql` (one `IN ({})` placeholder) found among `keys`, asked in chunks SQLite accepts."""
        found: set[str] = set()
        keys_list = list(keys)
        for chunk in _chunks(keys_list):
            found.update(r[0] for r in self.db.execute(sql.format(_marks(chunk)), chunk))
        return found

    # -- file positions -----------------------------------------------------------------------------

    def file_states(self) -> dict[str, FileState]:
        rows = self.db.execute("SELECT id, path, source, session_id, agent_id, device, inode, size, offset, mtime_ns, "
                               "state, lines, gone FROM files")
        return {r[1]: FileState(*r[:12], gone=bool(r[12])) for r in rows}

    def save_file_state(self, fs: FileState, skipped: Counter[str] | None = None) -> int:
        """Record how far a file has been read; call in the same transaction as the rows it produced."""
        if fs.id is None:
            cur = self.db.execute(
                "INSERT INTO files(path, source, session_id, agent_id, device, inode, size, offset, mtime_ns, state, "
                "lines, gone) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET source = excluded.source, "
                "session_id = excluded.session_id, agent_id = excluded.agent_id, device = excluded.device, "
                "inode = excluded.inode, size = excluded.size, offset = excluded.offset, mtime_ns = excluded.mtime_ns, "
                "state = excluded.state, lines = excluded.lines, gone = excluded.gone RETURNING id",
                (fs.path, fs.source, fs.session_id, fs.agent_id, fs.device, fs.inode, fs.size, fs.offset, fs.mtime_ns,
                 fs.state, fs.lines, int(fs.gone)))
            fs.id = cur.fetchone()[0]
        else:
            self.db.execute(
                "UPDATE files SET path = ?, source = ?, session_id = ?, agent_id = ?, device = ?, inode = ?, size = ?, "
                "offset = ?, mtime_ns = ?, state = ?, lines = ?, gone = ? WHERE id = ?",
                (fs.path, fs.source, fs.session_id, fs.agent_id, fs.device, fs.inode, fs.size, fs.offset, fs.mtime_ns,
                 fs.state, fs.lines, int(fs.gone), fs.id))
        if skipped:
            self.db.executemany(
                "INSERT INTO skipped(file_id, reason, count) VALUES (?, ?, ?) "
                "ON CONFLICT(file_id, reason) DO UPDATE SET count = skipped.count + excluded.count",
                [(fs.id, reason, n) for reason, n in skipped.items() if n])
            if any(n < 0 for n in skipped.values()):  # a count taken back (a finished last line): no zero rows
                self.db.execute("DELETE FROM skipped WHERE file_id = ? AND count <= 0", (fs.id,))
        return fs.id

    def forget_skips(self, file_id: int) -> None:
        """A file that is re-read from the start (truncated or replaced) counts its bad lines afresh."""
        self.db.execute("DELETE FROM skipped WHERE file_id = ?", (file_id,))

    # -- retention ----------------------------------------------------------------------------------

    def prune(self, retention_days: int, now_ms: int | None = None) -> int:
        """Fold per-request rows older than `retention_days` into 15-minute rollups; returns rows folded."""
        return retention.prune(self, retention_days, now_ms)

    # -- small reads --------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        q = self.db.execute
        return {
            "requests": q("SELECT COUNT(*) FROM requests").fetchone()[0],
            "rollup_rows": q("SELECT COUNT(*) FROM rollups").fetchone()[0],
            "rolled_up_requests": q("SELECT COALESCE(SUM(requests), 0) FROM rollups").fetchone()[0],
            "sessions": q("SELECT COUNT(*) FROM sessions").fetchone()[0],
            "files": q("SELECT COUNT(*) FROM files").fetchone()[0],
            "tool_calls": q("SELECT COUNT(*) FROM tool_calls").fetchone()[0],
        }

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT reason, SUM(count) FROM skipped GROUP BY reason HAVING SUM(count) != 0 "
                                    "ORDER BY 2 DESC"))


def _check_path(path: Path, readonly: bool) -> None:
    try:
        check_path(path, readonly)
    except PermissionRefused as exc:
        raise StoreError(str(exc)) from None


def _refuse_foreign(db: sqlite3.Connection, path: Path) -> None:
    try:
        refuse_foreign(db, path)
    except PermissionRefused as exc:
        db.close()
        raise StoreError(str(exc)) from None


def _marks(items: Sequence[object]) -> str:
    return ", ".join("?" * len(items))


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
