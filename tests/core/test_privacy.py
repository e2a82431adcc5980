"""Nothing a person wrote or a tool returned ever reaches the store: scanned on a store built from real logs."""

from __future__ import annotations

import json
import os
import stat

from tokentop.ingest.context import make_context
from tokentop.tui.cli.main import main

# Identifiers and envelope metadata (ids, model, cwd, branch) are stored on purpose; everything else must not be.
ID_KEYS = {"id", "tool_use_id", "requestId", "model", "cwd", "sessionId", "uuid", "parentUuid", "gitBranch",
           "version", "timestamp", "agentId", "type", "slug"}


def content_strings(home) -> set[str]:
    """Every string inside message content, tool inputs and tool results of the real logs (≥ 24 chars)."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, str):
            if len(value) >= 24:
                found.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                if k not in ID_KEYS:  # tool-call ids are kept on purpose, to count calls once
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    for path in (home / ".claude" / "projects").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            message = entry.get("message")
            if isinstance(message, dict):
                walk(message.get("content"))
            walk(entry.get("toolUseResult"))
            walk(entry.get("data"))
    return found


def test_no_stored_column_or_byte_holds_message_text(real_logs_home):
    assert main(["ingest", "--quiet"]) == 0
    ctx = make_context()
    texts = content_strings(real_logs_home)
    assert len(texts) > 500  # the scan is only as good as what it looks for
    with ctx.open_store() as store:
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cells = []
        tables = [r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in store.db.execute(f"SELECT * FROM {table}"):
                cells.extend(v for v in row if isinstance(v, str))
        # A tool output that *is* the working directory (a `pwd`) equals a stored project path, by design.
        texts -= {r[0] for r in store.db.execute("SELECT DISTINCT project FROM requests")}
    dump = "\n".join(cells)
    leaked = [t for t in texts if t in dump]
    assert leaked == []
    raw = ctx.db_path.read_bytes()
    leaked_raw = [t for t in texts if t.encode() in raw]
    assert leaked_raw == []


def test_store_is_private(home):
    assert main(["ingest", "--quiet"]) == 0
    db = make_context().db_path
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700


def test_world_readable_store_is_tightened_with_a_warning(home, capsys):
    db = home / ".claude-usage" / "usage.db"
    db.parent.mkdir(mode=0o755)
    os.chmod(db.parent, 0o755)
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    capsys.readouterr()
    assert main(["ingest", "--quiet"]) == 0
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(db.parent).st_mode) == 0o700
    err = capsys.readouterr().err
    assert "was readable by other users (mode 755); tightened to 700" in err
    assert "usage.db was readable by other users (mode 644); tightened to 600" in err


def test_a_folder_the_user_chose_keeps_its_permissions(home, tmp_path):
    shared = tmp_path / "project"
    shared.mkdir()
    os.chmod(shared, 0o755)
    assert main(["--db", str(shared / "usage.db"), "ingest", "--quiet"]) == 0
    assert stat.S_IMODE(os.stat(shared).st_mode) == 0o755  # not ours to change
    assert stat.S_IMODE(os.stat(shared / "usage.db").st_mode) == 0o600


def test_the_sync_folder_holds_no_message_text(real_logs_home, tmp_path, monkeypatch):
    import gzip
    folder = tmp_path / "Sync"
    folder.mkdir()
    monkeypatch.setenv("TOKENTOP_SYNC_DIR", str(folder))
    monkeypatch.setenv("TOKENTOP_MACHINE", "me")
    assert main(["sync"]) == 0
    files = sorted((folder / "me").iterdir())
    assert len(files) >= 2
    raw = b"\n".join(gzip.decompress(p.read_bytes()) for p in files)
    assert b'"r",' in raw  # responses were published
    texts = content_strings(real_logs_home)
    with make_context().open_store() as store:
        texts -= {r[0] for r in store.db.execute("SELECT DISTINCT project FROM requests")}
    decoded = raw.decode()
    assert [t for t in texts if json.dumps(t)[1:-1] in decoded or t in decoded] == []
