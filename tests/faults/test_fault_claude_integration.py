"""What Claude Code runs: `tokentop statusline` and `tokentop hook` get hostile stdin and never execute it, echo
it, hang on it or fail loudly; `install-hooks` edits settings.json atomically and never through a surprising link."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
from faultkit import run_cli
from support.loglines import assistant, write_lines

pytestmark = [pytest.mark.faults, pytest.mark.timeout(90)]

COMMANDS = {"statusline": ["statusline"], "hook": ["hook"]}


def hostile_inputs(canary: Path, fifo: Path) -> dict[str, bytes]:
    """Payloads that would do damage if anything evaluated them, plus garbage, huge and pathological input.
    `transcript_path` names a FIFO: opening it to read would hang, so a finished run proves it was not read."""
    shell = [f"$(touch {canary})", f"`touch {canary}`", f"; touch {canary} #", f"| touch {canary}",
             f"&& touch {canary}", "$(rm -rf ~)", "`rm -rf ~`", f"'; touch {canary}; '", f'"; touch {canary}; "',
             "\x1b]0;pwned\x07\x1b[2J", "{week_pct}{__class__}", "%s%n%x"]
    payload = {
        "session_id": shell[0], "transcript_path": str(fifo), "cwd": shell[1], "hook_event_name": "PreToolUse",
        "permission_mode": shell[2], "tool_name": "Bash", "tool_input": {"command": " ".join(shell)},
        "tool_use_id": shell[3], "prompt": " ".join(shell), "model": {"id": shell[4], "display_name": shell[0]},
        "workspace": {"current_dir": shell[5], "project_dir": shell[6]}, "version": shell[7],
        "rate_limits": {"five_hour": {"used_percentage": shell[8], "resets_at": shell[9]},
                        "seven_day": {"used_percentage": 42, "resets_at": shell[10]}},
        "cost": {"total_cost_usd": shell[11]}, "context_window": {"used_percentage": shell[1]},
    }
    return {
        "shell-in-every-field": json.dumps(payload).encode(),
        "shell-as-raw-text": " ".join(shell).encode(),
        "invalid-utf8": b'{"hook_event_name": "\xff\xfePreToolUse", "session_id": "\xc3\x28", "x": "\xed\xa0\x80"}',
        "nul-bytes": b'{"hook_event_name":"PreToolUse"\x00, "prompt": "\x00$(touch ' + str(canary).encode() + b')"}',
        "deep-nesting": b"[" * 200_000 + b"]" * 200_000,
        "huge": b'{"hook_event_name":"PreToolUse","prompt":"' + b"$(rm -rf ~)" * (6 << 20) + b'"}',  # ~66 MB
        "binary": os.urandom(1 << 16),
        "empty": b"",
    }


FORBIDDEN_OUTPUT = ("touch", "rm -rf", "PWNED", "$(", "`", "pwned", "\x1b", "__class__", "%n", "\x00")


@pytest.fixture
def scene(home, tmp_path):
    """A store with some history (so both commands have something to say), a canary path and a FIFO."""
    session = "12345678-0000-4000-8000-000000000000"
    write_lines(home / ".claude" / "projects" / "-home-u-app" / f"{session}.jsonl",
                [assistant(f"msg_{i}", f"req_{i}", output=500, session=session,
                           ts=time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 600 + i)))
                 for i in range(20)])
    assert run_cli(["ingest", "--quiet"], home=home).returncode == 0
    canary = tmp_path / "PWNED"
    fifo = tmp_path / "transcript.jsonl"
    os.mkfifo(fifo)
    return canary, fifo


def tree(home: Path) -> set[str]:
    return {str(p.relative_to(home)) for p in home.rglob("*") if ".claude-usage" not in p.parts}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_hostile_stdin_is_never_run_echoed_or_fatal(home, scene, command):
    canary, fifo = scene
    before = tree(home)
    for name, payload in hostile_inputs(canary, fifo).items():
        started = time.monotonic()
        proc = run_cli(COMMANDS[command], home=home, stdin=payload, timeout=30)
        took = time.monotonic() - started
        out, err = proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 0, (name, err)
        assert err == "", (name, err)  # nothing for Claude Code to show as an error
        assert not canary.exists(), name
        for token in FORBIDDEN_OUTPUT:
            assert token not in out, (name, token, out[:300])
        if command == "statusline":
            assert len(out.splitlines()) == 1, (name, out)  # one line, always
        else:
            assert out == "" or isinstance(json.loads(out), dict), (name, out)
        assert took < 15, (name, took)
    assert tree(home) == before  # no file created anywhere in HOME (the store's own folder aside)


def test_statusline_stores_no_text_from_its_input(home, scene):
    canary, fifo = scene
    payload = json.loads(hostile_inputs(canary, fifo)["shell-in-every-field"])
    payload["rate_limits"]["seven_day"]["resets_at"] = int(time.time()) + 86_400  # one well-formed sample
    assert run_cli(["statusline"], home=home, stdin=json.dumps(payload).encode()).returncode == 0
    con = sqlite3.connect(home / ".claude-usage" / "usage.db")
    rows = con.execute("SELECT window, used_pct, session_id FROM official_samples").fetchall()
    con.close()
    assert rows == [("seven_day", 42.0, None)]  # the well-formed number; the hostile session id is dropped


def test_statusline_model_name_keeps_no_shell_characters(home, scene, tmp_path):
    config = tmp_path / "statusline.toml"
    config.write_text('statusline_format = "{model}"\n')
    payload = json.dumps({"model": {"display_name": "Opus $(rm -rf ~) `id`; x | y & z > /tmp/f 'q' \"d\" \\"}})
    proc = run_cli(["--config", str(config), "statusline"], home=home, stdin=payload.encode())
    line = proc.stdout.decode().strip()
    assert proc.returncode == 0 and line.startswith("Opus")
    assert not set(line) & set("$`;|&<>'\"\\\n\x1b")


# -- settings.json ----------------------------------------------------------------------------------

# Die the hard way in the middle of writing settings.json: after the temporary file, before the rename.
KILL_BEFORE_RENAME = """
import os, signal
import tokentop.ingest.claude_code.settings as _cs
_real_replace = os.replace
def _replace(src, dst):
    if str(src).endswith(".tokentop-tmp"):
        os.kill(os.getpid(), signal.SIGKILL)
    return _real_replace(src, dst)
