"""Run inside claude-monitor's venv: its `--view daily` data load over every file, printed as one JSON line of totals.

    bench/.peers/venv/bin/python tests/bench/cm_daily.py DATA_PATH [DATA_PATH ...]

`claude-monitor --view daily` builds the same `UsageAggregator`, then draws a table and waits for Ctrl+C, so it
cannot be timed as a command; this is the part of it that reads the logs. Its log messages go to stderr."""

import json
import sys

from claude_monitor.data.aggregator import UsageAggregator

aggregator = UsageAggregator(data_path=sys.argv[1:], aggregation_mode="daily", timezone="UTC")
print(json.dumps(aggregator.calculate_totals(aggregator.aggregate())))
