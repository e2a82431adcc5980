"""The side views a keystroke away: models, projects, tools, days, machines and alerts, each one table over a date
range."""

from __future__ import annotations

from datetime import datetime

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from ...ingest.safe_text import clean
from ...ingest.usage import queries
from ...ingest.usage.report_text import home_dir
from ...widgets import fmt
from ...widgets.tables import Col, KeyedTable
from ..loading import Reloads
from ..messages import ViewLoaded
from .too_small import ChecksSize

VIEWS = ("models", "projects", "tools", "days", "machines", "attribution", "alerts")
TITLES = {"models": "Models", "projects": "Projects", "tools": "Tools", "days": "Days", "machines": "Machines",
          "attribution": "Skills, plugins, MCP, sub-agents", "alerts": "Alerts"}
KEY_LABELS = {"days": "Day", "attribution": "Attributed to"}
RANGES = (7, 30, None)
"""Days covered by a view (None: all history); `r` cycles through them."""
VIEW_SORTS = ("cost", "tokens", "name")


def _range_label(days: int | None) -> str:
    return f"last {days} days" if days else "all history"


class ViewScreen(ChecksSize, Reloads, Screen):
    """A read-only table; `r` changes the range, `s` the order, `/` filters rows by their first column."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back_view", tooltip="Return to the previous screen"),
        Binding("r", "range", "Range", id="range", tooltip="Cycle the range: 7 days, 30 days, all history"),
        Binding("s", "sort", "Sort", id="sort_view", tooltip="Cycle the order: cost, tokens, name"),
        Binding("slash", "filter", "Filter", id="filter_view", tooltip="Show only rows matching some text"),
    ]

    def __init__(self, view: str) -> None:
        super().__init__(classes="view-screen")
        self.view = view
        self.days: int | None = 30
        self.sort = "cost" if view != "days" else "name"
        self.filter_text = ""
        self.data = None

    def state(self) -> dict:
        """What `restore` needs to open this view again as it is (Esc after Enter on a row comes back to it)."""
        return {"view": self.view, "days": self.days, "sort": self.sort, "filter_text": self.filter_text,
                "row": self.query_one("#view-table", KeyedTable).selected_key}

    @classmethod
    def restore(cls, state: dict) -> ViewScreen:
        screen = cls(state["view"])
        screen.days, screen.sort, screen.filter_text = state["days"], state["sort"], state["filter_text"]
        screen._restore_row = state.get("row")
        return screen

    _restore_row: str | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="view-title", markup=False)
        yield KeyedTable(id="view-table")
        yield Static("", id="view-note", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#view-table").focus()
        self._title()
        self.refresh_data()

    def start_load(self) -> None:
        self._load(self.view, self.days)

    @work(thread=True, exclusive=True, group="view", exit_on_error=False)
    def _load(self, view: str, days: int | None) -> None:
        app = self.app
        with app.reading() as store:
            if store is None:
                data = None
            elif view == "alerts":
                data = queries.alert_rows(store)
            else:
                data = queries.view_report(store, view, app.tz, app.now_ms(), days)
        self.post_message(ViewLoaded(view, data))

    @on(Worker.StateChanged)
    def _worker_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "view" and event.state in (WorkerState.ERROR, WorkerState.CANCELLED):
            if event.state == WorkerState.ERROR:
                self.query_one("#view-note", Static).update(f"could not read the store: {event.worker.error}")
            self.load_finished()

    def on_view_loaded(self, message: ViewLoaded) -> None:
        self.data = message.data
        with self.app.batch_update():
            self._apply()
            table = self.query_one("#view-table", KeyedTable)
            if self._restore_row in table.keys:
                table.move_cursor(row=table.keys.index(self._restore_row))
            self._restore_row = None
        self.load_finished()

    def on_resize(self) -> None:
        if self.data is not None:
            self._apply()

    # -- painting -----------------------------------------------------------------------------------

    def _title(self) -> None:
        parts = [TITLES[self.view]]
        if self.view != "alerts":
            order = "date" if self.sort == "name" and self.view == "days" else self.sort
            parts += [_range_label(self.days), f"sort: {order}"]
        if self.filter_text:
            parts.append(f"filter: {self.filter_text}")
        self.query_one("#view-title", Static).update(clean(" · ".join(parts)))

    def _apply(self) -> None:
        self._title()
        table = self.query_one("#view-table", KeyedTable)
        width = table.size.width or self.app.size.width
        note = self.query_one("#view-note", Static)
        if self.view == "alerts":
            self._alerts(table, width, note)
            return
        report = self.data
        if report is None:
            table.set_columns(table.fit([Col("key", TITLES[self.view], 10, flex=True)]))
            table.set_rows([])
            note.update("The store is empty.")
            return
        numeric = [Col("reqs", "Reqs", 7, True), Col("tokens", "Tokens", 8, True), Col("cost", "Cost est", 9, True)]
        extra: list[Col] = []
        if self.view == "tools":
            numeric.insert(0, Col("calls", "Calls", 7, True))
        if self.view == "attribution":
            numeric.append(Col("share", "Share", 6, True))
        if width >= 110:
            extra = [Col("in", "In", 7, True), Col("out", "Out", 7, True), Col("cw", "Cache wr", 8, True),
                     Col("cr", "Cache rd", 8, True)]
        if self.view == "models":
            extra.insert(0, Col("family", "Family", 7))
        if self.view in ("projects", "machines") and width >= 110:
            extra.append(Col("last", "Last", 10))
        cols = table.fit([Col("key", KEY_LABELS.get(self.view, TITLES[self.view][:-1]), 10, flex=True),
                          *extra, *numeric])
        key_col = cols[0]
        table.set_columns(cols)
        rows = []
        now = self.app.now_ms()
        needle = self.filter_text.lower()
        names = fmt.model_labels(r.key for r in report.rows) if self.view == "models" else {}
        for row in report.rows:
            key = row.key
            if self.view == "projects":
                key = key.replace(home_dir(), "~", 1)
            elif self.view == "machines" and row.extra.get("this_machine"):
                key += " (this one)"
            if needle and needle not in key.lower():
                continue
            t = row.totals
            cells = {
                "key": fmt.fit(names.get(key, key), key_col.width),
                "family": row.extra.get("family", ""),
                "calls": f"{row.extra.get('calls', 0):,}",
                "reqs": f"{t.requests:,}", "tokens": fmt.tokens(t.total_tokens),
                "cost": fmt.money(t.cost_usd, bool(t.unpriced_requests)),
                "in": fmt.tokens(t.input_tokens), "out": fmt.tokens(t.output_tokens),
                "cw": fmt.tokens(t.cache_creation_tokens), "cr": fmt.tokens(t.cache_read_tokens),
                "last": _last(row.extra.get("last_activity"), now, self.app.tz),
                "share": fmt.pct(row.extra["share"] * 100) if row.extra.get("share") is not None else "–",
            }
            rows.append((row.key, t, tuple(cells[c.key] for c in cols)))
        if self.sort == "cost":
            rows.sort(key=lambda r: (-r[1].cost_usd, r[0]))
        elif self.sort == "tokens":
            rows.sort(key=lambda r: (-r[1].total_tokens, r[0]))
        else:
            rows.sort(key=lambda r: r[0], reverse=self.view == "days")
        if self.view == "attribution":  # the requests that name nothing come after every named row
            rows.sort(key=lambda r: r[0] == "(none)")
        table.set_rows([(k, cells) for k, _, cells in rows])
        t = report.totals
        text = (f"{fmt.count(len(rows), 'row')} · total {fmt.tokens(t.total_tokens)} tokens · "
                f"{fmt.money_total(t.cost_usd, t.unpriced_requests)} est "
                f"({report.tz})")
        if self.view == "tools":
            text += " · a response that called several tools counts in each row"
        if self.view == "attribution":
            text += " · a request naming several (a skill's MCP call) counts in each row; share: of all spending"
        if t.unpriced_requests:
            text += " · ≥: unpriced requests are not in the cost (`tokentop doctor` lists their models)"
        note.update(text)

    def _alerts(self, table: KeyedTable, width: int, note: Static) -> None:
        data = self.data
        if data is None or not data.available:
            table.set_columns(table.fit([Col("alert", "Alert", 10, flex=True)]))
            table.set_rows([])
            note.update("no alerts")
            return
        cols = [c for c in data.columns if c != "id"]
        show = [c for c in cols if c in ("fired_ms", "window", "level", "used_pct", "message")] or cols
        fixed = {"fired_ms": 16, "window": 11, "level": 5, "used_pct": 5}
        labels = {"fired_ms": "Fired", "window": "Window", "level": "Level", "used_pct": "Used"}
        table_cols = table.fit([Col(c, labels.get(c, c.replace("_", " ").capitalize()), fixed.get(c, 10),
                                    c in ("level", "used_pct"), c not in fixed) for c in show])
        table.set_columns(table_cols)
        rows = []
        needle = self.filter_text.lower()
        for i, values in enumerate(data.rows):
            record = dict(zip(data.columns, values))
            cells = []
            for col in table_cols:
                v = record.get(col.key)
                if col.key.endswith("_ms") and isinstance(v, int):
                    v = fmt.local(v, self.app.tz).strftime("%Y-%m-%d %H:%M")
                elif col.key == "used_pct" and isinstance(v, (int, float)):
                    v = fmt.pct(v)
                elif col.key == "level" and isinstance(v, int):  # a spike's and a forecast's level is a key, not a %
                    v = _level_text(record.get("window"), v)
                cells.append(fmt.fit("" if v is None else str(v), col.width))
            if needle and not any(needle in str(c).lower() for c in cells):
                continue
            rows.append((str(record.get("id", i)), tuple(cells)))
        table.set_rows(rows)
        note.update(fmt.count(len(rows), "alert") if rows else "no alerts")

    # -- actions ------------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_range(self) -> None:
        self.days = RANGES[(RANGES.index(self.days) + 1) % len(RANGES)]
        self._title()
        self.refresh_data()

    def action_sort(self) -> None:
        self.sort = VIEW_SORTS[(VIEW_SORTS.index(self.sort) + 1) % len(VIEW_SORTS)]
        self._apply_if_loaded(to_top=True)

    def action_filter(self) -> None:
        from .filter import FilterModal

        def done(text: str | None) -> None:
            if text is not None:
                self.filter_text = text.strip()
                self._apply_if_loaded(to_top=True)

        self.app.push_screen(FilterModal(self.filter_text, f"Filter {TITLES[self.view].lower()}"), done)

    def _apply_if_loaded(self, to_top: bool = False) -> None:
        self._title()
        if self.data is not None or self.view == "alerts":
            self._apply()
        if to_top:  # a new order or filter starts at its first row
            self.query_one("#view-table", KeyedTable).move_cursor(row=0, scroll=True)

    @on(DataTable.RowSelected, "#view-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a project, model or machine shows the overview's sessions filtered to it."""
        if self.view in ("projects", "models", "machines"):
            self.app.show_sessions_filtered(event.row_key.value)


def _last(iso: str | None, now_ms: int, tz) -> str:
    if not iso:
        return "–"
    return fmt.when(int(datetime.fromisoformat(iso).timestamp() * 1000), now_ms, tz)


def _level_text(window, level: int) -> str:
    """The alerts table's level: "60%" for a threshold, "spike" and "pace" (on pace to hit the cap) for the others."""
    from ...ingest.usage.alerts import alert_kind
    kind = alert_kind(window, level)
    return {"spike": "spike", "forecast": "pace"}.get(kind, f"{level}%")
