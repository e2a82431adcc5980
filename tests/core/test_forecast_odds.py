"""The odds of reaching the cap: read from the user's own past weeks with weeks that hit the cap kept as "at least
this" (censored), the ETA read off the weeks that did hit, and when the forecast commits to it."""

from __future__ import annotations

from datetime import UTC

import pytest

from tokentop.ingest.clock import DAY_MS, HOUR_MS, WEEK_MS
from tokentop.ingest.usage import profile as pf
from tokentop.ingest.usage import weekly

MONDAY = 1_793_577_600_000  # 2026-11-02 00:00 UTC, a Monday
assert MONDAY % WEEK_MS == 4 * DAY_MS  # (the epoch was a Thursday)


def test_a_week_that_hit_the_cap_counts_as_at_least_its_ratio():
    # Ratios of actual to predicted remaining usage; the 1.0 one hit the cap, so it would have gone further.
    marked = [(0.5, False), (1.0, True), (1.5, False), (2.0, False)]
    assert pf.survival(marked, 0.4) == 1.0
    assert pf.survival(marked, 0.8) == pytest.approx(3 / 4)  # 0.5 is below: one of four out
    # Counting the capped 1.0 as a plain value would give 2/4; it is "≥ 1.0", so at 1.2 it still counts.
    assert pf.survival(marked, 1.2) == pytest.approx(3 / 4)
    # Past 1.5 the capped point's share is spread with the two at risk: 3/4 × 1/2.
    assert pf.survival(marked, 1.8) == pytest.approx(3 / 8)
    assert pf.survival(marked, 2.5) == 0.0


def test_the_ratio_if_hit_is_the_median_of_the_weeks_that_went_that_far():
    fit = pf.Backtest(0.05, 0.5, [(0.6, 1.8)] * 6, 1.0, 5,
                      [tuple((r, False) for r in (0.5, 0.8, 1.2, 1.6, 2.0))] * 6)
    assert fit.hit_chance(30, 1.0) == pytest.approx(3 / 5)
    assert fit.ratio_if_hit(30, 1.0) == 1.6  # the median of 1.2, 1.6 and 2.0
    assert fit.ratio_if_hit(30, 0.7) == 1.2  # of 0.8 … 2.0: between 1.2 and 1.6, the first to pass half
    censored_tail = pf.Backtest(0.05, 0.5, [(0.6, 1.8)] * 6, 1.0, 3,
                                [((0.5, False), (1.1, True), (1.3, True))] * 6)
    assert censored_tail.ratio_if_hit(30, 1.0) == 1.3  # nothing above is known: at least the largest seen


def _flat(per_week: float = 100.0) -> pf.Profile:
    return pf.Profile(tuple([per_week / 168] * 168), 4.0)


def _odds(ratios: tuple[float, ...], now: int = MONDAY):
    fit = pf.Backtest(0.05, 0.5, [(0.5, 1.5)] * 6, 1.0, len(ratios), [tuple((r, False) for r in ratios)] * 6)
    profile = _flat()
    proj = pf.project(profile, 0.0, MONDAY, now, MONDAY + WEEK_MS, UTC, band=fit.band)
    assert proj.final == pytest.approx(100.0 * (MONDAY + WEEK_MS - now) / WEEK_MS)
    return weekly._eta_by_odds(fit, profile, proj, 0.0, now, MONDAY + WEEK_MS, UTC)


def test_even_odds_days_away_say_may_hit_and_sure_odds_commit():
    # A flat week forecast to end at exactly 100%: it needs ratio 1.0, which half of the past points reached.
    eta, if_hit, chance = _odds((0.5, 0.9, 1.1, 1.3))
    assert chance == pytest.approx(0.5)
    # If it hits, it runs like the median week that did: 1.1 times the forecast, so 168 h / 1.1 in.
    assert if_hit == MONDAY + int(168 / 1.1 * HOUR_MS) or abs(if_hit - (MONDAY + 168 / 1.1 * HOUR_MS)) < 60_000
    assert if_hit - MONDAY > weekly.NEAR_MS and eta is None  # days away at even odds: not committed to
    # Every past point went at least 1.2 times further: the cap is sure, and comes at 168 / 1.3 h.
    eta, if_hit, chance = _odds((1.2, 1.3, 1.4))
    assert chance == 1.0 and eta == if_hit
    assert abs(eta - (MONDAY + 168 / 1.3 * HOUR_MS)) < 60_000
    # No past point got near: "won't hit", with no time to name.
    assert _odds((0.2, 0.5, 0.7, 0.8)) == (None, None, 0.0)


