"""The column-wise fast path of the peer-file checks never lets through a row the row-by-row rule refuses."""

from __future__ import annotations

import time

from hypothesis import given, settings
from hypothesis import strategies as st

from tokentop.ingest.sync import checks

NOW = int(time.time() * 1000)
LIMIT = NOW + 7 * 86_400_000
SLOT = NOW - NOW % 900_000 - 86_400_000
GOOD = {
    "r": ["m1:r1", "m1", "r1", "claude-code", "s1", "/p", None, 0, "claude-opus-4-6", NOW - 1000, 10, 20, 30, 0, 40,
          "fast", None, 2, "us", 0.25, 1],
    "t": ["toolu_1", "m1", "Bash"],
    "u": [SLOT, "claude-code", "s1", "/p", "claude-opus-4-6", "", 0, 10, 20, 30, 0, 40, 3, 1.5, 1, 4, "us"],
    "x": [SLOT, "claude-code", "claude-opus-4-6", "", 0, "Bash", 2, 3, 10, 20, 30, 0, 40, 1.5, 1, 4, ""],
}
HOSTILE = st.sampled_from([None, "", "\x1b[2J", "\u009b31m", "a\nb", "x" * 5000, 10**20, 2**63, -1, 0, 1, 2, 1.5,
                           float("nan"), float("inf"), -0.5, 1e300, True, False, [], {}, ["x"], NOW + 30 * 86_400_000,
                           SLOT + 1, 3_000_000, 1_000_001, 1001, "us" * 40])


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(sorted(GOOD)), st.integers(0, 20), HOSTILE, st.integers(1, 4))
def test_the_fast_path_passes_only_what_the_rule_passes(tag, at, value, copies):
    good = GOOD[tag]
    bad = list(good)
    bad[at % len(good)] = value
    rows = [list(good) for _ in range(copies)] + [bad]
    verdicts = [checks.row_problem(tag, r, LIMIT) for r in rows]
    if checks.columns_pass(tag, rows, LIMIT):
        assert verdicts == [None] * len(rows), (tag, at % len(good), value)
    assert verdicts[0] is None


def test_good_groups_take_the_fast_path():
    for tag, row in GOOD.items():
        assert checks.row_problem(tag, row, LIMIT) is None, tag
        assert checks.columns_pass(tag, [row, list(row)], LIMIT), tag
    # A rollup of many responses may carry more than one response could: checked against its own count.
    big = list(GOOD["u"])
    big[11], big[12] = 5_000_000, 3
    assert checks.columns_pass("u", [GOOD["u"], big], LIMIT)
    big[12] = 2
    assert not checks.columns_pass("u", [GOOD["u"], big], LIMIT)
    assert checks.row_problem("u", big, LIMIT) == "token count no response can carry"
