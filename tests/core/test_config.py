"""Settings: defaults, the commented default file, type/range validation and error messages with line numbers."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tokentop.ingest import config
from tokentop.ingest.config import (
    ConfigError,
    Settings,
    default_config_text,
    load_settings,
    parse_settings,
    parse_week_reset,
    write_default_config,
)


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_CONFIG_HOME", "TOKENTOP_DB", "TOKENTOP_CONFIG", "TZ"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_for(tmp_path: Path, text: str) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text))
    return err.value


# --- defaults and the default file ---------------------------------------------------------------------------


def test_missing_file_gives_defaults(home):
    assert load_settings(home / "nope.toml") == Settings()
    assert load_settings() == Settings()  # default location, which does not exist
    assert not (home / ".config").exists()


def test_defaults():
    s = Settings()
    assert s.retention_days == 90 and s.poll_interval == 10.0
    assert s.alert_thresholds == [60, 80, 95, 100]
    assert s.prices == {} and s.keys == {} and s.claude_roots == []
    assert Settings().alert_thresholds is not s.alert_thresholds  # no shared mutable default


def test_every_field_has_a_docstring():
    docs = config.field_docs()
    for f in dataclasses.fields(Settings):
        assert docs.get(f.name), f.name


def test_default_config_text_parses_back_to_defaults():
    text = default_config_text()
    assert parse_settings(text) == Settings()
    for f in dataclasses.fields(Settings):
        assert re.search(rf"^#\[?{f.name}\b", text, re.M), f.name
        assert config.field_docs()[f.name].split()[0] in text


def test_default_config_text_uncommented_is_still_the_defaults():
    # Every value shown is the real default: uncommenting all of them changes nothing.
    text = re.sub(r"^#(?=[\w\[])", "", default_config_text(), flags=re.M)
    assert "\nretention_days = 90\n" in text
    assert parse_settings(text) == Settings()


def test_write_default_config(home):
    path = home / "deep" / "dir" / "config.toml"
    assert write_default_config(path) == path
    assert path.read_text(encoding="utf-8") == default_config_text()
    assert load_settings(path) == Settings()
    path.write_text("retention_days = 5\n")
    with pytest.raises(FileExistsError):
        write_default_config(path)
    assert path.read_text() == "retention_days = 5\n"
    write_default_config(path, force=True)
    assert load_settings(path) == Settings()


def test_write_default_config_to_default_location(home):
    path = write_default_config()
    assert path == config.locations.config_path() and path.exists()


def test_load_settings_default_path_honours_tokentop_config(home, monkeypatch):
    write(home, "retention_days = 7\n")
    monkeypatch.setenv("TOKENTOP_CONFIG", str(home / "config.toml"))
    assert load_settings().retention_days == 7


# --- valid values --------------------------------------------------------------------------------------------


def test_full_config(tmp_path):
    s = load_settings(
        write(
            tmp_path,
            """
            db_path = "~/usage.db"
            timezone = "Europe/Berlin"
            retention_days = 30
            claude_roots = ["~/a/projects"]
            openclaw_roots = ["/srv/oc"]
            poll_interval = 5            # an int where a float is wanted is fine
            week_reset = "tue 09:00 Europe/Berlin"
            weekly_cap_tokens = 1000000
            weekly_cap_usd = 200
            five_hour_cap_tokens = 5000
            five_hour_cap_usd = 12.5
            monthly_budget_usd = 100.0
            alert_thresholds = [100, 50, 50, 90]
            notify_send = true
            bell = true
            block_at = 110
            statusline_format = "{week_pct}"

            [prices."claude-opus-4-5"]
            input = 4.5

            [keys]
            quit = "q,ctrl+c"
            """.replace("\n            ", "\n"),
        )
    )
    assert s.poll_interval == 5.0 and isinstance(s.poll_interval, float)
    assert isinstance(s.weekly_cap_usd, float)
    assert s.alert_thresholds == [50, 90, 100]  # sorted, de-duplicated
    assert s.prices == {"claude-opus-4-5": {"input": 4.5}}
    assert s.keys == {"quit": "q,ctrl+c"}
    assert s.zone() == ZoneInfo("Europe/Berlin")
    assert (s.notify_send, s.bell, s.block_at) == (True, True, 110)


# --- errors: every message names the file, the key and the line ----------------------------------------------


def test_example_message(tmp_path):
    text = "# comment\n\ntimezone = \"UTC\"\nbell = true\n\n# retention\nretention_days = \"ninety\"\n"
    err = error_for(tmp_path, text)
    assert str(err) == f'{tmp_path / "config.toml"} line 7: retention_days must be a whole number, got "ninety"'
    assert (err.key, err.line) == ("retention_days", 7)


@pytest.mark.parametrize(
    "text, key, line, words",
    [
        ("\nretention_days = true\n", "retention_days", 2, "whole number"),  # bool is not an int
        ("retention_days = 0\n", "retention_days", 1, "at least 1"),
        ("retention_days = 2.5\n", "retention_days", 1, "whole number"),
        ("bell = 1\n", "bell", 1, "true or false"),
        ("poll_interval = \"10\"\n", "poll_interval", 1, "number"),
        ("poll_interval = 0\n", "poll_interval", 1, "more than 0"),
        ("poll_interval = inf\n", "poll_interval", 1, "number"),
        ("weekly_cap_usd = -1\n", "weekly_cap_usd", 1, "at least 0"),
        ("db_path = 5\n", "db_path", 1, "string"),
        ("claude_roots = \"~/x\"\n", "claude_roots", 1, "list"),
        ("openclaw_roots = [1]\n", "openclaw_roots", 1, "string"),
        ("bell = false\n\nalert_thresholds = [50,\n  0]\n", "alert_thresholds", 3, "between 1 and 1000"),
        ("alert_thresholds = [50, \"x\"]\n", "alert_thresholds", 1, "whole number"),
        ("block_at = 1001\n", "block_at", 1, "between 0 and 1000"),
        ("timezone = \"Mars/Olympus\"\n", "timezone", 1, "time zone"),
        ("week_reset = \"someday 09:00\"\n", "week_reset", 1, "weekday"),
        ("week_reset = \"tue 9am\"\n", "week_reset", 1, "HH:MM"),
        ("week_reset = \"tue 24:00\"\n", "week_reset", 1, "time of day"),
        ("week_reset = \"tue 09:00 Nowhere/Land\"\n", "week_reset", 1, "time zone"),
        ("statusline_format = \"{week_pct\"\n", "statusline_format", 1, "format"),
        ("keys = 3\n", "keys", 1, "table"),
        ("bell = false\n[keys]\nhelp = \"?\"\nquit = 3\n", "keys.quit", 4, "string"),
    ],
)
def test_bad_values(tmp_path, text, key, line, words):
    err = error_for(tmp_path, text)
    assert err.key == key and err.line == line
    assert f"config.toml line {line}: {key} " in str(err)
    assert words in str(err)


def test_price_override_errors_point_into_the_table(tmp_path):
    text = (
        'bell = false\n'
        '[prices."claude-opus-4-5"]\n'
        'input = 4.5\n'
        '\n'
        '[prices."claude-sonnet-4-5"]\n'
        'output = 15\n'
        'input = "cheap"\n'
    )
    err = error_for(tmp_path, text)
    assert err.line == 7
    assert 'prices."claude-sonnet-4-5".input must be a non-negative number' in str(err)


def test_new_price_prefix_missing_rate_points_at_its_header(tmp_path):
    err = error_for(tmp_path, 'bell = false\n\n[prices."my-model"]\ninput = 1\n')
    assert err.line == 3 and 'prices."my-model".output is missing' in str(err)


def test_inline_price_table_error_line(tmp_path):
    err = error_for(tmp_path, 'bell = true\nprices = { "claude-opus-4-5" = { input = -1 } }\n')
    assert err.line == 2 and "prices" in str(err)


def test_unknown_key_suggests_the_closest(tmp_path):
    err = error_for(tmp_path, "bell = true\nretention_day = 30\n")
    assert str(err).endswith('line 2: unknown setting "retention_day" (did you mean "retention_days"?)')
    err = error_for(tmp_path, "\n\n[key]\nquit = \"q\"\n")
    assert err.line == 3 and 'did you mean "keys"' in str(err)
    err = error_for(tmp_path, "zzz = 1\n")
    assert "unknown setting \"zzz\"" in str(err) and "did you mean" not in str(err)


def test_toml_syntax_error_reports_file_and_line(tmp_path):
    err = error_for(tmp_path, "bell = true\nretention_days = 90\nblock_at = = 3\n")
    assert str(err).startswith(f"{tmp_path / 'config.toml'} line 3: invalid TOML")
    err = error_for(tmp_path, 'bell = true\nstatusline_format = "unterminated\n')
    assert err.line == 2


def test_unreadable_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"bell = \xff\n")
    with pytest.raises(ConfigError, match="config.toml"):
        load_settings(path)
    with pytest.raises(ConfigError):
        load_settings(tmp_path)  # a directory


# --- week_reset ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, parsed",
    [
        ("tue 09:00 Europe/Berlin", (1, 9, 0, "Europe/Berlin")),
        ("mon 0:00", (0, 0, 0, None)),
        ("Sunday 23:59", (6, 23, 59, None)),
        ("  THU 18:30   America/New_York ", (3, 18, 30, "America/New_York")),
        ("sat 07:05 UTC", (5, 7, 5, "UTC")),
    ],
)
def test_parse_week_reset(text, parsed):
    assert parse_week_reset(text) == parsed


@pytest.mark.parametrize(
    "text",
    ["", "tue", "09:00", "tu 09:00", "tue 9", "tue 24:00", "tue 09:60", "tue 09:00 Mars/Base", "tue 09:00 UTC x"],
)
def test_parse_week_reset_rejects(text):
    with pytest.raises(ValueError):
        parse_week_reset(text)


# --- resolved values -----------------------------------------------------------------------------------------


def test_db_file(home, monkeypatch):
    assert Settings().db_file() == home / ".claude-usage" / "usage.db"
    assert Settings(db_path="~/x/u.db").db_file() == home / "x" / "u.db"
    monkeypatch.setenv("TOKENTOP_DB", str(home / "env.db"))
    assert Settings(db_path="~/x/u.db").db_file() == home / "env.db"  # env wins for a one-off run
    assert Settings().db_file() == home / "env.db"


def test_zone_explicit_tz_env_and_fallback(home, monkeypatch):
    assert Settings(timezone="Asia/Tokyo").zone() == ZoneInfo("Asia/Tokyo")
    monkeypatch.setattr(config, "_LOCALTIME", str(home / "no-localtime"))
    monkeypatch.setattr(config, "_TIMEZONE_FILE", str(home / "no-timezone"))
    assert Settings().zone() == ZoneInfo("UTC")
    monkeypatch.setenv("TZ", ":America/Chicago")
    assert Settings().zone() == ZoneInfo("America/Chicago")
    monkeypatch.setenv("TZ", "garbage-zone")
    assert Settings().zone() == ZoneInfo("UTC")


def test_zone_from_localtime_symlink_and_timezone_file(home, monkeypatch):
    monkeypatch.setattr(config, "_TIMEZONE_FILE", str(home / "no-timezone"))
    link = home / "localtime"
    link.symlink_to("/usr/share/zoneinfo/Australia/Sydney")
    monkeypatch.setattr(config, "_LOCALTIME", str(link))
    assert config.system_zone() == ZoneInfo("Australia/Sydney")
    monkeypatch.setattr(config, "_LOCALTIME", str(home / "missing"))
    (home / "timezone").write_text("Europe/Lisbon\n")
    monkeypatch.setattr(config, "_TIMEZONE_FILE", str(home / "timezone"))
    assert config.system_zone() == ZoneInfo("Europe/Lisbon")
