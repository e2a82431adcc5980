"""Which session a response belongs to when several sessions' files carry it (a resumed session's copy).

The dedup rule (dedup.py) picks the line whose *numbers* count: the largest token total. Which *session* spent the
response is a separate question with its own rule, so a copy that wins on total (or on a tie-break) never moves
the response into the session that replayed it. Every session that carries a contested response leaves a claim
in `session_claims` (store migration 7), and the owner is, of the claimants:

1. a line that names its session (`sessionId`; a verbatim copy names the session whose file it was copied from,
   which may itself have been a copy, so it weighs as much as that session's own line) beats a line without
   `sessionId`, for which only the file's name speaks (`UsageRecord.session_rank`);
2. then the session whose own responses (ones no other session carries) begin first, a session with none at all
   first of all: a resumed session's file is the copied history followed by its own work, so the history belongs
   to the session that stopped there (a plain resume) or that went on from it soonest (one resumed from while
   still in use, a fork);
3. then the session whose last response is earliest (`sessions.last_ts`): of a chain of resumes that all carry
   the same history, the first one stopped first;
4. then the smaller session id, so the answer never depends on the order files are read in.

What the logs cannot settle (ids rewritten in the copy): a resumed session with no response of its own looks like
an original that stopped there, and wins rule 2; a fork that is itself resumed later has no own work left either.

Claims are recorded only for responses seen under more than one session (rare), and the owners of a session's
contested responses are chosen again whenever that session's last response moves or another of its responses
becomes contested. README "Numbers you can trust" says the same for users; tests/core/test_attribution.py holds
the rule to it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..records import UsageRecord

if TYPE_CHECKING:
    from .store import Store

Claim = tuple[int, str | None, str | None]
"""(rank, project, agent id) of one session's claim on one response."""

_NEVER = 2 ** 63 - 1
"""Sorts a session with no known last response after every other."""

_RESOLVE_SQL = f"""
    WITH claimants AS (SELECT DISTINCT session_id FROM session_claims WHERE dedup_key IN ({{keys}})),
    own AS (
        SELECT session_id, (SELECT r.ts FROM requests r WHERE r.session_id = claimants.session_id
                              AND NOT EXISTS (SELECT 1 FROM session_claims x WHERE x.dedup_key = r.dedup_key)
                            ORDER BY r.ts LIMIT 1) AS own_start
          FROM claimants),
    ranked AS (
        SELECT c.dedup_key, c.session_id, c.rank, c.project, c.agent_id,
               ROW_NUMBER() OVER (PARTITION BY c.dedup_key
                                  ORDER BY c.rank DESC, own.own_start IS NOT NULL, own.own_start,
                                           COALESCE(s.last_ts, {_NEVER}), c.session_id) AS n
          FROM session_claims c JOIN own ON own.session_id = c.session_id
               LEFT JOIN sessions s ON s.session_id = c.session_id
         WHERE c.dedup_key IN ({{keys}}))
    UPDATE requests SET session_id = ranked.session_id, project = ranked.project, agent_id = ranked.agent_id,
                        session_rank = ranked.rank
      FROM ranked
     WHERE ranked.n = 1 AND requests.dedup_key = ranked.dedup_key
       AND (requests.session_id != ranked.session_id OR requests.session_rank != ranked.rank)
    RETURNING requests.session_id
"""
"""Each chunk of keys to its owner (the rule in the module's docstring). `own_start`: the session's first response
no other session carries (none: every response it has is also elsewhere, as for a session that was resumed and
then stopped)."""


def claims_of(records: Iterable[UsageRecord]) -> dict[str, dict[str, Claim]]:
    """dedup key → session → its strongest claim, over every record of a batch (losers on total included)."""
    claims: dict[str, dict[str, Claim]] = {}
    for rec in records:
        by_session = claims.setdefault(rec.dedup_key, {})
        old = by_session.get(rec.session_id)
        if old is None or rec.session_rank > old[0]:
            by_session[rec.session_id] = (rec.session_rank, rec.project, rec.agent_id)
    return claims


