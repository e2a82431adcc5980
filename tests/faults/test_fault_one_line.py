"""One line where one line is promised: Ctrl-C during a cold backfill (parse workers running), its parent killed
under the workers, `ingest --follow` on a full disk, and `report --json` after its ingest failed. And an
interrupted cold backfill keeps the batches it committed: the next run carries on, exactly."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import dump, expected_totals, generate_corpus, integrity, run_cli, start_cli, totals
from test_fault_store import CAP_PAGES, add_sessions

pytestmark = [pytest.mark.faults, pytest.mark.timeout(240)]

# Each shared write of the backfill takes a second longer, so a run of five lasts long enough to be interrupted
# after some batches are committed (BATCH_SECONDS is 2).
SLOW_WRITES = """
import time
import tokentop.ingest.live.backfill as _bf
import tokentop.ingest.live.ingester as _ing
_bf.APPLY_GROUP_BYTES = 4 << 20  # several slow writes in this 40 MB corpus, so a 2 s batch commits mid-run
_write = _ing.Ingester.write
def _slow(self, *a, **kw):
    time.sleep(1.0)
    return _write(self, *a, **kw)
_ing.Ingester.write = _slow
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """40 MB of logs: big enough for the parse workers (PARALLEL_MIN_BYTES is 32 MB)."""
    home, expected = generate_corpus(tmp_path_factory.mktemp("corpus"), "40MB", 16)
    return home, expected


def rows(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    finally:
        con.close()


def _rows_now(db: Path) -> int:
    try:
        return rows(db)
    except sqlite3.Error:  # not created yet, or its schema not yet committed
        return 0


def workers_of(pid: int) -> list[int]:
    """Live processes whose parent is `pid` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                out.append(int(entry))
    return out


def test_ctrl_c_during_a_cold_backfill_is_one_line_and_keeps_its_batches(corpus, tmp_path):
    home, expected = corpus
    db = tmp_path / "u.db"
    proc = start_cli(["ingest", "--quiet"], home=home, db=db, prelude=SLOW_WRITES, start_new_session=True)
    # Interrupt once the workers run and a first batch is committed (seen by a reader: WAL lets it look). Before
    # the 2 s batches, nothing was committed until the whole 40 MB was read, and the run ended first.
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline and not (workers_of(proc.pid) and _rows_now(db)):
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before a batch was committed"
    kids = workers_of(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group: the parent and its workers
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    assert err.decode() == "tokentop: interrupted\n"  # no worker's KeyboardInterrupt traceback either
    assert kids and not any(k in workers_of(proc.pid) for k in kids)
    assert integrity(db) == "ok"
    kept = rows(db)
    assert kept > 0  # committed batches survive the interruption (before: one 40 MB transaction, all lost)
    con = sqlite3.connect(db)  # and the indexes the cold backfill deferred were built before it left
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    con.close()
    assert {"requests_ts", "requests_session", "tool_calls_message"} <= names
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    assert totals(db) == expected_totals(expected)
    reference = tmp_path / "reference.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=reference).returncode == 0
    assert dump(db) == dump(reference)


# Each worker's parse of a group of files takes 3 s longer, so a worker is still busy with one when its parent is
# killed. (Killed while the workers wait for work, they would see end-of-file on the task pipe and leave quietly
# anyway: the fault is the worker that finishes a parse and writes its result to a parent that is gone.)
SLOW_PARSE = """
import time
import tokentop.ingest.live.backfill as _bf
_parse = _bf._parse_whole_files
def _parse_whole_files(jobs):
    time.sleep(3.0)
    return _parse(jobs)
_parse_whole_files.__module__ = _bf.__name__  # pickled by name for the pool: found in the module, as this one
_bf._parse_whole_files = _parse_whole_files
"""


def test_parse_workers_die_quietly_with_their_parent(corpus, tmp_path):
    home, _ = corpus
    db = tmp_path / "u.db"
    proc = start_cli(["ingest", "--quiet"], home=home, db=db, prelude=SLOW_PARSE)
    deadline = time.monotonic() + 20
    while not workers_of(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    kids = workers_of(proc.pid)
    assert kids, "no parse workers started"
    time.sleep(1.0)  # every worker inside its first (slowed) parse
    assert all(_alive(k) for k in kids)
    killed = time.monotonic()
    proc.kill()  # the parent only: its workers must go at once, without a BrokenPipeError traceback
    _, err = proc.communicate(timeout=60)  # returns once every holder of stderr (the workers too) has exited
    assert b"Traceback" not in err and b"Error" not in err, err.decode()
    while any(_alive(k) for k in kids) and time.monotonic() < killed + 10:
        time.sleep(0.05)
    assert not any(_alive(k) for k in kids)
    # Gone with their parent, not after finishing the parse in hand (which ends 2 s after the kill).
    assert time.monotonic() - killed < 1.5


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture
def nearly_full(home, tmp_path):
    """A store that holds 4 sessions, logs for 44, and a page cap that leaves no room for the rest."""
    add_sessions(home, 0, 4)
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    add_sessions(home, 4, 40)
    con = sqlite3.connect(db)
    pages = con.execute("PRAGMA page_count").fetchone()[0]
    con.close()
    return db, CAP_PAGES.format(pages=pages + 2)


def test_follow_on_a_full_disk_says_one_line_per_retry(home, nearly_full):
    db, cap = nearly_full
    proc = start_cli(["ingest", "--follow"], home=home, db=db, prelude=cap)
    try:
        deadline = time.monotonic() + 30
        seen = b""
        os.set_blocking(proc.stderr.fileno(), False)
        while b"disk is full" not in seen and time.monotonic() < deadline and proc.poll() is None:
            seen += proc.stderr.read() or b""
            time.sleep(0.1)
    finally:
        proc.send_signal(signal.SIGINT)
        os.set_blocking(proc.stderr.fileno(), True)
        _, rest = proc.communicate(timeout=60)
    err = (seen + rest).decode()
    assert "disk is full" in err, err
    assert "Traceback" not in err, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert all(ln.startswith("tokentop: ") for ln in lines), lines
    assert integrity(db) == "ok"


def test_report_json_after_a_failed_ingest_says_so_and_exits_non_zero(home, nearly_full):
    db, cap = nearly_full
    before = json.loads(run_cli(["report", "monthly", "--json", "--no-ingest"], home=home, db=db).stdout)
    assert before["ingest"] == {"ran": False, "ok": True, "error": None}
    proc = run_cli(["report", "monthly", "--json"], home=home, db=db, prelude=cap)
    assert proc.returncode == 2
    out = json.loads(proc.stdout)  # stdout is still whole JSON, for the script that reads it
    assert out["ingest"]["ran"] is True and out["ingest"]["ok"] is False and "disk is full" in out["ingest"]["error"]
    # What the store holds: the files committed before the disk filled, short of the 44 × 30 responses on disk.
    assert before["totals"]["requests"] <= out["totals"]["requests"] < 44 * 30
    err = proc.stderr.decode()
    assert len(err.strip().splitlines()) == 1 and err.startswith("tokentop: ") and "Traceback" not in err
    ok = run_cli(["report", "monthly", "--json"], home=home, db=db)
    assert ok.returncode == 0 and json.loads(ok.stdout)["ingest"] == {"ran": True, "ok": True, "error": None}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", __file__]))
