"""OpenClaw sessions: one record per assistant message, model from the message or the last model change."""

from __future__ import annotations

from support.loglines import openclaw_assistant, openclaw_model_change, openclaw_session

from tokentop.ingest.logs.openclaw import parse_openclaw


def parse(lines, state=None):
    return parse_openclaw(("\n".join(lines) + "\n").encode(), "file-session", state)


def test_records_models_and_tools():
    result, state = parse([
        openclaw_session("sess-1", cwd="/home/u/bot"),
        openclaw_model_change("claude-opus-4-5"),
        openclaw_assistant("e1", input_=100, output=50, cache_read=1000, cache_write=200, model=None, tools=("bash",)),
        openclaw_assistant("e2", input_=10, output=5, model="claude-haiku-4-5"),
        '{"type":"message","id":"u1","message":{"role":"user","content":"secret"}}',
    ])
    a, b = result.records
    assert (a.model, a.input_tokens, a.output_tokens, a.cache_read, a.cache_write_5m) == (
        "claude-opus-4-5", 100, 50, 1000, 200)
    assert a.session_id == "sess-1" and a.project == "/home/u/bot"
    assert a.dedup_key == "oc:sess-1:e1"
    assert [name for _, name in a.tool_calls] == ["bash"]
    assert b.model == "claude-haiku-4-5"
    assert state["model"] == "claude-opus-4-5"


def test_state_carries_the_model_across_reads():
    first, state = parse([openclaw_session("s"), '{"type":"custom","customType":"model-snapshot",'
                          '"data":{"provider":"anthropic","modelId":"claude-sonnet-4-6"}}'])
    assert first.records == []
    second, _ = parse([openclaw_assistant("e9", model=None)], state)
    assert second.records[0].model == "claude-sonnet-4-6"
    assert second.records[0].session_id == "s"


def test_reported_cost_kept_only_when_positive():
    result, _ = parse([openclaw_session("s"), openclaw_assistant("e1", cost_total=0.0),
                       openclaw_assistant("e2", cost_total=0.25)])
    assert [r.reported_cost for r in result.records] == [None, 0.25]


def test_garbage_is_counted_not_raised():
    result, _ = parse([openclaw_session("s"), "not json at all", '{"type":"message","id":"e1","message":'
                       '{"role":"assistant","usage":{"input":"many"}}}', openclaw_assistant("e2")])
    assert len(result.records) == 1
    assert result.skipped == {"malformed-json": 1, "count-not-a-number": 1}
