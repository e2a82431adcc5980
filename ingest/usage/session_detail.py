"""One session's drill-down: its requests (newest first, bounded), per-model and per-tool breakdowns, the totals,
and Claude Code's own figure beside ours."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..store import claude_costs, ownership
from ..store.store import Store
from .reports import Totals
from .scope import store_ready

DETAIL_REQUEST_LIMIT = 5000
"""A session detail lists at most this many requests (the newest); the totals still count all of them."""
SYNTHETIC = "<synthetic>"


@dataclass(slots=True, frozen=True)
class RequestRow:
    id: int
    ts_ms: int
    model: str
    input_tokens: int
    output_tokens: int
    cache_write: int
    cache_read: int
    cost_usd: float
    priced: bool
    tools: tuple[str, ...]
    """Tool names in call order, one entry per call."""
    agent_id: str | None
    is_sidechain: bool
    message_id: str
    request_id: str | None
    speed: str | None
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    web_search_requests: int = 0
    inference_geo: str | None = None
    priced_as: str | None = None
    """The context-tagged id Claude Code's own figures name for this model (`claude-opus-5[1m]`), priced as that."""
    attribution: tuple[str | None, ...] = ()
    """(sub-agent, skill, plugin, MCP server, MCP tool) as the line attributes the request, where it does."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write + self.cache_read


@dataclass(slots=True, frozen=True)
class Breakdown:
    """One row of a per-tool or per-sub-agent table."""

    key: str
    count: int
    """Calls for a tool, requests for a sub-agent."""
    tokens: int
    cost_usd: float


@dataclass(slots=True)
class SessionDetail:
    session_id: str
    found: bool
    source: str | None = None
    project: str | None = None
    title: str | None = None
    git_branch: str | None = None
    first_ms: int | None = None
    last_ms: int | None = None
    totals: Totals = field(default_factory=Totals)
    models: tuple[str, ...] = ()
    requests: list[RequestRow] = field(default_factory=list)
    tools: list[Breakdown] = field(default_factory=list)
    agents: list[Breakdown] = field(default_factory=list)
    rolled_up_requests: int = 0
    """Requests older than the retention period: counted in the totals, no longer listed one by one."""
    claude_code: dict | None = None
    """Claude Code's own figure for the session beside ours (`store.claude_costs.check`), where it wrote one."""

    @property
    def cache_hit_ratio(self) -> float | None:
        """Cache reads over all input-side tokens (uncached input + cache writes + cache reads)."""
        t = self.totals
        denominator = t.input_tokens + t.cache_creation_tokens + t.cache_read_tokens
        return t.cache_read_tokens / denominator if denominator else None

    @property
    def duration_ms(self) -> int:
        return (self.last_ms - self.first_ms) if self.first_ms is not None and self.last_ms is not None else 0


_NEW_COLUMNS = "priced_as, attr_agent, attr_skill, attr_plugin, attr_mcp_server, attr_mcp_tool"
_NO_NEW_COLUMNS = "NULL, NULL, NULL, NULL, NULL, NULL"  # a store an older tokentop still writes (not migrated)


def session_detail(store: Store, session_id: str, limit: int = DETAIL_REQUEST_LIMIT) -> SessionDetail:
    if not store_ready(store):
        return SessionDetail(session_id, False)
    db = store.db
    meta = db.execute("SELECT source, project, title, git_branch, first_ts, last_ts FROM sessions "
                      "WHERE session_id = ?", (session_id,)).fetchone()
    detail = SessionDetail(session_id, meta is not None)
    if meta:
        (detail.source, detail.project, detail.title, detail.git_branch, detail.first_ms, detail.last_ms) = meta
    tools_by_request: dict[int, list[str]] = defaultdict(list)
    for rid, name in db.execute(
            "SELECT r.id, t.name FROM requests r JOIN tool_calls t ON t.message_id = r.message_id "
            "WHERE r.session_id = ? ORDER BY r.id, t.name", (session_id,)):
        tools_by_request[rid].append(name)
    rows = db.execute(
        "SELECT id, ts, model, input_tokens, output_tokens, cache_write_5m + cache_write_1h, cache_read, cost_usd, "
        "priced, agent_id, is_sidechain, message_id, request_id, speed, cache_write_5m, cache_write_1h, "
        "web_search_requests, inference_geo, " + (_NEW_COLUMNS if claude_costs.available(db) else _NO_NEW_COLUMNS)
        + " FROM requests WHERE session_id = ? ORDER BY ts, id", (session_id,)).fetchall()
    models: list[str] = []
    agents: dict[str, list] = {}
    tools: dict[str, list] = {}
    for r in rows:
        req = RequestRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], bool(r[8]),
                         tuple(tools_by_request.get(r[0], ())), r[9], bool(r[10]), r[11], r[12], r[13], r[14], r[15],
                         r[16], r[17], r[18], tuple(r[19:]))
        detail.totals.add(req.input_tokens, req.output_tokens, r[14], r[15], req.cache_read, req.cost_usd, 1,
                          0 if req.priced else 1)
        if req.model != SYNTHETIC and req.model not in models:
            models.append(req.model)
        a = agents.setdefault(req.agent_id or "main", [0, 0, 0.0])
        a[0] += 1
        a[1] += req.total_tokens
        a[2] += req.cost_usd
        for name in req.tools:
            t = tools.setdefault(name, [0, 0, 0.0])
            t[0] += 1
        for name in set(req.tools):  # the response's tokens count once per tool it called
            tools[name][1] += req.total_tokens
            tools[name][2] += req.cost_usd
        detail.requests.append(req)
    rolled_first = None
    for i, o, w5, w1, cr, cost, reqs, unpriced, first, _last, model in db.execute(
            "SELECT SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h), SUM(cache_read), "
            "SUM(cost_usd), SUM(requests), SUM(CASE WHEN priced = 0 THEN requests ELSE 0 END), MIN(slot), MAX(slot), "
            "model FROM rollups WHERE session_id = ? GROUP BY model", (session_id,)):
        detail.totals.add(i, o, w5, w1, cr, cost, reqs, unpriced)
        detail.rolled_up_requests += reqs
        if model != SYNTHETIC and model not in models:
            models.append(model)
        rolled_first = first if rolled_first is None else min(rolled_first, first)
    if rolled_first is not None:
        detail.first_ms = rolled_first if detail.first_ms is None else min(detail.first_ms, rolled_first)
    if rows and ownership.replayers(store, [session_id]):  # its first lines are another session's history
        detail.first_ms = rows[0][1] if rolled_first is None else min(rows[0][1], rolled_first)
    elif rows:
        detail.first_ms = rows[0][1] if detail.first_ms is None else min(detail.first_ms, rows[0][1])
        detail.last_ms = rows[-1][1] if detail.last_ms is None else max(detail.last_ms, rows[-1][1])
    detail.found = detail.found or bool(rows) or bool(detail.rolled_up_requests)
    detail.claude_code = claude_costs.comparison(db, session_id)
    detail.models = tuple(models)
    detail.requests = detail.requests[-limit:]
    detail.tools = sorted((Breakdown(k, *v) for k, v in tools.items()), key=lambda b: (-b.count, b.key))
    detail.agents = sorted((Breakdown(k, *v) for k, v in agents.items()),
                           key=lambda b: (b.key != "main", -b.tokens, b.key))
    return detail
