"""`tokentop metrics`: the Prometheus endpoint (and OTLP push) in the foreground, catching up the store each minute."""

from __future__ import annotations

import signal
import sys
import threading

from .common import UserFacingError, context, open_store, run_ingest

CATCH_UP_S = 60.0


def serve_metrics(args) -> int:
    from ...ingest.export import prometheus
    from .machines import listen_address
    ctx = context(args)
    host, port = listen_address(args.listen)
    open_store(ctx).close()  # create or check the store before the first scrape reads it
    try:
        server, _thread, collector = prometheus.serve(ctx, host, port)
    except OSError as exc:
        raise UserFacingError(f"cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    provider = None
    if args.otlp:
        from ...ingest.export import otlp
        try:
            provider = otlp.start_push(args.otlp, collector.read, args.otlp_interval)
        except RuntimeError as exc:
            server.shutdown()
            raise UserFacingError(str(exc)) from None
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    shown_host = f"[{host}]" if ":" in host else host
    print(f"Serving Prometheus metrics at http://{shown_host}:{server.server_port}/metrics"
          + (f", pushing OTLP to {args.otlp} every {args.otlp_interval:g}s" if provider else "")
          + ". Ctrl-C to stop.", flush=True)
    try:
        while not stop.is_set():
            if not args.no_ingest:
                with open_store(ctx) as store:
                    run_ingest(ctx, store, quiet=True)  # a no-op when another tokentop is the writer
            stop.wait(CATCH_UP_S)
    finally:
        server.shutdown()
        if provider is not None:
            provider.shutdown()
        for s, handler in previous.items():
            signal.signal(s, handler)
    if collector.last_error:
        print(f"tokentop: the last scrape could not read the store: {collector.last_error}", file=sys.stderr)
    return 0
