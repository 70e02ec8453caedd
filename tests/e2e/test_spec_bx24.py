"""clients.md §2: the classic BX24 library callcard serves at /api/v1/, statement by statement, in Chromium.

Most tests load the served library into a top-level page on ``http://app.test`` (every request is answered
by Playwright routes, so no DNS and no portal are involved): ``window.name`` is set first, ``window.parent``
is replaced by a recorder, the portal's replies are dispatched as ``message`` events from the portal's
origin, and REST requests to the portal are recorded and answered by the test. That isolates what the
library itself puts on the wire, which the host relies on (§2): 4-segment strings with 32-character
``[0-9a-z]`` ids posted to the parent, no timeouts, callbacks kept forever, ``[]`` for an empty payload,
urlencoded bodies without a Content-Type, "Query error!" on 5xx, paging, callBatch and callBind.

The last tests run real frames against a real callcard served over **https** with its local CA (§4: the
same CA backs the portal page, PROTOCOL=1), and b24jssdk's token refresh on 401 (§1).
"""

from __future__ import annotations

import json
import re
import ssl
import threading
from collections.abc import Callable, Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from app_origin import AppOrigin, _handler
from e2e_support import PortalSession, TestApp, find_frame, install_test_app

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True

APP_PAGE = "http://app.test/app.html"
LIBRARY = "http://lib.test/api/v1/"
PORTAL = "portal.test"
SID = "0123456789abcdef0123456789abcdef"
CALLBACK_ID = re.compile(r"^[0-9a-z]{32}$")
QUERY_ERROR = "Query error!"

PAGE_HTML = """<!doctype html><html><head><meta charset="utf-8">
<script>
window.name = {name};
window.__sent = [];
window.__got = [];
// the library posts to `parent`: record what it posts (a top-level page is its own parent)
window.parent = {{ postMessage: function (data, origin) {{ window.__sent.push([data, origin]); }} }};
</script>
<script src="{library}"></script>
<script>
window.__inited = false;
if (window.BX24) BX24.init(function () {{ window.__inited = true; }});
</script>
</head><body><p>harness</p></body></html>"""


def init_data(**changes: Any) -> dict[str, Any]:
    """A getInitData reply as the host sends it (wire-protocol.md §7.1), with ``changes``."""
    data: dict[str, Any] = {
        "LANG": "en", "DOMAIN": PORTAL, "PROTOCOL": 0, "PATH": "/rest", "AUTH_ID": "tok1",
        "AUTH_EXPIRES": 3600, "REFRESH_ID": "ref1", "MEMBER_ID": "member", "FIRST_RUN": False,
        "IS_ADMIN": False, "INSTALL": False, "USER_OPTIONS": {}, "APP_OPTIONS": {},
        "PLACEMENT": "PAGE_BACKGROUND_WORKER", "PLACEMENT_OPTIONS": {},
    }
    data.update(changes)
    return data


Answer = Callable[[dict[str, Any]], tuple[int, Any]]


def ok_answer(request: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"result": True, "time": {"start": 0, "finish": 0, "operating": 0}}


