"""The limits commands: `statusline` and `hook` (run by Claude Code), `status`, `install-hooks`, `uninstall-hooks`.

`statusline` and `hook` import only what they need, after reading stdin, and never let an error escape: a
statusline always prints a line, a hook fails open (exit 0, no output)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from ...ingest.clock import now_ms as _now_ms
from .common import explained


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("statusline", help="Claude Code statusLine command: record the official limits, print one line",
                       description="Reads Claude Code's statusline JSON on stdin, records its rate_limits samples in "
                                   "the store and prints one line (format: statusline_format in the config).")
    p.add_argument("--then", metavar="COMMAND",
                   help="your previous statusline command: run with the same stdin; ours is printed first, joined "
                        "to its first line with ' | ', its other lines below")
    p.set_defaults(handler=cmd_statusline)

    p = sub.add_parser("hook", help="Claude Code hook (UserPromptSubmit, PreToolUse): warn near a cap, block at "
                                    "block_at",
                       description="Reads the hook JSON on stdin and the store (never transcripts). Prints a "
                                   "systemMessage when a window crosses an alert threshold (once per level and "
                                   "window, at most every 10 minutes), or denies at block_at. Any error: exit 0, "
                                   "no output.")
    p.set_defaults(handler=cmd_hook)

    p = sub.add_parser("status", help="caps, forecasts, budget and alerts at a glance; exit 0 ok, 10 warning, "
                                      "20 critical",
                       description="Exit code: 20 when a window is at >= 95% (or exhausted, or at block_at) or an "
                                   "active alert is critical, 10 when one is at >= the third-highest alert threshold "
                                   "(80% by default) or an active alert is a warning (a usage spike, a prepaid "
                                   "balance 80% used or running out within 3 days), else 0.")
    p.add_argument("--json", action="store_true", help="JSON for scripts")
    p.add_argument("--no-ingest", action="store_true", help="use the store as it is, without reading logs first")
    p.add_argument("--machine", metavar="NAME",
                   help="each window's local usage from this machine only (the official %% is the account's)")
    p.set_defaults(handler=cmd_status)

    for name, action, text in (
            ("install-hooks", "install", "add tokentop's statusLine and hooks to Claude Code"),
            ("uninstall-hooks", "uninstall", "remove tokentop's statusLine and hooks from Claude Code")):
        p = sub.add_parser(name, help=text, description=text + " (~/.claude/settings.json, backed up first).")
        p.add_argument("--settings", metavar="PATH", help="settings file (default: ~/.claude/settings.json)")
        p.add_argument("--dry-run", action="store_true", help="print the change as a unified diff; write nothing")
        p.set_defaults(handler=cmd_settings, action=action)


def _read_stdin(limit: int = 1 << 20) -> bytes:
    """At most `limit` bytes (more is not a statusline or hook payload); nothing from a terminal."""
    stream = sys.stdin
    if stream is None or stream.isatty():
        return b""
    return stream.buffer.read(limit)


def _quiet_context(args):
    """Settings and database path for the Claude Code commands: a bad config means defaults, not an error."""
    from pathlib import Path

    from ...ingest.config import Settings, load_settings
    try:
        settings = load_settings(Path(args.config).expanduser() if args.config else None)
    except Exception:  # noqa: BLE001 - the statusline must still print; `tokentop config` explains the problem
        settings = Settings()
    return settings, (Path(args.db).expanduser() if args.db else settings.db_file())


# -- statusline -------------------------------------------------------------------------------------

def cmd_statusline(args) -> int:
    started = time.monotonic()  # the store's budget counts from here, not from whenever the store is opened
    line = "tokentop: –"
    budget = None
    try:
        stdin = _read_stdin()
        from ...ingest.claude_code import statusline
        from ...ingest.claude_code.bounded import Budget
        wrapped = statusline.Wrapped(args.then, stdin) if args.then else None
        settings, db_path = _quiet_context(args)
        budget = Budget(statusline.BUSY_TIMEOUT_MS, started)
        line = statusline.render(stdin, settings, db_path, _now_ms(), budget)
        if wrapped is not None:
            line = statusline.combine(line, wrapped.lines())
    except Exception:  # noqa: BLE001 - never fail loudly inside Claude Code's status bar
        budget = None
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except OSError:
        pass
    _refresh_state(args, budget)
    return 0


def _refresh_state(args, budget) -> None:
    """After the full path answered from a store that was free: write the state the next runs answer from
    (`ingest/claude_code/quick.py`), in a process of its own with no output, so Claude Code — which waits for the
    command — does not wait for this too. Never when the store was busy: the command has waited enough."""
    if budget is None or budget.cancelled.is_set():
        return
    try:
        import subprocess
        options = [*(["--db", args.db] if args.db else []), *(["--config", args.config] if args.config else [])]
        subprocess.Popen([sys.executable, "-c", REFRESH, *options], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    except Exception:  # noqa: BLE001 - the state only saves time; the next full run tries again
        pass


REFRESH = "import sys; from tokentop.tui.cli.limits import refresh_state; refresh_state(sys.argv[1:])"


def refresh_state(argv: list[str]) -> None:
    """`_refresh_state`'s process: `[--db PATH] [--config PATH]`, as the command had them."""
    from pathlib import Path

    from ...ingest import locations
    from ...ingest.claude_code import state
    args = argparse.Namespace(db=None, config=None)
    for flag, value in zip(argv[::2], argv[1::2]):
        setattr(args, flag.lstrip("-"), value)
    settings, db_path = _quiet_context(args)
    config = Path(args.config).expanduser() if args.config else locations.config_path()
    try:
        state.refresh(settings, db_path, config, _now_ms(), budget_ms=5000)
    except Exception:  # noqa: BLE001
        pass


