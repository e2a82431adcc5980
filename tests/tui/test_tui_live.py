"""The live overview stays cheap: a commit re-reads only the sessions it touched, and a burst of commits is one
re-read (counted, not timed: the CPU share is measured in tests/bench/bench_tui.py)."""

from __future__ import annotations

from support.history import API, LIVE, NOW_MS, OPUS, iso
from support.loglines import assistant
from test_tui import loaded, make_app, pilot_test, until

from tokentop.ingest.usage import queries
from tokentop.tui.messages import DataChanged


def count_session_reads(monkeypatch) -> list[list[str]]:
    """Every `_session_totals` call's session ids, full reads and updates alike."""
    calls: list[list[str]] = []
    real = queries._session_totals

    def counted(store, ids):
        calls.append(sorted(ids))
        return real(store, ids)

    monkeypatch.setattr(queries, "_session_totals", counted)
    return calls


@pilot_test
async def test_a_commit_to_one_session_re_reads_only_that_session(ctx, home, monkeypatch):
    calls = count_session_reads(monkeypatch)
    app = make_app(ctx, watch=True)
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        await until(pilot, lambda: app.service is not None and app.service.wait_ready(0), what="the watcher")
        await until(pilot, lambda: not ov._loading and app._refresh_timer is None, what="the catch-up's re-read")
        assert len(calls[0]) == 15  # the first read: every session in the fixture
        table = ov.query_one("#sessions")
        cols = [c.key for c in table.columns_for(table.size.width)]
        before = len(calls)
        path = home / ".claude" / "projects" / "-home-u-src-tokentop" / f"{LIVE}.jsonl"
        with open(path, "a") as f:
            f.write(assistant("msg_live_one", "req_live_one", output=0, input_=0, cache_read=2_000_000, model=OPUS,
                              ts=iso(NOW_MS - 30_000), session=LIVE, cwd="/home/u/src/tokentop", branch="tui")
                    + "\n")
        await until(pilot, lambda: dict(zip(cols, table.cells(LIVE)))["requests"] == "41", timeout=10,
                    what="the new line in the sessions table")
        assert calls[before:] == [[LIVE]]
        assert len(table.keys) == 15 and table.keys[0] == LIVE  # the other 14 rows kept, in order


@pilot_test
async def test_a_burst_of_changes_is_one_re_read_with_all_their_sessions(ctx, monkeypatch):
    calls = count_session_reads(monkeypatch)
    app = make_app(ctx)
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        app._last_refresh = 0.0  # as after a quiet spell
        first = len(calls)
        app.post_message(DataChanged(frozenset({LIVE}), None))
        await pilot.pause()
        for session in (API, LIVE, API):
            app.post_message(DataChanged(frozenset({session}), None))
        await until(pilot, lambda: len(calls) >= first + 2 and not ov._loading and app._refresh_timer is None,
                    timeout=10, what="the coalesced re-read")
        await pilot.pause(0.3)
        # The first change at once, the other three together one interval later.
        assert calls[first:] == [[LIVE], sorted([API, LIVE])]
        # Anything unknown (a sync, the clock) reads everything again.
        app._last_refresh = 0.0
        app.post_message(DataChanged(frozenset(), None))
        await until(pilot, lambda: len(calls) > first + 2 and not ov._loading, what="the full re-read")
        assert len(calls[-1]) == 15
