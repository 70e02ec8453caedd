"""The pytest plugin's non-browser parts: CallcardServer, the helpers, AppServer and the fixtures.

The fixtures are exercised through pytester (an inner pytest run that loads the plugin from its entry
point, as a user's project would); the classes directly against a real server on loopback.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from callcard.testing.appserver import AppServer
from callcard.testing.helpers import Card, Timeline, conformance, frames, wait_until
from callcard.testing.server import CallcardServer, ControlError, InstalledApp

pytest_plugins = ["pytester"]

PHONE = "+14155550142"


@pytest.fixture(scope="module")
def server() -> Iterator[CallcardServer]:
    with CallcardServer() as srv:
        yield srv


@pytest.fixture
def app(server: CallcardServer) -> InstalledApp:
    server.reset()
    return server.install_app("Unit app")


def register(server: CallcardServer, app: InstalledApp, user_id: int = 2, **extra: object) -> str:
    reply = server.rest("telephony.externalCall.register",
                        {"USER_ID": user_id, "PHONE_NUMBER": PHONE, "TYPE": 2, **extra}, auth=app)
    assert reply.ok, reply.body
    return str(reply.result["CALL_ID"])


# -- CallcardServer ----------------------------------------------------------------------------------------


def test_server_serves_on_a_free_loopback_port_and_cleans_up(tmp_path: Path) -> None:
    srv = CallcardServer().start()
    data_dir, port = srv.data_dir, srv.port
    try:
        assert srv.url == f"http://127.0.0.1:{port}"
        assert srv.settings is not None and srv.settings.limits.enabled is False  # Settings.for_tests
        assert srv.control.get("/health").json()["ok"] is True
        assert (data_dir / "callcard.sqlite3").exists()
        # the control token is the data directory's, and the control API refuses anything else
        assert (data_dir / "control-token").read_text().strip() == srv.control_token
        assert srv.http.get("/_callcard/apps").status_code == 401
    finally:
        srv.stop()
    assert not srv.running
    assert not data_dir.exists()  # it made the temporary directory, so it removes it
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nobody listens any more


def test_server_keeps_a_given_data_dir_and_applies_setting_changes(tmp_path: Path) -> None:
    with CallcardServer(tmp_path / "data", auto_close_delay_s=7.0) as srv:
        assert srv.settings is not None and srv.settings.auto_close_delay_s == 7.0
        assert srv.services.settings.auto_close_delay_s == 7.0
        # frame names and endpoints use the real port, not the default 8765
        assert srv.install_app("x").credentials["client_endpoint"] == f"{srv.url}/rest/"
    assert (tmp_path / "data" / "callcard.sqlite3").exists()


def test_https_server_uses_its_local_ca() -> None:
    with CallcardServer(https=True) as srv:
        assert srv.url.startswith("https://127.0.0.1:")
        assert srv.control.get("/health").json()["ok"] is True  # verified against the local CA bundle
        assert srv.rest("app.info", auth=srv.install_app("tls")).ok
        with pytest.raises(httpx.ConnectError):
            httpx.get(srv.url + "/_callcard/health", verify=True)  # not trusted by the system store


def test_rest_with_an_app_a_token_a_webhook_and_none(server: CallcardServer, app: InstalledApp) -> None:
    by_app = server.rest("app.info", auth=app)
    assert by_app.ok and by_app.status == 200
    assert by_app.result["CODE"] == app.client_id
    assert server.rest("app.info", auth=app.access_token).result["ID"] == app.app_id
    hook = server.webhook(1)
    assert hook.startswith(f"{server.url}/rest/1/")
    me = server.rest("user.current", webhook=hook)
    assert me.ok and int(me.result["ID"]) == 1
    anonymous = server.rest("app.info")
    assert not anonymous.ok
    assert anonymous.status == 401 and anonymous.error == "NO_AUTH_FOUND"
    assert anonymous["error_description"] == anonymous.error_description


def test_rest_error_in_the_body_is_not_ok(server: CallcardServer, app: InstalledApp) -> None:
    reply = server.rest("telephony.externalCall.register", {"USER_ID": 2, "PHONE_NUMBER": PHONE, "TYPE": 9},
                        auth=app)
    assert not reply.ok
    assert reply.error == "ERROR_CORE" and reply.error_description == "Unknown TYPE"


def test_install_app_and_login_url(server: CallcardServer) -> None:
    app = server.install_app("Scoped", scopes=["telephony"], handler="http://localhost:9/app")
    assert app.server is server and app.id == app.app_id
    assert app.scopes == ("telephony",)
    listed = {a["id"]: a for a in server.control_call("GET", "/apps")}
    assert listed[app.app_id]["scopes"] == ["telephony"] and listed[app.app_id]["installed"] is True
    login = server.login_url(2)
    assert login.startswith(f"{server.url}/login/")
    resp = server.http.get(login.removeprefix(server.url))
    assert resp.status_code == 303 and "callcard_session" in resp.headers["set-cookie"]


def test_control_errors_raise_with_the_envelope(server: CallcardServer) -> None:
    with pytest.raises(ControlError) as caught:
        server.control_call("POST", "/apps", {"name": ""})
    assert caught.value.status == 400
    assert caught.value.body["error"] == "INVALID_REQUEST"
    assert "name is required" in str(caught.value)


def test_server_refuses_a_second_start(server: CallcardServer) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        server.start()


# -- Card ---------------------------------------------------------------------------------------------------


def test_card_through_the_control_api(server: CallcardServer, app: InstalledApp) -> None:
    card = Card(server, 2)
    assert card.view() is None and card.state is None and not card.is_open
    call_id = register(server, app)
    view = card.wait_open()
    assert view["callId"] == call_id and card.state == "externalCard"
    server.control_call("POST", "/cards/2/state", {"uiState": "connected"})
    assert card.wait_state("connected")["callState"] == "connected"
    assert card.press("mute")["muted"] is True  # without a page, press answers the new view
    card.press("dialpad", "5")
    card.press("qualityMeter", "4")
    card.press("transfer", 3)  # a bare user id becomes {"target": 3}
    card.press("commentSave", "call back tomorrow")  # opens the editor first
    assert card.view()["comment"]["text"] == "call back tomorrow"
    events = Timeline(server).events("event", "BackgroundCallCard::*Click")
    assert [(e.name, e.payload) for e in events] == [
        ("BackgroundCallCard::muteButtonClick", True),
        ("BackgroundCallCard::dialpadButtonClick", "5"),
        ("BackgroundCallCard::qualityMeterClick", "4"),
        ("BackgroundCallCard::transferButtonClick", {"type": "user", "target": 3}),
        ("BackgroundCallCard::addCommentButtonClick", "call back tomorrow"),
    ]
    with pytest.raises(ControlError):
        card.press("answer")  # not a button of the connected state
    card.press("hangup")
    server.rest("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": 2}, auth=app)
    card.wait_closed()
    assert not card.is_open


def test_card_wait_state_times_out_with_the_current_state(server: CallcardServer, app: InstalledApp) -> None:
    register(server, app)
    card = Card(server, 2, timeout=0.3)
    with pytest.raises(TimeoutError, match="'connected' .now 'externalCard'"):
        card.wait_state("connected")
    card.press("close")
    card.wait_closed()


def test_card_press_clicks_in_the_page_when_there_is_one(server: CallcardServer) -> None:
    clicked: list[str] = []

    class FakeLocator:  # records what Card asks Playwright to click
        def __init__(self, selector: str) -> None:
            self.selector = selector

        def locator(self, selector: str) -> FakeLocator:
            return FakeLocator(selector)

        @property
        def first(self) -> FakeLocator:
            return self

        def count(self) -> int:
            return 0

        def click(self, timeout: float) -> None:
            clicked.append(self.selector)

    class FakePage:
        def locator(self, selector: str) -> FakeLocator:
            return FakeLocator(selector)

    Card(server, 2, page=lambda: FakePage()).press("dialpad", "7")
    Card(server, 2, page=FakePage()).press("answer")
    assert clicked == ['[data-button="dialpad"]', '[data-button="dialpad-7"]', '[data-button="answer"]']
    # a page source that has no page falls back to the control API (which refuses: no card is open)
    with pytest.raises(ControlError):
        Card(server, 2, page=lambda: None).press("answer")


# -- Timeline -----------------------------------------------------------------------------------------------


def test_timeline_filters_by_kind_name_app_user_and_since(server: CallcardServer, app: InstalledApp) -> None:
    other = server.install_app("Other")
    timeline = Timeline(server)
    register(server, app, user_id=2)
    start = timeline.mark()
    assert start > 0
    register(server, other, user_id=3)
    rest = timeline.events("rest")
    assert [e.name for e in rest] == ["telephony.externalCall.register"] * 2
    assert [e.app_id for e in timeline.events("rest", app=other)] == [other.app_id]
    assert timeline.events("rest", user=3) == []  # REST entries carry the caller: the tokens' user 1
    assert [e.user_id for e in timeline.events("card", user=3)] == [3]
    later = timeline.events(since=start)
    assert later and all(e.seq > start for e in later)
    assert {e.user_id for e in later if e.kind == "event"} == {3}
    initialized = timeline.events("event", "BackgroundCallCard::initialized")
    assert len(initialized) == 2 and initialized[0].payload["PHONE_NUMBER"] == PHONE
    assert timeline.names("event", "BackgroundCallCard::*") == ["BackgroundCallCard::initialized"] * 2
    assert timeline.names("card") == ["externalCard", "externalCard"]
    assert {e.kind for e in timeline.events(["rest", "card"])} == {"rest", "card"}
    assert timeline.events("event", "CallCard::Nothing*") == []


def test_timeline_wait_for_counts_and_times_out(server: CallcardServer, app: InstalledApp) -> None:
    timeline = Timeline(server)
    register(server, app)
    assert len(timeline.wait_for("card", count=1, timeout=1)) == 1
    with pytest.raises(TimeoutError, match="2 timeline entries kind=card"):
        timeline.wait_for("card", count=2, timeout=0.2)


def test_wait_until_returns_the_truthy_value() -> None:
    calls = iter([None, [], {"ok": 1}])
    assert wait_until(lambda: next(calls), timeout=2) == {"ok": 1}
    with pytest.raises(TimeoutError, match="waiting for nothing"):
        wait_until(lambda: False, timeout=0.1, what="nothing")


# -- conformance and frames ----------------------------------------------------------------------------------


def test_conformance_leaves_out_the_local_setup_and_explains_the_rest(server: CallcardServer,
                                                                      app: InstalledApp) -> None:
    bound = server.rest("placement.bind", {
        "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": "http://localhost:9/worker.html",
        "OPTIONS": {"errorHandlerUrl": "http://localhost:9/errors"},
    }, auth=app)
    assert bound.result is True, bound.body
    report = conformance(app)
    assert report.clean and report.findings == []
    assert [f["kind"] for f in report.ignored] == ["dotless_handler_host"]
    report.assert_clean()
    strict = conformance(app, ignore=())
    assert not strict.clean and strict.kinds == ["dotless_handler_host"]

    server.rest("telephony.externalCall.register", {"USER_ID": 2, "PHONE_NUMBER": PHONE, "TYPE": 9}, auth=app)
    report = conformance(app)
    assert report.kinds == ["rest_error"] and report.warnings == report.findings and report.errors == []
    with pytest.raises(AssertionError) as caught:
        report.assert_clean()
    text = str(caught.value)
    assert "[warning] rest_error" in text and "Unknown TYPE" in text
    assert "why: " in text and "fix: " in text
    # another app's findings are not this app's
    assert conformance(server.install_app("Clean")).clean
    assert conformance(app.app_id, server=server).kinds == ["rest_error"]
    with pytest.raises(TypeError, match="server="):
        conformance(app.app_id)


def test_frames_come_from_the_hosts_frame_load_notes(server: CallcardServer, app: InstalledApp) -> None:
    # No page has loaded a frame yet.
    assert frames(app) == []
    # The host notes each load in the timeline (host/commands.py); add one as a page would cause it.
    server.services.journal.add("note", f"frame PAGE_BACKGROUND_WORKER of app {app.app_id} loaded in 42 ms",
                                {"sid": "a" * 32, "row_id": 5, "load_ms": 42.0}, app_id=app.app_id, user_id=2)
    server.services.journal.add("note", f"frame CALL_CARD of app {app.app_id} loaded in 9 ms",
                                {"sid": "b" * 32, "row_id": 6, "load_ms": 9.0}, app_id=app.app_id, user_id=2)
    [worker, tab] = frames(app)
    assert (worker.placement, worker.sid, worker.row_id, worker.load_ms, worker.user_id) == (
        "PAGE_BACKGROUND_WORKER", "a" * 32, 5, 42.0, 2)
    assert tab.placement == "CALL_CARD"
    assert frames(app, placement="CALL_CARD") == [tab]
    assert frames(server.install_app("No frames")) == []


# -- AppServer ----------------------------------------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> Iterator[AppServer]:
    (tmp_path / "index.html").write_text("<h1>home</h1>")
    (tmp_path / "worker.html").write_text("<p>worker</p>")
    (tmp_path / "app.js").write_text("var x = 1;")
    (tmp_path.parent / "secret.txt").write_text("no")
    with AppServer(tmp_path) as srv:
        yield srv


def test_app_server_serves_files_on_localhost(files: AppServer) -> None:
    assert files.url == f"http://localhost:{files.port}"
    assert files.url_for("/worker.html") == f"{files.url}/worker.html"
    page = httpx.get(files.url_for("worker.html"))
    assert page.status_code == 200 and page.text == "<p>worker</p>"
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-store"
    assert httpx.get(files.url_for("/app.js")).headers["content-type"].endswith("javascript; charset=utf-8")
    assert httpx.get(files.url + "/").text == "<h1>home</h1>"
    head = httpx.head(files.url_for("/worker.html"))
    assert head.status_code == 200 and head.content == b""
    assert httpx.get(files.url_for("/missing.html")).status_code == 404
    assert httpx.get(files.url + "/%2e%2e/secret.txt").status_code == 404
    assert [r.method for r in files.requests] == ["GET", "GET", "GET", "HEAD", "GET", "GET"]


def test_app_server_answers_and_records_the_hosts_form_post(files: AppServer) -> None:
    resp = httpx.post(files.url_for("/worker.html?DOMAIN=127.0.0.1%3A8000&APP_SID=abc"),
                      data={"AUTH_ID": "tok", "PLACEMENT_OPTIONS": '{"ID":"PAGE_BACKGROUND_WORKER"}'})
    assert resp.text == "<p>worker</p>"
    handler = httpx.post(files.url_for("/events"),
                         data={"event": "ONEXTERNALCALLSTART", "data[CALL_ID]": "c1"})
    assert handler.status_code == 200 and handler.text == "ok"
    [load] = files.posts("/worker.html")
    assert load.query == {"DOMAIN": "127.0.0.1:8000", "APP_SID": "abc"}
    assert load.form["PLACEMENT_OPTIONS"] == '{"ID":"PAGE_BACKGROUND_WORKER"}'
    [event] = files.wait_for_request("/events", timeout=1)
    assert event.form == {"event": "ONEXTERNALCALLSTART", "data[CALL_ID]": "c1"}
    with pytest.raises(TimeoutError, match="2 POST request"):
        files.wait_for_request("/events", count=2, timeout=0.1)
    files.clear()
    assert files.requests == []


def test_app_server_receives_callcards_outbound_events(server: CallcardServer, app: InstalledApp,
                                                       files: AppServer) -> None:
    """An app server doubles as the app's event handler: callcard's outbox POSTs to it on localhost."""
    bound = server.rest("event.bind", {"event": "ONEXTERNALCALLSTART", "handler": files.url_for("/events")},
                        auth=app)
    assert bound.ok, bound.body
    server.simulate_call("outgoing", PHONE, user_id=2, app=app)
    [post] = files.wait_for_request("/events", timeout=5)
    assert post.form["event"] == "ONEXTERNALCALLSTART"
    assert post.form["data[PHONE_NUMBER]"] == PHONE


def test_app_server_needs_a_directory(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError):
        AppServer(tmp_path / "nope")


# -- the fixtures, through pytester --------------------------------------------------------------------------


def test_fixtures_give_each_test_its_own_server_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        seen = []

        def test_one(callcard_server, callcard_app, card, timeline):
            seen.append(callcard_server.url)
            assert callcard_app.server is callcard_server
            r = callcard_server.rest("telephony.externalCall.register",
                                     {"USER_ID": 2, "PHONE_NUMBER": "+1555", "TYPE": 2}, auth=callcard_app)
            assert r.ok, r.body
            assert card.wait_open()["uiState"] == "externalCard"
            assert timeline.names("rest") == ["telephony.externalCall.register"]

        def test_two(callcard_server, card, timeline):
            assert callcard_server.url != seen[0]
            assert card.view() is None
            assert timeline.events("rest") == []
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["callcard: server scope function"])


def test_session_scope_shares_and_resets_the_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        seen = []

        def test_one(callcard_server, callcard_app, card):
            seen.append(callcard_server.url)
            r = callcard_server.rest("placement.bind", {
                "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": "http://localhost:9/w.html",
                "OPTIONS": {"errorHandlerUrl": "http://localhost:9/e"}}, auth=callcard_app)
            assert r.result is True
            r = callcard_server.rest("telephony.externalCall.register",
                                     {"USER_ID": 2, "PHONE_NUMBER": "+1555", "TYPE": 2}, auth=callcard_app)
            assert card.wait_open()

        def test_two(callcard_server, card, timeline):
            assert callcard_server.url == seen[0]
            assert card.view() is None           # reset: no card, no timeline
            assert timeline.events() == []
            state = callcard_server.control_call("GET", "/state")
            assert state["placements"] == []     # callcard_app removed its placement
            assert len(state["apps"]) == 1       # the app itself stays installed
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--callcard-server-scope=session")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["callcard: server scope session"])


def test_settings_fixture_and_ini_scope(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncallcard_server_scope = module\n")
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="module")
        def callcard_settings():
            return {"auto_close_delay_s": 3.5, "journal_size": 0}
        """
    )
    pytester.makepyfile(
        """
        def test_settings(callcard_server, timeline):
            assert callcard_server.settings.auto_close_delay_s == 3.5
            assert callcard_server.control_call("GET", "/timeline")["enabled"] is False
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["callcard: server scope module"])


def test_a_bad_scope_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncallcard_server_scope = class\n")
    pytester.makepyfile("def test_x(callcard_server):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*callcard_server_scope must be one of function, module, session*"])


def test_portal_page_skips_without_chromium(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_page(portal_page):\n    raise AssertionError('not reached')\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--callcard-chromium=/nonexistent/chromium")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no Chromium at /nonexistent/chromium*"])
