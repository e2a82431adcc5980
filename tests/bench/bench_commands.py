"""Times `tokentop statusline` and `tokentop hook` the way Claude Code runs them — a fresh process each time, with a
realistic stdin — against a store with history, next to `python -c pass` as the interpreter-start baseline.

    .venv/bin/python tests/bench/bench_commands.py [--runs 50] [--synthetic 20000] [--logs /work/shared/real-logs]

The store is built under a temporary HOME from the real transcripts (timestamps shifted so they end an hour ago)
plus `--synthetic` generated responses over the last 14 days (a heavy user's fortnight). Target (issue 15): p95 <= 2.5×
`python -c pass`'s p95, with the state file the full path leaves (ingest/claude_code/quick.py); the ratio column says
how far each is. "full path" rows time `python -m tokentop.tui.cli.main`, which skips the fast path (as before it)."""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

DEFAULT_LOGS = Path(__file__).resolve().parents[3] / "shared" / "real-logs"
HOUR_MS = 3_600_000


def shift_logs(src: Path, dest: Path, end_ms: int) -> None:
    """Copy every .jsonl under `src` to `dest`, moving all `timestamp`s so the newest falls at `end_ms`."""
    files = sorted(src.rglob("*.jsonl"))
    newest = 0
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                ts = json.loads(line).get("timestamp")
                newest = max(newest, _parse(ts))
            except (ValueError, AttributeError, TypeError):
                continue
    delta = end_ms - newest
    for f in files:
        out = dest / f.relative_to(src)
        out.parent.mkdir(parents=True, exist_ok=True)
        lines = []
        for line in f.read_text(encoding="utf-8").splitlines():
            try:
                obj = json.loads(line)
                if isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
                    obj["timestamp"] = _iso(_parse(obj["timestamp"]) + delta)
                    line = json.dumps(obj)
            except ValueError:
                pass
            lines.append(line)
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _parse(ts) -> int:
    return int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def add_synthetic(db: Path, n: int, now_ms: int) -> None:
    """`n` responses over the last 14 days, in working hours, across ~200 sessions and three models."""
    from tokentop.ingest.pricing import PriceTable
    from tokentop.ingest.records import CLAUDE_CODE, UsageRecord
    from tokentop.ingest.store.store import Store
    rng = random.Random(5)
    models = ["claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"]
    records = []
    for i in range(n):
        day = rng.randrange(14)
        hour = rng.choice(range(8, 20))
        ts = now_ms - day * 24 * HOUR_MS - rng.randrange(24 * HOUR_MS)
        ts -= ts % (24 * HOUR_MS) - hour * HOUR_MS - rng.randrange(HOUR_MS)
        ts = min(ts, now_ms - 60_000)
        records.append(UsageRecord(
            f"msg_{i}:req_{i}", f"msg_{i}", f"req_{i}", CLAUDE_CODE, f"sess-{rng.randrange(200)}", "/home/u/app",
            None, False, rng.choice(models), ts, rng.randrange(1, 50), rng.randrange(50, 3000),
            rng.randrange(0, 20000), 0, rng.randrange(10_000, 150_000)))
    with Store(db, prices=PriceTable.load()) as store:
        with store.transaction():
            store.write_batch(records)


def time_one(cmd: list[str], stdin: bytes, env: dict) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, input=stdin, env=env, capture_output=True, check=False)
    elapsed = (time.perf_counter() - t0) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}: {proc.stderr.decode()[:500]}")
    return elapsed


