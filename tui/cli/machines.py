"""The several-machines and monitoring commands: `sync`, `metrics`."""

from __future__ import annotations

import argparse

from .common import UserFacingError, context, explained, open_store


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="bring the store up to date, publish this machine's usage to the sync folder "
                                    "and merge the other machines'",
                       description="Reads new log lines, merges every other machine's files from the sync folder "
                                   "(sync_dir / $TOKENTOP_SYNC_DIR) and writes this machine's own files there. "
                                   "Prints what it did.")
    p.add_argument("--no-ingest", action="store_true", help="sync the store as it is, without reading logs first")
    p.set_defaults(handler=cmd_sync)

    p = sub.add_parser("metrics", help="serve Prometheus metrics at /metrics (and optionally push OTLP)",
                       description="Serves tokentop_* metrics in the Prometheus text format at http://HOST:PORT/"
                                   "metrics, read from the store at each scrape. Binds to 127.0.0.1 unless told "
                                   "otherwise.")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:9464",
                   help="address to serve on (default 127.0.0.1:9464)")
    p.add_argument("--otlp", metavar="URL", help="also push the same metrics to an OTLP/HTTP endpoint, e.g. "
                                                 "http://127.0.0.1:4318/v1/metrics (needs tokentop[otel])")
    p.add_argument("--otlp-interval", type=float, default=60.0, metavar="SECONDS", help="OTLP push interval")
    p.add_argument("--no-ingest", action="store_true", help="serve the store as it is; do not ingest in between")
    p.set_defaults(handler=cmd_metrics)


def sync_folder(ctx):
    folder = ctx.settings.sync_folder()
    if folder is None:
        raise UserFacingError("no sync folder is set: set sync_dir in the config (`tokentop config --init` writes "
                              "one) or TOKENTOP_SYNC_DIR to a folder your sync tool shares between machines")
    return folder


@explained
def cmd_sync(args) -> int:
    from ...ingest.sync.run import sync_once
    from .common import run_ingest
    ctx = context(args)
    folder = sync_folder(ctx)
    with open_store(ctx) as store:
        if not args.no_ingest:
            summary = run_ingest(ctx, store, quiet=True)
            if summary is not None:
                print(summary.line())
        lock = ctx.writer_lock()
        if not lock.acquire():
            print(f"Another tokentop (pid {lock.holder_pid() or '?'}) is the writer for {ctx.db_path} and syncs "
                  "every few minutes; nothing to do.")
            return 0
        try:
            result = sync_once(store, folder)
        finally:
            lock.release()
    for line in result.lines():
        print(line)
    return 1 if result.error else 0


def cmd_metrics(args) -> int:
    from .metrics import serve_metrics
    return serve_metrics(args)


def listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserFacingError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9464")
    return (host.strip("[]") or "127.0.0.1"), int(port)


