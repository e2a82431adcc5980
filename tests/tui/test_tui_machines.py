"""The TUI with a sync folder: the header counts machines, sessions show theirs, `M` opens the per-machine view."""

from __future__ import annotations

import time

from support.machines import Machine
from test_tui import loaded, pilot_test, until

from tokentop.ingest.context import make_context
from tokentop.tui.app import TokentopApp
from tokentop.tui.screens.views import ViewScreen

LAPTOP_SESSION = "aaaa0000-0000-4000-8000-000000000001"
DESKTOP_SESSION = "bbbb0000-0000-4000-8000-000000000002"


@pilot_test
async def test_machines_in_the_header_the_sessions_and_their_own_view(tmp_path):
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop, desktop = (Machine(tmp_path / "homes", n, folder) for n in ("laptop", "desktop"))
    laptop.session(LAPTOP_SESSION, [{"msg": "msg_l1", "output": 400, "ts": "2026-11-24T10:00:00.000Z"}])
    desktop.session(DESKTOP_SESSION, [{"msg": "msg_d1", "output": 9, "ts": "2026-11-25T10:00:00.000Z"}])
    desktop.sync()
    laptop.sync()
    with laptop.env():
        await run(make_context())


async def run(ctx):
    now = int(time.time() * 1000)
    app = TokentopApp(ctx, clock=lambda: now, watch=False)
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        assert ov.overview.machines == ("desktop", "laptop")
        assert "2 machines" in ov.query_one("#status").parts
        table = ov.query_one("#sessions")
        cols = [c.key for c in table.columns_for(table.size.width)]
        assert dict(zip(cols, table.cells(DESKTOP_SESSION)))["machine"] == "desktop"
        assert dict(zip(cols, table.cells(LAPTOP_SESSION)))["machine"] == "laptop"
        await pilot.press("M")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None,
                    what="the machines view")
        await pilot.pause()
        view = app.screen
        rows = {r.key: r.totals.output_tokens for r in view.data.rows}
        assert rows == {"desktop": 9, "laptop": 400}
        assert "Machines" in str(view.query_one("#view-title").render())
        assert view.query_one("#view-table").keys == ["laptop", "desktop"]  # by cost
        await pilot.press("enter")  # on the laptop's row: the overview filtered to its sessions
        await until(pilot, lambda: not isinstance(app.screen, ViewScreen), what="back to the overview")
        await until(pilot, lambda: ov.overview is not None and ov.overview.filter_text == "laptop"
                    and not ov._loading, what="the filtered overview")
        assert ov.query_one("#sessions").keys == [LAPTOP_SESSION]
