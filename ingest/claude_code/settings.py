"""Merging tokentop's statusLine and hooks into Claude Code's settings.json, and taking exactly them out again.

What was there before is never lost: a statusLine the user already had is wrapped (`tokentop statusline --then
'<their command>'`), so uninstalling reads it back out of our own command; every other key and hook is left alone;
each write is preceded by a backup and done atomically."""

from __future__ import annotations

import copy
import difflib
import json
import os
import shlex
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..store.permissions import is_read_only

HOOK_EVENTS = ("UserPromptSubmit", "PreToolUse")
HOOK_TIMEOUT_S = 10
BACKUP_MARK = ".tokentop-backup-"
KEEP_BACKUPS = 5
"""Backups kept after a write: the first one (the file as it was before tokentop ever changed it, which uninstall
can restore byte for byte) and the newest others."""


class SettingsFileError(Exception):
    """settings.json cannot be changed safely; the message says why and what to do. Nothing was written."""


def default_path() -> Path:
    return Path.home() / ".claude" / "settings.json"


# -- recognising our own entries --------------------------------------------------------------------


def _tokens(command) -> list[str] | None:
    if not isinstance(command, str):
        return None
    try:
        return shlex.split(command)
    except ValueError:
        return None


def _program_index(tokens: list[str]) -> int | None:
    """Where the tokentop program is in a command: a path named tokentop, or `python -m tokentop.tui.cli`."""
    for i, token in enumerate(tokens):
        if os.path.basename(token) == "tokentop" or token in ("tokentop.tui.cli", "tokentop.tui.cli.main"):
            return i
    return None


def ours(command) -> str | None:
    """"hook" or "statusline" when `command` runs that tokentop subcommand, else None."""
    tokens = _tokens(command)
    if not tokens:
        return None
    i = _program_index(tokens)
    if i is None:
        return None
    rest, j = tokens[i + 1:], 0
    while j < len(rest):
        token = rest[j]
        if token in ("hook", "statusline"):
            return token
        if token in ("--db", "--config"):
            j += 2  # a global option and its value, before the subcommand
        elif token.startswith("-"):
            j += 1
        else:
            return None  # another subcommand
    return None


def statusline_installed(path: Path | None = None) -> bool:
    """Whether settings.json's statusLine runs `tokentop statusline` (any problem reading it: False)."""
    try:
        line = read(path or default_path())[1].get("statusLine")
    except (SettingsFileError, OSError):
        return False
    return isinstance(line, dict) and ours(line.get("command")) == "statusline"


def wrapped_command(command: str) -> str | None:
    """The user's statusline that our `statusline --then '<cmd>'` wraps, exactly as it was; None if none."""
    tokens = _tokens(command) or []
    for i, token in enumerate(tokens[:-1]):
        if token == "--then":
            return tokens[i + 1]
    for token in tokens:
        if token.startswith("--then="):
            return token[len("--then="):]
    return None


def statusline_command(exe: str, then: str | None = None) -> str:
    return f"{exe} statusline" + (f" --then {shlex.quote(then)}" if then is not None else "")


def hook_command(exe: str) -> str:
    return f"{exe} hook"


def _same_program(command: str, exe: str) -> bool:
    tokens, exe_tokens = _tokens(command) or [], _tokens(exe) or []
    return tokens[:len(exe_tokens)] == exe_tokens


# -- the merge --------------------------------------------------------------------------------------


def _hooks_table(data: dict, path: Path, create: bool) -> dict | None:
    hooks = data.get("hooks")
    if hooks is None:
        if not create:
            return None
        hooks = data["hooks"] = {}
    if not isinstance(hooks, dict):
        raise SettingsFileError(f'{path}: "hooks" is not an object, so tokentop cannot add to it safely; '
                                "fix it by hand (see Claude Code's hooks documentation). Nothing was written.")
    return hooks


