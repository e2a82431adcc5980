"""What one report reads: every machine's rows, or one machine's, and the WHERE clause for its filters."""

from __future__ import annotations

from ..store.schema import MACHINE_USAGE_SQL, USAGE_SQL, usage_sql_of
from ..store.store import Store


def has_machines(store: Store) -> bool:
    """Whether the rows carry a machine name (store migration 6 on; a read-only look may find an older one)."""
    return any(r[1] == "machine" for r in store.db.execute("PRAGMA table_info(requests)"))


def machine_usage_sql(store: Store) -> str:
    """Every usage row with its machine: MACHINE_USAGE_SQL, or on a store from before machines (opened read-only
    while an older tokentop is the writer, so never migrated) the same rows, all of this machine."""
    return MACHINE_USAGE_SQL if has_machines(store) else usage_sql_of(store.machine)


class Scope:
    """The store as one report sees it: every machine, or one machine's rows (read from the per-row tables, since
    slot_usage sums all machines together)."""

    def __init__(self, store: Store, machine: str | None):
        self.db = store.db
        self.store = store
        self.machine = machine
        self.usage_sql = USAGE_SQL if machine is None else machine_usage_sql(store)

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


def store_ready(store: Store) -> bool:
    """False for a store that was never migrated (a missing file opened read-only is created empty)."""
    return getattr(store, "version", 0) >= 1
