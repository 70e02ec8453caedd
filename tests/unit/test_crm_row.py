"""The card's CRM row (call-card.md §3.4, §5, §8.4): the Lead and Contact chips create that entity for the
card's number, bind the call to it and load it into the card (CallCard::EntityChanged, then
BackgroundCallCard::entityChanged); a stale click creates nothing; Deal and Invoice only say callcard has
none. Over the domain (ExternalCalls + CardService + Crm on a real store), the page WebSocket (a ``crm``
request, from the page that owns the card only) and the control API's ``press``."""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from callcard.app import create_app
from callcard.clock import FakeClock, SequentialIds
from callcard.domain.callcrm import CARD_CRM_CHIPS
from callcard.domain.calls import ExternalCalls
from callcard.domain.card import CallCard
from callcard.domain.cards import CardService
from callcard.domain.crm import Crm
from callcard.domain.directory import Directory
from callcard.domain.events import Event
from callcard.domain.uistate import UiState
from callcard.services import Services
from callcard.settings import Settings
from callcard.store import SQLiteStore
from page_socket import PageSocket

T0 = 1_763_700_000.0
USER = 2
PHONE = "+49 30 1234567"
STRIPPED = "+49301234567"
EC = "CallCard::EntityChanged"
BG_EC = "BackgroundCallCard::entityChanged"


class Env:
    """The real services external calls and the card use, over one store."""

    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings.for_tests(tmp_path)
        self.store = SQLiteStore(tmp_path / "db.sqlite3")
        self.clock = FakeClock(T0)
        ids = SequentialIds()
        self.directory = Directory(self.store, self.clock, ids, self.settings)
        self.directory.ensure_seeded()
        self.crm = Crm(self.store, self.clock)
        self.cards = CardService(self.store, self.clock)
        self.calls = ExternalCalls(self.store, self.clock, ids, self.directory, self.crm, self.cards,
                                   self.settings)
        self.app = self.directory.apps.create_app("PBX", ["telephony", "crm"]).id

    def register(self, phone: str = PHONE, call_type: int = 2) -> str:
        result, _ = self.calls.register(self.app, user_id=USER, phone_number=phone, call_type=call_type)
        call_id: str = result["CALL_ID"]
        return call_id

    def card(self) -> CallCard:
        card = self.cards.get(USER)
        assert card is not None
        return card

    def entity_count(self) -> int:
        return self.store.count("crm_entities")


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path)
    yield e
    e.store.close()


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


# -- the domain --------------------------------------------------------------------------------------------


def test_lead_chip_creates_the_lead_binds_the_call_and_loads_it_into_the_card(env: Env) -> None:
    call_id = env.register()
    assert env.card().crm_buttons() == ["addComment", "addLead", "addContact"]  # an unknown number
    result, events = env.calls.create_from_card(USER, "addLead")
    assert result == {"CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 1}
    # the platform's loadCrmCard: the window event first, then the worker's (call-card.md §5, §8.4)
    assert names(events) == [EC, BG_EC]
    for event in events:
        assert event.payload == {"CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 1, "PHONE_NUMBER": STRIPPED}
        assert type(event.payload["CRM_ENTITY_ID"]) is int
        assert (event.user_id, event.call_id) == (USER, call_id)
    # the lead, as CRM_CREATE=1 would have created it at register, created by the operator
    lead = env.crm.get("LEAD", 1)
    assert lead["TITLE"] == f"Incoming call {STRIPPED}" and lead["SOURCE_ID"] == "CALL"
    assert [p["VALUE"] for p in lead["PHONE"]] == [STRIPPED]
    assert (lead["ASSIGNED_BY_ID"], lead["CREATED_BY_ID"]) == ("2", "2")
    assert env.crm.find_by_phone(PHONE) == [("LEAD", 1)]
    # the call is bound to it
    row = env.calls.live_call(call_id)
    assert row is not None
    assert (row["crm_entity_type"], row["crm_entity_id"], row["crm_bindings"]) == (
        "LEAD", 1, [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 1}])
    # the card shows it; a lead leaves only the comment in the CRM row
    card = env.card()
    view = card.view(T0)
    assert view["crm"] == {"entityType": "LEAD", "entityId": 1, "activityId": 0,
                           "bindings": [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 1}]}
    assert view["crmButtons"] == ["addComment"]
    status = card.status()
    assert (status["CRM_ENTITY_TYPE"], status["CRM_ENTITY_ID"], status["CRM_BINDINGS"]) == (
        "LEAD", 1, [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 1}])
    # finish reports it and records the call on it, as for an entity found at register
    record, _ = env.calls.finish(env.app, call_id=call_id, user_id=USER, duration=30)
    assert (record["CRM_ENTITY_TYPE"], record["CRM_ENTITY_ID"]) == ("LEAD", 1)
    assert record["CRM_ACTIVITY_ID"] is not None
    [activity] = env.crm.activities_for_call(call_id)
    assert (activity["owner_type"], activity["owner_id"]) == ("LEAD", 1)


