"""The shipped migrations, frozen as literal SQL: migration i moves the schema from version i to i+1.

Never edit one (tests/core/test_schema.py hashes each): append a new one. SQLite keeps trigger text as written,
so even reformatting a shipped migration would make new stores differ from old ones."""

from __future__ import annotations

from .migrations_late import LATER

# Each migration moves the schema from version i to i+1. Long lines are split into adjacent string literals, which
# Python joins: the text is byte for byte what shipped.
FIRST: tuple[str, ...] = (
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

MIGRATIONS: tuple[str, ...] = FIRST + LATER
"""Every migration, in order (7 and later live in migrations_late.py, to keep each module small)."""
