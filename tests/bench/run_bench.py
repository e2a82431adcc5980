#!/usr/bin/env python3
"""The side-by-side benchmark behind `tests/bench/run`: tokentop against ccusage and claude-monitor on generated
corpora.

    tests/bench/run                          # 200MB and 1GB realistic corpora, 5 runs each, peers beside it
    tests/bench/run --sizes 200MB            # one size;  --mix default: the tool-output-heavy corpus
    tests/bench/run --quick                  # a 20MB corpus (CI-sized)
    tests/bench/run --no-peers --no-tui      # tokentop alone

For each size: the corpus (tests/bench/gen_corpus.py, cached in tests/bench/corpus/<size>-<seed>[-real]), then, each
job in a fresh process, the median of --repeat runs of
  cold   `tokentop ingest` into a new store                vs `ccusage claude daily --offline --json`, claude-monitor
         (tokentop and ccusage runs alternate, so a burst of load from elsewhere hits both alike)
  warm   `tokentop report daily --json` after ONE appended line (incremental ingest included)
  incr   `tokentop ingest` after ONE appended line (the catch-up scan of every file)
  tui    `tokentop` in tmux: start → first frame, and → the sessions table drawn from the store
  limits reading the corpus from the page cache, and decoding every line with the fastest JSON decoder (one core)
then `statusline` / `hook` p95 from bench_commands.py, and the summary table
  workload | tokentop | ccusage | ratio | limit
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

def corpus(corpus_dir: Path, size: str, seed: int, single: bool = False, realistic: bool = False) -> Path:
    """The corpus directory (home/ + expected.json), generated once and then reused."""
    target = corpus_dir / f"{size}-{seed}{'-single' if single else ''}{'-real' if realistic else ''}"
    if (target / "expected.json").exists() and (target / "home").is_dir():
        return target
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(target, ignore_errors=True)
    log(f"  generating {size} corpus{' (one file)' if single else ''} (seed {seed}) …")
    cmd = [sys.executable, str(HERE / "gen_corpus.py"), "--out", str(partial), "--size", size, "--seed", str(seed)]
    cmd += ["--single-file"] if single else []
    subprocess.run(cmd + (["--realistic"] if realistic else []), check=True, stdout=subprocess.DEVNULL)
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


def cold_ingest(tt: Tokentop, repeat: int, peer: list[str] | None = None) -> tuple[Stat, Stat | None, str | None]:
    """`repeat` cold ingests, each followed by one run of `peer` (when given): tokentop's median, the peer's (or
    None and why not)."""
    runs, peer_runs_, problem = [], [], None
    for _ in range(repeat):
        tt.fresh_store()
        done = tt.run("ingest", "--quiet")
        if not done.ok:
            raise RuntimeError(f"tokentop ingest failed ({done.code}): {done.stderr.strip()[-800:]}")
        runs.append(done)
        if peer and problem is None:
            other = measure.run(peer, env=tt.env, timeout=PEER_TIMEOUT_S)
            if other.timed_out or other.code != 0:
                problem = f"timed out after {PEER_TIMEOUT_S:.0f} s" if other.timed_out else \
                    f"exit {other.code}: {other.stderr.strip()[-300:]}"
            peer_runs_.append(other)
    peer_stat = median_of(peer_runs_) if peer and problem is None else None
    return median_of(runs), peer_stat, problem


def incremental_ingest(tt: Tokentop, repeat: int) -> Stat:
    """`tokentop ingest` after one appended line, on the finished store (the file is restored afterwards)."""
    target = session_file(tt.home)
    size = target.stat().st_size
    runs = []
    try:
        for n in range(1, repeat + 1):
            with open(target, "ab") as fh:
                fh.write(warm_line(target, 1000 + n))
            done = tt.run("ingest", "--quiet")
            if not done.ok:
                raise RuntimeError(f"tokentop ingest failed ({done.code}): {done.stderr.strip()[-800:]}")
            runs.append(done)
    finally:
        os.truncate(target, size)
    return median_of(runs)


def limits(home: Path) -> dict:
    """The floors beside each figure: reading every log byte from the page cache (second pass), and decoding every
    line with the fastest JSON decoder at hand, on one core."""
    files = [p for p in home.rglob("*") if p.is_file()]
    for _ in range(2):  # the first pass fills the page cache
        started = time.perf_counter()
        total = 0
        for p in files:
            with open(p, "rb", buffering=0) as fh:
                total += len(fh.read())
        read_s = time.perf_counter() - started
    decoders = {}
    try:
        import orjson
        decoders["orjson"] = orjson.loads
    except ImportError:
        pass
    try:
        import msgspec
        decoders["msgspec"] = msgspec.json.decode
    except ImportError:
        pass
    decode_s, fastest = None, None
    for name, decode in decoders.items():
        started = time.process_time()
        for p in files:
            for line in p.read_bytes().split(b"\n"):
                try:
                    decode(line)
                except ValueError:
                    pass
        took = time.process_time() - started
        if decode_s is None or took < decode_s:
            decode_s, fastest = took, name
    return {"bytes": total, "read_s": read_s, "decode_s_per_core": decode_s, "decoder": fastest,
            "cores": os.cpu_count() or 1}


def command_p95(runs: int) -> dict:
    """p95 (ms) of `python -c pass`, `tokentop statusline` and `tokentop hook` from bench_commands.py."""
    cmd = [sys.executable, str(HERE / "bench_commands.py"), "--runs", str(runs)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    out = {"problem": None if done.returncode == 0 else done.stderr.strip()[-300:]}
    for line in done.stdout.splitlines():
        for name in ("python -c pass", "tokentop statusline", "tokentop hook"):
            if line.startswith(name + " ") and name not in out:
                numbers = line[len(name):].split()
                out[name] = float(numbers[1])
    return out


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
    ap.add_argument("--sizes", default="200MB,1GB", help="comma-separated corpus sizes (default 200MB,1GB)")
    ap.add_argument("--mix", choices=("realistic", "default"), default="realistic",
                    help="corpus mix: realistic (assistant lines ~47%% of bytes, as in real logs; the default) or "
                         "default (tool output ~75%% of bytes)")
    ap.add_argument("--quick", action="store_true", help="one 20MB corpus: a CI-sized run")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--repeat", type=int, default=5, help="runs per job; the median is reported (default 5)")
    ap.add_argument("--no-peers", action="store_true", help="measure tokentop alone")
    ap.add_argument("--no-tui", action="store_true", help="skip the TUI first-paint timing")
    ap.add_argument("--no-single", action="store_true", help="skip the one-big-file ingest")
    ap.add_argument("--no-commands", action="store_true", help="skip statusline/hook timing (bench_commands.py)")
    ap.add_argument("--command-runs", type=int, default=50, help="runs of statusline/hook (default 50)")
    ap.add_argument("--corpus-dir", type=Path, default=HERE / "corpus", help="where corpora are cached")
    ap.add_argument("--out", type=Path, default=HERE / "out", help="stores, configs and results (latest.json)")
    args = ap.parse_args(argv)
    sizes = ["20MB"] if args.quick else [s.strip().upper() for s in args.sizes.split(",") if s.strip()]
    realistic = args.mix == "realistic"
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

    results = {"machine": info, "peers": {p.name: vars(p) for p in (ccusage, monitor)}, "sizes": {},
               "mix": args.mix, "loads": []}
    startup = median_of([measure.run(tokentop_cmd() + ["--version"]) for _ in range(args.repeat)])
    results["startup"] = startup.wall
    rows = [["size", "job", "tokentop wall / cpu / rss", f"ccusage {ccusage.version or ''}".strip(),
             f"claude-monitor {monitor.version or ''}".strip(), "tokentop/ccusage", "tokentop/claude-monitor"]]
    check_lines: list[str] = []
    for size in sizes:
        log(f"[{size}{' realistic' if realistic else ''}]")
        cdir = corpus(args.corpus_dir, size, args.seed, realistic=realistic)
        expected = json.loads((cdir / "expected.json").read_text())
        home = cdir / "home"
        res = results["sizes"][size] = {"corpus": str(cdir), "bytes": expected["size_bytes"],
                                        "files": expected["files"]}
        tt = Tokentop(home, args.out / f"{size}{'-real' if realistic else ''}")
        res["limits"] = limits(home)
        results["loads"].append(os.getloadavg()[0])

        log(f"  tokentop cold ingest ×{args.repeat}{', alternating with ccusage' if ccusage.ready else ''} …")
        cold, cc, cc_problem = cold_ingest(tt, args.repeat, peers.ccusage_args(ccusage) if ccusage.ready else None)
        checks = check_totals(tt, expected)
        base_requests = sum(expected[k]["requests"] for k in ("claude_code", "openclaw"))
        res["cold"], res["checks"] = vars(cold) | {"last": None}, checks
        cc_totals = cm_totals = None
        cm = None
        if ccusage.ready:
            if cc_problem:
                log(f"    ccusage failed: {cc_problem}")
            else:
                cc_totals = peers.ccusage_totals(cc.last.stdout)
            res["ccusage"] = vars(cc) | {"last": None, "totals": cc_totals} if cc else {"problem": cc_problem}

        tui = None
        if not tui_problem:
            log(f"  tokentop TUI first paint ×{args.repeat} …")
            tui = tui_stats(tt, args.repeat)
            res["tui"] = tui
        log(f"  tokentop warm report ×{args.repeat} …")
        warm, warm_seen, warm_file = warm_report(tt, args.repeat, base_requests)
        res["warm"] = vars(warm) | {"last": None, "appended_line_counted": warm_seen, "file": warm_file}
        log(f"  tokentop incremental ingest ×{args.repeat} …")
        incr = incremental_ingest(tt, args.repeat)
        res["incremental"] = vars(incr) | {"last": None}

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
        rows.append([size, "incremental: ingest after 1 appended line", incr.cell(), "—", "—", "—", "—"])
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
                           f"{expected['lines']} lines (seed {args.seed}, {args.mix} mix)")
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
        single, _, _ = cold_ingest(tt, 1)
        checks = check_totals(tt, expected)
        results["single_file"] = {"size": size, "cold": vars(single) | {"last": None}, "checks": checks}
        multi = results["sizes"][size]["cold"]
        rows.append([size, "cold ingest, ONE session file (bounded memory)", single.cell(), "—", "—", "—", "—"])
        check_lines.append(f"[{size} as one file] totals: "
                           + ("✓ all equal expected.json" if all(c["ok"] for c in checks) else
                              "✗ " + ", ".join(f"{c['source']} {c['field']}" for c in checks if not c["ok"]))
                           + f"; peak RSS {single.rss_mb:.0f} MB one file vs {multi['rss_mb']:.0f} MB many files")
    if not args.no_commands:
        log(f"statusline / hook ×{args.command_runs} (bench_commands.py) …")
        results["commands"] = command_p95(args.command_runs)
    results["loads"].append(os.getloadavg()[0])

    log("")
    log(summary_table(results, sizes, ccusage))
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
    log(f"\nbench finished in {results['seconds']:.0f} s; 1-minute load average during it: "
        + ", ".join(f"{x:.2f}" for x in results["loads"]))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    failed = any(not c["ok"] for s in results["sizes"].values() for c in s["checks"])
    failed |= any(not c["ok"] for c in results.get("single_file", {}).get("checks", []))
    return 1 if failed else 0


def summary_table(results: dict, sizes: list[str], ccusage: peers.Peer) -> str:
    """workload | tokentop | ccusage | ratio | limit: the figures of issue 15, with the floor beside each."""
    rows = [["workload", "tokentop", f"ccusage {ccusage.version or ''}".strip(), "ratio", "limit"]]
    for size in sizes:
        res = results["sizes"][size]
        lim = res["limits"]
        cc = res.get("ccusage") or {}
        cc_wall = cc.get("wall")
        floor = f"read {fmt_s(lim['read_s'])}"
        if lim["decode_s_per_core"] is not None:
            floor += (f" · {lim['decoder']} decode {fmt_s(lim['decode_s_per_core'])}/core "
                      f"(≥ {fmt_s(lim['decode_s_per_core'] / lim['cores'])} on {lim['cores']})")
        mb = res["bytes"] / (1 << 20)
        size_text = f"{mb / 1024:.1f} GB" if mb >= 1024 else f"{mb:.0f} MB"
        rows.append([f"cold ingest, {size_text}", fmt_s(res["cold"]["wall"]),
                     fmt_s(cc_wall) if cc_wall else cc.get("problem", "not measured")[:40],
                     ratio(res["cold"]["wall"], cc_wall), floor])
    big = results["sizes"][sizes[-1]]
    cc = big.get("ccusage") or {}
    cc_wall = cc.get("wall")
    rows.append([f"warm report daily --json, {sizes[-1]}", fmt_s(big["warm"]["wall"]),
                 f"{fmt_s(cc_wall)} (no store)" if cc_wall else "—", ratio(big["warm"]["wall"], cc_wall),
                 f"tokentop --version {fmt_s(results['startup'])}"])
    rows.append([f"incremental ingest, {sizes[-1]}", fmt_s(big["incremental"]["wall"]),
                 f"{fmt_s(cc_wall)} (no store)" if cc_wall else "—", ratio(big["incremental"]["wall"], cc_wall),
                 f"tokentop --version {fmt_s(results['startup'])}"])
    commands = results.get("commands")
    if commands:
        floor_ms = commands.get("python -c pass")
        for name in ("tokentop statusline", "tokentop hook"):
            value = commands.get(name)
            rows.append([f"{name.split()[1]} p95", f"{value:.0f} ms" if value else
                         f"not measured: {commands.get('problem') or '?'}"[:40], "—",
                         f"{value / floor_ms:.2f}× python" if value and floor_ms else "—",
                         f"python -c pass p95 {floor_ms:.0f} ms" if floor_ms else "—"])
    rows.append([f"peak RSS, cold {sizes[-1]}", f"{big['cold']['rss_mb']:.0f} MB",
                 f"{cc['rss_mb']:.0f} MB" if cc.get("rss_mb") else "—",
                 ratio(big["cold"]["rss_mb"], cc.get("rss_mb")), "target ≤ 300 MB"])
    return table(rows)


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
    """The targets of issue 15, judged on every size measured."""
    lines = ["targets (issue 15):"]

    def line(ok: bool | None, text: str) -> None:
        lines.append(f"  {'✓' if ok else ('?' if ok is None else '✗')} {text}")

    for size in sizes:
        res = results["sizes"][size]
        cold, cc_wall = res["cold"], (res.get("ccusage") or {}).get("wall")
        line(cold["wall"] <= cc_wall if cc_wall else None,
             f"{size}: cold ingest ≤ 1.0× ccusage: {fmt_s(cold['wall'])} vs {fmt_s(cc_wall) if cc_wall else '—'} "
             f"= {ratio(cold['wall'], cc_wall)}")
        line(cold["rss_mb"] <= 300, f"{size}: cold ingest peak RSS ≤ 300 MB: {cold['rss_mb']:.0f} MB")
    size = sizes[-1]
    res = results["sizes"][size]
    warm, cc_wall = res["warm"], (res.get("ccusage") or {}).get("wall")
    line(warm["wall"] <= 0.1 * cc_wall if cc_wall else None,
         f"{size}: warm report ≤ 0.1× ccusage: {ratio(warm['wall'], cc_wall)}")
    commands = results.get("commands") or {}
    floor_ms = commands.get("python -c pass")
    for name in ("tokentop statusline", "tokentop hook"):
        value = commands.get(name)
        line(value <= 2.5 * floor_ms if value and floor_ms else None,
             f"{name} p95 ≤ 2.5× python -c pass: " + (f"{value:.0f} ms vs {floor_ms:.0f} ms = "
                                                      f"{value / floor_ms:.2f}×" if value and floor_ms else "—"))
    tui = res.get("tui")
    if tui and tui.get("data") is not None:
        line(tui["data"] <= 1.0, f"TUI data on screen ≤ 1 s: frame {fmt_s(tui['frame'])}, data {fmt_s(tui['data'])}")
    else:
        line(None, "TUI data on screen ≤ 1 s: not measured")
    single = results.get("single_file")
    if single:
        rss = single["cold"]["rss_mb"]
        line(rss <= 300, f"one {single['size']} file in bounded memory: peak RSS {rss:.0f} MB")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
