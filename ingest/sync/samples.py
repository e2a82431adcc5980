"""Official samples from other machines: the account's figures, whoever saw them. Placed in time by what they say,
not only by the peer's clock, so a machine whose clock is off cannot make an old reading look like the newest."""

from __future__ import annotations


def merge_samples(store, samples: list[tuple], now_ms: int) -> int:
    """Insert peer samples; returns how many were new. Within one window (same key and reset time) the used % only
    grows, and a later reset time is a later window: those two facts order samples without any clock. A peer's
    `taken_ms` is moved, when needed, to just after the newest sample it must follow and before the oldest it must
    precede, and never past this machine's now — so the newest official reading wins on every machine."""
    db = store.db
    new = 0
    for window, pct, resets, taken, seen in samples:
        pct = float(pct)
        taken = min(taken, now_ms)
        before = db.execute(
            "SELECT MAX(taken_ms) FROM official_samples WHERE window = ?1 AND "
            "(resets_at_ms < ?2 OR (resets_at_ms = ?2 AND used_pct < ?3))", (window, resets, pct)).fetchone()[0]
        after = db.execute(
            "SELECT MIN(taken_ms) FROM official_samples WHERE window = ?1 AND "
            "(resets_at_ms > ?2 OR (resets_at_ms = ?2 AND used_pct > ?3))", (window, resets, pct)).fetchone()[0]
        if before is not None and taken <= before:
            taken = before + 1
        if after is not None and taken >= after:
            taken = max(after - 1, before + 1 if before is not None else after - 1)
        taken = min(taken, now_ms)
        seen = min(max(seen, taken), now_ms)
        cur = db.execute("INSERT OR IGNORE INTO official_samples(taken_ms, window, used_pct, resets_at_ms, "
                         "session_id, seen_ms) VALUES (?, ?, ?, ?, NULL, ?)", (taken, window, pct, resets, seen))
        if cur.rowcount:
            new += 1
        else:
            db.execute("UPDATE official_samples SET seen_ms = MAX(seen_ms, ?) WHERE window = ? AND resets_at_ms = ? "
                       "AND used_pct = ?", (seen, window, resets, pct))
    return new
