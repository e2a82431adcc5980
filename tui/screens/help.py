"""The `?` help screen: every binding of every screen, with the key it is on now (after config remaps)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

NAVIGATION = [
    ("↑ ↓", "move the cursor in a table"),
    ("pgup pgdn", "move by a page"),
    ("home end", "go to the first or last row"),
    ("^p", "command palette: change the theme, take a screenshot, quit"),
    ("enter", "open the session (overview), the request (session), or sessions of a project/model (views)"),
]
CHARTS = [
    ("header", "the week from its start to its reset in 12 bars: use so far, then the projected rest"),
    ("burn line", "the same across the screen, with when the cap is reached at this pace"),
    ("days", "usage per day, last 14 days (cost, or tokens when nothing is priced); ! marks a spike"),
    ("session", "tokens per request in this session, oldest first"),
]
"""What each small chart plots (the legend `?` shows; the screens have no room for one each)."""


def binding_sections(app) -> list[tuple[str, list[Binding]]]:
    """(title, bindings) for the app and each screen class, in the order a user meets them."""
    from .filter import FilterModal
    from .overview import OverviewScreen
    from .session import RequestScreen, SessionScreen
    from .views import ViewScreen
    return [
        ("Everywhere", list(type(app).BINDINGS)),
        ("Overview", list(OverviewScreen.BINDINGS)),
        ("Session", list(SessionScreen.BINDINGS) + list(RequestScreen.BINDINGS)),
        ("Views (models, projects, tools, days, alerts)", list(ViewScreen.BINDINGS)),
        ("Filter prompt", list(FilterModal.BINDINGS)),
    ]


def key_for(app, binding: Binding) -> str:
    """The key(s) a binding is on after the keymap, as the footer shows them."""
    keymap = getattr(app, "keymap", {}) or {}
    keys = keymap.get(binding.id, binding.key) if binding.id else binding.key
    shown = [app.get_key_display(binding.with_key(k.strip(), None)) for k in keys.split(",") if k.strip()]
    return " / ".join(shown)


class HelpScreen(ModalScreen):
    """Key, what it does (wrapping in its own column), and the id to remap it by."""

    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="close_help", tooltip="Close the help")]

    def compose(self) -> ComposeResult:
        with Vertical(id="help-box"):
            yield Static("tokentop keys", id="help-title", markup=False)
            with VerticalScroll(id="help-body"):
                for title, bindings in binding_sections(self.app):
                    yield Static(title, classes="help-section", markup=False)
                    for b in bindings:
                        text = b.description or b.action
                        if b.tooltip:
                            text += f" — {b.tooltip}"
                        yield self._row(key_for(self.app, b), text, b.id or "")
                yield Static("Navigation", classes="help-section", markup=False)
                for keys, what in NAVIGATION:
                    yield self._row(keys, what, "")
                yield Static("What the small charts plot", classes="help-section", markup=False)
                for chart, what in CHARTS:
                    yield self._row(chart, what, "")
                yield Static("Remap a key by its id in config.toml, e.g. [keys] then quit = \"q,ctrl+c\".",
                             classes="help-note", markup=False)
            yield Static("↑ ↓ pgup pgdn home end scroll · Esc or ? to close", id="help-hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()  # the arrows, pages, Home and End scroll the list at once

    @staticmethod
    def _row(key: str, text: str, binding_id: str) -> Horizontal:
        return Horizontal(Static(key, classes="help-key", markup=False),
                          Static(text, classes="help-text", markup=False),
                          Static(binding_id, classes="help-id", markup=False), classes="help-line")
