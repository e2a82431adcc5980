"""The store commands: `ingest`, `report`, `doctor`, `config`, and opening the TUI."""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time
from datetime import date
from pathlib import Path


# Kept here rather than imported from ingest.reports so that building the parser (on every statusline and hook
# run) does not import the report code; tests/core/test_cli_parser.py checks the two lists agree.
REPORTS = ("daily", "weekly", "monthly", "sessions", "models", "projects", "tools")


class UserFacingError(Exception):
    """A problem explained in one line (bad config, damaged or locked store); printed without a traceback."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="bring the store up to date with every log root")
    p.add_argument("--follow", action="store_true", help="keep running and ingest new lines as they are written")
    p.add_argument("--poll", action="store_true", help="with --follow: stat files on a timer instead of file events")
    p.add_argument("--quiet", action="store_true", help="no progress bar or status lines")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("report", help="usage tables (costs are estimates at API list prices)")
    p.add_argument("kind", nargs="?", default="daily", choices=REPORTS)  # same names as ingest.reports.REPORTS
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON for scripts")
    fmt.add_argument("--csv", action="store_true", help="CSV for spreadsheets")
    p.add_argument("--since", type=_day, metavar="YYYY-MM-DD", help="first day (inclusive, in --tz)")
    p.add_argument("--until", type=_day, metavar="YYYY-MM-DD", help="last day (inclusive, in --tz)")
    p.add_argument("--tz", metavar="ZONE", help="IANA time zone for day boundaries (default: config, then system)")
    p.add_argument("--source", choices=("claude-code", "openclaw", "all"), default="all")
    p.add_argument("--no-ingest", action="store_true", help="report from the store as it is, without reading logs")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("doctor", help="roots, files, rows, skipped lines and database health")
    p.add_argument("--rebuild", action="store_true",
                   help="move the database aside and rebuild it from the logs still on disk")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("config", help="show the effective settings, or write a commented default config file")
    p.add_argument("--init", action="store_true", help="write a commented default config.toml")
    p.add_argument("--force", action="store_true", help="with --init: overwrite an existing file")
    p.add_argument("--path", action="store_true", help="print the config file path")
    p.set_defaults(handler=cmd_config)


def _day(text: str) -> date:
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
    from ...ingest.store.store import StoreError
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


def explained(handler):
    """Wrap a command so a store failure half-way (disk full, locked, read-only, damaged) is one line, not a traceback."""
    @functools.wraps(handler)
    def run(args):
        import sqlite3

        from ...ingest.store.store import StoreError, explain
        try:
            return handler(args)
        except StoreError as exc:
            raise UserFacingError(str(exc)) from None
        except sqlite3.Error as exc:
            raise UserFacingError(str(explain(context(args).db_path, exc))) from None
    return run


# -- ingest -----------------------------------------------------------------------------------------

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
        name = os.path.basename(path)[:30]
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
    from ...ingest.logs.discovery import discover
    from ...ingest.live.ingester import Ingester
    lock = ctx.writer_lock()
    if not lock.acquire():
        return None
    try:
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


def roots_hint(summary_or_found) -> str:
    roots = summary_or_found.roots
    lines = ["No session logs found. tokentop looks in:"]
    for root in roots:
        lines.append(f"  {'✓' if root.exists else '✗'} {root.path}  ({root.source})")
    lines.append("Add another folder with `claude_roots = [\"/path/to/projects\"]` (or `openclaw_roots`) in "
                 "the config file (`tokentop config --init` writes one), or set CLAUDE_CONFIG_DIR / OPENCLAW_DIR.")
    return "\n".join(lines)


@explained
def cmd_ingest(args) -> int:
    ctx = context(args)
    if args.follow:
        from .follow import follow
        open_store(ctx).close()  # a damaged database is moved aside and rebuilt before following starts
        return follow(ctx, args)
    with open_store(ctx) as store:
        summary = run_ingest(ctx, store, quiet=args.quiet)
    if summary is None:
        holder = ctx.writer_lock().holder_pid()
        print(f"Another tokentop (pid {holder or '?'}) is the writer for {ctx.db_path} and keeps it up to date; "
              "nothing to do.")
        return 0
    if not summary.files:
        print(roots_hint(summary), file=sys.stderr)
    print(summary.line())
    for path, error in list(summary.errors.items())[:5]:
        print(f"  could not read {path}: {error}", file=sys.stderr)
    return 0


# -- report -----------------------------------------------------------------------------------------

def resolve_zone(ctx, name: str | None):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    if not name:
        return ctx.settings.zone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UserFacingError(f"--tz {name!r} is not a known time zone (try e.g. Europe/Berlin or UTC)") from None


@explained
def cmd_report(args) -> int:
    from ...ingest.usage.reports import build_report, to_csv, to_table
    ctx = context(args)
    tz = resolve_zone(ctx, args.tz)
    if args.since and args.until and args.since > args.until:
        raise UserFacingError(f"--since {args.since} is after --until {args.until}")
    with open_store(ctx) as store:
        if not args.no_ingest:
            run_ingest(ctx, store, quiet=True)
        report = build_report(store, args.kind, tz, args.since, args.until, args.source)
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    elif args.csv:
        sys.stdout.write(to_csv(report))
    else:
        import shutil
        print(to_table(report, width=shutil.get_terminal_size((100, 24)).columns))
    return 0


# -- doctor -----------------------------------------------------------------------------------------

@explained
def cmd_doctor(args) -> int:
    from ...ingest import doctor
    ctx = context(args)
    if args.rebuild:
        lock = ctx.writer_lock()
        if not lock.acquire():
            raise UserFacingError(f"another tokentop (pid {lock.holder_pid() or '?'}) is writing to {ctx.db_path}; "
                                  "stop it before rebuilding")
        try:
            print(doctor.rebuild(ctx))
        finally:
            lock.release()
        return 0
    report = doctor.examine(ctx)
    print(json.dumps(report, indent=2) if args.json else doctor.format_report(report))
    return 0 if report["database"].get("ok", False) else 1


# -- config -----------------------------------------------------------------------------------------

def cmd_config(args) -> int:
    from ...ingest import locations
    from ...ingest.config import write_default_config
    path = Path(args.config).expanduser() if args.config else locations.config_path()
    if args.path:
        print(path)
        return 0
    if args.init:
        try:
            written = write_default_config(path, force=args.force)
        except FileExistsError:
            raise UserFacingError(f"{path} exists; use --force to overwrite it") from None
        print(f"wrote {written}")
        return 0
    ctx = context(args)
    from dataclasses import asdict
    print(f"# config file: {path}{'' if path.exists() else ' (not present: defaults)'}")
    print(f"# database: {ctx.db_path}")
    for key, value in asdict(ctx.settings).items():
        print(f"{key} = {json.dumps(value)}")
    return 0


# -- the TUI ----------------------------------------------------------------------------------------

def run_tui(args) -> int:
    ctx = context(args)
    open_store(ctx).close()  # a damaged database is moved aside and rebuilt before the screen opens
    try:
        from ..app import run_app
    except ImportError as exc:  # pragma: no cover - only when the install is broken
        raise UserFacingError(f"the TUI could not start: {exc}") from None
    return run_app(ctx) or 0
