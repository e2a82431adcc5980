"""The cap burn-up: a plotext chart (used so far, projection with its band, cap line, now and reset markers) and
the one-line sparkline that stands in for it in narrow layouts and the header."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from rich.text import Text
from textual.color import Color
from textual.widget import Widget
from textual_plotext import PlotextPlot

from . import fmt

HOUR_MS = 3_600_000


@dataclass(slots=True)
class BurnData:
    """A cap window as the chart needs it. Values are percent of the cap when `cap` is set, else estimated USD."""

    start_ms: int
    end_ms: int
    now_ms: int
    history: list[tuple[int, float]] = field(default_factory=list)
    """Cumulative use at points in time, oldest first."""
    projection: list[tuple[int, float, float, float]] = field(default_factory=list)
    """(time, mid, low, high) from now to the reset."""
    cap: float | None = 100.0
    summary: str = ""
    tz: tzinfo | None = None
    end_label: str = "reset"
    """What the right edge is: "reset", or "now" for a rolling window that never resets."""

    def value_at(self, ts: int) -> tuple[float, bool]:
        """Cumulative value at `ts` and whether it is projected (after now) rather than seen."""
        if ts <= self.now_ms or not self.projection:
            if not self.history:
                return 0.0, False
            i = bisect_right([h[0] for h in self.history], ts) - 1
            return (self.history[max(i, 0)][1] if i >= 0 else 0.0), False
        points = self.projection
        for (t0, v0, *_), (t1, v1, *_) in zip(points, points[1:]):
            if t0 <= ts <= t1:
                return (v0 + (v1 - v0) * (ts - t0) / (t1 - t0) if t1 > t0 else v1), True
        return points[-1][1], True

    def band_top_at(self, ts: int) -> float | None:
        """The band's high edge at `ts` (after now), None before now or without a projection."""
        points = self.projection
        if ts <= self.now_ms or not points:
            return None
        for (t0, _, _, h0), (t1, _, _, h1) in zip(points, points[1:]):
            if t0 <= ts <= t1:
                return h0 + (h1 - h0) * (ts - t0) / (t1 - t0) if t1 > t0 else h1
        return points[-1][3]


def spark_cells(data: BurnData, width: int) -> list[tuple[str, str]]:
    """`width` (character, kind) cells across the window; kind is 'used', 'projected', 'maybe' (projected under the
    cap, but the band's high edge is past it: the band drawn on one line) or 'over' (past the cap)."""
    if width <= 0 or data.end_ms <= data.start_ms:
        return []
    span = data.end_ms - data.start_ms
    values = []
    for i in range(width):
        ts = data.start_ms + int(span * (i + 0.5) / width)
        values.append(data.value_at(ts))
    top = max([data.cap or 0.0] + [v for v, _ in values]) or 1.0
    cells = []
    for i, (v, projected) in enumerate(values):
        level = round(min(max(v, 0.0) / top, 1.0) * 8)
        char = fmt.BLOCKS[max(level, 1)] if v > 0 else fmt.BLOCKS[1]
        kind = "over" if data.cap and v >= data.cap else ("projected" if projected else "used")
        if kind == "projected" and data.cap:
            high = data.band_top_at(data.start_ms + int(span * (i + 0.5) / width))
            if high is not None and high >= data.cap:
                kind = "maybe"
        cells.append((char, kind))
    return cells


