"""A report as people and spreadsheets read it: a table that fits the terminal, CSV with formula-safe cells."""

from __future__ import annotations

import csv
import io

from ..safe_text import clean, csv_cell
from ..text import dollars
from .reports import Report

CSV_COLUMNS = ("key", "input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens", "total_tokens",
               "cost_usd", "requests")


def to_csv(report: Report) -> str:
    extra_cols = []
    for row in report.rows:
        for k, v in row.extra.items():
            if k not in extra_cols and not isinstance(v, (list, dict)):
                extra_cols.append(k)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([*CSV_COLUMNS, *extra_cols])
    for row in report.rows:
        d = row.as_dict()
        cells = [d[c] for c in CSV_COLUMNS] + [d.get(c) if d.get(c) is not None else "" for c in extra_cols]
        writer.writerow([csv_cell(v) for v in cells])  # no escapes, no formulas: cells come from logs
    return buf.getvalue()


def to_table(report: Report, width: int = 100) -> str:
    """A plain-text table for terminals: one line per row, totals last, costs marked as estimates."""
    label = {"daily": "Day", "weekly": "Week", "monthly": "Month", "sessions": "Session", "models": "Model",
             "projects": "Project", "tools": "Tool", "agents": "Agent", "machines": "Machine",
             "attribution": "Attributed to"}[report.kind]
    headers = [label, "Input", "Output", "Cache wr", "Cache rd", "Total", "Cost est", "Reqs"]
    if report.kind == "tools":
        headers.insert(1, "Calls")
    sessions = report.kind == "sessions"
    if sessions:  # as ccusage's session report: when it started, when it was last active, which models
        headers[1:1] = ["Date", "Last activity", "Models"]
    body = []
    for row in report.rows:
        t = row.totals
        key = clean(row.key)
        if report.kind == "sessions":
            title = row.extra.get("title") or ""
            project = (row.extra.get("project") or "").rstrip("/").rsplit("/", 1)[-1]
            key = clean(f"{key[:8]} {project} {title}".strip())
        elif report.kind == "projects":
            key = key.replace(home_dir(), "~", 1)
        cells = [key, f"{t.input_tokens:,}", f"{t.output_tokens:,}", f"{t.cache_creation_tokens:,}",
                 f"{t.cache_read_tokens:,}", f"{t.total_tokens:,}", dollars(t.cost_usd, bool(t.unpriced_requests)),
                 f"{t.requests:,}"]
        if report.kind == "tools":
            cells.insert(1, f"{row.extra['calls']:,}")
        if sessions:
            first, last = row.extra.get("first_activity") or "", row.extra.get("last_activity") or ""
            cells[1:1] = [first[:10], last[:16].replace("T", " "), models_short(row.extra.get("models") or [])]
        body.append(cells)
    t = report.totals
    total = ["Total", f"{t.input_tokens:,}", f"{t.output_tokens:,}", f"{t.cache_creation_tokens:,}",
             f"{t.cache_read_tokens:,}", f"{t.total_tokens:,}", dollars(t.cost_usd, t.unpriced_requests),
             f"{t.requests:,}"]
    if report.kind == "tools":
        total.insert(1, f"{sum(r.extra['calls'] for r in report.rows):,}")
    if sessions:
        total[1:1] = ["", "", ""]
    widths = [max(len(r[i]) for r in [headers, total, *body]) for i in range(len(headers))]
    # On a narrow terminal the least telling columns go first (JSON and CSV always carry them all).
    for name in ("Input", "Total", "Cache wr", "Date", "Cache rd", "Models"):
        if sum(widths[1:]) + 2 * (len(widths) - 1) + 12 <= width:
            break
        if name not in headers:
            continue
        i = headers.index(name)
        for cells in (headers, total, *body):
            del cells[i]
        del widths[i]
    fixed = sum(widths[1:]) + 2 * (len(widths) - 1)
    widths[0] = max(8, min(widths[0], width - fixed))
    lines = []

    text_cols = {i for i, h in enumerate(headers) if h in ("Date", "Last activity", "Models")}

    def fmt(cells):
        first = cells[0] if len(cells[0]) <= widths[0] else cells[0][: widths[0] - 1] + "…"
        return "  ".join([first.ljust(widths[0])] + [c.ljust(w) if i in text_cols else c.rjust(w)
                                                     for i, (c, w) in enumerate(zip(cells[1:], widths[1:]), 1)])

    lines.append(fmt(headers))
    lines.append("─" * len(lines[0]))
    lines.extend(fmt(r) for r in body)
    lines.append("─" * len(lines[0]))
    lines.append(fmt(total))
    span = ""
    if report.since or report.until:
        span = f" · {report.since or '…'} to {report.until or '…'}"
    note = f"{report.kind} report · {report.tz}{span} · costs are estimates at API list prices"
    if t.unpriced_requests:
        note += (f" · ≥: a lower bound, {t.unpriced_requests:,} unpriced requests are not in it "
                 "(`tokentop doctor` lists their models)")
    if report.kind == "tools":
        note += " · a response that called several tools counts in each row"
    if report.kind == "attribution":
        note += (" · from Claude Code's attribution fields (recent versions); a request naming several counts in "
                 "each row, (none): requests that name none")
    differ = sum(1 for r in report.rows if (r.extra.get("claude_code") or {}).get("differs"))
    if differ:
        note += f" · {differ:,} session{'s' if differ != 1 else ''}: Claude Code's own figure differs by >2% (--json)"
    lines.append(note)
    if not body:
        lines.insert(0, "No usage in this range.")
    return "\n".join(lines)


def models_short(models: list[str]) -> str:
    """["claude-opus-4-6", "claude-haiku-4-5-20251001"] → "opus-4-6, haiku-4-5"; two ids that read the same
    shortened keep what tells them apart (text.model_labels)."""
    from ..text import model_names
    return model_names(models)


def home_dir() -> str:
    """The home folder as text, to show project paths under it as `~/…` (reports and the TUI's views)."""
    from pathlib import Path
    return str(Path.home())
