"""A fixed, crafted usage history for the TUI tests and snapshots: log files under a temporary HOME, read into the
store by the real ingester, with the clock pinned."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from support.loglines import assistant, summary, user, write_lines

NOW_MS = int(datetime(2026, 11, 26, 15, 30, tzinfo=UTC).timestamp() * 1000)
"""Thursday 2026-11-26 15:30 UTC. The week (reset Tue 09:00 UTC) began Tue 2026-11-24 09:00."""
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR

OPUS = "claude-opus-4-6"
SONNET = "claude-sonnet-4-5-20250929"
HAIKU = "claude-haiku-4-5-20251001"

LIVE = "a1b2c3d4-0000-4000-8000-000000000001"
LIVE2 = "a1b2c3d4-0000-4000-8000-000000000002"
API = "a1b2c3d4-0000-4000-8000-000000000003"
DOCS = "a1b2c3d4-0000-4000-8000-000000000004"
SPIKE = "a1b2c3d4-0000-4000-8000-000000000005"

CONFIG = """\
timezone = "UTC"
retention_days = 100000
week_reset = "tue 09:00 UTC"
weekly_cap_usd = 6.0
five_hour_cap_usd = 4.0
monthly_budget_usd = 200.0
"""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _session(path: Path, session: str, cwd: str, branch: str, title: str | None, requests: list[dict],
             agent: str | None = None) -> None:
    lines = []
    if title:
        lines.append(summary(title))
    for i, r in enumerate(requests):
        ts = r["ts"]
        if agent is None:
            lines.append(user(ts=iso(ts - 5000), session=session))
        lines.append(assistant(f"msg_{session}_{agent or 'm'}_{i}", f"req_{session}_{agent or 'm'}_{i}",
                               output=r.get("output", 500), input_=r.get("input", 5),
                               cache_5m=r.get("cache_5m", 1000), cache_read=r.get("cache_read", 20000),
                               model=r["model"], ts=iso(ts), session=session, cwd=cwd, branch=branch,
                               tools=tuple(r.get("tools", ())), sidechain=agent is not None, agent=agent))
    write_lines(path, lines)


def write_history(home: Path, now_ms: int = NOW_MS, config: str = CONFIG) -> Path:
    """Write the crafted logs and config under `home`; returns the Claude projects root."""
    projects = home / ".claude" / "projects"
    cfg = home / ".config" / "tokentop" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(config)
    tools_cycle = (("Read",), ("Edit", "Read"), ("Bash",), (), ("Bash", "Bash", "Grep"))
    # Two live sessions (a line in the last five minutes), one with a sub-agent.
    live = [{"ts": now_ms - 3 * HOUR + i * 5 * MIN, "model": OPUS, "output": 800, "cache_5m": 2000,
             "cache_read": 120_000, "tools": tools_cycle[i % len(tools_cycle)]} for i in range(36)]
    live.append({"ts": now_ms - 2 * MIN, "model": OPUS, "output": 1200, "cache_5m": 3000, "cache_read": 90_000,
                 "tools": ("Edit",)})
    root = projects / "-home-u-src-tokentop"
    _session(root / f"{LIVE}.jsonl", LIVE, "/home/u/src/tokentop", "tui", "Build the live TUI", live)
    agent = [{"ts": now_ms - 40 * MIN + i * 5 * MIN, "model": HAIKU, "output": 300, "cache_5m": 500,
              "cache_read": 8000, "tools": ("Grep",)} for i in range(3)]
    _session(root / LIVE / "subagents" / "agent-a77.jsonl", LIVE, "/home/u/src/tokentop", "tui", None, agent,
             agent="a77")
    live2 = [{"ts": now_ms - 61 * MIN + i * 15 * MIN, "model": SONNET, "output": 600} for i in range(5)]
    _session(projects / "-home-u-src-spotter" / f"{LIVE2}.jsonl", LIVE2, "/home/u/src/spotter", "main",
             "Review flaky tests", live2)
    # Yesterday, three days ago, and a heavy day six days ago (the spike).
    api = [{"ts": now_ms - 26 * HOUR + i * 10 * MIN, "model": SONNET, "output": 900, "cache_read": 40_000,
            "tools": ("Read",) if i % 2 else ()} for i in range(12)]
    _session(projects / "-home-u-src-api" / f"{API}.jsonl", API, "/home/u/src/api", "fix/pagination",
             "Fix pagination off-by-one", api)
    docs = [{"ts": now_ms - 3 * DAY + i * 7 * MIN, "model": HAIKU, "output": 400} for i in range(8)]
    _session(projects / "-home-u-src-docs" / f"{DOCS}.jsonl", DOCS, "/home/u/src/docs", "main", None, docs)
    spike = [{"ts": now_ms - 6 * DAY + i * 4 * MIN, "model": OPUS, "output": 3000, "cache_5m": 6000,
              "cache_read": 150_000, "tools": ("Bash",)} for i in range(40)]
    _session(root / f"{SPIKE}.jsonl", SPIKE, "/home/u/src/tokentop", "store", "Refactor the store", spike)
    # A small session on each of the other days, so the strip has a baseline to spike above.
    for d in (2, 4, 5, 7, 8, 9, 10, 11, 12, 13):
        sid = f"b0000000-0000-4000-8000-{d:012d}"
        reqs = [{"ts": now_ms - d * DAY + i * 9 * MIN, "model": SONNET, "output": 700, "cache_read": 30_000}
                for i in range(6)]
        _session(projects / "-home-u-notes" / f"{sid}.jsonl", sid, "/home/u/notes", "main", f"Notes day {d}", reqs)
    return projects


def fire_alerts(ctx, now_ms: int = NOW_MS) -> None:
    """What the writer's post-commit step does: record the alerts the history crosses at `now_ms`. A `watch=False`
    app has no writer and only reads alerts, so a test of toasts or the alerts view fires them first."""
    from tokentop.ingest.usage.alerts import check_alerts
    with ctx.open_store() as store:
        check_alerts(store, ctx.settings, now_ms, notify=False)


def build_store(home: Path, now_ms: int = NOW_MS, config: str = CONFIG):
    """Write the history under `home` (which must be $HOME) and ingest it; returns the Context."""
    from tokentop.ingest.context import make_context
    from tokentop.ingest.live.ingester import Ingester
    from tokentop.ingest.logs.discovery import discover
    write_history(home, now_ms, config)
    ctx = make_context()
    with ctx.open_store() as store:
        Ingester(store, ctx.settings).ingest_all(discover(ctx.settings))
    return ctx
