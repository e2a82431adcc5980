"""Claude Code's own figures (`cost-state` lines): read beside the session, never counted as usage, compared with
our estimate (flagged above 2%), and their context-tagged model ids used to price the session's requests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.loglines import SESSION, assistant, cost_state, model_usage, user, write_lines

from tokentop.ingest.context import make_context
from tokentop.ingest.live.ingester import Ingester
from tokentop.ingest.logs.claude import parse_claude
from tokentop.ingest.logs.cost_state import BAD_COST_STATE
from tokentop.ingest.pricing import PriceTable
from tokentop.ingest.store import claude_costs

SONNET = "claude-sonnet-4-5-20250929"
TAGGED = "claude-sonnet-4-5[1m]"
ONE = 0.003 + 0.015  # Sonnet 4.5, 1,000 input + 1,000 output tokens at $3 / $15 per million


def buf(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def req(n: int, ts: str = "2026-11-20T10:00:00.000Z", model: str = SONNET) -> str:
    return assistant(f"msg_{n}", f"req_{n}", input_=1_000, output=1_000, model=model, ts=ts)


# -- reading ----------------------------------------------------------------------------------------


def test_cost_state_is_kept_beside_the_session_and_never_counted_as_usage():
    state = cost_state(0.0361, {TAGGED: model_usage(2_000, 2_000, cost=0.0361)})
    result = parse_claude(buf(user(), req(1), state, req(2)), SESSION)
    assert [r.message_id for r in result.records] == ["msg_1", "msg_2"]  # the state adds no record
    assert sum(r.total_tokens for r in result.records) == 4_000
    got = result.sessions[SESSION].cost_state
    assert got is not None and got.total_usd == pytest.approx(0.0361)
    assert [(m.model, m.input_tokens, m.output_tokens, m.cost_usd) for m in got.models] == [(TAGGED, 2_000, 2_000,
                                                                                            0.0361)]
    assert got.ts_ms == 1_795_172_400_000  # 2026-11-20T11:00:00Z
    assert not result.skipped


def test_the_largest_cumulative_state_wins_whatever_the_order():
    small, large = cost_state(1.25, ts=None), cost_state(4.5, ts=None)
    for lines in ((small, large), (large, small)):
        assert parse_claude(buf(*lines), SESSION).sessions[SESSION].cost_state.total_usd == 4.5


@pytest.mark.parametrize("line", [
    cost_state(-1.0),
    json.dumps({"type": "cost-state", "totalCostUSD": "12"}),
    json.dumps({"type": "cost-state", "modelUsage": {}}),  # no total at all
    cost_state(1.0, {"claude-opus-5": model_usage(input_=-5)}),
    cost_state(1.0, {"claude-opus-5": model_usage(output=1.5)}),
    cost_state(1.0, {"claude-opus-5": {"costUSD": True}}),
    cost_state(1.0, {"claude-opus-5": "lots"}),
    cost_state(1e12),
])
def test_a_state_no_session_can_have_is_skipped_and_counted(line):
    result = parse_claude(buf(line, req(1)), SESSION)
    assert result.skipped[BAD_COST_STATE] == 1
    assert result.sessions[SESSION].cost_state is None
    assert len(result.records) == 1  # the rest of the file is read as usual


def test_a_wrapped_state_is_read_and_a_subagent_file_holds_none():
    wrapped = json.dumps({"type": "cost-state", "state": {"totalCostUSD": 2.0, "modelUsage": {}}})
    assert parse_claude(buf(wrapped), SESSION).sessions[SESSION].cost_state.total_usd == 2.0
    sub = parse_claude(buf(cost_state(9.0), req(1)), SESSION, agent_id="a1")
    assert sub.sessions[SESSION].cost_state is None and not sub.skipped


def test_an_unterminated_state_is_not_taken_until_its_line_ends():
    data = buf(req(1)) + cost_state(3.0).encode()  # no final newline: still being written
    assert parse_claude(data, SESSION).sessions[SESSION].cost_state is None


def test_a_state_line_mentioning_assistant_is_still_a_state():
    line = cost_state(1.5, {"claude-opus-5": model_usage(cost=1.5)}, note="assistant")
    assert parse_claude(buf(line), SESSION).sessions[SESSION].cost_state.total_usd == 1.5


# -- through the store ------------------------------------------------------------------------------


def ingest(home: Path, lines: list[str], name: str = "s.jsonl", overrides: dict | None = None, mode: str = "w"):
    write_lines(home / ".claude" / "projects" / "-home-u-app" / name, lines, mode)
    ctx = make_context()
    store = ctx.open_store()
    if overrides is not None:
        store.prices = PriceTable.load(overrides=overrides)
        store.reprice_if_changed()
    Ingester(store, ctx.settings).ingest_all()
    return store


LONG = {TAGGED: {"input": 6.0, "output": 22.5, "cache_write_5m": 7.5, "cache_write_1h": 12.0, "cache_read": 0.6}}
TAGGED_ONE = 0.006 + 0.0225


def priced(store) -> dict[str, tuple]:
    return {m: (a, round(c, 9)) for m, a, c in store.db.execute(
        "SELECT message_id, priced_as, cost_usd FROM requests")}


@pytest.mark.parametrize("state_first", [False, True])
def test_the_tagged_id_prices_the_sessions_requests_in_either_order(home, state_first):
    state = cost_state(2 * TAGGED_ONE, {TAGGED: model_usage(2_000, 2_000, cost=2 * TAGGED_ONE)})
    lines = [state, req(1), req(2)] if state_first else [req(1), req(2), state]
    store = ingest(home, lines, overrides=LONG)
    assert priced(store) == {"msg_1": (TAGGED, round(TAGGED_ONE, 9)), "msg_2": (TAGGED, round(TAGGED_ONE, 9))}
    # The slot sums (every daily/weekly report) follow the re-pricing.
    assert store.db.execute("SELECT SUM(cost_usd) FROM slot_usage").fetchone()[0] == pytest.approx(2 * TAGGED_ONE)


def test_a_state_read_later_reprices_requests_already_stored_and_repricing_keeps_the_tag(home):
    store = ingest(home, [req(1), req(2)], overrides=LONG)
    assert priced(store)["msg_1"] == (None, round(ONE, 9))  # no state yet: the plain id
    store.close()
    state = cost_state(2 * TAGGED_ONE, {TAGGED: model_usage(2_000, 2_000, cost=2 * TAGGED_ONE)})
    store = ingest(home, [state], mode="a", overrides=LONG)
    assert priced(store)["msg_1"] == (TAGGED, round(TAGGED_ONE, 9))
    store.prices = PriceTable.load()  # the shipped table prices the tag as its family
    assert store.reprice_if_changed()
    assert priced(store)["msg_2"] == (TAGGED, round(ONE, 9))


def test_an_id_named_with_and_without_a_tag_is_ambiguous_and_keeps_its_own_price(home):
    state = cost_state(1.0, {TAGGED: model_usage(cost=0.5), "claude-sonnet-4-5": model_usage(cost=0.5)})
    store = ingest(home, [req(1), state], overrides=LONG)
    assert priced(store) == {"msg_1": (None, round(ONE, 9))}


def test_comparison_flags_a_difference_over_two_percent(home):
    # Claude Code says 0.0350 for two requests we price at 0.036 (+2.86%): flagged.
    store = ingest(home, [req(1), req(2), cost_state(0.035, {SONNET: model_usage(2_000, 2_000, cost=0.035)})])
    check = claude_costs.comparison(store.db, SESSION)
    assert check["estimate_usd"] == pytest.approx(2 * ONE)
    assert check["cost_usd"] == 0.035
    assert check["difference_pct"] == pytest.approx(2.86, abs=0.01)
    assert check["differs"] is True
    assert check["models"][0]["model"] == SONNET and check["models"][0]["input_tokens"] == 2_000


def test_comparison_within_two_percent_and_only_up_to_the_states_time(home):
    # The state was written at 11:00: the 12:00 request is not in Claude Code's figure yet, so not in ours either.
    lines = [req(1), req(2), cost_state(0.0355), req(3, ts="2026-11-20T12:00:00.000Z")]
    store = ingest(home, lines)
    check = claude_costs.comparison(store.db, SESSION)
    assert check["estimate_usd"] == pytest.approx(2 * ONE)
    assert check["difference_pct"] == pytest.approx((0.036 - 0.0355) / 0.0355 * 100, abs=0.01)
    assert check["differs"] is False
    assert claude_costs.comparison(store.db, "no-such-session") is None


def test_check_rule_at_the_edges():
    assert claude_costs.check(10.0, 10.2, 0, None, [])["differs"] is False  # exactly 2%: not over
    assert claude_costs.check(10.0, 10.21, 0, None, [])["differs"] is True
    assert claude_costs.check(10.0, 9.79, 0, None, [])["differs"] is True
    zero = claude_costs.check(0.0, 0.0, 0, None, [])
    assert zero["differs"] is False and zero["difference_pct"] is None
    assert claude_costs.check(0.0, 0.40, 0, None, [])["differs"] is True


def test_a_smaller_state_read_later_does_not_replace_the_stored_one(home):
    store = ingest(home, [req(1), cost_state(5.0)])
    store.close()
    store = ingest(home, [cost_state(1.0, ts=None)], name="t.jsonl")
    assert store.db.execute("SELECT total_cost_usd FROM claude_costs").fetchall() == [(5.0,)]


def test_real_logs_carry_no_state_and_read_as_before(real_logs_home):
    """The public transcripts predate `cost-state` lines: nothing is invented for them."""
    ctx = make_context()
    store = ctx.open_store()
    Ingester(store, ctx.settings).ingest_all()
    assert store.db.execute("SELECT COUNT(*) FROM requests").fetchone()[0] > 0
    assert store.db.execute("SELECT COUNT(*) FROM claude_costs").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM requests WHERE priced_as IS NOT NULL OR api_block IS NOT NULL "
                            "OR attr_skill IS NOT NULL OR attr_agent IS NOT NULL").fetchone()[0] == 0
    assert "bad-cost-state" not in store.skipped_by_reason()


def test_report_sessions_json_carries_claude_codes_figure(home, capsys):
    from tokentop.tui.cli.main import main
    ingest(home, [req(1), req(2), cost_state(0.035, {SONNET: model_usage(2_000, 2_000, cost=0.035)})]).close()
    write_lines(home / ".claude" / "projects" / "-home-u-app" / "other.jsonl", [req(9, model=SONNET).replace(
        SESSION, "22222222-2222-3333-4444-555555555555")])
    assert main(["report", "sessions", "--json"]) == 0
    rows = {r["key"]: r for r in json.loads(capsys.readouterr().out)["rows"]}
    ours = rows[SESSION]["claude_code"]
    assert ours["cost_usd"] == 0.035 and ours["estimate_usd"] == pytest.approx(0.036)
    assert ours["differs"] is True and ours["difference_pct"] == pytest.approx(2.86, abs=0.01)
    assert rows["22222222-2222-3333-4444-555555555555"]["claude_code"] is None
    assert rows[SESSION]["cost_usd"] == pytest.approx(0.036)  # the check never changes the estimate
    assert main(["report", "sessions", "--no-ingest"]) == 0
    assert "1 session: Claude Code's own figure differs by >2%" in capsys.readouterr().out


def test_the_parallel_backfill_keeps_the_state_and_the_fields(home, monkeypatch):
    """Worker processes parse whole files and hand plain tuples back: the state and the new fields survive it."""
    from support.loglines import with_fields

    from tokentop.ingest.live import backfill
    monkeypatch.setattr(backfill, "PARALLEL_MIN_BYTES", 0)
    unpacked = []
    real_unpack = backfill._unpack
    monkeypatch.setattr(backfill, "_unpack", lambda packed: unpacked.append(1) or real_unpack(packed))
    lines = [with_fields(req(1), apiBlockIndex=2, attributionSkill="pdf"), req(2),
             cost_state(2 * TAGGED_ONE, {TAGGED: model_usage(cost=2 * TAGGED_ONE)})]
    store = ingest(home, lines, overrides=LONG)
    assert store.db.execute("SELECT total_cost_usd FROM claude_costs").fetchall() == [(pytest.approx(2 * TAGGED_ONE),)]
    assert store.db.execute("SELECT api_block, attr_skill, priced_as FROM requests WHERE message_id = 'msg_1'"
                            ).fetchone() == (2, "pdf", TAGGED)
    assert unpacked  # it went through the workers


def test_a_store_opened_without_prices_still_records_the_tag_and_prices_it_later(tmp_path):
    from tokentop.ingest.records import CostState, ModelCost, SessionInfo
    from tokentop.ingest.store.store import Store
    records = parse_claude(buf(req(1)), SESSION).records
    with Store(tmp_path / "u.db") as store, store.transaction():
        store.write_batch(records)
        store.write_batch([], [SessionInfo(SESSION, "claude-code", cost_state=CostState(
            1.0, None, (ModelCost(TAGGED, 0, 0, 0, 0, 0, 1.0),)))])
    with Store(tmp_path / "u.db", prices=PriceTable.load(overrides=LONG)) as store:
        assert priced(store) == {"msg_1": (TAGGED, round(TAGGED_ONE, 9))}
