"""Keys a user reaches for first: Home/End, Ctrl+C, and the table taking the keys once the first read is done
(the help, Esc back to a view and the cursor after a filter or sort are in test_tui_keys.py)."""

from __future__ import annotations

from test_tui import loaded, make_app, overview, pilot_test, until


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