def record_contested(store: Store, claims: dict[str, dict[str, Claim]], keys: Iterable[str]) -> set[str]:
    """Store the claims on every key of `keys` that more than one session carries (counting the stored row's
    session); returns those keys. Call before the upsert, which may replace the stored row's session."""
    from .store import _chunks, _marks  # the store's own chunking helpers (store.py imports this module)
    db = store.db
    wanted = list(keys)
    contested: set[str] = {k for k in wanted if len(claims[k]) > 1}
    stored: dict[str, tuple[str, int, str | None, str | None]] = {}
    for chunk in _chunks(wanted):
        for key, session, rank, project, agent in db.execute(
                f"SELECT dedup_key, session_id, session_rank, project, agent_id FROM requests "
                f"WHERE dedup_key IN ({_marks(chunk)})", chunk):
            stored[key] = (session, rank, project, agent)
            if any(s != session for s in claims[key]):
                contested.add(key)
    rows = []
    for key in contested:
        if key in stored:
            session, rank, project, agent = stored[key]
            rows.append((key, session, rank, project, agent))
        rows.extend((key, session, *claim) for session, claim in claims[key].items())
    if rows:
        db.executemany("INSERT INTO session_claims(dedup_key, session_id, rank, project, agent_id) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET rank = MAX(rank, excluded.rank)", rows)
    return contested


def resolve(store: Store, keys: set[str], moved_sessions: Iterable[str]) -> set[str]:
    """Give each contested response of `keys`, and of the sessions whose last response may have moved, to its owner.
    Returns the sessions whose totals changed."""
    from .store import _chunks, _marks
    db = store.db
    moved = set(moved_sessions)
    todo = set(keys)
    if not db.execute("SELECT EXISTS (SELECT 1 FROM session_claims)").fetchone()[0]:
        return set()
    # A newly contested response changes what its claimants have of their own: their other contested responses
    # are weighed again too.
    for chunk in _chunks(sorted(todo)):
        moved.update(r[0] for r in db.execute(
            f"SELECT DISTINCT session_id FROM session_claims WHERE dedup_key IN ({_marks(chunk)})", chunk))
    for chunk in _chunks(sorted(moved)):
        todo.update(r[0] for r in db.execute(
            f"SELECT dedup_key FROM session_claims WHERE session_id IN ({_marks(chunk)})", chunk))
    changed: set[str] = set()
    for chunk in _chunks(sorted(todo)):
        flipped = {r[0] for r in db.execute(_RESOLVE_SQL.format(keys=_marks(chunk)), chunk + chunk)}
        if flipped:
            changed |= flipped
            changed.update(r[0] for r in db.execute(
                f"SELECT DISTINCT session_id FROM session_claims WHERE dedup_key IN ({_marks(chunk)})", chunk))
    return changed


def forget(store: Store, cutoff_ms: int, machine: str) -> None:
    """Drop the claims on responses retention is about to fold: a rollup keeps the owner it had."""
    store.db.execute("DELETE FROM session_claims WHERE dedup_key IN "
                     "(SELECT dedup_key FROM requests WHERE ts < ? AND machine = ?)", (cutoff_ms, machine))


def replayers(store: Store, session_ids: list[str]) -> set[str]:
    """The sessions among `session_ids` that carry a copy of a response another session owns: their first line is
    the copy's (a resumed session whose copy rewrote every `sessionId`), so their own activity starts later."""
    from .store import _chunks, _marks
    try:
        if not store.db.execute("SELECT EXISTS (SELECT 1 FROM session_claims)").fetchone()[0]:
            return set()
    except sqlite3.OperationalError:
        return set()  # a read-only look at a store from before migration 7
    found: set[str] = set()
    for chunk in _chunks(session_ids):
        found.update(r[0] for r in store.db.execute(
            f"SELECT DISTINCT c.session_id FROM session_claims c JOIN requests r ON r.dedup_key = c.dedup_key "
            f"AND r.session_id != c.session_id WHERE c.session_id IN ({_marks(chunk)})", chunk))
    return found
