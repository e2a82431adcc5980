"""OpenClaw agent stores through the ingester and the live service: one count per assistant message across the
store, archived JSONL and never-imported JSONL; cursors committed with the rows; new events live within 1 s."""

from __future__ import annotations

import sqlite3
import time

from support.loglines import openclaw_assistant as _assistant
from support.loglines import openclaw_session, write_lines
from support.openclaw_store import Gateway, store_path

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.live.service import WatchService


def openclaw_assistant(entry_id: str, **kw) -> str:
    """A reply an hour old: inside retention, so it stays a row (older ones are rolled up)."""
    return _assistant(entry_id, ts_ms=int(time.time() * 1000) - 3_600_000, **kw)


def requests(db) -> tuple[int, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT count(*), coalesce(sum(input_tokens), 0) FROM requests "
                           "WHERE source = 'openclaw'").fetchone()
    finally:
        con.close()


def build_install(home):
    """Two agents, a sub-agent, a compaction rewrite, archives and a never-imported JSONL file."""
    root = home / ".openclaw"
    main = Gateway(store_path(root, "main"))
    main.session("p1", "agent:main:main", label="Upload retry fix")
    main.session("c1", "agent:main:subagent:1", parent_key="agent:main:main")
    p1 = [openclaw_session("p1")] + [openclaw_assistant(f"m{i}", input_=100 + i) for i in range(4)]
    main.append("p1", p1)
    main.append("c1", [openclaw_session("c1"), openclaw_assistant("s1", input_=7)])
    main.rewrite("p1", [p1[0]] + p1[2:], start_seq=10)  # compaction after the migration: m0, m1 only in the archive
    kitchen = Gateway(store_path(root, "kitchen"), agent="kitchen")
    kitchen.session("k1", "agent:kitchen:main")
    kitchen.append("k1", [openclaw_session("k1"), openclaw_assistant("k-a", input_=1000)])
    sessions = root / "agents" / "main" / "sessions"
    write_lines(sessions / "p1.jsonl.deleted.2026-10-01T10-00-00Z", p1)  # the migrated file, archived: m0..m3
    # never imported (OpenClaw left it beside the store)
    write_lines(sessions / "old.jsonl", [openclaw_session("old"), openclaw_assistant("o1", input_=5000)])
    write_lines(root / "agents" / "kitchen" / "sessions" / "k1.jsonl.reset.2026-10-02", [
        openclaw_session("k1"), openclaw_assistant("k-a", input_=1000)])
    return main, kitchen


def test_one_count_per_message_across_store_archives_and_jsonl(home):
    main, kitchen = build_install(home)
    ctx = make_context()
    store = ctx.open_store()
    summary = Ingester(store, ctx.settings).ingest_all()
    expected_input = (100 + 101 + 102 + 103) + 7 + 1000 + 5000
    assert requests(ctx.db_path) == (7, expected_input)
    assert sorted((s.agent_id, s.problem) for s in summary.agent_stores) == [("kitchen", None), ("main", None)]
    rows = dict((r[0], r[1:]) for r in store.db.execute(
        "SELECT session_id, openclaw_agent, parent_session_id, billing, title FROM sessions WHERE source = 'openclaw'"))
    assert rows["c1"] == ("main", "p1", "api", None)
    assert rows["p1"] == ("main", None, "api", "Upload retry fix") and rows["k1"][0] == "kitchen"
    assert rows["old"][0] is None  # a JSONL-only session has no store to say its agent

    # a second run (a new process: cursors come from the store) reads no event again
    again = Ingester(ctx.open_store(), ctx.settings).ingest_all()
    assert again.new_requests == 0 and again.lines == 0
    main.append("p1", [openclaw_assistant("m9", input_=9)])
    main.rewrite("c1", [openclaw_session("c1"), openclaw_assistant("s1", input_=7)], start_seq=40)
    third = Ingester(ctx.open_store(), ctx.settings).ingest_all()
    assert third.new_requests == 1 and requests(ctx.db_path) == (8, expected_input + 9)


def test_a_bad_store_is_one_line_and_the_others_still_count(home):
    Gateway(store_path(home / ".openclaw", "main")).close()
    good = Gateway(store_path(home / ".openclaw", "good"), agent="good")
    good.session("g1")
    good.append("g1", [openclaw_session("g1"), openclaw_assistant("g-a", input_=3)])
    store_path(home / ".openclaw", "main").write_bytes(b"\0garbage" * 512)
    store_path(home / ".openclaw", "dir").mkdir(parents=True)
    ctx = make_context()
    summary = Ingester(ctx.open_store(), ctx.settings).ingest_all()
    problems = {s.agent_id: s.problem for s in summary.agent_stores}
    assert problems["good"] is None and requests(ctx.db_path) == (1, 3)
    assert "corrupt" in problems["main"] and "not a regular file" in problems["dir"]


