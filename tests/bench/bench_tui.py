#!/usr/bin/env python3
"""The open TUI's CPU share: idle, and while Claude Code writes 10 lines a second (issue 15: ≤ 1% and ≤ 15%).

    nice .venv/bin/python tests/bench/bench_tui.py [--history 200000] [--sessions 400] [--seconds 30] [--legacy]

A temporary HOME gets a store with `--history` responses spread over the last year across `--sessions` sessions
(written straight into the store, as bench_commands does), official samples as the statusline records them
(`--no-samples`: none, so the week is a rolling guess), and one live session log. The app runs headless in its
own process (`TokentopApp(...).run(headless=True)`, its live service inside it, as `tokentop` runs); this process
records when the first rows reach the screen (from the process's start: interpreter, imports, app, the first
read of the warm store), then measures that process's utime+stime from /proc over `--seconds` idle, then over
`--seconds` while it appends realistic assistant lines to the live log at `--rate` lines/s. `--legacy` undoes
issue 15's live-path changes (every store change re-reads the whole overview at once, the post-commit step runs
after every commit, nothing of the forecast is kept), for the before/after figure on the same machine."""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from support.loglines import assistant  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
DAY_MS = 86_400_000
CHILD = """
import sys
from tokentop.ingest.context import make_context
from tokentop.tui import app as app_module
if sys.argv[1] == "legacy":  # every part of issue 15's change to the live path undone
    from tokentop.ingest.live import service
    from tokentop.ingest.usage import weekly
    from tokentop.tui.screens.overview import OverviewScreen
    app_module.REFRESH_EVERY_S = 0.0
    service.ALERTS_EVERY_S = 0.0
    OverviewScreen.take_changes = lambda self: None
    learnt = weekly._learnt
    weekly._learnt = lambda *a: (weekly._LEARNT.clear(), learnt(*a))[1]
import os, time
from tokentop.tui.screens import overview as overview_module
loaded = overview_module.OverviewScreen.on_overview_loaded
def first_paint(self, message):  # when the first rows reach the screen: written once, for the parent to read
    loaded(self, message)
    mark = os.environ.get("TOKENTOP_BENCH_PAINTED")
    if mark and message.overview.has_data and not os.path.exists(mark):
        open(mark, "w").write(repr(time.time()))
overview_module.OverviewScreen.on_overview_loaded = first_paint
app_module.TokentopApp(make_context()).run(headless=True, size=(160, 50))
"""

PROFILED = """
import cProfile, signal, sys, threading
profile = cProfile.Profile()
threading.setprofile(lambda *a: None)
def stop(*_):
    profile.disable(); profile.dump_stats({out!r}); raise SystemExit(0)
signal.signal(signal.SIGTERM, stop)
profile.enable()
exec(compile({child!r}, "child", "exec"))
""".replace("{child!r}", repr(CHILD))


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def fill(db: Path, n: int, sessions: int, now_ms: int, samples: bool = True) -> None:
    from tokentop.ingest.pricing import PriceTable
    from tokentop.ingest.records import CLAUDE_CODE, UsageRecord
    from tokentop.ingest.store.store import Store
    rng = random.Random(15)
    models = ["claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    records = [UsageRecord(
        f"msg_h{i}:req_h{i}", f"msg_h{i}", f"req_h{i}", CLAUDE_CODE, f"hist-{rng.randrange(sessions):05d}",
        f"/home/u/p{rng.randrange(12)}", None, False, rng.choice(models), now_ms - rng.randrange(365 * DAY_MS) - 60_000,
        rng.randrange(1, 50), rng.randrange(50, 3000), rng.randrange(0, 20000), 0, rng.randrange(10_000, 150_000))
        for i in range(n)]
    with Store(db, prices=PriceTable.load()) as store:
        with store.transaction():
            store.write_batch(records)
        if samples:  # as the statusline records them: the week and the 5 hours with their official resets
            resets = now_ms + 3 * DAY_MS - (now_ms + 3 * DAY_MS) % 60_000
            for window, pct, end in (("seven_day", 41.0, resets), ("five_hour", 12.0, now_ms + 7_200_000)):
                store.db.execute("INSERT INTO official_samples(taken_ms, window, used_pct, resets_at_ms, session_id, "
                                 "seen_ms) VALUES (?, ?, ?, ?, NULL, ?)",
                                 (now_ms - 600_000, window, pct, end - end % 60_000, now_ms - 600_000))


