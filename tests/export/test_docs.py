"""The shipped dashboard and scrape example name only metrics tokentop exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXPORTED = {"tokentop_tokens_total", "tokentop_cost_usd_total", "tokentop_requests_total",
            "tokentop_rate_limit_used_percent", "tokentop_rate_limit_resets_at_seconds",
            "tokentop_forecast_seconds_to_cap", "tokentop_month_cost_usd", "tokentop_monthly_budget_usd",
            "tokentop_machines", "tokentop_store_up"}


def test_dashboard_and_scrape_example_use_exported_names(tmp_path):
    from prometheus_client import generate_latest

    from tokentop.ingest.context import make_context
    from tokentop.ingest.export.prometheus import registry_for
    config = tmp_path / "c.toml"
    config.write_text("monthly_budget_usd = 10.0\n")
    registry, _ = registry_for(make_context(str(tmp_path / "u.db"), str(config)))
    from tokentop.ingest.store.store import Store
    Store(tmp_path / "u.db").close()
    text = generate_latest(registry).decode()
    served = set(re.findall(r"^# TYPE (\w+) (\w+)", text, re.M))
    names = {n if kind != "counter" or n.endswith("_total") else n + "_total" for n, kind in served}
    assert EXPORTED == names
    dashboard = json.loads((DOCS / "grafana-dashboard.json").read_text())
    used = {m for p in dashboard["panels"] for t in p["targets"] for m in re.findall(r"tokentop_\w+", t["expr"])}
    assert used and used <= EXPORTED
    assert set(re.findall(r"tokentop_\w+", (DOCS / "prometheus.yml").read_text())) - {"tokentop_"} <= EXPORTED
