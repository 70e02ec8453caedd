"""callcard's pytest plugin (entry point ``pytest11``): fixtures for testing telephony apps.

Installed with callcard; nothing to enable. Fixtures (scope in brackets):

* ``callcard_server`` [function; ``--callcard-server-scope=session`` or ``module`` shares one] — a real
  callcard in a thread on ``127.0.0.1:<free port>`` over a temporary data directory
  (``callcard.testing.server.CallcardServer``). A shared server is reset after every test
  (calls, cards, deliveries, findings, timeline).
* ``callcard_settings`` [same scope as the server] — a dict of ``Settings`` changes for that server;
  override it in a conftest or test module.
* ``callcard_app`` [function] — an installed app with tokens for the administrator (``InstalledApp``).
* ``open_portal`` [function] — ``open_portal(user_id=2)`` opens a new browser context logged in to the
  portal as that user and returns the Playwright page once it is connected.
* ``portal_page`` [function] — ``open_portal()`` done for you: the operator (user 2) on the portal.
* ``callcard_browser`` [module] — the system Chromium under Playwright (skips when either is missing).
* ``card`` [function] — the operator's call card (``Card``); presses click the real buttons in the newest
  portal page of the operator when there is one, else go through the control API.
* ``timeline`` [function] — the server's timeline (``Timeline``).

Everything is imported lazily: loading the plugin costs nothing and needs neither Playwright nor a
working callcard app until a fixture is used.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

import pytest

if TYPE_CHECKING:
    from .helpers import Card, Timeline
    from .server import CallcardServer, InstalledApp

__all__ = ["CHROMIUM", "CHROMIUM_ARGS"]

#: the system Chromium (Debian's ``chromium`` package); ``--callcard-chromium`` / ``CALLCARD_CHROMIUM``
CHROMIUM = "/usr/bin/chromium"
#: the launch flags of clients.md §5
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
_SCOPES = ("function", "module", "session")
Scope = Literal["function", "module", "session"]
_PAGE_TIMEOUT_MS = 15_000


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("callcard", "callcard fixtures")
    group.addoption("--callcard-server-scope", choices=_SCOPES, default=None,
                    help="scope of the callcard_server fixture (default: function, or the ini value)")
    group.addoption("--callcard-chromium", default=None, help=f"Chromium executable (default {CHROMIUM})")
    parser.addini("callcard_server_scope",
                  "scope of the callcard_server fixture: function, module or session", default="function")
    parser.addini("callcard_chromium", "Chromium executable for portal_page", default="")


def _configured_scope(config: pytest.Config) -> str:
    value = config.getoption("callcard_server_scope") or config.getini("callcard_server_scope")
    return str(value or "function")


def pytest_configure(config: pytest.Config) -> None:
    # checked here: an exception inside a fixture's scope function becomes an INTERNALERROR
    scope = _configured_scope(config)
    if scope not in _SCOPES:
        raise pytest.UsageError(f"callcard_server_scope must be one of {', '.join(_SCOPES)}, not {scope!r}")


def _server_scope(fixture_name: str, config: pytest.Config) -> Scope:
    scope = _configured_scope(config)
    return "session" if scope == "session" else "module" if scope == "module" else "function"


def pytest_report_header(config: pytest.Config) -> str:
    return f"callcard: server scope {_server_scope('callcard_server', config)}"


# -- the server ---------------------------------------------------------------------------------------------


@pytest.fixture(scope=_server_scope)
def callcard_settings() -> dict[str, Any]:
    """``Settings`` changes for ``callcard_server`` (``Settings.for_tests(data_dir, **changes)``)."""
    return {}


@pytest.fixture(scope=_server_scope)
def callcard_server_instance(
    callcard_settings: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CallcardServer]:
    """The server itself, in the configured scope; tests use ``callcard_server``."""
    from .server import CallcardServer

    server = CallcardServer(tmp_path_factory.mktemp("callcard"), **callcard_settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def callcard_server(callcard_server_instance: CallcardServer, request: pytest.FixtureRequest) -> Iterator[
        CallcardServer]:
    """A running callcard (``CallcardServer``): ``url``, ``control``, ``rest()``, ``install_app()``…"""
    yield callcard_server_instance
    if _server_scope("callcard_server", request.config) != "function" and callcard_server_instance.running:
        callcard_server_instance.reset()  # a shared server starts each test without the last one's calls


@pytest.fixture
def callcard_app(callcard_server: CallcardServer, request: pytest.FixtureRequest) -> Iterator[InstalledApp]:
    """An installed app (scopes telephony, placement, crm, user) with tokens for the administrator."""
    app = callcard_server.install_app(f"Test app ({request.node.name})"[:100])
    yield app
    if _server_scope("callcard_server", request.config) != "function" and callcard_server.running:
        _unbind_all(callcard_server, app)


def _unbind_all(server: CallcardServer, app: InstalledApp) -> None:
    """Remove the app's placements and event handlers, so a shared server's next test does not render
    frames of an app server that is gone."""
    token = server.services.directory.tokens.issue_tokens(app.app_id, 1).access_token
    for row in server.rest("placement.get", auth=token).result or []:
        server.rest("placement.unbind", {"PLACEMENT": row["placement"], "HANDLER": row["handler"]},
                    auth=token)
    for row in server.rest("event.get", auth=token).result or []:
        server.rest("event.unbind", {"event": row["event"], "handler": row["handler"]}, auth=token)


# -- the browser --------------------------------------------------------------------------------------------


def _chromium(config: pytest.Config) -> str:
    return str(config.getoption("callcard_chromium") or config.getini("callcard_chromium")
               or os.environ.get("CALLCARD_CHROMIUM") or CHROMIUM)


@pytest.fixture(scope="module")
def callcard_browser(pytestconfig: pytest.Config) -> Iterator[Any]:
    """Chromium under Playwright's sync API. Module-scoped: Playwright allows one sync instance per
    thread, so the browser is closed before the next module (which may start its own) runs."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="portal_page needs the playwright package")
    executable = _chromium(pytestconfig)
    if not Path(executable).exists():
        pytest.skip(f"no Chromium at {executable} (set --callcard-chromium or CALLCARD_CHROMIUM)")
    playwright = sync_api.sync_playwright().start()
    try:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def callcard_portal_pages() -> list[tuple[int, Any]]:
    """``(user_id, page)`` of every portal page the test opened, oldest first (shared by the fixtures)."""
    return []


