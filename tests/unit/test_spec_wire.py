"""wire-protocol.md, the server's side, checked against the spec's own text (never callcard's constants):
the getInterface table and the denied lists (§6, §7.3), the APP_SID of a production render (§1), and the
generic commands the server runs for a frame (§8: setInstall, setAppOption, setInstallFinish)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from callcard.app import build_services
from callcard.clock import FakeClock, SequentialIds
from callcard.host.frames import FrameFactory, LayoutRegistry, PageContext, interface_for
from callcard.host.routes import host_routes
from callcard.services import Services
from callcard.settings import Settings

ADMIN, OPERATOR = 1, 2
HANDLER = "http://localhost:5001/bg.html"

#: §8, the generic commands; with placementBindEvent and the internal names, never in getInterface (§7.3)
GENERIC = {
    "getInitData", "refreshAuth", "getInterface", "resizeWindow", "setTitle", "setScroll", "setUserOption",
    "setAppOption", "setInstall", "setInstallFinish", "reloadWindow", "imCallTo", "imPhoneTo",
    "imOpenMessenger", "imOpenHistory", "openApplication", "closeApplication", "openPath", "selectUser",
    "selectAccess", "selectCRM",
}
#: §7.3: initialized first, then the 16 others in call-card.md §5's order
BACKGROUND_EVENTS = ["BackgroundCallCard::" + name for name in (
    "initialized", "addCommentButtonClick", "muteButtonClick", "holdButtonClick", "closeButtonClick",
    "transferButtonClick", "cancelTransferButtonClick", "completeTransferButtonClick", "hangupButtonClick",
    "nextButtonClick", "skipButtonClick", "answerButtonClick", "entityChanged", "qualityMeterClick",
    "dialpadButtonClick", "makeCallButtonClick", "notifyAdminButtonClick",
)]
CRM_TABS = ("CRM_DEAL_DETAIL_TAB", "CRM_LEAD_DETAIL_TAB", "CRM_CONTACT_DETAIL_TAB", "CRM_COMPANY_DETAIL_TAB")


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return build_services(Settings.for_tests(tmp_path), clock=FakeClock(), ids=SequentialIds())


@pytest.fixture
def host(services: Services) -> Iterator[TestClient]:
    with TestClient(Starlette(routes=host_routes(services))) as c:
        yield c


def worker_app(services: Services, *, installed: bool = True) -> Any:
    apps = services.directory.apps
    app = apps.create_app("Softphone", ("placement", "telephony"), handler="http://localhost:5001/app.html")
    if installed:
        app = apps.mark_installed(app.id)
    services.placements.bind(apps.get_app(app.id).as_row(), True, {
        "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": HANDLER,
        "OPTIONS": {"errorHandlerUrl": "http://localhost:5001/err"},
    })
    return app


def open_page(client: TestClient, services: Services, user_id: int) -> dict[str, Any]:
    """Log ``user_id`` in and load the portal page; its boot JSON."""
    link = services.directory.sessions.create_login_link(user_id)
    assert client.get(f"/login/{link}", follow_redirects=False).status_code == 303
    html = client.get("/").text
    match = re.search(r'<script type="application/json" id="callcard-boot">(.*?)</script>', html, re.S)
    assert match
    boot: dict[str, Any] = json.loads(match.group(1))
    return boot


class Page:
    """portal.js's side of /ws, as far as these tests need it: hello, then requests answered by id."""

    def __init__(self, ws: Any, page_id: str) -> None:
        self.ws = ws
        self.next_id = 0
        ws.send_json({"t": "hello", "page": page_id})
        while ws.receive_json()["t"] != "hello":
            pass

    def cmd(self, sid: str, command: str, params: Any) -> dict[str, Any]:
        self.next_id += 1
        self.ws.send_json({"t": "cmd", "id": self.next_id, "sid": sid, "cmd": command, "params": params})
        while True:
            msg: dict[str, Any] = self.ws.receive_json()
            if msg["t"] == "re" and msg["id"] == self.next_id:
                return msg


# -- §6 and §7.3 --------------------------------------------------------------------------------------------


