"""Sync folder figures: merge time for N machines × one year of history, and folder size per machine-year.

    python tests/bench/bench_sync.py                       # 10 machines, 300 responses a day, 90-day retention
    python tests/bench/bench_sync.py --machines 3 --per-day 100

Each machine's store is filled with a deterministic year (weekdays busier than weekends, sessions of 20-90
responses one after another, mostly one model each, a tool call on a third of the responses), rolled up past
the retention like a real store, and
published; then a fresh store merges the folder (cold), again (nothing changed), and once more after every machine
has added a day to its current month (what each sync of a running tokentop meets). Wall and CPU time are printed:
on a shared machine the CPU figure is the steadier one. Printed, never asserted (beyond exactness)."""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tokentop.ingest.pricing import PriceTable  # noqa: E402
from tokentop.ingest.records import CLAUDE_CODE, SessionInfo, UsageRecord  # noqa: E402
from tokentop.ingest.store.store import Store  # noqa: E402
from tokentop.ingest.sync.merge import merge  # noqa: E402
from tokentop.ingest.sync.publish import publish  # noqa: E402

DAY_MS = 86_400_000
MODELS = ("claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001")


def fill(store: Store, machine: int, per_day: int, now_ms: int, seed: int) -> int:
    rng = random.Random(seed * 1000 + machine)
    start = now_ms - 365 * DAY_MS
    n = 0
    for day in range(365):
        day_ms = start + day * DAY_MS
        weekday = (day_ms // DAY_MS + 3) % 7 < 5
        count = int(per_day * (1.25 if weekday else 0.4) * rng.uniform(0.6, 1.4))
        records, infos = [], {}
        # Sessions run one after another from 08:00, each mostly on one model, a response every 10-60 s: the
        # clustering real transcripts show (it decides how many 15-minute rollup rows a year becomes).
        ts = day_ms + 8 * 3_600_000
        k = 0
        while k < count:
            session = f"{machine:02d}{day:03d}{k:05d}-0000-4000-8000-000000000000"
            model = rng.choice(MODELS)
            info = infos.setdefault(session, SessionInfo(session, CLAUDE_CODE, f"/home/u/src/project{k % 8}"))
            for _ in range(min(count - k, rng.randrange(20, 90))):
                ts += rng.randrange(10_000, 60_000)
                msg = f"msg_{machine}_{day}_{k}"
                records.append(UsageRecord(
                    dedup_key=f"{msg}:req_{k}", message_id=msg, request_id=f"req_{k}", source=CLAUDE_CODE,
                    session_id=session, project=info.project, agent_id=None, is_sidechain=False,
                    model=model if rng.random() < 0.9 else MODELS[2], ts_ms=ts, input_tokens=rng.randrange(1, 50),
                    output_tokens=rng.randrange(20, 3000), cache_write_5m=rng.randrange(0, 8000), cache_write_1h=0,
                    cache_read=rng.randrange(0, 150_000),
                    tool_calls=[(f"toolu_{msg}", rng.choice(("Bash", "Read", "Edit")))] if k % 3 == 0 else []))
                info.seen(ts)
                k += 1
            ts += rng.randrange(5 * 60_000, 90 * 60_000)  # a break between sessions
        with store.transaction():
            store.write_batch(records, infos.values())
        n += count
    store.prune(90, now_ms=now_ms)
    return n


def add_day(store: Store, machine: int, per_day: int, now_ms: int, seed: int) -> int:
    """One more day of responses in this machine's current month (the hours just before now)."""
    rng = random.Random(seed * 7919 + machine)
    records, infos = [], {}
    session = f"{machine:02d}999{0:05d}-0000-4000-8000-000000000000"
    info = infos.setdefault(session, SessionInfo(session, CLAUDE_CODE, "/home/u/src/today"))
    for k in range(per_day):
        ts = now_ms - (per_day - k) * 20_000
        msg = f"msg_{machine}_today_{k}"
        records.append(UsageRecord(
            dedup_key=f"{msg}:req_{k}", message_id=msg, request_id=f"req_{k}", source=CLAUDE_CODE, session_id=session,
            project=info.project, agent_id=None, is_sidechain=False, model=MODELS[k % 3], ts_ms=ts,
            input_tokens=rng.randrange(1, 50), output_tokens=rng.randrange(20, 3000), cache_write_5m=0,
            cache_write_1h=0, cache_read=rng.randrange(0, 150_000)))
        info.seen(ts)
    with store.transaction():
        store.write_batch(records, infos.values())
    return per_day


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--machines", type=int, default=10)
    ap.add_argument("--per-day", type=int, default=300, help="average responses per day per machine")
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    prices = PriceTable.load()
    now_ms = int(time.time() * 1000)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "Sync"
        folder.mkdir()
        responses = 0
        t0 = time.perf_counter()
        publish_s = 0.0
        for m in range(args.machines):
            with Store(root / f"m{m}.db", prices=prices, machine=f"machine{m:02d}") as store:
                responses += fill(store, m, args.per_day, now_ms, args.seed)
                t = time.perf_counter()
                with store.transaction():
                    publish(store, folder, now_ms)
                publish_s += time.perf_counter() - t
        print(f"built {args.machines} machine stores, {responses:,} responses over a year "
              f"({time.perf_counter() - t0:.1f} s); publish {publish_s / args.machines:.2f} s per machine (cold)")
        size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        print(f"sync folder: {size / 1e6:.2f} MB for {args.machines} machine-years = "
              f"{size / args.machines / 1e6:.2f} MB per machine-year ({responses // args.machines:,} responses)")
        with Store(root / "reader.db", prices=prices, machine="reader") as reader:
            cold, cold_s, cold_cpu = timed(lambda: merge(reader, folder, now_ms))
            warm, warm_s, _ = timed(lambda: merge(reader, folder, now_ms))
            total = reader.db.execute("SELECT (SELECT COUNT(*) FROM requests) + "
                                      "(SELECT COALESCE(SUM(requests), 0) FROM rollups)").fetchone()[0]
            assert total == responses, (total, responses)  # the merge is exact, or the figure means nothing
            for m in range(args.machines):
                with Store(root / f"m{m}.db", prices=prices, machine=f"machine{m:02d}") as store:
                    responses += add_day(store, m, args.per_day, now_ms, args.seed)
                    with store.transaction():
                        publish(store, folder, now_ms)
            day, day_s, day_cpu = timed(lambda: merge(reader, folder, now_ms))
            total = reader.db.execute("SELECT (SELECT COUNT(*) FROM requests) + "
                                      "(SELECT COALESCE(SUM(requests), 0) FROM rollups)").fetchone()[0]
        assert total == responses, (total, responses)
        print(f"merge, cold: {cold_s:.2f} s ({cold_cpu:.2f} s CPU) for {cold.merged} files, {cold.rows:,} rows "
              f"(target < 2 s)")
        print(f"merge, nothing changed: {warm_s * 1000:.0f} ms ({warm.unchanged} files looked at)")
        print(f"merge, a new day on every machine: {day_s:.2f} s ({day_cpu:.2f} s CPU) for {day.merged} changed "
              f"files of {day.rows:,} rows; {day.unchanged} unchanged")


if __name__ == "__main__":
    main()