class BurnSparkline(Widget):
    """One line: the window as a sparkline (seen, then projected) and the forecast sentence beside it."""

    COMPONENT_CLASSES = {"burn--used", "burn--projected", "burn--maybe", "burn--over", "burn--summary"}
    DEFAULT_CSS = "BurnSparkline { height: 1; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data: BurnData | None = None

    def show(self, data: BurnData | None) -> None:
        self.data = data
        self.refresh()

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="crop")
        if self.data is None:
            return line
        width = self.size.width
        spark_width = max(min(42, width // 3), 8)
        for char, kind in spark_cells(self.data, spark_width):
            line.append(char, self.get_component_rich_style(f"burn--{kind}", partial=True))
        line.append(" ")
        line.append(fmt.fit(self.data.summary, width - spark_width - 1),
                    self.get_component_rich_style("burn--summary", partial=True))
        return line


class BurnUpChart(PlotextPlot):
    """The burn-up chart. It draws only what `show()` hands it, on its own plotext figure (never the global one)."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.data: BurnData | None = None

    def on_mount(self) -> None:
        # (PlotextPlot's own on_mount runs too: Textual calls the handler of every class in the MRO.)
        # Line colours follow the Textual theme; re-plot when it changes.
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self.replot())

    def show(self, data: BurnData | None) -> None:
        self.data = data
        self.replot()

    def _color(self, variable: str) -> tuple[int, int, int]:
        value = self.app.theme_variables.get(variable) or self.app.theme_variables.get("foreground", "white")
        return Color.parse(value).rgb

    def replot(self) -> None:
        plt = self.plt
        plt.clear_figure()
        data = self.data
        if data is None or data.end_ms <= data.start_ms:
            self.refresh()
            return
        to_x = lambda ts: (ts - data.start_ms) / HOUR_MS  # noqa: E731 - hours into the window
        used_x = [to_x(t) for t, _ in data.history]
        used_y = [v for _, v in data.history]
        top = max([data.cap or 0.0] + used_y + [p[3] for p in data.projection]) or 1.0
        if data.projection:
            xs = [to_x(p[0]) for p in data.projection]
            plt.plot(xs, [p[2] for p in data.projection], marker="dot", color=self._color("secondary"))
            plt.plot(xs, [p[3] for p in data.projection], marker="dot", color=self._color("secondary"))
            plt.plot(xs, [p[1] for p in data.projection], marker="braille", color=self._color("warning"),
                     label="projected")
        if used_x:
            plt.plot(used_x, used_y, marker="braille", color=self._color("primary"), label="used")
        if data.cap:
            plt.hline(data.cap, self._color("error"))
        plt.vline(to_x(data.now_ms), self._color("accent"))
        end_x = to_x(data.end_ms)
        plt.xlim(0, end_x)
        plt.ylim(0, top * 1.08)
        ticks, labels = self._day_ticks(data)
        plt.xticks(ticks, labels)
        step = _nice_step(top)
        y_ticks = [step * i for i in range(int(top * 1.08 // step) + 1)]
        plt.yticks(y_ticks, [f"{y:.0f}%" if data.cap else fmt.money(y) for y in y_ticks])
        plt.xaxes(True, False)
        plt.yaxes(True, False)
        self.refresh()

    @staticmethod
    def _day_ticks(data: BurnData) -> tuple[list[float], list[str]]:
        """A tick at each local midnight labelled with the weekday; the last tick is the reset."""
        tz = data.tz
        span_h = (data.end_ms - data.start_ms) / HOUR_MS
        ticks: list[float] = []
        labels: list[str] = []
        start = datetime.fromtimestamp(data.start_ms / 1000, tz)
        if span_h <= 24:
            step = max(int(span_h // 5), 1)
            for h in range(0, int(span_h) + 1, step):
                ticks.append(float(h))
                labels.append((start + timedelta(hours=h)).strftime("%H:%M"))
        else:
            day = start.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
            # No day tick crowding the reset label at the right edge.
            while (day.timestamp() * 1000) < data.end_ms - HOUR_MS * 12:
                ticks.append((day.timestamp() * 1000 - data.start_ms) / HOUR_MS)
                labels.append(day.strftime("%a"))
                day += timedelta(days=1)
            ticks.insert(0, 0.0)
            labels.insert(0, start.strftime("%a %H:%M"))
        ticks.append(span_h)
        labels.append(data.end_label)
        return ticks, labels


def _nice_step(top: float) -> float:
    """A round tick step giving about four ticks up to `top`."""
    raw = top / 4 or 1.0
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return m * magnitude
    return 10 * magnitude
