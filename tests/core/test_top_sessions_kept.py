"""`top_sessions` with the forecast's PastCache: the whole half hours of a window before the cache's boundary are
summed once and kept; each later read sums only the window's first partial half hour and the last half hour, and
gives the same sessions and shares as a fresh read. A write to the past is noticed (the slot sums' stamp)."""

from __future__ import annotations

import re

import pytest
from test_limits import DAY, HOUR, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.usage.limits import compute_status
from tokentop.ingest.usage.series import PastCache

NOW = ms("2026-05-04T10:07:00+00:00")


def spans(scans: list[str]) -> list[int]:
    """How many ms each per-session sum read covered."""
    out = []
    for sql in scans:
        _, lo, hi = re.search(r"WHERE (ts|slot) >= (\d+) AND \1 < (\d+)", sql).groups()
        out.append(int(hi) - int(lo))
    return out


def tops(store, settings, now, past=None):
    return {name: s.top_sessions for name, s in compute_status(store, settings, now, past=past).items()}


def same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert [sid for sid, _ in a[name]] == [sid for sid, _ in b[name]], name
        assert [share for _, share in a[name]] == pytest.approx([share for _, share in b[name]], rel=1e-12), name


def test_the_sessions_of_a_window_are_summed_once_and_a_new_line_still_counts(tmp_path):
    store = make_store(tmp_path)
    for day in range(0, 9):
        for i, hour in enumerate((1, 5, 9)):
            add_usage(store, NOW - day * DAY - hour * HOUR, cost=0.5 + day % 3 * 0.25 + i * 0.1,
                      session=f"s{i + day % 2}")
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0)  # no sample: a rolling 7 days, its start moving
    scans: list[str] = []
    store.db.set_trace_callback(lambda sql: scans.append(sql) if "GROUP BY session_id" in sql else None)
    past = PastCache()
    first = tops(store, settings, NOW, past)
    assert first["week"] and first["week"][0][0] in ("s1", "s2")
    same(first, tops(store, settings, NOW))
    scans.clear()
    # A live commit a second later: a new line of session s9. Only short spans are read again.
    add_usage(store, NOW + 500, cost=40.0, session="s9")
    later = tops(store, settings, NOW + 1_000, past)
    assert max(spans(scans)) <= HOUR, spans(scans)  # from the boundary (30-60 min back), the first partial half hour
    assert later["week"][0][0] == "s9"
    same(later, tops(store, settings, NOW + 1_000))
    # A write to the past (an old file read late): noticed, summed again, and counted.
    add_usage(store, NOW - 3 * DAY, cost=500.0, session="s7")
    scans.clear()
    again = tops(store, settings, NOW + 2_000, past)
    assert max(spans(scans)) > DAY
    assert again["week"][0][0] == "s7"
    same(again, tops(store, settings, NOW + 2_000))


def test_a_response_moved_to_another_session_is_read_again_once_its_sessions_are_forgotten(tmp_path):
    """Ownership (a resumed session's copy) moves a past response between sessions without changing any slot sum:
    the TUI forgets the sessions each commit touched, and their kept sums are read again (only theirs)."""
    store = make_store(tmp_path)
    for day in range(1, 6):
        add_usage(store, NOW - day * DAY, cost=1.0 + day, session="a")
        add_usage(store, NOW - day * DAY + HOUR, cost=0.5, session="b")
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0)
    past = PastCache()
    assert tops(store, settings, NOW, past)["week"][0][0] == "a"
    store.db.execute("UPDATE requests SET session_id = 'b' WHERE session_id = 'a' AND ts < ?", (NOW - 2 * DAY,))
    scans: list[str] = []
    store.db.set_trace_callback(lambda sql: scans.append(sql) if "GROUP BY session_id" in sql else None)
    past.forget_sessions({"a", "b"})
    moved = tops(store, settings, NOW + 1_000, past)
    read = list(scans)
    assert moved["week"][0][0] == "b"
    same(moved, tops(store, settings, NOW + 1_000))
    # The two sessions' kept half hours (through the session index), else only the short spans at the ends.
    assert any("session_id IN (?, ?)" in s or "session_id IN ('a', 'b')" in s for s in read), read
    assert all("session_id IN" in s or max(spans([s])) <= HOUR for s in read), read
    past.forget_sessions(None)  # anything may have changed (a follower's catch-up, a merge): all read again
    assert past.tops == {}