def install(data: dict, exe: str, path: Path = Path("settings.json")) -> tuple[dict, list[str]]:
    """A copy of `data` with tokentop's statusLine and hooks merged in; idempotent. Returns (new data, notes)."""
    data = copy.deepcopy(data)
    notes: list[str] = []
    line = data.get("statusLine")
    if line is None:
        data["statusLine"] = {"type": "command", "command": statusline_command(exe)}
        notes.append("statusLine: tokentop statusline")
    elif isinstance(line, dict) and isinstance(line.get("command"), str) and line["command"].strip():
        command = line["command"]
        if ours(command) == "statusline":
            if not _same_program(command, exe):  # tokentop moved (a new venv): point at the running one
                line["command"] = statusline_command(exe, wrapped_command(command))
                notes.append("statusLine: updated to this tokentop's path")
        else:
            line["command"] = statusline_command(exe, command)
            notes.append("statusLine: your existing statusline is kept and shown after tokentop's (via --then)")
    else:
        notes.append("statusLine: left unchanged (it is not a command statusline tokentop can wrap)")
    hooks = _hooks_table(data, path, create=True)
    for event in HOOK_EVENTS:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise SettingsFileError(f'{path}: "hooks.{event}" is not a list, so tokentop cannot add to it safely; '
                                    "fix it by hand. Nothing was written.")
        found = False
        for group in groups:
            for entry in group.get("hooks", []) if isinstance(group, dict) else []:
                if isinstance(entry, dict) and ours(entry.get("command")) == "hook":
                    found = True
                    if not _same_program(entry["command"], exe):
                        entry["command"] = hook_command(exe)
                        notes.append(f"hooks.{event}: updated to this tokentop's path")
        if not found:
            groups.append({"matcher": "*", "hooks": [{"type": "command", "command": hook_command(exe),
                                                      "timeout": HOOK_TIMEOUT_S}]})
            notes.append(f"hooks.{event}: tokentop hook")
    return data, notes


def uninstall(data: dict, path: Path = Path("settings.json")) -> tuple[dict, list[str]]:
    """A copy of `data` without tokentop's entries: the wrapped statusline restored, containers that only held
    ours removed. (A list that was already empty before install is removed too; Claude Code reads both the same.)"""
    data = copy.deepcopy(data)
    notes: list[str] = []
    line = data.get("statusLine")
    if isinstance(line, dict) and ours(line.get("command")) == "statusline":
        previous = wrapped_command(line["command"])
        if previous is None:
            del data["statusLine"]
            notes.append("statusLine: removed")
        else:
            line["command"] = previous
            notes.append("statusLine: restored your previous command")
    hooks = _hooks_table(data, path, create=False)
    if hooks is not None:
        for event in list(hooks):
            groups = hooks[event]
            if not isinstance(groups, list):
                continue
            removed = False
            for group in list(groups):
                entries = group.get("hooks") if isinstance(group, dict) else None
                if not isinstance(entries, list):
                    continue
                keep = [e for e in entries if not (isinstance(e, dict) and ours(e.get("command")) == "hook")]
                if len(keep) != len(entries):
                    removed = True
                    if keep:
                        group["hooks"] = keep
                    else:
                        groups.remove(group)
            if removed:
                notes.append(f"hooks.{event}: tokentop hook removed")
                if not groups:
                    del hooks[event]
        if not hooks and any(n.startswith("hooks.") for n in notes):
            del data["hooks"]
    return data, notes


# -- the file ---------------------------------------------------------------------------------------


@dataclass
class Plan:
    """What install/uninstall would do to one settings file."""

    path: Path
    target: Path
    """The file actually written: `path`, or where its symlink points (inside the home directory)."""
    old_text: str | None
    new_text: str
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_text != (self.old_text or "")

    def diff(self) -> str:
        old = (self.old_text or "").splitlines(keepends=True)
        new = self.new_text.splitlines(keepends=True)
        return "".join(difflib.unified_diff(old, new, fromfile=str(self.path), tofile=f"{self.path} (after)"))


def write_target(path: Path) -> Path:
    """Where writing `path` really goes. A symlink is written through (so a dotfiles link stays a link), but
    only when it ends inside the home directory: a link elsewhere usually means a file managed by something
    else (Nix / home-manager, a shared or read-only config), and replacing it there could break that."""
    resolved = path.resolve(strict=False)
    if resolved == path.absolute():
        return path
    home = Path.home().resolve()
    if not resolved.is_relative_to(home):
        raise SettingsFileError(
            f"{path} is a symlink to {resolved}, which is outside your home directory ({home}). tokentop will not "
            "write through it: that file is probably managed by something else (Nix/home-manager, a shared or "
            "read-only config). Add the entries shown by `tokentop install-hooks --dry-run` to the file it comes "
            "from, or pass --settings with a file inside your home. Nothing was written.")
    return resolved


