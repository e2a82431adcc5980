#!/usr/bin/env python3
"""Backtest of the weekly forecast on synthetic weeks of several user shapes, through the public path, beside two
naive baselines.

    python tests/bench/backtest_forecast.py [--users 2] [--weeks 12] [--seed 2]

Each user has `--weeks` weeks of hourly usage in % of the weekly cap; once a week reaches 100% the user is blocked
until the reset. Only the Claude Code part reaches the local store (one request per active hour); the claude.ai
part (the "claude_ai" shape's evenings and weekends) is seen only by the official %, which is sampled only in hours
Claude Code runs (and once at 100% when the user is blocked). From week 6 on, every 6 hours, `compute_status` (what
`status --json`, the TUI, the statusline and the alerts read) answers on the store as it stood then; the two
baselines, a straight line from the week's start and the last 24 hours' rate, start from the same level.

Printed per method and horizon (hours left in the week), at points within 48 h of the cap, the median error of
the time-to-cap *named* on screen (a committed ETA, "on pace to hit the cap Thu 14:00", or the time of "may hit the
cap Thu 14:00 (40% of weeks like this did)"; nothing named is scored as the reset) and of committed ETAs only;
then the median "% at reset" error, false alarms (an ETA committed to, the week did not hit: what fires alerts and
the hook), misses (the week hit though the forecast said it would not: "won't"/"unlikely to hit", or for a
baseline no ETA), the undecided share (no commitment, no "won't hit": "may hit"), and how often the 80% band held
the outcome.

Tuning and evaluation are kept apart: the constants in usage/profile.py (PRIOR_WEIGHT, TODAY_WEIGHT,
BAND_COVERAGE) and usage/weekly.py (COMMIT_CHANCE, SURE_CHANCE, NEAR_MS, CLEAR_CHANCE) were chosen on seed 1; the
figures in the README are from seeds 2 and 3, which were not looked at while tuning. Targets (issue #18):
time-to-cap error ≤ 0.75× the linear baseline's; false alarms and misses each ≤ 15%; the 80% band holds 75–85%.
Printed, not asserted: this is a measurement, not a test."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from tokentop.ingest.clock import DAY_MS, HOUR_MS, MINUTE_MS, WEEK_MS  # noqa: E402
from tokentop.ingest.config import Settings  # noqa: E402
from tokentop.ingest.store.schema import ADD_NEW_SLOT_USAGE_SQL  # noqa: E402
from tokentop.ingest.store.store import Store  # noqa: E402
from tokentop.ingest.usage.limits import compute_status  # noqa: E402

START = int(datetime(2026, 6, 1, tzinfo=UTC).timestamp() * 1000)  # a Monday
STEP_MS = 6 * HOUR_MS
FIRST_TEST_WEEK = 6
HORIZONS = ((0, 24), (24, 72), (72, 169))
USD_PER_PCT = 0.5
"""Local cost of 1% of the weekly cap (what calibration has to find)."""
SHAPES = ("steady", "bursty", "weekend", "claude_ai")


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


def make_user(shape: str, weeks: int, rng: random.Random) -> tuple[dict[int, tuple[float, float]], set[int]]:
    """Hourly (Claude Code %, claude.ai %) of the cap, and the hours spent blocked at the cap."""
    raw: list[list[float]] = []
    for _ in range(weeks):
        week_level = rng.lognormvariate(0, 0.25)
        hours = []
        for d in range(7):
            off = shape != "steady" and rng.random() < 0.15
            day_level = 0.0 if off else week_level * rng.lognormvariate(0, 0.35) * (3.0 if rng.random() < 0.1 else 1)
            hours += [shape_rate(shape, rng, d, h, day_level) for h in range(24)]
        raw.append(hours)
    # The cap: the median week's total is 95% of it, so about half the weeks come close or hit.
    scale = 95.0 / statistics.median(sum(w) for w in raw)
    usage: dict[int, tuple[float, float]] = {}
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
            day, hour = divmod(i, 24)
            elsewhere = shape == "claude_ai" and (day >= 5 or hour >= 20)
            if amount:
                usage[ts] = (0.0, amount) if elsewhere else (amount, 0.0)
    return usage, blocked


def fill_store(store: Store, usage: dict[int, tuple[float, float]], blocked: set[int]) -> None:
    """One Claude Code request per hour with local use, and an official sample in each such hour (and one at 100%
    in the first blocked hour of a week: the user opens Claude Code and sees the cap)."""
    db = store.db
    cum: dict[int, float] = {}
    for n, ts in enumerate(sorted(set(usage) | blocked)):
        week = (ts - START) // WEEK_MS
        cc, other = usage.get(ts, (0.0, 0.0))
        cum[week] = cum.get(week, 0.0) + cc + other
        resets = START + (week + 1) * WEEK_MS
        if cc > 0:
            output = int(round(cc * USD_PER_PCT / 25e-6))
            cur = db.execute(
                "INSERT INTO requests(dedup_key, message_id, request_id, source, session_id, project, agent_id,"
                " is_sidechain, model, ts, input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read,"
                " total_tokens, speed, cost_usd, priced, reported_cost) VALUES (?, ?, ?, 'claude-code', ?, '/p', NULL,"
                " 0, 'claude-opus-4-6', ?, 0, ?, 0, 0, 0, ?, NULL, ?, 1, NULL)",
                (f"m{n}", f"m{n}", f"r{n}", f"s{week}", ts + 30 * MINUTE_MS, output, output, cc * USD_PER_PCT))
            db.execute(ADD_NEW_SLOT_USAGE_SQL, (cur.lastrowid - 1,))  # the slot sums, as the writer keeps them
        first_blocked = ts in blocked and ts - HOUR_MS not in blocked
        if cc > 0 or first_blocked:
            taken = ts + 45 * MINUTE_MS
            db.execute("INSERT OR IGNORE INTO official_samples(taken_ms, window, used_pct, resets_at_ms, session_id,"
                       " seen_ms) VALUES (?, 'seven_day', ?, ?, NULL, ?)",
                       (taken, round(min(cum[week], 100.0), 1), resets, taken))
    db.commit()


@dataclass
class Tally:
    eta_err_h: list[float] = field(default_factory=list)
    """Committed ETA (none: scored as the reset) against the real time the cap came, within 48 h of it."""
    named_err_h: list[float] = field(default_factory=list)
    """The same for the time named on screen: the committed ETA, or the "may hit … (n%)" time."""
    final_err: list[float] = field(default_factory=list)
    alarms: int = 0
    misses: int = 0
    no_hit_points: int = 0
    hit_points: int = 0
    covered: int = 0
    banded: int = 0
    undecided: int = 0
    points: int = 0
    level_err: list[float] = field(default_factory=list)


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
    settings = Settings(timezone="UTC")
    for shape in SHAPES:
        for _user in range(users):
            usage, blocked = make_user(shape, weeks, rng)
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(Path(tmp) / "usage.db")
                fill_store(store, usage, blocked)
                for w in range(FIRST_TEST_WEEK, weeks):
                    run_week(tallies, store, settings, shape, usage, START + w * WEEK_MS)
                store.close()
    return tallies


def run_week(tallies, store, settings, shape: str, usage, start: int) -> None:
    end = start + WEEK_MS
    week = sorted((ts, cc + other) for ts, (cc, other) in usage.items() if start <= ts < end)
    final = sum(a for _, a in week)
    cum, hit_at = 0.0, None
    for ts, a in week:
        cum += a
        if cum >= 100.0 - 1e-9:
            hit_at = ts + HOUR_MS
            break
    for now in range(start + STEP_MS, end, STEP_MS):
        truth = sum(a for ts, a in week if ts < now)
        if truth >= 100.0 - 1e-9:
            continue
        status = compute_status(store, settings, now_ms=now, windows=["week"], detail=["week"])["week"]
        f = status.forecast
        if f is None or status.used_pct is None:
            continue
        used = status.used_pct
        left_h = (end - now) / HOUR_MS
        group = next(i for i, (lo, hi) in enumerate(HORIZONS) if lo <= left_h < hi)
        elapsed_h = (now - start) / HOUR_MS
        back = max(start, now - DAY_MS)
        before = next((v for t, v in reversed(f.history) if t <= back), 0.0)
        recent = (used - before) / ((now - back) / HOUR_MS)
        lin_eta, last_eta = eta_of(used, used / elapsed_h, now, end), eta_of(used, recent, now, end)
        bounds = (f.low_pct_at_reset, f.high_pct_at_reset) if f.band_level else None
        if f.hit_chance is not None:  # what the summary says: "won't"/"unlikely to" hit, or a time it may hit
            clear = f.eta_ms is None and f.eta_if_hit_ms is None
        else:
            clear = f.eta_ms is None and (bounds is None or bounds[1] < 100.0)
        preds = {  # final, committed ETA, the time named ("on pace to hit" or "may hit"), band, says clear
            "linear": (used + used / elapsed_h * left_h, lin_eta, lin_eta, None, lin_eta is None),
            "last24h": (used + recent * left_h, last_eta, last_eta, None, last_eta is None),
            "tokentop": (f.pct_at_reset, f.eta_ms, f.eta_ms if f.eta_ms is not None else f.eta_if_hit_ms, bounds,
                         clear),
        }
        tallies.setdefault(("methods", f.method, 0), Tally()).points += 1
        for method, (pred_final, eta, named, bounds, says_clear) in preds.items():
            t = tallies.setdefault((shape, method, group), Tally())
            t.final_err.append(abs(min(pred_final if pred_final is not None else used, 100.0) - final))
            if method == "tokentop":
                t.level_err.append(abs(used - truth))
            if hit_at is None:
                t.no_hit_points += 1
                t.alarms += eta is not None
            else:
                t.hit_points += 1
                t.misses += says_clear
                if hit_at - now <= 2 * DAY_MS:
                    t.eta_err_h.append(abs((eta if eta is not None else end) - hit_at) / HOUR_MS)
                    t.named_err_h.append(abs((named if named is not None else end) - hit_at) / HOUR_MS)
            t.undecided += eta is None and not says_clear
            t.points += 1
            if bounds is not None:
                t.banded += 1
                t.covered += bounds[0] - 0.5 <= final <= bounds[1] + 0.5 or (final >= 100 - 1e-9 and bounds[1] >= 100)


def merged(tallies, method: str, group: int | None = None, shape: str | None = None) -> Tally:
    out = Tally()
    for (s, m, g), t in tallies.items():
        if m != method or (group is not None and g != group) or (shape is not None and s != shape):
            continue
        out.eta_err_h += t.eta_err_h
        out.named_err_h += t.named_err_h
        out.final_err += t.final_err
        out.level_err += t.level_err
        for name in ("alarms", "misses", "no_hit_points", "hit_points", "covered", "banded", "undecided", "points"):
            setattr(out, name, getattr(out, name) + getattr(t, name))
    return out


def row(label: str, t: Tally) -> str:
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):6.1f}" if values else "     –"

    alarms = f"{100 * t.alarms / t.no_hit_points:5.1f}%" if t.no_hit_points else "     –"
    misses = f"{100 * t.misses / t.hit_points:5.1f}%" if t.hit_points else "     –"
    cover = f"{100 * t.covered / t.banded:5.1f}%" if t.banded else "     –"
    undecided = f"{100 * t.undecided / t.points:5.1f}%" if t.points else "     –"
    return f"{label:<24} {med(t.named_err_h)} h {med(t.eta_err_h)} h  {med(t.final_err)} pt  {alarms}  {misses}" \
        f"  {undecided}  {cover}" \
        f"  {med(t.level_err)} pt"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2, help="users per shape")
    ap.add_argument("--weeks", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2, help="1 is the tuning seed; report others")
    args = ap.parse_args()
    tallies = run(args.users, args.weeks, args.seed)
    methods = {m: t.points for (s, m, _), t in tallies.items() if s == "methods"}
    print(f"forecast backtest via compute_status: {args.users} users × 4 shapes × {args.weeks - FIRST_TEST_WEEK} "
          f"test weeks, seed {args.seed}; forecast methods used: {methods}")
    print(f"{'method / horizon':<24} {'named':>8} {'ETA err':>8}  {'%@reset':>8}  {'alarms':>6}  {'misses':>6}  "
          f"{'undec.':>6}  {'band':>6}  {'level err':>9}")
    for group, (lo, hi) in [(None, (0, 168)), *enumerate(HORIZONS)]:
        for method in ("tokentop", "linear", "last24h"):
            label = f"{method} {'all' if group is None else f'{lo}-{min(hi, 168)}h left'}"
            print(row(label, merged(tallies, method, group)))
    print("per shape (all horizons):")
    for shape in SHAPES:
        for method in ("tokentop", "linear"):
            print(row(f"{shape} {method}", merged(tallies, method, shape=shape)))
    p, lin = merged(tallies, "tokentop"), merged(tallies, "linear")
    if p.eta_err_h and lin.eta_err_h:
        named = statistics.median(p.named_err_h) / max(statistics.median(lin.named_err_h), 1e-9)
        strict = statistics.median(p.eta_err_h) / max(statistics.median(lin.eta_err_h), 1e-9)
        print(f"time-to-cap error within 48 h of the cap, tokentop / linear: the time named {named:.2f}× "
              f"(target ≤ 0.75×); committed ETAs only {strict:.2f}×")


if __name__ == "__main__":
    main()
