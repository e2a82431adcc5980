"""Claude Code's optional per-request fields: `apiBlockIndex` places the 5-hour window where its newest request
carries one (the activity rule decides otherwise), and the attribution set feeds `report attribution`, the
per-skill / plugin / MCP / sub-agent breakdown `/usage` shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from support.loglines import assistant, with_fields, write_lines

from tokentop.ingest.config import Settings
from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.claude import parse_claude
from tokentop.ingest.usage.limits import compute_status
from tokentop.ingest.usage.reports import build_report
from tokentop.ingest.usage.windows import claude_block
from tokentop.tui.cli.main import main

HOUR = 3_600_000
NOW = int(datetime(2026, 11, 20, 15, 30, tzinfo=UTC).timestamp() * 1000)
ONE = 0.003 + 0.015  # Sonnet 4.5: 1,000 input + 1,000 output


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def req(n: int, ts: int, **fields) -> str:
    line = assistant(f"msg_{n}", f"req_{n}", input_=1_000, output=1_000, ts=iso(ts))
    return with_fields(line, **fields) if fields else line


def ingest(home, lines):
    write_lines(home / ".claude" / "projects" / "-home-u-app" / "s.jsonl", lines)
    ctx = make_context()
    store = ctx.open_store()
    Ingester(store, ctx.settings).ingest_all()
    return store


# -- reading ----------------------------------------------------------------------------------------


def test_fields_are_read_as_names_and_odd_values_are_dropped():
    line = req(1, NOW, apiBlockIndex=7, attributionSkill="pdf", attributionMcpServer="github",
               attributionMcpTool="create_issue", attributionAgent="Explore", attributionPlugin="  ")
    rec = parse_claude((line + "\n").encode(), "s").records[0]
    assert rec.api_block == 7
    assert rec.attribution == ("Explore", "pdf", None, "github", "create_issue")
    for odd in (True, -1, 1.5, "7", 10**12):
        assert parse_claude((req(2, NOW, apiBlockIndex=odd) + "\n").encode(), "s").records[0].api_block is None
    hostile = parse_claude((req(3, NOW, attributionSkill="\x1b]0;pwn\x07x" * 100) + "\n").encode(), "s")
    skill = hostile.records[0].attribution[1]
    assert "\x1b" not in skill and len(skill) <= 200
    assert parse_claude((req(4, NOW, attributionSkill=["pdf"]) + "\n").encode(), "s").records[0].attribution == \
        (None,) * 5


# -- the 5-hour window from the block index ---------------------------------------------------------


def test_block_rule():
    # Requests at 11:10 and 13:40 in one block: the window opened at 11:00.
    assert claude_block([(NOW - 4 * HOUR - 20 * 60_000, 3), (NOW - 110 * 60_000, 3)], NOW) == (NOW - 4.5 * HOUR, 3)
    # A new index at 13:40: Claude Code opened a new block though the last one had not run 5 hours.
    assert claude_block([(NOW - 4 * HOUR, 3), (NOW - 110 * 60_000, 4)], NOW) == (NOW - 2.5 * HOUR, 4)
    assert claude_block([(NOW - HOUR, None)], NOW) is None  # no index: the activity rule decides
    assert claude_block([], NOW) is None
    assert claude_block([(NOW - 6 * HOUR, 3)], NOW) is None  # nothing in the last 5 hours
    # Not before the end of an official window that has passed.
    assert claude_block([(NOW - 2 * HOUR, 5)], NOW, not_before=NOW - 90 * 60_000) == (NOW - 90 * 60_000, 5)


def test_the_block_index_moves_the_window_the_activity_rule_would_keep(home):
    # 11:10 (block 3) and 13:40 (block 4): the activity rule sees one window from 11:00 to 16:00; Claude Code
    # counted a new block at 13:40, so the window runs 13:00 to 18:00 and holds only the second request.
    store = ingest(home, [req(1, NOW - 4 * HOUR - 20 * 60_000, apiBlockIndex=3),
                          req(2, NOW - 110 * 60_000, apiBlockIndex=4)])
    five = compute_status(store, Settings(timezone="UTC"), NOW, windows={"five_hour"})["five_hour"]
    assert (five.start_ms, five.end_ms) == (NOW - 2.5 * HOUR, NOW + 2.5 * HOUR)
    assert five.claude_block == 4
    assert five.used_cost == pytest.approx(ONE)


def test_without_the_index_the_activity_rule_still_decides(home):
    store = ingest(home, [req(1, NOW - 4 * HOUR - 20 * 60_000), req(2, NOW - 110 * 60_000)])
    five = compute_status(store, Settings(timezone="UTC"), NOW, windows={"five_hour"})["five_hour"]
    assert (five.start_ms, five.claude_block) == (NOW - 4.5 * HOUR, None)
    assert five.used_cost == pytest.approx(2 * ONE)


# -- report attribution -----------------------------------------------------------------------------


LINES = [
    req(1, NOW - 3 * HOUR, attributionSkill="pdf"),
    req(2, NOW - 2 * HOUR, attributionSkill="pdf", attributionMcpServer="github", attributionMcpTool="create_issue"),
    req(3, NOW - HOUR, attributionPlugin="reviewer", attributionAgent="code-reviewer"),
    req(4, NOW - 30 * 60_000),  # names nothing
]


def test_report_attribution_rows_overlap_and_shares_are_of_all_spending(home):
    store = ingest(home, LINES)
    report = build_report(store, "attribution", ZoneInfo("UTC"))
    rows = {r.key: r for r in report.rows}
    # Biggest spend first; a tie by kind, then name; the requests that name nothing last.
    assert list(rows) == ["skill pdf", "sub-agent code-reviewer", "MCP github", "MCP tool github/create_issue",
                          "plugin reviewer", "(none)"]
    assert rows["skill pdf"].totals.requests == 2
    assert rows["skill pdf"].totals.cost_usd == pytest.approx(2 * ONE)
    assert rows["MCP github"].totals.requests == 1 and rows["(none)"].totals.requests == 1
    assert report.totals.requests == 4 and report.totals.cost_usd == pytest.approx(4 * ONE)
    assert rows["skill pdf"].extra["share"] == 0.5 and rows["(none)"].extra["share"] == 0.25
    assert rows["skill pdf"].extra["sessions"] == 1


def test_report_attribution_cli_json_and_table(home, capsys):
    ingest(home, LINES).close()
    assert main(["report", "attribution", "--json", "--no-ingest"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["report"] == "attribution"
    kinds = {r["key"]: r["kind"] for r in data["rows"]}
    assert kinds["MCP tool github/create_issue"] == "mcp_tool" and kinds["(none)"] is None
    assert main(["report", "attribution", "--no-ingest"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("Attributed to")
    assert "a request naming several counts in each row" in text


def test_real_logs_name_no_attribution_so_everything_is_none(real_logs_home):
    ctx = make_context()
    store = ctx.open_store()
    Ingester(store, ctx.settings).ingest_all()
    report = build_report(store, "attribution", ZoneInfo("UTC"))
    assert [r.key for r in report.rows] == ["(none)"]
    assert report.rows[0].totals.requests == report.totals.requests > 0
    assert report.rows[0].totals.cost_usd == pytest.approx(report.totals.cost_usd)
