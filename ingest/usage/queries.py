"""The TUI's read queries over the store: the overview snapshot, one session's detail, the side views, cap windows."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from ..clock import DAY_MS, MINUTE_MS, local_day
from ..pricing import model_family
from ..store import ownership
from ..store.store import Store
from . import spikes
from .reports import Report, build_report
from .scope import has_machines, machine_usage_sql, store_ready  # noqa: F401  (machine_usage_sql: CLI, exporters)
from .session_detail import (  # noqa: F401 - one session's drill-down, importable from here as before
    DETAIL_REQUEST_LIMIT,
    SYNTHETIC,
    Breakdown,
    RequestRow,
    SessionDetail,
    session_detail,
)

ACTIVE_MS = 5 * MINUTE_MS
"""A session with a line in the last five minutes counts as active (live marker, listed first)."""
SESSION_LIMIT = 500
"""At most this many sessions are shown; the table pages no further than that."""
DAILY_DAYS = 14
SORTS = ("activity", "cost", "tokens", "project")
FAMILIES = ("opus", "sonnet", "haiku", "other")


# -- overview ---------------------------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class SessionRow:
    """One line of the sessions table: who spent, where, and how much."""

    session_id: str
    source: str
    project: str | None
    title: str | None
    git_branch: str | None
    models: tuple[str, ...]
    first_ms: int | None
    last_ms: int | None
    tokens: int
    cost_usd: float
    requests: int
    active: bool
    agent: str | None = None
    """The OpenClaw agent the session ran under (from its agent store), else None."""
    machines: tuple[str, ...] = ()
    """The machines whose rows this session's usage comes from (one, unless a session folder is synced)."""


@dataclass(slots=True, frozen=True)
class FamilyShare:
    family: str
    tokens: int
    cost_usd: float
    token_share: float
    """0..1 of all tokens in the range."""
    cost_share: float


@dataclass(slots=True, frozen=True)
class DayTotal:
    day: date
    tokens: int
    cost_usd: float
    requests: int
    spike: bool
    """Well above the days before it (the rule in `spikes`, which the spike alert shares)."""


@dataclass(slots=True)
class Overview:
    """Everything the overview screen shows, gathered in one read."""

    now_ms: int
    has_data: bool
    sessions: list[SessionRow] = field(default_factory=list)
    families: list[FamilyShare] = field(default_factory=list)
    days: list[DayTotal] = field(default_factory=list)
    last_line_ms: int | None = None
    windows: dict = field(default_factory=dict)
    """Window name ("week", "five_hour", "month", …) → WindowStatus from `limits.compute_status`."""
    requests: int = 0
    sort: str = "activity"
    filter_text: str = ""
    machines: tuple[str, ...] = ()
    """This machine and every machine merged from the sync folder."""
    next_step: str | None = None
    """With no % for the week: the one line saying how to get one (`usage.advice`), filled in by the screen."""
    balance: object = None
    """The prepaid API balance (`usage.balance.Balance`) when one is configured."""
    partial: bool = False
    """Read without the forecasts and the top sessions (`detail=False`): the TUI's quick first paint."""


def overview(store: Store, settings, now_ms: int, *, tz: tzinfo | None = None,
             filter_text: str = "", sort: str = "activity", limit: int = SESSION_LIMIT,
             previous: list[SessionRow] | None = None, changed: frozenset[str] = frozenset(),
             past=None, detail: bool = True) -> Overview:
    """Everything the overview shows. `previous` + `changed`: the last sessions list and the sessions a commit
    touched since (activity order, no filter): only those are read again (`session_update`). `past`: a PastCache.
    `detail=False`: no forecast and no top sessions (no weeks of history read), for a first paint."""
    tz = tz or settings.zone()
    if not store_ready(store):
        return Overview(now_ms, False, sort=sort, filter_text=filter_text)
    db = store.db
    requests = db.execute("SELECT (SELECT COUNT(*) FROM requests) + "
                          "(SELECT COALESCE(SUM(requests), 0) FROM rollups)").fetchone()[0]
    last = db.execute("SELECT MAX(ts) FROM requests").fetchone()[0]
    last_session = db.execute("SELECT MAX(last_ts) FROM sessions").fetchone()[0]
    if last_session is not None and (last is None or last_session > last):
        last = last_session
    ov = Overview(now_ms, bool(requests) or last is not None, last_line_ms=last, requests=requests,
                  sort=sort, filter_text=filter_text)
    if previous is not None and changed and sort == "activity" and not filter_text.strip():
        from .session_update import update_sessions
        ov.sessions = update_sessions(store, previous, changed, now_ms, limit)
    else:
        ov.sessions = sessions(store, now_ms, filter_text=filter_text, sort=sort, limit=limit)
    ov.machines = known_machines(store)
    ov.windows = window_status(store, settings, now_ms, past, detail)
    ov.partial = not detail
    from .balance import compute_balance
    ov.balance = compute_balance(store, settings, now_ms)
    week = ov.windows.get("week")
    start = getattr(week, "start_ms", None) or now_ms - 7 * DAY_MS
    ov.families = family_split(store, start, now_ms + 1)
    ov.days = daily(store, now_ms, tz)
    return ov


