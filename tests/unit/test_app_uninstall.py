"""Uninstalling an app: ONAPPUNINSTALL through the outbox, then its placements, event.bind handlers,
placement.bindEvent bindings and OAuth tokens go (rest-api.md §9.7, §9.13; control DELETE /_callcard/apps/{id}).

The full app runs in process (TestClient, FakeClock, SequentialIds) with its delivery worker; the
handlers are a loopback HTTP server that records what it is sent, as test_delivery_worker.py does.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pytest
from starlette.testclient import TestClient

from callcard.app import build_services, create_app
from callcard.clock import FakeClock, SequentialIds
from callcard.domain.apps import APP_UNINSTALL, AppUninstaller
from callcard.domain.events import Event
from callcard.errors import BitrixError
from callcard.services import Services
from callcard.settings import Settings

SCOPES = ["telephony", "placement", "crm", "user"]
INVALID_TOKEN = (401, "invalid_token")


class Recorder:
    """A loopback handler that records every POST (path and body) and answers ``status``."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                recorder.requests.append({
                    "path": self.path,
                    "content_type": str(self.headers.get("Content-Type")),
                    "body": self.rfile.read(length).decode("ascii"),
                })
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


@pytest.fixture
def cc(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings.for_tests(tmp_path / "data"), clock=FakeClock(), ids=SequentialIds())
    with TestClient(app) as client:
        services: Services = app.state.services
        client.headers["Authorization"] = f"Bearer {services.control_token}"
        client.services = services  # type: ignore[attr-defined]
        yield client


def services_of(cc: TestClient) -> Services:
    return cc.services  # type: ignore[attr-defined,no-any-return]


def install(cc: TestClient, name: str) -> dict[str, Any]:
    response = cc.post("/_callcard/apps", json={"name": name, "scopes": SCOPES})
    assert response.status_code == 200, response.text
    return dict(response.json())


def rest(cc: TestClient, method: str, creds: dict[str, Any], **params: Any) -> tuple[int, Any]:
    response = cc.post(f"/rest/{method}", json={"auth": creds["access_token"], **params})
    body = response.json()
    return response.status_code, body.get("result", body.get("error"))


def ok(cc: TestClient, method: str, creds: dict[str, Any], **params: Any) -> Any:
    status, result = rest(cc, method, creds, **params)
    assert status == 200, (method, result)
    return result


def register(cc: TestClient, creds: dict[str, Any], recorder: Recorder, tag: str) -> None:
    """What a telephony app registers while it is installed: a background worker, two event.bind
    handlers (one for ONAPPUNINSTALL), a placement.bindEvent binding and an external line."""
    ok(cc, "placement.bind", creds, PLACEMENT="PAGE_BACKGROUND_WORKER", HANDLER=f"https://{tag}.example.com/bg",
       OPTIONS={"errorHandlerUrl": f"https://{tag}.example.com/err"})
    ok(cc, "event.bind", creds, event="ONEXTERNALCALLSTART", handler=f"https://{tag}.example.com/call")
    ok(cc, "event.bind", creds, event="onAppUninstall", handler=recorder.url(f"/{tag}/uninstall"))
    ok(cc, "placement.bindEvent", creds, PLACEMENT="BackgroundCallCard::muteButtonClick",
       HANDLER=recorder.url(f"/{tag}/mute"))
    ok(cc, "telephony.externalLine.add", creds, NUMBER="100", NAME=f"{tag} line")


def token_rows(services: Services, app_id: int) -> int:
    return sum(services.store.count(t, {"app_id": app_id}) for t in ("access_tokens", "refresh_tokens"))


def uninstall_rows(services: Services) -> list[dict[str, Any]]:
    return [r for r in services.outbox.list() if r["kind"] == APP_UNINSTALL]


def settled(services: Services, outbox_id: int, timeout: float = 10.0) -> dict[str, Any]:
    """The outbox row once the worker has delivered it or recorded it as failed."""
    deadline = time.monotonic() + timeout
    while True:
        row = services.outbox.get(outbox_id)
        assert row is not None
        if row["status"] != "pending" or time.monotonic() > deadline:
            return dict(row)
        time.sleep(0.02)


