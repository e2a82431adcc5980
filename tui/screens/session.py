"""Session detail: header facts, tokens-per-request sparkline, the per-request table, tool and sub-agent breakdowns;
and the request detail modal one Enter further down."""

from __future__ import annotations

from collections import Counter

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Sparkline, Static
from textual.worker import Worker, WorkerState

from ...ingest.pricing import PricingError
from ...ingest.safe_text import clean
from ...ingest.usage import queries
from ...widgets import fmt
from ...widgets.gauge import fit_parts
from ...widgets.tables import Col, KeyedTable
from ..loading import Reloads
from ..messages import SessionLoaded
from .too_small import ChecksSize


def tools_text(tools: tuple[str, ...]) -> str:
    """('Bash', 'Read', 'Bash') → 'Bash×2, Read'."""
    counts = Counter(tools)
    return ", ".join(f"{name}×{n}" if n > 1 else name for name, n in counts.items())


def attribution_text(attribution: tuple[str | None, ...]) -> str:
    """('Explore', 'pdf', None, 'github', 'create_issue') → 'sub-agent Explore, skill pdf, MCP github/create_issue'."""
    agent, skill, plugin, server, tool = (tuple(attribution) + (None,) * 5)[:5]
    parts = [f"{label} {value}" for label, value in (("sub-agent", agent), ("skill", skill), ("plugin", plugin))
             if value]
    if server or tool:
        parts.append(f"MCP {server or '?'}" + (f"/{tool}" if tool else ""))
    return ", ".join(parts)


def claude_code_parts(check: dict) -> list[str]:
    """Claude Code's own figure beside ours: "Claude Code says $0.04", "ours $0.04 est (+2.9%)", "differs by >2%"."""
    ours = fmt.money_total(check["estimate_usd"], check["estimate_unpriced_requests"]) + " est"
    if check["difference_pct"] is not None:
        ours += f" ({check['difference_pct']:+.1f}%)"
    parts = [f"Claude Code says {fmt.money(check['cost_usd'])}", f"ours {ours}"]
    parts.append("differs by more than 2%" if check["differs"] else "agrees within 2%")
    if check["models"]:
        parts.append("as " + ", ".join(m["model"] for m in check["models"][:3]))
    return parts


