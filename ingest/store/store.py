"""The SQLite usage store: schema and migrations, the dedup upsert, file positions, retention rollups, re-pricing."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..records import SessionInfo, UsageRecord

SLOT_MS = 15 * 60 * 1000
"""Rollups are kept per 15-minute UTC slot: every real time zone offset is a multiple of 15 minutes,
so local-day reports over rolled-up history still add up in any zone."""

BUSY_TIMEOUT_MS = 5000
CACHE_KIB = 16 << 10
"""SQLite page cache per connection."""


class StoreError(Exception):
    """A store problem explained for a person: what happened, to which file, and what to do."""


class StoreDamaged(StoreError):
    """The database file is not a readable SQLite database."""


class StoreLocked(StoreError):
    """Another process held the database past the busy timeout."""


SUMMED = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read", "cost_usd")
"""The columns every summary table (slot_usage, rollups, tool_rollups) adds up."""


def fold_on_conflict(table: str, counts: tuple[str, ...], extra: str = "") -> str:
    """`ON CONFLICT DO UPDATE SET c = table.c + excluded.c, …`: fold a new row of sums into the existing one."""
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    return f"ON CONFLICT DO UPDATE SET {sets}{', ' + extra if extra else ''}"


_SLOT_COUNTS = (*SUMMED, "requests", "unpriced")
# What a trigger adds to / takes from slot_usage for one row of `requests` (NEW./OLD.) or of `rollups`.
_REQUEST_SLOT = "{row}.ts - {row}.ts % 900000"
_ROLLUP_SLOT = "{row}.slot"
_REQUEST_COUNTS = ("1", "({row}.priced = 0)")
_ROLLUP_COUNTS = ("{row}.requests", "(CASE WHEN {row}.priced = 0 THEN {row}.requests ELSE 0 END)")


def _slot_add(slot: str, counts: tuple[str, str]) -> str:
    values = ", ".join([slot, "NEW.source", "NEW.model", *(f"NEW.{c}" for c in SUMMED), *counts]).format(row="NEW")
    return f"INSERT INTO slot_usage VALUES ({values}) {fold_on_conflict('slot_usage', _SLOT_COUNTS)};"


def _slot_subtract(slot: str, counts: tuple[str, str]) -> str:
    sets = ", ".join([*(f"{c} = {c} - OLD.{c}" for c in SUMMED), f"requests = requests - {counts[0]}",
                      f"unpriced = unpriced - {counts[1]}"]).format(row="OLD")
    where = f"slot = {slot.format(row='OLD')} AND source = OLD.source AND model = OLD.model"
    return f"UPDATE slot_usage SET {sets} WHERE {where};"


def _slot_triggers(table: str, slot: str, counts: tuple[str, str]) -> str:
    """Keep slot_usage equal to the sums of `table` on every UPDATE and DELETE (and INSERT, for rollups)."""
    insert = (f"CREATE TRIGGER {table}_usage_insert AFTER INSERT ON {table} BEGIN {_slot_add(slot, counts)} END;"
              if table == "rollups" else "")
    return f"""
    {insert}
    CREATE TRIGGER {table}_usage_delete AFTER DELETE ON {table} BEGIN {_slot_subtract(slot, counts)} END;
    CREATE TRIGGER {table}_usage_update AFTER UPDATE ON {table} BEGIN
        {_slot_subtract(slot, counts)}
        {_slot_add(slot, counts)}
    END;"""


# Each migration moves the schema from version i to i+1; never edit a shipped one, append a new one. (Migration 2
# is built from the helpers above: they must keep producing the same SQL.)
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE requests (
        id INTEGER PRIMARY KEY,
        dedup_key TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL,
        request_id TEXT,
        source TEXT NOT NULL,
        session_id TEXT NOT NULL,
        project TEXT,
        agent_id TEXT,
        is_sidechain INTEGER NOT NULL DEFAULT 0,
        model TEXT NOT NULL,
        ts INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        total_tokens INTEGER NOT NULL,
        speed TEXT,
        cost_usd REAL NOT NULL DEFAULT 0,
        priced INTEGER NOT NULL DEFAULT 1,
        reported_cost REAL
    );
    CREATE INDEX requests_ts ON requests(ts);
    CREATE INDEX requests_session ON requests(session_id, ts);
    CREATE INDEX requests_message ON requests(message_id);
    CREATE TABLE tool_calls (
        tool_use_id TEXT PRIMARY KEY,
        message_id TEXT NOT NULL,
        name TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX tool_calls_message ON tool_calls(message_id);
    CREATE TABLE sessions (
        session_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        project TEXT,
        title TEXT,
        title_rank INTEGER NOT NULL DEFAULT 0,
        git_branch TEXT,
        first_ts INTEGER,
        last_ts INTEGER
    );
    CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        source TEXT NOT NULL,
        session_id TEXT,
        agent_id TEXT,
        device INTEGER,
        inode INTEGER,
        size INTEGER NOT NULL DEFAULT 0,
        offset INTEGER NOT NULL DEFAULT 0,
        mtime_ns INTEGER,
        state TEXT,
        lines INTEGER NOT NULL DEFAULT 0,
        gone INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE skipped (
        file_id INTEGER NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        PRIMARY KEY (file_id, reason)
    ) WITHOUT ROWID;
    CREATE TABLE rollups (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        session_id TEXT NOT NULL,
        project TEXT NOT NULL,
        model TEXT NOT NULL,
        speed TEXT NOT NULL,
        long_context INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL,
        PRIMARY KEY (slot, source, session_id, project, model, speed, long_context)
    ) WITHOUT ROWID;
    -- Keys of responses already rolled up, so a resumed session that copies an old response cannot add it twice.
    CREATE TABLE pruned (dedup_key TEXT PRIMARY KEY, message_id TEXT NOT NULL, is_sidechain INTEGER NOT NULL) WITHOUT ROWID;
    CREATE INDEX pruned_message ON pruned(message_id);
    """,
    # 1: official limit samples from the statusline, fired alerts, and what the hook has already told Claude Code.
    """
    CREATE TABLE official_samples (
        id INTEGER PRIMARY KEY,
        taken_ms INTEGER NOT NULL,
        window TEXT NOT NULL,
        used_pct REAL NOT NULL,
        resets_at_ms INTEGER NOT NULL,
        session_id TEXT,
        seen_ms INTEGER NOT NULL,
        UNIQUE (window, resets_at_ms, used_pct)
    );
    CREATE INDEX official_samples_taken ON official_samples(window, taken_ms);
    CREATE TABLE alerts (
        id INTEGER PRIMARY KEY,
        fired_ms INTEGER NOT NULL,
        window TEXT NOT NULL,
        level INTEGER NOT NULL,
        window_end_ms INTEGER NOT NULL,
        used_pct REAL,
        source TEXT,
        message TEXT NOT NULL,
        UNIQUE (window, level, window_end_ms)
    );
    CREATE TABLE hook_warnings (
        window TEXT NOT NULL,
        level INTEGER NOT NULL,
        window_end_ms INTEGER NOT NULL,
        last_ms INTEGER NOT NULL,
        PRIMARY KEY (window, level, window_end_ms)
    ) WITHOUT ROWID;
    """,
    # 2: usage summed per 15-minute slot, source and model, so the daily/weekly/monthly reports read a few thousand
    # sums instead of every request (60 -> 7 ms on 45k requests). Triggers keep it current on every update and
    # delete, and on rollups; rows INSERTed into requests are added by `write_batch` in one statement per batch
    # (ADD_NEW_SLOT_USAGE_SQL), because a per-row insert trigger cost a cold backfill 0.3 s per GB.
    """
    CREATE TABLE slot_usage (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        requests INTEGER NOT NULL,
        unpriced INTEGER NOT NULL,
        PRIMARY KEY (slot, source, model)
    ) WITHOUT ROWID;
    INSERT INTO slot_usage
    SELECT slot, source, model, SUM(i), SUM(o), SUM(w5), SUM(w1), SUM(r), SUM(c), SUM(n), SUM(u) FROM (
        SELECT ts - ts % 900000 AS slot, source, model, input_tokens AS i, output_tokens AS o, cache_write_5m AS w5,
               cache_write_1h AS w1, cache_read AS r, cost_usd AS c, 1 AS n, priced = 0 AS u FROM requests
        UNION ALL
        SELECT slot, source, model, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read,
               cost_usd, requests, CASE WHEN priced = 0 THEN requests ELSE 0 END FROM rollups)
     GROUP BY slot, source, model;
    """ + _slot_triggers("requests", _REQUEST_SLOT, _REQUEST_COUNTS)
    + _slot_triggers("rollups", _ROLLUP_SLOT, _ROLLUP_COUNTS) + """
    """,
    # 3: per-tool sums of rolled-up responses, so the tools report over old months still adds up after retention.
    # name = '' holds the responses that called any tool, each once: the report's totals.
    """
    CREATE TABLE tool_rollups (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        model TEXT NOT NULL,
        speed TEXT NOT NULL,
        long_context INTEGER NOT NULL,
        name TEXT NOT NULL,
        calls INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL,
        PRIMARY KEY (slot, source, model, speed, long_context, name)
    ) WITHOUT ROWID;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)

# Every usage row, kept or rolled up, in one shape: what all reports read.
USAGE_SQL = """
    SELECT ts - ts % {slot} AS slot, source, session_id, COALESCE(project, '') AS project, model,
           input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, 1 AS requests, cost_usd, priced, ts
      FROM requests
    UNION ALL
    SELECT slot, source, session_id, project, model,
           input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, slot
      FROM rollups
