"""What `doctor` says about syncing: the folder, this machine's name, the machines merged and every peer file that
was skipped (and why)."""

from __future__ import annotations

import sqlite3

from ..machine_names import shown


def examine(settings, store) -> dict:
    folder = settings.sync_folder()
    out: dict = {"folder": str(folder) if folder else None, "machine": settings.machine(),
                 "folder_exists": bool(folder and folder.is_dir()), "machines": {}, "skipped": []}
    try:
        for machine, files, rows, last in store.db.execute(
                "SELECT machine, COUNT(*), SUM(rows), MAX(merged_ms) FROM sync_files WHERE machine != ? AND "
                "(problem IS NULL OR refused > 0) GROUP BY machine ORDER BY machine", (store.machine,)):
            out["machines"][machine] = {"files": files, "rows": rows or 0, "last_merged_ms": last}
        out["skipped"] = [{"file": path, "problem": problem} for path, problem in store.db.execute(
            "SELECT path, problem FROM sync_files WHERE problem IS NOT NULL ORDER BY path")]
    except sqlite3.OperationalError:
        pass  # a store from before migration 4, looked at read-only: nothing merged yet
    return out


def format_lines(report: dict) -> list[str]:
    if not report["folder"]:
        return [f"Sync: off (set sync_dir or TOKENTOP_SYNC_DIR to combine machines); this machine: "
                f"{report['machine']}"]
    lines = [f"Sync folder: {report['folder']}{'' if report['folder_exists'] else ' (MISSING)'} as machine "
             f"{report['machine']!r}"]
    for name, m in report["machines"].items():
        lines.append(f"  merged from {shown(name)}: {m['files']} files, {m['rows']:,} rows")
    for s in report["skipped"]:
        lines.append(f"  skipped {shown(s['file'], 80)}: {s['problem']}")
    return lines
