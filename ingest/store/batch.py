"""The batch write: records into `requests` under the dedup rule, through staging tables, in key order.

A batch is first gathered in small TEMP staging tables: rows bound from records here, or copied in C from the
staging databases a cold backfill's parse workers built (`StageBuilder`, handed over serialized). The staging
table keeps the winner per key as rows arrive; the sidechain rule and the tombstones are applied to it in SQL;
then the winners move into `requests` with ONE `INSERT … SELECT … ORDER BY dedup_key` upsert: in key order each
index page is visited once per batch instead of once per row. The upsert keeps the rule against rows already
stored (`WINS_SQL`), so the order batches arrive in never changes the answer."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..records import SessionInfo, UsageRecord
from .dedup import WINS_SQL
from .schema import ADD_NEW_SLOT_USAGE_SQL

if TYPE_CHECKING:
    from ..pricing import PriceTable, Quote
    from .store import Store, WriteResult

INSERT_COLUMNS = (
    "dedup_key", "message_id", "request_id", "source", "session_id", "project", "agent_id", "is_sidechain",
    "model", "ts", "input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
    "total_tokens", "speed", "cost_usd", "priced", "reported_cost", "web_search_requests", "inference_geo", "machine",
)
_COLS = ", ".join(INSERT_COLUMNS)
_MARKS = ", ".join("?" * len(INSERT_COLUMNS))
_SETS = ", ".join(f"{c} = excluded.{c}" for c in INSERT_COLUMNS if c != "dedup_key")
UPSERT_SQL = f"INSERT INTO requests ({_COLS}) VALUES ({_MARKS}) ON CONFLICT(dedup_key) DO UPDATE SET {_SETS} WHERE " \
    + WINS_SQL
"""The dedup upsert of one row: a stored row is replaced only by one that wins under the rule in dedup.py."""

STAGE = "stage"
"""The schema name a worker's serialized staging database is loaded under (attached by `attach_stage`)."""
_OTHER_COLS = ", ".join(INSERT_COLUMNS[1:])
# The winner per key is kept as rows arrive, by the upsert of `requests` turned on the staging table: largest total,
# then latest, then smaller session id, and on a full tie the first staged, as `dedup.best_per_key` keeps it.
_KEEP_WINNER = f"ON CONFLICT(dedup_key) DO UPDATE SET {_SETS} WHERE {WINS_SQL.replace('requests.', 'stage_keep.')}"
_TEMP_TABLES = (f"CREATE TEMP TABLE IF NOT EXISTS stage_keep (dedup_key TEXT PRIMARY KEY, {_OTHER_COLS})",
                "CREATE TEMP TABLE IF NOT EXISTS stage_tools (tool_use_id, message_id, name)")
_STAGE_ROW = f"INSERT INTO temp.stage_keep VALUES ({_MARKS}) {_KEEP_WINNER}"
# Sidechain replays of a main-thread response are dropped, whichever of the two is read first (a main-thread row
# in this batch, in the store, or already rolled up).
_DROP_REPLAYS = """
    DELETE FROM temp.stage_keep WHERE is_sidechain = 1 AND (
        message_id IN (SELECT message_id FROM temp.stage_keep WHERE is_sidechain = 0)
        OR EXISTS (SELECT 1 FROM requests r WHERE r.message_id = stage_keep.message_id AND r.is_sidechain = 0)
        OR (:pruned AND EXISTS (SELECT 1 FROM pruned p WHERE p.message_id = stage_keep.message_id
                                                        AND p.is_sidechain = 0)))"""
_DROP_STORED_REPLAYS = """
    DELETE FROM requests WHERE id IN (
        SELECT r.id FROM temp.stage_keep k JOIN requests r ON r.message_id = k.message_id
         WHERE k.is_sidechain = 0 AND r.is_sidechain = 1)"""
_DROP_FOLDED = "DELETE FROM temp.stage_keep WHERE dedup_key IN (SELECT dedup_key FROM pruned)"
# (`WHERE true`: SQLite's documented way to keep an INSERT … SELECT from reading ON CONFLICT as a join clause.)
_MOVE = (f"INSERT INTO requests ({_COLS}) SELECT {_COLS} FROM temp.stage_keep WHERE true ORDER BY dedup_key "
         f"ON CONFLICT(dedup_key) DO UPDATE SET {_SETS} WHERE {WINS_SQL}")
_MOVE_TOOLS = ("INSERT OR IGNORE INTO tool_calls(tool_use_id, message_id, name) SELECT tool_use_id, message_id, name "
               "FROM temp.stage_tools ORDER BY tool_use_id")
_WORKER_TABLES = (f"CREATE TABLE rows (file INTEGER NOT NULL, {_COLS})",
                  "CREATE TABLE tools (file INTEGER NOT NULL, tool_use_id, message_id, name)")


def priced(quote: Quote, reported: float | None) -> tuple[float, int]:
    """(cost_usd, priced) for a row. Unpriced rows keep what is known as a floor: the source's own figure
    (OpenClaw writes one) or the standard-speed cost of a fast request whose multiplier is unknown, never more."""
    if quote.priced and quote.usd is not None:
        return quote.usd, 1
    return max(reported or 0.0, quote.usd or 0.0), 0