def read(path: Path) -> tuple[str | None, dict]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsFileError(f"{path}: cannot read it ({exc}). Nothing was written.") from None
    if not text.strip():
        return text, {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SettingsFileError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Claude Code cannot read it "
            "either; fix it, or move it aside, and run this again. Nothing was written.") from None
    if not isinstance(data, dict):
        raise SettingsFileError(f"{path}: expected a JSON object at the top, found {type(data).__name__}. "
                                "Nothing was written.")
    return text, data


def _indent(text: str | None):
    for line in (text or "").splitlines()[1:]:
        stripped = line.lstrip(" \t")
        if stripped and len(stripped) < len(line):
            lead = line[: len(line) - len(stripped)]
            return "\t" if lead.startswith("\t") else len(lead)
    return 2


def dump(data: dict, like: str | None = None) -> str:
    return json.dumps(data, indent=_indent(like), ensure_ascii=False) + "\n"


def backups(target: Path) -> list[Path]:
    """Backups tokentop made of this file, oldest first (by the time in the name, then the `-<n>` of a second
    backup within the same second)."""
    prefix = len(target.name + BACKUP_MARK)

    def order(path: Path):
        rest = path.name[prefix:]  # YYYYmmdd-HHMMSS, then -<n> for another backup in the same second
        return rest[:15], int(rest[16:]) if rest[16:].isdigit() else 1
    return sorted(target.parent.glob(target.name + BACKUP_MARK + "*"), key=order)


def plan(path: Path, action: str, exe: str | None = None) -> Plan:
    """Work out the new content for "install" or "uninstall" without writing anything."""
    path = Path(path).expanduser()
    target = write_target(path)
    old_text, data = read(target)
    if action == "install":
        new, notes = install(data, exe, path)
    else:
        new, notes = uninstall(data, path)
    if new == data:
        return Plan(path, target, old_text, old_text or "", [])
    new_text = dump(new, old_text)
    if action == "uninstall":
        # Back to what a backup held: restore its very bytes (spacing, key order), not just the same JSON.
        for backup in reversed(backups(target)):
            try:
                text = backup.read_text(encoding="utf-8")
                if json.loads(text) == new:
                    new_text = text
                    break
            except (OSError, ValueError):
                continue
    return Plan(path, target, old_text, new_text, notes)


def apply(p: Plan, now: float | None = None) -> Path | None:
    """Write the plan: back up the current file, then replace it atomically (temp file + os.replace) keeping its
    permissions. Returns the backup's path (None when there was no file)."""
    target = p.target
    target.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    mode = 0o600
    if p.old_text is not None and is_read_only(target):
        raise SettingsFileError(
            f"{target} is read-only (mode {target.stat().st_mode & 0o777:o}), so tokentop will not replace it or "
            "change its permissions. Make it writable (chmod u+w) and run this again, or add the entries shown by "
            "`--dry-run` yourself. Nothing was written.")
    if p.old_text is not None:
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
        backup = target.with_name(target.name + BACKUP_MARK + stamp)
        n = 1
        while backup.exists():
            n += 1
            backup = target.with_name(f"{target.name}{BACKUP_MARK}{stamp}-{n}")
        mode = target.stat().st_mode & 0o7777
        fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600 or 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(p.old_text)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tokentop-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(p.new_text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    prune_backups(target)
    return backup


def prune_backups(target: Path, keep: int = KEEP_BACKUPS) -> list[Path]:
    """Delete all but the first backup and the newest `keep - 1`; returns what was deleted. A backup that cannot
    be deleted is left (a stray backup costs a few KB; failing the write for it would cost more)."""
    found = backups(target)
    doomed = found[1:len(found) - (keep - 1)] if len(found) > keep else []
    removed = []
    for path in doomed:
        try:
            path.unlink()
            removed.append(path)
        except OSError:
            pass
    return removed
