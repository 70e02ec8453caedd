"""Support for the end-to-end suite and bench/bridge.py: the shared browser, the test apps, a portal session
that drives one test app inside the portal page (the apps' origin is ``app_origin.AppOrigin``).

* ``SharedBrowser`` — one Chromium (system binary, flags of clients.md §5) started lazily and stopped on
  demand: Playwright's sync API allows one instance per thread, and other modules start their own.
* ``TestApp`` — an app installed on the portal with a PAGE_BACKGROUND_WORKER row for one user and a
  CALL_CARD row; ``PortalSession`` — that user's portal page and the app's worker frame, with helpers
  that call into the frame (``testApp`` in ``apps/common.js``) and read the card's DOM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from app_origin import AppOrigin

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
CARD = "[data-callcard='card']"
#: what CallCard* guard failures answer (call-card.md §4)
CARD_UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]
INVALID_UI_STATE = [{"result": "error", "errorCode": "Invalid ui state"}]


def wait_until(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.03)


# -- the browser -----------------------------------------------------------------------------------------


class SharedBrowser:
    """One Chromium under Playwright's sync API, started on first use."""

    def __init__(self) -> None:
        self._playwright: Any = None
        self._browser: Any = None

    def get(self) -> Any:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return self._browser

    def stop(self) -> None:
        browser, playwright = self._browser, self._playwright
        self._browser = self._playwright = None
        if browser is not None:
            try:
                browser.close()
            except Exception:  # already gone
                pass
        if playwright is not None:
            playwright.stop()


# -- apps and portal sessions ----------------------------------------------------------------------------


@dataclass
class TestApp:
    """An app installed on the portal: its worker frame is rendered for ``user_id`` only."""

    __test__ = False  # not a pytest test class

    sdk: str  # "b24jssdk" | "bx24"
    app: Any  # callcard.testing.server.InstalledApp
    user_id: int
    page_path: str  # "/b24jssdk.html" | "/bx24.html"
    worker_row: int = 0
    tab_row: int = 0

    @property
    def empty(self) -> Any:
        """What the SDK hands a handler for an event without payload (`<cb>:`)."""
        return "" if self.sdk == "b24jssdk" else []

    @property
    def silence(self) -> Any:
        """What ``testApp.call`` resolves with when the host never answers: b24jssdk resolves safe-mode
        calls by itself after 900 ms; legacy BX24 never calls back (the test app gives up after 1 s)."""
        return {"isSafely": True} if self.sdk == "b24jssdk" else {"noReply": True}


def install_test_app(server: Any, origin: AppOrigin, sdk: str, user_id: int) -> TestApp:
    """Install an app over the control API and bind its placements over REST, as its admin would."""
    page_path = f"/{sdk}.html"
    app = server.install_app(f"{sdk} test app", handler=f"{origin.url}{page_path}")
    worker = server.rest("placement.bind", {
        "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": f"{origin.url}{page_path}?role=worker",
        "OPTIONS": {"errorHandlerUrl": f"{origin.url}/sink/error"}, "USER_ID": user_id,
    }, auth=app)
    tab = server.rest("placement.bind", {
        "PLACEMENT": "CALL_CARD", "HANDLER": f"{origin.url}{page_path}?role=tab", "TITLE": f"{sdk} tab",
    }, auth=app)
    assert worker.ok and tab.ok, (worker.body, tab.body)
    placements = server.services.placements
    found = TestApp(sdk, app, user_id, page_path)
    found.worker_row = next(int(r["id"]) for r in placements.background_rows(user_id, False)
                            if int(r["app_id"]) == app.app_id)
    found.tab_row = next(int(r["id"]) for r in placements.call_card_rows(False)
                         if int(r["app_id"]) == app.app_id)
    return found


def frame_where(page: Any, match: Callable[[str], bool], timeout: float = 10.0) -> Any:
    """The first frame of ``page`` (nested ones too) whose URL ``match``es."""
    deadline = time.monotonic() + timeout
    while True:
        frame = next((f for f in page.frames if match(f.url)), None)
        if frame is not None:
            return frame
        if time.monotonic() > deadline:
            raise AssertionError("no such frame in the portal page")
        page.wait_for_timeout(50)  # Playwright updates page.frames only while it runs a call


def find_frame(page: Any, path: str, role: str | None = None, timeout: float = 10.0) -> Any:
    """The frame whose URL has ``path`` (and ``role=<role>``), once its test app is ready."""
    def match(url: str) -> bool:
        parts = urlsplit(url)
        return parts.path == path and (role is None or dict(parse_qsl(parts.query)).get("role") == role)

    frame = frame_where(page, match, timeout)
    # polling on a timer: requestAnimationFrame never fires in hidden background frames
    frame.wait_for_function("window.testApp && (testApp.ready || testApp.error)",
                            timeout=timeout * 1000, polling=50)
    error = frame.evaluate("testApp.error")
    assert error is None, f"the test app failed to start: {error}"
    return frame


