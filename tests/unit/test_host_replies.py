"""The page connection's latency rules (docs/benchmarks.md, bridge): the reply of a page request is written
before the card view, outbox and timeline work; unchanged card views are not sent again; notices come in
batches or carried by a request and are handled after its reply (before a click); the page answers
CallCardGetListUiStates itself and a ``used`` notice marks the card as the command would have."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from callcard.app import create_app
from callcard.domain.cards import ShowRequest
from callcard.domain.uistate import LISTED_STATES
from callcard.host.frames import LOCAL_REPLIES, interface_for
from callcard.host.outlet import Outlet, card_key, dumps
from callcard.services import Services
from callcard.settings import Settings
from page_socket import PageSocket

USER = 2
HANDLER = "http://localhost:5001/bg.html"
TAB_HANDLER = "http://localhost:5001/tab.html"


# -- the outlet -------------------------------------------------------------------------------------------


class Socket:
    """A page socket that records what is written; ``gate`` makes a write wait (a slow client)."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def send_text(self, data: str) -> None:
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise ConnectionResetError("gone")
        self.sent.append(data)


def test_outlet_keeps_the_order_and_the_reader_sends_without_the_writer() -> None:
    async def run() -> list[str]:
        ws = Socket()
        outlet = Outlet(ws, dumps)
        writer = asyncio.create_task(outlet.run())
        outlet.hold()  # the reader handles a request: what it produces waits for its flush
        outlet.put("events")
        outlet.put("re")
        await asyncio.sleep(0.01)
        assert ws.sent == []  # the writer task was not woken
        await outlet.flush()
        assert ws.sent == ["events", "re"]  # written by the reader itself
        outlet.put("card")
        await outlet.release()
        outlet.put("pushed while idle")  # e.g. from a REST call: the writer task sends it
        await asyncio.sleep(0.01)
        writer.cancel()
        return ws.sent

    assert asyncio.run(run()) == ["events", "re", "card", "pushed while idle"]


def test_outlet_flush_during_a_slow_write_keeps_the_order() -> None:
    async def run() -> list[str]:
        ws = Socket()
        ws.gate = asyncio.Event()
        outlet = Outlet(ws, dumps)
        writer = asyncio.create_task(outlet.run())
        outlet.put("first")
        await asyncio.sleep(0.01)  # the writer is stuck writing "first"
        outlet.put("second")
        await outlet.flush()  # busy: the writer will send it, after "first"
        ws.gate.set()
        await asyncio.sleep(0.01)
        writer.cancel()
        return ws.sent

    assert asyncio.run(run()) == ["first", "second"]


def test_outlet_drops_a_card_view_equal_to_the_last_one_sent() -> None:
    async def run() -> list[Any]:
        ws = Socket()
        outlet = Outlet(ws, dumps)
        view = {"callId": "c1", "statusText": "x"}
        sent = [
            outlet.put_card({"t": "card", "view": None}, None),
            outlet.put_card({"t": "card", "view": None}, None),
            outlet.put_card({"t": "card", "view": view}, card_key(view)),
            outlet.put_card({"t": "card", "view": dict(view)}, card_key(dict(view))),
            outlet.put_card({"t": "card", "view": {**view, "statusText": "y"}}, card_key({**view, "statusText": "y"})),
            outlet.put_card({"t": "card", "view": None}, None),
        ]
        await outlet.flush()
        return [sent, [json.loads(t)["view"] for t in ws.sent]]

    sent, views = asyncio.run(run())
    assert sent == [True, False, True, False, True, True]
    assert views == [None, {"callId": "c1", "statusText": "x"}, {"callId": "c1", "statusText": "y"}, None]


def test_outlet_stops_on_a_broken_socket() -> None:
    async def run() -> tuple[bool, list[str]]:
        ws = Socket()
        ws.fail = True
        outlet = Outlet(ws, dumps)
        outlet.put("lost")
        await outlet.flush()  # no exception: the reader notices the close on its next receive
        ws.fail = False
        outlet.put("after")
        await outlet.flush()
        return outlet.broken, ws.sent

    assert asyncio.run(run()) == (True, [])


