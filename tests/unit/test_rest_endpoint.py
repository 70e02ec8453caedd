"""The /rest endpoint (rest-api.md §1, §4, §7): URL forms, statuses, auth errors, CORS, the call hook."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from callcard.clock import FakeClock
from callcard.errors import BitrixError, error
from callcard.rest.auth import Caller
from callcard.rest.endpoint import parse_rest_path, rest_routes
from callcard.rest.envelope import ListResult
from callcard.rest.registry import CallContext, Registry
from callcard.rest.testkit import FakeResolver, rest_app
from callcard.rest.types import BxInt, BxModel, BxRequiredStr
from callcard.settings import Settings

APP = Caller(kind="app", user_id=2, app_id=7, scopes=frozenset({"telephony", "user"}), access_token="tok")
PLAIN_APP = Caller(kind="app", user_id=3, app_id=8, scopes=frozenset())
ADMIN_HOOK = Caller(kind="webhook", user_id=1, webhook_id=4, scopes=frozenset({"telephony"}), is_admin=True)
USER_HOOK = Caller(kind="webhook", user_id=5, webhook_id=6, scopes=frozenset({"telephony"}))


class FinishParams(BxModel):
    CALL_ID: BxRequiredStr
    DURATION: BxInt = 0


def make_registry() -> Registry:
    registry = Registry()

    @registry.method("test.echo")
    def echo(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"params": params, "user": ctx.caller.user_id, "ip": ctx.request_ip}

    @registry.method("test.finish", params=FinishParams, scope="telephony", app_only=True)
    def finish(ctx: CallContext, params: FinishParams) -> dict[str, Any]:
        return {"CALL_ID": params.CALL_ID, "DURATION": params.DURATION}

    @registry.method("test.admin", admin_only=True)
    def admin(ctx: CallContext, params: dict[str, Any]) -> bool:
        return True

    @registry.method("test.scoped", scope="crm")
    def scoped(ctx: CallContext, params: dict[str, Any]) -> bool:
        return True

    @registry.method("test.fail")
    def fail(ctx: CallContext, params: dict[str, Any]) -> None:
        raise error("ERROR_CORE", "User is not found or is not active")

    @registry.method("test.crash")
    def crash(ctx: CallContext, params: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    @registry.method("test.unserialisable")
    def unserialisable(ctx: CallContext, params: dict[str, Any]) -> Any:
        return {"x": object()}

    @registry.method("test.async")
    async def asynchronous(ctx: CallContext, params: dict[str, Any]) -> str:
        return "awaited"

    @registry.method("test.list")
    def list_items(ctx: CallContext, params: dict[str, Any]) -> ListResult:
        return ListResult.slice(list(range(120)), ctx.start)

    @registry.method("test.hidden", enabled_if=lambda settings: not settings.strict_placement_rest)
    def hidden(ctx: CallContext, params: dict[str, Any]) -> bool:
        return True

    return registry


@pytest.fixture()
def records() -> list[dict[str, Any]]:
    return []


def build(tmp_path, records: list[dict[str, Any]] | None = None, **settings: Any) -> TestClient:
    resolver = FakeResolver()
    resolver.add_token("tok", APP)
    resolver.add_token("plain", PLAIN_APP)
    resolver.expired.add("old")
    resolver.add_webhook(1, "adminhook", ADMIN_HOOK)
    resolver.add_webhook(5, "userhook", USER_HOOK)
    app = rest_app(
        make_registry(),
        resolver,
        settings=Settings.for_tests(tmp_path, **settings),
        clock=FakeClock(),
        on_call=records.append if records is not None else None,
    )
    return TestClient(app, follow_redirects=False)


@pytest.fixture()
def client(tmp_path, records):
    return build(tmp_path, records)


# -- URL forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/rest/test.echo",
        "/rest/test.echo.json",
        "/rest/test.echo/",
        "/rest//test.echo",
        "/rest/TEST.Echo.JSON",
        "/rest/test.echo.json/",
        "/rest//test.echo//",
    ],
)
def test_oauth_url_forms_get_and_post(client, path):
    for response in (client.post(path, json={"auth": "tok", "x": 1}), client.get(path + "?auth=tok&x=1")):
        assert response.status_code == 200, (path, response.text)
        assert response.json()["result"]["user"] == 2


@pytest.mark.parametrize(
    "path",
    [
        "/rest/1/adminhook/test.echo",
        "/rest/1/adminhook/test.echo.json",
        "/rest/1/adminhook/test.echo/",
        "/rest//1/adminhook/test.echo",
        "/rest/1/adminhook/test.ECHO",
    ],
)
def test_webhook_url_forms(client, path):
    response = client.post(path, json={"x": 1})
    assert response.status_code == 200, response.text
    assert response.json()["result"] == {"params": {"x": 1}, "user": 1, "ip": "testclient"}


@pytest.mark.parametrize(
    "path",
    [
        "/rest/no.such.method",
        "/rest/test.echo.xml",
        "/rest/api/crm.item.list",
        "/rest/api/1/x/y",
        "/rest",
        "/rest/",
        "/rest/a/b",
        "/rest/1/adminhook",
        "/rest/x/adminhook/test.echo",
        "/rest/1/adminhook/test.echo/extra",
        "/rest/.json",
    ],
)
def test_not_found_forms_answer_404_json_without_redirect(client, path):
    for response in (client.post(path, json={"auth": "tok"}), client.get(path)):
        assert response.status_code == 404, path
        assert response.json() == {
            "error": "ERROR_METHOD_NOT_FOUND",
            "error_description": "Method not found!",
        }
        assert response.headers["content-type"] == "application/json; charset=utf-8"


def test_unknown_method_is_404_before_auth(client):
    assert client.post("/rest/no.such", json={}).status_code == 404
    assert client.post("/rest/9/wrongcode/no.such", json={}).status_code == 404


def test_parse_rest_path():
    assert parse_rest_path("user.get.json") == ("user.get", None)
    assert parse_rest_path("/1/abc/User.Get/") == ("User.Get", (1, "abc"))
    with pytest.raises(BitrixError) as caught:
        parse_rest_path("api/v3")
    assert caught.value.status == 404


def test_never_redirects_when_mounted_beside_other_routes(tmp_path):
    routes = rest_routes(make_registry(), FakeResolver(), None, Settings.for_tests(tmp_path), FakeClock())
    app = Starlette(routes=[*routes, Route("/portal", lambda r: PlainTextResponse("page"))])
    client = TestClient(app, follow_redirects=False)
    for path in ("/rest", "/rest/", "/rest/test.echo/", "/rest//1/x/test.echo/"):
        response = client.post(path)
        assert 300 > response.status_code or response.status_code >= 400, path
        assert response.headers["content-type"].startswith("application/json")


# -- statuses and errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "payload", "status", "code"),
    [
        ("/rest/test.echo", {}, 401, "NO_AUTH_FOUND"),
        ("/rest/test.echo", {"auth": "nope"}, 401, "invalid_token"),
        ("/rest/test.echo", {"auth": "old"}, 401, "expired_token"),
        ("/rest/1/wrongcode/test.echo", {}, 401, "INVALID_CREDENTIALS"),
        ("/rest/2/adminhook/test.echo", {}, 401, "INVALID_CREDENTIALS"),
        ("/rest/1/adminhook/test.finish", {"CALL_ID": "c"}, 403, "WRONG_AUTH_TYPE"),
        ("/rest/test.finish", {"auth": "plain", "CALL_ID": "c"}, 403, "insufficient_scope"),
        ("/rest/test.admin", {"auth": "tok"}, 403, "ACCESS_DENIED"),
        ("/rest/5/userhook/test.admin", {}, 403, "ACCESS_DENIED"),
        ("/rest/test.scoped", {"auth": "tok"}, 403, "insufficient_scope"),
        ("/rest/test.finish", {"auth": "tok"}, 400, "ERROR_ARGUMENT"),
        ("/rest/test.finish", {"auth": "tok", "CALL_ID": ["x"]}, 400, "INVALID_ARGUMENT"),
        ("/rest/test.fail", {"auth": "tok"}, 400, "ERROR_CORE"),
    ],
)
def test_error_statuses(client, path, payload, status, code):
    response = client.post(path, json=payload)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["error_description"], str) and body["error_description"]
    assert "time" not in body and "result" not in body


def test_argument_errors_carry_argument(client):
    body = client.post("/rest/test.finish", json={"auth": "tok"}).json()
    assert body == {
        "error": "ERROR_ARGUMENT",
        "error_description": "Argument 'CALL_ID' is null or empty",
        "argument": "CALL_ID",
    }
    body = client.post("/rest/test.finish", json={"auth": "tok", "CALL_ID": ["x"]}).json()
    assert body == {
        "error": "INVALID_ARGUMENT",
        "error_description": "CALL_ID must be a string",
        "argument": "CALL_ID",
    }
    ok = client.post("/rest/test.finish", content=b"auth=tok&CALL_ID=c1&DURATION=12").json()
    assert ok["result"] == {"CALL_ID": "c1", "DURATION": 12}


def test_scopes_can_be_switched_off(tmp_path):
    client = build(tmp_path, enforce_scopes=False)
    assert client.post("/rest/test.scoped", json={"auth": "tok"}).status_code == 200


def test_enabled_if_hides_a_method(tmp_path):
    assert build(tmp_path).post("/rest/test.hidden", json={"auth": "tok"}).status_code == 200
    strict = build(tmp_path, strict_placement_rest=True)
    assert strict.post("/rest/test.hidden", json={"auth": "tok"}).status_code == 404
    assert (
        strict.post("/rest/batch", json={"auth": "tok", "cmd": {"h": "test.hidden"}}).json()["result"][
            "result_error"
        ]["h"]["error"]
        == "ERROR_METHOD_NOT_FOUND"
    )


@pytest.mark.parametrize("method", ["test.crash", "test.unserialisable"])
def test_internal_errors_are_logged_json_500(client, caplog, method):
    with caplog.at_level(logging.ERROR, logger="callcard.rest"):
        response = client.post(f"/rest/{method}", json={"auth": "tok"}, headers={"Origin": "http://app.test"})
    assert response.status_code == 500
    assert response.json() == {"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"}
    assert response.headers["access-control-allow-origin"] == "http://app.test"
    assert any(r.levelno == logging.ERROR for r in caplog.records)


def test_async_handlers_are_awaited(client):
    assert client.post("/rest/test.async", json={"auth": "tok"}).json()["result"] == "awaited"


# -- CORS and the b24jssdk flow ----------------------------------------------------------------


def test_b24jssdk_preflight_then_json_post(client, records):
    origin = "http://localhost:5173"
    url = "/rest/test.echo?bx24_request_id=01933b&bx24_sdk_ver=2.2.0&bx24_sdk_type=b24-js-sdk"
    preflight = client.options(
        url,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == origin
    assert "POST" in preflight.headers["access-control-allow-methods"]
    assert "OPTIONS" in preflight.headers["access-control-allow-methods"]
    assert "content-type" in preflight.headers["access-control-allow-headers"].lower()
    assert preflight.headers["access-control-max-age"] == "600"
    assert records == []  # preflights are not method calls

    response = client.post(url, json={"x": 1, "auth": "tok"}, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == origin
    assert response.json()["result"]["params"] == {"x": 1}


def test_preflight_echoes_requested_headers_and_works_anywhere(client):
    response = client.options(
        "/rest/1/adminhook/no.such.method",
        headers={"Origin": "http://a.test", "Access-Control-Request-Headers": "X-Request-ID, Authorization"},
    )
    assert response.status_code == 204
    allowed = [h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")]
    assert {"x-request-id", "authorization", "content-type"} <= set(allowed)


def test_cors_headers_on_every_response(client):
    for path, payload in [
        ("/rest/test.echo", {"auth": "tok"}),
        ("/rest/test.echo", {}),
        ("/rest/nope", {}),
        ("/rest/test.fail", {"auth": "tok"}),
    ]:
        with_origin = client.post(path, json=payload, headers={"Origin": "http://x.test"})
        assert with_origin.headers["access-control-allow-origin"] == "http://x.test"
        assert client.post(path, json=payload).headers["access-control-allow-origin"] == "*"


# -- the call hook -----------------------------------------------------------------------------


def test_on_call_records_every_request(client, records):
    client.post("/rest/test.echo", json={"auth": "tok", "x": 1})
    client.post("/rest/1/adminhook/TEST.FINISH", json={"CALL_ID": "c"})
    client.post("/rest/no.such", json={"auth": "tok"})
    assert [r["status"] for r in records] == [200, 403, 404]
    first = records[0]
    assert first["method"] == "test.echo"
    assert first["params"] == {"x": 1}  # no auth token in the timeline
    assert first["caller"] == APP
    assert first["response"]["result"]["params"] == {"x": 1}
    assert first["duration_ms"] >= 0
    assert first["http_method"] == "POST" and first["path"] == "/rest/test.echo"
    assert records[1]["method"] == "test.finish"  # the registered spelling
    assert records[1]["caller"] == ADMIN_HOOK
    assert records[1]["response"]["error"] == "WRONG_AUTH_TYPE"
    assert records[2]["method"] == "no.such" and records[2]["caller"] is None


def test_a_failing_hook_does_not_break_the_answer(tmp_path):
    def broken(record: dict[str, Any]) -> None:
        raise ValueError("hook bug")

    resolver = FakeResolver()
    resolver.add_token("tok", APP)
    app = rest_app(make_registry(), resolver, settings=Settings.for_tests(tmp_path), on_call=broken)
    response = TestClient(app).post("/rest/test.echo", json={"auth": "tok"})
    assert response.status_code == 200


def test_batch_is_registered_automatically(client):
    body = client.post("/rest/batch", json={"auth": "tok", "cmd": {"a": "test.list?start=100"}}).json()
    assert body["result"]["result"]["a"] == list(range(100, 120))
    assert body["result"]["result_total"] == {"a": 120}
    assert body["result"]["result_next"] == []
