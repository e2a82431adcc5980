"""The dedup rule, in one place (docs/log-formats.md §1 "Duplication").

Every line of one API response, and every copy a resumed session makes of it, shares one `dedup_key` (message id
and request id). Of the records under one key the winner is the one with the largest token total; on a tie the
later response; on a tie again the smaller session id, so the answer does not depend on the order files are read
in. The winner gives the numbers only: which session spent the response is ownership.py's rule, applied after the
upsert, so a resumed session's copy never takes a response over by winning here. (Dropping a sidechain copy of a
main-thread response is a separate rule, applied by `Store.write_batch` across keys.)

`wins` applies the rule in Python (inside one batch, and in the parse workers); `WINS_SQL` is its twin for the
upsert against rows already stored. tests/core/test_dedup_rule.py checks that the two agree."""

from __future__ import annotations

from collections.abc import Iterable

from ..records import UsageRecord

WINS_SQL = ("excluded.total_tokens > requests.total_tokens OR (excluded.total_tokens = requests.total_tokens AND "
            "(excluded.ts > requests.ts OR (excluded.ts = requests.ts AND (excluded.session_id < requests.session_id "
            "OR (excluded.session_id = requests.session_id AND excluded.machine < requests.machine)))))")
"""True when the incoming row (`excluded`) beats the stored one (`requests`): `wins` in SQL. Its last tie-break, the
smaller machine name, never decides inside one batch (all one machine's); across machines it makes a session folder
synced to two machines attributed alike in both machines' stores (sync/merge.py)."""


def wins(new: UsageRecord, old: UsageRecord) -> bool:
    """True when `new` replaces `old`, two records under one dedup key."""
    if new.total_tokens != old.total_tokens:
        return new.total_tokens > old.total_tokens
    if new.ts_ms != old.ts_ms:
        return new.ts_ms > old.ts_ms
    return new.session_id < old.session_id


def best_per_key(records: Iterable[UsageRecord]) -> list[UsageRecord]:
    """The winner per dedup key, in first-seen key order, carrying every tool call seen under that key (a response's
    tool_use blocks are spread over its lines, and the winning line need not hold them all)."""
    best: dict[str, UsageRecord] = {}
    for rec in records:
        old = best.get(rec.dedup_key)
        if old is None:
            best[rec.dedup_key] = rec
            continue
        winner, loser = (rec, old) if wins(rec, old) else (old, rec)
        winner.tool_calls = old.tool_calls + rec.tool_calls if loser.tool_calls else winner.tool_calls
        best[rec.dedup_key] = winner
    return list(best.values())
