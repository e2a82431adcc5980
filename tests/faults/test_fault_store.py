"""The database under attack: disk full, a read-only directory, deleted or replaced while running, locked by
another process past the busy timeout. Each gives one clear line and no traceback, leaves no corruption, and the
next run after the cause goes away catches up exactly."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faultkit import assert_one_line_error, dump, integrity, permission_preexec, run_cli, start_cli, totals
from support.loglines import assistant, user, write_lines

pytestmark = pytest.mark.faults


def add_sessions(home: Path, first: int, count: int, responses: int = 30) -> None:
    """`count` crafted sessions, each with `responses` streamed responses (partial then final output)."""
    for s in range(first, first + count):
        session = f"{s:08d}-0000-4000-8000-000000000000"
        lines = []
        for i in range(responses):
            ts = f"2026-11-{1 + s % 27:02d}T10:{i // 60:02d}:{i % 60:02d}.000Z"
            lines.append(user("do the thing " * 20, ts=ts, session=session))
            lines.append(assistant(f"msg_{s}_{i}", f"req_{s}_{i}", output=1, cache_read=900 + i, ts=ts,
                                   session=session))
            lines.append(assistant(f"msg_{s}_{i}", f"req_{s}_{i}", output=40 + i, cache_read=900 + i, ts=ts,
                                   session=session, tools=("Read",)))
        write_lines(home / ".claude" / "projects" / f"-home-u-p{s % 3}" / f"{session}.jsonl", lines)


def reference(home: Path, tmp_path: Path, args=()) -> dict:
    db = tmp_path / "reference" / "usage.db"
    proc = run_cli([*args, "ingest", "--quiet"], home=home, db=db)
    assert proc.returncode == 0, proc.stderr.decode()
    return dump(db)


def responses(db: Path) -> int:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
    finally:
        con.close()


# -- disk full --------------------------------------------------------------------------------------

# SQLite's own "disk full" (SQLITE_FULL), raised where a full disk raises it: by capping the database's pages.
CAP_PAGES = """
import tokentop.ingest.store.store as _store
_init = _store.Store.__init__
def _capped(self, *args, **kw):
    _init(self, *args, **kw)
    self.db.execute("PRAGMA max_page_count = {pages}")
_store.Store.__init__ = _capped
"""


def test_disk_full_simulated_gives_one_line_and_next_run_catches_up(home, tmp_path):
    add_sessions(home, 0, 4)
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    before = dump(db)
    add_sessions(home, 4, 40)  # far more than the capped pages can hold
    full = run_cli(["ingest", "--quiet"], home=home, db=db, prelude=CAP_PAGES.format(pages=len(before["requests"])))
    assert_one_line_error(full, "full")
    assert integrity(db) == "ok"
    assert set(before["requests"]) <= set(dump(db)["requests"])  # nothing committed before was lost
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0  # space again
    assert dump(db) == reference(home, tmp_path)


@pytest.fixture
def tiny_fs(tmp_path):
    """A 192 KB tmpfs for the database, when this machine lets the tests mount one (root in a sandbox does)."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192k,mode=0700", "tokentop-faults", str(mnt)],
                          capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({made.stderr.decode().strip()}); "
                    "the simulated disk-full test covers SQLITE_FULL")
    try:
        yield mnt
    finally:
        if subprocess.run(["umount", str(mnt)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def test_disk_really_full_gives_one_line_and_next_run_catches_up(home, tmp_path, tiny_fs):
    add_sessions(home, 0, 60)
    db = tiny_fs / "usage.db"
    full = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert_one_line_error(full, "full")
    assert integrity(db) == "ok"
    grown = subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_fs)], capture_output=True)
    assert grown.returncode == 0, grown.stderr
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    assert integrity(db) == "ok"
    assert dump(db) == reference(home, tmp_path)


# -- read-only directory ----------------------------------------------------------------------------

