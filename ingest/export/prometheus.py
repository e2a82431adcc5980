"""The Prometheus exporter: a custom collector that reads the store at every scrape (prometheus-client)."""

from __future__ import annotations

import time

from . import snapshot

PREFIX = "tokentop"


class StoreCollector:
    """Registered in a CollectorRegistry; `collect()` opens the store read-only, reads one snapshot, yields families."""

    def __init__(self, ctx) -> None:
        self.ctx = ctx
        self.monotonic = snapshot.Monotonic()
        self.last_error: str | None = None

    def read(self) -> snapshot.Snapshot:
        with self.ctx.open_store(readonly=True) as store:
            return snapshot.read(store, self.ctx.settings, int(time.time() * 1000))

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        try:
            snap = self.read()
            self.last_error = None
        except Exception as exc:  # noqa: BLE001 - a scrape must answer; the error is its own metric
            self.last_error = str(exc)
            up = GaugeMetricFamily(f"{PREFIX}_store_up", "1 when the store could be read at this scrape")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily(f"{PREFIX}_store_up", "1 when the store could be read at this scrape")
        up.add_metric([], 1)
        yield up
        tokens = CounterMetricFamily(f"{PREFIX}_tokens", "Tokens used (estimate from local logs), all history",
                                     labels=["machine", "source", "model", "kind"])
        for key, value in sorted(self.monotonic("tokens", snap.tokens).items()):
            tokens.add_metric(list(key), value)
        yield tokens
        for name, doc, values in (
                ("cost_usd", "Estimated cost at API list prices, USD, all history", snap.cost),
                ("requests", "API responses, all history", snap.requests)):
            family = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=["machine", "source", "model"])
            for key, value in sorted(self.monotonic(name, values).items()):
                family.add_metric(list(key), value)
            yield family
        for name, doc, values in (
                ("rate_limit_used_percent", "Official used % of a Claude rate-limit window (newest sample)",
                 snap.used_pct),
                ("rate_limit_resets_at_seconds", "When the window resets, Unix seconds", snap.resets_at),
                ("forecast_seconds_to_cap", "Seconds until the window reaches 100% at the current pace",
                 snap.seconds_to_cap)):
            family = GaugeMetricFamily(f"{PREFIX}_{name}", doc, labels=["window"])
            for window, value in sorted(values.items()):
                family.add_metric([window], value)
            yield family
        spend = GaugeMetricFamily(f"{PREFIX}_month_cost_usd", "Estimated cost this calendar month, USD")
        spend.add_metric([], snap.month_cost_usd)
        yield spend
        if snap.budget_usd:
            budget = GaugeMetricFamily(f"{PREFIX}_monthly_budget_usd", "The configured monthly budget, USD")
            budget.add_metric([], snap.budget_usd)
            yield budget
        machines = GaugeMetricFamily(f"{PREFIX}_machines", "Machines with usage in the store")
        machines.add_metric([], snap.machines)
        yield machines


def registry_for(ctx):
    from prometheus_client import CollectorRegistry
    registry = CollectorRegistry(auto_describe=False)
    collector = StoreCollector(ctx)
    registry.register(collector)
    return registry, collector


def serve(ctx, host: str, port: int):
    """Start the HTTP server in a daemon thread; returns (server, thread, collector)."""
    from prometheus_client import start_http_server
    registry, collector = registry_for(ctx)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return server, thread, collector
