"""Outbound events from ``callcard serve`` to a real HTTP handler on loopback (rest-api.md §9.7, §9.8).

An app binds ONEXTERNALCALLSTART over REST (``event.bind``); a click-to-call is simulated through the
control API (``POST /_callcard/calls {"direction": "outgoing", …}``); the handler must receive the
documented form body. With the handler down, the ``once`` policy (the platform's) loses the event and the
``retry`` policy (``POST /_callcard/delivery-policy``) delivers it once the handler is back.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from .conftest import Served, free_port

pytestmark = pytest.mark.sdk

DATA_KEYS = {"PHONE_NUMBER", "PHONE_NUMBER_INTERNATIONAL", "EXTENSION", "USER_ID", "CALL_LIST_ID",
             "LINE_NUMBER", "IS_MOBILE", "CALL_ID", "CRM_ENTITY_TYPE", "CRM_ENTITY_ID"}
AUTH_KEYS = {"access_token", "expires_in", "scope", "domain", "server_endpoint", "status", "client_endpoint",
             "member_id", "refresh_token", "application_token"}


class Handler:
    """An app's event handler: a tiny HTTP server on 127.0.0.1 that records every POST."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events/"

    def start(self) -> Handler:
        received = self.received

        class _Request(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                received.append({"path": self.path, "content_type": self.headers.get("Content-Type"),
                                 "pairs": parse_qsl(body, keep_blank_values=True)})
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _Request)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def handler() -> Iterator[Handler]:
    h = Handler()
    yield h
    h.stop()


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _app_with_binding(served: Served, handler_url: str) -> dict[str, Any]:
    app = served.install_app(f"events {uuid.uuid4().hex[:6]}")
    bound = httpx.post(f"{served.url}/rest/event.bind", timeout=10, json={
        "auth": app["access_token"], "event": "onExternalCallStart", "handler": handler_url})
    assert bound.status_code == 200 and bound.json()["result"] is True, bound.text
    listed = httpx.post(f"{served.url}/rest/event.get", json={"auth": app["access_token"]}, timeout=10).json()
    assert {"event": "ONEXTERNALCALLSTART", "handler": handler_url} in [
        {"event": e["event"], "handler": e["handler"]} for e in listed["result"]]
    return app


def _click_to_call(served: Served, app: dict[str, Any], phone: str, user_id: int = 2) -> dict[str, Any]:
    reply = served.control.post("/calls", json={"direction": "outgoing", "phone_number": phone,
                                                "user_id": user_id, "app_id": app["app_id"]})
    assert reply.status_code == 200, reply.text
    result: dict[str, Any] = reply.json()
    return result


def _deliveries(served: Served, app: dict[str, Any]) -> list[dict[str, Any]]:
    rows = served.control.get("/deliveries").json()["deliveries"]
    return [r for r in rows if r["app_id"] == app["app_id"]]


@pytest.fixture
def retry_policy(served: Served) -> Iterator[None]:
    assert served.control.post("/delivery-policy", json={"policy": "retry"}).json()["policy"] == "retry"
    yield
    served.control.post("/delivery-policy", json={"policy": "once"})


