"""The user's side of prices: where each effective row comes from, the imported-prices file (read from a LiteLLM
price list the user downloaded: offline, validated, diffed before writing), and the models seen without a price."""

from __future__ import annotations

import json
import math
import re
import sqlite3
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .pricing import RATE_KEYS, ModelPrice, PriceTable, PricingError, model_price, normalize_model_id

IMPORTED_NAME = "prices.toml"
"""The override file `tokentop prices import` writes, beside config.toml; config.toml's [prices] still wins."""
MAX_IMPORT_BYTES = 64 * 1024 * 1024  # LiteLLM's full list is ~1 MB; this only refuses a wrong file
MAX_RATE = 1000.0  # USD per million tokens: ten times the dearest model ever sold; above it a unit is wrong

# LiteLLM keys (USD per token) → our keys (USD per million tokens).
_LITELLM_RATES = {
    "input": "input_cost_per_token",
    "output": "output_cost_per_token",
    "cache_write_5m": "cache_creation_input_token_cost",
    "cache_write_1h": "cache_creation_input_token_cost_above_1hr",
    "cache_read": "cache_read_input_token_cost",
}
_LITELLM_PREMIUM = {key: f"{value}_above_200k_tokens" for key, value in _LITELLM_RATES.items()
                    if key != "cache_write_1h"}
_DATE_SUFFIX = re.compile(r"-(\d{8})$")
_CONTEXT_TAG = re.compile(r"\[[^\]]*\]$")


def imported_path(config_path: Path) -> Path:
    return config_path.with_name(IMPORTED_NAME)


def load_imported(path: Path) -> dict:
    """The [prices."<prefix>"] tables of the imported file, or {} when there is none."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise PricingError(f"{path}: cannot read imported prices: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PricingError(f"{path}: {exc} (written by `tokentop prices import`; delete it to use the built-in "
                           "prices)") from exc
    tables = data.get("prices", {})
    if not isinstance(tables, dict):
        raise PricingError(f'{path}: expected [prices."<prefix>"] tables')
    return tables


def merge_overrides(imported: dict, config: dict) -> dict:
    """Imported tables under the config's own [prices] (the config wins key by key)."""
    merged = {str(k).strip().lower(): dict(v) if isinstance(v, dict) else v for k, v in imported.items()}
    for prefix, table in config.items():
        key = str(prefix).strip().lower()
        if isinstance(table, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], "source": "your config", "as_of": "", **table}
        else:
            merged[key] = table
    return merged


def family_prefix(model: str) -> str:
    """The prefix a config line would use for a logged id: no router/cloud wrapping, date suffix or context tag."""
    return _DATE_SUFFIX.sub("", _CONTEXT_TAG.sub("", normalize_model_id(model)))


# -- LiteLLM import ---------------------------------------------------------------------------------------

@dataclass
class Imported:
    tables: dict[str, dict] = field(default_factory=dict)
    """prefix → a complete price table (five rates, optional long_context), USD per million tokens."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(model key, why it was not imported)."""


