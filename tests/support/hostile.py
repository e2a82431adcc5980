"""A session whose title and folder are hostile text (markup, pipes, escapes), for the pages tokentop writes."""

from __future__ import annotations

from pathlib import Path

from support.history import NOW_MS, OPUS, iso
from support.loglines import assistant, summary, write_lines

EVIL_TITLE = "<script>alert(1)</script> | *bold* [x](javascript:1)\n# heading \x1b[31mred"
EVIL_CWD = "/home/u/<img src=x onerror=alert(2)>|pipe"


def write_evil_session(home: Path) -> None:
    """A session whose title and folder are hostile: 400,000 Opus cache-read tokens = $0.20, an hour ago."""
    line = assistant("msg_evil", "req_evil", output=0, input_=0, cache_read=400_000, model=OPUS,
                     ts=iso(NOW_MS - 3_600_000), session="evil-session", cwd=EVIL_CWD)
    write_lines(home / ".claude" / "projects" / "-home-u-evil" / "evil-session.jsonl", [summary(EVIL_TITLE), line])
