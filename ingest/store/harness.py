"""OpenClaw sessions that drive the Claude Code CLI as their harness (`billing = 'cli-harness'`): their usage is
counted once, as Claude Code, from the CLI's own transcripts (`../shared/docs/log-formats.md` §2).

The agent-store reader leaves such a session's OpenClaw events out before writing, but the same events reach the
store by a second road: OpenClaw publishes reset or deleted generations as `sessions/<uuid>.jsonl.reset.<ts>`
files, which the JSONL reader parses like any other session. This module is the one rule both roads share: an
OpenClaw row of a session tagged `cli-harness` is a copy and is never kept, whichever was read first."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..records import UsageRecord

CLI_HARNESS = "cli-harness"
_CHUNK = 500


def _tagged(store, session_ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(session_ids), _CHUNK):
        chunk = session_ids[start:start + _CHUNK]
        found.update(sid for (sid,) in store.db.execute(
            f"SELECT session_id FROM sessions WHERE billing = ? AND session_id IN ({','.join('?' * len(chunk))})",
            (CLI_HARNESS, *chunk)))
    return found


def drop_copies(store, records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """The records, without OpenClaw ones of sessions already known to run on the Claude Code CLI."""
    records = list(records)
    openclaw = sorted({r.session_id for r in records if r.source == "openclaw" and r.session_id})
    tagged = _tagged(store, openclaw) if openclaw else set()
    if not tagged:
        return records
    return [r for r in records if not (r.source == "openclaw" and r.session_id in tagged)]


def purge_copies(store, session_ids: Iterable[str]) -> int:
    """Delete OpenClaw rows of these sessions once they are tagged `cli-harness` (an archive read before the tag).
    Run inside the transaction that tags them; the usage triggers take the rows out of every rollup sum."""
    tagged = sorted(_tagged(store, sorted(set(session_ids))))
    deleted = 0
    for start in range(0, len(tagged), _CHUNK):
        chunk = tagged[start:start + _CHUNK]
        deleted += store.db.execute(
            f"DELETE FROM requests WHERE source = 'openclaw' AND session_id IN ({','.join('?' * len(chunk))})",
            chunk).rowcount
    return deleted