def test_read_only_database_directory(home, tmp_path):
    preexec = permission_preexec()
    db_dir = tmp_path / "ro"
    db = db_dir / "usage.db"
    add_sessions(home, 0, 3)
    os.chmod(home, 0o755)
    db_dir.mkdir(mode=0o700)
    os.chmod(db_dir, 0o500)
    try:
        # A database that cannot even be created.
        fresh = run_cli(["ingest", "--quiet"], home=home, db=db, preexec_fn=preexec)
        assert_one_line_error(fresh, str(db_dir))
        assert not db.exists()
        os.chmod(db_dir, 0o700)
        assert run_cli(["ingest", "--quiet"], home=home, db=db, preexec_fn=preexec).returncode == 0
        # An existing database whose directory turned read-only: SQLite cannot create its -wal beside it.
        add_sessions(home, 3, 3)
        os.chmod(db_dir, 0o500)
        stuck = run_cli(["ingest", "--quiet"], home=home, db=db, preexec_fn=preexec)
        assert_one_line_error(stuck, str(db_dir))
        report = run_cli(["report", "monthly", "--json"], home=home, db=db, preexec_fn=preexec)
        assert_one_line_error(report, str(db_dir))
    finally:
        os.chmod(db_dir, 0o700)
    assert integrity(db) == "ok"
    assert run_cli(["ingest", "--quiet"], home=home, db=db, preexec_fn=preexec).returncode == 0
    assert dump(db) == reference(home, tmp_path)


# -- deleted or replaced while running --------------------------------------------------------------

SMALL_COMMITS = """
import tokentop.ingest.live.ingester as _ingester
_init = _ingester.Ingester.__init__
def _small_commits(self, store, settings=None, **kw):
    kw.update(chunk_bytes=4096, commit_bytes=4096)
    _init(self, store, settings, **kw)
_ingester.Ingester.__init__ = _small_commits
"""

# Runs `action` right after the Nth file this run reads has been ingested.
AFTER_FILE = """
import os, shutil
import tokentop.ingest.live.ingester as _ingester
_orig = _ingester.Ingester.ingest_file
_seen = [0]
def _ingest_file(self, log):
    out = _orig(self, log)
    _seen[0] += bool(out.bytes_read)  # files this run actually read
    if out.bytes_read and _seen[0] == {n}:
        db = str(self.store.path)
{action}
    return out
_ingester.Ingester.ingest_file = _ingest_file
"""
DELETE_ALL = """        for s in ("", "-wal", "-shm"):
            if os.path.exists(db + s):
                os.remove(db + s)"""
DELETE_MAIN = """        os.remove(db)"""
REPLACE = """        os.replace({backup!r}, db)
        for s in ("-wal", "-shm"):
            if os.path.exists({backup!r} + s):
                os.replace({backup!r} + s, db + s)"""
KILL_SELF = """        import signal
        os.kill(os.getpid(), signal.SIGKILL)"""


@pytest.mark.parametrize("action", [DELETE_ALL, DELETE_MAIN], ids=["all-files", "main-file-only"])
def test_database_deleted_while_ingesting(home, tmp_path, action):
    add_sessions(home, 0, 12)
    db = tmp_path / "db" / "usage.db"
    proc = run_cli(["ingest", "--quiet"], home=home, db=db, prelude=AFTER_FILE.format(n=4, action=action))
    assert_one_line_error(proc, "deleted or replaced")
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    assert integrity(db) == "ok"
    assert dump(db) == reference(home, tmp_path)


def test_database_deleted_then_killed_leaves_no_stale_wal_behind(home, tmp_path):
    """`rm usage.db` while a writer runs, then the writer dies: its -wal and -shm stay behind. The next run
    must start a clean database, not replay the dead one's WAL into an empty file."""
    add_sessions(home, 0, 6)
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0  # checkpointed into the main file
    add_sessions(home, 6, 6)
    proc = run_cli(["ingest", "--quiet"], home=home, db=db,  # each file committed: the -wal holds frames
                   prelude=SMALL_COMMITS + AFTER_FILE.format(n=3, action=DELETE_MAIN + "\n" + KILL_SELF))
    assert proc.returncode == -9
    assert not db.exists() and Path(f"{db}-wal").stat().st_size > 0
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    assert integrity(db) == "ok"
    assert dump(db) == reference(home, tmp_path)


