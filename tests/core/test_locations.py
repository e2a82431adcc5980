"""Paths: Claude Code and OpenClaw roots, database and config locations, all from the environment at call time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tokentop.ingest import locations

ENV = ("XDG_CONFIG_HOME", "CLAUDE_CONFIG_DIR", "OPENCLAW_DIR", "TOKENTOP_DB", "TOKENTOP_CONFIG")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_home_follows_env(home):
    assert locations.home() == home


def test_default_claude_roots_are_both_dirs_even_if_missing(home):
    assert locations.claude_roots() == [home / ".claude" / "projects", home / ".config" / "claude" / "projects"]
    assert list(home.iterdir()) == []  # nothing was created


def test_claude_roots_follow_xdg_config_home(home, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg"))
    assert locations.claude_roots()[1] == home / "xdg" / "claude" / "projects"


def test_claude_config_dir_comma_list_both_forms(home, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{home}/work-claude, ~/other/projects ,,{home}/third/")
    assert locations.claude_roots() == [
        home / ".claude" / "projects",
        home / ".config" / "claude" / "projects",
        home / "work-claude" / "projects",  # a config dir: its projects/ inside
        home / "other" / "projects",  # already a projects dir, ~ expanded
        home / "third" / "projects",
    ]


def test_claude_roots_extra_are_appended_and_expanded(home):
    roots = locations.claude_roots(extra=["~/backup/projects", home / "archive"])
    assert roots[-2:] == [home / "backup" / "projects", home / "archive"]


def test_claude_roots_are_deduplicated_in_order(home, monkeypatch):
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".config").mkdir()
    (home / ".config" / "claude").symlink_to(home / ".claude")  # same dir reached two ways
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"~/.claude,{home}/.claude/projects,{home}/x")
    roots = locations.claude_roots(extra=[f"{home}/x/projects", "~/x/projects/../projects"])
    assert roots == [home / ".claude" / "projects", home / "x" / "projects"]


def test_openclaw_roots(home, monkeypatch):
    monkeypatch.setenv("OPENCLAW_DIR", f"~/oc-a,{home}/.openclaw, {home}/oc-b")
    roots = locations.openclaw_roots(extra=["~/oc-c", "~/oc-a"])
    assert roots == [
        home / ".openclaw",
        home / ".clawdbot",
        home / ".moltbot",
        home / ".moldbot",
        home / "oc-a",
        home / "oc-b",
        home / "oc-c",
    ]
    assert list(home.iterdir()) == []


def test_default_db_path_and_env(home, monkeypatch):
    assert locations.default_db_path() == home / ".claude-usage" / "usage.db"
    monkeypatch.setenv("TOKENTOP_DB", "~/data/t.db")
    assert locations.default_db_path() == home / "data" / "t.db"
    assert not (home / ".claude-usage").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is Linux's")
def test_config_path_on_linux(home, monkeypatch):
    assert locations.config_path() == home / ".config" / "tokentop" / "config.toml"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "xdg"))
    assert locations.config_path() == home / "xdg" / "tokentop" / "config.toml"


def test_config_path_env_override(home, monkeypatch):
    monkeypatch.setenv("TOKENTOP_CONFIG", "~/my/tt.toml")
    assert locations.config_path() == home / "my" / "tt.toml"


def test_importing_config_modules_has_no_side_effects_and_no_textual(tmp_path):
    code = textwrap.dedent(
        """
        import sys
        import tokentop.ingest.locations, tokentop.ingest.config, tokentop.ingest.pricing
        bad = [m for m in sys.modules if m.split(".")[0] in ("textual", "platformdirs")]
        assert not bad, bad
        """
    )
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path)
    assert list(tmp_path.iterdir()) == []