# -- hook -------------------------------------------------------------------------------------------

def cmd_hook(args) -> int:
    started = time.monotonic()  # the store's budget counts from here, not from whenever the store is opened
    try:
        stdin = _read_stdin()
        from ...ingest.claude_code import hook
        from ...ingest.claude_code.bounded import Budget
        settings, db_path = _quiet_context(args)
        budget = Budget(hook.BUSY_TIMEOUT_MS, started)
        answer = hook.run(stdin, settings, db_path, _now_ms(), budget)
        if answer:
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    except BaseException:  # noqa: BLE001 - fail open: Claude Code goes on as if there were no hook
        return 0
    _refresh_state(args, budget)
    return 0


# -- status -----------------------------------------------------------------------------------------

_NAMES = {"week": "week", "five_hour": "5-hour", "week_opus": "week Opus", "week_sonnet": "week Sonnet",
          "week_fable": "week Fable", "month": "month"}
_LEVEL_NAMES = {0: "ok", 10: "warning", 20: "critical"}


def status_json(statuses, new_alerts, active, level, zone, now, machine: str | None = None,
                next_step: list[str] | None = None, balance=None) -> dict:
    from ...ingest.text import iso_local
    from ...ingest.usage.balance import balance_json

    def window(s):
        f = s.forecast
        return {
            "name": s.name, "start": iso_local(s.start_ms, zone), "resets_at": iso_local(s.end_ms, zone),
            "start_ms": s.start_ms, "resets_at_ms": s.end_ms, "source": s.source, "window_source": s.window_source,
            "used_pct": None if s.used_pct is None else round(s.used_pct, 2), "used_tokens": s.used_tokens,
            "used_cost_usd": round(s.used_cost, 6), "unpriced_requests": s.unpriced_requests,
            "cost_is_lower_bound": s.unpriced_requests > 0, "claude_block": s.claude_block, "cap_tokens": s.cap_tokens,
            "cap_usd": None if s.cap_usd is None else round(s.cap_usd, 4),
            "official_pct": s.official_pct, "official_at": iso_local(s.official_at_ms, zone), "samples": s.samples,
            "official_age_s": None if s.official_at_ms is None else max(0, now - s.official_at_ms) // 1000,
            "calibration": None if s.calibration is None else {
                "proxy": s.calibration.proxy, "k": s.calibration.k, "rmse": round(s.calibration.rmse, 3),
                "samples": s.calibration.samples},
            "forecast": None if f is None else {
                "summary": f.summary, "unit": f.unit, "rate_pct_per_hour": f.rate_pct_per_hour,
                "eta": iso_local(f.eta_ms, zone), "eta_ms": f.eta_ms, "pct_at_reset": f.pct_at_reset,
                "low_pct_at_reset": f.low_pct_at_reset, "high_pct_at_reset": f.high_pct_at_reset,
                "projected_total_usd": f.projected_total, "duty": round(f.duty, 4),
                "method": f.method, "band_level": f.band_level, "eta_early_ms": f.eta_early_ms,
                "eta_late_ms": f.eta_late_ms, "profile_weeks": f.profile_weeks,
                "hit_chance": None if f.hit_chance is None else round(f.hit_chance, 3),
                "eta_if_hit_ms": f.eta_if_hit_ms},
            "top_sessions": [{"session_id": sid, "share": round(share, 4)} for sid, share in s.top_sessions],
        }

    return {
        "generated_at": iso_local(now, zone), "tz": str(zone), "estimate": True,
        "level": _LEVEL_NAMES[level], "exit_code": level, "machine": machine,
        "windows": {name: window(s) for name, s in statuses.items()},
        "alerts": [a.as_dict() for a in active],
        "new_alerts": [a.as_dict() for a in new_alerts],
        "balance": balance_json(balance, zone),
        "next_step": " ".join(line.strip() for line in next_step or []).removeprefix("next step: ") or None,
    }


