#!/usr/bin/env python3
"""Live-ingest benchmark: write→row-visible latency at a human and a burst rate, idle cost, and an optional soak.

    python tests/bench/bench_live.py                          # latency (human + burst), then 60 s idle over 2,000 files
    python tests/bench/bench_live.py --idle 600 --files 2000  # the 10-minute idle run from issue 3
    python tests/bench/bench_live.py --soak 1800              # 30 minutes of appends, rotations and truncations

Flags:
  --sessions N        live session files the writer appends to (default 20)
  --human-rate R      lines/s in the human phase (default 4), for --human-seconds S (default 20)
  --burst-rate R      lines/s in the burst phase (default 1000), for --burst-seconds S (default 10)
  --idle S            idle phase length in seconds, 0 to skip (default 60)
  --files N           watched files in the idle phase (default 2000)
  --soak S            soak phase length in seconds (default 0: skipped)
  --poll              run the service with --poll (stat polling instead of file events)
  --no-latency        skip the latency phases
  --keep              keep the temporary directory (printed) for inspection

Each phase runs `tokentop ingest --follow --quiet` in its own process on a temporary HOME and database. The
latency writer appends realistic Claude Code assistant lines (one response per line, so each line has its own
dedup key), notes the time each write returned, and a reader thread in this process polls the store through a
read-only connection every 5 ms for the new keys: latency = first seen - written (5 ms resolution). Idle cost is
utime+stime from /proc/<pid>/stat over the idle wall time (percent of one core), and VmRSS at start and end.
The soak appends (97%), rotates (atomic replace, 1.5%) and truncates (1.5%) the --sessions files at ~20 writes/s,
then checks that the live store holds every response ever written and that no row differs from a cold ingest of
the files left on disk (truncated content exists only in the live store: rows are history).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from support.livelog import Ledger, LiveSession, db_totals, wait_for  # noqa: E402  (the tests' line writer)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_service(home: Path, db: Path, poll: bool) -> subprocess.Popen:
    env = dict(os.environ, HOME=str(home), TOKENTOP_CONFIG=str(home / "no-config.toml"))
    for name in ("CLAUDE_CONFIG_DIR", "OPENCLAW_DIR", "TOKENTOP_DB", "XDG_CONFIG_HOME"):
        env.pop(name, None)
    cmd = [sys.executable, "-m", "tokentop.tui.cli", "--db", str(db), "ingest", "--follow", "--quiet"]
    return subprocess.Popen(cmd + (["--poll"] if poll else []), env=env)


def stop_service(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15 of stat(5))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


# -- latency ------------------------------------------------------------------------------------------------


class Reader(threading.Thread):
    """Polls the store for new rows and notes when each dedup key first became visible."""

    def __init__(self, db: Path):
        super().__init__(daemon=True)
        self.db = db
        self.seen: dict[str, float] = {}
        self.stopping = threading.Event()

    def run(self) -> None:
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        last = con.execute("SELECT COALESCE(MAX(id), 0) FROM requests").fetchone()[0]
        while not self.stopping.wait(0.005):
            now = time.monotonic()
            for row_id, key in con.execute("SELECT id, dedup_key FROM requests WHERE id > ?", (last,)):
                self.seen.setdefault(key, now)
                last = max(last, row_id)
        con.close()


def write_phase(sessions: list[LiveSession], rate: float, seconds: float) -> dict[str, float]:
    """Append `rate` assistant lines a second, round-robin over the sessions; returns dedup key → write time."""
    written: dict[str, float] = {}
    total = int(rate * seconds)
    started = time.monotonic()
    rng = random.Random(1)
    for n in range(total):
        due = started + n / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        session = sessions[n % len(sessions)]
        lines, response = session.response_lines(blocks=1)
        if rng.random() < 0.2:  # now and then the tool result that came before it
            lines.insert(0, session.user_line(pad=rng.randint(200, 4000)))
        session.append(lines)
        written[response.dedup_key] = time.monotonic()
    return written


def latency(args, work: Path) -> None:
    home, db = work / "latency-home", work / "latency.db"
    projects = home / ".claude" / "projects"
    sessions = [LiveSession(projects / f"-home-u-src-app{i % 5}" / f"{i:08d}-1111-4111-8111-111111111111.jsonl",
                            seed=i) for i in range(args.sessions)]
    for session in sessions:
        for _ in range(3):
            session.respond()
    expected = sum(s.ledger.requests for s in sessions)
    process = start_service(home, db, args.poll)
    try:
        wait_for(lambda: db_totals(db)[0] == expected, timeout=60, message="the catch-up")
        for name, rate, seconds in (("human", args.human_rate, args.human_seconds),
                                    ("burst", args.burst_rate, args.burst_seconds)):
            reader = Reader(db)
            reader.start()
            time.sleep(0.2)
            written = write_phase(sessions, rate, seconds)
            try:
                wait_for(lambda reader=reader, written=written: all(k in reader.seen for k in written), timeout=10,
                         interval=0.05)
            except AssertionError:
                pass
            reader.stopping.set()
            reader.join()
            lat = [(reader.seen[k] - t) * 1000 for k, t in written.items() if k in reader.seen]
            missing = len(written) - len(lat)
            print(f"latency {name:5} {rate:>6.0f} lines/s x {seconds:.0f}s over {len(sessions)} files: "
                  f"n={len(written)}  p50 {statistics.median(lat):.0f} ms  p95 {pct(lat, 0.95):.0f} ms  "
                  f"max {max(lat):.0f} ms" + (f"  NOT SEEN {missing}" if missing else ""), flush=True)
        cpu = cpu_seconds(process.pid)
        print(f"  service CPU for the whole latency run: {cpu:.1f} s, RSS {rss_mb(process.pid):.0f} MB", flush=True)
    finally:
        stop_service(process)


# -- idle ---------------------------------------------------------------------------------------------------


def idle(args, work: Path) -> None:
    home, db = work / "idle-home", work / "idle.db"
    projects = home / ".claude" / "projects"
    expected = 0
    for i in range(args.files):
        session = LiveSession(projects / f"-home-u-src-p{i % 100:03d}" / f"{i:08d}-2222-4222-8222-222222222222.jsonl",
                              seed=i)
        session.respond(pad=500)
        expected += 1
    process = start_service(home, db, args.poll)
    try:
        wait_for(lambda: db_totals(db)[0] == expected, timeout=120, message="the catch-up")
        time.sleep(2)  # let the catch-up's allocations settle
        rss = [rss_mb(process.pid)]
        cpu0, wall0 = cpu_seconds(process.pid), time.monotonic()
        end = wall0 + args.idle
        while time.monotonic() < end:
            time.sleep(min(10, max(0.0, end - time.monotonic())))
            rss.append(rss_mb(process.pid))
        cpu1, wall1 = cpu_seconds(process.pid), time.monotonic()
        share = (cpu1 - cpu0) / (wall1 - wall0) * 100
        print(f"idle {args.files:,} files for {wall1 - wall0:.0f}s ({'--poll' if args.poll else 'file events'}): "
              f"CPU {share:.2f}% of one core ({cpu1 - cpu0:.2f} s), RSS {rss[0]:.1f} MB at start, "
              f"{rss[-1]:.1f} MB at end (min {min(rss):.1f}, max {max(rss):.1f})", flush=True)
    finally:
        stop_service(process)


# -- soak ---------------------------------------------------------------------------------------------------


def soak(args, work: Path) -> None:
    """Mixed appends, rotations (atomic replace) and truncations; the live store must equal a cold ingest."""
    home, db, cold = work / "soak-home", work / "soak.db", work / "soak-cold.db"
    projects = home / ".claude" / "projects"
    sessions = [LiveSession(projects / f"-home-u-src-s{i % 4}" / f"{i:08d}-3333-4333-8333-333333333333.jsonl",
                            seed=1000 + i) for i in range(args.sessions)]
    rng = random.Random(3)
    process = start_service(home, db, args.poll)
    counts = {"append": 0, "rotate": 0, "truncate": 0}
    written: dict[Path, float] = {}
    try:
        end = time.monotonic() + args.soak
        while time.monotonic() < end:
            session = rng.choice(sessions)
            roll = rng.random()
            if roll < 0.97 or not session.path.exists():
                session.respond(pad=rng.randint(100, 3000))
                written[session.path] = time.monotonic()
                counts["append"] += 1
            elif roll < 0.985:  # rotation: the same content plus one response, renamed over the old file
                lines, response = session.response_lines()
                aside = session.path.with_suffix(".tmp")
                aside.write_bytes(session.path.read_bytes() + b"".join(lines))
                os.replace(aside, session.path)
                written[session.path] = time.monotonic()
                session.ledger.add(response)
                counts["rotate"] += 1
            else:  # truncation: the file starts over with new responses (the old rows stay: history)
                # Lines truncated away within milliseconds of being written are gone before any reader could
                # see them (a cold ingest cannot either); give the service a moment so the ledger stays exact.
                time.sleep(max(0.0, written.get(session.path, 0) + 0.5 - time.monotonic()))
                session.path.write_bytes(b"")
                session.respond()
                written[session.path] = time.monotonic()
                counts["truncate"] += 1
            time.sleep(rng.expovariate(20))
        total = Ledger()
        for session in sessions:
            total += session.ledger
        try:
            wait_for(lambda: db_totals(db) == total.as_tuple(), timeout=30, message="the live totals")
        except AssertionError:
            print(f"soak: the live store has {db_totals(db)}, expected {total.as_tuple()}", flush=True)
    finally:
        stop_service(process)
    # The cold ingest reads only what is on disk now, so compare it with the live store on those keys only.
    subprocess.run([sys.executable, "-m", "tokentop.tui.cli", "--db", str(cold), "ingest", "--quiet"], check=True,
                   env=dict(os.environ, HOME=str(home), TOKENTOP_CONFIG=str(home / "no-config.toml")),
                   stdout=subprocess.DEVNULL)
    con = sqlite3.connect(db)
    con.execute("ATTACH ? AS cold", (str(cold),))
    differ = con.execute("SELECT COUNT(*) FROM cold.requests c LEFT JOIN requests r USING (dedup_key) "
                         "WHERE r.output_tokens IS NOT c.output_tokens OR r.cache_read IS NOT c.cache_read"
                         ).fetchone()[0]
    live = db_totals(db)
    print(f"soak {args.soak:.0f}s: {counts['append']:,} appends, {counts['rotate']} rotations, {counts['truncate']} "
          f"truncations; live store {live[0]:,} responses = expected {total.requests:,}: "
          f"{'yes' if live == total.as_tuple() else 'NO'}; rows differing from a cold ingest of the files on disk: "
          f"{differ}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--human-rate", type=float, default=4)
    parser.add_argument("--human-seconds", type=float, default=20)
    parser.add_argument("--burst-rate", type=float, default=1000)
    parser.add_argument("--burst-seconds", type=float, default=10)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--soak", type=float, default=0)
    parser.add_argument("--poll", action="store_true")
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup: stop the service, remove files
    work = Path(tempfile.mkdtemp(prefix="tokentop-bench-live-"))
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"machine: {cpu}, {os.cpu_count()} cores, Linux {platform.release()}, Python {platform.python_version()}",
          flush=True)
    try:
        if not args.no_latency:
            latency(args, work)
        if args.idle > 0:
            idle(args, work)
        if args.soak > 0:
            soak(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
