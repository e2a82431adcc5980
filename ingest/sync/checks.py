"""The check of every value a peer wrote, row by row (the rule) and column by column (the fast path).

A peer file is input like any log. `row_problem` is the rule: one row, every field, the reason it fails in words
for `doctor`. Checking half a million rows that way costs more than the merge itself, so `columns_pass` first asks
a sufficient condition of whole columns at C speed (the set of a column's types, its min and max, one
`isprintable` over its distinct strings joined): when every column of a group passes, every row would have; when
one does not, the group is checked row by row, so a bad file is judged exactly as before, just more slowly."""

from __future__ import annotations

import math
import operator
import re
from itertools import repeat

MAX_INPUT = 2_000_000
"""Input-side tokens (input, cache writes, cache reads) one response can carry: above any context window."""
MAX_OUTPUT = 1_000_000
MAX_REQUESTS = 10_000_000
"""Responses in one 15-minute rollup row, at most."""
MAX_WEB = 1000
"""Web searches one response can make (Claude Code's own tool caps it far lower)."""
MAX_TEXT = 4096
MAX_COST = 1e7
MAX_REQUEST_COST = 1e4
MIN_TS = 1_500_000_000_000  # 2017: older than any Claude Code log
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# -- one value --------------------------------------------------------------------------------------


def count(v, low: int = 0, high: int = MAX_INPUT) -> bool:
    return type(v) is int and low <= v <= high


def text(v, required: bool = True) -> bool:
    if v is None:
        return not required
    if type(v) is not str or v == "":
        return type(v) is str and not required
    return len(v) <= MAX_TEXT and (v.isprintable() or not _CONTROL.search(v))


def money(v, high: float = MAX_COST) -> bool:
    return type(v) in (int, float) and math.isfinite(v) and 0 <= v <= high


def _flag(v) -> bool:
    return type(v) is int and v in (0, 1)


def _ts(v, limit: int) -> str | None:
    if type(v) is not int or v < MIN_TS:
        return "time out of range"
    if v > limit:
        return "dated more than a week ahead (that machine's clock?)"
    return None


# -- one row (the rule) -----------------------------------------------------------------------------


def _request(v, limit) -> str | None:
    (key, message_id, request_id, source, session, project, agent, sidechain, model, ts, i, o, w5, w1, r, speed,
     reported, web, geo, cost, priced) = v
    if not (text(key) and text(message_id) and text(request_id, False) and text(source) and text(session)
            and text(project, False) and text(agent, False) and text(model) and text(speed, False)
            and text(geo, False) and (geo is None or len(geo) <= 64)):
        return "bad text field"
    if not _flag(sidechain) or not (priced is None or _flag(priced)):
        return "bad flag"
    if not (count(i) and count(w5) and count(w1) and count(r) and count(o, 0, MAX_OUTPUT) and count(web, 0, MAX_WEB)):
        return "token count no response can carry"
    if (reported is not None and not money(reported, MAX_REQUEST_COST)) or \
            (cost is not None and not money(cost, MAX_REQUEST_COST)):
        return "bad cost"
    return _ts(ts, limit)


def _tool(v, limit) -> str | None:
    return None if all(text(x) for x in v) else "bad text field"


def _slot(v, limit) -> str | None:
    problem = _ts(v, limit)
    return problem or (None if v % 900_000 == 0 else "slot not on a 15-minute boundary")


def _sums_ok(n, i, o, w5, w1, r, web) -> bool:
    return (count(n, 1, MAX_REQUESTS) and count(i, 0, n * MAX_INPUT) and count(o, 0, n * MAX_OUTPUT)
            and count(w5, 0, n * MAX_INPUT) and count(w1, 0, n * MAX_INPUT) and count(r, 0, n * MAX_INPUT)
            and count(web, 0, n * MAX_WEB))


ROLLUP_GEOS = frozenset(("", "us"))
"""What a rollup keeps of inference_geo (retention's rule): US-only inference or not."""


def _rollup_geo(v) -> bool:
    return type(v) is str and v in ROLLUP_GEOS


def _rollup(v, limit) -> str | None:
    slot, source, session, project, model, speed, long_context, i, o, w5, w1, r, n, cost, priced, web, geo = v
    if not (text(source) and text(session) and type(project) is str and text(project, False) and text(model)
            and type(speed) is str and text(speed, False) and _rollup_geo(geo)):
        return "bad text field"
    if not (_flag(long_context) and _flag(priced)):
        return "bad flag"
    if not _sums_ok(n, i, o, w5, w1, r, web):
        return "token count no response can carry"
    if not money(cost):
        return "bad cost"
    return _slot(slot, limit)


def _tool_rollup(v, limit) -> str | None:
    slot, source, model, speed, long_context, name, calls, n, i, o, w5, w1, r, cost, priced, web, geo = v
    if not (text(source) and text(model) and type(speed) is str and text(speed, False) and type(name) is str
            and text(name, False) and _rollup_geo(geo)):
        return "bad text field"
    if not (_flag(long_context) and _flag(priced)):
        return "bad flag"
    if not (_sums_ok(n, i, o, w5, w1, r, web) and count(calls, 0, n * 1000)):
        return "token count no response can carry"
    if not money(cost):
        return "bad cost"
    return _slot(slot, limit)


def _session(v, limit) -> str | None:
    session, source, project, title, rank, branch, first, last = v
    if not (text(session) and text(source) and text(project, False) and text(title, False)
            and text(branch, False) and count(rank, 0, 100)):
        return "bad text field"
    for ts in (first, last):  # a session's span is clamped at merge, not refused: its other rows still count
        if ts is not None and (type(ts) is not int or ts < MIN_TS):
            return "time out of range"
    return None


