"""Two model ids that read the same shortened (`opus-4-5` from a dated and an undated id) are told apart wherever the
TUI shows them together: the models view, the sessions table's models cell, a session's facts and its requests."""

from __future__ import annotations

from support.history import NOW_MS, iso
from support.loglines import assistant, user, write_lines
from test_tui import loaded, make_app, pilot_test, table_rows, until

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.tui.screens.session import SessionScreen
from tokentop.tui.screens.views import ViewScreen
from tokentop.widgets.sessions_table import SessionsTable

SESSION = "e5e5e5e5-0000-4000-8000-000000000001"
DATED, UNDATED, OTHER = "claude-opus-4-5-20251101", "claude-opus-4-5", "claude-haiku-4-5-20251001"


def make_ctx(home):
    (home / ".config" / "tokentop").mkdir(parents=True)
    (home / ".config" / "tokentop" / "config.toml").write_text('timezone = "UTC"\nretention_days = 100000\n')
    t = NOW_MS - 3_600_000
    write_lines(home / ".claude" / "projects" / "-home-u-src-app" / f"{SESSION}.jsonl", [
        user(ts=iso(t), session=SESSION),
        assistant("msg_1", "req_1", output=900, model=DATED, ts=iso(t + 60_000), session=SESSION),
        assistant("msg_2", "req_2", output=20, model=UNDATED, ts=iso(t + 120_000), session=SESSION),
        assistant("msg_3", "req_3", output=5, model=OTHER, ts=iso(t + 180_000), session=SESSION),
    ])
    ctx = make_context()
    with ctx.open_store() as store:
        Ingester(store, ctx.settings).ingest_all()
    return ctx


@pilot_test
async def test_models_that_read_the_same_are_told_apart(home):
    app = make_app(make_ctx(home))
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        row = dict(zip([c.key for c in table.columns_for(table.size.width)], table.cells(SESSION)))
        assert row["models"] == "opus+haiku"  # three names do not fit the cell: families, as before
        # Where the names fit, the two opus-4-5 stay two.
        assert SessionsTable._models((UNDATED, DATED), 40) == "opus-4-5, opus-4-5-20251101"
        assert SessionsTable._models((DATED, OTHER), 40) == "opus-4-5, haiku-4-5"

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.detail is not None,
                    what="the session screen")
        screen = app.screen
        assert "models opus-4-5-20251101, opus-4-5, haiku-4-5" in str(screen.query_one("#session-facts").render())
        requests = screen.query_one("#requests")
        models = [dict(zip([c.key for c in requests.ordered_columns], cells))["model"]
                  for _, cells in table_rows(requests)]
        assert models == ["haiku-4-5", "opus-4-5", "opus-4-5-20251101"]  # newest first
        await pilot.press("escape")

        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None,
                    what="the models view")
        await pilot.pause()
        shown = {k: cells[0] for k, cells in table_rows(app.screen.query_one("#view-table"))}
        assert shown == {DATED: "opus-4-5-20251101", UNDATED: "opus-4-5", OTHER: "haiku-4-5"}
