"""The schema: applying the frozen migrations (migrations.py) across processes, the version they lead to, and the
shared row shapes.

Never edit a shipped migration (tests/core/test_schema.py hashes each one): append a new one. Helpers such as
`fold_on_conflict` build only queries that run at write time, never migration text."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import BUSY_TIMEOUT_MS, StoreError
from .migrations import MIGRATIONS  # the frozen texts live apart from the code that applies them

SLOT_MS = 15 * 60 * 1000
"""Rollups are kept per 15-minute UTC slot: every real time zone offset is a multiple of 15 minutes,
so local-day reports over rolled-up history still add up in any zone."""

SUMMED = ("input_tokens", "output_tokens", "cache_write_5m", "cache_write_1h", "cache_read", "cost_usd")
"""The columns every summary table (slot_usage, rollups, tool_rollups) adds up."""

SLOT_COUNTS = (*SUMMED, "requests", "unpriced")
"""The columns of slot_usage that are sums."""


def fold_on_conflict(table: str, counts: tuple[str, ...], extra: str = "") -> str:
    """`ON CONFLICT DO UPDATE SET c = table.c + excluded.c, …`: fold a new row of sums into the existing one."""
    sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in counts)
    return f"ON CONFLICT DO UPDATE SET {sets}{', ' + extra if extra else ''}"


SCHEMA_VERSION = len(MIGRATIONS)

# Every usage row, kept or rolled up, in one shape: what all reports read. ({machine} is empty or `, machine`: the
# column exists only from migration 6 on, and a read-only look at an older store must still work.)
_USAGE_TEMPLATE = """
    SELECT ts - ts % {slot} AS slot, source, session_id, COALESCE(project, '') AS project, model,
           input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, 1 AS requests, cost_usd, priced, ts
           {machine}
      FROM requests
    UNION ALL
    SELECT slot, source, session_id, project, model,
           input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, slot
           {machine}
      FROM rollups
"""
USAGE_SQL = _USAGE_TEMPLATE.format(slot=SLOT_MS, machine="")
MACHINE_USAGE_SQL = _USAGE_TEMPLATE.format(slot=SLOT_MS, machine=", machine")
"""USAGE_SQL plus each row's machine name."""


def usage_sql_of(machine: str) -> str:
    """MACHINE_USAGE_SQL for a store from before migration 6 (looked at read-only): every row is this machine's."""
    return _USAGE_TEMPLATE.format(slot=SLOT_MS, machine=", '" + machine.replace("'", "''") + "' AS machine")

def has_slot_usage(db) -> bool:
    """Whether the store keeps slot_usage (migration 2 on): a store from before it, looked at read-only while an
    older tokentop is the writer, was never migrated, and its readers sum the rows instead."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'slot_usage'").fetchone() is not None


# Adds requests rows with id > ? (those one batch just inserted) to slot_usage. Every INSERT INTO requests must be
# followed by it: there is no insert trigger (see migration 2).
ADD_NEW_SLOT_USAGE_SQL = f"""
    INSERT INTO slot_usage
    SELECT ts - ts % {SLOT_MS}, source, model, SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m),
           SUM(cache_write_1h), SUM(cache_read), SUM(cost_usd), COUNT(*), SUM(priced = 0)
      FROM requests WHERE id > ? GROUP BY 1, 2, 3
    {fold_on_conflict("slot_usage", SLOT_COUNTS)}
"""


def statements(script: str) -> Iterator[str]:
    """The statements of a migration script, one at a time, without its `--` comment lines."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""


def enable_wal(db: sqlite3.Connection) -> None:
    """Switch a new file to WAL (a no-op once it is). The switch takes an exclusive lock, and SQLite reports a busy
    file at once, without its busy handler, when another process is opening the same new store: wait here instead,
    up to the usual busy timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION, safely when several processes open one new store at the same moment.

    The version is read again inside BEGIN IMMEDIATE, which one process at a time holds: a process that waited
    there while another migrated finds the work done and runs nothing (reading it outside, two processes both saw
    version 0 and the second died on "table meta already exists"). All pending migrations commit together, so no
    process ever sees a half-migrated store."""
    if _version(db, path) == SCHEMA_VERSION:
        return  # the common case: no write lock taken
    db.execute("BEGIN IMMEDIATE")
    try:
        version = _version(db, path)
        while version < SCHEMA_VERSION:
            for statement in statements(MIGRATIONS[version]):
                db.execute(statement)
            version += 1
            db.execute(f"PRAGMA user_version = {version}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def _version(db: sqlite3.Connection, path: Path) -> int:
    version: int = db.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path}: schema version {version} is newer than this tokentop understands "
                         f"({SCHEMA_VERSION}); upgrade tokentop or point --db elsewhere.")
    return version
