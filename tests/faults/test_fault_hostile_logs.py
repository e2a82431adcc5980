"""Hostile log folders and files: rewritten under the reader, a line longer than 64 MB, FIFOs, devices, symlink
loops, unreadable directories, non-UTF-8 names. Each is skipped or handled and counted; never a hang or a traceback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from faultkit import permission_preexec, run_cli
from support.loglines import SESSION, assistant, openclaw_assistant, openclaw_session, user, write_lines

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.discovery import classify

pytestmark = [pytest.mark.faults, pytest.mark.timeout(60)]


def projects(home: Path) -> Path:
    return home / ".claude" / "projects"


def good_session(home: Path, name: str = "good", n: int = 3) -> set[str]:
    session = f"{name:0>8}-0000-4000-8000-000000000000"[-36:]
    write_lines(projects(home) / "-home-u-app" / f"{session}.jsonl",
                [assistant(f"msg_{name}_{i}", f"req_{name}_{i}", output=5 + i, session=session) for i in range(n)])
    return {f"msg_{name}_{i}" for i in range(n)}


def stored(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return dict(con.execute("SELECT message_id, output_tokens FROM requests"))
    finally:
        con.close()


def ingest_ok(home: Path, db: Path, preexec_fn=None) -> str:
    proc = run_cli(["ingest", "--quiet"], home=home, db=db, preexec_fn=preexec_fn, timeout=60)
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == 0 and "Traceback" not in err, err
    return proc.stdout.decode() + err


def walk_problems(home: Path, db: Path, preexec_fn=None) -> dict[str, int]:
    proc = run_cli(["doctor", "--json"], home=home, db=db, preexec_fn=preexec_fn, timeout=60)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode()
    return json.loads(proc.stdout)["walk_problems"]


# -- rewritten under the reader ---------------------------------------------------------------------

def test_file_truncated_and_rewritten_while_being_read(home, monkeypatch):
    """Claude Code or a person rewrites a transcript between two reads of one ingest: the next run must still
    end with every response of the new content, exactly."""
    import tokentop.ingest.live.ingester as ingester_module

    path = projects(home) / "-p" / f"{SESSION}.jsonl"
    old = [assistant(f"msg_old_{i}", f"req_old_{i}", output=i, text="o" * 200) for i in range(60)]
    new = [assistant(f"msg_new_{i}", f"req_new_{i}", output=100 + i, text="n" * 250) for i in range(90)]
    write_lines(path, old)
    ctx = make_context()
    store = ctx.open_store()
    log = classify(str(path), str(projects(home)), "claude-code")
    real_pread = os.pread
    reads = []

    def pread(fd, n, offset):
        data = real_pread(fd, n, offset)
        reads.append(offset)
        if len(reads) == 1:  # after the first chunk: truncate and write different, longer content
            write_lines(path, new)
        return data

    monkeypatch.setattr(ingester_module.os, "pread", pread)
    Ingester(store, ctx.settings, chunk_bytes=4096, commit_bytes=1 << 20).ingest_file(log)
    monkeypatch.setattr(ingester_module.os, "pread", real_pread)
    assert len(reads) > 2  # the rewrite really happened between reads of one pass

    Ingester(store, ctx.settings, chunk_bytes=4096).ingest_file(log)  # the next run, nothing interfering
    rows = dict(store.db.execute("SELECT message_id, output_tokens FROM requests"))
    assert {f"msg_new_{i}": 100 + i for i in range(90)}.items() <= rows.items()
    assert all(rows[k] == int(k.rsplit("_", 1)[1]) for k in rows if k.startswith("msg_old_"))  # nothing garbled
    # Read again from the start, the file counts its bad lines afresh: the splice of old and new is forgotten.
    assert store.skipped_by_reason() == {}


def test_file_shrunk_and_regrown_between_runs(home, tmp_path):
    db = tmp_path / "usage.db"
    path = projects(home) / "-p" / f"{SESSION}.jsonl"
    write_lines(path, [assistant(f"msg_a{i}", f"req_a{i}", output=i) for i in range(40)])
    ingest_ok(home, db)
    write_lines(path, [user("x")])  # truncated to almost nothing …
    ingest_ok(home, db)
    write_lines(path, [assistant(f"msg_b{i}", f"req_b{i}", output=50 + i) for i in range(45)], mode="a")  # … regrown
    ingest_ok(home, db)
    rows = stored(db)
    assert len(rows) == 85 and rows["msg_b44"] == 94 and rows["msg_a39"] == 39


# -- a line longer than 64 MB -----------------------------------------------------------------------

RSS_PROBE = """
import json, resource, sys
from tokentop.tui.cli.main import main
# imported before the baseline:
import tokentop.ingest.live.ingester, tokentop.ingest.store.store, tokentop.ingest.usage.reports
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
code = main(["--db", sys.argv[1], "ingest", "--quiet"])
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "growth_kb": peak - base}))
"""


@pytest.mark.timeout(120)
def test_line_longer_than_64mb_is_skipped_in_bounded_memory(home, tmp_path):
    from tokentop.ingest.live.ingester import CHUNK_BYTES, MAX_LINE_BYTES

    line_bytes = 4 * MAX_LINE_BYTES  # 256 MB, sparse on disk: a hole reads as zeros, no disk space needed
    path = projects(home) / "-p" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as f:
        f.write((assistant("msg_A", "req_A", output=1) + "\n").encode())
        f.write(b'{"type":"assistant","message":{"content":"')
        f.seek(line_bytes, os.SEEK_CUR)
        f.write(b'"}}\n' + (assistant("msg_B", "req_B", output=2) + "\n").encode())
    db = tmp_path / "usage.db"
    proc = subprocess.run([sys.executable, "-c", RSS_PROBE, str(db)], capture_output=True, timeout=120,
                          env=dict(os.environ, HOME=str(home)))
    assert proc.returncode == 0, proc.stderr.decode()
    result = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    assert result["code"] == 0
    assert stored(db) == {"msg_A": 1, "msg_B": 2}
    con = sqlite3.connect(db)
    assert dict(con.execute("SELECT reason, count FROM skipped")) == {"line-too-long": 1}
    con.close()
    growth = result["growth_kb"] * 1024
    # Memory follows the limit, not the line: the line itself never sits in memory whole.
    assert growth < MAX_LINE_BYTES + 3 * CHUNK_BYTES < line_bytes / 2, f"peak RSS grew {growth / 2**20:.0f} MB"


@pytest.mark.parametrize("chunk", [512, 8192], ids=["line-spans-reads", "line-ends-the-last-read"])
def test_file_ending_inside_an_over_long_line_keeps_the_lines_before_it(home, chunk):
    """The writer died (or is still busy) half-way through a line longer than the limit: the responses before
    it are stored now, and the line is skipped whole once it ends."""
    path = projects(home) / "-p" / f"{SESSION}.jsonl"
    write_lines(path, [assistant(f"msg_{i}", f"req_{i}", output=i + 1) for i in range(3)])
    with open(path, "a") as f:
        f.write('{"type":"user","x":"' + "y" * 5000)
    ctx = make_context()
    store = ctx.open_store()
    log = classify(str(path), str(projects(home)), "claude-code")
    for _ in range(2):  # again and again while the file stays like that: stored once, nothing counted yet
        Ingester(store, ctx.settings, chunk_bytes=chunk, max_line_bytes=2048).ingest_file(log)
        assert dict(store.db.execute("SELECT message_id, output_tokens FROM requests")) == {
            "msg_0": 1, "msg_1": 2, "msg_2": 3}
        assert store.skipped_by_reason() == {}
    with open(path, "a") as f:
        f.write("y" * 10_000 + '"}\n' + assistant("msg_9", "req_9", output=9) + "\n")  # longer than a read
    Ingester(store, ctx.settings, chunk_bytes=chunk, max_line_bytes=2048).ingest_file(log)
    assert dict(store.db.execute("SELECT message_id, output_tokens FROM requests"))["msg_9"] == 9
    assert store.skipped_by_reason() == {"line-too-long": 1}


# -- things that are not regular files --------------------------------------------------------------

def test_fifo_in_a_root_never_hangs(home, tmp_path):
    want = good_session(home)
    fifo = projects(home) / "-home-u-app" / "22222222-0000-4000-8000-000000000000.jsonl"
    os.mkfifo(fifo)
    oc = home / ".openclaw" / "agents" / "main" / "sessions"
    oc.mkdir(parents=True)
    os.mkfifo(oc / "abc.jsonl")
    db = tmp_path / "usage.db"
    ingest_ok(home, db)
    assert set(stored(db)) == want
    assert walk_problems(home, db)["not-a-regular-file"] == 2
    # Passed to the reader directly (a watcher event for a path that became a FIFO): refused, not read.
    ctx = make_context(str(db))
    with ctx.open_store() as store:
        out = Ingester(store, ctx.settings).ingest_file(classify(str(fifo), str(projects(home)), "claude-code"))
    assert out.error == "not a regular file" and out.bytes_read == 0


def test_device_files_and_links_to_them_are_not_read(home, tmp_path):
    want = good_session(home)
    folder = projects(home) / "-home-u-app"
    os.symlink("/dev/zero", folder / "33333333-0000-4000-8000-000000000000.jsonl")  # endless zeros
    os.symlink("/dev/urandom", folder / "44444444-0000-4000-8000-000000000000.jsonl")  # endless garbage
    os.symlink("/dev/null", folder / "55555555-0000-4000-8000-000000000000.jsonl")
    db = tmp_path / "usage.db"
    ingest_ok(home, db)
    assert set(stored(db)) == want
    assert walk_problems(home, db)["symlink-outside-roots"] == 3  # /dev is outside every log root
    ctx = make_context(str(db))
    with ctx.open_store() as store:
        link = folder / "33333333-0000-4000-8000-000000000000.jsonl"
        out = Ingester(store, ctx.settings).ingest_file(classify(str(link), str(projects(home)), "claude-code"))
    assert out.error == "not a regular file" and out.bytes_read == 0


def test_symlink_loops_in_a_root(home, tmp_path):
    want = good_session(home)
    folder = projects(home) / "-home-u-app"
    os.symlink("..", folder / "up")  # a directory loop back to the root
    os.symlink(str(projects(home)), folder / "root-again")
    (projects(home) / "a").mkdir()
    os.symlink("../b", projects(home) / "a" / "to-b")
    (projects(home) / "b").mkdir()
    os.symlink("../a", projects(home) / "b" / "to-a")  # a two-step cycle
    os.symlink("self.jsonl", folder / "self.jsonl")  # a link to itself: ELOOP on open
    os.symlink("missing.jsonl", folder / "66666666-0000-4000-8000-000000000000.jsonl")  # dangling
    db = tmp_path / "usage.db"
    ingest_ok(home, db)
    assert set(stored(db)) == want
    problems = walk_problems(home, db)
    assert problems["symlink-loop"] >= 4
    assert problems["unreadable-entry"] == 2  # the self-link and the dangling link


# -- permissions and names --------------------------------------------------------------------------

def test_unreadable_directory_and_file(home, tmp_path):
    preexec = permission_preexec()
    want = good_session(home)
    locked_dir = projects(home) / "-home-u-secret"
    write_lines(locked_dir / "77777777-0000-4000-8000-000000000000.jsonl", [assistant("msg_L", "req_L", output=9)])
    locked_file = projects(home) / "-home-u-app" / "88888888-0000-4000-8000-000000000000.jsonl"
    write_lines(locked_file, [assistant("msg_F", "req_F", output=8)])
    os.chmod(locked_dir, 0)
    os.chmod(locked_file, 0)
    db = tmp_path / "usage.db"
    try:
        out = ingest_ok(home, db, preexec)
        assert set(stored(db)) == want
        assert f"could not read {locked_file}: Permission denied" in out
        assert "1 unreadable files" in out
        assert walk_problems(home, db, preexec)["unreadable-directory"] == 1
    finally:
        os.chmod(locked_dir, 0o700)
        os.chmod(locked_file, 0o600)
    ingest_ok(home, db, preexec)  # permission given back: the next run picks both up
    assert set(stored(db)) == want | {"msg_L", "msg_F"}


def test_non_utf8_file_and_folder_names(home, tmp_path):
    want = good_session(home)
    root = os.fsencode(projects(home))
    line = (assistant("msg_X", "req_X", output=3) + "\n").encode()
    for name in (b"/-home-u-app/\xff\xfe.jsonl", b"/-home-u-caf\xe9/99999999-0000-4000-8000-000000000000.jsonl"):
        os.makedirs(os.path.dirname(root + name), exist_ok=True)
        fd = os.open(root + name, os.O_CREAT | os.O_WRONLY, 0o600)
        os.write(fd, line)
        os.close(fd)
    oc_dir = os.fsencode(home / ".openclaw" / "agents") + b"/m\xe4in/sessions"
    os.makedirs(oc_dir)
    with open(oc_dir + b"/s1.jsonl", "w") as f:
        f.write(openclaw_session("s1") + "\n" + openclaw_assistant("e1") + "\n")
    db = tmp_path / "usage.db"
    ingest_ok(home, db)
    assert set(stored(db)) == want  # nothing Claude Code could have written was passed over
    assert walk_problems(home, db)["non-utf8-name"] == 3
