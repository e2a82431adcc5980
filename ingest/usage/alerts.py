"""Alerts: cap thresholds and usage spikes, each fired once per window and level, kept in the store, optionally
sent to notify-send; and the ok / warning / critical level that `tokentop status` exits with."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta, tzinfo
from zoneinfo import ZoneInfo

from ..clock import local_day, next_midnight_ms
from ..clock import now_ms as current_ms
from ..text import dollars, token_count
from . import spikes
from .balance import Balance, balance_message, compute_balance
from .limits import compute_status
from .windows import WindowName, WindowStatus, dedup_end, threshold_message

_READ = object()
"""check_alerts' default for `balance`: read it here."""

SPIKE_LEVEL = 200
"""The level a spike alert is recorded at (the rule's ratio in percent), so it shares the one-per-window-and-level
rule."""
FORECAST_LEVEL = 150
"""The level a forecast alert ("on pace to hit the cap Thu 14:00 ±3 h") is recorded at: once per window."""
CRITICAL_PCT = 95.0
"""At or above this (or at 100%, or at block_at) the status is critical (exit 20)."""

OK, WARNING, CRITICAL = 0, 10, 20


def alert_kind(window: str, level: int) -> str:
    """"spike" (a day's), "forecast" (on pace to hit the cap) or "threshold" (a % crossed), from how it is stored."""
    if window == "day":
        return "spike"
    return "forecast" if level == FORECAST_LEVEL else "threshold"


@dataclass
class Alert:
    """One fired alert. `window` is a window name ("week", "five_hour", "month", …) or "day" for a spike."""

    window: str
    level: int
    window_end_ms: int
    used_pct: float | None
    source: str | None
    message: str
    fired_ms: int
    id: int | None = None

    @property
    def kind(self) -> str:
        return alert_kind(self.window, self.level)

    @property
    def key(self) -> tuple[str, int, str]:
        """What one alert on a list stands for: per window and reset, the highest level of each kind (a forecast
        alert, level 150, never hides a threshold's)."""
        return self.window, self.window_end_ms, self.kind

    @property
    def severity(self) -> str:
        """"critical" (≥ 95% or exhausted), "warning" (≥ 80% or a spike), else "info"."""
        if self.kind in ("spike", "forecast"):
            return "warning"
        if self.level >= CRITICAL_PCT:
            return "critical"
        return "warning" if self.level >= 80 else "info"

    def as_dict(self) -> dict:
        return {"window": self.window, "level": self.level, "window_end_ms": self.window_end_ms,
                "used_pct": self.used_pct, "source": self.source, "message": self.message,
                "fired_ms": self.fired_ms, "kind": self.kind, "severity": self.severity}


# -- spikes -----------------------------------------------------------------------------------------


def spike_alert(store, zone: tzinfo, now: int) -> Alert | None:
    """Today so far a spike by the rule the daily strip flags with (`spikes`: ≥ 2× the median of the active days
    among the 14 before it), as an unrecorded Alert, else None."""
    today = local_day(now, zone)
    days = spikes.read_days(store, zone, today - timedelta(days=spikes.SPIKE_DAYS), today, until_ms=now)
    verdict = spikes.judge(days[-1], days[:-1])
    if not verdict.spike or not verdict.baseline:
        return None
    if verdict.measure == "cost":
        today_text, usual = f"{dollars(verdict.value)} est", dollars(verdict.baseline)
    else:  # nothing priced: the strip shows tokens, and so does the alert
        today_text, usual = token_count(verdict.value), token_count(verdict.baseline)
    message = (f"Usage spike: {today_text} today, {verdict.value / verdict.baseline:.1f}× your median active day "
               f"of the last {spikes.SPIKE_DAYS} ({usual})")
    return Alert("day", SPIKE_LEVEL, next_midnight_ms(now, zone), None, "local", message, now)


# -- firing -----------------------------------------------------------------------------------------


def forecast_alert(status: WindowStatus, end: int, now: int) -> Alert | None:
    """"On pace to hit the cap …" before any threshold is crossed, when the user's own profile (not a bare pace)
    puts the cap before the reset; once per window."""
    f = status.forecast
    if f is None or f.method != "profile" or f.eta_ms is None or status.used_pct is None or status.used_pct >= 100:
        return None
    message = f"{status.name.replace('_', ' ')}: {f.summary.split(' · ')[0]}"
    return Alert(status.name, FORECAST_LEVEL, end, round(status.used_pct, 2), status.source, message, now)


