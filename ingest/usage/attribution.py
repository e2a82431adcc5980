"""`report attribution`: spending per sub-agent, skill, plugin, MCP server and MCP tool, as Claude Code's `/usage`
breaks it down, from the attribution fields recent versions write on each request (`attributionSkill`, …).

A request can name several (a skill that called an MCP tool), so it counts in each of its rows and the rows overlap;
`(none)` holds the requests that name none (older versions, plain main-thread work, and responses already rolled up
by retention, which keep no attribution). Each row's share is of all spending in the range."""

from __future__ import annotations

from ..text import iso_local
from .reports import _SUMS, Row, Totals
from .scope import Scope

KIND_LABELS = {"agent": "sub-agent", "skill": "skill", "plugin": "plugin", "mcp_server": "MCP", "mcp_tool": "MCP tool"}
"""How each kind reads in a row's key ("skill pdf", "MCP github", "MCP tool github/create_issue")."""
NONE_KEY = "(none)"

_COLUMNS = ("input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_usd, 1 AS requests, "
            "priced, ts, source, session_id, machine")
_NAMES = {
    "agent": "attr_agent", "skill": "attr_skill", "plugin": "attr_plugin", "mcp_server": "attr_mcp_server",
    "mcp_tool": "COALESCE(attr_mcp_server, '?') || '/' || attr_mcp_tool",
}
_PRESENT = {"mcp_tool": "attr_mcp_tool"}
_ATTRIBUTED_SQL = " UNION ALL ".join(
    f"SELECT '{kind}' AS kind, {name} AS name, {_COLUMNS} FROM requests WHERE {_PRESENT.get(kind, name)} IS NOT NULL"
    for kind, name in _NAMES.items())
_NONE_SQL = (f"SELECT {_COLUMNS} FROM requests WHERE attr_agent IS NULL AND attr_skill IS NULL AND attr_plugin IS NULL "
             f"AND attr_mcp_server IS NULL AND attr_mcp_tool IS NULL "
             "UNION ALL SELECT input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_usd, "
             "requests, priced, slot, source, session_id, machine FROM rollups")


def available(store) -> bool:
    """False on a store an older tokentop still writes (not migrated: no attribution columns)."""
    return any(r[1] == "attr_skill" for r in store.db.execute("PRAGMA table_info(requests)"))


def attribution_rows(scope: Scope, kind: str, tz, lo, hi, source) -> list[Row]:
    """One row per (kind, name) the requests in range name, biggest spend first, then `(none)`."""
    if not available(scope.store):
        return []
    where, args = scope.where(lo, hi, source)
    out = []
    sql = (f"SELECT kind, name, {_SUMS}, MAX(ts), COUNT(DISTINCT session_id) FROM ({_ATTRIBUTED_SQL}){where} "
           "GROUP BY kind, name ORDER BY SUM(cost_usd) DESC, kind, name")
    for attributed_kind, name, *rest in scope.db.execute(sql, args):
        row = Row(f"{KIND_LABELS[attributed_kind]} {name}", extra={
            "kind": attributed_kind, "name": name, "last_activity": iso_local(rest[8], tz), "sessions": rest[9]})
        row.totals.add(*rest[:8])
        out.append(row)
    none = scope.db.execute(f"SELECT {_SUMS}, MAX(ts), COUNT(DISTINCT session_id) FROM ({_NONE_SQL}){where}",
                            args).fetchone()
    if none and none[6]:
        row = Row(NONE_KEY, extra={"kind": None, "name": None, "last_activity": iso_local(none[8], tz),
                                   "sessions": none[9]})
        row.totals.add(*none[:8])
        out.append(row)
    return out


def attribution_totals(scope: Scope, lo, hi, source) -> Totals:
    """All spending in the range (each request once): what the shares are of."""
    where, args = scope.where(lo, hi, source)
    row = scope.db.execute(f"SELECT {_SUMS} FROM ({scope.usage_sql}){where}", args).fetchone()
    totals = Totals()
    if row and row[6]:
        totals.add(*[v or 0 for v in row])
    return totals


def add_shares(rows: list[Row], totals: Totals) -> None:
    for row in rows:
        row.extra["share"] = round(row.totals.cost_usd / totals.cost_usd, 4) if totals.cost_usd > 0 else None
