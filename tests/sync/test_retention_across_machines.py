"""Retention with several machines: each machine rolls up only its own rows; a peer's rows become rollups when that
peer rolls them up and publishes, and are never counted twice on the way."""

from __future__ import annotations

from support.machines import Machine


def test_rollups_move_between_machines_without_double_counting(tmp_path):
    folder = tmp_path / "Sync"
    folder.mkdir()
    laptop = Machine(tmp_path / "homes", "laptop", folder, config="retention_days = 30\n")
    desktop = Machine(tmp_path / "homes", "desktop", folder)  # keeps every response as a row, for now
    laptop.session("aaaa0000-0000-4000-8000-000000000001", [
        {"msg": "msg_l_old", "output": 1000, "ts": "2026-08-10T10:00:00.000Z"},
        {"msg": "msg_l_new", "output": 10, "ts": "2026-11-20T10:00:00.000Z"}])
    desktop.session("bbbb0000-0000-4000-8000-000000000002", [
        {"msg": "msg_d_old", "output": 200, "ts": "2026-08-11T10:00:00.000Z"},
        {"msg": "msg_d_new", "output": 3, "ts": "2026-11-21T10:00:00.000Z"}])
    for m in (laptop, desktop, laptop, desktop):
        m.sync()

    def state(m):
        from tokentop.ingest.store.store import Store
        with Store(m.db, machine=m.name) as s:
            return dict(s.db.execute(
                "SELECT machine || ':' || kind, n FROM (SELECT machine, 'rows' AS kind, COUNT(*) AS n FROM requests "
                "GROUP BY machine UNION ALL SELECT machine, 'rolled', SUM(requests) FROM rollups GROUP BY machine)"))

    for m in (laptop, desktop):
        assert m.json("report", "daily", "--no-ingest")["totals"]["output_tokens"] == 1213
    # The laptop rolled up its own old response only; the desktop's old one is still a row there.
    assert state(laptop) == {"laptop:rows": 1, "laptop:rolled": 1, "desktop:rows": 2}
    assert state(desktop) == {"laptop:rows": 1, "laptop:rolled": 1, "desktop:rows": 2}

    desktop.config.write_text("retention_days = 30\n")
    desktop.sync()  # now the desktop rolls up its old response and publishes the rollup
    laptop.sync()
    assert state(laptop) == {"laptop:rows": 1, "laptop:rolled": 1, "desktop:rows": 1, "desktop:rolled": 1}
    for m in (laptop, desktop):
        t = m.json("report", "monthly", "--no-ingest")
        assert {r["key"]: r["output_tokens"] for r in t["rows"]} == {"2026-08": 1200, "2026-11": 13}
        assert t["totals"]["requests"] == 4