class PortalSession:
    """A user's portal page with one test app's worker frame."""

    def __init__(self, server: Any, origin: AppOrigin, page: Any, app: TestApp) -> None:
        self.server = server
        self.origin = origin
        self.page = page
        self.app = app
        self.worker = find_frame(page, app.page_path, "worker")

    # -- the app in its frame ---------------------------------------------------------------------------

    def call(self, command: str, params: Any = None, frame: Any = None) -> Any:
        """``placement.call`` from the app; the reply it got (or ``app.silence``)."""
        return (frame or self.worker).evaluate("([c, p]) => testApp.call(c, p)", [command, params or {}])

    def rest(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        """A REST call made by the SDK in the frame: ``{"result": ...}`` or ``{"error": ...}``."""
        reply: dict[str, Any] = self.worker.evaluate("([m, p]) => testApp.rest(m, p)", [method, params])
        return reply

    def events(self, name: str | None = None, frame: Any = None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (frame or self.worker).evaluate("testApp.events")
        return [e for e in found if name is None or e["name"] == name]

    def payloads(self, short: str) -> list[Any]:
        return [e["payload"] for e in self.events("BackgroundCallCard::" + short)]

    def wait_event(self, short: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        """Payloads of ``BackgroundCallCard::<short>`` once at least ``count`` have arrived."""
        name = "BackgroundCallCard::" + short
        self.worker.wait_for_function(
            "([n, c]) => testApp.events.filter(e => e.name === n).length >= c", arg=[name, count],
            timeout=timeout * 1000, polling=20,
        )
        return self.payloads(short)

    def settle(self, bindings: int = 17) -> None:
        """Wait until the page holds ``bindings`` bindings, all older than the bind guard, so events are
        posted at once (wire-protocol.md §9.1)."""
        self.page.wait_for_function(
            """n => { const b = window.callcardBridge, g = callcardPage.boot.guardMs;
                      return b.bindings.length >= n && b.bindings.every(x => performance.now() - x.at > g + 30); }""",
            arg=bindings, polling=50, timeout=10000,
        )

    def register_call(self, phone: str, **params: Any) -> str:
        """telephony.externalCall.register from the app (SHOW defaults to 1): the card opens."""
        reply = self.rest("telephony.externalCall.register",
                          {"USER_ID": self.app.user_id, "PHONE_NUMBER": phone, "TYPE": 2, **params})
        assert "result" in reply, reply
        call_id: str = reply["result"]["CALL_ID"]
        return call_id

    def open_card(self, phone: str) -> str:
        """Settle, register a call, wait for the card and ``initialized``; the CALL_ID."""
        self.settle()
        before = len(self.payloads("initialized"))
        call_id = self.register_call(phone)
        self.wait_state("externalCard")
        self.wait_event("initialized", before + 1)
        return call_id

    def frame_where(self, match: Callable[[str], bool], timeout: float = 10.0) -> Any:
        return frame_where(self.page, match, timeout)

    def beacons(self, sid: str) -> list[dict[str, Any]]:
        """What the tab frame ``sid`` reported to its origin (``/sink/event``), once something came."""

        def mine() -> list[dict[str, Any]]:
            items = [json.loads(r.body) for r in self.origin.posts("/sink/event")]
            return [item for item in items if item.get("sid") == sid]

        wait_until(mine, what="a beacon from the tab frame")
        self.page.wait_for_timeout(300)  # a second one would be here by now
        return mine()

    # -- the card's DOM ---------------------------------------------------------------------------------

    def state(self) -> str | None:
        card = self.page.locator(CARD)
        return card.get_attribute("data-ui-state") if card.count() else None

    def wait_state(self, state: str) -> None:
        self.page.wait_for_selector(f"{CARD}[data-ui-state='{state}']", state="attached", timeout=5000)

    def wait_closed(self) -> None:
        self.page.wait_for_selector(CARD, state="detached", timeout=5000)

    def text(self, role: str) -> str:
        return str(self.page.locator(f"{CARD} [data-role='{role}']").first.text_content())

    def action_buttons(self) -> list[str]:
        """The action row's buttons left to right (fold lives in the header)."""
        names: list[str] = self.page.eval_on_selector_all(
            f"{CARD} footer [data-button]", "els => els.map(e => e.getAttribute('data-button'))")
        return names

    def has_fold(self) -> bool:
        return bool(self.page.locator(f"{CARD} .cc-topbar [data-button='fold']").count() == 1)

    def click(self, button: str) -> None:
        self.page.click(f"{CARD} [data-button='{button}']")

    def set_state(self, state: str) -> None:
        assert self.call("CallCardSetUiState", {"uiState": state}) == []
        self.wait_state(state)


def portal_login(browser: Any, server: Any, user_id: int) -> tuple[Any, Any]:
    """A new browser context logged in to the portal as ``user_id``: (context, page), page connected."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15000)
    page = context.new_page()
    page.goto(server.login_url(user_id))
    page.wait_for_selector("html[data-ws='open']", state="attached")
    return context, page