def test_gateway_commit_is_live_within_a_second(home):
    gw = Gateway(store_path(home / ".openclaw", "main"))
    gw.session("live")
    gw.append("live", [openclaw_session("live"), openclaw_assistant("a0")])
    ctx = make_context()
    service = WatchService.from_context(ctx).start()  # safety poll 10 s: only the WAL event explains < 1 s
    try:
        assert service.wait_ready(10)
        assert requests(ctx.db_path)[0] == 1
        latencies = []
        for i in range(1, 4):
            gw.append("live", [openclaw_assistant(f"a{i}", input_=i)])
            t0 = time.monotonic()
            while requests(ctx.db_path)[0] < i + 1:
                assert time.monotonic() - t0 < 1.0, "not visible within 1 s"
                time.sleep(0.01)
            latencies.append(time.monotonic() - t0)
        assert requests(ctx.db_path) == (4, 100 + 1 + 2 + 3)
    finally:
        service.stop()


def test_doctor_lists_each_store_once_with_its_agent_schema_and_problem(home):
    from tokentop.ingest.doctor import examine, format_report
    good = Gateway(store_path(home / ".openclaw", "main"))
    good.session("g1")
    newer = Gateway(store_path(home / ".openclaw", "future"), agent="future", schema_version=40)
    newer.close()
    store_path(home / ".openclaw", "broken").parent.mkdir(parents=True)
    store_path(home / ".openclaw", "broken").write_bytes(b"x" * 4096)
    text = format_report(examine(make_context()))
    lines = [line for line in text.splitlines() if "openclaw-agent.sqlite" in line]
    assert len(lines) == 3 and "Traceback" not in text
    assert "agent main, schema 24 (OpenClaw 2026.9.6, layout windows+zstd), 1 sessions" in text
    assert "agent broken: not a readable SQLite database" in text
    assert "schema 40 is newer than tested" in text
    assert "OpenClaw agent stores: 3 (reads OpenClaw 2026.8+" in text


