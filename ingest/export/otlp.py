"""The same metrics pushed through OpenTelemetry (the optional extra `tokentop[otel]`): observable instruments whose
callbacks read one snapshot of the store per collection.

Temporality: CUMULATIVE for every instrument (the SDK's default for observable counters, and what Prometheus-style
backends and the Collector's prometheus exporter expect): each push carries the running totals since the start of
history, so a missed push loses nothing. Set OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=delta for a backend
that wants deltas; the SDK then converts."""

from __future__ import annotations

import threading
import time

from . import snapshot

SCOPE = "tokentop"


class SnapshotSource:
    """One snapshot shared by all the callbacks of one collection (read at most once a second)."""

    def __init__(self, read) -> None:
        self._read = read
        self._lock = threading.Lock()
        self._at = 0.0
        self._snap: snapshot.Snapshot | None = None
        self.monotonic = snapshot.Monotonic()

    def get(self) -> snapshot.Snapshot:
        with self._lock:
            if self._snap is None or time.monotonic() - self._at > 1.0:
                self._snap = self._read()
                self._at = time.monotonic()
            return self._snap


def install(meter_provider, read) -> SnapshotSource:
    """Register tokentop's instruments on `meter_provider`; `read()` returns a fresh Snapshot."""
    from opentelemetry.metrics import CallbackOptions, Observation

    source = SnapshotSource(read)
    meter = meter_provider.get_meter(SCOPE)

    def counter(metric: str, names: tuple[str, ...]):
        def callback(options: CallbackOptions):
            values = source.monotonic(metric, getattr(source.get(), metric))
            return [Observation(v, dict(zip(names, key))) for key, v in sorted(values.items())]
        return callback

    def gauge(metric: str):
        def callback(options: CallbackOptions):
            return [Observation(v, {"window": w}) for w, v in sorted(getattr(source.get(), metric).items())]
        return callback

    meter.create_observable_counter("tokentop.tokens", [counter("tokens", ("machine", "source", "model", "kind"))],
                                    unit="{token}", description="Tokens used (estimate from local logs)")
    meter.create_observable_counter("tokentop.cost_usd", [counter("cost", ("machine", "source", "model"))],
                                    unit="USD", description="Estimated cost at API list prices")
    meter.create_observable_counter("tokentop.requests", [counter("requests", ("machine", "source", "model"))],
                                    unit="{request}", description="API responses")
    meter.create_observable_gauge("tokentop.rate_limit.used_percent", [gauge("used_pct")], unit="%",
                                  description="Official used % of a Claude rate-limit window")
    meter.create_observable_gauge("tokentop.rate_limit.resets_at", [gauge("resets_at")], unit="s",
                                  description="When the window resets, Unix seconds")
    meter.create_observable_gauge("tokentop.forecast.seconds_to_cap", [gauge("seconds_to_cap")], unit="s",
                                  description="Seconds until the window reaches 100% at the current pace")
    meter.create_observable_gauge(
        "tokentop.month_cost_usd", [lambda options: [Observation(source.get().month_cost_usd)]], unit="USD",
        description="Estimated cost this calendar month")
    meter.create_observable_gauge(
        "tokentop.monthly_budget_usd",
        [lambda options: [Observation(b) for b in [source.get().budget_usd] if b]], unit="USD",
        description="The configured monthly budget")
    return source


def start_push(url: str, read, interval_s: float = 60.0):
    """A MeterProvider pushing to `url` (OTLP/HTTP, protobuf) every `interval_s`; call .shutdown() at the end."""
    try:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
    except ImportError as exc:
        raise RuntimeError("--otlp needs the OpenTelemetry SDK: pip install 'tokentop[otel]' "
                           f"({exc.name} is missing)") from None
    reader = PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=url),
                                           export_interval_millis=int(interval_s * 1000))
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "tokentop"}))
    install(provider, read)
    return provider
