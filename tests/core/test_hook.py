"""`tokentop hook`: warnings once per level and window with a cooldown, blocking at block_at, and failing open."""

from __future__ import annotations

import io
import json
import time

import pytest
from test_limits import HOUR, MIN, add_sample, add_usage, make_store, ms

from tokentop.ingest.claude_code import hook
from tokentop.ingest.config import Settings
from tokentop.tui.cli.main import main

NOW = ms("2026-05-04T10:00:00+00:00")  # Monday
RESETS = ms("2026-05-05T09:00:00+00:00")  # Tuesday 09:00 UTC
PRE = json.dumps({"session_id": "s", "hook_event_name": "PreToolUse", "tool_name": "Bash",
                  "tool_input": {"command": "rm -rf /"}}).encode()
PROMPT = json.dumps({"session_id": "s", "hook_event_name": "UserPromptSubmit", "prompt": "hello"}).encode()


class FakeStdin:
    def __init__(self, data: bytes):
        self.buffer = io.BytesIO(data)

    def isatty(self) -> bool:
        return False


def run_cli(monkeypatch, capsys, argv: list[str], stdin: bytes) -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", FakeStdin(stdin))
    code = main(argv)
    return code, capsys.readouterr().out


def test_warns_once_per_level_and_window_with_a_cooldown(tmp_path):
    store = make_store(tmp_path)
    settings = Settings(timezone="UTC")
    add_sample(store, "seven_day", 82.0, RESETS, NOW - 2 * HOUR, seen=NOW - MIN)
    db = tmp_path / "usage.db"
    assert hook.run(PRE, settings, db, NOW) == {
        "systemMessage": "Claude weekly limit at 82% — resets Tue 09:00 (tokentop)"}
    assert hook.run(PRE, settings, db, NOW + MIN) is None  # told already
    # 96 % two minutes later: a new level, but within the 10-minute cooldown.
    add_sample(store, "seven_day", 96.0, RESETS, NOW + 2 * MIN)
    assert hook.run(PROMPT, settings, db, NOW + 3 * MIN) is None
    store.db.execute("UPDATE official_samples SET seen_ms = ? WHERE used_pct = 96", (NOW + 11 * MIN,))
    assert hook.run(PROMPT, settings, db, NOW + 11 * MIN) == {
        "systemMessage": "Claude weekly limit at 96% — resets Tue 09:00 (tokentop)"}
    store.db.execute("UPDATE official_samples SET seen_ms = ? WHERE used_pct = 96", (NOW + 40 * MIN,))
    assert hook.run(PRE, settings, db, NOW + 40 * MIN) is None
    told = store.db.execute("SELECT window, level FROM hook_warnings ORDER BY level").fetchall()
    assert told == [("week", 60), ("week", 80), ("week", 95)]


def test_the_fullest_window_is_told_first(tmp_path):
    store = make_store(tmp_path)
    add_sample(store, "seven_day", 61.0, RESETS, NOW - MIN)
    add_sample(store, "five_hour", 81.0, NOW + 2 * HOUR, NOW - MIN)
    answer = hook.run(PRE, Settings(timezone="UTC"), tmp_path / "usage.db", NOW)
    assert answer == {"systemMessage": "Claude 5-hour limit at 81% — resets 12:00 (tokentop)"}


def test_calibrated_figures_are_marked_as_estimates(tmp_path):
    store = make_store(tmp_path)
    start = RESETS - 7 * 24 * HOUR
    for i in range(1, 21):
        add_usage(store, start + i * HOUR, cost=4.0)
    add_sample(store, "seven_day", 20.0, RESETS, start + 5 * HOUR + 30 * MIN)
    add_sample(store, "seven_day", 40.0, RESETS, start + 10 * HOUR + 30 * MIN)  # 1 % per $ → 80 % by hour 20
    answer = hook.run(PRE, Settings(timezone="UTC"), tmp_path / "usage.db", start + 21 * HOUR)
    assert answer == {"systemMessage": "Claude weekly limit at ~80% — resets Tue 09:00 (tokentop)"}


def test_block_at_denies_tool_calls_and_blocks_prompts(tmp_path):
    store = make_store(tmp_path)
    add_sample(store, "seven_day", 95.0, RESETS, NOW - MIN)
    settings = Settings(timezone="UTC", block_at=90)
    db = tmp_path / "usage.db"
    reason = ("Claude weekly limit at 95% (block_at = 90%), resets Tue 09:00: tokentop is stopping further "
              "{what} until then. Set block_at = 0 in tokentop's config.toml to allow them.")
    assert hook.run(PRE, settings, db, NOW) == {
        "hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
                               "permissionDecisionReason": reason.format(what="tool calls")},
        "systemMessage": reason.format(what="tool calls") + " (tokentop)"}
    assert hook.run(PROMPT, settings, db, NOW) == {"decision": "block", "reason": reason.format(what="prompts")}
    # Blocking is not rate-limited: every call is denied while the window is over the line.
    assert hook.run(PRE, settings, db, NOW + MIN)["hookSpecificOutput"]["permissionDecision"] == "deny"
    # Events that cannot block get the ordinary warning.
    stop = json.dumps({"hook_event_name": "Stop"}).encode()
    assert "systemMessage" in hook.run(stop, settings, db, NOW + 20 * MIN)


def test_no_database_no_output_and_none_created(tmp_path):
    assert hook.run(PRE, Settings(timezone="UTC"), tmp_path / "nope" / "usage.db", NOW) is None
    assert not (tmp_path / "nope" / "usage.db").exists()


def test_cli_prints_the_json_answer(home, monkeypatch, capsys):
    db = home / "usage.db"
    now = int(time.time() * 1000)
    add_sample(make_store(home), "seven_day", 83.0, now + 2 * 24 * HOUR, now - MIN)
    code, out = run_cli(monkeypatch, capsys, ["--db", str(db), "hook"], PRE)
    assert code == 0
    assert json.loads(out)["systemMessage"].startswith("Claude weekly limit at 83% — resets ")


@pytest.mark.parametrize("breakage", ["directory", "garbage", "bad-config", "raises", "bad-stdin"])
def test_fails_open(home, monkeypatch, capsys, breakage):
    db = home / "usage.db"
    argv = ["--db", str(db), "hook"]
    stdin = PRE
    if breakage == "directory":
        db.mkdir()
    elif breakage == "garbage":
        db.write_bytes(b"this is not a database" * 100)
    elif breakage == "bad-config":
        make_store(home)
        config = home / "bad.toml"
        config.write_text("block_at = [\n")
        argv = ["--db", str(db), "--config", str(config), "hook"]
        add_sample(make_store(home), "seven_day", 99.0, int(time.time() * 1000) + HOUR, int(time.time() * 1000))
        # A broken config means defaults (no blocking); the warning still comes through.
    elif breakage == "raises":
        make_store(home)
        monkeypatch.setattr(hook, "respond", lambda *a: 1 / 0)
    elif breakage == "bad-stdin":
        make_store(home)
        stdin = b"\xff\xfe{{{ not json"
    code, out = run_cli(monkeypatch, capsys, argv, stdin)
    assert code == 0
    if breakage == "bad-config":
        assert "permissionDecision" not in out and "99%" in out
    else:
        assert out == ""
