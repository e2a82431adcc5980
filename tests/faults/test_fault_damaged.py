"""A damaged database (garbage header, truncated file) is noticed when a writing command starts, moved aside
(never deleted), rebuilt from the logs still on disk, and the message says how much older history is lost."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from faultkit import dump, integrity, run_cli, write_config
from support.loglines import assistant, write_lines

from tokentop.ingest.store.recovery import diagnose

pytestmark = pytest.mark.faults

KEPT, DELETED = 6, 2  # sessions whose logs are still on disk / already cleaned up by Claude Code
RESPONSES = 25


def session_file(home: Path, s: int) -> Path:
    return home / ".claude" / "projects" / "-home-u-app" / f"{s:08d}-0000-4000-8000-000000000000.jsonl"


@pytest.fixture
def history(home, tmp_path):
    """A store holding KEPT + DELETED sessions, of which only KEPT still have logs; and the reference store
    that a rebuild from those logs must equal."""
    write_config(home, "retention_days = 100000\n")
    for s in range(KEPT + DELETED):
        write_lines(session_file(home, s), [
            assistant(f"msg_{s}_{i}", f"req_{s}_{i}", output=10 + i, cache_read=500 * s + i,
                      ts=f"2026-11-{1 + s:02d}T12:00:{i:02d}.000Z", session=f"{s:08d}-0000-4000-8000-000000000000")
            for i in range(RESPONSES)])
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    for s in range(KEPT, KEPT + DELETED):
        session_file(home, s).unlink()  # gone from disk: now only the store remembers them
    ref = tmp_path / "ref" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=ref).returncode == 0
    return db, dump(ref)


def garbage_header(db: Path) -> None:
    with open(db, "r+b") as f:
        f.write(os.urandom(100))


def truncated_half(db: Path) -> None:
    os.truncate(db, (db.stat().st_size // 2) // 4096 * 4096)


def bad_page_short_file(db: Path) -> None:
    """Garbage over one page that the history does not live in, in a file no longer whole pages long: it opens,
    the responses can still be counted, and only SQLite's integrity check sees the damage."""
    con = sqlite3.connect(db)
    root, page_size = con.execute("SELECT rootpage, (SELECT page_size FROM pragma_page_size) FROM sqlite_master "
                                  "WHERE name = 'skipped'").fetchone()
    con.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * page_size)
        f.write(b"\xff" * page_size)
    os.truncate(db, db.stat().st_size - 100)


DAMAGE = {"garbage-header": garbage_header, "truncated-half": truncated_half, "bad-page": bad_page_short_file}


def damage(db: Path, how: str) -> bytes:
    for suffix in ("-wal", "-shm"):
        assert not Path(f"{db}{suffix}").exists()  # a clean close checkpointed everything into the file
    DAMAGE[how](db)
    assert diagnose(db) is not None
    return db.read_bytes()


def check_rebuilt(db: Path, reference: dict, damaged_bytes: bytes, stderr: str) -> str:
    moved = [p for p in db.parent.glob("usage.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1 and moved[0].read_bytes() == damaged_bytes  # kept, byte for byte, for forensics
    assert f"moved it to {moved[0]}" in stderr
    assert "Traceback" not in stderr
    assert integrity(db) == "ok"
    assert dump(db) == reference
    return stderr


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_ingest_moves_a_damaged_store_aside_and_rebuilds(history, home, how):
    db, reference = history
    damaged_bytes = damage(db, how)
    proc = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert proc.returncode == 0, proc.stderr.decode()
    err = check_rebuilt(db, reference, damaged_bytes, proc.stderr.decode())
    if how == "bad-page":
        # The old file could still be counted: the message names what only it held.
        assert f"{DELETED * RESPONSES:,} of the {(KEPT + DELETED) * RESPONSES:,} responses" in err
    else:
        assert "How much older history was lost is unknown" in err


def test_report_rebuilds_and_keeps_its_stdout_clean(history, home):
    db, reference = history
    damaged_bytes = damage(db, "garbage-header")
    proc = run_cli(["report", "daily", "--json"], home=home, db=db)
    assert proc.returncode == 0, proc.stderr.decode()
    check_rebuilt(db, reference, damaged_bytes, proc.stderr.decode())
    report = json.loads(proc.stdout)  # the notice went to stderr; stdout is still machine-readable
    assert report["totals"]["requests"] == KEPT * RESPONSES


def test_opening_the_tui_rebuilds_first(history, home, monkeypatch, capsys):
    import tokentop.tui.app as app
    from tokentop.tui.cli.main import main

    db, reference = history
    damaged_bytes = damage(db, "truncated-half")
    seen = {}

    def fake_run_app(ctx):
        seen["integrity"] = integrity(ctx.db_path)  # what the screen would open
        return 0

    monkeypatch.setattr(app, "run_app", fake_run_app)
    assert main(["--db", str(db)]) == 0
    assert seen == {"integrity": "ok"}
    check_rebuilt(db, reference, damaged_bytes, capsys.readouterr().err)


def test_doctor_rebuild_on_demand(history, home):
    db, reference = history
    damage(db, "garbage-header")
    report = run_cli(["doctor"], home=home, db=db)  # looking is not writing: it reports, moves nothing
    assert report.returncode == 1 and "PROBLEM" in report.stdout.decode() and b"Traceback" not in report.stderr
    assert not list(db.parent.glob("usage.db.*-*"))
    proc = run_cli(["doctor", "--rebuild", "--yes"], home=home, db=db)
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "Moved the old database to" in out and "unknown" in out
    assert integrity(db) == "ok"
    assert dump(db) == reference


def test_healthy_rebuild_on_demand_counts_what_is_lost(history, home):
    db, reference = history
    proc = run_cli(["doctor", "--rebuild", "--yes"], home=home, db=db)
    assert proc.returncode == 0, proc.stderr.decode()
    assert f"{DELETED * RESPONSES:,} responses in the old database" in proc.stdout.decode()
    assert dump(db) == reference


def test_damaged_store_in_use_by_another_tokentop_is_left_alone(history, home):
    from tokentop.ingest.live.writer_lock import WriterLock

    db, _ = history
    damaged_bytes = damage(db, "garbage-header")
    lock = WriterLock(db)
    assert lock.acquire()
    try:
        proc = run_cli(["ingest", "--quiet"], home=home, db=db)
    finally:
        lock.release()
    err = proc.stderr.decode()
    assert proc.returncode != 0 and "Traceback" not in err and "doctor --rebuild" in err
    assert len(err.strip().splitlines()) == 1
    assert db.read_bytes() == damaged_bytes and not list(db.parent.glob("usage.db.damaged-*"))


def test_healthy_store_is_never_taken_for_damaged(history, home, tmp_path):
    db, _ = history
    assert diagnose(db) is None
    assert diagnose(tmp_path / "absent.db") is None
    empty = tmp_path / "empty.db"
    empty.touch()
    assert diagnose(empty) is None  # SQLite's own reading of an empty file: a new database
    # Mid-checkpoint shape: the header already counts pages the file does not have yet, the WAL holds them.
    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    with open(copy, "ab") as f:
        f.truncate(copy.stat().st_size)
    assert diagnose(copy) is None
