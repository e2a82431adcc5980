"""Debian's headless Chromium through Selenium, for the tests that look at tokentop in a browser; they skip with
the reason when Chromium, its driver or Selenium is missing (`.ci/run` installs them when it can)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

CAPTURE_JS = """
window.__ttChunks = [];
const Native = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new Native(...args);
  socket.addEventListener("message", (e) => {
    if (typeof e.data !== "string") window.__ttChunks.push(Array.from(new Uint8Array(e.data)));
  });
  return socket;
};
window.WebSocket.prototype = Native.prototype;
"""
"""xterm.js draws on a canvas, so the page has no text to read: this records the terminal output the page
receives (what xterm.js paints), for `screen_text`."""

_ESCAPES = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[PX^_].*?\x1b\\|\x1b.")


def chromium(tmp_path: Path):
    """A headless Chromium (as root it needs --no-sandbox) with a fresh profile; skips when unavailable."""
    if CHROMIUM is None or CHROMEDRIVER is None:
        pytest.skip("Debian's chromium and chromium-driver are not installed (apt-get install chromium "
                    "chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1280,900",
                f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CAPTURE_JS})
    return driver


def screen_text(driver) -> str:
    """The terminal output received so far, escape sequences removed."""
    chunks = driver.execute_script("return window.__ttChunks || []")
    raw = bytes(b for chunk in chunks for b in chunk).decode("utf-8", "replace")
    return _ESCAPES.sub("", raw)
