"""The metrics a monitoring system reads equal what `report --json` says: Prometheus text, and OTLP through the SDK's
in-memory reader. Counters include rolled-up history and never go down."""

from __future__ import annotations

import time

import pytest
from support.machines import Machine

from tokentop.ingest.context import make_context
from tokentop.ingest.export import prometheus, snapshot
from tokentop.ingest.store.store import Store
from tokentop.ingest.usage.samples import Sample, record_samples

DAY = "2026-11-2{}T1{}:00:00.000Z"


@pytest.fixture
def pair(tmp_path):
    folder = tmp_path / "Sync"
    folder.mkdir()
    # The laptop keeps 30 days per request: its old responses are rolled up and must still count.
    laptop = Machine(tmp_path / "homes", "laptop", folder, config="retention_days = 30\nmonthly_budget_usd = 50.0\n")
    desktop = Machine(tmp_path / "homes", "desktop", folder)
    laptop.session("aaaa0000-0000-4000-8000-000000000001", [
        {"msg": "msg_old", "output": 5000, "input_": 20, "ts": "2026-08-03T10:00:00.000Z"},
        {"msg": "msg_l1", "output": 100, "input_": 10, "cache_read": 300, "ts": DAY.format(1, 0)},
        {"msg": "msg_l2", "output": 250, "cache_5m": 1000, "ts": DAY.format(2, 1), "model": "claude-opus-4-6"}])
    desktop.session("bbbb0000-0000-4000-8000-000000000002", [
        {"msg": "msg_d1", "output": 7, "input_": 3, "cache_1h": 400, "ts": DAY.format(3, 2)}])
    desktop.sync()
    laptop.sync()
    now = int(time.time() * 1000)
    with Store(laptop.db, machine="laptop") as s:
        record_samples(s, [Sample("five_hour", 31.5, now + 3_600_000), Sample("seven_day", 12.0, now + 86_400_000),
                           Sample("seven_day_opus", 4.0, now + 86_400_000)], now - 30_000)
    return laptop, desktop


def context_of(m: Machine):
    with m.env():
        return make_context(None, None)


def report_totals(m: Machine, *extra) -> dict:
    return m.json("report", "models", "--no-ingest", *extra)


def scrape(m: Machine) -> dict[tuple, float]:
    from prometheus_client import generate_latest
    from prometheus_client.parser import text_string_to_metric_families
    registry, collector = prometheus.registry_for(context_of(m))
    text = generate_latest(registry).decode()
    assert collector.last_error is None, collector.last_error
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def total(samples: dict, name: str, **match) -> float:
    return sum(v for (n, labels), v in samples.items() if n == name
               and all(dict(labels).get(k) == want for k, want in match.items()))


def test_prometheus_text_equals_the_reports(pair):
    laptop, _ = pair
    assert laptop.json("report", "daily", "--no-ingest")["totals"]["output_tokens"] == 5357  # rollup included
    samples = scrape(laptop)
    report = report_totals(laptop)
    t = report["totals"]
    assert total(samples, "tokentop_tokens_total", kind="output") == t["output_tokens"] == 5357
    assert total(samples, "tokentop_tokens_total", kind="input") == t["input_tokens"]
    assert total(samples, "tokentop_tokens_total", kind="cache_creation") == t["cache_creation_tokens"] == 1400
    assert total(samples, "tokentop_tokens_total", kind="cache_read") == t["cache_read_tokens"] == 300
    assert total(samples, "tokentop_requests_total") == t["requests"] == 4
    assert total(samples, "tokentop_cost_usd_total") == pytest.approx(t["cost_usd"], abs=1e-5)
    for row in report["rows"]:
        assert total(samples, "tokentop_tokens_total", model=row["key"], kind="output") == row["output_tokens"]
    desktop_only = laptop.json("report", "daily", "--no-ingest", "--machine", "desktop")["totals"]
    assert total(samples, "tokentop_tokens_total", machine="desktop", kind="output") == desktop_only["output_tokens"]
    assert total(samples, "tokentop_rate_limit_used_percent", window="five_hour") == 31.5
    assert total(samples, "tokentop_rate_limit_used_percent", window="seven_day_opus") == 4.0
    resets = total(samples, "tokentop_rate_limit_resets_at_seconds", window="seven_day")
    assert abs(resets - (time.time() + 86_400)) < 120
    assert total(samples, "tokentop_monthly_budget_usd") == 50.0
    assert total(samples, "tokentop_machines") == 2
    assert not any("session" in dict(labels) for _, labels in samples)  # low cardinality: no session ids


def test_counters_never_go_down(pair):
    laptop, _ = pair
    ctx = context_of(laptop)
    collector = prometheus.StoreCollector(ctx)
    first = {m.name: m for m in collector.collect()}["tokentop_tokens"]
    before = {tuple(s.labels.values()): s.value for s in first.samples if s.name == "tokentop_tokens_total"}
    with Store(laptop.db, machine="laptop") as s:  # something lowers a stored sum (say, a re-attribution)
        s.db.execute("UPDATE requests SET output_tokens = 1 WHERE machine = 'laptop'")
    again = {m.name: m for m in collector.collect()}["tokentop_tokens"]
    after = {tuple(s.labels.values()): s.value for s in again.samples if s.name == "tokentop_tokens_total"}
    assert after == before


def test_otlp_through_the_in_memory_reader(pair):
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

    from tokentop.ingest.export import otlp
    laptop, _ = pair
    ctx = context_of(laptop)
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    otlp.install(provider, prometheus.StoreCollector(ctx).read)
    data = reader.get_metrics_data()
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    tokens = metrics["tokentop.tokens"].data
    assert tokens.is_monotonic and tokens.aggregation_temporality == AggregationTemporality.CUMULATIVE
    output = sum(p.value for p in tokens.data_points if p.attributes["kind"] == "output")
    assert output == report_totals(laptop)["totals"]["output_tokens"] == 5357
    by_machine = {p.attributes["machine"]: p.value for p in tokens.data_points if p.attributes["kind"] == "output"
                  and p.attributes["model"] == "claude-sonnet-4-5-20250929"}
    assert by_machine == {"laptop": 5100, "desktop": 7}
    gauge = {p.attributes["window"]: p.value for p in metrics["tokentop.rate_limit.used_percent"].data.data_points}
    assert gauge == {"five_hour": 31.5, "seven_day": 12.0, "seven_day_opus": 4.0}
    provider.shutdown()


def test_snapshot_reads_a_store_with_nothing_in_it(tmp_path):
    from tokentop.ingest.config import Settings
    with Store(tmp_path / "empty.db", machine="solo") as s:
        snap = snapshot.read(s, Settings(), int(time.time() * 1000))
    assert snap.tokens == {} and snap.used_pct == {} and snap.machines == 0
