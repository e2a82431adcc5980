"""`tokentop prices` (the effective table, where each row comes from, what was seen unpriced) and
`tokentop prices import FILE` (a LiteLLM price list: validated, diffed, written only when confirmed)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from support.loglines import assistant, write_lines

from tokentop.tui.cli.main import main

SONNET_45 = {"litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3.3e-06,
             "output_cost_per_token": 1.5e-05, "cache_creation_input_token_cost": 4.125e-06,
             "cache_creation_input_token_cost_above_1hr": 6.6e-06, "cache_read_input_token_cost": 3.3e-07,
             "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
             "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
             "cache_read_input_token_cost_above_200k_tokens": 6e-07}
NEW_MODEL = {"litellm_provider": "anthropic", "input_cost_per_token": 1e-06, "output_cost_per_token": 4e-06,
             "cache_creation_input_token_cost": 1.25e-06, "cache_creation_input_token_cost_above_1hr": 2e-06,
             "cache_read_input_token_cost": 1e-07}


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def cfg(home: Path) -> Path:
    path = home / "cfg" / "config.toml"
    path.parent.mkdir()
    path.write_text('retention_days = 100000\n[prices."claude-opus-4-5"]\ninput = 4.0\n')
    return path


def litellm(home: Path, entries: dict) -> Path:
    path = home / "model_prices_and_context_window.json"
    path.write_text(json.dumps({"sample_spec": {"input_cost_per_token": 0}, **entries}))
    return path


def test_prices_lists_origins_and_the_models_seen_unpriced(home, cfg, capsys):
    root = home / ".claude" / "projects" / "-home-u-app"
    write_lines(root / "s1.jsonl", [assistant("m1", "r1", model="claude-opus-5-5"),
                                    assistant("m2", "r2", model="claude-opus-5-5[1m]"),
                                    assistant("m3", "r3", model="gpt-9-20261201"),
                                    assistant("m4", "r4", model="claude-opus-5-20261101")])
    assert run(capsys, "--config", str(cfg), "ingest", "--quiet")[0] == 0
    code, out, _ = run(capsys, "--config", str(cfg), "prices", "--json")
    assert code == 0
    data = json.loads(out)
    origins = {m["prefix"]: m["origin"] for m in data["models"]}
    assert origins["claude-opus-4-5"] == "overridden" and origins["claude-opus-5"] == "built-in"
    assert origins["claude-opus-5-5"] == "unconfirmed" and "claude-opus-4-9" not in origins
    assert {m["prefix"]: m["rates"]["input"] for m in data["models"]}["claude-opus-4-5"] == 4.0
    unpriced = {u["model"]: (u["requests"], u["config"]) for u in data["unpriced"]}
    assert unpriced["claude-opus-5-5"] == (1, ['[prices."claude-opus-5-5"]',
                                               "confirmed = true   # after checking the quoted rates"])
    assert unpriced["claude-opus-5-5[1m]"][0] == 1
    assert unpriced["gpt-9-20261201"][1][0] == '[prices."gpt-9"]'
    assert "claude-opus-5-20261101" not in unpriced
    code, text, _ = run(capsys, "--config", str(cfg), "prices")
    assert "Seen without a price (3 requests" in text and "gpt-9-20261201: 1 requests" in text
    assert "fast x2, US x1.1" in text and "premium above 200k input" in text and "x5 above 100k input" in text


def test_import_shows_the_diff_refuses_without_confirmation_then_writes(home, cfg, capsys):
    src = litellm(home, {"claude-sonnet-4-5-20250929": SONNET_45, "claude-sonnet-4-5": SONNET_45,
                         "claude-newmodel-1": NEW_MODEL, "gpt-4o": {**NEW_MODEL, "litellm_provider": "openai"},
                         "bedrock/anthropic.claude-x": {**NEW_MODEL, "litellm_provider": "bedrock"},
                         "claude-broken-2": {**NEW_MODEL, "input_cost_per_token": -1},
                         "claude-units-3": {**NEW_MODEL, "output_cost_per_token": 15.0}})  # $ per million by mistake
    code, out, _ = run(capsys, "--config", str(cfg), "prices", "import", str(src), "--dry-run")
    assert code == 0
    assert "~ claude-sonnet-4-5: input 3 -> 3.3, cache_write_5m 3.75 -> 4.125, cache_write_1h 6 -> 6.6, " \
           "cache_read 0.3 -> 0.33" in out
    assert "+ claude-newmodel-1: input 1, output 4, cache_write_5m 1.25, cache_write_1h 2, cache_read 0.1" in out
    assert "skipped claude-broken-2: input_cost_per_token is -1, not a non-negative number" in out
    assert "skipped claude-units-3: output_cost_per_token is $15,000,000.00 per million tokens" in out
    assert "3 Anthropic models read" not in out and "2 Anthropic models read, 2 would change" in out
    target = cfg.with_name("prices.toml")
    assert not target.exists()
    code, _, err = run(capsys, "--config", str(cfg), "prices", "import", str(src))  # stdin is not a terminal
    assert code == 2 and "without confirmation" in err and not target.exists()
    code, out, _ = run(capsys, "--config", str(cfg), "prices", "import", str(src), "--yes")
    assert code == 0 and target.exists()
    data = json.loads(run(capsys, "--config", str(cfg), "prices", "--json")[1])
    rows = {m["prefix"]: m for m in data["models"]}
    assert rows["claude-sonnet-4-5"]["origin"] == "imported" and rows["claude-sonnet-4-5"]["rates"]["input"] == 3.3
    assert rows["claude-newmodel-1"]["source"] == f"LiteLLM price file {src.name}"
    assert rows["claude-opus-4-5"]["origin"] == "overridden"  # the config still wins over built-in rows
    # Importing the same file again changes nothing and writes nothing.
    code, out, _ = run(capsys, "--config", str(cfg), "prices", "import", str(src), "--yes")
    assert code == 0 and "0 would change" in out


def test_imported_rates_reprice_costs(home, cfg, capsys):
    root = home / ".claude" / "projects" / "-home-u-app"
    write_lines(root / "s1.jsonl", [assistant("m1", "r1", input_=1_000_000, output=0,
                                              model="claude-newmodel-1-20261201")])
    report = json.loads(run(capsys, "--config", str(cfg), "report", "models", "--json")[1])
    assert report["totals"]["unpriced_requests"] == 1
    run(capsys, "--config", str(cfg), "prices", "import", str(litellm(home, {"claude-newmodel-1": NEW_MODEL})), "--yes")
    report = json.loads(run(capsys, "--config", str(cfg), "report", "models", "--json")[1])
    assert report["totals"]["unpriced_requests"] == 0
    assert report["totals"]["cost_usd"] == pytest.approx(1.0)


@pytest.mark.parametrize(("content", "message"), [
    (b"not json", "not JSON"),
    (b"[1, 2]", "not a LiteLLM price file"),
    (b'{"claude-x": {"mode": "chat"}}', "not a LiteLLM price file"),
])
def test_import_rejects_a_file_that_is_not_a_price_list(home, cfg, capsys, content, message):
    path = home / "bad.json"
    path.write_bytes(content)
    code, _, err = run(capsys, "--config", str(cfg), "prices", "import", str(path), "--yes")
    assert code == 2 and message in err and "Traceback" not in err
    assert not cfg.with_name("prices.toml").exists()


def test_doctor_lists_unpriced_models_with_counts_and_config_lines(home, cfg, capsys):
    root = home / ".claude" / "projects" / "-home-u-app"
    write_lines(root / "s1.jsonl", [assistant(f"m{i}", f"r{i}", model="gpt-9") for i in range(3)]
                + [assistant("m9", "r9", model="claude-sonnet-5-5"), assistant("m8", "r8", model="claude-sonnet-5")])
    assert run(capsys, "--config", str(cfg), "ingest", "--quiet")[0] == 0
    data = json.loads(run(capsys, "--config", str(cfg), "doctor", "--json")[1])
    assert [(u["model"], u["requests"]) for u in data["database"]["unpriced_models"]] == [
        ("gpt-9", 3), ("claude-sonnet-5-5", 1)]
    text = run(capsys, "--config", str(cfg), "doctor")[1]
    assert "unpriced: 4 responses of models without a price" in text
    assert '      [prices."gpt-9"]\n      input = ...' in text


def test_report_totals_say_they_are_a_lower_bound_when_requests_are_unpriced(home, cfg, capsys):
    from tokentop.widgets import fmt

    root = home / ".claude" / "projects" / "-home-u-app"
    write_lines(root / "s1.jsonl", [assistant("m1", "r1", input_=100_000, output=0, model="claude-sonnet-4-5"),
                                    assistant("m2", "r2", model="gpt-9"), assistant("m3", "r3", model="gpt-9")])
    text = run(capsys, "--config", str(cfg), "report", "models")[1]
    assert "≥ $0.30 · 2 unpriced" in text and "2 unpriced requests are not in it" in text
    assert fmt.money_total(12.4, 3) == "≥ $12.40 · 3 unpriced" and fmt.money_total(12.4, 0) == "$12.40"
