"""The writer's post-commit step (alerts and the statusline's state file) runs at most once a second: a burst of
commits pays for it once, and the skipped run comes late, not never (counted, not timed)."""

from __future__ import annotations

import json
import time

import pytest
from support.livelog import LiveSession, wait_for

from tokentop.ingest.claude_code import quick, state
from tokentop.ingest.context import make_context
from tokentop.ingest.live import service as service_module
from tokentop.ingest.live.service import WatchService
from tokentop.ingest.usage.limits import today_cost

SESSION = "aaaaaaaa-1111-4111-8111-111111111111"


def test_a_burst_of_commits_runs_the_post_commit_step_once_then_once_more(home, monkeypatch):
    runs: list[float] = []
    real = state.alerts_and_state

    def counted(*args, **kwargs):
        runs.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(service_module, "alerts_and_state", counted)
    monkeypatch.setattr(service_module, "ALERTS_EVERY_S", 6.0)  # wide enough for the burst to fit inside
    session = LiveSession(home / ".claude" / "projects" / "-home-u-app" / f"{SESSION}.jsonl")
    session.respond()
    service = WatchService.from_context(make_context()).start()
    try:
        assert service.wait_ready(10)
        wait_for(lambda: len(runs) == 1, message="the catch-up's post-commit step")
        batches = service.stats.batches
        burst = time.monotonic()
        for _ in range(5):
            session.respond()
            before = service.stats.batches
            wait_for(lambda: service.stats.batches > before, message="the commit")  # noqa: B023
        assert service.stats.batches - batches == 5
        if time.monotonic() - burst > 5.0:
            pytest.skip("the machine took too long over five commits to tell a burst apart")
        wait_for(lambda: len(runs) == 3, timeout=20, message="the late run")
        # The first commit of the burst ran it at once, the other four shared one run, late.
        time.sleep(0.5)
        assert len(runs) == 3 and runs[2] - runs[1] >= 5.9
        # The late run saw every line: the state file's today's cost is the store's after the last commit.
        ctx = make_context()
        saved = json.loads(open(quick.state_path(ctx.db_path)).read())
        with ctx.open_store(readonly=True) as store:
            expected = today_cost(store, ctx.settings.zone(), saved["computed_ms"])
        assert expected > 0 and saved["line"]["today_cost_usd"] == expected
    finally:
        service.stop()


def test_the_post_commit_step_fires_the_forecast_alert_at_most_once_a_minute(home, monkeypatch):
    # The live service is the writer, so its post-commit step is what fires alerts while tokentop runs: the week's
    # forecast alert ("on pace to hit the cap …") must come from it too, not only from `status`.
    from support.history import NOW_MS, build_store

    from tokentop.ingest import clock
    from tokentop.ingest.usage import limits
    from tokentop.ingest.usage.alerts import FORECAST_LEVEL

    ctx = build_store(home)
    now = [NOW_MS]
    monkeypatch.setattr(clock, "now_ms", lambda: now[0])
    monkeypatch.setattr(state, "_forecast_checked", [0])
    details = []
    real = limits.compute_status

    def recorded(*args, **kwargs):
        details.append(kwargs.get("detail"))
        return real(*args, **kwargs)

    monkeypatch.setattr(limits, "compute_status", recorded)
    with ctx.open_store() as store:
        fired = state.alerts_and_state(store, ctx.settings, None, None)
        assert [a.message for a in fired if a.level == FORECAST_LEVEL] == ["week: on pace to hit the cap 16:09"]
        now[0] += 1_000
        state.alerts_and_state(store, ctx.settings, None, None)  # a second later: no forecast again
        now[0] += state.FORECAST_EVERY_MS
        state.alerts_and_state(store, ctx.settings, None, None)
    assert details == [{"week"}, False, {"week"}]
