"""Claude Code's own figure beside the estimate in the session drill-down, and the request pane's extra facts."""

from __future__ import annotations

from support.history import LIVE, build_store
from test_tui import loaded, make_app, pilot_test, until

from tokentop.ingest.records import CostState, ModelCost, SessionInfo
from tokentop.tui.screens.session import SessionScreen, attribution_text, claude_code_parts


def _with_state(ctx, total: float) -> None:
    with ctx.open_store() as store, store.transaction():
        store.write_batch([], [SessionInfo(LIVE, "claude-code", cost_state=CostState(
            total, None, (ModelCost("claude-opus-4-6[1m]", 10, 20, 30, 40, 0, total),)))])


@pilot_test
async def test_the_drill_down_shows_claude_codes_figure_and_flags_a_difference(home):
    ctx = build_store(home)
    _with_state(ctx, 3.30)  # the fixture prices this session at $3.43: +4.0%
    app = make_app(ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        app.push_screen(SessionScreen(LIVE))
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.detail is not None)
        await pilot.pause()
        facts = str(app.screen.query_one("#session-facts").render())
        assert "Claude Code says $3.30" in facts
        assert "ours $3.43 est (+4.0%)" in facts
        assert "differs by more than 2%" in facts
        # The tag it names prices this session's Opus 4.6 requests from now on.
        assert {r.priced_as for r in app.screen.detail.requests if r.model == "claude-opus-4-6"} == \
            {"claude-opus-4-6[1m]"}


def test_parts_read_as_agreeing_within_two_percent():
    check = {"cost_usd": 3.40, "estimate_usd": 3.43, "estimate_unpriced_requests": 2, "difference_pct": 0.88,
             "differs": False, "models": [{"model": "claude-opus-5[1m]"}]}
    assert claude_code_parts(check) == ["Claude Code says $3.40", "ours ≥ $3.43 · 2 unpriced est (+0.9%)",
                                        "agrees within 2%", "as claude-opus-5[1m]"]
    assert attribution_text(("Explore", "pdf", None, "github", "create_issue")) == \
        "sub-agent Explore, skill pdf, MCP github/create_issue"


@pilot_test
async def test_the_attribution_view_lists_skills_plugins_mcp_and_sub_agents(home):
    from support.loglines import assistant, with_fields, write_lines

    from tokentop.ingest.context import make_context
    from tokentop.ingest.live.ingester import Ingester
    from tokentop.tui.screens.views import ViewScreen
    from tokentop.widgets.tables import KeyedTable

    def req(n: int, **fields) -> str:
        return with_fields(assistant(f"msg_{n}", f"req_{n}", input_=1_000, output=1_000,
                                     ts=f"2026-11-20T1{n}:00:00.000Z"), **fields)

    LINES = [req(1, attributionSkill="pdf"),
             req(2, attributionSkill="pdf", attributionMcpServer="github", attributionMcpTool="create_issue"),
             req(3, attributionPlugin="reviewer", attributionAgent="code-reviewer"), req(4)]
    write_lines(home / ".claude" / "projects" / "-home-u-app" / "s.jsonl", LINES)
    ctx = make_context()
    with ctx.open_store() as store:
        Ingester(store, ctx.settings).ingest_all()
    app = make_app(ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None)
        await pilot.pause()
        table = app.screen.query_one("#view-table", KeyedTable)
        # By cost (ties by name), the requests that name nothing last.
        assert table.keys == ["skill pdf", "MCP github", "MCP tool github/create_issue", "plugin reviewer",
                              "sub-agent code-reviewer", "(none)"]
        first = [str(c) for c in table.get_row_at(0)]
        assert first[0].startswith("skill pdf") and first[-1] == "50%"  # two of four equal requests
        assert "share: of all spending" in str(app.screen.query_one("#view-note").render())
