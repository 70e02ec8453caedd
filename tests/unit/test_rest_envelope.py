"""Envelopes (rest-api.md §3, §4): fields and types of ``time``, paging, PHP array shapes, JSON output."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel
from starlette.testclient import TestClient

from callcard.clock import FakeClock
from callcard.errors import error
from callcard.rest.auth import Caller
from callcard.rest.envelope import (
    JSON_MEDIA_TYPE,
    PAGE_SIZE,
    ListResult,
    TimeInfo,
    dump_json,
    error_body,
    json_response,
    page,
    php_array,
    success_body,
)
from callcard.rest.registry import CallContext, Registry
from callcard.rest.testkit import FakeResolver, rest_app
from callcard.settings import Settings

ISO_WITH_OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 0),
        ("", 0),
        ("50", 50),
        (" 100 ", 100),
        ("-1", 0),
        ("12abc", 12),
        ("abc", 0),
        (75, 75),
        (-5, 0),
        (50.9, 50),
        (True, 1),
        ([1], 0),
    ],
)
def test_page_reads_start_like_php_intval(raw, expected):
    assert page(raw) == expected


def test_list_result_slice_pages_and_next():
    items = list(range(120))
    first = ListResult.slice(items, None)
    assert (first.items, first.total, first.next) == (list(range(50)), 120, 50)
    second = ListResult.slice(items, "50")
    assert (second.items[0], second.next) == (50, 100)
    last = ListResult.slice(items, 100)
    assert (len(last.items), last.total, last.next) == (20, 120, None)
    beyond = ListResult.slice(items, 500)
    assert (beyond.items, beyond.total, beyond.next) == ([], 120, None)
    exact = ListResult.slice(list(range(50)), 0)
    assert exact.next is None
    assert PAGE_SIZE == 50


def test_list_result_of_page():
    assert ListResult.of_page(["a"] * 50, 51, 0).next == 50
    assert ListResult.of_page(["a"], 51, 50).next is None


def test_php_array_shapes():
    assert php_array({}) == []
    assert php_array({0: "a", 1: "b"}) == ["a", "b"]
    assert php_array({"0": "a", "1": "b"}) == ["a", "b"]
    assert php_array({0: "a", 2: "c"}) == {"0": "a", "2": "c"}
    assert php_array({"01": "a"}) == {"01": "a"}
    assert php_array({"x": 1}) == {"x": 1}


def test_success_body_time_fields_and_types():
    time = TimeInfo(
        start=1_763_700_000.25,
        finish=1_763_700_000.75,
        processing=0.5,
        operating=1.5,
        operating_reset_at=1_763_700_600,
    )
    body = success_body({"ID": 1}, time)
    assert list(body) == ["result", "time"]
    assert body["result"] == {"ID": 1}
    t = body["time"]
    assert set(t) == {
        "start",
        "finish",
        "duration",
        "processing",
        "date_start",
        "date_finish",
        "operating_reset_at",
        "operating",
    }
    assert t["start"] == 1_763_700_000.25 and t["finish"] == 1_763_700_000.75
    assert t["duration"] == pytest.approx(0.5) and t["processing"] == 0.5
    assert isinstance(t["operating"], float) and t["operating"] == 1.5
    assert isinstance(t["operating_reset_at"], int) and t["operating_reset_at"] == 1_763_700_600
    assert ISO_WITH_OFFSET.match(t["date_start"]) and ISO_WITH_OFFSET.match(t["date_finish"])
    assert datetime.fromisoformat(t["date_start"]).timestamp() == 1_763_700_000


def test_success_body_for_lists():
    time = TimeInfo(0.0, 0.0, 0.0, 0.0, 600)
    assert success_body(ListResult([1], 51, 50), time)["next"] == 50
    body = success_body(ListResult([1], 1, None), time)
    assert body["result"] == [1] and body["total"] == 1 and "next" not in body


def test_error_body():
    assert error_body(error("ERROR_ARGUMENT", "Argument 'X' is null or empty", argument="X")) == {
        "error": "ERROR_ARGUMENT",
        "error_description": "Argument 'X' is null or empty",
        "argument": "X",
    }


def test_dump_json_handles_python_objects():
    class Model(BaseModel):
        a: int

    @dataclass
    class Data:
        b: str

    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    out = json.loads(dump_json({"m": Model(a=1), "d": Data("x"), "t": when, "s": (1, 2), "u": "Ж"}))
    assert out == {"m": {"a": 1}, "d": {"b": "x"}, "t": "2025-01-02T03:04:05+00:00", "s": [1, 2], "u": "Ж"}
    assert "Ж".encode() in dump_json({"u": "Ж"})
    with pytest.raises(TypeError):
        dump_json({"x": object()})


def test_json_response_content_type():
    response = json_response({"result": True}, 200)
    assert response.headers["content-type"] == JSON_MEDIA_TYPE == "application/json; charset=utf-8"


# -- through the endpoint ----------------------------------------------------------------------


@pytest.fixture()
def setup(tmp_path):
    registry = Registry()
    clock = FakeClock(1_763_700_000.0)

    @registry.method("test.list", paged=True)
    def list_items(ctx: CallContext, params: dict[str, Any]) -> ListResult:
        return ListResult.slice([{"ID": str(i)} for i in range(120)], ctx.start)

    @registry.method("test.slow")
    def slow(ctx: CallContext, params: dict[str, Any]) -> bool:
        clock.advance(2.5)
        return True

    resolver = FakeResolver()
    resolver.add_token("tok", Caller(kind="app", user_id=1, app_id=1))
    app = rest_app(registry, resolver, settings=Settings.for_tests(tmp_path), clock=clock)
    return TestClient(app), clock


def test_paging_total_and_next_over_http(setup):
    client, _ = setup
    seen: list[str] = []
    start: Any = 0
    pages = 0
    while start is not None:
        response = client.post("/rest/test.list", json={"auth": "tok", "start": start})
        body = response.json()
        assert response.status_code == 200
        assert body["total"] == 120
        seen += [row["ID"] for row in body["result"]]
        start = body.get("next")
        pages += 1
    assert pages == 3
    assert seen == [str(i) for i in range(120)]


def test_time_block_over_http(setup):
    client, clock = setup
    response = client.post("/rest/test.slow", json={"auth": "tok"})
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = response.json()
    assert body["result"] is True
    t = body["time"]
    assert t["start"] == 1_763_700_000.0
    assert t["finish"] == 1_763_700_002.5
    assert t["duration"] == 2.5 and t["processing"] == 2.5
    assert t["operating"] == 2.5  # counted even with limits off
    assert t["operating_reset_at"] == 1_763_700_000 // 60 * 60 + 600
    assert "total" not in body and "next" not in body
