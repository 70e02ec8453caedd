"""Fixtures of the end-to-end suite (pytest + Playwright + Debian's chromium).

* ``stack`` [session] — callcard (``callcard.testing.server.CallcardServer``: uvicorn in a thread on
  ``127.0.0.1``, test settings) and the test apps' origin (``AppOrigin`` on ``localhost``), with two apps
  installed: the b24jssdk app (worker frame for user 2) and the BX24 app (worker frame for user 3), each
  with a CALL_CARD tab. The server is reset after every test.
* ``browser`` [session, shared] — one Chromium for the modules that set ``SHARED_BROWSER = True``. Other
  modules in this directory start their own Playwright; a sync Playwright is one per thread, so the
  shared one is stopped before any of them runs and started again on the next use.
* ``session`` — a fresh browser context: the test app's user logged in to the portal, the app's worker
  frame ready (``PortalSession``). Test classes set ``SDK = "b24jssdk" | "bx24"``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from app_origin import SDK_FILE, AppOrigin  # noqa: E402
from e2e_support import (  # noqa: E402
    CHROMIUM,
    PortalSession,
    SharedBrowser,
    TestApp,
    install_test_app,
    portal_login,
    wait_until,
)

USERS = {"b24jssdk": 2, "bx24": 3}
_SHARED = SharedBrowser()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    # Stop the shared browser before a module that runs its own Playwright (or at the very end).
    module = getattr(nextitem, "module", None)
    if nextitem is None or not getattr(module, "SHARED_BROWSER", False):
        _SHARED.stop()


@pytest.fixture(scope="session")
def browser() -> Any:
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}")
    return _SHARED


@pytest.fixture(scope="session")
def app_origin() -> Iterator[AppOrigin]:
    with AppOrigin() as origin:
        yield origin


@pytest.fixture(scope="session")
def stack(app_origin: AppOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from callcard.testing.server import CallcardServer

    if not SDK_FILE.exists():
        pytest.skip("b24jssdk is not installed (scripts/bootstrap --test)")
    with CallcardServer(tmp_path_factory.mktemp("callcard-e2e")) as server:
        apps = {sdk: install_test_app(server, app_origin, sdk, user) for sdk, user in USERS.items()}
        yield {"server": server, "origin": app_origin, "apps": apps}


@pytest.fixture
def server(stack: dict[str, Any]) -> Any:
    return stack["server"]


@pytest.fixture
def open_page(stack: dict[str, Any], browser: SharedBrowser) -> Iterator[Any]:
    """``open_page(user_id)`` -> a logged-in, connected portal page in a fresh context."""
    server = stack["server"]
    opened: list[tuple[int, Any]] = []

    def open_(user_id: int) -> Any:
        context, page = portal_login(browser.get(), server, user_id)
        opened.append((user_id, context))
        return page

    yield open_
    for user_id, context in opened:
        try:
            context.close()
        except Exception:  # the browser went away with a failed test
            pass
        # the next test's page must not race this one's WebSocket for the card
        wait_until(partial(_no_pages, server, user_id), what="the page to go")
    server.reset()


def _no_pages(server: Any, user_id: int) -> bool:
    return not server.services.pages.pages_of(user_id)


@pytest.fixture
def test_app(request: pytest.FixtureRequest, stack: dict[str, Any]) -> TestApp:
    sdk = getattr(request.cls, "SDK", None) or getattr(request.module, "SDK", None)
    assert sdk in USERS, "set SDK on the test class or module"
    app: TestApp = stack["apps"][sdk]
    return app


@pytest.fixture
def session(stack: dict[str, Any], test_app: TestApp, open_page: Any) -> PortalSession:
    page = open_page(test_app.user_id)
    return PortalSession(stack["server"], stack["origin"], page, test_app)
