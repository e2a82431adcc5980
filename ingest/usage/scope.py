"""What one report reads: every machine's rows, or one machine's, and the WHERE clause for its filters."""

from __future__ import annotations

from ..store.schema import MACHINE_USAGE_SQL, USAGE_SQL
from ..store.store import Store


class Scope:
    """The store as one report sees it: every machine, or one machine's rows (read from the per-row tables, since
    slot_usage sums all machines together)."""

    def __init__(self, store: Store, machine: str | None):
        self.db = store.db
        self.store = store
        self.machine = machine
        self.usage_sql = USAGE_SQL if machine is None else MACHINE_USAGE_SQL

    def where(self, lo, hi, source, ts_col="ts"):
        return where_clause(lo, hi, source, ts_col=ts_col, machine=self.machine)


def where_clause(lo, hi, source, ts_col="ts", source_col="source", machine=None):
    clauses, args = [], []
    if machine is not None:
        clauses.append("machine = ?")
        args.append(machine)
    if lo is not None:
        clauses.append(f"{ts_col} >= ?")
        args.append(lo)
    if hi is not None:
        clauses.append(f"{ts_col} < ?")
        args.append(hi)
    if source and source != "all":
        clauses.append(f"{source_col} = ?")
        args.append(source)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", args
