"""The statusline's and the hook's fast path (ingest/claude_code/quick.py): it answers exactly what the full path
answers, from the state file, and declines whenever the store, the config, the zone, a sample or the clock says
the state may be out of date."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from support.claude_json import cached_usage, write_claude_json
from test_limits import HOUR, MIN, add_sample, add_usage, make_store
from test_statusline import FULL, NOW, payload

from tokentop.ingest.claude_code import cached_usage as cache_module
from tokentop.ingest.claude_code import hook, quick, state
from tokentop.ingest.claude_code.statusline import DEFAULT_FORMAT, FIELDS, render
from tokentop.ingest.config import Settings
from tokentop.ingest.usage import samples, windows


def test_the_mirrored_constants_agree_with_their_owners():
    assert quick.OFFICIAL_WINDOWS == windows.OFFICIAL_WINDOWS
    assert list(quick.OFFICIAL_WINDOWS) == list(windows.OFFICIAL_WINDOWS)  # the order samples are read in
    assert quick.WINDOW_LENGTH_MS == windows.WINDOW_LENGTH_MS
    assert quick.SEEN_REFRESH_MS == samples.SEEN_REFRESH_MS
    assert (quick.DEFAULT_FORMAT, quick.FIELDS) == (DEFAULT_FORMAT, FIELDS)
    assert quick.round_minute(90_000) == samples.round_minute(90_000) == 120_000
    assert set(quick.MODEL_FIELDS.values()) == set(windows.MODEL_WINDOWS)


def _stamp(path) -> str:
    st = os.stat(path)
    return f"{st.st_mtime_ns}:{st.st_size}"


def test_the_claude_json_stamp_is_the_one_cached_watch_records(home, tmp_path, monkeypatch):
    assert quick.claude_json_stamp() is None  # no file: nothing for the full path to record
    write_claude_json(home, cached_usage(NOW))
    assert quick.claude_json_stamp() == _stamp(cache_module.claude_json_path())
    other = tmp_path / "cfg"
    other.mkdir()
    (other / ".claude.json").write_text("{}")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", f"{other},/elsewhere")
    assert cache_module.claude_json_path() == other / ".claude.json"
    assert quick.claude_json_stamp() == _stamp(other / ".claude.json")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "absent"))
    assert quick.claude_json_stamp() == _stamp(cache_module.claude_json_path()) == _stamp(home / ".claude.json")


@pytest.fixture
def shop(tmp_path):
    """A store with usage today and yesterday and the FULL payload's samples recorded a few seconds before NOW."""
    store = make_store(tmp_path)
    add_usage(store, NOW - 2 * HOUR, cost=4.125)
    add_usage(store, NOW - 11 * HOUR, cost=9.0)
    render(FULL, Settings(timezone="UTC"), tmp_path / "usage.db", NOW - 5000)
    return store, tmp_path / "usage.db", tmp_path / "config.toml"


FORMATS = [None, "{model}|{week_pct}|{week_reset}|{five_hour_pct}|{five_hour_reset}|{source}|{today_cost}",
           "{week_eta} {week_pct}"]
PAYLOADS = [FULL, payload(), b"garbage", payload(seven_day={"used_percentage": 62.4})]


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("stdin", PAYLOADS)
def test_the_fast_line_is_the_full_line(shop, fmt, stdin):
    store, db, config = shop
    settings = Settings(timezone="UTC", statusline_format=fmt, weekly_cap_usd=50.0)
    assert state.publish(store, settings, db, config, NOW)
    fast = quick.statusline(stdin, db, config, NOW + 1000)
    assert fast is not None
    assert fast == render(stdin, settings, db, NOW + 1000)


def test_the_fast_line_reads_the_store_figures_from_the_state(shop):
    store, db, config = shop
    assert state.publish(store, Settings(timezone="UTC"), db, config, NOW)
    assert quick.statusline(FULL, db, config, NOW + 1000) == "week 62% · resets Tue 09:00 · 5h 18% · $4.12 today est"
    # Without rate_limits the stored official figures show (calibrated-or-old, as the full path says).
    assert quick.statusline(b"{}", db, config, NOW + 1000) == "week 62% · resets Tue 09:00 · 5h 18% · $4.12 today est"
    saved = json.loads(open(quick.state_path(db)).read())
    assert saved["line"]["today_cost_usd"] == pytest.approx(4.125)
    assert saved["samples"]["seven_day"][:2] == [62.4, 1777971600000]
    assert saved["valid_until_ms"] == NOW + quick.MAX_AGE_MS


