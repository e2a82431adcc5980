"""The smaller reliability faults: invalid UTF-8 and byte-order marks in a line, a timestamp in year 9999, symlinks
that leave the log roots, `doctor --rebuild` without a confirmation, and doctor's skipped-line counts."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import time

import pytest
from faultkit import CLI, assert_one_line_error, run_cli
from support.loglines import (
    assistant,
    openclaw_assistant,
    openclaw_session,
    progress_with_usage,
    summary,
    user,
    write_lines,
)

from tokentop.ingest.logs.claude import parse_claude
from tokentop.ingest.logs.jsonl import FUTURE_CLAMPED, FUTURE_SLACK_MS
from tokentop.ingest.logs.openclaw import parse_openclaw

pytestmark = [pytest.mark.faults, pytest.mark.timeout(120)]

SESSION = "5a5a5a5a-0000-4000-8000-000000000001"


def projects(home):
    return home / ".claude" / "projects"


def stored_ids(db) -> set[str]:
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT message_id FROM requests")}
    finally:
        con.close()


# -- invalid UTF-8 and byte-order marks ---------------------------------------------------------------

def test_one_invalid_utf8_byte_in_a_text_field_keeps_the_response():
    line = assistant("msg_u", "req_u", output=321, text="hello").encode().replace(b"hello", b"hell\xe9")
    cwd_line = assistant("msg_c", "req_c", output=7, cwd="/home/u/app").encode().replace(b"/u/app", b"/u/caf\xff")
    result = parse_claude(line + b"\n" + cwd_line + b"\n", SESSION)
    assert sorted((r.message_id, r.output_tokens) for r in result.records) == [("msg_c", 7), ("msg_u", 321)]
    assert [r.project for r in result.records if r.message_id == "msg_c"] == ["/home/u/caf\ufffd"]
    assert not result.skipped
    oc = (openclaw_session("oc9") + "\n" + openclaw_assistant("e1", output=55)).encode().replace(
        b"secret reply", b"secret \xc3\x28reply") + b"\n"
    oc_result, _ = parse_openclaw(oc, "oc9")
    assert [r.output_tokens for r in oc_result.records] == [55] and not oc_result.skipped


def test_invalid_utf8_that_breaks_the_json_is_still_one_skipped_line():
    bad = b'{"type":"assistant","message":{"id":"x\xff' + b"\n"  # cut short as well: malformed either way
    result = parse_claude(assistant("m1", "r1").encode() + b"\n" + bad + assistant("m2", "r2").encode() + b"\n", "s")
    assert len(result.records) == 2 and result.skipped == {"malformed-json": 1}


def test_a_byte_order_mark_loses_nothing():
    bom = b"\xef\xbb\xbf"
    data = bom + user().encode() + b"\n" + bom + assistant("m1", "r1", output=11).encode() + b"\n"
    result = parse_claude(data, SESSION)
    assert [r.output_tokens for r in result.records] == [11] and not result.skipped
    oc, _ = parse_openclaw(bom + openclaw_session("oc1").encode() + b"\n" + openclaw_assistant("e1").encode() + b"\n",
                           "x")
    assert [r.session_id for r in oc.records] == ["oc1"] and not oc.skipped


# -- a timestamp in year 9999 ---------------------------------------------------------------------------

def test_future_timestamps_are_clamped_to_now_plus_a_minute_and_counted(home, tmp_path):
    now_ms = int(time.time() * 1000)
    write_lines(projects(home) / "-home-u-app" / f"{SESSION}.jsonl", [
        assistant("m_past", "r1", ts=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now_ms / 1000 - 3600))),
        assistant("m_9999", "r2", ts="9999-12-31T23:59:59.000Z"),
        assistant("m_2200", "r3", ts="2200-01-01T00:00:00.000Z"),
    ])
    db = tmp_path / "u.db"
    proc = run_cli(["ingest", "--quiet"], home=home, db=db)
    assert "0 malformed lines skipped" in proc.stdout.decode() and "2 future times moved back" in proc.stdout.decode()
    con = sqlite3.connect(db)
    times = dict(con.execute("SELECT message_id, ts FROM requests"))
    last = con.execute("SELECT last_ts FROM sessions").fetchone()[0]
    con.close()
    done_ms = int(time.time() * 1000)
    for key in ("m_9999", "m_2200"):
        assert now_ms + FUTURE_SLACK_MS - 5000 <= times[key] <= done_ms + FUTURE_SLACK_MS, (key, times[key])
    assert times["m_past"] < now_ms and last <= done_ms + FUTURE_SLACK_MS
    doctor = run_cli(["doctor", "--json"], home=home, db=db)
    assert json.loads(doctor.stdout)["database"]["skipped_lines"] == {FUTURE_CLAMPED: 2}
    text = run_cli(["doctor"], home=home, db=db).stdout.decode()
    assert "skipped lines: none" in text and "2 responses dated in the future" in text


# -- symlinks that leave the log roots ------------------------------------------------------------------

def test_symlinks_leaving_the_roots_are_not_followed_unless_listed(home, tmp_path):
    folder = projects(home) / "-home-u-app"
    write_lines(folder / f"{SESSION}.jsonl", [assistant("m_in", "r1")])
    secret = tmp_path / "elsewhere" / "secret.jsonl"  # a readable file outside every root
    write_lines(secret, [assistant("m_secret", "r2")])
    outside_dir = tmp_path / "outside-dir"
    write_lines(outside_dir / "77777777-0000-4000-8000-000000000000.jsonl", [assistant("m_outdir", "r3")])
    os.symlink(secret, folder / "88888888-0000-4000-8000-000000000000.jsonl")
    os.symlink("/etc/passwd", folder / "99999999-0000-4000-8000-000000000000.jsonl")
    os.symlink(outside_dir, projects(home) / "-linked-dir")
    # A link that stays inside the roots is still followed (a dotfiles layout).
    write_lines(projects(home) / "real" / "aaaaaaaa-0000-4000-8000-000000000000.jsonl", [assistant("m_linked", "r4")])
    os.symlink(projects(home) / "real", projects(home) / "-alias")
    db = tmp_path / "u.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    assert stored_ids(db) == {"m_in", "m_linked"}
    # Nor by the live writer, when a file event names the link itself.
    from tokentop.ingest.live.sources import Inbox, Sources
    sources = Sources([(str(projects(home)), "claude-code")], Inbox(), lambda *_: None)
    event = str(folder / "99999999-0000-4000-8000-000000000000.jsonl")
    assert sources.expand(event, str(projects(home)), "claude-code", {}) == []
    good = sources.expand(str(folder / f"{SESSION}.jsonl"), str(projects(home)), "claude-code", {})
    assert [f.session_id for f in good] == [SESSION]
    # Listed by the user as a root of its own, the outside folder is read.
    config = home / ".config" / "tokentop" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"claude_roots = [{json.dumps(str(outside_dir))}]\n")
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    assert stored_ids(db) == {"m_in", "m_linked", "m_outdir"}


# -- doctor --rebuild asks first ----------------------------------------------------------------------

@pytest.fixture
def built(home, tmp_path):
    write_lines(projects(home) / "-home-u-app" / f"{SESSION}.jsonl", [assistant("m1", "r1")])
    db = tmp_path / "db" / "u.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    return db


def moved_aside(db) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir()
                  if ".rebuilt-" in p.name and not p.name.endswith(("-wal", "-shm")))


def test_doctor_rebuild_without_a_terminal_needs_yes(home, built):
    proc = run_cli(["doctor", "--rebuild"], home=home, db=built, stdin=b"y\n")  # stdin is a pipe, not a person
    assert_one_line_error(proc, "--yes", "Nothing was changed")
    assert moved_aside(built) == []
    assert run_cli(["doctor", "--rebuild", "--yes"], home=home, db=built).returncode == 0
    assert len(moved_aside(built)) == 1


@pytest.mark.parametrize("answer, rebuilt", [(b"n\n", False), (b"\n", False), (b"y\n", True)])
def test_doctor_rebuild_asks_on_a_terminal(home, built, answer, rebuilt):
    leader, follower = pty.openpty()
    env = dict(os.environ, HOME=str(home))
    proc = subprocess.Popen([*CLI, "--db", str(built), "doctor", "--rebuild"], stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    os.write(leader, answer)
    out, err = proc.communicate(timeout=60)
    os.close(leader)
    assert b"rebuild it from the logs on disk? " in out and b"[y/N]" in out
    assert (proc.returncode == 0) is rebuilt, err
    assert bool(moved_aside(built)) is rebuilt


# -- doctor's skipped-line counts ---------------------------------------------------------------------

def test_doctor_counts_every_malformed_line_it_can_see(home, tmp_path):
    lines = [summary("t"), user(), assistant("m1", "r1"),
             "garbage", assistant("m2", "r2")[:80], "[1, 2]", "42", "\x00\x00\x00", "{",
             '{"type":"summary","summary":"x",}', '{"type":"assistant","message":{"id":"x",}}',
             "\ufeff" + assistant("m3", "r3"), assistant("m4", "r4")]
    write_lines(projects(home) / "-home-u-app" / f"{SESSION}.jsonl", lines)
    db = tmp_path / "u.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    assert stored_ids(db) == {"m1", "m3", "m4"}  # the one with a byte-order mark is not lost either
    skipped = json.loads(run_cli(["doctor", "--json"], home=home, db=db).stdout)["database"]["skipped_lines"]
    assert sum(skipped.values()) == 8, skipped


def _skipped(home, db) -> dict:
    return json.loads(run_cli(["doctor", "--json"], home=home, db=db).stdout)["database"]["skipped_lines"]


def test_doctor_counts_equal_the_malformed_lines_present_of_every_kind(home, tmp_path):
    """Broken lines inside their braces (user, progress, summary, an unknown type), lines cut short, garbage,
    JSON that is not an object, impossible counts, and an unterminated last line: each counted once, and the last
    line counted again only as what it has become once the file grows."""
    user_ok = user()
    progress = progress_with_usage("m_inner")
    broken = {
        "malformed-json": [
            user_ok.replace('"message":', '"message" '),                     # a user line broken inside its braces
            progress.replace('"data":{', '"data":{,'),                        # a progress line broken inside
            '{"type":"user","message":{"role":"user","content":"x"}}}',      # one brace too many
            user_ok[:60],                                                     # a user line cut short
            '{"type":"summary","summary":"x",}',
            '{"no":"type", oops}',
            "garbage",
            "[1, 2]",
            assistant("m9", "r9")[:90],
        ],
        "not-an-object": ["[" + assistant("m7", "r7") + "]"],           # an assistant line inside an array
        "count-too-large": [assistant("m8", "r8", output=10**19)],
    }
    good = [summary("t"), user_ok, progress, assistant("m1", "r1"), "", user_ok.replace("please", "caf\udce9")]
    body = []
    for kind in broken.values():
        body += kind
    lines = good[:3] + body + good[3:]
    path = projects(home) / "-home-u-app" / f"{SESSION}.jsonl"
    path.parent.mkdir(parents=True)
    tail = '{"type":"user","message":{"role":"us'
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogateescape") + tail.encode())
    db = tmp_path / "u.db"
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    expected = {k: len(v) for k, v in broken.items()}
    expected["malformed-json"] += 1  # the unterminated last line
    assert _skipped(home, db) == expected
    assert stored_ids(db) == {"m1"}
    # The file grows: its last line is finished, still broken, and another good line follows. Counted once.
    with open(path, "ab") as f:
        f.write(b'er"}\n' + assistant("m2", "r2").encode() + b"\n")
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    assert _skipped(home, db) == expected
    assert stored_ids(db) == {"m1", "m2"}
    # A new unterminated last line that is only unfinished, finished well: counted while broken, then not.
    with open(path, "ab") as f:
        f.write(user_ok[:40].encode())
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    assert _skipped(home, db)["malformed-json"] == expected["malformed-json"] + 1
    with open(path, "ab") as f:
        f.write(user_ok[40:].encode() + b"\n")
    assert run_cli(["ingest", "--quiet"], home=home, db=db).returncode == 0
    assert _skipped(home, db) == expected