@pytest.fixture
def open_portal(
    callcard_server: CallcardServer,
    callcard_portal_pages: list[tuple[int, Any]],
    request: pytest.FixtureRequest,
) -> Iterator[Callable[..., Any]]:
    """``open_portal(user_id=2, path="/")``: a fresh browser context logged in as ``user_id`` and its page,
    returned once the page's WebSocket is connected (so the page receives the user's call card).

    The portal renders the background frames registered when the page loads, as Bitrix24 does: bind
    your placements first, then open the portal.
    """
    from .server import OPERATOR_ID

    contexts: list[Any] = []

    def open_(user_id: int = OPERATOR_ID, path: str = "/") -> Any:
        browser = request.getfixturevalue("callcard_browser")
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        contexts.append(context)
        context.set_default_timeout(_PAGE_TIMEOUT_MS)
        page = context.new_page()
        login = callcard_server.login_url(user_id)
        page.goto(login + ("?next=" + quote(path, safe="/") if path != "/" else ""))
        page.wait_for_selector('html[data-ws="open"]', state="attached")
        callcard_portal_pages.append((user_id, page))
        return page

    yield open_
    for context in reversed(contexts):
        try:
            context.close()
        except Exception:  # the browser may already be gone at the end of a module
            pass


@pytest.fixture
def portal_page(open_portal: Callable[..., Any]) -> Any:
    """A Playwright page showing the portal, logged in as the operator (user 2)."""
    return open_portal()


# -- helpers ------------------------------------------------------------------------------------------------


@pytest.fixture
def card(callcard_server: CallcardServer, callcard_portal_pages: list[tuple[int, Any]]) -> Card:
    """The operator's (user 2) call card."""
    from .helpers import Card
    from .server import OPERATOR_ID

    def newest_page() -> Any:
        for user_id, page in reversed(callcard_portal_pages):
            if user_id == OPERATOR_ID and not page.is_closed():
                return page
        return None

    return Card(callcard_server, OPERATOR_ID, page=newest_page)


@pytest.fixture
def timeline(callcard_server: CallcardServer) -> Timeline:
    """The server's timeline: ``timeline.events(kind="event", name="BackgroundCallCard::*")``."""
    from .helpers import Timeline

    return Timeline(callcard_server)
