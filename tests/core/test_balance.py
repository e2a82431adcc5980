"""A prepaid API balance: the config keys, which use it falls with, how long it lasts, its alerts, and `status`."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from test_limits import DAY, HOUR, add_usage, make_store, ms

from tokentop.ingest.config import ConfigError, Settings, default_config_text, parse_settings
from tokentop.ingest.usage.alerts import WARNING, active_alerts, check_alerts, status_level
from tokentop.ingest.usage.balance import compute_balance, runway_text
from tokentop.ingest.usage.limits import compute_status

UTC = ZoneInfo("UTC")
AS_OF = ms("2026-05-01T00:00:00+00:00")
NOW = AS_OF + 10 * DAY + 12 * HOUR


def tag(store, session: str, source: str, billing: str | None) -> None:
    store.db.execute("INSERT INTO sessions(session_id, source, billing) VALUES (?, ?, ?)", (session, source, billing))


def balance_settings(**kw) -> Settings:
    return Settings(timezone="UTC", api_balance_usd=100.0, balance_as_of="2026-05-01", **kw)


def test_config_keys_are_validated_and_documented(tmp_path):
    s = parse_settings('api_balance_usd = 50\nbalance_as_of = 2026-12-01\n')  # a bare TOML date
    assert s.api_balance_usd == 50.0 and s.balance_as_of == "2026-12-01"
    s = parse_settings('api_balance_usd = 50\nbalance_as_of = "2026-12-01 14:30"\n')
    assert s.balance_as_of == "2026-12-01 14:30"
    with pytest.raises(ConfigError) as err:
        parse_settings('timezone = "UTC"\napi_balance_usd = 50\n', "c.toml")
    assert err.value.line == 2 and "needs balance_as_of" in str(err.value)
    with pytest.raises(ConfigError) as err:
        parse_settings('api_balance_usd = 50\nbalance_as_of = "first of May"\n', "c.toml")
    assert err.value.line == 2 and err.value.key == "balance_as_of"
    with pytest.raises(ConfigError):
        parse_settings('api_balance_usd = -5\nbalance_as_of = "2026-12-01"\n')
    text = default_config_text()
    assert "#api_balance_usd = 0.0" in text and '#balance_as_of = ""' in text
    assert parse_settings(text) == Settings()  # the commented default file still loads


def test_the_balance_falls_only_with_api_billed_use_since_its_date(tmp_path):
    store = make_store(tmp_path)
    add_usage(store, AS_OF - HOUR, cost=40.0, session="oc-before", source="openclaw")  # before the reading
    for d in range(10):  # $3 a day of OpenClaw's own (untagged JSONL) use since
        add_usage(store, AS_OF + d * DAY + 9 * HOUR, cost=3.0, session="oc-jsonl", source="openclaw")
    add_usage(store, AS_OF + DAY, cost=50.0, session="cc", source="claude-code")  # the subscription
    tag(store, "oc-cli", "openclaw", "cli-harness")  # OpenClaw driving the Claude CLI: the subscription too
    add_usage(store, AS_OF + 2 * DAY, cost=5.0, session="oc-cli", source="openclaw")
    tag(store, "oc-agent", "openclaw", "api")  # an agent store's session on an API key
    add_usage(store, AS_OF + 3 * DAY, cost=2.0, session="oc-agent", source="openclaw")
    b = compute_balance(store, balance_settings(), NOW)
    assert b.spent_usd == pytest.approx(32.0) and b.left_usd == pytest.approx(68.0)
    assert b.used_pct == pytest.approx(32.0)
    # The pace: the last 7 days' (from May 4 12:00) API-billed spend, $3 on each of May 5..10, over 7 days; the
    # last 24 hours (from May 10 12:00) had none, so the week's pace stands.
    assert b.daily_usd == pytest.approx(18.0 / 7)
    assert b.runs_out_ms == NOW + int(68.0 / (18.0 / 7) * DAY)
    assert runway_text(b, UTC) == "runs out ~Jun 06 (in 26d 10h) at $2.57/day"
    # Claude Code on an API key: take it out of the subscription's sources and it counts too.
    b = compute_balance(store, balance_settings(cap_sources=["openclaw"]), NOW)
    assert b.spent_usd == pytest.approx(50.0 + 2.0)  # Claude Code's $50, the api-tagged $2; untagged OpenClaw not
    assert compute_balance(store, Settings(timezone="UTC"), NOW) is None


def test_alerts_before_it_runs_out_and_resolved_for_a_new_reading(tmp_path):
    store = make_store(tmp_path)
    for d in range(10):
        add_usage(store, AS_OF + d * DAY + 9 * HOUR, cost=8.5, source="openclaw")  # $85 of $100
    settings = balance_settings()
    fired = check_alerts(store, settings, NOW)
    assert [(a.window, a.level) for a in fired] == [("balance", 80)]
    # $51 in the last 7 days: $7.29/day; the $15 left lasts 2.06 days from Mon 12:00.
    assert fired[0].message == ("API balance ~85% used: ≈$15.00 of $100.00 left (est), runs out ~Wed 13:24 "
                                "(in 2d 1h) at $7.29/day")
    statuses = compute_status(store, settings, NOW)
    b = compute_balance(store, settings, NOW)
    active = active_alerts(store, NOW, statuses=statuses, zone=UTC, balance=b)
    assert [(a.window, a.level, a.severity) for a in active] == [("balance", 80, "warning")]
    assert status_level(statuses, settings, active) == WARNING
    # A top-up read today: a new balance, and the old one's alert is resolved.
    topped = balance_settings().__class__(timezone="UTC", api_balance_usd=200.0, balance_as_of="2026-05-11")
    b2 = compute_balance(store, topped, NOW)
    assert b2.spent_usd == 0 and active_alerts(store, NOW, statuses=statuses, zone=UTC, balance=b2) == []


def test_a_balance_that_runs_out_within_three_days_warns_below_80_percent(tmp_path):
    store = make_store(tmp_path)
    for h in range(20):  # $40 in the last day: at $40/day the $60 left lasts a day and a half
        add_usage(store, NOW - 20 * HOUR + h * HOUR, cost=2.0, source="openclaw")
    fired = check_alerts(store, balance_settings(), NOW)
    b = compute_balance(store, balance_settings(), NOW)
    assert b.used_pct == pytest.approx(40.0) and b.runs_out_soon
    assert [(a.level, a.severity) for a in fired] == [(80, "warning")]
    assert fired[0].used_pct == 40.0


def test_status_shows_the_balance_in_text_and_json(tmp_path, monkeypatch, capsys, home):
    from tokentop.tui.cli.main import main
    db = tmp_path / "usage.db"
    store = make_store(tmp_path)
    for d in range(10):
        add_usage(store, AS_OF + d * DAY + 9 * HOUR, cost=2.0, source="openclaw")
    store.close()
    config = home / "config.toml"
    config.write_text('timezone = "UTC"\napi_balance_usd = 100\nbalance_as_of = 2026-05-01\n')
    monkeypatch.setattr("tokentop.tui.cli.limits._now_ms", lambda: NOW)
    code = main(["--db", str(db), "--config", str(config), "status", "--no-ingest"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("balance"))
    # $12 in the last 7 days ($1.71/day): the $80 left lasts 46.7 days.
    assert line == ("balance ~20% used · ≈$80.00 of $100.00 left since May 01 (est) · runs out ~Jun 27 "
                    "(in 46d 16h) at $1.71/day")
    assert code == 0
    main(["--db", str(db), "--config", str(config), "status", "--no-ingest", "--json"])
    data = json.loads(capsys.readouterr().out)["balance"]
    assert data["estimate"] is True and data["left_usd"] == 80.0 and data["used_pct"] == 20.0
    assert data["as_of"] == "2026-05-01T00:00:00+00:00"
    # The balance scans every API-billed row since its date: `status` reads it once for the alerts, the banner
    # and the figure (it read it three times).
    import tokentop.ingest.usage.balance as balance_module
    calls = []
    real = balance_module.compute_balance
    monkeypatch.setattr(balance_module, "compute_balance", lambda *a, **k: calls.append(1) or real(*a, **k))
    main(["--db", str(db), "--config", str(config), "status", "--no-ingest", "--json"])
    assert json.loads(capsys.readouterr().out)["balance"]["left_usd"] == 80.0 and len(calls) == 1


def test_the_statusline_can_show_what_is_left(tmp_path):
    from tokentop.ingest.claude_code import statusline
    store = make_store(tmp_path)
    for d in range(10):
        add_usage(store, AS_OF + d * DAY + 9 * HOUR, cost=2.0, source="openclaw")
    store.close()
    fmt = "{balance_left} left · {today_cost} today"
    line = statusline.render(b"{}", balance_settings(statusline_format=fmt), tmp_path / "usage.db", NOW)
    assert line == "≈$80.00 left · $0.00 today"
    line = statusline.render(b"{}", Settings(timezone="UTC", statusline_format=fmt), tmp_path / "usage.db", NOW)
    assert line == "– left · $0.00 today"
