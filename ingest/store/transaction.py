"""A write transaction that nests: the outermost `with` commits or rolls back, inner ones join it."""

from __future__ import annotations

import contextlib
import sqlite3
from types import TracebackType


class Transaction:
    """BEGIN IMMEDIATE … COMMIT, rolled back on any exception; nested use joins the outer transaction."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.outer = False

    def __enter__(self) -> Transaction:
        if self.db.in_transaction:
            self.outer = True
            return self
        self.db.execute("BEGIN IMMEDIATE")
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.outer:
            return
        if exc_type is None:
            try:
                self.db.execute("COMMIT")
            except BaseException:
                self._rollback()  # a COMMIT that failed (disk full) must not leave the transaction open
                raise
        else:
            self._rollback()

    def _rollback(self) -> None:
        # SQLite has already rolled back after some errors (a full disk); the original error says more.
        if self.db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.db.execute("ROLLBACK")
