#!/usr/bin/env python3
"""Backtest of the 5-hour window's forecast on the synthetic users of backtest_forecast.py, through the public path,
beside a straight line from the window's start.

    python tests/bench/backtest_five_hour.py [--users 2] [--weeks 12] [--seed 2]

The store holds each user's Claude Code requests (one per active hour, at :30); the 5-hour windows open by activity
(the first request after the last window ended, floored to the hour), and the cap is `five_hour_cap_usd`, set per
user so that about a third of their windows reach it. From week 6 on, at 1, 2, 3 and 4 hours into every window,
`compute_status` answers on the store as it stood then. Printed per method: the median error of the time named
(a committed ETA or the "may hit" time; none: the window's end) at points of windows that hit, the median error of
the % at the window's end, false alarms (an ETA committed to, the window did not hit), misses (the window hit
though the forecast said it would not), the undecided share, and how often the 80% band held the outcome. No
window is cut short at the cap here: the truth is where the usage would have taken it. Printed, not asserted."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import backtest_forecast as weekly_bt  # noqa: E402

from tokentop.ingest.clock import HOUR_MS, MINUTE_MS, WEEK_MS  # noqa: E402
from tokentop.ingest.config import Settings  # noqa: E402
from tokentop.ingest.store.store import Store  # noqa: E402
from tokentop.ingest.usage.limits import compute_status  # noqa: E402
from tokentop.ingest.usage.windows import past_blocks  # noqa: E402

HIT_SHARE = 1 / 3


def run(users: int, weeks: int, seed: int) -> dict[str, weekly_bt.Tally]:
    rng = random.Random(seed)
    tallies = {m: weekly_bt.Tally() for m in ("tokentop", "linear")}
    methods: dict[str, int] = {}
    for shape in weekly_bt.SHAPES:
        for _ in range(users):
            usage, blocked = weekly_bt.make_user(shape, weeks, rng)
            usd = {ts: cc * weekly_bt.USD_PER_PCT for ts, (cc, _) in usage.items() if cc > 0}
            blocks = past_blocks(sorted(usd), weekly_bt.START + weeks * WEEK_MS)
            totals = sorted(sum(usd.get(s + h * HOUR_MS, 0.0) for h in range(5)) for s, _ in blocks)
            cap = totals[int(len(totals) * (1 - HIT_SHARE))]
            settings = Settings(timezone="UTC", five_hour_cap_usd=cap)
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(Path(tmp) / "usage.db")
                weekly_bt.fill_store(store, usage, blocked)
                for start, end in blocks:
                    if start < weekly_bt.START + weekly_bt.FIRST_TEST_WEEK * WEEK_MS:
                        continue
                    replay(tallies, methods, store, settings, usd, start, end, cap)
                store.close()
    print(f"forecast methods used: {methods}")
    return tallies


def replay(tallies, methods, store, settings, usd: dict[int, float], start: int, end: int, cap: float) -> None:
    spend = [(h + 30 * MINUTE_MS, usd.get(h, 0.0)) for h in range(start, end, HOUR_MS)]
    final = 100 * sum(a for _, a in spend) / cap
    cum, hit_at = 0.0, None
    for ts, a in spend:
        cum += a
        if cum >= cap - 1e-9:
            hit_at = ts
            break
    for k in range(1, 5):
        now = start + k * HOUR_MS
        truth = 100 * sum(a for ts, a in spend if ts < now) / cap
        if truth >= 100 - 1e-9:
            break
        status = compute_status(store, settings, now_ms=now, windows=["five_hour"], detail=["five_hour"])["five_hour"]
        f = status.forecast
        if f is None or status.used_pct is None or status.start_ms != start:
            continue
        methods[f.method] = methods.get(f.method, 0) + 1
        used, elapsed_h, left_h = status.used_pct, (now - start) / HOUR_MS, (end - now) / HOUR_MS
        lin_eta = weekly_bt.eta_of(used, used / elapsed_h, now, end)
        bounds = (f.low_pct_at_reset, f.high_pct_at_reset) if f.band_level else None
        clear = f.eta_ms is None and (f.eta_if_hit_ms is None if f.hit_chance is not None
                                      else bounds is None or bounds[1] < 100)
        named = f.eta_ms if f.eta_ms is not None else f.eta_if_hit_ms
        preds = {"tokentop": (f.pct_at_reset, f.eta_ms, named, bounds, clear),
                 "linear": (used + used / elapsed_h * left_h, lin_eta, lin_eta, None, lin_eta is None)}
        for method, (pred_final, eta, shown, band, says_clear) in preds.items():
            t = tallies[method]
            t.points += 1
            t.final_err.append(abs((pred_final if pred_final is not None else used) - final))
            if hit_at is None:
                t.no_hit_points += 1
                t.alarms += eta is not None
            else:
                t.hit_points += 1
                t.misses += says_clear
                t.named_err_h.append(abs((shown if shown is not None else end) - hit_at) / HOUR_MS)
                t.eta_err_h.append(abs((eta if eta is not None else end) - hit_at) / HOUR_MS)
            t.undecided += eta is None and not says_clear
            if band is not None:
                t.banded += 1
                t.covered += band[0] - 0.5 <= final <= band[1] + 0.5  # (the outcome is not cut at the cap here)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2, help="users per shape")
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2)
    args = ap.parse_args()
    tallies = run(args.users, args.weeks, args.seed)
    print(f"5-hour window backtest via compute_status: {args.users} users × 4 shapes, seed {args.seed}, "
          f"windows of weeks {weekly_bt.FIRST_TEST_WEEK}–{args.weeks - 1}, at 1–4 h in; errors in hours and points")
    print(f"{'method':<24} {'named':>8} {'ETA err':>8}  {'%@end':>8}  {'alarms':>6}  {'misses':>6}  "
          f"{'undec.':>6}  {'band':>6}  {'level err':>9}")
    for method, t in tallies.items():
        print(weekly_bt.row(method, t))
    p, lin = tallies["tokentop"], tallies["linear"]
    if p.named_err_h and lin.named_err_h:
        print(f"time-to-cap error, tokentop / linear: the time named "
              f"{statistics.median(p.named_err_h) / max(statistics.median(lin.named_err_h), 1e-9):.2f}×")


if __name__ == "__main__":
    main()