def test_likely_odds_within_two_days_commit():
    # Sunday 00:00, 24 h left, with a profile that expects the whole 100% in the last day: it needs ratio 1,
    # which two of three past points reached (over COMMIT_CHANCE), so it commits, at the median of those two.
    profile = pf.Profile(tuple([0.0] * 144 + [100 / 24] * 24), 4.0)
    now = MONDAY + 6 * DAY_MS
    fit = pf.Backtest(0.05, 0.5, [(0.5, 1.5)] * 6, 1.0, 3, [tuple((r, False) for r in (0.5, 1.1, 1.3))] * 6)
    proj = pf.project(profile, 0.0, MONDAY, now, MONDAY + WEEK_MS, UTC, band=fit.band)
    eta, if_hit, chance = weekly._eta_by_odds(fit, profile, proj, 0.0, now, MONDAY + WEEK_MS, UTC)
    assert chance == pytest.approx(2 / 3) and chance >= weekly.COMMIT_CHANCE and eta == if_hit
    assert abs(eta - (now + 24 / 1.1 * HOUR_MS)) < 60_000
    # Even odds, as days away above, are not enough even this close.
    fit = pf.Backtest(0.05, 0.5, [(0.5, 1.5)] * 6, 1.0, 4, [tuple((r, False) for r in (0.5, 0.9, 1.1, 1.3))] * 6)
    eta, if_hit, chance = weekly._eta_by_odds(fit, profile, proj, 0.0, now, MONDAY + WEEK_MS, UTC)
    assert chance == pytest.approx(0.5) and eta is None and if_hit is not None


def _weeks(levels: list[float], hours=range(9, 17)) -> list[tuple[int, float]]:
    """Mon–Fri work hours at `level` % of the cap per hour, each week stopping at the cap (the user is blocked)."""
    out = []
    for w, level in enumerate(levels):
        used = 0.0
        for d in range(5):
            for h in hours:
                if used >= 100:
                    break
                amount = min(level, 100 - used)
                used += amount
                out.append((MONDAY + w * WEEK_MS + d * DAY_MS + h * HOUR_MS, amount))
    return out


def _forecast(levels: list[float], this_week: float, now_offset: int):
    past = _weeks(levels)
    start = MONDAY + len(levels) * WEEK_MS
    now = start + now_offset
    current = [(ts + len(levels) * WEEK_MS, a) for ts, a in _weeks([this_week]) if ts + len(levels) * WEEK_MS < now]
    rows = past + current
    used = sum(a for _, a in current)
    return weekly.weekly_forecast(
        used=used, start=start, end=start + WEEK_MS, now=now, zone=UTC,
        hourly=lambda a, b: [(ts, v) for ts, v in rows if a <= ts < b], first_use_ms=MONDAY + 9 * HOUR_MS,
        history=[], rate_per_hour=this_week, duty=0.25), now, start


def test_a_heavy_week_like_the_past_heavy_ones_commits_to_when_they_hit():
    # Past weeks alternate light (1.5 %/h: 60% a week) and heavy (3.5 %/h: the cap on Thursday at 13:34).
    levels = [1.5, 3.5] * 4
    f, now, start = _forecast(levels, 3.5, 2 * DAY_MS + 12 * HOUR_MS)  # Wednesday noon, 66.5% used
    assert f.method == "profile" and f.hit_chance >= weekly.COMMIT_CHANCE
    truth = start + 3 * DAY_MS + 9 * HOUR_MS + int((100 - 84.0) / 3.5 * HOUR_MS)  # Thursday 13:34
    # 25.6 h ahead, within 1.5 h (the forecast still shrinks this week's pace a little toward the usual week).
    assert f.eta_ms is not None and abs(f.eta_ms - truth) < 1.5 * HOUR_MS
    assert f.summary.startswith("on pace to hit the cap Thu")
    # A light week at the same point would need more than twice its forecast: further than any past point went
    # (the largest were heavy weeks stopped at the cap, "at least this"), so no odds; the band says it.
    f, now, start = _forecast(levels, 1.5, 2 * DAY_MS + 12 * HOUR_MS)
    assert f.hit_chance is None and f.eta_ms is None and f.eta_if_hit_ms is None
    assert f.high_pct_at_reset < 100 and f.summary.startswith("won't hit the cap before reset")


