"""The overview screen: header countdown, cap gauges, burn-up, model split, sessions table and the daily strip."""

from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, ProgressBar, Static
from textual.worker import Worker, WorkerState

from ...ingest.safe_text import clean
from ...ingest.text import pct_text
from ...ingest.usage import advice, queries
from ...ingest.usage.series import PastCache
from ...widgets import fmt
from ...widgets.burnup import BurnData, BurnSparkline, BurnUpChart, spark_cells
from ...widgets.daily_strip import DailyStrip, Day
from ...widgets.gauge import Gauge
from ...widgets.header import Countdown, StatusParts
from ...widgets.model_split import ModelSplit, Share
from ...widgets.sessions_table import SessionsTable
from ..loading import Reloads
from ..messages import FirstRunFound, OverviewLoaded
from .gauge_text import balance_parts, counts_text, official_age, spent_text, unpriced_note, used_of_cap
from .model_gauges import compose_model_gauges, show_model_gauges
from .too_small import ChecksSize
from .window_view import burn_data, has_reset

SOURCE_LABEL = {"official": "official", "calibrated": "calibrated est", "configured": "est (your cap)",
                "guess": "est"}
"""How the header names where the week's percent comes from (limits.WindowStatus.source)."""


class OverviewScreen(ChecksSize, Reloads, Screen):
    """Reads nothing itself: workers query the store and post `OverviewLoaded`; the handler fills the widgets."""

    AUTO_FOCUS = "#sessions"  # Enter opens a session right away, at any size (the chart may be hidden)

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter", tooltip="Show only sessions matching some text"),
        Binding("s", "sort", "Sort", id="sort", tooltip="Cycle the sessions order: activity, cost, tokens, project"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter",
                tooltip="Drop the sessions filter"),
        Binding("r", "reload", "Reload", show=False, id="reload", tooltip="Read the store again now"),
    ]

    def __init__(self) -> None:
        super().__init__(id="overview")
        self.filter_text = ""
        self.sort = queries.SORTS[0]
        self.overview: queries.Overview | None = None
        self._first_run_asked = False
        self._return_to: dict | None = None
        """The view whose Enter filtered these sessions: Esc drops the filter and goes back there."""
        self._cursor_to_top = False
        """Set by a filter or sort change: the next rows put the cursor on the first row in view."""
        self._started_ms: int | None = None
        self._alerts_seen: int | None = None
        """The newest alert id already shown: later ones toast. First, the newest fired before the app started."""
        self._past = PastCache()
        self._countdown: Countdown | None = None
        self._bar: ProgressBar | None = None
        """The forecast's weeks of history, kept between live commits (which add new lines, not old ones)."""
        self._backfill_note = ""

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="header"):
            yield Static("tokentop", id="brand", markup=False)
            yield Countdown(id="countdown")
            yield StatusParts(id="status")
        with Horizontal(id="gauges"):
            yield Gauge("Week", id="week-gauge", classes="gauge")
            yield Gauge("5h", id="five-gauge", classes="gauge")
            yield Gauge("Month", id="month-gauge", classes="gauge", empty="no budget")
        yield from compose_model_gauges()
        yield Static("", id="next-step", markup=False)
        with Horizontal(id="middle"):
            yield BurnUpChart(id="chart")
            yield ModelSplit(id="split")
        yield BurnSparkline(id="burn-line")
        yield Static("", id="alert-banner", markup=False)
        with Vertical(id="firstrun"):
            yield Static("Opening the store…", id="firstrun-text", markup=False)
            # (#backfill, the first read's progress bar, is mounted here only while it shows: see _progress.)
        yield Static("", id="sessions-caption", markup=False)
        yield SessionsTable(id="sessions")
        yield DailyStrip(id="daily")
        yield Footer()

    def on_mount(self) -> None:
        self._started_ms = self.app.now_ms()
        self.query_one("#split").border_title = "Model split (this week)"
        self.query_one("#chart").border_title = "Weekly cap burn-up"
        self.query_one("#firstrun").display = False
        self.query_one("#alert-banner").display = False
        self.query_one("#model-gauges").display = False
        self.query_one("#next-step").display = False
        self._caption()
        self.tick(self.app.now_ms())
        self.refresh_data()

    def on_screen_resume(self) -> None:
        # (Reloads.on_screen_resume runs too: Textual calls the handler of every class in the MRO.)
        self.tick(self.app.now_ms())
        self._focus_table()

    def _focus_table(self) -> None:
        """Arrows and Enter act on the sessions whenever the overview shows (not only after a Tab)."""
        tables = self.query(SessionsTable)  # empty while the screen is still composing
        if tables and tables.first().display and self.focused is None:
            tables.first().focus()

    # -- loading ------------------------------------------------------------------------------------

    def start_load(self) -> None:
        changed = self.take_changes()
        self._past.forget_sessions(changed)  # (their kept sums in the windows' top sessions: read again)
        last = self.overview
        # After a commit, only the sessions it touched are read again (the rest of the list is kept).
        keep = (last is not None and last.has_data and changed and last.sort == self.sort
                and last.filter_text == self.filter_text)
        # (The weeks of history the forecast learns from are kept in _past across every reload: it checks itself
        # against the store's slot sums, so history written by anyone is read again.)
        # The first read paints without the forecasts (their weeks of history and backtest are most of its time),
        # and the full read follows at once (see on_overview_loaded).
        self._load(self.filter_text, self.sort, list(last.sessions) if keep else None, changed or frozenset(),
                   quick=last is None)

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def _load(self, filter_text: str, sort: str, previous=None, changed: frozenset[str] = frozenset(),
              quick: bool = False) -> None:
        app = self.app
        now = app.now_ms()
        fired = active = []
        with app.reading() as store:
            if store is None:
                data = queries.Overview(now, False, sort=sort, filter_text=filter_text)
            else:
                data = queries.overview(store, app.ctx.settings, now, tz=app.tz, filter_text=filter_text,
                                        sort=sort, previous=previous, changed=changed,
                                        past=None if quick else self._past, detail=not quick)
                if data.has_data:
                    fired, active = self._alerts(store, data)
        if data.has_data and advice.needs_step(data.windows):
            from ...ingest.claude_code.settings import statusline_installed
            data.next_step = advice.next_step(data.windows, statusline_installed())
        self.post_message(OverviewLoaded(data, fired, active))

    def _alerts(self, store, data: queries.Overview) -> tuple[list, list]:
        """Read the alerts: those recorded since the last look (to toast) and the active ones (for the banner).

        Only read: the writer (this TUI's live service, or whichever tokentop holds the writer role) fires them
        after each commit, and the alerts table's unique key makes each fire once per window and level."""
        from ...ingest.usage.alerts import active_alerts, alerts_after, last_alert_id
        try:
            if self._alerts_seen is None:  # alerts fired before the app started are in the banner, not toasted
                self._alerts_seen = last_alert_id(store, before_ms=self._started_ms)
            return alerts_after(store, self._alerts_seen), active_alerts(
                store, data.now_ms, statuses=data.windows, zone=self.app.ctx.settings.zone(), balance=data.balance)
        except Exception:  # noqa: BLE001 - an older or busy store must not stop the overview from painting
            return [], []

    def on_overview_loaded(self, message: OverviewLoaded) -> None:
        self.overview = message.overview
        with self.app.batch_update():
            self._apply(message.overview)
            self._show_alerts(message.fired, message.active)
        if message.overview.partial:
            self._dirty = True  # the full read, with the forecasts, right after the first paint
            self.app.first_paint()
        self.load_finished()

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "overview" or event.state not in (WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if event.state == WorkerState.ERROR:
            self.query_one(StatusParts).show([f"store unreadable: {event.worker.error}"])
        self.load_finished()

    # -- painting -----------------------------------------------------------------------------------

    def tick(self, now_ms: int) -> None:
        """The once-a-second update: the countdown text only. The timer can fire while the screen is still composing
        or already being torn down (at exit): then there is no countdown yet, or any more, and nothing to update."""
        countdown = self._countdown_widget()
        if countdown is not None:
            countdown.tick(now_ms)

    def _countdown_widget(self) -> Countdown | None:
        """The header's countdown, looked up once, not every second (a query walks the whole screen); None while
        the screen is composing or torn down."""
        countdown = self._countdown
        if countdown is None or not countdown.is_attached:
            found = self.query(Countdown)
            countdown = self._countdown = found.first() if found else None
        return countdown

    def next_tick_ms(self, now_ms: int) -> int:
        """Milliseconds until the countdown's text changes (60 s when there is none to show)."""
        countdown = self._countdown_widget()
        return countdown.next_change_ms(now_ms) if countdown is not None else 60_000

    def _apply(self, ov: queries.Overview) -> None:
        app = self.app
        tz = app.tz
        week = ov.windows.get("week")
        countdown = self._countdown_widget() or self.query_one(Countdown)
        countdown.set_target("week", week.end_ms if has_reset(week, ov.now_ms) else None, tz)
        countdown.tick(ov.now_ms)
        app.countdown_changed()
        data = burn_data(week, ov.now_ms, tz)
        self._status(ov, week, data)
        self._gauges(ov)
        show_model_gauges(self, ov.windows, tz, ov.now_ms)
        step = self.query_one("#next-step", Static)
        step.display = bool(ov.next_step)
        step.update(ov.next_step or "")
        self.query_one(BurnUpChart).show(data)
        self.query_one(BurnSparkline).show(data)
        self.query_one(ModelSplit).show([Share(f.family, f.token_share, f.cost_share, f.tokens, f.cost_usd)
                                         for f in ov.families], self._top_sessions(ov, week))
        table = self.query_one(SessionsTable)
        table.show(ov.sessions, ov.now_ms, tz)
        if self._cursor_to_top and table.row_count:
            self._cursor_to_top = False
            table.move_cursor(row=0)
        self._caption()
        priced = any(d.cost_usd for d in ov.days)
        amount = (lambda d: fmt.money(d)) if priced else (lambda d: fmt.tokens(d) + " tok")
        values = [d.cost_usd if priced else d.tokens for d in ov.days]
        caption = [f"{len(ov.days)}d {amount(sum(values))}", f"today {amount(values[-1])}" if values else "",
                   "! spike" if any(d.spike for d in ov.days) else ""]
        self.query_one(DailyStrip).show([Day(d.day, v, d.spike) for d, v in zip(ov.days, values)], caption)
        self._first_run(ov)

    @staticmethod
    def _top_sessions(ov: queries.Overview, week) -> list[tuple[str, float]]:
        names = {s.session_id: clean(f"{fmt.project_name(s.project)} · {s.title or s.session_id[:8]}")
                 for s in ov.sessions}
        return [(names.get(sid, clean(sid[:8])), share) for sid, share in (getattr(week, "top_sessions", None) or [])]

    def _show_alerts(self, fired: list, active: list) -> None:
        """A toast per newly fired alert (and the bell if asked for); the banner keeps the worst active one: critical
        first, then a cap's threshold before a spike (a spike's level is its ratio, not a % of anything)."""
        fired = [a for a in fired if a.id is None or a.id > (self._alerts_seen or 0)]  # an earlier load's too
        if fired:
            self._alerts_seen = max([self._alerts_seen or 0] + [a.id for a in fired if a.id is not None])
        for alert in fired:
            self.app.notify(alert.message, title="tokentop alert",
                            severity="error" if alert.severity == "critical" else "warning", timeout=15)
        if fired and self.app.ctx.settings.bell:
            self.app.bell()
        banner = self.query_one("#alert-banner", Static)
        worst = max(active, key=lambda a: (a.severity == "critical", a.kind == "threshold", a.level), default=None)
        banner.display = worst is not None
        if worst is not None:
            banner.update(f"▲ {worst.message}" + (f"  (+{len(active) - 1} more: a)" if len(active) > 1 else ""))
            banner.set_class(worst.severity == "critical", "critical")

    def _status(self, ov: queries.Overview, week, data: BurnData | None) -> None:
        parts = []
        if week is not None:
            # Without a % the next-step line says what to do; the header does not say "no cap" once more.
            parts.append(SOURCE_LABEL.get(week.source, "est") if week.used_pct is not None else "")
        if ov.last_line_ms is not None:
            parts.append("last line " + fmt.when(ov.last_line_ms, ov.now_ms, self.app.tz))
        parts.append(self.app.role_text())
        if len(ov.machines) > 1:
            parts.append(f"{len(ov.machines)} machines")
        if data is not None and any(v for _, v in data.history):
            parts.append("".join(c for c, _ in spark_cells(data, 12)))
        self.query_one(StatusParts).show(parts)

    def _gauges(self, ov: queries.Overview) -> None:
        week, five, month = (ov.windows.get(k) for k in ("week", "five_hour", "month"))
        tz = self.app.tz
        for gauge_id, status in (("#week-gauge", week), ("#five-gauge", five), ("#month-gauge", month)):
            if status is not None and status.counts:  # which sources it counts (`cap_sources` for the caps)
                self.query_one(gauge_id, Gauge).tooltip = counts_text(status.counts)
        g = self.query_one("#week-gauge", Gauge)
        if week is None:
            g.show(None, "–")
        else:
            value = pct_text(week) if week.used_pct is not None else spent_text(week)
            g.show(week.used_pct, value, [official_age(week, ov.now_ms), used_of_cap(week),
                                          f"{fmt.tokens(week.used_tokens)} tok",
                                          "" if has_reset(week, ov.now_ms) else "last 7 days"])
        g = self.query_one("#five-gauge", Gauge)
        if five is None or not has_reset(five, ov.now_ms):
            g.show(None if five is None else five.used_pct, "idle" if five is None or five.used_pct is None
                   else pct_text(five), "no 5-hour window open")
        else:
            value = pct_text(five) if five.used_pct is not None else spent_text(five)
            g.show(five.used_pct, value, [official_age(five, ov.now_ms), used_of_cap(five),
                                          f"ends {fmt.local(five.end_ms, tz).strftime('%H:%M')}",
                                          f"{fmt.tokens(five.used_tokens)} tok"])
        g = self.query_one("#month-gauge", Gauge)
        if month is None:
            g.show(None, "–")
        else:
            budget = month.cap_usd
            if ov.balance is not None:  # the whole sentence, with the runway's pace, on hover
                from ...ingest.usage.balance import balance_message
                g.tooltip = "\n".join(t for t in (counts_text(month.counts) if month.counts else "",
                                                  balance_message(ov.balance, tz)) if t)
            g.show(month.used_pct, spent_text(month), [*balance_parts(ov.balance, tz),
                                                   f"of {fmt.money(budget)} budget" if budget else "",
                                                   unpriced_note(month) or "estimate"])

    def _caption(self) -> None:
        ov = self.overview
        n = len(ov.sessions) if ov else 0
        active = sum(1 for s in ov.sessions if s.active) if ov else 0
        parts = [f"Sessions {n}", f"{active} live" if active else "", f"sort: {self.sort}"]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        parts.append(self._backfill_note)
        self.query_one("#sessions-caption", Static).update(" · ".join(p for p in parts if p))

    def _first_run(self, ov: queries.Overview) -> None:
        panel = self.query_one("#firstrun")
        empty = not ov.has_data
        panel.display = empty
        self.query_one(SessionsTable).display = not empty
        self._focus_table()  # the backfill panel just closed: the table takes the keys
        if empty and not self._first_run_asked:
            self._first_run_asked = True
            self._discover()
        if empty:
            self.app.watch_backfill(True)
        elif self._first_run_asked:
            self.app.watch_backfill(False)

    @work(thread=True, exclusive=True, group="discover", exit_on_error=False)
    def _discover(self) -> None:
        from ...ingest.doctor import agent_stores
        from ...ingest.logs.discovery import discover, roots_hint
        found = discover(self.app.ctx.settings)
        self.post_message(FirstRunFound(found.roots, len(found.files), roots_hint(found),
                                        agent_stores(self.app.ctx.settings)))

    def on_first_run_found(self, message: FirstRunFound) -> None:
        self._found = message
        self.show_backfill()

    def show_backfill(self, done: int = 0, total: int = 0) -> None:
        """Explain the empty store: the roots searched and, while the first read runs, how far it got (once rows
        show, in the sessions caption)."""
        note = f"reading logs: {done:,} of {total:,} files" if total and done < total else ""
        if note != self._backfill_note:
            self._backfill_note = note
            self._caption()
        found: FirstRunFound | None = getattr(self, "_found", None)
        text = self.query_one("#firstrun-text", Static)
        if found is None:
            text.update("Looking for session logs…")
            return
        if not found.files and not found.stores:
            text.update(found.hint)
            self._progress(0, 0)
            return
        roots = "\n".join(f"  {'✓' if r.exists else '✗'} {r.path}  ({r.files} files)" for r in found.roots)
        for s in found.stores:  # OpenClaw 2026.8+: the agent stores, and the one line saying why one is not read
            roots += (f"\n  ✗ {s['path']}  (OpenClaw agent {s['agent']}: {s['problem']})" if s["problem"] else
                      f"\n  ✓ {s['path']}  (OpenClaw agent {s['agent']}, {s['sessions']} sessions)")
        role = self.app.role_text()
        if role.startswith("following"):
            head = f"The store is empty; another tokentop is reading the logs ({role})."
        elif total and done >= total:
            head = "Logs read; no usage found in them yet."
        elif total:
            head = f"Reading your session logs for the first time: {done:,} of {total:,} files…"
        else:
            head = f"Reading your session logs for the first time ({found.files:,} files)…"
        text.update(f"{head}\n{roots}")
        self._progress(done, total)

    def _progress(self, done: int, total: int) -> None:
        """The first read's progress bar, mounted only while it has something to show: Textual's ProgressBar
        redraws itself every second even when hidden (and 15 times a second without a total), which was most of
        the idle monitor's CPU once the first read was over."""
        bar = self._bar
        if not total or done >= total:
            if bar is not None:
                bar.remove()
                self._bar = None
            return
        if bar is None:
            bar = self._bar = ProgressBar(total=total, id="backfill", show_eta=False)
            self.query_one("#firstrun").mount(bar)
        bar.update(total=total, progress=done)

    # -- actions ------------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#sessions")
    def _open(self, event: DataTable.RowSelected) -> None:
        from .session import SessionScreen
        self.app.push_screen(SessionScreen(event.row_key.value))

    def action_filter(self) -> None:
        from .filter import FilterModal

        def done(text: str | None) -> None:
            if text is not None:
                self.set_filter(text)

        self.app.push_screen(FilterModal(self.filter_text, "Filter sessions (project, title, model, branch, id)"),
                             done)

    def set_filter(self, text: str, return_to: dict | None = None) -> None:
        self.filter_text = text.strip()
        self._return_to = return_to if self.filter_text else None
        self._cursor_to_top = True
        self._caption()
        self.refresh_data()

    def action_clear_filter(self) -> None:
        back = self._return_to
        if self.filter_text:
            self.set_filter("")
        if back:
            self.app.reopen_view(back)

    def action_sort(self) -> None:
        i = queries.SORTS.index(self.sort)
        self.sort = queries.SORTS[(i + 1) % len(queries.SORTS)]
        self._cursor_to_top = True
        self._caption()
        self.refresh_data()

    def action_reload(self) -> None:
        self.refresh_data()
