"""`tokentop statusline --then COMMAND`: the user's previous statusline, run beside ours with the same stdin.

Standard library only (and imported only with --then), so the fast path can wrap too."""

from __future__ import annotations

THEN_TIMEOUT_S = 2.0
"""How long the wrapped (previous) statusline may take before it is killed and left out."""


class Wrapped:
    """The user's previous statusline command, started at once with the same stdin so both run side by side."""

    def __init__(self, command: str, stdin: bytes, timeout: float = THEN_TIMEOUT_S):
        import subprocess
        import threading

        self.timeout = timeout
        self.output: bytes = b""
        self.proc = None
        try:
            # The command comes from the user's own settings.json (recorded by install-hooks), never from stdin.
            self.proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError:
            return
        self.thread = threading.Thread(target=self._run, args=(stdin,), daemon=True)
        self.thread.start()

    def _run(self, stdin: bytes) -> None:
        import subprocess

        try:
            self.output, _ = self.proc.communicate(stdin, timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self._kill()
        except (OSError, ValueError):
            pass

    def _kill(self) -> None:
        import os
        import signal
        import subprocess
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: this ends it and anything it started
        except OSError:
            pass
        try:
            self.proc.communicate(timeout=0.5)
        except (subprocess.TimeoutExpired, OSError, ValueError):
            pass

    def lines(self) -> list[str]:
        if self.proc is None:
            return []
        self.thread.join(self.timeout + 1.0)
        return self.output.decode("utf-8", "replace").splitlines()


def combine(ours: str, theirs: list[str]) -> str:
    """Ours first, joined to their first line with " | " (Claude Code always shows the first line); their other
    lines follow unchanged."""
    if not theirs or not any(line.strip() for line in theirs):
        return ours
    return "\n".join([f"{ours} | {theirs[0]}", *theirs[1:]])
