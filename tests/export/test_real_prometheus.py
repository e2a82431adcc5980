"""A real Prometheus (Debian's `prometheus` package) scrapes `tokentop metrics`; its PromQL answers through the HTTP
API equal `report --json`. Skipped, saying why, when no prometheus binary can be run here."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from support.machines import Machine

pytestmark = pytest.mark.slow
DAY = "2026-11-2{}T1{}:00:00.000Z"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:  # loopback only
        return json.loads(r.read())


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def prometheus_binary():
    path = shutil.which("prometheus")
    if path is None:
        pytest.skip("no `prometheus` on PATH (Debian: apt-get install prometheus; .ci/run installs it)")
    try:
        subprocess.run([path, "--version"], capture_output=True, timeout=20, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"`prometheus --version` does not run here: {exc}")
    return path


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_promql_through_a_real_prometheus_equals_report_json(tmp_path, prometheus_binary):
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop = Machine(tmp_path / "homes", "laptop", folder, config="retention_days = 30\n")
    desktop = Machine(tmp_path / "homes", "desktop", folder)
    laptop.session("aaaa0000-0000-4000-8000-000000000001", [
        {"msg": "msg_old", "output": 5000, "input_": 20, "ts": "2026-08-03T10:00:00.000Z"},
        {"msg": "msg_l1", "output": 100, "input_": 10, "cache_read": 300, "ts": DAY.format(1, 0)},
        {"msg": "msg_l2", "output": 250, "cache_5m": 1000, "ts": DAY.format(2, 1), "model": "claude-opus-4-6"}])
    desktop.session("bbbb0000-0000-4000-8000-000000000002", [
        {"msg": "msg_d1", "output": 7, "input_": 3, "cache_1h": 400, "ts": DAY.format(3, 2)}])
    desktop.sync()
    laptop.sync()
    report = laptop.json("report", "models", "--no-ingest")
    machines = {r["key"]: r for r in laptop.json("report", "machines", "--no-ingest")["rows"]}

    metrics_port, prom_port = free_port(), free_port()
    config = tmp_path / "prometheus.yml"
    config.write_text(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: tokentop
    static_configs:
      - targets: ["127.0.0.1:{metrics_port}"]
""")
    env = dict(os.environ, HOME=str(laptop.home), TOKENTOP_MACHINE="laptop", TOKENTOP_DB=str(laptop.db),
               TOKENTOP_CONFIG=str(laptop.config), TOKENTOP_SYNC_DIR=str(folder))
    exporter = subprocess.Popen([sys.executable, "-m", "tokentop.tui.cli", "metrics", "--no-ingest", "--listen",
                                 f"127.0.0.1:{metrics_port}"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    server = None
    try:
        wait_for(lambda: urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).status == 200,
                 30, "tokentop metrics to answer")
        server = subprocess.Popen([prometheus_binary, f"--config.file={config}",
                                   f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                                   f"--web.listen-address=127.0.0.1:{prom_port}"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        api = f"http://127.0.0.1:{prom_port}/api/v1/query?query="

        def query(promql: str) -> list:
            answer = get(api + urllib.parse.quote(promql))
            assert answer["status"] == "success", answer
            return answer["data"]["result"]

        wait_for(lambda: query('up{job="tokentop"} == 1') and query("tokentop_requests_total"), 60,
                 "Prometheus to scrape tokentop")

        def scalar(promql: str) -> float:
            result = query(promql)
            assert len(result) == 1, result
            return float(result[0]["value"][1])

        t = report["totals"]
        assert scalar('sum(tokentop_tokens_total{kind="output"})') == t["output_tokens"] == 5357
        assert scalar('sum(tokentop_tokens_total{kind="cache_creation"})') == t["cache_creation_tokens"] == 1400
        assert scalar('sum(tokentop_tokens_total{kind="input"})') == t["input_tokens"]
        assert scalar("sum(tokentop_requests_total)") == t["requests"] == 4
        assert scalar("sum(tokentop_cost_usd_total)") == pytest.approx(t["cost_usd"], abs=1e-5)
        per_model = {r["metric"]["model"]: float(r["value"][1])
                     for r in query('sum by (model) (tokentop_tokens_total{kind="output"})')}
        assert per_model == {r["key"]: r["output_tokens"] for r in report["rows"]}
        per_machine = {r["metric"]["machine"]: float(r["value"][1])
                       for r in query("sum by (machine) (tokentop_requests_total)")}
        assert per_machine == {k: r["requests"] for k, r in machines.items()} == {"laptop": 3, "desktop": 1}
        # Every query of the shipped Grafana dashboard is valid PromQL over what tokentop exports.
        dashboard = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
        for panel in dashboard["panels"]:
            for target in panel["targets"]:
                query(target["expr"])
    finally:
        if server is not None:
            stop(server)
        stop(exporter)
