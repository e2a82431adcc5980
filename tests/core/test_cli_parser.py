"""The command line's parser: report names match the report code, and the fast commands stay light."""

from __future__ import annotations

import subprocess
import sys

from tokentop.ingest.usage.reports import REPORTS
from tokentop.tui.cli import data as cli_data


def test_report_choices_match_the_report_code():
    assert cli_data.REPORTS == REPORTS


def test_building_the_parser_imports_no_report_or_textual_code():
    code = ("import sys; from tokentop.tui.cli.main import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.startswith(('tokentop.ingest.usage.reports', 'textual', "
            "'tokentop.ingest.store.store', 'tokentop.ingest.usage.limits', 'tokentop.ingest.usage.samples'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_db_and_config_work_before_or_after_the_command():
    from tokentop.tui.cli.main import build_parser
    parser = build_parser()
    before = parser.parse_args(["--db", "/a.db", "--config", "/c.toml", "report", "daily"])
    after = parser.parse_args(["report", "daily", "--db", "/a.db", "--config", "/c.toml"])
    neither = parser.parse_args(["report"])
    assert (before.db, before.config) == (after.db, after.config) == ("/a.db", "/c.toml")
    assert (neither.db, neither.config) == (None, None)
