"""`tokentop statusline`: samples from stdin (valid, partial, garbage, missing), the line, --then, and
`tokentop status --json` after a sample."""

from __future__ import annotations

import json
import time

import pytest
from test_hook import FakeStdin
from test_limits import DAY, HOUR, MIN, add_usage, make_store, ms

from tokentop.ingest.claude_code import statusline
from tokentop.ingest.claude_code.statusline import model_label, parse_input, render
from tokentop.ingest.config import Settings
from tokentop.ingest.usage.samples import load_samples
from tokentop.tui.cli.main import main

NOW = ms("2026-05-04T10:00:00+00:00")
WEEK_RESET_S = ms("2026-05-05T09:00:00+00:00") // 1000
FIVE_RESET_S = ms("2026-05-04T13:00:00+00:00") // 1000


def payload(**rate_limits) -> bytes:
    return json.dumps({
        "session_id": "4d5611e5-241a-462a-8d15-5122611a9569", "transcript_path": "/x.jsonl", "cwd": "/w",
        "model": {"id": "claude-opus-4-6", "display_name": "Opus 4.6"}, "version": "2.1.90",
        "cost": {"total_cost_usd": 1.5}, **({"rate_limits": rate_limits} if rate_limits is not None else {}),
    }).encode()


FULL = payload(five_hour={"used_percentage": 18, "resets_at": FIVE_RESET_S},
               seven_day={"used_percentage": 62.4, "resets_at": WEEK_RESET_S},
               seven_day_opus=None)


def test_parse_valid_partial_and_odd_shapes():
    parsed = parse_input(FULL)
    assert [(s.window, s.used_pct, s.resets_at_ms) for s in parsed.samples] == [
        ("seven_day", 62.4, WEEK_RESET_S * 1000), ("five_hour", 18.0, FIVE_RESET_S * 1000)]
    assert parsed.session_id == "4d5611e5-241a-462a-8d15-5122611a9569" and parsed.model == "Opus 4.6"
    partial = parse_input(payload(seven_day={"used_percentage": 7}, five_hour={"resets_at": FIVE_RESET_S},
                                  seven_day_sonnet={"used_percentage": 3, "resets_at": "2026-05-05T09:00:00Z"}))
    assert [(s.window, s.used_pct, s.resets_at_ms) for s in partial.samples] == [
        ("seven_day", 7.0, None), ("seven_day_sonnet", 3.0, WEEK_RESET_S * 1000)]
    odd = parse_input(payload(seven_day={"used_percentage": "62", "resets_at": WEEK_RESET_S},
                              five_hour={"used_percentage": True, "resets_at": FIVE_RESET_S},
                              seven_day_opus={"used_percentage": -4, "resets_at": WEEK_RESET_S}))
    assert odd.samples == []
    assert parse_input(payload(five_hour={"used_percentage": 5, "resets_at": FIVE_RESET_S * 1000})).samples[0] \
        .resets_at_ms == FIVE_RESET_S * 1000  # milliseconds accepted too


@pytest.mark.parametrize("text", [b"", b"garbage{", b"[1, 2]", b"null", b'{"rate_limits": 5}', b"\xff\xfe",
                                  b"[" * 100_000])
def test_garbage_gives_no_samples(text):
    assert parse_input(text).samples == []


def test_missing_rate_limits_keeps_the_model():
    parsed = parse_input(json.dumps({"model": {"id": "claude-sonnet-4-5-20250929"}, "session_id": "a b; rm"}))
    assert parsed.samples == [] and parsed.model == "Sonnet 4.5" and parsed.session_id is None


def test_model_label_never_passes_text_through_unfiltered():
    assert model_label({"id": "claude-haiku-4-5-20251001"}) == "Haiku 4.5"
    assert model_label({"id": "us.anthropic.claude-opus-4-1-20250805-v1:0"}) == "Opus 4.1"
    assert model_label({"id": "x", "display_name": "Evil $(touch /tmp/x) \x1b[31m`id`"}) == "Evil (touch tmpx) id"
    assert model_label({"id": "claude-3-5-sonnet-20241022", "display_name": "Sonnet 3.5"}) == "Sonnet 3.5"
    assert model_label({"id": "claude-opus-4-20250514"}) == "Opus 4"
    assert model_label("claude-opus-4-6") is None