def test_it_declines_whenever_the_state_may_be_stale(shop, monkeypatch):
    store, db, config = shop
    settings = Settings(timezone="UTC")
    assert state.publish(store, settings, db, config, NOW)
    assert quick.statusline(FULL, db, config, NOW + 1000) is not None
    changed = payload(seven_day={"used_percentage": 63, "resets_at": 1777971600}, five_hour=None)
    assert quick.statusline(changed, db, config, NOW + 1000) is None  # a new figure must be recorded
    assert quick.statusline(FULL, db, config, NOW + 56_000) is None  # an unchanged one's seen_ms is due
    assert quick.statusline(FULL, db, config, NOW - 1) is None  # computed after this moment
    assert quick.statusline(FULL, db, config, NOW + quick.MAX_AGE_MS) is None  # too old
    assert quick.statusline(FULL, db.with_name("other.db"), config, NOW + 1000) is None
    config.write_text('statusline_format = "{week_pct}"\n')
    assert quick.statusline(FULL, db, config, NOW + 1000) is None  # the config changed
    config.unlink()
    assert quick.statusline(FULL, db, config, NOW + 1000) is not None
    add_usage(store, NOW - HOUR, cost=1.0)  # a commit
    assert quick.statusline(FULL, db, config, NOW + 1000) is None
    # A system zone is recorded with what it was read from.
    assert state.publish(store, Settings(), db, config, NOW)
    assert quick.statusline(FULL, db, config, NOW + 1000) is not None
    monkeypatch.setenv("TZ", "Europe/Berlin")
    assert quick.statusline(FULL, db, config, NOW + 1000) is None


def test_a_state_is_not_written_over_a_commit_that_landed_meanwhile(shop, monkeypatch):
    store, db, config = shop
    real = state.compute

    def compute_then_commit(*args, **kwargs):
        out = real(*args, **kwargs)
        add_usage(store, NOW - HOUR, cost=1.0)
        return out

    monkeypatch.setattr(state, "compute", compute_then_commit)
    assert not state.publish(store, Settings(timezone="UTC"), db, config, NOW)


WEEK_RESET = NOW + 23 * HOUR
NEW_FIELDS = "{model_caps}|{opus_pct}|{sonnet_pct}|{fable_pct}|{balance_left}|{today_cost}|{week_pct}"


def _unpriced(store, ts: int, n: int) -> None:
    for i in range(n):
        store.db.execute(
            "INSERT INTO requests(dedup_key, message_id, request_id, source, session_id, project, agent_id, "
            "is_sidechain, model, ts, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, "
            "total_tokens, speed, cost_usd, priced, reported_cost) VALUES (?, ?, ?, 'claude-code', 's9', '/p', NULL, "
            "0, 'claude-mystery-9', ?, 0, 1000, 0, 0, 0, 1000, NULL, 0, 0, NULL)",
            (f"u{i}:{ts}", f"u{i}", f"r{i}", ts))
    # The ingester keeps the slot sums for inserted rows; an update's trigger does it here.
    store.db.execute("UPDATE requests SET priced = 0 WHERE session_id = 's9' AND ts = ?", (ts,))


@pytest.fixture
def models_shop(shop):
    """`shop` plus per-model official caps (Sonnet and Fable), unpriced requests today and API-billed use."""
    store, db, config = shop
    add_sample(store, "seven_day_sonnet", 12.0, WEEK_RESET, NOW - HOUR, seen=NOW - MIN)
    add_sample(store, "seven_day_fable", 83.0, WEEK_RESET, NOW - HOUR, seen=NOW - MIN)
    _unpriced(store, NOW - HOUR, 3)
    for day in range(3):
        add_usage(store, NOW - (day + 1) * 86_400_000, cost=5.0, source="openclaw")
    return store, db, config


