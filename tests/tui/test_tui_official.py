"""The overview with Claude Code's cached official figures and no set-up (no caps, no week_reset, no hooks): at
80x24 and 120x40, with the cache alone, with a statusline sample newer than it, and with per-model weekly caps.
Update the snapshots with `pytest tests/tui/test_tui_official.py --snapshot-update` and look at them."""

from __future__ import annotations

import time

import pytest
from support.claude_json import cached_usage, write_claude_json
from support.history import HOUR, MIN, NOW_MS, build_store, fire_alerts
from test_tui import pilot_test, until

from tokentop.ingest.claude_code.cached_usage import CachedWatch
from tokentop.tui.app import TokentopApp

SIZES = [(80, 24), (120, 40)]
NO_SETUP = 'timezone = "UTC"\nretention_days = 100000\n'
"""A first launch: nothing configured but the zone (pinned so the snapshots do not depend on the machine's)."""
WEEK_RESET = NOW_MS + 56 * HOUR + 30 * MIN  # Sun 00:00 UTC
FIVE_RESET = NOW_MS + 2 * HOUR
MODELS = (("Sonnet", 12.0, None), ("Opus", 3.0, None), ("Fable", 83.0, None))


def _app(home, models=(), statusline: float | None = None) -> TokentopApp:
    ctx = build_store(home, config=NO_SETUP)
    write_claude_json(home, cached_usage(NOW_MS - HOUR, five=(18.0, FIVE_RESET), week=(41.0, WEEK_RESET),
                                         models=models))
    with ctx.open_store() as store:
        CachedWatch().check(store, NOW_MS)  # stands in for the writer, as fire_alerts does
        if statusline is not None:  # the statusline's own sample, ten minutes old: newer than the cache
            store.db.execute("INSERT INTO official_samples(taken_ms, window, used_pct, resets_at_ms, session_id, "
                             "seen_ms) VALUES (?, 'seven_day', ?, ?, NULL, ?)",
                             (NOW_MS - 10 * MIN, statusline, WEEK_RESET, NOW_MS - 10 * MIN))
    fire_alerts(ctx)
    return TokentopApp(ctx, clock=lambda: NOW_MS, watch=False)


async def _loaded(pilot) -> None:
    ov = pilot.app._overview()
    deadline = time.monotonic() + 10
    while ov.overview is None or ov._loading:
        assert time.monotonic() < deadline, "the screen did not load"
        await pilot.pause(0.05)
    await pilot.pause(0.3)  # the alert toasts arrive with the first load: drop them, keep the banner
    pilot.app.clear_notifications()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_first_launch_with_cached_figures(snap_compare, home, size):
    assert snap_compare(_app(home), terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_statusline_sample_newer_than_the_cache(snap_compare, home, size):
    assert snap_compare(_app(home, statusline=45.0), terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_per_model_caps(snap_compare, home, size):
    assert snap_compare(_app(home, models=MODELS), terminal_size=size, run_before=_loaded)


# -- what the gauges say -------------------------------------------------------------------------------------


def _gauge(app, name: str):
    return app.screen.query_one(f"#{name}-gauge")


@pilot_test
async def test_the_week_gauge_shows_the_cached_figure_and_its_age(home):
    app = _app(home)
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        week = app._overview().overview.windows["week"]
        assert (week.official_pct, week.official_at_ms, week.end_ms) == (41.0, NOW_MS - HOUR, WEEK_RESET)
        gauge = _gauge(app, "week")
        assert "official 41% · 1h old" in gauge.detail
        five = _gauge(app, "five")
        assert five.detail[0] == "official 18% · 1h old" and five.value_text == "~28%"  # plus the hour's usage
        assert not app.screen.query_one("#model-gauges").display  # no per-model figure in this cache


@pilot_test
async def test_a_fresher_statusline_sample_is_the_one_shown(home):
    app = _app(home, statusline=45.0)
    async with app.run_test(size=(120, 40)) as pilot:
        await _loaded(pilot)
        week = app._overview().overview.windows["week"]
        assert (week.official_pct, week.official_at_ms) == (45.0, NOW_MS - 10 * MIN)
        assert "official 45% · 10m old" in _gauge(app, "week").detail


@pilot_test
async def test_per_model_gauges_show_each_cap(home):
    app = _app(home, models=MODELS)
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        assert app.screen.query_one("#model-gauges").display
        fable = _gauge(app, "week_fable")
        assert (fable.label, fable.pct, fable.value_text) == ("Week Fable", 83.0, "83%")
        assert fable.has_class("-high")
        assert fable.detail == ["official · 1h old", "resets Sun 00:00"]  # no Fable usage since: the figure itself
        opus = _gauge(app, "week_opus")
        assert opus.detail[0] == "official 3% · 1h old" and opus.value_text.startswith("~")
        assert _gauge(app, "week_sonnet").pct is not None and _gauge(app, "week_opus").pct is not None


@pilot_test
async def test_a_closed_cached_window_is_not_shown(home):
    ctx = build_store(home, config=NO_SETUP)
    write_claude_json(home, cached_usage(NOW_MS - 30 * HOUR, five=(90.0, NOW_MS - 25 * HOUR),
                                         week=(55.0, NOW_MS - MIN), models=(("Fable", 99.0, NOW_MS - MIN),)))
    with ctx.open_store() as store:
        assert CachedWatch().check(store, NOW_MS) == 0
    app = TokentopApp(ctx, clock=lambda: NOW_MS, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await _loaded(pilot)
        week = app._overview().overview.windows["week"]
        assert week.official_pct is None and week.used_pct is None
        assert not app.screen.query_one("#model-gauges").display


@pilot_test
async def test_a_refresh_of_the_cache_shows_live(home):
    """The real path: the app's own writer records the cache at start, then a refresh at its next poll."""
    from support.history import write_history

    from tokentop.ingest.context import make_context
    now = int(time.time() * 1000)
    write_history(home, now, config=NO_SETUP + "poll_interval = 0.5\n")
    write_claude_json(home, cached_usage(now - HOUR, five=(18.0, now + 2 * HOUR), week=(41.0, now + 50 * HOUR),
                                         models=()))
    app = TokentopApp(make_context(), watch=True)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = app._overview()
        await until(pilot, lambda: (ov.overview is not None and "week" in ov.overview.windows
                                    and ov.overview.windows["week"].official_pct == 41.0), timeout=20,
                    what="the cached week figure")
        assert not app.screen.query_one("#model-gauges").display
        write_claude_json(home, cached_usage(int(time.time() * 1000), five=(18.0, now + 2 * HOUR),
                                             week=(47.0, now + 50 * HOUR), models=(("Fable", 64.0, None),)))
        fable = _gauge(app, "week_fable")
        await until(pilot, lambda: fable.pct == 64.0 and fable.display, timeout=10, what="Fable's gauge")
        await until(pilot, lambda: ov.overview.windows["week"].official_pct == 47.0, timeout=5,
                    what="the refreshed week figure")
        assert app.screen.query_one("#model-gauges").display
