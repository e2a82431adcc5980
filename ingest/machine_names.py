"""Machine names: this machine's, and which names (folder names from a peer) are safe to read and show."""

from __future__ import annotations

import platform
import re

MAX_NAME = 64
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_UNSAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


def is_safe_name(name: str) -> bool:
    """A folder name a peer may use: letters, digits, '.', '_' and '-', not starting with a dot or a dash (so never
    '..', a hidden temp file or an option), at most 64 characters. Anything else is not read."""
    return bool(_SAFE.match(name)) and name not in (".", "..")


def clean_machine_name(text: str) -> str:
    """`My Laptop (work)` → `My-Laptop-work`: a name that passes `is_safe_name` (or `machine` when nothing is left)."""
    cleaned = _UNSAFE_CHARS.sub("-", text.strip()).strip("-.")[:MAX_NAME].strip("-.")
    return cleaned if cleaned and is_safe_name(cleaned) else "machine"


def local_host_name() -> str:
    """The host name, short form (`laptop`, not `laptop.local`), cleaned."""
    name = platform.node().split(".")[0]  # os.uname(): no name lookup, no network
    return clean_machine_name(name) if name else "machine"


def shown(name: str, limit: int = 40) -> str:
    """A name from a peer as it may be printed to a terminal: control characters escaped, long names cut."""
    text = name.encode("unicode_escape", "backslashreplace").decode("ascii", "replace")
    return text if len(text) <= limit else text[: limit - 1] + "…"
