"""`series.PastCache`: the TUI keeps the forecast's weeks of history between live commits. With it, every status
is bit-identical to a fresh read, the history is read once, and a new line is still counted."""

from __future__ import annotations

import re

from test_limits import DAY, HOUR, MIN, add_sample, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.usage.limits import compute_status
from tokentop.ingest.usage.series import PastCache

NOW = ms("2026-05-04T10:07:00+00:00")


def history(store) -> None:
    for day in range(1, 60):
        for hour in (9, 11, 14, 16):
            add_usage(store, NOW - day * DAY + (hour - 10) * HOUR + 13 * MIN, cost=0.5 + (day * hour) % 7 / 10)
    add_usage(store, NOW - 40 * MIN, cost=2.0)
    add_sample(store, "seven_day", 40.0, NOW + 2 * DAY, NOW - 3 * HOUR)


def statuses(store, settings, now, past=None):
    return {name: (s.used_pct, s.used_cost, s.used_tokens, s.forecast) for name, s in
            compute_status(store, settings, now, past=past).items()}


def wide(scans: list[str]) -> list[str]:
    """The scans over more than one 10-minute bucket (not those of a bucket a cut falls in)."""
    out = []
    for sql in scans:
        _, lo, hi = re.search(r"WHERE (ts|slot) >= (\d+) AND \1 <=? (\d+)", sql).groups()
        if int(hi) - int(lo) > 10 * MIN:
            out.append(sql)
    return out


def test_a_kept_history_gives_the_same_statuses_and_is_read_once(tmp_path):
    store = make_store(tmp_path)
    history(store)
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0)
    scans: list[str] = []
    store.db.set_trace_callback(lambda sql: scans.append(sql) if "GROUP BY 1, 2, 3, 4" in sql else None)
    past = PastCache()
    fresh = statuses(store, settings, NOW)
    assert fresh["week"][3] is not None and fresh["week"][3].method  # a forecast from the weeks of history
    scans.clear()
    assert statuses(store, settings, NOW, past) == fresh
    assert len(wide(scans)) == 4  # history and the last half hour, requests and rollups each
    # and the two buckets the week's start and the sample's time cut, each table (the scan starts at the month
    # two back, for the month's forecast: a midnight, no cut)
    assert len(scans) == 8
    scans.clear()
    # A live commit: one new line a minute ago. The history is not read again; the line counts.
    add_usage(store, NOW + 4 * MIN, cost=3.0)
    later = NOW + 5 * MIN
    boundary = ms("2026-05-04T09:30:00+00:00")  # half an hour before, on the half hour
    kept = statuses(store, settings, later, past)
    assert len(scans) == 2 and all(f">= {boundary} AND" in s for s in scans), scans  # from the boundary on
    assert kept == statuses(store, settings, later)
    assert kept["week"][1] == fresh["week"][1] + 3.0
    # Rows added to the past (an old file read late, a merge, another process) are noticed by the stamp of the
    # slot sums: the history is read again, and they count.
    add_usage(store, NOW - 20 * DAY, cost=50.0)
    scans.clear()
    assert statuses(store, settings, later, past) == statuses(store, settings, later)
    assert any(f">= {boundary} AND" not in s for s in scans)
    # So is a row of the past re-priced or moved to another model, whatever its size.
    for change in ("UPDATE requests SET cost_usd = cost_usd + 0.01 WHERE ts < ?",
                   "UPDATE requests SET model = 'claude-sonnet-4-5' WHERE ts < ? AND model LIKE '%opus%' "
                   "AND id = (SELECT MIN(id) FROM requests)"):
        store.db.execute(change, (boundary,))
        scans.clear()
        assert statuses(store, settings, later, past) == statuses(store, settings, later), change
        assert any(f">= {boundary} AND" not in s for s in scans), change
    scans.clear()
    statuses(store, settings, later, past)
    assert len(scans) == 2  # and kept again once read


