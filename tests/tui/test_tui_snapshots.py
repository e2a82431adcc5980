"""What the screens look like: SVG snapshots of the overview and a session at 80x24 and 160x50, over the fixed
store with the clock pinned. Update them with `pytest tests/tui/test_tui_snapshots.py --snapshot-update` and look."""

from __future__ import annotations

import time

import pytest
from support.history import LIVE, NOW_MS, build_store, fire_alerts

from tokentop.tui.app import TokentopApp
from tokentop.tui.screens.session import SessionScreen

SIZES = [(80, 24), (160, 50)]


@pytest.fixture
def app(home):
    ctx = build_store(home)
    fire_alerts(ctx)  # stands in for the writer: a watch=False app fires nothing
    return TokentopApp(ctx, clock=lambda: NOW_MS, watch=False)


async def _wait(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the screen did not load"
        await pilot.pause(0.05)
    await pilot.pause()


async def _overview_loaded(pilot) -> None:
    ov = pilot.app._overview()
    await _wait(pilot, lambda: ov.overview is not None and not ov._loading)
    # The fixture crosses alert thresholds: keep the banner, drop the toasts (they would cover the table).
    await _wait(pilot, lambda: ov.query_one("#alert-banner").display)
    pilot.app.clear_notifications()
    await pilot.pause()


async def _session_loaded(pilot) -> None:
    await _overview_loaded(pilot)
    await pilot.press("down", "enter")  # the second live session: LIVE, with a sub-agent and tools
    await _wait(pilot, lambda: isinstance(pilot.app.screen, SessionScreen) and pilot.app.screen.detail is not None)
    assert pilot.app.screen.session_id == LIVE


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_overview(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=_overview_loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=_session_loaded)


async def _help_at_end(pilot) -> None:
    await _overview_loaded(pilot)
    await pilot.press("question_mark")
    await _wait(pilot, lambda: type(pilot.app.screen).__name__ == "HelpScreen")
    await pilot.press("end")
    body = pilot.app.screen.query_one("#help-body")
    await _wait(pilot, lambda: body.max_scroll_y > 0 and body.scroll_y == body.max_scroll_y)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_help_scrolled_to_its_end(snap_compare, app, size):
    assert snap_compare(app, terminal_size=size, run_before=_help_at_end)
