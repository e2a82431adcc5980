"""The sessions that used a cap window most (the model split's list), and the scope filter the window's sums share.

The TUI asks every second for each window; a heavy user's week is thousands of rows fetched through the time
index. With the forecast's `series.PastCache` at hand (validated against the store's slot sums by `load_series` in
the same read), the sums of the window's whole half hours before its boundary are kept there, and only the part
before the first whole half hour and the last half hour are read again."""

from __future__ import annotations

from collections.abc import Sequence

from .series import CAP_SOURCE, FAMILY, FAMILY_SQL, PAST_ALIGN_MS, TOKENS_SQL, PastCache

TOP_SESSIONS = 5


def scope_filter(scope: str, cap_sources: Sequence[str]) -> tuple[str, list[object]]:
    """' AND …' conditions (and their arguments) that keep a window's rows: the cap's sources, and its model family
    for a per-model cap."""
    where = ""
    args: list[object] = []
    if scope != "all":
        where += f" AND source IN ({', '.join('?' * len(cap_sources))})"
        args.extend(cap_sources)
    if scope in FAMILY:
        where += f" AND {FAMILY_SQL} = ?"
        args.append(FAMILY[scope])
    return where, args


def top_sessions(store, lo: int, hi: int, scope: str, proxy: str, cap_sources: Sequence[str] = (CAP_SOURCE,),
                 past: PastCache | None = None) -> list[tuple[str, float]]:
    """(session, share 0..1) of the TOP_SESSIONS sessions that used [lo, hi) most, by the window's proxy."""
    scoped, args = scope_filter(scope, cap_sources)
    column = "SUM(cost_usd)" if proxy == "cost" else f"SUM({TOKENS_SQL})"

    def read(a: int, b: int, into: dict, only: list[str] | None = None) -> dict:
        if b <= a:
            return into
        of = f" AND session_id IN ({', '.join('?' * len(only))})" if only else ""
        # Each table on its own, through its time index (4 ms where USAGE_SQL's union took 17 for a heavy week).
        for table, ts in (("requests", "ts"), ("rollups", "slot")):
            for sid, amount in store.db.execute(f"SELECT session_id, {column} FROM {table} WHERE {ts} >= ? AND "
                                                f"{ts} < ?{scoped}{of} GROUP BY session_id",
                                                (a, b, *args, *(only or ()))):
                into[sid] = amount if sid not in into else (into[sid] or 0) + (amount or 0)
        return into

    first = lo + (-lo) % PAST_ALIGN_MS
    end = past.end if past is not None and past.scope is not None else None
    if past is None or end is None or past.origin > first or not first < end <= hi:
        sums = read(lo, hi, {})
    else:  # the store holds [origin, end) as last read (load_series checked it): those sums are kept
        key = (first, end, scope, proxy, tuple(cap_sources))
        tops = past.tops
        if key not in tops:
            if len(tops) > 16 or any(k[1] != end for k in tops):
                tops.clear()
            tops[key] = (read(first, end, {}), set())
        kept, stale = tops[key]
        if stale:  # sessions a commit touched: a response may have moved between them (a resumed session)
            names = sorted(stale)
            for sid in names:
                kept.pop(sid, None)
            for i in range(0, len(names), 500):
                read(first, end, kept, names[i:i + 500])
            stale.clear()
        sums = read(end, hi, read(lo, first, dict(kept)))
    rows = list(sums.items())
    total = sum(r[1] or 0 for r in rows)
    if total <= 0:
        return []
    rows.sort(key=lambda r: (-(r[1] or 0), r[0]))
    return [(sid, (amount or 0) / total) for sid, amount in rows[:TOP_SESSIONS] if amount]
