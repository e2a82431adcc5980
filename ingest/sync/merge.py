"""Merging the other machines' files from the sync folder into this store: read-only, idempotent, keyed like the
store, and a bad file changes nothing (it is recorded for `doctor` and what was merged from it before stays).

A peer's month file is the whole truth about that machine's month: merging it replaces the rows merged from that
machine for that month (so a response the peer has since rolled up moves from rows to rollups, never counted twice)
while the store's dedup upsert keeps one row per response across machines (a session folder synced to two machines
counts once, attributed alike everywhere: largest total, then latest, then smaller session id, then machine name)."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from ..machine_names import is_safe_name, shown
from ..records import SessionInfo
from ..store.batch import UPSERT_SQL, write_sessions
from ..store.retention import rollup_cost
from ..store.schema import ADD_NEW_SLOT_USAGE_SQL, fold_on_conflict
from ..store.store import WriteResult
from . import format as fmt
from .publish import month_range
from .samples import merge_samples


@dataclass
class Merged:
    machines: set[str] = field(default_factory=set)
    merged: int = 0
    unchanged: int = 0
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        peers = len(self.machines)
        text = (f"merged {self.merged} file{'' if self.merged == 1 else 's'} ({self.rows:,} rows) from {peers} "
                f"other machine{'' if peers == 1 else 's'}; {self.unchanged} unchanged")
        if self.problems:
            text += f"; {len(self.problems)} skipped (see `tokentop doctor`)"
        return text


def merge(store, folder: Path, now_ms: int) -> Merged:
    """Merge every changed peer file under `folder`. Never raises for anything a peer wrote."""
    out = Merged()
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        out.problems.append(f"{folder}: cannot list the sync folder ({exc.strerror or exc})")
        return out
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue  # .stfolder, .dropbox, temp files, stray files: not a machine
        try:
            files = sorted((f for f in os.scandir(entry.path) if f.name.endswith(fmt.SUFFIX)), key=lambda f: f.name)
        except OSError:
            continue
        if not files:
            continue
        if not is_safe_name(entry.name):
            _problem(store, out, f"{shown(entry.name)}/", "", "a machine folder with an unusable name: not read")
            continue
        if entry.name != store.machine:
            out.machines.add(entry.name)
        for f in files:
            _merge_file(store, entry.name, f, now_ms, out)
    return out


def _merge_file(store, machine: str, entry: os.DirEntry, now_ms: int, out: Merged) -> None:
    rel = f"{machine}/{entry.name}"
    period = fmt.period_of(entry.name)
    if period is None and entry.name != fmt.LIMITS_FILE:
        _problem(store, out, rel, machine, "not a file name tokentop writes: not read")
        return
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return  # removed while listing: the next sync sees what replaced it
    if not stat.S_ISREG(st.st_mode):
        _problem(store, out, rel, machine, "not a regular file (a link?): not read")
        return
    known = store.db.execute("SELECT size, mtime_ns, digest FROM sync_files WHERE path = ?", (rel,)).fetchone()
    if known and known[0] == st.st_size and known[1] == st.st_mtime_ns:
        out.unchanged += 1
        return
    if st.st_size > fmt.MAX_FILE_BYTES:
        _problem(store, out, rel, machine, f"larger than {fmt.MAX_FILE_BYTES >> 20} MB: not read", st)
        return
    try:
        with open(entry.path, "rb") as fh:
            data = fh.read(fmt.MAX_FILE_BYTES + 1)
    except OSError as exc:
        _problem(store, out, rel, machine, f"cannot read it ({exc.strerror or exc})", st)
        return
    digest = hashlib.sha256(data).hexdigest()
    if known and known[2] == digest:
        _record(store, rel, machine, st, digest, now_ms, None, None, 0)
        out.unchanged += 1
        return
    own = machine == store.machine
    if own and store.meta(f"sync_written:{entry.name}") == digest:
        _record(store, rel, machine, st, digest, now_ms, None, None, 0)
        out.unchanged += 1
        return
    try:
        peer = fmt.decode(data, now_ms, expect_machine=machine)
        if (peer.kind == fmt.USAGE) != (period is not None) or (period is not None and peer.period != period):
            raise fmt.BadFile("its header does not match its file name")
    except fmt.BadFile as exc:
        _problem(store, out, rel, machine, str(exc), st)
        return
    refused = sum(peer.bad_rows.values())
    with store.transaction():
        if peer.kind == fmt.LIMITS:
            rows = merge_samples(store, peer.samples, now_ms)
        elif own:
            rows = _adopt_month(store, peer, period, now_ms)
        else:
            rows = _replace_month(store, peer, period, now_ms)
        problem = None
        if refused:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(peer.bad_rows.items()))
            problem = f"{refused} row{'' if refused == 1 else 's'} refused ({reasons}); the rest merged"
        _record(store, rel, machine, st, digest, now_ms, problem, rows, refused)
    if problem:
        out.problems.append(f"{rel}: {problem}")
    out.merged += 1
    out.rows += rows


def _replace_month(store, peer: fmt.PeerFile, period: str, now_ms: int) -> int:
    """Drop what was merged from this machine for this month, then insert the file's rows."""
    db, machine = store.db, peer.machine
    lo, hi = month_range(period)
    args = (machine, lo, hi)
    db.execute("DELETE FROM requests WHERE machine = ? AND ts >= ? AND ts < ?", args)
    db.execute("DELETE FROM rollups WHERE machine = ? AND slot >= ? AND slot < ?", args)
    db.execute("DELETE FROM tool_rollups WHERE machine = ? AND slot >= ? AND slot < ?", args)
    return _insert(store, peer, lo, hi, rollups=True, now_ms=now_ms)


