"""install-hooks / uninstall-hooks: merging into settings.json and taking exactly our entries out again."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tokentop.ingest.claude_code import settings as cs
from tokentop.tui.cli.main import main

EXE = "/opt/tt/bin/tokentop"

THEIRS = {
    "model": "opus",
    "env": {"FOO": "1"},
    "permissions": {"allow": ["Bash(ls:*)"]},
    "statusLine": {"type": "command", "command": "bash ~/.claude/my status.sh --color 'a b'", "padding": 0},
    "hooks": {
        "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "~/guard.sh", "timeout": 5}]}],
        "Stop": [{"hooks": [{"type": "command", "command": "say done"}]}],
    },
}
# Claude Code writes 2-space JSON; a user may have edited it by hand with other spacing and key order.
THEIRS_TEXT = json.dumps(THEIRS, indent=4) + "\n"


def test_install_merges_and_keeps_everything_else():
    new, notes = cs.install(THEIRS, EXE)
    assert new["statusLine"] == {
        "type": "command", "padding": 0,
        "command": f"{EXE} statusline --then 'bash ~/.claude/my status.sh --color '\"'\"'a b'\"'\"''"}
    assert cs.wrapped_command(new["statusLine"]["command"]) == THEIRS["statusLine"]["command"]
    ours = {"matcher": "*", "hooks": [{"type": "command", "command": f"{EXE} hook", "timeout": 10}]}
    assert new["hooks"]["PreToolUse"] == [THEIRS["hooks"]["PreToolUse"][0], ours]
    assert new["hooks"]["UserPromptSubmit"] == [ours]
    assert new["hooks"]["Stop"] == THEIRS["hooks"]["Stop"]
    for key in ("model", "env", "permissions"):
        assert new[key] == THEIRS[key]
    assert THEIRS["statusLine"]["command"].startswith("bash")  # the input was not modified
    assert len(notes) == 3
    again, notes = cs.install(new, EXE)
    assert again == new and notes == []


def test_install_into_nothing_and_uninstall_back_to_nothing():
    new, _ = cs.install({}, EXE)
    assert new == {"statusLine": {"type": "command", "command": f"{EXE} statusline"},
                   "hooks": {"UserPromptSubmit": [{"matcher": "*", "hooks": [
                       {"type": "command", "command": f"{EXE} hook", "timeout": 10}]}],
                             "PreToolUse": [{"matcher": "*", "hooks": [
                                 {"type": "command", "command": f"{EXE} hook", "timeout": 10}]}]}}
    assert cs.uninstall(new)[0] == {}


def test_recognises_our_commands_and_only_ours():
    assert cs.ours("/x/bin/tokentop hook") == "hook"
    assert cs.ours("'/a b/tokentop' --db /tmp/u.db statusline --then 'x'") == "statusline"
    assert cs.ours("/usr/bin/python3 -m tokentop.tui.cli hook") == "hook"
    assert cs.ours("tokentop report") is None
    assert cs.ours("~/guard.sh hook") is None
    assert cs.ours("echo tokentop-hook") is None
    assert cs.ours("unbalanced 'quote") is None


def test_a_moved_tokentop_is_repointed_not_duplicated():
    new, _ = cs.install(THEIRS, EXE)
    moved, notes = cs.install(new, "/new/venv/bin/tokentop")
    assert moved["hooks"]["PreToolUse"][1]["hooks"][0]["command"] == "/new/venv/bin/tokentop hook"
    assert len(moved["hooks"]["PreToolUse"]) == 2
    assert cs.wrapped_command(moved["statusLine"]["command"]) == THEIRS["statusLine"]["command"]
    assert moved["statusLine"]["command"].startswith("/new/venv/bin/tokentop statusline --then ")
    assert cs.uninstall(moved)[0] == THEIRS


def test_file_round_trip_is_byte_exact_with_a_backup(home):
    path = home / ".claude" / "settings.json"
    path.parent.mkdir()
    path.write_text(THEIRS_TEXT)
    path.chmod(0o640)
    plan = cs.plan(path, "install", EXE)
    assert plan.changed and "+" in plan.diff()
    backup = cs.apply(plan, now=0)
    assert backup.read_text() == THEIRS_TEXT and stat.S_IMODE(backup.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o640  # the file keeps its permissions
    installed = json.loads(path.read_text())
    assert path.read_text().startswith('{\n    "model"')  # the file's own 4-space indent kept
    assert not cs.plan(path, "install", EXE).changed  # idempotent: a second install changes nothing
    plan = cs.plan(path, "uninstall")
    assert json.loads(plan.new_text) == THEIRS
    cs.apply(plan, now=0)
    assert path.read_text() == THEIRS_TEXT  # the very bytes, from the backup
    assert len(cs.backups(path)) == 2 and installed["hooks"]["UserPromptSubmit"]
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tokentop-tmp")]


def test_uninstall_when_the_user_changed_other_things_meanwhile_keeps_their_changes(home):
    installed, _ = cs.install(THEIRS, EXE)
    installed["model"] = "sonnet"
    installed["hooks"]["PreToolUse"][1]["hooks"].append({"type": "command", "command": "~/mine-too.sh"})
    out, _ = cs.uninstall(installed)
    assert out["model"] == "sonnet"
    assert out["hooks"]["PreToolUse"][1] == {"matcher": "*", "hooks": [{"type": "command", "command": "~/mine-too.sh"}]}
    assert "UserPromptSubmit" not in out["hooks"]
    assert out["statusLine"] == THEIRS["statusLine"]


def test_cli_dry_run_writes_nothing_and_install_is_idempotent(home, capsys):
    path = home / "custom.json"
    path.write_text(THEIRS_TEXT)
    assert main(["install-hooks", "--settings", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"--- {path}\n+++ {path} (after)\n") and '"UserPromptSubmit"' in out
    assert path.read_text() == THEIRS_TEXT and cs.backups(path) == []
    assert main(["install-hooks", "--settings", str(path)]) == 0
    assert "backup:" in capsys.readouterr().out
    text = path.read_text()
    assert main(["install-hooks", "--settings", str(path)]) == 0
    assert "already installed" in capsys.readouterr().out and path.read_text() == text
    assert main(["uninstall-hooks", "--settings", str(path)]) == 0
    assert path.read_text() == THEIRS_TEXT
    assert main(["uninstall-hooks", "--settings", str(path)]) == 0
    assert "no tokentop entries" in capsys.readouterr().out


def test_cli_install_creates_a_missing_file_with_the_running_executable(home, capsys, monkeypatch):
    exe = home / "venv" / "bin" / "tokentop"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\n")
    monkeypatch.setattr("sys.argv", [str(exe), "install-hooks"])
    assert main(["install-hooks"]) == 0
    data = json.loads((home / ".claude" / "settings.json").read_text())
    assert data["statusLine"]["command"] == f"{exe} statusline"
    assert data["hooks"]["PreToolUse"][0]["hooks"][0]["command"] == f"{exe} hook"
    assert cs.backups(home / ".claude" / "settings.json") == []  # nothing to back up


def test_invalid_json_is_refused_with_where_and_nothing_written(home, capsys):
    path = home / "settings.json"
    path.write_text('{"model": "opus",\n  "hooks": {,}\n}\n')
    assert main(["install-hooks", "--settings", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not valid JSON (line 2, column 13" in err and "Nothing was written" in err
    assert path.read_text() == '{"model": "opus",\n  "hooks": {,}\n}\n' and cs.backups(path) == []
    path.write_text('{"hooks": []}')
    with pytest.raises(cs.SettingsFileError, match='"hooks" is not an object'):
        cs.plan(path, "install", EXE)


def test_symlinks_inside_home_are_written_through_and_outside_refused(home, tmp_path_factory):
    dotfiles = home / "dotfiles" / "claude.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text("{}\n")
    link = home / ".claude" / "settings.json"
    link.parent.mkdir()
    link.symlink_to(dotfiles)
    cs.apply(cs.plan(link, "install", EXE))
    assert link.is_symlink() and "statusline" in dotfiles.read_text()
    outside = tmp_path_factory.mktemp("elsewhere") / "settings.json"
    outside.write_text("{}\n")
    link.unlink()
    link.symlink_to(outside)
    with pytest.raises(cs.SettingsFileError, match="outside your home directory"):
        cs.plan(link, "install", EXE)
    assert outside.read_text() == "{}\n" and link.is_symlink()
    assert os.readlink(link) == str(outside)
