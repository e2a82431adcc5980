"""tests/bench/gen_corpus.py: deterministic, and its expected.json agrees with a tiny independent reference dedup.

The reference below re-reads every generated file with plain json and applies the rule of
shared/docs/log-formats.md (key = (message.id, requestId) across all files and roots, keep the largest total,
drop a sidechain copy of a non-sidechain message.id, never count progress / <synthetic> / malformed lines;
OpenClaw: one count per assistant message entry). It shares no code with the generator.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

GEN_PATH = Path(__file__).resolve().parent / "gen_corpus.py"
KEYS = ["requests", "input_tokens", "output_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
        "cache_read_tokens"]
CC_FIELDS = ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
OC_FIELDS = ("input", "output", "cacheRead", "cacheWrite")
OC_NAME = re.compile(r"^[0-9a-f-]{36}\.jsonl(\.(deleted|reset)\..+)?$")


@pytest.fixture(scope="module")
def gen():
    spec = importlib.util.spec_from_file_location("gen_corpus", GEN_PATH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def tree_digest(home: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(home.rglob("*")):
        if p.is_file():
            h.update(str(p.relative_to(home)).encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def tier(model: str, speed, u: tuple) -> str:
    if speed == "fast":
        return "fast"
    inp, _out, c5, c1, cr = u
    return "long_context" if model.startswith("claude-sonnet") and inp + c5 + c1 + cr > 200_000 else "standard"


def reference(home: Path) -> dict:
    """Recompute expected.json's totals by reading every line, the straightforward way."""
    st = Counter()
    naive = [0] * 6
    prog = 0
    files_per_key: dict[tuple, set] = defaultdict(set)
    roots_per_key: dict[tuple, set] = defaultdict(set)
    best: dict[tuple, tuple] = {}  # key -> (total, sidechain, message id, timestamp, model, speed, usage)
    main_ids: set[str] = set()

    def lines_of(path: Path):
        data = path.read_bytes()
        assert data.endswith(b"\n")
        for raw in data.split(b"\n")[:-1]:
            st["lines"] += 1
            try:
                d = json.loads(raw)
            except ValueError:  # also invalid UTF-8
                st["unparseable"] += 1
                continue
            if not isinstance(d, dict):
                st["unparseable"] += 1
                continue
            yield d

    for root in (".claude/projects", ".config/claude/projects"):
        for path in sorted((home / root).rglob("*.jsonl")):
            st["files"] += 1
            if path.parent.name != "subagents":
                st["cc_sessions"] += 1
            for d in lines_of(path):
                if d.get("type") == "progress":
                    inner = (d.get("data") or {}).get("message") or {}
                    if isinstance(inner.get("message"), dict) and "usage" in inner["message"]:
                        prog += 1
                    continue
                if d.get("type") != "assistant":
                    continue
                msg = d.get("message")
                usage = msg.get("usage") if isinstance(msg, dict) else None
                if not isinstance(usage, dict) or not all(is_int(usage.get(k)) for k in CC_FIELDS):
                    st["wrong_type"] += 1
                    continue
                split = usage.get("cache_creation")
                if isinstance(split, dict):
                    c5, c1 = split["ephemeral_5m_input_tokens"], split["ephemeral_1h_input_tokens"]
                    assert c5 + c1 == usage["cache_creation_input_tokens"]
                else:
                    st["no_split_lines"] += 1
                    c5, c1 = usage["cache_creation_input_tokens"], 0  # missing split: all 5m
                u = (usage["input_tokens"], usage["output_tokens"], c5, c1, usage["cache_read_input_tokens"])
                naive[0] += 1
                for i in range(5):
                    naive[i + 1] += u[i]
                if msg.get("model") == "<synthetic>":
                    st["synthetic"] += 1
                    continue
                key = (msg["id"], d.get("requestId"))
                side = d.get("isSidechain") is True
                if not side:
                    main_ids.add(msg["id"])
                files_per_key[key].add(path)
                roots_per_key[key].add(root)
                old = best.get(key)
                if old is not None and old[6][1] != u[1]:
                    st["streamed_partial_then_final"] += 1
                if old is None or sum(u) >= old[0]:
                    best[key] = (sum(u), side, msg["id"], d["timestamp"], msg["model"], usage.get("speed"), u)

    totals = {"claude_code": [0] * 6, "openclaw": [0] * 6}
    by_day: dict[str, list] = defaultdict(lambda: [0] * 6)
    by_model: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: [0] * 6))

    def add(source, day, model, t, u):
        for acc in (totals[source], by_day[day], by_model[model][t]):
            acc[0] += 1
            for i in range(5):
                acc[i + 1] += u[i]

    for _key, (_tot, side, mid, ts, model, speed, u) in best.items():
        if side and mid in main_ids:
            st["sidechain_replays_dropped"] += 1
            continue
        if u[1] == 1:
            st["output_1_groups"] += 1
        st[f"tier_{tier(model, speed, u)}"] += 1
        add("claude_code", ts[:10], model, tier(model, speed, u), u)
    st["keys_in_several_files"] = sum(1 for f in files_per_key.values() if len(f) > 1)
    st["keys_in_both_roots"] = sum(1 for r in roots_per_key.values() if len(r) > 1)

    seen_oc: set[tuple] = set()
    for path in sorted((home / ".openclaw" / "agents").glob("*/sessions/*")):
        assert OC_NAME.match(path.name), path.name
        st["files"] += 1
        st["oc_sessions"] += 1
        if ".jsonl." in path.name:
            st["oc_archived"] += 1
        sid = None
        for d in lines_of(path):
            if d.get("type") == "session":
                sid = d["id"]
                assert d["version"] == 3
            msg = d.get("message")
            if d.get("type") != "message" or not isinstance(msg, dict) or msg.get("role") != "assistant":
                continue
            us = msg["usage"]
            assert all(is_int(us[k]) for k in OC_FIELDS)
            assert us["totalTokens"] == sum(us[k] for k in OC_FIELDS)
            u = (us["input"], us["output"], us["cacheWrite"], 0, us["cacheRead"])
            naive[0] += 1
            for i in range(5):
                naive[i + 1] += u[i]
            if (sid, d["id"]) in seen_oc:  # an archived copy of a live session counts once
                continue
            seen_oc.add((sid, d["id"]))
            day = time.strftime("%Y-%m-%d", time.gmtime(msg["timestamp"] // 1000))  # Unix ms
            assert d["timestamp"].startswith(day)
            add("openclaw", day, msg["model"], tier(msg["model"], None, u), u)

    return {
        "stats": st, "naive": dict(zip(KEYS, naive)), "progress_embedded": prog,
        "claude_code": dict(zip(KEYS, totals["claude_code"])), "openclaw": dict(zip(KEYS, totals["openclaw"])),
        "by_day_utc": {d: dict(zip(KEYS, v)) for d, v in sorted(by_day.items())},
        "by_model": {m: {t: dict(zip(KEYS, v)) for t, v in sorted(ts.items())} for m, ts in sorted(by_model.items())},
    }


def strip(d: dict) -> dict:
    return {k: d[k] for k in KEYS}


def test_same_seed_same_bytes_and_expected_matches_reference(gen, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    gen.generate(a, 2 << 20, seed=42)
    gen.generate(b, 2 << 20, seed=42)
    assert tree_digest(a / "home") == tree_digest(b / "home")
    assert (a / "expected.json").read_bytes() == (b / "expected.json").read_bytes()

    exp = json.loads((a / "expected.json").read_text())
    home = a / "home"
    ref = reference(home)
    st = ref["stats"]

    # totals under the dedup rule
    assert strip(exp["claude_code"]) == ref["claude_code"]
    assert strip(exp["openclaw"]) == ref["openclaw"]
    assert exp["by_day_utc"] == ref["by_day_utc"]
    assert exp["by_model"] == ref["by_model"]
    assert exp["naive"]["assistant_lines"] == ref["naive"]
    assert exp["naive"]["progress_embedded"]["requests"] == ref["progress_embedded"]
    # bookkeeping
    assert exp["files"] == st["files"]
    assert exp["lines"] == st["lines"]
    assert exp["malformed"] == {"unparseable": st["unparseable"], "wrong_type": st["wrong_type"]}
    assert exp["malformed_lines"] == st["unparseable"] + st["wrong_type"]
    assert exp["claude_code"]["sessions"] == st["cc_sessions"]
    assert exp["openclaw"]["sessions"] == st["oc_sessions"]
    assert exp["sessions"] == st["cc_sessions"] + st["oc_sessions"]
    assert exp["size_bytes"] == sum(p.stat().st_size for p in home.rglob("*") if p.is_file())
    assert 0.9 * (2 << 20) <= exp["size_bytes"] <= 1.3 * (2 << 20)

    # every trap the corpus promises is really in it, even at 2 MB
    assert st["streamed_partial_then_final"] > 0  # multi-line responses, partial then final output
    assert st["keys_in_several_files"] > 0 and st["keys_in_both_roots"] > 0  # resumed copies, across roots
    assert st["sidechain_replays_dropped"] > 0
    assert ref["progress_embedded"] > 0
    assert st["synthetic"] > 0 and st["wrong_type"] > 0 and st["unparseable"] >= 2
    assert st["tier_fast"] > 0 and st["tier_long_context"] > 0
    assert st["no_split_lines"] > 0 and st["output_1_groups"] > 0
    assert st["oc_archived"] >= 2 and exp["openclaw"]["requests"] > 0
    assert exp["claude_code"]["cache_creation_1h_tokens"] > 0
    # the naive sum really is wrong, which is the point of the corpus
    deduped = exp["claude_code"]["cache_read_tokens"] + exp["openclaw"]["cache_read_tokens"]
    assert ref["naive"]["cache_read_tokens"] > 1.5 * deduped
    # timestamps: ISO UTC with ms, inside the 120 days before the seed's epoch
    days = sorted(exp["by_day_utc"])
    epoch = exp["epoch"][:10]
    assert days[-1] < epoch and days[0] >= "2025-10-01"


def test_other_seed_differs(gen, tmp_path):
    gen.generate(tmp_path / "a", 300 << 10, seed=1)
    gen.generate(tmp_path / "b", 300 << 10, seed=2)
    assert tree_digest(tmp_path / "a" / "home") != tree_digest(tmp_path / "b" / "home")


def test_single_file(gen, tmp_path):
    exp = gen.generate(tmp_path, 1 << 20, seed=7, single_file=True)
    files = [p for p in (tmp_path / "home").rglob("*") if p.is_file()]
    assert len(files) == 1 and exp["files"] == 1 and exp["sessions"] == 1
    ref = reference(tmp_path / "home")
    assert strip(exp["claude_code"]) == ref["claude_code"]
    assert exp["by_day_utc"] == ref["by_day_utc"]
    assert exp["lines"] == ref["stats"]["lines"]
    assert exp["malformed_lines"] == ref["stats"]["unparseable"] + ref["stats"]["wrong_type"] > 0
    assert ref["progress_embedded"] > 0


def test_cli_parses_sizes(gen):
    assert gen.parse_size("5MB") == 5 << 20
    assert gen.parse_size("1GB") == 1 << 30
    assert gen.parse_size("512KB") == 512 << 10


def assistant_share(home: Path) -> float:
    """The share of the Claude Code log bytes that are assistant lines."""
    total = assistant = 0
    for p in (home / ".claude").rglob("*.jsonl"):
        for line in p.read_bytes().splitlines(keepends=True):
            total += len(line)
            try:
                if json.loads(line).get("type") == "assistant":
                    assistant += len(line)
            except (ValueError, AttributeError):
                pass
    return assistant / total


def test_realistic_mix_is_half_assistant_lines_and_keeps_its_totals(gen, tmp_path):
    gen.generate(tmp_path / "real", 2 << 20, seed=42, realistic=True)
    gen.generate(tmp_path / "plain", 2 << 20, seed=42)
    home = tmp_path / "real" / "home"
    exp = json.loads((tmp_path / "real" / "expected.json").read_text())
    plain = json.loads((tmp_path / "plain" / "expected.json").read_text())
    assert exp["realistic"] is True and "realistic" not in plain
    assert 0.40 <= assistant_share(home) <= 0.55  # real logs: ~47 %
    assert assistant_share(tmp_path / "plain" / "home") < 0.25  # the default mix is tool-output heavy
    ref = reference(home)  # the independent reader agrees with the generator on this mix too
    assert strip(exp["claude_code"]) == ref["claude_code"]
    assert strip(exp["openclaw"]) == ref["openclaw"]
    assert exp["by_model"] == ref["by_model"]