def _adopt_month(store, peer: fmt.PeerFile, period: str, now_ms: int) -> int:
    """This machine's own file that this store did not write (the store was rebuilt, or is new on a machine of the
    same name): take its responses through the dedup upsert, and its rollups only where the store has none for the
    month, so nothing the logs still hold is counted twice."""
    lo, hi = month_range(period)
    has_rollups = store.db.execute("SELECT EXISTS (SELECT 1 FROM rollups WHERE machine = ? AND slot >= ? AND "
                                   "slot < ?)", (peer.machine, lo, hi)).fetchone()[0]
    return _insert(store, peer, lo, hi, rollups=not has_rollups, now_ms=now_ms)


def _insert(store, peer: fmt.PeerFile, lo: int, hi: int, rollups: bool, now_ms: int) -> int:
    db, machine, prices = store.db, peer.machine, store.prices
    inside = [r for r in peer.requests if lo <= r[9] < hi]
    keys = [r[0] for r in inside]
    pruned = set()
    if db.execute("SELECT EXISTS (SELECT 1 FROM pruned)").fetchone()[0]:
        # Responses this store has rolled up already (its own history, read from a copied session folder).
        pruned = store.existing("SELECT dedup_key FROM pruned WHERE dedup_key IN ({})", set(keys))
    rows = []
    for (key, message_id, request_id, source, session, project, agent, sidechain, model, ts, i, o, w5, w1, r, speed,
         reported) in inside:
        if key in pruned:
            continue
        cost = prices.cost(model, i, o, w5, w1, r, speed) if prices is not None else None
        priced = 1 if cost is not None else 0
        rows.append((key, message_id, request_id, source, session, project, agent, sidechain, model, ts, i, o, w5,
                     w1, r, i + o + w5 + w1 + r, speed, cost if cost is not None else (reported or 0.0), priced,
                     reported, 0, None, machine))  # (web searches and US-only inference: not in format v1)
    max_before = db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
    db.executemany(UPSERT_SQL, rows)
    if db.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0] > max_before:
        db.execute(ADD_NEW_SLOT_USAGE_SQL, (max_before,))
    db.executemany("INSERT OR IGNORE INTO tool_calls(tool_use_id, message_id, name) VALUES (?, ?, ?)", peer.tools)
    count = len(rows) + len(peer.tools)
    if rollups:
        count += _insert_rollups(store, peer, lo, hi)
    sessions = [SessionInfo(*s[:6], _before(s[6], now_ms), _before(s[7], now_ms)) for s in peer.sessions]
    write_sessions(store, sessions, WriteResult())
    return count + len(sessions)


