"""A gateway-like process: commits OpenClaw turns to an agent store with no busy timeout at all, so any lock a
reader took would surface here as "database is locked". Usage: gateway_writer.py STORE TURNS PAUSE_MS"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from support.loglines import openclaw_assistant, openclaw_session
from support.openclaw_store import Gateway


def main() -> int:
    path, turns, pause = Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
    gw = Gateway(path, busy_ms=0)
    gw.session("live", model="claude-sonnet-4-5")
    gw.append("live", [openclaw_session("live")])
    print("ready", flush=True)
    errors = 0
    for i in range(turns):
        user = json.dumps({"type": "message", "id": f"u{i}", "message": {"role": "user", "content": "q"}})
        try:
            reply = openclaw_assistant(f"a{i}", input_=i + 1, output=1, tools=("read",) * (i % 30),
                                       ts_ms=int(time.time() * 1000))  # now: inside retention, never rolled up
            gw.append("live", [user, reply])
        except sqlite3.OperationalError as exc:
            errors += 1
            print(f"writer error: {exc}", flush=True)
        time.sleep(pause)
    print(f"done {errors}", flush=True)
    sys.stdin.readline()  # stay open (WAL kept) until the test has hashed the files
    gw.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
