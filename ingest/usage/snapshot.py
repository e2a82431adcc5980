"""`tokentop report --html FILE` / `--md`: one self-contained page or a Markdown summary of what the overview shows
(week, 5-hour, month, daily bars, top sessions), for mailing or cron. Built from `queries.overview`, the same read the
screen uses, so the two never disagree. Every string that came from a log is escaped."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from ..clock import local_time
from ..text import dollars
from . import queries
from .report_text import models_short

WINDOWS = (("week", "Week"), ("five_hour", "5-hour"), ("month", "Month"))
"""The windows every snapshot shows; a prepaid balance, when configured, comes after them."""
SOURCE = {"official": "official", "calibrated": "calibrated estimate", "configured": "estimate (your cap)",
          "guess": "estimate"}
TOP_SESSIONS = 10
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~])")


@dataclass
class Gauge:
    name: str
    value: str
    """"42%" or "$12.40" when no cap is known."""
    pct: float | None
    detail: str


@dataclass
class Snapshot:
    generated: str
    tz: str
    gauges: list[Gauge] = field(default_factory=list)
    days: list[tuple[str, float, int]] = field(default_factory=list)
    """(YYYY-MM-DD, estimated USD, tokens), oldest first."""
    sessions: list[tuple[str, str, str, str, float, int]] = field(default_factory=list)
    """(project, title, models, last activity, USD, tokens), costliest first."""


def _clean(text) -> str:
    """Log text as one plain line: control characters (escapes, newlines, bidi breaks) become spaces."""
    return _CONTROL.sub(" ", str(text or "")).strip()


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _spent(status) -> str:
    """'$12.40', or '≥ $12.40 · 3 unpriced' when unpriced requests are not in it."""
    return dollars(status.used_cost, status.unpriced_requests)


def _when(ms: int | None, tz) -> str:
    return local_time(ms, tz).strftime("%Y-%m-%d %H:%M") if ms is not None else "–"


def _gauge(name: str, label: str, status, tz, now_ms: int) -> Gauge:
    if status is None:
        return Gauge(label, "–", None, "no usage")
    if status.window_source == "activity" and status.start_ms >= now_ms:
        return Gauge(label, "idle", None, "no 5-hour window open")
    parts = []
    if name == "month":  # a budget, not a cap
        budget = f" of {_money(status.cap_usd)} budget" if status.cap_usd else " · no budget set"
        value = _spent(status)
        return Gauge(label, value, status.used_pct, f"{value}{budget} · estimate")
    if status.used_pct is not None:
        value = ("" if status.source == "official" else "~") + f"{status.used_pct:.0f}%"
        cap = status.cap_usd
        if status.source in ("configured", "guess") and cap:  # never your cap under Claude's own (or fitted) %
            parts.append(f"{_spent(status)} of {_money(cap)} est")
        parts.append(SOURCE.get(status.source, "estimate"))
    else:
        value = _spent(status)
        parts.append("estimate · no cap known")
    if status.window_source != "guess":
        parts.append(f"resets {_when(status.end_ms, tz)}")
    return Gauge(label, value, status.used_pct, " · ".join(parts))


def _balance_gauge(b, tz) -> Gauge:
    """The prepaid API balance: what is left (the bar fills with what is used), since when, when it runs out."""
    from .balance import runway_text
    since = local_time(b.as_of_ms, tz).strftime("%Y-%m-%d")
    return Gauge("Balance", f"≈{_money(b.left_usd)}", b.used_pct,
                 f"{b.used_pct:.0f}% of {_money(b.start_usd)} used since {since} · {runway_text(b, tz)} · estimate")


def build_snapshot(store, settings, now_ms: int, tz) -> Snapshot:
    ov = queries.overview(store, settings, now_ms, tz=tz, sort="cost", limit=TOP_SESSIONS)
    snap = Snapshot(local_time(now_ms, tz).strftime("%Y-%m-%d %H:%M %Z"), str(getattr(tz, "key", tz)))
    snap.gauges = [_gauge(name, label, ov.windows.get(name), tz, now_ms) for name, label in WINDOWS]
    if ov.balance is not None:
        snap.gauges.append(_balance_gauge(ov.balance, tz))
    snap.days = [(d.day.isoformat(), d.cost_usd, d.tokens) for d in ov.days]
    for s in sorted(ov.sessions, key=lambda s: -s.cost_usd)[:TOP_SESSIONS]:
        project = _clean((s.project or "").rstrip("/").rsplit("/", 1)[-1]) or "–"
        models = _clean(models_short(list(s.models)))
        snap.sessions.append((project, _clean(s.title) or s.session_id[:8], models, _when(s.last_ms, tz),
                              s.cost_usd, s.tokens))
    return snap


# -- Markdown -----------------------------------------------------------------------------------------


def md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", _clean(text))


def to_markdown(snap: Snapshot) -> str:
    lines = [f"# tokentop · {snap.generated}", "",
             "Costs are estimates at API list prices; a % marked ≈ is estimated, not Claude's own figure.", "",
             "| Window | Used | Detail |", "| --- | ---: | --- |"]
    lines += [f"| {g.name} | {g.value.replace('~', '≈')} | {md_escape(g.detail)} |" for g in snap.gauges]
    lines += ["", "## Last 14 days", ""]
    top = max((usd for _, usd, _ in snap.days), default=0) or 1
    lines += ["```"] + [f"{day}  {'█' * round(20 * usd / top):<20}  {_money(usd)}" for day, usd, _ in snap.days]
    lines += ["```", "", "## Top sessions", "", "| Project | Title | Models | Last | Cost est | Tokens |",
              "| --- | --- | --- | --- | ---: | ---: |"]
    lines += [f"| {md_escape(p)} | {md_escape(t)} | {md_escape(m)} | {last} | {_money(usd)} | {tok:,} |"
              for p, t, m, last, usd, tok in snap.sessions]
    if not snap.sessions:
        lines.append("| – | no sessions yet | | | | |")
    return "\n".join(lines) + "\n"


# -- HTML ---------------------------------------------------------------------------------------------

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1d232a;
background:#fbfbfa}h1{font-size:1.3rem}h2{font-size:1.05rem;margin-top:2rem}.note{color:#5b6570}
.gauges{display:flex;gap:1rem;flex-wrap:wrap}.gauge{flex:1 1 14rem;border:1px solid #d5d9de;border-radius:.5rem;
padding:.75rem}.gauge .name{font-weight:600}.gauge .value{font-size:1.6rem;font-weight:700}.bar{height:.5rem;
background:#e4e7ea;border-radius:.25rem;overflow:hidden}.bar span{display:block;height:100%;background:#2f7d5b}
.bar span.warn{background:#c98a0b}.bar span.high{background:#c0392b}.detail{color:#5b6570;font-size:.9rem}
.days{display:flex;align-items:flex-end;gap:3px;height:8rem;border-bottom:1px solid #d5d9de}
.days div{flex:1;background:#3b6fb6;min-height:1px}.daylabels{display:flex;gap:3px;font-size:.7rem;color:#5b6570}
.daylabels span{flex:1;text-align:center}table{border-collapse:collapse;width:100%}th,td{padding:.3rem .5rem;
border-bottom:1px solid #e4e7ea;text-align:left}td.num,th.num{text-align:right}
@media (prefers-color-scheme:dark){body{background:#15191d;color:#e3e6e9}.gauge{border-color:#39414a}
.bar{background:#2a3138}}
"""


