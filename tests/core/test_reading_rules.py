"""Defensive reading (log-formats.md §1, README "Numbers you can trust"): BOMs, null and missing counts, impossible
counts, counts written as strings, lines without a timestamp, and the surcharge fields of `usage`."""

from __future__ import annotations

import json

import pytest
from support.loglines import SESSION, assistant, openclaw_assistant, openclaw_session

from tokentop.ingest.logs.claude import parse_claude
from tokentop.ingest.logs.jsonl import MAX_INPUT_SIDE, MAX_OUTPUT, read_count
from tokentop.ingest.logs.openclaw import parse_openclaw


def parse(*lines: str | bytes):
    data = b"".join((line if isinstance(line, bytes) else line.encode()) + b"\n" for line in lines)
    return parse_claude(data, SESSION)


def edit(line: str, **usage) -> str:
    """An assistant line with usage keys replaced (a value of ... deletes the key)."""
    entry = json.loads(line)
    for key, value in usage.items():
        if value is ...:
            entry["message"]["usage"].pop(key, None)
        else:
            entry["message"]["usage"][key] = value
    return json.dumps(entry)


def envelope(line: str, **fields) -> str:
    entry = json.loads(line)
    for key, value in fields.items():
        if value is ...:
            entry.pop(key, None)
        else:
            entry[key] = value
    return json.dumps(entry)


# -- read_count ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "expected"), [
    (0, 0), (None, 0), (12, 12), (12.0, 12), ("12", 12), ("0", 0), (1000, 1000),
    (-1, "negative-count"), (-0.5, "negative-count"), (0.5, "fractional-count"), (2.25, "fractional-count"),
    (1001, "count-too-large"), (10**19, "count-too-large"), (2**64, "count-too-large"), (1e300, "count-too-large"),
    (float("inf"), "count-too-large"), (float("nan"), "count-not-a-number"), (True, "count-not-a-number"),
    ("12.0", "count-not-a-number"), ("1e3", "count-not-a-number"), (" 12", "count-not-a-number"),
    ("-3", "count-not-a-number"), ("", "count-not-a-number"), ("٣", "count-not-a-number"),
    ("012", "count-not-a-number"),
    ([1], "count-not-a-number"), ({"n": 1}, "count-not-a-number"),
])
def test_read_count(value, expected):
    assert read_count(value, 1000) == expected


# -- whole lines --------------------------------------------------------------------------------------

def test_bom_at_file_start_keeps_the_first_line():
    result = parse(b"\xef\xbb\xbf" + assistant("msg_1", output=40).encode(), assistant("msg_2", output=2))
    assert [r.output_tokens for r in result.records] == [40, 2]
    assert result.skipped == {}


def test_openclaw_bom_at_file_start_keeps_the_session_header():
    data = b"\xef\xbb\xbf" + openclaw_session("oc-s").encode() + b"\n" + openclaw_assistant("e1").encode() + b"\n"
    result, _ = parse_openclaw(data, "from-name")
    assert [r.session_id for r in result.records] == ["oc-s"]
    assert result.skipped == {}


def test_null_and_missing_token_fields_count_zero_and_keep_the_line():
    line = edit(assistant("msg_1", input_=5, output=30, cache_read=100), input_tokens=None,
                cache_creation_input_tokens=..., cache_creation=...)
    [rec] = parse(line).records
    assert (rec.input_tokens, rec.output_tokens, rec.cache_write_5m, rec.cache_write_1h, rec.cache_read) == \
        (0, 30, 0, 0, 100)
    line = edit(assistant("msg_2", output=30), output_tokens=None, cache_creation={
        "ephemeral_5m_input_tokens": None, "ephemeral_1h_input_tokens": 64})
    [rec] = parse(line).records
    assert (rec.output_tokens, rec.cache_write_5m, rec.cache_write_1h) == (0, 0, 64)


def test_limits_are_inclusive_and_count_the_whole_input_side():
    at = edit(assistant("msg_1"), input_tokens=MAX_INPUT_SIDE - 10, cache_read_input_tokens=10,
              cache_creation_input_tokens=0, output_tokens=MAX_OUTPUT)
    [rec] = parse(at).records
    assert rec.input_tokens + rec.cache_read == MAX_INPUT_SIDE and rec.output_tokens == MAX_OUTPUT
    # Each field is possible alone; together they are a prompt longer than any context window.
    over = edit(assistant("msg_2"), input_tokens=MAX_INPUT_SIDE - 10, cache_read_input_tokens=11,
                cache_creation_input_tokens=0)
    result = parse(over, edit(assistant("msg_3"), output_tokens=MAX_OUTPUT + 1))
    assert result.records == [] and result.skipped == {"count-too-large": 2}


