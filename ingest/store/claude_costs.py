"""Claude Code's own cumulative figures per session (`cost-state` lines), kept beside our estimate as a check, and
the context tags they reveal (`claude-opus-5[1m]`: the only place a tag is visible), which then name the id a
session's requests are priced as. Never usage: nothing here adds to a token or dollar total."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable

from ..records import SessionInfo

_DATE_SUFFIX = re.compile(r"-\d{8}\Z")
PriceRow = Callable[..., tuple[float, int]]
"""(model, speed, geo, web searches, input, output, write 5m, write 1h, read, reported) -> (cost_usd, priced)."""


def context_tag_of(model: str) -> tuple[str, str] | None:
    """("claude-opus-5", "[1m]") for a tagged id; None for an id without a `[…]` tag."""
    at = model.find("[")
    if at <= 0 or not model.endswith("]"):
        return None
    return model[:at], model[at:]


def available(db: sqlite3.Connection) -> bool:
    """False on a store older than the migration that made the tables (read-only while an older tokentop writes)."""
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'claude_costs'").fetchone() \
        is not None


def write(db: sqlite3.Connection, sessions: Iterable[SessionInfo], price_row: PriceRow | None) -> None:
    """Keep each session's newest state (the figures are cumulative: the larger total wins, a tie replaces), then
    price the session's requests under the ids it names. Call inside the batch's transaction."""
    for info in sessions:
        state = info.cost_state
        if state is None:
            continue
        old = db.execute("SELECT total_cost_usd FROM claude_costs WHERE session_id = ?", (info.session_id,)).fetchone()
        if old is not None and state.total_usd < old[0]:
            continue
        before = tags_for(db, {info.session_id})
        db.execute("INSERT INTO claude_costs(session_id, total_cost_usd, ts) VALUES (?, ?, ?) ON CONFLICT(session_id) "
                   "DO UPDATE SET total_cost_usd = excluded.total_cost_usd, ts = excluded.ts",
                   (info.session_id, state.total_usd, state.ts_ms))
        db.execute("DELETE FROM claude_cost_models WHERE session_id = ?", (info.session_id,))
        db.executemany("INSERT INTO claude_cost_models VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [(info.session_id, m.model, m.input_tokens, m.output_tokens, m.cache_read, m.cache_write,
                         m.web_search_requests, m.cost_usd) for m in state.models])
        if tags_for(db, {info.session_id}) != before:  # written every turn or so: mostly nothing new
            retag(db, info.session_id, price_row)


def tags_for(db: sqlite3.Connection, session_ids: set[str]) -> dict[str, dict[str, str]]:
    """session → {untagged id: tagged id} from the stored states. An id Claude Code names both with and without a
    tag in one session is ambiguous: its requests keep their own id."""
    if not session_ids:
        return {}
    out: dict[str, dict[str, str]] = {}
    ids = list(session_ids)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        rows = db.execute(f"SELECT session_id, model FROM claude_cost_models WHERE session_id IN "
                          f"({', '.join('?' * len(chunk))})", chunk).fetchall()
        by_session: dict[str, list[str]] = {}
        for sid, model in rows:
            by_session.setdefault(sid, []).append(model)
        for sid, models in by_session.items():
            plain = set(models)
            tags: dict[str, str] = {}
            for model in models:
                split = context_tag_of(model)
                if split is not None and split[0] not in plain:
                    tags[split[0]] = model if split[0] not in tags else ""  # two tags for one id: ambiguous
            tags = {base: tagged for base, tagged in tags.items() if tagged}
            if tags:
                out[sid] = tags
    return out


def priced_as(model: str, tags: dict[str, str] | None) -> str | None:
    """The tagged id a request of `model` is priced as (`claude-opus-5-20261015` → `claude-opus-5[1m]`), or None."""
    if not tags:
        return None
    tagged = tags.get(model)
    if tagged is None:
        tagged = tags.get(_DATE_SUFFIX.sub("", model))
    return tagged


def retag(db: sqlite3.Connection, session_id: str, price_row: PriceRow | None) -> int:
    """Set `priced_as` on the session's requests from its stored state, and re-price the rows that changed (the
    slot sums follow through their update trigger; without a price table only the id is set, and the next opening
    with one re-prices everything). Returns how many rows changed."""
    tags = tags_for(db, {session_id}).get(session_id)
    changed: list[tuple] = []
    for rid, model, old, speed, geo, web, i, o, w5, w1, r, reported in db.execute(
            "SELECT id, model, priced_as, speed, inference_geo, web_search_requests, input_tokens, output_tokens, "
            "cache_write_5m, cache_write_1h, cache_read, reported_cost FROM requests WHERE session_id = ?",
            (session_id,)).fetchall():
        new = priced_as(model, tags)
        if new != old:
            if price_row is None:
                changed.append((new, rid))
            else:
                cost, priced = price_row(new or model, speed, geo, web, i, o, w5, w1, r, reported)
                changed.append((new, cost, priced, rid))
    if price_row is None:
        db.executemany("UPDATE requests SET priced_as = ? WHERE id = ?", changed)
    else:
        db.executemany("UPDATE requests SET priced_as = ?, cost_usd = ?, priced = ? WHERE id = ?", changed)
    return len(changed)


def comparison(db: sqlite3.Connection, session_id: str) -> dict | None:
    """Claude Code's figure beside ours for one session, or None when it wrote none. Ours counts the requests up to
    the state's time when the line carries one (later requests are not in Claude Code's figure yet)."""
    if not available(db):
        return None
    row = db.execute("SELECT total_cost_usd, ts FROM claude_costs WHERE session_id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    total, ts = row
    until = ts if ts is not None else 1 << 62
    est, unpriced = db.execute(
        "SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(priced = 0), 0) FROM requests "
        "WHERE session_id = ? AND ts <= ?", (session_id, until)).fetchone()
    rolled, rolled_unpriced = db.execute(
        "SELECT COALESCE(SUM(cost_usd), 0), COALESCE(SUM(CASE WHEN priced = 0 THEN requests ELSE 0 END), 0) "
        "FROM rollups WHERE session_id = ? AND slot <= ?", (session_id, until)).fetchone()
    est += rolled
    models = [{"model": m, "input_tokens": i, "output_tokens": o, "cache_read_tokens": r,
               "cache_creation_tokens": w, "web_search_requests": web, "cost_usd": round(c, 6)}
              for m, i, o, r, w, web, c in db.execute(
                  "SELECT model, input_tokens, output_tokens, cache_read, cache_write, web_search_requests, cost_usd "
                  "FROM claude_cost_models WHERE session_id = ? ORDER BY cost_usd DESC, model", (session_id,))]
    return check(total, est, unpriced + rolled_unpriced, ts, models)


DIFFERS_AT = 0.02
"""A difference above 2% of Claude Code's own figure is flagged."""


def check(claude_usd: float, estimate_usd: float, unpriced: int, ts: int | None, models: list[dict]) -> dict:
    """The comparison as reports carry it: both figures, the difference in % of Claude Code's, and the flag."""
    diff = estimate_usd - claude_usd
    pct = diff / claude_usd * 100 if claude_usd > 0 else None
    differs = abs(diff) > DIFFERS_AT * claude_usd if claude_usd > 0 else estimate_usd >= 0.005
    return {"cost_usd": round(claude_usd, 6), "estimate_usd": round(estimate_usd, 6),
            "estimate_unpriced_requests": unpriced, "difference_usd": round(diff, 6),
            "difference_pct": None if pct is None else round(pct, 2), "differs": differs, "as_of_ms": ts,
            "models": models}
