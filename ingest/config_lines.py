"""Where in a config.toml a key is set: the line an error message points at. A heuristic over the text, not a
TOML parser (the file was already parsed by tomllib; this only finds the line again)."""

from __future__ import annotations

import json
import re


def split_key(text: str) -> tuple[str, ...]:
    """`prices."claude-opus-4-5".input` -> ("prices", "claude-opus-4-5", "input")."""
    return tuple(a or b or c for a, b, c in re.findall(r'"([^"]*)"|\'([^\']*)\'|([^.\s"\']+)', text))


def dotted(path: tuple[str, ...]) -> str:
    """("prices", "claude-opus-4-5", "input") -> 'prices."claude-opus-4-5".input', as TOML would spell it."""
    return ".".join(p if re.fullmatch(r"\w+", p) else json.dumps(p) for p in path)


def find_line(text: str, path: tuple[str, ...]) -> int | None:
    """The line that sets `path`: its `key =` line, else the closest enclosing table or key. Heuristic, not a parser."""
    table: tuple[str, ...] = ()
    best, best_depth = None, -1
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("["):
            table = split_key(line.strip("[]").split("]")[0])
            here = table
        elif (m := re.match(r'^((?:[\w-]+|"[^"]*"|\'[^\']*\')(?:\s*\.\s*(?:[\w-]+|"[^"]*"|\'[^\']*\'))*)\s*=', line)):
            here = table + split_key(m[1])
        else:
            continue
        if here == path:
            return number
        if path[: len(here)] == here and len(here) > best_depth:  # an enclosing table / inline table
            best, best_depth = number, len(here)
        elif here[: len(path)] == path and best_depth < len(path):  # first line inside the wanted table
            best, best_depth = number, len(path)
    return best