def test_contact_chip_on_an_outgoing_call_and_the_row_offers_deal_and_invoice(env: Env) -> None:
    env.crm.add("CONTACT", {"NAME": "Someone else", "PHONE": [{"VALUE": "+1 555 0100", "VALUE_TYPE": "WORK"}]})
    call_id = env.register(call_type=1)
    result, events = env.calls.create_from_card(USER, "addContact")
    assert result == {"CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 2}  # ids are per type
    assert names(events) == [EC, BG_EC]
    assert all(e.payload == {"CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 2, "PHONE_NUMBER": STRIPPED}
               for e in events)
    contact = env.crm.get("CONTACT", 2)
    assert contact["NAME"] == f"Outgoing call {STRIPPED}" and "TITLE" not in contact
    assert env.crm.entity_name("CONTACT", 2) == f"Outgoing call {STRIPPED}"
    assert [p["VALUE"] for p in contact["PHONE"]] == [STRIPPED]
    assert env.card().crm_buttons() == ["addComment", "addDeal", "addInvoice"]
    # a re-register of the same call (dedup) reports the entity the card created
    again, _ = env.calls.register(env.app, user_id=USER, phone_number=PHONE, call_type=1)
    assert again["CALL_ID"] == call_id
    assert (again["CRM_ENTITY_TYPE"], again["CRM_ENTITY_ID"]) == ("CONTACT", 2)


def test_a_stale_second_click_creates_nothing(env: Env) -> None:
    call_id = env.register()
    env.calls.create_from_card(USER, "addLead")
    before = (env.entity_count(), env.card().to_dict(), env.calls.live_call(call_id))
    for chip in ("addLead", "addContact"):
        with pytest.raises(ValueError, match="the card already shows LEAD #1"):
            env.calls.create_from_card(USER, chip)
    assert (env.entity_count(), env.card().to_dict(), env.calls.live_call(call_id)) == before


def test_a_card_bound_at_register_refuses_the_chips(env: Env) -> None:
    env.crm.add("CONTACT", {"NAME": "Ada", "PHONE": [{"VALUE": PHONE, "VALUE_TYPE": "WORK"}]})
    env.register()
    with pytest.raises(ValueError, match="the card already shows CONTACT #1"):
        env.calls.create_from_card(USER, "addLead")
    assert env.entity_count() == 1


def test_deal_and_invoice_are_not_emulated_and_change_nothing(env: Env) -> None:
    env.crm.add("CONTACT", {"NAME": "Ada", "PHONE": [{"VALUE": PHONE, "VALUE_TYPE": "WORK"}]})
    env.register()
    before = env.card().to_dict()
    with pytest.raises(ValueError, match="^Deals are not emulated by callcard$"):
        env.calls.create_from_card(USER, "addDeal")
    with pytest.raises(ValueError, match="^Invoices are not emulated by callcard$"):
        env.calls.create_from_card(USER, "addInvoice")
    with pytest.raises(ValueError, match="not a CRM action"):
        env.calls.create_from_card(USER, "addComment")  # a card button (the comment editor), not a chip
    assert env.card().to_dict() == before and env.entity_count() == 1
    assert set(CARD_CRM_CHIPS) == {"addDeal", "addInvoice", "addLead", "addContact"}


def test_no_card_no_entity(env: Env) -> None:
    with pytest.raises(ValueError, match="no open call card"):
        env.calls.create_from_card(USER, "addLead")
    assert env.entity_count() == 0


def test_a_non_external_card_fires_only_the_call_card_event(env: Env) -> None:
    # a card no external call raised (no call row): the BackgroundCallCard gate of §5 still applies
    card = CallCard(user_id=USER, call_id="voximplant.1", phone_number="hidden", direction="callback",
                    call_state="connected", ui_state=UiState.connected, is_external_call=False)
    env.store.upsert("cards", {"user_id": USER, "state": card.to_dict(), "updated_at": T0})
    result, events = env.calls.create_from_card(USER, "addLead")
    assert names(events) == [EC]
    assert events[0].payload == {"CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 1, "PHONE_NUMBER": "hidden"}
    lead = env.crm.get("LEAD", 1)
    assert lead["TITLE"] == "Callback hidden" and "PHONE" not in lead  # no number to store
    assert (env.card().crm_entity_type, env.card().crm_entity_id) == ("LEAD", 1)


def test_card_service_load_crm_ignores_another_call(env: Env) -> None:
    env.register()
    before = env.card().to_dict()
    assert env.cards.load_crm(USER, "externalCall.other", "LEAD", 9, []) == []
    assert env.cards.load_crm(3, "externalCall.other", "LEAD", 9, []) == []  # no card at all
    assert env.card().to_dict() == before


# -- over the page WebSocket and the control API ---------------------------------------------------------------


HANDLER = "http://localhost:5001/bg.html"
HOOK = "http://localhost:5001/hook"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings.for_tests(tmp_path))) as c:
        yield c


def services_of(client: TestClient) -> Services:
    return client.app.state.services  # type: ignore[attr-defined,no-any-return]


def boot_page(client: TestClient) -> dict[str, Any]:
    """Install an app with a worker for USER, log USER in, render the portal page; its boot JSON."""
    services = services_of(client)
    app = services.directory.apps.create_app("Softphone", ("placement", "telephony"), handler=HANDLER)
    app = services.directory.apps.mark_installed(app.id)
    row = services.directory.apps.get_app(app.id).as_row()
    services.placements.bind(row, True, {"PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": HANDLER,
                                         "OPTIONS": {"errorHandlerUrl": "http://localhost:5001/err"}})
    services.card_handlers.bind(app.id, None, USER, BG_EC, HOOK)  # REST placement.bindEvent
    link = services.directory.sessions.create_login_link(USER)
    assert client.get(f"/login/{link}", follow_redirects=False).status_code == 303
    match = re.search(r'id="callcard-boot">(.*?)</script>', client.get("/").text, re.S)
    assert match
    boot: dict[str, Any] = json.loads(match.group(1))
    boot["app_id"] = app.id
    return boot


@contextlib.contextmanager
def owning_page(client: TestClient) -> Iterator[tuple[PageSocket, dict[str, Any]]]:
    """USER's page, connected, showing the card of a call from an unknown number (first view received)."""
    boot = boot_page(client)
    services = services_of(client)
    _, events = services.calls.register(boot["app_id"], user_id=USER, phone_number=PHONE, call_type=2)
    services.hub.publish(events, [USER])
    with client.websocket_connect("/ws") as raw:
        page = PageSocket(raw, boot["pageId"])
        assert page.receive("card")["view"]["crmButtons"] == ["addComment", "addLead", "addContact"]
        yield page, boot


def test_a_crm_request_creates_the_lead_events_before_the_reply_then_the_view(client: TestClient) -> None:
    services = services_of(client)
    with owning_page(client) as (page, _):
        page.pushed.clear()
        answer = page.request(t="crm", action="addLead")
        assert (answer["ok"], answer["toast"]) == (True, "Lead #1 created")
        assert answer["entity"] == {"entityType": "LEAD", "entityId": 1}
        # the frames hear the entity events before the reply, in the platform's order
        assert [m["t"] for m in page.pushed] == ["events"]
        payload = {"CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 1, "PHONE_NUMBER": STRIPPED}
        assert [(e["name"], e["payload"]) for e in page.pushed[0]["events"]] == [(EC, payload), (BG_EC, payload)]
        view = page.receive("card")["view"]
        assert view["crm"]["entityType"] == "LEAD" and view["crm"]["entityId"] == 1
        assert view["crmButtons"] == ["addComment"]
        # the timeline and the HTTP handler bound over REST got them as well
        assert [e["summary"] for e in services.journal.entries(kinds=["event"])][-2:] == [EC, BG_EC]
        assert [r["kind"] for r in services.outbox.list()] == [BG_EC]
        # a stale click (the chip is gone, the click was already on its way) creates nothing
        stale = page.request(t="crm", action="addContact")
        assert (stale["ok"], stale["error"]) == (False, "the card already shows LEAD #1")
        assert services.store.count("crm_entities") == 1


def test_deal_on_a_contact_card_is_a_message_and_no_event(client: TestClient) -> None:
    services = services_of(client)
    with owning_page(client) as (page, _):
        assert page.request(t="crm", action="addContact")["toast"] == "Contact #1 created"
        assert page.receive("card")["view"]["crmButtons"] == ["addComment", "addDeal", "addInvoice"]
        page.pushed.clear()
        since = services.journal.entries()[-1]["seq"]
        answer = page.request(t="crm", action="addDeal")
        assert (answer["ok"], answer["error"]) == (False, "Deals are not emulated by callcard")
        assert page.pushed == [] and services.journal.entries(kinds=["event"], since=since) == []
        assert services.store.count("crm_entities") == 1


def test_a_page_that_does_not_own_the_card_is_refused(client: TestClient) -> None:
    services = services_of(client)
    with owning_page(client) as (_, boot):
        link = services.directory.sessions.create_login_link(USER)
        assert client.get(f"/login/{link}", follow_redirects=False).status_code == 303
        second = re.search(r'"pageId":\s*"([^"]+)"', client.get("/").text)
        assert second and second.group(1) != boot["pageId"]
        with client.websocket_connect("/ws") as raw:
            other = PageSocket(raw, second.group(1))
            answer = other.request(t="crm", action="addLead")
            assert (answer["ok"], answer["error"]) == (False, "this page does not show the call card")
        assert services.store.count("crm_entities") == 0
        card = services.cards.get(USER)
        assert card is not None and card.crm_entity_type == ""


def test_control_api_press_accepts_the_create_chips(client: TestClient) -> None:
    services = services_of(client)
    headers = {"Authorization": f"Bearer {services.control_token}"}
    boot = boot_page(client)
    _, events = services.calls.register(boot["app_id"], user_id=USER, phone_number=PHONE, call_type=2)
    services.hub.publish(events, [USER])
    r = client.post(f"/_callcard/cards/{USER}/press", json={"button": "addContact"}, headers=headers)
    assert r.status_code == 200
    assert (r.json()["crm"]["entityType"], r.json()["crmButtons"]) == (
        "CONTACT", ["addComment", "addDeal", "addInvoice"])
    r = client.post(f"/_callcard/cards/{USER}/press", json={"button": "addInvoice"}, headers=headers)
    assert (r.status_code, r.json()) == (
        400, {"error": "INVALID_REQUEST", "error_description": "Invoices are not emulated by callcard"})
    r = client.post(f"/_callcard/cards/{USER}/press", json={"button": "addLead"}, headers=headers)
    assert (r.status_code, r.json()["error_description"]) == (400, "the card already shows CONTACT #1")
    assert services.store.count("crm_entities") == 1
