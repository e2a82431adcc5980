"""The help scrolled to its end with every binding and the chart legend, Esc back to a view as it was (range,
row), a view's cursor on its first row after a sort, and the notice below 80x24."""

from __future__ import annotations

from support.history import LIVE2
from test_tui import loaded, make_app, pilot_test, until

from tokentop.tui.screens.help import CHARTS, NAVIGATION, HelpScreen, binding_sections
from tokentop.tui.screens.overview import OverviewScreen
from tokentop.tui.screens.too_small import TooSmallScreen
from tokentop.tui.screens.views import ViewScreen


def _inside(widget, screen) -> bool:
    """The widget is drawn entirely within the terminal."""
    region, size = widget.region, screen.size
    return region.height > 0 and region.y >= 0 and region.bottom <= size.height


@pilot_test
async def test_help_scrolls_to_its_end_at_80x24_and_lists_every_binding(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.pause()
        help_screen = app.screen
        body = help_screen.query_one("#help-body")
        hint = help_screen.query_one("#help-hint")
        assert _inside(hint, help_screen)  # the closing hint is on screen from the start
        assert body.max_scroll_y > 0 and body.scroll_y == 0  # 80x24 cannot show it all at once
        await pilot.press("end")
        await until(pilot, lambda: body.scroll_y == body.max_scroll_y, what="the help to scroll to its end")
        last = list(help_screen.query(".help-line"))[-1]
        assert str(last.query_one(".help-key").render()) == CHARTS[-1][0]
        assert _inside(last, help_screen) and _inside(hint, help_screen)
        ids = {str(r.query_one(".help-id").render()) for r in help_screen.query(".help-line")}
        expected = {b.id for _, bindings in binding_sections(app) for b in bindings if b.id}
        assert expected <= ids
        keys = [str(r.query_one(".help-key").render()) for r in help_screen.query(".help-line")]
        assert "^c" in keys and "quit_ctrl_c" in ids  # ctrl+c quits too, and the help says so
        assert all(k in keys for k, _ in NAVIGATION)
        await pilot.press("home")
        await until(pilot, lambda: body.scroll_y == 0, what="home")
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


@pilot_test
async def test_escape_after_enter_in_a_view_returns_to_that_view(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        ov = await loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None)
        await pilot.press("r")  # all history: the view's own state must come back too
        await until(pilot, lambda: app.screen.days is None and not app.screen._loading)
        await pilot.press("down", "enter")
        await until(pilot, lambda: app.screen is ov and ov.filter_text == "/home/u/notes" and not ov._loading)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None
                    and not app.screen._loading, what="the projects view again")
        view = app.screen
        assert view.view == "projects" and view.days is None
        assert view.query_one("#view-table").selected_key == "/home/u/notes"
        assert ov.filter_text == ""  # and the overview's filter is gone
        await pilot.press("escape")
        assert app.screen is ov
        await pilot.press("escape")  # a second Esc on the overview goes nowhere
        assert app.screen is ov


@pilot_test
async def test_filter_or_sort_puts_the_cursor_on_the_first_row(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        await pilot.press("down", "down", "down")
        assert table.cursor_row == 3
        await pilot.press("s")
        await until(pilot, lambda: ov.sort == "cost" and not ov._loading, what="sort by cost")
        await pilot.pause()
        assert table.cursor_row == 0 and table.selected_key == table.keys[0]
        await pilot.press("end")
        await pilot.press("slash", *"notes", "enter")
        await until(pilot, lambda: len(table.keys) == 10 and not ov._loading, what="the filter")
        await pilot.pause()
        assert table.cursor_row == 0
        # A live refresh with the same filter and order keeps the cursor where the user put it.
        await pilot.press("down", "down", "r")
        await until(pilot, lambda: not ov._loading, what="the reload")
        await pilot.pause()
        assert table.cursor_row == 2
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None)
        vt = app.screen.query_one("#view-table")
        await pilot.press("end")
        assert vt.cursor_row == len(vt.keys) - 1 > 0
        await pilot.press("s")
        assert vt.cursor_row == 0


@pilot_test
async def test_below_80x24_the_app_asks_for_room_and_comes_back(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(70, 20)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TooSmallScreen), what="the too-small notice")
        text = str(app.screen.query_one("#too-small").render())
        assert "at least 80×24" in text and "70×20" in text
        await pilot.resize_terminal(79, 30)
        await pilot.pause(0.2)
        assert "79×30" in str(app.screen.query_one("#too-small").render())
        await pilot.resize_terminal(80, 24)
        await until(pilot, lambda: isinstance(app.screen, OverviewScreen), what="the overview back")
        ov = await loaded(pilot)
        assert ov.query_one("#sessions").selected_key == LIVE2
        await pilot.resize_terminal(60, 24)
        await until(pilot, lambda: isinstance(app.screen, TooSmallScreen))
        await pilot.press("q")
        await pilot.pause()
    assert not app.is_running