def test_a_rolling_week_moves_its_bounds_every_read_and_still_reads_the_history_once(tmp_path):
    """No official sample and no week_reset: the week is the last 7 days, so its start (a cut) moves with every
    read. The kept buckets serve it; only the one bucket the start falls in is read again, and every status is
    bit-identical to a fresh read (usage on both sides of the moving start, inside its bucket)."""
    store = make_store(tmp_path)
    for day in range(1, 60):
        for hour in (9, 11, 14, 16):
            add_usage(store, NOW - day * DAY + (hour - 10) * HOUR + 13 * MIN, cost=0.3 + (day * hour) % 7 / 10)
    for i in range(60):  # one every 37 s around the week's start
        add_usage(store, NOW - 7 * DAY - 20 * MIN + i * 37_000, cost=0.01 * (i % 5 + 1))
    add_usage(store, NOW - 40 * MIN, cost=2.0)
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0)
    scans: list[str] = []
    store.db.set_trace_callback(lambda sql: scans.append(sql) if "GROUP BY 1, 2, 3, 4" in sql else None)
    past = PastCache()
    boundary = ms("2026-05-04T09:30:00+00:00")
    for n, now in enumerate([NOW + 1_234, NOW + 2_345, NOW + 3 * MIN + 17, NOW + 11 * MIN + 999, NOW + 21 * MIN]):
        scans.clear()
        kept = statuses(store, settings, now, past)
        read = wide(scans)
        assert kept["week"][1] > 0
        assert kept == statuses(store, settings, now), now
        if n:  # kept: only the last half hour is read wide (requests and rollups), and one bucket per cut
            assert len(read) == 2 and all(f">= {boundary} AND" in s for s in read), (now, read)
    # The week's start moved 21 minutes across the usage around it: the totals saw it.
    assert statuses(store, settings, NOW + 1_234)["week"][1] != statuses(store, settings, NOW + 21 * MIN)["week"][1]


def test_buckets_of_a_grown_copy_are_those_of_one_series():
    """A copy of the kept history, grown by the last half hour's lines, gives the same buckets as one series holding
    both (its whole buckets of the history worked out once), whatever the bounds: inside a bucket, on its edge,
    before or after where the kept part ends."""
    from tokentop.ingest.usage.series import Series
    rows = [(1_000 + i * 7_919 % 4_000_000 + i * 1_000, 0.1 * (i % 7) + 0.013, i % 11 * 97) for i in range(400)]
    rows.sort()
    kept, whole = Series(), Series()
    cut = len(rows) * 2 // 3
    for ts, cost, tokens in rows[:cut]:
        kept.add(ts, cost, tokens)
    grown = kept.copy()
    for ts, cost, tokens in rows:
        whole.add(ts, cost, tokens)
    for ts, cost, tokens in rows[cut:]:
        grown.add(ts, cost, tokens)
    edge = rows[cut - 1][0]
    for size in (600_000, 3_600_000):
        for a in (0, 1_000, 600_000, 1_234_567, edge - 1, edge, edge + 1):
            for b in (edge, edge + 1, 3 * HOUR, rows[-1][0] + 1, 10 * HOUR):
                for proxy in ("cost", "tokens"):
                    assert grown.buckets(proxy, a, b, size) == whole.buckets(proxy, a, b, size), (proxy, a, b, size)
    assert kept._memo  # the history's whole buckets were kept


def test_a_second_read_learns_no_profile_again(tmp_path, monkeypatch):
    """The week's profile and what the user does elsewhere (the official % is hours old) depend on past weeks only:
    a live commit's read learns neither again, and its forecast is the one a fresh read gives."""
    from tokentop.ingest.usage import weekly
    store = make_store(tmp_path)
    history(store)
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0)
    weekly._LEARNT.clear()
    weekly._AWAY.clear()
    past = PastCache()
    first = statuses(store, settings, NOW, past)
    assert "elsewhere" in first["week"][3].summary or first["week"][3].method == "profile"
    learnt = []
    real = weekly.pf.learn_profile
    monkeypatch.setattr(weekly.pf, "learn_profile", lambda *a, **k: learnt.append(a) or real(*a, **k))
    add_usage(store, NOW + 4 * MIN, cost=3.0)
    kept = statuses(store, settings, NOW + 5 * MIN, past)
    assert learnt == []
    monkeypatch.setattr(weekly.pf, "learn_profile", real)
    weekly._LEARNT.clear()
    weekly._AWAY.clear()
    assert kept == statuses(store, settings, NOW + 5 * MIN)
