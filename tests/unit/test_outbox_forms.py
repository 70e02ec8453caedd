"""Form bodies of outbound deliveries: exact fields, key order and encoding."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from callcard.domain.events import Event
from callcard.outbox.forms import (
    card_event_body,
    encode_form,
    flatten,
    form_value,
    notice_body,
    rest_event_body,
)

AUTH = {
    "access_token": "at-1",
    "expires_in": "3600",
    "scope": "telephony,user",
    "domain": "127.0.0.1:8765",
    "server_endpoint": "http://127.0.0.1:8765/oauth/",
    "status": "L",
    "client_endpoint": "http://127.0.0.1:8765/rest/",
    "member_id": "m1",
    "refresh_token": "rt-1",
    "application_token": "apptok",
}


def test_rest_event_body_fields_and_order() -> None:
    data = {
        "PHONE_NUMBER": "+4930 123",
        "PHONE_NUMBER_INTERNATIONAL": "+4930123",
        "EXTENSION": "",
        "USER_ID": 1,
        "CALL_LIST_ID": 0,
        "LINE_NUMBER": "L1",
        "IS_MOBILE": False,
        "CALL_ID": "externalCall.abc",
        "CRM_ENTITY_TYPE": "CONTACT",
        "CRM_ENTITY_ID": 7,
    }
    pairs = rest_event_body("ONEXTERNALCALLSTART", 3, data, AUTH, 1_763_700_000.9)
    assert pairs == [
        ("event", "ONEXTERNALCALLSTART"),
        ("event_handler_id", "3"),
        ("data[PHONE_NUMBER]", "+4930 123"),
        ("data[PHONE_NUMBER_INTERNATIONAL]", "+4930123"),
        ("data[EXTENSION]", ""),
        ("data[USER_ID]", "1"),
        ("data[CALL_LIST_ID]", "0"),
        ("data[LINE_NUMBER]", "L1"),
        ("data[IS_MOBILE]", "0"),
        ("data[CALL_ID]", "externalCall.abc"),
        ("data[CRM_ENTITY_TYPE]", "CONTACT"),
        ("data[CRM_ENTITY_ID]", "7"),
        ("ts", "1763700000"),
        ("auth[access_token]", "at-1"),
        ("auth[expires_in]", "3600"),
        ("auth[scope]", "telephony,user"),
        ("auth[domain]", "127.0.0.1:8765"),
        ("auth[server_endpoint]", "http://127.0.0.1:8765/oauth/"),
        ("auth[status]", "L"),
        ("auth[client_endpoint]", "http://127.0.0.1:8765/rest/"),
        ("auth[member_id]", "m1"),
        ("auth[refresh_token]", "rt-1"),
        ("auth[application_token]", "apptok"),
    ]
    assert all(isinstance(v, str) for _, v in pairs)


def test_rest_event_body_encoded_text() -> None:
    pairs = rest_event_body("ONEXTERNALCALLBACKSTART", 12, {"PHONE_NUMBER": "+49 30", "TEXT": "a&b=c"},
                            {"access_token": "x/y"}, 5)
    assert encode_form(pairs) == (
        "event=ONEXTERNALCALLBACKSTART&event_handler_id=12"
        "&data[PHONE_NUMBER]=%2B49+30&data[TEXT]=a%26b%3Dc&ts=5&auth[access_token]=x%2Fy"
    )


def test_webhook_binding_has_no_auth_fields() -> None:
    pairs = rest_event_body("ONEXTERNALCALLSTART", 1, {"USER_ID": 1}, None, 10)
    assert [k for k, _ in pairs] == ["event", "event_handler_id", "data[USER_ID]", "ts"]


def test_card_event_call_state_changed_carries_both_arguments() -> None:
    event = Event(
        "CallCard::CallStateChanged", "idle", user_id=4, call_id="externalCall.1",
        extra={"additionalParams": {"failedCode": 486}},
    )
    pairs = card_event_body(event, 9, AUTH, 100)
    assert pairs[:7] == [
        ("event", "CallCard::CallStateChanged"),
        ("event_handler_id", "9"),
        ("data[CALL_ID]", "externalCall.1"),
        ("data[USER_ID]", "4"),
        ("data[callState]", "idle"),
        ("data[additionalParams][failedCode]", "486"),
        ("ts", "100"),
    ]
    assert [k for k, _ in pairs[7:]] == [f"auth[{k}]" for k in AUTH]


def test_card_event_empty_additional_params_sends_no_field() -> None:
    # PHP's http_build_query writes nothing for an empty array.
    event = Event("CallCard::CallStateChanged", "connected", user_id=1, call_id="c")
    pairs = card_event_body(event, 2, None, 1)
    assert pairs == [
        ("event", "CallCard::CallStateChanged"),
        ("event_handler_id", "2"),
        ("data[CALL_ID]", "c"),
        ("data[USER_ID]", "1"),
        ("data[callState]", "connected"),
        ("ts", "1"),
    ]


def test_card_event_scalar_and_object_payloads() -> None:
    def body(name: str, *payload: object) -> list[tuple[str, str]]:
        event = Event(f"BackgroundCallCard::{name}", *payload, user_id=2, call_id="c")
        return card_event_body(event, 5, None, 1)

    assert body("muteButtonClick", True)[4] == ("data[value]", "1")
    assert body("muteButtonClick", False)[4] == ("data[value]", "0")
    assert body("dialpadButtonClick", "7")[4] == ("data[value]", "7")
    entity = Event(
        "BackgroundCallCard::entityChanged",
        {"CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": 11, "PHONE_NUMBER": "unknown"},
        user_id=2,
        call_id="c",
    )
    assert card_event_body(entity, 5, None, 1)[2:7] == [
        ("data[CALL_ID]", "c"),
        ("data[USER_ID]", "2"),
        ("data[CRM_ENTITY_TYPE]", "LEAD"),
        ("data[CRM_ENTITY_ID]", "11"),
        ("data[PHONE_NUMBER]", "unknown"),
    ]
    closed = body("closeButtonClick")
    assert [k for k, _ in closed] == ["event", "event_handler_id", "data[CALL_ID]", "data[USER_ID]", "ts"]


def test_notice_body_is_exactly_error_and_description() -> None:
    text_en = "The handler took longer than 5 s to load 3 times"
    pairs = notice_body("ERROR_PLACEMENT_LOADING_OVERTIME", text_en)
    assert pairs == [
        ("error", "ERROR_PLACEMENT_LOADING_OVERTIME"),
        ("error_description", text_en),
    ]
    text = encode_form(pairs)
    assert text == (
        "error=ERROR_PLACEMENT_LOADING_OVERTIME"
        "&error_description=The+handler+took+longer+than+5+s+to+load+3+times"
    )
    assert "auth" not in text and "token" not in text


def test_flatten_nested_lists_dicts_and_php_scalars() -> None:
    value = {
        "a": [1, {"b": True}, [None, "x"]],
        "n": None,
        "e": [],
        "f": 1.0,
        "g": 2.5,
        "h": {"": "blank key"},
    }
    assert flatten("data", value) == [
        ("data[a][0]", "1"),
        ("data[a][1][b]", "1"),
        ("data[a][2][1]", "x"),
        ("data[f]", "1"),
        ("data[g]", "2.5"),
        ("data[h][]", "blank key"),
    ]
    assert flatten("", {"k": "v", "d": {"x": 0}}) == [("k", "v"), ("d[x]", "0")]
    with pytest.raises(ValueError):
        flatten("", "scalar")


@pytest.mark.parametrize(
    ("value", "text"), [(True, "1"), (False, "0"), (0, "0"), (-3, "-3"), (3.0, "3"), (0.1, "0.1"), ("s", "s")]
)
def test_form_value(value: object, text: str) -> None:
    assert form_value(value) == text


def test_encode_form_round_trips_unicode_and_reserved_characters() -> None:
    pairs = [("data[NAME]", "Иван Ö & co"), ("data[Q]", "a=b+c%d"), ("data[a b]", "[x]")]
    text = encode_form(pairs)
    assert text.isascii()
    assert "data[NAME]=%D0%98%D0%B2%D0%B0%D0%BD+%C3%96+%26+co" in text
    assert "data[a+b]=%5Bx%5D" in text  # brackets stay literal in keys only
    assert parse_qsl(text, keep_blank_values=True) == pairs
