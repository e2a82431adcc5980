"""Local usage over a span, read in one grouped scan: per 10-minute bucket and cut exactly at every split point
(window starts, sample times), with prefix sums so any window total is two bisections."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from ..clock import MINUTE_MS
from ..store.schema import SLOT_MS, has_slot_usage

SERIES_BUCKET_MS = 10 * MINUTE_MS
"""Usage is read in 10-minute buckets (plus exact cuts at window starts and sample times)."""
CAP_SOURCE = "claude-code"
"""Subscription caps count Claude Code usage only: OpenClaw usually bills an API key, not the subscription.
The month budget is money, so it counts every source."""

FAMILY = {"week_opus": 1, "week_sonnet": 2, "week_fable": 3}
FAMILY_SQL = ("CASE WHEN model LIKE '%opus%' THEN 1 WHEN model LIKE '%sonnet%' THEN 2 WHEN model LIKE '%fable%' THEN 3 "
              "ELSE 0 END")
TOKENS_SQL = "input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read"


class Series:
    """Usage of one scope in 10-minute buckets, cut exactly at every split point, with prefix sums: the total
    over [a, b) is two bisections, and exact whenever a and b are split points or bucket boundaries."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.cost: list[float] = [0.0]
        self.tokens: list[int] = [0]
        self.kept: Series | None = None
        """The series this one is a copy of, grown since (`load_series`' kept history): its whole buckets are
        worked out once, in `_memo`."""
        self._memo: dict[tuple, tuple[list[int], list[tuple[int, float]]]] = {}
        self.known_from: int | None = None
        """Where the scan began when the store holds usage before it: history is known from there on (its first
        row is not the user's first use). None: the first row is."""

    def add(self, ts: int, cost: float, tokens: int) -> None:
        if self.ts and self.ts[-1] == ts:
            self.cost[-1] += cost
            self.tokens[-1] += tokens
            return
        self.ts.append(ts)
        self.cost.append(self.cost[-1] + cost)
        self.tokens.append(self.tokens[-1] + tokens)

    def copy(self) -> Series:
        out = Series()
        out.ts, out.cost, out.tokens = list(self.ts), list(self.cost), list(self.tokens)
        out.kept = self
        return out

    def between(self, a: int, b: int) -> tuple[float, int]:
        """Estimated USD and tokens in [a, b)."""
        i, j = bisect_left(self.ts, a), bisect_left(self.ts, b)
        if j <= i:
            return 0.0, 0
        return self.cost[j] - self.cost[i], self.tokens[j] - self.tokens[i]

    def amount(self, proxy: str, a: int, b: int) -> float:
        cost, tokens = self.between(a, b)
        return cost if proxy == "cost" else float(tokens)

    def buckets(self, proxy: str, a: int, b: int, size: int) -> list[tuple[int, float]]:
        """Totals per `size`-aligned bucket over [a, b), only buckets with usage, ascending. The buckets before the
        last one of `kept` come from it (the same entries summed in the same order: the same floats)."""
        kept = self.kept
        edge = kept.ts[-1] - kept.ts[-1] % size if kept is not None and kept.ts else a
        if not a < edge < b or kept is None:
            return self._buckets(proxy, a, b, size)
        whole = kept._memo.get((proxy, edge, size))
        if whole is None:
            if len(kept._memo) > 8:
                kept._memo.clear()
            items = kept._buckets(proxy, kept.ts[0], edge, size)
            whole = kept._memo[(proxy, edge, size)] = ([k for k, _ in items], items)
        first = min(a - a % size + (size if a % size else 0), edge)  # a's own bucket only from a on
        keys, items = whole
        return [*self._buckets(proxy, a, first, size), *items[bisect_left(keys, first):],
                *self._buckets(proxy, edge, b, size)]

    def _buckets(self, proxy: str, a: int, b: int, size: int) -> list[tuple[int, float]]:
        prefix = self.cost if proxy == "cost" else self.tokens
        out: dict[int, float] = {}
        i, j = bisect_left(self.ts, a), bisect_left(self.ts, b)
        for n in range(i, j):
            ts = self.ts[n]
            key = ts - ts % size
            out[key] = out.get(key, 0.0) + (prefix[n + 1] - prefix[n])
        return sorted(out.items())