def _sample(v, limit) -> str | None:
    window, pct, resets, taken, seen = v
    if not (text(window) and len(window) <= 64):
        return "bad text field"
    if not (type(pct) in (int, float) and math.isfinite(pct) and 0 <= pct <= 1000):
        return "percentage out of range"
    for ts in (resets, taken, seen):
        if type(ts) is not int or ts < MIN_TS or ts > limit + 8 * 86_400_000:
            return "time out of range"
    return None


ROW_CHECKS = {"r": _request, "t": _tool, "u": _rollup, "x": _tool_rollup, "s": _session, "o": _sample}


def row_problem(tag: str, values, limit: int) -> str | None:
    return ROW_CHECKS[tag](values, limit)


# -- whole columns (the fast path) ------------------------------------------------------------------
# Each column gets one test; a test may fail where every row is fine (then the rows are checked one by one),
# never pass where one row is not.

_INTS = {int}


def _texts(col, required: bool, max_len: int = MAX_TEXT) -> bool:
    try:
        distinct = set(col)
    except TypeError:  # a list or dict among them
        return False
    if not required:
        distinct.discard(None)
    if not distinct:
        return True
    if set(map(type, distinct)) != {str} or (required and "" in distinct):
        return False
    if max(map(len, distinct)) > max_len:
        return False
    joined = "".join(distinct)
    return joined.isprintable() or not _CONTROL.search(joined)


def _geos(col) -> bool:
    return set(map(type, col)) <= {str} and set(col) <= ROLLUP_GEOS


def _strs(col) -> bool:
    return None not in col and _texts(col, False)


def _ints(col, low: int, high: int) -> bool:
    return set(map(type, col)) <= _INTS and min(col) >= low and max(col) <= high


def _flags(col, nullable: bool = False) -> bool:
    values = set(col) if set(map(type, col)) <= ({int, type(None)} if nullable else _INTS) else None
    return values is not None and values <= {0, 1, None}


def _costs(col, high: float, nullable: bool = False) -> bool:
    kinds = set(map(type, col))
    if nullable and type(None) in kinds:
        kinds.discard(type(None))
        col = [v for v in col if v is not None]
    if not kinds <= {int, float}:
        return False
    return not col or (all(map(math.isfinite, col)) and 0 <= min(col) and max(col) <= high)


def _times(col, limit: int, slot: bool = False) -> bool:
    if not _ints(col, MIN_TS, limit):
        return False
    return not slot or not any(map(operator.mod, col, repeat(900_000)))


def _sums(cols, n_at: int, sums: dict[int, int]) -> bool:
    if not _ints(cols[n_at], 1, MAX_REQUESTS):
        return False
    n = cols[n_at]
    return all(_ints(cols[i], 0, MAX_REQUESTS * per)
               and all(map(operator.le, cols[i], map(operator.mul, n, repeat(per)))) for i, per in sums.items())


def _fast_request(cols, limit) -> bool:
    return (all(_texts(cols[i], True) for i in (0, 1, 3, 4, 8))
            and all(_texts(cols[i], False) for i in (2, 5, 6, 15)) and _texts(cols[18], False, 64)
            and _flags(cols[7]) and _flags(cols[20], True)
            and all(_ints(cols[i], 0, MAX_INPUT) for i in (10, 12, 13, 14)) and _ints(cols[11], 0, MAX_OUTPUT)
            and _ints(cols[17], 0, MAX_WEB) and _costs(cols[16], MAX_REQUEST_COST, True)
            and _costs(cols[19], MAX_REQUEST_COST, True) and _times(cols[9], limit))


def _fast_rollup(cols, limit) -> bool:
    return (_texts(cols[1], True) and _texts(cols[2], True) and _texts(cols[4], True) and _strs(cols[3])
            and _strs(cols[5]) and _flags(cols[6]) and _flags(cols[14]) and _costs(cols[13], MAX_COST)
            and _geos(cols[16])
            and _sums(cols, 12, {7: MAX_INPUT, 8: MAX_OUTPUT, 9: MAX_INPUT, 10: MAX_INPUT, 11: MAX_INPUT,
                                 15: MAX_WEB})
            and _times(cols[0], limit, slot=True))


def _fast_tool_rollup(cols, limit) -> bool:
    return (_texts(cols[1], True) and _texts(cols[2], True) and _strs(cols[3]) and _strs(cols[5])
            and _flags(cols[4]) and _flags(cols[14]) and _costs(cols[13], MAX_COST) and _geos(cols[16])
            and _sums(cols, 7, {6: 1000, 8: MAX_INPUT, 9: MAX_OUTPUT, 10: MAX_INPUT, 11: MAX_INPUT, 12: MAX_INPUT,
                                15: MAX_WEB})
            and _times(cols[0], limit, slot=True))


def _fast_tool(cols, limit) -> bool:
    return all(_texts(c, True) for c in cols)


_FAST = {"r": _fast_request, "t": _fast_tool, "u": _fast_rollup, "x": _fast_tool_rollup}


def columns_pass(tag: str, rows: list, limit: int) -> bool:
    """Whether every row of `rows` (all of `tag`, all the right width) passes, judged column by column; False
    means "check them one by one", not "bad". Sessions and samples are few: always checked row by row."""
    fast = _FAST.get(tag)
    if fast is None or not rows:
        return False
    return fast(list(zip(*rows)), limit)