def time_interleaved(cases: dict[str, tuple[list[str], bytes, dict]], runs: int) -> dict[str, list[float]]:
    """Each round runs every case once, so a burst of load from elsewhere hits them all alike."""
    out: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(runs):
        for name, (cmd, stdin, env) in cases.items():
            out[name].append(time_one(cmd, stdin, env))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--synthetic", type=int, default=200_000, help="generated responses added to the store")
    ap.add_argument("--logs", type=Path, default=DEFAULT_LOGS, help="real transcripts to ingest")
    args = ap.parse_args()
    exe = Path(sys.executable).parent / "tokentop"
    if not exe.exists():
        exe = Path(shutil.which("tokentop") or "tokentop")
    full = [sys.executable, "-m", "tokentop.tui.cli.main"]
    now_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory(prefix="tokentop-bench-") as tmp:
        home = Path(tmp)
        env = {**os.environ, "HOME": str(home)}
        for var in ("TOKENTOP_DB", "TOKENTOP_CONFIG", "XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "OPENCLAW_DIR"):
            env.pop(var, None)
        if args.logs.is_dir():
            shift_logs(args.logs, home / ".claude" / "projects", now_ms - HOUR_MS)
        subprocess.run([str(exe), "ingest", "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL)
        db = home / ".claude-usage" / "usage.db"
        if args.synthetic:
            old_home = os.environ.get("HOME")
            os.environ["HOME"] = str(home)
            try:
                add_synthetic(db, args.synthetic, now_ms)
            finally:
                if old_home is not None:
                    os.environ["HOME"] = old_home
        now_s = now_ms // 1000
        statusline_in = json.dumps({
            "hook_event_name": "Status", "session_id": "4d5611e5-241a-462a-8d15-5122611a9569",
            "transcript_path": str(home / ".claude/projects/x/4d5611e5.jsonl"), "cwd": "/home/u/app",
            "model": {"id": "claude-opus-4-6", "display_name": "Opus 4.6"},
            "workspace": {"current_dir": "/home/u/app", "project_dir": "/home/u/app"}, "version": "2.1.90",
            "cost": {"total_cost_usd": 1.23, "total_duration_ms": 456000},
            "context_window": {"used_percentage": 41},
            "rate_limits": {"five_hour": {"used_percentage": 23, "resets_at": now_s + 3 * 3600},
                            "seven_day": {"used_percentage": 64, "resets_at": now_s + 3 * 86400}},
        }).encode()
        hook_in = json.dumps({
            "session_id": "4d5611e5-241a-462a-8d15-5122611a9569", "transcript_path": "/x.jsonl", "cwd": "/home/u/app",
            "hook_event_name": "PreToolUse", "permission_mode": "default", "tool_name": "Bash",
            "tool_input": {"command": "ls"}, "tool_use_id": "toolu_1"}).encode()
        # One run each first: records the sample and the hook's one warning, so the loop times the steady state.
        subprocess.run([str(exe), "statusline"], input=statusline_in, env=env, check=True, stdout=subprocess.DEVNULL)
        first_hook = subprocess.run([str(exe), "hook"], input=hook_in, env=env, check=True, capture_output=True)
        # As installed, Python caches compiled bytecode; keep that cache in the temp dir, not the source tree.
        cached = {**env, "PYTHONPYCACHEPREFIX": str(home / "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([str(exe), "statusline"], input=statusline_in, env=cached, check=True, stdout=subprocess.DEVNULL)
        uncached = {**env, "PYTHONDONTWRITEBYTECODE": "1"}  # tokentop's own modules compiled on every start
        results = time_interleaved({
            "python -c pass": ([sys.executable, "-c", "pass"], b"", cached),
            "tokentop statusline": ([str(exe), "statusline"], statusline_in, cached),
            "tokentop hook": ([str(exe), "hook"], hook_in, cached),
            "statusline, no .pyc": ([str(exe), "statusline"], statusline_in, uncached),
            "hook, no .pyc": ([str(exe), "hook"], hook_in, uncached),
        }, args.runs)
        # Apart: each full run starts a process that rewrites the state, which would load the rounds above.
        results.update(time_interleaved({
            "python -c pass (full)": ([sys.executable, "-c", "pass"], b"", cached),
            "statusline, full path": (full + ["statusline"], statusline_in, cached),
            "hook, full path": (full + ["hook"], hook_in, cached),
        }, args.runs))
        time.sleep(2)  # the last state rewrite
        # Without a fresh official figure (no statusline running) the hook computes the windows from usage.
        with sqlite3.connect(db) as con:
            con.execute("UPDATE official_samples SET taken_ms = taken_ms - 3600000, seen_ms = seen_ms - 3600000")
        results.update(time_interleaved({
            "python -c pass (again)": ([sys.executable, "-c", "pass"], b"", cached),
            "hook, stale samples": ([str(exe), "hook"], hook_in, cached),
        }, args.runs))
        line = subprocess.run([str(exe), "statusline"], input=statusline_in, env=env, capture_output=True).stdout
        with sqlite3.connect(db) as con:
            requests = con.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    print(f"store: {requests} responses · {args.runs} runs each · {os.cpu_count()} CPUs")
    print(f"statusline printed: {line.decode().strip()}")
    print(f"hook's first answer: {first_hook.stdout.decode().strip() or '(none)'}")
    def p95(times: list[float]) -> float:
        return sorted(times)[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]

    print(f"{'command':<24}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'p95 / python -c pass':>22}")
    floor = 1.0
    for name, times in results.items():
        if name.startswith("python -c pass"):  # each block's own baseline, taken in the same rounds
            floor = p95(times)
        print(f"{name:<24}{statistics.median(times):>9.1f}{p95(times):>9.1f}{max(times):>9.1f}"
              f"{p95(times) / floor:>21.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
