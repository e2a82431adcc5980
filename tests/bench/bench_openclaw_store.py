#!/usr/bin/env python3
"""OpenClaw agent-store benchmark: build a ~200 MB store (upstream shapes, zstd events as OpenClaw writes them),
then time a cold read, an idle re-scan and an incremental read of new turns.

    python tests/bench/bench_openclaw_store.py                 # 200 MB, 400 sessions
    python tests/bench/bench_openclaw_store.py --size 50 --keep

Figures printed: build size, cold read (events/s, MB/s, peak RSS), the no-change scan, and the read after the
gateway appended one turn to 20 sessions. It times the reader (tokentop.ingest.logs.openclaw_store) only;
`--ingest` also times `tokentop ingest` (cold, then again after no change) on a HOME holding only the store."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.loglines import openclaw_assistant, openclaw_session
from support.openclaw_store import Gateway, store_path

from tokentop.ingest.logs.openclaw_store.reader import StoreReader, find_stores


def user_line(i: int, pad: int) -> str:
    return json.dumps({"type": "message", "id": f"u{i}", "message": {"role": "user", "content": "x" * pad}})


def tool_result(i: int, pad: int) -> str:
    return json.dumps({"type": "message", "id": f"t{i}", "message": {"role": "toolResult", "toolName": "read",
                                                                    "content": [{"type": "text", "text": "y" * pad}]}})


def build(root: Path, size_mb: int, sessions: int) -> tuple[Path, int]:
    path = store_path(root, "main")
    gw = Gateway(path)
    gw.db.execute("PRAGMA synchronous = OFF")  # building only: the timed reads below are what matters
    target, turn, n_assistant = size_mb * 2**20, 0, 0
    sids = [gw.session(f"s{k:04d}", model="claude-sonnet-4-5") for k in range(sessions)]
    for sid in sids:
        gw.append(sid, [openclaw_session(sid)])
    while os.path.getsize(path) + (os.path.getsize(str(path) + "-wal") if os.path.exists(str(path) + "-wal") else 0) \
            < target:
        for sid in sids:
            pad = 200 + (turn * 7919) % 3000  # text rows of various sizes: some compressed, some not
            gw.append(sid, [user_line(turn, pad // 4),
                            openclaw_assistant(f"a{turn}", input_=1000 + turn % 97, output=200, cache_read=5000,
                                               tools=("read",) * (turn % 4)),
                            tool_result(turn, pad)])
            turn += 1
            n_assistant += 1
        gw.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the gateway's own checkpoints keep the WAL small
    gw.close()
    return path, n_assistant


def scan(reader: StoreReader, cursors: dict) -> tuple[int, int, float]:
    t0, records, events = time.perf_counter(), 0, 0
    for batch in reader.scan(cursors):
        cursors.update(batch.cursors)
        records += len(batch.result.records)
        events += batch.result.lines
    return records, events, time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=200, help="store size in MB")
    ap.add_argument("--sessions", type=int, default=400)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--ingest", action="store_true", help="also time `tokentop ingest` on a HOME with the store")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="tt-ocstore-"))
    root = tmp / "home" / ".openclaw"
    try:
        t0 = time.perf_counter()
        path, n_assistant = build(root, args.size, args.sessions)
        mb = os.path.getsize(path) / 2**20
        print(f"built {mb:.0f} MB store, {args.sessions} sessions, {n_assistant} assistant messages "
              f"in {time.perf_counter() - t0:.0f} s")
        (store,) = find_stores([root])[0]
        reader = StoreReader(store)
        cursors: dict = {}
        records, events, cold = scan(reader, cursors)
        assert records == n_assistant, (records, n_assistant)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"cold read: {records} records from {events} events in {cold:.2f} s "
              f"({events / cold:,.0f} events/s, {mb / cold:.0f} MB/s), peak RSS {rss:.0f} MB (includes the build)")
        _, _, idle = scan(reader, cursors)
        print(f"no-change scan: {idle * 1000:.0f} ms")
        gw = Gateway(path)
        for k in range(20):
            gw.append(f"s{k:04d}", [openclaw_assistant(f"new{k}", input_=5)])
        gw.close()
        new, _, inc = scan(reader, cursors)
        assert new == 20, new
        print(f"incremental read (20 sessions, 1 new turn each): {inc * 1000:.0f} ms")
        reader.close()
        if args.ingest:
            env = dict(os.environ, HOME=str(tmp / "home"))
            db = tmp / "tokentop.db"
            for label in ("cold", "incremental"):
                t0 = time.perf_counter()
                launcher = "import sys; from tokentop.tui.cli.main import main; sys.exit(main())"
                subprocess.run([sys.executable, "-c", launcher, "--db", str(db), "ingest", "--quiet"],
                               env=env, check=True)
                print(f"tokentop ingest ({label}): {time.perf_counter() - t0:.2f} s")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
