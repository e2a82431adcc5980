"""The TUI driven by the keyboard (Textual's pilot) over a fixed store and a pinned clock: what each screen shows."""

from __future__ import annotations

import asyncio
import functools
import time

import pytest
from support.history import API, LIVE, LIVE2, NOW_MS, SPIKE, fire_alerts

from tokentop.tui.app import TokentopApp
from tokentop.tui.screens.help import HelpScreen
from tokentop.tui.screens.overview import OverviewScreen
from tokentop.tui.screens.session import RequestScreen, SessionScreen
from tokentop.tui.screens.views import ViewScreen
from tokentop.widgets.gauge import Gauge
from tokentop.widgets.sessions_table import LIVE as LIVE_MARK

WEEK_COST = 4.01806
"""The fixture's cost inside the week (Tue 09:00 → now), summed by hand from list prices:
live opus 36 × 0.092525 + 0.093775, its haiku sub-agent 3 × 0.00293, spotter 5 × 0.018765, api 12 × 0.029265,
Tuesday's notes 6 × 0.023265. The cap is $6, so the gauge reads 66.97%."""


def pilot_test(fn):
    """Run an async pilot scenario as a plain test (no async pytest plugin needed); fixtures pass through."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        asyncio.run(fn(*args, **kwargs))
    return run


def make_app(ctx, **kw) -> TokentopApp:
    kw.setdefault("watch", False)
    return TokentopApp(ctx, clock=lambda: NOW_MS, **kw)


async def until(pilot, condition, timeout: float = 10.0, what: str = "condition") -> None:
    """Let the app run until `condition()` holds; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def overview(app) -> OverviewScreen:
    return app._overview()


async def loaded(pilot) -> OverviewScreen:
    ov = overview(pilot.app)
    await until(pilot, lambda: ov.overview is not None and not ov._loading, what="the overview to load")
    await pilot.pause()
    return ov


def table_rows(table) -> list[tuple[str, tuple]]:
    return [(k, table.cells(k)) for k in table.keys]


# -- overview ---------------------------------------------------------------------------------------


