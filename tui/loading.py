"""One read of the store at a time per screen: a refresh asked for during a read runs once, right after it."""

from __future__ import annotations


class Reloads:
    """Mixed into screens. `refresh_data()` starts `start_load()` (a thread worker that posts a result message)
    unless a read is running; the result handler (or the worker's failure) calls `load_finished()`. So reads never
    overlap, results arrive in order, and a burst of changes costs at most one extra read."""

    stale = False
    """Set while another screen is on top and the store changed; the screen re-reads when it comes back."""
    _loading = False
    _dirty = False

    def refresh_data(self) -> None:
        self.stale = False
        if self._loading:
            self._dirty = True
            return
        self._loading = True
        self.start_load()

    def start_load(self) -> None:
        raise NotImplementedError

    def load_finished(self) -> None:
        self._loading = False
        if self._dirty:
            self._dirty = False
            self.refresh_data()

    def on_screen_resume(self) -> None:
        if self.stale:
            self.refresh_data()