def test_report_agents_and_the_sessions_agent_column(home, capsys):
    from tokentop.tui.cli.main import main
    build_install(home)
    assert main(["ingest", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["report", "agents", "--json", "--no-ingest"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    rows = {r["key"]: r for r in report["rows"]}
    assert set(rows) == {"main", "kitchen", "(openclaw)"}
    assert rows["main"]["requests"] == 5 and rows["main"]["input_tokens"] == 100 + 101 + 102 + 103 + 7
    assert rows["main"]["sessions"] == 2 and rows["main"]["billing"] == ["api"]
    assert rows["(openclaw)"]["input_tokens"] == 5000  # the never-imported JSONL: no store names its agent
    assert main(["report", "sessions", "--json", "--no-ingest"]) == 0
    sessions = {r["key"]: r for r in __import__("json").loads(capsys.readouterr().out)["rows"]}
    assert sessions["c1"]["openclaw_agent"] == "main" and sessions["c1"]["parent_session"] == "p1"
    assert main(["report", "agents", "--no-ingest"]) == 0
    assert "Agent" in capsys.readouterr().out


def test_cli_harness_usage_counts_once_as_claude_code_tagged_with_the_agent(home):
    from support.loglines import assistant
    claude_sid = "cccccccc-1111-4111-8111-111111111111"
    gw = Gateway(store_path(home / ".openclaw", "main"))
    gw.session("h1", "agent:main:cli", harness="claude-cli", provider="claude-cli", claude_session=claude_sid)
    gw.append("h1", [openclaw_session("h1"), openclaw_assistant("h-a", input_=400)])  # the same reply, seen by OpenClaw
    now_iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600))
    write_lines(home / ".claude" / "projects" / "-home-u-bot" / f"{claude_sid}.jsonl",
                [assistant("msg_1", "req_1", input_=400, output=50, ts=now_iso, session=claude_sid)])
    ctx = make_context()
    store = ctx.open_store()
    summary = Ingester(store, ctx.settings).ingest_all()
    assert store.db.execute("SELECT source, count(*), sum(input_tokens) FROM requests GROUP BY source").fetchall() == [
        ("claude-code", 1, 400)]
    (status,) = summary.agent_stores
    assert status.cli_harness_messages == 1
    assert store.db.execute("SELECT openclaw_agent, billing FROM sessions WHERE session_id = ?",
                            (claude_sid,)).fetchone() == ("main", "cli-harness")


def test_cap_sources_decides_what_the_subscription_gauges_count(home):
    from tokentop.ingest.config import Settings
    from tokentop.ingest.usage.limits import compute_status
    from tokentop.tui.screens.overview import counts_text
    gw = Gateway(store_path(home / ".openclaw", "main"))
    gw.session("s1")
    gw.append("s1", [openclaw_session("s1"), openclaw_assistant("a1", input_=1000, output=0)])
    ctx = make_context()
    store = ctx.open_store()
    Ingester(store, ctx.settings).ingest_all()
    default = compute_status(store, Settings())
    assert default["week"].used_tokens == 0 and default["month"].used_tokens == 1000  # API-billed: money only
    assert default["week"].counts == ("claude-code",) and default["month"].counts == ("claude-code", "openclaw")
    both = compute_status(store, Settings(cap_sources=["claude-code", "openclaw"]))
    assert both["week"].used_tokens == 1000 and both["five_hour"].used_tokens == 1000
    assert counts_text(default["week"].counts) == "counts Claude Code only"
    assert counts_text(both["week"].counts) == "counts Claude Code + OpenClaw"


def test_cap_sources_must_name_known_sources(tmp_path):
    import pytest

    from tokentop.ingest.config import ConfigError, load_settings
    path = tmp_path / "config.toml"
    path.write_text('cap_sources = ["claude-code", "opencalw"]\n')
    with pytest.raises(ConfigError, match="cap_sources must list some of claude-code, openclaw"):
        load_settings(path)
    path.write_text('cap_sources = ["openclaw"]\n')
    assert load_settings(path).cap_sources == ["openclaw"]


def test_cli_harness_archive_jsonl_is_not_a_second_count(home):
    """OpenClaw publishes a reset CLI-harness session as `<uuid>.jsonl.reset.<ts>`: the JSONL reader must apply the
    same rule as the store reader (counted once, as Claude Code), whichever of the two is read first."""
    from support.loglines import assistant
    claude_sid = "cccccccc-2222-4222-8222-222222222222"
    gw = Gateway(store_path(home / ".openclaw", "main"))
    gw.session("h2", "agent:main:cli", harness="claude-cli", provider="claude-cli", claude_session=claude_sid)
    lines = [openclaw_session("h2"), openclaw_assistant("h-b", input_=400)]
    gw.append("h2", lines)
    archive = home / ".openclaw" / "agents" / "main" / "sessions" / "h2.jsonl.reset.2026-10-02T10-00-00Z"
    write_lines(archive, lines + [openclaw_assistant("h-c", input_=250)])  # h-c: only in the archived generation
    now_iso = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3600))
    write_lines(home / ".claude" / "projects" / "-home-u-bot" / f"{claude_sid}.jsonl",
                [assistant("msg_2", "req_2", input_=400, output=50, ts=now_iso, session=claude_sid),
                 assistant("msg_3", "req_3", input_=250, output=5, ts=now_iso, session=claude_sid)])
    ctx = make_context()
    store = ctx.open_store()
    Ingester(store, ctx.settings).ingest_all()
    assert store.db.execute("SELECT source, count(*), sum(input_tokens) FROM requests GROUP BY source").fetchall() == [
        ("claude-code", 2, 650)]
    # A store that met the archive before it knew the session's billing: the copies go once the tag arrives.
    from tokentop.ingest.logs.openclaw import parse_openclaw
    from tokentop.ingest.store import harness
    copies = parse_openclaw(archive.read_bytes(), "h2")[0].records
    assert len(copies) == 2
    with store.transaction():
        store.db.execute("UPDATE sessions SET billing = NULL WHERE session_id = 'h2'")
        assert harness.drop_copies(store, copies) == copies  # not tagged yet: nothing is known to be a copy
        store.write_batch(copies)
        assert harness.purge_copies(store, ["h2"]) == 0
        store.db.execute("UPDATE sessions SET billing = 'cli-harness' WHERE session_id = 'h2'")
        assert harness.drop_copies(store, copies) == []
        assert harness.purge_copies(store, ["h2"]) == 2
    assert store.db.execute("SELECT source, count(*), sum(input_tokens) FROM requests GROUP BY source").fetchall() == [
        ("claude-code", 2, 650)]
