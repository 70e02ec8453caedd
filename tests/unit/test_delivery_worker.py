"""The delivery worker against a real HTTP handler on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from callcard.clock import FakeClock, SystemClock
from callcard.outbox.forms import encode_form, notice_body, rest_event_body
from callcard.outbox.outbox import Outbox
from callcard.outbox.worker import DeliveryWorker
from callcard.settings import Settings
from callcard.store import SQLiteStore


class Recorder:
    """A loopback handler that records every POST; it can be stopped and restarted on its port."""

    def __init__(self, port: int = 0, status: int = 200) -> None:
        self.requests: list[dict[str, object]] = []
        self.status = status
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                recorder.requests.append(
                    {
                        "path": self.path,
                        "content_type": self.headers.get("Content-Type"),
                        "body": self.rfile.read(length).decode("ascii"),
                    }
                )
                self.send_response(recorder.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?x=1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    r = Recorder()
    yield r
    r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings.for_tests(tmp_path, **{"delivery_timeout_s": 2.0, **changes})


BODY = rest_event_body(
    "ONEXTERNALCALLSTART", 3, {"PHONE_NUMBER": "+49 30", "USER_ID": 1},
    {"access_token": "a", "member_id": "m"}, 7,
)


def test_delivers_exact_form_body(tmp_path: Path, recorder: Recorder) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    clock = SystemClock()
    cfg = settings(tmp_path)
    box = Outbox(store, clock, cfg)
    seen: list[dict[str, object]] = []

    async def scenario() -> None:
        worker = DeliveryWorker(box, clock, cfg, on_attempt=seen.append)
        worker.start()
        try:
            oid = box.enqueue("ONEXTERNALCALLSTART", recorder.url, BODY, app_id=5)
            assert await worker.drain(5)
            row = box.get(oid)
            assert row is not None and row["status"] == "delivered"
            assert seen[0]["outbox_id"] == oid and seen[0]["status"] == "delivered"
            assert seen[0]["status_code"] == 200 and seen[0]["app_id"] == 5
        finally:
            await worker.stop()

    asyncio.run(scenario())
    store.close()
    assert recorder.requests == [
        {
            "path": "/hook?x=1",
            "content_type": "application/x-www-form-urlencoded",
            "body": "event=ONEXTERNALCALLSTART&event_handler_id=3&data[PHONE_NUMBER]=%2B49+30"
            "&data[USER_ID]=1&ts=7&auth[access_token]=a&auth[member_id]=m",
        }
    ]
    assert recorder.requests[0]["body"] == encode_form(BODY)


def test_retry_loses_nothing_while_handler_is_down(tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/events"
    store = SQLiteStore(tmp_path / "db.sqlite3")
    clock = FakeClock()
    cfg = settings(tmp_path, delivery_policy="retry")
    box = Outbox(store, clock, cfg)
    handler: Recorder | None = None

    async def scenario() -> None:
        nonlocal handler
        worker = DeliveryWorker(box, clock, cfg, poll_s=0.05)
        worker.start()
        try:
            ids = [box.enqueue("CallCard::EntityChanged", url, [("n", str(i))]) for i in range(3)]
            assert await worker.drain(5)
            for oid in ids:  # one refused attempt each, waiting 1 s (fake) for the next
                row = box.get(oid)
                assert row is not None and (row["status"], row["attempts"]) == ("pending", 1)
                assert box.attempts(oid)[0]["status_code"] is None
            clock.advance(1)
            assert await worker.drain(5)
            assert all(box.get(i)["attempts"] == 2 for i in ids)

            handler = Recorder(port)  # the handler comes back
            clock.advance(2)
            assert await worker.drain(5)
            assert [box.get(i)["status"] for i in ids] == ["delivered"] * 3
        finally:
            await worker.stop()

    try:
        asyncio.run(scenario())
        assert handler is not None
        assert sorted(r["body"] for r in handler.requests) == ["n=0", "n=1", "n=2"]
    finally:
        if handler is not None:
            handler.close()
        store.close()


def test_once_records_failed(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/gone"
    store = SQLiteStore(tmp_path / "db.sqlite3")
    clock = FakeClock()
    cfg = settings(tmp_path, delivery_policy="once")
    box = Outbox(store, clock, cfg)
    seen: list[dict[str, object]] = []

    async def scenario() -> int:
        worker = DeliveryWorker(box, clock, cfg, on_attempt=seen.append, poll_s=0.05)
        worker.start()
        try:
            oid = box.enqueue("ERROR_PLACEMENT_LOADING_OVERTIME", url, notice_body("E", "slow"))
            assert await worker.drain(5)
            clock.advance(3600)
            assert await worker.drain(1)
            return oid
        finally:
            await worker.stop()

    oid = asyncio.run(scenario())
    row = box.get(oid)
    assert row is not None and (row["status"], row["attempts"]) == ("failed", 1)
    [attempt] = box.attempts(oid)
    assert attempt["status_code"] is None and "ConnectError" in attempt["error"]
    assert [(s["attempt"], s["status"]) for s in seen] == [(1, "failed")]
    store.close()


def test_non_2xx_is_a_failure(tmp_path: Path) -> None:
    handler = Recorder(status=302)
    store = SQLiteStore(tmp_path / "db.sqlite3")
    cfg = settings(tmp_path)
    box = Outbox(store, SystemClock(), cfg)
    worker = DeliveryWorker(box, SystemClock(), cfg)
    try:
        oid = box.enqueue("ONEXTERNALCALLSTART", handler.url, BODY)
        assert asyncio.run(worker.run_once()) == 1
        row = box.get(oid)
        assert row is not None and (row["status"], row["last_error"]) == ("failed", "HTTP 302")
        assert box.attempts(oid)[0]["status_code"] == 302
        assert len(handler.requests) == 1  # the redirect was not followed
    finally:
        handler.close()
        store.close()


def test_rows_pending_at_start_up_are_delivered(tmp_path: Path, recorder: Recorder) -> None:
    path = tmp_path / "db.sqlite3"
    cfg = settings(tmp_path)
    first = SQLiteStore(path)
    oid = Outbox(first, SystemClock(), cfg).enqueue("ONEXTERNALCALLSTART", recorder.url, BODY)
    first.close()  # "crash" before any worker ran

    store = SQLiteStore(path)
    box = Outbox(store, SystemClock(), cfg)

    async def scenario() -> None:
        worker = DeliveryWorker(box, SystemClock(), cfg)
        worker.start()
        try:
            assert await worker.drain(5)
        finally:
            await worker.stop()

    asyncio.run(scenario())
    assert box.get(oid)["status"] == "delivered"
    assert [r["body"] for r in recorder.requests] == [encode_form(BODY)]
    store.close()


def test_timeout_and_fault_injection(tmp_path: Path, recorder: Recorder) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    cfg = settings(tmp_path, delivery_timeout_s=0.2)
    box = Outbox(store, SystemClock(), cfg)
    worker = DeliveryWorker(box, SystemClock(), cfg)
    try:
        worker.faults.fail_urls.add(recorder.url)
        failed = box.enqueue("X", recorder.url, BODY)
        asyncio.run(worker.run_once())
        assert box.get(failed)["last_error"] == "fault injected (fail_urls)"
        assert recorder.requests == []

        worker.faults.clear()
        worker.faults.delay_s = 0.5  # longer than the timeout: the attempt is a timeout
        slow = box.enqueue("X", recorder.url, BODY)
        asyncio.run(worker.run_once())
        row = box.get(slow)
        assert (row["status"], row["last_error"]) == ("failed", "timeout after 0.2 s")
        assert box.attempts(slow)[0]["duration_ms"] >= 200
    finally:
        store.close()


def test_wake_from_another_thread(tmp_path: Path, recorder: Recorder) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite3")
    cfg = settings(tmp_path)
    box = Outbox(store, SystemClock(), cfg)

    async def scenario() -> None:
        worker = DeliveryWorker(box, SystemClock(), cfg, poll_s=30)  # only a wake-up can deliver in time
        worker.start()
        try:
            await asyncio.sleep(0.05)
            await asyncio.to_thread(box.enqueue, "X", recorder.url, [("a", "b")])
            for _ in range(200):
                if recorder.requests:
                    break
                await asyncio.sleep(0.01)
        finally:
            await worker.stop()

    asyncio.run(scenario())
    assert [r["body"] for r in recorder.requests] == ["a=b"]
    store.close()
