"""The inspector: session guard, timeline capture of every kind, filters, the ring buffer, the live stream,
the UiState diagram (from the enum) with the path of the current call, and the conformance report."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from callcard.app import create_app
from callcard.clock import FakeClock
from callcard.domain import conformance as conf
from callcard.domain.uistate import BUTTON_EVENTS, UiState, state_buttons
from callcard.inspector import feed, inspector_routes
from callcard.inspector.trace import trace_call
from callcard.journal import KINDS, Journal
from callcard.settings import Settings

SVG = "{http://www.w3.org/2000/svg}"
PAGES = ("/inspector/", "/inspector/diagram", "/inspector/conformance")
APIS = ("/inspector/api/timeline", "/inspector/api/stream", "/inspector/api/card",
        "/inspector/api/diagram.svg", "/inspector/api/conformance", "/inspector/api/conformance.html")


def build(tmp_path: Path, **settings: Any) -> Starlette:
    """create_app with the inspector routes (mounted here until create_app mounts them itself)."""
    app = create_app(Settings.for_tests(tmp_path, **settings))
    if not any(getattr(r, "path", "").startswith("/inspector") for r in app.router.routes):
        app.router.routes[0:0] = inspector_routes(app.state.services)
    return app


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    return build(tmp_path)


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


def services_of(client: TestClient) -> Any:
    return client.app.state.services  # type: ignore[attr-defined]


def login(client: TestClient, user_id: int = 1) -> None:
    link = services_of(client).directory.sessions.create_login_link(user_id)
    assert client.get(f"/login/{link}", follow_redirects=False).status_code == 303


def install(client: TestClient, name: str = "Dialer") -> dict[str, Any]:
    from callcard.control.operations import Operations

    return Operations(services_of(client)).create_app(name, ["telephony", "placement", "crm", "user"])


def rest(client: TestClient, token: str, method: str, **params: Any) -> Any:
    return client.post(f"/rest/{method}.json", data={"auth": token, **params})


def timeline(client: TestClient, **query: Any) -> dict[str, Any]:
    response = client.get("/inspector/api/timeline", params=query)
    assert response.status_code == 200, response.text
    return response.json()


def wait_for(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def register(client: TestClient, token: str, user_id: int = 1, phone: str = "+14155550142") -> str:
    body = rest(client, token, "telephony.externalCall.register", USER_ID=user_id, PHONE_NUMBER=phone,
                TYPE=2, SHOW=1).json()
    return str(body["result"]["CALL_ID"])


# -- the session ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_pages_need_a_portal_session(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert "Sign in required" in response.text and "login-url" in response.text
    client.cookies.set("callcard_session", "forged")
    assert client.get(path).status_code == 401


@pytest.mark.parametrize("path", APIS)
def test_api_needs_a_portal_session(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.json()["error"] == "NO_AUTH_FOUND"


def test_a_logged_in_session_opens_every_page(client: TestClient) -> None:
    login(client, 1)
    for path in PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        assert 'href="/inspector/static/inspector.css"' in response.text
        assert "callcard <b>inspector</b>" in response.text
    for asset in ("inspector.css", "common.js", "timeline.js", "diagram.js", "conformance.js"):
        assert client.get(f"/inspector/static/{asset}").status_code == 200


def test_ended_session_is_refused_again(client: TestClient) -> None:
    login(client, 1)
    assert client.get("/inspector/").status_code == 200
    client.get("/logout", follow_redirects=False)
    assert client.get("/inspector/").status_code == 401


# -- capture of each kind ---------------------------------------------------------------------------------


def test_rest_call_is_captured_with_request_response_status_duration(client: TestClient) -> None:
    login(client)
    creds = install(client)
    assert rest(client, creds["access_token"], "user.current").status_code == 200
    bad_call = rest(client, creds["access_token"], "telephony.externalCall.finish", CALL_ID="nope")
    assert bad_call.status_code == 400
    entries = timeline(client, kind="rest")["entries"]
    ok, bad = entries[-2], entries[-1]
    assert ok["method"] == "user.current" and ok["status"] == 200
    assert ok["app_id"] == creds["app_id"] and ok["user_id"] == 1
    assert ok["payload"]["response"]["result"]["ID"] == "1"
    assert isinstance(ok["duration_ms"], float) and ok["duration_ms"] >= 0
    assert bad["method"] == "telephony.externalCall.finish" and bad["status"] == 400
    assert bad["payload"]["request"]["CALL_ID"] == "nope"
    assert "error" in bad["payload"]["response"]


def test_card_changes_and_events_are_captured(client: TestClient) -> None:
    login(client)
    creds = install(client)
    call_id = register(client, creds["access_token"])
    services_of(client).hub.publish(services_of(client).cards.set_ui_state(1, "connected"), touched=[1])
    cards = timeline(client, kind="card")["entries"]
    assert cards and all(e["user_id"] == 1 for e in cards)
    assert cards[-1]["payload"]["callId"] == call_id and cards[-1]["payload"]["uiState"] == "connected"
    events = timeline(client, kind="event")["entries"]
    names = [e["payload"]["name"] for e in events]
    assert "CallCard::CallStateChanged" in names or "BackgroundCallCard::initialized" in names
    assert all(e["summary"] == e["payload"]["name"] for e in events)


def test_post_messages_are_captured_per_frame_in_both_directions(client: TestClient) -> None:
    services = services_of(client)
    creds = install(client)
    app_row = services.directory.apps.get_app(creds["app_id"]).as_row()
    services.placements.bind(app_row, True, {"PLACEMENT": "PAGE_BACKGROUND_WORKER",
                                             "HANDLER": "http://localhost:5001/bg.html",
                                             "OPTIONS": {"errorHandlerUrl": "http://localhost:5001/err"}})
    login(client, 1)
    page = client.get("/")
    boot = json.loads(re.search(r'id="callcard-boot">(.*?)</script>', page.text, re.S).group(1))
    sid = boot["background"][0]["appSid"]
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"t": "hello", "page": boot["pageId"]})
        ws.send_json({"t": "wire", "sid": sid, "dir": "in", "kind": "getInitData",
                      "data": f"getInitData::cb7:{sid}"})
        ws.send_json({"t": "wire", "sid": sid, "dir": "out", "kind": "reply:getInitData",
                      "data": 'cb7:{"LANG":"en"}'})
        messages = wait_for(lambda: len(timeline(client, kind="message")["entries"]) >= 2 and
                            timeline(client, kind="message")["entries"])
    first, second = messages[-2], messages[-1]
    assert (first["direction"], second["direction"]) == ("in", "out")
    assert first["sid"] == sid == second["sid"] and first["placement"] == "PAGE_BACKGROUND_WORKER"
    assert first["app_id"] == creds["app_id"] and first["user_id"] == 1
    assert first["payload"] == f"getInitData::cb7:{sid}" and second["payload"] == 'cb7:{"LANG":"en"}'


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_outbound_delivery_attempts_are_captured(client: TestClient) -> None:
    login(client)
    creds = install(client)
    url = f"http://127.0.0.1:{_closed_port()}/hook"
    assert rest(client, creds["access_token"], "event.bind", event="ONEXTERNALCALLSTART",
                handler=url).status_code == 200
    token = services_of(client).control_token
    started = client.post("/_callcard/calls", json={"direction": "outgoing", "phone_number": "+15550100",
                                                    "user_id": 1, "app_id": creds["app_id"]},
                          headers={"Authorization": f"Bearer {token}"})
    assert started.status_code == 200, started.text
    deliveries = wait_for(lambda: timeline(client, kind="delivery")["entries"])
    attempt = deliveries[-1]
    assert attempt["app_id"] == creds["app_id"]
    assert attempt["payload"]["url"] == url and attempt["payload"]["kind"] == "ONEXTERNALCALLSTART"
    assert attempt["payload"]["error"] and attempt["payload"]["status_code"] is None
    events = timeline(client, kind="event")["entries"]
    assert any(e["payload"]["name"] == "ONEXTERNALCALLSTART" for e in events)


# -- filters ------------------------------------------------------------------------------------------------


def test_filters_by_kind_app_user_since_and_limit(client: TestClient) -> None:
    login(client)
    one, two = install(client, "One"), install(client, "Two")
    rest(client, one["access_token"], "user.current")
    rest(client, two["access_token"], "user.current")
    register(client, one["access_token"], user_id=2)
    everything = timeline(client)["entries"]
    assert {e["kind"] for e in everything} >= {"rest", "card", "event"}
    assert [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)

    assert {e["kind"] for e in timeline(client, kind="rest,card")["entries"]} == {"rest", "card"}
    by_app = timeline(client, app_id=two["app_id"])["entries"]
    assert by_app and all(e["app_id"] == two["app_id"] for e in by_app)
    by_user = timeline(client, user_id=2)["entries"]
    assert by_user and all(e["user_id"] == 2 for e in by_user)
    assert {e["kind"] for e in by_user} >= {"card"}
    middle = everything[len(everything) // 2]["seq"]
    assert all(e["seq"] > middle for e in timeline(client, since=middle)["entries"])
    newest = timeline(client, limit=2)
    assert [e["seq"] for e in newest["entries"]] == [e["seq"] for e in everything[-2:]]
    assert newest["last_seq"] == everything[-1]["seq"] and newest["enabled"] is True


@pytest.mark.parametrize(
    "query", [{"kind": "rest,bogus"}, {"app_id": "x"}, {"since": "1.5"}, {"limit": "-1"}]
)
def test_bad_filters_are_a_400(client: TestClient, query: dict[str, str]) -> None:
    login(client)
    response = client.get("/inspector/api/timeline", params=query)
    assert response.status_code == 400 and response.json()["error"] == "INVALID_REQUEST"


# -- the ring buffer --------------------------------------------------------------------------------------


def test_ring_buffer_keeps_only_the_newest_entries(tmp_path: Path) -> None:
    with TestClient(build(tmp_path, journal_size=4)) as client:
        login(client)
        creds = install(client)
        for _ in range(7):
            rest(client, creds["access_token"], "user.current")
        data = timeline(client)
        assert data["size"] == 4 and data["count"] == 4
        seqs = [e["seq"] for e in data["entries"]]
        assert seqs == list(range(data["last_seq"] - 3, data["last_seq"] + 1)) and seqs[0] > 1


def test_journal_size_zero_switches_the_timeline_off(tmp_path: Path) -> None:
    with TestClient(build(tmp_path, journal_size=0)) as client:
        login(client)
        creds = install(client)
        rest(client, creds["access_token"], "user.current")
        register(client, creds["access_token"])
        data = timeline(client)
        assert data == {"enabled": False, "size": 0, "count": 0, "last_seq": 0, "entries": []}
        assert 'data-role="journal-off"' in client.get("/inspector/").text
        trace = client.get("/inspector/api/card").json()
        assert trace["current"] == services_of(client).cards.get(1).ui_state.name and trace["path"] == []


# -- the live stream --------------------------------------------------------------------------------------


def _events(text: str) -> list[tuple[str, Any, str | None]]:
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields.get("event", ""), json.loads(fields.get("data", "null")), fields.get("id")))
    return out


def test_stream_sends_backlog_then_live_entries_filtered_then_says_bye() -> None:
    journal = Journal(100, FakeClock())
    journal.add("rest", "old", app_id=1)
    journal.add("card", "skipped by kind", user_id=1)
    since = journal.add("rest", "seen before", app_id=1)["seq"]  # type: ignore[index]
    journal.add("rest", "backlog", app_id=1)

    async def run() -> list[str]:
        f = feed.parse_filter({"kind": "rest", "app_id": "1"}, last_event_id=str(since))
        chunks: list[str] = []

        async def produce() -> None:
            await asyncio.sleep(0.05)
            journal.add("rest", "other app", app_id=2)
            journal.add("card", "other kind", app_id=1)
            journal.add("rest", "live", app_id=1)

        producer = asyncio.create_task(produce())
        async for chunk in feed.stream(journal, f, window_s=0.4):
            chunks.append(chunk)
        await producer
        return chunks

    chunks = asyncio.run(run())
    assert chunks[0].startswith("retry: ")
    events = _events("".join(chunks))
    assert events[0][0] == "hello" and events[0][1] == {"enabled": True, "size": 100}
    entries = [(data["summary"], ident) for kind, data, ident in events if kind == "entry"]
    assert [s for s, _ in entries] == ["backlog", "live"]
    assert all(ident is not None and int(ident) > since for _, ident in entries)
    assert events[-1][0] == "bye" and events[-1][1]["last_seq"] == int(entries[-1][1])
    assert not journal._subscribers  # the stream let go of its queue


def test_stream_over_http_is_server_sent_events(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed, "STREAM_WINDOW_S", 0.3)
    login(client)
    creds = install(client)
    rest(client, creds["access_token"], "user.current")
    response = client.get("/inspector/api/stream", params={"kind": "rest"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _events(response.text)
    assert events[0][0] == "hello" and events[-1][0] == "bye"
    assert [d["method"] for k, d, _ in events if k == "entry"] == ["user.current"]


def test_journal_can_be_read_from_another_thread_while_it_is_written() -> None:
    # a test reads the journal of a CallcardServer whose loop thread keeps writing to it
    journal = Journal(500, FakeClock())
    done = threading.Event()

    def write() -> None:
        for i in range(20_000):
            journal.add("note", f"n{i}", user_id=i % 3)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    while not done.is_set():
        seqs = [e["seq"] for e in journal.entries(user_id=1)]
        assert seqs == sorted(seqs)  # a consistent copy, never "deque mutated during iteration"
        reads += 1
    writer.join()
    assert reads > 0 and len(journal) == 500 and journal.entries()[-1]["seq"] == 20_000


def test_stream_of_a_switched_off_journal_only_greets() -> None:
    async def run() -> str:
        chunks = feed.stream(Journal(0, FakeClock()), feed.TimelineFilter(), window_s=0.05)
        return "".join([c async for c in chunks])

    events = _events(asyncio.run(run()))
    assert [e[0] for e in events] == ["hello", "bye"] and events[0][1]["enabled"] is False


# -- card path and diagram ----------------------------------------------------------------------------------


def test_trace_collapses_repeats_and_follows_only_the_call_asked() -> None:
    def card(seq: int, call: str | None, state: str = "") -> dict[str, Any]:
        payload = {"callId": call, "uiState": state} if call else None
        return {"seq": seq, "at": float(seq), "kind": "card", "user_id": 1, "payload": payload}

    entries = [card(1, "a", "incoming"), card(2, "a", "connected"), card(3, None),
               card(4, "b", "outgoing"), card(5, "b", "outgoing"), card(6, "b", "connectingOutgoing"),
               {**card(7, "b", "connected"), "user_id": 2}, card(8, "b", "connected")]
    path, closed = trace_call(entries, 1, "b")
    assert [(s.state, s.seq) for s in path] == [("outgoing", 4), ("connectingOutgoing", 6), ("connected", 8)]
    assert closed is False
    path, closed = trace_call(entries, 1, "a")
    assert [s.state for s in path] == ["incoming", "connected"] and closed is True
    latest, _ = trace_call(entries, 1, None)
    assert [s.state for s in latest] == ["outgoing", "connectingOutgoing", "connected"]


def _svg(client: TestClient, **query: Any) -> ET.Element:
    response = client.get("/inspector/api/diagram.svg", params=query)
    assert response.status_code == 200 and response.headers["content-type"].startswith("image/svg+xml")
    return ET.fromstring(response.text)


def test_diagram_has_the_fifteen_states_with_their_buttons_and_events(client: TestClient) -> None:
    login(client)
    root = _svg(client)
    nodes = root.findall(f".//{SVG}g[@data-state]")
    assert [n.get("data-state") for n in nodes] == [s.name for s in UiState]
    assert [int(n.get("data-number") or 0) for n in nodes] == [int(s) for s in UiState]
    for node, state in zip(nodes, UiState, strict=True):
        shown = [b.get("data-button") for b in node.findall(f"{SVG}g[@data-button]")]
        expected = {b for d in ("incoming", "outgoing") for b in state_buttons(state, d, foldable=True)}
        assert set(shown) == expected, state.name
        for b in node.findall(f"{SVG}g[@data-button]"):
            assert b.get("data-event") == BUTTON_EVENTS.get(b.get("data-button") or "", "")
    hidden = {n.get("data-state") for n in nodes if "is-hidden" in (n.get("class") or "")}
    assert hidden == {"idle", "sipPhoneError", "externalCard"}
    assert not root.findall(f".//{SVG}g[@class='cc-edge']") and root.get("data-current") == ""


def test_diagram_highlights_the_current_state_and_draws_the_transitions_taken(client: TestClient) -> None:
    login(client)
    creds = install(client)
    call_id = register(client, creds["access_token"])
    services = services_of(client)
    for state in ("incoming", "connectingIncoming", "connected", "transferring", "connected"):
        services.hub.publish(services.cards.set_ui_state(1, state), touched=[1])
        if state == "connected":  # a change within a state is journaled but is no step of its own
            services.hub.publish(services.cards.press(1, "mute"), touched=[1])
    trace = client.get("/inspector/api/card").json()
    assert trace["call_id"] == call_id and trace["current"] == "connected"
    states = [s["state"] for s in trace["path"]]
    assert states[-5:] == ["incoming", "connectingIncoming", "connected", "transferring", "connected"]
    pairs = [(t["from"], t["to"]) for t in trace["transitions"]]
    assert pairs == list(zip(states, states[1:], strict=False))
    assert [t["step"] for t in trace["transitions"]] == list(range(1, len(pairs) + 1))

    root = _svg(client)
    current = [n.get("data-state") for n in root.findall(f".//{SVG}g[@data-current='true']")]
    assert current == ["connected"] and root.get("data-current") == "connected"
    visited = {n.get("data-state") for n in root.findall(f".//{SVG}g[@data-visited='true']")}
    assert visited == set(states)
    edges = {(e.get("data-from"), e.get("data-to")): e.get("data-steps")
             for e in root.findall(f".//{SVG}g[@class='cc-edge']")}
    assert set(edges) == set(pairs)
    returns = [t for t in trace["transitions"] if (t["from"], t["to"]) == ("transferring", "connected")]
    assert edges[("transferring", "connected")] == ",".join(str(t["step"]) for t in returns)

    page = client.get("/inspector/diagram")
    assert page.status_code == 200 and "<svg" in page.text and 'data-current="connected"' in page.text
    assert "States taken in this call" in page.text and call_id in page.text
    # another user's card is asked for by id; user 2 has none
    assert client.get("/inspector/api/card", params={"user_id": 2}).json()["view"] is None


def test_closed_card_keeps_its_call_path(client: TestClient) -> None:
    login(client)
    creds = install(client)
    call_id = register(client, creds["access_token"])
    services = services_of(client)
    services.hub.publish(services.cards.set_ui_state(1, "connected"), touched=[1])
    finish = rest(client, creds["access_token"], "telephony.externalCall.finish", CALL_ID=call_id, USER_ID=1,
                  DURATION=10)
    assert finish.status_code == 200, finish.text
    if services.cards.get(1) is not None:  # finish may leave the card open until it auto-closes
        services.hub.publish(services.cards.close(1), touched=[1])
    trace = client.get("/inspector/api/card").json()
    assert trace["view"] is None and trace["current"] is None and trace["closed"] is True
    assert trace["call_id"] == call_id and "connected" in [s["state"] for s in trace["path"]]


# -- conformance --------------------------------------------------------------------------------------------


def test_conformance_page_lists_each_finding_with_why_and_fix(client: TestClient) -> None:
    login(client)
    one, two = install(client, "Alpha Dialer"), install(client, "Beta <Phone>")
    report = services_of(client).conformance
    report.record(one["app_id"], conf.AWAITED_TIMER, message="CallCardStartTimer awaited in frame 1")
    report.record(one["app_id"], conf.AWAITED_TIMER, message="CallCardStartTimer awaited in frame 1")
    report.record(two["app_id"], conf.FINISH_UNKNOWN_CALL, message="finish <script>x</script> for nope")

    page = client.get("/inspector/conformance").text
    for kind, message in ((conf.AWAITED_TIMER, "CallCardStartTimer awaited in frame 1"),
                          (conf.FINISH_UNKNOWN_CALL, "finish &lt;script&gt;x&lt;/script&gt; for nope")):
        k = conf.KINDS[kind]
        assert f'data-kind="{kind}"' in page
        for text in (k.title, k.why, k.fix):
            assert text.replace("'", "&#x27;") in page
        assert message in page
    assert "<script>x</script>" not in page
    assert "Why it matters on the real portal" in page and "What to do" in page
    assert "Alpha Dialer" in page and "Beta &lt;Phone&gt;" in page
    assert "×2" in page  # the repeated finding is counted, not listed twice
    assert page.count('class="ci-finding ') == 2

    only_two = client.get("/inspector/conformance", params={"app_id": two["app_id"]}).text
    assert conf.KINDS[conf.FINISH_UNKNOWN_CALL].why in only_two
    assert conf.KINDS[conf.AWAITED_TIMER].why not in only_two

    data = client.get("/inspector/api/conformance", params={"app_id": one["app_id"]}).json()
    assert [f["kind"] for f in data["findings"]] == [conf.AWAITED_TIMER]
    assert data["findings"][0]["why"] == conf.KINDS[conf.AWAITED_TIMER].why
    assert data["summary"]["warnings"] == 2 and data["summary"]["errors"] == 0
    fragment = client.get("/inspector/api/conformance.html").text
    assert conf.KINDS[conf.FINISH_UNKNOWN_CALL].fix in fragment and "<html" not in fragment


def test_clean_report_says_so(client: TestClient) -> None:
    login(client)
    assert 'data-role="clean"' in client.get("/inspector/conformance").text


def test_every_kind_has_a_chip_on_the_timeline_page(client: TestClient) -> None:
    login(client)
    page = client.get("/inspector/").text
    for kind in KINDS:
        assert f'data-kind="{kind}"' in page
