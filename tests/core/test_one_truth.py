"""One screen, one truth: alerts that the official figure replaced are resolved, `status` never says "ok" beside a
listed warning, alerts against the user's own cap never name Claude's limit, no month forecast from nothing, and the
next-step advice fits 80 columns."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from test_limits import DAY, HOUR, WEEK, add_sample, add_usage, make_store, ms

from tokentop.ingest.config import Settings
from tokentop.ingest.usage import advice
from tokentop.ingest.usage.alerts import CRITICAL, OK, WARNING, active_alerts, check_alerts, status_level
from tokentop.ingest.usage.limits import compute_status

UTC = ZoneInfo("UTC")
START = ms("2026-05-04T09:00:00+00:00")  # a Monday


def own_cap(**kw) -> Settings:
    return Settings(timezone="UTC", week_reset="mon 09:00 UTC", weekly_cap_usd=10.0, **kw)


def test_an_alert_on_your_cap_is_resolved_once_the_official_week_replaces_its_window(tmp_path):
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=8.5)  # 85% of the $10 cap of the configured week
    now = START + 2 * HOUR
    fired = check_alerts(store, own_cap(), now)
    assert [(a.window, a.level) for a in fired] == [("week", 80)]
    assert fired[0].message == "Your weekly cap at ~85% ($8.50 of $10.00 est) — resets Mon 09:00"
    statuses = compute_status(store, own_cap(), now)
    assert [a.level for a in active_alerts(store, now, statuses=statuses, zone=UTC)] == [80]
    # Claude's own figure arrives: its week resets on Thursday (another window) and reads 18%.
    official_reset = ms("2026-05-07T15:00:00+00:00")
    add_sample(store, "seven_day", 18.0, official_reset, now + 60_000)
    later = now + 2 * 60_000
    statuses = compute_status(store, own_cap(), later)
    assert statuses["week"].source == "official" and statuses["week"].end_ms == official_reset
    assert active_alerts(store, later, statuses=statuses, zone=UTC) == []
    # Without the statuses (the old reading), the stale alert would still be listed: the filter is what resolves it.
    assert [a.level for a in active_alerts(store, later)] == [80]
    assert status_level(statuses, own_cap(), active_alerts(store, later, statuses=statuses, zone=UTC)) == OK


def test_an_alert_in_the_same_window_is_resolved_when_the_official_figure_reads_lower(tmp_path):
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=8.5)
    now = START + 2 * HOUR
    check_alerts(store, own_cap(), now)
    add_sample(store, "seven_day", 30.0, START + WEEK, now + 60_000)  # the same reset as the configured week
    later = now + 2 * 60_000
    statuses = compute_status(store, own_cap(), later)
    assert statuses["week"].end_ms == START + WEEK and round(statuses["week"].used_pct) == 30
    assert active_alerts(store, later, statuses=statuses, zone=UTC) == []
    # Claude's figure then climbs past 80%: the same window's alert is true again (and was never fired twice).
    add_sample(store, "seven_day", 83.0, START + WEEK, later + 60_000)
    statuses = compute_status(store, own_cap(), later + 2 * 60_000)
    assert [a.level for a in active_alerts(store, later + 2 * 60_000, statuses=statuses, zone=UTC)] == [80]
    assert check_alerts(store, own_cap(), later + 2 * 60_000, statuses=statuses) == []


def test_official_alert_names_claude_and_your_cap_names_yours(tmp_path):
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=2.0)
    now = START + 2 * HOUR
    add_sample(store, "seven_day", 82.0, START + WEEK, now - 60_000)
    fired = check_alerts(store, Settings(timezone="UTC", weekly_cap_usd=100.0), now)
    assert [a.message for a in fired] == ["Claude weekly limit at 82% — resets Mon 09:00"]
    store2 = make_store(tmp_path / "b")
    add_usage(store2, START + HOUR, cost=2.0)
    fired = check_alerts(store2, Settings(timezone="UTC", five_hour_cap_usd=2.5), now)
    assert [a.message for a in fired] == ["Your 5-hour cap at ~80% ($2.00 of $2.50 est) — resets 15:00"]
    assert all("Claude" not in a.message for a in fired)


def test_status_is_never_ok_beside_an_active_warning(tmp_path):
    # Custom thresholds make "warning" (the third-highest, 50%) and alert severity (80%+) differ; an active 90%
    # alert must still make the level a warning even when the window itself reads lower than warning_pct.
    store = make_store(tmp_path)
    settings = own_cap(alert_thresholds=[50, 90, 99, 100])
    add_usage(store, START + HOUR, cost=9.2)
    now = START + 2 * HOUR
    check_alerts(store, settings, now)
    statuses = compute_status(store, settings, now)
    active = active_alerts(store, now, statuses=statuses, zone=UTC)
    assert [a.severity for a in active] == ["warning"]
    # A window under every threshold (as machine_view or a stale reading could leave it) with that alert listed:
    calm = {name: s for name, s in statuses.items() if name != "week"}
    assert status_level(calm, settings) == OK
    assert status_level(calm, settings, active) == WARNING
    add_usage(store, START + 3 * HOUR, cost=0.75)  # 99.5%: the 99 alert, critical
    statuses = compute_status(store, settings, START + 4 * HOUR)
    check_alerts(store, settings, START + 4 * HOUR, statuses=statuses)
    active = active_alerts(store, START + 4 * HOUR, statuses=statuses, zone=UTC)
    assert status_level(calm, settings, active) == CRITICAL


def test_no_month_forecast_from_a_month_with_nothing_spent(tmp_path):
    store = make_store(tmp_path)
    month_start = ms("2026-06-01T00:00:00+00:00")
    for d in range(1, 7):  # last week of May: heavy use
        for h in range(8):
            add_usage(store, month_start - d * DAY + h * HOUR, cost=4.0)
    now = month_start + 30 * 60_000  # half an hour into June, nothing spent yet
    for settings in (Settings(timezone="UTC"), Settings(timezone="UTC", monthly_budget_usd=500.0)):
        month = compute_status(store, settings, now)["month"]
        assert month.used_cost == 0
        assert month.forecast.summary == "nothing spent this month yet: no forecast"
        assert month.forecast.projected_total in (0.0, None) and month.forecast.projection == []
    # One request later the pace forecast is back (May's pace over the rest of June).
    add_usage(store, now + 60_000, cost=1.0)
    month = compute_status(store, Settings(timezone="UTC"), now + 2 * 60_000)["month"]
    assert month.forecast.summary.startswith("no budget set: on pace for $")
    assert month.forecast.projected_total > 100


def test_next_step_only_without_any_week_percent_and_always_within_80_columns(tmp_path):
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=2.0)
    now = START + 2 * HOUR
    bare = compute_status(store, Settings(timezone="UTC"), now)
    for installed in (False, True):
        line = advice.next_step(bare, installed)
        assert line is not None and len(line) <= advice.WIDTH
        lines = advice.next_step_lines(bare, installed)
        assert lines and all(len(x) <= 80 for x in lines)
    assert "tokentop install-hooks" in advice.next_step(bare) and "weekly_cap_usd" in advice.next_step(bare)
    assert "install-hooks" not in advice.next_step(bare, True)
    capped = compute_status(store, own_cap(), now)
    assert advice.next_step(capped) is None and advice.next_step_lines(capped) == []
    five_only = compute_status(store, Settings(timezone="UTC", five_hour_cap_usd=20.0), now)
    assert five_only["week"].used_pct is None and five_only["five_hour"].used_pct == 10.0
    assert advice.next_step(five_only) is None  # the 5-hour gauge reads 10%: "No % yet" would contradict it
    add_sample(store, "seven_day", 12.0, START + WEEK, now - 60_000)
    official = compute_status(store, Settings(timezone="UTC"), now)
    assert advice.next_step(official) is None


def test_status_says_the_next_step_in_text_and_json(tmp_path, monkeypatch, capsys, home):
    import json

    from tokentop.tui.cli.main import main
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=2.0)
    store.close()
    db = str(tmp_path / "usage.db")
    monkeypatch.setattr("tokentop.tui.cli.limits._now_ms", lambda: START + 2 * HOUR)
    assert main(["--db", db, "status", "--no-ingest"]) == 0
    lines = capsys.readouterr().out.splitlines()
    step = [line for line in lines if line.startswith("next step:") or line.startswith("           ")]
    assert step == ["next step: `tokentop install-hooks` gives Claude's own live 5-hour and weekly %,",
                    "           or set weekly_cap_usd in your config (`tokentop config --init`)."]
    assert lines[-1] == "status: ok" and lines.index(step[0]) == len(lines) - 3
    main(["--db", db, "status", "--no-ingest", "--json"])
    assert json.loads(capsys.readouterr().out)["next_step"] == (
        "`tokentop install-hooks` gives Claude's own live 5-hour and weekly %, or set weekly_cap_usd in your "
        "config (`tokentop config --init`).")
    # With a cap there is nothing to advise.
    config = home / "c.toml"
    config.write_text("weekly_cap_usd = 50\n")
    main(["--db", db, "--config", str(config), "status", "--no-ingest", "--json"])
    assert json.loads(capsys.readouterr().out)["next_step"] is None


def test_the_hook_blocks_in_the_name_of_your_cap_not_claudes(tmp_path):
    from tokentop.ingest.claude_code.hook import block_response
    store = make_store(tmp_path)
    add_usage(store, START + HOUR, cost=9.6)
    week = compute_status(store, own_cap(), START + 2 * HOUR)["week"]
    answer = block_response("UserPromptSubmit", week, 90, UTC, START + 2 * HOUR)
    assert answer["reason"].startswith("Your weekly cap at ~96% (block_at = 90%), resets Mon 09:00: ")
