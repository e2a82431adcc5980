"""The batch write: records into `requests` under the dedup rule, through staging tables, in key order.

A batch is first gathered in small TEMP staging tables: rows bound from records here, or copied in C from the
staging databases a cold backfill's parse workers built (`StageBuilder`, handed over serialized). The staging
table keeps the winner per key as rows arrive; the sidechain rule and the tombstones are applied to it in SQL;
then the winners move into `requests` with ONE `INSERT … SELECT … ORDER BY dedup_key` upsert: in key order each
index page is visited once per batch instead of once per row. The upsert keeps the rule against rows already
stored (`WINS_SQL`), so the order batches arrive in never changes the answer.

Every step of the per-row write is kept, on both roads: OpenClaw copies of a `cli-harness` session are left out
before the rule (harness.py), every record's claim on its response is staged beside the rows and the contested
ones recorded before the upsert and resolved after it (ownership.py), and rows of a session whose Claude Code
cost-state names tagged ids are priced as those (claude_costs.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ..records import SessionInfo, UsageRecord
from . import claude_costs, harness, ownership
from .dedup import WINS_SQL
from .schema import ADD_NEW_SLOT_USAGE_SQL

if TYPE_CHECKING:
    from ..pricing import PriceTable, Quote
    from .store import Store, WriteResult

INSERT_COLUMNS = (
    "dedup_key", "message_id", "request_id", "source", "session_id", "project", "agent_id", "is_sidechain",
    "model", "ts", "input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
    "total_tokens", "speed", "cost_usd", "priced", "reported_cost", "web_search_requests", "inference_geo", "machine",
    "attr_agent", "attr_skill", "attr_plugin", "attr_mcp_server", "attr_mcp_tool", "api_block", "priced_as",
    "session_rank",
)
_COLS = ", ".join(INSERT_COLUMNS)
_MARKS = ", ".join("?" * len(INSERT_COLUMNS))
_SETS = ", ".join(f"{c} = excluded.{c}" for c in INSERT_COLUMNS if c != "dedup_key")

STAGE = "stage"
"""The schema name a worker's serialized staging database is loaded under (attached by `attach_stage`)."""
_OTHER_COLS = ", ".join(INSERT_COLUMNS[1:])
# The winner per key is kept as rows arrive, by the upsert of `requests` turned on the staging table: largest total,
# then latest, then smaller session id, and on a full tie the first staged, as `Store.write_batch` kept it.
_KEEP_WINNER = f"ON CONFLICT(dedup_key) DO UPDATE SET {_SETS} WHERE {WINS_SQL.replace('requests.', 'stage_keep.')}"
# A session's strongest claim on a response: the first record of the highest rank (`ownership.claims_of`).
_KEEP_CLAIM = ("ON CONFLICT(dedup_key, session_id) DO UPDATE SET rank = excluded.rank, project = excluded.project, "
               "agent_id = excluded.agent_id WHERE excluded.rank > stage_claims.rank")
_TEMP_TABLES = (f"CREATE TEMP TABLE IF NOT EXISTS stage_keep (dedup_key TEXT PRIMARY KEY, {_OTHER_COLS})",
                "CREATE TEMP TABLE IF NOT EXISTS stage_tools (tool_use_id, message_id, name)",
                "CREATE TEMP TABLE IF NOT EXISTS stage_claims (dedup_key, session_id, rank, project, agent_id, "
                "PRIMARY KEY (dedup_key, session_id))")
_STAGE_ROW = f"INSERT INTO temp.stage_keep VALUES ({_MARKS}) {_KEEP_WINNER}"
_STAGE_CLAIM = f"INSERT INTO temp.stage_claims VALUES (?, ?, ?, ?, ?) {_KEEP_CLAIM}"
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
# Keys that may be contested: claimed by two sessions in this batch, or already stored (perhaps under another).
_MAYBE_CONTESTED = """
    SELECT k.dedup_key FROM temp.stage_keep k
     WHERE EXISTS (SELECT 1 FROM requests r WHERE r.dedup_key = k.dedup_key)
        OR (SELECT COUNT(*) FROM temp.stage_claims c WHERE c.dedup_key = k.dedup_key) > 1"""
# (`WHERE true`: SQLite's documented way to keep an INSERT … SELECT from reading ON CONFLICT as a join clause.)
_MOVE = (f"INSERT INTO requests ({_COLS}) SELECT {_COLS} FROM temp.stage_keep WHERE true ORDER BY dedup_key "
         f"ON CONFLICT(dedup_key) DO UPDATE SET {_SETS} WHERE {WINS_SQL}")
