"""The TUI's messages: store changes coming in from the watcher thread, and typed query results from workers."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message


@dataclass
class DataChanged(Message):
    """The store changed (or the clock moved on enough to matter). A burst collapses into the newest one."""

    sessions: frozenset[str] = frozenset()
    """The sessions the commit touched; empty: anything may have changed (a sync, the clock, a follower)."""
    newest_ts: int | None = None
    reason: str = "data"

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message it took from the queue whether the next one, `message`, may stand in for it:
        # only the newest of a burst is handled, and it takes over this one's sessions.
        if not isinstance(message, DataChanged):
            return False
        message.sessions = self.sessions | message.sessions if self.sessions and message.sessions else frozenset()
        return True


@dataclass
class OverviewLoaded(Message):
    overview: object
    """An `ingest.queries.Overview`."""
    fired: list = field(default_factory=list)
    """`ingest.alerts.Alert`s that fired with this read (each once per window and level, across processes)."""
    active: list = field(default_factory=list)
    """Alerts whose window has not reset yet, for the banner."""


@dataclass
class SessionLoaded(Message):
    detail: object
    """An `ingest.queries.SessionDetail`."""


@dataclass
class ViewLoaded(Message):
    view: str
    data: object
    """A `reports.Report` for models/projects/tools/days, `queries.AlertRows` for alerts; None without a store."""


@dataclass
class FirstRunFound(Message):
    """What discovery found when the store was empty: roots (with existence and file counts) and the file count."""

    roots: list = field(default_factory=list)
    files: int = 0
    hint: str = ""
    stores: list = field(default_factory=list)
    """`doctor.agent_stores` entries: each OpenClaw agent store, with why it cannot be read when it cannot."""