def test_a_week_between_the_two_kinds_may_hit_and_names_when():
    # 2.5 %/h reaches exactly 100% at Friday 17:00; no past week ran like it (they were 60% or capped by Thursday).
    f, now, start = _forecast([1.5, 3.5] * 4, 2.5, 2 * DAY_MS + 12 * HOUR_MS)
    assert weekly.CLEAR_CHANCE <= f.hit_chance < weekly.COMMIT_CHANCE
    assert f.eta_ms is None and f.eta_if_hit_ms is not None  # no alert, no hook warning: a time, with its odds
    assert abs(f.eta_if_hit_ms - (start + 4 * DAY_MS + 17 * HOUR_MS)) < 3 * HOUR_MS
    assert f.summary.startswith("may hit the cap Fri ") and f"({f.hit_chance:.0%} of weeks like this did)" in f.summary


def test_status_json_gives_the_odds_and_the_time_if_hit(tmp_path, monkeypatch, capsys, home):
    import json

    from test_forecast import _work_hours
    from test_limits import DAY, HOUR, MIN, WEEK, add_usage, make_store, ms

    from tokentop.tui.cli.main import main
    monday = ms("2026-10-05T00:00:00+00:00")
    store = make_store(tmp_path)
    _work_hours(store, monday, 3)  # three past weeks of $20 against a $25 cap: 80%, never the cap
    heavy = [monday + 3 * WEEK + d * DAY + h * HOUR + 10 * MIN for d in range(2) for h in range(9, 17)]
    for ts in heavy + [monday + 3 * WEEK + 2 * DAY + h * HOUR + 10 * MIN for h in range(9, 12)]:
        add_usage(store, ts, cost=1.0)  # this week twice as heavy: $19 (76%) by Wednesday noon
    store.close()
    config = home / "config.toml"
    config.write_text('timezone = "UTC"\nweek_reset = "mon 00:00 UTC"\nweekly_cap_usd = 25.0\n')
    monkeypatch.setattr("tokentop.tui.cli.limits._now_ms", lambda: monday + 3 * WEEK + 2 * DAY + 12 * HOUR)
    main(["--db", str(tmp_path / "usage.db"), "--config", str(config), "status", "--no-ingest", "--json"])
    week = json.loads(capsys.readouterr().out)["windows"]["week"]
    f = week["forecast"]
    # Every past week ended exactly where its forecast said (ratio 1): one needing less than that is sure to hit,
    # and the time if it hits is the middle curve's. At this week's $1/h, the $6 left take the rest of Wednesday
    # (5 h) and Thursday 09–10; the pace is shrunk a little toward the usual $0.50/h, so a few minutes later.
    assert f["method"] == "profile" and f["hit_chance"] == 1.0
    assert f["eta_ms"] == f["eta_if_hit_ms"]
    assert f["eta_ms"] == pytest.approx(monday + 3 * WEEK + 3 * DAY + 10 * HOUR + 7 * MIN, abs=8 * MIN)


def test_no_odds_beyond_the_largest_ratio_when_it_stopped_at_the_cap():
    capped = pf.Backtest(0.05, 0.5, [(0.6, 1.8)] * 6, 1.0, 3, [((1.0, True), (1.2, True), (1.4, True))] * 6)
    assert capped.hit_chance(30, 1.39) == 1.0  # every past point went at least that far
    assert capped.hit_chance(30, 1.41) is None  # how much further they would have gone is not on record
    seen = pf.Backtest(0.05, 0.5, [(0.6, 1.8)] * 6, 1.0, 3, [((1.0, True), (1.2, False), (1.4, False))] * 6)
    assert seen.hit_chance(30, 1.41) == 0.0  # the largest ended where it ended: none went further


def test_the_last_hours_of_a_week_have_a_band_of_their_own():
    # Past weeks replayed every 6 h: the points 6 h before the reset are the last group's, not the next one's.
    assert pf._horizon_group(6.0) == 0 and pf._horizon_group(5.0) == 0 and pf._horizon_group(6.5) == 1
    assert pf._horizon_group(12.0) == 1 and pf._horizon_group(96.0) == 4 and pf._horizon_group(97.0) == 5
