"""Usage the local logs never see: the official weekly % counts claude.ai and other machines too, local logs only
this machine's Claude Code. Between two official samples the rise that local usage does not explain happened
elsewhere; this module rebuilds an hourly series in official % from local usage and the samples, so the weekly
profile learns the whole of the user's week (evenings on claude.ai included), and says how much of it the level
between samples misses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..clock import HOUR_MS
from .samples import Sample

SHORT_GAP_MS = 2 * HOUR_MS
"""Consecutive samples this close measure the local rate (official % per unit of local usage): over a short gap
little happens elsewhere."""


@dataclass(frozen=True, slots=True)
class Rebuilt:
    hourly: list[tuple[int, float]]
    """(hour start, % of the cap) of every surface, ascending."""
    elsewhere: list[tuple[int, float]]
    """The part of `hourly` local usage did not explain (spread evenly over the gap it happened in)."""


def rebuild(local: Sequence[tuple[int, float]], samples: Sequence[Sample], windows: Sequence[tuple[int, int]],
            now: int) -> Rebuilt:
    """`local` is hourly local usage already in % by the current calibration; `windows` the weekly windows to
    rebuild (a window with no sample of its own keeps its local figures). A sample counts for the window whose
    reset it names; an hour belongs to the gap between samples that holds its middle."""
    by_hour = {ts - ts % HOUR_MS: amount for ts, amount in local}
    out: dict[int, float] = dict(by_hour)
    other: dict[int, float] = {}
    for start, end in windows:
        own = sorted((s for s in samples if s.resets_at_ms is not None and abs(s.resets_at_ms - end) < HOUR_MS
                      and start <= s.taken_ms < min(end, now + 1)), key=lambda s: s.taken_ms)
        if not own:
            continue
        hours = [h for h in range(start - start % HOUR_MS, min(end, now + 1), HOUR_MS)]
        anchors = [(start, 0.0), *((s.taken_ms, s.used_pct) for s in own)]
        gaps = []
        for (a, pa), (b, pb) in zip(anchors, anchors[1:]):
            inside = [h for h in hours if a < h + HOUR_MS // 2 <= b]
            gaps.append((a, b, pb - pa, inside, sum(by_hour.get(h, 0.0) for h in inside)))
        short = [(delta, used) for a, b, delta, _, used in gaps if b - a <= SHORT_GAP_MS and used > 0]
        total_local = sum(g[4] for g in gaps)
        if short and sum(u for _, u in short) > 0:
            rate = max(0.0, sum(d for d, _ in short)) / sum(u for _, u in short)
        elif total_local > 0:
            rate = own[-1].used_pct / total_local
        else:
            rate = 1.0
        for _, _, delta, inside, used in gaps:
            explained = rate * used
            factor = min(1.0, max(delta, 0.0) / explained) if explained > 0 else 0.0
            rest = max(0.0, delta - explained)
            for h in inside:
                out[h] = by_hour.get(h, 0.0) * rate * factor + rest / len(inside)
                if rest > 0:
                    other[h] = rest / len(inside)
        last = anchors[-1][0]
        for h in hours:
            if h + HOUR_MS // 2 > last and h in by_hour:
                out[h] = by_hour[h] * rate
    return Rebuilt(sorted(out.items()), sorted(other.items()))
