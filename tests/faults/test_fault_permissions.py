"""Permissions the user set are respected: a read-only database or settings.json is neither chmod'ed nor written, a
folder at the database path keeps its mode, and another program's SQLite database never gets tokentop's tables."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from faultkit import assert_one_line_error, run_cli
from support.loglines import assistant, write_lines

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def logs(home):
    write_lines(home / ".claude" / "projects" / "-home-u-app" / "s1.jsonl",
                [assistant(f"m{i}", f"r{i}", output=100 + i) for i in range(5)])
    return home


def test_read_only_database_is_not_chmoded_or_written(logs, tmp_path):
    db = tmp_path / "db" / "usage.db"
    assert run_cli(["ingest", "--quiet"], home=logs, db=db).returncode == 0
    write_lines(logs / ".claude" / "projects" / "-home-u-app" / "s2.jsonl", [assistant("n1", "q1")])
    os.chmod(db, 0o444)
    before = digest(db)
    proc = run_cli(["ingest", "--quiet"], home=logs, db=db)
    assert_one_line_error(proc, "read-only", "444", "chmod u+w")
    assert mode(db) == 0o444 and digest(db) == before
    for command in (["hook"], ["statusline"]):  # Claude Code's commands fail open, and change nothing either
        quiet = run_cli(command, home=logs, db=db, stdin=b'{"hook_event_name": "PreToolUse"}')
        assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr
    assert mode(db) == 0o444 and digest(db) == before
    doctor = run_cli(["doctor"], home=logs, db=db)  # reading is fine
    assert "5 responses" in doctor.stdout.decode(), doctor.stdout.decode()
    assert mode(db) == 0o444


def test_folder_at_the_database_path_keeps_its_mode(logs, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    os.chmod(folder, 0o755)
    (folder / "keep.txt").write_text("mine")
    proc = run_cli(["ingest", "--quiet"], home=logs, db=folder)
    assert_one_line_error(proc, "is a folder", str(folder / "usage.db"))
    assert mode(folder) == 0o755 and sorted(p.name for p in folder.iterdir()) == ["keep.txt"]


def test_another_programs_database_is_refused(logs, tmp_path):
    db = tmp_path / "notes.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    con.execute("INSERT INTO notes(body) VALUES ('hello')")
    con.commit()
    con.close()
    os.chmod(db, 0o644)
    before = digest(db)
    for args in (["ingest", "--quiet"], ["report", "--no-ingest"]):
        proc = run_cli(args, home=logs, db=db)
        assert_one_line_error(proc, "another program", "notes")
    assert digest(db) == before and mode(db) == 0o644
    assert not Path(f"{db}-wal").exists()
    con = sqlite3.connect(db)
    assert [r[0] for r in con.execute("SELECT name FROM sqlite_master")] == ["notes"]
    con.close()


def test_an_empty_file_or_our_own_store_is_still_used(logs, tmp_path):
    db = tmp_path / "empty.db"
    db.touch()
    assert run_cli(["ingest", "--quiet"], home=logs, db=db).returncode == 0
    assert run_cli(["ingest", "--quiet"], home=logs, db=db).returncode == 0  # our own, the second time
    proc = run_cli(["report", "monthly", "--json", "--no-ingest"], home=logs, db=db)
    assert json.loads(proc.stdout)["totals"]["requests"] == 5


@pytest.fixture
def settings_file(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"model": "opus"}, indent=2) + "\n")
    return path


def test_read_only_settings_json_is_not_replaced(home, settings_file):
    os.chmod(settings_file, 0o444)
    before = digest(settings_file)
    proc = run_cli(["install-hooks"], home=home)
    assert_one_line_error(proc, "read-only", "444", "Nothing was written")
    assert digest(settings_file) == before and mode(settings_file) == 0o444
    assert sorted(p.name for p in settings_file.parent.iterdir()) == ["settings.json"]  # no backup, no temp file


def test_settings_backups_are_pruned_to_the_first_and_the_newest(home, settings_file):
    from tokentop.ingest.claude_code import settings as cs

    original = settings_file.read_text()
    for _ in range(6):
        for action in ("install-hooks", "uninstall-hooks"):
            assert run_cli([action], home=home).returncode == 0
    kept = cs.backups(settings_file)
    assert len(kept) == cs.KEEP_BACKUPS, [p.name for p in kept]
    assert kept[0].read_text() == original  # the file as it was before tokentop: still there to go back to
    assert settings_file.read_text() == original  # and uninstall still restored it byte for byte