def known_machines(store: Store) -> tuple[str, ...]:
    """This machine and the ones merged from the sync folder, from the record of merged files (a few rows, where
    scanning every request for its machine would cost a pass over the table)."""
    names = {store.machine}
    try:
        names |= {r[0] for r in store.db.execute("SELECT DISTINCT machine FROM sync_files WHERE problem IS NULL "
                                                 "OR refused > 0")}
    except sqlite3.OperationalError:
        pass  # a store from before sync existed
    return tuple(sorted(names))


def stored_machines(store: Store) -> list[str]:
    """Every machine name with rows in the store (a pass over the tables: for checking a --machine, not per frame)."""
    if not has_machines(store):  # a store from before machines: every row is this machine's
        return [store.machine] if store.db.execute("SELECT EXISTS (SELECT 1 FROM requests) OR EXISTS "
                                                   "(SELECT 1 FROM rollups)").fetchone()[0] else []
    return [r[0] for r in store.db.execute("SELECT machine FROM requests UNION SELECT machine FROM rollups ORDER BY 1")]


SESSION_COLUMNS = "session_id, source, project, title, git_branch, first_ts, last_ts, openclaw_agent"
"""What `session_rows` takes of each `sessions` row, in this order."""


def sessions(store: Store, now_ms: int, *, filter_text: str = "", sort: str = "activity",
             limit: int = SESSION_LIMIT) -> list[SessionRow]:
    """The newest sessions with their totals; active ones (a line in the last 5 minutes) first by default.
    A filter also searches older sessions by project, title, id, branch and OpenClaw agent."""
    db = store.db
    # The newest sessions whatever their age: someone back from a month off still sees their last work.
    meta = {r[0]: r for r in db.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions ORDER BY last_ts DESC LIMIT ?", (limit * 2,))}
    needle = filter_text.strip().lower()
    if needle:
        like = f"%{needle}%"
        for r in db.execute(
                f"SELECT {SESSION_COLUMNS} FROM sessions WHERE lower(COALESCE(project, '')) LIKE ? "
                f"OR lower(COALESCE(title, '')) LIKE ? OR lower(session_id) LIKE ? "
                f"OR lower(COALESCE(git_branch, '')) LIKE ? "
                f"OR lower(COALESCE(openclaw_agent, '')) LIKE ? "
                f"ORDER BY last_ts DESC LIMIT ?", (like, like, like, like, like, limit * 2)):
            meta.setdefault(r[0], r)
    rows = [row for row in session_rows(store, meta, now_ms) if not needle or _matches(row, needle)]
    rows.sort(key=_SORT_KEYS.get(sort, _SORT_KEYS["activity"]))
    return rows[:limit]


def session_rows(store: Store, meta: dict[str, tuple], now_ms: int) -> list[SessionRow]:
    """One SessionRow per `sessions` row in `meta` (session id → SESSION_COLUMNS), with its totals. A session that
    replays another's history starts at its own first response, not at the copied lines' time."""
    totals = _session_totals(store, list(meta))
    replayers = ownership.replayers(store, list(meta))
    rows = []
    for sid, (_, source, project, title, branch, first, last, agent) in meta.items():
        tokens, cost, reqs, models, t_first, t_last, machines = totals.get(sid, (0, 0.0, 0, (), None, None, ()))
        first = first if first is not None and (sid not in replayers or t_first is None) else t_first
        last = last if last is not None else t_last
        rows.append(SessionRow(sid, source, project, title, branch, models, first, last, tokens, cost, reqs,
                               last is not None and now_ms - last <= ACTIVE_MS, agent, machines))
    return rows


def _matches(row: SessionRow, needle: str) -> bool:
    hay = " ".join([row.session_id, row.project or "", row.title or "", row.git_branch or "", row.agent or "",
                    *row.models, *(model_family(m) for m in row.models), *row.machines]).lower()
    return needle in hay


_SORT_KEYS = {
    "activity": lambda r: (not r.active, -(r.last_ms or 0), r.session_id),
    "cost": lambda r: (-r.cost_usd, -(r.last_ms or 0), r.session_id),
    "tokens": lambda r: (-r.tokens, -(r.last_ms or 0), r.session_id),
    # By the name shown (the last part of the path), so "api" comes before "notes" whatever their parents.
    "project": lambda r: ((r.project or "~").rstrip("/").rsplit("/", 1)[-1].lower(), (r.project or "").lower(),
                          -(r.last_ms or 0), r.session_id),
}


def _session_totals(store: Store, ids: list[str]) -> dict[str, tuple]:
    """session → (tokens, cost, requests, models, first ts, last ts, machines), kept and rolled-up rows together."""
    out: dict[str, list] = {}
    machine = "machine" if has_machines(store) else "''"
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        # The two halves of USAGE_SQL queried separately so the per-session index serves the requests side.
        for table, n in (("requests", "1"), ("rollups", "requests")):
            ts = "ts" if table == "requests" else "slot"
            sql = (f"SELECT session_id, model, SUM(input_tokens + output_tokens + cache_write_5m + cache_write_1h "
                   f"+ cache_read), SUM(cost_usd), SUM({n}), MIN({ts}), MAX({ts}), {machine} FROM {table} "
                   f"WHERE session_id IN ({marks}) GROUP BY session_id, model, {machine}")
            for sid, model, tokens, cost, reqs, first, last, name in store.db.execute(sql, chunk):
                acc = out.setdefault(sid, [0, 0.0, 0, [], None, None, set()])
                if name:
                    acc[6].add(name)
                acc[0] += tokens or 0
                acc[1] += cost or 0.0
                acc[2] += reqs or 0
                if model != SYNTHETIC and model not in acc[3]:
                    acc[3].append(model)
                acc[4] = first if acc[4] is None else min(acc[4], first)
                acc[5] = last if acc[5] is None else max(acc[5], last)
    return {sid: (a[0], a[1], a[2], tuple(sorted(a[3])), a[4], a[5], tuple(sorted(a[6]))) for sid, a in out.items()}


def family_split(store: Store, lo_ms: int, hi_ms: int) -> list[FamilyShare]:
    """Share of tokens and of estimated cost per model family in [lo, hi); families with no use are left out."""
    sums: dict[str, list] = {f: [0, 0.0] for f in FAMILIES}
    # Each table on its own through its time index (USAGE_SQL's union builds every row's columns: 3× slower), a
    # model's rolled-up part added to its rows' sums.
    per_model: dict[str, list] = {}
    for table, ts in (("requests", "ts"), ("rollups", "slot")):
        sql = (f"SELECT model, SUM(input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read), "
               f"SUM(cost_usd) FROM {table} WHERE {ts} >= ? AND {ts} < ? GROUP BY model")
        for model, tokens, cost in store.db.execute(sql, (lo_ms, hi_ms)):
            old = per_model.get(model)
            per_model[model] = [tokens, cost] if old is None else [(old[0] or 0) + (tokens or 0),
                                                                   (old[1] or 0.0) + (cost or 0.0)]
    for model, (tokens, cost) in per_model.items():
        if model == SYNTHETIC:
            continue
        acc = sums[model_family(model)]
        acc[0] += tokens or 0
        acc[1] += cost or 0.0
    all_tokens = sum(v[0] for v in sums.values())
    all_cost = sum(v[1] for v in sums.values())
    return [FamilyShare(f, t, c, t / all_tokens if all_tokens else 0.0, c / all_cost if all_cost else 0.0)
            for f, (t, c) in sums.items() if t or c]


def daily(store: Store, now_ms: int, tz: tzinfo, days: int = DAILY_DAYS) -> list[DayTotal]:
    """Totals for each of the last `days` local days (today last), with spike days flagged by the one rule in
    `spikes` (the spike alert's): SPIKE_DAYS more days are read so each shown day has its full baseline."""
    today = local_day(now_ms, tz)
    read = spikes.read_days(store, tz, today - timedelta(days=days - 1 + spikes.SPIKE_DAYS), today)
    flags = spikes.flags(read)
    return [DayTotal(d.day, d.tokens, d.cost_usd, d.requests, flag) for d, flag in zip(read[-days:], flags[-days:])]


# -- side views -------------------------------------------------------------------------------------

VIEW_REPORTS = {"models": "models", "projects": "projects", "tools": "tools", "days": "daily", "machines": "machines",
                "attribution": "attribution"}


def view_report(store: Store, view: str, tz: tzinfo, now_ms: int, days: int | None = 30) -> Report | None:
    """The models / projects / tools / days view over the last `days` local days (None: all history)."""
    if not store_ready(store) or (view == "machines" and not has_machines(store)):
        return None
    today = local_day(now_ms, tz)
    since = today - timedelta(days=days - 1) if days else None
    report = build_report(store, VIEW_REPORTS[view], tz, since, today,
                          now=datetime.fromtimestamp(now_ms / 1000, UTC))
    if view == "days":
        report.rows.reverse()  # newest day first, like every other live list
    return report


@dataclass(slots=True)
class AlertRows:
    columns: list[str]
    rows: list[tuple]
    available: bool
    """False when the store has no alerts table yet (alerting never ran)."""


def alert_rows(store: Store, limit: int = 500) -> AlertRows:
    """Whatever the alerts table holds, newest first; its columns are read from the table itself."""
    if not store_ready(store):
        return AlertRows([], [], False)
    exists = store.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'").fetchone()
    if not exists:
        return AlertRows([], [], False)
    cur = store.db.execute(f"SELECT * FROM alerts ORDER BY rowid DESC LIMIT {int(limit)}")
    return AlertRows([d[0] for d in cur.description], cur.fetchall(), True)


# -- cap windows and forecasts ----------------------------------------------------------------------


def window_status(store: Store, settings, now_ms: int, past=None, detail: bool = True) -> dict:
    """Cap windows ("week", "five_hour", "month", the per-model weeks) → `limits.WindowStatus` with its forecast
    (`detail=False`: without). The TUI's one door to the limits maths (`past`: a `series.PastCache` it keeps
    between live commits)."""
    from .limits import compute_status
    return compute_status(store, settings, now_ms=now_ms, past=past, detail=detail)