@pilot_test
async def test_overview_lists_live_sessions_first_and_fills_the_gauges(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        keys = table.keys
        assert keys[:2] == [LIVE2, LIVE]  # live ones first, newest activity first
        assert keys[2] == API
        live2 = dict(zip([c.key for c in table.columns_for(table.size.width)], table.cells(LIVE2)))
        assert str(live2["live"]) == LIVE_MARK
        assert live2["project"] == "spotter"
        assert live2["title"] == "Review flaky tests"
        assert live2["models"] == "sonnet-4-5"
        assert live2["last"] == "15:29"
        # 5 × (5 + 600 + 1000 + 20000) tokens, priced at Sonnet 4.5 list prices.
        assert live2["tokens"] == "108.0k"
        assert live2["cost"] == "$0.09"
        api = dict(zip([c.key for c in table.columns_for(table.size.width)], table.cells(API)))
        assert api["live"] == "" and api["last"] == "Wed 15:20"

        week = ov.query_one("#week-gauge", Gauge)
        assert week.pct == pytest.approx(WEEK_COST / 6 * 100, abs=0.01)
        assert week.value_text == "~67%"  # "~": from the configured cap, not an official figure
        assert week.has_class("-warn") and not week.has_class("-high")
        assert "$4.02 of $6.00 est" in week.detail
        five = ov.query_one("#five-gauge", Gauge)
        assert five.pct is not None and five.pct >= 80 and five.has_class("-high")
        countdown = ov.query_one("#countdown")
        assert countdown.text == "week resets in 4d 17:30 · Tue 09:00"
        status = ov.query_one("#status").text
        assert "est (your cap)" in status and "last line 15:29" in status
        # Today's $3.53 is 25× the fixture's usual day, and the rest of today follows today's own ratio: at 67% the
        # cap falls this afternoon (a clock time, no weekday), by today's pace rather than a later part of the week.
        assert ov.query_one("#burn-line").data.summary == "on pace to hit the cap 16:09 · by today's pace"
        # The daily strip: today last, and the heavy day six days ago flagged.
        strip = ov.query_one("#daily")
        assert len(strip.days) == 14
        spikes = [d.day.isoformat() for d in strip.days if d.spike]
        assert "2026-11-20" in spikes


@pilot_test
async def test_countdown_ticks_and_only_it_repaints(ctx):
    now = [NOW_MS]
    app = TokentopApp(ctx, clock=lambda: now[0], watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        countdown = ov.query_one("#countdown")
        assert countdown.text == "week resets in 4d 17:30 · Tue 09:00"
        before = ov.overview
        now[0] = NOW_MS + 30_000
        await until(pilot, lambda: countdown.text == "week resets in 4d 17:29 · Tue 09:00", 3, "a tick")
        await pilot.pause(1.2)
        assert ov.overview is before  # a tick re-reads nothing
        now[0] = NOW_MS + 4 * 86_400_000 + 17 * 3_600_000 + 25 * 60_000  # 5 minutes before the reset
        await until(pilot, lambda: countdown.text == "week resets in 00:05:00 · Tue 09:00", 3, "seconds")
        # A minute on, the screens re-read once (live markers expire, windows roll over).
        await until(pilot, lambda: ov.overview.now_ms == now[0], 3, "the once-a-minute refresh")
        assert not ov.overview.sessions[0].active


@pilot_test
async def test_enter_session_then_request_then_back_keeps_the_cursor(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        await pilot.press("down")
        assert table.selected_key == LIVE
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen) and app.screen.detail is not None,
                    what="the session screen")
        screen = app.screen
        assert screen.session_id == LIVE
        assert str(screen.query_one("#session-title").render()) == "Build the live TUI"
        facts = str(screen.query_one("#session-facts").render())
        assert "branch tui" in facts and "40 requests" in facts and "cache hit 98%" in facts
        requests = screen.query_one("#requests")
        assert requests.row_count == 40
        newest = dict(zip([c.key for c in requests.ordered_columns], requests.cells(requests.keys[0])))
        assert newest["time"].endswith("15:28:00") and newest["tools"] == "Edit"
        tools = {k: cells[1] for k, cells in table_rows(screen.query_one("#tools"))}
        assert tools == {"Bash": "21", "Read": "15", "Grep": "10", "Edit": "8"}
        agents = {k: cells[1] for k, cells in table_rows(screen.query_one("#agents"))}
        assert agents == {"main": "37", "a77": "3"}

        await pilot.press("down", "down", "enter")  # the third-newest request
        await until(pilot, lambda: isinstance(app.screen, RequestScreen), what="the request screen")
        texts = [str(s.render()) for s in app.screen.query(".fact-value")]
        assert "claude-opus-4-6" in texts
        assert "Bash×2, Grep" in texts  # request 34 called Bash twice and Grep once
        assert "120,000 (98% of input)" in texts
        await pilot.press("escape")
        assert app.screen is screen
        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)
        assert table.selected_key == LIVE and table.cursor_row == 1


