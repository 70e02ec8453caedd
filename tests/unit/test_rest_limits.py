"""Rate limits (rest-api.md §6) driven by a FakeClock: leaky bucket 50 / 2 per s, operating 480 s / 10 min."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from callcard.clock import FakeClock
from callcard.errors import BitrixError
from callcard.rest.auth import Caller
from callcard.rest.limits import LeakyBucket, Limits, OperatingTime
from callcard.rest.registry import CallContext, Registry
from callcard.rest.testkit import FakeResolver, rest_app
from callcard.settings import LimitSettings, Settings

T0 = 1_763_700_000.0  # a multiple of 60: basket boundaries fall on whole minutes


def test_bucket_burst_then_refuse_then_drain():
    clock = FakeClock(T0)
    bucket = LeakyBucket(50, 2.0, clock)
    key = ("portal", "1.2.3.4")
    for _ in range(50):
        bucket.admit(key)
    with pytest.raises(BitrixError) as caught:
        bucket.admit(key)
    assert (caught.value.code, caught.value.status) == ("QUERY_LIMIT_EXCEEDED", 503)
    assert bucket.level(key) == 50  # a refused request is not counted
    clock.advance(0.4)
    with pytest.raises(BitrixError):
        bucket.admit(key)
    clock.advance(0.1)  # 0.5 s drains exactly one request
    bucket.admit(key)
    with pytest.raises(BitrixError):
        bucket.admit(key)
    clock.advance(5)  # ten more
    for _ in range(10):
        bucket.admit(key)
    with pytest.raises(BitrixError):
        bucket.admit(key)
    bucket.admit(("portal", "5.6.7.8"))  # other IPs have their own bucket


def test_bucket_empties_completely():
    clock = FakeClock(T0)
    bucket = LeakyBucket(50, 2.0, clock)
    for _ in range(50):
        bucket.admit(("p", "ip"))
    clock.advance(25)
    assert bucket.level(("p", "ip")) == 0
    for _ in range(50):
        bucket.admit(("p", "ip"))


def test_operating_window_slides_basket_by_basket():
    clock = FakeClock(T0)
    op = OperatingTime(480.0, 600.0, clock)
    key = ("crm.lead.list", "app:1")
    assert op.used(key) == 0
    assert op.reset_at(key) == int(T0) + 600
    op.add(key, 300.0)  # basket of minute 0
    clock.advance(60)
    op.add(key, 180.0)  # minute 1: 480 in total, not above the limit
    assert op.used(key) == 480.0 and not op.blocked(key)
    assert op.reset_at(key) == int(T0) + 600  # when minute 0 leaves the window
    op.add(key, 0.5)
    assert op.blocked(key)
    clock.set(T0 + 599)
    assert op.blocked(key)
    clock.set(T0 + 600)  # minute 0 slid out
    assert op.used(key) == 180.5 and not op.blocked(key)
    assert op.reset_at(key) == int(T0) + 660
    clock.set(T0 + 660)
    assert op.used(key) == 0
    assert op.used(("other.method", "app:1")) == 0


def test_limits_switch_off_refusals_but_keep_counting():
    clock = FakeClock(T0)
    limits = Limits(LimitSettings(enabled=False), clock)
    for _ in range(200):
        limits.admit_request("p", "ip")
    limits.record("m", "app:1", 1000.0)
    limits.check_method("m", "app:1")  # no 429 when off
    assert limits.report("m", "app:1") == (1000.0, int(T0) + 600)


# -- through HTTP ------------------------------------------------------------------------------


@pytest.fixture()
def server(tmp_path):
    clock = FakeClock(T0)
    registry = Registry()

    @registry.method("test.ping")
    def ping(ctx: CallContext, params: dict[str, Any]) -> bool:
        return True

    @registry.method("test.heavy")
    def heavy(ctx: CallContext, params: dict[str, Any]) -> bool:
        clock.advance(100.0)  # each call costs 100 s of method time
        return True

    resolver = FakeResolver()
    resolver.add_token("a", Caller(kind="app", user_id=1, app_id=1))
    resolver.add_token("b", Caller(kind="app", user_id=1, app_id=2))
    settings = Settings.for_tests(tmp_path, limits=LimitSettings(enabled=True))
    return TestClient(rest_app(registry, resolver, settings=settings, clock=clock)), clock


def test_http_burst_of_50_then_503_then_drain(server):
    client, clock = server
    statuses = [client.post("/rest/test.ping", json={"auth": "a"}).status_code for _ in range(50)]
    assert statuses == [200] * 50
    refused = client.post("/rest/test.ping", json={"auth": "a"})
    assert refused.status_code == 503
    assert refused.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
    assert refused.headers["access-control-allow-origin"] == "*"
    # even a request without credentials or to an unknown method is counted and refused
    assert client.post("/rest/no.such", json={}).status_code == 503
    clock.advance(1.0)
    assert [client.post("/rest/test.ping", json={"auth": "a"}).status_code for _ in range(3)] == [
        200,
        200,
        503,
    ]


def test_http_operating_limit_gives_429_per_method_and_app(server):
    client, clock = server
    for i in range(5):  # 500 s used, the last call crossing 480 still succeeds
        response = client.post("/rest/test.heavy", json={"auth": "a"})
        assert response.status_code == 200
        assert response.json()["time"]["operating"] == pytest.approx(100.0 * (i + 1))
    blocked = client.post("/rest/test.heavy", json={"auth": "a"})
    assert blocked.status_code == 429
    assert blocked.json()["error"] == "OPERATION_TIME_LIMIT"
    assert client.post("/rest/test.ping", json={"auth": "a"}).status_code == 200  # other methods are fine
    assert client.post("/rest/test.heavy", json={"auth": "b"}).status_code == 200  # other apps too
    clock.set(T0 + 500 + 600)  # every basket slid out
    assert client.post("/rest/test.heavy", json={"auth": "a"}).status_code == 200
