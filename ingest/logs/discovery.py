"""Finding log roots and the session files under them, and what each file's place says about it."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from .. import locations
from ..records import CLAUDE_CODE, OPENCLAW

# OpenClaw keeps archived sessions as `<uuid>.jsonl.deleted.<ts>` / `.reset.<ts>`: they still count.
_OPENCLAW_NAME = re.compile(r"^(?P<session>.+?)\.jsonl(?:\.(?:deleted|reset)\.[^/]+)?$")


@dataclass(slots=True, frozen=True)
class LogFile:
    """A session log file and what its path says: source, session it belongs to, sub-agent id."""

    path: str
    source: str
    session_id: str
    agent_id: str | None
    root: str


@dataclass(slots=True)
class Root:
    path: str
    source: str
    exists: bool
    files: int = 0


@dataclass(slots=True)
class Discovery:
    roots: list[Root] = field(default_factory=list)
    files: list[LogFile] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)
    """Counts of things passed over while walking: unreadable dirs, symlink loops, non-regular files."""

    def problem(self, reason: str) -> None:
        self.problems[reason] = self.problems.get(reason, 0) + 1


def configured_roots(settings=None) -> list[tuple[Path, str]]:
    claude_extra = getattr(settings, "claude_roots", ()) or ()
    openclaw_extra = getattr(settings, "openclaw_roots", ()) or ()
    roots = [(p, CLAUDE_CODE) for p in locations.claude_roots(claude_extra)]
    roots += [(p, OPENCLAW) for p in locations.openclaw_roots(openclaw_extra)]
    return roots


def classify(path: str, root: str, source: str) -> LogFile | None:
    """Map a file under a root to its session, or None when it is not a session log."""
    if not _utf8(path):
        return None
    name = os.path.basename(path)
    if source == CLAUDE_CODE:
        if not name.endswith(".jsonl"):
            return None
        parent = os.path.dirname(path)
        if os.path.basename(parent) == "subagents":
            # projects/<cwd>/<session>/subagents/agent-<id>.jsonl belongs to <session>
            session = os.path.basename(os.path.dirname(parent))
            agent = name[:-len(".jsonl")]
            return LogFile(path, source, session, agent[6:] if agent.startswith("agent-") else agent, root)
        return LogFile(path, source, name[:-len(".jsonl")], None, root)
    match = _OPENCLAW_NAME.match(name)
    if match is None:
        return None
    return LogFile(path, source, match.group("session"), None, root)


def discover(settings=None, roots: list[tuple[Path, str]] | None = None) -> Discovery:
    """Walk every root (following links, never looping) and list the session files in a stable order."""
    found = Discovery()
    listed = roots if roots is not None else configured_roots(settings)
    allowed = real_roots(root for root, _ in listed)
    for root, source in listed:
        root_s = str(root)
        entry = Root(root_s, source, root.is_dir())
        found.roots.append(entry)
        if not entry.exists:
            continue
        before = len(found.files)
        _walk(root_s, root_s, source, found, set(), allowed)
        entry.files = len(found.files) - before
    seen: set[str] = set()
    unique = []
    real_dirs: dict[str, str] = {}
    for f in found.files:  # the same file reached through two roots (a symlinked config dir) counts once
        # realpath() per directory, not per file: per file it was a third of a warm `report` with 2 000 files.
        parent, name = os.path.split(f.path)
        real_parent = real_dirs.get(parent)
        if real_parent is None:
            real_parent = real_dirs[parent] = os.path.realpath(parent)
        key = os.path.realpath(f.path) if os.path.islink(f.path) else os.path.join(real_parent, name)
        if key not in seen:
            seen.add(key)
            unique.append(f)
    found.files = unique
    return found


def real_roots(roots) -> tuple[str, ...]:
    """The roots as they really are on disk (links resolved), for `inside_roots`."""
    return tuple(os.path.realpath(r) for r in roots if os.path.isdir(r))


def inside_roots(path: str, allowed: tuple[str, ...]) -> bool:
    """True when `path`, links resolved, is one of the roots or inside one. A link in a root that points elsewhere
    (`~/.claude/projects/x.jsonl -> /etc/passwd`) is not followed: list its target as a root to have it read."""
    real = os.path.realpath(path)
    return any(real == r or real.startswith(r.rstrip(os.sep) + os.sep) for r in allowed)


def _walk(directory: str, root: str, source: str, found: Discovery, visiting: set[tuple[int, int]],
          allowed: tuple[str, ...]) -> None:
    try:
        st = os.stat(directory)
    except OSError:
        found.problem("unreadable-directory")
        return
    key = (st.st_dev, st.st_ino)
    if key in visiting:
        found.problem("symlink-loop")
        return
    visiting = visiting | {key}
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError:
        found.problem("unreadable-directory")
        return
    for entry in entries:
        if not _utf8(entry.name):
            found.problem("non-utf8-name")  # no tool we read writes one, and SQLite cannot store it as text
            continue
        try:
            if entry.is_symlink() and not inside_roots(entry.path, allowed):
                found.problem("symlink-outside-roots")
                continue
            if entry.is_dir(follow_symlinks=True):
                _walk(entry.path, root, source, found, visiting, allowed)
                continue
            log = classify(entry.path, root, source)
            if log is None:
                continue
            mode = entry.stat(follow_symlinks=True).st_mode
        except OSError:
            found.problem("unreadable-entry")
            continue
        if not stat.S_ISREG(mode):
            found.problem("not-a-regular-file")  # a FIFO or device would block or never end
            continue
        found.files.append(log)


def _utf8(name: str) -> bool:
    """False for a name with bytes that are not UTF-8 (Python hands them over as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def roots_hint(summary_or_found) -> str:
    """Where tokentop looked and how to add a folder: shown when no log was found (CLI and first-run screen)."""
    roots = summary_or_found.roots
    lines = ["No session logs found. tokentop looks in:"]
    for root in roots:
        lines.append(f"  {'✓' if root.exists else '✗'} {root.path}  ({root.source})")
    lines.append("Add another folder with `claude_roots = [\"/path/to/projects\"]` (or `openclaw_roots`) in "
                 "the config file (`tokentop config --init` writes one), or set CLAUDE_CONFIG_DIR / OPENCLAW_DIR.")
    return "\n".join(lines)
