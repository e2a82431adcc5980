#!/usr/bin/env python3
"""The side-by-side benchmark behind `tests/bench/run`: tokentop against ccusage and claude-monitor on generated
corpora.

    tests/bench/run                          # 100MB and 1GB, 3 runs each, peers installed beside it
    tests/bench/run --sizes 100MB            # one size
    tests/bench/run --quick                  # a 20MB corpus (CI-sized)
    tests/bench/run --no-peers --no-tui      # tokentop alone

For each size: the corpus (tests/bench/gen_corpus.py, cached in tests/bench/corpus/<size>-<seed>), then, each job in a
fresh
process, the median of --repeat runs of
  cold   `tokentop ingest` into a new store                vs `ccusage claude daily --offline --json`, claude-monitor
  warm   `tokentop report daily --json` after ONE appended line (incremental ingest included)
  tui    `tokentop` in tmux: start → first frame, and → the sessions table drawn from the store
and, for the largest size, a cold ingest of the same volume written as ONE session file (bounded memory).
tokentop's totals are checked against the generator's expected.json; the peers' totals are printed beside them.
Results also go to tests/bench/out/latest.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import measure
import peers
from measure import Stat, fmt_s, median_of

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
FIELDS = ("requests", "input_tokens", "output_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
          "cache_read_tokens")
TUI_SIZE = (160, 50)
TUI_TIMEOUT_S = 30.0
TUI_FRAME = "tokentop"
"""Text of the header: the first frame has been drawn."""
TUI_DATA = re.compile(r"Sessions\s+\d+")
"""The sessions caption, drawn once the overview's first read of the store has landed."""
PEER_TIMEOUT_S = 300.0


def log(text: str = "") -> None:
    print(text, flush=True)


# -- corpora ----------------------------------------------------------------------------------------

def corpus(corpus_dir: Path, size: str, seed: int, single: bool = False) -> Path:
    """The corpus directory (home/ + expected.json), generated once and then reused."""
    target = corpus_dir / f"{size}-{seed}{'-single' if single else ''}"
    if (target / "expected.json").exists() and (target / "home").is_dir():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    log(f"  generating {size} corpus{' (one file)' if single else ''} (seed {seed}) …")
    cmd = [sys.executable, str(HERE / "gen_corpus.py"), "--out", str(partial), "--size", size, "--seed", str(seed)]
    subprocess.run(cmd + (["--single-file"] if single else []), check=True, stdout=subprocess.DEVNULL)
    partial.rename(target)  # only a finished corpus ever has the cached name
    return target


# -- tokentop ---------------------------------------------------------------------------------------

def tokentop_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "tokentop"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "tokentop.tui.cli"]


def clean_env(home: Path) -> dict:
    """The corpus as HOME, UTC, and none of the variables that would point any tool at other logs or stores."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CLAUDE_", "OPENCLAW", "TOKENTOP_", "XDG_", "CCUSAGE"))}
    env.update(HOME=str(home), TZ="UTC", NO_COLOR="1")
    return env


class Tokentop:
    """tokentop pointed at one corpus, with its store and config under the bench's output directory."""

    def __init__(self, home: Path, work: Path):
        self.home = home
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.db = work / "usage.db"
        self.config = work / "config.toml"
        # The corpus is months old: a long retention keeps every request a row, as for a recent history.
        self.config.write_text("retention_days = 100000\n")
        self.env = clean_env(home)

    def cmd(self, *args: str) -> list[str]:
        return tokentop_cmd() + ["--db", str(self.db), "--config", str(self.config), *args]

    def fresh_store(self) -> None:
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(str(self.db) + suffix).unlink(missing_ok=True)

    def run(self, *args: str, timeout: float = PEER_TIMEOUT_S) -> measure.Run:
        return measure.run(self.cmd(*args), env=self.env, timeout=timeout)

    def report(self, source: str) -> dict:
        done = self.run("report", "daily", "--json", "--no-ingest", "--source", source)
        if not done.ok:
            raise RuntimeError(f"tokentop report failed: {done.stderr.strip()[-500:]}")
        return json.loads(done.stdout)["totals"]


