"""Official samples: the used % Claude Code's statusline reports per window, stored when it changes, read back
for calibration, and (for the hook) taken as the figure itself while fresh."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from ..clock import MINUTE_MS, WEEK_MS
from ..text import LIVE_MS
from .windows import FIVE_HOURS_MS, OFFICIAL_KEY, WINDOW_LENGTH_MS, OfficialKey, WindowName, WindowStatus

FRESH_MS = LIVE_MS
"""A sample confirmed this recently is shown as the official figure itself."""
SEEN_REFRESH_MS = MINUTE_MS
"""An unchanged reading refreshes its sample's `seen_ms` at most this often: the statusline runs every few hundred
ms, and one write a minute is plenty to know the figure is current."""


@dataclass(frozen=True)
class Sample:
    """One official reading from Claude Code's statusline input."""

    window: OfficialKey
    """Claude Code's key: five_hour | seven_day | seven_day_opus | seven_day_sonnet."""
    used_pct: float
    resets_at_ms: int | None
    taken_ms: int = 0
    """When this % was first seen: about when usage reached it (what calibration fits)."""
    session_id: str | None = None
    seen_ms: int = 0
    """When this % was last confirmed (what the gauge anchors to); 0 = same as taken_ms."""

    @property
    def confirmed_ms(self) -> int:
        return max(self.seen_ms, self.taken_ms)



def round_minute(ms: int) -> int:
    # resets_at is a fixed instant; rounding absorbs any seconds of jitter between builds so one window keeps one key.
    return (ms + MINUTE_MS // 2) // MINUTE_MS * MINUTE_MS



def record_samples(store, samples: Iterable[Sample], taken_ms: int, session_id: str | None = None) -> int:
    """Store each sample that differs from the newest stored one of its window; returns how many were new.
    An unchanged one only refreshes that row's `seen_ms`, at most once per SEEN_REFRESH_MS.

    A sample without `resets_at` borrows the reset of its window's newest stored sample when that is still in the
    future, and is dropped otherwise: a percentage without its window cannot be placed."""
    db = store.db
    rows, seen = [], []
    for s in samples:
        latest = db.execute("SELECT used_pct, resets_at_ms, id, seen_ms FROM official_samples WHERE window = ? "
                            "ORDER BY taken_ms DESC, id DESC LIMIT 1", (s.window,)).fetchone()
        resets = round_minute(s.resets_at_ms) if s.resets_at_ms is not None else None
        if resets is None:
            if latest is None or latest[1] <= taken_ms:
                continue
            resets = latest[1]
        length = WINDOW_LENGTH_MS.get(s.window)
        if length is not None and not taken_ms - MINUTE_MS <= resets <= taken_ms + length + MINUTE_MS:
            continue  # a reset outside the window it names (or in the past) is not a real sample
        if latest is not None and latest[0] == s.used_pct and latest[1] == resets:
            if taken_ms - latest[3] >= SEEN_REFRESH_MS:
                seen.append((taken_ms, latest[2]))
            continue  # the statusline runs every few hundred ms; only a change is worth a row
        rows.append((taken_ms, s.window, float(s.used_pct), resets, session_id, taken_ms))
    if not rows and not seen:
        return 0
    new = 0
    with store.transaction():
        for row in rows:
            new += db.execute("INSERT OR IGNORE INTO official_samples(taken_ms, window, used_pct, resets_at_ms, "
                              "session_id, seen_ms) VALUES (?, ?, ?, ?, ?, ?)", row).rowcount
        db.executemany("UPDATE official_samples SET seen_ms = MAX(seen_ms, ?) WHERE id = ?", seen)
    return new


def load_samples(store, resets_after_ms: int, taken_until_ms: int | None = None) -> dict[str, list[Sample]]:
    """Samples whose window resets after `resets_after_ms` (and taken by `taken_until_ms`), by Claude Code window
    key, oldest first."""
    out: dict[str, list[Sample]] = {}
    until = taken_until_ms if taken_until_ms is not None else 2**62
    try:
        rows = store.db.execute(
            "SELECT window, used_pct, resets_at_ms, taken_ms, session_id, MIN(seen_ms, ?2) FROM official_samples "
            "WHERE resets_at_ms > ?1 AND taken_ms <= ?2 ORDER BY taken_ms, id", (resets_after_ms, until)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        return out  # a read-only look at a store no writer has migrated yet: no samples, not an error
    for window, pct, resets, taken, session, seen in rows:
        out.setdefault(window, []).append(Sample(window, pct, resets, taken, session, seen))
    return out



def fresh_official(store, now: int, names: Iterable[WindowName]) -> dict[WindowName, WindowStatus]:
    """The windows among `names` whose newest official sample was confirmed within FRESH_MS and resets ahead, as
    statuses holding that figure alone — no usage scan, so used_tokens/used_cost read 0. For the hook, which runs
    before every tool call and needs only the %; while Claude Code runs, its statusline keeps these fresh."""
    out: dict[WindowName, WindowStatus] = {}
    for name in names:
        key = OFFICIAL_KEY.get(name)
        if key is None:
            continue
        try:
            row = store.db.execute("SELECT used_pct, resets_at_ms, taken_ms, seen_ms FROM official_samples "
                                   "WHERE window = ? AND taken_ms <= ? ORDER BY taken_ms DESC, id DESC LIMIT 1",
                                   (key, now)).fetchone()
        except sqlite3.OperationalError:
            return out
        if row is None:
            continue
        pct, resets, taken, seen = row
        confirmed = min(max(taken, seen), now)
        if now - confirmed >= FRESH_MS or resets <= now:
            continue
        period = FIVE_HOURS_MS if name == "five_hour" else WEEK_MS
        out[name] = WindowStatus(name, resets - period, resets, "official", pct, 0, 0.0, None, None, pct, confirmed,
                                 None, [], window_source="official", samples=1)
    return out

