"""Running the store part of the hook and the statusline against a deadline, so neither ever waits on a writer.

SQLite's busy timeout bounds one wait, not a run: opening the store, reading and writing each wait again, and a
process holding a lock that blocks readers made the hook wait 5.2 s. Here the store work runs in a daemon thread
and the caller takes its answer only if it came before the deadline; otherwise it answers without the store (the
statusline from its payload, the hook with nothing), and the abandoned thread dies with the process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

LATE = object()
"""What `within` returns when the work missed its deadline (or raised): answer without it."""


class Budget:
    """A deadline fixed when a command starts, shared by everything it does."""

    def __init__(self, ms: int, started: float | None = None):
        self.ms = ms
        self.deadline = (time.monotonic() if started is None else started) + ms / 1000
        self.cancelled = threading.Event()
        """Set once the caller gave up: work still running must not commit what the caller will not show."""

    def left_ms(self) -> int:
        """Milliseconds still left (at least 1, so SQLite never waits without bound on a 0)."""
        return max(1, int((self.deadline - time.monotonic()) * 1000))

    def expired(self) -> bool:
        return self.cancelled.is_set() or time.monotonic() >= self.deadline


def within(budget: Budget, work: Callable[[], object]) -> object:
    """`work()`'s result if it finished before the budget's deadline, else LATE. An exception inside is LATE too:
    both callers fail open."""
    box: list = []

    def run() -> None:
        try:
            box.append(work())
        except BaseException:  # noqa: BLE001 - the caller answers without the store, whatever went wrong
            box.append(LATE)

    thread = threading.Thread(target=run, name="tokentop-store", daemon=True)
    thread.start()
    thread.join(max(0.0, budget.deadline - time.monotonic()))
    if thread.is_alive() or not box:
        budget.cancelled.set()
        return LATE
    return box[0]