def test_render_records_samples_and_prints_the_official_figures(tmp_path):
    db = tmp_path / "usage.db"
    store = make_store(tmp_path)
    add_usage(store, NOW - 2 * HOUR, cost=4.125)
    add_usage(store, NOW - 11 * HOUR, cost=9.0)  # yesterday (UTC)
    line = render(FULL, Settings(timezone="UTC"), db, NOW)
    assert line == "week 62% · resets Tue 09:00 · 5h 18% · $4.12 today est"
    samples = load_samples(store, 0)
    assert [(k, [s.used_pct for s in v]) for k, v in sorted(samples.items())] == [
        ("five_hour", [18.0]), ("seven_day", [62.4])]
    assert samples["seven_day"][0].session_id == "4d5611e5-241a-462a-8d15-5122611a9569"
    render(FULL, Settings(timezone="UTC"), db, NOW + 1000)  # the same figures again: no new row
    assert store.db.execute("SELECT COUNT(*) FROM official_samples").fetchone()[0] == 2


def test_without_rate_limits_the_store_fills_in(tmp_path):
    db = tmp_path / "usage.db"
    render(FULL, Settings(timezone="UTC"), db, NOW)
    # A later payload without rate_limits (an API error, an older build): the stored figures, now calibrated-or-old.
    line = render(payload(), Settings(timezone="UTC"), db, NOW + 10 * MIN)
    assert line == "week 62% · resets Tue 09:00 · 5h 18% · $0.00 today est"
    settings = Settings(timezone="UTC", weekly_cap_usd=50.0, week_reset="tue 09:00 UTC")
    other = tmp_path / "other"
    store = make_store(other)
    add_usage(store, NOW - HOUR, cost=10.0)
    line = render(b"garbage", settings, other / "usage.db", NOW)
    assert line == "week ~20% · resets Tue 09:00 · 5h – · $10.00 today est"


def test_format_fields_eta_and_a_broken_format(tmp_path):
    db = tmp_path / "usage.db"
    store = make_store(tmp_path)
    start = ms("2026-05-04T00:00:00+00:00")
    for h in range(10):
        add_usage(store, start - 24 * HOUR + h * HOUR, cost=5.0)  # yesterday: $50, 10 active hours
    settings = Settings(timezone="UTC", weekly_cap_usd=100.0, week_reset="mon 00:00 UTC",
                        statusline_format="{model}|{week_pct}|{week_eta}|{source}|{nope}")
    # This week so far $0; pace 5 %/active hour × 10/34 active share (since Sun 00:00) → 100 % in 68 h: Thu 06:00.
    line = render(payload(), settings, db, NOW)
    assert line == "Opus 4.6|~0%|Thu 06:00|configured|?"
    broken = Settings(timezone="UTC", statusline_format="{week_pct:d} {0}")
    assert render(FULL, broken, db, NOW) == "week 62% · resets Tue 09:00 · 5h 18% · $0.00 today est"


def test_an_unusable_store_still_prints_a_line(tmp_path):
    db = tmp_path / "usage.db"
    db.write_bytes(b"not a database" * 50)
    assert render(FULL, Settings(timezone="UTC"), db, NOW) == "week 62% · resets Tue 09:00 · 5h 18% · – today est"
    line = render(b"", Settings(timezone="UTC"), tmp_path / "absent.db", NOW)
    assert line == "week – · resets – · 5h – · – today est"
    assert not (tmp_path / "absent.db").exists()


def run_cli(monkeypatch, capsys, argv, stdin):
    monkeypatch.setattr("sys.stdin", FakeStdin(stdin))
    code = main(argv)
    return code, capsys.readouterr().out


def live_payload(week_pct: float = 62, five_pct: float = 18) -> bytes:
    """A payload for the command line, which runs on the real clock."""
    now_s = int(time.time())
    return payload(seven_day={"used_percentage": week_pct, "resets_at": now_s + 2 * 86400},
                   five_hour={"used_percentage": five_pct, "resets_at": now_s + 3 * 3600})


