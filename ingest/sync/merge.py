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
from . import format as fmt
from .rows import adopt_month, replace_month
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
    same_prices = store.prices.fingerprint() if store.prices is not None else None
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
        # One transaction per machine, not per file: a cold merge of a year commits a dozen times, not 150 (a bad
        # file is refused before it writes anything, so it still changes nothing).
        with store.transaction():
            for f in files:
                _merge_file(store, entry.name, f, now_ms, out, same_prices)
    return out


def _merge_file(store, machine: str, entry: os.DirEntry, now_ms: int, out: Merged, fingerprint: str | None) -> None:
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
    # Costs priced with this store's own price table are taken as written (they hold every surcharge); any other
    # file is priced here, so every machine's view prices alike.
    priced_alike = fingerprint is not None and peer.prices == fingerprint
    with store.transaction():
        if peer.kind == fmt.LIMITS:
            rows = merge_samples(store, peer.samples, now_ms)
        elif own:
            rows = adopt_month(store, peer, period, now_ms, priced_alike)
        else:
            rows = replace_month(store, peer, period, now_ms, priced_alike, merged_before=known is not None)
        problem = None
        if refused:
            reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(peer.bad_rows.items()))
            problem = f"{refused} row{'' if refused == 1 else 's'} refused ({reasons}); the rest merged"
        _record(store, rel, machine, st, digest, now_ms, problem, rows, refused)
    if problem:
        out.problems.append(f"{rel}: {problem}")
    out.merged += 1
    out.rows += rows


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
