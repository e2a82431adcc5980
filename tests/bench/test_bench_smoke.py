"""The benchmark harness end to end on a 2 MB corpus, tokentop only: it runs, and tokentop's totals are exact."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def test_bench_run_tokentop_part_matches_expected(tmp_path):
    done = subprocess.run(
        [str(BENCH / "run"), "--sizes", "2MB", "--repeat", "1", "--no-peers", "--no-tui", "--no-commands",
         "--corpus-dir", str(tmp_path / "corpus"), "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, env={"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin"})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((tmp_path / "out" / "latest.json").read_text())
    expected = json.loads((tmp_path / "corpus" / "2MB-42-real" / "expected.json").read_text())

    checks = results["sizes"]["2MB"]["checks"]
    assert len(checks) == 12  # 6 fields x 2 sources, each compared
    for check in checks:
        assert check["ok"], check
    by = {(c["source"], c["field"]): c["tokentop"] for c in checks}
    # Numbers a naive reader gets wrong: every response once (not once per line), output from its final line.
    naive = expected["naive"]["assistant_lines"]
    assert by[("claude-code", "requests")] == expected["claude_code"]["requests"] < naive["requests"]
    assert by[("claude-code", "output_tokens")] == expected["claude_code"]["output_tokens"]
    assert by[("openclaw", "cache_read_tokens")] == expected["openclaw"]["cache_read_tokens"] > 0

    size = results["sizes"]["2MB"]
    assert size["warm"]["appended_line_counted"] is True
    assert 0 < size["cold"]["wall"] < 30 and 0 < size["warm"]["wall"] < 30
    assert size["cold"]["rss_mb"] > 5  # really measured from the child, not left at zero
    assert all(c["ok"] for c in results["single_file"]["checks"])

    # The corpus the warm run appended to is restored, so the cache still matches its expected.json.
    home = tmp_path / "corpus" / "2MB-42-real" / "home"
    corpus_bytes = sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    assert corpus_bytes == expected["size_bytes"]
    assert "✓" in done.stdout and "✗" not in done.stdout.split("targets (issue 15)")[0]
    header = next(line for line in done.stdout.splitlines() if line.startswith("workload"))
    assert [c.strip() for c in header.split("|")] == ["workload", "tokentop", "ccusage", "ratio", "limit"]
    assert size["incremental"]["wall"] > 0 and size["limits"]["read_s"] > 0 and size["limits"]["bytes"] > 0


def _load_generator():
    import importlib.util
    spec = importlib.util.spec_from_file_location("gen_corpus", BENCH / "gen_corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_corpus"] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


def _dump(db_path) -> dict:
    import sqlite3
    db = sqlite3.connect(db_path)
    queries = {
        "requests": "SELECT dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain, "
                    "model, ts, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, speed, "
                    "ROUND(cost_usd, 9), priced FROM requests ORDER BY dedup_key",
        "tool_calls": "SELECT * FROM tool_calls ORDER BY 1",
        "sessions": "SELECT * FROM sessions ORDER BY 1",
        "files": "SELECT path, source, session_id, agent_id, size, offset, mtime_ns, state, lines, gone FROM files "
                 "ORDER BY path",
        "skipped": "SELECT f.path, s.reason, s.count FROM skipped s JOIN files f ON f.id = s.file_id ORDER BY 1, 2",
        "slot_usage": "SELECT slot, source, model, input_tokens, output_tokens, cache_write_5m, cache_write_1h, "
                      "cache_read, requests, unpriced FROM slot_usage WHERE requests > 0 "
                      "ORDER BY 1, 2, 3",
    }
    out = {name: db.execute(sql).fetchall() for name, sql in queries.items()}
    # A slot's cost is a float sum, and the two paths add a slot's rows in different orders (each batch moves into
    # the store in key order): equal to the last few bits, so compared to 9 significant digits.
    out["slot_cost"] = [float(f"{c:.9g}") for (c,) in db.execute(
        "SELECT cost_usd FROM slot_usage WHERE requests > 0 ORDER BY slot, source, model")]
    db.close()
    return out


def test_parallel_backfill_writes_exactly_what_the_serial_reader_writes(home, monkeypatch):
    """The cold-backfill path (worker processes parse whole files, shared transactions) against the plain one."""
    from zoneinfo import ZoneInfo

    from tokentop.ingest.context import make_context
    from tokentop.ingest.live import backfill, ingester
    from tokentop.ingest.usage.reports import build_report

    expected = _load_generator().generate(home / "corpus", 3 << 20, seed=7)
    monkeypatch.setenv("HOME", str(home / "corpus" / "home"))
    config = home / "config.toml"
    config.write_text("retention_days = 100000\n")

    def ingest(db, parallel: bool):
        monkeypatch.setattr(backfill, "PARALLEL_MIN_BYTES", 0 if parallel else 1 << 60)
        # Small groups and a short read-ahead window, so a 3 MB corpus still takes every branch of the prefetch.
        monkeypatch.setattr(backfill, "TASK_BYTES", 64 << 10)
        monkeypatch.setattr(backfill, "PREFETCH_BYTES", 256 << 10)
        monkeypatch.setattr(ingester, "BATCH_BYTES", 512 << 10)
        ctx = make_context(str(db), str(config))
        with ctx.open_store() as store:
            summary = ingester.Ingester(store, ctx.settings).ingest_all()
            report = build_report(store, "daily", ZoneInfo("Europe/Berlin"))
        return summary, report

    applied = []
    real_apply = backfill.Backfill._apply
    monkeypatch.setattr(backfill.Backfill, "_apply", lambda self, group: applied.extend(group) or
                        real_apply(self, group))
    monkeypatch.setattr(backfill, "APPLY_GROUP_FILES", 5)  # several groups, and a short last one
    serial, serial_report = ingest(home / "serial.db", parallel=False)
    assert applied == []
    parallel, parallel_report = ingest(home / "parallel.db", parallel=True)
    assert len(applied) == expected["files"]  # every file was parsed by a worker
    assert _dump(home / "parallel.db") == _dump(home / "serial.db")
    assert (parallel.files_read, parallel.new_requests, sum(parallel.skipped.values())) == \
        (serial.files_read, serial.new_requests, sum(serial.skipped.values()))
    want = expected["claude_code"]["requests"] + expected["openclaw"]["requests"]
    assert parallel.new_requests == want
    assert parallel_report.totals.requests == serial_report.totals.requests == want
    assert parallel_report.totals.output_tokens == \
        expected["claude_code"]["output_tokens"] + expected["openclaw"]["output_tokens"]
    assert [r.key for r in parallel_report.rows] == [r.key for r in serial_report.rows]

    # A second pass finds nothing new either way: the worker-read files were committed with their positions.
    ctx = make_context(str(home / "parallel.db"), str(config))
    with ctx.open_store() as store:
        again = ingester.Ingester(store, ctx.settings).ingest_all()
    assert (again.files_read, again.new_requests, again.updated_requests) == (0, 0, 0)


def test_bench_sync_runs_and_its_merges_are_exact():
    """bench_sync.py on 2 machines × a thin year: it asserts each merge's total itself; here it must get there."""
    done = subprocess.run([sys.executable, str(BENCH / "bench_sync.py"), "--machines", "2", "--per-day", "4"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "merge, cold:" in done.stdout and "for 28 files" in done.stdout
    assert "merge, a new day on every machine:" in done.stdout and "for 2 changed files" in done.stdout
