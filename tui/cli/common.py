"""What every command shares: one-line errors, the context from the flags, opening the store, the catch-up pass."""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from datetime import date

from ...ingest.safe_text import clean


class UserFacingError(Exception):
    """A problem explained in one line (bad config, damaged or locked store); printed without a traceback."""


def day_arg(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-27") from None


def context(args):
    """Settings, db path and prices from the flags, with config problems turned into one-line errors."""
    from ...ingest.config import ConfigError
    from ...ingest.context import make_context
    from ...ingest.pricing import PricingError
    try:
        ctx = make_context(args.db, args.config)
        ctx.prices  # noqa: B018 - validate price overrides now, with a clear message
        return ctx
    except (ConfigError, PricingError) as exc:
        raise UserFacingError(str(exc)) from None


def open_store(ctx, readonly: bool = False):
    from ...ingest.store.errors import StoreError
    try:
        if readonly:
            return ctx.open_store(readonly=True)
        # A writing command checks the file first: a damaged one is moved aside and rebuilt from the logs.
        from ...ingest.store.recovery import open_checked
        store = open_checked(ctx, notify=lambda message: print(f"tokentop: {message}", file=sys.stderr))
        for warning in store.warnings:
            print(f"tokentop: warning: {warning}", file=sys.stderr)
        return store
    except StoreError as exc:
        raise UserFacingError(str(exc)) from None
    except OSError as exc:
        raise UserFacingError(f"{ctx.db_path}: cannot open the database ({exc.strerror or exc})") from None


interrupted = False
"""Set by Ctrl-C (see `main`): SQLite reports a KeyboardInterrupt raised inside one of tokentop's SQL functions as
"user-defined function raised exception", which must still end as an interruption, not as a store error."""


def explained(handler):
    """Wrap a command so a store failure half-way (disk full, locked, read-only, damaged) is one line, not a
    traceback."""
    @functools.wraps(handler)
    def run(args):
        import sqlite3

        from ...ingest.store.errors import StoreError, explain
        try:
            return handler(args)
        except (StoreError, sqlite3.Error) as exc:
            if interrupted:
                raise KeyboardInterrupt from None
            if isinstance(exc, StoreError):
                raise UserFacingError(str(exc)) from None
            raise UserFacingError(str(explain(context(args).db_path, exc))) from None
    return run


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal and at most 10 times a second."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.last = 0.0
        self.drawn = 0

    def __call__(self, done: int, total: int, path: str) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and done != total):
            return
        self.last = now
        width = 30
        filled = int(width * done / total) if total else width
        name = clean(os.path.basename(path))[:30]  # a file name can hold escapes too
        line = f"\r[{'█' * filled}{' ' * (width - filled)}] {done}/{total} files  {name:<30}"
        sys.stderr.write(line)
        sys.stderr.flush()
        self.drawn = len(line)

    def finish(self) -> None:
        """Wipe the bar so the summary line starts on a clean line."""
        if self.enabled and self.drawn:
            sys.stderr.write("\r" + " " * self.drawn + "\r")
            sys.stderr.flush()
            self.drawn = 0


def run_ingest(ctx, store, quiet: bool = True):
    """One catch-up pass if no other process holds the writer role; returns the summary or None."""
    from ...ingest.live.ingester import Ingester
    from ...ingest.logs.discovery import discover
    lock = ctx.writer_lock()
    if not lock.acquire():
        return None
    try:
        record_claude_cache(store)
        found = discover(ctx.settings)
        bar = ProgressBar(not quiet and sys.stderr.isatty())
        try:
            summary = Ingester(store, ctx.settings).ingest_all(found, progress=bar)
        finally:
            bar.finish()
        if store.moved():
            raise UserFacingError(f"{ctx.db_path} was deleted or replaced while this run was writing to it, so its "
                                  "rows went to the old file; run `tokentop ingest` again to catch up from the logs.")
        return summary
    finally:
        lock.release()


def record_claude_cache(store) -> int:
    """Claude Code's cached official figures (~/.claude.json) into the store as samples, for `status`, the hook
    and the statusline to read; a damaged or absent file records nothing."""
    import time

    from ...ingest.claude_code.cached_usage import CachedWatch
    return CachedWatch().check(store, int(time.time() * 1000))


def resolve_zone(ctx, name: str | None):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    if not name:
        return ctx.settings.zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserFacingError(f"--tz {name!r} is not a known time zone (try e.g. Europe/Berlin or UTC)") from None
