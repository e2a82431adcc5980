"""One reading of the store for monitoring systems: the counters (tokens, cost, requests per machine, source and
model, rolled-up history included) and the gauges (official limits, forecasts, budget). Prometheus and OTLP both
export exactly this."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

KINDS = (("input", "input_tokens"), ("output", "output_tokens"),
         ("cache_creation", "cache_write_5m + cache_write_1h"), ("cache_read", "cache_read"))
"""The `kind` label, as Claude Code's own telemetry names token types, and the columns that sum to it."""
_WINDOW = re.compile(r"^(five_hour|seven_day(_[a-z0-9]{1,24})?)$")
"""Official windows as Claude Code names them; anything else stays out of the labels (low cardinality)."""
_STATUS_WINDOW = {"week": "seven_day", "five_hour": "five_hour", "week_opus": "seven_day_opus",
                  "week_sonnet": "seven_day_sonnet", "week_fable": "seven_day_fable"}

_SUMS_SQL = ("SELECT machine, source, model, SUM(input_tokens), SUM(output_tokens), SUM(cache_write_5m + "
             "cache_write_1h), SUM(cache_read), SUM(cost_usd), SUM(requests) FROM ({usage}) GROUP BY 1, 2, 3")


@dataclass
class Snapshot:
    tokens: dict[tuple[str, str, str, str], int] = field(default_factory=dict)
    """(machine, source, model, kind) → tokens."""
    cost: dict[tuple[str, str, str], float] = field(default_factory=dict)
    requests: dict[tuple[str, str, str], int] = field(default_factory=dict)
    used_pct: dict[str, float] = field(default_factory=dict)
    """Official window → used %, newest sample whose window has not reset."""
    resets_at: dict[str, float] = field(default_factory=dict)
    """Official window → reset time, Unix seconds."""
    seconds_to_cap: dict[str, float] = field(default_factory=dict)
    """Window → seconds until the forecast reaches 100% (only where it does before the reset)."""
    budget_usd: float | None = None
    month_cost_usd: float = 0.0
    machines: int = 0


def read(store, settings, now_ms: int) -> Snapshot:
    from ..usage.limits import compute_status
    from ..usage.samples import load_samples
    from ..usage.scope import machine_usage_sql

    snap = Snapshot()
    sums = store.db.execute(_SUMS_SQL.format(usage=machine_usage_sql(store)))
    for machine, source, model, i, o, w, r, cost, n in sums:
        for (kind, _), value in zip(KINDS, (i, o, w, r)):
            snap.tokens[(machine, source, model, kind)] = value or 0
        snap.cost[(machine, source, model)] = cost or 0.0
        snap.requests[(machine, source, model)] = n or 0
    snap.machines = len({k[0] for k in snap.requests})
    for window, samples in load_samples(store, now_ms, now_ms).items():
        if not _WINDOW.match(window):
            continue
        newest = max(samples, key=lambda s: (s.taken_ms, s.used_pct))
        snap.used_pct[window] = float(newest.used_pct)
        snap.resets_at[window] = newest.resets_at_ms / 1000
    for name, status in compute_status(store, settings, now_ms).items():
        if name == "month":
            snap.month_cost_usd = status.used_cost
            snap.budget_usd = status.cap_usd or None
            continue
        f = status.forecast
        label = _STATUS_WINDOW.get(name)
        if label and f is not None and f.eta_ms is not None and f.eta_ms >= now_ms:
            snap.seconds_to_cap[label] = (f.eta_ms - now_ms) / 1000
    return snap


class Monotonic:
    """Counters that never go down while this process exports them. Re-pricing, or a response re-attributed to
    another machine (the tie rule across a synced session folder), can lower a stored sum; a counter that dropped
    would read as a reset to Prometheus' rate(). The last exported value is held until the store passes it."""

    def __init__(self) -> None:
        self._high: dict[tuple, float] = {}
        self._lock = threading.Lock()

    def __call__(self, metric: str, values: dict[tuple, float]) -> dict[tuple, float]:
        with self._lock:
            out = {}
            for key, value in values.items():
                k = (metric, *key)
                out[key] = self._high[k] = max(value, self._high.get(k, value))
            for k, value in self._high.items():  # a series that vanished keeps its last value
                if k[0] == metric and k[1:] not in out:
                    out[k[1:]] = value
            return out