def test_card_key_ignores_only_the_elapsed_time_of_a_running_timer() -> None:
    running = {"uiState": "connected", "timer": {"running": True, "shown": True, "elapsed": 3.0}}
    later = {"uiState": "connected", "timer": {"running": True, "shown": True, "elapsed": 9.5}}
    assert card_key(running) == card_key(later)  # the page counts on by itself
    stopped = {"uiState": "connected", "timer": {"running": False, "shown": True, "elapsed": 3.0}}
    assert card_key(stopped) != card_key({**stopped, "timer": {**stopped["timer"], "elapsed": 4.0}})
    assert card_key(running) != card_key(stopped)
    assert card_key(None) is None


def test_only_the_worker_interface_has_local_replies() -> None:
    assert interface_for("PAGE_BACKGROUND_WORKER")["local"] == {"CallCardGetListUiStates": list(LISTED_STATES)}
    assert LOCAL_REPLIES["PAGE_BACKGROUND_WORKER"]["CallCardGetListUiStates"] == list(LISTED_STATES)
    for placement in ("CALL_CARD", "CRM_DEAL_DETAIL_TAB", "DEFAULT"):
        assert interface_for(placement)["local"] == {}


# -- over the page WebSocket (the whole app: hub, timeline) ----------------------------------------------------


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings.for_tests(tmp_path))) as c:
        yield c


