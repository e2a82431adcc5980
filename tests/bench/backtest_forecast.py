#!/usr/bin/env python3
"""Backtest of the weekly forecast on synthetic weeks of several user shapes, beside two naive baselines.

    python tests/bench/backtest_forecast.py [--users 3] [--weeks 14] [--seed 1]

Each user has `--weeks` weeks of hourly usage in % of the weekly cap (a user is blocked for the rest of a week once
they reach 100%, and those hours are marked blocked). From week 6 on, at every 6 hours through each week, three
forecasters predict the week: the hour-of-week profile (ingest/usage/profile.py, learnt from up to 8 earlier
weeks, band from its own backtest on them), a straight line from the week's start, and the last 24 hours' rate.
Printed per method and horizon (hours left in the week): the median time-to-cap error at points within 48 h of
the cap, the median "% at reset" error, false alarms and misses of "will it hit before reset", band coverage.

Targets (issue #18): time-to-cap error ≤ 0.75× the linear baseline's; false alarms and misses each ≤ 15%; the
80% band holds 75–85%. The figures are printed, not asserted: this is a measurement, not a test."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tokentop.ingest.clock import DAY_MS, HOUR_MS, WEEK_MS  # noqa: E402
from tokentop.ingest.usage import profile as pf  # noqa: E402

START = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)  # a Monday
STEP_MS = 6 * HOUR_MS
HISTORY_WEEKS = 8
FIRST_TEST_WEEK = 6
HORIZONS = ((0, 24), (24, 72), (72, 169))


def shape_rate(shape: str, rng: random.Random, day: int, hour: int, day_level: float) -> float:
    """Unscaled usage in one hour for a user of this shape (day 0 = Monday)."""
    weekend = day >= 5
    if shape == "steady":
        return day_level * rng.uniform(0.7, 1.3) if not weekend and 9 <= hour < 18 else 0.0
    if shape == "bursty":
        if weekend or not 9 <= hour < 22:
            return 0.0
        return day_level * (rng.expovariate(1.0) * 2.0 if rng.random() < 0.35 else 0.0)
    if shape == "weekend":
        if weekend:
            return day_level * rng.uniform(0.8, 2.2) if 10 <= hour < 20 else 0.0
        return day_level * rng.uniform(0.1, 0.6) if 19 <= hour < 23 else 0.0
    if shape == "claude_ai":  # Claude Code by day, claude.ai in the evening (only the official % sees it)
        if weekend:
            return day_level * rng.uniform(0.2, 0.8) if 11 <= hour < 16 else 0.0
        if 9 <= hour < 18:
            return day_level * rng.uniform(0.5, 1.1)
        return day_level * rng.uniform(0.3, 1.5) if 20 <= hour < 23 else 0.0
    raise ValueError(shape)


def make_user(shape: str, weeks: int, rng: random.Random) -> tuple[dict[int, float], set[int]]:
    """Hourly % of the cap, and the hours spent blocked at the cap."""
    raw: list[list[float]] = []
    for _ in range(weeks):
        week_level = rng.lognormvariate(0, 0.25)
        hours = []
        for d in range(7):
            off = shape != "steady" and rng.random() < 0.15
            day_level = 0.0 if off else week_level * rng.lognormvariate(0, 0.35) * (3.0 if rng.random() < 0.1 else 1)
            hours += [shape_rate(shape, rng, d, h, day_level) for h in range(24)]
        raw.append(hours)
    # The cap: the median week's local total is 95% of it, so about half the weeks come close or hit.
    scale = 95.0 / statistics.median(sum(w) for w in raw)
    usage: dict[int, float] = {}
    blocked: set[int] = set()
    for w, hours in enumerate(raw):
        used = 0.0
        for i, amount in enumerate(hours):
            ts = START + w * WEEK_MS + i * HOUR_MS
            if used >= 100.0:
                blocked.add(ts)
                continue
            amount = min(amount * scale, 100.0 - used)
            used += amount
            if amount:
                usage[ts] = amount
    return usage, blocked


@dataclass
class Tally:
    eta_err_h: list[float] = field(default_factory=list)
    final_err: list[float] = field(default_factory=list)
    alarms: int = 0
    misses: int = 0
    no_hit_points: int = 0
    hit_points: int = 0
    covered: int = 0
    banded: int = 0


def eta_of(used: float, rate_per_h: float, now: int, end: int) -> int | None:
    if used >= 100:
        return now
    if rate_per_h <= 0:
        return None
    eta = now + int((100 - used) / rate_per_h * HOUR_MS)
    return eta if eta < end else None


def run(users: int, weeks: int, seed: int) -> dict[tuple[str, str, int], Tally]:
    tallies: dict[tuple[str, str, int], Tally] = {}
    rng = random.Random(seed)
    for shape in ("steady", "bursty", "weekend", "claude_ai"):
        for _ in range(users):
            usage, blocked = make_user(shape, weeks, rng)
            items = sorted(usage.items())
            for w in range(FIRST_TEST_WEEK, weeks):
                start, end = START + w * WEEK_MS, START + (w + 1) * WEEK_MS
                hist_lo = max(START, start - HISTORY_WEEKS * WEEK_MS)
                history = [(ts, a) for ts, a in items if hist_lo <= ts < start]
                profile = pf.learn_profile(history, hist_lo, start, pf.UTC_ZONE, blocked)
                band = pf.band_ratios(history, pf.past_windows(start, count=HISTORY_WEEKS, not_before=hist_lo),
                                      pf.UTC_ZONE, blocked)
                week = [(ts, a) for ts, a in items if start <= ts < end]
                final = sum(a for _, a in week)
                cum, hit_at = 0.0, None
                for ts, a in week:
                    cum += a
                    if cum >= 100.0 - 1e-9:
                        hit_at = ts + HOUR_MS
                        break
                for now in range(start + STEP_MS, end, STEP_MS):
                    used = sum(a for ts, a in week if ts < now)
                    if used >= 100.0 - 1e-9:
                        continue
                    left_h = (end - now) / HOUR_MS
                    group = next(i for i, (lo, hi) in enumerate(HORIZONS) if lo <= left_h < hi)
                    elapsed_h = (now - start) / HOUR_MS
                    last24 = sum(a for ts, a in week if now - DAY_MS <= ts < now) + \
                        sum(a for ts, a in items if now - DAY_MS <= ts < min(now, start))
                    preds = {
                        "linear": (used + used / elapsed_h * left_h, eta_of(used, used / elapsed_h, now, end), None),
                        "last24h": (used + last24 / 24 * left_h, eta_of(used, last24 / 24, now, end), None),
                    }
                    if profile is not None:
                        midnight = max(start, pf.day_start(now, pf.UTC_ZONE))
                        today = sum(a for ts, a in week if midnight <= ts < now)
                        proj = pf.project(profile, used, start, now, end, pf.UTC_ZONE, band, used_today=today)
                        eta = pf.crossing(profile, proj, used, now, end, pf.UTC_ZONE)
                        preds["profile"] = (proj.final, eta, (proj.low, proj.high) if band else None)
                    for method, (pred_final, eta, bounds) in preds.items():
                        t = tallies.setdefault((shape, method, group), Tally())
                        t.final_err.append(abs(min(pred_final, 100.0) - final))
                        if hit_at is None:
                            t.no_hit_points += 1
                            t.alarms += eta is not None
                        else:
                            t.hit_points += 1
                            t.misses += eta is None
                            if hit_at - now <= 2 * DAY_MS:
                                t.eta_err_h.append(abs((eta if eta is not None else end) - hit_at) / HOUR_MS)
                        if bounds is not None:
                            t.banded += 1
                            t.covered += bounds[0] - 1e-9 <= final <= bounds[1] + 1e-9 or \
                                (final >= 100 - 1e-9 and bounds[1] >= 100)
    return tallies


def merged(tallies, method: str, group: int | None = None, shape: str | None = None) -> Tally:
    out = Tally()
    for (s, m, g), t in tallies.items():
        if m != method or (group is not None and g != group) or (shape is not None and s != shape):
            continue
        out.eta_err_h += t.eta_err_h
        out.final_err += t.final_err
        for name in ("alarms", "misses", "no_hit_points", "hit_points", "covered", "banded"):
            setattr(out, name, getattr(out, name) + getattr(t, name))
    return out


def row(label: str, t: Tally) -> str:
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):6.1f}" if values else "     –"

    alarms = f"{100 * t.alarms / t.no_hit_points:5.1f}%" if t.no_hit_points else "     –"
    misses = f"{100 * t.misses / t.hit_points:5.1f}%" if t.hit_points else "     –"
    cover = f"{100 * t.covered / t.banded:5.1f}%" if t.banded else "     –"
    return f"{label:<22} {med(t.eta_err_h)} h  {med(t.final_err)} pt  {alarms}  {misses}  {cover}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=3, help="users per shape")
    ap.add_argument("--weeks", type=int, default=14)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    tallies = run(args.users, args.weeks, args.seed)
    print(f"forecast backtest: {args.users} users × 4 shapes × {args.weeks - FIRST_TEST_WEEK} test weeks, "
          f"seed {args.seed}")
    print(f"{'method / horizon':<22} {'ETA err':>8}  {'%@reset':>8}  {'alarms':>6}  {'misses':>6}  {'band':>6}")
    for group, (lo, hi) in [(None, (0, 168)), *enumerate(HORIZONS)]:
        for method in ("profile", "linear", "last24h"):
            label = f"{method} {'all' if group is None else f'{lo}-{min(hi, 168)}h left'}"
            print(row(label, merged(tallies, method, group)))
    print("per shape (all horizons):")
    for shape in ("steady", "bursty", "weekend", "claude_ai"):
        for method in ("profile", "linear"):
            print(row(f"{shape} {method}", merged(tallies, method, shape=shape)))
    p, lin = merged(tallies, "profile"), merged(tallies, "linear")
    if p.eta_err_h and lin.eta_err_h:
        ratio = statistics.median(p.eta_err_h) / max(statistics.median(lin.eta_err_h), 1e-9)
        print(f"time-to-cap error within 48 h of the cap: profile / linear = {ratio:.2f}× (target ≤ 0.75×)")


if __name__ == "__main__":
    main()