_MOVE_TOOLS = ("INSERT OR IGNORE INTO tool_calls(tool_use_id, message_id, name) SELECT tool_use_id, message_id, name "
               "FROM temp.stage_tools ORDER BY tool_use_id")
_WORKER_TABLES = (f"CREATE TABLE rows (file INTEGER NOT NULL, {_COLS})",
                  "CREATE TABLE tools (file INTEGER NOT NULL, source, session_id, tool_use_id, message_id, name)",
                  "CREATE TABLE claims (file INTEGER NOT NULL, source, dedup_key, session_id, rank, project, agent_id)")


def priced(quote: Quote, reported: float | None) -> tuple[float, int]:
    """(cost_usd, priced) for a row. Unpriced rows keep what is known as a floor: the source's own figure
    (OpenClaw writes one) or the standard-speed cost of a fast request whose multiplier is unknown, never more."""
    if quote.priced:
        return quote.usd, 1  # type: ignore[return-value]  # (a priced quote has a figure)
    return max(reported or 0.0, quote.usd or 0.0), 0


def price(rec: UsageRecord, prices: PriceTable | None, priced_as: str | None) -> tuple[float, int]:
    if prices is None:
        return 0.0, 0
    return priced(prices.quote(priced_as or rec.model, rec.input_tokens, rec.output_tokens, rec.cache_write_5m,
                               rec.cache_write_1h, rec.cache_read, rec.speed, rec.inference_geo,
                               rec.web_search_requests), rec.reported_cost)


def row_of(rec: UsageRecord, prices: PriceTable | None, machine: str, priced_as: str | None = None) -> tuple:
    """A record as a requests row (INSERT_COLUMNS), priced (as `priced_as` if the session's cost-state says so)."""
    cost, is_priced = price(rec, prices, priced_as)
    return (rec.dedup_key, rec.message_id, rec.request_id, rec.source, rec.session_id, rec.project, rec.agent_id,
            int(rec.is_sidechain), rec.model, rec.ts_ms, rec.input_tokens, rec.output_tokens, rec.cache_write_5m,
            rec.cache_write_1h, rec.cache_read, rec.total_tokens, rec.speed, cost, is_priced, rec.reported_cost,
            rec.web_search_requests, rec.inference_geo, machine, *rec.attribution, rec.api_block, priced_as,
            rec.session_rank)


class StageBuilder:
    """In a parse worker: the rows of several files, priced, in an in-memory database handed to the writer as
    bytes (`Connection.serialize`), so the writer copies them in C instead of binding them one by one. Beside the
    winners per key, every record's claim (`ownership.claims_of`, losers included) and the file's tool calls."""

    def __init__(self, prices: PriceTable | None, machine: str) -> None:
        self.prices, self.machine = prices, machine
        self.db = sqlite3.connect(":memory:")
        for sql in _WORKER_TABLES:
            self.db.execute(sql)

    def add(self, file: int, records: Sequence[UsageRecord], best: Sequence[UsageRecord]) -> None:
        """`records`: all of one file's records; `best`: the winner per key among them (carrying the tool calls)."""
        prices, machine = self.prices, self.machine
        self.db.executemany(f"INSERT INTO rows VALUES (?, {_MARKS})",
                            [(file, *row_of(rec, prices, machine)) for rec in best])
        self.db.executemany("INSERT INTO tools VALUES (?, ?, ?, ?, ?, ?)",
                            [(file, rec.source, rec.session_id, tid, rec.message_id, name)
                             for rec in best for tid, name in rec.tool_calls])
        sources = {rec.dedup_key: rec.source for rec in records}
        self.db.executemany("INSERT INTO claims VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(file, sources[key], key, session, *claim)
                             for key, by_session in ownership.claims_of(records).items()
                             for session, claim in by_session.items()])

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
    records = harness.drop_copies(store, records)
    prices, machine = store.prices, store.machine
    if records:
        tags = claude_costs.tags_for(db, {r.session_id for r in records})
        db.executemany(_STAGE_ROW, [row_of(rec, prices, machine, claude_costs.priced_as(rec.model,
                                                                                       tags.get(rec.session_id)))
                                    for rec in records])
        db.executemany("INSERT INTO temp.stage_tools VALUES (?, ?, ?)",
                       [(tid, rec.message_id, name) for rec in records for tid, name in rec.tool_calls])
        db.executemany(_STAGE_CLAIM, [(key, session, *claim)
                                      for key, by_session in ownership.claims_of(records).items()
                                      for session, claim in by_session.items()])
    staged = list(staged)
    for data, files in staged:
        db.deserialize(data, name=STAGE)
        wanted = f"file IN ({', '.join(str(int(f)) for f in files)}) AND {harness.NOT_COPY_SQL}"
        db.execute(f"INSERT INTO temp.stage_keep SELECT {_COLS} FROM {STAGE}.rows WHERE {wanted} ORDER BY rowid "
                   + _KEEP_WINNER)
        db.execute(f"INSERT INTO temp.stage_tools SELECT tool_use_id, message_id, name FROM {STAGE}.tools "
                   f"WHERE {wanted} ORDER BY rowid")
        db.execute(f"INSERT INTO temp.stage_claims SELECT dedup_key, session_id, rank, project, agent_id "
                   f"FROM {STAGE}.claims WHERE {wanted} ORDER BY rowid " + _KEEP_CLAIM)
    try:
        if staged:
            _price_tagged(store)
        contested = _move(store, result)
    finally:
        for table in ("stage_keep", "stage_tools", "stage_claims"):
            db.execute(f"DELETE FROM temp.{table}")
    return store._finish(sessions, result, contested)


