"""A DataTable with keyed rows that updates in place: changed cells only, cursor and scroll kept across reorders."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from ..ingest.safe_text import clean


@dataclass(slots=True, frozen=True)
class Col:
    key: str
    label: str
    width: int | None = None
    """Cells are fitted to this many columns by the caller; None sizes the column to its content."""
    right: bool = False
    """Right-align (numbers)."""
    flex: bool = False
    """Takes the width the other columns leave (see `KeyedTable.fit`); `width` is then its minimum."""


Cell = str | Text


class KeyedTable(DataTable):
    """Rows are (key, cells). `set_rows` touches only what changed: same keys in the same order → `update_cell`
    per changed cell; otherwise the rows are rebuilt and the cursor returns to the row it was on."""

    # DataTable puts Home/End on sideways scrolling; in a row table they mean the first and last row.
    BINDINGS = [
        Binding("home", "first_row", "First row", show=False),
        Binding("end", "last_row", "Last row", show=False),
    ]

    def action_first_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=0)

    def action_last_row(self) -> None:
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._cols: list[Col] = []
        self._cells: dict[str, tuple] = {}
        self._order: list[str] = []

    @property
    def selected_key(self) -> str | None:
        """The key of the row under the cursor."""
        if not self.row_count:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # the cursor can briefly point past a just-shrunk table
            return None

    @property
    def keys(self) -> list[str]:
        return list(self._order)

    def cells(self, key: str) -> tuple:
        return self._cells[key]

    def fit(self, cols: list[Col], width: int | None = None) -> list[Col]:
        """Give flex columns what the fixed ones leave of `width` (default: this table's width), after each column's
        padding and room for the vertical scrollbar, so the table never needs to scroll sideways."""
        width = width or self.size.width or (self.app.size.width if self.is_attached else 80)
        fixed = sum(c.width or 0 for c in cols if not c.flex)
        flex = [c for c in cols if c.flex]
        room = width - fixed - 2 * self.cell_padding * len(cols) - 2
        share = room // len(flex) if flex else 0
        return [Col(c.key, c.label, max(share, c.width or 1), c.right, True) if c.flex else c for c in cols]

    def set_columns(self, cols: list[Col]) -> bool:
        """Replace the columns if they differ; the rows are then re-added by the next `set_rows`."""
        if cols == self._cols:
            return False
        selected = self.selected_key
        self.clear(columns=True)
        for col in cols:
            self.add_column(Text(col.label, justify="right") if col.right else col.label, key=col.key,
                            width=col.width)
        self._cols = list(cols)
        rows = [(k, self._cells[k]) for k in self._order]
        self._cells, self._order = {}, []
        self._rebuild(rows, selected, 0.0)
        return True

    def _cell(self, col: Col, value: Cell) -> Cell:
        # Cells hold text from logs: no escape sequence reaches the screen, and a `[` is never read as markup
        # (DataTable parses plain strings as markup, so they are escaped, not turned into Text: same rendering).
        if isinstance(value, Text):
            plain = clean(value.plain)
            return value if plain == value.plain else Text(plain, style=value.style, justify=value.justify)
        value = clean(value)
        if col.right:
            return Text(value, justify="right")
        return escape(value)

    def set_rows(self, rows: list[tuple[str, tuple]]) -> None:
        keys = [k for k, _ in rows]
        if keys == self._order:
            for key, cells in rows:
                old = self._cells.get(key)
                if old == cells:
                    continue
                for col, before, after in zip(self._cols, old, cells):
                    if before != after:
                        self.update_cell(key, col.key, self._cell(col, after))
                self._cells[key] = cells
            return
        self._rebuild(rows, self.selected_key, self.scroll_y)

    def _rebuild(self, rows: list[tuple[str, tuple]], selected: str | None, scroll_y: float) -> None:
        cursor_row = self.cursor_row
        self.clear()
        for key, cells in rows:
            self.add_row(*(self._cell(c, v) for c, v in zip(self._cols, cells)), key=key)
        self._cells = dict(rows)
        self._order = [k for k, _ in rows]
        if not rows:
            return
        if selected in self._cells:
            target = self._order.index(selected)
        else:  # the row went away: stay at the same height rather than jumping to the top
            target = min(cursor_row, len(rows) - 1)
        if scroll_y:
            # Rows have no height until the next layout; restore the scroll offset after it.
            self.call_after_refresh(self.scroll_to, y=scroll_y, animate=False, immediate=True)
        self.move_cursor(row=target, scroll=False)
