"""The shipped migrations from 7 on, frozen as literal SQL (migrations.py holds 0-6 and the rules): migration i
moves the schema from version i to i+1. Never edit one (tests/core/test_schema.py hashes each): append a new one."""

from __future__ import annotations

LATER: tuple[str, ...] = (
    # 7: who spent a response seen in several sessions (a resumed session's copy): the claims of each session that
    # carries one, so the owner (store/ownership.py) is chosen the same whatever order files are read in, apart from
    # which copy has the largest token total. And US-only inference (`inference_geo`) joins the rollups' keys, so
    # re-pricing rolled-up history applies its surcharge again (rollups and tool_rollups are rebuilt, with the
    # triggers of migration 6 written out again).
    (
        """
    ALTER TABLE requests ADD COLUMN session_rank INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE session_claims (
        dedup_key TEXT NOT NULL,
        session_id TEXT NOT NULL,
        rank INTEGER NOT NULL,
        project TEXT,
        agent_id TEXT,
        PRIMARY KEY (dedup_key, session_id)
    ) WITHOUT ROWID;
    CREATE INDEX session_claims_session ON session_claims(session_id);
    CREATE TABLE rollups_new (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        session_id TEXT NOT NULL,
        project TEXT NOT NULL,
        model TEXT NOT NULL,
        speed TEXT NOT NULL,
        long_context INTEGER NOT NULL,
        machine TEXT NOT NULL DEFAULT '',
        inference_geo TEXT NOT NULL DEFAULT '',
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_write_5m INTEGER NOT NULL,
        cache_write_1h INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        requests INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        priced INTEGER NOT NULL,
        web_search_requests INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (slot, source, session_id, project, model, speed, long_context, machine, inference_geo)
    ) WITHOUT ROWID;
    INSERT INTO rollups_new
    SELECT slot, source, session_id, project, model, speed, long_context, machine, '', input_tokens, output_tokens,
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
    CREATE TABLE tool_rollups_new (
        slot INTEGER NOT NULL,
        source TEXT NOT NULL,
        model TEXT NOT NULL,
        speed TEXT NOT NULL,
        long_context INTEGER NOT NULL,
        name TEXT NOT NULL,
        machine TEXT NOT NULL DEFAULT '',
        inference_geo TEXT NOT NULL DEFAULT '',
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
        PRIMARY KEY (slot, source, model, speed, long_context, name, machine, inference_geo)
    ) WITHOUT ROWID;
    INSERT INTO tool_rollups_new
    SELECT slot, source, model, speed, long_context, name, machine, '', calls, requests, input_tokens, output_tokens,
           cache_write_5m, cache_write_1h, cache_read, cost_usd, priced, web_search_requests FROM tool_rollups;
    DROP TABLE tool_rollups;
    ALTER TABLE tool_rollups_new RENAME TO tool_rollups;
    """
    ),
    # 8: Claude Code's own figures.
    # The optional per-request fields (the 5-hour block Claude Code counted the request in; what `/usage` attributes
    # it to), the id the request is priced as when Claude Code's `cost-state` names the model with a context tag
    # (`claude-opus-5[1m]`), and the newest `cost-state` of each session with its per-model rows (numbers and ids).
    (
        """
    ALTER TABLE requests ADD COLUMN api_block INTEGER;
    ALTER TABLE requests ADD COLUMN attr_agent TEXT;
    ALTER TABLE requests ADD COLUMN attr_skill TEXT;
    ALTER TABLE requests ADD COLUMN attr_plugin TEXT;
    ALTER TABLE requests ADD COLUMN attr_mcp_server TEXT;
    ALTER TABLE requests ADD COLUMN attr_mcp_tool TEXT;
    ALTER TABLE requests ADD COLUMN priced_as TEXT;
    CREATE INDEX requests_block ON requests(ts) WHERE api_block IS NOT NULL;
    CREATE TABLE claude_costs (
        session_id TEXT PRIMARY KEY,
        total_cost_usd REAL NOT NULL,
        ts INTEGER
    );
    CREATE TABLE claude_cost_models (
        session_id TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        cache_read INTEGER NOT NULL,
        cache_write INTEGER NOT NULL,
        web_search_requests INTEGER NOT NULL,
        cost_usd REAL NOT NULL,
        PRIMARY KEY (session_id, model)
    ) WITHOUT ROWID;
    """
    ),
)