class Harness:
    """The served library in a page of its own; see the module docstring."""

    def __init__(self, browser: Any, source: str, name: str, answer: Answer = ok_answer) -> None:
        self.source = source
        self.name = name
        self.answer = answer
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.context = browser.new_context()
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("pageerror", lambda error: self.errors.append(str(error.message)))
        self.page.goto(APP_PAGE)

    def close(self) -> None:
        self.context.close()

    # -- network --------------------------------------------------------------------------------------

    def _route(self, route: Any) -> None:
        request = route.request
        if request.url == APP_PAGE:
            html = PAGE_HTML.format(name=json.dumps(self.name), library=LIBRARY)
            route.fulfill(status=200, content_type="text/html", body=html)
            return
        if request.url == LIBRARY:
            route.fulfill(status=200, content_type="application/javascript", body=self.source)
            return
        if f"//{PORTAL}" not in request.url:  # e.g. the browser's favicon request
            route.fulfill(status=404, content_type="text/plain", body="not found")
            return
        record = {"url": request.url, "method": request.method, "headers": request.all_headers(),
                  "body": request.post_data or ""}
        self.requests.append(record)
        status, payload = self.answer(record)
        route.fulfill(status=status, content_type="application/json", body=json.dumps(payload),
                      headers={"Access-Control-Allow-Origin": "*"})

    def pump_until(self, check: Callable[[], Any], what: str, timeout_ms: int = 5000) -> None:
        """Wait for ``check()`` while letting Playwright dispatch routes and page errors (the sync API
        only handles them inside its own calls)."""
        waited = 0
        while not check():
            if waited >= timeout_ms:
                raise AssertionError(f"timed out waiting for {what}")
            self.page.wait_for_timeout(20)
            waited += 20

    def wait_requests(self, count: int) -> list[dict[str, Any]]:
        self.pump_until(lambda: len(self.requests) >= count, f"{count} request(s)")
        return self.requests

    # -- the parent window ----------------------------------------------------------------------------

    def sent(self) -> list[list[str]]:
        found: list[list[str]] = self.page.evaluate("window.__sent")
        return found

    def wait_sent(self, count: int) -> list[list[str]]:
        self.page.wait_for_function("n => window.__sent.length >= n", arg=count, polling=20, timeout=5000)
        return self.sent()

    def reply(self, callback_id: str, payload: Any = None, *, raw: str | None = None,
              origin: str = f"http://{PORTAL}") -> None:
        """The portal answers ``callback_id`` (``<cb>:<json>``; ``<cb>:`` when ``payload`` is None)."""
        text = raw if raw is not None else "" if payload is None else json.dumps(payload)
        self.page.evaluate(
            "([data, origin]) => window.dispatchEvent(new MessageEvent('message', {data, origin}))",
            [f"{callback_id}:{text}", origin],
        )

    def init(self, **changes: Any) -> None:
        """Answer the library's getInitData and wait for its BX24.init callbacks."""
        command, _, callback_id, _ = self.sent()[0][0].split(":")
        assert command == "getInitData"
        self.reply(callback_id, init_data(**changes))
        self.page.wait_for_function("window.__inited === true", polling=20, timeout=5000)

    def run(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)


