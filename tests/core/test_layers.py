"""The folders say who depends on whom: the import-linter contracts in pyproject.toml hold, ruff and mypy are
clean, and no module grows past the size at which it has two jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MAX_LINES = 450


def _tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]' brings it)")
    return found


def test_import_contracts_hold():
    out = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "broken" not in out.stdout.lower().split("contracts:")[-1].split("\n")[0].replace("0 broken", "")


def test_ingest_type_checks(tmp_path):
    """mypy on the modules [tool.mypy] lists (tokentop.ingest, but for the parts still being changed elsewhere).
    The package is the repository root, so mypy gets a folder holding it under its own name, `tokentop`."""
    mypy = _tool("mypy")
    (tmp_path / "tokentop").symlink_to(REPO, target_is_directory=True)
    env = {**os.environ, "MYPYPATH": str(tmp_path)}
    out = subprocess.run([mypy, "--config-file", str(REPO / "pyproject.toml"), "--cache-dir", str(tmp_path / "cache")],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]
    assert "Success: no issues found" in out.stdout


def test_ruff_is_clean():
    out = subprocess.run([_tool("ruff"), "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-2000:]


def test_no_module_over_the_size_limit():
    big = {str(p.relative_to(REPO)): n for d in ("ingest", "tui", "widgets") for p in (REPO / d).rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}, f"split these (over {MAX_LINES} lines): {big}"