def _level(pct: float | None) -> str:
    return "" if pct is None or pct < 60 else "warn" if pct < 80 else "high"


def to_html(snap: Snapshot) -> str:
    e = html.escape
    out = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
           '<meta name="viewport" content="width=device-width, initial-scale=1">',
           f"<title>tokentop · {e(snap.generated)}</title><style>{_STYLE}</style></head><body>",
           f"<h1>tokentop · {e(snap.generated)}</h1>",
           '<p class="note">Costs are estimates at API list prices; a % marked ~ is estimated, not Claude\'s own '
           "figure.</p>", '<section class="gauges">']
    for g in snap.gauges:
        width = 0 if g.pct is None else max(0.0, min(g.pct, 100.0))
        out.append(f'<div class="gauge" id="gauge-{e(g.name.lower())}"><div class="name">{e(g.name)}</div>'
                   f'<div class="value">{e(g.value)}</div><div class="bar"><span class="{_level(g.pct)}" '
                   f'style="width:{width:.1f}%"></span></div><div class="detail">{e(g.detail)}</div></div>')
    out.append("</section><h2>Last 14 days</h2>")
    top = max((usd for _, usd, _ in snap.days), default=0) or 1
    out.append('<div class="days">' + "".join(
        f'<div style="height:{100 * usd / top:.1f}%" title="{e(day)}: {e(_money(usd))}"></div>'
        for day, usd, _ in snap.days) + "</div>")
    out.append('<div class="daylabels">' + "".join(f"<span>{e(day[8:])}</span>" for day, _, _ in snap.days)
               + "</div>")
    out.append('<h2>Top sessions</h2><table id="sessions"><thead><tr><th>Project</th><th>Title</th><th>Models</th>'
               '<th>Last</th><th class="num">Cost est</th><th class="num">Tokens</th></tr></thead><tbody>')
    for p, t, m, last, usd, tok in snap.sessions:
        out.append(f"<tr><td>{e(p)}</td><td>{e(t)}</td><td>{e(m)}</td><td>{e(last)}</td>"
                   f'<td class="num">{e(_money(usd))}</td><td class="num">{tok:,}</td></tr>')
    if not snap.sessions:
        out.append('<tr><td colspan="6">No sessions yet.</td></tr>')
    out.append(f'</tbody></table><p class="note">Generated {e(snap.generated)} by tokentop; all times '
               f"{e(snap.tz)}.</p></body></html>")
    return "\n".join(out) + "\n"
