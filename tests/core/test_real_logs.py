"""End to end over the public real transcripts laid out under a temporary HOME, through the command line."""

from __future__ import annotations

import json
import shutil

from tokentop.tui.cli.main import main

SPOTTER = "4d5611e5-241a-462a-8d15-5122611a9569"


def run_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_main_spotter_file_alone_follows_the_dedup_rule(home, real_logs, capsys):
    target = home / ".claude" / "projects" / "-home-USER-projects-spotter"
    target.mkdir(parents=True)
    shutil.copy(real_logs / "marot-spotter" / f"{SPOTTER}.jsonl", target)
    (home / "cfg.toml").write_text("retention_days = 100000\n")
    report = run_json(capsys, "--config", str(home / "cfg.toml"), "report", "sessions", "--json")
    [row] = report["rows"]
    assert row["key"] == SPOTTER
    assert row["output_tokens"] == 28_755  # naive sum: 29,160; first-line-wins: 7,933
    assert row["cache_read_tokens"] == 11_618_567  # naive sum: 20,500,571
    assert row["requests"] == 139
    assert report["estimate"] is True


def test_all_real_logs_per_session_and_second_ingest_reads_nothing(real_logs_home, capsys):
    report = run_json(capsys, "report", "sessions", "--json")
    rows = {r["key"]: r for r in report["rows"]}
    assert len(rows) == 8
    spotter = rows[SPOTTER]
    # The main file plus its two sub-agent files (which belong to the parent session).
    assert spotter["output_tokens"] == 28_899
    assert spotter["cache_read_tokens"] == 12_387_553
    assert spotter["project"] == "/home/USER/projects/spotter-worktrees/spotter-dov"
    assert spotter["git_branch"] == "spotter-dov"
    assert rows["fed8ce56-bc79-401f-a83e-af084253362f"]["title"] == "AI Music Generation: Diverse Embedding Mapping"
    totals = report["totals"]
    assert totals["requests"] == 443
    assert totals["output_tokens"] == 104_939
    assert totals["total_tokens"] == sum(r["total_tokens"] for r in rows.values())
    for key in ("generated_at", "tz", "report", "rows"):
        assert key in report

    capsys.readouterr()
    assert main(["ingest"]) == 0
    line = capsys.readouterr().out
    assert "0 read, 0 B" in line and "0 new responses, 0 updated" in line
    again = run_json(capsys, "report", "sessions", "--json")
    assert again["totals"] == totals


def test_models_and_tools_reports_over_real_logs(real_logs_home, capsys):
    models = run_json(capsys, "report", "models", "--json")
    keys = {r["key"] for r in models["rows"]}
    assert "<synthetic>" not in keys
    assert "claude-opus-4-6" in keys
    tools = run_json(capsys, "report", "tools", "--json")
    by_name = {r["key"]: r for r in tools["rows"]}
    assert by_name["Read"]["calls"] > 0
    assert sum(r["calls"] for r in tools["rows"]) == 485


def test_report_table_and_csv(real_logs_home, capsys):
    capsys.readouterr()
    assert main(["report", "daily"]) == 0
    out = capsys.readouterr().out
    assert "costs are estimates" in out and "Total" in out
    assert main(["report", "monthly", "--csv", "--no-ingest"]) == 0
    csv_text = capsys.readouterr().out.splitlines()
    assert csv_text[0].startswith("key,input_tokens,output_tokens,cache_creation_tokens,cache_read_tokens")
    assert len(csv_text) >= 3


def test_doctor_checks_the_report_sums_against_the_responses(real_logs_home, capsys):
    import sqlite3

    from tokentop.ingest.context import make_context
    assert main(["ingest", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    assert "PROBLEM" not in capsys.readouterr().out
    con = sqlite3.connect(make_context().db_path)
    with con:  # a summary row that no response backs: what a broken trigger would leave
        slot, source, model = con.execute("SELECT slot, source, model FROM slot_usage LIMIT 1").fetchone()
        con.execute("UPDATE slot_usage SET requests = requests + 1 WHERE slot = ? AND source = ? AND model = ?",
                    (slot, source, model))
    con.close()
    assert main(["doctor"]) == 1
    assert "per-slot sums" in capsys.readouterr().out