""".format(slot=SLOT_MS)

# Adds requests rows with id > ? (those one batch just inserted) to slot_usage. Every INSERT INTO requests must be
# followed by it: there is no insert trigger (see migration 2).
ADD_NEW_SLOT_USAGE_SQL = f"""
    INSERT INTO slot_usage
    SELECT ts - ts % {SLOT_MS}, source, model, SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m),
           SUM(cache_write_1h), SUM(cache_read), SUM(cost_usd), COUNT(*), SUM(priced = 0)
      FROM requests WHERE id > ? GROUP BY 1, 2, 3
    {fold_on_conflict("slot_usage", _SLOT_COUNTS)}
"""

_INSERT_COLUMNS = (
    "dedup_key", "message_id", "request_id", "source", "session_id", "project", "agent_id", "is_sidechain",
    "model", "ts", "input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
    "total_tokens", "speed", "cost_usd", "priced", "reported_cost",
)
# Largest total wins; on a tie the later response, then (for a deterministic answer whatever the order
# files are read in) the smaller session id — a resumed session's verbatim copy never flips attribution.
_UPSERT_SQL = "INSERT INTO requests ({cols}) VALUES ({marks}) ON CONFLICT(dedup_key) DO UPDATE SET {sets} WHERE " \
    "excluded.total_tokens > requests.total_tokens OR (excluded.total_tokens = requests.total_tokens AND " \
    "(excluded.ts > requests.ts OR (excluded.ts = requests.ts AND excluded.session_id < requests.session_id)))"
_UPSERT_SQL = _UPSERT_SQL.format(
    cols=", ".join(_INSERT_COLUMNS),
    marks=", ".join("?" * len(_INSERT_COLUMNS)),
    sets=", ".join(f"{c} = excluded.{c}" for c in _INSERT_COLUMNS if c != "dedup_key"),
)


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


OWN_DIR_NAME = ".claude-usage"
"""tokentop's own folder (`~/.claude-usage`): the only existing folder whose permissions it changes."""