class SessionScreen(ChecksSize, Reloads, Screen):
    """One session. Escape goes back to the overview, where the cursor is still on this session."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back", tooltip="Return to the previous screen"),
        Binding("r", "reload", "Reload", show=False, id="reload_session", tooltip="Read this session again now"),
    ]

    def __init__(self, session_id: str) -> None:
        super().__init__(classes="session-screen")
        self.session_id = session_id
        self.detail: queries.SessionDetail | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="session-title", markup=False)
        yield Static("Loading…", id="session-facts", markup=False)
        yield Sparkline([], id="request-spark", summary_function=max)
        yield KeyedTable(id="requests")
        with Horizontal(id="breakdowns"):
            yield KeyedTable(id="tools")
            yield KeyedTable(id="agents")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#requests").border_title = "Requests"
        self.query_one("#tools").border_title = "Tools"
        self.query_one("#agents").border_title = "Main thread and sub-agents"
        self.query_one("#requests").focus()
        self.refresh_data()

    def start_load(self) -> None:
        self._load()

    @work(thread=True, exclusive=True, group="session", exit_on_error=False)
    def _load(self) -> None:
        with self.app.reading() as store:
            detail = queries.session_detail(store, self.session_id) if store is not None else \
                queries.SessionDetail(self.session_id, False)
        self.post_message(SessionLoaded(detail))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "session" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            if event.state == WorkerState.ERROR:
                self.query_one("#session-facts", Static).update(f"could not read the store: {event.worker.error}")
            self.load_finished()

    def on_session_loaded(self, message: SessionLoaded) -> None:
        self.detail = message.detail
        with self.app.batch_update():
            self._apply(message.detail)
        self.load_finished()

    def on_resize(self) -> None:
        if self.detail is not None:
            self._apply(self.detail)

    # -- painting -----------------------------------------------------------------------------------

    def _apply(self, d: queries.SessionDetail) -> None:
        tz = self.app.tz
        now = self.app.now_ms()
        title = clean(d.title or f"session {d.session_id}")
        self.query_one("#session-title", Static).update(title)
        if not d.found:
            self.query_one("#session-facts", Static).update(f"No usage recorded for session {d.session_id}.")
            return
        t = d.totals
        width = max(self.size.width - 2, 20)
        span = ""
        if d.first_ms is not None and d.last_ms is not None:
            span = f"{fmt.when(d.first_ms, now, tz)} → {fmt.when(d.last_ms, now, tz)}"
        hit = d.cache_hit_ratio
        older = f"{d.rolled_up_requests:,} older requests rolled up (totals only)" if d.rolled_up_requests else ""
        # Each line keeps its most important parts when the terminal is narrow; nothing wraps or is cut mid-word.
        lines = [
            [d.project or "–", f"branch {d.git_branch or '–'}", fmt.duration(d.duration_ms), span, d.source or ""],
            [f"{t.requests:,} requests", f"{fmt.tokens(t.total_tokens)} tokens",
             f"{fmt.money_total(t.cost_usd, t.unpriced_requests)} est",
             f"cache hit {fmt.pct(hit * 100) if hit is not None else '–'}",
             "models " + (fmt.model_names(d.models) or "–")],
            [f"in {fmt.tokens(t.input_tokens)}", f"out {fmt.tokens(t.output_tokens)}",
             f"cache write {fmt.tokens(t.cache_creation_tokens)}", f"cache read {fmt.tokens(t.cache_read_tokens)}",
             older],
        ]
        if d.claude_code is not None:
            lines.append(claude_code_parts(d.claude_code))
        self.query_one("#session-facts", Static).update(
            "\n".join(fit_parts([clean(p) for p in parts], width) for parts in lines))
        self.query_one("#request-spark", Sparkline).data = [r.total_tokens for r in d.requests] or [0]
        self._requests(d, now, tz)
        self._breakdowns(d)
        self._retention_titles(d)

    def _retention_titles(self, d: queries.SessionDetail) -> None:
        """Requests folded into rollups by `retention_days` keep only their totals: say so where the rows would be
        (in the border titles, which stay visible at 80 columns) rather than showing tables that look empty."""
        n = d.rolled_up_requests
        requests = self.query_one("#requests")
        if not n:
            requests.border_title = "Requests"
        elif d.requests:
            requests.border_title = f"Requests · {n:,} older rolled up by retention: in the totals only"
        else:
            requests.border_title = f"Requests · all {n:,} rolled up by retention: totals above, no per-request rows"
        for table_id, label in (("#tools", "Tools"), ("#agents", "Main thread and sub-agents")):
            self.query_one(table_id).border_title = label + (" · newer requests only" if n and d.requests else
                                                             " · not kept after retention" if n else "")

    def _requests(self, d: queries.SessionDetail, now: int, tz) -> None:
        table = self.query_one("#requests", KeyedTable)
        width = table.size.width or self.app.size.width
        wide = width >= 110
        cols = [Col("time", "Time", 14 if wide else 8), Col("model", "Model", 18 if wide else 11)]
        if wide:
            cols.append(Col("in", "In", 6, True))
        cols += [Col("out", "Out", 6, True), Col("cw", "Cache w", 7, True), Col("cr", "Cache r", 7, True),
                 Col("cost", "Cost", 7, True)]
        if wide:
            cols.append(Col("agent", "Agent", 10))
        cols.append(Col("tools", "Tools", 8, flex=True))
        cols = table.fit(cols)
        table.set_columns(cols)
        widths = {c.key: c.width for c in cols}
        rows = []
        names = fmt.model_labels([*d.models, *(r.model for r in d.requests)])  # two ids never read the same
        for r in reversed(d.requests):  # newest first, as everywhere else
            t = fmt.local(r.ts_ms, tz)
            cells = {
                "time": t.strftime("%a %H:%M:%S") if wide else t.strftime("%H:%M:%S"),
                "model": fmt.fit(("↳ " if r.agent_id else "") + names[r.model], widths["model"]),
                "in": fmt.tokens(r.input_tokens), "out": fmt.tokens(r.output_tokens),
                "cw": fmt.tokens(r.cache_write), "cr": fmt.tokens(r.cache_read),
                "cost": fmt.money(r.cost_usd, not r.priced),
                "agent": fmt.fit(r.agent_id or "main", 10),
                "tools": fmt.fit(tools_text(r.tools), widths["tools"]),
            }
            rows.append((str(r.id), tuple(cells[c.key] for c in cols)))
        table.set_rows(rows)

    def _breakdowns(self, d: queries.SessionDetail) -> None:
        for table_id, label, rows in (("#tools", "Tool", d.tools), ("#agents", "Agent", d.agents)):
            table = self.query_one(table_id, KeyedTable)
            cols = table.fit([Col("name", label, 8, flex=True), Col("count", "Calls" if label == "Tool" else "Reqs",
                                                                      5, True),
                              Col("tokens", "Tokens", 6, True), Col("cost", "Cost", 6, True)])
            table.set_columns(cols)
            table.set_rows([(b.key, (fmt.fit(b.key, cols[0].width), f"{b.count:,}", fmt.tokens(b.tokens),
                                     fmt.money(b.cost_usd))) for b in rows])

    # -- actions ------------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#requests")
    def _open_request(self, event: DataTable.RowSelected) -> None:
        if self.detail is None:
            return
        rid = int(event.row_key.value)
        request = next((r for r in self.detail.requests if r.id == rid), None)
        if request is not None:
            self.app.push_screen(RequestScreen(request, self.detail))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.refresh_data()


class RequestScreen(ModalScreen):
    """Everything recorded about one API response (counts and names only; tokentop never stores text)."""

    BINDINGS = [Binding("escape", "dismiss", "Back", id="back_request", tooltip="Close the request details")]

    def __init__(self, request: queries.RequestRow, detail: queries.SessionDetail) -> None:
        super().__init__(classes="request-screen")
        self.request = request
        self.detail = detail

    def _quote(self):
        try:
            prices = self.app.ctx.prices
        except PricingError:  # broken overrides: the stored cost still shows, without the breakdown
            return None
        r = self.request
        return prices.quote(r.priced_as or r.model, r.input_tokens, r.output_tokens, r.cache_write_5m, r.cache_write_1h,
                            r.cache_read, r.speed, r.inference_geo, r.web_search_requests)

    def _cost_text(self) -> str:
        r = self.request
        if r.priced:
            return fmt.money(r.cost_usd) + " est"
        quote = self._quote()
        why = quote.problem if quote is not None and quote.problem else "model not in the price table"
        return f"unpriced ({why})" + (f", at least {fmt.money(r.cost_usd)}" if r.cost_usd else "")

    def _surcharges_text(self) -> str:
        quote = self._quote()
        return ", ".join(quote.surcharges) if quote is not None and quote.surcharges else "none"

    def compose(self) -> ComposeResult:
        r = self.request
        tz = self.app.tz
        total = r.total_tokens
        input_side = r.input_tokens + r.cache_write + r.cache_read
        lines = [
            ("time", fmt.local(r.ts_ms, tz).strftime("%Y-%m-%d %H:%M:%S %Z")),
            ("model", r.model + (f" ({r.speed})" if r.speed else "")),
            *([("priced as", f"{r.priced_as} (Claude Code's own figures name it so)")] if r.priced_as else []),
            ("input", f"{r.input_tokens:,}"),
            ("output", f"{r.output_tokens:,}"),
            ("cache write", f"{r.cache_write:,}"),
            ("cache read",
             f"{r.cache_read:,}" + (f" ({r.cache_read / input_side:.0%} of input)" if input_side else "")),
            ("total", f"{total:,}"),
            ("cost", self._cost_text()),
            ("surcharges", self._surcharges_text()),
            ("tools", tools_text(r.tools) or "none"),
            *([("attributed to", attribution_text(r.attribution))] if any(r.attribution) else []),
            ("thread", f"sub-agent {r.agent_id}" if r.agent_id else ("sidechain" if r.is_sidechain else "main")),
            ("message id", r.message_id),
            ("request id", r.request_id or "–"),
            ("session", self.detail.session_id),
        ]
        with Vertical(id="request-box"):
            yield Static("Request", id="request-title", markup=False)
            with VerticalScroll(id="request-body"):
                for label, value in lines:
                    with Horizontal(classes="fact"):
                        yield Static(label, classes="fact-label", markup=False)
                        yield Static(clean(value), classes="fact-value", markup=False)
            yield Static("Esc to close", id="request-hint", markup=False)
