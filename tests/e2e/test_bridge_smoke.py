"""Smoke test of the host bridge in a real browser (Chromium via Playwright).

callcard runs under uvicorn on http://127.0.0.1:<port>; the test apps are served by a tiny second server
on http://localhost:<port> (another origin, as Bitrix24 and its apps are). One app uses callcard's own
classic BX24 library (/api/v1/), one the real @bitrix24/b24jssdk (when tests/e2e/node_modules has it).
Checked: the getInitData handshake, silence for an unknown command, silence for a message from a
foreign origin, and card command / event round trips.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Route

from callcard.app import create_app
from callcard.domain.cards import ShowRequest
from callcard.services import Services
from callcard.settings import Settings

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SDK_FILE = Path(__file__).parent / "node_modules/@bitrix24/b24jssdk/dist/umd/index.min.js"
CARD = "[data-callcard='card']"

BX24_APP = """<!doctype html><html><head><meta charset="utf-8"><title>bx24 app</title>
<script src="{portal}/api/v1/"></script></head><body><p>classic BX24 test app</p>
<script>
window.appState = {{ready: false, messages: [], events: []}};
window.addEventListener('message', function (e) {{
  var data = typeof e.data === 'string' ? e.data : JSON.stringify(e.data);
  appState.messages.push({{origin: e.origin, data: data}});
}});
BX24.init(function () {{
  appState.sid = window.name.split('|')[2];
  appState.domain = BX24.getDomain();
  appState.info = BX24.placement.info();
  appState.auth = BX24.getAuth();
  appState.admin = BX24.isAdmin();
  var record = function (name) {{ return function (v) {{ appState.events.push([name, v]); }}; }};
  BX24.placement.bindEvent('BackgroundCallCard::initialized', record('initialized'));
  BX24.placement.bindEvent('BackgroundCallCard::muteButtonClick', record('mute'));
  appState.ready = true;
}});
</script></body></html>"""

SDK_APP = """<!doctype html><html><head><meta charset="utf-8"><title>b24jssdk app</title>
<script src="/b24jssdk.js"></script></head><body><p>b24jssdk test app</p>
<script>
window.appState = {ready: false, events: []};
B24Js.initializeB24Frame().then(function ($b24) {
  window.$b24 = $b24;
  appState.placement = $b24.placement.placement;
  appState.options = $b24.placement.options;
  $b24.placement.bindEvent('BackgroundCallCard::muteButtonClick',
                           function (v) { appState.events.push(['mute', v]); });
  appState.ready = true;
}).catch(function (e) { appState.error = String(e && (e.message || e)); });
</script></body></html>"""

PLAIN_APP = """<!doctype html><html><head><meta charset="utf-8"><title>tab app</title>
<script src="{portal}/api/v1/"></script></head><body><p>tab test app</p>
<script>
window.appState = {{ready: false, events: []}};
BX24.init(function () {{ appState.info = BX24.placement.info(); appState.ready = true; }});
</script></body></html>"""

# A page of *another* origin that knows a real APP_SID and posts as if it were the app.
FOREIGN = """<!doctype html><html><body><script>
var q = new URLSearchParams(location.search);
window.top.postMessage('getInitData::foreigncb0000000000000000000000000:' + q.get('sid'), '*');
window.top.postMessage({method: 'getInitData', params: '', callback: 'foreigncb1111111111111111111111111',
                        appSid: q.get('sid')}, '*');
