"""The `tokentop` console script. `statusline` and `hook` (run by Claude Code several times a second) are answered
here from the state file when it can (`ingest/claude_code/quick.py`), before argparse and the command modules
are imported; everything else, and every case the fast path declines, goes to `main.main` with the same stdin."""

from __future__ import annotations

import os
import sys

_GLOBAL = ("--db", "--config")


def _split(argv: list[str]) -> tuple[str, dict[str, str]] | None:
    """(command, options) for `[--db X] [--config Y] statusline|hook [--db X] [--config Y] [--then C]`; None
    for anything else (help, a typo, another command), which argparse then handles."""
    options: dict[str, str] = {}
    command = None
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, eq, value = arg.partition("=")
        allowed = _GLOBAL + (("--then",) if command == "statusline" else ())
        if name in allowed:
            if not eq:
                if i + 1 >= len(argv):
                    return None
                i += 1
                value = argv[i]
            options[name] = value
        elif command is None and arg in ("statusline", "hook"):
            command = arg
        else:
            return None
        i += 1
    return (command, options) if command else None


def _read_stdin(limit: int = 1 << 20) -> bytes:
    stream = sys.stdin
    if stream is None or stream.isatty():
        return b""
    return stream.buffer.read(limit)


class _Replay:
    """Stdin already read, handed on to the full command."""

    def __init__(self, data: bytes):
        import io
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


def config_file(option: str | None) -> str:
    """The config file `load_settings` reads (`--config`, $TOKENTOP_CONFIG, the platform's config dir)."""
    value = option or os.environ.get("TOKENTOP_CONFIG", "").strip()
    if value:
        return os.path.abspath(os.path.expanduser(value))
    if sys.platform.startswith("linux"):  # platformdirs' rule there, without importing it
        base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
        return os.path.abspath(os.path.join(base, "tokentop", "config.toml"))
    from platformdirs import user_config_path
    return os.path.abspath(user_config_path("tokentop", appauthor=False) / "config.toml")


def db_file(option: str | None, config: str) -> str | None:
    """`--db`, $TOKENTOP_DB, the default; None when the config may name a db_path (then only the full command
    knows)."""
    value = option or os.environ.get("TOKENTOP_DB", "").strip()
    if value:
        return os.path.abspath(os.path.expanduser(value))
    try:
        with open(config, "rb") as f:
            text = f.read(1 << 20)
    except FileNotFoundError:
        text = b""
    except OSError:
        return None
    if b"db_path" in text or b"\\u" in text or b"\\U" in text:  # a TOML key can be spelt only so
        return None
    return os.path.abspath(os.path.join(os.path.expanduser("~"), ".claude-usage", "usage.db"))


def fast(argv: list[str], stdin: bytes) -> bool:
    """Answer `statusline` / `hook` from the state file; False when the full command must run."""
    split = _split(argv)
    if split is None:
        return False
    command, options = split
    try:
        import time

        from ...ingest.claude_code import quick
        config = config_file(options.get("--config"))
        db = db_file(options.get("--db"), config)
        if db is None:
            return False
        now = int(time.time() * 1000)
        if command == "hook":
            return quick.hook_is_quiet(db, config, now)  # quiet: no output, exit 0
        line = quick.statusline(stdin, db, config, now)
        if line is None:
            return False
        if "--then" in options:
            from ...ingest.claude_code.wrapped import Wrapped, combine
            line = combine(line, Wrapped(options["--then"], stdin).lines())
    except Exception:  # noqa: BLE001 - the full command answers instead
        return False
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError:
        pass
    return True


def main() -> int:
    argv = sys.argv[1:]
    if _split(argv) is not None:
        try:
            stdin = _read_stdin()
        except Exception:  # noqa: BLE001 - the full command reads it again and fails open as it always did
            stdin = None
        if stdin is not None:
            if fast(argv, stdin):
                return 0
            sys.stdin = _Replay(stdin)  # type: ignore[assignment]
    from .main import main as full
    return full(argv)


if __name__ == "__main__":
    sys.exit(main())