class PastCache:
    """`load_series`' sums before a boundary half an hour back, kept between calls (the TUI between live commits,
    the live service between post-commit steps: re-reading eight weeks of history for the weekly profile on every
    commit was most of their CPU). Each use checks that the history is unchanged by a stamp of the slot sums the
    writer keeps (`slot_usage`, a few thousand rows where the history is hundreds of thousands: ~2 ms against
    ~200 ms), so a write to the past by anyone (an old file read late, a sync merge, re-pricing, a prune, another
    process) is read again. `clear()` drops it outright.

    Two levels: the history's groups per 10-minute bucket with no cut (`rows`, from `origin` to `end`), and the
    series built from them for the last bounds and cuts (`key`, `series`). A rolling week moves its start and the
    lookback with every read: then only the buckets those cut are read again (`cut_rows`), the rest is reused."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.key: tuple | None = None
        self.series: dict[str, Series] = {}
        self.scope: tuple | None = None
        self.stamp: tuple | None = None
        self.origin = self.end = 0
        self.rows: list[tuple] = []
        """Groups (first instant, cc, family, cost, tokens) of [origin, end), per bucket, sorted."""
        self.starts: list[int] = []
        """Each group's first instant, for bisection."""
        self.cut_rows: dict[tuple, list] = {}
        """(from, to, cuts) → the groups of one bucket cut there, as the last read used them."""
        self.tops: dict[tuple, tuple[dict, set]] = {}
        """The windows' sessions' sums over whole half hours up to `end`, and the sessions to read again in them
        (`top_sessions`, `forget_sessions`)."""

    def forget_sessions(self, sessions: Iterable[str] | None) -> None:
        """Sessions a commit touched (None: any): their kept sums are read again. The stamp of the slot sums does not
        see a response moving to another session (`store.ownership`, a resumed session's copy)."""
        if sessions is None:
            self.tops.clear()
            return
        names = set(sessions)
        for _, stale in self.tops.values():
            stale |= names


_STAMP_SQL = (f"SELECT COUNT(*), TOTAL(requests), TOTAL(unpriced), TOTAL(cost_usd), TOTAL({TOKENS_SQL}), "
              f"TOTAL(slot / {SLOT_MS} * requests), TOTAL(length(model) * requests), TOTAL(length(source) * cost_usd) "
              f"FROM slot_usage WHERE slot >= ? AND slot < ?")
"""What the history [lo, boundary) adds up to, per the writer's slot sums (every insert, update and delete of
requests and rollups keeps them). Rows moving between slots, models or sources change it too."""


def _stamp(store, lo: int, hi: int) -> tuple | None:
    if not has_slot_usage(store.db):
        return None  # nothing to check the history against: never kept
    # From the slot holding `lo` (its rows from `lo` on are in the history).
    return tuple(store.db.execute(_STAMP_SQL, (lo - lo % SLOT_MS, hi)).fetchone())


PAST_ALIGN_MS = 30 * MINUTE_MS
"""The cached part ends on a multiple of this (of the 10-minute buckets and the 15-minute rollup slots both)."""


def load_series(store, lo: int, hi: int, splits: Iterable[int], families: bool = True,
                cap_sources: Sequence[str] = (CAP_SOURCE,), past: PastCache | None = None) -> dict[str, Series]:
    """Usage in [lo, hi] for every source ("all"), Claude Code ("cc") and its Opus / Sonnet shares.

    One grouped scan per table: rows are summed per 10-minute bucket *and* per segment between split points
    (window starts, sample times, …), so every total this module asks for is exact without reading rows one by
    one — a heavy user's week is tens of thousands of rows, and the statusline has milliseconds.

    `past`: the sums before `hi` minus half an hour come from it (the same groups as one scan: a bucket never
    straddles the boundary, and a bucket a cut falls in is read again with its cuts), and are kept there."""
    cuts = sorted({int(s) for s in splits if lo < s <= hi})
    boundary = (hi - PAST_ALIGN_MS) - (hi - PAST_ALIGN_MS) % PAST_ALIGN_MS
    if past is None or boundary <= lo or not _keep(store, past, lo, boundary, families, cap_sources):
        return _build(_scan(store, lo, hi, cuts, families, cap_sources, "<="))
    key = (lo, boundary, tuple(c for c in cuts if c < boundary))
    if past.key != key:
        past.series = _build(_past_rows(store, past, lo, boundary, key[2], families, cap_sources))
        past.key = key
    series = {name: s.copy() for name, s in past.series.items()}
    return _build(_scan(store, boundary, hi, cuts, families, cap_sources, "<="), series)


