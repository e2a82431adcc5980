"""The schema: shipped migrations frozen as literal SQL, the version they lead to, and the shared row shapes.

Never edit a shipped migration (tests/core/test_schema.py hashes each one): append a new one. Helpers such as
`fold_on_conflict` build only queries that run at write time, never migration text."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import BUSY_TIMEOUT_MS, StoreError

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


# Each migration moves the schema from version i to i+1. Long lines are split into adjacent string literals, which
# Python joins: the text is byte for byte what shipped.
MIGRATIONS: tuple[str, ...] = (
    # 0: the base schema: responses, tool calls, sessions, file positions, skipped lines, rollups, tombstones.
    (
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
"""
        '    CREATE TABLE pruned (dedup_key TEXT PRIMARY KEY, message_id TEXT NOT NULL, '
        'is_sidechain INTEGER NOT NULL) WITHOUT ROWID;\n'
        """    CREATE INDEX pruned_message ON pruned(message_id);
    """
    ),
    # 1: official limit samples from the statusline, fired alerts, and what the hook has already told Claude Code.
    (
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
    """
    ),
    # 2: usage summed per 15-minute slot, source and model, so the daily/weekly/monthly reports read a few thousand
    # sums instead of every request (60 -> 7 ms on 45k requests). Triggers keep it current on every update and
    # delete, and on rollups; rows INSERTed into requests are added by `write_batch` in one statement per batch
    # (ADD_NEW_SLOT_USAGE_SQL), because a per-row insert trigger cost a cold backfill 0.3 s per GB.
    # Frozen from the text the old `_slot_triggers` helper built: its whitespace is part of the shipped SQL.
    (
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
"""
        '    \n'
        '    \n'
        '    CREATE TRIGGER requests_usage_delete AFTER DELETE ON requests BEGIN UPDATE slot_usage SET '
        'input_tokens = input_tokens - OLD.input_tokens, output_tokens = output_tokens - OLD.output_tokens, '
        'cache_write_5m = cache_write_5m - OLD.cache_write_5m, '
        'cache_write_1h = cache_write_1h - OLD.cache_write_1h, cache_read = cache_read - OLD.cache_read, '
        'cost_usd = cost_usd - OLD.cost_usd, requests = requests - 1, '
        'unpriced = unpriced - (OLD.priced = 0) WHERE slot = OLD.ts - OLD.ts % 900000 AND source = OLD.source AND '
        'model = OLD.model; END;\n'
        '    CREATE TRIGGER requests_usage_update AFTER UPDATE ON requests BEGIN\n'
        '        UPDATE slot_usage SET input_tokens = input_tokens - OLD.input_tokens, '
        'output_tokens = output_tokens - OLD.output_tokens, cache_write_5m = cache_write_5m - OLD.cache_write_5m, '
        'cache_write_1h = cache_write_1h - OLD.cache_write_1h, cache_read = cache_read - OLD.cache_read, '
        'cost_usd = cost_usd - OLD.cost_usd, requests = requests - 1, '
        'unpriced = unpriced - (OLD.priced = 0) WHERE slot = OLD.ts - OLD.ts % 900000 AND source = OLD.source AND '
        'model = OLD.model;\n'
        '        INSERT INTO slot_usage VALUES (NEW.ts - NEW.ts % 900000, NEW.source, NEW.model, NEW.input_tokens, '
        'NEW.output_tokens, NEW.cache_write_5m, NEW.cache_write_1h, NEW.cache_read, NEW.cost_usd, 1, '
        '(NEW.priced = 0)) ON CONFLICT DO UPDATE SET input_tokens = slot_usage.input_tokens + '
        'excluded.input_tokens, output_tokens = slot_usage.output_tokens + excluded.output_tokens, '
        'cache_write_5m = slot_usage.cache_write_5m + excluded.cache_write_5m, '
        'cache_write_1h = slot_usage.cache_write_1h + excluded.cache_write_1h, '
        'cache_read = slot_usage.cache_read + excluded.cache_read, '
        'cost_usd = slot_usage.cost_usd + excluded.cost_usd, requests = slot_usage.requests + excluded.requests, '
        'unpriced = slot_usage.unpriced + excluded.unpriced;\n'
        '    END;\n'
        '    CREATE TRIGGER rollups_usage_insert AFTER INSERT ON rollups BEGIN INSERT INTO slot_usage VALUES '
        '(NEW.slot, NEW.source, NEW.model, NEW.input_tokens, NEW.output_tokens, NEW.cache_write_5m, '
        'NEW.cache_write_1h, NEW.cache_read, NEW.cost_usd, NEW.requests, '
        '(CASE WHEN NEW.priced = 0 THEN NEW.requests ELSE 0 END)) ON CONFLICT DO UPDATE SET input_tokens = '
        'slot_usage.input_tokens + excluded.input_tokens, '
        'output_tokens = slot_usage.output_tokens + excluded.output_tokens, '
        'cache_write_5m = slot_usage.cache_write_5m + excluded.cache_write_5m, '
        'cache_write_1h = slot_usage.cache_write_1h + excluded.cache_write_1h, '
        'cache_read = slot_usage.cache_read + excluded.cache_read, '
        'cost_usd = slot_usage.cost_usd + excluded.cost_usd, requests = slot_usage.requests + excluded.requests, '
        'unpriced = slot_usage.unpriced + excluded.unpriced; END;\n'
        '    CREATE TRIGGER rollups_usage_delete AFTER DELETE ON rollups BEGIN UPDATE slot_usage SET input_tokens '
        '= input_tokens - OLD.input_tokens, output_tokens = output_tokens - OLD.output_tokens, '
        'cache_write_5m = cache_write_5m - OLD.cache_write_5m, '
        'cache_write_1h = cache_write_1h - OLD.cache_write_1h, cache_read = cache_read - OLD.cache_read, '
        'cost_usd = cost_usd - OLD.cost_usd, requests = requests - OLD.requests, '
        'unpriced = unpriced - (CASE WHEN OLD.priced = 0 THEN OLD.requests ELSE 0 END) WHERE slot = OLD.slot AND '
        'source = OLD.source AND model = OLD.model; END;\n'
        '    CREATE TRIGGER rollups_usage_update AFTER UPDATE ON rollups BEGIN\n'
        '        UPDATE slot_usage SET input_tokens = input_tokens - OLD.input_tokens, '
        'output_tokens = output_tokens - OLD.output_tokens, cache_write_5m = cache_write_5m - OLD.cache_write_5m, '
        'cache_write_1h = cache_write_1h - OLD.cache_write_1h, cache_read = cache_read - OLD.cache_read, '
        'cost_usd = cost_usd - OLD.cost_usd, requests = requests - OLD.requests, '
        'unpriced = unpriced - (CASE WHEN OLD.priced = 0 THEN OLD.requests ELSE 0 END) WHERE slot = OLD.slot AND '
        'source = OLD.source AND model = OLD.model;\n'
        '        INSERT INTO slot_usage VALUES (NEW.slot, NEW.source, NEW.model, NEW.input_tokens, '
        'NEW.output_tokens, NEW.cache_write_5m, NEW.cache_write_1h, NEW.cache_read, NEW.cost_usd, NEW.requests, '
        '(CASE WHEN NEW.priced = 0 THEN NEW.requests ELSE 0 END)) ON CONFLICT DO UPDATE SET input_tokens = '
        'slot_usage.input_tokens + excluded.input_tokens, '
        'output_tokens = slot_usage.output_tokens + excluded.output_tokens, '
        'cache_write_5m = slot_usage.cache_write_5m + excluded.cache_write_5m, '
        'cache_write_1h = slot_usage.cache_write_1h + excluded.cache_write_1h, '
        'cache_read = slot_usage.cache_read + excluded.cache_read, '
        'cost_usd = slot_usage.cost_usd + excluded.cost_usd, requests = slot_usage.requests + excluded.requests, '
        'unpriced = slot_usage.unpriced + excluded.unpriced;\n'
        """    END;
    """
    ),
    # 3: per-tool sums of rolled-up responses, so the tools report over old months still adds up after retention.
    # name = '' holds the responses that called any tool, each once: the report's totals.
    (
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
    """
    ),
    # 4: OpenClaw agent stores (2026.8+): a per-session read cursor committed with the rows it covers, and what
    # the store says of each session (which OpenClaw agent, its parent for a sub-agent, how it is billed).
    (
        """
    CREATE TABLE agent_store_cursors (
        store TEXT NOT NULL,
        session_id TEXT NOT NULL,
        cursor TEXT NOT NULL,
        PRIMARY KEY (store, session_id)
    ) WITHOUT ROWID;
    ALTER TABLE sessions ADD COLUMN openclaw_agent TEXT;
    ALTER TABLE sessions ADD COLUMN parent_session_id TEXT;
    ALTER TABLE sessions ADD COLUMN billing TEXT;
    """
    ),
    # 5: the surcharge fields of `usage`, so re-pricing history applies them again: web searches (a fee per search)
    # on every table that prices, and US-only inference on per-request rows.
    (
        """
    ALTER TABLE requests ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE requests ADD COLUMN inference_geo TEXT;
    ALTER TABLE rollups ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tool_rollups ADD COLUMN web_search_requests INTEGER NOT NULL DEFAULT 0;
    """
    ),
    # 6: every row knows its machine (rows from the sync folder carry the peer's name; '' until the store is first
    # opened with this machine's name, which then claims them). rollups and tool_rollups gain machine in their keys,
    # so are rebuilt. The update triggers now fire only when a summed column changes: claiming rows for a machine
    # name no longer rewrites slot_usage once per row. sync_files records which peer files were merged, or why not.
    # (The trigger bodies are the slot_usage triggers of migration 2, as generated then, written out here.)
    (
        """
    ALTER TABLE requests ADD COLUMN machine TEXT NOT NULL DEFAULT '';
    -- (machine sits with the other key columns: SQLite 3.40's integrity_check reports NOT NULL columns of a
    -- WITHOUT ROWID table as NULL when a key column follows them.)
    CREATE TABLE rollups_new (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        session_id TEXT NOT NULL,
        project TEXT NOT NULL,
        model TEXT NOT NULL,
        speed TEXT NOT NULL,
        long_context INTEGER NOT NULL,
        machine TEXT NOT NULL DEFAULT '',
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL,
        web_search_requests INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (slot, source, session_id, project, model, speed, long_context, machine)
    ) WITHOUT ROWID;
    INSERT INTO rollups_new
    SELECT slot, source, session_id, project, model, speed, long_context, '', input_tokens, output_tokens,
           cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, web_search_requests FROM rollups;
    DROP TABLE rollups;
    ALTER TABLE rollups_new RENAME TO rollups;

    CREATE TRIGGER rollups_usage_insert AFTER INSERT ON rollups BEGIN INSERT INTO slot_usage VALUES (NEW.slot,
        NEW.source, NEW.model, NEW.input_tokens, NEW.output_tokens, NEW.cache_write_5m, NEW.cache_write_1h,
        NEW.cache_read, NEW.cost_usd, NEW.requests, (CASE WHEN NEW.priced = 0 THEN NEW.requests ELSE 0 END)) ON
        CONFLICT DO UPDATE SET input_tokens = slot_usage.input_tokens + excluded.input_tokens, output_tokens =
        slot_usage.output_tokens + excluded.output_tokens, cache_write_5m = slot_usage.cache_write_5m +
        excluded.cache_write_5m, cache_write_1h = slot_usage.cache_write_1h + excluded.cache_write_1h, cache_read =
        slot_usage.cache_read + excluded.cache_read, cost_usd = slot_usage.cost_usd + excluded.cost_usd, requests =
        slot_usage.requests + excluded.requests, unpriced = slot_usage.unpriced + excluded.unpriced; END;
    CREATE TRIGGER rollups_usage_delete AFTER DELETE ON rollups BEGIN UPDATE slot_usage SET input_tokens =
        input_tokens - OLD.input_tokens, output_tokens = output_tokens - OLD.output_tokens, cache_write_5m =
        cache_write_5m - OLD.cache_write_5m, cache_write_1h = cache_write_1h - OLD.cache_write_1h, cache_read =
        cache_read - OLD.cache_read, cost_usd = cost_usd - OLD.cost_usd, requests = requests - OLD.requests, unpriced
        = unpriced - (CASE WHEN OLD.priced = 0 THEN OLD.requests ELSE 0 END) WHERE slot = OLD.slot AND source =
        OLD.source AND model = OLD.model; END;
    CREATE TRIGGER rollups_usage_update AFTER UPDATE OF slot, source, model, input_tokens, output_tokens,
        cache_write_5m, cache_write_1h, cache_read, cost_usd, requests, priced ON rollups BEGIN
        UPDATE slot_usage SET input_tokens = input_tokens - OLD.input_tokens, output_tokens = output_tokens -
            OLD.output_tokens, cache_write_5m = cache_write_5m - OLD.cache_write_5m, cache_write_1h = cache_write_1h -
            OLD.cache_write_1h, cache_read = cache_read - OLD.cache_read, cost_usd = cost_usd - OLD.cost_usd, requests
            = requests - OLD.requests, unpriced = unpriced - (CASE WHEN OLD.priced = 0 THEN OLD.requests ELSE 0 END)
            WHERE slot = OLD.slot AND source = OLD.source AND model = OLD.model;
        INSERT INTO slot_usage VALUES (NEW.slot, NEW.source, NEW.model, NEW.input_tokens, NEW.output_tokens,
            NEW.cache_write_5m, NEW.cache_write_1h, NEW.cache_read, NEW.cost_usd, NEW.requests, (CASE WHEN NEW.priced
            = 0 THEN NEW.requests ELSE 0 END)) ON CONFLICT DO UPDATE SET input_tokens = slot_usage.input_tokens +
            excluded.input_tokens, output_tokens = slot_usage.output_tokens + excluded.output_tokens, cache_write_5m =
            slot_usage.cache_write_5m + excluded.cache_write_5m, cache_write_1h = slot_usage.cache_write_1h +
            excluded.cache_write_1h, cache_read = slot_usage.cache_read + excluded.cache_read, cost_usd =
            slot_usage.cost_usd + excluded.cost_usd, requests = slot_usage.requests + excluded.requests, unpriced =
            slot_usage.unpriced + excluded.unpriced;
    END;
    DROP TRIGGER requests_usage_update;
    CREATE TRIGGER requests_usage_update AFTER UPDATE OF ts, source, model, input_tokens, output_tokens,
        cache_write_5m, cache_write_1h, cache_read, cost_usd, priced ON requests BEGIN
        UPDATE slot_usage SET input_tokens = input_tokens - OLD.input_tokens, output_tokens = output_tokens -
            OLD.output_tokens, cache_write_5m = cache_write_5m - OLD.cache_write_5m, cache_write_1h = cache_write_1h -
            OLD.cache_write_1h, cache_read = cache_read - OLD.cache_read, cost_usd = cost_usd - OLD.cost_usd, requests
            = requests - 1, unpriced = unpriced - (OLD.priced = 0) WHERE slot = OLD.ts - OLD.ts % 900000 AND source =
            OLD.source AND model = OLD.model;
        INSERT INTO slot_usage VALUES (NEW.ts - NEW.ts % 900000, NEW.source, NEW.model, NEW.input_tokens,
            NEW.output_tokens, NEW.cache_write_5m, NEW.cache_write_1h, NEW.cache_read, NEW.cost_usd, 1, (NEW.priced =
            0)) ON CONFLICT DO UPDATE SET input_tokens = slot_usage.input_tokens + excluded.input_tokens,
            output_tokens = slot_usage.output_tokens + excluded.output_tokens, cache_write_5m =
            slot_usage.cache_write_5m + excluded.cache_write_5m, cache_write_1h = slot_usage.cache_write_1h +
            excluded.cache_write_1h, cache_read = slot_usage.cache_read + excluded.cache_read, cost_usd =
            slot_usage.cost_usd + excluded.cost_usd, requests = slot_usage.requests + excluded.requests, unpriced =
            slot_usage.unpriced + excluded.unpriced;
    END;
    CREATE TABLE tool_rollups_new (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        model TEXT NOT NULL,
        speed TEXT NOT NULL,
        long_context INTEGER NOT NULL,
        name TEXT NOT NULL,
        machine TEXT NOT NULL DEFAULT '',
        calls INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL,
        web_search_requests INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (slot, source, model, speed, long_context, name, machine)
    ) WITHOUT ROWID;
    INSERT INTO tool_rollups_new
    SELECT slot, source, model, speed, long_context, name, '', calls, requests, input_tokens, output_tokens,
           cache_write_5m, cache_write_1h, cache_read, cost_usd, priced, web_search_requests FROM tool_rollups;
    DROP TABLE tool_rollups;
    ALTER TABLE tool_rollups_new RENAME TO tool_rollups;
    CREATE TABLE sync_files (
        path TEXT PRIMARY KEY,
        machine TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        digest TEXT,
        merged_ms INTEGER NOT NULL,
        rows INTEGER NOT NULL DEFAULT 0,
        refused INTEGER NOT NULL DEFAULT 0,
        problem TEXT
    );
    """
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)

# Every usage row, kept or rolled up, in one shape: what all reports read. ({machine} is empty or `, machine`: the
# column exists only from migration 4 on, and a read-only look at an older store must still work.)
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
