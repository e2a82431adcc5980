"""`ingest --follow` with a sync folder and --status-file: it syncs at start and on exit, and keeps a status file."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.request

from support.machines import Machine


def wait_for(check, seconds=30.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return False


def test_follow_syncs_and_writes_the_status_file(tmp_path):
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop, desktop = (Machine(tmp_path / "homes", n, folder) for n in ("laptop", "desktop"))
    desktop.session("bbbb0000-0000-4000-8000-000000000002",
                    [{"msg": "msg_d1", "output": 7, "ts": "2026-11-23T10:00:00.000Z"}])
    desktop.sync()
    laptop.session("aaaa0000-0000-4000-8000-000000000001",
                   [{"msg": "msg_l1", "output": 40, "ts": "2026-11-24T10:00:00.000Z"}])
    status = tmp_path / "out" / "status.json"
    status.parent.mkdir()
    env = dict(os.environ, HOME=str(laptop.home), TOKENTOP_MACHINE="laptop", TOKENTOP_DB=str(laptop.db),
               TOKENTOP_CONFIG=str(laptop.config), TOKENTOP_SYNC_DIR=str(folder))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "tokentop.tui.cli", "ingest", "--follow", "--poll",
                             "--status-file", str(status), "--metrics", f"127.0.0.1:{port}"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert wait_for(status.exists), "no status file"
        assert wait_for(lambda: (folder / "laptop" / "usage-2026-11.tokentop.gz").exists()), "not published"
        payload = json.loads(status.read_text())
        assert payload["level"] in ("ok", "warning", "critical") and "week" in payload["windows"]
        assert stat.S_IMODE(status.stat().st_mode) == 0o600
        assert not [p for p in status.parent.iterdir() if p.name.startswith(".")]  # no temp file left
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:  # loopback only
            text = r.read().decode()
        assert 'tokentop_tokens_total{kind="output",machine="desktop",model="claude-sonnet-4-5-20250929",' \
               'source="claude-code"} 7.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "sync: merged 2 files" in out  # the desktop's month and its limits file
    t = laptop.json("report", "daily", "--no-ingest")["totals"]
    assert t["output_tokens"] == 47
    desktop.sync()
    assert desktop.json("report", "daily", "--no-ingest")["totals"]["output_tokens"] == 47
