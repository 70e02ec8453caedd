"""batch (rest-api.md §5) in the forms fast-bitrix24, legacy BX24 and b24pysdk send it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from starlette.testclient import TestClient

from callcard.clock import FakeClock
from callcard.errors import argument_error, error
from callcard.rest.auth import Caller
from callcard.rest.envelope import ListResult
from callcard.rest.registry import CallContext, Registry
from callcard.rest.testkit import FakeResolver, rest_app
from callcard.settings import LimitSettings, Settings

T0 = 1_763_700_000.0

APP = Caller(kind="app", user_id=2, app_id=7, scopes=frozenset({"telephony"}), access_token="tok")
HOOK = Caller(kind="webhook", user_id=1, webhook_id=4, scopes=frozenset({"telephony"}), is_admin=True)


def build(tmp_path, *, limits: bool = False) -> tuple[TestClient, FakeClock]:
    clock = FakeClock(T0)
    registry = Registry()

    @registry.method("test.echo")
    def echo(ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
        return {"params": params, "who": ctx.caller.kind, "in_batch": ctx.in_batch}

    @registry.method("test.list")
    def list_items(ctx: CallContext, params: dict[str, Any]) -> ListResult:
        return ListResult.slice(list(range(120)), ctx.start)

    @registry.method("test.fail")
    def fail(ctx: CallContext, params: dict[str, Any]) -> None:
        raise argument_error("CALL_ID")

    @registry.method("test.apponly", app_only=True)
    def app_only(ctx: CallContext, params: dict[str, Any]) -> bool:
        return True

    @registry.method("test.heavy")
    def heavy(ctx: CallContext, params: dict[str, Any]) -> bool:
        clock.advance(10.0)
        return True

    @registry.method("test.empty")
    def empty(ctx: CallContext, params: dict[str, Any]) -> list[Any]:
        raise error("ERROR_CORE", "Unknown TYPE")

    resolver = FakeResolver()
    resolver.add_token("tok", APP)
    resolver.add_webhook(1, "hook", HOOK)
    settings = Settings.for_tests(tmp_path, limits=LimitSettings(enabled=limits))
    return TestClient(rest_app(registry, resolver, settings=settings, clock=clock)), clock


@pytest.fixture()
def client(tmp_path):
    return build(tmp_path)[0]


def batch_result(response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"result", "time"}
    assert set(body["result"]) == {"result", "result_error", "result_total", "result_next", "result_time"}
    return body["result"]


def test_fast_bitrix24_batch_form(client):
    # fast-bitrix24: lower-cased method, JSON body, halt 0, cmd labels cmd0000000000..., values built by its
    # http_build_query with quote() per value and a trailing "&".
    cmd = {
        "cmd0000000000": "test.echo?a=1&b[0]=x&b[1]=y&flag=True&filter[%3EID]=5&",
        "cmd0000000001": "test.list?start=50&",
    }
    response = client.post("/rest/1/hook/batch", json={"halt": 0, "cmd": cmd})
    result = batch_result(response)
    assert result["result"]["cmd0000000000"] == {
        "params": {"a": "1", "b": {"0": "x", "1": "y"}, "flag": "True", "filter": {">ID": "5"}},
        "who": "webhook",
        "in_batch": True,
    }
    assert result["result"]["cmd0000000001"] == list(range(50, 100))
    assert result["result_error"] == []
    assert result["result_total"] == {"cmd0000000001": 120}
    assert result["result_next"] == {"cmd0000000001": 100}
    assert set(result["result_time"]) == set(cmd)
    assert set(result["result_time"]["cmd0000000000"]) >= {"start", "finish", "duration", "operating"}

    fb = pytest.importorskip("fast_bitrix24.utils")
    item = {"a": 1, "b": ["x", "y"], "flag": True, "filter": {">ID": 5}}
    assert "test.echo?" + fb.http_build_query(item) == cmd["cmd0000000000"]
    parser = pytest.importorskip("fast_bitrix24.server_response").ServerResponseParser(
        response.json()["result"]
    )
    assert parser.extract_errors() is None


def test_legacy_bx24_callbatch_body(client):
    # BX24.callBatch({a: ['test.echo', {x: 1, arr: [1, 2]}], b: ['test.list', {}]}, cb, false):
    # cmd values are "method?" + prepareData(params), escaped again by prepareData; no Content-Type.
    inner = "test.echo?x=1&arr[0]=1&arr[1]=2"
    body = f"auth=tok&halt=0&cmd[a]={quote(inner, safe='')}&cmd[b]={quote('test.list?', safe='')}"
    result = batch_result(client.post("/rest/batch.json", content=body.encode()))
    assert result["result"]["a"]["params"] == {"x": "1", "arr": {"0": "1", "1": "2"}}
    assert result["result"]["a"]["who"] == "app"
    assert result["result"]["b"] == list(range(50))
    assert result["result_next"] == {"b": 50}


def test_b24pysdk_batch_form(client):
    response = client.post(
        "/rest/batch.json",
        json={"auth": "tok", "halt": False, "cmd": {"one": "test.echo?A=1", "two": "TEST.ECHO?B=2"}},
    )
    result = batch_result(response)
    assert result["result"]["one"]["params"] == {"A": "1"}
    assert result["result"]["two"]["params"] == {"B": "2"}


def test_query_string_cmd_is_double_encoded(client):
    url = "/rest/batch?auth=tok&cmd[q]=" + quote("test.echo?x=1&y[]=2", safe="")
    result = batch_result(client.get(url))
    assert result["result"]["q"]["params"] == {"x": "1", "y": {"0": "2"}}


def test_errors_are_per_command_and_status_stays_200(client):
    response = client.post(
        "/rest/1/hook/batch",
        json={
            "halt": 0,
            "cmd": {
                "ok": "test.echo?x=1",
                "missing": "no.such.method?x=1",
                "arg": "test.fail",
                "hook": "test.apponly",
                "nested": "batch?cmd[a]=test.echo",
                "xml": "test.echo.xml",
                "core": "test.empty",
            },
        },
    )
    result = batch_result(response)
    assert list(result["result"]) == ["ok"]
    errors = result["result_error"]
    assert errors["missing"] == {"error": "ERROR_METHOD_NOT_FOUND", "error_description": "Method not found!"}
    assert errors["arg"] == {
        "error": "ERROR_ARGUMENT",
        "error_description": "Argument 'CALL_ID' is null or empty",
        "argument": "CALL_ID",
    }
    assert errors["hook"]["error"] == "WRONG_AUTH_TYPE"
    assert errors["nested"] == {
        "error": "ERROR_BATCH_METHOD_NOT_ALLOWED",
        "error_description": "Method is not allowed for batch usage",
    }
    assert errors["xml"]["error"] == "ERROR_METHOD_NOT_FOUND"
    assert errors["core"] == {"error": "ERROR_CORE", "error_description": "Unknown TYPE"}
    assert list(result["result_time"]) == ["ok"]  # failed sub-calls have no timing


def test_halt_stops_at_first_failure(client):
    cmd = {"a": "test.echo?x=1", "b": "test.fail", "c": "test.echo?x=3"}
    halted = batch_result(client.post("/rest/batch", json={"auth": "tok", "halt": 1, "cmd": cmd}))
    assert list(halted["result"]) == ["a"] and list(halted["result_error"]) == ["b"]
    for halt in ("1", True, "Y"):
        again = batch_result(client.post("/rest/batch", json={"auth": "tok", "halt": halt, "cmd": cmd}))
        assert "c" not in again["result"]
    going = batch_result(client.post("/rest/batch", json={"auth": "tok", "HALT": "0", "CMD": cmd}))
    assert list(going["result"]) == ["a", "c"]


def test_array_cmd_gives_arrays_and_php_shapes(client):
    ok = batch_result(
        client.post("/rest/batch", json={"auth": "tok", "cmd": ["test.echo?i=0", "test.echo?i=1"]})
    )
    assert isinstance(ok["result"], list) and [r["params"]["i"] for r in ok["result"]] == ["0", "1"]
    assert isinstance(ok["result_time"], list) and len(ok["result_time"]) == 2
    assert ok["result_error"] == [] and ok["result_total"] == [] and ok["result_next"] == []
    gap = batch_result(
        client.post(
            "/rest/batch", json={"auth": "tok", "cmd": ["test.echo?i=0", "test.fail", "test.echo?i=2"]}
        )
    )
    assert set(gap["result"]) == {"0", "2"}  # keys 0, 2: PHP renders an object
    assert set(gap["result_error"]) == {"1"}
    urlencoded = batch_result(
        client.post("/rest/batch", content=b"auth=tok&cmd[]=test.echo%3Fi%3D0&cmd[]=test.echo%3Fi%3D1")
    )
    assert isinstance(urlencoded["result"], list) and len(urlencoded["result"]) == 2


def test_empty_or_missing_cmd(client):
    for payload in ({"auth": "tok"}, {"auth": "tok", "cmd": {}}, {"auth": "tok", "cmd": "junk"}):
        result = batch_result(client.post("/rest/batch", json=payload))
        assert all(member == [] for member in result.values())


def test_length_limit(client):
    fifty = {f"k{i}": "test.echo" for i in range(50)}
    assert len(batch_result(client.post("/rest/batch", json={"auth": "tok", "cmd": fifty}))["result"]) == 50
    fifty["k50"] = "test.echo"
    response = client.post("/rest/batch", json={"auth": "tok", "cmd": fifty})
    assert response.status_code == 400
    assert response.json() == {
        "error": "ERROR_BATCH_LENGTH_EXCEEDED",
        "error_description": "Max batch length exceeded",
    }


def test_sub_call_auth_is_inherited_or_its_own(client):
    result = batch_result(
        client.post(
            "/rest/1/hook/batch",
            json={
                "cmd": {"inherit": "test.echo", "own": "test.echo?auth=tok&x=1", "bad": "test.echo?auth=nope"}
            },
        )
    )
    assert result["result"]["inherit"]["who"] == "webhook"
    assert result["result"]["own"] == {"params": {"x": "1"}, "who": "app", "in_batch": True}
    assert result["result_error"]["bad"]["error"] == "invalid_token"


def test_batch_needs_auth(client):
    response = client.post("/rest/batch", json={"cmd": {"a": "test.echo"}})
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"


def test_batch_counts_once_in_the_bucket(tmp_path):
    client, _ = build(tmp_path, limits=True)
    cmd = {f"k{i}": "test.echo" for i in range(50)}
    assert client.post("/rest/batch", json={"auth": "tok", "cmd": cmd}).status_code == 200
    statuses = [client.post("/rest/test.echo", json={"auth": "tok"}).status_code for _ in range(50)]
    assert statuses == [200] * 49 + [503]


def test_operating_time_comes_from_sub_calls_only(tmp_path):
    client, _ = build(tmp_path)
    response = client.post("/rest/batch", json={"auth": "tok", "cmd": ["test.heavy", "test.heavy"]})
    body = response.json()
    assert body["time"]["operating"] == 0.0  # the outer call adds nothing
    assert body["result"]["result_time"][1]["operating"] == 20.0
    direct = client.post("/rest/test.heavy", json={"auth": "tok"}).json()
    assert direct["time"]["operating"] == 30.0
