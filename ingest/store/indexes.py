"""Secondary indexes a cold backfill builds once at the end instead of row by row.

Only reads use them (the write path finds rows by `dedup_key`, `message_id` and session, whose indexes stay). A cold
backfill into an empty store drops them in one transaction, writes every row, and creates them again in one pass,
which is cheaper than keeping them current through random-order inserts. A backfill killed in between leaves them
missing: every writable open puts back any that is missing, so the schema is whole again at the next start."""

from __future__ import annotations

import sqlite3

from .transaction import Transaction

DEFERRED = {
    "requests_ts": "CREATE INDEX requests_ts ON requests(ts)",
    "tool_calls_message": "CREATE INDEX tool_calls_message ON tool_calls(message_id)",
    "requests_block": "CREATE INDEX requests_block ON requests(ts) WHERE api_block IS NOT NULL",
}
"""Name → the statement of the migration that made it (0; `requests_block`: 8), word for word (sqlite_master keeps
the text as written). Not deferred: `requests_session` and `session_claims_session`, which the write path reads
(a session's rows are re-priced when its cost-state changes, `claude_costs.retag`, and its contested responses
weighed again, `ownership.resolve`), and the dedup and message-id indexes the upsert and the sidechain rule use."""


def _present(db: sqlite3.Connection) -> set[str]:
    names = ", ".join("?" * len(DEFERRED))
    return {r[0] for r in db.execute(f"SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ({names})",
                                     tuple(DEFERRED))}


def defer(db: sqlite3.Connection) -> bool:
    """Drop the deferred indexes if the store holds no request yet; True if it did."""
    with Transaction(db):
        if db.execute("SELECT EXISTS (SELECT 1 FROM requests)").fetchone()[0]:
            return False
        for name in _present(db):
            db.execute(f"DROP INDEX {name}")
    return True


def restore(db: sqlite3.Connection) -> None:
    """Create whichever deferred index is missing (a no-op read when all are there)."""
    if len(_present(db)) == len(DEFERRED):
        return
    with Transaction(db):
        for name in DEFERRED.keys() - _present(db):  # asked again under the write lock: another may have made it
            db.execute(DEFERRED[name])
