"""Report queries over the store (daily/weekly/monthly/sessions/models/projects/tools) and their JSON/CSV/table
shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from ..clock import DAY_MS, day_start_ms, utc_offset_ms
from ..store import claude_costs
from ..store.schema import USAGE_SQL, has_slot_usage
from ..store.store import Store
from ..text import iso_local
from .scope import Scope, machine_usage_sql, where_clause

REPORTS = ("daily", "weekly", "monthly", "sessions", "models", "projects", "tools", "agents", "machines",
           "attribution")
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")


@dataclass(slots=True)
class Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    requests: int = 0
    unpriced_requests: int = 0

    def add(self, i, o, w5, w1, r, cost, requests, unpriced=0) -> None:
        self.input_tokens += i
        self.output_tokens += o
        self.cache_write_5m += w5
        self.cache_write_1h += w1
        self.cache_read_tokens += r
        self.cost_usd += cost
        self.requests += requests
        self.unpriced_requests += unpriced

    @property
    def cache_creation_tokens(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation_tokens + self.cache_read_tokens

    def as_dict(self) -> dict:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_tokens": self.cache_creation_tokens,
            "cache_creation_5m_tokens": self.cache_write_5m,
            "cache_creation_1h_tokens": self.cache_write_1h,
            "cache_read_tokens": self.cache_read_tokens,
            "total_tokens": self.total_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "requests": self.requests,
            "unpriced_requests": self.unpriced_requests,
        }


@dataclass(slots=True)
class Row:
    key: str
    totals: Totals = field(default_factory=Totals)
    extra: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"key": self.key, **self.totals.as_dict(), **self.extra}


@dataclass(slots=True)
class Report:
    kind: str
    tz: str
    rows: list[Row]
    totals: Totals
    generated_at: datetime
    since: date | None = None
    until: date | None = None
    source: str = "all"
    machine: str | None = None

    def as_json(self) -> dict:
        return {
            "generated_at": self.generated_at.isoformat(timespec="seconds"),
            "estimate": True,
            "report": self.kind,
            "tz": self.tz,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "source": self.source,
            "machine": self.machine,
            "totals": self.totals.as_dict(),
            "rows": [r.as_dict() for r in self.rows],
        }


def day_bounds_ms(since: date | None, until: date | None, tz: tzinfo) -> tuple[int | None, int | None]:
    """Local calendar days [since, until] → a half-open UTC millisecond range."""
    lo = hi = None
    if since:
        lo = day_start_ms(since, tz)
    if until:
        hi = day_start_ms(until + timedelta(days=1), tz)
    return lo, hi


_SUMS = ("SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h), SUM(cache_read), "
         "SUM(cost_usd), SUM(requests), SUM(CASE WHEN priced = 0 THEN requests ELSE 0 END)")


def build_report(store: Store, kind: str, tz: tzinfo, since: date | None = None, until: date | None = None,
                 source: str = "all", now: datetime | None = None, machine: str | None = None) -> Report:
    """`machine`: only the rows of that machine (None: every machine, the default view)."""
    if kind not in REPORTS:
        raise ValueError(f"unknown report {kind!r}; choose one of {', '.join(REPORTS)}")
    lo, hi = day_bounds_ms(since, until, tz)
    scope = Scope(store, machine)
    rows = {
        "daily": _by_period, "weekly": _by_period, "monthly": _by_period,
        "sessions": _sessions, "models": _models, "projects": _projects, "tools": _tools, "agents": _agents,
        "machines": _machines, "attribution": _attribution,
    }[kind](scope, kind, tz, lo, hi, source)
    totals = Totals()
    if kind == "tools":
        totals = _tool_totals(scope, lo, hi, source)
    elif kind == "attribution":  # rows overlap: the total is all spending, each request once
        from .attribution import add_shares, attribution_totals
        totals = attribution_totals(scope, lo, hi, source)
        add_shares(rows, totals)
    else:
        for row in rows:
            t = row.totals
            totals.add(t.input_tokens, t.output_tokens, t.cache_write_5m, t.cache_write_1h, t.cache_read_tokens,
                       t.cost_usd, t.requests, t.unpriced_requests)
    return Report(kind, str(tz), rows, totals, now or datetime.now(UTC), since, until, source, machine)


def period_key(kind: str, day: date) -> str:
    if kind == "daily":
        return day.isoformat()
    if kind == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{day.year}-{day.month:02d}"


def _by_period(store, kind, tz, lo, hi, source) -> list[Row]:
    # From the per-slot sums (store migration 2): a few thousand rows, not every request. Local day boundaries are
    # slot boundaries in every real zone (offsets are whole quarter hours), so grouping slots by day is exact.
    where, args = store.where(lo, hi, source, ts_col="slot")
    table = _slot_table(store)
    sql = (f"SELECT {_local_day_sql(store, table, tz, lo, hi)} AS day, model, {_SLOT_SUMS} FROM {table}{where} "
           "GROUP BY day, model HAVING SUM(requests) > 0")
    rows: dict[str, Row] = {}
    for day, model, *sums in store.db.execute(sql, args):
        key = period_key(kind, date.fromordinal(_EPOCH_ORDINAL + day))
        row = rows.get(key)
        if row is None:
            row = rows[key] = Row(key, extra={"models": []})
        row.totals.add(*sums)
        if model not in row.extra["models"]:
            row.extra["models"].append(model)
    for row in rows.values():
        row.extra["models"].sort()
    return [rows[k] for k in sorted(rows)]


_SLOT_SUMS = ("SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h), SUM(cache_read), "
              "SUM(cost_usd), SUM(requests), SUM(unpriced)")
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def _slot_table(store) -> str:
    """slot_usage, or the same sums computed from every row when the store predates it (opened read-only while
    an older tokentop is the writer, so it was never migrated) or when one machine's rows are asked for."""
    if store.machine is not None:
        return (f"(SELECT slot, source, model, machine, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
                f"cache_read, cost_usd, requests, CASE WHEN priced = 0 THEN requests ELSE 0 END AS unpriced "
                f"FROM ({machine_usage_sql(store.store)}))")
    if has_slot_usage(store.db):
        return "slot_usage"
    return (f"(SELECT slot, source, model, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, "
            f"cost_usd, requests, CASE WHEN priced = 0 THEN requests ELSE 0 END AS unpriced FROM ({USAGE_SQL}))")


