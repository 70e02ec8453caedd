"""telephony.externalCall.* and telephony.externalLine.* through the real /rest surface
(rest-api.md §9.1–9.6)."""

from __future__ import annotations

import base64
import re

import pytest
from conftest import OPERATOR, WRONG_AUTH, Portal, error_of

from callcard.domain.uistate import UiState

CALL_ID = re.compile(r"^externalCall\.[0-9a-f]{32}\.\d+$")
PHONE = "+49301234567"


def register(portal: Portal, **params: object) -> dict:
    body = {"USER_ID": OPERATOR, "PHONE_NUMBER": PHONE, "TYPE": 2, **params}
    return portal.ok("telephony.externalCall.register", body)


def core(text: str) -> dict:
    return {"error": "ERROR_CORE", "error_description": text}


# -- register -----------------------------------------------------------------------------------------


def test_register_opens_the_operators_card(portal: Portal) -> None:
    result = register(portal)
    assert CALL_ID.match(result["CALL_ID"])
    assert result == {
        "CALL_ID": result["CALL_ID"],
        "CRM_CREATED_LEAD": None,
        "CRM_CREATED_ENTITIES": [],
        "CRM_ENTITY_TYPE": "",
        "CRM_ENTITY_ID": None,
    }
    card = portal.services.cards.get(OPERATOR)
    assert card is not None and card.call_id == result["CALL_ID"]
    assert card.is_external_call and card.call_state == "connected"
    assert card.ui_state is UiState.externalCard and card.direction == "incoming"
    assert portal.services.cards.get(1) is None


def test_register_urlencoded_by_inner_phone_without_show(portal: Portal) -> None:
    response = portal.call(
        "telephony.externalCall.register",
        {"USER_PHONE_INNER": "103", "PHONE_NUMBER": PHONE, "TYPE": "1", "SHOW": "0"},
        form=True,
    )
    assert response.status_code == 200
    assert CALL_ID.match(response.json()["result"]["CALL_ID"])
    assert portal.services.cards.get(3) is None  # SHOW=0
    live = portal.services.calls.live_call(response.json()["result"]["CALL_ID"])
    assert live["user_id"] == 3 and live["type"] == 1


def test_register_finds_and_creates_crm_entities(portal: Portal) -> None:
    contact = portal.services.crm.add("CONTACT", {"NAME": "Ann", "PHONE": [{"VALUE": PHONE}]})
    found = register(portal)
    assert (found["CRM_ENTITY_TYPE"], found["CRM_ENTITY_ID"]) == ("CONTACT", contact)
    assert portal.services.cards.get(OPERATOR).crm_entity_id == contact

    created = register(portal, USER_ID=3, PHONE_NUMBER="+15550001111", CRM_CREATE=1)
    lead = created["CRM_CREATED_LEAD"]
    assert isinstance(lead, int)
    assert created["CRM_CREATED_ENTITIES"] == [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": lead}]
    assert (created["CRM_ENTITY_TYPE"], created["CRM_ENTITY_ID"]) == ("LEAD", lead)


def test_register_dedups_within_the_window(portal: Portal) -> None:
    first = register(portal, EXTERNAL_CALL_ID="abc")
    assert register(portal, EXTERNAL_CALL_ID="abc")["CALL_ID"] == first["CALL_ID"]
    portal.clock.advance(31 * 60)
    assert register(portal, EXTERNAL_CALL_ID="abc")["CALL_ID"] != first["CALL_ID"]


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"USER_ID": None}, "USER_ID or USER_PHONE_INNER should be set"),
        ({"USER_ID": 0, "USER_PHONE_INNER": "999"}, "USER_ID or USER_PHONE_INNER should be set"),
        ({"TYPE": 9}, "Unknown TYPE"),
        ({"TYPE": "abc"}, "Unknown TYPE"),
        ({"TYPE": None}, "Unknown TYPE"),
        ({"CALL_START_DATE": "yesterday"}, "CALL_START_DATE should be in the ISO-8601 format"),
        ({"PHONE_NUMBER": "abc"}, "Unsupported phone number format"),
        ({"USER_ID": 99}, "User is not found or is not active"),
    ],
)
def test_register_errors(portal: Portal, params: dict, text: str) -> None:
    body = {"USER_ID": OPERATOR, "PHONE_NUMBER": PHONE, "TYPE": 2, **params}
    body = {k: v for k, v in body.items() if v is not None}
    assert error_of(portal.call("telephony.externalCall.register", body)) == (400, core(text))
    assert portal.services.cards.get(OPERATOR) is None


