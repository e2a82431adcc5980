"""Where each OpenClaw agent store was read up to (per session), and what the store says of its sessions."""

from __future__ import annotations

from collections.abc import Iterable


def load(store, store_path: str) -> dict[str, bytes]:
    """session id -> the cursor JSON last committed for one agent store."""
    rows = store.db.execute("SELECT session_id, cursor FROM agent_store_cursors WHERE store = ?", (store_path,))
    return {sid: cursor.encode() if isinstance(cursor, str) else cursor for sid, cursor in rows}


def save(store, store_path: str, cursors: dict[str, bytes]) -> None:
    """Inside the caller's transaction, so a cursor never runs ahead of the rows it covers."""
    store.db.executemany(
        "INSERT INTO agent_store_cursors(store, session_id, cursor) VALUES (?, ?, ?) "
        "ON CONFLICT(store, session_id) DO UPDATE SET cursor = excluded.cursor",
        [(store_path, sid, c.decode()) for sid, c in cursors.items()])


def tag_sessions(store, rows: Iterable[tuple[str, str | None, str | None, str | None]]) -> None:
    """(session id, OpenClaw agent, parent session id, billing) onto sessions the batch already wrote."""
    store.db.executemany(
        "UPDATE sessions SET openclaw_agent = COALESCE(?, openclaw_agent), "
        "parent_session_id = COALESCE(?, parent_session_id), billing = COALESCE(?, billing) WHERE session_id = ?",
        [(agent, parent, billing, sid) for sid, agent, parent, billing in rows])


def agents(store) -> list[tuple[str, int]]:
    """Each OpenClaw agent with its session count (for doctor and `report agents`)."""
    return list(store.db.execute("SELECT openclaw_agent, count(*) FROM sessions WHERE openclaw_agent IS NOT NULL "
                                 "GROUP BY openclaw_agent ORDER BY openclaw_agent"))
