"""placement.bind/unbind/get/list (placements.md §2) and the REST forms of placement.call and
placement.bindEvent (rest-api.md §9.12–9.13) through the real /rest surface."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from conftest import ADMIN, OPERATOR, WRONG_AUTH, Portal, error_of

from callcard.domain.conformance import HIDDEN_UI_STATE
from callcard.domain.uistate import LISTED_STATES, UiState

HANDLER = "https://app.example.com/worker"
BG = {
    "PLACEMENT": "PAGE_BACKGROUND_WORKER",
    "HANDLER": HANDLER,
    "OPTIONS": {"errorHandlerUrl": "https://app.example.com/err"},
}
UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]
ACCESS_DENIED = (403, {"error": "ACCESS_DENIED", "error_description": "Access denied!"})


def open_card(portal: Portal, user_id: int = ADMIN) -> str:
    result = portal.ok(
        "telephony.externalCall.register", {"USER_ID": user_id, "PHONE_NUMBER": "+49301234567", "TYPE": 2}
    )
    return str(result["CALL_ID"])


# -- bind / unbind / get / list ---------------------------------------------------------------------------


def test_bind_get_list_unbind(portal: Portal) -> None:
    assert portal.ok("placement.bind", BG) is True
    assert (
        portal.ok(
            "placement.bind", {"PLACEMENT": "call_card", "HANDLER": HANDLER, "TITLE": "Notes"}, form=True
        )
        is True
    )
    rows = portal.ok("placement.get")
    assert rows[0] == {
        "placement": "PAGE_BACKGROUND_WORKER",
        "userId": 0,
        "handler": HANDLER,
        "options": {"errorHandlerUrl": "https://app.example.com/err"},
        "title": "",
        "description": "",
        "langAll": {"en": {"TITLE": "Test app", "DESCRIPTION": "", "GROUP_NAME": ""}},
    }
    assert (rows[1]["placement"], rows[1]["title"], rows[1]["options"]) == ("CALL_CARD", "Notes", [])
    codes = portal.ok("placement.list", token=portal.operator)  # any user of the app
    assert "PAGE_BACKGROUND_WORKER" in codes and "CALL_CARD" in codes and "CRM_LEAD_DETAIL_TAB" in codes
    assert portal.ok("placement.list", {"SCOPE": "crm"}) == [
        "CRM_DEAL_DETAIL_TAB",
        "CRM_LEAD_DETAIL_TAB",
        "CRM_CONTACT_DETAIL_TAB",
        "CRM_COMPANY_DETAIL_TAB",
    ]
    assert portal.ok("placement.unbind", {"PLACEMENT": "CALL_CARD"}) == {"count": 1}
    assert portal.ok("placement.unbind", {"PLACEMENT": "CALL_CARD"}) == {"count": 0}
    assert [r["placement"] for r in portal.ok("placement.get")] == ["PAGE_BACKGROUND_WORKER"]


def test_placement_methods_need_an_app_and_an_admin(portal: Portal) -> None:
    for method in ("placement.bind", "placement.unbind", "placement.get", "placement.list"):
        assert error_of(portal.call(method, BG, hook=portal.admin_hook)) == WRONG_AUTH, method
    for method in ("placement.bind", "placement.unbind", "placement.get"):
        assert error_of(portal.call(method, BG, token=portal.operator)) == ACCESS_DENIED, method


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"HANDLER": HANDLER},
            (
                400,
                {
                    "error": "ERROR_ARGUMENT",
                    "argument": "PLACEMENT",
                    "error_description": "Argument 'PLACEMENT' is null or empty",
                },
            ),
        ),
        (
            {"PLACEMENT": "CALL_CARD"},
            (
                400,
                {
                    "error": "ERROR_ARGUMENT",
                    "argument": "HANDLER",
                    "error_description": "Argument 'HANDLER' is null or empty",
                },
            ),
        ),
        (
            {"PLACEMENT": "NOPE", "HANDLER": HANDLER},
            (400, {"error": "ERROR_PLACEMENT_NOT_FOUND", "error_description": "Placement not found"}),
        ),
        (
            {"PLACEMENT": "CALL_CARD", "HANDLER": "ftp://app.example.com/x"},
            (
                400,
                {
                    "error": "ERROR_UNSUPPORTED_PROTOCOL",
                    "error_description": "Unsupported event handler protocol",
                },
            ),
        ),
        (
            {"PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": HANDLER},
            (
                200,
                {"error": "EMPTY_ERROR_HANDLER_URL", "error_description": "Field errorHandlerUrl is empty."},
            ),
        ),
        (
            {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER, "USER_ID": 2},
            (400, {"error": "ERROR_PLACEMENT_USER_MODE", "error_description": "User mode is not available"}),
        ),
    ],
)
def test_bind_errors(portal: Portal, params: dict, expected: tuple) -> None:
    assert error_of(portal.call("placement.bind", params)) == expected
    assert portal.ok("placement.get") == []


def test_bind_second_handler_is_max_count(portal: Portal) -> None:
    portal.ok("placement.bind", {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER})
    status, body = error_of(
        portal.call("placement.bind", {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER + "2"})
    )
    assert (status, body["error"]) == (400, "ERROR_PLACEMENT_MAX_COUNT")


# -- placement.call ---------------------------------------------------------------------------------------


def test_placement_call_round_trip_on_the_callers_card(portal: Portal) -> None:
    call_id = open_card(portal)
    status = portal.ok("placement.call", {"PLACEMENT": "getStatus", "PARAMS": {}})
    assert status == {
        "CALL_ID": call_id,
        "PHONE_NUMBER": "+49301234567",
        "LINE_NUMBER": "",
        "LINE_NAME": "",
        "CRM_ENTITY_TYPE": "",
        "CRM_ENTITY_ID": 0,
        "CRM_BINDINGS": [],
        "CALL_DIRECTION": "incoming",
        "CALL_STATE": "connected",
        "CALL_LIST_MODE": False,
    }
    assert portal.ok("placement.call", {"PLACEMENT": "CallCardGetListUiStates"}) == list(LISTED_STATES)
    assert (
        portal.ok("placement.call", {"PLACEMENT": "CallCardSetUiState", "PARAMS": {"uiState": "connected"}})
        == []
    )
    response = portal.call(
        "placement.call", {"PLACEMENT": "CallCardSetCardTitle", "PARAMS": {"title": "Ann <VIP>"}}, form=True
    )
    assert response.json()["result"] == []
    card = portal.services.cards.get(ADMIN)
    assert card.ui_state is UiState.connected and card.timer_running and card.title == "Ann <VIP>"
    assert card.used is True  # REST calls count as worker usage
    assert portal.ok(
        "placement.call", {"PLACEMENT": "CallCardSetUiState", "PARAMS": {"uiState": "bogus"}}
    ) == [{"result": "error", "errorCode": "Invalid ui state"}]
    assert portal.services.cards.get(OPERATOR) is None  # nobody else's card was touched


def test_timers_answer_null(portal: Portal) -> None:
    open_card(portal)
    for command in ("CallCardStartTimer", "CallCardStopTimer"):
        response = portal.call("placement.call", {"PLACEMENT": command})
        assert response.status_code == 200 and response.json()["result"] is None
        assert "result" in response.json()


def test_commands_without_a_card_answer_card_undefined(portal: Portal) -> None:
    open_card(portal, OPERATOR)  # someone else's card does not count
    for command in (
        "getStatus",
        "disableAutoClose",
        "enableAutoClose",
        "CallCardSetMute",
        "CallCardClose",
        "CallCardStartTimer",
    ):
        assert portal.ok("placement.call", {"PLACEMENT": command}) == UNDEFINED, command


def test_webhook_caller_drives_its_users_card(portal: Portal) -> None:
    open_card(portal, OPERATOR)
    assert (
        portal.ok(
            "placement.call",
            {"PLACEMENT": "CallCardSetMute", "PARAMS": {"muted": True}},
            hook=portal.operator_hook,
        )
        == []
    )
    assert portal.services.cards.get(OPERATOR).muted is True
    assert portal.ok("placement.call", {"PLACEMENT": "CallCardClose"}, hook=portal.operator_hook) == []
    assert portal.services.cards.get(OPERATOR) is None
    assert portal.ok("placement.call", {"PLACEMENT": "getStatus"}, hook=portal.operator_hook) == UNDEFINED


def test_hidden_ui_state_is_a_conformance_finding(portal: Portal) -> None:
    open_card(portal)
    assert (
        portal.ok("placement.call", {"PLACEMENT": "CallCardSetUiState", "PARAMS": {"uiState": "idle"}}) == []
    )
    findings = [(f["kind"], f["detail"]) for f in portal.services.conformance.findings(portal.app.id)]
    assert findings == [(HIDDEN_UI_STATE, {"uiState": "idle"})]
    assert portal.services.cards.get(ADMIN).ui_state is UiState.idle


@pytest.mark.parametrize(
    ("params", "description"),
    [
        ({"PLACEMENT": "CallCardFly"}, "Unknown command 'CallCardFly'"),
        ({"PLACEMENT": "placement.call"}, "Unknown command 'placement.call'"),
        ({}, "Argument 'PLACEMENT' is null or empty"),
        ({"PLACEMENT": ""}, "Argument 'PLACEMENT' is null or empty"),
    ],
)
def test_placement_call_argument_errors(portal: Portal, params: dict, description: str) -> None:
    open_card(portal)
    assert error_of(portal.call("placement.call", params)) == (
        400,
        {"error": "ERROR_ARGUMENT", "error_description": description, "argument": "PLACEMENT"},
    )


def test_strict_placement_rest_removes_both_methods(make_portal) -> None:
    strict = make_portal(strict_placement_rest=True)
    for method in ("placement.call", "placement.bindEvent"):
        for kwargs in ({}, {"hook": strict.admin_hook}):
            assert error_of(strict.call(method, {"PLACEMENT": "getStatus"}, **kwargs)) == (
                404,
                {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"},
            )
    assert "placement.call" not in strict.ok("methods", {"full": True})
    assert strict.ok("placement.get") == []  # the registration methods stay


# -- placement.bindEvent ----------------------------------------------------------------------------------


def latest_tokens(portal: Portal, user_id: int) -> tuple[str, str]:
    store = portal.services.store
    access = max(
        r["token"] for r in store.find("access_tokens", {"app_id": portal.app.id, "user_id": user_id})
    )
    refresh = max(
        r["token"] for r in store.find("refresh_tokens", {"app_id": portal.app.id, "user_id": user_id})
    )
    return access, refresh


def test_bind_event_delivers_card_events_with_auth(portal: Portal) -> None:
    url = "https://app.example.com/hook"
    assert (
        portal.ok("placement.bindEvent", {"PLACEMENT": "CallCard::CallStateChanged", "HANDLER": url}) is True
    )
    assert (
        portal.ok("placement.bindEvent", {"PLACEMENT": "CallCard::CallStateChanged", "HANDLER": url}) is True
    )
    assert len(portal.services.card_handlers.all()) == 1  # re-binding adds nothing
    call_id = open_card(portal, OPERATOR)  # events fire for every user's card
    rows = portal.services.outbox.list()
    assert [(r["kind"], r["url"]) for r in rows] == [("CallCard::CallStateChanged", url)]
    access, refresh = latest_tokens(portal, ADMIN)
    settings, app = portal.services.settings, portal.app
    base = settings.public_url
    expected = "&".join(
        [
            "event=" + quote_plus("CallCard::CallStateChanged"),
            "event_handler_id=1",
            "data[CALL_ID]=" + call_id,
            f"data[USER_ID]={OPERATOR}",
            "data[callState]=connected",
            f"ts={int(portal.clock.now())}",
            f"auth[access_token]={access}",
            "auth[expires_in]=3600",
            "auth[scope]=" + quote_plus(",".join(app.scopes)),
            "auth[domain]=" + quote_plus(settings.domain),
            "auth[server_endpoint]=" + quote_plus(base + "/oauth/"),
            "auth[status]=L",
            "auth[client_endpoint]=" + quote_plus(base + "/rest/"),
            f"auth[member_id]={portal.services.directory.member_id}",
            f"auth[refresh_token]={refresh}",
            f"auth[application_token]={app.application_token}",
        ]
    )
    assert rows[0]["body"] == expected


def test_webhook_bind_event_has_no_auth_block(portal: Portal) -> None:
    url = "https://hooks.example.com/bg"
    assert (
        portal.ok(
            "placement.bindEvent",
            {"PLACEMENT": "BackgroundCallCard::initialized", "HANDLER": url},
            hook=portal.operator_hook,
        )
        is True
    )
    call_id = open_card(portal, ADMIN)
    (row,) = portal.services.outbox.list()
    assert row["body"] == "&".join(
        [
            "event=" + quote_plus("BackgroundCallCard::initialized"),
            "event_handler_id=1",
            "data[CALL_ID]=" + call_id,
            f"data[USER_ID]={ADMIN}",
            "data[PHONE_NUMBER]=%2B49301234567",
            "data[LINE_NUMBER]=",
            "data[LINE_NAME]=",
            "data[CRM_ENTITY_TYPE]=",
            "data[CRM_ENTITY_ID]=0",
            "data[CALL_DIRECTION]=incoming",
            "data[CALL_STATE]=idle",
            "data[CALL_LIST_MODE]=0",
            f"ts={int(portal.clock.now())}",
        ]
    )


@pytest.mark.parametrize(
    ("params", "argument", "description"),
    [
        ({"HANDLER": "https://a.example.com"}, "PLACEMENT", "Argument 'PLACEMENT' is null or empty"),
        (
            {"PLACEMENT": "CallCard::Nope", "HANDLER": "https://a.example.com"},
            "PLACEMENT",
            "Unknown event 'CallCard::Nope'",
        ),
        ({"PLACEMENT": "CallCard::BeforeClose"}, "HANDLER", "Argument 'HANDLER' is null or empty"),
        (
            {"PLACEMENT": "CallCard::BeforeClose", "HANDLER": "ftp://a.example.com"},
            "HANDLER",
            "The value of an argument 'HANDLER' must be an http(s) URL",
        ),
    ],
)
def test_bind_event_errors(portal: Portal, params: dict, argument: str, description: str) -> None:
    assert error_of(portal.call("placement.bindEvent", params)) == (
        400,
        {"error": "ERROR_ARGUMENT", "error_description": description, "argument": argument},
    )
    assert portal.services.card_handlers.all() == []


def test_strict_handler_url_refuses_dotless_hosts(make_portal) -> None:
    strict = make_portal(strict_handler_url=True)
    response = strict.call("placement.bind", {"PLACEMENT": "CALL_CARD", "HANDLER": "http://localhost:9000/x"})
    assert error_of(response) == (
        400,
        {"error": "ERROR_WRONG_HANDLER_URL", "error_description": "Wrong handler URL"},
    )
    assert error_of(strict.call("placement.bind", {"PLACEMENT": "CALL_CARD", "HANDLER": "http://localhost/x"},
                                hook=strict.admin_hook)) == WRONG_AUTH  # fmt: skip


def test_placement_call_publishes_the_events_it_causes(portal: Portal) -> None:
    url = "https://app.example.com/closed"
    portal.ok("placement.bindEvent", {"PLACEMENT": "CallCard::BeforeClose", "HANDLER": url})
    call_id = open_card(portal)
    assert portal.ok("placement.call", {"PLACEMENT": "CallCardClose"}) == []
    (row,) = portal.services.outbox.list()
    assert (row["kind"], row["url"]) == ("CallCard::BeforeClose", url)
    assert f"data[CALL_ID]={call_id}&data[USER_ID]={ADMIN}&ts=" in row["body"]
