"""Writing the state file the statusline's and the hook's fast path read (`quick.py` describes the file).

Whoever has just read the store writes it: the live service after each commit (with the statuses it computed for
its alerts anyway), and the full path of `statusline` / `hook` after answering. A state is written only if no
commit landed while it was computed (the store's fingerprint before and after agree)."""

from __future__ import annotations

import os
from pathlib import Path

from ..clock import next_midnight_ms
from . import hook, quick
from .cached_usage import STAMP_KEY
from .statusline import MODEL_FIELDS, store_figures


def latest_samples(store) -> dict[str, list]:
    """The newest stored official sample of each window as [used %, reset ms, seen ms] (what record_samples
    compares a new reading with)."""
    out: dict[str, list] = {}
    for key in quick.OFFICIAL_WINDOWS:
        row = store.db.execute("SELECT used_pct, resets_at_ms, seen_ms FROM official_samples WHERE window = ? "
                               "ORDER BY taken_ms DESC, id DESC LIMIT 1", (key,)).fetchone()
        if row is not None:
            out[key] = list(row)
    return out


def _figure(value):
    if value is None or isinstance(value, (int, float)):
        return value
    return {attr: getattr(value, attr) for attr in quick.FIGURE_ATTRS}


def compute(store, settings, db_path, config_path, now: int, statuses=None) -> dict:
    """The state as of `now` (`statuses`: compute_status's answer, with or without the week's forecast, if the caller
    has one)."""
    zone = settings.zone()
    fmt = quick.usable_format(settings.statusline_format)
    wanted = quick.format_fields(fmt)
    eta = "week_eta" in wanted
    # Every figure the default format and the per-model fields read; the ETA and the balance when the format
    # shows them (they cost a forecast, a few scans).
    names = {"week", "five_hour", "today_cost_usd", "today_unpriced", *MODEL_FIELDS.values()}
    names |= ({"week_eta_ms"} if eta else set()) | ({"balance_left_usd"} if "balance_left" in wanted else set())
    figures = store_figures(store, settings, now, names, statuses)
    valid_until = min(now + quick.MAX_AGE_MS, next_midnight_ms(now, zone))
    for name in ("week", "five_hour", *MODEL_FIELDS.values()):
        status = figures.get(name)
        if status is not None and status.end_ms > now:
            valid_until = min(valid_until, status.end_ms)
    state = {
        "v": quick.STATE_VERSION,
        "db": os.path.abspath(os.fspath(db_path)),
        "config": quick.file_fingerprint(os.path.abspath(os.fspath(config_path))),
        "zone": zone.key,
        "zone_inputs": None if settings.timezone else quick.zone_inputs(),
        "computed_ms": now,
        "valid_until_ms": valid_until,
        "format": fmt,
        "eta": eta,
        "line": {name: _figure(value) for name, value in figures.items()},
        "samples": latest_samples(store),
        "claude_json": store.meta(STAMP_KEY),  # what the store last read of ~/.claude.json (quick.py compares)
    }
    quiet = hook.quiet_until(store, settings, now, statuses)
    if quiet is not None and quiet > now:
        state["hook"] = {"quiet_until_ms": quiet}
    return state


def write(db_path, state: dict) -> None:
    """Replace the state file at once (readers see the old one or the new one), mode 0600."""
    import json

    path = quick.state_path(os.path.abspath(os.fspath(db_path)))
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(state, f, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise


def publish(store, settings, db_path, config_path, now: int, statuses=None) -> bool:
    """Compute and write the state unless a commit landed meanwhile; True when written."""
    before = quick.store_fingerprint(db_path)
    state = compute(store, settings, db_path, config_path, now, statuses)
    after = quick.store_fingerprint(db_path)
    if before != after:
        return False
    state["store"] = after
    write(db_path, state)
    return True


def refresh(settings, db_path: Path, config_path, now: int, budget_ms: int = 500) -> bool:
    """The full command's last step: open the store, write its state, close it; the fingerprint is taken after
    the close (closing the last connection checkpoints the WAL away). Within `budget_ms`, else nothing."""
    from ..store.store import Store
    from .bounded import LATE, Budget, within

    if not db_path.exists():
        return False

    def work():
        with Store(db_path, readonly=True, busy_timeout_ms=budget_ms, machine=settings.machine()) as store:
            state = compute(store, settings, db_path, config_path, now)
        state["store"] = quick.store_fingerprint(db_path)
        return state

    state = within(Budget(budget_ms), work)
    if state is LATE:
        return False
    write(db_path, state)  # type: ignore[arg-type]
    return True


FORECAST_EVERY_MS = 60_000
"""How often the live service's post-commit step computes the week's forecast for the forecast alert."""
_forecast_checked = [0]
"""When this process last did (the live service is one long-running process per store)."""
_past: dict = {}
"""The service's `series.PastCache`s, one for the steps with the forecast (eight weeks of history) and one for
those without (this week's): kept between steps, each checks itself against the store's slot sums, so a write to
the past by anyone is read again."""


def alerts_and_state(store, settings, db_path, config_path) -> list:
    """The live service's post-commit step: fire the alerts the commit crossed (usage.alerts.check_alerts) and,
    from the same statuses, write the state file (`db_path` None: no file; `config_path` None: the default
    config). A failure to write the state is logged, never raised: it only saves the commands time."""
    from ..clock import now_ms
    from ..usage.alerts import check_alerts
    from ..usage.limits import compute_status

    now = now_ms()
    # The week's forecast (for its alert: "on pace to hit the cap …") at most once a minute: the step itself runs up
    # to once a second under a live session, and a forecast alert fires once per window, so a minute late is fine.
    forecast = now - _forecast_checked[0] >= FORECAST_EVERY_MS
    if forecast:
        _forecast_checked[0] = now
    if forecast not in _past:
        from ..usage.series import PastCache
        _past[forecast] = PastCache()
    statuses = compute_status(store, settings, now, detail={"week"} if forecast else False, past=_past[forecast])
    fired = check_alerts(store, settings, now, statuses=statuses)
    if db_path is not None:
        try:
            from ..locations import config_path as default_config
            publish(store, settings, db_path, config_path or default_config(), now, statuses)
        except Exception as exc:  # noqa: BLE001
            import logging
            logging.getLogger(__name__).info("writing the statusline state failed: %s", exc)
    return fired
