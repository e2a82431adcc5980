"""A session whose requests retention folded into rollups says so in its drill-down, at 80 columns."""

from __future__ import annotations

from support.history import LIVE, NOW_MS, build_store
from test_tui import loaded, make_app, pilot_test, until

from tokentop.tui.screens.session import SessionScreen

DAY = 86_400_000


@pilot_test
async def test_a_rolled_up_session_says_so_instead_of_showing_empty_tables(home):
    ctx = build_store(home)
    with ctx.open_store() as store:
        # Retention of 0 days as of a day after the fixture's clock: every request so far folds into rollups.
        folded = store.prune(0, now_ms=NOW_MS + DAY)
    assert folded > 40
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        app.push_screen(SessionScreen(LIVE))
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.detail is not None)
        await pilot.pause()
        screen = app.screen
        assert screen.detail.rolled_up_requests == 40 and not screen.detail.requests
        title = screen.query_one("#requests").border_title
        assert title == "Requests · all 40 rolled up by retention: totals above, no per-request rows"
        assert len(title) <= 78  # whole inside the border at 80 columns
        assert screen.query_one("#tools").border_title == "Tools · not kept after retention"
        facts = str(screen.query_one("#session-facts").render())
        assert "40 requests" in facts  # the totals are still there
