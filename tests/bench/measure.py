"""Timing one command in a fresh child process: wall clock, user+sys CPU and peak RSS from wait4, medians of N."""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Run:
    """One finished child. CPU and RSS include the grandchildren it waited for (tokentop's parse workers)."""

    wall: float
    user: float
    sys: float
    rss_mb: float
    """Peak resident set of the largest single process in the tree (ru_maxrss is a max, not a sum)."""
    code: int
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False

    @property
    def cpu(self) -> float:
        return self.user + self.sys

    @property
    def ok(self) -> bool:
        return self.code == 0 and not self.timed_out


@dataclass
class Stat:
    """The median of several runs of the same job, plus every wall time so spread stays visible."""

    wall: float
    cpu: float
    rss_mb: float
    walls: list[float] = field(default_factory=list)
    last: Run | None = None

    def cell(self) -> str:
        return f"{fmt_s(self.wall)} / {fmt_s(self.cpu)} / {self.rss_mb:.0f} MB"


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s"


def run(cmd: list[str], env: dict | None = None, timeout: float = 600, stdin: bytes | None = None,
        cwd: str | None = None) -> Run:
    """Run `cmd` to completion and measure it. Output goes through temp files so a chatty child never blocks."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=err,
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                                start_new_session=True)
        if stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # its own session: only what it started
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"),
                   timed_out.is_set())


def median_of(runs: list[Run]) -> Stat:
    walls = [r.wall for r in runs]
    return Stat(statistics.median(walls), statistics.median(r.cpu for r in runs),
                statistics.median(r.rss_mb for r in runs), walls, runs[-1])
