"""The control API (/_callcard/…) over a complete create_app, in process."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from callcard.app import create_app
from callcard.settings import Settings


@pytest.fixture
def cc(tmp_path):
    app = create_app(Settings.for_tests(tmp_path / "data"))
    with TestClient(app) as client:
        services = app.state.services
        client.headers["Authorization"] = f"Bearer {services.control_token}"
        client.services = services
        yield client


def test_token_file_is_private_and_required(cc, tmp_path):
    path = tmp_path / "data" / "control-token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == cc.services.control_token
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": ""}):
        r = cc.get("/_callcard/state", headers=headers)
        assert r.status_code == 401
        assert r.json()["error"] == "NO_AUTH_FOUND"
    assert cc.get("/_callcard/health", headers={"Authorization": ""}).json()["ok"] is True


def test_app_create_shape_and_tokens_work(cc):
    r = cc.post("/_callcard/apps", json={"name": "softphone", "scopes": ["telephony", "user"]})
    assert r.status_code == 200
    data = r.json()
    for key in ("client_id", "client_secret", "access_token", "refresh_token", "expires_in", "member_id",
                "domain", "client_endpoint", "application_token"):
        assert data[key], key
    assert data["expires_in"] == 3600
    assert data["client_endpoint"] == "http://127.0.0.1:8765/rest/"
    me = cc.post("/rest/user.current", json={"auth": data["access_token"]}).json()
    assert me["result"]["ID"] == "1"
    # the app's scopes are enforced
    r = cc.post("/rest/crm.lead.list", json={"auth": data["access_token"]})
    assert (r.status_code, r.json()["error"]) == (403, "insufficient_scope")


def test_bad_bodies_get_an_envelope_not_a_500(cc):
    r = cc.post("/_callcard/apps", content=b"{nope", headers={"content-type": "application/json"})
    assert (r.status_code, r.json()["error"]) == (400, "INVALID_REQUEST")
    r = cc.post("/_callcard/apps", json={})
    assert (r.status_code, r.json()["error"]) == (400, "INVALID_REQUEST")
    r = cc.post("/_callcard/webhooks", json={"user_id": 999})
    assert r.status_code == 400 and r.json()["error"] == "ERROR_NOT_FOUND"


def test_webhook_and_login_url(cc):
    url = cc.post("/_callcard/webhooks", json={"user_id": 2, "scopes": ["user"]}).json()["url"]
    assert url.startswith("http://127.0.0.1:8765/rest/2/") and url.endswith("/")
    path = url.removeprefix("http://127.0.0.1:8765")
    assert cc.post(path + "user.current").json()["result"]["ID"] == "2"

    login = cc.post("/_callcard/login-url", json={"user_id": 2}).json()["url"]
    assert "/login/" in login


def test_tokens_expire_now(cc):
    data = cc.post("/_callcard/apps", json={"name": "x"}).json()
    assert cc.post("/_callcard/tokens/expire", json={}).json()["expired"] >= 1
    r = cc.post("/rest/user.current", json={"auth": data["access_token"]})
    assert (r.status_code, r.json()["error"]) == (401, "expired_token")


def test_simulated_incoming_call_opens_card_and_press_and_state(cc):
    cc.post("/_callcard/apps", json={"name": "pbx", "scopes": ["telephony", "placement", "user", "crm"]})
    result = cc.post("/_callcard/calls", json={"direction": "incoming", "phone_number": "+4930111", "user_id": 2})
    assert result.status_code == 200, result.text
    assert result.json()["CALL_ID"].startswith("externalCall.")
    view = cc.get("/_callcard/cards/2").json()
    assert view["phoneNumber"] == "+4930111" and view["uiState"] == "externalCard"

    assert cc.post("/_callcard/cards/2/state", json={"uiState": "connected"}).json()["uiState"] == "connected"
    pressed = cc.post("/_callcard/cards/2/press", json={"button": "mute"}).json()
    assert pressed["muted"] is True
    r = cc.post("/_callcard/cards/2/press", json={"button": "answer"})  # not shown in connected
    assert r.status_code == 400
    closed = cc.post("/_callcard/cards/2/press", json={"button": "hangup"}).json()
    assert closed["uiState"] == "connected"  # hangup only reports to apps on external cards

    kinds = {e["kind"] for e in cc.get("/_callcard/timeline").json()["entries"]}
    assert {"card", "event"} <= kinds
    names = [e["summary"] for e in cc.get("/_callcard/timeline", params={"kind": "event"}).json()["entries"]]
    assert "BackgroundCallCard::muteButtonClick" in names


def test_outgoing_without_bound_handler_registers_and_shows(cc):
    cc.post("/_callcard/apps", json={"name": "pbx"})
    r = cc.post("/_callcard/calls", json={"direction": "outgoing", "phone_number": "+4930222", "user_id": 1})
    assert r.status_code == 200
    assert cc.get("/_callcard/cards/1").json()["direction"] == "outgoing"
    assert cc.post("/_callcard/calls", json={"direction": "sideways"}).status_code == 400


def test_reset_forgets_calls_but_keeps_apps(cc):
    cc.post("/_callcard/apps", json={"name": "pbx"})
    cc.post("/_callcard/calls", json={"direction": "incoming", "phone_number": "+4930333", "user_id": 1})
    assert cc.get("/_callcard/cards/1").json() is not None
    assert cc.post("/_callcard/reset").json() == {"reset": True}
    assert cc.get("/_callcard/cards/1").json() is None
    assert cc.get("/_callcard/timeline").json()["entries"] == []
    state = cc.get("/_callcard/state").json()
    assert state["calls"] == [] and len(state["apps"]) == 1
    assert "access_tokens" not in state


def test_snapshot_round_trip_and_failed_export(cc, tmp_path):
    cc.post("/_callcard/apps", json={"name": "pbx"})
    cc.post("/_callcard/calls", json={"direction": "incoming", "phone_number": "+4930444", "user_id": 1})
    snap = tmp_path / "snap.sqlite3"
    exported = cc.post("/_callcard/snapshot/export", json={"path": str(snap)}).json()
    assert exported["bytes"] > 0
    before = cc.get("/_callcard/state").json()

    cc.post("/_callcard/reset")
    assert cc.get("/_callcard/state").json()["calls"] == []
    assert cc.post("/_callcard/snapshot/import", json={"path": str(snap)}).status_code == 200
    assert cc.get("/_callcard/state").json() == before

    # an export that fails (target is a directory) reports an error and keeps the previous snapshot
    blocked = tmp_path / "dir.sqlite3"
    blocked.mkdir()
    r = cc.post("/_callcard/snapshot/export", json={"path": str(blocked)})
    assert r.status_code >= 400 and "error" in r.json()
    assert snap.read_bytes().startswith(b"SQLite format 3")
    missing = cc.post("/_callcard/snapshot/import", json={"path": str(tmp_path / "none.sqlite3")})
    assert missing.status_code == 404


def test_delivery_policy_and_faults(cc):
    assert cc.post("/_callcard/delivery-policy", json={"policy": "retry"}).json()["policy"] == "retry"
    assert cc.post("/_callcard/delivery-policy", json={"policy": "sometimes"}).status_code == 400
    faults = cc.post("/_callcard/faults", json={"rest_latency_ms": 5, "failing_handlers": ["http://x/"]}).json()
    assert faults["rest_latency_ms"] == 5 and faults["failing_handlers"] == ["http://x/"]
    assert cc.services.worker.faults.fail_urls == {"http://x/"}
    assert cc.post("/_callcard/faults", json={"nonsense": 1}).status_code == 400
    assert cc.post("/_callcard/faults", json={"rest_latency_ms": -1}).status_code == 400
    cc.post("/_callcard/reset")
    assert cc.get("/_callcard/faults").json()["failing_handlers"] == []


def test_openapi_document_lists_methods(cc):
    doc = cc.get("/_callcard/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    paths = " ".join(doc["paths"]).lower()
    assert "telephony.externalcall.register" in paths and "placement.bind" in paths


def test_conformance_json(cc):
    data = cc.post("/_callcard/apps", json={"name": "sloppy", "scopes": ["telephony"]}).json()
    cc.post("/rest/telephony.externalCall.finish", json={"auth": data["access_token"], "CALL_ID": "nope", "USER_ID": 1})
    report = cc.get("/_callcard/conformance").json()
    assert report["findings"], report
    assert all({"why", "fix", "severity"} <= set(f) for f in report["findings"])


def test_data_dir_created(tmp_path):
    create_app(Settings.for_tests(tmp_path / "new" / "dir"))
    assert Path(tmp_path / "new" / "dir" / "callcard.sqlite3").exists()


def test_rest_latency_fault_delays_rest_calls(cc):
    import time

    data = cc.post("/_callcard/apps", json={"name": "slow"}).json()
    cc.post("/_callcard/faults", json={"rest_latency_ms": 300})
    started = time.monotonic()
    assert cc.post("/rest/user.current", json={"auth": data["access_token"]}).status_code == 200
    assert time.monotonic() - started >= 0.3
    cc.post("/_callcard/faults", json={"rest_latency_ms": 0})


def test_frame_load_delay_fault_reaches_background_frame_descriptors(cc):
    import json as _json
    import re

    services = cc.services
    app = services.directory.apps.create_app("bg", ["telephony", "placement"], "http://localhost:9999/")
    services.directory.apps.mark_installed(app.id)
    services.placements.bind(app.as_row(), True, {
        "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": "http://localhost:9999/",
        "OPTIONS": {"errorHandlerUrl": "http://localhost:9999/err"},
    })
    cc.post("/_callcard/faults", json={"frame_load_delay_ms": 6000})
    login = cc.post("/_callcard/login-url", json={"user_id": 1}).json()["url"]
    page = cc.get(login.removeprefix("http://127.0.0.1:8765")).text
    boot = _json.loads(re.search(r'id="callcard-boot">(.*?)</script>', page, re.S).group(1))
    delays = [f["submitDelayMs"] for f in boot["background"]]
    assert delays == [6000]


def test_portal_simulate_needs_a_session_and_json(cc):
    cc.post("/_callcard/apps", json={"name": "pbx"})
    anonymous = TestClient(cc.app)
    assert anonymous.post("/portal/simulate", json={"direction": "incoming"}).status_code == 401
    login = cc.post("/_callcard/login-url", json={"user_id": 3}).json()["url"]
    browser = TestClient(cc.app)
    browser.get(login.removeprefix("http://127.0.0.1:8765"))
    form = browser.post("/portal/simulate", data={"direction": "incoming"})
    assert form.status_code == 400  # a cross-site form post cannot ring anyone
    r = browser.post("/portal/simulate", json={"direction": "incoming", "phone": "+4930777"})
    assert r.status_code == 200, r.text
    assert cc.get("/_callcard/cards/3").json()["phoneNumber"] == "+4930777"


@pytest.fixture
def strict_cc(tmp_path):
    """A server that reports unfinished calls at once, with one app and its token."""
    app = create_app(Settings.for_tests(tmp_path / "data", unfinished_call_grace_s=0))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {app.state.services.control_token}"
        client.services = app.state.services
        client.creds = client.post("/_callcard/apps", json={"name": "sloppy"}).json()
        yield client


def _kinds(client):
    return [f["kind"] for f in client.get("/_callcard/conformance").json()["findings"]]


def test_register_without_finish_is_reported_until_finished(strict_cc):
    token = strict_cc.creds["access_token"]
    call = strict_cc.post("/rest/telephony.externalCall.register", json={
        "auth": token, "USER_ID": 1, "PHONE_NUMBER": "+4930999", "TYPE": 2}).json()["result"]
    assert "register_without_finish" not in _kinds(strict_cc)  # its card is open: the call is in progress
    strict_cc.post("/_callcard/cards/1/press", json={"button": "close"})
    assert "register_without_finish" in _kinds(strict_cc)
    strict_cc.post("/rest/telephony.externalCall.finish", json={"auth": token, "CALL_ID": call["CALL_ID"],
                                                                 "USER_ID": 1})
    assert "register_without_finish" not in _kinds(strict_cc)


def test_finish_for_unknown_call_and_rest_errors_are_reported(strict_cc):
    token = strict_cc.creds["access_token"]
    strict_cc.post("/rest/telephony.externalCall.finish", json={"auth": token, "CALL_ID": "externalCall.x.1",
                                                                 "USER_ID": 1})
    strict_cc.post("/rest/telephony.externalCall.register", json={"auth": token, "USER_ID": 1})
    kinds = _kinds(strict_cc)
    assert "finish_unknown_call" in kinds and "rest_error" in kinds


def test_rest_errors_are_reported_with_the_timeline_off(tmp_path):
    app = create_app(Settings.for_tests(tmp_path / "data", journal_size=0))
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {app.state.services.control_token}"
        token = client.post("/_callcard/apps", json={"name": "x"}).json()["access_token"]
        client.post("/rest/telephony.externalCall.register", json={"auth": token})
        assert [f["kind"] for f in client.get("/_callcard/conformance").json()["findings"]] == ["rest_error"]


def test_failing_and_slow_handlers_are_reported(strict_cc, monkeypatch):
    from callcard import observers

    observe = observers.delivery_observer(strict_cc.services)
    app_id = strict_cc.creds["app_id"]
    base = {"kind": "ONEXTERNALCALLSTART", "url": "http://localhost:1/h", "app_id": app_id, "attempt": 1}
    observe({**base, "status_code": None, "error": "ConnectError", "duration_ms": 3})
    observe({**base, "status_code": 500, "error": "", "duration_ms": 3})
    observe({**base, "status_code": 200, "error": "", "duration_ms": observers.SLOW_HANDLER_MS + 1})
    observe({**base, "status_code": 200, "error": "", "duration_ms": 5})
    findings = strict_cc.get("/_callcard/conformance").json()["findings"]
    assert [f["kind"] for f in findings] == ["handler_error", "handler_error", "slow_handler"]


def test_conformance_summary_counts_only_the_app_asked_for(strict_cc):
    other = strict_cc.post("/_callcard/apps", json={"name": "other"}).json()
    for creds in (strict_cc.creds, other, other):
        strict_cc.post("/rest/telephony.externalCall.register", json={"auth": creds["access_token"]})
    mine = strict_cc.get("/_callcard/conformance", params={"app_id": strict_cc.creds["app_id"]}).json()
    assert mine["summary"]["occurrences"] == 1 and mine["summary"]["by_app"] == {str(strict_cc.creds["app_id"]): 1}
    everyone = strict_cc.get("/_callcard/conformance").json()
    assert everyone["summary"]["occurrences"] == 3


def test_bindings_are_listed_and_removed_one_by_one(cc):
    # placement.bindEvent has no REST unbind: the platform's admin page removes bindings; here, the control API
    hook = cc.post("/_callcard/webhooks", json={"user_id": 1, "scopes": ["placement"]}).json()
    path = hook["url"].removeprefix("http://127.0.0.1:8765")
    for event in ("BackgroundCallCard::muteButtonClick", "CallCard::BeforeClose"):
        bound = cc.post(path + "placement.bindEvent",
                        json={"PLACEMENT": event, "HANDLER": "http://localhost:5001/h"})
        assert bound.json()["result"] is True, bound.text
    listed = cc.get("/_callcard/bindings").json()
    assert [(b["event"], b["handler"], b["webhook_id"]) for b in listed] == [
        ("BackgroundCallCard::muteButtonClick", "http://localhost:5001/h", hook["id"]),
        ("CallCard::BeforeClose", "http://localhost:5001/h", hook["id"]),
    ]
    mute = listed[0]["id"]
    assert cc.delete(f"/_callcard/bindings/{mute}").json() == {"removed": mute}
    assert [b["event"] for b in cc.get("/_callcard/bindings").json()] == ["CallCard::BeforeClose"]
    assert cc.services.card_handlers.handlers_for("BackgroundCallCard::muteButtonClick") == []
    gone = cc.delete(f"/_callcard/bindings/{mute}")
    assert gone.status_code == 404 and gone.json()["error"] == "ERROR_NOT_FOUND"
    assert cc.get("/_callcard/bindings", headers={"Authorization": ""}).status_code == 401