def _record(store, alert: Alert) -> bool:
    cur = store.db.execute(
        "INSERT OR IGNORE INTO alerts(fired_ms, window, level, window_end_ms, used_pct, source, message) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (alert.fired_ms, alert.window, alert.level, alert.window_end_ms, alert.used_pct, alert.source, alert.message))
    if cur.rowcount:
        alert.id = cur.lastrowid
        return True
    return False


def check_alerts(store, settings, now_ms: int | None = None, statuses: Mapping[WindowName, WindowStatus] | None = None,
                 notify: bool = True, balance: Balance | None | object = _READ) -> list[Alert]:
    """Record every threshold crossed and any spike; return the newly fired ones (per window only the highest
    new level: jumping from 50% to 85% says "80%" once, and 60% is recorded as passed). Delivers them to
    notify-send when `settings.notify_send` and `notify`; the TUI shows its own toasts."""
    now = current_ms() if now_ms is None else now_ms
    zone = settings.zone()
    if statuses is None:
        statuses = compute_status(store, settings, now, detail={"week"})
    thresholds = sorted(set(settings.alert_thresholds))
    fired: list[Alert] = []
    with store.transaction():
        for status in statuses.values():
            if status.used_pct is None:
                continue
            end = dedup_end(status, zone, now)
            newest = None
            for level in thresholds:
                if status.used_pct < level:
                    break
                alert = Alert(status.name, level, end, round(status.used_pct, 2), status.source,
                              threshold_message(status, zone, now), now)
                if _record(store, alert):
                    newest = alert
            if newest is not None:
                fired.append(newest)
            ahead = forecast_alert(status, end, now)
            if ahead is not None and _record(store, ahead):
                fired.append(ahead)
        if balance is _READ:  # (a caller that read it already passes it, None included)
            balance = compute_balance(store, settings, now)
        if isinstance(balance, Balance):
            newest = None
            for level in thresholds:
                if balance.alert_pct < level:
                    break
                alert = Alert("balance", level, balance.key_ms, round(balance.used_pct, 2), "estimate",
                              balance_message(balance, zone), now)
                if _record(store, alert):
                    newest = alert
            if newest is not None:
                fired.append(newest)
        spike = spike_alert(store, zone, now)
        if spike is not None and _record(store, spike):
            fired.append(spike)
    if notify and fired and settings.notify_send:
        notify_desktop(fired)
    return fired


def still_true(alert: Alert, statuses: Mapping[str, WindowStatus], zone: tzinfo, now: int,
               balance: Balance | None = None) -> bool:
    """Whether an alert still describes what the screen shows. A threshold alert: its window is the one now in
    force (the same reset) and its % is still at the alert's level. An alert fired against the user's own cap on a
    guessed or configured week is resolved once Claude's official figure replaces that window or reads lower; so is one
    whose cap the user raised since. A balance alert, while it is about the balance configured now and still holds.
    A forecast alert: `_forecast_holds`. Spikes, and windows not in `statuses`, are kept as recorded."""
    if alert.window == "balance":
        return balance is not None and balance.key_ms == alert.window_end_ms and balance.alert_pct >= alert.level
    status = statuses.get(alert.window)
    if alert.kind == "forecast" and status is not None:
        return _forecast_holds(alert, status, zone, now)
    if alert.kind != "threshold" or status is None:
        return True
    if status.used_pct is None or dedup_end(status, zone, now) != alert.window_end_ms:
        return False
    return status.used_pct >= alert.level


def _forecast_holds(alert: Alert, status: WindowStatus, zone: tzinfo, now: int) -> bool:
    """A forecast alert is about the window and the figure it was made on: resolved once the window resets, once
    its % comes from elsewhere (Claude's official figure replacing your own cap's), and, where the status carries a
    forecast, once that no longer reaches the cap before the reset."""
    claude = ("official", "calibrated")  # Claude's % (an aging official figure turns calibrated: the same basis)
    if dedup_end(status, zone, now) != alert.window_end_ms or (status.source in claude) != (alert.source in claude):
        return False
    f = status.forecast
    return f is None or (f.eta_ms is not None and f.eta_ms < alert.window_end_ms)


def active_alerts(store, now_ms: int | None = None, every_level: bool = False,
                  statuses: Mapping[str, WindowStatus] | None = None, zone: tzinfo | None = None,
                  balance: Balance | None = None) -> list[Alert]:
    """Alerts whose window has not reset yet, newest first; per window only its highest level unless
    `every_level` (the levels passed on the way are recorded too, so they never fire late). Given the current
    `statuses` (their `zone`, and the prepaid `balance` if any), only those `still_true`: the rest are resolved."""
    now = current_ms() if now_ms is None else now_ms
    rows = store.db.execute("SELECT window, level, window_end_ms, used_pct, source, message, fired_ms, id FROM alerts "
                            "WHERE window_end_ms > ? ORDER BY level DESC, fired_ms DESC", (now,))
    alerts, seen = [], set()
    for row in rows:
        alert = Alert(*row)
        key = alert.key
        if statuses is not None and not still_true(alert, statuses, zone or ZoneInfo("UTC"), now, balance):
            continue
        if every_level or key not in seen:
            alerts.append(alert)
            seen.add(key)
    return sorted(alerts, key=lambda a: (-a.fired_ms, -a.level))


def last_alert_id(store, before_ms: int | None = None) -> int:
    """The id of the newest recorded alert (of those fired before `before_ms`, when given); 0 when none."""
    sql = "SELECT COALESCE(MAX(id), 0) FROM alerts"
    args: tuple[int, ...] = ()
    if before_ms is not None:
        sql, args = sql + " WHERE fired_ms < ?", (before_ms,)
    return store.db.execute(sql, args).fetchone()[0]


def alerts_after(store, after_id: int) -> list[Alert]:
    """Alerts recorded (by whichever tokentop process is the writer) with an id above `after_id`, oldest first;
    per window only its highest new level, as `check_alerts` returned them to the process that fired them."""
    rows = store.db.execute("SELECT window, level, window_end_ms, used_pct, source, message, fired_ms, id FROM alerts "
                            "WHERE id > ? ORDER BY id", (after_id,))
    highest: dict[tuple[str, int, str], Alert] = {}
    for row in rows:
        alert = Alert(*row)
        key = alert.key
        if key not in highest or alert.level > highest[key].level:
            highest[key] = alert
    return sorted(highest.values(), key=lambda a: a.id or 0)  # read from the table: never None


def notify_desktop(alerts: list[Alert]) -> None:
    """One notify-send per alert when the binary exists; any failure is ignored (a notification is a nicety)."""
    binary = shutil.which("notify-send")
    if binary is None:
        return
    for alert in alerts:
        urgency = "critical" if alert.severity == "critical" else "normal"
        try:
            subprocess.run([binary, "--app-name=tokentop", "-u", urgency, "tokentop", alert.message],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            return


# -- the overall level ------------------------------------------------------------------------------


def warning_pct(settings) -> float:
    """The threshold two below the highest (default thresholds 60/80/95/100 → 80), at most CRITICAL_PCT."""
    thresholds = sorted(set(settings.alert_thresholds)) or [80]
    level = thresholds[-3] if len(thresholds) >= 3 else thresholds[0]
    return min(float(level), CRITICAL_PCT)


def status_level(statuses: Mapping[str, WindowStatus], settings, alerts: Sequence[Alert] = ()) -> int:
    """0 ok; 10 warning (a window ≥ warning_pct, a spike today, or any active alert of warning severity); 20
    critical (≥ 95%, exhausted, ≥ block_at, or an active critical alert). Never "ok" beside a listed warning."""
    level = OK
    warn = warning_pct(settings)
    for status in statuses.values():
        pct = status.used_pct
        if pct is None:
            continue
        if pct >= CRITICAL_PCT or pct >= 100 or (settings.block_at and pct >= settings.block_at):
            return CRITICAL
        if pct >= warn:
            level = WARNING
    if any(a.severity == "critical" for a in alerts):
        return CRITICAL
    if any(a.severity == "warning" for a in alerts):
        level = max(level, WARNING)
    return level


__all__ = [
    "CRITICAL",
    "OK",
    "WARNING",
    "Alert",
    "active_alerts",
    "alerts_after",
    "check_alerts",
    "forecast_alert",
    "last_alert_id",
    "notify_desktop",
    "spike_alert",
    "status_level",
    "still_true",
    "threshold_message",
    "warning_pct",
]