def test_cli_then_runs_the_previous_statusline_with_the_same_stdin(home, monkeypatch, capsys):
    db = home / "usage.db"
    seen = home / "their-stdin.json"
    then = f"cat > {seen}; printf 'theirs\\nsecond line\\n'"
    stdin = live_payload()
    code, out = run_cli(monkeypatch, capsys, ["--db", str(db), "statusline", "--then", then], stdin)
    assert code == 0
    first, second = out.splitlines()
    assert first.startswith("week 62% · resets ") and first.endswith(" today est | theirs")
    assert second == "second line"
    assert seen.read_bytes() == stdin


def test_cli_then_failing_or_slow_leaves_ours_alone(home, monkeypatch, capsys):
    db = home / "usage.db"
    code, out = run_cli(monkeypatch, capsys, ["--db", str(db), "statusline", "--then", "exit 3"], live_payload())
    assert code == 0 and " | " not in out and out.startswith("week 62%")
    monkeypatch.setattr(statusline, "THEN_TIMEOUT_S", 0.3)
    monkeypatch.setattr(statusline.Wrapped.__init__, "__defaults__", (0.3,))
    t0 = time.monotonic()
    code, out = run_cli(monkeypatch, capsys, ["--db", str(db), "statusline", "--then", "sleep 5; echo late"],
                        live_payload())
    assert code == 0 and "late" not in out and out.startswith("week 62%")
    assert time.monotonic() - t0 < 3


def test_cli_garbage_stdin_exits_zero_with_a_line(home, monkeypatch, capsys):
    code, out = run_cli(monkeypatch, capsys, ["--db", str(home / "usage.db"), "statusline"], b"\x00garbage")
    assert code == 0 and out == "week – · resets – · 5h – · – today est\n"
    assert "garbage" not in out


def test_status_json_after_a_statusline_sample(home, monkeypatch, capsys):
    db = home / "usage.db"
    now = int(time.time() * 1000)
    store = make_store(home)
    for h in range(1, 9):
        add_usage(store, now - h * HOUR, cost=2.5)  # $20 over the last 8 hours
    resets = (now + 2 * DAY) // 60_000 * 60  # whole minutes, in seconds
    sample = payload(seven_day={"used_percentage": 40, "resets_at": resets},
                     five_hour={"used_percentage": 12, "resets_at": now // 1000 + 3 * 3600})
    assert run_cli(monkeypatch, capsys, ["--db", str(db), "statusline"], sample)[0] == 0
    code, out = run_cli(monkeypatch, capsys, ["--db", str(db), "status", "--json", "--no-ingest"], b"")
    data = json.loads(out)
    week = data["windows"]["week"]
    assert (week["used_pct"], week["official_pct"], week["source"]) == (40.0, 40.0, "official")
    assert week["resets_at_ms"] == resets * 1000
    # 40 % after $20 → 2 %/$; $2.50 an hour on 8 of the last 24 hours → 5 %/h × 1/3 over 48 h = +80 % → 120 %.
    assert week["forecast"]["rate_pct_per_hour"] == pytest.approx(5.0)
    assert week["forecast"]["pct_at_reset"] == pytest.approx(120.0, abs=1.0)
    assert week["forecast"]["eta_ms"] is not None and week["forecast"]["summary"].startswith("cap reached in ")
    assert data["windows"]["five_hour"]["used_pct"] == 12.0
    assert code == data["exit_code"] == 0
    assert data["alerts"] == [] and data["new_alerts"] == []  # 40 % is under the first threshold (60 %)


def test_a_reset_outside_its_window_is_not_recorded(tmp_path):
    db = tmp_path / "usage.db"
    store = make_store(tmp_path)
    bogus = payload(five_hour={"used_percentage": 18, "resets_at": WEEK_RESET_S},  # 23 h away: not a 5-hour window
                    seven_day={"used_percentage": 62.4, "resets_at": NOW // 1000 - 3600})  # already past
    render(bogus, Settings(timezone="UTC"), db, NOW)
    assert store.db.execute("SELECT COUNT(*) FROM official_samples").fetchone()[0] == 0
    render(FULL, Settings(timezone="UTC"), db, NOW)
    assert store.db.execute("SELECT COUNT(*) FROM official_samples").fetchone()[0] == 2