@pilot_test
async def test_every_view_is_a_keystroke_away(ctx):
    fire_alerts(ctx)  # stands in for the writer: a watch=False app fires nothing
    app = make_app(ctx)
    async with app.run_test(size=(160, 50)) as pilot:
        await loaded(pilot)

        async def view(key: str, name: str) -> ViewScreen:
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.view == name
                        and app.screen.data is not None, what=f"the {name} view")
            await pilot.pause()
            return app.screen

        models = await view("m", "models")
        rows = table_rows(models.query_one("#view-table"))
        assert [k for k, _ in rows][0] == "claude-opus-4-6"  # by cost
        assert {k for k, _ in rows} == {"claude-opus-4-6", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"}
        assert str(models.query_one("#view-title").render()) == "Models · last 30 days · sort: cost"

        tools = await view("t", "tools")
        calls = {k: dict(zip([c.key for c in tools.query_one("#view-table").ordered_columns], cells))["calls"]
                 for k, cells in table_rows(tools.query_one("#view-table"))}
        # Bash: 21 in the live session + 40 on the spike day; Read: 15 live + 6 in the api session.
        assert calls == {"Bash": "61", "Read": "21", "Grep": "10", "Edit": "8"}
        assert len(app.screen_stack) == 2  # switching views replaces the view, it does not stack

        projects = await view("p", "projects")
        keys = [k for k, _ in table_rows(projects.query_one("#view-table"))]
        assert keys[0] == "/home/u/src/tokentop" and len(keys) == 5

        days = await view("d", "days")
        day_keys = [k for k, _ in table_rows(days.query_one("#view-table"))]
        assert day_keys[0] == "2026-11-26" and "2026-11-20" in day_keys
        await pilot.press("r")  # 30 days → all history
        await until(pilot, lambda: "all history" in str(days.query_one("#view-title").render()), what="range")

        alerts = await view("a", "alerts")
        # The writer (fire_alerts) fired week 60% and 5-hour 60% + 80% (the fixture's caps), the week's forecast (on
        # pace to hit the cap) and today's spike (the strip flags today too): all five are listed, by what they are.
        await until(pilot, lambda: str(alerts.query_one("#view-note").render()) == "5 alerts", what="alerts")
        levels = sorted(dict(zip([c.key for c in alerts.query_one("#view-table").ordered_columns], cells))["level"]
                        .strip() for _, cells in table_rows(alerts.query_one("#view-table")))
        assert levels == ["60%", "60%", "80%", "pace", "spike"]

        await pilot.press("escape")
        assert isinstance(app.screen, OverviewScreen)


@pilot_test
async def test_enter_on_a_project_filters_the_sessions(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, ViewScreen) and app.screen.data is not None)
        await pilot.pause()
        await pilot.press("down", "enter")  # second by cost: /home/u/notes
        await until(pilot, lambda: app.screen is ov and ov.filter_text == "/home/u/notes" and not ov._loading
                    and all(k.startswith("b0000000") for k in ov.query_one("#sessions").keys))
        assert len(ov.query_one("#sessions").keys) == 10


@pilot_test
async def test_the_clock_tick_without_a_countdown_is_harmless(ctx):
    # The app's once-a-second timer can fire while the overview is being torn down (at exit) or still composing: it
    # used to raise NoMatches('Countdown') into the app, which failed a test now and then on a busy machine.
    from tokentop.widgets.header import Countdown

    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        await ov.query_one(Countdown).remove()
        ov.tick(app.now_ms())
        app._tick()
        await pilot.pause()
        assert not ov.query(Countdown)


@pilot_test
async def test_filter_and_sort(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"pagination", "enter")
        await until(pilot, lambda: table.keys == [API], what="the filter")
        assert "filter: pagination" in str(ov.query_one("#sessions-caption").render())
        await pilot.press("escape")  # clears the filter
        await until(pilot, lambda: len(table.keys) == 15, what="the filter to clear")

        await pilot.press("s")
        await until(pilot, lambda: ov.sort == "cost" and table.keys[:2] == [SPIKE, LIVE], what="sort by cost")
        await pilot.press("s")
        await until(pilot, lambda: ov.sort == "tokens" and table.keys[0] == SPIKE, what="sort by tokens")
        await pilot.press("s")
        await until(pilot, lambda: ov.sort == "project" and ov.query_one("#sessions").cells(table.keys[0])[1] == "api",
                    what="sort by project")
        await pilot.press("s")
        await until(pilot, lambda: ov.sort == "activity" and table.keys[0] == LIVE2, what="back to activity")
        assert "sort: activity" in str(ov.query_one("#sessions-caption").render())


