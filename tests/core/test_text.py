"""ingest.text: the one spelling of durations, times, %, money, token counts and window figures."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from test_limits import DAY, HOUR, MIN, ms

from tokentop.ingest import text
from tokentop.widgets import fmt

BERLIN = ZoneInfo("Europe/Berlin")


def test_a_cell_duration_and_a_sentence_span_differ_on_purpose():
    assert text.duration(2 * HOUR + 5 * MIN) == "2h 05m"  # a cell: padded, to the second under a minute
    assert text.duration(40_000) == "40s"
    assert text.duration(3 * DAY + 4 * HOUR + 59 * MIN) == "3d 4h"
    assert text.span(2 * HOUR + 5 * MIN) == "2h 5m"  # a sentence: to the minute
    assert text.span(40_000) == "<1m"
    assert text.span(3 * DAY) == "3d"
    assert text.countdown(DAY + 4 * HOUR + 13 * MIN + 9_000) == "1d 04:13"
    assert text.countdown(4 * HOUR + 13 * MIN + 9_000) == "04:13:09"


def test_money_tokens_and_percent():
    assert text.money(0.004) == "<$0.01" and text.money(123.4) == "$123" and text.money(1234.5) == "$1,234"
    assert text.money(3.5, unpriced=True) == "≥ $3.50" and text.money(0.001, unpriced=True) == "≥ <$0.01"
    assert text.money_total(12.4, 3) == "≥ $12.40 · 3 unpriced" and text.money_total(12.4, 0) == "$12.40"
    assert text.dollars(1234.5) == "$1,234.50" and text.dollars(2.0, unpriced=True) == "≥ $2.00"
    assert text.dollars(1234.5, unpriced=3) == "≥ $1,234.50 · 3 unpriced"
    assert text.tokens(12_345_678) == "12.3M" and text.tokens(999) == "999"
    assert text.token_count(2500) == "2,500 tokens"
    assert text.pct(61.6) == "62%" and text.pct(None) == text.UNKNOWN == "–"
    assert text.count(1, "row") == "1 row" and text.count(1200, "row") == "1,200 rows"


@dataclass
class _Window:
    name: str = "week"
    source: str = "calibrated"
    window_source: str = "official"
    used_pct: float | None = 61.6
    start_ms: int = 0
    end_ms: int = 0


def test_window_figures():
    reset = ms("2026-05-05T07:00:00+00:00")  # Tue 09:00 in Berlin
    week = _Window(end_ms=reset, start_ms=reset - 7 * DAY)
    assert text.pct_text(week) == "~62%" and text.pct_text(_Window(source="official")) == "62%"
    assert text.pct_text(_Window(used_pct=None)) == "–" and text.pct_text(None) == "–"
    assert text.reset_text(week, BERLIN, reset - 3 * DAY) == "Tue 09:00"
    assert text.reset_text(week, BERLIN, reset - 2 * HOUR) == "09:00"  # today: the time alone
    assert text.reset_text(_Window(name="month", end_ms=ms("2026-06-01T00:00:00+02:00")), BERLIN, reset) == "Jun 01"
    assert text.reset_text(_Window(window_source="guess"), BERLIN, reset) == "–"
    idle = _Window(name="five_hour", window_source="activity", start_ms=reset, end_ms=reset + 5 * HOUR)
    assert text.reset_text(idle, BERLIN, reset) == "–"  # no 5-hour window running
    assert text.window_label("week_opus") == "Claude weekly Opus limit" and text.window_label("x") == "x"


def test_the_widgets_spell_numbers_with_the_same_vocabulary():
    assert fmt.money is text.money and fmt.tokens is text.tokens and fmt.duration is text.duration


def test_model_labels_tell_apart_ids_that_shorten_the_same():
    from tokentop.ingest.text import model_labels, model_names, model_short
    assert model_short("claude-opus-4-5-20251101") == model_short("claude-opus-4-5") == "opus-4-5"
    # Alone, or beside ids that read differently, an id is shown short.
    assert model_labels(["claude-opus-4-5-20251101", "claude-haiku-4-5-20251001"]) == {
        "claude-opus-4-5-20251101": "opus-4-5", "claude-haiku-4-5-20251001": "haiku-4-5"}
    # Two ids that shorten the same keep their dates; the others stay short.
    assert model_labels(["claude-opus-4-5-20251101", "claude-opus-4-5", "claude-opus-4-5-20250929",
                         "claude-sonnet-4-5-20250929"]) == {
        "claude-opus-4-5-20251101": "opus-4-5-20251101", "claude-opus-4-5": "opus-4-5",
        "claude-opus-4-5-20250929": "opus-4-5-20250929", "claude-sonnet-4-5-20250929": "sonnet-4-5"}
    # A context tag already tells them apart; a vendor prefix does not, so those two are shown whole.
    assert model_labels(["claude-opus-5[1m]", "claude-opus-5"]) == {"claude-opus-5[1m]": "opus-5[1m]",
                                                                    "claude-opus-5": "opus-5"}
    assert model_labels(["anthropic/claude-opus-4-5", "claude-opus-4-5"]) == {
        "anthropic/claude-opus-4-5": "anthropic/claude-opus-4-5", "claude-opus-4-5": "claude-opus-4-5"}
    assert model_names(["claude-opus-4-5", "claude-opus-4-5-20251101"]) == "opus-4-5, opus-4-5-20251101"
    assert model_names([]) == ""


def test_sessions_report_table_tells_the_two_opus_4_5_apart():
    from datetime import UTC

    from tokentop.ingest.records import SessionInfo, UsageRecord
    from tokentop.ingest.store.store import Store
    from tokentop.ingest.usage.report_text import to_table
    from tokentop.ingest.usage.reports import build_report

    def rec(msg: str, model: str) -> UsageRecord:
        return UsageRecord(msg, msg, None, "claude-code", "s-1", "/p", None, False, model, 1_763_632_800_000, 1, 2,
                           0, 0, 0)

    with Store(":memory:") as store:
        with store.transaction():
            store.write_batch([rec("m1", "claude-opus-4-5-20251101"), rec("m2", "claude-opus-4-5")],
                              [SessionInfo("s-1", "claude-code", "/p", None, 0, None, 1_763_632_800_000,
                                           1_763_632_800_000)])
        text = to_table(build_report(store, "sessions", UTC), width=160)
    assert "opus-4-5, opus-4-5-20251101" in text