_cs.os.replace = _replace
"""
DISK_FULL_ON_FSYNC = """
import errno
import tokentop.ingest.claude_code.settings as _cs
def _fsync(fd):
    raise OSError(errno.ENOSPC, "No space left on device")
_cs.os.fsync = _fsync
"""


@pytest.fixture
def settings_file(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"model": "opus", "hooks": {"Stop": [{"hooks": [{"type": "command", "command": "say done"}]}]},
                       "statusLine": {"type": "command", "command": "my-line"}}, indent=2) + "\n"
    path.write_text(text)
    return path, text


def test_settings_json_survives_a_kill_mid_write(home, settings_file):
    path, text = settings_file
    proc = run_cli(["install-hooks"], home=home, prelude=KILL_BEFORE_RENAME)
    assert proc.returncode == -9
    assert path.read_text() == text  # all or nothing: the old file, whole
    again = run_cli(["install-hooks"], home=home)
    assert again.returncode == 0, again.stderr.decode()
    data = json.loads(path.read_text())
    assert data["model"] == "opus" and data["hooks"]["Stop"][0]["hooks"][0]["command"] == "say done"
    assert "--then my-line" in data["statusLine"]["command"]


def test_settings_json_disk_full_changes_nothing(home, settings_file):
    path, text = settings_file
    proc = run_cli(["install-hooks"], home=home, prelude=DISK_FULL_ON_FSYNC)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "Traceback" not in err and "Nothing was changed" in err
    assert path.read_text() == text
    assert not list(path.parent.glob("*.tokentop-tmp"))  # the half-written temporary file is removed


def test_settings_json_symlink_out_of_home_is_refused(home, tmp_path):
    outside = tmp_path / "managed" / "settings.json"
    outside.parent.mkdir()
    outside.write_text('{"model": "opus"}\n')
    link = home / ".claude" / "settings.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(outside)
    proc = run_cli(["install-hooks"], home=home)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "outside your home directory" in err and "Traceback" not in err
    assert outside.read_text() == '{"model": "opus"}\n' and link.is_symlink()
