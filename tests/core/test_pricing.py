"""Price table: shipped rates, model-id matching, premium and fast-mode arithmetic, overrides, fingerprint."""

from __future__ import annotations

import pytest

from tokentop.ingest.pricing import RATE_KEYS, ModelPrice, PriceTable, PricingError, Rates, model_family


def approx(x: float):
    return pytest.approx(x, rel=1e-12, abs=1e-15)


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


# --- the shipped table ---------------------------------------------------------------------------------------

EXPECTED = {
    "claude-opus-4": (15, 75, 18.75, 30, 1.50),
    "claude-opus-4-1": (15, 75, 18.75, 30, 1.50),
    "claude-opus-4-5": (5, 25, 6.25, 10, 0.50),
    "claude-opus-4-6": (5, 25, 6.25, 10, 0.50),
    "claude-opus-4-7": (5, 25, 6.25, 10, 0.50),
    "claude-opus-4-8": (5, 25, 6.25, 10, 0.50),
    "claude-opus-5": (5, 25, 6.25, 10, 0.50),
    "claude-opus-5-5": (4, 20, 5, 8, 0.20),  # unconfirmed (third-party quote)
    "claude-sonnet-4": (3, 15, 3.75, 6, 0.30),
    "claude-sonnet-4-5": (3, 15, 3.75, 6, 0.30),
    "claude-sonnet-4-6": (3, 15, 3.75, 6, 0.30),
    "claude-sonnet-5": (2, 10, 2.50, 4, 0.20),
    "claude-sonnet-5-5": (2, 10, 2.50, 4, 0.10),  # unconfirmed (third-party quote)
    "claude-fable-5": (10, 50, 12.50, 20, 1.00),
    "claude-fable-5-1": (10, 50, 12.50, 20, 0.25),
    "claude-mythos-5-1": (10, 50, 12.50, 20, 0.25),
    "claude-haiku-4-5": (1, 5, 1.25, 2, 0.10),
    "claude-haiku-5-5": (0.10, 0.50, 0.125, 0.20, 0.01),
    "claude-3-5-haiku": (0.80, 4, 1.00, 1.60, 0.08),
    "claude-3-7-sonnet": (3, 15, 3.75, 6, 0.30),
    "claude-3-5-sonnet": (3, 15, 3.75, 6, 0.30),
    "claude-3-opus": (15, 75, 18.75, 30, 1.50),
    "claude-3-haiku": (0.25, 1.25, 0.30, 0.50, 0.03),
}


def test_shipped_table_has_exactly_the_documented_rates(table):
    assert table.prefixes() == sorted(EXPECTED)
    for prefix, rates in EXPECTED.items():
        assert table[prefix].rates == Rates(*map(float, rates)), prefix


def test_only_sonnet_4_and_4_5_carry_the_long_context_premium_and_haiku_5_5_its_tier(table):
    premium = Rates(6.0, 22.50, 7.50, 12.0, 0.60)
    for prefix in table.prefixes():
        price = table[prefix]
        if prefix in ("claude-sonnet-4", "claude-sonnet-4-5"):
            assert price.long_context == premium and price.long_context_threshold == 200_000
        elif prefix == "claude-haiku-5-5":  # 5x the base rates above 100k input
            assert price.long_context == Rates(0.50, 2.50, 0.625, 1.00, 0.05)
            assert price.long_context_threshold == 100_000
        else:
            assert price.long_context is None, prefix


def test_fast_multipliers_are_exactly_the_documented_ones(table):
    fast = {p: table[p].fast_multiplier for p in table.prefixes() if table[p].fast_multiplier is not None}
    assert fast == {"claude-opus-4-6": 6.0, "claude-opus-4-7": 6.0, "claude-opus-4-8": 2.0, "claude-opus-5": 2.0}


def test_us_inference_surcharge_on_4_6_and_later_only(table):
    later = {"claude-opus-4-6", "claude-opus-4-7", "claude-opus-4-8", "claude-opus-5", "claude-opus-5-5",
             "claude-sonnet-4-6", "claude-sonnet-5", "claude-sonnet-5-5", "claude-fable-5", "claude-fable-5-1",
             "claude-mythos-5-1", "claude-haiku-5-5"}
    assert {p for p in table.prefixes() if table[p].us_multiplier != 1.0} == later
    assert {table[p].us_multiplier for p in later} == {1.1}


def test_every_row_names_its_source_and_date_and_only_the_quoted_ones_are_unconfirmed(table):
    for prefix in table.prefixes():
        price = table[prefix]
        assert price.source and len(price.as_of) == 10 and price.as_of[:2] == "20", prefix
    assert {p for p in table.prefixes() if not table[p].confirmed} == {"claude-opus-5-5", "claude-sonnet-5-5"}


