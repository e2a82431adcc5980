"""`tokentop doctor`: what was found, what the store holds, what was skipped — and rebuilding a damaged store."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from .logs.discovery import configured_roots, discover
from .logs.jsonl import FUTURE_CLAMPED, NOT_SKIPPED
from .logs.openclaw_store.reader import StoreReader, find_stores
from .logs.openclaw_store.schema import TESTED_SCHEMA, StoreUnreadable
from .price_book import config_lines, unpriced_models
from .records import OPENCLAW
from .safe_text import for_terminal
from .store.errors import StoreError
from .store.schema import SCHEMA_VERSION
from .store.store import Store
from .sync import doctor as sync_doctor


def examine(ctx) -> dict:
    found = discover(ctx.settings)
    report: dict = {
        "roots": [{"path": r.path, "source": r.source, "exists": r.exists, "files": r.files} for r in found.roots],
        "files_on_disk": len(found.files),
        "walk_problems": found.problems,
        "database": {"path": str(ctx.db_path), "exists": ctx.db_path.exists()},
        "agent_stores": agent_stores(ctx.settings),
        "official_cache": _official_cache(),
    }
    db = report["database"]
    if not db["exists"]:
        db["ok"] = True
        db["note"] = "not created yet; `tokentop ingest` creates it"
        return report
    db["size_bytes"] = sum(p.stat().st_size for p in _db_files(ctx.db_path))
    db["mode"] = oct(ctx.db_path.stat().st_mode & 0o777)
    try:
        with Store(ctx.db_path, readonly=True) as store:
            check = store.db.execute("PRAGMA quick_check").fetchone()[0]
            db["schema_version"] = store.version
            db["schema_expected"] = SCHEMA_VERSION
            db["integrity"] = check
            db.update(store.counts())
            db["skipped_lines"] = store.skipped_by_reason()
            db["unpriced_models"] = [{"model": model, "requests": n, "config": config_lines(ctx.prices, model)}
                                     for model, n in unpriced_models(store.db)]
            first, last = store.db.execute(
                "SELECT MIN(t), MAX(t) FROM (SELECT MIN(ts) t FROM requests UNION ALL SELECT MAX(ts) FROM requests "
                "UNION ALL SELECT MIN(slot) FROM rollups UNION ALL SELECT MAX(slot) FROM rollups)").fetchone()
            db["history_from"] = _iso(first)
            db["history_to"] = _iso(last)
            db["summaries_consistent"] = _summaries_consistent(store)
            report["sync"] = sync_doctor.examine(ctx.settings, store)
            db["ok"] = check == "ok" and db["summaries_consistent"]
    except (StoreError, sqlite3.DatabaseError) as exc:
        db["ok"] = False
        db["error"] = str(exc)
    return report


def agent_stores(settings) -> list[dict]:
    """Each OpenClaw agent store (2026.8+) under the OpenClaw roots: agent, schema, version, layout, or why not read."""
    roots = [p for p, source in configured_roots(settings) if source == OPENCLAW]
    stores, problems = find_stores(roots)
    out: list[dict[str, object]] = [{"path": path, "agent": path.split("/agents/")[-1].split("/")[0], "problem": why}
                                    for path, why in problems]
    for store in stores:
        entry: dict[str, object] = {"path": store.path, "agent": store.agent_id, "problem": None}
        reader = StoreReader(store)
        try:
            shape = reader.open()
            entry.update(agent=reader.agent_id, schema_version=shape.schema_version, app_version=shape.app_version,
                         layout=shape.layout, notes=shape.notes, sessions=len(reader.sessions()))
        except StoreUnreadable as exc:
            entry["problem"] = exc.reason
        finally:
            reader.close()
        out.append(entry)
    return sorted(out, key=lambda e: str(e["path"]))  # always a str


def format_report(report: dict) -> str:
    """The report as text for a terminal (paths come from the disk and the config: never printed raw)."""
    return for_terminal(_format_report(report))


def _format_report(report: dict) -> str:
    lines = ["Log roots:"]
    for r in report["roots"]:
        mark = "✓" if r["exists"] else "✗"
        lines.append(f"  {mark} {r['path']}  [{r['source']}]  {r['files'] if r['exists'] else 'missing'}"
                     f"{' files' if r['exists'] else ''}")
    lines.append(f"Session files on disk: {report['files_on_disk']}")
    for reason, n in report["walk_problems"].items():
        lines.append(f"  passed over: {n} × {reason}")
    lines.append(f"OpenClaw agent stores: {len(report.get('agent_stores', []))} (reads OpenClaw 2026.8+ agent schemas "
                 f"{TESTED_SCHEMA[0]}–{TESTED_SCHEMA[1]}: layouts 'sessions', 'windows', 'windows+zstd')")
    for e in report.get("agent_stores", []):
        if e["problem"]:
            lines.append(f"  ✗ {e['path']}  agent {e['agent']}: {e['problem']}")
            continue
        version = f"OpenClaw {e['app_version']}, " if e.get("app_version") else ""
        lines.append(f"  ✓ {e['path']}  agent {e['agent']}, schema {e['schema_version'] or '?'} "
                     f"({version}layout {e['layout']}), {e['sessions']} sessions")
        lines.extend(f"    note: {n}" for n in e.get("notes", ()))
    lines.extend(_official_cache_lines(report["official_cache"]))
    db = report["database"]
    lines.append(f"Database: {db['path']}")
    if not db["exists"]:
        lines.append(f"  {db['note']}")
        return "\n".join(lines)
    lines.append(f"  size {db['size_bytes'] / 1e6:.1f} MB, mode {db['mode']}")
    if "error" in db:
        lines.append(f"  PROBLEM: {db['error']}")
        return "\n".join(lines)
    lines.append(f"  schema version {db['schema_version']} (this tokentop: {db['schema_expected']}), "
                 f"integrity: {db['integrity']}")
    lines.append(f"  {db['requests']:,} responses, {db['rolled_up_requests']:,} more in "
                 f"{db['rollup_rows']:,} rollup rows, "
                 f"{db['sessions']:,} sessions, {db['files']:,} files tracked, {db['tool_calls']:,} tool calls")
    lines.append(f"  history: {db['history_from'] or '—'} → {db['history_to'] or '—'}")
    skipped = {reason: n for reason, n in db["skipped_lines"].items() if reason not in NOT_SKIPPED}
    if skipped:
        lines.append("  skipped lines: " + ", ".join(f"{n} {reason}" for reason, n in skipped.items()))
    else:
        lines.append("  skipped lines: none")
    unpriced = db.get("unpriced_models") or []
    if unpriced:
        lines.append(f"  unpriced: {sum(u['requests'] for u in unpriced):,} responses of models without a price "
                     "(every total that includes them is a lower bound); to price them, add to config.toml:")
        for u in unpriced:
            lines.append(f"    {u['model']}: {u['requests']:,} responses")
            lines += [f"      {line}" for line in u["config"]]
    clamped = db["skipped_lines"].get(FUTURE_CLAMPED)
    if clamped:
        lines.append(f"  kept with their time moved back to now: {clamped} responses dated in the future")
    if not db.get("summaries_consistent", True):
        lines.append("  PROBLEM: the per-slot sums that daily/weekly/monthly reports read disagree with the stored "
                     "responses; run `tokentop doctor --rebuild`")
    if "sync" in report:
        lines.extend(sync_doctor.format_lines(report["sync"]))
    return "\n".join(lines)


def _official_cache() -> dict:
    """Claude Code's cached official figures: numbers and times only (the file's other keys are account data)."""
    from .claude_code.cached_usage import read_cached
    read = read_cached()
    out: dict = {"path": str(read.path), "hint": read.hint, "fetched_at": None, "figures": []}
    if read.usage is not None:
        out["fetched_at"] = _iso(read.usage.fetched_ms)
        out["figures"] = [{"window": lim.window, "model": lim.model, "used_pct": lim.used_pct,
                           "resets_at": _iso(lim.resets_at_ms), "open": lim.is_open(int(time.time() * 1000))}
                          for lim in read.usage.limits]
    return out


def _official_cache_lines(cache: dict) -> list[str]:
    lines = [f"Official figures cached by Claude Code: {cache['path']}"]
    if not cache["figures"]:
        return lines + [f"  {cache['hint']}"]
    lines.append(f"  fetched {cache['fetched_at'] or 'at an unknown time'}")
    for fig in cache["figures"]:
        name = f"{fig['model']} week" if fig["model"] else {"five_hour": "5-hour", "week": "week"}.get(
            fig["window"], fig["window"])
        state = f"resets {fig['resets_at']}" if fig["open"] else "window closed: not used"
        lines.append(f"  {name}: {fig['used_pct']:g}% ({state})")
    return lines


def _summaries_consistent(store) -> bool:
    """slot_usage (what period reports read) must hold exactly the sums of requests and rollups."""
    q = ("SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read), 0) "
         "FROM {}")
    mirror = store.db.execute(q.format("slot_usage")).fetchone()
    kept = store.db.execute(q.replace("SUM(requests)", "COUNT(*)").format("requests")).fetchone()
    folded = store.db.execute(q.format("rollups")).fetchone()
    return mirror == tuple(a + b for a, b in zip(kept, folded))


def rebuild(ctx) -> str:
    """Move the database aside and rebuild from the logs on disk; say what history could not come back."""
    from .live.ingester import Ingester
    from .store.recovery import history_in, move_aside
    old = history_in(ctx.db_path) if ctx.db_path.exists() else None
    moved = move_aside(ctx.db_path, "rebuilt") if ctx.db_path.exists() else None
    with ctx.open_store() as store:
        summary = Ingester(store, ctx.settings).ingest_all()
        new_requests = store.db.execute(
            "SELECT (SELECT COUNT(*) FROM requests) + (SELECT COALESCE(SUM(requests), 0) FROM rollups)").fetchone()[0]
    lines = []
    if moved:
        lines.append(f"Moved the old database to {moved}.")
    lines.append(f"Rebuilt {ctx.db_path} from the logs on disk: {summary.line()}.")
    if old is None:
        if moved:
            lines.append("The old database could not be read, so how much older history was lost is unknown; "
                         "logs Claude Code already deleted (after 30 days by default) cannot come back.")
    else:
        old_requests, old_first = old
        lost = old_requests - new_requests
        if lost > 0:
            lines.append(f"{lost:,} responses in the old database ({_iso(old_first)} onward) are no longer in any "
                         "log file and could not be recovered; the old file is kept.")
        else:
            lines.append("Every response in the old database was recovered.")
    return "\n".join(lines)


def _db_files(path: Path) -> list[Path]:
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]


def _iso(ms) -> str | None:
    if ms is None or ms >= 1e17:
        return None
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))
