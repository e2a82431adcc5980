"""Machine names: where this machine's comes from, and which peer names are read."""

from __future__ import annotations

import pytest

from tokentop.ingest.config import ConfigError, Settings, parse_settings
from tokentop.ingest.machine_names import clean_machine_name, is_safe_name, shown


def test_machine_name_comes_from_env_then_config_then_host(monkeypatch):
    monkeypatch.delenv("TOKENTOP_MACHINE", raising=False)
    monkeypatch.setattr("platform.node", lambda: "Big Box.local")
    assert Settings().machine() == "Big-Box"
    assert Settings(machine_name="laptop").machine() == "laptop"
    monkeypatch.setenv("TOKENTOP_MACHINE", "ci runner #3")
    assert Settings(machine_name="laptop").machine() == "ci-runner-3"


def test_sync_folder_from_env_or_config(monkeypatch, tmp_path):
    monkeypatch.delenv("TOKENTOP_SYNC_DIR", raising=False)
    assert Settings().sync_folder() is None
    assert Settings(sync_dir="~/Sync/tt").sync_folder().parts[-2:] == ("Sync", "tt")
    monkeypatch.setenv("TOKENTOP_SYNC_DIR", str(tmp_path))
    assert Settings(sync_dir="~/Sync/tt").sync_folder() == tmp_path


def test_a_bad_machine_name_in_the_config_names_its_line():
    with pytest.raises(ConfigError) as err:
        parse_settings('timezone = "UTC"\nmachine_name = "../etc"\n', "c.toml")
    assert err.value.line == 2 and "not a usable machine name" in str(err.value) and '"etc"' in str(err.value)


@pytest.mark.parametrize("name, ok", [("laptop", True), ("desk-2.home_lan", True), ("..", False), (".hidden", False),
                                      ("-rf", False), ("a/b", False), ("x" * 65, False), ("evil\x1b[2J", False),
                                      ("", False), ("ünïcode", False)])
def test_which_peer_folder_names_are_read(name, ok):
    assert is_safe_name(name) is ok


def test_names_are_shown_escaped():
    assert shown("evil\x1b[2Jname") == "evil\\x1b[2Jname"
    assert len(shown("x" * 100)) == 40
    assert clean_machine_name("  ") == "machine"