def _local_day_sql(store, table, tz, lo, hi) -> str:
    """SQL for the local calendar day of `slot` (days since 1970-01-01): the slot plus the zone's UTC offset at
    that instant, with one CASE branch per offset change (DST) inside the stored span."""
    first, last = store.db.execute(f"SELECT MIN(slot), MAX(slot) FROM {table}").fetchone()
    if first is None:
        return "0"
    first, last = max(first, lo if lo is not None else first), min(last, hi if hi is not None else last)
    changes = _offset_changes(tz, first, max(first, last))
    if len(changes) == 1:
        return f"(slot + {changes[0][1]}) / {DAY_MS}"
    branches = " ".join(f"WHEN slot < {at} THEN {offset}" for (_, offset), (at, _) in zip(changes, changes[1:]))
    return f"(slot + CASE {branches} ELSE {changes[-1][1]} END) / {DAY_MS}"


def _offset_ms(tz, ms: int) -> int:
    return utc_offset_ms(ms, tz)


def _offset_changes(tz, first: int, last: int) -> list[tuple[int, int]]:
    """[(from_ms, offset_ms)]: the zone's UTC offset from `first` on, and each change up to `last`. Sampled daily
    (zones change offset months apart), each change then pinned to the millisecond by bisection."""
    out = [(first, _offset_ms(tz, first))]
    at = first
    while at < last:
        step = min(at + DAY_MS, last)
        offset = _offset_ms(tz, step)
        if offset != out[-1][1]:
            before, after = at, step  # offset(before) is the old one, offset(after) the new one
            while after - before > 1:
                mid = (before + after) // 2
                if _offset_ms(tz, mid) == offset:
                    after = mid
                else:
                    before = mid
            out.append((after, offset))
        at = step
    return out


def _grouped(store, column, lo, hi, source, order="SUM(cost_usd) DESC, 1", usage_sql=None):
    where, args = store.where(lo, hi, source)
    sql = (f"SELECT {column}, {_SUMS}, MIN(ts), MAX(ts), GROUP_CONCAT(DISTINCT model) "
           f"FROM ({usage_sql or store.usage_sql}){where} GROUP BY 1 ORDER BY {order}")
    return store.db.execute(sql, args)


def _sessions(store, kind, tz, lo, hi, source) -> list[Row]:
    meta = {r[0]: r[1:] for r in store.db.execute(
        "SELECT session_id, source, project, title, git_branch, first_ts, last_ts, openclaw_agent, parent_session_id "
        "FROM sessions")}
    out = []
    for key, *rest in _grouped(store, "session_id", lo, hi, source, order="MAX(ts) DESC"):
        sums, first, last, models = rest[:8], rest[8], rest[9], rest[10]
        src, project, title, branch, s_first, s_last, agent, parent = meta.get(key, (None,) * 8)
        row = Row(key, extra={
            "source": src, "project": project, "title": title, "git_branch": branch,
            "openclaw_agent": agent, "parent_session": parent,
            "first_activity": iso_local(s_first if s_first is not None else first, tz),
            "last_activity": iso_local(s_last if s_last is not None else last, tz),
            "models": sorted(models.split(",")) if models else [],
        })
        row.totals.add(*sums)
        out.append(row)
    if out and claude_costs.available(store.db):  # Claude Code's own figure beside ours, where it wrote one
        has = {sid for (sid,) in store.db.execute("SELECT session_id FROM claude_costs")}
        for row in out:
            row.extra["claude_code"] = claude_costs.comparison(store.db, row.key) if row.key in has else None
    return out


def _attribution(store, kind, tz, lo, hi, source) -> list[Row]:
    from .attribution import attribution_rows
    return attribution_rows(store, kind, tz, lo, hi, source)