</script></body></html>"""


#: what the test apps reported to their own server (a frame may be gone before the test can read it)
BEACONS: list[tuple[str, str]] = []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def apps_server(portal: str) -> Starlette:
    async def bx24(request: Request) -> Response:
        return HTMLResponse(BX24_APP.format(portal=portal))

    async def plain(request: Request) -> Response:
        return HTMLResponse(PLAIN_APP.format(portal=portal))

    async def sdk(request: Request) -> Response:
        return HTMLResponse(SDK_APP)

    async def foreign(request: Request) -> Response:
        return HTMLResponse(FOREIGN)

    async def sdk_file(request: Request) -> Response:
        return FileResponse(SDK_FILE, media_type="application/javascript")

    async def sink(request: Request) -> Response:
        BEACONS.append((request.url.path, (await request.body()).decode()))
        return Response("ok")

    return Starlette(
        routes=[
            Route("/bx24.html", bx24, methods=["GET", "POST"]),
            Route("/sdk.html", sdk, methods=["GET", "POST"]),
            Route("/tab.html", plain, methods=["GET", "POST"]),
            Route("/foreign.html", foreign),
            Route("/b24jssdk.js", sdk_file),
            Route("/error", sink, methods=["POST"]),
            Route("/beacon", sink, methods=["POST"]),
        ]
    )


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    portal_port, apps_port = free_port(), free_port()
    settings = Settings.for_tests(tmp_path_factory.mktemp("callcard"), host="127.0.0.1", port=portal_port)
    app = create_app(settings)
    services: Services = app.state.services
    portal = f"http://127.0.0.1:{portal_port}"
    apps = f"http://localhost:{apps_port}"
    with ServerThread(app, portal_port), ServerThread(apps_server(portal), apps_port):
        # every portal page of every user runs these two background apps
        bx24_app = register(services, "Classic softphone", f"{apps}/bx24.html", apps)
        sdk_app = register(services, "SDK softphone", f"{apps}/sdk.html", apps) if SDK_FILE.exists() else None
        yield {"services": services, "portal": portal, "apps": apps, "bx24_app": bx24_app, "sdk_app": sdk_app}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def register(
    services: Services,
    name: str,
    handler: str,
    apps: str,
    placement: str = "PAGE_BACKGROUND_WORKER",
    **extra: Any,
) -> int:
    app = services.directory.apps.create_app(name, ["placement", "telephony", "crm"], handler=handler)
    services.directory.apps.mark_installed(app.id)
    params = {"PLACEMENT": placement, "HANDLER": handler, **extra}
    if placement == "PAGE_BACKGROUND_WORKER":
        params["OPTIONS"] = {"errorHandlerUrl": f"{apps}/error"}
    services.placements.bind(services.directory.apps.get_app(app.id).as_row(), True, params)
    return app.id


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def app_frame(page: Any, path: str) -> Any:
    # Playwright updates page.frames only while it runs a call, so poll with its own timer. (Frame waits
    # poll on a timer too: requestAnimationFrame never fires in the hidden background frames.)
    frame = None
    for _ in range(200):
        frame = next((f for f in page.frames if urlsplit(f.url).path == path), None)
        if frame is not None:
            break
        page.wait_for_timeout(50)
    assert frame is not None, f"no frame for {path}"
    frame.wait_for_function(
        "window.appState && (window.appState.ready || window.appState.error)", timeout=10000, polling=50
    )
    return frame


def test_bridge_with_classic_bx24_and_b24jssdk(stack: dict[str, Any], browser: Any) -> None:
    services: Services = stack["services"]
    portal, apps = stack["portal"], stack["apps"]
    bx24_app, sdk_app = stack["bx24_app"], stack["sdk_app"]

    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{portal}/login/{services.directory.sessions.create_login_link(2)}")
    assert page.url == f"{portal}/"
    page.wait_for_selector("html[data-ws='open']", state="attached")
    container = page.locator("#intranet-placement-PAGE_BACKGROUND_WORKER")
    assert container.evaluate("el => getComputedStyle(el).display") == "none"

    # -- getInitData: the classic library initialised from the host's answer ---------------------------
    classic = app_frame(page, "/bx24.html")
    state = classic.evaluate("appState")
    assert state["domain"] == f"127.0.0.1:{portal.rsplit(':', 1)[1]}"
    assert state["info"] == {
        "placement": "PAGE_BACKGROUND_WORKER",
        "options": {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/"},
    }
    assert state["admin"] is False
    token_app, token_user = services.directory.tokens.resolve_access_token(state["auth"]["access_token"])
    assert (token_app.id, int(token_user["id"])) == (bx24_app, 2)
    frame_el = page.locator(f"iframe[name$='|{state['sid']}']")
    assert frame_el.get_attribute("id") == f"appframe_{state['sid']}"
    assert frame_el.get_attribute("sandbox") is None
    assert (
        page.locator(f"#placement_rest_{services.placements.background_rows(2, False)[0]['id']}").count() == 1
    )
    iface = classic.evaluate("() => new Promise(r => BX24.placement.getInterface(r))")
    assert iface["command"][0] == "CallCardSetMute" and len(iface["command"]) == 9
    assert iface["event"][0] == "BackgroundCallCard::initialized" and len(iface["event"]) == 17
    # a second getInitData from the frame, sent by hand in the legacy 4-segment form, is answered
    classic.evaluate("""() => parent.postMessage('getInitData::goodcb0000000000000000000000000000:'
                          + appState.sid, 'http://' + appState.domain)""")
    reply = wait_for(
        lambda: next(
            (
                m
                for m in classic.evaluate("appState.messages")
                if m["data"].startswith("goodcb0000000000000000000000000000:")
            ),
            None,
        ),
        what="getInitData reply",
    )
    init = json.loads(reply["data"].split(":", 1)[1])
    assert init["PROTOCOL"] == 0 and init["PATH"] == "/rest" and init["FIRST_RUN"] is False
    assert reply["origin"] == portal

    # the object form is accepted too; the reply is still a string
    classic.evaluate("""() => parent.postMessage({method: 'getInitData', params: '',
                          callback: 'objcb00000000000000000000000000000', appSid: appState.sid,
                          requestId: 'x'}, 'http://' + appState.domain)""")
    wait_for(
        lambda: any(
            m["data"].startswith("objcb00000000000000000000000000000:{")
            for m in classic.evaluate("appState.messages")
        ),
        what="object-form reply",
    )

    # -- REST from the classic library: urlencoded POST without a Content-Type, batch, token refresh -----
    info = classic.evaluate("""() => new Promise(r => BX24.callMethod('app.info', {}, res =>
                                r({data: res.data(), error: res.error() ? String(res.error()) : null})))""")
    assert info["error"] is None and info["data"]["ID"] == bx24_app
    batch = classic.evaluate("""() => new Promise(r => BX24.callBatch(
        {me: ['app.info', {}], bad: ['no.such.method', {}]},
        res => r({me: res.me.data().ID, bad: res.bad.error() ? res.bad.error().getError().error : null})))""")
    assert batch["me"] == bx24_app and batch["bad"]
    old_token = classic.evaluate("BX24.getAuth().access_token")
    services.directory.tokens.expire_tokens(app_id=bx24_app)
    again = classic.evaluate("""() => new Promise(r => BX24.callMethod('app.info', {}, res =>
                                r({data: res.data(), error: res.error() ? String(res.error()) : null})))""")
    assert again["error"] is None and again["data"]["ID"] == bx24_app
    assert classic.evaluate("BX24.getAuth().access_token") != old_token  # refreshAuth over postMessage

    # -- silence: an unknown command, a denied one and a foreign origin get no answer at all ----------
    denied = classic.evaluate("""() => new Promise(r => {
        let called = false;
        BX24.setTitle('nope', () => { called = true; });
        setTimeout(() => r(called), 600);
    })""")
    assert denied is False and page.title() == "callcard — Portal"
    unknown = classic.evaluate("""() => new Promise(r => {
        let called = false;
        BX24.placement.call('NoSuchCommand', {a: 1}, () => { called = true; });
        setTimeout(() => r(called), 1200);
    })""")
    assert unknown is False
    wait_for(
        lambda: any(f["kind"] == "command_ignored" for f in services.conformance.findings(bx24_app)),
        what="the ignored command in the conformance report",
    )
    classic.evaluate(f"""() => {{
        const f = document.createElement('iframe');
        f.src = 'http://127.0.0.1:{apps.rsplit(":", 1)[1]}/foreign.html?sid=' + appState.sid;
        document.body.appendChild(f);
    }}""")
    page.wait_for_timeout(1000)
    assert not [m for m in classic.evaluate("appState.messages") if m["data"].startswith("foreigncb")]

    # -- the card: a command round trip, then an operator click reaching both SDKs ----------------------
    services.hub.publish(
        services.cards.show(
            2,
            ShowRequest(
                call_id="externalCall.smoke.1",
                phone_number="+15550100",
                direction="incoming",
                line_number="100",
            ),
        ),
        [2],
    )
    page.wait_for_selector(f"{CARD}[data-ui-state='externalCard']", state="attached")
    classic.wait_for_function("appState.events.some(e => e[0] === 'initialized')", timeout=5000, polling=50)
    initialized = next(e[1] for e in classic.evaluate("appState.events") if e[0] == "initialized")
    assert initialized["CALL_ID"] == "externalCall.smoke.1" and initialized["CALL_STATE"] == "idle"
    reply = classic.evaluate("""() => new Promise(r =>
        BX24.placement.call('CallCardSetUiState', {uiState: 'connected'}, r))""")
    assert reply == []
    page.wait_for_selector(f"{CARD}[data-ui-state='connected']", state="attached")

    sdk = None
    if sdk_app is not None:
        sdk = app_frame(page, "/sdk.html")
        sdk_state = sdk.evaluate("appState")
        assert "error" not in sdk_state, sdk_state.get("error")
        assert sdk_state["placement"] == "PAGE_BACKGROUND_WORKER"
        assert sdk_state["options"] == {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/"}
        states = sdk.evaluate("() => $b24.placement.call('CallCardGetListUiStates')")
        assert isinstance(states, list) and len(states) == 12
        assert (
            sdk.evaluate("() => $b24.placement.call('CallCardSetCardTitle', {title: 'From the SDK'})") == []
        )
        page.wait_for_function(
            "document.querySelector(\"[data-role='title']\").textContent === 'From the SDK'"
        )
        # unknown command: silence, so b24jssdk resolves the call by itself after 900 ms
        assert sdk.evaluate("() => $b24.placement.call('NoSuchCommand', {a: 1})") == {"isSafely": True}
        # the 900 ms trap (wire-protocol.md §9.1): an event right after the bind is held back by the host,
        # so it reaches the handler instead of resolving the bind promise
        sdk.evaluate("""() => { $b24.placement.bindEvent('BackgroundCallCard::holdButtonClick',
                                   v => appState.events.push(['hold', v]))
                                 .then(v => { appState.bindResult = v; }); }""")
        page.click("[data-button='hold']")
        sdk.wait_for_function("appState.events.some(e => e[0] === 'hold')", timeout=5000, polling=50)
        sdk.wait_for_function("appState.bindResult !== undefined", timeout=5000, polling=50)
        assert sdk.evaluate("appState.bindResult") == {"isSafely": True}
        assert sdk.evaluate("appState.events") == [["hold", True]]
        wait_for(
            lambda: any(f["kind"] == "event_held_back" for f in services.conformance.findings(sdk_app)),
            what="the held-back event in the conformance report",
        )
        page.wait_for_timeout(1100)  # let the SDK's muteButtonClick binding outgrow the bind guard

    page.click("[data-button='mute']")
    classic.wait_for_function("appState.events.some(e => e[0] === 'mute')", timeout=5000, polling=50)
    assert [e for e in classic.evaluate("appState.events") if e[0] == "mute"] == [["mute", True]]
    if sdk is not None:
        sdk.wait_for_function("appState.events.length > 0", timeout=5000, polling=50)
        assert [e for e in sdk.evaluate("appState.events") if e[0] == "mute"] == [["mute", True]]
    assert services.cards.get(2).muted is True
    context.close()


def test_call_card_tab_and_crm_tab(stack: dict[str, Any], browser: Any) -> None:
    services: Services = stack["services"]
    portal, apps = stack["portal"], stack["apps"]
    register(services, "Notes", f"{apps}/tab.html?kind=card", apps, placement="CALL_CARD", TITLE="Notes")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{portal}/login/{services.directory.sessions.create_login_link(3)}")
    page.wait_for_selector("html[data-ws='open']", state="attached")
    row_id = next(r["id"] for r in services.placements.call_card_rows(False))
    services.hub.publish(
        services.cards.show(
            3,
            ShowRequest(
                call_id="externalCall.tab.1",
                phone_number="+15550199",
                direction="outgoing",
                line_number="100",
            ),
        ),
        [3],
    )
    page.click(f"[data-tab='app-{row_id}']")
    tab = app_frame(page, "/tab.html")
    info = tab.evaluate("appState.info")
    assert info["placement"] == "CALL_CARD"
    assert info["options"] == {**services.cards.get(3).status_as_strings(), "URI": "/"}
    assert info["options"]["CALL_ID"] == "externalCall.tab.1" and info["options"]["CRM_ENTITY_ID"] == "0"
    status = tab.evaluate("() => new Promise(r => BX24.placement.call('getStatus', {}, r))")
    assert status["CALL_ID"] == "externalCall.tab.1" and status["CRM_ENTITY_ID"] == 0
    assert status["CALL_DIRECTION"] == "outgoing" and status["CALL_STATE"] == "connected"
    size = tab.evaluate("() => new Promise(r => BX24.resizeWindow(300, 400, r))")
    assert size == {"width": 300, "height": 400}  # the size actually applied, in px
    # the frame is destroyed with the card, so it reports the event to its own server
    tab.evaluate("""() => BX24.placement.bindEvent('CallCard::BeforeClose',
                      v => navigator.sendBeacon('/beacon', JSON.stringify(['beforeClose', v])))""")
    page.wait_for_timeout(1100)  # past the bind guard
    page.click("[data-button='close']")
    page.wait_for_selector("[data-callcard='card']", state="detached")
    beacon = wait_for(
        lambda: next((b for b in BEACONS if b[0] == "/beacon"), None), what="the BeforeClose beacon"
    )
    assert json.loads(beacon[1]) == ["beforeClose", []]  # no payload: legacy BX24 passes []
    assert services.cards.get(3) is None

    # a CRM detail tab: PLACEMENT_OPTIONS {ID}, and reloadData re-renders the entity from the server
    lead_id = services.crm.add(
        "LEAD", {"TITLE": "Smoke lead", "PHONE": [{"VALUE": "+15550111", "VALUE_TYPE": "WORK"}]}
    )
    register(
        services,
        "CRM helper",
        f"{apps}/tab.html?kind=crm",
        apps,
        placement="CRM_LEAD_DETAIL_TAB",
        TITLE="Helper",
    )
    crm_row = next(r["id"] for r in services.placements.crm_tab_rows("LEAD", False))
    page.goto(f"{portal}/crm/lead/details/{lead_id}/")
    assert page.locator("[data-role='entity-title']").text_content() == "Smoke lead"
    page.click(f"[data-crm-tab='{crm_row}']")
    crm_tab = app_frame(page, "/tab.html")
    assert crm_tab.evaluate("appState.info") == {
        "placement": "CRM_LEAD_DETAIL_TAB",
        "options": {"ID": str(lead_id)},
    }
    services.crm.update("LEAD", lead_id, {"TITLE": "Renamed by the app"})
    assert crm_tab.evaluate("() => new Promise(r => BX24.placement.call('reloadData', {}, r))") == []
    assert page.locator("[data-role='entity-title']").text_content() == "Renamed by the app"
    context.close()


def test_pickers_sliders_and_toasts(stack: dict[str, Any], browser: Any) -> None:
    services: Services = stack["services"]
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{stack['portal']}/login/{services.directory.sessions.create_login_link(4)}")
    classic = app_frame(page, "/bx24.html")
    classic.evaluate("() => BX24.selectUser(u => { appState.picked = u; })")
    page.click("[data-role='picker'] [data-pick='3']")
    picked = wait_for(lambda: classic.evaluate("appState.picked || null"), what="the picked user")
    assert picked["id"] == "3" and picked["name"]
    # a cancelled picker answers nothing (team choice) and is reported
    classic.evaluate("() => BX24.selectUser(u => { appState.cancelled = u; })")
    page.click("[data-role='picker'] [data-pick='cancel']")
    page.wait_for_timeout(300)
    assert classic.evaluate("appState.cancelled === undefined")
    # openPath: a CRM path opens a slider and answers when it closes; anything else is PATH_NOT_AVAILABLE
    lead_id = services.crm.add("LEAD", {"TITLE": "Slider lead"})
    classic.evaluate(f"() => BX24.openPath('/crm/lead/details/{lead_id}/', r => {{ appState.path = r; }})")
    page.wait_for_selector("[data-role='slider'] iframe")
    page.click(".pp-slider__close")
    assert wait_for(lambda: classic.evaluate("appState.path || null"), what="openPath reply") == {
        "result": "close"
    }
    bad = classic.evaluate("() => new Promise(r => BX24.openPath('/somewhere/else/', r))")
    assert bad == {"result": "error", "errorCode": "PATH_NOT_AVAILABLE"}
    classic.evaluate("() => BX24.im.phoneTo('+15550123')")
    page.wait_for_selector(".pp-toast:has-text('+15550123')")

    # a reload while an unused card is open: the card stays, the new frames hear `initialized` again
    request = ShowRequest(call_id="externalCall.reload.1", phone_number="+15550144", direction="incoming")
    services.hub.publish(services.cards.show(4, request), [4])
    page.wait_for_selector("[data-callcard='card']", state="attached")
    page.reload()
    page.wait_for_selector("[data-callcard='card']", state="attached")
    fresh = app_frame(page, "/bx24.html")
    fresh.wait_for_function("appState.events.some(e => e[0] === 'initialized')", timeout=5000, polling=50)
    first = next(e[1] for e in fresh.evaluate("appState.events") if e[0] == "initialized")
    assert first["CALL_ID"] == "externalCall.reload.1"
    assert services.cards.get(4) is not None and services.cards.get(4).restore_until is None
    context.close()
