"""A real writer process commits to an OpenClaw store while tokentop reads it: no lock errors on either side,
every message counted once, and the store's bytes and WAL untouched by the reader."""

from __future__ import annotations

import selectors
import subprocess
import sys
from pathlib import Path

from support.openclaw_store import digest, store_path

from tokentop.ingest.logs.openclaw_store.reader import StoreReader, find_stores

WRITER = Path(__file__).resolve().parent.parent / "support" / "gateway_writer.py"


def test_gateway_writes_while_tokentop_reads(tmp_path):
    path = store_path(tmp_path, "main")
    turns = 300
    proc = subprocess.Popen([sys.executable, str(WRITER), str(path), str(turns), "2"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        (store,) = find_stores([tmp_path])[0]
        reader = StoreReader(store)
        reader.open()
        cursors, keys, scans, sum_input = {}, set(), 0, 0
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        done_line = None
        while done_line is None:
            for batch in reader.scan(cursors):  # a StoreUnreadable("locked") here would fail the test
                cursors.update(batch.cursors)
                for rec in batch.result.records:
                    if rec.dedup_key not in keys:
                        keys.add(rec.dedup_key)
                        sum_input += rec.input_tokens
            scans += 1
            if sel.select(timeout=0.001):
                done_line = proc.stdout.readline().strip()
        assert done_line == "done 0"  # the writer never met "database is locked"
        before = digest(path)
        for batch in reader.scan(cursors):
            cursors.update(batch.cursors)
            for rec in batch.result.records:
                if rec.dedup_key not in keys:
                    keys.add(rec.dedup_key)
                    sum_input += rec.input_tokens
        reader.close()
        assert digest(path) == before and before["-wal"] != "absent"
        assert len(keys) == turns and sum_input == turns * (turns + 1) // 2
        assert scans > 3  # it really read while the writer wrote
    finally:
        proc.stdin.close()
        proc.wait(timeout=20)


def test_gateway_writes_while_the_live_service_follows(home):
    import sqlite3

    from tokentop.ingest.context import make_context
    from tokentop.ingest.live.service import WatchService
    path = store_path(home / ".openclaw", "main")
    turns = 200
    proc = subprocess.Popen([sys.executable, str(WRITER), str(path), str(turns), "3"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    ctx = make_context()
    service = None
    try:
        assert proc.stdout.readline().strip() == "ready"
        service = WatchService.from_context(ctx).start()
        assert service.wait_ready(10)
        assert proc.stdout.readline().strip() == "done 0"  # the gateway never met "database is locked"
        before = digest(path)

        def count() -> int:
            con = sqlite3.connect(f"file:{ctx.db_path}?mode=ro", uri=True)
            try:
                return con.execute("SELECT count(*) FROM requests WHERE source = 'openclaw'").fetchone()[0]
            finally:
                con.close()
        import time
        deadline = time.monotonic() + 5
        while count() < turns and time.monotonic() < deadline:
            time.sleep(0.05)
        assert count() == turns and service.stats.last_error in (None, "")
        service.stop()
        service = None
        assert digest(path) == before  # tokentop's reads left the database and WAL byte-identical
    finally:
        if service is not None:
            service.stop()
        proc.stdin.close()
        proc.wait(timeout=20)
