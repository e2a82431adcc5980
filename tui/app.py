"""The Textual app: owns the watcher service, the clock tick, the keymap, and routes store changes to screens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from textual import work
from textual.app import App
from textual.binding import Binding

from ..ingest.clock import now_ms as wall_clock_ms
from ..ingest.store.store import Store
from .messages import DataChanged
from .screens.overview import OverviewScreen

CSS_FILE = Path(__file__).resolve().parents[1] / "usage.tcss"
CLOCK_REFRESH_MS = 60_000
"""With no new lines, the screens still re-read once a minute: live markers expire and windows roll over."""
REFRESH_EVERY_S = 1.0
"""Store changes re-read the screen at most this often (Claude Code writes a line every few hundred ms)."""
FIRST_PAINT_WAIT_S = 1.0
"""The live service starts once the first read is on screen, or after this long whatever that read does."""


class TokentopApp(App[int]):
    """`top` for Claude usage. Widgets never touch the database: screens read it in thread workers."""

    CSS_PATH = str(CSS_FILE)
    TITLE = "tokentop"
    # The command palette (ctrl+p) is how a user picks another Textual theme; every colour follows it.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    VIEWS = Binding.Group("Views", compact=True)
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave tokentop"),
        # As in `top`: Ctrl+C leaves at once (Textual's default only tells you to press Ctrl+Q).
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit_ctrl_c", tooltip="Leave tokentop"),
        Binding("question_mark", "help", "Help", id="help", tooltip="List every key binding"),
        Binding("m", "view('models')", "Models", id="view_models", tooltip="Usage per model", group=VIEWS),
        Binding("p", "view('projects')", "Projects", id="view_projects", tooltip="Usage per project", group=VIEWS),
        Binding("t", "view('tools')", "Tools", id="view_tools", tooltip="Calls and tokens per tool", group=VIEWS),
        Binding("d", "view('days')", "Days", id="view_days", tooltip="Usage per day", group=VIEWS),
        Binding("u", "view('attribution')", "Usage by", id="view_attribution", show=False,
                tooltip="Usage per skill, plugin, MCP server and sub-agent (as /usage)", group=VIEWS),
        Binding("a", "view('alerts')", "Alerts", id="view_alerts", tooltip="Cap alerts that fired", group=VIEWS),
        Binding("M", "view('machines')", "Machines", id="view_machines", show=False,
                tooltip="Usage per machine (with a sync folder)", group=VIEWS),
    ]

    def __init__(self, ctx, *, clock: Callable[[], int] | None = None, watch: bool = True) -> None:
        super().__init__()
        self.ctx = ctx
        self.clock = clock or wall_clock_ms
        self.watch_enabled = watch
        self.tz = ctx.settings.zone()
        self.keymap: dict[str, str] = dict(getattr(ctx.settings, "keys", {}) or {})
        self.service = None
        self._service_started = False
        self._unsubscribe = None
        self._last_clock_refresh = 0
        self._tick_timer = None
        self._backfill_timer = None
        self._last_refresh = 0.0
        self._painted_done = 0
        self._refresh_timer = None
        self._changed: frozenset[str] | None = frozenset()
        """Sessions touched since the last re-read was started; None: anything."""

    # -- helpers used by the screens ----------------------------------------------------------------

    def now_ms(self) -> int:
        return int(self.clock())

    @contextmanager
    def reading(self) -> Iterator[Store | None]:
        """A read-only store for one worker call (a Store is not shared across threads); None before it exists."""
        if not Path(self.ctx.db_path).exists():
            yield None
            return
        store = self.ctx.open_store(readonly=True)
        try:
            yield store
        finally:
            store.close()

    def role_text(self) -> str:
        service = self.service
        if service is None:
            return ""
        role = service.role
        if role == "follower":
            pid = getattr(service, "writer_pid", None)
            return f"following pid {pid}" if pid else "following"
        return "live" if role == "writer" else role

    # -- start-up -----------------------------------------------------------------------------------

    def get_default_screen(self) -> OverviewScreen:
        return OverviewScreen()

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
            self._check_keymap()
        # The one timer that always runs: it repaints the countdown and nothing else (see _schedule_tick).
        self._last_clock_refresh = self.now_ms()
        self._schedule_tick()
        if self.watch_enabled:
            # Once the first read is on screen (first_paint), else after FIRST_PAINT_WAIT_S: the catch-up and its
            # post-commit step (the week's forecast) would otherwise share the one interpreter with that read.
            self.set_timer(FIRST_PAINT_WAIT_S, self._start_service)
        self.call_after_refresh(self.check_size)

    def _check_keymap(self) -> None:
        from .screens.help import binding_sections
        known = {b.id for _, bindings in binding_sections(self) for b in bindings if b.id}
        unknown = sorted(set(self.keymap) - known)
        if unknown:
            self.notify(f"config [keys]: no binding with id {', '.join(unknown)}", severity="warning", timeout=8)

    def first_paint(self) -> None:
        """The default screen's first read is on screen: the live service may start."""
        if self.watch_enabled:
            self.call_after_refresh(self._start_service)

    def _start_service(self) -> None:
        if self._service_started:
            return
        self._service_started = True
        from ..ingest.live.service import WatchService
        self.service = WatchService.from_context(self.ctx)
        self._unsubscribe = self.service.subscribe(self._on_change)
        self.service.start()
        self.screen_refresh_all()
        if self.ctx.settings.sync_folder() is not None:
            from ..ingest.sync.run import SYNC_EVERY_S
            self.set_timer(10.0, self._sync)  # after the catch-up has had a moment; then every few minutes
            self.set_interval(SYNC_EVERY_S, self._sync)

    def _on_change(self, change) -> None:
        """Called on the ingest thread: hand over to the event loop and return at once. The start-up catch-up
        may add old lines anywhere: it re-reads everything (empty sessions); live commits name their sessions."""
        live = self.service is not None and self.service.wait_ready(0)
        self.post_message(DataChanged(frozenset(change.sessions) if live else frozenset(), change.newest_ts))

    def on_unmount(self) -> None:
        self.stop_service()

    @work(thread=True, exclusive=True, group="sync", exit_on_error=False)
    def _sync(self) -> None:
        """Merge the other machines' files and publish this one's (the writer only: followers leave it to it)."""
        if self.sync_now():
            self.post_message(DataChanged(frozenset(), None))

    def sync_now(self) -> bool:
        """One sync pass in this thread; False when there is nothing to do or this process is not the writer."""
        folder = self.ctx.settings.sync_folder()
        service = self.service
        if folder is None or service is None or service.role != "writer":
            return False
        from ..ingest.sync.run import sync_once
        with self.ctx.open_store() as store:
            result = sync_once(store, folder)
        return bool(result.merged.merged)

    def stop_service(self) -> None:
        if self.service is not None:
            try:
                self.sync_now()  # on exit: what this run ingested reaches the other machines now
            except Exception:  # noqa: BLE001 - never block leaving; the next run syncs
                pass
        service, self.service = self.service, None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if service is not None:
            service.stop()

    # -- live updates -------------------------------------------------------------------------------

    def on_data_changed(self, message: DataChanged) -> None:
        """At most one re-read per REFRESH_EVERY_S: the first change after a quiet spell at once, the rest of a
        burst together at the end of the interval, with every session they touched."""
        if self._changed is not None:
            self._changed = self._changed | message.sessions if message.sessions else None
        wait = self._last_refresh + REFRESH_EVERY_S - time.monotonic()
        if wait > 0:
            if self._refresh_timer is None:
                self._refresh_timer = self.set_timer(wait, self._refresh_changed)
            return
        self._refresh_changed()

    def _refresh_changed(self) -> None:
        self._refresh_timer = None
        self._last_refresh = time.monotonic()
        changed, self._changed = self._changed, frozenset()
        self.screen_refresh_all(changed or frozenset())

    def screen_refresh_all(self, changed: frozenset[str] = frozenset()) -> None:
        """Re-read for the screen on top now (`changed`: the sessions touched, empty: all); screens underneath
        re-read when they come back."""
        top = self.screen
        for screen in self.screen_stack:
            if screen is top and hasattr(screen, "refresh_data"):
                screen.refresh_data(changed)
            elif hasattr(screen, "stale"):
                screen.stale = True
        if not hasattr(top, "refresh_data"):  # a modal on top: refresh what is under it
            below = [s for s in self.screen_stack if hasattr(s, "refresh_data")]
            if below:
                below[-1].refresh_data(changed)

    def _tick(self) -> None:
        now = self.now_ms()
        overview = self._overview()
        if overview is not None and overview.is_current:
            overview.tick(now)
        if now - self._last_clock_refresh >= CLOCK_REFRESH_MS:
            self._last_clock_refresh = now
            self.post_message(DataChanged(reason="clock"))
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        """The next tick: when the countdown's text next changes (each second under a day, each minute above) or
        the once-a-minute re-read is due. Each wake-up of a Textual app costs here about as much as 1.5% of a core
        at once a second, idle, so an idle week-long countdown wakes the app once a minute, not 60 times. A clock
        given by the caller (tests) may jump: then every second, as before."""
        if self._tick_timer is not None:
            self._tick_timer.stop()
        wait_ms = 1000
        if self.clock is wall_clock_ms:
            now = self.now_ms()
            wait_ms = CLOCK_REFRESH_MS - (now - self._last_clock_refresh)
            overview = self._overview()
            if overview is not None:
                wait_ms = min(wait_ms, overview.next_tick_ms(now))
        self._tick_timer = self.set_timer(max(wait_ms, 20) / 1000, self._tick)

    def countdown_changed(self) -> None:
        """The countdown's target moved (a re-read): its next change may be sooner than the tick now scheduled."""
        if self._tick_timer is not None:
            self._schedule_tick()

    def _overview(self) -> OverviewScreen | None:
        for screen in self.screen_stack:
            if isinstance(screen, OverviewScreen):
                return screen
        return None

    def _catching_up(self) -> bool:
        return self.service is not None and self.service.role == "writer" and not self.service.wait_ready(0)

    def watch_backfill(self, on: bool) -> None:
        """While the store is empty and this process reads the logs for the first time, show how far it got
        (4 times a second) and paint what is committed so far (once a second); the timer stops as soon as that
        first read is over, not when the first rows show."""
        if on and self._catching_up():
            if self._backfill_timer is None:
                self._backfill_timer = self.set_interval(0.25, self._backfill_progress)
        elif self._backfill_timer is not None and not self._catching_up():
            self._backfill_timer.stop()
            self._backfill_timer = None
        if on:
            self._backfill_progress()

    def _backfill_progress(self) -> None:
        overview = self._overview()
        stats = self.service.stats if self.service is not None else None
        done, total = (stats.catchup_done, stats.catchup_total) if stats is not None else (0, 0)
        catching_up = self._catching_up()
        if overview is not None:
            overview.show_backfill(done, total if catching_up else 0)
        if catching_up and done != self._painted_done and time.monotonic() - self._last_refresh >= REFRESH_EVERY_S:
            self._painted_done = done
            self._refresh_changed()  # the rows the backfill committed so far
        if not catching_up and self._backfill_timer is not None:
            self._backfill_timer.stop()
            self._backfill_timer = None

    # -- actions ------------------------------------------------------------------------------------

    def action_help(self) -> None:
        from .screens.help import HelpScreen
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_view(self, view: str) -> None:
        from .screens.views import ViewScreen
        if isinstance(self.screen, ViewScreen):
            if self.screen.view == view:
                return
            self.pop_screen()
        self.push_screen(ViewScreen(view))

    def show_sessions_filtered(self, text: str) -> None:
        """Back to the overview with its sessions filtered (Enter on a project or model in a view); Esc there
        drops the filter and returns to that view."""
        from .screens.views import ViewScreen
        overview = self._overview()
        if overview is None:
            return
        came_from = self.screen.state() if isinstance(self.screen, ViewScreen) else None
        while self.screen is not overview:
            self.pop_screen()
        overview.set_filter(text, return_to=came_from)

    def reopen_view(self, state: dict) -> None:
        """The view a filter came from, as it was (range, order, filter, row)."""
        from .screens.views import ViewScreen
        if isinstance(self.screen, ViewScreen):
            self.pop_screen()
        self.push_screen(ViewScreen.restore(state))

    # -- size -----------------------------------------------------------------------------------------

    def check_size(self) -> None:
        """Below 80x24 the tables would be cut: say so instead, and draw again once there is room."""
        from .screens.too_small import MIN_SIZE, TooSmallScreen
        small = self.size.width < MIN_SIZE[0] or self.size.height < MIN_SIZE[1]
        if small and not isinstance(self.screen, TooSmallScreen):
            self.push_screen(TooSmallScreen())
        elif isinstance(self.screen, TooSmallScreen):
            if small:
                self.screen.show_size(self.size)
            else:
                self.pop_screen()

    async def action_quit(self) -> None:
        self.exit(0)


def run_app(ctx) -> int:
    """Open the monitor; returns the exit code."""
    app = TokentopApp(ctx)
    try:
        result = app.run()
    finally:
        app.stop_service()
    return int(result or app.return_code or 0)