def measure(pid: int, seconds: float, during=None) -> float:
    c0, t0 = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - t0 < seconds:
        if during is not None:
            during()
        else:
            time.sleep(0.2)
    return (cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--history", type=int, default=200_000)
    ap.add_argument("--sessions", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--settle", type=float, default=15.0, help="seconds for the start-up read before measuring")
    ap.add_argument("--legacy", action="store_true")
    ap.add_argument("--no-samples", action="store_true",
                    help="no official samples: the week is a rolling 7-day guess, whose history moves every read")
    ap.add_argument("--follow", action="store_true",
                    help="run `tokentop ingest --follow` instead of the app: the live service's own share")
    ap.add_argument("--profile", metavar="FILE", help="cProfile the app process into FILE (pstats)")
    args = ap.parse_args()
    now_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="tokentop-bench-tui-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "HOME": str(home), "TZ": "UTC"}
        for var in ("TOKENTOP_DB", "TOKENTOP_CONFIG", "XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "OPENCLAW_DIR"):
            env.pop(var, None)
        os.environ["HOME"] = str(home)
        config = home / ".config" / "tokentop" / "config.toml"
        config.parent.mkdir(parents=True)
        config.write_text("retention_days = 100000\n")
        fill(home / ".claude-usage" / "usage.db", args.history, args.sessions, now_ms, not args.no_samples)
        live = home / ".claude" / "projects" / "-home-u-app" / "12345678-0000-4000-8000-00000000live.jsonl"
        live.parent.mkdir(parents=True)
        live.write_text("")
        cmd = [sys.executable, "-c", CHILD, "legacy" if args.legacy else "new"]
        if args.follow:
            cmd = [sys.executable, "-m", "tokentop.tui.cli", "ingest", "--follow", "--quiet"]
        elif args.profile:
            cmd = [sys.executable, "-c", PROFILED.format(out=args.profile), "legacy" if args.legacy else "new"]
        painted = home / "painted"
        env["TOKENTOP_BENCH_PAINTED"] = str(painted)
        launched = time.time()
        child = subprocess.Popen(cmd, env=env,
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            time.sleep(args.settle)
            if child.poll() is not None:
                raise SystemExit(f"the app exited: {child.stderr.read().decode()[-2000:]}")
            paint = float(painted.read_text()) - launched if painted.exists() else None
            idle = measure(child.pid, args.seconds)
            state = {"i": 0, "next": time.monotonic()}

            def write_line() -> None:
                wait = state["next"] - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                i = state["i"] = state["i"] + 1
                with open(live, "a") as f:
                    f.write(assistant(f"msg_live{i}", f"req_live{i}", output=400, cache_read=30_000,
                                      model="claude-opus-4-6", ts=iso(int(time.time() * 1000)),
                                      session="12345678-0000-4000-8000-00000000live", cwd="/home/u/app") + "\n")
                state["next"] += 1 / args.rate

            busy = measure(child.pid, args.seconds, write_line)
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
    mode = ("`ingest --follow` alone" if args.follow else "before issue 15 (--legacy)" if args.legacy
            else "now")
    print(f"TUI CPU, {mode}: {args.history} responses over a year in {args.sessions} sessions · "
          f"{os.cpu_count()} CPUs · load {os.getloadavg()[0]:.2f}")
    if not args.follow:
        shown = f"{paint:.2f} s" if paint is not None else "not within --settle"
        print(f"  process start → first rows on screen (warm store)  {shown}   (target ≤ 0.5 s)")
    print(f"  idle ({args.seconds:.0f} s)                 {idle:5.1f}% of a core   (target ≤ 1%)")
    print(f"  {args.rate:g} lines/s ({args.seconds:.0f} s, {state['i']} lines)  {busy:5.1f}% of a core"
          "   (target ≤ 15%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