@pilot_test
async def test_filter_modal_escape_keeps_the_filter(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        await pilot.press("slash", *"notes", "enter")
        await until(pilot, lambda: len(ov.query_one("#sessions").keys) == 10)
        await pilot.press("slash", *"zzz", "escape")
        await pilot.pause()
        assert ov.filter_text == "notes" and isinstance(app.screen, OverviewScreen)


@pilot_test
async def test_help_lists_every_binding_and_keymap_remaps(ctx):
    ctx.settings.keys = {"sort": "o", "view_models": "M"}
    app = make_app(ctx)
    async with app.run_test(size=(100, 40)) as pilot:
        ov = await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        rows = {str(row.query_one(".help-id").render()): (str(row.query_one(".help-key").render()),
                                                         str(row.query_one(".help-text").render()))
                for row in app.screen.query(".help-line")}
        for binding_id in ("quit", "help", "filter", "sort", "view_models", "view_projects", "view_tools",
                           "view_days", "view_alerts", "back", "range", "back_request", "cancel_filter"):
            assert binding_id in rows
        assert rows["sort"] == ("o", "Sort — Cycle the sessions order: activity, cost, tokens, project")
        assert rows["view_models"][0] == "M" and rows["quit"][0] == "q"
        await pilot.press("escape")
        await pilot.press("o")
        await until(pilot, lambda: ov.sort == "cost", what="the remapped sort key")
        await pilot.press("s")  # the old key no longer sorts
        await pilot.pause()
        assert ov.sort == "cost"


@pilot_test
async def test_layout_adapts_to_the_terminal(ctx):
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        assert not ov.query_one("#chart").display and ov.query_one("#split").size.height == 1
        assert ov.query_one("#sessions").size.height >= 10
        assert ov.query_one("#burn-line").size.height == 1
        await pilot.resize_terminal(160, 50)
        await pilot.pause(0.2)
        assert ov.query_one("#chart").display and ov.query_one("#chart").size.height >= 10
        assert ov.query_one("#split").size.height > 4


@pilot_test
async def test_empty_home_explains_where_tokentop_looks(home):
    from tokentop.ingest.context import make_context
    app = make_app(make_context())
    async with app.run_test(size=(100, 30)) as pilot:
        ov = overview(app)
        text = ov.query_one("#firstrun-text")
        await until(pilot, lambda: "No session logs found" in str(text.render()), what="the first-run hint")
        assert str(home / ".claude" / "projects") in str(text.render())
        assert ov.query_one("#firstrun").display and not ov.query_one("#sessions").display


@pilot_test
async def test_first_run_lists_openclaw_agent_stores_and_why_one_is_not_read(home):
    from support.openclaw_store import Gateway, store_path

    from tokentop.ingest.context import make_context
    Gateway(store_path(home / ".openclaw", "main")).session("s1")
    bad = store_path(home / ".openclaw", "kitchen")
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"not sqlite" * 500)
    app = make_app(make_context())
    async with app.run_test(size=(160, 30)) as pilot:
        text = overview(app).query_one("#firstrun-text")
        await until(pilot, lambda: "OpenClaw agent" in str(text.render()), what="the store lines")
        shown = str(text.render())
        assert "(OpenClaw agent main, 1 sessions)" in shown
        assert "(OpenClaw agent kitchen: not a readable SQLite database" in shown
        assert "No session logs found" not in shown


@pilot_test
async def test_first_run_reads_the_logs_then_shows_them(home):
    from support.history import write_history

    from tokentop.ingest.context import make_context
    write_history(home)
    app = make_app(make_context(), watch=True)
    async with app.run_test(size=(100, 30)) as pilot:
        ov = overview(app)
        await until(pilot, lambda: ov.overview is not None and ov.overview.has_data and len(
            ov.query_one("#sessions").keys) == 15, timeout=20, what="the backfill")
        assert not ov.query_one("#firstrun").display
        assert app.role_text() == "live"