def test_database_replaced_while_ingesting(home, tmp_path):
    add_sessions(home, 0, 4)
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    backup = tmp_path / "backup.db"
    src, dst = sqlite3.connect(db), sqlite3.connect(backup)
    src.backup(dst)  # what a person restoring yesterday's copy would put back
    src.close(), dst.close()
    add_sessions(home, 4, 8)
    proc = run_cli(["ingest", "--quiet"], home=home, db=db,
                   prelude=AFTER_FILE.format(n=3, action=REPLACE.format(backup=str(backup))))
    assert_one_line_error(proc, "deleted or replaced")
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    assert integrity(db) == "ok"
    assert dump(db) == reference(home, tmp_path)


# -- locked by another process ----------------------------------------------------------------------

HOLDER = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "readers-too":
    con.execute("PRAGMA locking_mode = EXCLUSIVE")
con.execute("BEGIN EXCLUSIVE")
con.execute("INSERT INTO meta(key, value) VALUES ('held', '1') ON CONFLICT(key) DO UPDATE SET value = value")
print("held", flush=True)
sys.stdin.read()  # until the test closes our stdin
con.execute("ROLLBACK")
"""


def hold_lock(db: Path, mode: str) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), mode], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert holder.stdout.readline() == b"held\n", holder.stderr.read()
    return holder


def release(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    holder.wait(timeout=30)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("mode", ["writers", "readers-too"])
def test_database_locked_longer_than_the_busy_timeout(home, tmp_path, mode):
    add_sessions(home, 0, 3)
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    add_sessions(home, 3, 3)
    holder = hold_lock(db, mode)
    try:
        started = time.monotonic()
        blocked = run_cli(["ingest", "--quiet"], home=home, db=db)
        waited = time.monotonic() - started
        assert_one_line_error(blocked, "locked")
        assert waited >= 4.5  # it waited for the busy timeout rather than failing at once
        if mode == "writers":  # readers are not blocked by a writer in WAL mode: the report still answers
            stale = run_cli(["report", "monthly", "--json", "--no-ingest"], home=home, db=db)
            assert stale.returncode == 0, stale.stderr.decode()
    finally:
        release(holder)
    assert integrity(db) == "ok"
    again = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert again.returncode == 0, again.stderr.decode()
    assert dump(db) == reference(home, tmp_path)


# A process that still has the database open (as a follower or the TUI would) when the file is deleted.
OPEN_HOLDER = """
import sys
from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
ctx = make_context(sys.argv[1])
store = ctx.open_store()
store.db.execute("PRAGMA wal_autocheckpoint = 0")  # its recent pages stay in the -wal and -shm
Ingester(store, ctx.settings).ingest_all()
print("ready", flush=True)
sys.stdin.read()
print("moved" if store.moved() else "same", flush=True)
"""


def test_database_deleted_under_an_open_connection_new_runs_start_clean(home, tmp_path):
    add_sessions(home, 0, 3)
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    add_sessions(home, 3, 3)
    holder = subprocess.Popen([sys.executable, "-c", OPEN_HOLDER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert holder.stdout.readline() == b"ready\n", holder.stderr.read()
        os.remove(db)  # `rm usage.db` while it runs; its -wal and -shm stay, in use
        fresh = run_cli(["ingest", "--quiet"], home=home, db=db)
        assert fresh.returncode == 0, fresh.stderr.decode()
        assert integrity(db) == "ok"
        assert dump(db) == reference(home, tmp_path)
    finally:
        out, _ = holder.communicate(b"", timeout=30)
    assert out == b"moved\n"  # the old connection can tell that its file is gone


@pytest.mark.timeout(60)
def test_follower_notices_its_database_deleted(home, tmp_path):
    add_sessions(home, 0, 3)
    db = tmp_path / "db" / "usage.db"
    follower = start_cli(["ingest", "--follow", "--quiet"], home=home, db=db)
    try:
        assert wait_for(lambda: db.exists() and totals(db)["requests"] == 3 * 30, seconds=20)
        for suffix in ("", "-wal", "-shm"):
            os.remove(f"{db}{suffix}")
        add_sessions(home, 3, 2)
        ref = tmp_path / "ref.db"
        assert run_cli(["ingest", "--quiet"], home=home, db=ref).returncode == 0
        want = totals(ref)
        assert wait_for(lambda: db.exists() and totals(db) == want, seconds=8)
    finally:
        follower.kill()
        follower.wait(timeout=30)


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    return False