def test_handler_receives_onexternalcallstart_with_the_documented_fields(served: Served,
                                                                          handler: Handler) -> None:
    handler.start()
    app = _app_with_binding(served, handler.url)
    started = time.time()
    call = _click_to_call(served, app, "+4930123456789")
    _wait(lambda: handler.received, 10, "ONEXTERNALCALLSTART at the handler")
    time.sleep(0.3)  # nothing else must follow
    assert len(handler.received) == 1
    got = handler.received[0]
    assert got["path"] == "/events/"
    assert got["content_type"].startswith("application/x-www-form-urlencoded")

    form = dict(got["pairs"])
    assert len(form) == len(got["pairs"]), "each key once"
    assert form["event"] == "ONEXTERNALCALLSTART"
    assert form["event_handler_id"].isdigit()
    assert abs(int(form["ts"]) - started) < 60
    data = {k[5:-1]: v for k, v in form.items() if k.startswith("data[")}
    auth = {k[5:-1]: v for k, v in form.items() if k.startswith("auth[")}
    assert set(data) == DATA_KEYS
    assert set(auth) == AUTH_KEYS
    assert set(form) == {"event", "event_handler_id", "ts"} | {f"data[{k}]" for k in DATA_KEYS} | {
        f"auth[{k}]" for k in AUTH_KEYS}

    assert data["PHONE_NUMBER"] == "+4930123456789"
    assert data["PHONE_NUMBER_INTERNATIONAL"] == "+4930123456789"
    assert data["USER_ID"] == "2" and data["IS_MOBILE"] == "0" and data["CALL_LIST_ID"] == "0"
    assert data["EXTENSION"] == "" and data["LINE_NUMBER"] == ""
    # The call is registered before the event is sent, and the event names it.
    assert data["CALL_ID"] == call["CALL_ID"] and data["CALL_ID"].startswith("externalCall.")
    assert data["CRM_ENTITY_TYPE"] == call["CRM_ENTITY_TYPE"]
    assert data["CRM_ENTITY_ID"] == str(call["CRM_ENTITY_ID"] or "")

    assert auth["application_token"] == app["application_token"]  # lets the app verify the sender
    assert auth["domain"] == app["domain"] and auth["member_id"] == app["member_id"]
    assert auth["client_endpoint"] == app["client_endpoint"]
    assert auth["server_endpoint"] == f"{served.url}/oauth/"
    assert auth["expires_in"] == "3600"
    assert set(auth["scope"].split(",")) == {"telephony", "placement", "crm", "user"}
    # The tokens are fresh and work: the app can finish the call with them.
    finished = httpx.post(f"{auth['client_endpoint']}telephony.externalCall.finish", timeout=10, json={
        "auth": auth["access_token"], "CALL_ID": data["CALL_ID"], "USER_ID": 2, "DURATION": 3})
    assert finished.status_code == 200 and finished.json()["result"]["CALL_ID"] == data["CALL_ID"]


def test_once_policy_loses_the_event_when_the_handler_is_down(served: Served) -> None:
    down = Handler()  # never started: connection refused
    app = _app_with_binding(served, down.url)
    _click_to_call(served, app, "+4930200000001")
    row = _wait(lambda: [r for r in _deliveries(served, app) if r["status"] != "pending"], 10,
                "the single attempt")[0]
    assert row["status"] == "failed" and row["policy"] == "once"
    assert len(row["attempts_made"]) == 1 and row["attempts_made"][0]["status_code"] is None


def test_retry_policy_delivers_once_the_handler_comes_back(served: Served, retry_policy: None) -> None:
    handler = Handler()  # its port is chosen, nothing listens yet
    app = _app_with_binding(served, handler.url)
    call = _click_to_call(served, app, "+4930200000002")

    def failed_twice() -> bool:
        rows = _deliveries(served, app)
        return bool(rows) and len(rows[0]["attempts_made"]) >= 2

    _wait(failed_twice, 10, "two failed attempts")
    (row,) = _deliveries(served, app)
    assert row["status"] == "pending" and row["policy"] == "retry"
    assert all(a["status_code"] is None and a["error"] for a in row["attempts_made"])
    assert handler.received == []

    handler.start()  # the handler comes back on the same URL
    try:
        _wait(lambda: handler.received, 15, "the retried delivery")
        (row,) = _wait(lambda: [r for r in _deliveries(served, app) if r["status"] == "delivered"], 5,
                       "the row to settle")
        time.sleep(0.3)
        assert len(handler.received) == 1, "delivered exactly once"
        form = dict(handler.received[0]["pairs"])
        assert form["event"] == "ONEXTERNALCALLSTART"
        assert form["data[CALL_ID]"] == call["CALL_ID"]
        assert form["data[PHONE_NUMBER]"] == "+4930200000002"
        assert row["attempts_made"][-1]["status_code"] == 200
        assert len(row["attempts_made"]) >= 3
    finally:
        handler.stop()