def test_app_only_methods_refuse_webhooks(portal: Portal) -> None:
    for method in (
        "telephony.externalCall.register",
        "telephony.externalCall.finish",
        "telephony.externalCall.show",
        "telephony.externalCall.hide",
        "telephony.externalCall.attachRecord",
        "telephony.externalLine.add",
        "telephony.externalLine.update",
        "telephony.externalLine.get",
        "telephony.externalLine.delete",
    ):
        assert error_of(portal.call(method, {"CALL_ID": "x"}, hook=portal.admin_hook)) == WRONG_AUTH, method


def test_telephony_scope_is_required(portal: Portal) -> None:
    app = portal.install_app(scopes=("crm", "user"))
    response = portal.call("telephony.externalCall.register", {"USER_ID": 2}, token=portal.tokens(app, 1))
    assert error_of(response) == (
        403,
        {"error": "insufficient_scope", "error_description": "The request requires higher privileges"},
    )


# -- finish -------------------------------------------------------------------------------------------


def test_finish_closes_the_card_and_records_the_call(portal: Portal) -> None:
    call_id = register(portal)["CALL_ID"]
    record = portal.ok(
        "telephony.externalCall.finish",
        {"CALL_ID": call_id, "USER_ID": OPERATOR, "DURATION": 42, "COST": "1.5", "VOTE": 5},
    )
    assert portal.services.cards.get(OPERATOR) is None  # auto-closed at once
    assert record["CALL_ID"] == call_id and record["PORTAL_USER_ID"] == OPERATOR
    assert (record["CALL_DURATION"], record["CALL_STATUS"], record["CALL_FAILED_CODE"]) == (42, 1, "200")
    assert (record["COST"], record["CALL_VOTE"], record["INCOMING"]) == (1.5, 5, "2")
    assert isinstance(record["ID"], int) and record["PHONE_NUMBER"] == PHONE
    assert portal.services.calls.live_call(call_id) is None


def test_finish_urlencoded_defaults_to_304(portal: Portal) -> None:
    call_id = register(portal)["CALL_ID"]
    response = portal.call(
        "telephony.externalCall.finish", {"CALL_ID": call_id, "USER_PHONE_INNER": "102"}, form=True
    )
    assert response.status_code == 200
    assert (response.json()["result"]["CALL_STATUS"], response.json()["result"]["CALL_FAILED_CODE"]) == (
        0,
        "304",
    )


def test_finish_respects_disabled_auto_close(portal: Portal) -> None:
    call_id = register(portal)["CALL_ID"]
    assert portal.ok("placement.call", {"PLACEMENT": "disableAutoClose"}, token=portal.operator) == []
    portal.ok("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": OPERATOR})
    card = portal.services.cards.get(OPERATOR)
    assert card is not None and card.close_at == portal.clock.now() + 60


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        (
            {"USER_ID": OPERATOR},
            (400, {"error": "INVALID_ARGUMENT", "error_description": "CALL_ID must be a string"}),
        ),
        (
            {"USER_ID": OPERATOR, "CALL_ID": 123},
            (400, {"error": "INVALID_ARGUMENT", "error_description": "CALL_ID must be a string"}),
        ),
        (
            {"USER_ID": OPERATOR, "CALL_ID": "externalCall.nope.1"},
            (400, core("Call is not found (call should be registered prior to finishing)")),
        ),
        ({"CALL_ID": "x"}, (400, core("USER_ID or USER_PHONE_INNER should be set"))),
    ],
)
def test_finish_errors(portal: Portal, params: dict, expected: tuple) -> None:
    assert error_of(portal.call("telephony.externalCall.finish", params)) == expected


def test_finish_twice_is_not_found(portal: Portal) -> None:
    call_id = register(portal)["CALL_ID"]
    portal.ok("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": OPERATOR})
    response = portal.call("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": OPERATOR})
    assert error_of(response) == (
        400,
        core("Call is not found (call should be registered prior to finishing)"),
    )


# -- show / hide ----------------------------------------------------------------------------------------


def test_show_and_hide(portal: Portal) -> None:
    call_id = register(portal, SHOW=0)["CALL_ID"]
    assert portal.services.cards.get(OPERATOR) is None
    assert portal.ok("telephony.externalCall.show", {"CALL_ID": call_id}) is True  # default: registering user
    assert portal.services.cards.get(OPERATOR).call_id == call_id
    response = portal.call("telephony.externalCall.show", {"CALL_ID": call_id, "USER_ID": [1, 3]}, form=True)
    assert response.json()["result"] is True
    assert portal.services.cards.get(1).call_id == call_id and portal.services.cards.get(3) is not None
    assert portal.ok("telephony.externalCall.hide", {"CALL_ID": call_id, "USER_ID": [OPERATOR, 3]}) is True
    assert portal.services.cards.get(OPERATOR) is None and portal.services.cards.get(3) is None
    assert portal.services.cards.get(1) is not None