def test_get_interface_and_denied_lists_per_placement_as_the_spec_tables_say() -> None:
    non_default = ["setTitle", "setScroll", "reloadWindow"]
    expected = {
        "PAGE_BACKGROUND_WORKER": (
            ["CallCardSetMute", "CallCardSetHold", "CallCardSetUiState", "CallCardGetListUiStates",
             "CallCardSetCardTitle", "CallCardSetStatusText", "CallCardClose", "CallCardStartTimer",
             "CallCardStopTimer"],
            BACKGROUND_EVENTS,
        ),
        "CALL_CARD": (
            ["getStatus", "disableAutoClose", "enableAutoClose"],
            ["CallCard::EntityChanged", "CallCard::BeforeClose", "CallCard::CallStateChanged"],
        ),
        **{tab: (["reloadData"], []) for tab in CRM_TABS},
    }
    for placement, (commands, events) in expected.items():
        iface = interface_for(placement)
        assert (iface["commands"], iface["events"]) == (commands, events), placement
        assert sorted(iface["denied"]) == sorted(non_default), placement
        assert iface["bindable"] is True, placement
        excluded = GENERIC | {"placementBindEvent", "events", "constructor"} | set(non_default)
        assert not excluded & set(iface["commands"]), placement
    default = interface_for("DEFAULT")
    assert (default["commands"], default["events"], default["denied"], default["bindable"]) == ([], [], [], False)


# -- §1 ---------------------------------------------------------------------------------------------------------


def test_a_production_render_has_a_random_32_hex_app_sid(tmp_path: Path) -> None:
    services = build_services(Settings.for_tests(tmp_path), clock=FakeClock())  # the default, random ids
    app = worker_app(services)
    factory = FrameFactory(services, LayoutRegistry())
    ctx = PageContext.from_request("http", "127.0.0.1:8000", "/")
    sids = [
        factory.render(ctx, page_id="p", app_id=app.id, user_id=OPERATOR, placement="PAGE_BACKGROUND_WORKER",
                       handler=HANDLER, options={})["appSid"]
        for _ in range(3)
    ]
    assert all(re.fullmatch(r"[0-9a-f]{32}", sid) for sid in sids)
    assert len(set(sids)) == 3
    assert not any(set(sid[:-1]) == {"0"} for sid in sids)  # not a counter


# -- §8: the generic commands the server runs ---------------------------------------------------------------


def test_set_install_is_an_echo_that_changes_no_install_state(host: TestClient, services: Services) -> None:
    app = worker_app(services, installed=False)
    boot = open_page(host, services, ADMIN)  # the admin sees the worker of an app being installed
    sid = boot["background"][0]["appSid"]
    with host.websocket_connect("/ws") as ws:
        page = Page(ws, boot["pageId"])
        for params in ({"install": True}, {"install": False}):
            assert page.cmd(sid, "setInstall", params) == {"t": "re", "id": page.next_id, "ok": True,
                                                           "reply": params}
    assert services.directory.apps.get_app(app.id).installed is False
    assert open_page(host, services, ADMIN)["background"][0]["initData"]["INSTALL"] is True


def test_set_app_option_by_an_admin_is_echoed_saved_and_in_the_next_init_data(
    host: TestClient, services: Services
) -> None:
    app = worker_app(services)
    boot = open_page(host, services, ADMIN)
    sid = boot["background"][0]["appSid"]
    with host.websocket_connect("/ws") as ws:
        answer = Page(ws, boot["pageId"]).cmd(sid, "setAppOption", {"name": "mode", "value": {"a": 1}})
    assert answer["ok"] is True and answer["reply"] == {"name": "mode", "value": {"a": 1}}
    assert "noReply" not in answer
    assert services.directory.apps.app_options(app.id) == {"mode": {"a": 1}}
    # every user's next frame sees it
    assert open_page(host, services, OPERATOR)["background"][0]["initData"]["APP_OPTIONS"] == {"mode": {"a": 1}}


@pytest.mark.parametrize(("params", "flag"), [({"value": False}, "N"), ({"value": True}, "Y"), ([], "Y")])
def test_set_install_finish_reloads_the_frame_out_of_install_mode(
    host: TestClient, services: Services, params: Any, flag: str
) -> None:
    app = worker_app(services, installed=False)
    boot = open_page(host, services, ADMIN)
    frame = boot["background"][0]
    with host.websocket_connect("/ws") as ws:
        answer = Page(ws, boot["pageId"]).cmd(frame["appSid"], "setInstallFinish", params)
    assert answer["noReply"] is True and "reply" not in answer
    assert services.directory.apps.get_app(app.id).installed is True
    reload = answer["reload"]
    assert reload["appSid"] != frame["appSid"]
    assert reload["action"].endswith(f"&install_finished={flag}")
    assert (reload["placement"], reload["rowId"]) == (frame["placement"], frame["rowId"])
    assert reload["initData"]["INSTALL"] is False  # the re-rendered frame is no longer in install mode