def _per_million(key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{key} is {value!r}, not a non-negative number")
    rate = round(value * 1_000_000, 6)
    if rate > MAX_RATE:
        raise ValueError(f"{key} is ${rate:,.2f} per million tokens: not a price per token")
    return rate


def read_litellm(path: Path) -> Imported:
    """Anthropic rows of a LiteLLM `model_prices_and_context_window.json`. Raises PricingError if it is not one."""
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise PricingError(f"{path}: larger than {MAX_IMPORT_BYTES // 1024 // 1024} MB: not a LiteLLM price file")
        data = json.loads(path.read_bytes())
    except OSError as exc:
        raise PricingError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise PricingError(f"{path}: not JSON ({exc})") from exc
    if not isinstance(data, dict) or \
            not any(isinstance(v, dict) and "input_cost_per_token" in v for v in data.values()):
        raise PricingError(f"{path}: not a LiteLLM price file (no model has input_cost_per_token)")
    out = Imported()
    dated: dict[str, str] = {}  # prefix → the date suffix its table came from (the newest wins)
    for name, entry in data.items():
        if not isinstance(entry, dict) or entry.get("litellm_provider") != "anthropic":
            continue
        prefix = family_prefix(str(name))
        if not prefix.startswith("claude-"):
            continue
        try:
            table: dict[str, float | dict[str, float]] = {
                key: _per_million(src, entry[src]) for key, src in _LITELLM_RATES.items() if src in entry}
            missing = [key for key in RATE_KEYS if key not in table]
            if missing:
                raise ValueError("no " + ", ".join(_LITELLM_RATES[k] for k in missing))
            premium = {key: _per_million(src, entry[src]) for key, src in _LITELLM_PREMIUM.items() if src in entry}
            if premium:
                if len(premium) < len(_LITELLM_PREMIUM):
                    raise ValueError("only part of the above-200k rates")
                # LiteLLM has no 1h-write premium; 2x the premium input is Anthropic's stated rule for it.
                table["long_context"] = {"threshold": 200_000, "cache_write_1h": premium["input"] * 2, **premium}
        except ValueError as exc:
            out.skipped.append((str(name), str(exc)))
            continue
        suffix = _DATE_SUFFIX.search(normalize_model_id(str(name)))
        stamp = suffix[1] if suffix else "99999999"
        if prefix in out.tables and dated[prefix] >= stamp:
            continue
        out.tables[prefix], dated[prefix] = table, stamp
    return out


@dataclass(frozen=True)
class Change:
    prefix: str
    what: str
    """"new", "changed" or "same"."""
    details: tuple[str, ...] = ()


def _flat(price: ModelPrice | None) -> dict[str, float]:
    if price is None:
        return {}
    flat = {key: getattr(price.rates, key) for key in RATE_KEYS}
    if price.long_context is not None:
        flat |= {f"long_context.{key}": getattr(price.long_context, key) for key in RATE_KEYS}
        flat["long_context.threshold"] = price.long_context_threshold
    return flat


def diff(current: PriceTable, tables: dict[str, dict]) -> list[Change]:
    """What writing `tables` would change in the effective prices, row by row."""
    changes = []
    for prefix in sorted(tables):
        old = _flat(current[prefix]) if prefix in current.prefixes() else {}
        new = _flat(model_price(prefix, tables[prefix]))
        if not old:
            changes.append(Change(prefix, "new", tuple(f"{k} {v:g}" for k, v in new.items())))
            continue
        details = tuple(f"{k} {old.get(k, '-'):g} -> {v:g}" if k in old else f"{k} {v:g} (new)"
                        for k, v in new.items() if old.get(k) != v)
        changes.append(Change(prefix, "changed" if details else "same", details))
    return changes


def write_imported(path: Path, tables: dict[str, dict], source: str) -> None:
    """Write the override file atomically, every row labelled with its source and today's date."""
    today = date.today().isoformat()
    lines = [f"# Written by `tokentop prices import` from {json.dumps(source)[1:-1]} on {today}.",
             "# USD per million tokens. Your config.toml [prices] still wins; delete this file to undo the import.", ""]
    for prefix in sorted(tables):
        table = tables[prefix]
        lines.append(f"[prices.{json.dumps(prefix)}]")
        lines += [f"{key} = {table[key]!r}" for key in RATE_KEYS]
        lines += [f"source = {json.dumps('LiteLLM price file ' + source)}", f'as_of = "{today}"',
                  "confirmed = true", ""]
        premium = table.get("long_context")
        if premium:
            lines.append(f"[prices.{json.dumps(prefix)}.long_context]")
            lines += [f"threshold = {premium['threshold']}"] + [f"{key} = {premium[key]!r}" for key in RATE_KEYS] + [""]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(path)


# -- what the store has seen without a price ----------------------------------------------------------------

def unpriced_models(db: sqlite3.Connection) -> list[tuple[str, int]]:
    """(model, requests) for every model with requests the store could not price, most requests first."""
    rows = db.execute(
        "SELECT model, SUM(n) FROM (SELECT model, COUNT(*) AS n FROM requests WHERE priced = 0 GROUP BY model "
        "UNION ALL SELECT model, SUM(requests) FROM rollups WHERE priced = 0 GROUP BY model) "
        "GROUP BY model ORDER BY 2 DESC, 1").fetchall()
    return [(model, int(n)) for model, n in rows]


def config_lines(table: PriceTable, model: str) -> list[str]:
    """The config.toml lines that would price `model`."""
    row = table.match(model)
    if row is not None and not row.confirmed:
        return [f"[prices.{json.dumps(row.prefix)}]", "confirmed = true   # after checking the quoted rates"]
    head = f"[prices.{json.dumps(family_prefix(model) or model)}]"
    return [head, *(f"{key} = ...   # USD per million tokens" for key in RATE_KEYS)]


def origin(table: PriceTable, shipped: PriceTable, imported: dict, config: dict, prefix: str) -> str:
    """"built-in", "imported", "overridden" (the config changed a built-in or imported row), "config" (a row only
    the config has), or "unconfirmed" (a third-party quote that prices nothing until confirmed)."""
    if not table[prefix].confirmed:
        return "unconfirmed"
    if prefix in {str(k).strip().lower() for k in config}:
        return "overridden" if prefix in shipped.prefixes() or prefix in imported else "config"
    if prefix in imported:
        return "imported"
    return "built-in"
