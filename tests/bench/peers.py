"""The tools tokentop is measured against: installing them beside the bench, and running them on a corpus.

- `ccusage` (npm, pinned): its npm package is a thin node launcher for a native binary in a platform package;
  the bench times the native binary itself, which spares it node's start-up (the comparison is generous to it).
- `claude-monitor` (PyPI, pinned, own venv): a live TUI with no one-shot whole-history report, so the bench runs
  `cm_daily.py` in its venv, which does what its `--view daily` does before drawing the table and waiting for
  Ctrl+C: `UsageAggregator(paths, "daily").aggregate()` over every file, then the totals.

Install failures are reported, never raised: the bench prints the other figures without that peer."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE / ".peers"
CCUSAGE_VERSION = "20.0.24"
"""The newest release whose linux-x64 native package is published (20.0.26's is not)."""
CLAUDE_MONITOR_VERSION = "4.0.0"


@dataclass
class Peer:
    name: str
    version: str | None = None
    command: list[str] | None = None
    problem: str | None = None
    note: str = ""

    @property
    def ready(self) -> bool:
        return self.command is not None


def _tail(text: str, lines: int = 4) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def install_ccusage(log=print) -> Peer:
    peer = Peer("ccusage")
    prefix = PEERS / "npm"
    modules = prefix / "node_modules"
    try:
        installed = json.loads((modules / "ccusage" / "package.json").read_text()).get("version")
    except (OSError, ValueError):
        installed = None
    if installed != CCUSAGE_VERSION:
        log(f"  installing ccusage@{CCUSAGE_VERSION} (npm) into {prefix.relative_to(HERE.parent)} …")
        try:
            done = subprocess.run(["npm", "install", "--prefix", str(prefix), f"ccusage@{CCUSAGE_VERSION}",
                                   "--no-audit", "--no-fund", "--loglevel=error"],
                                  capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            peer.problem = f"npm install failed: {exc}"
            return peer
        if done.returncode != 0:
            peer.problem = f"npm install failed ({done.returncode}): {_tail(done.stderr or done.stdout)}"
            return peer
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine().lower())
    native = modules / "@ccusage" / f"ccusage-{sys.platform}-{arch}" / "bin" / "ccusage"
    launcher = modules / ".bin" / "ccusage"
    if native.exists():
        if not os.access(native, os.X_OK):  # npm unpacks it 0644; its launcher chmods it on first use, as here
            native.chmod(native.stat().st_mode | 0o111)
        peer.command = [str(native)]
        peer.note = "native binary timed directly (the npm launcher adds node start-up)"
    elif launcher.exists():
        peer.command = [str(launcher)]
        peer.note = "npm launcher (no native binary found for this platform)"
    else:
        peer.problem = "ccusage installed but neither its native binary nor its launcher was found"
        return peer
    try:
        said = subprocess.run(peer.command + ["--version"], capture_output=True, text=True, timeout=30).stdout
        peer.version = said.strip().split()[-1] if said.strip() else CCUSAGE_VERSION
    except (OSError, subprocess.TimeoutExpired) as exc:
        peer.problem, peer.command = f"ccusage does not run: {exc}", None
    return peer


def install_claude_monitor(log=print) -> Peer:
    peer = Peer("claude-monitor")
    venv = PEERS / "venv"
    python = venv / "bin" / "python"
    try:
        if not python.exists():
            log(f"  creating {venv.relative_to(HERE.parent)} for claude-monitor …")
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, text=True,
                           timeout=300)
        have = subprocess.run([str(python), "-c", "import importlib.metadata as m; print(m.version('claude-monitor'))"],
                              capture_output=True, text=True, timeout=60).stdout.strip()
        if have != CLAUDE_MONITOR_VERSION:
            log(f"  installing claude-monitor=={CLAUDE_MONITOR_VERSION} (PyPI) …")
            done = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                   f"claude-monitor=={CLAUDE_MONITOR_VERSION}"],
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0:
                peer.problem = f"pip install failed ({done.returncode}): {_tail(done.stderr or done.stdout)}"
                return peer
    except subprocess.CalledProcessError as exc:
        peer.problem = f"venv creation failed: {_tail(exc.stderr or str(exc))}"
        return peer
    except (OSError, subprocess.TimeoutExpired) as exc:
        peer.problem = f"install failed: {exc}"
        return peer
    peer.version = CLAUDE_MONITOR_VERSION
    peer.command = [str(python), str(HERE / "cm_daily.py")]
    peer.note = "its daily view's data load + aggregation (UsageAggregator.aggregate), without drawing"
    return peer


# -- running them -----------------------------------------------------------------------------------

def ccusage_args(peer: Peer) -> list[str]:
    return peer.command + ["claude", "daily", "--offline", "--json"]


def claude_monitor_args(peer: Peer, home: Path) -> list[str]:
    return peer.command + [str(home / ".claude" / "projects"), str(home / ".config" / "claude" / "projects")]


def ccusage_totals(stdout: str) -> dict | None:
    """ccusage's `totals` in the expected.json vocabulary (it has no request count, no 5m/1h split)."""
    try:
        t = json.loads(stdout)["totals"]
    except (ValueError, KeyError, TypeError):
        return None
    return {"input_tokens": t.get("inputTokens"), "output_tokens": t.get("outputTokens"),
            "cache_creation_tokens": t.get("cacheCreationTokens"), "cache_read_tokens": t.get("cacheReadTokens"),
            "cost_usd": t.get("totalCost")}


def claude_monitor_totals(stdout: str) -> dict | None:
    try:
        t = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return {"requests": t.get("entries_count"), "input_tokens": t.get("input_tokens"),
            "output_tokens": t.get("output_tokens"), "cache_creation_tokens": t.get("cache_creation_tokens"),
            "cache_read_tokens": t.get("cache_read_tokens"), "cost_usd": t.get("total_cost")}
