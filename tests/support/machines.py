"""Simulated machines for the sync tests: each has its own HOME (with its own Claude Code logs), its own store and
name, and all share one sync folder. Commands run through the real command line, in process."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

from support.loglines import assistant, write_lines

_ENV = ("HOME", "TOKENTOP_MACHINE", "TOKENTOP_SYNC_DIR", "TOKENTOP_DB", "TOKENTOP_CONFIG")


class Machine:
    def __init__(self, root: Path, name: str, folder: Path, config: str = "retention_days = 100000\n"):
        self.name = name
        self.home = root / name
        self.folder = folder
        self.db = self.home / ".claude-usage" / "usage.db"
        self.projects = self.home / ".claude" / "projects"
        self.projects.mkdir(parents=True, exist_ok=True)
        self.config = self.home / "config.toml"
        self.config.write_text(config)

    @contextlib.contextmanager
    def env(self):
        saved = {k: os.environ.get(k) for k in _ENV}
        os.environ.update(HOME=str(self.home), TOKENTOP_MACHINE=self.name, TOKENTOP_SYNC_DIR=str(self.folder),
                          TOKENTOP_DB=str(self.db), TOKENTOP_CONFIG=str(self.config))
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def run(self, *argv: str) -> tuple[int, str]:
        from tokentop.tui.cli.main import main
        out = io.StringIO()
        with self.env(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
            code = main(list(argv))
        return code, out.getvalue()

    def json(self, *argv: str) -> dict:
        code, text = self.run(*argv, "--json")
        assert code in (0, 10, 20), text
        return json.loads(text)

    def sync(self) -> str:
        code, text = self.run("sync")
        assert code == 0, text
        return text

    def session(self, session: str, responses: list[dict], project: str = "app") -> Path:
        """A transcript with one assistant line per response dict (assistant()'s keyword arguments + msg/req)."""
        path = self.projects / f"-home-u-{project}" / f"{session}.jsonl"
        lines = [assistant(r.pop("msg"), r.pop("req", "req_" + session[:4]), session=session, **r)
                 for r in (dict(r) for r in responses)]
        write_lines(path, lines, mode="a")
        return path
