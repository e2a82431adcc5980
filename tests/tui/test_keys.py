"""Keys a user reaches for first: the help scrolls to its end on a small terminal, Home/End, Ctrl+C, Esc back to
the view a filter came from, the cursor on the first row after a filter or sort, focus after the first read."""

from __future__ import annotations

from support.history import API, SPIKE
from test_tui import loaded, make_app, overview, pilot_test, until

from tokentop.tui.screens.help import HelpScreen
from tokentop.tui.screens.views import ViewScreen


@pilot_test
async def test_help_scrolls_to_its_last_line_at_80x24(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        box, body, hint = (app.screen.query_one(s) for s in ("#help-box", "#help-body", "#help-hint"))
        # The hint line is inside the screen, not cut off below it.
        assert hint.region.height == 1 and hint.region.bottom <= box.region.bottom <= 24
        assert body.max_scroll_y > 0, "at 80x24 the list is longer than the box: it must scroll"
        await pilot.press("end")
        await pilot.pause(0.2)
        assert body.scroll_y == body.max_scroll_y
        last = list(app.screen.query(".help-note"))[-1]
        assert body.region.y <= last.region.y < body.region.bottom, "the last line is on screen after End"
        await pilot.press("home")
        await pilot.pause(0.2)
        assert body.scroll_y == 0


@pilot_test
async def test_home_and_end_go_to_the_first_and_last_row(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        assert app.focused is table
        await pilot.press("end")
        assert table.cursor_row == len(table.keys) - 1 == 14
        await pilot.press("home")
        assert table.cursor_row == 0


@pilot_test
async def test_ctrl_c_quits(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("ctrl+c")
        await pilot.pause()
    assert app.return_code == 0 and not app.is_running


@pilot_test
async def test_escape_after_a_filter_from_a_view_returns_to_that_view(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        ov = await loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None)
        await pilot.pause()
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.screen is ov and ov.filter_text == "/home/u/notes", what="the filter")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.view == "projects",
                    what="back to the projects view")
        assert ov.filter_text == ""
        # A filter typed on the overview itself has no view to go back to.
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is ov)
        await pilot.press("slash", *"pagination", "enter")
        await until(pilot, lambda: ov.query_one("#sessions").keys == [API], what="the typed filter")
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert app.screen is ov and ov.filter_text == ""


@pilot_test
async def test_filter_and_sort_put_the_cursor_on_the_first_row(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        await pilot.press("down", "down", "down")
        assert table.cursor_row == 3
        await pilot.press("s")
        await until(pilot, lambda: ov.sort == "cost" and table.keys[0] == SPIKE and not ov._loading)
        await pilot.pause()
        assert table.cursor_row == 0 and table.selected_key == SPIKE
        await pilot.press("down", "down")
        await pilot.press("slash", *"notes", "enter")
        await until(pilot, lambda: len(table.keys) == 10 and not ov._loading, what="the filter")
        await pilot.pause()
        assert table.cursor_row == 0


@pilot_test
async def test_first_run_hands_the_keys_to_the_table_when_the_panel_closes(home):
    from support.history import write_history

    from tokentop.ingest.context import make_context
    write_history(home)
    app = make_app(make_context(), watch=True)
    async with app.run_test(size=(100, 30)) as pilot:
        ov = overview(app)
        await until(pilot, lambda: ov.overview is not None and ov.overview.has_data
                    and len(ov.query_one("#sessions").keys) == 15, timeout=20, what="the backfill")
        await pilot.pause()
        table = ov.query_one("#sessions")
        assert app.focused is table
        await pilot.press("down")
        assert table.cursor_row == 1
