"""The price table: data/prices.toml plus user overrides, model-id matching, and per-request cost estimates."""

from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path

RATE_KEYS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
_MODEL_KEYS = frozenset(RATE_KEYS) | {"fast_multiplier", "us_inference_multiplier", "long_context", "source", "as_of",
                                      "confirmed"}
_LONG_CONTEXT_KEYS = frozenset(RATE_KEYS) | {"threshold"}
_PER_TOKEN = 1e-6  # rates are USD per million tokens

# Ids arrive from several front ends: "anthropic/claude-…" (OpenRouter, LiteLLM), "us.anthropic.claude-…" (Bedrock
# cross-region), "claude-…@20250929" (Vertex), "anthropic.claude-…-v1:0" (Bedrock). Strip all of that first.
_ROUTER_PREFIX = re.compile(r"^.*/")
_BEDROCK_PREFIX = re.compile(r"^(?:[a-z]+\.)?anthropic\.")
_VERTEX_SUFFIX = re.compile(r"@.*$")
_BEDROCK_SUFFIX = re.compile(r"(?:-v\d+)?(?::\d+)?$")
# OpenRouter writes versions with dots ("claude-sonnet-4.5"); the table uses dashes.
_VERSION_DOT = re.compile(r"(?<=\d)\.(?=\d)")
# A short number right after a prefix is a newer version ("claude-opus-4" + "-10"), not a date: don't guess its price.
_NEWER_VERSION = re.compile(r"^-\d{1,2}(?!\d)")
_CACHE_LIMIT = 4096  # distinct ids are few; the cap only guards against a log full of garbage ids
WEB_SEARCH_PER_1000 = 10.0
"""USD per 1,000 web searches when the price file has no [fees] table (a user's own `--path` table)."""


@dataclass(frozen=True)
class Rates:
    """USD per million tokens for each kind of token."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


@dataclass(frozen=True)
class ModelPrice:
    """The price of every model id that starts with `prefix`."""

    prefix: str
    rates: Rates
    long_context: Rates | None = None
    """Rates for the whole request once its total input exceeds `long_context_threshold` (Sonnet 4/4.5)."""
    long_context_threshold: int = 200_000
    fast_multiplier: float | None = None
    """Applied to the whole cost of a request made with `speed == "fast"`; None: not known (the request is flagged)."""
    us_multiplier: float = 1.0
    """Applied to the whole cost of a request with `inference_geo == "us"` (US-only inference, 4.6 and later)."""
    source: str = ""
    as_of: str = ""
    confirmed: bool = True
    """False for third-party quotes: the row is listed but prices nothing (`PriceTable.lookup` skips it)."""


@dataclass(frozen=True, slots=True)
class Quote:
    """One request's estimate and how it was reached."""

    usd: float | None
    """The estimate; for an unpriced request a lower bound (its standard-speed cost, or None when nothing is known)."""
    priced: bool
    surcharges: tuple[str, ...] = ()
    """What was applied beyond the base rates, in words: "long context", "fast x6", "US inference x1.1",
    "3 web searches"."""
    problem: str | None = None
    """Why the request is not priced: "unpriced model", "fast mode has no known multiplier"."""


class PricingError(ValueError):
    """A price table (shipped file or user override) has a missing or bad value.

    `prefix` and `key` (dotted inside the model's table, e.g. "long_context.threshold"; None for the table
    itself) and the bare `problem` let the config loader point at the offending line in its own words.
    """

    def __init__(self, message: str, prefix: str | None = None, key: str | None = None, problem: str = "") -> None:
        super().__init__(message)
        self.prefix = prefix
        self.key = key
        self.problem = problem or message


def _bad(prefix: str, key: str | None, problem: str) -> PricingError:
    where = f'model "{prefix}"' + (f" {key}" if key else "")
    return PricingError(f"{where} {problem}", prefix, key, problem)


def _number(prefix: str, key: str, value: object, positive: bool = False) -> float:
    # bool is an int subclass in Python; `input = true` is a typo, not 1.0.
    if (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
            and not (positive and value == 0)):
        return float(value)
    raise _bad(prefix, key, f"must be a {'positive' if positive else 'non-negative'} number, got {value!r}")


def _check_keys(prefix: str, table: dict, allowed: frozenset[str], where: str = "") -> None:
    for key in table:
        if key not in allowed:
            raise _bad(prefix, where + key, f"is not a price key (expected one of: {', '.join(sorted(allowed))})")


