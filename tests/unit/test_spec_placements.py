"""Conformance audit of placements.md and rest-api.md §9.7–9.13: statements that were implemented but not
pinned, and the fixes the audit made (placement.unbind HANDLER, errorHandlerUrl emptiness, NaN loads)."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote_plus

import pytest
from conftest import ADMIN, OPERATOR, Portal, error_of

from callcard.clock import FakeClock
from callcard.domain.conformance import Conformance
from callcard.domain.placements import Placements
from callcard.errors import BitrixError
from callcard.settings import Settings
from callcard.store import SQLiteStore

PBW = "PAGE_BACKGROUND_WORKER"
HANDLER = "https://app.example.com/worker"
ERR_URL = "https://app.example.com/err"
CRM_CODES = ["CRM_DEAL_DETAIL_TAB", "CRM_LEAD_DETAIL_TAB", "CRM_CONTACT_DETAIL_TAB", "CRM_COMPANY_DETAIL_TAB"]
NOTICE_TEXT = "The handler took longer than 5 s to load 3 times; the placement has been removed."


@pytest.fixture
def pl(tmp_path) -> tuple[Placements, dict]:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    clock = FakeClock(1_763_700_000.0)
    placements = Placements(store, clock, Settings.for_tests(tmp_path), Conformance(store, clock))
    app_id = store.insert("apps", {
        "code": "app", "name": "App", "client_id": "local.app", "client_secret": "s",
        "application_token": "t", "scopes": ["placement", "telephony", "crm"], "installed": True,
        "created_at": 0.0,
    })  # fmt: skip
    app = store.get("apps", app_id)
    assert app is not None
    return placements, app


# -- placements.md §2.1: OPTIONS[errorHandlerUrl] is required (the platform's empty() check) -----------------


@pytest.mark.parametrize("url", ["0", 0, False, 0.0])
def test_php_empty_error_handler_url_is_empty(pl, url) -> None:
    placements, app = pl
    params = {"PLACEMENT": PBW, "HANDLER": HANDLER, "OPTIONS": {"errorHandlerUrl": url}}
    with pytest.raises(BitrixError) as info:
        placements.bind(app, True, params)
    assert (info.value.code, info.value.status) == ("EMPTY_ERROR_HANDLER_URL", 200)
    assert placements.get(app) == []


# -- placements.md §2.2: placement.unbind removes everything only when HANDLER is empty -------------------


@pytest.mark.parametrize("handler", [5, ["https://app.example.com/a"], {"x": 1}])
def test_unbind_with_a_non_string_handler_removes_nothing(pl, handler) -> None:
    placements, app = pl
    for url in ("https://app.example.com/a", "https://app.example.com/b"):
        placements.bind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": url})
    with pytest.raises(BitrixError) as info:
        placements.unbind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": handler})
    assert info.value.envelope() == {
        "error": "ERROR_ARGUMENT",
        "error_description": "The value of an argument 'HANDLER' must be of type string",
        "argument": "HANDLER",
    }
    assert len(placements.get(app)) == 2


def test_unbind_with_a_null_handler_removes_all(pl) -> None:
    placements, app = pl
    placements.bind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER})
    assert placements.unbind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": None}) == {"count": 1}


# -- placements.md §4: only load_ms > threshold_ms is a strike ----------------------------------------------


@pytest.mark.parametrize("load_ms", [float("nan"), -1.0, 0.0])
def test_a_load_that_is_not_greater_than_the_threshold_is_no_strike(pl, load_ms) -> None:
    placements, app = pl
    placements.bind(app, True, {"PLACEMENT": PBW, "HANDLER": HANDLER, "OPTIONS": {"errorHandlerUrl": ERR_URL}})
    row_id = int(placements.background_rows(1, True)[0]["id"])
    for _ in range(3):
        assert placements.report_load(row_id, load_ms) == []
    row = placements.row(row_id)
    assert row is not None and row["overtime_count"] == 0


# -- placements.md §2.4 through /rest: FULL is a coerced flag, SCOPE wins ------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, [PBW, "CALL_CARD"]),  # the app's scopes (placement, telephony) plus the global codes
        ({"FULL": "Y"}, [PBW, "CALL_CARD", *CRM_CODES]),
        ({"FULL": "1"}, [PBW, "CALL_CARD", *CRM_CODES]),
        ({"FULL": "true"}, [PBW, "CALL_CARD", *CRM_CODES]),
        ({"FULL": "N"}, [PBW, "CALL_CARD"]),
        ({"FULL": "0"}, [PBW, "CALL_CARD"]),
        ({"FULL": "false"}, [PBW, "CALL_CARD"]),
        ({"SCOPE": "crm", "FULL": "Y"}, CRM_CODES),  # FULL is considered only when SCOPE is absent
        ({"SCOPE": "telephony"}, ["CALL_CARD"]),
    ],
)
def test_placement_list_over_rest(portal: Portal, params: dict, expected: list) -> None:
    app = portal.install_app(scopes=("placement", "telephony"), name="Tel")
    token = portal.tokens(app, OPERATOR)  # any user of the app
    assert portal.ok("placement.list", params, token=token, form=True) == expected


# -- rest-api.md §9.13: there is no REST unbind for placement.bindEvent ---------------------------------------


def test_there_is_no_rest_unbind_event(portal: Portal) -> None:
    portal.ok("placement.bindEvent", {"PLACEMENT": "CallCard::BeforeClose", "HANDLER": HANDLER})
    for method in ("placement.unbindEvent", "placement.unbind.event"):
        response = portal.call(method, {"PLACEMENT": "CallCard::BeforeClose", "HANDLER": HANDLER})
        assert error_of(response) == (
            404, {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
        )
    assert len(portal.services.card_handlers.all()) == 1


# -- placements.md §4: the notice goes through the outbox, once, with exactly two fields ---------------------


def test_watchdog_notice_is_queued_once_with_exactly_error_and_description(portal: Portal) -> None:
    portal.ok("placement.bind", {"PLACEMENT": PBW, "HANDLER": HANDLER, "OPTIONS": {"errorHandlerUrl": ERR_URL}})
    s = portal.services
    s.outbox.set_policy("retry")
    [row] = s.placements.background_rows(ADMIN, True)
    events = []
    for _ in range(3):
        events = s.placements.report_load(int(row["id"]), 5001)
    s.hub.publish(events)
    [queued] = s.outbox.list()
    assert (queued["kind"], queued["url"], queued["app_id"]) == (
        "ERROR_PLACEMENT_LOADING_OVERTIME", ERR_URL, portal.app.id
    )
    assert queued["policy"] == "once"  # no retry, whatever the default policy
    assert queued["body"] == "error=ERROR_PLACEMENT_LOADING_OVERTIME&error_description=" + quote_plus(NOTICE_TEXT)
    assert portal.ok("placement.get") == []  # the app must bind again


# -- rest-api.md §9.8: REST events ------------------------------------------------------------------------------


def test_rest_event_is_never_sent_before_the_install_has_finished(portal: Portal) -> None:
    directory = portal.services.directory
    app = portal.install_app(name="Installing", installed=False)
    portal.ok("event.bind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER}, token=portal.tokens(app, ADMIN))
    event, _ = portal.services.calls.start_outgoing(OPERATOR, "+49301234567", app.id)
    portal.services.hub.publish([event])
    assert portal.services.outbox.list() == []
    directory.apps.mark_installed(app.id)
    event, _ = portal.services.calls.start_outgoing(OPERATOR, "+49301234568", app.id)
    portal.services.hub.publish([event])
    assert [(r["kind"], r["url"]) for r in portal.services.outbox.list()] == [("ONEXTERNALCALLSTART", HANDLER)]


def test_rest_event_auth_block_carries_tokens_of_the_auth_type_user(portal: Portal) -> None:
    portal.ok("event.bind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER, "auth_type": OPERATOR})
    event, _ = portal.services.calls.start_outgoing(ADMIN, "+49301234567", portal.app.id)
    portal.services.hub.publish([event])
    [row] = portal.services.outbox.list()
    form = dict(parse_qsl(row["body"]))
    assert form["data[USER_ID]"] == str(ADMIN)
    store = portal.services.store
    [access] = store.find("access_tokens", {"token": form["auth[access_token]"]})
    [refresh] = store.find("refresh_tokens", {"token": form["auth[refresh_token]"]})
    assert (access["user_id"], refresh["user_id"]) == (OPERATOR, OPERATOR)
    assert access["app_id"] == portal.app.id
