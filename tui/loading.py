"""One read of the store at a time per screen: a refresh asked for during a read runs once, right after it."""

from __future__ import annotations


class Reloads:
    """Mixed into screens. `refresh_data()` starts `start_load()` (a thread worker that posts a result message)
    unless a read is running; the result handler (or the worker's failure) calls `load_finished()`. So reads never
    overlap, results arrive in order, and a burst of changes costs at most one extra read.

    `refresh_data(changed)`: the sessions a commit touched (empty: anything may have changed). A screen that can
    re-read only those takes them with `take_changes()` in `start_load`; until then they add up."""

    stale = False
    """Set while another screen is on top and the store changed; the screen re-reads when it comes back."""
    _loading = False
    _dirty = False
    _changes: frozenset[str] | None = frozenset()
    """Sessions changed since the last read began; None: re-read everything."""

    def refresh_data(self, changed: frozenset[str] = frozenset()) -> None:
        self.stale = False
        if self._changes is not None:
            self._changes = (self._changes | changed) if changed else None
        if self._loading:
            self._dirty = True
            return
        self._loading = True
        self.start_load()

    def take_changes(self) -> frozenset[str] | None:
        """The sessions changed since the last read (None: everything), and start counting afresh."""
        changes, self._changes = self._changes, frozenset()
        return changes

    def start_load(self) -> None:
        raise NotImplementedError

    def load_finished(self) -> None:
        self._loading = False
        if self._dirty:
            self._dirty = False
            self._loading = True
            self.start_load()

    def on_screen_resume(self) -> None:
        if self.stale:
            self.refresh_data()
