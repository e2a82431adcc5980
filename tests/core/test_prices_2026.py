"""The 2026-12 price rows and the surcharges that live in `usage` (log-formats.md §3), one fact per test."""

from __future__ import annotations

import pytest

from tokentop.ingest.pricing import PriceTable


def approx(x: float):
    return pytest.approx(x, rel=1e-12, abs=1e-15)


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


M = 1_000_000


@pytest.mark.parametrize(("model", "rates"), [
    ("claude-opus-5", (5, 25, 6.25, 10, 0.50)),
    ("claude-sonnet-5", (2, 10, 2.50, 4, 0.20)),
    ("claude-fable-5", (10, 50, 12.50, 20, 1.00)),
    ("claude-fable-5-1", (10, 50, 12.50, 20, 0.25)),
    ("claude-mythos-5-1", (10, 50, 12.50, 20, 0.25)),
    ("claude-haiku-5-5", (0.10, 0.50, 0.125, 0.20, 0.01)),
    ("claude-opus-4-7", (5, 25, 6.25, 10, 0.50)),
    ("claude-opus-4-8", (5, 25, 6.25, 10, 0.50)),
])
def test_each_token_kind_of_a_new_row(table, model, rates):
    # One token kind at a time, so a swapped column shows; 50k of each (1M input-side tokens would cross Haiku
    # 5.5's 100k tier), scaled to the per-million rate.
    n = 50_000
    kinds = [(n, 0, 0, 0, 0), (0, n, 0, 0, 0), (0, 0, n, 0, 0), (0, 0, 0, n, 0), (0, 0, 0, 0, n)]
    got = [table.cost(model, *k) * (M // n) for k in kinds]
    assert got == [approx(r) for r in rates]


@pytest.mark.parametrize(("model", "prefix"), [
    ("claude-opus-5[1m]", "claude-opus-5"),
    ("claude-opus-5-20261015", "claude-opus-5"),
    ("claude-opus-5-20261015[1m]", "claude-opus-5"),
    ("claude-sonnet-5@20260901", "claude-sonnet-5"),
    ("anthropic/claude-fable-5.1", "claude-fable-5-1"),
    ("claude-fable-5-1-20261120", "claude-fable-5-1"),
    ("claude-fable-5", "claude-fable-5"),
    ("claude-haiku-5-5-20261201", "claude-haiku-5-5"),
    ("claude-opus-4-8[1m]", "claude-opus-4-8"),
])
def test_context_tags_and_date_suffixes_resolve_to_the_family(table, model, prefix):
    assert table.lookup(model).prefix == prefix


@pytest.mark.parametrize("model", [
    "claude-opus-4-9",  # no published model backs it: removed, never guessed from Opus 4.x
    "claude-opus-5-1",  # a newer Opus 5.x is not Opus 5
    "claude-sonnet-5-7",
    "claude-opus-5-5",  # only quoted by third parties: unpriced until confirmed
    "claude-sonnet-5-5-20261201",
    "claude-opus-5-5[1m]",
])
def test_unbacked_and_unconfirmed_ids_are_unpriced(table, model):
    assert table.lookup(model) is None
    q = table.quote(model, 1000, 1000, 0, 0, 0)
    assert (q.usd, q.priced, q.problem) == (None, False, "unpriced model")


def test_unconfirmed_row_is_still_matched_for_display(table):
    price = table.match("claude-opus-5-5[1m]")
    assert price.prefix == "claude-opus-5-5" and price.confirmed is False
    assert "third-party" in price.source


def test_config_confirms_an_unconfirmed_row_and_its_quoted_rates_apply():
    t = PriceTable.load(overrides={"claude-opus-5-5": {"confirmed": True}})
    assert t.cost("claude-opus-5-5", M, M, 0, 0, 0) == approx(24.0)
    # Giving rates is confirming them too.
    t = PriceTable.load(overrides={"claude-sonnet-5-5": {"input": 2.5}})
    assert t.cost("claude-sonnet-5-5", M, 0, 0, 0, 0) == approx(2.5)
    assert t["claude-sonnet-5-5"].source == "your config"
    # ...unless the user says it stays unconfirmed.
    assert PriceTable.load(overrides={"claude-opus-5-5": {"confirmed": False}}).lookup("claude-opus-5-5") is None


def test_haiku_5_5_tier_is_per_request_and_covers_the_whole_request(table):
    # 100k total input (input + cache write + cache read) is still the base tier ...
    at = table.quote("claude-haiku-5-5", 40_000, 10_000, 30_000, 0, 30_000)
    assert at.usd == approx((40_000 * 0.10 + 10_000 * 0.50 + 30_000 * 0.125 + 30_000 * 0.01) / M)
    assert at.surcharges == ()
    # ... one token more and every token of the request is billed at 5x, output included.
    over = table.quote("claude-haiku-5-5", 40_001, 10_000, 30_000, 0, 30_000)
    assert over.usd == approx((40_001 * 0.50 + 10_000 * 2.50 + 30_000 * 0.625 + 30_000 * 0.05) / M)
    assert over.surcharges == ("above 100,000 input",)
    # The tier is per request: two requests of 60k are two base-tier requests, not one of 120k.
    one = table.cost("claude-haiku-5-5", 60_000, 0, 0, 0, 0)
    assert one == approx(0.006) and table.cost("claude-haiku-5-5", 120_000, 0, 0, 0, 0) == approx(0.06)


@pytest.mark.parametrize(("model", "multiplier"), [
    ("claude-opus-4-6", 6), ("claude-opus-4-7", 6), ("claude-opus-4-8", 2), ("claude-opus-5[1m]", 2),
])
def test_fast_mode_multiplies_every_token_kind(table, model, multiplier):
    tokens = (1_000, 2_000, 3_000, 4_000, 5_000)
    standard = table.cost(model, *tokens)
    q = table.quote(model, *tokens, speed="fast")
    assert q.priced and q.usd == approx(standard * multiplier)
    assert q.surcharges == (f"fast x{multiplier}",)


@pytest.mark.parametrize("model", ["claude-sonnet-4-6", "claude-sonnet-5", "claude-haiku-4-5", "claude-fable-5"])
def test_fast_on_a_model_without_a_known_multiplier_is_flagged_not_billed_x1(table, model):
    q = table.quote(model, 1_000, 1_000, 0, 0, 0, speed="fast")
    assert q.priced is False and q.problem == "fast mode has no known multiplier"
    assert q.usd == approx(table.cost(model, 1_000, 1_000, 0, 0, 0))  # a lower bound, never presented as exact
    assert table.cost(model, 1_000, 1_000, 0, 0, 0, speed="fast") is None


def test_web_search_is_ten_dollars_per_thousand_on_top_of_tokens(table):
    tokens = table.cost("claude-sonnet-4-5", 10_000, 1_000, 0, 0, 0)
    q = table.quote("claude-sonnet-4-5", 10_000, 1_000, 0, 0, 0, web_searches=3)
    assert q.usd == approx(tokens + 0.03)
    assert q.surcharges == ("3 web searches",)
    # A fee per search, on any priced model, even with no tokens.
    assert table.cost("claude-3-5-haiku", 0, 0, 0, 0, 0, web_searches=1) == approx(0.01)


def test_us_inference_costs_1_1x_on_4_6_and_later_only(table):
    for model in ("claude-opus-4-6", "claude-sonnet-4-6", "claude-opus-5", "claude-sonnet-5", "claude-fable-5-1"):
        base = table.cost(model, 10_000, 1_000, 500, 200, 30_000)
        q = table.quote(model, 10_000, 1_000, 500, 200, 30_000, geo="us")
        assert q.usd == approx(base * 1.1) and q.surcharges == ("US inference x1.1",), model
    for model in ("claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"):
        assert table.cost(model, 10_000, 1_000, 0, 0, 0, geo="us") == approx(table.cost(model, 10_000, 1_000, 0, 0, 0))
    # Only "us": the other values in real logs ("global", "", "not_available") cost the base price.
    for geo in ("global", "", "not_available", "US-east"):
        assert table.cost("claude-opus-4-6", 1_000, 0, 0, 0, 0, geo=geo) == approx(0.005)


def test_surcharges_compose_multipliers_on_tokens_and_the_fee_untouched(table):
    # Opus 4.6 fast + US + 2 searches: 1k in + 1k out = $0.03; x6 x1.1 = $0.198; + $0.02 of searches.
    q = table.quote("claude-opus-4-6", 1_000, 1_000, 0, 0, 0, speed="fast", geo="us", web_searches=2)
    assert q.usd == approx(0.198 + 0.02)
    assert q.surcharges == ("fast x6", "US inference x1.1", "2 web searches")


def test_sonnet_4_5_premium_with_web_search(table):
    q = table.quote("claude-sonnet-4-5", 201_000, 0, 0, 0, 0, web_searches=1)
    assert q.usd == approx(201_000 * 6 / M + 0.01)
    assert q.surcharges == ("above 200,000 input", "1 web search")
