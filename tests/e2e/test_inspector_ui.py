"""The inspector's timeline in Chromium: a REST call made after the page loaded shows up live (over the
Server-Sent Events stream, no reload), expands to its payload, and is held back while the view is paused."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from callcard.app import create_app
from callcard.control.operations import Operations
from callcard.inspector import inspector_routes
from callcard.settings import Settings

pytestmark = pytest.mark.e2e
sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


class LiveServer:
    """callcard (with the inspector) under uvicorn on a free loopback port, in a thread."""

    def __init__(self, data_dir: Path) -> None:
        self.app = create_app(Settings.for_tests(data_dir))
        if not any(getattr(r, "path", "").startswith("/inspector") for r in self.app.router.routes):
            self.app.router.routes[0:0] = inspector_routes(self.app.state.services)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("callcard did not start")
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)

    @property
    def services(self) -> Any:
        return self.app.state.services


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(tmp_path) as live:
        yield live


@pytest.fixture
def page(server: LiveServer) -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 800})
        tab = context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        yield tab
        context.close()  # closes the event stream before the server stops
        browser.close()
        assert errors == [], errors


def row(page: Any, method: str) -> Any:
    return page.locator("tr.ci-row[data-kind='rest']", has_text=method)


def test_timeline_shows_a_rest_call_live(server: LiveServer, page: Any) -> None:
    creds = Operations(server.services).create_app("E2E Dialer", ["telephony", "user"])
    link = server.services.directory.sessions.create_login_link(1)
    page.goto(f"{server.url}/login/{link}?next=/inspector/")
    assert page.url.endswith("/inspector/")
    page.wait_for_selector(".ci-live.is-live", timeout=10_000)
    assert row(page, "user.current").count() == 0

    with httpx.Client(base_url=server.url) as http:
        assert http.post("/rest/user.current.json", data={"auth": creds["access_token"]}).status_code == 200
        fresh = row(page, "user.current")
        fresh.wait_for(timeout=3_000)  # pushed by the stream: the page was not reloaded
        assert "200" in fresh.locator(".c-status").inner_text()
        assert fresh.locator(".c-app").inner_text().startswith(f"#{creds['app_id']}")

        fresh.click()
        detail = page.locator("tr.ci-detail-row")
        detail.wait_for()
        assert "Request · user.current" in detail.inner_text()
        assert "Response · 200" in detail.inner_text()

        # paused: recorded on the server, held back in the view until resumed
        page.click("[data-action='pause']")
        http.post("/rest/app.info.json", data={"auth": creds["access_token"]})
        page.wait_for_selector(".ci-live.is-paused:has-text('1 new')", timeout=5_000)
        assert row(page, "app.info").count() == 0
        page.click("[data-action='pause']")
        row(page, "app.info").wait_for(timeout=2_000)

    # the kind chips filter in place
    page.click("button[data-kind='rest']")
    assert row(page, "user.current").is_hidden()
    page.click("button[data-kind='rest']")
    assert row(page, "user.current").is_visible()