def test_cache_rates_follow_the_rules_of_thumb(table):
    # 5m write = 1.25x input, 1h write = 2x input, read = 0.1x input (claude-3-haiku predates the rule).
    # Fable 5.1 / Mythos 5.1 read at 0.025x, and the two unconfirmed quotes at 0.05x: the rule does not hold there.
    cheap_reads = {"claude-fable-5-1", "claude-mythos-5-1", "claude-opus-5-5", "claude-sonnet-5-5"}
    for prefix in table.prefixes():
        if prefix == "claude-3-haiku":
            continue
        r = table[prefix].rates
        assert (r.cache_write_5m, r.cache_write_1h) == (approx(1.25 * r.input), approx(2 * r.input)), prefix
        if prefix not in cheap_reads:
            assert r.cache_read == approx(0.1 * r.input), prefix


# --- cost arithmetic -----------------------------------------------------------------------------------------


def test_sonnet_4_5_request_under_the_threshold(table):
    # 10k input * $3 + 2k output * $15 + 150k cache read * $0.30, per million.
    cost = table.cost("claude-sonnet-4-5-20250929", 10_000, 2_000, 0, 0, 150_000)
    assert cost == approx(0.03 + 0.03 + 0.045)
    assert cost == approx(0.105)


def test_sonnet_4_5_over_200k_is_priced_entirely_at_premium_rates(table):
    # 205k total input: every token (output included) at 6 / 22.50 / 0.60, not only the 5k above 200k.
    cost = table.cost("claude-sonnet-4-5-20250929", 10_000, 2_000, 0, 0, 195_000)
    assert cost == approx(10_000 * 6 / 1e6 + 2_000 * 22.5 / 1e6 + 195_000 * 0.6 / 1e6)
    assert cost == approx(0.222)


def test_premium_threshold_is_strictly_greater_and_counts_cache_writes(table):
    at = table.cost("claude-sonnet-4-20250514", 10_000, 0, 0, 0, 190_000)  # exactly 200k: standard
    assert at == approx(0.03 + 0.057)
    # 150k read + 40k 5m write + 10k 1h write + 1 input = 200_001: premium for the whole request.
    over = table.cost("claude-sonnet-4-20250514", 1, 0, 40_000, 10_000, 150_000)
    assert over == approx((1 * 6 + 40_000 * 7.5 + 10_000 * 12 + 150_000 * 0.6) / 1e6)
    assert over == approx(0.510006)


def test_output_tokens_do_not_count_towards_the_threshold(table):
    cost = table.cost("claude-sonnet-4-5", 100_000, 150_000, 0, 0, 0)
    assert cost == approx(0.3 + 2.25)


def test_sonnet_4_6_has_no_premium(table):
    assert table.cost("claude-sonnet-4-6", 10_000, 2_000, 0, 0, 195_000) == approx(0.1185)


def test_five_minute_and_one_hour_cache_writes(table):
    assert table.cost("claude-opus-4-5-20251101", 0, 0, 100_000, 0, 0) == approx(0.625)
    assert table.cost("claude-opus-4-5-20251101", 0, 0, 0, 100_000, 0) == approx(1.0)
    assert table.cost("claude-opus-4-1-20250805", 0, 0, 100_000, 100_000, 0) == approx(1.875 + 3.0)


def test_opus_4_6_fast_mode_costs_six_times(table):
    normal = table.cost("claude-opus-4-6", 1_000, 1_000, 0, 0, 0)
    assert normal == approx(0.03)
    assert table.cost("claude-opus-4-6", 1_000, 1_000, 0, 0, 0, speed="fast") == approx(0.18)
    assert table.cost("claude-opus-4-6", 1_000, 1_000, 0, 0, 0, speed="standard") == approx(0.03)
    # A model without a known multiplier is not billed x1 silently: unpriced, its standard cost a lower bound.
    assert table.cost("claude-opus-4-5", 1_000, 1_000, 0, 0, 0, speed="fast") is None
    q = table.quote("claude-opus-4-5", 1_000, 1_000, 0, 0, 0, speed="fast")
    assert (q.priced, q.usd, q.problem) == (False, approx(0.03), "fast mode has no known multiplier")


def test_haiku_and_old_models(table):
    assert table.cost("claude-3-5-haiku-20241022", 1_000_000, 1_000_000, 0, 0, 0) == approx(4.80)
    assert table.cost("claude-haiku-4-5-20251001", 1_000_000, 0, 0, 0, 1_000_000) == approx(1.10)
    assert table.cost("claude-3-haiku-20240307", 0, 0, 1_000_000, 0, 0) == approx(0.30)
    assert table.cost("claude-3-opus-20240229", 0, 1_000_000, 0, 0, 0) == approx(75.0)


