"""Parameter decoding (rest-api.md §2): PHP nesting, every encoding, auth extraction, bad JSON."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.testclient import TestClient

from callcard.clock import FakeClock
from callcard.errors import BitrixError
from callcard.rest.auth import Caller
from callcard.rest.params import assign_php_key, decode_body, parse_php_query, php_keys, pop_auth
from callcard.rest.registry import CallContext, Registry
from callcard.rest.testkit import FakeResolver, rest_app
from callcard.settings import Settings

# -- PHP parse_str semantics -------------------------------------------------------------------


def test_php_keys_split_nested_and_append():
    assert php_keys("a") == ["a"]
    assert php_keys("a[b][0][c]") == ["a", "b", "0", "c"]
    assert php_keys("name[]") == ["name", None]
    assert php_keys("a[b]junk[c]") == ["a", "b"]  # PHP ignores text after a closing bracket
    assert php_keys("[x]") is None  # no base name: PHP drops the pair
    assert php_keys("a[b") == ["a[b"]  # unmatched bracket: a literal key


def test_nested_keys_build_dicts_with_string_numeric_keys():
    parsed = parse_php_query(
        "fields[PHONE][0][VALUE]=%2B4930123&fields[PHONE][0][VALUE_TYPE]=WORK&fields[NAME]=J"
    )
    assert parsed == {"fields": {"PHONE": {"0": {"VALUE": "+4930123", "VALUE_TYPE": "WORK"}}, "NAME": "J"}}


def test_empty_brackets_append_after_the_highest_numeric_key():
    assert parse_php_query("name[]=a&name[]=b") == {"name": {"0": "a", "1": "b"}}
    assert parse_php_query("n[]=a&n[5]=b&n[]=c&n[x]=d&n[]=e") == {
        "n": {"0": "a", "5": "b", "6": "c", "x": "d", "7": "e"}
    }


def test_later_values_win_and_scalars_are_replaced_by_arrays():
    assert parse_php_query("a=1&a=2") == {"a": "2"}
    assert parse_php_query("a=1&a[b]=2") == {"a": {"b": "2"}}
    assert parse_php_query("a[b]=2&a=1") == {"a": "1"}


def test_blank_values_plus_signs_and_trailing_ampersand():
    assert parse_php_query("a=&b&c=x+y&d=%26&") == {"a": "", "b": "", "c": "x y", "d": "&"}
    assert parse_php_query("") == {}
    assert parse_php_query(b"x=%D0%96") == {"x": "Ж"}


def test_assign_php_key_ignores_too_deep_keys():
    target: dict[str, Any] = {}
    assign_php_key(target, "a" + "[x]" * 70, "1")
    assert target == {}


def test_pop_auth_takes_the_token_out():
    params: dict[str, Any] = {"auth": " tok ", "x": "1"}
    assert pop_auth(params) == "tok"
    assert params == {"x": "1"}
    assert pop_auth({"auth": ""}) is None
    assert pop_auth({"auth": {"access_token": "t2"}}) == "t2"
    assert pop_auth({}) is None


@pytest.mark.parametrize(
    "content_type",
    [None, "", "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded; charset=utf-8"],
)
def test_non_json_bodies_are_urlencoded(content_type):
    assert decode_body(content_type, b"a[b]=1&c=2") == {"a": {"b": "1"}, "c": "2"}


def test_json_bodies():
    assert decode_body("application/json", b'{"a": {"b": [1, true]}}') == {"a": {"b": [1, True]}}
    assert decode_body("application/json; charset=utf-8", b"   ") == {}
    assert decode_body("application/json", b"[]") == {}  # PHP's empty array


@pytest.mark.parametrize("body", [b"{not json", b'{"a":', b"[1,2]", b'"text"', b"\xff\xfe{"])
def test_malformed_json_is_invalid_request(body):
    with pytest.raises(BitrixError) as caught:
        decode_body("application/json", body)
    assert caught.value.code == "INVALID_REQUEST"
    assert caught.value.status == 400


# -- through the endpoint --------------------------------------------------------------------


@pytest.fixture()
def client(tmp_path):
    registry = Registry()

    @registry.method("test.echo")
    def echo(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"params": params, "start": ctx.start, "user": ctx.caller.user_id}

    resolver = FakeResolver()
    resolver.add_token("tok", Caller(kind="app", user_id=3, app_id=1))
    resolver.add_webhook(1, "hookcode", Caller(kind="webhook", user_id=1, webhook_id=9))
    app = rest_app(registry, resolver, settings=Settings.for_tests(tmp_path), clock=FakeClock())
    return TestClient(app)


def echoed(response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_legacy_bx24_body_without_content_type(client):
    # Exactly what the classic BX24 library's ajax() sends for
    # callMethod("test.echo", {USER_ID: 1, PHONE_NUMBER: "+4930123", SHOW: true, LIST: [],
    #   WHEN: new Date(...), FIELDS: {PHONE: [{VALUE: "+1", VALUE_TYPE: "WORK"}]}, FILE: <input type=file>})
    # with config.start = 50: auth first, raw brackets, encodeURIComponent values, no Content-Type.
    body = (
        "auth=tok&start=50&USER_ID=1&PHONE_NUMBER=%2B4930123&SHOW=true&LIST=&WHEN=2025-11-21T10%3A00%3A00.000Z"
        "&FIELDS[PHONE][0][VALUE]=%2B1&FIELDS[PHONE][0][VALUE_TYPE]=WORK"
        "&FILE[0]=rec.wav&FILE[1]=UklGRg%3D%3D"
    )
    for headers in ({}, {"Content-Type": "text/plain;charset=UTF-8"}):
        response = client.post("/rest/test.echo.json", content=body.encode(), headers=headers)
        result = echoed(response)
        assert result["user"] == 3
        assert result["start"] == 50
        assert result["params"] == {
            "start": "50",
            "USER_ID": "1",
            "PHONE_NUMBER": "+4930123",
            "SHOW": "true",
            "LIST": "",
            "WHEN": "2025-11-21T10:00:00.000Z",
            "FIELDS": {"PHONE": {"0": {"VALUE": "+1", "VALUE_TYPE": "WORK"}}},
            "FILE": {"0": "rec.wav", "1": "UklGRg=="},
        }


def test_legacy_bx24_empty_params_leave_a_trailing_ampersand(client):
    assert echoed(client.post("/rest/test.echo.json", content=b"auth=tok&"))["params"] == {}


def test_urlencoded_form(client):
    response = client.post("/rest/test.echo", data={"auth": "tok", "a[b][]": ["1", "2"], "c": "x"})
    assert echoed(response)["params"] == {"a": {"b": {"0": "1", "1": "2"}}, "c": "x"}


def test_json_body_with_b24jssdk_query_keys(client):
    response = client.post(
        "/rest/test.echo?bx24_request_id=0190&bx24_sdk_ver=2.2.0&bx24_sdk_type=b24-js-sdk",
        json={"auth": "tok", "FIELDS": {"TITLE": "x", "N": 5, "OK": True}},
    )
    assert echoed(response)["params"] == {"FIELDS": {"TITLE": "x", "N": 5, "OK": True}}


def test_query_and_body_merge_with_body_winning(client):
    response = client.post("/rest/test.echo?auth=tok&a=query&q[x]=1", json={"a": "body", "b": 2})
    assert echoed(response)["params"] == {"a": "body", "q": {"x": "1"}, "b": 2}


def test_get_with_query_only(client):
    response = client.get("/rest/test.echo?auth=tok&filter[%3EID]=5&select[]=ID")
    assert echoed(response)["params"] == {"filter": {">ID": "5"}, "select": {"0": "ID"}}


def test_multipart_fields_and_files(client):
    content = b"RIFF\x00\x01binary"
    response = client.post(
        "/rest/test.echo",
        data={"auth": "tok", "CALL_ID": "c1", "meta[a]": "1"},
        files={"FILE_CONTENT": ("call.wav", content, "audio/wav")},
    )
    params = echoed(response)["params"]
    assert params["CALL_ID"] == "c1"
    assert params["meta"] == {"a": "1"}
    assert params["FILE_CONTENT"] == ["call.wav", base64.b64encode(content).decode()]


def test_bearer_header_is_accepted_as_token(client):
    response = client.post("/rest/test.echo", json={}, headers={"Authorization": "Bearer tok"})
    assert echoed(response)["user"] == 3


def test_malformed_json_is_a_400_envelope_not_a_500(client):
    response = client.post(
        "/rest/test.echo?auth=tok", content=b'{"auth": "tok", ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "INVALID_REQUEST"
    assert body["error_description"]
    assert response.headers["access-control-allow-origin"] == "*"


def test_auth_never_reaches_the_method(client):
    response = client.post("/rest/1/hookcode/test.echo", json={"auth": "ignored", "x": 1})
    result = echoed(response)
    assert result == {"params": {"x": 1}, "start": 0, "user": 1}