def row_of(rec: UsageRecord, prices: PriceTable | None, machine: str) -> tuple:
    """A record as a requests row (INSERT_COLUMNS), priced."""
    if prices is None:
        cost, is_priced = 0.0, 0
    else:
        cost, is_priced = priced(prices.quote(rec.model, rec.input_tokens, rec.output_tokens, rec.cache_write_5m,
                                              rec.cache_write_1h, rec.cache_read, rec.speed, rec.inference_geo,
                                              rec.web_search_requests), rec.reported_cost)
    return (rec.dedup_key, rec.message_id, rec.request_id, rec.source, rec.session_id, rec.project, rec.agent_id,
            int(rec.is_sidechain), rec.model, rec.ts_ms, rec.input_tokens, rec.output_tokens, rec.cache_write_5m,
            rec.cache_write_1h, rec.cache_read, rec.total_tokens, rec.speed, cost, is_priced, rec.reported_cost,
            rec.web_search_requests, rec.inference_geo, machine)


class StageBuilder:
    """In a parse worker: the rows of several files, priced, in an in-memory database handed to the writer as
    bytes (`Connection.serialize`), so the writer copies them in C instead of binding them one by one."""

    def __init__(self, prices: PriceTable | None, machine: str) -> None:
        self.prices, self.machine = prices, machine
        self.db = sqlite3.connect(":memory:")
        for sql in _WORKER_TABLES:
            self.db.execute(sql)

    def add(self, file: int, records: Sequence[UsageRecord]) -> None:
        prices, machine = self.prices, self.machine
        self.db.executemany(f"INSERT INTO rows VALUES (?, {_MARKS})",
                            [(file, *row_of(rec, prices, machine)) for rec in records])
        self.db.executemany("INSERT INTO tools VALUES (?, ?, ?, ?)",
                            [(file, tid, rec.message_id, name) for rec in records for tid, name in rec.tool_calls])

    def done(self) -> bytes:
        data = self.db.serialize()
        self.db.close()
        return data


def attach_stage(db: sqlite3.Connection) -> None:
    """Give the connection the schema workers' staging databases are loaded into (outside any transaction)."""
    if not any(row[1] == STAGE for row in db.execute("PRAGMA database_list")):
        db.execute(f"ATTACH ':memory:' AS {STAGE}")


def write_batch(store: Store, records: Iterable[UsageRecord], sessions: Iterable[SessionInfo], result: WriteResult,
                staged: Iterable[tuple[bytes, Sequence[int]]] = ()) -> WriteResult:
    """Upsert records, and the rows of `staged` (a worker's serialized staging database, and which of its files
    to take), under the dedup rule. Call inside `transaction()` together with the file positions."""
    db = store.db
    for sql in _TEMP_TABLES:
        db.execute(sql)
    rows: list[tuple] = []
    tools: list[tuple[str, str, str]] = []
    prices, machine = store.prices, store.machine
    for rec in records:
        rows.append(row_of(rec, prices, machine))
        tools.extend((tid, rec.message_id, name) for tid, name in rec.tool_calls)
    if rows:
        db.executemany(_STAGE_ROW, rows)
    if tools:
        db.executemany("INSERT INTO temp.stage_tools VALUES (?, ?, ?)", tools)
    for data, files in staged:
        db.deserialize(data, name=STAGE)
        wanted = f"file IN ({', '.join(str(int(f)) for f in files)})"
        db.execute(f"INSERT INTO temp.stage_keep SELECT {_COLS} FROM {STAGE}.rows WHERE {wanted} ORDER BY rowid "
                   + _KEEP_WINNER)
        db.execute(f"INSERT INTO temp.stage_tools SELECT tool_use_id, message_id, name FROM {STAGE}.tools "
                   f"WHERE {wanted}")
    try:
        _move(db, result)
    finally:
        for table in ("stage_keep", "stage_tools"):
            db.execute(f"DELETE FROM temp.{table}")
    return write_sessions(store, sessions, result)


def _move(db: sqlite3.Connection, result: WriteResult) -> None:
    # `pruned` stays empty until retention first rolls history up (always, on a cold backfill): skip it then.
    pruned = db.execute("SELECT EXISTS (SELECT 1 FROM pruned)").fetchone()[0]
    db.execute(_DROP_REPLAYS, {"pruned": pruned})
    dropped = db.execute(_DROP_STORED_REPLAYS).rowcount
    if pruned:  # a rolled-up response's key stays in `pruned`: a resumed session's copy cannot add it twice
        db.execute(_DROP_FOLDED)
    kept, newest = db.execute("SELECT COUNT(*), MAX(ts) FROM temp.stage_keep").fetchone()
    if kept:
        # New rows take rowids above the current maximum, so the max tells how many were added (O(log n)).
        max_before = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
        # rowcount counts the statement's own changes (rows inserted or updated); total_changes would also count
        # the slot_usage triggers' writes.
        changed = db.execute(_MOVE).rowcount
        added = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0] - max_before
        if added:
            db.execute(ADD_NEW_SLOT_USAGE_SQL, (max_before,))
        result.new_requests = max(added - dropped, 0)
        result.updated_requests = max(changed - added, 0)
        result.newest_ts = newest
        result.sessions = frozenset(r[0] for r in db.execute("SELECT DISTINCT session_id FROM temp.stage_keep"))
    db.execute(_MOVE_TOOLS)


def write_sessions(store: Store, sessions: Iterable[SessionInfo], result: WriteResult) -> WriteResult:
    rows = [(s.session_id, s.source, s.project, s.title, s.title_rank, s.git_branch, s.first_ts_ms, s.last_ts_ms)
            for s in sessions]
    if rows:
        store.db.executemany(
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