def _rates(prefix: str, table: dict, where: str = "") -> Rates:
    for key in RATE_KEYS:
        if key not in table:
            raise _bad(prefix, where + key, f"is missing (a new price table must give all of: {', '.join(RATE_KEYS)})")
    return Rates(*(_number(prefix, where + key, table[key]) for key in RATE_KEYS))


def model_price(prefix: str, table: object) -> ModelPrice:
    """One validated row from its TOML table (the shipped file, the config, or an imported file)."""
    if not isinstance(table, dict):
        raise _bad(prefix, None, f"must be a table of rates, got {table!r}")
    _check_keys(prefix, table, _MODEL_KEYS)
    long_context, threshold = None, 200_000
    lc = table.get("long_context")
    if lc is not None:
        if not isinstance(lc, dict):
            raise _bad(prefix, "long_context", f"must be a table, got {lc!r}")
        _check_keys(prefix, lc, _LONG_CONTEXT_KEYS, "long_context.")
        long_context = _rates(prefix, lc, "long_context.")
        threshold = lc.get("threshold", threshold)
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
            raise _bad(prefix, "long_context.threshold", f"must be a whole number of tokens >= 1, got {threshold!r}")
    fast = table.get("fast_multiplier")
    fast = None if fast is None else _number(prefix, "fast_multiplier", fast, positive=True)
    us = _number(prefix, "us_inference_multiplier", table.get("us_inference_multiplier", 1.0), positive=True)
    words = {key: table.get(key, "") for key in ("source", "as_of")}
    for key, value in words.items():
        if not isinstance(value, str):
            raise _bad(prefix, key, f"must be a string, got {value!r}")
    confirmed = table.get("confirmed", True)
    if not isinstance(confirmed, bool):
        raise _bad(prefix, "confirmed", f"must be true or false, got {confirmed!r}")
    return ModelPrice(prefix, _rates(prefix, table), long_context, threshold, fast, us, words["source"],
                      words["as_of"], confirmed)