def services_of(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def open_page(client: TestClient, placement: str = "PAGE_BACKGROUND_WORKER") -> dict[str, Any]:
    """Install an app with a worker (and a CALL_CARD tab), log USER in, render the portal; the boot JSON."""
    services = services_of(client)
    app = services.directory.apps.create_app("Softphone", ("placement", "telephony"), handler=HANDLER)
    app = services.directory.apps.mark_installed(app.id)
    row = services.directory.apps.get_app(app.id).as_row()
    services.placements.bind(row, True, {"PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": HANDLER,
                                         "OPTIONS": {"errorHandlerUrl": "http://localhost:5001/err"}})
    services.placements.bind(row, True, {"PLACEMENT": "CALL_CARD", "HANDLER": TAB_HANDLER})
    link = services.directory.sessions.create_login_link(USER)
    assert client.get(f"/login/{link}", follow_redirects=False).status_code == 303
    html = client.get("/").text
    match = re.search(r'id="callcard-boot">(.*?)</script>', html, re.S)
    assert match
    boot: dict[str, Any] = json.loads(match.group(1))
    return boot


def show_card(client: TestClient) -> None:
    services = services_of(client)
    request = ShowRequest(call_id="externalCall.r.1", phone_number="+15550100", direction="incoming")
    services.hub.publish(services.cards.show(USER, request), [USER])
    services.hub.publish(services.cards.set_ui_state(USER, "connected"), [USER])


@contextlib.contextmanager
def card_page(client: TestClient) -> Iterator[tuple[PageSocket, dict[str, Any]]]:
    """USER's portal page with a worker and a tab, connected, its card open and its first view received
    (``page.first_view``); yields the page and the boot JSON. ``page.sid``: the worker's APP_SID."""
    boot = open_page(client)
    show_card(client)
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        page.sid = boot["background"][0]["appSid"]
        page.first_view = page.receive("card")["view"]
        yield page, boot


def test_a_command_is_answered_before_its_card_view_and_an_unchanged_view_is_not_sent(
    client: TestClient,
) -> None:
    with card_page(client) as (page, boot):
        sid = page.sid
        page.barrier(boot["cardTabs"][0]["rowId"])
        page.pushed.clear()
        set_text = {"t": "cmd", "sid": sid, "cmd": "CallCardSetStatusText", "params": {"statusText": "Busy"}}
        assert page.request(**set_text)["reply"] == []
        assert page.pushed == []  # nothing before the reply
        assert page.receive("card")["view"]["statusText"] == "Busy"  # the view follows it
        page.pushed.clear()
        assert page.request(**set_text)["reply"] == []  # the same text again: the view does not change
        page.barrier(boot["cardTabs"][0]["rowId"])
        assert [m for m in page.pushed if m["t"] == "card"] == []
        # the timeline still has a card entry for each command
        entries = services_of(client).journal.entries(kinds=["card"])
        assert [e["payload"]["statusText"] for e in entries[-2:]] == ["Busy", "Busy"]


def test_a_used_notice_marks_the_card_as_running_the_command_would(client: TestClient) -> None:
    services = services_of(client)
    with card_page(client) as (page, boot):
        sid = page.sid
        assert page.first_view is not None and page.first_view["used"] is False
        # only the commands the page may answer by itself count; anything else is ignored
        page.ws.send_json({"t": "used", "sid": sid, "cmd": "CallCardClose"})
        page.ws.send_json({"t": "used", "sid": "f" * 32, "cmd": "CallCardGetListUiStates"})
        page.barrier(boot["cardTabs"][0]["rowId"])
        card = services.cards.get(USER)
        assert card is not None and card.used is False
        page.ws.send_json({"t": "batch", "items": [{"t": "used", "sid": sid, "cmd": "CallCardGetListUiStates"}]})
        assert page.receive("card")["view"]["used"] is True  # marked, and the page shows it
        assert services.cards.get(USER).used is True  # type: ignore[union-attr]


def test_a_used_notice_from_a_tab_frame_or_a_page_without_the_card_changes_nothing(client: TestClient) -> None:
    services = services_of(client)
    with card_page(client) as (page, boot):
        tab = page.request(t="frame", placement="CALL_CARD", row=boot["cardTabs"][0]["rowId"])["reply"]
        page.ws.send_json({"t": "used", "sid": tab["appSid"], "cmd": "CallCardGetListUiStates"})
        page.barrier(boot["cardTabs"][0]["rowId"])
        assert services.cards.get(USER).used is False  # type: ignore[union-attr]


def test_notices_carried_by_a_request_are_handled_after_its_reply_in_timeline_order(client: TestClient) -> None:
    services = services_of(client)
    with card_page(client) as (page, boot):
        sid = page.sid
        since = services.journal.entries()[-1]["seq"]
        data = f'CallCardSetStatusText:{{"statusText":"On hold"}}:cb3:{sid}'
        notices = [
            {"t": "wire", "sid": sid, "dir": "out", "kind": "reply:CallCardGetListUiStates", "data": "cb2:[]"},
            {"t": "used", "sid": sid, "cmd": "CallCardGetListUiStates"},
            {"t": "wire", "sid": sid, "dir": "in", "kind": "CallCardSetStatusText", "data": data},
        ]
        page.pushed.clear()
        answer = page.request(t="cmd", sid=sid, cmd="CallCardSetStatusText", params={"statusText": "On hold"},
                              notices=notices)
        assert answer["reply"] == [] and page.pushed == []  # the reply came first
        view = page.receive("card")["view"]
        assert view["statusText"] == "On hold" and view["used"] is True  # one view for both changes
        entries = services.journal.entries(since=since)
        assert [(e["kind"], e.get("direction")) for e in entries][:3] == [
            ("message", "out"), ("message", "in"), ("card", None)
        ]
        assert entries[1]["payload"] == data


def test_a_click_sees_a_used_notice_it_carries_and_its_event_comes_before_the_reply(client: TestClient) -> None:
    services = services_of(client)
    with card_page(client) as (page, boot):
        sid = page.sid
        target = next(u["id"] for u in services.pages.user_choices() if u["id"] != USER)
        page.pushed.clear()
        answer = page.request(t="press", button="transfer", value={"target": target},
                              notices=[{"t": "used", "sid": sid, "cmd": "CallCardGetListUiStates"}])
        assert answer["ok"] is True
        assert [m["t"] for m in page.pushed] == ["events"]
        assert page.pushed[0]["events"][0]["name"] == "BackgroundCallCard::transferButtonClick"
        assert page.pushed[0]["events"][0]["payload"] == {"phoneNumber": "+15550100", "target": target}
        assert page.receive("card")["view"]["used"] is True


def test_echo_is_answered_at_once_and_its_carried_notices_still_count(client: TestClient) -> None:
    # bench/bridge.py's WebSocket floor: an echo does no work of its own, but loses nothing it carries
    with card_page(client) as (page, _):
        sid = page.sid
        page.pushed.clear()
        answer = page.request(t="echo", notices=[{"t": "used", "sid": sid, "cmd": "CallCardGetListUiStates"}])
        assert answer == {"t": "re", "id": answer["id"], "ok": True}
        assert page.pushed == []  # nothing ahead of the reply
        assert page.receive("card")["view"]["used"] is True