def _price_tagged(store: Store) -> None:
    """Rows a worker priced under their own model id, of sessions whose stored cost-state names tagged ids: priced
    as those, as `Store.write_batch` prices a record (`claude_costs.priced_as`)."""
    db = store.db
    sids = {r[0] for r in db.execute("SELECT DISTINCT session_id FROM temp.stage_keep WHERE session_id IN "
                                     "(SELECT session_id FROM claude_cost_models)")}
    tags = claude_costs.tags_for(db, sids)
    if not tags:
        return
    updates = []
    for key, sid, model, speed, geo, web, i, o, w5, w1, r, reported in db.execute(
            "SELECT dedup_key, session_id, model, speed, inference_geo, web_search_requests, input_tokens, "
            "output_tokens, cache_write_5m, cache_write_1h, cache_read, reported_cost FROM temp.stage_keep "
            f"WHERE session_id IN ({', '.join('?' * len(tags))})", list(tags)).fetchall():
        priced_as = claude_costs.priced_as(model, tags.get(sid))
        if priced_as is None:
            continue
        cost, is_priced = store.price_row(priced_as, speed, geo, web, i, o, w5, w1, r, reported) \
            if store.prices is not None else (0.0, 0)
        updates.append((priced_as, cost, is_priced, key))
    db.executemany("UPDATE temp.stage_keep SET priced_as = ?, cost_usd = ?, priced = ? WHERE dedup_key = ?", updates)


def _move(store: Store, result: WriteResult) -> set[str]:
    """The staged winners into `requests`; returns the contested keys (their claims recorded before the upsert)."""
    db = store.db
    # `pruned` stays empty until retention first rolls history up (always, on a cold backfill): skip it then.
    pruned = db.execute("SELECT EXISTS (SELECT 1 FROM pruned)").fetchone()[0]
    db.execute(_DROP_REPLAYS, {"pruned": pruned})
    dropped = db.execute(_DROP_STORED_REPLAYS).rowcount
    if pruned:  # a rolled-up response's key stays in `pruned`: a resumed session's copy cannot add it twice
        db.execute(_DROP_FOLDED)
    contested: set[str] = set()
    kept, newest = db.execute("SELECT COUNT(*), MAX(ts) FROM temp.stage_keep").fetchone()
    if kept:
        maybe = [r[0] for r in db.execute(_MAYBE_CONTESTED)]
        if maybe:
            claims: dict[str, dict[str, ownership.Claim]] = {}
            for i in range(0, len(maybe), 500):
                chunk = maybe[i:i + 500]
                for key, session, rank, project, agent in db.execute(
                        "SELECT dedup_key, session_id, rank, project, agent_id FROM temp.stage_claims "
                        f"WHERE dedup_key IN ({', '.join('?' * len(chunk))})", chunk):
                    claims.setdefault(key, {})[session] = (rank, project, agent)
            contested = ownership.record_contested(store, claims, maybe)
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
    return contested