@pytest.fixture(scope="module")
def bx24_source(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The library exactly as callcard serves it."""
    from starlette.testclient import TestClient

    from callcard.app import create_app
    from callcard.settings import Settings

    app = create_app(Settings.for_tests(tmp_path_factory.mktemp("bx24-source")))
    try:
        with TestClient(app) as client:
            response = client.get("/api/v1/")
            assert response.status_code == 200
            return response.text
    finally:
        app.state.services.store.close()


@pytest.fixture
def harness(browser: Any, bx24_source: str) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def make(name: str = f"{PORTAL}|0|{SID}", answer: Answer = ok_answer) -> Harness:
        h = Harness(browser.get(), bx24_source, name, answer)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def form(body: str) -> list[tuple[str, str]]:
    """``a=1&b[c]=2`` → ``[("a", "1"), ("b[c]", "2")]``, in order, keys and values decoded."""
    pairs = []
    for part in body.split("&"):
        key, _, value = part.partition("=")
        pairs.append((unquote(key), unquote(value)))
    return pairs


# -- window.name and the handshake -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", f"{PORTAL}|0|", f"|0|{SID}", f"{PORTAL}|{SID}"],
                         ids=["empty", "no-app-sid", "no-domain", "two-parts"])
def test_a_window_name_missing_a_part_nulls_bx24_and_throws(harness: Callable[..., Harness], name: str) -> None:
    h = harness(name)
    assert h.run("window.BX24") is None
    h.pump_until(lambda: h.errors, "the library's exception")
    assert h.errors == ["Unable to initialize Bitrix24 JS library!"]
    assert h.sent() == []


@pytest.mark.parametrize(("name", "origin"), [
    (f"{PORTAL}:80|0|{SID}", f"http://{PORTAL}"),
    (f"{PORTAL}:8443|1|{SID}", f"https://{PORTAL}:8443"),
    (f"{PORTAL}:443|1|{SID}", f"https://{PORTAL}"),
])
def test_get_init_data_goes_first_as_four_segments_to_the_portal_origin(
    harness: Callable[..., Harness], name: str, origin: str
) -> None:
    h = harness(name)
    [[text, target]] = h.wait_sent(1)
    command, params, callback_id, sid = text.split(":")
    assert (command, params, sid) == ("getInitData", "", SID)
    assert CALLBACK_ID.match(callback_id), callback_id
    assert target == origin


def test_init_waits_for_the_reply_without_a_timeout_and_ignores_other_origins(
    harness: Callable[..., Harness]
) -> None:
    h = harness()
    [[text, _]] = h.wait_sent(1)
    callback_id = text.split(":")[2]
    h.page.wait_for_timeout(1500)  # no timeout: still waiting, nothing re-sent
    assert h.run("window.__inited") is False and h.run("BX24.getAuth()") is False
    h.reply(callback_id, init_data(AUTH_ID="forged"), origin="http://evil.test")
    h.page.wait_for_timeout(200)
    assert h.run("window.__inited") is False
    h.reply(callback_id, init_data())
    h.page.wait_for_function("window.__inited === true", polling=20, timeout=5000)
    auth = h.run("BX24.getAuth()")
    assert auth["access_token"] == "tok1" and auth["refresh_token"] == "ref1" and auth["domain"] == PORTAL
    assert len(h.sent()) == 1


def test_refresh_auth_before_init_is_ignored(harness: Callable[..., Harness]) -> None:
    # b24restdocs bx24-refresh-auth.md: "called before the library has finished initializing: silently
    # ignored, no request is sent, someCallback does not run".
    h = harness()
    h.wait_sent(1)
    h.run("BX24.refreshAuth(() => { window.__got.push('refreshed'); })")
    h.page.wait_for_timeout(300)
    assert [m[0].split(":")[0] for m in h.sent()] == ["getInitData"]


# -- the wire after init ---------------------------------------------------------------------------------


def test_every_message_has_four_segments_and_a_fresh_32_character_id(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.init()
    h.run("""() => {
        BX24.placement.call('CallCardGetListUiStates', r => window.__got.push(r));
        BX24.placement.call('CallCardSetCardTitle', {title: 'a:b'}, r => window.__got.push(r));
        BX24.im.phoneTo('+15550100');
    }""")
    sent = h.wait_sent(4)[1:]
    assert {target for _, target in sent} == {f"http://{PORTAL}"}
    pieces = [text.split(":") for text, _ in sent]
    assert pieces[0][0:2] == ["CallCardGetListUiStates", ""] and pieces[0][3:] == [SID]
    # params are raw JSON (a ':' inside stays as is: the host splits from both ends)
    assert sent[1][0] == f'CallCardSetCardTitle:{{"title":"a:b"}}:{pieces[1][-2]}:{SID}'
    assert sent[2][0] == f'imPhoneTo:{{"phone":"+15550100"}}::{SID}'  # no callback: empty id
    ids = [pieces[0][2], pieces[1][-2]]
    assert all(CALLBACK_ID.match(i) for i in ids) and len(set(ids)) == 2


def test_callbacks_are_kept_forever_and_an_empty_payload_is_an_empty_array(
    harness: Callable[..., Harness]
) -> None:
    h = harness()
    h.init()
    h.run("BX24.placement.bindEvent('BackgroundCallCard::muteButtonClick', v => window.__got.push(v))")
    text = h.wait_sent(2)[1][0]
    assert text.startswith('placementBindEvent:{"event":"BackgroundCallCard::muteButtonClick"}:')
    callback_id = text.split(":")[-2]
    h.reply(callback_id, True)
    h.reply(callback_id, None)  # "<cb>:" — no payload
    h.reply(callback_id, False)
    assert h.run("window.__got") == [True, [], False]


@pytest.mark.parametrize("command", ["resizeWindow", "callMethod", "placement", "init"])
def test_placement_call_refuses_a_command_named_like_a_bx24_method(
    harness: Callable[..., Harness], command: str
) -> None:
    h = harness()
    h.init()
    refused = h.run("""c => { try { BX24.placement.call(c, {}, () => {}); return null; }
                             catch (e) { return String(e.message || e); } }""", command)
    assert refused is not None and command in refused
    assert len(h.sent()) == 1  # nothing posted
    h.run("BX24.placement.call('getStatus', {}, () => {})")  # a placement command goes out
    assert h.wait_sent(2)[1][0].startswith("getStatus:{}:")


# -- REST ------------------------------------------------------------------------------------------------


def test_rest_is_a_urlencoded_string_without_content_type_auth_first(harness: Callable[..., Harness]) -> None:
    h = harness()
    h.init()
    h.run("""() => BX24.callMethod('crm.lead.add', {
        fields: {TITLE: 'a b&c=d', PHONE: [{VALUE: '+1 555', VALUE_TYPE: 'WORK'}]},
        list: [], flag: true, when: new Date(Date.UTC(2026, 0, 2, 3, 4, 5))
    }, r => window.__got.push(r.data()))""")
    [request] = h.wait_requests(1)
    assert request["method"] == "POST"
    assert request["url"] == f"http://{PORTAL}/rest/crm.lead.add.json"
    # no Content-Type set by the library: the browser labels the string text/plain (rest-api.md §2)
    assert request["headers"]["content-type"].startswith("text/plain")
    assert form(request["body"]) == [
        ("auth", "tok1"),
        ("fields[TITLE]", "a b&c=d"),
        ("fields[PHONE][0][VALUE]", "+1 555"),
        ("fields[PHONE][0][VALUE_TYPE]", "WORK"),
        ("list", ""),  # an empty array arrives as name=
        ("flag", "true"),
        ("when", "2026-01-02T03:04:05.000Z"),
    ]
    h.page.wait_for_function("window.__got.length === 1", polling=20, timeout=5000)
    assert h.run("window.__got") == [True]


def test_empty_objects_and_nulls_are_left_out_like_the_legacy_library(harness: Callable[..., Harness]) -> None:
    # aak74/tasks _api/v1.js prepareData: an empty object or null adds nothing; only an empty array is name=
    h = harness()
    h.init()
    h.run("BX24.callMethod('crm.lead.list', {filter: {}, order: null, select: ['ID'], empty: []})")
    [request] = h.wait_requests(1)
    assert form(request["body"]) == [("auth", "tok1"), ("select[0]", "ID"), ("empty", "")]


def test_a_4xx_body_reaches_the_callback_a_5xx_throws_query_error(harness: Callable[..., Harness]) -> None:
    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        if "/four.json" in request["url"]:
            return 400, {"error": "ERROR_ARGUMENT", "error_description": "Argument 'ID' is null or empty"}
        if "/five.json" in request["url"]:
            return 503, {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
        return 500, {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}

    h = harness(answer=answer)
    h.init()
    four = h.run("""() => new Promise(r => BX24.callMethod('four', {}, res => r({
        text: String(res.error()), status: res.error().getStatus(), code: res.error().getError().error,
        description: res.error_description()})))""")
    assert four == {"text": "ERROR_ARGUMENT: Argument 'ID' is null or empty (400)", "status": 400,
                    "code": "ERROR_ARGUMENT", "description": "Argument 'ID' is null or empty"}
    h.run("""() => { BX24.callMethod('five', {}, () => window.__got.push('five'));
                     BX24.callMethod('other', {}, () => window.__got.push('other')); }""")
    h.wait_requests(3)
    h.pump_until(lambda: len(h.errors) >= 2, "two 'Query error!' exceptions")
    h.page.wait_for_timeout(300)
    assert h.errors == [QUERY_ERROR, QUERY_ERROR]
    assert h.run("window.__got") == []  # the callback never runs


def test_next_and_total_drive_paging(harness: Callable[..., Harness]) -> None:
    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        pairs = dict(form(request["body"]))
        if pairs.get("start") == "50":
            return 200, {"result": [{"ID": "51"}], "total": 51, "time": {}}
        return 200, {"result": [{"ID": str(i)} for i in range(1, 51)], "total": 51, "next": 50, "time": {}}

    h = harness(answer=answer)
    h.init()
    pages = h.run("""() => new Promise(done => {
        const seen = [];
        BX24.callMethod('crm.lead.list', {select: ['ID']}, res => {
            seen.push({rows: res.data().length, more: res.more(), total: res.total()});
            if (res.more()) res.next(); else { seen.push({next: res.next()}); done(seen); }
        });
    })""")
    assert pages == [{"rows": 50, "more": True, "total": 51}, {"rows": 1, "more": False, "total": 51},
                     {"next": False}]
    first, second = h.requests
    assert form(first["body"]) == [("auth", "tok1"), ("select[0]", "ID")]
    assert form(second["body"]) == [("auth", "tok1"), ("start", "50"), ("select[0]", "ID")]
    assert second["url"] == f"http://{PORTAL}/rest/crm.lead.list.json"


def test_call_batch_sends_halt_and_method_query_strings(harness: Callable[..., Harness]) -> None:
    def answer(request: dict[str, Any]) -> tuple[int, Any]:
        return 200, {"result": {
            "result": {"me": {"ID": "1"}},
            "result_error": {"lead": {"error": "", "error_description": "Not found"}},
            "result_total": [], "result_next": [], "result_time": {"me": {"operating": 0}},
        }, "time": {}}

    h = harness(answer=answer)
    h.init()
    got = h.run("""() => new Promise(r => BX24.callBatch(
        {me: ['user.current', {}], lead: {method: 'crm.lead.get', params: {ID: 5, select: ['ID', 'TITLE']}}},
        res => r({me: res.me.data(), meError: res.me.error() || null,
                  lead: res.lead.error().getError()}), true))""")
    assert got == {"me": {"ID": "1"}, "meError": None, "lead": {"error": "", "error_description": "Not found"}}
    [request] = h.requests
    assert request["url"] == f"http://{PORTAL}/rest/batch.json"
    assert form(request["body"]) == [
        ("auth", "tok1"), ("halt", "1"),
        ("cmd[me]", "user.current?"),
        ("cmd[lead]", "crm.lead.get?ID=5&select[0]=ID&select[1]=TITLE"),
    ]
    # the sub-queries are encoded once more inside the body
    assert "cmd[lead]=crm.lead.get%3FID%3D5%26select%5B0%5D%3DID" in request["body"]


def test_call_bind_is_admin_only_and_auth_type_defaults_to_zero(harness: Callable[..., Harness]) -> None:
    user = harness()
    user.init(IS_ADMIN=False)
    assert user.run("BX24.callBind('ONCRMLEADADD', 'https://h.example/x')") is False
    user.page.wait_for_timeout(300)
    assert user.requests == []

    admin = harness()
    admin.init(IS_ADMIN=True)
    admin.run("""() => { BX24.callBind('ONCRMLEADADD', 'https://h.example/x');
                         BX24.callBind('ONCRMLEADUPDATE', 'https://h.example/y', 1); }""")
    first, second = admin.wait_requests(2)
    assert first["url"] == f"http://{PORTAL}/rest/event.bind.json"
    assert form(first["body"]) == [("auth", "tok1"), ("event", "ONCRMLEADADD"),
                                   ("handler", "https://h.example/x"), ("auth_type", "0")]
    assert form(second["body"])[-1] == ("auth_type", "1")


@pytest.mark.parametrize(("protocol", "scheme"), [(0, "http"), (1, "https"), ("0", "https")],
                         ids=["number-0", "number-1", "string-0"])
def test_protocol_is_read_for_truthiness(harness: Callable[..., Harness], protocol: Any, scheme: str) -> None:
    # why the host must send PROTOCOL as a number: the string "0" is truthy and switches to https
    h = harness()
    h.init(PROTOCOL=protocol)
    h.run("BX24.callMethod('app.info', {})")
    assert h.wait_requests(1)[0]["url"] == f"{scheme}://{PORTAL}/rest/app.info.json"


# -- a real callcard over https (clients.md §4: the same CA backs the portal page, PROTOCOL=1) ---------------


class HttpsAppOrigin(AppOrigin):
    """The test apps on ``https://localhost:<port>``, with the certificate callcard generated."""

    def __init__(self, cert: Path, key: Path) -> None:
        super().__init__()
        self.cert, self.key = cert, key

    @property
    def url(self) -> str:
        return f"https://localhost:{self.port}"

    def start(self) -> HttpsAppOrigin:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        httpd.daemon_threads = True
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(self.cert), str(self.key))
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="e2e-https-app-origin", daemon=True)
        self._thread.start()
        return self