def ensure_private_dir(path: Path) -> str | None:
    """Create the store's directory 0700; tighten tokentop's own folder when others can read it, and say so.

    A folder the user pointed `--db` into (a project, /tmp, a synced folder) is theirs: it is left as it is,
    and the database file itself is still 0600."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)  # made now, so nobody else could have read it: no warning
        return None
    if path.name != OWN_DIR_NAME:
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            os.chmod(path, 0o700)
            return f"{path} was readable by other users (mode {mode:o}); tightened to 700"
        except OSError as exc:
            return f"{path} is readable by other users (mode {mode:o}) and could not be tightened: {exc.strerror}"
    return None


class Store:
    """One connection to the usage database. Not shared across threads: open one per thread."""

    def __init__(self, path: Path | str, prices=None, readonly: bool = False):
        self.path = Path(path)
        self.prices = prices
        self.readonly = readonly
        self.warnings: list[str] = []
        """Things worth telling the user about the files (permissions tightened); callers print them."""
        if str(path) != ":memory:":
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
            self._tighten_files()
        self._identity = None
        try:
            self.db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                      check_same_thread=False)
            if str(path) != ":memory:":
                st = os.stat(self.path)
                self._identity = (st.st_dev, st.st_ino)
            self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.db.execute("PRAGMA journal_mode = WAL")
            self.db.execute("PRAGMA synchronous = NORMAL")
            # The default 2 MB cache made a cold backfill's random-key index inserts re-read and re-spill pages
            # (~450k page I/Os for 1 GB of logs); 16 MB (allocated only as used) halved its kernel time.
            self.db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            if not readonly:
                self._migrate()
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
                if mode & 0o077:
                    os.chmod(p, 0o600)
                    self.warnings.append(f"{p} was readable by other users (mode {mode:o}); tightened to 600")
            except OSError:
                pass

    def _raise_explained(self, exc: sqlite3.Error):
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

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path}: schema version {version} is newer than this tokentop understands "
                             f"({SCHEMA_VERSION}); upgrade tokentop or point --db elsewhere.")
        while version < SCHEMA_VERSION:
            script = MIGRATIONS[version]
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    self.db.execute(statement)
                version += 1
                self.db.execute(f"PRAGMA user_version = {version}")
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self.db.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def transaction(self):
        return _Transaction(self.db)

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                        (key, value))

    # -- pricing ------------------------------------------------------------------------------------

    def _price(self, rec: UsageRecord) -> tuple[float, int]:
        if self.prices is None:
            return 0.0, 0
        cost = self.prices.cost(rec.model, rec.input_tokens, rec.output_tokens, rec.cache_write_5m,
                                rec.cache_write_1h, rec.cache_read, rec.speed)
        if cost is None:
            # The source's own figure beats calling an unknown model free (OpenClaw writes one).
            return (rec.reported_cost or 0.0), 0
        return cost, 1

    def reprice_if_changed(self) -> bool:
        """Re-price all stored history when the effective price table differs from the one it was priced with."""
        fingerprint = self.prices.fingerprint()
        if self.meta("price_fingerprint") == fingerprint:
            return False
        prices = self.prices

        def price_row(model, speed, i, o, w5, w1, r, reported):
            cost = prices.cost(model, i, o, w5, w1, r, speed)
            return (reported or 0.0) if cost is None else cost

        def price_rollup(model, speed, long_context, i, o, w5, w1, r):
            return rollup_cost(prices, model, speed, bool(long_context), i, o, w5, w1, r)

        def priced(model):
            return 0 if prices.lookup(model) is None else 1

        self.db.create_function("tt_price", 8, price_row, deterministic=True)
        self.db.create_function("tt_price_rollup", 8, price_rollup, deterministic=True)
        self.db.create_function("tt_priced", 1, priced, deterministic=True)
        with self.transaction():
            self.db.execute("UPDATE requests SET cost_usd = tt_price(model, speed, input_tokens, output_tokens, "
                            "cache_write_5m, cache_write_1h, cache_read, reported_cost), priced = tt_priced(model)")
            self.db.execute("UPDATE rollups SET cost_usd = tt_price_rollup(model, NULLIF(speed, ''), long_context, "
                            "input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read) "
                            "WHERE priced = 1 OR tt_priced(model) = 1")
            self.db.execute("UPDATE rollups SET priced = tt_priced(model)")
            self.db.execute("UPDATE tool_rollups SET cost_usd = tt_price_rollup(model, NULLIF(speed, ''), "
                            "long_context, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read), "
                            "priced = tt_priced(model) WHERE priced = 1 OR tt_priced(model) = 1")
            self.set_meta("price_fingerprint", fingerprint)
        return True

    # -- writes -------------------------------------------------------------------------------------

    def write_batch(self, records: Iterable[UsageRecord], sessions: Iterable[SessionInfo] = ()) -> WriteResult:
        """Upsert records under the dedup rule. Call inside `transaction()` together with the file positions."""
        best: dict[str, UsageRecord] = {}
        tools: dict[str, tuple[str, str]] = {}
        for rec in records:
            for tool_id, name in rec.tool_calls:
                tools[tool_id] = (rec.message_id, name)
            old = best.get(rec.dedup_key)
            if old is None or _wins(rec, old):
                best[rec.dedup_key] = rec
        result = WriteResult()
        if not best and not tools:
            return self._write_sessions(sessions, result)
        db = self.db
        keep: list[UsageRecord] = []
        main_ids = {r.message_id for r in best.values() if not r.is_sidechain}
        sidechain_ids = {r.message_id for r in best.values() if r.is_sidechain}
        # Sidechain replays of a main-thread response are dropped, whichever of the two is read first.
        main_in_db = self._existing(
            "SELECT message_id FROM requests WHERE is_sidechain = 0 AND message_id IN ({})", sidechain_ids - main_ids)
        pruned: set[str] = set()
        # `pruned` stays empty until retention first rolls history up (always, on a cold backfill): skip it then.
        if db.execute("SELECT EXISTS (SELECT 1 FROM pruned)").fetchone()[0]:
            main_in_db |= self._existing(
                "SELECT message_id FROM pruned WHERE is_sidechain = 0 AND message_id IN ({})", sidechain_ids - main_ids)
            pruned = self._existing("SELECT dedup_key FROM pruned WHERE dedup_key IN ({})", set(best))
        for rec in best.values():
            if rec.dedup_key in pruned:
                continue
            if rec.is_sidechain and (rec.message_id in main_ids or rec.message_id in main_in_db):
                continue
            keep.append(rec)
        dropped = 0
        if main_ids:
            for chunk in _chunks(list(main_ids)):
                dropped += db.execute(f"DELETE FROM requests WHERE is_sidechain = 1 AND message_id IN ({_marks(chunk)})",
                                      chunk).rowcount
        rows = []
        for rec in keep:
            cost, priced = self._price(rec)
            rows.append((rec.dedup_key, rec.message_id, rec.request_id, rec.source, rec.session_id, rec.project,
                         rec.agent_id, int(rec.is_sidechain), rec.model, rec.ts_ms, rec.input_tokens,
                         rec.output_tokens, rec.cache_write_5m, rec.cache_write_1h, rec.cache_read,
                         rec.total_tokens, rec.speed, cost, priced, rec.reported_cost))
            if result.newest_ts is None or rec.ts_ms > result.newest_ts:
                result.newest_ts = rec.ts_ms
        # New rows take rowids above the current maximum, so the max tells how many were added (O(log n)).
        max_before = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0] if rows else 0
        # rowcount sums each upsert's own changes (inserted or updated rows); total_changes would also count the
        # slot_usage triggers' writes.
        changed = db.executemany(_UPSERT_SQL, rows).rowcount
        if rows:
            added = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0] - max_before
            if added:
                db.execute(ADD_NEW_SLOT_USAGE_SQL, (max_before,))
            result.new_requests = max(added - dropped, 0)
            result.updated_requests = max(changed - added, 0)
        if tools:
            db.executemany("INSERT OR IGNORE INTO tool_calls(tool_use_id, message_id, name) VALUES (?, ?, ?)",
                           [(k, m, n) for k, (m, n) in tools.items()])
        result.sessions = frozenset(r.session_id for r in keep)
        return self._write_sessions(sessions, result)

    def _write_sessions(self, sessions: Iterable[SessionInfo], result: WriteResult) -> WriteResult:
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
                     title_rank = MAX(sessions.title_rank, CASE WHEN excluded.title IS NULL THEN 0 ELSE excluded.title_rank END),
                     git_branch = CASE WHEN excluded.last_ts >= COALESCE(sessions.last_ts, 0)
                                       THEN COALESCE(excluded.git_branch, sessions.git_branch) ELSE sessions.git_branch END,
                     first_ts = MIN(COALESCE(sessions.first_ts, excluded.first_ts), COALESCE(excluded.first_ts, sessions.first_ts)),
                     last_ts = MAX(COALESCE(sessions.last_ts, excluded.last_ts), COALESCE(excluded.last_ts, sessions.last_ts))""",
                rows)
            result.sessions = result.sessions | {r[0] for r in rows}
        return result

    def _existing(self, sql: str, keys: set[str]) -> set[str]:
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

    def file_state(self, path: str) -> FileState | None:
        r = self.db.execute("SELECT id, path, source, session_id, agent_id, device, inode, size, offset, mtime_ns, "
                            "state, lines, gone FROM files WHERE path = ?", (path,)).fetchone()
        return FileState(*r[:12], gone=bool(r[12])) if r else None

    def save_file_state(self, fs: FileState, skipped: Counter | None = None) -> int:
        """Record how far a file has been read; call in the same transaction as the rows it produced."""
        if fs.id is None:
            cur = self.db.execute(
                "INSERT INTO files(path, source, session_id, agent_id, device, inode, size, offset, mtime_ns, state, lines, gone) "
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
        return fs.id

    def forget_skips(self, file_id: int) -> None:
        """A file that is re-read from the start (truncated or replaced) counts its bad lines afresh."""
        self.db.execute("DELETE FROM skipped WHERE file_id = ?", (file_id,))

    # -- retention ----------------------------------------------------------------------------------

    def prune(self, retention_days: int, now_ms: int | None = None) -> int:
        """Fold per-request rows older than `retention_days` into 15-minute rollups; returns rows folded."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        cutoff = now_ms - retention_days * 86_400_000
        cutoff -= cutoff % SLOT_MS  # whole slots only, so a slot is never half rolled up
        threshold_sql = "0"
        if self.prices is not None:
            self.db.create_function("tt_long_context", 5, lambda m, i, w5, w1, r: int(
                is_long_context(self.prices, m, i + w5 + w1 + r)), deterministic=True)
            threshold_sql = "tt_long_context(model, input_tokens, cache_write_5m, cache_write_1h, cache_read)"
        with self.transaction():
            n = self.db.execute("SELECT COUNT(*) FROM requests WHERE ts < ?", (cutoff,)).fetchone()[0]
            if not n:
                return 0
            self.db.execute(f"""
                INSERT INTO rollups(slot, source, session_id, project, model, speed, long_context, input_tokens,
                                    output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced)
                SELECT ts - ts % {SLOT_MS}, source, session_id, COALESCE(project, ''), model, COALESCE(speed, ''),
                       {threshold_sql}, SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h),
                       SUM(cache_read), COUNT(*), SUM(cost_usd), MIN(priced)
                  FROM requests WHERE ts < ?
                 GROUP BY 1, 2, 3, 4, 5, 6, 7
                {fold_on_conflict("rollups", (*SUMMED, "requests"), "priced = MIN(rollups.priced, excluded.priced)")}
                """, (cutoff,))
            for name_sql, tools_sql in (("t.name", "SELECT message_id, name, COUNT(*) AS calls FROM tool_calls "
                                                   "GROUP BY message_id, name"),
                                        ("''", "SELECT message_id, COUNT(*) AS calls FROM tool_calls "
                                               "GROUP BY message_id")):
                self.db.execute(f"""
                    INSERT INTO tool_rollups(slot, source, model, speed, long_context, name, calls, requests,
                                             input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read,
                                             cost_usd, priced)
                    SELECT ts - ts % {SLOT_MS}, source, model, COALESCE(speed, ''), {threshold_sql}, {name_sql},
                           SUM(t.calls), COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m),
                           SUM(cache_write_1h), SUM(cache_read), SUM(cost_usd), MIN(priced)
                      FROM ({tools_sql}) t JOIN requests r ON r.message_id = t.message_id
                     WHERE r.ts < ?
                     GROUP BY 1, 2, 3, 4, 5, 6
                    {fold_on_conflict("tool_rollups", ("calls", "requests", *SUMMED),
                                      "priced = MIN(tool_rollups.priced, excluded.priced)")}
                    """, (cutoff,))
            self.db.execute("INSERT OR IGNORE INTO pruned(dedup_key, message_id, is_sidechain) "
                            "SELECT dedup_key, message_id, is_sidechain FROM requests WHERE ts < ?", (cutoff,))
            self.db.execute("DELETE FROM requests WHERE ts < ?", (cutoff,))
        return n

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
        return dict(self.db.execute("SELECT reason, SUM(count) FROM skipped GROUP BY reason ORDER BY 2 DESC"))


def explain(path: Path | str, exc: sqlite3.Error) -> StoreError:
    """A SQLite failure as one sentence a person can act on: which file, what happened, what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreLocked(
            f"{path}: the database is locked by another process (waited {BUSY_TIMEOUT_MS // 1000}s). "
            "Another tokentop may be rebuilding it, or a backup tool holds it; try again in a moment.")
    if "full" in text:
        return StoreError(
            f"{path}: the disk is full, so nothing more could be stored; what was stored before is intact. "
            "Free some space and run `tokentop ingest` to catch up.")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreError(
            f"{path}: cannot write the database ({text}). tokentop needs write access to the file and to its "
            f"folder {Path(path).parent} (SQLite keeps -wal and -shm files beside it).")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StoreDamaged(
            f"{path}: the database file is damaged ({text}). "
            "Run `tokentop doctor --rebuild` to move it aside and rebuild from the logs on disk.")
    return StoreError(f"{path}: {text}")