BALANCE = {"api_balance_usd": 100.0, "balance_as_of": "2026-05-01"}


@pytest.mark.parametrize("fmt", [None, NEW_FIELDS, "{week_eta} {model_caps} {balance_left}"])
@pytest.mark.parametrize("stdin", PAYLOADS)
@pytest.mark.parametrize("balance", [True, False])
def test_the_fast_line_serves_the_per_model_unpriced_and_balance_fields(models_shop, fmt, stdin, balance):
    store, db, config = models_shop
    settings = Settings(timezone="UTC", statusline_format=fmt, **(BALANCE if balance else {}))
    assert state.publish(store, settings, db, config, NOW)
    fast = quick.statusline(stdin, db, config, NOW + 1000)
    assert fast is not None
    assert fast == render(stdin, settings, db, NOW + 1000)


def test_the_new_fields_read_from_the_state(models_shop):
    store, db, config = models_shop
    settings = Settings(timezone="UTC", statusline_format=NEW_FIELDS, **BALANCE)
    assert state.publish(store, settings, db, config, NOW)
    assert quick.statusline(FULL, db, config, NOW + 1000) == \
        "Fable 83% · Sonnet 12%|–|12%|83%|≈$85.00|≥ $4.12 · 3 unpriced|62%"
    assert quick.statusline(FULL, db, config, NOW + 1000) == render(FULL, settings, db, NOW + 1000)
    # The default format: today's unpriced requests, and no scan for the balance it does not show.
    assert state.publish(store, Settings(timezone="UTC", **BALANCE), db, config, NOW)
    assert quick.statusline(FULL, db, config, NOW + 1000) == \
        "week 62% · resets Tue 09:00 · 5h 18% · ≥ $4.12 · 3 unpriced today est"
    assert "balance_left_usd" not in json.loads(open(quick.state_path(db)).read())["line"]


def test_a_changed_claude_json_is_recorded_by_the_full_path_first(home, shop):
    store, db, config = shop
    settings = Settings(timezone="UTC", statusline_format="{week_pct} {model_caps}")
    assert state.publish(store, settings, db, config, NOW)
    assert quick.statusline(FULL, db, config, NOW + 1000) == "62% "
    write_claude_json(home, cached_usage(NOW - MIN, week=(62.4, WEEK_RESET), models=(("Fable", 70.0, None),)))
    assert quick.statusline(FULL, db, config, NOW + 1000) is None  # not yet in the store: the full path reads it
    assert render(FULL, settings, db, NOW + 1000) == "62% Fable 70%"
    assert state.publish(store, settings, db, config, NOW + 2000)
    assert quick.statusline(FULL, db, config, NOW + 3000) == "62% Fable 70%"
    write_claude_json(home, cached_usage(NOW, week=(62.4, WEEK_RESET), models=(("Fable", 75.0, None),)))
    assert quick.statusline(FULL, db, config, NOW + 3000) is None


RESETS = NOW + 23 * HOUR


def test_the_hook_is_quiet_only_while_the_full_hook_says_nothing(tmp_path):
    store = make_store(tmp_path)
    db, config = tmp_path / "usage.db", tmp_path / "config.toml"
    settings = Settings(timezone="UTC")
    add_sample(store, "seven_day", 30.0, RESETS, NOW - HOUR, seen=NOW - MIN)
    assert state.publish(store, settings, db, config, NOW)
    # Nothing to say: quiet while the official 30 % is fresh (confirmed a minute ago, fresh for five).
    assert json.loads(open(quick.state_path(db)).read())["hook"] == {"quiet_until_ms": NOW + 4 * MIN}
    assert quick.hook_is_quiet(db, config, NOW + 1000)
    add_sample(store, "seven_day", 82.0, RESETS, NOW - 1000)
    assert state.publish(store, settings, db, config, NOW)
    assert not quick.hook_is_quiet(db, config, NOW + 1000)  # a warning is due: only the full hook gives it
    assert hook.run(b"{}", settings, db, NOW + 1000)["systemMessage"].startswith("Claude weekly limit at 82%")
    assert state.publish(store, settings, db, config, NOW + 2000)
    assert quick.hook_is_quiet(db, config, NOW + 3000)  # told, and in the cooldown
    assert hook.run(b"{}", settings, db, NOW + 3000) is None
    blocking = Settings(timezone="UTC", block_at=80)
    assert state.publish(store, blocking, db, config, NOW + 4000)
    assert not quick.hook_is_quiet(db, config, NOW + 5000)  # at block_at: the full hook blocks
    assert quick.hook_is_quiet(tmp_path / "absent.db", config, NOW)  # no history: nothing to say, as before


