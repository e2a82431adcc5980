"""Shared fixtures: a private temporary HOME for every test, and the real transcripts laid out under it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# The repository sits beside shared/ (here and in CI); TOKENTOP_REAL_LOGS points elsewhere if not.
REAL_LOGS = Path(os.environ.get("TOKENTOP_REAL_LOGS") or Path(__file__).resolve().parents[2] / "shared" / "real-logs")

_ENV_TO_CLEAR = ("CLAUDE_CONFIG_DIR", "OPENCLAW_DIR", "TOKENTOP_DB", "TOKENTOP_CONFIG", "XDG_CONFIG_HOME",
                 "XDG_DATA_HOME", "XDG_STATE_HOME", "NO_COLOR")


@pytest.fixture(autouse=True)
def home(tmp_path_factory, monkeypatch) -> Path:
    """Every test runs with HOME pointing at an empty temporary directory: nothing of the real user's is read."""
    path = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(path))
    monkeypatch.setenv("TZ", "UTC")
    for name in _ENV_TO_CLEAR:
        monkeypatch.delenv(name, raising=False)
    return path


@pytest.fixture
def real_logs() -> Path:
    """The folder of public real transcripts (skips the test when it is not beside the repository)."""
    if not REAL_LOGS.is_dir():
        pytest.skip(f"real logs not found at {REAL_LOGS}")
    return REAL_LOGS


@pytest.fixture
def real_logs_home(home: Path) -> Path:
    """The public real transcripts under `~/.claude/projects/<folder>/…`, as Claude Code lays them out."""
    if not REAL_LOGS.is_dir():
        pytest.skip(f"real logs not found at {REAL_LOGS}")
    projects = home / ".claude" / "projects"
    projects.mkdir(parents=True)
    for folder in sorted(REAL_LOGS.iterdir()):
        if folder.is_dir():
            shutil.copytree(folder, projects / folder.name)
    # A config that keeps every real (old) response as a row rather than rolling it up.
    config = home / ".config" / "tokentop" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text("retention_days = 100000\n")
    return home
