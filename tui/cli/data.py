"""The data commands: `ingest`, `report`, `doctor` and `config`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ...ingest.logs.discovery import roots_hint
from ...ingest.safe_text import clean, clean_tree
from .common import UserFacingError, context, day_arg, explained, open_store, resolve_zone, run_ingest

# Kept here rather than imported from ingest.usage.reports so that building the parser (on every statusline and hook
# run) does not import the report code; tests/core/test_cli_parser.py checks the two lists agree.
REPORTS = ("daily", "weekly", "monthly", "sessions", "models", "projects", "tools", "agents", "machines",
           "attribution")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="bring the store up to date with every log root")
    p.add_argument("--follow", action="store_true", help="keep running and ingest new lines as they are written")
    p.add_argument("--poll", action="store_true", help="with --follow: stat files on a timer instead of file events")
    p.add_argument("--quiet", action="store_true", help="no progress bar or status lines")
    p.add_argument("--status-file", metavar="PATH",
                   help="with --follow: rewrite PATH with `status --json` every minute (atomically)")
    p.add_argument("--metrics", metavar="HOST:PORT",
                   help="with --follow: also serve Prometheus metrics at http://HOST:PORT/metrics")
    p.set_defaults(handler=cmd_ingest)

    p = sub.add_parser("report", help="usage tables (costs are estimates at API list prices)")
    p.add_argument("kind", nargs="?", default="daily", choices=REPORTS)  # same names as ingest.reports.REPORTS
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="JSON for scripts")
    fmt.add_argument("--csv", action="store_true", help="CSV for spreadsheets")
    fmt.add_argument("--html", metavar="FILE", help="write one self-contained page (week, 5-hour, month, last 14 "
                                                    "days, top sessions) to FILE, for mail or cron")
    fmt.add_argument("--md", action="store_true", help="the same summary as Markdown, on stdout")
    p.add_argument("--since", type=day_arg, metavar="YYYY-MM-DD", help="first day (inclusive, in --tz)")
    p.add_argument("--until", type=day_arg, metavar="YYYY-MM-DD", help="last day (inclusive, in --tz)")
    p.add_argument("--tz", metavar="ZONE", help="IANA time zone for day boundaries (default: config, then system)")
    p.add_argument("--source", choices=("claude-code", "openclaw", "all"), default="all")
    p.add_argument("--machine", metavar="NAME", help="only this machine's usage (default: every machine synced)")
    p.add_argument("--no-ingest", action="store_true", help="report from the store as it is, without reading logs")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("doctor", help="roots, files, rows, skipped lines and database health")
    p.add_argument("--rebuild", action="store_true",
                   help="move the database aside and rebuild it from the logs still on disk")
    p.add_argument("--yes", action="store_true", help="with --rebuild: do not ask (for scripts)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_doctor)

    p = sub.add_parser("config", help="show the effective settings, or write a commented default config file")
    p.add_argument("--init", action="store_true", help="write a commented default config.toml")
    p.add_argument("--force", action="store_true", help="with --init: overwrite an existing file")
    p.add_argument("--path", action="store_true", help="print the config file path")
    p.set_defaults(handler=cmd_config)


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
    if not summary.files and not summary.agent_stores:
        print(roots_hint(summary), file=sys.stderr)
    print(summary.line())
    for path, error in list(summary.errors.items())[:5]:
        print(clean(f"  could not read {path}: {error}"), file=sys.stderr)
    return 0


def _write_snapshot(args, ctx, store, tz) -> int:
    """--html FILE / --md: the overview's figures as a page or as Markdown (the kind and range do not apply)."""
    import time

    from ...ingest.usage.snapshot import build_snapshot, to_html, to_markdown
    snap = build_snapshot(store, ctx.settings, int(time.time() * 1000), tz)
    if args.md:
        sys.stdout.write(to_markdown(snap))
        return 0
    path = Path(args.html).expanduser()
    try:
        path.write_text(to_html(snap), encoding="utf-8")
    except OSError as exc:
        raise UserFacingError(f"cannot write {path} ({exc.strerror or exc})") from None
    print(f"wrote {path}")
    return 0


def check_machine(store, name: str) -> None:
    """A --machine that names no machine in the store is a typo, not an empty report: say which ones there are."""
    from ...ingest.usage.queries import stored_machines
    known = stored_machines(store)
    if name not in known:
        raise UserFacingError(f"--machine {name!r}: no usage from a machine of that name; the store has "
                              f"{', '.join(repr(k) for k in known) or 'none'}")


@explained
def cmd_report(args) -> int:
    import sqlite3

    from ...ingest.store.errors import StoreError, explain
    from ...ingest.usage.report_text import to_csv, to_table
    from ...ingest.usage.reports import build_report
    ctx = context(args)
    tz = resolve_zone(ctx, args.tz)
    if args.since and args.until and args.since > args.until:
        raise UserFacingError(f"--since {args.since} is after --until {args.until}")
    ingest = {"ran": not args.no_ingest, "ok": True, "error": None}
    with open_store(ctx) as store:
        if not args.no_ingest:
            try:
                run_ingest(ctx, store, quiet=True)
            except (StoreError, sqlite3.Error, UserFacingError) as exc:
                if not args.json:
                    raise
                # A script reading the JSON must see that these totals stop where the failed ingest stopped.
                why = explain(ctx.db_path, exc) if isinstance(exc, sqlite3.Error) else exc
                ingest.update(ok=False, error=str(why))
        if args.html or args.md:
            return _write_snapshot(args, ctx, store, tz)
        if args.machine is not None:
            check_machine(store, args.machine)
        report = build_report(store, args.kind, tz, args.since, args.until, args.source, machine=args.machine)
    if args.json:
        print(json.dumps(clean_tree({**report.as_json(), "ingest": ingest}), indent=2))
        if not ingest["ok"]:
            print(f"tokentop: {clean(ingest['error'])} (the report shows what the store holds so far)",
                  file=sys.stderr)
            return 2
    elif args.csv:
        sys.stdout.write(to_csv(report))
    else:
        import shutil
        print(to_table(report, width=shutil.get_terminal_size((100, 24)).columns))
    return 0


@explained
def cmd_doctor(args) -> int:
    from ...ingest import doctor
    ctx = context(args)
    if args.rebuild:
        _confirm_rebuild(ctx, args.yes)
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
    print(json.dumps(clean_tree(report), indent=2) if args.json else doctor.format_report(report))
    return 0 if report["database"].get("ok", False) else 1


def _confirm_rebuild(ctx, yes: bool) -> None:
    """A rebuild drops history whose logs are gone from the live store: ask on a terminal; a script says --yes."""
    if yes or not ctx.db_path.exists():
        return
    question = (f"Move {ctx.db_path} aside and rebuild it from the logs on disk? Responses whose logs are gone "
                "stay only in the moved file. [y/N] ")
    if not sys.stdin.isatty():
        raise UserFacingError("doctor --rebuild moves the database aside; run it from a terminal to be asked, or "
                              "add --yes. Nothing was changed.")
    try:
        answer = input(clean(question))
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UserFacingError("not rebuilt; nothing was changed.")


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
