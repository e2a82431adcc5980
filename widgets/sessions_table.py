"""The sessions table: active sessions marked live, then recent ones; columns narrow with the terminal."""

from __future__ import annotations

from datetime import tzinfo

from rich.text import Text

from . import fmt
from .tables import Col, KeyedTable

LIVE = "●"
FAMILY_ORDER = ("opus", "sonnet", "haiku", "other")


def _family(model: str) -> str:
    low = model.lower()
    return next((f for f in FAMILY_ORDER[:3] if f in low), "other")


class SessionsTable(KeyedTable):
    """Shows objects shaped like `ingest.queries.SessionRow`; never reads the store itself."""

    COMPONENT_CLASSES = KeyedTable.COMPONENT_CLASSES | {"sessions--live"}

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._rows: list = []
        self._now_ms = 0
        self._tz: tzinfo | None = None

    def on_resize(self) -> None:
        if self._tz is not None:
            self._render_rows()

    def show(self, rows: list, now_ms: int, tz: tzinfo) -> None:
        self._rows, self._now_ms, self._tz = list(rows), now_ms, tz
        self._render_rows()

    def columns_for(self, width: int) -> list[Col]:
        """Fixed widths for everything but the title, which takes what is left."""
        wide = width >= 110
        cols = [Col("live", " ", 1), Col("project", "Project", 18 if wide else 10),
                Col("title", "Title", 8, flex=True), Col("models", "Models", 22 if wide else 10),
                Col("last", "Last", 10), Col("tokens", "Tokens", 7, True), Col("cost", "Cost", 7, True)]
        if wide:
            cols.insert(5, Col("requests", "Reqs", 5, True))
        if any(getattr(r, "agent", None) for r in self._rows):  # only once an OpenClaw agent store was read
            cols.insert(2, Col("agent", "Agent", 10 if wide else 7))
        if len({m for r in self._rows for m in getattr(r, "machines", ())}) > 1:
            cols.insert(2, Col("machine", "Machine", 12 if wide else 8))  # only once several machines are synced
        return self.fit(cols, width)

    def _render_rows(self) -> None:
        width = self.size.width or (self.app.size.width if self.is_attached else 80)
        cols = self.columns_for(width)
        widths = {c.key: c.width for c in cols}
        self.set_columns(cols)
        live = Text(LIVE, style=self.get_component_rich_style("sessions--live", partial=True))
        out = []
        for r in self._rows:
            cells = {
                "live": live if r.active else "",
                "project": fmt.fit(fmt.project_name(r.project), widths["project"]),
                "title": fmt.fit(r.title or r.session_id[:8], widths["title"]),
                "agent": fmt.fit(getattr(r, "agent", None) or "", widths.get("agent", 0)),
                "models": fmt.fit(self._models(r.models, widths["models"]), widths["models"]),
                "last": fmt.when(r.last_ms, self._now_ms, self._tz),
                "requests": f"{r.requests:,}",
                "machine": fmt.fit(",".join(getattr(r, "machines", ())), widths.get("machine", 8)),
                "tokens": fmt.tokens(r.tokens),
                "cost": fmt.money(r.cost_usd),
            }
            out.append((r.session_id, tuple(cells[c.key] for c in cols)))
        self.set_rows(out)

    @staticmethod
    def _models(models: tuple[str, ...], width: int) -> str:
        names = fmt.model_names(models)
        if len(names) <= width:
            return names
        families = [f for f in FAMILY_ORDER if any(_family(m) == f for m in models)]
        joined = "+".join(families)
        if len(joined) <= width or not families:
            return joined
        return f"{families[0]}+{len(families) - 1}"  # 'opus+2': whole words, never 'opus+sonn…'
