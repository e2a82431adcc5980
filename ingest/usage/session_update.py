"""The sessions list after a commit, re-reading only the sessions it touched (the TUI's live path).

A commit of Claude Code's lines touches one or two sessions; re-reading the 2×limit newest sessions' totals on
every commit cost the open TUI most of a core at 10 lines a second. For the default order (activity) without a
filter the newest `limit` sessions are the answer, and a session's last activity only moves forward, so the
previous list plus the touched sessions, re-sorted and cut, is exactly what `queries.sessions` would return."""

from __future__ import annotations

from dataclasses import replace

from .queries import _SORT_KEYS, ACTIVE_MS, SESSION_LIMIT, SessionRow, _session_totals

_COLS = "session_id, source, project, title, git_branch, first_ts, last_ts, openclaw_agent"


def update_sessions(store, previous: list[SessionRow], changed, now_ms: int,
                    limit: int = SESSION_LIMIT) -> list[SessionRow]:
    """`previous` (an activity-ordered, unfiltered `queries.sessions` answer) with the sessions in `changed`
    read again; every row's live flag redone for `now_ms`."""
    ids = sorted(changed)
    meta: dict[str, tuple] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        meta.update((r[0], r) for r in store.db.execute(
            f"SELECT {_COLS} FROM sessions WHERE session_id IN ({marks})", chunk))
    totals = _session_totals(store, list(meta))
    rows = [replace(r, active=r.last_ms is not None and now_ms - r.last_ms <= ACTIVE_MS)
            for r in previous if r.session_id not in meta]
    for sid, (_, source, project, title, branch, first, last, agent) in meta.items():
        tokens, cost, reqs, models, t_first, t_last, machines = totals.get(sid, (0, 0.0, 0, (), None, None, ()))
        first = first if first is not None else t_first
        last = last if last is not None else t_last
        rows.append(SessionRow(sid, source, project, title, branch, models, first, last, tokens, cost, reqs,
                               last is not None and now_ms - last <= ACTIVE_MS, agent, machines))
    rows.sort(key=_SORT_KEYS["activity"])
    return rows[:limit]
