"""The persisted outbox: policies, backoff on an injected clock, attempts, durability."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcard.clock import FakeClock
from callcard.domain.events import WATCHDOG_NOTICE
from callcard.outbox.forms import notice_body
from callcard.outbox.outbox import Outbox, backoff_s
from callcard.settings import Settings
from callcard.store import SQLiteStore

URL = "http://127.0.0.1:9/handler"
BODY = [("event", "ONEXTERNALCALLSTART"), ("data[PHONE_NUMBER]", "+4930")]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def store(tmp_path: Path):
    s = SQLiteStore(tmp_path / "callcard.sqlite3")
    yield s
    s.close()


def make(store: SQLiteStore, clock: FakeClock, tmp_path: Path, **settings: object) -> Outbox:
    return Outbox(store, clock, Settings.for_tests(tmp_path, **settings))


def test_enqueue_stores_encoded_body_due_now(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path)
    oid = box.enqueue("ONEXTERNALCALLSTART", URL, BODY, app_id=4)
    row = box.get(oid)
    assert row is not None
    assert row["body"] == "event=ONEXTERNALCALLSTART&data[PHONE_NUMBER]=%2B4930"
    assert (row["status"], row["policy"], row["attempts"], row["app_id"]) == ("pending", "once", 0, 4)
    assert row["created_at"] == row["next_attempt_at"] == 1000.0
    assert [r["id"] for r in box.due(1000.0)] == [oid]
    assert box.due(999.0) == []


def test_once_policy_fails_after_one_attempt(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path, delivery_policy="once")
    oid = box.enqueue("ONEXTERNALCALLSTART", URL, BODY)
    row = box.record_attempt(oid, 500, "HTTP 500", 12.5)
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert box.due(clock.now() + 3600) == []
    [attempt] = box.attempts(oid)
    assert (attempt["status_code"], attempt["error"], attempt["duration_ms"], attempt["at"]) == (
        500, "HTTP 500", 12.5, 1000.0,
    )
    with pytest.raises(ValueError):
        box.record_attempt(oid, 200, "", 1)


def test_2xx_delivers(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path, delivery_policy="retry")
    oid = box.enqueue("ONEXTERNALCALLSTART", URL, BODY)
    row = box.record_attempt(oid, 204, "", 3)
    assert row["status"] == "delivered"
    assert box.list("delivered")[0]["id"] == oid
    assert box.counts() == {"pending": 0, "delivered": 1, "failed": 0}


def test_retry_backoff_doubles_caps_at_60_and_stops_at_max_attempts(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path, delivery_policy="retry", delivery_max_attempts=9)
    oid = box.enqueue("CallCard::EntityChanged", URL, BODY)
    delays = []
    for _ in range(8):
        assert [r["id"] for r in box.due()] == [oid]
        row = box.record_attempt(oid, None, "ConnectError: refused", 1)
        assert row["status"] == "pending"
        delay = row["next_attempt_at"] - clock.now()
        delays.append(delay)
        clock.advance(delay - 0.001)
        assert box.due() == []  # not a moment early
        clock.advance(0.001)
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60]
    row = box.record_attempt(oid, 502, "", 1)
    assert row["status"] == "failed"
    assert row["last_error"] == "HTTP 502"
    attempts = box.attempts(oid)
    assert len(attempts) == 9
    assert [a["status_code"] for a in attempts] == [None] * 8 + [502]


def test_retry_recovers_when_handler_comes_back(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path, delivery_policy="retry")
    oid = box.enqueue("ONEXTERNALCALLSTART", URL, BODY)
    box.record_attempt(oid, None, "timeout after 10 s", 10_000)
    clock.advance(1)
    box.record_attempt(oid, 503, "HTTP 503", 2)
    clock.advance(2)
    row = box.record_attempt(oid, 200, "", 2)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 3, "")
    assert [a["error"] for a in box.attempts(oid)] == ["timeout after 10 s", "HTTP 503", ""]


def test_backoff_schedule() -> None:
    assert [backoff_s(n) for n in range(1, 10)] == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_notices_are_always_once(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path, delivery_policy="retry")
    nid = box.enqueue(WATCHDOG_NOTICE, URL, notice_body(WATCHDOG_NOTICE, "slow"), policy="retry")
    other = box.enqueue("errorHandlerUrl", URL, notice_body(WATCHDOG_NOTICE, "slow"))
    assert box.get(nid)["policy"] == box.get(other)["policy"] == "once"
    assert box.record_attempt(nid, None, "refused", 1)["status"] == "failed"


def test_set_policy_changes_default_and_pending_rows(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path)
    assert box.policy == "once"
    queued = box.enqueue("ONEXTERNALCALLSTART", URL, BODY)
    notice = box.enqueue(WATCHDOG_NOTICE, URL, notice_body(WATCHDOG_NOTICE, "x"))
    woke = []
    box.listeners.append(lambda: woke.append(1))
    assert box.set_policy("retry") == 1
    assert box.policy == "retry"
    assert box.get(queued)["policy"] == "retry"
    assert box.get(notice)["policy"] == "once"
    assert box.get(box.enqueue("X", URL, BODY))["policy"] == "retry"
    assert box.get(box.enqueue("X", URL, BODY, policy="once"))["policy"] == "once"
    assert len(woke) == 3
    with pytest.raises(ValueError):
        box.set_policy("sometimes")
    with pytest.raises(ValueError):
        box.enqueue("X", URL, BODY, policy="always")


def test_list_filters_and_orders_newest_first(store, clock, tmp_path) -> None:
    box = make(store, clock, tmp_path)
    a = box.enqueue("A", URL, BODY)
    b = box.enqueue("B", URL, BODY)
    box.record_attempt(a, 200, "", 1)
    assert [r["id"] for r in box.list()] == [b, a]
    assert [r["id"] for r in box.list("pending")] == [b]
    assert box.next_due_at() == 1000.0
    with pytest.raises(ValueError):
        box.list("lost")


def test_enqueued_rows_survive_close_and_reopen(tmp_path, clock) -> None:
    path = tmp_path / "callcard.sqlite3"
    first = SQLiteStore(path)
    box = make(first, clock, tmp_path)
    oid = box.enqueue("ONEXTERNALCALLSTART", URL, BODY, app_id=2)
    done = box.enqueue("ONEXTERNALCALLSTART", URL, BODY)
    box.record_attempt(done, 200, "", 1)
    first.close()

    second = SQLiteStore(path)
    try:
        reopened = make(second, clock, tmp_path)
        assert [r["id"] for r in reopened.due()] == [oid]
        assert reopened.get(oid)["body"] == "event=ONEXTERNALCALLSTART&data[PHONE_NUMBER]=%2B4930"
        assert len(reopened.attempts(done)) == 1
    finally:
        second.close()
