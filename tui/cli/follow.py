"""`tokentop ingest --follow`: the live ingest service in the foreground, with a status line a minute."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time


def follow(ctx, args) -> int:
    """Run until Ctrl-C / SIGTERM / SIGHUP; exit 0 on a clean stop, 1 if the service failed."""
    from ...ingest.live.service import WRITER, WatchService

    quiet = getattr(args, "quiet", False)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="tokentop: %(message)s")
    stop = threading.Event()
    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        previous[signum] = signal.signal(signum, lambda *_: stop.set())
    service = WatchService.from_context(ctx, poll_only=getattr(args, "poll", False))
    if not quiet:
        service.subscribe(_print_alerts)
    try:
        service.start()
        if not quiet:
            _announce(service, ctx, stop)
        last_role = service.role
        last_added = 0
        extras = Extras(ctx, args, quiet, service)
        extras.minute()
        while not stop.is_set() and service.running:
            # Status lines at minute boundaries read like a log (14:02, 14:03, …); the 5 s steps notice a
            # service that died (e.g. a damaged database) without waiting out the minute.
            minute = time.time() // 60
            while time.time() // 60 == minute and service.running and not stop.wait(min(5, 60 - time.time() % 60)):
                pass
            if stop.is_set() or not service.running:
                break
            stats = service.stats
            if not quiet:
                print(status_line(service, stats, stats.responses_added - last_added), flush=True)
                if stats.role != last_role and stats.role == WRITER:
                    print("  the previous writer exited: this process is the writer now", flush=True)
            last_added, last_role = stats.responses_added, stats.role
            extras.minute()
    finally:
        if "extras" in locals():
            extras.close()
        service.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if service.failure is not None:
        print(f"tokentop: live ingest stopped: {service.failure}", file=sys.stderr)
        return 1
    return 0


def _print_alerts(change) -> None:
    """The alerts the writer fired with a commit, one line each (called on the ingest thread)."""
    for alert in change.alerts_fired:
        print(f"{time.strftime('%H:%M')}  alert: {alert.message}", flush=True)


def _announce(service, ctx, stop: threading.Event) -> None:
    from ...ingest.live.service import WRITER
    if service.role != WRITER:
        print(f"Another tokentop (pid {service.writer_pid or '?'}) is the writer for {ctx.db_path}; following it "
              "and taking over if it exits. Ctrl-C to stop.", flush=True)
        return
    while not service.wait_ready(0.2):  # short waits: a Ctrl-C during a long catch-up is seen at once
        if stop.is_set():
            return
    if service.catchup is not None:
        print(f"Caught up: {service.catchup.line()}", flush=True)
    stats = service.stats
    how = "file events" if stats.mode == "events" else stats.mode
    roots = f"{stats.roots_watched} root{'' if stats.roots_watched == 1 else 's'}"
    print(f"Watching {roots}, {stats.files_watched:,} files ({how}) for {ctx.db_path}. "
          "Ctrl-C to stop.", flush=True)


def status_line(service, stats, added: int) -> str:
    """`14:02  writer  1,234 files watched  +56 responses in the last minute  last line 12s ago`."""
    from ...ingest.live.service import WRITER
    parts = [time.strftime("%H:%M"), stats.role]
    if stats.role == WRITER:
        parts.append(f"{stats.files_watched:,} files watched")
    else:
        parts.append(f"writer is pid {service.writer_pid or '?'}")
    parts.append(f"+{added:,} responses in the last minute")
    parts.append(f"last line {_ago(time.time() - stats.last_line)} ago" if stats.last_line else "no new lines yet")
    if stats.errors:
        parts.append(f"{stats.errors} errors (last: {stats.last_error})")
    return "  ".join(parts)


def _ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds}s"
    if seconds < 90 * 60:
        return f"{seconds // 60}m"
    if seconds < 48 * 3600:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


class Extras:
    """What `ingest --follow` does besides ingesting, once a minute: the status file (--status-file), a sync every
    few minutes and on exit (when a sync folder is set), and the metrics endpoint (--metrics)."""

    def __init__(self, ctx, args, quiet: bool, service):
        from ...ingest.sync.run import SYNC_EVERY_S
        self.ctx, self.quiet, self.service = ctx, quiet, service
        self.status_file = getattr(args, "status_file", None)
        self.folder = ctx.settings.sync_folder()
        self.sync_every = SYNC_EVERY_S
        self.last_sync = 0.0
        self.server = None
        if getattr(args, "metrics", None):
            from ...ingest.export import prometheus
            from .common import UserFacingError
            from .machines import listen_address
            host, port = listen_address(args.metrics)
            try:
                self.server, _thread, _collector = prometheus.serve(ctx, host, port)
            except OSError as exc:
                raise UserFacingError(f"--metrics: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
            if not quiet:
                print(f"Serving Prometheus metrics at http://{host}:{self.server.server_port}/metrics", flush=True)

    def minute(self) -> None:
        if self.folder is not None and time.monotonic() - self.last_sync >= self.sync_every:
            self.sync()
        if self.status_file:
            self.write_status()

    def sync(self) -> None:
        from ...ingest.live.service import WRITER
        from ...ingest.sync.run import sync_once
        self.last_sync = time.monotonic()
        if self.service.role != WRITER:
            return  # a follower leaves syncing to the writer, as it leaves ingesting
        try:
            with self.ctx.open_store() as store:
                result = sync_once(store, self.folder)
        except Exception as exc:  # noqa: BLE001 - a sync problem is reported and retried, never fatal
            print(f"tokentop: sync failed: {exc}", file=sys.stderr, flush=True)
            return
        if not self.quiet:
            print(f"{time.strftime('%H:%M')}  sync: {result.merged.line()}; {result.published.line()}"
                  if not result.error else f"{time.strftime('%H:%M')}  sync: {result.error}", flush=True)

    def write_status(self) -> None:
        import json
        from pathlib import Path

        from ...ingest.atomic import write_atomic
        from .limits import evaluate, status_json
        try:
            with self.ctx.open_store() as store:
                now = int(time.time() * 1000)
                statuses, fired, active, level, balance = evaluate(self.ctx, store, now)
            payload = status_json(statuses, fired, active, level, self.ctx.settings.zone(), now, balance=balance)
            write_atomic(Path(self.status_file).expanduser(), (json.dumps(payload, indent=2) + "\n").encode())
        except Exception as exc:  # noqa: BLE001 - the file stays as it was; said once a minute until it works
            print(f"tokentop: could not write {self.status_file}: {exc}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.folder is not None:
            self.sync()  # on exit: what this run ingested reaches the other machines now
        if self.server is not None:
            self.server.shutdown()