def test_the_hook_is_quiet_after_a_per_model_warning_which_never_blocks(tmp_path):
    store = make_store(tmp_path)
    db, config = tmp_path / "usage.db", tmp_path / "config.toml"
    settings = Settings(timezone="UTC", block_at=95)
    add_sample(store, "seven_day", 30.0, RESETS, NOW - HOUR, seen=NOW - MIN)
    add_sample(store, "seven_day_fable", 97.0, RESETS, NOW - HOUR, seen=NOW - MIN)
    assert state.publish(store, settings, db, config, NOW)
    assert not quick.hook_is_quiet(db, config, NOW + 1000)  # a Fable warning is due: the full hook gives it
    answer = hook.run(b'{"hook_event_name": "PreToolUse"}', settings, db, NOW + 1000)
    assert answer == {"systemMessage": "Claude weekly Fable limit at 97% — resets Tue 09:00 (tokentop)"}
    assert state.publish(store, settings, db, config, NOW + 2000)
    assert quick.hook_is_quiet(db, config, NOW + 3000)  # told; and a per-model cap over block_at never blocks
    assert hook.run(b'{"hook_event_name": "PreToolUse"}', settings, db, NOW + 3000) is None


FORBIDDEN = ("sqlite3", "argparse", "textual", "dataclasses", "tokentop.ingest.pricing", "tokentop.ingest.store",
             "tokentop.ingest.usage", "tokentop.ingest.logs", "tokentop.ingest.config", "tokentop.tui.cli.main")
PROBE = f"""
import sys
sys.argv = ["tokentop", *sys.argv[1:]]
from tokentop.tui.cli.entry import main
code = main()
bad = sorted(m for m in sys.modules if m.startswith({FORBIDDEN!r}))
print("MODULES " + ",".join(bad))
sys.exit(code)
"""


def run_entry(args, home, stdin: bytes) -> tuple[str, str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], input=stdin, capture_output=True, timeout=60,
                          env={"HOME": str(home), "TZ": "UTC", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr
    *lines, modules = proc.stdout.decode().splitlines()
    return "\n".join(lines), modules.removeprefix("MODULES ")


def wait_for_state(db, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not os.path.exists(quick.state_path(db)):
        assert time.monotonic() < deadline, "no state file"
        time.sleep(0.05)


def test_the_console_entry_answers_without_the_store_parsers_or_prices(home):
    now = int(time.time() * 1000)
    store = make_store(home)
    add_usage(store, now - 60_000, cost=3.5)
    store.close()
    db = home / "usage.db"
    stdin = payload(seven_day={"used_percentage": 12, "resets_at": now // 1000 + 86_400})
    line, modules = run_entry(["statusline", "--db", str(db)], home, stdin)  # the full path, which writes the state
    assert line.startswith("week 12% · ") and line.endswith(" · $3.50 today est") and "sqlite3" in modules
    wait_for_state(db)  # written by a process of its own, after the command answered
    again, modules = run_entry(["--db", str(db), "statusline"], home, stdin)
    assert again == line and modules == ""
    wrapped, modules = run_entry(["--db", str(db), "statusline", "--then", "echo theirs"], home, stdin)
    assert wrapped == line + " | theirs" and modules == ""
    quiet, modules = run_entry(["hook", f"--db={db}"], home, b'{"hook_event_name": "PreToolUse"}')
    assert quiet == "" and modules == ""
    # Anything else is not the fast path's to guess: argparse answers, as before.
    proc = subprocess.run([sys.executable, "-m", "tokentop.tui.cli", "statusline", "--nope"], input=stdin,
                          capture_output=True, timeout=60, env={"HOME": str(home), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 2 and b"unrecognized arguments: --nope" in proc.stderr
