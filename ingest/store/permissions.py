"""What tokentop may do to the file at the database path: it respects permissions the user set, and never writes
into a database that another program owns."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

OUR_TABLES = frozenset({"meta", "requests", "sessions", "files"})
"""Tables every tokentop schema since version 1 has: a database with other tables and none of these is not ours."""


class PermissionRefused(Exception):
    """The path is something tokentop must not change; the message says what and what to do (a StoreError's text)."""


def check_path(path: Path, readonly: bool) -> None:
    """Refuse, before anything is created or chmod'ed: a folder at the database path, or (for writing) a database
    file the user made read-only. A read-only file stays read-only: asking for write access is their call."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise PermissionRefused(f"{path} is a folder, not a database file; point --db (or db_path) at a file "
                                f"inside it, e.g. {path / 'usage.db'}. Nothing was changed.")
    if not stat.S_ISREG(st.st_mode):
        raise PermissionRefused(f"{path} is not a regular file; point --db (or db_path) at a database file. "
                                "Nothing was changed.")
    if not readonly and is_read_only(path, st):
        raise PermissionRefused(
            f"{path} is read-only (mode {stat.S_IMODE(st.st_mode):o}), so tokentop will not write to it or change "
            "its permissions. Make it writable (chmod u+w) for tokentop to keep it up to date, or point --db "
            "elsewhere. Nothing was changed.")


def is_read_only(path: Path, st: os.stat_result | None = None) -> bool:
    """The owner's write bit is off, or this process may not write it. (The bit counts even for root, who may
    write anything: a file someone chmod'ed 0444 was meant to stay as it is.)"""
    st = st or os.stat(path)
    return not st.st_mode & stat.S_IWUSR or not os.access(path, os.W_OK)


def refuse_foreign(db: sqlite3.Connection, path: Path) -> None:
    """A non-empty SQLite database without tokentop's tables belongs to another program: never add ours to it."""
    tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    tables = {t for t in tables if not t.startswith("sqlite_")}
    if tables and not OUR_TABLES <= tables:
        shown = ", ".join(sorted(tables)[:5]) + (", …" if len(tables) > 5 else "")
        raise PermissionRefused(
            f"{path} is another program's SQLite database (tables: {shown}), not a tokentop store; tokentop will "
            "not add its tables to it. Point --db (or db_path) at a new file. Nothing was changed.")


OWN_DIR_NAME = ".claude-usage"
"""tokentop's own folder (`~/.claude-usage`): the only existing folder whose permissions it changes."""


def ensure_private_dir(path: Path) -> str | None:
    """Create the store's directory 0700; tighten tokentop's own folder when others can read it, and say so.

    A folder the user pointed `--db` into (a project, /tmp, a synced folder) is theirs: it is left as it is,
    and the database file itself is still 0600."""
    if not path.exists():
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)  # made now, so nobody else could have read it: no warning
        return None
    if path.name != OWN_DIR_NAME:
        return None
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        try:
            os.chmod(path, 0o700)
            return f"{path} was readable by other users (mode {mode:o}); tightened to 700"
        except OSError as exc:
            return f"{path} is readable by other users (mode {mode:o}) and could not be tightened: {exc.strerror}"
    return None