def _keep(store, past: PastCache, lo: int, boundary: int, families: bool, cap_sources: Sequence[str]) -> bool:
    """Make `past.rows` hold [lo, boundary) as the store has it now; False when nothing can tell (no slot sums)."""
    scope = (families, tuple(cap_sources))
    if past.scope == scope and past.end == boundary and past.origin <= lo:
        stamp = _stamp(store, past.origin, boundary)
        if stamp is not None and stamp == past.stamp:
            return True
    origin = lo - lo % PAST_ALIGN_MS  # (so the bounds of a rolling week can move on for half an hour)
    stamp = _stamp(store, origin, boundary)
    past.clear()
    if stamp is None:
        return False
    past.rows = _scan(store, origin, boundary, [], families, cap_sources, "<")
    past.starts = [r[0] for r in past.rows]
    past.scope, past.stamp, past.origin, past.end = scope, stamp, origin, boundary
    return True


def _past_rows(store, past: PastCache, lo: int, boundary: int, cuts: tuple[int, ...], families: bool,
               cap_sources: Sequence[str]) -> list:
    """What `_scan(lo, boundary, cuts)` gives, from the kept buckets: only the bucket `lo` falls inside and those a
    cut falls inside are read (each once while its cuts stay: an official week's cuts are its sample times)."""
    cut_buckets: dict[int, None] = {}
    for c in (lo, *cuts):
        if c % SERIES_BUCKET_MS:
            cut_buckets[c - c % SERIES_BUCKET_MS] = None
    out: list = []
    pos = bisect_left(past.starts, lo)  # (lo's bucket, when lo is not on a boundary, comes from the cut rows)
    used: dict[tuple, list] = {}
    for bucket in sorted(cut_buckets):
        out += past.rows[pos:bisect_left(past.starts, bucket)]
        a, b = max(bucket, lo), bucket + SERIES_BUCKET_MS
        key = (a, b, tuple(c for c in cuts if a < c < b))
        rows = past.cut_rows.get(key)
        if rows is None:
            rows = _scan(store, a, b, list(key[2]), families, cap_sources, "<")
        used[key] = rows
        out += rows
        pos = bisect_left(past.starts, b)
    past.cut_rows = used
    return out + past.rows[pos:]


def _scan(store, lo: int, hi: int, cuts: list[int], families: bool, cap_sources: Sequence[str], upper: str) -> list:
    rows = []
    for table, col in (("requests", "ts"), ("rollups", "slot")):
        # The cut points are integers this module computed, so they can be written into the SQL.
        segment = ("CASE " + " ".join(f"WHEN {col} < {c} THEN {i}" for i, c in enumerate(cuts))
                   + f" ELSE {len(cuts)} END") if cuts else "0"
        family = FAMILY_SQL  # (always: `families` has never reduced the groups, and sums must stay bit-identical)
        marks = ", ".join("?" * len(cap_sources))
        sql = (f"SELECT {col} - {col} % {SERIES_BUCKET_MS}, {segment}, source IN ({marks}), {family}, "
               f"SUM(cost_usd), SUM({TOKENS_SQL}) FROM {table} WHERE {col} >= ? AND {col} {upper} ? "
               f"GROUP BY 1, 2, 3, 4")
        for bucket, seg, cc, fam, cost, tokens in store.db.execute(sql, (*cap_sources, lo, hi)):
            # Stamp each group with the first instant it can hold, so [a, b) sums split it correctly.
            rows.append((max(bucket, cuts[seg - 1] if seg else lo), cc, fam, cost or 0.0, tokens or 0))
    rows.sort()
    return rows


def _build(rows: list, series: dict[str, Series] | None = None) -> dict[str, Series]:
    series = series or {key: Series() for key in ("all", "cc", *FAMILY)}
    by_family = {number: series[name] for name, number in FAMILY.items()}
    for ts, cc, fam, cost, tokens in rows:
        series["all"].add(ts, cost, tokens)
        if cc:
            series["cc"].add(ts, cost, tokens)
            if fam in by_family:
                by_family[fam].add(ts, cost, tokens)
    return series
