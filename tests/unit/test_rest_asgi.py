"""The /rest routes run RestEndpoint as a plain ASGI app (no Response object, no request wrappers). What
goes on the wire must be byte for byte what ``RestEndpoint.handle`` answers through Starlette."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from conftest import Portal
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from callcard.rest.endpoint import RestEndpoint

VERBS = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]


def cases(portal: Portal) -> list[tuple[str, str, dict[str, Any]]]:
    token = portal.admin.access_token
    hook = portal.admin_hook
    return [
        ("POST", "/rest/user.current", {"json": {"auth": token}}),
        ("POST", "/rest/user.current.json", {"json": {"auth": token}, "headers": {"Origin": "https://a.test"}}),
        ("GET", f"/rest/profile?auth={token}", {}),
        ("POST", f"/rest/{hook.user_id}/{hook.code}/user.current", {"data": {"x": "1"}}),
        ("POST", "/rest/no.such.method", {"json": {"auth": token}}),
        ("POST", "/rest/user.current", {"content": b"{nope", "headers": {"Content-Type": "application/json"}}),
        ("POST", "/rest/user.current", {"json": {"auth": "wrong"}}),
        ("PUT", "/rest/server.time", {"json": {"auth": token}}),
        ("OPTIONS", "/rest/user.current", {"headers": {"Origin": "https://a.test",
                                                      "Access-Control-Request-Headers": "X-Thing"}}),
    ]


def rest_route(portal: Portal) -> Any:
    return next(r for r in portal.client.app.routes if getattr(r, "name", "") == "rest")  # type: ignore[attr-defined]


def test_the_routes_answer_exactly_as_handle(portal: Portal) -> None:
    endpoint = rest_route(portal).app
    assert isinstance(endpoint, RestEndpoint)
    via_handle = TestClient(Starlette(routes=[Route("/rest/{rest_path:path}", endpoint.handle, methods=VERBS)]))
    for method, url, options in cases(portal):
        fast = portal.client.request(method, url, **options)
        slow = via_handle.request(method, url, **options)
        assert (fast.status_code, fast.headers.raw, fast.content) == (
            slow.status_code, slow.headers.raw, slow.content), (method, url)
        assert fast.headers.get("content-type", "").startswith("application/json") or method == "OPTIONS"


def test_a_disconnect_before_the_body_is_a_logged_500_and_no_hang(portal: Portal) -> None:
    route = rest_route(portal)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/rest/user.current", "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "path_params": {"rest_path": "user.current"},
             "client": ("127.0.0.1", 1)}
    asyncio.run(route.app(scope, receive, send))
    assert sent[0]["status"] == 500
    assert b"INTERNAL_SERVER_ERROR" in sent[1]["body"]


@pytest.mark.parametrize("body", [b'{"a":1}', b""])
def test_a_body_in_several_messages_is_read_whole(portal: Portal, body: bytes) -> None:
    route = rest_route(portal)
    token = portal.admin.access_token.encode()
    payload = b'{"auth":"' + token + b'"' + (b',"x":' + body if body else b"") + b"}"
    parts = [payload[:5], payload[5:9], payload[9:]]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        chunk = parts.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(parts)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/rest/profile", "query_string": b"",
             "headers": [(b"content-type", b"application/json")], "path_params": {"rest_path": "profile"},
             "client": ("127.0.0.1", 1)}
    asyncio.run(route.app(scope, receive, send))
    assert sent[0]["status"] == 200, sent


def real_app(tmp_path: Any, name: str, *, shortcut: bool) -> tuple[TestClient, str]:
    """A complete callcard (create_app) and an access token; without ``shortcut`` REST goes through the
    router, as before RestShortcut."""
    from callcard.app import create_app
    from callcard.clock import FakeClock, SequentialIds
    from callcard.settings import Settings

    app = create_app(Settings.for_tests(tmp_path / name), clock=FakeClock(), ids=SequentialIds())
    if not shortcut:
        app.user_middleware.clear()
    directory = app.state.services.directory
    installed = directory.apps.create_app("A", ["telephony", "user"])
    return TestClient(app), directory.tokens.issue_tokens(installed.id, 1).access_token


def test_the_rest_shortcut_answers_as_the_router_does(tmp_path: Any) -> None:
    fast, token = real_app(tmp_path, "fast", shortcut=True)
    slow, same_token = real_app(tmp_path, "slow", shortcut=False)
    assert token == same_token
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/rest/user.current", {"json": {"auth": token}}),
        ("GET", f"/rest/profile.json?auth={token}", {}),
        ("POST", "/rest//user.current/", {"json": {"auth": token}}),
        ("POST", "/rest", {"json": {"auth": token}}),  # the root route: not the shortcut's
        ("POST", "/rest/upload/nope", {"files": {"file": ("a.mp3", b"x")}}),  # the upload route
        ("POST", "/rest/upload/a/b", {"json": {"auth": token}}),  # not an upload: the catch-all
        ("TRACE", "/rest/user.current", {}),  # 405 from the router
        ("HEAD", f"/rest/profile?auth={token}", {}),
        ("OPTIONS", "/rest/user.current", {"headers": {"Origin": "https://a.test"}}),
        ("POST", "/rest/telephony.externalCall.register",
         {"json": {"auth": token, "USER_ID": 1, "PHONE_NUMBER": "+4930111", "TYPE": 2, "SHOW": 0}}),
    ]
    with fast, slow:
        for method, url, options in requests:
            a = fast.request(method, url, **options)
            b = slow.request(method, url, **options)
            assert (a.status_code, a.headers.raw, a.content) == (b.status_code, b.headers.raw, b.content), url
