"""The writer follows ~/.claude.json: figures present at start are recorded before the catch-up, and a refresh by
Claude Code is recorded at the next poll and told to subscribers (so the TUI repaints with it)."""

from __future__ import annotations

import time

from support.claude_json import cached_usage, write_claude_json
from support.livelog import wait_for
from test_watcher import collect, projects, query, start  # noqa: F401 - fixtures

HOUR = 3_600_000


def _now() -> int:
    return int(time.time() * 1000)


def test_cached_figures_are_recorded_at_start_and_after_a_refresh(home, projects, start):  # noqa: F811
    now = _now()
    write_claude_json(home, cached_usage(now - HOUR, five=(18.0, now + 2 * HOUR), week=(41.0, now + 50 * HOUR),
                                         models=()))
    service = start(poll_only=True)
    assert query("SELECT window, used_pct FROM official_samples ORDER BY window") == [("five_hour", 18.0),
                                                                                       ("seven_day", 41.0)]
    changes = collect(service)
    write_claude_json(home, cached_usage(_now(), week=(44.0, now + 50 * HOUR), models=(("Fable", 70.0, None),)))
    wait_for(lambda: query("SELECT used_pct FROM official_samples WHERE window = 'seven_day_fable'") == [(70.0,)],
             timeout=8, message="the refreshed cache recorded")
    wait_for(lambda: bool(changes), timeout=4, message="subscribers told")
    assert query("SELECT MAX(used_pct) FROM official_samples WHERE window = 'seven_day'") == [(44.0,)]
