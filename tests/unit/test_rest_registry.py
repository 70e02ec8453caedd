"""The method registry, the Bx* parameter types and their error envelopes, access checks, OpenAPI."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, Field

from callcard.errors import BitrixError
from callcard.rest.auth import Caller, authenticate, check_access
from callcard.rest.registry import Method, Registry
from callcard.rest.testkit import FakeResolver
from callcard.rest.types import (
    BxBool,
    BxDateTime,
    BxDict,
    BxFile,
    BxFloat,
    BxInt,
    BxList,
    BxModel,
    BxRequiredStr,
    BxStr,
    parse_params,
)


def noop(ctx: Any, params: Any) -> None:
    return None


# -- registry ----------------------------------------------------------------------------------


def test_lookup_is_case_insensitive_and_keeps_the_spelling():
    registry = Registry()
    method = registry.add("telephony.externalCall.register", noop, scope="telephony", app_only=True)
    assert registry.get("telephony.externalcall.register") is method
    assert registry.get("TELEPHONY.EXTERNALCALL.REGISTER") is method
    assert "Telephony.ExternalCall.Register" in registry
    assert registry.get("telephony.externalCall.show") is None
    assert method.name == "telephony.externalCall.register"
    assert (method.scope, method.app_only, method.admin_only, method.batchable) == (
        "telephony",
        True,
        False,
        True,
    )


def test_duplicates_and_bad_params_are_refused():
    registry = Registry()
    registry.add("a.b", noop)
    with pytest.raises(ValueError):
        registry.add("A.B", noop)
    with pytest.raises(TypeError):
        registry.add("c.d", noop, params=dict)  # type: ignore[arg-type]


def test_decorator_returns_the_handler_and_iteration_is_sorted():
    registry = Registry()

    @registry.method("z.last", summary="Z")
    def z(ctx: Any, params: Any) -> int:
        return 1

    @registry.method("a.first")
    def a(ctx: Any, params: Any) -> int:
        return 2

    assert z(None, None) == 1
    assert [m.name for m in registry] == ["a.first", "z.last"]
    assert len(registry) == 2
    assert registry.get("z.last").summary == "Z"  # type: ignore[union-attr]


# -- types -------------------------------------------------------------------------------------


class Params(BxModel):
    CALL_ID: BxRequiredStr
    USER_ID: BxInt | BxList[BxInt] | None = None
    DURATION: BxInt = 0
    COST: BxFloat = 0.0
    SHOW: BxBool = True
    NAME: BxStr = ""
    USERS: BxList[BxInt] = Field(default_factory=list)
    FIELDS: BxDict = Field(default_factory=dict)
    FILE: BxFile | None = None
    WHEN: BxDateTime | None = None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("Y", True),
        ("y", True),
        ("true", True),
        ("True", True),
        (1, True),
        (True, True),
        ("0", False),
        ("N", False),
        ("false", False),
        ("", False),
        (0, False),
        (False, False),
    ],
)
def test_bx_bool(raw, expected):
    assert parse_params(Params, {"CALL_ID": "c", "SHOW": raw}).SHOW is expected


def test_urlencoded_strings_coerce():
    p = parse_params(
        Params,
        {
            "CALL_ID": "c",
            "USER_ID": "7",
            "DURATION": " 30 ",
            "COST": "1.5",
            "NAME": 79001234567,
            "USERS": {"0": "1", "1": "2"},
            "FIELDS": [],
            "FILE": {"0": "a.wav", "1": "QUJD"},
            "WHEN": "2025-11-21T10:00:00Z",
        },
    )
    assert (p.USER_ID, p.DURATION, p.COST, p.NAME, p.USERS, p.FIELDS) == (
        7,
        30,
        1.5,
        "79001234567",
        [1, 2],
        {},
    )
    assert p.FILE == ("a.wav", "QUJD")
    assert p.WHEN == datetime(2025, 11, 21, 10, 0, tzinfo=UTC)


def test_json_types_pass_through_and_unions_accept_lists():
    p = parse_params(
        Params, {"CALL_ID": "c", "USER_ID": [1, "2"], "DURATION": 5.0, "FILE": ["b.mp3", "eA=="]}
    )
    assert (p.USER_ID, p.DURATION, p.FILE) == ([1, 2], 5, ("b.mp3", "eA=="))


def test_empty_and_null_mean_not_given_for_numbers():
    p = parse_params(
        Params, {"CALL_ID": "c", "USER_ID": "", "DURATION": "", "COST": None, "WHEN": "", "USERS": ""}
    )
    assert (p.USER_ID, p.DURATION, p.COST, p.WHEN, p.USERS) == (None, 0, 0.0, None, [])


def test_unknown_keys_are_ignored():
    assert parse_params(Params, {"CALL_ID": "c", "EXTRA": {"x": 1}}).CALL_ID == "c"


def envelope_of(raw: dict[str, Any], model: type[BaseModel] = Params) -> tuple[int, dict[str, Any]]:
    with pytest.raises(BitrixError) as caught:
        parse_params(model, raw)
    return caught.value.status, caught.value.envelope()


@pytest.mark.parametrize("raw", [{}, {"CALL_ID": ""}, {"CALL_ID": "  "}, {"CALL_ID": None}])
def test_missing_or_empty_required_is_error_argument(raw):
    assert envelope_of(raw) == (
        400,
        {
            "error": "ERROR_ARGUMENT",
            "error_description": "Argument 'CALL_ID' is null or empty",
            "argument": "CALL_ID",
        },
    )


def test_wrong_kind_is_invalid_argument_with_argument():
    assert envelope_of({"CALL_ID": ["x"]}) == (
        400,
        {"error": "INVALID_ARGUMENT", "error_description": "CALL_ID must be a string", "argument": "CALL_ID"},
    )
    status, body = envelope_of({"CALL_ID": "c", "DURATION": "ten"})
    assert body == {
        "error": "INVALID_ARGUMENT",
        "error_description": "DURATION must be an integer",
        "argument": "DURATION",
    }
    assert envelope_of({"CALL_ID": "c", "SHOW": "maybe"})[1]["error_description"] == "SHOW must be a boolean"
    assert envelope_of({"CALL_ID": "c", "WHEN": "yesterday"})[1]["argument"] == "WHEN"


def test_nested_errors_name_the_php_path():
    status, body = envelope_of({"CALL_ID": "c", "USERS": {"0": "1", "1": "x"}})
    assert body["error"] == "INVALID_ARGUMENT"
    assert body["argument"] == "USERS[1]"
    assert body["error_description"] == "USERS[1] must be an integer"


def test_first_error_in_field_order_wins():
    assert envelope_of({"DURATION": "x"})[1]["error"] == "ERROR_ARGUMENT"  # CALL_ID comes first


def test_key_case_folding_like_array_change_key_case():
    class Upper(BxModel):
        bx_key_case = "upper"
        FILTER: BxDict = Field(default_factory=dict)
        USER_ID: BxInt

    p = parse_params(Upper, {"filter": {"ID": 1}, "user_id": "5"})
    assert (p.FILTER, p.USER_ID) == ({"ID": 1}, 5)


def test_plain_pydantic_models_and_validators_map_too():
    class Plain(BaseModel):
        count: int

    assert envelope_of({}, Plain)[1]["error"] == "ERROR_ARGUMENT"
    status, body = envelope_of({"count": "many"}, Plain)
    assert body["error"] == "INVALID_ARGUMENT" and body["argument"] == "count"


# -- access checks ---------------------------------------------------------------------------


APP = Caller(kind="app", user_id=2, app_id=5, scopes=frozenset({"telephony"}))
ADMIN_HOOK = Caller(kind="webhook", user_id=1, webhook_id=3, scopes=frozenset({"telephony"}), is_admin=True)


def codes(method: Method, caller: Caller, enforce: bool = True) -> str | None:
    try:
        check_access(method, caller, enforce_scopes=enforce)
    except BitrixError as exc:
        return f"{exc.status} {exc.code}"
    return None


def test_access_rules_in_platform_order():
    scoped = Method("m", noop, scope="crm", app_only=True, admin_only=True)
    assert codes(scoped, ADMIN_HOOK) == "403 insufficient_scope"
    assert codes(scoped, ADMIN_HOOK, enforce=False) == "403 WRONG_AUTH_TYPE"
    assert codes(Method("m", noop, scope="telephony", app_only=True), ADMIN_HOOK) == "403 WRONG_AUTH_TYPE"
    assert codes(Method("m", noop, admin_only=True), APP) == "403 ACCESS_DENIED"
    assert codes(Method("m", noop, admin_only=True), ADMIN_HOOK) is None
    assert codes(Method("m", noop, scope="telephony", app_only=True), APP) is None
    assert codes(Method("m", noop), Caller(kind="app", user_id=1, app_id=1)) is None


def test_authenticate():
    resolver = FakeResolver()
    resolver.add_token("t", APP)
    resolver.add_webhook(1, "code", ADMIN_HOOK)
    resolver.expired.add("old")
    assert authenticate(resolver, "t", None) is APP
    assert authenticate(resolver, "t", (1, "code")) is ADMIN_HOOK  # the URL decides
    for token, webhook, code in [
        (None, None, "NO_AUTH_FOUND"),
        ("", None, "NO_AUTH_FOUND"),
        ("nope", None, "invalid_token"),
        ("old", None, "expired_token"),
        (None, (1, "bad"), "INVALID_CREDENTIALS"),
    ]:
        with pytest.raises(BitrixError) as caught:
            authenticate(resolver, token, webhook)
        assert caught.value.code == code
        assert caught.value.status == 401
    assert APP.owner_key == "app:5" and ADMIN_HOOK.owner_key == "webhook:3"


# -- OpenAPI -----------------------------------------------------------------------------------


def test_openapi_document():
    class Nested(BaseModel):
        VALUE: str

    class ShowParams(BxModel):
        CALL_ID: BxRequiredStr
        USER_ID: BxInt | BxList[BxInt] | None = None
        ITEMS: list[Nested] = Field(default_factory=list)

    registry = Registry()
    registry.add(
        "telephony.externalCall.show",
        noop,
        params=ShowParams,
        scope="telephony",
        app_only=True,
        summary="Show the card",
        result_schema={"type": "boolean"},
    )
    registry.add("user.get", noop, scope="user", paged=True)
    doc = registry.openapi()
    assert doc["openapi"].startswith("3.1")
    show = doc["paths"]["/rest/telephony.externalCall.show"]["post"]
    assert show["operationId"] == "telephony.externalCall.show"
    assert show["summary"] == "Show the card"
    assert show["x-bitrix-app-only"] is True and show["x-bitrix-scope"] == "telephony"
    ref = show["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/ShowParams"
    schema = doc["components"]["schemas"]["ShowParams"]
    assert schema["required"] == ["CALL_ID"]
    assert set(schema["properties"]) == {"CALL_ID", "USER_ID", "ITEMS"}
    assert "Nested" in doc["components"]["schemas"]
    assert show["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["result"] == {
        "type": "boolean"
    }
    listing = doc["paths"]["/rest/user.get"]["post"]["responses"]["200"]["content"]["application/json"]
    assert "total" in listing["schema"]["properties"] and "next" in listing["schema"]["properties"]
    assert {"Time", "Error"} <= set(doc["components"]["schemas"])

    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(doc)
