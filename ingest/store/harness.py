"""OpenClaw sessions that drive the Claude Code CLI as their harness (`billing = 'cli-harness'`): their usage is
counted once, as Claude Code, from the CLI's own transcripts (`../shared/docs/log-formats.md` §2).

The agent-store reader leaves such a session's OpenClaw events out before writing, but the same events reach the
store by a second road: OpenClaw publishes reset or deleted generations as `sessions/<uuid>.jsonl.reset.<ts>`
files, which the JSONL reader parses like any other session. This module is the one rule both roads share: an
OpenClaw row of a session tagged `cli-harness` is a copy and is never kept, whichever was read first."""

from __future__ import annotations

from collections.abc import Iterable

from ..records import UsageRecord

CLI_HARNESS = "cli-harness"
NOT_COPY_SQL = (f"NOT (source = 'openclaw' AND session_id IN (SELECT session_id FROM main.sessions "
                f"WHERE billing = '{CLI_HARNESS}'))")
"""The same rule in SQL, for rows staged by the parse workers (store/batch.py): not an OpenClaw copy."""


def _tagged(store, session_ids: Iterable[str]) -> set[str]:
    return store.existing(f"SELECT session_id FROM sessions WHERE billing = '{CLI_HARNESS}' AND session_id IN ({{}})",
                          set(session_ids))


def drop_copies(store, records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """The records, without OpenClaw ones of sessions already known to run on the Claude Code CLI."""
    records = list(records)
    openclaw = {r.session_id for r in records if r.source == "openclaw" and r.session_id}
    tagged = _tagged(store, openclaw) if openclaw else set()
    if not tagged:
        return records
    return [r for r in records if not (r.source == "openclaw" and r.session_id in tagged)]


def purge_copies(store, session_ids: Iterable[str]) -> int:
    """Delete OpenClaw rows of these sessions once they are tagged `cli-harness` (an archive read before the tag).
    Run inside the transaction that tags them; the usage triggers take the rows out of every rollup sum."""
    tagged = sorted(_tagged(store, session_ids))
    deleted = 0
    for start in range(0, len(tagged), 500):
        chunk = tagged[start:start + 500]
        deleted += store.db.execute(
            f"DELETE FROM requests WHERE source = 'openclaw' AND session_id IN ({','.join('?' * len(chunk))})",
            chunk).rowcount
    return deleted