def test_zero_tokens_cost_zero_and_unknown_model_costs_none(table):
    assert table.cost("claude-opus-4-5", 0, 0, 0, 0, 0) == 0.0
    assert table.cost("gpt-4o", 1000, 1000, 0, 0, 0) is None
    assert table.cost("<synthetic>", 0, 0, 0, 0, 0) is None


# --- matching ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model, prefix",
    [
        ("claude-opus-4-20250514", "claude-opus-4"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-opus-4-1", "claude-opus-4-1"),
        ("claude-opus-4-5-20251101", "claude-opus-4-5"),
        ("claude-opus-4-6", "claude-opus-4-6"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
        ("claude-3-5-haiku-20241022", "claude-3-5-haiku"),
        ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
        ("Claude-Sonnet-4-5-20250929", "claude-sonnet-4-5"),
        # Bedrock (plain and cross-region inference profiles)
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", "claude-3-5-sonnet"),
        ("us.anthropic.claude-opus-4-1-20250805-v1:0", "claude-opus-4-1"),
        ("eu.anthropic.claude-3-7-sonnet-20250219-v1:0", "claude-3-7-sonnet"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"),
        ("apac.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4"),
        ("anthropic.claude-haiku-4-5-20251001-v1", "claude-haiku-4-5"),
        # Vertex
        ("claude-sonnet-4-5@20250929", "claude-sonnet-4-5"),
        ("claude-opus-4@20250514", "claude-opus-4"),
        ("claude-3-5-haiku@20241022", "claude-3-5-haiku"),
        # Routers (OpenRouter writes dotted versions)
        ("anthropic/claude-opus-4-5", "claude-opus-4-5"),
        ("anthropic/claude-sonnet-4.5", "claude-sonnet-4-5"),
        ("openrouter/anthropic/claude-3.5-haiku", "claude-3-5-haiku"),
    ],
)
def test_lookup_longest_prefix(table, model, prefix):
    price = table.lookup(model)
    assert price is not None and price.prefix == prefix


@pytest.mark.parametrize(
    "model",
    [
        "<synthetic>",
        "",
        "gpt-4o",
        "claude-opus-4-50",  # garbage, not Opus 4.5 ...
        "claude-opus-4-10",  # ... and a future version is not silently priced as Opus 4
        "claude-sonnet-4-5x",
        "claude-opus",
        "claude-2.1",
    ],
)
def test_lookup_unknown(table, model):
    assert table.lookup(model) is None


def test_lookup_is_cached(table):
    assert table.lookup("claude-opus-4-1-20250805") is table.lookup("claude-opus-4-1-20250805")


@pytest.mark.parametrize(
    "model, family",
    [
        ("claude-opus-4-1-20250805", "opus"),
        ("us.anthropic.claude-3-opus-20240229-v1:0", "opus"),
        ("claude-sonnet-4-5@20250929", "sonnet"),
        ("claude-3-7-sonnet-20250219", "sonnet"),
        ("claude-3-5-haiku-20241022", "haiku"),
        ("claude-haiku-4-5", "haiku"),
        ("claude-opus-4-10", "opus"),  # unpriced, but the family is still clear
        ("<synthetic>", "other"),
        ("gpt-4o", "other"),
        ("", "other"),
    ],
)
def test_model_family(model, family):
    assert model_family(model) == family


# --- overrides and errors ------------------------------------------------------------------------------------


def test_partial_override_changes_only_that_key():
    base = PriceTable.load()
    t = PriceTable.load(overrides={"claude-opus-4-5": {"input": 4.0}})
    assert t["claude-opus-4-5"].rates == Rates(4.0, 25.0, 6.25, 10.0, 0.50)
    for prefix in base.prefixes():
        if prefix != "claude-opus-4-5":
            assert t[prefix] == base[prefix]
    assert t.cost("claude-opus-4-5-20251101", 1_000_000, 0, 0, 0, 0) == approx(4.0)


def test_partial_override_of_long_context_keeps_the_rest():
    t = PriceTable.load(overrides={"claude-sonnet-4-5": {"long_context": {"threshold": 100_000}}})
    price = t["claude-sonnet-4-5"]
    assert price.long_context_threshold == 100_000
    assert price.long_context == Rates(6.0, 22.50, 7.50, 12.0, 0.60)
    assert t.cost("claude-sonnet-4-5", 150_000, 0, 0, 0, 0) == approx(0.9)  # premium from 100k now


def test_override_can_add_fast_multiplier_and_ints_are_accepted():
    t = PriceTable.load(overrides={"claude-opus-4-5": {"fast_multiplier": 2, "output": 30}})
    assert t["claude-opus-4-5"].fast_multiplier == 2.0
    assert t.cost("claude-opus-4-5", 0, 1_000_000, 0, 0, 0, speed="fast") == approx(60.0)


def test_new_prefix_with_all_rates():
    rates = dict(input=1, output=2, cache_write_5m=3, cache_write_1h=4, cache_read=0.5)
    t = PriceTable.load(overrides={"My-Proxy-Model": rates})
    assert t.lookup("my-proxy-model-2025") == ModelPrice("my-proxy-model", Rates(1.0, 2.0, 3.0, 4.0, 0.5),
                                                                 source="your config")
    assert t.cost("my-proxy-model", 1_000_000, 1_000_000, 0, 0, 1_000_000) == approx(3.5)


def test_new_prefix_missing_a_rate_names_prefix_and_key():
    with pytest.raises(PricingError) as err:
        PriceTable.load(overrides={"my-model": {"input": 1, "output": 2, "cache_write_5m": 3, "cache_read": 0.1}})
    assert (err.value.prefix, err.value.key) == ("my-model", "cache_write_1h")
    assert "my-model" in str(err.value) and "cache_write_1h" in str(err.value)


@pytest.mark.parametrize(
    "table, key",
    [
        ({"input": "five"}, "input"),
        ({"output": -1}, "output"),
        ({"cache_read": True}, "cache_read"),
        ({"cache_write_5m": float("nan")}, "cache_write_5m"),
        ({"fast_multiplier": 0}, "fast_multiplier"),
        ({"imput": 5.0}, "imput"),
        ({"long_context": {"threshold": 0}}, "long_context.threshold"),
        ({"long_context": {"threshold": 150_000.5}}, "long_context.threshold"),
        ({"long_context": 3}, "long_context"),
    ],
)
def test_bad_override_value_names_prefix_and_key(table, key):
    with pytest.raises(PricingError) as err:
        PriceTable.load(overrides={"claude-sonnet-4-5": table})
    assert err.value.prefix == "claude-sonnet-4-5" and err.value.key == key
    assert "claude-sonnet-4-5" in str(err.value) and key in str(err.value)


def test_adding_long_context_to_a_model_without_one_needs_all_rates():
    with pytest.raises(PricingError) as err:
        PriceTable.load(overrides={"claude-sonnet-4-6": {"long_context": {"input": 6.0}}})
    assert err.value.key == "long_context.output"


def test_override_that_is_not_a_table():
    with pytest.raises(PricingError) as err:
        PriceTable.load(overrides={"claude-opus-4-5": 5.0})
    assert err.value.prefix == "claude-opus-4-5" and err.value.key is None


def test_load_from_path(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text(
        '[models."x-model"]\ninput = 1\noutput = 2\ncache_write_5m = 1.25\ncache_write_1h = 2\ncache_read = 0\n'
    )
    t = PriceTable.load(path=path)
    assert t.prefixes() == ["x-model"]
    assert t.lookup("claude-opus-4-5") is None


def test_broken_file_raises_pricing_error(tmp_path):
    path = tmp_path / "prices.toml"
    path.write_text('[models."x"\ninput = 1\n')
    with pytest.raises(PricingError, match="prices.toml"):
        PriceTable.load(path=path)
    path.write_text("input = 1\n")
    with pytest.raises(PricingError, match="models"):
        PriceTable.load(path=path)


# --- fingerprint ---------------------------------------------------------------------------------------------


def test_fingerprint_is_stable_and_tracks_every_rate():
    base = PriceTable.load().fingerprint()
    assert base == PriceTable.load().fingerprint()
    assert len(base) == 16 and int(base, 16) >= 0
    # Restating a shipped value leaves the effective table, and so the fingerprint, unchanged.
    assert PriceTable.load(overrides={"claude-opus-4-5": {"input": 5}}).fingerprint() == base
    changed = {
        PriceTable.load(overrides={"claude-opus-4-5": {"input": 4.99}}).fingerprint(),
        PriceTable.load(overrides={"claude-opus-4-5": {"cache_read": 0.51}}).fingerprint(),
        PriceTable.load(overrides={"claude-sonnet-4": {"long_context": {"threshold": 199_999}}}).fingerprint(),
        PriceTable.load(overrides={"claude-opus-4-6": {"fast_multiplier": 5}}).fingerprint(),
        PriceTable.load(overrides={"new-model": dict.fromkeys(RATE_KEYS, 1)}).fingerprint(),
    }
    assert base not in changed and len(changed) == 5
