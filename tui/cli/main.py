"""The `tokentop` command line: argument parsing and dispatch. Commands import their work lazily so the
statusline and hook commands start fast; only the bare `tokentop` (the TUI) imports Textual."""

from __future__ import annotations

import argparse
import os
import signal
import sys

from . import common, data, limits, machines, prices, serve
from .common import UserFacingError
from .launch import run_tui

# Each module adds its subcommands; a handler takes (args) and returns an exit code.
COMMAND_MODULES = [data, limits, prices, serve, machines]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tokentop",
        description="top for Claude usage: a live monitor of Claude Code and OpenClaw token use, caps and "
                    "estimated cost. With no command, opens the full-screen monitor.",
    )
    parser.add_argument("--db", metavar="PATH", help="SQLite store (default: $TOKENTOP_DB or ~/.claude-usage/usage.db)")
    parser.add_argument("--config", metavar="PATH", help="config file (default: ~/.config/tokentop/config.toml)")
    parser.add_argument("--version", action="version", version=f"tokentop {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    # `tokentop report --db X` works as well as `tokentop --db X report` (SUPPRESS keeps the global value when the
    # flag is not repeated after the command).
    for command in sub.choices.values():
        command.add_argument("--db", metavar="PATH", default=argparse.SUPPRESS, help="SQLite store (as above)")
        command.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="config file (as above)")
    return parser


def _version() -> str:
    from ... import __version__
    return __version__


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        handler = run_tui
    previous = signal.signal(signal.SIGINT, _interrupt) if _main_thread() else None
    try:
        return handler(args) or 0
    except KeyboardInterrupt:
        # One line, no traceback; every commit made before it is kept, and the next run carries on from there.
        print("tokentop: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`tokentop report | head`): stop quietly, and let the exit's flush go nowhere.
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return 0
    except UserFacingError as exc:
        print(f"tokentop: {exc}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _interrupt(signum, frame) -> None:
    """Ctrl-C: remembered first, because SQLite turns the KeyboardInterrupt into an error when it is raised inside
    one of our SQL functions (see `common.interrupted`)."""
    common.interrupted = True
    raise KeyboardInterrupt


def _main_thread() -> bool:
    import threading
    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