def _before(ts: int | None, now_ms: int) -> int | None:
    return None if ts is None else min(ts, now_ms)


def _insert_rollups(store, peer: fmt.PeerFile, lo: int, hi: int) -> int:
    db, machine, prices = store.db, peer.machine, store.prices

    def cost(model, speed, long_context, i, o, w5, w1, r, given, priced):
        # Priced here like every other row (same price table on every machine's view); an unknown model keeps
        # the figure its machine had (OpenClaw's own cost, when it wrote one).
        if prices is not None and prices.lookup(model) is not None:
            return rollup_cost(prices, model, speed or None, bool(long_context), i, o, w5, w1, r), 1
        return float(given), 0

    rollup_rows = []
    for slot, source, session, project, model, speed, lc, i, o, w5, w1, r, n, given, priced in peer.rollups:
        if lo <= slot < hi:
            c, p = cost(model, speed, lc, i, o, w5, w1, r, given, priced)
            rollup_rows.append((slot, source, session, project, model, speed, lc, i, o, w5, w1, r, n, c, p, machine))
    db.executemany(
        "INSERT INTO rollups(slot, source, session_id, project, model, speed, long_context, input_tokens, "
        "output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, machine) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        + fold_on_conflict("rollups", ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h",
                                       "cache_read", "cost_usd", "requests")), rollup_rows)
    tool_rows = []
    for slot, source, model, speed, lc, name, calls, n, i, o, w5, w1, r, given, priced in peer.tool_rollups:
        if lo <= slot < hi:
            c, p = cost(model, speed, lc, i, o, w5, w1, r, given, priced)
            tool_rows.append((slot, source, model, speed, lc, name, calls, n, i, o, w5, w1, r, c, p, machine))
    db.executemany(
        "INSERT INTO tool_rollups(slot, source, model, speed, long_context, name, calls, requests, input_tokens, "
        "output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_usd, priced, machine) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        + fold_on_conflict("tool_rollups", ("calls", "requests", "input_tokens", "output_tokens", "cache_write_5m",
                                            "cache_write_1h", "cache_read", "cost_usd")), tool_rows)
    return len(rollup_rows) + len(tool_rows)


def _record(store, rel, machine, st, digest, now_ms, problem, rows, refused) -> None:
    """Remember a file as looked at; `rows` None: unchanged content, keep the counts of its last merge."""
    store.db.execute(
        "INSERT INTO sync_files(path, machine, size, mtime_ns, digest, merged_ms, rows, refused, problem) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(path) DO UPDATE SET machine = excluded.machine, "
        "size = excluded.size, mtime_ns = excluded.mtime_ns, digest = COALESCE(excluded.digest, sync_files.digest), "
        "merged_ms = excluded.merged_ms, rows = CASE WHEN ?10 THEN sync_files.rows ELSE excluded.rows END, "
        "refused = CASE WHEN ?10 THEN sync_files.refused ELSE excluded.refused END, problem = excluded.problem",
        (rel, machine, st.st_size if st else 0, st.st_mtime_ns if st else 0, digest, now_ms, rows or 0, refused,
         problem, rows is None))


def _problem(store, out: Merged, rel: str, machine: str, problem: str, st=None) -> None:
    """A file that could not be used: said once here and kept for `doctor`. Its size and time are recorded (and
    its digest is not), so it is looked at again only when it changes, and what was merged before it stays."""
    known = store.db.execute("SELECT problem FROM sync_files WHERE path = ?", (rel,)).fetchone()
    if known and known[0] == problem:
        return  # said before; doctor keeps saying it
    out.problems.append(f"{rel}: {problem}")
    import time
    _record(store, rel, machine, st, None, int(time.time() * 1000), problem, None, 0)
