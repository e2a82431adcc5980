"""Writing one peer month file into the store: its responses through the dedup upsert, its rollups, tool calls and
sessions. merge.py decides which files; this module decides which rows.

A peer's month file is the whole truth about that machine's month, so merging it replaces what was merged from that
machine for that month. Done literally (delete the month, insert the file) a changed current month rewrote tens of
thousands of rows every few minutes; instead the file is compared with what the store holds from it: rows gone from
the file are deleted, new or changed ones (a changed one deleted first, so a smaller re-count still replaces it)
go through the upsert, and unchanged ones are left alone. The result is the same rows, written once."""

from __future__ import annotations

from collections import Counter
from operator import itemgetter

from ..records import SessionInfo
from ..store.dedup import WINS_SQL
from ..store.retention import rollup_cost
from ..store.schema import ADD_NEW_SLOT_USAGE_SQL, fold_on_conflict
from ..store.store import WriteResult, _priced
from . import format as fmt
from .publish import month_range

_FILE_COLUMNS = ("dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain, model, "
                 "ts, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, speed, reported_cost, "
                 "web_search_requests, inference_geo, cost_usd, priced")
"""A request row's values in the file's order (format.py), as read back from the store to compare."""
_COLUMNS = (
    "dedup_key", "message_id", "request_id", "source", "session_id", "project", "agent_id", "is_sidechain",
    "model", "ts", "input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read",
    "total_tokens", "speed", "cost_usd", "priced", "reported_cost", "web_search_requests", "inference_geo", "machine",
)
"""The request columns a peer file fills (named here, not taken from store.py: a column the store gains that the
format does not carry stays as the store has it)."""
_VALUES = ("?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?11 + ?12 + ?13 + ?14 + ?15, ?16, "
           "?20, ?21, ?17, ?18, ?19, {machine}")
"""A file row (21 values) in the order of `_COLUMNS`: total_tokens is summed here, the machine is a literal (one
name per file), so each row binds only what the file holds."""
_UPSERT_SQL = (f"INSERT INTO requests ({', '.join(_COLUMNS)}) VALUES ({_VALUES}) ON CONFLICT(dedup_key) DO "
               "UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in _COLUMNS if c != "dedup_key")
               + " WHERE " + WINS_SQL)
"""store.py's dedup upsert, for file rows."""
_INSERT_NEW_SQL = f"INSERT INTO requests ({', '.join(_COLUMNS)}) VALUES ({_VALUES}) ON CONFLICT(dedup_key) DO NOTHING"
"""The same rows where their key is new (the upsert's DO UPDATE, even unused, made it twice as slow)."""
_ROLLUP_COLUMNS = ("slot, source, session_id, project, model, speed, long_context, input_tokens, output_tokens, "
                   "cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, web_search_requests, "
                   "inference_geo")
_TOOL_COLUMNS = ("slot, source, model, speed, long_context, name, calls, requests, input_tokens, output_tokens, "
                 "cache_write_5m, cache_write_1h, cache_read, cost_usd, priced, web_search_requests, inference_geo")
"""Both in the file's order (format.py); inference_geo is part of both tables' keys."""
_SUMS = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read", "cost_usd", "requests",
         "web_search_requests")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def replace_month(store, peer: fmt.PeerFile, period: str, now_ms: int, priced_alike: bool,
                  merged_before: bool) -> int:
    """Make the store hold exactly the file's rows of this machine and month. (A file never looked at before has
    nothing merged from it to compare with: a peer's rows of a month come only from its file of that month.)"""
    lo, hi = month_range(period)
    requests = _requests(store, peer, lo, hi, priced_alike)
    written = requests
    if merged_before:
        written = _changed(store, peer.machine, lo, hi, requests)
    _upsert(store, peer.machine, written)
    count = len(requests) + _rollups(store, peer, lo, hi, priced_alike, compare=merged_before)
    return count + _tools_and_sessions(store, peer, now_ms)


def adopt_month(store, peer: fmt.PeerFile, period: str, now_ms: int, priced_alike: bool) -> int:
    """This machine's own file that this store did not write (the store was rebuilt, or is new on a machine of the
    same name): take its responses through the dedup upsert, and its rollups only where the store has none for the
    month, so nothing the logs still hold is counted twice."""
    lo, hi = month_range(period)
    has_rollups = store.db.execute("SELECT EXISTS (SELECT 1 FROM rollups WHERE machine = ? AND slot >= ? AND "
                                   "slot < ?)", (peer.machine, lo, hi)).fetchone()[0]
    requests = _requests(store, peer, lo, hi, priced_alike)
    _upsert(store, peer.machine, requests)
    count = len(requests)
    if not has_rollups:
        count += _rollups(store, peer, lo, hi, priced_alike, compare=False)
    return count + _tools_and_sessions(store, peer, now_ms)


def _requests(store, peer: fmt.PeerFile, lo: int, hi: int, priced_alike: bool) -> list:
    """The file's responses of its month, priced, without those this store has rolled up already."""
    rows = peer.requests
    if rows and not (lo <= min(map(itemgetter(9), rows)) and max(map(itemgetter(9), rows)) < hi):
        rows = [r for r in rows if lo <= r[9] < hi]
    if not priced_alike or any(r[19] is None or r[20] is None for r in rows):
        prices = store.prices
        rows = [(*r[:19], *_request_cost(prices, r)) for r in rows]
    if rows and store.db.execute("SELECT EXISTS (SELECT 1 FROM pruned)").fetchone()[0]:
        # Responses this store has rolled up already (its own history, read from a copied session folder).
        pruned = store.existing("SELECT dedup_key FROM pruned WHERE dedup_key IN ({})", {r[0] for r in rows})
        if pruned:
            rows = [r for r in rows if r[0] not in pruned]
    return rows


