"""A `~/.claude.json` as Claude Code writes it: account data around the `cachedUsageUtilization` cache (§4)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

SECRETS = {
    "oauthAccount": {"accountUuid": "acct-5f2e-SECRET", "emailAddress": "someone@example.com",
                     "organizationUuid": "org-SECRET-77", "organizationName": "Private Org"},
    "userID": "user-SECRET-deadbeef",
    "projects": {"/home/u/secret-project": {"history": [{"display": "my PROMPT text"}]}},
}
"""Account data the file holds beside the cache: none of these strings may ever leave cached_usage."""


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")


def cached_usage(fetched_ms: int, *, five=(18.0, None), week=(40.0, None), models=(("Sonnet", 12.0, None),)):
    """The cache object; each figure is (percent, resets_at_ms); a reset of None is an hour / three days on."""
    five_reset = five[1] or fetched_ms + 3_600_000
    week_reset = week[1] or fetched_ms + 3 * 86_400_000
    limits = [{"kind": "session", "percent": five[0], "resets_at": iso(five_reset), "is_active": True,
               "severity": "normal", "scope": None},
              {"kind": "weekly_all", "percent": week[0], "resets_at": iso(week_reset), "is_active": True,
               "severity": "normal", "scope": None}]
    for name, pct, reset in models:
        limits.append({"kind": "weekly_scoped", "percent": pct, "resets_at": iso(reset or week_reset),
                       "is_active": True, "severity": "normal", "scope": {"model": {"display_name": name}}})
    return {"fetchedAtMs": fetched_ms,
            "utilization": {"five_hour": {"utilization": five[0], "resets_at": iso(five_reset)},
                            "seven_day": {"utilization": week[0], "resets_at": iso(week_reset)},
                            "extra_usage": {"is_enabled": False}, "limits": limits}}


def write_claude_json(home: Path, cache: dict | None, **extra) -> Path:
    """~/.claude.json with the account data above, the cache (if any) and any other keys given."""
    data = dict(SECRETS, numStartups=12, **extra)
    if cache is not None:
        data["cachedUsageUtilization"] = cache
    path = home / ".claude.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
