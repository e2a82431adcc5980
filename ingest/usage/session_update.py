"""The sessions list after a commit, re-reading only the sessions it touched (the TUI's live path).

A commit of Claude Code's lines touches one or two sessions; re-reading the 2×limit newest sessions' totals on
every commit cost the open TUI most of a core at 10 lines a second. For the default order (activity) without a
filter the newest `limit` sessions are the answer, and a session's last activity only moves forward, so the
previous list plus the touched sessions, re-sorted and cut, is exactly what `queries.sessions` would return."""

from __future__ import annotations

from dataclasses import replace

from .queries import _SORT_KEYS, ACTIVE_MS, SESSION_COLUMNS, SESSION_LIMIT, SessionRow, session_rows


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
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE session_id IN ({marks})", chunk))
    rows = [replace(r, active=r.last_ms is not None and now_ms - r.last_ms <= ACTIVE_MS)
            for r in previous if r.session_id not in meta]
    rows += session_rows(store, meta, now_ms)
    rows.sort(key=_SORT_KEYS["activity"])
    return rows[:limit]