def cold_ingest(tt: Tokentop, repeat: int) -> Stat:
    runs = []
    for _ in range(repeat):
        tt.fresh_store()
        done = tt.run("ingest", "--quiet")
        if not done.ok:
            raise RuntimeError(f"tokentop ingest failed ({done.code}): {done.stderr.strip()[-800:]}")
        runs.append(done)
    return median_of(runs)


def check_totals(tt: Tokentop, expected: dict) -> list[dict]:
    """tokentop's per-source totals (rolled-up history included) against expected.json, field by field."""
    rows = []
    for source, key in (("claude-code", "claude_code"), ("openclaw", "openclaw")):
        got = tt.report(source)
        for name in FIELDS:
            rows.append({"source": source, "field": name, "expected": expected[key][name], "tokentop": got.get(name),
                         "ok": got.get(name) == expected[key][name]})
    return rows


def session_file(home: Path) -> Path:
    """The file the warm run appends to: the biggest main-thread Claude Code session (an active long session)."""
    files = [p for p in (home / ".claude" / "projects").glob("*/*.jsonl")]
    return max(files, key=lambda p: (p.stat().st_size, str(p)))


def warm_line(path: Path, n: int) -> bytes:
    """A copy of the file's newest assistant line as a new response (new ids) one second later."""
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - (1 << 20)))
        tail = fh.read().split(b"\n")
    for raw in reversed(tail):
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("type") == "assistant" and isinstance(entry.get("message"), dict):
            break
    else:
        raise RuntimeError(f"no assistant line near the end of {path}")
    stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00")).timestamp() + n
    entry["timestamp"] = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
    entry["uuid"] = f"00000000-0000-4000-8000-{n:012d}"
    entry["message"]["id"] = f"msg_bench_warm_{n:06d}"
    entry["requestId"] = f"req_bench_warm_{n:06d}"
    return json.dumps(entry, separators=(",", ":")).encode() + b"\n"


def warm_report(tt: Tokentop, repeat: int, base_requests: int) -> tuple[Stat, bool, str]:
    """Append one line, run `report daily --json` (which ingests it first); the corpus is restored afterwards."""
    target = session_file(tt.home)
    size = target.stat().st_size
    runs, seen = [], True
    try:
        for n in range(1, repeat + 1):
            with open(target, "ab") as fh:
                fh.write(warm_line(target, n))
            done = tt.run("report", "daily", "--json")
            if not done.ok:
                raise RuntimeError(f"tokentop report failed ({done.code}): {done.stderr.strip()[-800:]}")
            seen &= json.loads(done.stdout)["totals"]["requests"] == base_requests + n
            runs.append(done)
    finally:
        os.truncate(target, size)  # the cached corpus must stay what expected.json describes
    return median_of(runs), seen, str(target.relative_to(tt.home))


