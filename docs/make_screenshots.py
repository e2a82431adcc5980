"""Regenerate docs/overview.svg and docs/overview.txt: the overview over the test fixture store, clock pinned.

    python docs/make_screenshots.py          # needs tmux for the text capture

The SVG comes from Textual's save_screenshot; the text from `tmux capture-pane`, as a user's terminal shows it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent / "tests"))
SIZE = (120, 40)


def app_over_fixture(home: Path):
    os.environ["HOME"] = str(home)
    os.environ["TZ"] = "UTC"
    from test_tui_data import NOW_MS, build_store

    from tokentop.tui.app import TokentopApp
    return TokentopApp(build_store(home), clock=lambda: NOW_MS, watch=False)


async def save_svg(home: Path) -> None:
    app = app_over_fixture(home)
    async with app.run_test(size=SIZE) as pilot:
        ov = app._overview()
        while ov.overview is None or ov._loading or not ov.query_one("#alert-banner").display:
            await pilot.pause(0.05)
        app.clear_notifications()
        await pilot.pause(0.3)
        app.save_screenshot(filename="overview.svg", path=str(DOCS))


def serve(home: Path) -> None:
    """Run the app in this terminal (inside tmux), toasts cleared once the overview has loaded."""
    app = app_over_fixture(home)

    def clear() -> None:
        app.clear_notifications()
    app.call_later(lambda: app.set_timer(2.0, clear))
    app.run()


def main() -> int:
    if sys.argv[1:] == ["--serve"]:
        serve(Path(os.environ["SHOT_HOME"]))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(save_svg(Path(tmp) / "svg"))
        if shutil.which("tmux") is None:
            print("tmux not found: wrote overview.svg only")
            return 0
        home = Path(tmp) / "txt"
        home.mkdir()
        env = dict(os.environ, SHOT_HOME=str(home))
        subprocess.run(["tmux", "-L", "shots", "new", "-d", "-s", "shots", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                        f"{sys.executable} {__file__} --serve"], env=env, check=True)
        try:
            time.sleep(5)
            text = subprocess.run(["tmux", "-L", "shots", "capture-pane", "-p", "-t", "shots"], capture_output=True,
                                  text=True, check=True).stdout
        finally:
            subprocess.run(["tmux", "-L", "shots", "kill-server"], check=False)
    (DOCS / "overview.txt").write_text(text.rstrip("\n") + "\n")
    print("wrote docs/overview.svg and docs/overview.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
