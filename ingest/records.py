"""The plain values that flow from the parsers into the store: one record per API response, per session, per
tool call."""

from __future__ import annotations

from dataclasses import dataclass, field

CLAUDE_CODE = "claude-code"
OPENCLAW = "openclaw"
SOURCES = (CLAUDE_CODE, OPENCLAW)
ATTRIBUTION_KINDS = ("agent", "skill", "plugin", "mcp_server", "mcp_tool")
"""The order of `UsageRecord.attribution`, and the `report attribution` kinds."""


@dataclass(slots=True)
class UsageRecord:
    """One billable API response, after dedup. Holds counts and names only, never message text."""

    dedup_key: str
    """(message.id, requestId) joined, or message.id alone when requestId is missing; OpenClaw: the entry id."""
    message_id: str
    request_id: str | None
    source: str
    session_id: str
    project: str | None
    """The working directory the session ran in (a path, from `cwd`)."""
    agent_id: str | None
    """Sub-agent id for lines from `<session>/subagents/agent-*.jsonl`, else None."""
    is_sidechain: bool
    model: str
    ts_ms: int
    """Response time, Unix milliseconds UTC."""
    input_tokens: int
    output_tokens: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    speed: str | None = None
    """`usage.speed` as written ("standard", "fast"); fast mode costs a per-model multiple."""
    tool_calls: list[tuple[str, str]] = field(default_factory=list)
    """(tool_use id, tool name) pairs for every tool this response called."""
    reported_cost: float | None = None
    """A cost the source itself wrote (OpenClaw `cost.total`); used only when > 0 and the model is unpriced."""
    web_search_requests: int = 0
    """`usage.server_tool_use.web_search_requests`: billed per search on top of tokens (web fetches are free)."""
    inference_geo: str | None = None
    """`usage.inference_geo` as written ("us" is US-only inference, a surcharge on recent models; "global", "")."""
    api_block: int | None = None
    """`apiBlockIndex`: the 5-hour block Claude Code counted this request in (recent versions only)."""
    attribution: tuple[str | None, str | None, str | None, str | None, str | None] = (None,) * 5
    """What `/usage` breaks spending down by, as the line names it (names only): `attributionAgent`, `…Skill`,
    `…Plugin`, `…McpServer`, `…McpTool` (see ATTRIBUTION_KINDS)."""
    session_rank: int = 1
    """How surely `session_id` names the session that spent the response (store/ownership.py): 1 when the line's
    `sessionId` names it (a verbatim copy in a resumed session names the session whose file it was copied from)
    or the file's place decides (sub-agents), 0 when the line has no `sessionId` and the file's name is all there
    is."""

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_5m + self.cache_write_1h + self.cache_read


@dataclass(slots=True)
class ModelCost:
    """One model's row of a `cost-state` line's `modelUsage`: Claude Code's own cumulative counts and dollars."""

    model: str
    """The id as Claude Code names it, context tag included (`claude-opus-5[1m]`)."""
    input_tokens: int
    output_tokens: int
    cache_read: int
    cache_write: int
    web_search_requests: int
    cost_usd: float


@dataclass(slots=True)
class CostState:
    """A `cost-state` line: Claude Code's cumulative cost of one session. Never usage (the assistant lines are)."""

    total_usd: float
    ts_ms: int | None
    """When it was written, if the line says; the estimate is compared over the requests up to then."""
    models: tuple[ModelCost, ...] = ()

    def beats(self, other: CostState) -> bool:
        """The figures are cumulative: the larger total is the later state (a tie: the one read later)."""
        return self.total_usd >= other.total_usd


@dataclass(slots=True)
class SessionInfo:
    """What a file tells about its session besides usage: where it ran, its title, branch and activity span."""

    session_id: str
    source: str
    project: str | None = None
    title: str | None = None
    title_rank: int = 0
    """Which kind of line gave the title (custom > summary > AI-made); a stronger kind replaces a weaker one."""
    git_branch: str | None = None
    first_ts_ms: int | None = None
    last_ts_ms: int | None = None
    cost_state: CostState | None = None
    """Claude Code's own cumulative figures for this session (its newest `cost-state` line), a check on ours."""

    def seen(self, ts_ms: int | None) -> None:
        if ts_ms is None:
            return
        if self.first_ts_ms is None or ts_ms < self.first_ts_ms:
            self.first_ts_ms = ts_ms
        if self.last_ts_ms is None or ts_ms > self.last_ts_ms:
            self.last_ts_ms = ts_ms
