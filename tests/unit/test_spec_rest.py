"""rest-api.md statements the other REST tests leave unpinned: the §4 error table as a whole, the §6 and §8
defaults, the 429 envelope, the /oauth/token/ answer over HTTP, register's dedup re-show and urlencoded
flags (§2, §9.1), externalLine.update with CRM_AUTO_CREATE alone (§9.6).

Expected values are transcribed from the spec, never taken from callcard's own constants.
"""

from __future__ import annotations

from typing import Any

import pytest
from conftest import OPERATOR, Portal, error_of
from starlette.testclient import TestClient

from callcard.clock import FakeClock
from callcard.errors import argument_error, error
from callcard.rest.auth import Caller
from callcard.rest.registry import CallContext, Registry
from callcard.rest.testkit import FakeResolver, rest_app
from callcard.settings import LimitSettings, Settings

PHONE = "+49301234567"

#: rest-api.md §4, row by row: (HTTP, code, description); None where the text is method-specific
SPEC_ERRORS: list[tuple[int, str, str | None]] = [
    (400, "ERROR_CORE", None),
    (400, "INVALID_ARGUMENT", None),
    (400, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded"),
    (401, "NO_AUTH_FOUND", "Wrong authorization data"),
    (401, "expired_token", "The access token provided has expired"),
    (401, "invalid_token", "The access token provided is invalid"),
    (401, "INVALID_CREDENTIALS", "Invalid request credentials"),
    (403, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method Application context required"),
    (403, "ACCESS_DENIED", "Access denied!"),
    (403, "insufficient_scope", "The request requires higher privileges"),
    (403, "user_access_error", "The user does not have access to the application"),
    (404, "ERROR_METHOD_NOT_FOUND", "Method not found!"),
    (405, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage"),
    (429, "OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit."),
    (500, "INTERNAL_SERVER_ERROR", "Internal server error"),
    (503, "QUERY_LIMIT_EXCEEDED", "Too many requests"),
]


# -- §4 the error table ------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code", "description"), SPEC_ERRORS)
def test_error_table_statuses_and_texts(status: int, code: str, description: str | None) -> None:
    raised = error(code)
    assert raised.status == status
    if description is not None:
        assert raised.envelope() == {"error": code, "error_description": description}


def test_error_argument_row() -> None:
    raised = argument_error("CALL_ID")
    assert raised.status == 400
    assert raised.envelope() == {
        "error": "ERROR_ARGUMENT", "error_description": "Argument 'CALL_ID' is null or empty", "argument": "CALL_ID",
    }  # fmt: skip


# -- §6 and §8 defaults --------------------------------------------------------------------------------


def test_limit_and_token_defaults(tmp_path: Any) -> None:
    production = Settings()
    assert production.limits.enabled is True
    assert (production.limits.bucket_capacity, production.limits.drain_per_s) == (50, 2.0)
    assert (production.limits.operating_limit_s, production.limits.operating_window_s) == (480.0, 600.0)
    assert Settings.for_tests(tmp_path).limits.enabled is False  # off by default in test mode
    assert (production.access_token_ttl_s, production.refresh_token_ttl_s) == (3600, 28 * 86400)
    assert production.enforce_scopes is True and production.invalid_credentials_status == 401


# -- §6 the operating-time limit over HTTP ---------------------------------------------------------------


def test_operating_limit_envelope_and_batch_sub_calls(tmp_path: Any) -> None:
    clock = FakeClock(1_763_700_000.0)
    registry = Registry()

    @registry.method("test.heavy")
    def heavy(ctx: CallContext, params: dict[str, Any]) -> bool:
        clock.advance(250.0)
        return True

    resolver = FakeResolver()
    resolver.add_token("tok", Caller(kind="app", user_id=1, app_id=1))
    settings = Settings.for_tests(tmp_path, limits=LimitSettings(enabled=True, bucket_capacity=1000))
    client = TestClient(rest_app(registry, resolver, settings=settings, clock=clock))
    for _ in range(2):  # 500 s: the second call crosses 480 and still succeeds
        assert client.post("/rest/test.heavy", json={"auth": "tok"}).status_code == 200
    blocked = client.post("/rest/test.heavy", json={"auth": "tok"}, headers={"Origin": "https://app.test"})
    assert error_of(blocked) == (
        429, {"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."},
    )  # fmt: skip
    assert blocked.headers["access-control-allow-origin"] == "https://app.test"
    batch = client.post("/rest/batch", json={"auth": "tok", "cmd": {"h": "test.heavy"}})
    assert batch.status_code == 200  # batch itself is not blocked; its sub-call is
    assert batch.json()["result"]["result_error"]["h"]["error"] == "OPERATION_TIME_LIMIT"


# -- §8 /oauth/token/ over HTTP ----------------------------------------------------------------------------


def test_oauth_token_answer_over_http(portal: Portal) -> None:
    app = portal.app
    base = portal.services.settings.public_url
    grant = {"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret,
             "refresh_token": portal.operator.refresh_token}  # fmt: skip
    portal.clock.advance(100)
    response = portal.client.post("/oauth/token/", data=grant)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "expires_in", "expires", "scope", "domain",
                         "server_endpoint", "client_endpoint", "member_id", "user_id", "status"}  # fmt: skip
    assert body["expires_in"] == 3600 and body["expires"] == int(portal.clock.now()) + 3600
    assert (body["server_endpoint"], body["client_endpoint"]) == (f"{base}/oauth/", f"{base}/rest/")
    assert (body["user_id"], body["status"], body["scope"]) == (OPERATOR, "L", "telephony,placement,crm,user")
    assert body["member_id"] == portal.services.directory.member_id
    assert body["domain"] == portal.services.settings.domain
    assert body["access_token"] != portal.operator.access_token
    assert body["refresh_token"] != portal.operator.refresh_token

    # the old access token lives until its own expiry (3600 s after its issue), the new one beyond
    assert portal.ok("user.current", token=portal.operator)["ID"] == str(OPERATOR)
    portal.clock.advance(3600 - 100 - 1)
    assert portal.ok("user.current", token=portal.operator)["ID"] == str(OPERATOR)
    portal.clock.advance(1)
    assert error_of(portal.call("user.current", token=portal.operator)) == (
        401, {"error": "expired_token", "error_description": "The access token provided has expired"},
    )  # fmt: skip
    assert portal.ok("user.current", token=body["access_token"])["ID"] == str(OPERATOR)

    # the old refresh token died; the new one works by GET too
    spent = portal.client.get("/oauth/token/", params=grant)
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"
    again = portal.client.get("/oauth/token/", params={**grant, "refresh_token": body["refresh_token"]})
    assert again.status_code == 200 and "application_token" not in again.json()


# -- §9.1 register: dedup re-shows, urlencoded flags ------------------------------------------------------


def test_dedup_shows_the_card_again_with_show(portal: Portal) -> None:
    params = {"USER_ID": OPERATOR, "PHONE_NUMBER": PHONE, "TYPE": 2}
    first = portal.ok("telephony.externalCall.register", params)["CALL_ID"]
    portal.ok("telephony.externalCall.hide", {"CALL_ID": first})
    assert portal.services.cards.get(OPERATOR) is None
    assert portal.ok("telephony.externalCall.register", params)["CALL_ID"] == first
    card = portal.services.cards.get(OPERATOR)
    assert card is not None and card.call_id == first
    portal.ok("telephony.externalCall.hide", {"CALL_ID": first})
    assert portal.ok("telephony.externalCall.register", {**params, "SHOW": 0})["CALL_ID"] == first
    assert portal.services.cards.get(OPERATOR) is None


@pytest.mark.parametrize("flag", ["1", "Y", "true"])
def test_urlencoded_flags_coerce_to_true(portal: Portal, flag: str) -> None:
    # §2: urlencoded values are strings; "1", "Y" and "true" are true where a bool is expected.
    response = portal.call(
        "telephony.externalCall.register",
        {"USER_ID": OPERATOR, "PHONE_NUMBER": "+15550001111", "TYPE": "2", "SHOW": flag, "CRM_CREATE": flag,
         "CALL_START_DATE": "2025-11-21T10:00:00.000Z"},  # legacy BX24 sends a Date as an ISO string
        form=True,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert isinstance(result["CRM_CREATED_LEAD"], int) and result["CRM_ENTITY_TYPE"] == "LEAD"
    card = portal.services.cards.get(OPERATOR)
    assert card is not None and card.call_id == result["CALL_ID"]
    live = portal.services.calls.live_call(result["CALL_ID"])
    assert live is not None and live["call_start_date"] == "2025-11-21T10:00:00+00:00"


# -- §9.6 externalLine.update -----------------------------------------------------------------------------


def test_external_line_update_with_crm_auto_create_only(portal: Portal) -> None:
    added = portal.ok("telephony.externalLine.add", {"NUMBER": "100", "NAME": "Main"})
    updated = portal.call("telephony.externalLine.update", {"NUMBER": "100", "CRM_AUTO_CREATE": "N"}, form=True)
    assert updated.status_code == 200 and updated.json()["result"] == {"ID": str(added["ID"])}
    assert portal.ok("telephony.externalLine.get") == [{"NUMBER": "100", "NAME": "Main", "CRM_AUTO_CREATE": "N"}]
