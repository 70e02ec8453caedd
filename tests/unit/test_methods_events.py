"""event.bind / event.unbind / event.get (rest-api.md §9.7) through the real /rest surface."""

from __future__ import annotations

import pytest
from conftest import ADMIN, OPERATOR, WRONG_AUTH, Portal, error_of

HANDLER = "https://app.example.com/events"
ACCESS_DENIED = (403, {"error": "ACCESS_DENIED", "error_description": "Access denied!"})


def test_bind_get_unbind(portal: Portal) -> None:
    assert portal.ok("event.bind", {"event": "onExternalCallStart", "handler": HANDLER}) is True
    assert (
        portal.ok("event.bind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER, "auth_type": 2}) is True
    )
    assert portal.ok("event.get") == [
        {"event": "ONEXTERNALCALLSTART", "handler": HANDLER, "auth_type": "0", "offline": 0},
        {"event": "ONEXTERNALCALLSTART", "handler": HANDLER, "auth_type": "2", "offline": 0},
    ]
    assert portal.ok(
        "event.unbind", {"event": "onexternalcallstart", "handler": HANDLER, "auth_type": 2}
    ) == {"count": 1}
    assert portal.ok("event.unbind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER}) == {"count": 1}
    assert portal.ok("event.get") == []


def test_bind_urlencoded_like_bx24_call_bind(portal: Portal) -> None:
    response = portal.call(
        "event.bind", {"event": "ONEXTERNALCALLBACKSTART", "handler": HANDLER, "auth_type": "0"}, form=True
    )
    assert (response.status_code, response.json()["result"]) == (200, True)
    assert portal.ok("event.get")[0]["event"] == "ONEXTERNALCALLBACKSTART"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"event": "ONCRMLEADADD", "handler": HANDLER},
            (400, {"error": "ERROR_EVENT_NOT_FOUND", "error_description": "Event not found"}),
        ),
        (
            {"handler": HANDLER},
            (
                400,
                {
                    "error": "ERROR_ARGUMENT",
                    "error_description": "Argument 'EVENT' is null or empty",
                    "argument": "EVENT",
                },
            ),
        ),
        (
            {"event": "ONEXTERNALCALLSTART", "handler": "ftp://app.example.com/x"},
            (
                400,
                {
                    "error": "ERROR_UNSUPPORTED_PROTOCOL",
                    "error_description": "Unsupported event handler protocol",
                },
            ),
        ),
    ],
)
def test_bind_errors(portal: Portal, params: dict, expected: tuple) -> None:
    assert error_of(portal.call("event.bind", params)) == expected
    assert portal.ok("event.get") == []


def test_duplicate_handler(portal: Portal) -> None:
    portal.ok("event.bind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER})
    assert error_of(portal.call("event.bind", {"event": "onexternalcallstart", "handler": HANDLER})) == (
        400,
        {"error": "ERROR_HANDLER_ALREADY_EXIST", "error_description": "Handler already exists"},
    )


def test_telephony_events_need_the_telephony_scope(portal: Portal) -> None:
    app = portal.install_app(scopes=("crm", "user"))
    response = portal.call(
        "event.bind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER}, token=portal.tokens(app, ADMIN)
    )
    assert error_of(response) == (
        400,
        {"error": "ERROR_EVENT_NOT_FOUND", "error_description": "Event not found"},
    )
    assert (
        portal.ok(
            "event.bind", {"event": "ONAPPINSTALL", "handler": HANDLER}, token=portal.tokens(app, ADMIN)
        )
        is True
    )


@pytest.mark.parametrize("method", ["event.bind", "event.unbind", "event.get"])
def test_admin_and_app_only(portal: Portal, method: str) -> None:
    params = {"event": "ONEXTERNALCALLSTART", "handler": HANDLER}
    assert error_of(portal.call(method, params, token=portal.operator)) == ACCESS_DENIED
    assert error_of(portal.call(method, params, hook=portal.admin_hook)) == WRONG_AUTH


def test_bound_handler_receives_external_call_start(portal: Portal) -> None:
    portal.ok("event.bind", {"event": "ONEXTERNALCALLSTART", "handler": HANDLER})
    event, _ = portal.services.calls.start_outgoing(OPERATOR, "+49301234567", portal.app.id)
    portal.services.hub.publish([event])
    (row,) = portal.services.outbox.list()
    assert (row["kind"], row["url"], row["app_id"]) == ("ONEXTERNALCALLSTART", HANDLER, portal.app.id)
    assert row["body"].startswith(
        "event=ONEXTERNALCALLSTART&event_handler_id=1&data[PHONE_NUMBER]=%2B49301234567"
    )
    assert f"data[CALL_ID]={event.call_id}" in row["body"]
    assert f"auth[application_token]={portal.app.application_token}" in row["body"]
