"""The host surface: frame descriptors (wire-protocol.md §1–§3, §7), login/session rules, the portal page,
and the page WebSocket (card ownership, relayed commands, events), through Starlette's TestClient."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from callcard.app import build_services
from callcard.clock import FakeClock, SequentialIds
from callcard.domain.cards import ShowRequest
from callcard.domain.events import BACKGROUND_EVENTS, CALL_CARD_EVENTS
from callcard.domain.placements import Placements
from callcard.host.frames import FrameFactory, LayoutRegistry, PageContext, app_origin, interface_for
from callcard.host.routes import SESSION_COOKIE, host_routes
from callcard.services import Services
from callcard.settings import Settings
from page_socket import PageSocket

HANDLER = "http://localhost:5001/bg.html"
TAB_HANDLER = "http://localhost:5001/tab.html?x=1"
SID = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return build_services(Settings.for_tests(tmp_path), clock=FakeClock(), ids=SequentialIds())


def make_app(
    services: Services, *, installed: bool = True, scopes: tuple[str, ...] = ("placement", "telephony")
):
    app = services.directory.apps.create_app("Softphone", scopes, handler="http://localhost:5001/app.html")
    if installed:
        app = services.directory.apps.mark_installed(app.id)
    return app


def bind(services: Services, app: Any, placement: str, handler: str, **extra: Any) -> None:
    params: dict[str, Any] = {"PLACEMENT": placement, "HANDLER": handler, **extra}
    if placement == "PAGE_BACKGROUND_WORKER":
        params.setdefault("OPTIONS", {"errorHandlerUrl": "http://localhost:5001/err"})
    services.placements.bind(services.directory.apps.get_app(app.id).as_row(), True, params)


def show_card(services: Services, user_id: int, call_id: str = "externalCall.abc.1") -> list[Any]:
    return services.cards.show(
        user_id,
        ShowRequest(call_id=call_id, phone_number="+15550100", direction="incoming", line_number="100"),
    )


def login(client: TestClient, services: Services, user_id: int) -> None:
    link = services.directory.sessions.create_login_link(user_id)
    response = client.get(f"/login/{link}", follow_redirects=False)
    assert response.status_code == 303


def boot_of(page_html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="callcard-boot">(.*?)</script>', page_html, re.S)
    assert match, "the portal page embeds its boot JSON"
    return json.loads(match.group(1))


@pytest.fixture
def client(services: Services):
    with TestClient(Starlette(routes=host_routes(services))) as c:
        yield c


# -- descriptors --------------------------------------------------------------------------------------------


def render(
    services: Services,
    app_id: int,
    user_id: int = 2,
    placement: str = "PAGE_BACKGROUND_WORKER",
    handler: str = HANDLER,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    factory = FrameFactory(services, LayoutRegistry())
    ctx = PageContext.from_request("http", "127.0.0.1:8765", "/?a=1")
    return factory.render(
        ctx,
        page_id="p1",
        app_id=app_id,
        user_id=user_id,
        placement=placement,
        handler=handler,
        options=options if options is not None else {"ID": placement},
        row_id=7,
    )


def test_descriptor_names_form_and_fields(services: Services) -> None:
    app = make_app(services)
    d = render(services, app.id, options={"ID": "PAGE_BACKGROUND_WORKER", "URI": "/?a=1"})
    sid = d["appSid"]
    assert SID.match(sid)
    assert d["frameName"] == f"127.0.0.1:8765|0|{sid}"
    assert d["frameId"] == f"appframe_{sid}"
    assert d["formName"] == f"appform_{sid}"
    assert d["allow"] == "geolocation *; microphone *; camera *; autoplay *;"
    assert d["origin"] == "http://localhost:5001"
    action = urlsplit(d["action"])
    assert f"{action.scheme}://{action.netloc}{action.path}" == HANDLER
    assert parse_qsl(action.query) == [
        ("DOMAIN", "127.0.0.1:8765"),
        ("PROTOCOL", "0"),
        ("LANG", "en"),
        ("APP_SID", sid),
    ]
    fields = d["fields"]
    assert list(fields) == [
        "AUTH_ID",
        "AUTH_EXPIRES",
        "REFRESH_ID",
        "SERVER_ENDPOINT",
        "APPLICATION_TOKEN",
        "APPLICATION_SCOPE",
        "member_id",
        "status",
        "PLACEMENT",
        "PLACEMENT_OPTIONS",
    ]
    assert all(isinstance(v, str) and v for v in fields.values())
    assert fields["AUTH_EXPIRES"] == "3600"
    assert fields["SERVER_ENDPOINT"] == "http://127.0.0.1:8765/oauth/"
    assert fields["APPLICATION_TOKEN"] == app.application_token
    assert fields["APPLICATION_SCOPE"] == "placement,telephony"
    assert fields["member_id"] == services.directory.member_id and SID.match(fields["member_id"])
    assert fields["status"] == "L"
    assert fields["PLACEMENT"] == "PAGE_BACKGROUND_WORKER"
    assert json.loads(fields["PLACEMENT_OPTIONS"]) == {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/?a=1"}
    # the tokens in the form are real, usable tokens for this app and user
    token_app, token_user = services.directory.tokens.resolve_access_token(fields["AUTH_ID"])
    assert (token_app.id, int(token_user["id"])) == (app.id, 2)


def test_handler_with_query_gets_ampersand_and_empty_options_are_braces(services: Services) -> None:
    app = make_app(services)
    d = render(services, app.id, placement="CALL_CARD", handler=TAB_HANDLER, options={})
    assert d["action"].startswith(TAB_HANDLER + "&DOMAIN=127.0.0.1%3A8765&PROTOCOL=0&LANG=en&APP_SID=")
    assert d["fields"]["PLACEMENT_OPTIONS"] == "{}"
    assert d["initData"]["PLACEMENT_OPTIONS"] == {}


def test_every_render_has_a_fresh_sid_and_fresh_tokens(services: Services) -> None:
    app = make_app(services)
    a, b = render(services, app.id), render(services, app.id)
    assert a["appSid"] != b["appSid"]
    assert a["fields"]["AUTH_ID"] != b["fields"]["AUTH_ID"]
    assert a["fields"]["REFRESH_ID"] != b["fields"]["REFRESH_ID"]


def test_init_data_types_and_first_run_once(services: Services) -> None:
    app = make_app(services, installed=False)
    services.directory.apps.set_user_options(app.id, 1, {"theme": "dark"})
    first = render(services, app.id, user_id=1, options={"ID": "PAGE_BACKGROUND_WORKER", "URI": "/"})
    init = first["initData"]
    assert set(init) == {
        "LANG",
        "DOMAIN",
        "PROTOCOL",
        "PATH",
        "AUTH_ID",
        "AUTH_EXPIRES",
        "REFRESH_ID",
        "MEMBER_ID",
        "FIRST_RUN",
        "IS_ADMIN",
        "INSTALL",
        "USER_OPTIONS",
        "APP_OPTIONS",
        "PLACEMENT",
        "PLACEMENT_OPTIONS",
    }
    assert init["PROTOCOL"] == 0 and type(init["PROTOCOL"]) is int
    assert init["AUTH_EXPIRES"] == 3600 and type(init["AUTH_EXPIRES"]) is int
    assert init["PATH"] == "/rest"
    assert init["DOMAIN"] == "127.0.0.1:8765"
    assert init["AUTH_ID"] == first["fields"]["AUTH_ID"]
    assert init["REFRESH_ID"] == first["fields"]["REFRESH_ID"]
    assert init["MEMBER_ID"] == services.directory.member_id
    assert init["FIRST_RUN"] is True
    assert init["IS_ADMIN"] is True
    assert init["INSTALL"] is True
    assert init["USER_OPTIONS"] == {"theme": "dark"}
    assert init["APP_OPTIONS"] == {}
    assert init["PLACEMENT"] == "PAGE_BACKGROUND_WORKER"
    assert init["PLACEMENT_OPTIONS"] == {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/"}
    second = render(services, app.id, user_id=2)["initData"]
    assert second["FIRST_RUN"] is False
    assert second["IS_ADMIN"] is False
    assert second["USER_OPTIONS"] == {}


def test_https_page_gets_protocol_one_and_default_port_dropped() -> None:
    ctx = PageContext.from_request("https", "portal.example:443", "/")
    assert (ctx.domain, ctx.protocol, ctx.base_url) == ("portal.example", 1, "https://portal.example")
    assert PageContext.from_request("http", "127.0.0.1:80", "/").domain == "127.0.0.1"


def test_app_origin_as_browsers_spell_it() -> None:
    assert app_origin("http://localhost:5001/a/b.html?x=1") == "http://localhost:5001"
    assert app_origin("https://App.Example.com:443/x") == "https://app.example.com"
    assert app_origin("http://example.com:80/") == "http://example.com"


def test_interfaces_per_placement() -> None:
    bg = interface_for("PAGE_BACKGROUND_WORKER")
    assert bg["commands"] == [
        "CallCardSetMute",
        "CallCardSetHold",
        "CallCardSetUiState",
        "CallCardGetListUiStates",
        "CallCardSetCardTitle",
        "CallCardSetStatusText",
        "CallCardClose",
        "CallCardStartTimer",
        "CallCardStopTimer",
    ]
    assert bg["events"] == list(BACKGROUND_EVENTS) and bg["events"][0] == "BackgroundCallCard::initialized"
    assert len(bg["events"]) == 17
    assert bg["denied"] == ["setTitle", "setScroll", "reloadWindow"] and bg["bindable"]
    cc = interface_for("CALL_CARD")
    assert cc["commands"] == ["getStatus", "disableAutoClose", "enableAutoClose"]
    assert cc["events"] == list(CALL_CARD_EVENTS)
    assert interface_for("CRM_LEAD_DETAIL_TAB")["commands"] == ["reloadData"]
    assert interface_for("CRM_LEAD_DETAIL_TAB")["events"] == []
    default = interface_for("DEFAULT")
    assert default["commands"] == [] and default["denied"] == [] and not default["bindable"]


# -- login and sessions ------------------------------------------------------------------------------------


def test_no_session_gets_the_login_page_not_the_portal(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 401
    assert "Sign in required" in response.text
    assert "callcard-boot" not in response.text and "appframe_" not in response.text
    assert client.get("/crm/lead/details/1/").status_code == 401


def test_bad_or_reused_login_link_is_refused(client: TestClient, services: Services) -> None:
    assert client.get("/login/nope", follow_redirects=False).status_code == 401
    link = services.directory.sessions.create_login_link(2)
    first = client.get(f"/login/{link}", follow_redirects=False)
    assert first.status_code == 303
    client.cookies.clear()
    again = client.get(f"/login/{link}", follow_redirects=False)
    assert again.status_code == 401
    assert SESSION_COOKIE not in again.headers.get("set-cookie", "")


def test_login_sets_an_httponly_lax_cookie_and_redirects_home(client: TestClient, services: Services) -> None:
    link = services.directory.sessions.create_login_link(2)
    response = client.get(f"/login/{link}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    page = client.get("/")
    assert page.status_code == 200
    assert boot_of(page.text)["user"] == {"id": 2, "isAdmin": False}


def test_login_next_is_never_an_open_redirect(client: TestClient, services: Services) -> None:
    link = services.directory.sessions.create_login_link(2)
    response = client.get(f"/login/{link}?next=//evil.example/", follow_redirects=False)
    assert response.headers["location"] == "/"


def test_websocket_needs_a_session(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as info, client.websocket_connect("/ws"):
        pass
    assert info.value.code == 4401


def test_websocket_with_unknown_page_is_told_to_reload(client: TestClient, services: Services) -> None:
    login(client, services, 2)
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"t": "hello", "page": "f" * 32})
        assert ws.receive_json() == {"t": "reload"}


# -- the portal page -----------------------------------------------------------------------------------------


def test_portal_without_rows_has_no_background_container(client: TestClient, services: Services) -> None:
    login(client, services, 2)
    page = client.get("/").text
    assert "intranet-placement-PAGE_BACKGROUND_WORKER" not in page
    assert '<form id="toolbar"' in page
    assert boot_of(page)["background"] == []


def test_portal_embeds_one_descriptor_per_visible_background_row(
    client: TestClient, services: Services
) -> None:
    installed = make_app(services)
    installing = make_app(services, installed=False)
    bind(services, installed, "PAGE_BACKGROUND_WORKER", HANDLER)
    bind(services, installing, "PAGE_BACKGROUND_WORKER", "http://localhost:5002/bg.html")
    bind(services, installed, "CALL_CARD", TAB_HANDLER, TITLE="Notes")
    login(client, services, 2)  # an operator: the not-installed app's worker is not rendered
    page = client.get("/?x=1").text
    assert '<div id="intranet-placement-PAGE_BACKGROUND_WORKER" style="display:none"></div>' in page
    boot = boot_of(page)
    assert [d["appId"] for d in boot["background"]] == [installed.id]
    d = boot["background"][0]
    assert d["placement"] == "PAGE_BACKGROUND_WORKER"
    assert d["initData"]["PLACEMENT_OPTIONS"] == {"ID": "PAGE_BACKGROUND_WORKER", "URI": "/?x=1"}
    assert d["frameName"] == f"testserver|0|{d['appSid']}"
    assert boot["cardTabs"] == [
        {"rowId": boot["cardTabs"][0]["rowId"], "appId": installed.id, "title": "Notes"}
    ]
    # a reload renders a fresh APP_SID and fresh tokens
    again = boot_of(client.get("/?x=1").text)["background"][0]
    assert again["appSid"] != d["appSid"] and again["fields"]["AUTH_ID"] != d["fields"]["AUTH_ID"]


def test_admin_also_sees_workers_of_apps_being_installed(client: TestClient, services: Services) -> None:
    installing = make_app(services, installed=False)
    bind(services, installing, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 1)
    assert [d["appId"] for d in boot_of(client.get("/").text)["background"]] == [installing.id]


def test_classic_library_is_served(client: TestClient) -> None:
    for path in ("/api/v1/", "/api/v1/index.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/javascript")
        assert "window" in response.text and "placementBindEvent" in response.text


# -- the page WebSocket --------------------------------------------------------------------------------------


def open_page(client: TestClient, path: str = "/") -> dict[str, Any]:
    response = client.get(path)
    assert response.status_code == 200
    return boot_of(response.text)


def test_card_commands_round_trip_and_events_reach_the_owning_page(
    client: TestClient, services: Services
) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    boot = open_page(client)
    sid = boot["background"][0]["appSid"]
    show_card(services, 2)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        card = page.receive("card")
        assert card["view"]["callId"] == "externalCall.abc.1"
        assert card["view"]["transferTargets"] and all(t["id"] != 2 for t in card["view"]["transferTargets"])
        # the page took over a card shown before it was there: `initialized` again (sent before the view),
        # kept for bindings made soon
        replay = next(m for m in page.pushed if m["t"] == "events")
        assert [e["name"] for e in replay["events"]] == ["BackgroundCallCard::initialized"]
        assert replay["sticky_ms"] == services.settings.card_restore_s * 1000

        answer = page.request(t="cmd", sid=sid, cmd="CallCardSetUiState", params={"uiState": "connected"})
        assert answer == {"t": "re", "id": answer["id"], "ok": True, "reply": []}
        assert services.cards.get(2).ui_state.name == "connected"
        assert page.request(t="cmd", sid=sid, cmd="CallCardStartTimer", params=[])["noReply"] is True
        bad = page.request(t="cmd", sid=sid, cmd="CallCardSetUiState", params={"uiState": "nope"})
        assert bad["reply"] == [{"result": "error", "errorCode": "Invalid ui state"}]
        states = page.request(t="cmd", sid=sid, cmd="CallCardGetListUiStates", params=[])["reply"]
        assert len(states) == 12 and "externalCard" not in states

        page.pushed.clear()
        assert page.request(t="press", button="mute")["ok"] is True
        # the click's event reaches the page before the reply; the card view only after it
        assert [m["t"] for m in page.pushed] == ["events"]
        assert page.pushed[0]["events"] == [
            {"name": "BackgroundCallCard::muteButtonClick", "payload": True, "has": True}
        ]
        assert page.receive("card")["view"]["muted"] is True

        page.pushed.clear()
        close = page.request(t="cmd", sid=sid, cmd="CallCardClose", params=[])
        assert close["reply"] == []
        assert services.cards.get(2) is None
        # the closing events still reach the page that owned the card, before the reply (§10);
        # the closed card (null view) follows the reply
        assert [m["t"] for m in page.pushed] == ["events"]
        assert [e["name"] for e in page.pushed[0]["events"]] == ["CallCard::BeforeClose"]
        assert page.receive("card")["view"] is None
        after = page.request(t="cmd", sid=sid, cmd="CallCardSetMute", params={"muted": True})
        assert after["reply"] == [{"result": "error", "errorCode": "Call card is undefined"}]


def test_only_the_first_page_owns_the_card(client: TestClient, services: Services) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    first, second = open_page(client), open_page(client)
    with client.websocket_connect("/ws") as raw1, client.websocket_connect("/ws") as raw2:
        p1, p2 = PageSocket(raw1, first["pageId"]), PageSocket(raw2, second["pageId"])
        assert p1.receive("card")["view"] is None and p2.receive("card")["view"] is None
        services.pages.publish(show_card(services, 2), 2)
        assert p1.receive("card")["view"]["callId"] == "externalCall.abc.1"
        sid2 = second["background"][0]["appSid"]
        answer = p2.request(t="cmd", sid=sid2, cmd="CallCardSetMute", params={"muted": True})
        assert answer["reply"] == [{"result": "error", "errorCode": "Call card is undefined"}]
        # p2 shows no card already: it is not sent that again (nor any event)
        assert [m for m in p2.pushed if m["t"] in ("card", "events")] == []
        assert not services.cards.get(2).muted
        assert p2.request(t="press", button="mute")["ok"] is False


def test_frames_of_another_page_are_refused(client: TestClient, services: Services) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    mine, other = open_page(client), open_page(client)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, mine["pageId"])
        answer = page.request(t="cmd", sid=other["background"][0]["appSid"], cmd="refreshAuth", params=[])
        assert answer["ok"] is False


def test_generic_commands_run_on_the_server(client: TestClient, services: Services) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    boot = open_page(client)
    sid = boot["background"][0]["appSid"]
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        frames = services.pages.frames()  # what the control API lists
        assert [(f["app_sid"], f["app_id"], f["placement"], f["user_id"]) for f in frames] == [
            (sid, app.id, "PAGE_BACKGROUND_WORKER", 2)
        ]
        auth = page.request(t="cmd", sid=sid, cmd="refreshAuth", params=[])["reply"]
        assert set(auth) == {"AUTH_ID", "AUTH_EXPIRES", "REFRESH_ID"} and auth["AUTH_EXPIRES"] == 3600
        assert auth["AUTH_ID"] != boot["background"][0]["fields"]["AUTH_ID"]
        assert services.directory.tokens.resolve_access_token(auth["AUTH_ID"])[0].id == app.id
        echo = page.request(t="cmd", sid=sid, cmd="setUserOption", params={"name": "n", "value": 5})
        assert echo["reply"] == {"name": "n", "value": 5}
        assert services.directory.apps.user_options(app.id, 2) == {"n": 5}
        # not an admin: setAppOption gets no reply and changes nothing
        assert page.request(t="cmd", sid=sid, cmd="setAppOption", params={"name": "a", "value": 1})["noReply"]
        assert services.directory.apps.app_options(app.id) == {}
        assert page.request(t="cmd", sid=sid, cmd="bogus", params=[])["noReply"] is True
        assert any(f["kind"] == "command_ignored" for f in services.conformance.findings(app.id))


def test_set_install_finish_marks_installed_and_reloads_the_frame(
    client: TestClient, services: Services
) -> None:
    app = make_app(services, installed=False)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 1)
    boot = open_page(client)
    sid = boot["background"][0]["appSid"]
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        answer = page.request(t="cmd", sid=sid, cmd="setInstallFinish", params={})
        assert answer["noReply"] is True
        assert services.directory.apps.get_app(app.id).installed
        reload = answer["reload"]
        assert reload["appSid"] != sid and "install_finished=Y" in reload["action"]


def test_call_card_tab_frame_gets_the_status_as_strings(client: TestClient, services: Services) -> None:
    app = make_app(services)
    bind(services, app, "CALL_CARD", TAB_HANDLER, TITLE="Notes")
    login(client, services, 2)
    boot = open_page(client, "/?from=test")
    row_id = boot["cardTabs"][0]["rowId"]
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        assert page.request(t="frame", placement="CALL_CARD", row=row_id)["ok"] is False  # no card yet
        services.pages.publish(show_card(services, 2), 2)
        d = page.request(t="frame", placement="CALL_CARD", row=row_id)["reply"]
        options = json.loads(d["fields"]["PLACEMENT_OPTIONS"])
        assert options == {**services.cards.get(2).status_as_strings(), "URI": "/?from=test"}
        assert options["CRM_ENTITY_ID"] == "0" and options["CRM_ACTIVITY_ID"] == "undefined"
        assert d["initData"]["PLACEMENT_OPTIONS"] == options
        assert d["title"] == "Notes" and d["placement"] == "CALL_CARD"
        status = page.request(t="cmd", sid=d["appSid"], cmd="getStatus", params=[])["reply"]
        assert status["CALL_ID"] == "externalCall.abc.1" and status["CRM_ENTITY_ID"] == 0


def test_load_reports_feed_the_watchdog(client: TestClient, services: Services) -> None:
    services.settings = services.settings.with_(watchdog=services.settings.watchdog.__class__(strikes=1))
    services.placements = Placements(services.store, services.clock, services.settings, services.conformance)
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    boot = open_page(client)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        raw.send_json({"t": "load", "sid": boot["background"][0]["appSid"], "ms": 100.0})
        page.request(t="cmd", sid=boot["background"][0]["appSid"], cmd="setInstall", params={})  # a barrier
        assert len(services.placements.background_rows(2, False)) == 1
        raw.send_json({"t": "load", "sid": boot["background"][0]["appSid"], "ms": 6000.0})
        page.request(t="cmd", sid=boot["background"][0]["appSid"], cmd="setInstall", params={})
        assert services.placements.background_rows(2, False) == []


def test_an_unused_card_survives_its_page_and_the_next_page_reclaims_it(
    client: TestClient, services: Services
) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    first = open_page(client)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, first["pageId"])
        page.receive("card")
        services.pages.publish(show_card(services, 2), 2)
        assert page.receive("card")["view"]["callId"] == "externalCall.abc.1"
    card = services.cards.get(2)  # the page went away (a reload): the card waits to be reclaimed
    assert card is not None and card.restore_until is not None
    second = open_page(client)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, second["pageId"])
        assert page.receive("card")["view"]["callId"] == "externalCall.abc.1"
        replay = [m for m in page.pushed if m["t"] == "events"]
        assert [e["name"] for e in replay[0]["events"]] == ["BackgroundCallCard::initialized"]
        assert services.cards.get(2).restore_until is None


def test_a_used_card_closes_with_its_page(client: TestClient, services: Services) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    boot = open_page(client)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        services.pages.publish(show_card(services, 2), 2)
        sid = boot["background"][0]["appSid"]
        assert page.request(t="cmd", sid=sid, cmd="CallCardSetMute", params={"muted": True})["reply"] == []
    assert services.cards.get(2) is None
    assert len(services.pages.layouts) == 0  # the page's layouts died with it


def test_control_frames_lists_live_frames_with_their_load_times(client: TestClient, services: Services) -> None:
    app = make_app(services)
    bind(services, app, "PAGE_BACKGROUND_WORKER", HANDLER)
    login(client, services, 2)
    boot = open_page(client)
    sid = boot["background"][0]["appSid"]
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        assert [(f["app_sid"], f["load_ms"]) for f in services.pages.frames()] == [(sid, None)]
        raw.send_json({"t": "load", "sid": sid, "ms": 1234.5})  # a notice: no answer
        page.request(t="cmd", sid=sid, cmd="CallCardGetListUiStates", params=[])  # answered after it
        frames = services.pages.frames()
        assert frames[0]["load_ms"] == 1234.5
        assert frames[0]["placement"] == "PAGE_BACKGROUND_WORKER" and frames[0]["user_id"] == 2
    assert services.pages.frames() == []  # the page went away, and its frames with it