def test_show_hide_unknown_call_is_false_not_an_error(portal: Portal) -> None:
    for method in ("telephony.externalCall.show", "telephony.externalCall.hide"):
        assert portal.ok(method, {"CALL_ID": "externalCall.unknown.1"}) is False
        assert portal.ok(method, {}) is False


# -- attachRecord ---------------------------------------------------------------------------------------


def finished_call(portal: Portal) -> str:
    call_id = register(portal)["CALL_ID"]
    portal.ok("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": OPERATOR, "DURATION": 3})
    return call_id


def test_attach_record_with_content(portal: Portal) -> None:
    call_id = finished_call(portal)
    content = base64.b64encode(b"RIFF....WAVE").decode()
    result = portal.ok(
        "telephony.externalCall.attachRecord",
        {"CALL_ID": call_id, "FILENAME": "call.wav", "FILE_CONTENT": content},
    )
    assert set(result) == {"FILE_ID"}
    assert portal.services.calls.records.get(result["FILE_ID"])["content"] == b"RIFF....WAVE"
    by_url = portal.ok(
        "telephony.externalCall.attachRecord",
        {"CALL_ID": call_id, "RECORD_URL": "https://rec.example.com/1.mp3"},
    )
    assert by_url["FILE_ID"] != result["FILE_ID"]


def test_attach_record_upload_url_round_trip(portal: Portal) -> None:
    call_id = finished_call(portal)
    result = portal.ok("telephony.externalCall.attachRecord", {"CALL_ID": call_id, "FILENAME": "call.mp3"})
    assert result["fieldName"] == "file"
    path = result["uploadUrl"].removeprefix(portal.services.settings.public_url)
    assert path.startswith("/rest/upload/")
    upload = portal.client.post(path, files={"file": ("call.mp3", b"ID3-audio", "audio/mpeg")})
    assert upload.status_code == 200
    file_id = upload.json()["result"]["FILE_ID"]
    assert portal.services.calls.records.get(file_id)["content"] == b"ID3-audio"
    again = portal.client.post(path, files={"file": ("call.mp3", b"x", "audio/mpeg")})
    assert error_of(again) == (400, core("Upload link is invalid or already used"))


def test_upload_needs_the_file_field_and_a_known_extension(portal: Portal) -> None:
    call_id = finished_call(portal)
    url = portal.ok("telephony.externalCall.attachRecord", {"CALL_ID": call_id, "FILENAME": "a.wav"})[
        "uploadUrl"
    ]
    path = url.removeprefix(portal.services.settings.public_url)
    missing = portal.client.post(path, files={"other": ("a.wav", b"x", "audio/wav")})
    assert error_of(missing) == (400, core("Error: required parameter file is not found"))
    wrong = portal.client.post(path, files={"file": ("a.ogg", b"x", "audio/ogg")})
    assert error_of(wrong) == (400, core("Wrong file extension. Only wav and mp3 are allowed"))
    assert (
        portal.client.options(path, headers={"Origin": "https://app.example.com"}).headers[
            "access-control-allow-origin"
        ]
        == "https://app.example.com"
    )


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({}, "Required parameters are not set. Request should contain or URL or FILENAME parameter"),
        ({"FILENAME": "", "FILE_CONTENT": "AAAA"}, "File name is empty"),
        ({"FILENAME": "a.ogg", "FILE_CONTENT": "AAAA"}, "Wrong file extension. Only wav and mp3 are allowed"),
    ],
)
def test_attach_record_errors(portal: Portal, params: dict, text: str) -> None:
    call_id = finished_call(portal)
    response = portal.call("telephony.externalCall.attachRecord", {"CALL_ID": call_id, **params})
    assert error_of(response) == (400, core(text))


def test_attach_record_only_after_finish(portal: Portal) -> None:
    call_id = register(portal)["CALL_ID"]
    response = portal.call("telephony.externalCall.attachRecord", {"CALL_ID": call_id, "FILENAME": "a.wav"})
    assert error_of(response) == (
        400,
        core("Call is not found in the statistic table. Looks like it is not finished yet."),
    )


# -- searchCrmEntities ----------------------------------------------------------------------------------


