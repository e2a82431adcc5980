"""#16 defect 2: several processes opening one brand-new store at the same moment all get a complete schema.

Before migrations were serialised, each process read schema version 0 outside any transaction and ran migration
0 itself; the second to create `meta` died with "table meta already exists" (3 of 12 tries with two processes)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

from tokentop.ingest.store.schema import SCHEMA_VERSION
from tokentop.ingest.store.store import Store

PROCESSES = 6
ROUNDS = 12
STEP_S = 0.25

# Each worker imports first, then opens round r's fresh store at the agreed instant t0 + r * STEP_S, so all of them
# hit the same new file within a millisecond or so.
WORKER = """
import json, sys, time
from tokentop.ingest.store.store import Store
folder, t0, rounds, step = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
for r in range(rounds):
    time.sleep(max(0.0, t0 + r * step - time.time()))
    try:
        with Store(f"{folder}/round{r}.db") as store:
            outcome = store.version
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {exc}"
    print(json.dumps([r, outcome]), flush=True)
"""


def test_processes_opening_one_new_store_at_once_all_succeed(tmp_path):
    t0 = time.time() + 3.0  # time for every worker to start and import before round 0
    workers = [subprocess.Popen([sys.executable, "-c", WORKER, str(tmp_path), str(t0), str(ROUNDS), str(STEP_S)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(PROCESSES)]
    failures = []
    for worker in workers:
        out, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
        outcomes = [json.loads(line) for line in out.splitlines()]
        assert len(outcomes) == ROUNDS, err
        failures += [(r, o) for r, o in outcomes if o != SCHEMA_VERSION]
    assert failures == []
    for r in range(ROUNDS):
        with Store(tmp_path / f"round{r}.db") as store:
            assert store.version == SCHEMA_VERSION
            # Each migration ran exactly once: one set of tables and triggers, not a half-applied second copy.
            names = [n for (n,) in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]
            assert sorted(names) == sorted(set(names)) and len(names) == 5


def test_read_only_open_of_a_store_not_yet_created_does_not_migrate(tmp_path):
    db = tmp_path / "new.db"
    with Store(db, readonly=True) as store:
        assert store.version == 0
        assert store.db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
    # A writer opening it afterwards still builds the whole schema.
    with Store(db) as store:
        assert store.version == SCHEMA_VERSION