def _models(store, kind, tz, lo, hi, source) -> list[Row]:
    from ..pricing import model_family
    out = []
    for key, *rest in _grouped(store, "model", lo, hi, source):
        row = Row(key, extra={"family": model_family(key), "priced": rest[7] == 0})
        row.totals.add(*rest[:8])
        out.append(row)
    return out


def _projects(store, kind, tz, lo, hi, source) -> list[Row]:
    out = []
    for key, *rest in _grouped(store, "project", lo, hi, source):
        row = Row(key or "(unknown)", extra={
            "last_activity": iso_local(rest[9], tz), "models": sorted(rest[10].split(",")) if rest[10] else []})
        row.totals.add(*rest[:8])
        out.append(row)
    return out


def _agents(store, kind, tz, lo, hi, source) -> list[Row]:
    """Per OpenClaw agent (from its agent store); sessions no store names are grouped under their source."""
    where, args = where_clause(lo, hi, source, ts_col="u.ts", source_col="u.source", machine=store.machine)
    sql = (f"SELECT COALESCE(s.openclaw_agent, '(' || u.source || ')'), {_SUMS}, MAX(u.ts), "
           "COUNT(DISTINCT u.session_id), GROUP_CONCAT(DISTINCT s.billing) "
           f"FROM ({store.usage_sql}) u LEFT JOIN sessions s ON s.session_id = u.session_id{where} "
           "GROUP BY 1 ORDER BY SUM(cost_usd) DESC, 1")
    out = []
    for key, *rest in store.db.execute(sql, args):
        row = Row(key, extra={"last_activity": iso_local(rest[8], tz), "sessions": rest[9],
                              "billing": sorted(rest[10].split(",")) if rest[10] else []})
        row.totals.add(*rest[:8])
        out.append(row)
    return out


def _machines(store, kind, tz, lo, hi, source) -> list[Row]:
    """One row per machine name: they add up to the totals of every other report."""
    out = []
    for key, *rest in _grouped(store, "machine", lo, hi, source, order="1", usage_sql=machine_usage_sql(store.store)):
        row = Row(key, extra={"first_activity": iso_local(rest[8], tz), "last_activity": iso_local(rest[9], tz),
                              "this_machine": key == store.store.machine,
                              "models": sorted(rest[10].split(",")) if rest[10] else []})
        row.totals.add(*rest[:8])
        out.append(row)
    return out


# Tool usage, kept or rolled up, in one shape: one row per (tool, response) for kept responses, sums per slot for
# rolled-up ones. name = '' rows count each response that called any tool once (the report's totals).
_TOOL_USAGE_SQL = """
    SELECT t.name AS name, t.calls AS calls, r.input_tokens, r.output_tokens, r.cache_write_5m, r.cache_write_1h,
           r.cache_read, r.cost_usd, 1 AS requests, (r.priced = 0) AS unpriced, r.ts AS ts, r.source AS source
           {r_machine}
      FROM ({tools}) t JOIN requests r ON r.message_id = t.message_id
    UNION ALL
    SELECT name, calls, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, cost_usd, requests,
           CASE WHEN priced = 0 THEN requests ELSE 0 END, slot, source {machine}
      FROM tool_rollups WHERE {rollup_filter}
"""
_PER_TOOL, _ANY_TOOL = ({with_machine: _TOOL_USAGE_SQL.format(
    tools=tools, rollup_filter=rollup_filter, r_machine=", r.machine AS machine" if with_machine else "",
    machine=", machine" if with_machine else "") for with_machine in (False, True)} for tools, rollup_filter in (
    ("SELECT message_id, name, COUNT(*) AS calls FROM tool_calls GROUP BY message_id, name", "name != ''"),
    ("SELECT message_id, '' AS name, COUNT(*) AS calls FROM tool_calls GROUP BY message_id", "name = ''")))
_TOOL_SUMS = ("SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m), SUM(cache_write_1h), SUM(cache_read), "
              "SUM(cost_usd), SUM(requests), SUM(unpriced)")


def _tools(store, kind, tz, lo, hi, source) -> list[Row]:
    """Per tool: how often it was called, and the tokens of the responses that called it.

    A response that called two tools counts toward both rows, so rows do not add up to the totals."""
    where, args = store.where(lo, hi, source)
    per_tool = _PER_TOOL[store.machine is not None]
    sql = f"SELECT name, SUM(calls), {_TOOL_SUMS} FROM ({per_tool}){where} GROUP BY name ORDER BY 2 DESC, 1"
    out = []
    for name, calls, *sums in store.db.execute(sql, args):
        server = name.split("__")[1] if name.startswith("mcp__") and name.count("__") >= 2 else None
        row = Row(name, extra={"calls": calls, "mcp_server": server})
        row.totals.add(*sums)
        out.append(row)
    return out


def _tool_totals(store, lo, hi, source) -> Totals:
    """The responses that called any tool, each counted once."""
    where, args = store.where(lo, hi, source)
    row = store.db.execute(f"SELECT {_TOOL_SUMS} FROM ({_ANY_TOOL[store.machine is not None]}){where}",
                           args).fetchone()
    totals = Totals()
    if row and row[6]:
        totals.add(*[v or 0 for v in row])
    return totals
