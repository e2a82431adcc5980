"""`tokentop serve` and `tokentop report --html` in a real browser: Debian's headless Chromium through Selenium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
from support.browser import chromium, screen_text
from support.history import OPUS, iso
from support.loglines import assistant, write_lines

pytest.importorskip("textual_serve", reason="the serve extra is not installed (pip install 'tokentop[serve]')")

CONFIG = 'timezone = "UTC"\nweekly_cap_usd = 4.0\n'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def spent_a_dollar(home, tmp_path):
    """One Opus response a minute ago: 2,000,000 cache-read tokens at $0.50/M = $1.00, a quarter of the $4 cap."""
    now = int(time.time() * 1000)
    line = assistant("msg_b1", "req_b1", output=0, input_=0, cache_read=2_000_000, model=OPUS, ts=iso(now - 60_000))
    write_lines(home / ".claude" / "projects" / "-home-u-src-app" / "s1.jsonl", [line])
    config = tmp_path / "config.toml"
    config.write_text(CONFIG, encoding="utf-8")
    return config


@pytest.fixture
def browser(tmp_path):
    driver = chromium(tmp_path)
    try:
        yield driver
    finally:
        if not getattr(driver, "closed_by_test", False):
            driver.quit()


def test_serve_opens_on_a_start_card_then_shows_the_live_week_gauge(spent_a_dollar, tmp_path, browser):
    from selenium.webdriver.common.by import By
    port = _free_port()
    db = tmp_path / "usage.db"
    server = subprocess.Popen([sys.executable, "-m", "tokentop.tui.cli", "serve", "--port", str(port),
                               "--db", str(db), "--config", str(spent_a_dollar)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ))
    try:
        url = f"http://127.0.0.1:{port}/"
        _wait(lambda: _listening(port), 20, "tokentop serve to listen")
        browser.get(url)
        start = browser.find_element(By.ID, "start")
        assert start.is_displayed() and "delay=1" in browser.current_url  # the start card, no process yet
        assert "tokentop" in browser.find_element(By.ID, "start-title").text
        start.click()
        # The served tokentop reads the log, then paints the week: $1.00 of the $4 cap.
        _wait(lambda: "~25%" in (t := screen_text(browser)) and "$1.00 of $4.00 est" in t, 40, "the week gauge")
        body_class = browser.find_element(By.TAG_NAME, "body").get_attribute("class")
        assert "-first-byte" in body_class  # the terminal is on screen, the card gone
        browser.save_screenshot(str(tmp_path / "serve.png"))
    finally:
        browser.quit()  # the browser goes first: with its websocket open the server waits on it before stopping
        browser.closed_by_test = True
        server.terminate()
        try:
            out, _ = server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            out, _ = server.communicate()
            raise AssertionError("tokentop serve did not stop on SIGTERM") from None
    assert f"http://127.0.0.1:{port}/" in out.decode() and "?token=" not in out.decode()


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_serve_off_this_machine_needs_the_token_on_the_page_and_the_websocket(tmp_path):
    import asyncio

    from aiohttp.test_utils import TestClient, TestServer

    from tokentop.tui.cli.serve import COOKIE, is_loopback, make_server
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")

    async def scenario() -> None:
        server = make_server("true", "0.0.0.0", 8000, "s3cret-token")
        async with TestClient(TestServer(await server._make_app())) as client:
            for path in ("/?go=1", "/ws", "/?go=1&token=wrong"):
                response = await client.get(path)
                assert response.status == 403, path
                assert "needs the token" in await response.text()
            response = await client.get("/", params={"token": "s3cret-token"}, allow_redirects=False)
            assert response.status == 302 and "delay=1" in response.headers["Location"]  # the start card first
            response = await client.get("/", params={"token": "s3cret-token", "go": "1"})
            assert response.status == 200 and response.cookies[COOKIE].value == "s3cret-token"
            assert "fonts.googleapis" not in await response.text()  # the page loads nothing from elsewhere
            response = await client.get("/?go=1")  # now the cookie carries it
            assert response.status == 200
            assert (await client.get("/static/js/textual.js")).status == 200

    asyncio.run(scenario())


def test_the_html_report_opens_in_the_browser_with_the_week_gauge_and_no_script(home, tmp_path, browser):
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from support.history import build_store
    from support.hostile import EVIL_TITLE, write_evil_session

    from tokentop.tui.cli.main import main
    write_evil_session(home)
    build_store(home)
    page = tmp_path / "usage.html"
    assert main(["report", "--html", str(page), "--no-ingest"]) == 0
    browser.get(page.as_uri())
    week = browser.find_element(By.ID, "gauge-week")
    # Today's week, by the wall clock: the fixture's history is older, so nothing is used of the $6 cap yet.
    assert week.find_element(By.CLASS_NAME, "value").text == "~0%"
    assert week.find_element(By.CLASS_NAME, "detail").text.startswith("$0.00 of $6.00 est")
    month = browser.find_element(By.ID, "gauge-month").find_element(By.CLASS_NAME, "detail").text
    assert month.endswith("of $200.00 budget · estimate")
    titles = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#sessions tbody td:nth-child(2)")]
    assert any(EVIL_TITLE.split("\n")[0] in t for t in titles)  # the hostile title shows as text
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - and its script never ran
    assert len(browser.find_elements(By.CSS_SELECTOR, ".days > div")) == 14
