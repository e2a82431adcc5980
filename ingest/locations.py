"""Every filesystem path tokentop uses, computed from the environment at call time; nothing is created here."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

# OpenClaw has shipped under several names; older installs still write to the old dir.
_OPENCLAW_DIRS = (".openclaw", ".clawdbot", ".moltbot", ".moldbot")


def home() -> Path:
    """The user's home; `Path.home()` honours $HOME, which is what tests monkeypatch."""
    return Path.home()


def _expand(entry: str | os.PathLike[str]) -> Path:
    return Path(os.path.expanduser(os.fspath(entry))).absolute()


def _env_list(name: str) -> list[str]:
    """A comma-separated path list from the environment (blank entries ignored)."""
    return [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]


def _dedup(paths: Iterable[Path]) -> list[Path]:
    # Compare resolved paths so a symlinked ~/.config/claude -> ~/.claude is read once; keep the first spelling.
    seen: set[Path] = set()
    out: list[Path] = []
    for path in paths:
        key = path.resolve(strict=False)
        if key not in seen:
            seen.add(key)
            out.append(path)
    return out


def xdg_config_home() -> Path:
    """$XDG_CONFIG_HOME, else ~/.config (on every OS: that is where Claude Code itself looks)."""
    value = os.environ.get("XDG_CONFIG_HOME", "").strip()
    return _expand(value) if value else home() / ".config"


def default_db_path() -> Path:
    """$TOKENTOP_DB, else ~/.claude-usage/usage.db."""
    value = os.environ.get("TOKENTOP_DB", "").strip()
    return _expand(value) if value else home() / ".claude-usage" / "usage.db"


def config_path() -> Path:
    """$TOKENTOP_CONFIG, else the platform config dir (Linux: $XDG_CONFIG_HOME/tokentop/config.toml)."""
    value = os.environ.get("TOKENTOP_CONFIG", "").strip()
    if value:
        return _expand(value)
    from platformdirs import user_config_path  # deferred: keeps `import locations` free of third-party imports

    return user_config_path("tokentop", appauthor=False) / "config.toml"


def claude_roots(extra: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """Claude Code `projects/` dirs to scan, in order, de-duplicated; missing ones included (discovery reports them)."""
    roots = [home() / ".claude" / "projects", xdg_config_home() / "claude" / "projects"]
    for entry in _env_list("CLAUDE_CONFIG_DIR"):
        # Each entry is a config dir holding projects/, or the projects/ dir itself.
        path = _expand(entry)
        roots.append(path if path.name == "projects" else path / "projects")
    roots.extend(_expand(entry) for entry in extra)
    return _dedup(roots)


def openclaw_roots(extra: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """OpenClaw (ex Clawdbot/Moltbot) state dirs to scan, in order, de-duplicated; missing ones included."""
    roots = [home() / name for name in _OPENCLAW_DIRS]
    roots.extend(_expand(entry) for entry in _env_list("OPENCLAW_DIR"))
    roots.extend(_expand(entry) for entry in extra)
    return _dedup(roots)
