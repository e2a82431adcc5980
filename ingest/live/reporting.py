"""What the live service tells the outside: `Change` per committed batch, `WatchStats` counters, and the `Reporter`
that holds both under one lock, so the writer loop, the follower and the store guard share it, not the service."""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

log = logging.getLogger("tokentop.ingest.live.service")


@dataclass(frozen=True, slots=True)
class Change:
    """What one committed batch changed; subscribers get it on the ingest thread and must return quickly."""

    sessions: frozenset[str]
    newest_ts: int | None
    """Newest response time in the batch, Unix ms."""
    new_requests: int
    files: int
    """Files that had new bytes (0 when a follower saw another process commit)."""
    updated_requests: int = 0
    """Responses whose row was replaced by a larger copy (a streamed response's final line)."""
    at: float = field(default_factory=time.time)
    alerts_fired: tuple = ()
    """The `usage.alerts.Alert`s this commit fired (the writer checks after each batch with new rows)."""


@dataclass(slots=True)
class WatchStats:
    """Counters for status lines and the TUI. A snapshot: read `service.stats` again for fresh numbers."""

    role: str = "starting"
    mode: str = ""
    """'events' (file events plus a slow safety poll) or 'polling' (with the reason when not asked for)."""
    roots_watched: int = 0
    files_watched: int = 0
    lines_ingested: int = 0
    """Lines read since the catch-up (the catch-up's own figures are in `service.catchup`)."""
    responses_added: int = 0
    responses_updated: int = 0
    batches: int = 0
    polls: int = 0
    last_ingest: float | None = None
    """Wall time of the last batch that read new bytes."""
    last_line: float | None = None
    """Wall time a complete new line last arrived (for a follower: when the writer last added rows)."""
    catchup_done: int = 0
    catchup_total: int = 0
    catchup_seconds: float | None = None
    skipped: Counter = field(default_factory=Counter)
    errors: int = 0
    last_error: str | None = None
    """The last failure, or the last notice about the database file (deleted, replaced, damaged)."""
    reopens: int = 0
    """Times the database file was found deleted or replaced while running and the new one taken up."""


class Reporter:
    """The stats (read from any thread) and the subscribers (called on the ingest thread)."""

    def __init__(self) -> None:
        self._stats = WatchStats()
        self._lock = threading.Lock()
        self._subscribers: list[Callable[[Change], None]] = []
        self._sub_lock = threading.Lock()
        self.last_change: Change | None = None

    @property
    def role(self) -> str:
        return self._stats.role

    def snapshot(self) -> WatchStats:
        with self._lock:
            return replace(self._stats, skipped=Counter(self._stats.skipped))

    def set(self, **values) -> None:
        with self._lock:
            for key, value in values.items():
                setattr(self._stats, key, value)

    def add(self, skipped: Counter | None = None, **amounts: int) -> None:
        """Add to counters (and merge skipped-line reasons) in one step."""
        with self._lock:
            for key, amount in amounts.items():
                setattr(self._stats, key, getattr(self._stats, key) + amount)
            if skipped:
                self._stats.skipped.update(skipped)
                self._stats.skipped = +self._stats.skipped  # (a last line's count taken back nets to nothing)

    def failed(self, text: str) -> None:
        with self._lock:
            self._stats.errors += 1
            self._stats.last_error = text

    def tell(self, text: str) -> None:
        """One line for the person running us: logged, and shown as the last error in status lines."""
        self.failed(text)
        log.warning("%s", text)

    def subscribe(self, callback: Callable[[Change], None]) -> Callable[[], None]:
        with self._sub_lock:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._sub_lock:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)
        return unsubscribe

    def notify(self, change: Change) -> None:
        self.last_change = change
        with self._sub_lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            try:
                callback(change)
            except Exception:  # noqa: BLE001 - one broken subscriber must not stop ingestion
                log.exception("change subscriber failed")


def summarize(outcomes) -> tuple[set[str], int | None, int, int, int, int, Counter]:
    """One batch's `ingester.FileOutcome`s → (sessions, newest ts, new, updated, files with new bytes, lines,
    skipped); a file that could not be read is logged."""
    sessions: set[str] = set()
    newest = None
    new = updated = files = lines = 0
    skipped: Counter = Counter()
    for o in outcomes:
        sessions |= o.sessions
        new += o.new_requests
        updated += o.updated_requests
        lines += o.lines
        skipped.update(o.skipped)
        if o.bytes_read or o.restarted:
            files += 1
        if o.newest_ts and (newest is None or o.newest_ts > newest):
            newest = o.newest_ts
        if o.error:
            log.info("could not read %s: %s", o.path, o.error)
    return sessions, newest, new, updated, files, lines, skipped