@pilot_test
async def test_new_lines_show_up_live(ctx, home):
    from support.history import OPUS, iso
    from support.loglines import assistant
    app = make_app(ctx, watch=True)
    async with app.run_test(size=(160, 50)) as pilot:
        ov = await loaded(pilot)
        await until(pilot, lambda: app.service is not None and app.service.wait_ready(0), what="the watcher")
        table = ov.query_one("#sessions")
        week = ov.query_one("#week-gauge", Gauge)
        cols = [c.key for c in table.columns_for(table.size.width)]
        assert dict(zip(cols, table.cells(LIVE)))["requests"] == "40"
        assert week.has_class("-warn")
        await pilot.press("down", "down")
        assert table.selected_key == API and table.cursor_row == 2
        path = home / ".claude" / "projects" / "-home-u-src-tokentop" / f"{LIVE}.jsonl"
        # One more Opus response: 2,000,000 cache-read tokens at $0.50/M is $1.00, +16.67% of the $6 cap.
        line = assistant("msg_live_new", "req_live_new", output=0, input_=0, cache_read=2_000_000, model=OPUS,
                         ts=iso(NOW_MS - 30_000), session=LIVE, cwd="/home/u/src/tokentop", branch="tui")
        with open(path, "a") as f:
            f.write(line + "\n")
        await until(pilot, lambda: dict(zip(cols, table.cells(LIVE)))["requests"] == "41", timeout=10,
                    what="the new line in the sessions table")
        await until(pilot, lambda: week.pct == pytest.approx((WEEK_COST + 1.0) / 6 * 100, abs=0.01), timeout=5,
                    what="the gauge to move")
        assert week.has_class("-high") and not week.has_class("-warn")
        assert table.keys[:2] == [LIVE, LIVE2]  # the session with the newest line moved to the top
        assert dict(zip(cols, table.cells(LIVE)))["last"] == "15:29"
        assert table.selected_key == API and table.cursor_row == 2  # the cursor stayed on its session
        # A second line to the session already on top: same order, so only its cells change in place.
        line = assistant("msg_live_new2", "req_live_new2", output=0, input_=0, cache_read=10_000, model=OPUS,
                         ts=iso(NOW_MS - 20_000), session=LIVE, cwd="/home/u/src/tokentop", branch="tui")
        with open(path, "a") as f:
            f.write(line + "\n")
        await until(pilot, lambda: dict(zip(cols, table.cells(LIVE)))["requests"] == "42", timeout=10,
                    what="the second line")
        assert table.keys[:3] == [LIVE, LIVE2, API] and table.selected_key == API and table.cursor_row == 2


@pilot_test
async def test_app_paints_then_loads(ctx):
    """The screen is drawn and the store read behind it. How fast is measured in tests/bench (first paint), not
    here: a timed unit test on a shared machine measures how busy the machine is."""
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = overview(app)
        assert ov.query_one("#sessions-caption").render() is not None
        await loaded(pilot)
        assert ov.overview is not None and ov.overview.has_data


def test_run_app_is_the_entry_point():
    from tokentop.tui import app as app_module
    assert callable(app_module.run_app)
    assert app_module.CSS_FILE.name == "usage.tcss" and app_module.CSS_FILE.is_file()