@pytest.fixture(scope="module")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from app_origin import SDK_FILE

    from callcard.testing.server import CallcardServer

    if not SDK_FILE.exists():
        pytest.skip("b24jssdk is not installed (scripts/bootstrap --test)")
    with CallcardServer(tmp_path_factory.mktemp("callcard-https"), https=True) as server:
        tls = server.services.tls
        with HttpsAppOrigin(tls.server_cert, tls.server_key) as origin:
            apps = {sdk: install_test_app(server, origin, sdk, user) for sdk, user in (("b24jssdk", 2), ("bx24", 3))}
            yield {"server": server, "origin": origin, "apps": apps}


@pytest.mark.parametrize("sdk", ["bx24", "b24jssdk"])
def test_frames_work_against_a_portal_served_over_https(https_stack: dict[str, Any], browser: Any,
                                                        sdk: str) -> None:
    server, origin = https_stack["server"], https_stack["origin"]
    app: TestApp = https_stack["apps"][sdk]
    assert server.url.startswith("https://127.0.0.1:")
    # Chromium has its own trust store: the local CA is not in it, so errors are ignored here; the
    # handshake itself is the one clients verify with the bundle (tests/sdk, tests/unit/test_tls.py).
    context = browser.get().new_context(ignore_https_errors=True)
    try:
        page = context.new_page()
        page.goto(server.login_url(app.user_id))
        page.wait_for_selector("html[data-ws='open']", state="attached")
        session = PortalSession(server, origin, page, app)
        frame = find_frame(page, app.page_path, "worker")
        domain, protocol, sid = frame.evaluate("window.name").split("|")
        assert (domain, protocol) == (server.url.removeprefix("https://"), "1") and len(sid) == 32
        assert frame.evaluate("testApp.portal") == server.url
        if sdk == "b24jssdk":
            # the app's first frame: FIRST_RUN, so b24jssdk sent setInstall and waited (no timeout) for the
            # host's answer before initializeB24Frame() resolved (clients.md §1)
            assert frame.evaluate("$b24.isFirstRun") is True
        # REST from the frame goes to https://DOMAIN (PROTOCOL=1), the wire answers from the https origin
        reply = session.rest("app.info", {})
        assert "result" in reply, reply
        assert int(reply["result"]["ID"]) == app.app.app_id
        states = session.call("CallCardGetListUiStates")
        assert isinstance(states, list) and len(states) == 12
    finally:
        context.close()
        server.reset()


# -- b24jssdk: refresh on 401 expired_token, then retry once (clients.md §1) --------------------------------


class TestB24jssdkTokenRefresh:
    SDK = "b24jssdk"

    def test_an_expired_token_is_refreshed_over_post_message_and_the_call_retried(
        self, session: PortalSession
    ) -> None:
        before = session.worker.evaluate("$b24.auth.getAuthData().access_token")
        expired = session.server.services.directory.tokens.expire_tokens(app_id=session.app.app.app_id)
        assert expired >= 1
        reply = session.rest("app.info", {})
        assert "result" in reply, reply
        assert int(reply["result"]["ID"]) == session.app.app.app_id
        after = session.worker.evaluate("$b24.auth.getAuthData().access_token")
        assert after != before
        app, user = session.server.services.directory.tokens.resolve_access_token(after)
        assert (app.id, int(user["id"])) == (session.app.app.app_id, session.app.user_id)