def tui_available() -> str | None:
    """None when the TUI can be timed here, else why not."""
    if shutil.which("tmux") is None:
        return "tmux is not installed"
    probe = subprocess.run([sys.executable, "-c", "import tokentop.tui.app"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"tokentop.tui.app does not import: {probe.stderr.strip().splitlines()[-1:]}"
    return None


def tui_first_paint(tt: Tokentop) -> dict:
    """Launch `tokentop` in a detached tmux pane and poll the screen: when the frame appears, when the data does.

    Polling costs a few ms per capture, so times are upper bounds within ~15 ms. Peak RSS is the pane process's
    VmHWM just before it is stopped."""
    sock = f"tokentop-bench-{os.getpid()}-{time.monotonic_ns()}"  # a fresh server each time: no shutdown race
    tmux = ["tmux", "-L", sock, "-f", "/dev/null"]
    shell = "exec env " + " ".join(shlex.quote(f"{k}={v}") for k, v in
                                   {"HOME": str(tt.home), "TZ": "UTC", "TERM": "xterm-256color"}.items())
    shell += " " + " ".join(shlex.quote(a) for a in tt.cmd())
    out = {"frame": None, "data": None, "rss_mb": None, "problem": None}
    started = time.perf_counter()
    launched = subprocess.run(tmux + ["new-session", "-d", "-x", str(TUI_SIZE[0]), "-y", str(TUI_SIZE[1]), shell],
                              capture_output=True, text=True)
    if launched.returncode != 0:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
        out["problem"] = f"tmux: {launched.stderr.strip() or launched.returncode}"
        return out
    try:
        pid = subprocess.run(tmux + ["display-message", "-p", "#{pane_pid}"], capture_output=True,
                             text=True).stdout.strip()
        while time.perf_counter() - started < TUI_TIMEOUT_S:
            screen = subprocess.run(tmux + ["capture-pane", "-p"], capture_output=True, text=True).stdout
            now = time.perf_counter() - started
            if out["frame"] is None and TUI_FRAME in screen and len(screen.split()) > 10:
                out["frame"] = now
            if TUI_DATA.search(screen):
                out["data"] = now
                out["frame"] = out["frame"] or now
                break
            time.sleep(0.005)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            out["rss_mb"] = int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024
        except (OSError, AttributeError, ValueError):
            pass
    finally:
        subprocess.run(tmux + ["kill-server"], capture_output=True)
    return out


def tui_stats(tt: Tokentop, repeat: int) -> dict:
    import statistics
    runs = []
    for _ in range(repeat):
        run = tui_first_paint(tt)
        if run["problem"]:  # a tmux hiccup: once more before counting it
            run = tui_first_paint(tt)
        runs.append(run)
    good = [r for r in runs if not r["problem"]]
    frames = [r["frame"] for r in good if r["frame"] is not None]
    datas = [r["data"] for r in good if r["data"] is not None]
    rss = [r["rss_mb"] for r in good if r["rss_mb"] is not None]
    problems = sorted({r["problem"] for r in runs if r["problem"]})
    return {"frame": statistics.median(frames) if frames else None,
            "data": statistics.median(datas) if good and len(datas) == len(good) else None,
            "rss_mb": statistics.median(rss) if rss else None, "runs": runs,
            "problem": "; ".join(problems) or (None if good else "no run finished")}


# -- the peers --------------------------------------------------------------------------------------

def peer_runs(cmd: list[str], env: dict, repeat: int) -> tuple[Stat | None, str | None]:
    runs = []
    for _ in range(repeat):
        done = measure.run(cmd, env=env, timeout=PEER_TIMEOUT_S)
        if done.timed_out:
            return None, f"timed out after {PEER_TIMEOUT_S:.0f} s"
        if done.code != 0:
            return None, f"exit {done.code}: {done.stderr.strip()[-300:]}"
        runs.append(done)
    return median_of(runs), None


# -- printing ---------------------------------------------------------------------------------------

def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b <= 0:
        return "—"
    return f"{a / b:.2f}x"


def table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
        mem = f"{kb / (1 << 20):.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "os": platform.platform(),
            "cpu": cpu, "cores": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "tokentop": f"{rev}{'+dirty' if dirty else ''}",
            "load_1m": os.getloadavg()[0]}


# -- main -------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100MB,1GB", help="comma-separated corpus sizes (default 100MB,1GB)")
    ap.add_argument("--quick", action="store_true", help="one 20MB corpus: a CI-sized run")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=3, help="runs per job; the median is reported (default 3)")
    ap.add_argument("--no-peers", action="store_true", help="measure tokentop alone")
    ap.add_argument("--no-tui", action="store_true", help="skip the TUI first-paint timing")
    ap.add_argument("--no-single", action="store_true", help="skip the one-big-file ingest")
    ap.add_argument("--corpus-dir", type=Path, default=HERE / "corpus", help="where corpora are cached")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="stores, configs and results (latest.json)")
    args = ap.parse_args(argv)
    sizes = ["20MB"] if args.quick else [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    began = time.perf_counter()
    info = machine()
    log(f"tokentop bench · {info['date']} · {info['cpu']} · {info['cores']} cores · {info['memory']} · "
        f"{info['os']} · Python {info['python']} · SQLite {info['sqlite']} · tokentop {info['tokentop']}")
    if info["load_1m"] > 0.5:
        log(f"note: 1-minute load average is {info['load_1m']:.2f} before the run: other work shares the CPU")

    ccusage = peers.Peer("ccusage", problem="skipped (--no-peers)")
    monitor = peers.Peer("claude-monitor", problem="skipped (--no-peers)")
    if not args.no_peers:
        log("peers:")
        ccusage = peers.install_ccusage(log=log)
        monitor = peers.install_claude_monitor(log=log)
    for peer in (ccusage, monitor):
        if peer.ready:
            log(f"  {peer.name} {peer.version}: {peer.note}")
        else:
            log(f"  {peer.name}: NOT MEASURED — {peer.problem}")
    tui_problem = "skipped (--no-tui)" if args.no_tui else tui_available()
    if tui_problem:
        log(f"  TUI first paint: NOT MEASURED — {tui_problem}")

    results = {"machine": info, "peers": {p.name: vars(p) for p in (ccusage, monitor)}, "sizes": {}}
    startup = median_of([measure.run(tokentop_cmd() + ["--version"]) for _ in range(args.repeat)])
    results["startup"] = startup.wall
    rows = [["size", "job", "tokentop wall / cpu / rss", f"ccusage {ccusage.version or ''}".strip(),
             f"claude-monitor {monitor.version or ''}".strip(), "tokentop/ccusage", "tokentop/claude-monitor"]]
    check_lines: list[str] = []
    for size in sizes:
        log(f"[{size}]")
        cdir = corpus(args.corpus_dir, size, args.seed)
        expected = json.loads((cdir / "expected.json").read_text())
        home = cdir / "home"
        res = results["sizes"][size] = {"corpus": str(cdir), "bytes": expected["size_bytes"],
                                        "files": expected["files"]}
        tt = Tokentop(home, args.out / size)

        log(f"  tokentop cold ingest ×{args.repeat} …")
        cold = cold_ingest(tt, args.repeat)
        checks = check_totals(tt, expected)
        base_requests = sum(expected[k]["requests"] for k in ("claude_code", "openclaw"))
        res["cold"], res["checks"] = vars(cold) | {"last": None}, checks

        tui = None
        if not tui_problem:
            log(f"  tokentop TUI first paint ×{args.repeat} …")
            tui = tui_stats(tt, args.repeat)
            res["tui"] = tui
        log(f"  tokentop warm report ×{args.repeat} …")
        warm, warm_seen, warm_file = warm_report(tt, args.repeat, base_requests)
        res["warm"] = vars(warm) | {"last": None, "appended_line_counted": warm_seen, "file": warm_file}

        cc = cm = None
        cc_totals = cm_totals = None
        if ccusage.ready:
            log(f"  ccusage ×{args.repeat} …")
            cc, problem = peer_runs(peers.ccusage_args(ccusage), clean_env(home), args.repeat)
            if problem:
                log(f"    ccusage failed: {problem}")
            else:
                cc_totals = peers.ccusage_totals(cc.last.stdout)
            res["ccusage"] = vars(cc) | {"last": None, "totals": cc_totals} if cc else {"problem": problem}
        if monitor.ready:
            log(f"  claude-monitor ×{args.repeat} …")
            scratch = args.out / "claude-monitor-home"  # it writes ~/.claude-monitor: keep that out of the corpus
            scratch.mkdir(parents=True, exist_ok=True)
            cm, problem = peer_runs(peers.claude_monitor_args(monitor, home), clean_env(scratch), args.repeat)
            if problem:
                log(f"    claude-monitor failed: {problem}")
            else:
                cm_totals = peers.claude_monitor_totals(cm.last.stdout)
                cm_errors = cm.last.stderr.count("Failed to read file")
                res["claude_monitor_unreadable_files"] = cm_errors
            res["claude_monitor"] = vars(cm) | {"last": None, "totals": cm_totals} if cm else {"problem": problem}

        def cell(stat: Stat | None, problem: str = "not measured") -> str:
            return stat.cell() if stat else problem

        rows.append([size, "cold: ingest all (tokentop) / daily report (peers)", cold.cell(), cell(cc), cell(cm),
                     ratio(cold.wall, cc and cc.wall), ratio(cold.wall, cm and cm.wall)])
        rows.append([size, "warm: report daily --json after 1 appended line", warm.cell(),
                     cell(cc) + " (no store)" if cc else "not measured", cell(cm) + " (no store)" if cm else
                     "not measured", ratio(warm.wall, cc and cc.wall), ratio(warm.wall, cm and cm.wall)])
        if tui and tui["problem"] and not tui["frame"]:
            rows.append([size, "TUI: start → first frame → data drawn", f"not measured: {tui['problem']}"[:60],
                         "—", "—", "—", "—"])
        elif tui:
            frame = fmt_s(tui["frame"]) if tui["frame"] is not None else "not seen"
            data = fmt_s(tui["data"]) if tui["data"] is not None else "not seen"
            rss = f"{tui['rss_mb']:.0f} MB" if tui["rss_mb"] else "?"
            rows.append([size, "TUI: start → first frame → data drawn", f"{frame} → {data} / {rss}", "—", "—",
                         "—", "—"])

        check_lines.append(f"[{size}] {expected['files']} files, {expected['size_bytes'] / (1 << 20):.0f} MiB, "
                           f"{expected['lines']} lines (seed {args.seed})")
        check_lines.append(_checks_table(checks, expected, cc_totals, cm_totals))
        if cm_totals is not None:
            check_lines.append(f"  claude-monitor could not read {res.get('claude_monitor_unreadable_files', 0)} "
                               "files (a non-UTF-8 byte in one line drops the rest of that file)")
        check_lines.append(f"  warm run: appended line {'✓ counted' if warm_seen else '✗ NOT counted'} "
                           f"(appended to {warm_file}, restored afterwards)")

    if not args.no_single and sizes:
        size = sizes[-1]
        log(f"[{size} as one file]")
        cdir = corpus(args.corpus_dir, size, args.seed, single=True)
        expected = json.loads((cdir / "expected.json").read_text())
        tt = Tokentop(cdir / "home", args.out / f"{size}-single")
        log("  tokentop cold ingest ×1 …")
        single = cold_ingest(tt, 1)
        checks = check_totals(tt, expected)
        results["single_file"] = {"size": size, "cold": vars(single) | {"last": None}, "checks": checks}
        multi = results["sizes"][size]["cold"]
        rows.append([size, "cold ingest, ONE session file (bounded memory)", single.cell(), "—", "—", "—", "—"])
        check_lines.append(f"[{size} as one file] totals: "
                           + ("✓ all equal expected.json" if all(c["ok"] for c in checks) else
                              "✗ " + ", ".join(f"{c['source']} {c['field']}" for c in checks if not c["ok"]))
                           + f"; peak RSS {single.rss_mb:.0f} MB one file vs {multi['rss_mb']:.0f} MB many files")

    log("")
    log(table(rows))
    log(f"cells: median of {args.repeat} runs, wall / user+sys CPU (all processes) / peak RSS (largest process). "
        f"tokentop --version alone: {fmt_s(startup.wall)}.")
    log("cold: tokentop builds its store from both sources (Claude Code + OpenClaw); ccusage `claude daily` and "
        "claude-monitor read the Claude Code logs only. Ratios < 1 favour tokentop.")
    log("")
    for line in check_lines:
        log(line)
    log("")
    log(_targets(results, sizes))
    results["seconds"] = time.perf_counter() - began
    log(f"\nbench finished in {results['seconds']:.0f} s")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    failed = any(not c["ok"] for s in results["sizes"].values() for c in s["checks"])
    failed |= any(not c["ok"] for c in results.get("single_file", {}).get("checks", []))
    return 1 if failed else 0


def _checks_table(checks: list[dict], expected: dict, cc: dict | None, cm: dict | None) -> str:
    """tokentop vs expected per field, and the peers' Claude Code totals beside them (they merge 5m+1h)."""
    rows = [["source", "field", "expected", "tokentop", "ccusage", "claude-monitor"]]
    for c in checks:
        peer_cells = ["", ""]
        if c["source"] == "claude-code":
            key = {"cache_creation_5m_tokens": "cache_creation_tokens", "cache_creation_1h_tokens": None}.get(
                c["field"], c["field"])
            want = c["expected"]
            if key == "cache_creation_tokens":
                want = expected["claude_code"]["cache_creation_5m_tokens"] + \
                    expected["claude_code"]["cache_creation_1h_tokens"]
            for i, totals in enumerate((cc, cm)):
                if totals is None:
                    continue
                value = totals.get(key) if key else None
                if value is None:
                    peer_cells[i] = "(5m+1h above)" if key is None else "—"
                else:
                    merged = " 5m+1h" if key == "cache_creation_tokens" else ""
                    peer_cells[i] = f"{value:,} ({_delta(value, want)}{merged})"
        rows.append([c["source"], c["field"].replace("cache_creation", "cache_write"), f"{c['expected']:,}",
                     f"{c['tokentop']:,} {'✓' if c['ok'] else '✗'}" if c["tokentop"] is not None else "missing ✗",
                     *peer_cells])
    return "\n".join("  " + line for line in table(rows).splitlines())


def _delta(value: int, want: int) -> str:
    if value == want:
        return "="
    return f"{(value - want) / want:+.1%}" if want else "≠"


def _targets(results: dict, sizes: list[str]) -> str:
    """The issue's targets, judged on the largest size measured."""
    size = sizes[-1]
    res = results["sizes"][size]
    cold, warm = res["cold"], res["warm"]
    cc = res.get("ccusage") or {}
    lines = [f"targets (issue 6), on the {size} corpus:"]

    def line(ok: bool | None, text: str) -> None:
        lines.append(f"  {'✓' if ok else ('?' if ok is None else '✗')} {text}")

    cc_wall = cc.get("wall")
    line(cc_wall and cold["wall"] <= 1.5 * cc_wall if cc_wall else None,
         f"cold ingest ≤ 1.5× ccusage: {fmt_s(cold['wall'])} vs {fmt_s(cc_wall) if cc_wall else '—'} "
         f"= {ratio(cold['wall'], cc_wall)}")
    line(cold["rss_mb"] <= 300, f"cold ingest peak RSS ≤ 300 MB: {cold['rss_mb']:.0f} MB")
    line(warm["wall"] <= 0.2, f"warm report ≤ 0.2 s: {fmt_s(warm['wall'])}")
    line(warm["wall"] <= 0.1 * cc_wall if cc_wall else None,
         f"warm report ≤ 0.1× ccusage: {ratio(warm['wall'], cc_wall)}")
    tui = res.get("tui")
    if tui and tui.get("data") is not None:
        line(tui["data"] <= 1.0, f"TUI first paint ≤ 1 s: frame {fmt_s(tui['frame'])}, data {fmt_s(tui['data'])}")
    else:
        line(None, "TUI first paint ≤ 1 s: not measured")
    single = results.get("single_file")
    if single:
        rss = single["cold"]["rss_mb"]
        line(rss <= 300 and rss <= 2 * cold["rss_mb"] + 50,
             f"one {single['size']} file in bounded memory: peak RSS {rss:.0f} MB "
             f"(many files: {cold['rss_mb']:.0f} MB)")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
