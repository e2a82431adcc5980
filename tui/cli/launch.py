"""`tokentop` with no command: open the full-screen monitor. The only module of the command line that reaches
Textual, and only inside `run_tui`, so every other command starts without it."""

from __future__ import annotations

from .common import UserFacingError, context, open_store


def run_tui(args) -> int:
    ctx = context(args)
    open_store(ctx).close()  # a damaged database is moved aside and rebuilt before the screen opens
    try:
        from ..app import run_app
    except ImportError as exc:  # pragma: no cover - only when the install is broken
        raise UserFacingError(f"the TUI could not start: {exc}") from None
    return run_app(ctx) or 0
