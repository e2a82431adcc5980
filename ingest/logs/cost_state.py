"""Claude Code's own figures in a transcript: `cost-state` lines (its cumulative cost of the session, per model) and
the optional per-request fields `apiBlockIndex` and `attribution*`. Pure reading; all of it optional (§1 of the
formats reference: recent versions only, observed by a third party), so anything odd is skipped, never fatal."""

from __future__ import annotations

import math

from ..records import CostState, ModelCost
from ..safe_text import clean
from .jsonl import read_count

COST_STATE = "cost-state"
BAD_COST_STATE = "bad-cost-state"
"""Skip reason: a `cost-state` line whose figures are not numbers a session can have (counted by `doctor`)."""
MAX_SESSION_TOKENS = 10**12
"""Cumulative tokens of one session: far above any real one, and inside SQLite's integers once summed."""
MAX_SESSION_USD = 10**7
MAX_MODELS = 64
"""More model rows than that in one session is not a real `modelUsage`."""
MAX_NAME = 200
MAX_BLOCK = 10**9
ATTRIBUTION_FIELDS = ("attributionAgent", "attributionSkill", "attributionPlugin", "attributionMcpServer",
                      "attributionMcpTool")
"""In the order of `records.ATTRIBUTION_KINDS`."""
_MODEL_COUNTS = ("inputTokens", "outputTokens", "cacheReadInputTokens", "cacheCreationInputTokens",
                 "webSearchRequests")


def _name(value: object) -> str | None:
    """A name from a log (a model, a skill, a server): cleaned for terminals, bounded; None when it is not one."""
    if not isinstance(value, str):
        return None
    text = clean(value.strip())[:MAX_NAME]
    return text or None


def _usd(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    usd = float(value)
    return usd if math.isfinite(usd) and 0 <= usd <= MAX_SESSION_USD else None


def cost_state(entry: dict, ts_ms: int | None) -> CostState | str:
    """The figures of one `cost-state` line, or the reason it is skipped. The fields are read at the top level,
    or inside the one object value that holds `totalCostUSD` (a wrapper some version may add)."""
    if "totalCostUSD" not in entry:
        inner = [v for v in entry.values() if isinstance(v, dict) and "totalCostUSD" in v]
        if len(inner) != 1:
            return BAD_COST_STATE
        entry = inner[0]
    total = _usd(entry.get("totalCostUSD"))
    if total is None:
        return BAD_COST_STATE
    usage = entry.get("modelUsage", {})
    if usage is None:
        usage = {}
    if not isinstance(usage, dict) or len(usage) > MAX_MODELS:
        return BAD_COST_STATE
    models = []
    for key, row in usage.items():
        model = _name(key)
        if model is None or not isinstance(row, dict):
            return BAD_COST_STATE
        counts = [read_count(row.get(k), MAX_SESSION_TOKENS) for k in _MODEL_COUNTS]
        cost = _usd(row.get("costUSD", 0))
        if cost is None or any(isinstance(n, str) for n in counts):
            return BAD_COST_STATE
        i, o, r, w, web = (int(n) for n in counts)
        models.append(ModelCost(model, i, o, r, w, web, cost))
    models.sort(key=lambda m: (-m.cost_usd, m.model))
    return CostState(total, ts_ms, tuple(models))


def api_block(entry: dict) -> int | None:
    """`apiBlockIndex` when it is a plausible block number, else None (the heuristic window is used)."""
    value = entry.get("apiBlockIndex")
    if type(value) is int and 0 <= value <= MAX_BLOCK:
        return value
    return None


def attribution(entry: dict) -> tuple[str | None, str | None, str | None, str | None, str | None]:
    """(agent, skill, plugin, MCP server, MCP tool) the line attributes its request to; None where not written."""
    if "attributionAgent" not in entry and "attributionSkill" not in entry and "attributionPlugin" not in entry \
            and "attributionMcpServer" not in entry and "attributionMcpTool" not in entry:
        return (None, None, None, None, None)  # the common case: one dict probe per field, nothing built
    a, s, p, m, t = (_name(entry.get(key)) for key in ATTRIBUTION_FIELDS)
    return (a, s, p, m, t)