def _request_cost(prices, r) -> tuple[float, int]:
    """(cost_usd, priced) of one peer response, priced here as store.py prices a logged one."""
    if prices is None:
        return float(r[16] or 0.0), 0
    return _priced(prices.quote(r[8], r[10], r[11], r[12], r[13], r[14], r[15], r[18], r[17]), r[16])


def _changed(store, machine: str, lo: int, hi: int, rows: list) -> list:
    """Delete what the store holds from this machine and month that the file no longer holds as it is; returns
    the file rows to write (new, or changed)."""
    db = store.db
    held = {r[0]: r for r in db.execute(f"SELECT {_FILE_COLUMNS} FROM requests WHERE machine = ? AND ts >= ? "
                                        "AND ts < ?", (machine, lo, hi))}
    if not held:
        return rows
    write, gone = [], set(held)
    for r in rows:
        key = r[0]
        old = held.get(key)
        if old is None:
            write.append(r)
        elif old == tuple(r):
            gone.discard(key)
        else:
            write.append(r)  # changed: deleted below, then written anew
    for keys in _chunks(sorted(gone)):
        db.execute(f"DELETE FROM requests WHERE machine = ? AND dedup_key IN ({', '.join('?' * len(keys))})",
                   (machine, *keys))
    return write


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _upsert(store, machine: str, rows: list) -> None:
    """The dedup upsert of `rows`, in two passes that end as the one would: first every row whose key is new
    (most rows of a merge meet no copy: a cold merge's requests went in in half the time), then, in file order,
    the rows that met one (or repeat a key the file already had). The ids, the rows and slot_usage come out the
    same: inserts do not touch slot_usage until the end, and each key meets its rows in the same order."""
    if not rows:
        return
    db = store.db
    max_before = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
    machine = _literal(machine)
    inserted = db.executemany(_INSERT_NEW_SQL.format(machine=machine), rows).rowcount
    if inserted != len(rows):
        new = {r[0] for r in db.execute("SELECT dedup_key FROM requests WHERE id > ?", (max_before,))}
        rest = []
        for r in rows:
            if r[0] in new:
                new.discard(r[0])  # its first row, inserted above; a later one under the same key is not
            else:
                rest.append(r)
        db.executemany(_UPSERT_SQL.format(machine=machine), rest)
    if inserted or db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0] > max_before:
        db.execute(ADD_NEW_SLOT_USAGE_SQL, (max_before,))  # (no insert trigger: see migration 2)


def _tools_and_sessions(store, peer: fmt.PeerFile, now_ms: int) -> int:
    store.db.executemany("INSERT OR IGNORE INTO tool_calls(tool_use_id, message_id, name) VALUES (?, ?, ?)",
                         peer.tools)
    sessions = [SessionInfo(*s[:6], _before(s[6], now_ms), _before(s[7], now_ms)) for s in peer.sessions]
    store._write_sessions(sessions, WriteResult())
    return len(peer.tools) + len(sessions)


def _before(ts: int | None, now_ms: int) -> int | None:
    return None if ts is None else min(ts, now_ms)


def _rollups(store, peer: fmt.PeerFile, lo: int, hi: int, priced_alike: bool, compare: bool) -> int:
    """The file's rollups and per-tool rollups of its month; `compare`: a table whose rows from this machine and
    month already equal the file's is left alone, else they are replaced."""
    prices = store.prices

    def priced(rows: list, model_at: int, speed_at: int, lc_at: int, sums_at: int) -> list:
        # Priced here like every other row (same price table on every machine's view, with the US-only surcharge
        # of the rows that carry it; a v2 file's rows carry none); an unknown model keeps the figure its machine
        # had (OpenClaw's own cost, when it wrote one).
        if priced_alike:
            return rows
        out = []
        for r in rows:
            model = r[model_at]
            if prices is not None and prices.lookup(model) is not None:
                i, o, w5, w1, cr = r[sums_at:sums_at + 5]
                cost = rollup_cost(prices, model, r[speed_at] or None, bool(r[lc_at]), i, o, w5, w1, cr, r[15],
                                   r[16])
                out.append((*r[:13], cost, 1, r[15], r[16]))
            else:
                out.append((*r[:13], float(r[13]), 0, r[15], r[16]))
        return out

    count = 0
    for table, columns, rows, at in (
            ("rollups", _ROLLUP_COLUMNS, peer.rollups, (4, 5, 6, 7)),
            ("tool_rollups", _TOOL_COLUMNS, peer.tool_rollups, (2, 3, 4, 8))):
        rows = priced([r for r in rows if lo <= r[0] < hi], *at)
        count += len(rows)
        args = (peer.machine, lo, hi)
        if compare:
            held = Counter(store.db.execute(f"SELECT {columns} FROM {table} WHERE machine = ? AND slot >= ? AND "
                                            "slot < ?", args))
            if held == Counter(map(tuple, rows)):
                continue
            if held:
                store.db.execute(f"DELETE FROM {table} WHERE machine = ? AND slot >= ? AND slot < ?", args)
        names = columns.split(", ")
        sums = tuple(c for c in names if c in _SUMS or c == "calls")
        store.db.executemany(
            f"INSERT INTO {table}({columns}, machine) VALUES ({', '.join('?' * len(names))}, "
            f"{_literal(peer.machine)}) {fold_on_conflict(table, sums)}", rows)
    return count

