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
