"""`ingest/` is the core without a screen: importing all of it must not import Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import tokentop.ingest


def test_ingest_never_imports_textual():
    modules = [f"tokentop.ingest.{m.name}" for m in pkgutil.iter_modules(tokentop.ingest.__path__)]
    assert len(modules) >= 10
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules) +
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'textual_plotext', 'plotext'))\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_source_line_in_ingest_imports_textual():
    root = Path(tokentop.ingest.__file__).parent
    offenders = [str(p) for p in root.glob("*.py")
                 if any(line.lstrip().startswith(("import textual", "from textual"))
                        for line in p.read_text().splitlines())]
    assert offenders == []