def test_search_crm_entities_works_for_webhooks(portal: Portal) -> None:
    contact = portal.services.crm.add(
        "CONTACT", {"NAME": "Ann", "LAST_NAME": "Lee", "PHONE": [{"VALUE": PHONE}]}, user_id=OPERATOR
    )
    result = portal.ok(
        "telephony.externalCall.searchCrmEntities", {"PHONE_NUMBER": PHONE}, hook=portal.admin_hook
    )
    assert result == [
        {
            "CRM_ENTITY_TYPE": "CONTACT",
            "CRM_ENTITY_ID": contact,
            "ASSIGNED_BY_ID": OPERATOR,
            "NAME": "Ann Lee",
            "ASSIGNED_BY": {
                "ID": "2",
                "TIMEMAN_STATUS": "NOT_INSTALLED",
                "USER_PHONE_INNER": "102",
                "WORK_PHONE": None,
                "PERSONAL_PHONE": None,
                "PERSONAL_MOBILE": None,
            },
        }
    ]
    assert portal.ok("telephony.externalCall.searchCrmEntities", {"PHONE_NUMBER": "+10000"}) == []


# -- externalLine.* --------------------------------------------------------------------------------------


def test_external_lines_lifecycle(portal: Portal) -> None:
    added = portal.ok("telephony.externalLine.add", {"NUMBER": "74950001122", "NAME": "Main"})
    assert isinstance(added["ID"], int)
    response = portal.call("telephony.externalLine.add", {"NUMBER": "555", "CRM_AUTO_CREATE": "N"}, form=True)
    assert response.status_code == 200
    assert portal.ok("telephony.externalLine.get") == [
        {"NUMBER": "74950001122", "NAME": "Main", "CRM_AUTO_CREATE": "Y"},
        {"NUMBER": "555", "NAME": "", "CRM_AUTO_CREATE": "N"},
    ]
    assert portal.ok("telephony.externalLine.update", {"NUMBER": "555", "NAME": "Support"}) == {
        "ID": str(response.json()["result"]["ID"])
    }
    assert portal.ok("telephony.externalLine.delete", {"NUMBER": "74950001122"}) == []
    assert portal.ok("telephony.externalLine.get") == [
        {"NUMBER": "555", "NAME": "Support", "CRM_AUTO_CREATE": "N"}
    ]
    other = portal.install_app(name="Other")
    assert portal.ok("telephony.externalLine.get", token=portal.tokens(other, 1)) == []  # lines are per app


@pytest.mark.parametrize(
    ("method", "params", "text"),
    [
        ("telephony.externalLine.add", {}, "NUMBER should not be empty"),
        ("telephony.externalLine.add", {"NUMBER": "100"}, "Line already exists"),
        ("telephony.externalLine.update", {"NUMBER": "100"}, "There are no fields to update"),
        ("telephony.externalLine.update", {"NUMBER": "7", "NAME": "x"}, "Could not find line with number 7"),
        ("telephony.externalLine.delete", {"NUMBER": "7"}, "Could not find line with number 7"),
    ],
)
def test_external_line_errors(portal: Portal, method: str, params: dict, text: str) -> None:
    portal.ok("telephony.externalLine.add", {"NUMBER": "100"})
    assert error_of(portal.call(method, params)) == (400, core(text))


def test_finish_by_an_inactive_user(portal: Portal) -> None:
    call_id = register(portal, USER_ID=3)["CALL_ID"]
    portal.services.directory.set_user_active(3, False)
    response = portal.call("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": 3})
    assert error_of(response) == (400, core("User is not found or is not active"))


def test_finish_of_a_call_already_in_the_statistics(portal: Portal) -> None:
    call_id = register(portal)["CALL_ID"]
    portal.services.store.insert(
        "call_stats", {"call_id": call_id, "user_id": OPERATOR, "app_id": portal.app.id, "record": {},
                       "finished_at": portal.clock.now()}
    )  # fmt: skip
    response = portal.call("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": OPERATOR})
    assert error_of(response) == (400, core("Unexpected database error"))


def test_finish_and_hide_publish_card_events(portal: Portal) -> None:
    url = "https://app.example.com/closed"
    portal.ok("placement.bindEvent", {"PLACEMENT": "CallCard::BeforeClose", "HANDLER": url})
    first = register(portal)["CALL_ID"]
    portal.ok("telephony.externalCall.finish", {"CALL_ID": first, "USER_ID": OPERATOR})
    second = register(portal, USER_ID=3)["CALL_ID"]
    portal.ok("telephony.externalCall.hide", {"CALL_ID": second})
    rows = sorted(portal.services.outbox.list(), key=lambda r: r["id"])
    assert [(r["kind"], r["url"]) for r in rows] == [("CallCard::BeforeClose", url)] * 2
    assert f"data[CALL_ID]={first}&data[USER_ID]={OPERATOR}&" in rows[0]["body"]
    assert f"data[CALL_ID]={second}&data[USER_ID]=3&" in rows[1]["body"]