def _merge(base: dict, override: dict) -> dict:
    """Deep-merge so a partial override (even of long_context) replaces only the keys it names."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_shipped() -> str:
    from importlib.resources import files  # deferred: only the first load needs it

    return files("tokentop.ingest").joinpath("data/prices.toml").read_text(encoding="utf-8")


def normalize_model_id(model: str) -> str:
    """Reduce a logged id to the bare Anthropic id.

    "us.anthropic.claude-opus-4-1-20250805-v1:0" -> "claude-opus-4-1-20250805".
    """
    m = model.strip().lower()
    m = _ROUTER_PREFIX.sub("", m)
    m = _BEDROCK_PREFIX.sub("", m)
    m = _VERTEX_SUFFIX.sub("", m)
    m = _BEDROCK_SUFFIX.sub("", m)
    return _VERSION_DOT.sub("-", m)


def _matches(model: str, prefix: str) -> bool:
    if not model.startswith(prefix):
        return False
    rest = model[len(prefix):]
    return rest == "" or (rest[0] in "-@[" and not _NEWER_VERSION.match(rest))


class PriceTable:
    """The effective prices (shipped table + user overrides). Immutable after load; lookups are cached."""

    def __init__(self, models: dict[str, ModelPrice], web_search_per_1000: float = WEB_SEARCH_PER_1000,
                 overridden: frozenset[str] = frozenset()) -> None:
        self._models = dict(models)
        # Longest prefix first, so the first match is the most specific one.
        self._by_length = sorted(self._models.values(), key=lambda p: len(p.prefix), reverse=True)
        self._cache: dict[str, ModelPrice | None] = {}
        self.web_search_per_1000 = web_search_per_1000
        self.overridden = overridden
        """Prefixes the user's config changed or added."""

    @classmethod
    def load(cls, overrides: dict | None = None, path: Path | None = None) -> PriceTable:
        name = str(path) if path is not None else "prices.toml"
        try:
            text = Path(path).read_text(encoding="utf-8") if path is not None else _read_shipped()
            data = tomllib.loads(text)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PricingError(f"{name}: cannot read price table: {exc}") from exc
        models = data.get("models")
        if not isinstance(models, dict):
            raise PricingError(f'{name}: expected [models."<prefix>"] tables')
        fees = data.get("fees", {})
        web = fees.get("web_search_per_1000", WEB_SEARCH_PER_1000) if isinstance(fees, dict) else None
        web = _number("fees", "web_search_per_1000", web)
        raw = {prefix.strip().lower(): table for prefix, table in models.items()}
        for prefix, table in (overrides or {}).items():
            key = str(prefix).strip().lower()
            if not isinstance(table, dict):
                raise _bad(prefix, None, f"must be a table of rates, got {table!r}")
            base = raw.get(key)
            # The user has looked at this row: their override confirms it unless it says otherwise.
            table = {"source": "your config", "as_of": "", "confirmed": True, **table}
            raw[key] = _merge(base, table) if isinstance(base, dict) else table
        models = {prefix: model_price(prefix, table) for prefix, table in raw.items()}
        return cls(models, web, frozenset(str(p).strip().lower() for p in overrides or {}))

    def match(self, model: str) -> ModelPrice | None:
        """The row a logged id resolves to (longest prefix; date suffixes and `[1m]` tags allowed), confirmed or not."""
        if not model:
            return None
        try:
            return self._cache[model]
        except KeyError:
            pass
        norm = normalize_model_id(model)
        found = next((p for p in self._by_length if _matches(norm, p.prefix)), None)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[model] = found
        return found

    def lookup(self, model: str) -> ModelPrice | None:
        """The row that prices `model`, or None: unknown, or only an unconfirmed quote (never a guess)."""
        found = self.match(model)
        return found if found is not None and found.confirmed else None

    def quote(self, model: str, input_tokens: int, output_tokens: int, cache_write_5m: int, cache_write_1h: int,
              cache_read: int, speed: str | None = None, geo: str | None = None, web_searches: int = 0) -> Quote:
        """One request's cost: base or long-context/tier rates, then fast mode and US inference on the whole
        cost, then the web-search fee (a fee per search, untouched by the multipliers)."""
        price = self.lookup(model)
        if price is None:
            return Quote(None, False, problem="unpriced model")
        rates, applied = price.rates, []
        total_input = input_tokens + cache_write_5m + cache_write_1h + cache_read
        # The premium applies to the whole request, not just the tokens above the threshold.
        if price.long_context is not None and total_input > price.long_context_threshold:
            rates = price.long_context
            applied.append(f"above {price.long_context_threshold:,} input")
        usd = (
            input_tokens * rates.input
            + output_tokens * rates.output
            + cache_write_5m * rates.cache_write_5m
            + cache_write_1h * rates.cache_write_1h
            + cache_read * rates.cache_read
        ) * _PER_TOKEN
        problem = None
        if speed == "fast":
            if price.fast_multiplier is None:
                problem = "fast mode has no known multiplier"
            else:
                usd *= price.fast_multiplier
                applied.append(f"fast x{price.fast_multiplier:g}")
        if geo == "us" and price.us_multiplier != 1.0:
            usd *= price.us_multiplier
            applied.append(f"US inference x{price.us_multiplier:g}")
        if web_searches:
            usd += web_searches * self.web_search_per_1000 / 1000
            applied.append(f"{web_searches} web search{'es' if web_searches != 1 else ''}")
        return Quote(usd, problem is None, tuple(applied), problem)

    def cost(self, model: str, input_tokens: int, output_tokens: int, cache_write_5m: int, cache_write_1h: int,
             cache_read: int, speed: str | None = None, geo: str | None = None, web_searches: int = 0) -> float | None:
        """The estimate, or None when the request is not fully priced (see `quote` for the lower bound)."""
        q = self.quote(model, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, speed, geo,
                       web_searches)
        return q.usd if q.priced else None

    def fingerprint(self) -> str:
        # What changes a cost, not where it was read from: restating a shipped rate leaves the fingerprint alone.
        rows = [{k: v for k, v in asdict(self._models[p]).items() if k not in ("source", "as_of")}
                for p in sorted(self._models)]
        canonical = json.dumps([rows, self.web_search_per_1000], sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def rows(self) -> list[ModelPrice]:
        return [self._models[p] for p in sorted(self._models)]

    def prefixes(self) -> list[str]:
        return sorted(self._models)

    def __getitem__(self, prefix: str) -> ModelPrice:
        return self._models[prefix]


def model_family(model: str) -> str:
    """Return "opus", "sonnet", "haiku" or "other" from the id alone (works for unpriced and old ids too)."""
    norm = normalize_model_id(model or "")
    for family in ("opus", "sonnet", "haiku"):
        if family in norm:
            return family
    return "other"