def expected_body(services: Services, creds: dict[str, Any], handler_id: int, clean: str) -> str:
    def enc(value: str) -> str:  # one value, form-encoded
        return quote_plus(value, safe="")

    base = services.settings.public_url
    return (
        f"event=ONAPPUNINSTALL&event_handler_id={handler_id}"
        f"&data[LANGUAGE_ID]=en&data[CLEAN]={clean}&ts={int(services.clock.now())}"
        f"&auth[domain]={enc(services.settings.domain)}&auth[server_endpoint]={enc(base + '/oauth/')}"
        f"&auth[client_endpoint]={enc(base + '/rest/')}&auth[member_id]={services.directory.member_id}"
        f"&auth[application_token]={creds['application_token']}"
    )


def boot_of(page_html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="callcard-boot">(.*?)</script>', page_html, re.S)
    assert match, "the portal page embeds its boot JSON"
    return dict(json.loads(match.group(1)))


def background_app_ids(cc: TestClient) -> list[int]:
    link = services_of(cc).directory.sessions.create_login_link(1)  # the admin: sees installing apps too
    assert cc.get(f"/login/{link}", follow_redirects=False).status_code == 303
    page = cc.get("/")
    assert page.status_code == 200
    return [d["appId"] for d in boot_of(page.text)["background"]]


def handler_id(services: Services, app_id: int) -> int:
    (row,) = services.event_handlers.handlers_for(APP_UNINSTALL, app_id)
    return int(row["id"])


# -- the control API, end to end ------------------------------------------------------------------------------


def test_uninstall_sends_onappuninstall_and_removes_everything_of_that_app_only(
    cc: TestClient, recorder: Recorder
) -> None:
    services = services_of(cc)
    leaving, staying = install(cc, "leaving"), install(cc, "staying")
    register(cc, leaving, recorder, "leaving")
    register(cc, staying, recorder, "staying")
    assert background_app_ids(cc) == [leaving["app_id"], staying["app_id"]]  # rendering mints tokens too
    hid, tokens = handler_id(services, leaving["app_id"]), token_rows(services, leaving["app_id"])
    assert tokens >= 4

    response = cc.delete(f"/_callcard/apps/{leaving['app_id']}", params={"clean": 1})
    assert response.status_code == 200, response.text
    assert response.json() == {
        "app_id": leaving["app_id"], "clean": True, "notified": 1,
        "removed": {"placements": 1, "event_handlers": 2, "card_handlers": 1, "lines": 1, "tokens": tokens},
    }

    # ONAPPUNINSTALL, through the outbox, to the one handler the app bound for it, with the exact body
    (row,) = uninstall_rows(services)
    assert (row["url"], row["app_id"]) == (recorder.url("/leaving/uninstall"), leaving["app_id"])
    assert settled(services, row["id"])["status"] == "delivered"
    assert recorder.requests == [{
        "path": "/leaving/uninstall",
        "content_type": "application/x-www-form-urlencoded",
        "body": expected_body(services, leaving, hid, "1"),
    }]
    assert "access_token" not in row["body"] and "refresh_token" not in row["body"]

    # its old tokens no longer work; the other app's do, and its registrations are all there
    for method in ("placement.get", "event.get", "app.info"):
        assert rest(cc, method, leaving) == INVALID_TOKEN, method
    assert [r["handler"] for r in ok(cc, "placement.get", staying)] == ["https://staying.example.com/bg"]
    assert [r["event"] for r in ok(cc, "event.get", staying)] == ["ONEXTERNALCALLSTART", "ONAPPUNINSTALL"]
    assert [line["NAME"] for line in ok(cc, "telephony.externalLine.get", staying)] == ["staying line"]
    assert services.store.count("external_lines", {"app_id": leaving["app_id"]}) == 0
    refreshed = cc.post("/oauth/token/", params={
        "grant_type": "refresh_token", "client_id": leaving["client_id"],
        "client_secret": leaving["client_secret"], "refresh_token": leaving["refresh_token"],
    })
    assert (refreshed.status_code, refreshed.json()["error"]) == (400, "invalid_grant")

    # its background worker is not rendered on a new page (not even for the admin)
    assert background_app_ids(cc) == [staying["app_id"]]

    # a card event reaches only the other app's placement.bindEvent binding
    call = cc.post("/_callcard/calls", json={"direction": "incoming", "phone_number": "+4930111",
                                             "user_id": 2, "app_id": staying["app_id"]})
    assert call.status_code == 200, call.text
    cc.post("/_callcard/cards/2/state", json={"uiState": "connected"})
    assert cc.post("/_callcard/cards/2/press", json={"button": "mute"}).json()["muted"] is True
    mutes = [r["url"] for r in services.outbox.list() if r["kind"] == "BackgroundCallCard::muteButtonClick"]
    assert mutes == [recorder.url("/staying/mute")]

    # the app row stays, not installed; the timeline notes the uninstall
    apps = {a["id"]: a for a in cc.get("/_callcard/apps").json()}
    assert (apps[leaving["app_id"]]["installed"], apps[leaving["app_id"]]["uninstalled"]) == (False, True)
    assert (apps[staying["app_id"]]["installed"], apps[staying["app_id"]]["uninstalled"]) == (True, False)
    notes = cc.get("/_callcard/timeline", params={"kind": "note", "app_id": leaving["app_id"]}).json()["entries"]
    assert [n["payload"] for n in notes if "uninstalled" in n["summary"]] == [
        {"removed": response.json()["removed"], "clean": True, "notified": 1}
    ]


def test_clean_zero_and_a_handler_that_is_down_is_recorded_as_failed(cc: TestClient, recorder: Recorder) -> None:
    services = services_of(cc)
    app = install(cc, "app")
    ok(cc, "event.bind", app, event="ONAPPUNINSTALL", handler=recorder.url("/up"))
    ok(cc, "event.bind", app, event="ONAPPUNINSTALL", handler="http://127.0.0.1:9/down")  # nothing listens
    up, down = (int(r["id"]) for r in services.event_handlers.handlers_for(APP_UNINSTALL, app["app_id"]))
    services.clock.advance(42)  # type: ignore[attr-defined]

    response = cc.delete(f"/_callcard/apps/{app['app_id']}")  # no clean: CLEAN=0
    assert response.status_code == 200
    assert (response.json()["clean"], response.json()["notified"]) == (False, 2)
    rows = {r["url"]: r for r in uninstall_rows(services)}
    assert settled(services, rows[recorder.url("/up")]["id"])["status"] == "delivered"
    assert settled(services, rows["http://127.0.0.1:9/down"]["id"])["status"] == "failed"
    assert [r["body"] for r in recorder.requests] == [expected_body(services, app, up, "0")]
    assert rows["http://127.0.0.1:9/down"]["body"] == expected_body(services, app, down, "0")
    assert services.event_handlers.handlers_for(APP_UNINSTALL, app["app_id"]) == []


def test_unknown_app_is_404_and_a_second_uninstall_removes_and_sends_nothing(
    cc: TestClient, recorder: Recorder
) -> None:
    services = services_of(cc)
    missing = cc.delete("/_callcard/apps/999", params={"clean": 1})
    assert (missing.status_code, missing.json()) == (
        404, {"error": "ERROR_NOT_FOUND", "error_description": "App 999 not found"}
    )
    assert cc.delete("/_callcard/apps/999", headers={"Authorization": ""}).status_code == 401
    app = install(cc, "twice")
    assert cc.delete(f"/_callcard/apps/{app['app_id']}", params={"clean": "maybe"}).status_code == 400
    assert services.directory.apps.get_app(app["app_id"]).installed  # type: ignore[union-attr]
    register(cc, app, recorder, "twice")

    first = cc.delete(f"/_callcard/apps/{app['app_id']}", params={"clean": 1}).json()
    assert first["notified"] == 1 and all(first["removed"].values())
    uninstalled_at = services.store.get("apps", app["app_id"])["uninstalled_at"]  # type: ignore[index]
    services.clock.advance(5)  # type: ignore[attr-defined]
    second = cc.delete(f"/_callcard/apps/{app['app_id']}", params={"clean": 1})
    assert second.status_code == 200
    assert second.json() == {
        "app_id": app["app_id"], "clean": True, "notified": 0,
        "removed": {"placements": 0, "event_handlers": 0, "card_handlers": 0, "lines": 0, "tokens": 0},
    }
    assert len(uninstall_rows(services)) == 1
    assert services.store.get("apps", app["app_id"])["uninstalled_at"] == uninstalled_at  # type: ignore[index]


# -- the domain: order, one transaction, reinstall ----------------------------------------------------------


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return build_services(Settings.for_tests(tmp_path), clock=FakeClock(), ids=SequentialIds())


def uninstaller(services: Services, **parts: Any) -> AppUninstaller:
    chosen: dict[str, Any] = {
        "placements": services.placements, "event_handlers": services.event_handlers,
        "card_handlers": services.card_handlers, "lines": services.calls.lines,
        "tokens": services.directory.tokens, **parts,
    }
    return AppUninstaller(services.store, services.clock, services.settings, services.directory.apps, **chosen)


def bound_app(services: Services, *, installed: bool = True) -> int:
    apps = services.directory.apps
    app = apps.create_app("A", SCOPES, "https://a.example.com/")
    if installed:
        app = apps.mark_installed(app.id)
    services.event_handlers.bind(app, True, {"event": "ONAPPUNINSTALL", "handler": "https://a.example.com/bye"})
    services.card_handlers.bind(app.id, None, 1, "CallCard::BeforeClose", "https://a.example.com/close")
    services.directory.tokens.issue_tokens(app.id, 1)
    return app.id


def test_events_are_accepted_before_the_handlers_go(services: Services) -> None:
    app_id = bound_app(services)
    seen: list[tuple[list[Event], int]] = []

    def accept(events: list[Event]) -> None:
        # still bound when the outbox takes the events
        seen.append((events, len(services.event_handlers.handlers_for(APP_UNINSTALL, app_id))))

    done = uninstaller(services).uninstall(app_id, True, accept)
    ((events, bound_then),) = seen
    assert bound_then == 1 and list(done.events) == events
    (event,) = events
    assert (event.name, event.app_id) == ("ONAPPUNINSTALL", app_id)
    assert event.extra == {"handler_id": 1, "url": "https://a.example.com/bye",
                           "data": {"LANGUAGE_ID": "en", "CLEAN": 1}}
    assert done.removed == {"placements": 0, "event_handlers": 1, "card_handlers": 1, "lines": 0, "tokens": 2}
    assert (done.app.installed, done.app.uninstalled) == (False, True)
    assert services.directory.apps.app_info(done.app)["INSTALLED"] is False
    with pytest.raises(BitrixError) as exc:
        uninstaller(services).uninstall(999, False)
    assert exc.value.code == "ERROR_NOT_FOUND"


def test_a_failed_removal_undoes_the_queued_event_and_keeps_the_app(services: Services) -> None:
    app_id = bound_app(services)

    class Broken:
        def remove_app(self, app_id: int) -> int:
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        uninstaller(services, card_handlers=Broken()).uninstall(app_id, False, services.hub.publish)
    assert uninstall_rows(services) == []  # the outbox row was part of the same transaction
    app = services.directory.apps.get_app(app_id)
    assert app is not None and app.installed and not app.uninstalled
    assert len(services.event_handlers.handlers_for(APP_UNINSTALL, app_id)) == 1
    assert token_rows(services, app_id) == 2


def test_an_app_whose_install_never_finished_hears_nothing(services: Services) -> None:
    app_id = bound_app(services, installed=False)
    done = uninstaller(services).uninstall(app_id, True, services.hub.publish)
    assert done.events == () and uninstall_rows(services) == []
    assert done.removed["event_handlers"] == 1 and done.app.uninstalled


def test_tokens_minted_after_the_uninstall_are_refused_until_an_install_finishes_again(
    services: Services,
) -> None:
    app_id = bound_app(services)
    uninstaller(services).uninstall(app_id, False)
    tokens = services.directory.tokens
    late = tokens.issue_tokens(app_id, 1)  # e.g. refreshAuth from a portal page opened before
    for call in (lambda: tokens.token_grant(late.access_token), lambda: tokens.resolve_access_token(late.access_token)):
        with pytest.raises(BitrixError) as exc:
            call()
        assert exc.value.code == "invalid_token"
    app = services.directory.apps.get_app(app_id)
    assert app is not None
    with pytest.raises(BitrixError) as exc:
        tokens.refresh(app.client_id, app.client_secret, late.refresh_token)
    assert exc.value.code == "invalid_grant"

    # finishing an install again (setInstallFinish) reinstalls it, from nothing
    services.directory.apps.mark_installed(app_id)
    assert tokens.token_grant(late.access_token).app.uninstalled is False  # type: ignore[union-attr]
    assert services.event_handlers.handlers_for(APP_UNINSTALL, app_id) == []
    assert services.card_handlers.all() == []