def source_text(status, now: int) -> str:
    """"official · 1h old", "calibrated (official 41% · 1h old)", "configured": where a window's % comes from."""
    from ...ingest.text import official_text
    official = official_text(status, now)
    if not official:
        return status.source
    return official if status.source == "official" else f"{status.source} ({official})"


def status_text(statuses, active, level, zone, now, next_step: list[str] | None = None, balance=None) -> str:
    from ...ingest.text import UNKNOWN, clock_time, dollars, pct_text, reset_text, span
    rows = []
    for s in statuses.values():
        pct = pct_text(s)
        source = ("budget" if s.cap_usd else "no budget") if s.name == "month" else source_text(s, now)
        reset = reset_text(s, zone, now)
        if reset != UNKNOWN:
            reset = f"resets {reset} (in {span(s.end_ms - now)})"
        else:
            reset = "rolling 7 days" if s.window_source == "guess" else "no window running"
        money = dollars(s.used_cost, s.unpriced_requests) + (
            f" of {dollars(s.cap_usd)}" if s.name == "month" and s.cap_usd else "") + " est"
        rows.append((_NAMES.get(s.name, s.name), pct, source, reset, money, s.forecast.summary if s.forecast else "",
                     s.top_sessions))
    widths = [max(len(r[i]) for r in rows) for i in range(5)] if rows else []
    out = [f"tokentop status · {zone} · costs are estimates at API list prices"]
    for row in rows:
        out.append("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths)) + "  " + row[5])
        if row[6]:
            moved = " · ".join(f"{sid[:8]} {share:.0%}" for sid, share in row[6][:3])
            out.append(" " * (widths[0] + 2) + "moved by: " + moved)
    if balance is not None:
        from ...ingest.clock import local_time
        from ...ingest.text import dollars as usd
        from ...ingest.usage.balance import runway_text
        when = local_time(balance.as_of_ms, zone).strftime("%b %d")
        out.append(f"balance ~{balance.used_pct:.0f}% used · ≈{usd(balance.left_usd)} of {usd(balance.start_usd)} "
                   f"left since {when} (est) · {runway_text(balance, zone)}")
    if active:
        out.append("alerts:")
        for a in active:
            mark = "!" if a.severity != "info" else "·"
            out.append(f"  {mark} {a.message}  (since {clock_time(a.fired_ms, zone, now)})")
    out += next_step or []
    out.append(f"status: {_LEVEL_NAMES[level]}")
    return "\n".join(out)


@explained  # a store failure half-way is one line, not a traceback
def cmd_status(args) -> int:
    from ...ingest.safe_text import clean_tree, for_terminal
    from .common import context, open_store, run_ingest
    ctx = context(args)
    zone = ctx.settings.zone()
    with open_store(ctx) as store:
        if not args.no_ingest:
            run_ingest(ctx, store, quiet=True)
        now = _now_ms()
        if args.machine is not None:
            from .data import check_machine
            check_machine(store, args.machine)
        statuses, fired, active, level, balance = evaluate(ctx, store, now, machine=args.machine)
    from ...ingest.claude_code.settings import statusline_installed
    from ...ingest.usage.advice import needs_step, next_step_lines
    step = next_step_lines(statuses, statusline_installed()) if needs_step(statuses) else []
    if args.json:
        print(json.dumps(clean_tree(status_json(statuses, fired, active, level, zone, now, args.machine, step,
                                                balance)), indent=2))
    else:
        print(for_terminal(status_text(statuses, active, level, zone, now, step, balance)))
    return level


def evaluate(ctx, store, now: int, machine: str | None = None):
    """(statuses, newly fired alerts, active alerts, exit level, balance): what `status` and the status file
    report. `machine`: the windows' local usage from that machine only (alerts are the account's and fire on all).
    The balance is read once for all three (it scans the API-billed rows since its date)."""
    from ...ingest.usage.alerts import active_alerts, check_alerts, status_level
    from ...ingest.usage.balance import compute_balance
    from ...ingest.usage.limits import compute_status
    statuses = compute_status(store, ctx.settings, now)
    balance = compute_balance(store, ctx.settings, now)
    fired = check_alerts(store, ctx.settings, now, statuses=statuses, balance=balance)
    active = active_alerts(store, now, statuses=statuses, zone=ctx.settings.zone(), balance=balance)
    if machine is not None:
        statuses = machine_view(store, statuses, machine)
    return statuses, fired, active, status_level(statuses, ctx.settings, active), balance


def machine_view(store, statuses, machine: str):
    """Each window's local usage recomputed from one machine's rows; the official % stays the account's."""
    from dataclasses import replace

    from ...ingest.usage.queries import machine_usage_sql
    out = {}
    usage = machine_usage_sql(store)  # (a store from before machines: all its rows are this machine's)
    for name, s in statuses.items():
        sql = (f"SELECT COALESCE(SUM(input_tokens + output_tokens + cache_write_5m + cache_write_1h + cache_read), 0),"
               f" COALESCE(SUM(cost_usd), 0) FROM ({usage}) WHERE machine = ? AND ts >= ? AND ts < ?")
        tokens, cost = store.db.execute(sql, (machine, s.start_ms, max(s.end_ms, _now_ms()))).fetchone()
        out[name] = replace(s, used_tokens=tokens, used_cost=cost)
    return out


# -- install-hooks / uninstall-hooks ----------------------------------------------------------------

def tokentop_command() -> str:
    """How settings.json should start tokentop: the running executable's absolute path, else the one on PATH,
    else this interpreter with `-m tokentop.tui.cli`. Absolute but not symlink-resolved: a pipx link in
    ~/.local/bin keeps working when pipx rebuilds the venv behind it."""
    import os
    import shlex
    import shutil
    argv0 = sys.argv[0] if sys.argv else ""
    if os.path.basename(argv0) == "tokentop" and os.path.isfile(argv0):
        return shlex.quote(os.path.abspath(argv0))
    found = shutil.which("tokentop")
    if found:
        return shlex.quote(os.path.abspath(found))
    return f"{shlex.quote(sys.executable)} -m tokentop.tui.cli"


def cmd_settings(args) -> int:
    from pathlib import Path

    from ...ingest.claude_code import settings as claude_settings
    from .common import UserFacingError
    path = Path(args.settings).expanduser() if args.settings else claude_settings.default_path()
    try:
        plan = claude_settings.plan(path, args.action, tokentop_command() if args.action == "install" else None)
        if args.dry_run:
            print(plan.diff() if plan.changed else f"{path}: no change needed.")
            return 0
        if not plan.changed:
            print(f"{path}: {'already installed' if args.action == 'install' else 'no tokentop entries'}; no change.")
            return 0
        backup = claude_settings.apply(plan)
    except claude_settings.SettingsFileError as exc:
        raise UserFacingError(str(exc)) from None
    except OSError as exc:
        raise UserFacingError(f"{path}: cannot write it ({exc.strerror or exc}). Nothing was changed.") from None
    for note in plan.notes:
        print(f"  {note}")
    print(f"wrote {plan.target}" + (f" (backup: {backup})" if backup else ""))
    print("Claude Code reads hooks when a session starts: restart open sessions (or review them in /hooks).")
    return 0