def is_long_context(prices, model: str, total_input: int) -> bool:
    price = prices.lookup(model)
    return bool(price and price.long_context and total_input > price.long_context_threshold)


def rollup_cost(prices, model, speed, long_context, i, o, w5, w1, r) -> float:
    """Price summed tokens of many requests that were all above (or all below) the long-context threshold."""
    price = prices.lookup(model)
    if price is None:
        return 0.0
    rates = price.long_context if long_context and price.long_context else price.rates
    cost = (i * rates.input + o * rates.output + w5 * rates.cache_write_5m + w1 * rates.cache_write_1h
            + r * rates.cache_read) / 1_000_000
    if speed == "fast":
        cost *= price.fast_multiplier
    return cost


def _wins(new: UsageRecord, old: UsageRecord) -> bool:
    """The dedup rule inside one batch, identical to the SQL upsert's condition."""
    if new.total_tokens != old.total_tokens:
        return new.total_tokens > old.total_tokens
    if new.ts_ms != old.ts_ms:
        return new.ts_ms > old.ts_ms
    return new.session_id < old.session_id


def _marks(items) -> str:
    return ", ".join("?" * len(items))


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _statements(script: str):
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; nested use joins the outer transaction."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.outer = False

    def __enter__(self):
        if self.db.in_transaction:
            self.outer = True
            return self
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type, exc, tb):
        if self.outer:
            return False
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()  # a COMMIT that failed (disk full) must not leave the transaction open
                raise
        else:
            self._rollback()
        return False

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk); the original error says more.
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
