"""The first paint: the first read leaves out the forecasts (their weeks of history and backtest are most of its
time), the full read follows at once, and the live service starts only once that first read is on screen."""

from __future__ import annotations

import asyncio
import time

from support.history import NOW_MS

from tokentop.tui.app import TokentopApp
from tokentop.tui.screens.overview import OverviewScreen


async def _until(pilot, condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await pilot.pause(0.05)


def test_the_first_read_paints_without_the_forecast_and_the_full_read_follows(ctx, monkeypatch):
    seen: list[tuple] = []
    original = OverviewScreen.on_overview_loaded

    def record(self, message):
        original(self, message)
        week = message.overview.windows["week"]
        seen.append((message.overview.partial, week.forecast is not None, len(self.query_one("#sessions").keys),
                     self.query_one("#week-gauge").value_text, self.query_one("#burn-line").data.summary))

    monkeypatch.setattr(OverviewScreen, "on_overview_loaded", record)

    async def run():
        app = TokentopApp(ctx, clock=lambda: NOW_MS, watch=False)
        async with app.run_test(size=(160, 50)) as pilot:
            ov = app._overview()
            await _until(pilot, lambda: len(seen) >= 2 and not ov._loading)
    asyncio.run(run())
    (partial, forecast, rows, value, summary), (full, forecast2, rows2, value2, summary2) = seen[:2]
    assert partial and not forecast and rows > 0 and summary == ""
    assert not full and forecast2 and summary2.startswith("on pace")
    assert (rows2, value2) == (rows, value)  # the sessions and the week's figure were right the first time
    assert len(seen) == 2  # and nothing is read a third time


def test_the_live_service_starts_after_the_first_paint(ctx, monkeypatch):
    events: list[str] = []
    loaded = OverviewScreen.on_overview_loaded
    monkeypatch.setattr(OverviewScreen, "on_overview_loaded",
                        lambda self, m: (events.append("partial" if m.overview.partial else "full"), loaded(self, m)))
    monkeypatch.setattr(TokentopApp, "_start_service", lambda self: events.append("service"))

    async def run():
        app = TokentopApp(ctx, clock=lambda: NOW_MS, watch=True)
        async with app.run_test(size=(80, 24)) as pilot:
            await _until(pilot, lambda: "service" in events and "full" in events)
    asyncio.run(run())
    assert events.index("partial") < events.index("service")
