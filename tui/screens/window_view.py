"""How the overview draws a window's status: whether it resets, and what its burn-up chart and sparkline plot."""

from __future__ import annotations

from ...widgets.burnup import BurnData


def has_reset(status, now_ms: int) -> bool:
    """False for a rolling 7-day guess (it never resets) and for a 5-hour window that is not open yet."""
    if status is None or status.window_source == "guess":
        return False
    return not (status.window_source == "activity" and status.start_ms >= now_ms)


def burn_data(status, now_ms: int, tz) -> BurnData | None:
    """A window status from ingest.limits as the chart and the sparkline draw it."""
    if status is None or status.start_ms is None or status.end_ms is None:
        return None
    forecast = status.forecast
    history = list(getattr(forecast, "history", None) or [])
    projection = list(getattr(forecast, "projection", None) or [])
    capped = getattr(forecast, "unit", "%") == "%" and status.used_pct is not None
    end_ms = status.end_ms if has_reset(status, now_ms) else max(status.end_ms, now_ms)
    return BurnData(status.start_ms, end_ms, now_ms, history, projection, 100.0 if capped else None,
                    getattr(forecast, "summary", "") or "", tz, "reset" if has_reset(status, now_ms) else "now")