def test_impossible_split_or_web_search_count_rejects_the_line():
    result = parse(edit(assistant("msg_1"), cache_creation={"ephemeral_5m_input_tokens": -4}),
                   edit(assistant("msg_2"), server_tool_use={"web_search_requests": 1.5}),
                   assistant("msg_3", output=9))
    assert [r.message_id for r in result.records] == ["msg_3"]
    assert result.skipped == {"negative-count": 1, "fractional-count": 1}


def test_counts_written_as_plain_decimal_strings_are_read():
    [rec] = parse(edit(assistant("msg_1"), input_tokens="12", output_tokens="345")).records
    assert (rec.input_tokens, rec.output_tokens) == (12, 345)
    result = parse(edit(assistant("msg_2"), output_tokens="3.5e2"))
    assert result.records == [] and result.skipped == {"count-not-a-number": 1}


def test_undated_line_takes_its_siblings_time_and_its_largest_total_still_wins():
    early = assistant("msg_1", "req_1", output=2, ts="2026-11-20T10:00:00.000Z")
    final = envelope(assistant("msg_1", "req_1", output=420), timestamp=...)
    result = parse(final, early)  # order does not matter: siblings are looked up over the whole read
    assert sorted((r.output_tokens, r.ts_ms) for r in result.records) == [(2, 1_795_168_800_000),
                                                                          (420, 1_795_168_800_000)]
    assert result.sessions[SESSION].last_ts_ms == 1_795_168_800_000
    assert result.skipped == {}


def test_undated_line_without_a_dated_sibling_is_rejected_not_guessed():
    lonely = envelope(assistant("msg_2", "req_2", output=50), timestamp="yesterday-ish")
    other = assistant("msg_3", "req_3", output=5)  # a different response: its time is not msg_2's
    result = parse(other, lonely)
    assert [r.message_id for r in result.records] == ["msg_3"]
    assert result.skipped == {"missing-timestamp": 1}


def test_openclaw_impossible_counts_and_missing_time():
    bad = json.loads(openclaw_assistant("e1"))
    bad["message"]["usage"]["output"] = 10**19
    undated = json.loads(openclaw_assistant("e2"))
    del undated["message"]["timestamp"], undated["timestamp"]
    nulls = json.loads(openclaw_assistant("e3"))
    nulls["message"]["usage"]["input"] = None
    lines = [openclaw_session("s"), json.dumps(bad), json.dumps(undated), json.dumps(nulls)]
    result, _ = parse_openclaw("\n".join(lines).encode() + b"\n", "s")
    assert [(r.message_id, r.input_tokens) for r in result.records] == [("oc:s:e3", 0)]
    assert result.skipped == {"count-too-large": 1, "missing-timestamp": 1}


def test_surcharge_fields_are_read_into_the_record():
    line = edit(assistant("msg_1", speed="fast"), inference_geo="us",
                server_tool_use={"web_search_requests": 3, "web_fetch_requests": 2})
    [rec] = parse(line).records
    assert (rec.speed, rec.inference_geo, rec.web_search_requests) == ("fast", "us", 3)
    [plain] = parse(assistant("msg_2")).records
    assert (plain.speed, plain.inference_geo, plain.web_search_requests) == (None, None, 0)


def test_real_transcripts_carry_geo_and_search_fields_and_lose_no_line_to_the_count_rules(real_logs):
    geos, searches, skipped = set(), 0, {}
    for path in sorted(real_logs.rglob("*.jsonl")):
        result = parse_claude(path.read_bytes(), path.stem, final_tail=True)
        geos |= {r.inference_geo for r in result.records}
        searches += sum(r.web_search_requests for r in result.records)
        for reason, n in result.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    # The values Claude Code 2.1 writes (none is "us", so none of these requests carries the US surcharge).
    assert geos == {None, "", "global", "not_available"}
    assert searches == 0
    assert not set(skipped) & {"negative-count", "fractional-count", "count-too-large", "count-not-a-number",
                               "missing-timestamp"}