@pilot_test
async def test_no_color_still_shows_levels(ctx, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(ctx)
    async with app.run_test(size=(80, 24)) as pilot:
        ov = await loaded(pilot)
        assert app.no_color
        five = ov.query_one("#five-gauge", Gauge)
        # Without colour the level still reads in text: the percent and a "!" from 80% up.
        assert str(five.render()).splitlines()[0].endswith(" ~88% !")



@pilot_test
async def test_crossed_thresholds_toast_once_and_keep_a_banner(ctx):
    # The fixture's week is at 67% of its $6 cap and the 5-hour window at 88% of $4: 60% (week) and 60%, 80%
    # (5-hour) are crossed; today ($3.53 against a $0.14 median day) is a spike, as the strip flags it; and the week
    # is on pace to hit the cap this afternoon (a forecast alert: it says when, which a threshold does not).
    fire_alerts(ctx)  # stands in for the writer: a watch=False app fires nothing
    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        ov = await loaded(pilot)
        await until(pilot, lambda: len(app._notifications) >= 4, what="the alert toasts")
        # One toast per window, for the highest level it crossed (the lower ones are recorded, not shown).
        messages = sorted(n.message for n in app._notifications)
        # Against the fixture's own caps: "Your … cap", never "Claude … limit".
        assert messages == ["Usage spike: $3.53 est today, 25.3× your median active day of the last 14 ($0.14)",
                            "Your 5-hour cap at ~88% ($3.53 of $4.00 est) — resets 17:00",
                            "Your weekly cap at ~67% ($4.02 of $6.00 est) — resets Tue 09:00",
                            "week: on pace to hit the cap 16:09"]
        banner = ov.query_one("#alert-banner")  # a threshold before a forecast or a spike
        assert banner.display and str(banner.render()) == (
            "▲ Your 5-hour cap at ~88% ($3.53 of $4.00 est) — resets 17:00  (+3 more: a)")
        count = len(app._notifications)
        await pilot.press("r")  # read again: nothing new has crossed, so nothing toasts twice
        await until(pilot, lambda: not ov._loading, what="the reload")
        await pilot.pause(0.2)
        assert len(app._notifications) == count
    with ctx.open_store() as store:
        levels = sorted((w, lvl) for w, lvl in store.db.execute("SELECT window, level FROM alerts"))
    assert levels == [("day", 200), ("five_hour", 60), ("five_hour", 80), ("week", 60), ("week", 150)]


@pilot_test
async def test_the_tui_as_writer_fires_alerts_and_toasts_them(home):
    # The writer's post-commit step fires them (the overview only reads): history ending now crosses the 5-hour
    # window's 60% and 80% of its $4 cap during the live service's catch-up, after the app started.
    from support.history import write_history

    from tokentop.ingest.clock import now_ms
    from tokentop.ingest.context import make_context
    write_history(home, now_ms())
    ctx = make_context()
    app = TokentopApp(ctx, watch=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: any("5-hour cap at ~88%" in n.message for n in app._notifications),
                    timeout=20, what="the 5-hour toast")
        assert app.role_text() == "live"
    with ctx.open_store(readonly=True) as store:
        assert store.db.execute("SELECT level FROM alerts WHERE window = 'five_hour' ORDER BY level").fetchall() \
            == [(60,), (80,)]


@pilot_test
async def test_sessions_show_and_filter_by_openclaw_agent(home):
    from support.loglines import openclaw_assistant, openclaw_session
    from support.openclaw_store import Gateway, store_path

    from tokentop.ingest.context import make_context
    from tokentop.ingest.live.ingester import Ingester
    for agent, sid in (("main", "s-1"), ("kitchen", "s-2")):  # neither id nor title names the agent
        gw = Gateway(store_path(home / ".openclaw", agent), agent=agent)
        gw.session(sid, f"agent:{agent}:main", label="Soup of the day")
        gw.append(sid, [openclaw_session(sid), openclaw_assistant("a1", ts_ms=NOW_MS - 60_000)])
    ctx = make_context()
    Ingester(ctx.open_store(), ctx.settings).ingest_all()
    app = make_app(ctx)
    async with app.run_test(size=(120, 30)) as pilot:
        ov = await loaded(pilot)
        table = ov.query_one("#sessions")
        await until(pilot, lambda: sorted(table.keys) == ["s-1", "s-2"], what="both sessions")
        assert "Agent" in [str(c.label) for c in table.columns.values()]
        await pilot.press("slash")
        await pilot.pause()
        await pilot.press(*"kitchen", "enter")
        await until(pilot, lambda: table.keys == ["s-2"], what="the agent filter")


@pilot_test
async def test_request_drill_down_shows_surcharges_and_why_a_request_is_unpriced(ctx):
    from types import SimpleNamespace

    from tokentop.ingest.usage.queries import RequestRow

    def row(model, speed, geo, searches, cost, priced):
        return RequestRow(1, NOW_MS, model, 1_000, 1_000, 0, 0, cost, priced, (), None, False, "msg_x", "req_x",
                          speed, 0, 0, searches, geo)

    app = make_app(ctx)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        detail = SimpleNamespace(session_id="s")
        app.push_screen(RequestScreen(row("claude-opus-4-6", "fast", "us", 2, 0.218, True), detail))
        await until(pilot, lambda: isinstance(app.screen, RequestScreen) and app.screen.query(".fact-value"),
                    what="the request screen")
        texts = [str(s.render()) for s in app.screen.query(".fact-value")]
        assert "fast x6, US inference x1.1, 2 web searches" in texts and "$0.22 est" in texts
        await pilot.press("escape")
        app.push_screen(RequestScreen(row("claude-sonnet-4-6", "fast", None, 0, 0.018, False), detail))
        await until(pilot, lambda: isinstance(app.screen, RequestScreen) and app.screen.query(".fact-value"),
                    what="the request screen")
        texts = [str(s.render()) for s in app.screen.query(".fact-value")]
        assert "unpriced (fast mode has no known multiplier), at least $0.02" in texts and "none" in texts
