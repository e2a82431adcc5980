"""Several machines, one sync folder: union totals exact, per-machine rows adding up to them, overlap counted once."""

from __future__ import annotations

import shutil

import pytest
from support.machines import Machine

DAY = "2026-11-2{}T1{}:00:00.000Z"


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "Sync" / "tokentop"
    path.mkdir(parents=True)
    return path


def machines(tmp_path, folder, *names):
    return [Machine(tmp_path / "homes", name, folder) for name in names]


def totals(m: Machine, *extra: str) -> dict:
    return m.json("report", "daily", *extra)["totals"]


def by_machine(m: Machine) -> dict[str, dict]:
    return {r["key"]: r for r in m.json("report", "machines")["rows"]}


def test_two_machines_see_the_union_and_rows_per_machine_add_up(tmp_path, folder):
    laptop, desktop = machines(tmp_path, folder, "laptop", "desktop")
    laptop.session("aaaa0000-0000-4000-8000-000000000001", [
        {"msg": "msg_l1", "output": 100, "input_": 10, "ts": DAY.format(1, 0)},
        {"msg": "msg_l2", "output": 250, "cache_read": 1000, "ts": DAY.format(2, 1)}])
    desktop.session("bbbb0000-0000-4000-8000-000000000002", [
        {"msg": "msg_d1", "output": 7, "input_": 3, "cache_5m": 400, "ts": DAY.format(3, 2),
         "model": "claude-opus-4-6"}])
    laptop.sync()
    out = desktop.sync()
    assert "from 1 other machine" in out
    laptop.sync()
    for m in (laptop, desktop):
        t = totals(m)
        assert (t["output_tokens"], t["input_tokens"], t["cache_read_tokens"], t["cache_creation_tokens"]) == \
            (357, 16, 1000, 400)
        assert t["requests"] == 3
        rows = by_machine(m)
        assert set(rows) == {"laptop", "desktop"}
        assert rows["laptop"]["output_tokens"] == 350 and rows["desktop"]["output_tokens"] == 7
        assert sum(r["cost_usd"] for r in rows.values()) == pytest.approx(t["cost_usd"])
        assert rows[m.name]["this_machine"] is True
    only = laptop.json("report", "models", "--machine", "desktop")
    assert [r["key"] for r in only["rows"]] == ["claude-opus-4-6"] and only["totals"]["output_tokens"] == 7
    assert totals(desktop, "--machine", "laptop")["output_tokens"] == 350


def test_a_session_folder_synced_to_both_machines_counts_once_and_alike(tmp_path, folder):
    laptop, desktop = machines(tmp_path, folder, "laptop", "desktop")
    shared = laptop.session("cccc0000-0000-4000-8000-000000000003", [
        {"msg": "msg_s1", "output": 40, "ts": DAY.format(1, 0)},
        {"msg": "msg_s2", "output": 60, "ts": DAY.format(1, 1)}])
    # The user's sync tool also copies ~/.claude/projects: the same transcript exists on the desktop.
    copy = desktop.projects / shared.parent.name / shared.name
    copy.parent.mkdir(parents=True)
    shutil.copy(shared, copy)
    desktop.session("dddd0000-0000-4000-8000-000000000004", [{"msg": "msg_d9", "output": 5, "ts": DAY.format(2, 0)}])
    for _ in range(2):  # a second round sees every file a second time: nothing changes
        laptop.sync()
        desktop.sync()
        laptop.sync()
        for m in (laptop, desktop):
            assert totals(m)["output_tokens"] == 105
            assert totals(m)["requests"] == 3
    # Attributed alike on both machines: the tie goes to the name that sorts first.
    assert {k: v["output_tokens"] for k, v in by_machine(laptop).items()} == {"desktop": 105}
    assert {k: v["output_tokens"] for k, v in by_machine(desktop).items()} == {"desktop": 105}


def test_ten_machines_union_is_exact(tmp_path, folder):
    fleet = machines(tmp_path, folder, *(f"m{i:02d}" for i in range(10)))
    for i, m in enumerate(fleet):
        m.session(f"eeee0000-0000-4000-8000-0000000000{i:02d}", [
            {"msg": f"msg_{i}_{j}", "output": 10 * i + j, "input_": 1, "ts": DAY.format(j % 6, j % 10)}
            for j in range(1, 6)])
    for m in fleet:
        m.sync()
    for m in fleet:  # a second round: everyone has everyone's first files
        m.sync()
    expected = sum(10 * i + j for i in range(10) for j in range(1, 6))
    for m in (fleet[0], fleet[5], fleet[9]):
        assert totals(m)["output_tokens"] == expected
        assert totals(m)["requests"] == 50
        rows = by_machine(m)
        assert len(rows) == 10
        assert sum(r["output_tokens"] for r in rows.values()) == expected
        assert rows["m07"]["output_tokens"] == sum(70 + j for j in range(1, 6))


def test_new_lines_on_a_peer_replace_its_month_without_doubling(tmp_path, folder):
    laptop, desktop = machines(tmp_path, folder, "laptop", "desktop")
    session = "ffff0000-0000-4000-8000-000000000005"
    laptop.session(session, [{"msg": "msg_g1", "output": 1, "ts": DAY.format(1, 0)}])  # a streaming early line
    laptop.sync()
    desktop.sync()
    assert totals(desktop)["output_tokens"] == 1
    laptop.session(session, [{"msg": "msg_g1", "output": 90, "ts": DAY.format(1, 0)},  # its final line
                             {"msg": "msg_g2", "output": 9, "ts": DAY.format(1, 1)}])
    laptop.sync()
    desktop.sync()
    t = totals(desktop)
    assert (t["output_tokens"], t["requests"]) == (99, 2)


def test_an_unknown_machine_name_is_an_error_naming_the_known_ones(tmp_path, folder):
    laptop, desktop = machines(tmp_path, folder, "laptop", "desktop")
    laptop.session("aaaa0000-0000-4000-8000-000000000001", [{"msg": "msg_l1", "output": 1, "ts": DAY.format(1, 0)}])
    desktop.session("bbbb0000-0000-4000-8000-000000000002", [{"msg": "msg_d1", "output": 2, "ts": DAY.format(1, 1)}])
    desktop.sync()
    laptop.sync()
    code, _ = laptop.run("report", "daily", "--machine", "destkop")
    assert code == 2
    code, _ = laptop.run("status", "--machine", "desktop", "--no-ingest")
    assert code in (0, 10, 20)
    import contextlib
    import io
    err = io.StringIO()
    with contextlib.redirect_stderr(err), laptop.env():
        from tokentop.tui.cli.main import main
        assert main(["report", "daily", "--machine", "destkop", "--no-ingest"]) == 2
    assert "no usage from a machine of that name; the store has 'desktop', 'laptop'" in err.getvalue()
    status = laptop.json("status", "--machine", "desktop", "--no-ingest")
    assert status["machine"] == "desktop"


def test_sync_without_a_folder_says_how_to_set_one(tmp_path, folder):
    (laptop,) = machines(tmp_path, folder, "laptop")
    import contextlib
    import io
    import os
    err = io.StringIO()
    with laptop.env(), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        os.environ.pop("TOKENTOP_SYNC_DIR")
        from tokentop.tui.cli.main import main
        assert main(["sync"]) == 2
    assert "no sync folder is set: set sync_dir in the config" in err.getvalue()
    missing = Machine(tmp_path / "homes", "other", tmp_path / "nowhere")
    code, out = missing.run("sync")
    assert code == 1 and "is not a folder" in out
