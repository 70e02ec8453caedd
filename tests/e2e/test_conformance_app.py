"""The conformance report, driven by a deliberately misbehaving app (``apps/misbehaving.html``).

Every finding kind the report knows is triggered by the mistake that causes it on a real portal, made by a
real app in a real frame (b24jssdk or the classic BX24, whichever makes the mistake naturally), and read
back from ``GET /_callcard/conformance``: kind, severity, app, the message and detail of what happened, and
the kind's why/fix texts. Once, the inspector's conformance page is checked to show them. And the
negative control: the well-behaved test apps through a clean call, and the misbehaving app at rest,
produce no finding but the local-setup ones (handler URLs on ``localhost``).

This module runs its own callcard (like test_watchdog.py) so that the slow-load watchdog and the
"register without finish" grace are small enough to wait for: threshold 2 s / 2 strikes, grace 2 s.
The misbehaving app's worker frame is rendered for the administrator (user 1), so the app can also call
the admin-only binds (event.bind, placement.bind) from its own frame.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest
from app_origin import SDK_FILE, AppOrigin
from e2e_support import CARD_UNDEFINED, PortalSession, TestApp, install_test_app, wait_until

from callcard.domain.conformance import KINDS
from callcard.settings import WatchdogSettings

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True

ADMIN = 1  # the misbehaving app's user: an admin, so the app may bind handlers itself
SLOW_USER = 4  # the pages of the slow-loading registrations (nobody else's frames there)
THRESHOLD_MS = 2000
STRIKES = 2
DELAY_MS = 2600  # the slow handler page's answer time, well over the threshold
GRACE_S = 2.0  # unfinished_call_grace_s
SLOW_HANDLER_S = 3.4  # over callcard's 3 s slow-handler mark, well under the 10 s delivery timeout

USERS = {"b24jssdk": 2, "bx24": 3}  # the well-behaved apps' users, as in conftest.py
#: findings a local set-up cannot avoid (apps on http://localhost): allowed in a clean run
LOCAL_SETUP = {"dotless_handler_host"}

#: the severity each kind must be reported with (errors: the platform loses data or the app stops working)
SEVERITY = {
    "command_before_initialized": "warning",
    "hidden_ui_state": "warning",
    "awaited_timer": "warning",
    "duplicate_bind": "warning",
    "command_ignored": "warning",
    "register_without_finish": "warning",
    "finish_unknown_call": "error",
    "slow_frame_load": "warning",
    "watchdog_removed": "error",
    "handler_error": "error",
    "slow_handler": "warning",
    "rest_error": "warning",
    "event_held_back": "warning",
    "raw_params": "warning",
    "unknown_bind_event": "warning",
    "dotless_handler_host": "warning",
    "selector_cancelled": "warning",
}

_numbers = itertools.count(100)


def phone() -> str:
    return f"+4930555{next(_numbers):04d}"


# -- the stack ----------------------------------------------------------------------------------------------


def install_worker_app(server: Any, origin: AppOrigin, name: str, user_id: int, query: str = "") -> TestApp:
    """Install an app whose only registration is a PAGE_BACKGROUND_WORKER row of ``misbehaving.html``
    for ``user_id`` (no CALL_CARD tab: the other apps' cards stay as they are)."""
    app = server.install_app(name, handler=f"{origin.url}/misbehaving.html")
    reply = server.rest("placement.bind", {
        "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": f"{origin.url}/misbehaving.html?role=worker{query}",
        "OPTIONS": {"errorHandlerUrl": f"{origin.url}/sink/misbehaving-error"}, "USER_ID": user_id,
    }, auth=app)
    assert reply.ok, reply.body
    found = TestApp("misbehaving", app, user_id, "/misbehaving.html")
    found.worker_row = next(int(r["id"]) for r in server.services.placements.background_rows(user_id, False)
                            if int(r["app_id"]) == app.app_id)
    return found


@pytest.fixture(scope="module")
def stack(app_origin: AppOrigin, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """This module's callcard (it overrides conftest's ``stack``, so ``server`` and ``open_page`` use it):
    the two well-behaved test apps as everywhere else, plus the misbehaving app for the administrator."""
    from callcard.testing.server import CallcardServer

    if not SDK_FILE.exists():
        pytest.skip("b24jssdk is not installed (scripts/bootstrap --test)")
    settings = {"watchdog": WatchdogSettings(threshold_ms=THRESHOLD_MS, strikes=STRIKES),
                "unfinished_call_grace_s": GRACE_S}
    with CallcardServer(tmp_path_factory.mktemp("callcard-conformance"), **settings) as server:
        apps = {sdk: install_test_app(server, app_origin, sdk, user) for sdk, user in USERS.items()}
        misbehaving = install_worker_app(server, app_origin, "misbehaving app", ADMIN)
        yield {"server": server, "origin": app_origin, "apps": apps, "misbehaving": misbehaving}


@pytest.fixture
def mis(stack: dict[str, Any], open_page: Any) -> PortalSession:
    """The administrator's portal page with the misbehaving app's worker frame ready; the report empty."""
    server = stack["server"]
    server.reset()  # earlier findings (the set-up's own binds included) must not count for this test
    page = open_page(ADMIN)
    return PortalSession(server, stack["origin"], page, stack["misbehaving"])


def misbehave(session: PortalSession, scenario: str, *args: Any) -> Any:
    """Run ``misbehave.<scenario>(...args)`` in the app's frame; what the app saw."""
    return session.worker.evaluate("([name, args]) => misbehave[name].apply(null, args)", [scenario, list(args)])


# -- reading the report ---------------------------------------------------------------------------------------


def report(server: Any, app_id: int | None = None) -> dict[str, Any]:
    params = {"app_id": app_id} if app_id is not None else None
    body: dict[str, Any] = server.control_call("GET", "/conformance", params=params)
    return body


def findings(server: Any, app: TestApp, kind: str | None = None) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = report(server, app.app.app_id)["findings"]
    return [f for f in rows if kind is None or f["kind"] == kind]


def check_finding(finding: dict[str, Any], app: TestApp, kind: str) -> None:
    """The report row explains itself: right app, kind and severity, the kind's why/fix, a message."""
    assert finding["kind"] == kind and finding["app_id"] == app.app.app_id, finding
    assert finding["severity"] == SEVERITY[kind], finding
    assert finding["title"] == KINDS[kind].title
    assert finding["why"] == KINDS[kind].why and finding["why"].strip()
    assert finding["fix"] == KINDS[kind].fix and finding["fix"].strip()
    assert finding["message"].strip() and finding["count"] >= 1


def expect_finding(server: Any, app: TestApp, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    """Wait for ``kind`` in the app's report (``/_callcard/conformance?app_id=``); the newest row, checked."""
    rows = wait_until(partial(findings, server, app, kind), timeout, what=f"a {kind} finding")
    finding: dict[str, Any] = rows[-1]
    check_finding(finding, app, kind)
    return finding


def expect(session: PortalSession, kind: str, timeout: float = 5.0) -> dict[str, Any]:
    return expect_finding(session.server, session.app, kind, timeout)


def kinds_of(server: Any, app: TestApp) -> set[str]:
    return {f["kind"] for f in findings(server, app)}


def open_card(session: PortalSession, number: str) -> str:
    """The app registers a call (SHOW defaults to 1); the card opens on the page."""
    call_id = session.register_call(number)
    session.wait_state("externalCard")
    return call_id


# -- one test per kind ----------------------------------------------------------------------------------------


def test_card_command_before_initialized(mis: PortalSession) -> None:
    # at start-up, no call: the guard answers "Call card is undefined" (and the platform would too)
    assert misbehave(mis, "commandBeforeInitialized") == CARD_UNDEFINED
    finding = expect(mis, "command_before_initialized")
    assert finding["detail"] == {"command": "CallCardSetCardTitle"}
    assert "CallCardSetCardTitle" in finding["message"]


def test_hidden_ui_state(mis: PortalSession) -> None:
    open_card(mis, phone())
    assert misbehave(mis, "hiddenUiState", "sipPhoneError") == []  # accepted (README decision 4)...
    mis.wait_state("sipPhoneError")
    finding = expect(mis, "hidden_ui_state")  # ...and flagged
    assert finding["detail"] == {"uiState": "sipPhoneError"}
    # a listed state is not flagged, and the card existed: no "before initialized" either
    assert mis.call("CallCardSetUiState", {"uiState": "connected"}) == []
    assert len(findings(mis.server, mis.app, "hidden_ui_state")) == 1
    assert "command_before_initialized" not in kinds_of(mis.server, mis.app)


def test_awaited_timer(mis: PortalSession) -> None:
    open_card(mis, phone())
    seen = misbehave(mis, "awaitTimer", "CallCardStartTimer")
    # the symptom on the app's side: no answer; b24jssdk's safe mode gives up after 900 ms
    assert seen["reply"] == {"isSafely": True} and seen["waitedMs"] >= 850
    finding = expect(mis, "awaited_timer")
    assert finding["detail"] == {"command": "CallCardStartTimer"}


def test_duplicate_bind(mis: PortalSession) -> None:
    event = "BackgroundCallCard::muteButtonClick"
    misbehave(mis, "bindTwice", event)
    finding = expect(mis, "duplicate_bind")
    assert finding["detail"] == {"event": event}
    # the consequence the report warns about: one click, handled twice
    open_card(mis, phone())
    assert mis.call("CallCardSetUiState", {"uiState": "connected"}) == []
    mis.wait_state("connected")
    mis.click("mute")
    assert mis.wait_event("muteButtonClick", 2) == [True, True]
    mis.page.wait_for_timeout(300)
    assert mis.payloads("muteButtonClick") == [True, True]


def test_command_ignored(mis: PortalSession) -> None:
    assert misbehave(mis, "unknownCommand", "CallCardSetTitle") == {"noReply": True}  # a typo: silence
    assert misbehave(mis, "deniedCommand") == {"isSafely": True}  # setTitle: denied outside DEFAULT
    wait_until(lambda: len(findings(mis.server, mis.app, "command_ignored")) >= 2, what="two findings")
    rows = findings(mis.server, mis.app, "command_ignored")
    for row in rows:
        check_finding(row, mis.app, "command_ignored")
    details = {(r["detail"]["command"], r["detail"]["reason"]) for r in rows}
    assert details == {("CallCardSetTitle", "unknown"), ("setTitle", "denied")}
    assert all(r["detail"]["placement"] == "PAGE_BACKGROUND_WORKER" for r in rows)


def test_register_without_finish(mis: PortalSession) -> None:
    number = phone()
    reply = misbehave(mis, "registerWithoutFinish", number, ADMIN)
    call_id = reply["result"]["CALL_ID"]
    assert mis.state() is None  # SHOW=0: no card
    # within the grace the call is just "in progress"; after it, the report shows it
    started = time.monotonic()
    assert not findings(mis.server, mis.app, "register_without_finish")
    finding = expect(mis, "register_without_finish", timeout=GRACE_S + 5)
    assert time.monotonic() - started >= GRACE_S * 0.5
    assert finding["detail"]["CALL_ID"] == call_id and finding["detail"]["USER_ID"] == ADMIN
    assert number in finding["message"]
    summary = report(mis.server)["summary"]
    assert summary["by_kind"].get("register_without_finish") == 1 and summary["warnings"] >= 1
    # computed, not stored: it leaves the report once the app finishes the call
    assert "result" in misbehave(mis, "finish", call_id, ADMIN)
    assert not findings(mis.server, mis.app, "register_without_finish")


def test_finish_for_an_unknown_call(mis: PortalSession) -> None:
    reply = misbehave(mis, "finishUnknownCall", ADMIN)
    assert reply["error"] and reply["status"] >= 400
    finding = expect(mis, "finish_unknown_call")
    assert "externalCall.0000000000000000000000000000dead.1" in finding["message"]
    assert finding["detail"]["method"].lower() == "telephony.externalcall.finish"
    assert finding["detail"]["status"] == reply["status"]
    # reported once, as what it is, not also as a generic REST error
    assert "rest_error" not in kinds_of(mis.server, mis.app)


def test_rest_error_the_app_caused(mis: PortalSession) -> None:
    reply = misbehave(mis, "registerWithoutNumber", ADMIN)
    assert reply["error"] and reply["status"] >= 400
    finding = expect(mis, "rest_error")
    assert finding["detail"]["method"] == "telephony.externalCall.register"
    assert finding["detail"]["status"] == reply["status"]
    assert reply["error"] in finding["message"]


def test_event_held_back_by_the_bind_guard(mis: PortalSession) -> None:
    reply = misbehave(mis, "bindLateThenRegister", phone(), ADMIN)
    call_id = reply["result"]["CALL_ID"]
    # held back, not lost: the handler still gets it once the guard is over
    assert mis.wait_event("initialized")[0]["CALL_ID"] == call_id
    finding = expect(mis, "event_held_back")
    assert finding["detail"] == {"event": "BackgroundCallCard::initialized"}


def test_raw_params(mis: PortalSession) -> None:
    # b24jssdk sends setValue's value as is; a plain string is not JSON
    assert misbehave(mis, "rawSetValue", "plain text") == {"isSafely": True}
    finding = expect(mis, "raw_params")
    assert finding["detail"] == {"command": "setValue", "params": "plain text"}


def test_unknown_bind_event(mis: PortalSession) -> None:
    misbehave(mis, "bindUnknownEvent", "CallCard::EntityChanged")  # a CALL_CARD event, in a worker
    finding = expect(mis, "unknown_bind_event")
    assert finding["detail"] == {"event": "CallCard::EntityChanged", "placement": "PAGE_BACKGROUND_WORKER"}


def test_dotless_handler_host(mis: PortalSession) -> None:
    assert not kinds_of(mis.server, mis.app)
    path = "/misbehaving.html?role=tab"
    try:
        assert misbehave(mis, "bindPlacement", "CRM_DEAL_DETAIL_TAB", path) == {"result": True}
        finding = expect(mis, "dotless_handler_host")
        assert finding["detail"] == {"placement": "CRM_DEAL_DETAIL_TAB", "handler": mis.origin.url + path}
    finally:
        misbehave(mis, "unbindPlacement", "CRM_DEAL_DETAIL_TAB")


def test_handler_error(mis: PortalSession) -> None:
    path = "/handlers/gone"  # the app's server answers 404 there
    assert misbehave(mis, "bindHandler", "ONEXTERNALCALLSTART", path) == {"result": True}
    try:
        mis.server.simulate_call("outgoing", phone(), user_id=ADMIN, app=mis.app.app)
        finding = expect(mis, "handler_error", timeout=10)
        assert finding["detail"]["url"] == mis.origin.url + path
        assert finding["detail"]["status_code"] == 404
        assert mis.origin.posts(path)  # the handler was really asked
    finally:
        misbehave(mis, "unbindHandler", "ONEXTERNALCALLSTART", path)


def test_slow_handler(mis: PortalSession) -> None:
    path = f"/misbehaving.html?delay_ms={int(SLOW_HANDLER_S * 1000)}"  # answers 200, late
    assert misbehave(mis, "bindHandler", "ONEXTERNALCALLSTART", path) == {"result": True}
    try:
        mis.server.simulate_call("outgoing", phone(), user_id=ADMIN, app=mis.app.app)
        finding = expect(mis, "slow_handler", timeout=SLOW_HANDLER_S + 10)
        assert finding["detail"]["status_code"] == 200
        assert finding["detail"]["duration_ms"] >= SLOW_HANDLER_S * 1000 * 0.95
        assert "handler_error" not in kinds_of(mis.server, mis.app)
    finally:
        misbehave(mis, "unbindHandler", "ONEXTERNALCALLSTART", path)


def test_selector_cancelled(mis: PortalSession) -> None:
    mis.worker.evaluate("() => { misbehave.selectUser().then(u => { testApp.selected = u; }); }")
    mis.page.click("[data-pick='cancel']")
    expect(mis, "selector_cancelled")
    mis.page.wait_for_timeout(300)
    assert mis.worker.evaluate("testApp.selected === undefined")  # the app's callback never runs


# -- the slow-load watchdog: the misbehaving page served late ------------------------------------------------


def load_slow_page(open_page: Any, row_id: int) -> None:
    """One portal page of the slow user, until the slow frame has loaded (and been measured); closed."""
    page = open_page(SLOW_USER)
    loaded = f"#pp-background-list [data-row-id='{row_id}'].is-loaded"
    page.wait_for_selector(loaded, state="attached", timeout=DELAY_MS + 10_000)
    assert float(page.get_attribute(loaded, "data-load-ms") or 0) > THRESHOLD_MS
    page.context.close()


@pytest.fixture
def slow_app(stack: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[TestApp]:
    """A fresh app whose worker page (misbehaving.html) answers DELAY_MS late; unbound afterwards."""
    server = stack["server"]
    server.reset()
    app = install_worker_app(server, stack["origin"], f"slow app {request.node.name}", SLOW_USER,
                             f"&delay_ms={DELAY_MS}")
    yield app
    server.rest("placement.unbind", {"PLACEMENT": "PAGE_BACKGROUND_WORKER"}, auth=app.app)


def test_slow_frame_load(stack: dict[str, Any], slow_app: TestApp, open_page: Any) -> None:
    server = stack["server"]
    load_slow_page(open_page, slow_app.worker_row)
    finding = expect_finding(server, slow_app, "slow_frame_load")
    assert finding["detail"]["row_id"] == slow_app.worker_row
    assert finding["detail"]["strike"] == 1 and finding["detail"]["strikes"] == STRIKES
    assert finding["detail"]["load_ms"] > THRESHOLD_MS
    assert "watchdog_removed" not in kinds_of(server, slow_app)
    assert server.services.placements.row(slow_app.worker_row) is not None  # one strike: still bound


def test_watchdog_removed(stack: dict[str, Any], slow_app: TestApp, open_page: Any) -> None:
    server = stack["server"]
    for _ in range(STRIKES):
        load_slow_page(open_page, slow_app.worker_row)
    finding = expect_finding(server, slow_app, "watchdog_removed")
    assert finding["detail"]["strike"] == STRIKES and finding["detail"]["row_id"] == slow_app.worker_row
    strikes = [f["detail"]["strike"] for f in findings(server, slow_app, "slow_frame_load")]
    assert strikes == [1, 2]
    assert server.services.placements.row(slow_app.worker_row) is None


# -- the inspector shows them -----------------------------------------------------------------------------------


def test_inspector_conformance_page_shows_the_findings(mis: PortalSession) -> None:
    app_id = mis.app.app.app_id
    misbehave(mis, "commandBeforeInitialized")
    misbehave(mis, "unknownCommand", "CallCardSetTitle")
    misbehave(mis, "rawSetValue", "plain text")
    misbehave(mis, "finishUnknownCall", ADMIN)
    misbehave(mis, "registerWithoutFinish", phone(), ADMIN)
    kinds = ["command_before_initialized", "command_ignored", "raw_params", "finish_unknown_call",
             "register_without_finish"]
    for kind in kinds:
        expect(mis, kind, timeout=GRACE_S + 5)

    page = mis.page.context.new_page()  # same portal session cookie (the administrator)
    page.goto(f"{mis.server.url}/inspector/conformance?app_id={app_id}")
    section = page.locator(f"section.ci-app[data-app-id='{app_id}']")
    section.wait_for()
    assert "misbehaving app" in section.locator("h2").inner_text()
    for kind in kinds:
        card = section.locator(f"article.ci-finding[data-kind='{kind}']").first
        assert card.is_visible(), kind
        assert f"ci-finding--{SEVERITY[kind]}" in (card.get_attribute("class") or "")
        assert card.locator(".ci-why p").inner_text() == KINDS[kind].why
        assert card.locator(".ci-fix p").inner_text() == KINDS[kind].fix
        assert card.locator(".ci-what p").inner_text().strip()
    summary = page.locator("[data-role='summary']").inner_text()
    assert "1 errors" in summary  # finish_unknown_call
    page.close()


# -- the negative control ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sdk", ["b24jssdk", "bx24"])
def test_well_behaved_app_has_no_finding(stack: dict[str, Any], open_page: Any, sdk: str) -> None:
    server = stack["server"]
    server.reset()
    app: TestApp = stack["apps"][sdk]
    s = PortalSession(server, stack["origin"], open_page(app.user_id), app)
    call_id = s.open_card(phone())  # binds settled first, commands after initialized
    for state in ("connected", "transferring", "connected"):
        s.set_state(state)
    assert s.call("CallCardSetMute", {"muted": True}) == []
    assert s.call("CallCardSetCardTitle", {"title": "Ada"}) == []
    s.click("hold")
    assert s.wait_event("holdButtonClick") == [True]
    reply = s.rest("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": app.user_id, "DURATION": 7})
    assert "result" in reply, reply
    s.wait_closed()
    time.sleep(GRACE_S + 0.3)  # long enough for an unfinished call to show up
    assert kinds_of(server, app) <= LOCAL_SETUP
    assert set(report(server)["summary"]["by_kind"]) <= LOCAL_SETUP


def test_misbehaving_app_at_rest_has_no_finding(mis: PortalSession) -> None:
    # loading both libraries and their handshakes is no mistake: every finding above came from a scenario
    mis.page.wait_for_timeout(1200)
    assert kinds_of(mis.server, mis.app) <= LOCAL_SETUP
