"""Claude Code's cached official figures (`~/.claude.json` → cachedUsageUtilization, log-formats.md §4)."""

from __future__ import annotations

import json

import pytest
from support.claude_json import SECRETS, cached_usage, iso, write_claude_json

from tokentop.ingest.claude_code import cached_usage as cu

NOW = 1_795_000_000_000
HOUR = 3_600_000


def test_reads_five_hour_week_and_per_model_caps_with_resets_and_age(home):
    cache = cached_usage(NOW - HOUR, five=(18.5, NOW + 2 * HOUR), week=(41.0, NOW + 50 * HOUR),
                         models=(("Sonnet", 12.0, None), ("Opus", 63.25, NOW + 20 * HOUR), ("Fable", 7.0, None)))
    write_claude_json(home, cache)
    read = cu.read_cached()
    assert read.hint is None and read.path == home / ".claude.json"
    usage = read.usage
    assert usage.age_ms(NOW) == HOUR
    assert [(lim.window, lim.used_pct, lim.model) for lim in usage.limits] == [
        ("five_hour", 18.5, None), ("week", 41.0, None),
        ("week_fable", 7.0, "Fable"), ("week_opus", 63.25, "Opus"), ("week_sonnet", 12.0, "Sonnet")]
    assert usage.get("five_hour").resets_at_ms == NOW + 2 * HOUR
    assert usage.get("week_opus").resets_at_ms == NOW + 20 * HOUR
    # A scoped cap without its own reset gets the week's (the builder's default), 50 h on.
    assert usage.get("week_sonnet").resets_at_ms == NOW + 50 * HOUR
    assert usage.get("week_sonnet").official_key == "seven_day_sonnet"
    assert usage.get("five_hour").official_key == "five_hour"


def test_a_figure_counts_only_while_its_window_is_open(home):
    write_claude_json(home, cached_usage(NOW - 30 * HOUR, five=(90.0, NOW - 25 * HOUR), week=(55.0, NOW + HOUR)))
    usage = cu.read_cached().usage
    assert [lim.window for lim in usage.open_limits(NOW)] == ["week", "week_sonnet"]
    assert usage.open_limits(NOW + 2 * HOUR) == []


def test_limits_only_and_utilization_only_shapes(home):
    only_limits = {"fetchedAtMs": NOW, "limits": [
        {"kind": "weekly_all", "percent": 33, "resets_at": iso(NOW + HOUR)},
        {"kind": "weekly_scoped", "percent": 5, "resets_at": iso(NOW + HOUR), "scope": {"model": {}}},  # no model
        {"kind": "mystery", "percent": 5}]}
    usage = cu.parse_cached(only_limits)
    assert [(lim.window, lim.used_pct) for lim in usage.limits] == [("week", 33.0)]
    only_util = {"fetchedAtMs": NOW, "utilization": {"seven_day_opus": {"utilization": 71, "resets_at": None},
                                                     "seven_day_sonnet": None}}
    usage = cu.parse_cached(only_util)
    assert [(lim.window, lim.used_pct, lim.resets_at_ms) for lim in usage.limits] == [("week_opus", 71.0, None)]
    assert not usage.limits[0].is_open(NOW)  # no reset known: never treated as an open window


@pytest.mark.parametrize("bad", [float("nan"), -1, 5000, "40", True, None])
def test_bad_percentages_are_dropped(bad):
    value = {"fetchedAtMs": NOW, "utilization": {"five_hour": {"utilization": bad, "resets_at": iso(NOW + HOUR)},
                                                 "seven_day": {"utilization": 10, "resets_at": iso(NOW + HOUR)}}}
    usage = cu.parse_cached(json.loads(json.dumps(value, allow_nan=True)))
    assert [lim.window for lim in usage.limits] == ["week"]


def test_a_hostile_model_name_is_reduced_to_safe_characters():
    value = {"limits": [{"kind": "weekly_scoped", "percent": 9, "resets_at": iso(NOW + HOUR),
                         "scope": {"model": {"display_name": "\x1b[31mOpus\x07 ; rm -rf ~ $(x) " + "y" * 80}}}]}
    limit = cu.parse_cached(value).limits[0]
    assert limit.model == "31mOpus rm -rf x yyyyy"  # cut at 24 characters before spaces are collapsed
    assert limit.window == "week_31mopus_rm_rf_x_yyyyy"
    assert "\x1b" not in limit.model and "$" not in limit.model and len(limit.model) <= 24


def test_missing_damaged_huge_and_empty_files_give_a_hint_never_an_error(home, monkeypatch):
    read = cu.read_cached()
    assert read.usage is None and "no " in read.hint and ".claude.json" in read.hint
    path = home / ".claude.json"
    path.write_text('{"cachedUsageUtilization": {"fetchedAtMs": 1', encoding="utf-8")
    assert "not valid JSON" in cu.read_cached().hint
    path.write_text("[1, 2, 3]", encoding="utf-8")
    assert "no cached usage figures" in cu.read_cached().hint
    write_claude_json(home, None)
    assert "no cached usage figures" in cu.read_cached().hint
    path.write_bytes(b"\xff\xfe\x00garbage")
    assert cu.read_cached().usage is None
    path.unlink()
    path.mkdir()
    assert "cannot read" in cu.read_cached().hint
    path.rmdir()
    monkeypatch.setattr(cu, "MAX_BYTES", 100)
    write_claude_json(home, cached_usage(NOW))
    read = cu.read_cached()
    assert read.usage is None and "over the" in read.hint


def test_claude_config_dir_wins_when_it_holds_the_file(home, monkeypatch):
    write_claude_json(home, cached_usage(NOW, week=(10.0, None)))
    config = home / "alt"
    config.mkdir()
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(config))
    assert cu.claude_json_path() == home / ".claude.json"  # not there yet: the home one
    write_claude_json(config, cached_usage(NOW, week=(77.0, None)))
    assert cu.claude_json_path() == config / ".claude.json"
    assert cu.read_cached().usage.get("week").used_pct == 77.0


def test_nothing_but_the_figures_leaves_the_reader(home):
    """The file's account data (ids, e-mail, org, prompt history) must not reach anything tokentop keeps."""
    write_claude_json(home, cached_usage(NOW - HOUR, models=(("Sonnet", 12.0, None), ("Opus", 3.0, None))))
    read = cu.read_cached()
    text = repr(read) + repr(vars(read.usage))
    for secret in ("SECRET", "someone@example.com", "Private Org", "PROMPT", "secret-project", "numStartups"):
        assert secret not in text
    for lim in read.usage.limits:
        assert set(lim.__dataclass_fields__) == {"window", "used_pct", "resets_at_ms", "model"}
        assert lim.model in (None, "Sonnet", "Opus")
    assert json.dumps(SECRETS)  # the fixture really carries them


def test_doctor_shows_the_cached_figures_and_nothing_else_of_the_file(home, capsys):
    import time as _time

    from tokentop.tui.cli.main import main
    now = int(_time.time() * 1000)
    write_claude_json(home, cached_usage(now - HOUR, five=(18.0, now - 1000), week=(41.5, now + 9 * HOUR),
                                         models=(("Sonnet", 12.0, None),)))
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "week: 41.5% (resets" in out and "Sonnet week: 12% (resets" in out
    assert "5-hour: 18% (window closed: not used)" in out
    assert main(["doctor", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["window"] for f in data["official_cache"]["figures"]] == ["five_hour", "week", "week_sonnet"]
    for text in (out, json.dumps(data)):
        for secret in ("SECRET", "someone@example.com", "Private Org", "PROMPT", "secret-project"):
            assert secret not in text
