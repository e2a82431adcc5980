"""Publishing this machine's part of the store into the sync folder: one file per UTC month plus the official
samples, each written to a new file, fsynced and renamed into place (a sync tool never sees half a file)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import orjson

from ..atomic import write_atomic
from . import format as fmt

SAMPLES_KEPT_MS = 8 * 86_400_000
"""Official samples whose window reset within this span (or is still open) are published: enough for every gauge."""
_MONTH_SQL = "strftime('%Y-%m', {col} / 1000, 'unixepoch')"


@dataclass
class Published:
    written: int = 0
    unchanged: int = 0
    rows: int = 0

    def line(self) -> str:
        return f"published {self.written} file{'' if self.written == 1 else 's'} ({self.rows:,} rows; " \
               f"{self.unchanged} unchanged)"


def machine_dir(folder: Path, machine: str) -> Path:
    return folder / machine


def month_range(period: str) -> tuple[int, int]:
    """`2026-11` → [first ms, next month's first ms) in UTC."""
    from datetime import datetime
    year, month = int(period[:4]), int(period[5:7])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def publish(store, folder: Path, now_ms: int) -> Published:
    """Write every month whose rows changed since the last publish, and the samples file; returns what it did."""
    me = store.machine
    target = machine_dir(folder, me)
    target.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(target, 0o700)
    db = store.db
    periods = {r[0] for r in db.execute(
        f"SELECT DISTINCT {_MONTH_SQL.format(col='ts')} FROM requests WHERE machine = ? UNION "
        f"SELECT DISTINCT {_MONTH_SQL.format(col='slot')} FROM rollups WHERE machine = ? UNION "
        f"SELECT DISTINCT {_MONTH_SQL.format(col='slot')} FROM tool_rollups WHERE machine = ?", (me, me, me))}
    # A month that has a file but no rows any more (its responses now belong to a machine that sorts first) is
    # written empty, so peers drop what they merged from it.
    periods |= {p for p in (fmt.period_of(f.name) for f in target.iterdir()) if p}
    out = Published()
    for period in sorted(periods):
        rows = month_rows(store, period)
        out.rows += _write_if_changed(store, target, fmt.usage_file_name(period), fmt.USAGE, period, rows, now_ms,
                                      out)
    samples = [["o", *r] for r in db.execute(
        "SELECT window, used_pct, resets_at_ms, taken_ms, MAX(seen_ms, taken_ms) FROM official_samples "
        "WHERE resets_at_ms > ? ORDER BY window, taken_ms, id", (now_ms - SAMPLES_KEPT_MS,))]
    out.rows += _write_if_changed(store, target, fmt.LIMITS_FILE, fmt.LIMITS, None, samples, now_ms, out)
    return out


def month_rows(store, period: str) -> list[list]:
    """Every row of this machine in one UTC month, in the file's row shapes (see format.py)."""
    me = store.machine
    lo, hi = month_range(period)
    db = store.db
    args = (me, lo, hi)
    rows: list[list] = [["r", *r] for r in db.execute(
        "SELECT dedup_key, message_id, request_id, source, session_id, project, agent_id, is_sidechain, model, ts, "
        "input_tokens, output_tokens, cache_write_5m, cache_write_1h, cache_read, speed, reported_cost, "
        "web_search_requests, inference_geo, cost_usd, priced "
        "FROM requests WHERE machine = ? AND ts >= ? AND ts < ? ORDER BY dedup_key", args)]
    rows += [["t", *r] for r in db.execute(
        "SELECT t.tool_use_id, t.message_id, t.name FROM tool_calls t WHERE t.message_id IN "
        "(SELECT message_id FROM requests WHERE machine = ? AND ts >= ? AND ts < ?) ORDER BY 1", args)]
    rows += [["u", *r] for r in db.execute(
        "SELECT slot, source, session_id, project, model, speed, long_context, input_tokens, output_tokens, "
        "cache_write_5m, cache_write_1h, cache_read, requests, cost_usd, priced, web_search_requests, inference_geo "
        "FROM rollups WHERE machine = ? AND slot >= ? AND slot < ? ORDER BY 1, 2, 3, 4, 5, 6, 7, 17", args)]
    rows += [["x", *r] for r in db.execute(
        "SELECT slot, source, model, speed, long_context, name, calls, requests, input_tokens, output_tokens, "
        "cache_write_5m, cache_write_1h, cache_read, cost_usd, priced, web_search_requests, inference_geo "
        "FROM tool_rollups WHERE machine = ? AND slot >= ? AND slot < ? ORDER BY 1, 2, 3, 4, 5, 6, 17", args)]
    rows += [["s", *r] for r in db.execute(
        "SELECT session_id, source, project, title, title_rank, git_branch, first_ts, last_ts FROM sessions "
        "WHERE session_id IN (SELECT session_id FROM requests WHERE machine = ?1 AND ts >= ?2 AND ts < ?3 "
        "UNION SELECT session_id FROM rollups WHERE machine = ?1 AND slot >= ?2 AND slot < ?3) ORDER BY 1", args)]
    return rows


def _write_if_changed(store, target: Path, name: str, kind: str, period: str | None, rows: list[list],
                      now_ms: int, out: Published) -> int:
    # The costs written are priced with the table the store last priced with: peers with the same one take them.
    prices = store.meta("price_fingerprint") if store.prices is not None else None
    digest = hashlib.sha256(orjson.dumps([fmt.VERSION, prices, rows])).hexdigest()
    key = f"sync_digest:{name}"
    if store.meta(key) == digest and (target / name).exists():
        out.unchanged += 1
        return 0
    data = fmt.encode(store.machine, kind, period, now_ms, rows, prices)
    write_atomic(target / name, data)
    store.set_meta(key, digest)
    # What merge compares its own folder's files with: a file this store wrote is never merged back into it.
    store.set_meta(f"sync_written:{name}", hashlib.sha256(data).hexdigest())
    out.written += 1
    return len(rows)
