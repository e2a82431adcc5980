"""Ingesting OpenClaw agent stores: each batch of new events and the cursors that cover it in one transaction."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..logs.openclaw_store.reader import AgentStore, SessionCursor, StoreReader, find_stores
from ..logs.openclaw_store.schema import StoreUnreadable
from ..records import OPENCLAW
from ..store import agent_cursors, harness

CUSTOM_TITLE_RANK = 3
"""A label the user gave the session in OpenClaw ranks with Claude Code's custom title."""


@dataclass(slots=True)
class StoreStatus:
    """What doctor and the TUI's source list say about one agent store."""

    path: str
    agent_id: str
    schema_version: int | None = None
    app_version: str | None = None
    layout: str | None = None
    sessions: int = 0
    cli_harness_messages: int = 0
    """Replies of sessions OpenClaw ran through the Claude Code CLI: counted from that CLI's transcripts, not here."""
    notes: list[str] = field(default_factory=list)
    problem: str | None = None
    """Why it was not read (one line), or None."""


@dataclass(slots=True)
class StoresOutcome:
    statuses: list[StoreStatus] = field(default_factory=list)
    new_requests: int = 0
    updated_requests: int = 0
    lines: int = 0
    skipped: dict = field(default_factory=dict)
    sessions: set[str] = field(default_factory=set)
    newest_ts: int | None = None
    scanned: list[str] = field(default_factory=list)
    """Stores whose files had changed and were read (the others cost a header read only)."""


def _signature(path: str) -> tuple:
    """What changes with every commit: the WAL-index header in the -shm (its change counter and last frame; a
    WAL reused after a checkpoint keeps its size and, within one clock tick, its mtime), the database header's
    change counter, and the files' identities. Plain reads: no lock, no write."""
    sig: list[tuple[int, int, int, bytes] | None] = []
    for suffix, length in (("", 100), ("-shm", 48), ("-wal", 0)):
        try:
            with open(path + suffix, "rb") as f:
                st = os.fstat(f.fileno())
                sig.append((st.st_ino, st.st_size, st.st_mtime_ns, f.read(length) if length else b""))
        except OSError:
            sig.append(None)
    return tuple(sig)


class AgentStores:
    """Keeps one read-only reader per store between scans; the ingester's store receives the rows."""

    def __init__(self, ingester) -> None:
        self.ingester = ingester
        self._readers: dict[str, StoreReader] = {}
        self._seen: dict[str, tuple[tuple, StoreStatus]] = {}
        """Per store: the files' (size, mtime) at the last clean scan, and what it said then."""
        self.last: StoresOutcome | None = None

    def close(self) -> None:
        for reader in self._readers.values():
            reader.close()
        self._readers.clear()

    def roots(self) -> list[str]:
        from ..logs.discovery import configured_roots
        return [str(p) for p, source in configured_roots(self.ingester.settings) if source == OPENCLAW]

    def ingest(self, roots: list[str] | None = None) -> StoresOutcome:
        """Read what is new in every agent store. Never raises for a bad store: its reason lands in its status."""
        outcome = StoresOutcome()
        stores, problems = find_stores(self.roots() if roots is None else roots)
        for path, why in problems:
            outcome.statuses.append(StoreStatus(path, path.split("/agents/")[-1].split("/")[0], problem=why))
        live = set()
        for store in stores:
            live.add(store.path)
            sig = _signature(store.path)
            seen = self._seen.get(store.path)
            if seen is not None and seen[0] == sig:
                outcome.statuses.append(seen[1])  # no commit since the last scan: not even a query
                continue
            status = self._ingest_store(store, outcome)
            outcome.scanned.append(store.path)
            outcome.statuses.append(status)
            if status.problem is None:
                self._seen[store.path] = (sig, status)
            else:
                self._seen.pop(store.path, None)
        for path in set(self._readers) - live:
            self._readers.pop(path).close()
            self._seen.pop(path, None)
        self.last = outcome
        return outcome

    def _ingest_store(self, store: AgentStore, outcome: StoresOutcome) -> StoreStatus:
        status = StoreStatus(store.path, store.agent_id)
        reader = self._readers.get(store.path) or self._readers.setdefault(store.path, StoreReader(store))
        try:
            shape = reader.open()
            status.agent_id = reader.agent_id
            status.schema_version, status.app_version, status.layout = shape.schema_version, shape.app_version, \
                shape.layout
            status.notes = list(shape.notes)
            metas = reader.sessions()
            status.sessions = len(metas)
            db = self.ingester.store
            cursors = {sid: SessionCursor.from_json(c) for sid, c in agent_cursors.load(db, store.path).items()}
            cli = {sid for sid, m in metas.items() if m.billing == "cli-harness"}
            for batch in reader.scan(cursors, metas):
                result = batch.result
                if cli:  # counted once: as Claude Code, from the CLI's own transcripts (tagged with the agent below)
                    kept = [r for r in result.records if r.session_id not in cli]
                    status.cli_harness_messages += len(result.records) - len(kept)
                    result.records = kept
                for sid, info in result.sessions.items():
                    meta = metas.get(sid)
                    if meta and meta.title:
                        info.title, info.title_rank = meta.title[:200], CUSTOM_TITLE_RANK
                with db.transaction():
                    written = db.write_batch(result.records, result.sessions.values())
                    agent_cursors.save(db, store.path, {sid: c.to_json() for sid, c in batch.cursors.items()})
                    agent_cursors.tag_sessions(db, [
                        (sid, reader.agent_id, getattr(metas.get(sid), "parent_session_id", None),
                         getattr(metas.get(sid), "billing", None)) for sid in result.sessions])
                cursors.update(batch.cursors)
                outcome.new_requests += written.new_requests
                outcome.updated_requests += written.updated_requests
                outcome.lines += result.lines
                outcome.sessions |= written.sessions
                for k, v in result.skipped.items():
                    outcome.skipped[k] = outcome.skipped.get(k, 0) + v
                if written.newest_ts and (outcome.newest_ts is None or written.newest_ts > outcome.newest_ts):
                    outcome.newest_ts = written.newest_ts
            links = [(m.claude_session_id, reader.agent_id) for m in metas.values()
                     if m.billing == "cli-harness" and m.claude_session_id]
            if links:
                with db.transaction():
                    agent_cursors.tag_sessions(db, [(sid, agent, None, "cli-harness") for sid, agent in links])
            if cli:
                with db.transaction():
                    status.cli_harness_messages += harness.purge_copies(db, cli)
        except StoreUnreadable as exc:
            status.problem = exc.reason
            reader.close()
        return status
