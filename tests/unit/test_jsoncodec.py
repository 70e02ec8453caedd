"""callcard.jsoncodec: orjson where it agrees with the stdlib, the stdlib wherever it would not."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from callcard import jsoncodec
from callcard.domain.dates import iso, whole_second
from callcard.rest.envelope import _ENCODER, _default, dump_json

TEXTS = [
    '{"auth":"abc","USER_ID":1,"PHONE_NUMBER":"+4930","TYPE":2,"SHOW":0}',
    '[1, 2.5, -0, -0.0, 1E2, 1e-400, 0.1, true, false, null]',
    '{"a":1,"a":2}',
    '"\\u00e9\\ud83d\\ude00 \\/ \\n"',
    '  {"nested": {"list": [{"x": []}, {}]}}  ',
    "9223372036854775807",
    "18446744073709551615",
    "123456789012345678901234567890",
    "[1.7976931348623157e308, 5e-324, 0.30000000000000004]",
    '{"phone": "+49300000000000000000000"}',
    "1234567890123456789.5",
]
STDLIB_ONLY = ["NaN", "[Infinity, -Infinity]", '"\\ud800"', "[1e400]"]
BAD = ["", "{", "[1,]", "{'a': 1}", "tru", '{"a" 1}', "\x00"]


@pytest.mark.parametrize("text", TEXTS + STDLIB_ONLY)
def test_loads_gives_the_stdlib_value_and_types(text: str) -> None:
    for given in (text, text.encode()):
        got, want = jsoncodec.loads(given), json.loads(given)
        assert repr(got) == repr(want)  # repr: tells 1 from 1.0 and nan from nan


@pytest.mark.parametrize("text", BAD)
def test_loads_raises_the_stdlib_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        jsoncodec.loads(text)
    assert str(got.value) == str(want.value)


def test_loads_other_encodings_and_bad_utf8_as_the_stdlib() -> None:
    assert jsoncodec.loads('{"a": "é"}'.encode("utf-16")) == {"a": "é"}
    assert jsoncodec.loads(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}
    with pytest.raises(UnicodeDecodeError):
        jsoncodec.loads(b'{"a": "\xff"}')


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    when: datetime


VALUES: list[Any] = [
    {"result": {"ID": "1", "ACTIVE": True, "UF_DEPARTMENT": [1], "none": None}, "time": {"start": 1.5}},
    {"ü": "ÿ\u2028\x7f\x1f\"\\", "e": "", "f": [1e16, 1e-7, -0.0, 0.1 + 0.2, 10**18]},
    {"dt": datetime(2026, 11, 21, 12, 0, 1, 5, tzinfo=UTC), "d": date(2026, 1, 2), "naive": datetime(2026, 1, 1)},
    {"dc": Point(1, datetime(2026, 1, 1, tzinfo=UTC)), "set": {3}, "tuple": (1, 2), "enum": Colour.RED},
    {"dec": Decimal("1.25"), "bytes": b"abc", "big": 2**70, "neg": -(2**64)},
    {1: "int key", None: "none key", False: "bool key", 2.5: "float key"},
]


@pytest.mark.parametrize("value", VALUES)
def test_dump_json_means_what_the_stdlib_encoder_wrote(value: Any) -> None:
    got = dump_json(value)
    want = _ENCODER.encode(value).encode("utf-8")
    assert json.loads(got) == json.loads(want)
    assert list(json.loads(got)) == list(json.loads(want))  # key order too


def test_dump_json_refuses_what_the_stdlib_refuses() -> None:
    for bad in ({"x": object()}, {"s": "\ud800"}):
        with pytest.raises(Exception) as want:
            _ENCODER.encode(bad).encode("utf-8")
        with pytest.raises(type(want.value)):
            dump_json(bad)
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError):
        dump_json(loop)


def test_non_finite_floats_become_null_instead_of_invalid_json() -> None:
    # The one documented difference: the stdlib wrote bare NaN / Infinity, which no JSON parser accepts.
    assert json.loads(dump_json({"a": math.nan, "b": math.inf, "c": [-math.inf]})) == {
        "a": None, "b": None, "c": [None]}
    assert jsoncodec.dumps({"a": 1}, _default, _ENCODER) == b'{"a":1}'


@pytest.mark.parametrize("ts", [0.0, -1e-7, -0.3, 1.9999996, 1795300396.9999996, 1795300396.99999949,
                                1.5, -1.5, 1e9 + 0.9999995, 1763700000.0, 1763700000.4999995])
def test_iso_and_whole_second_agree_with_datetime(ts: float) -> None:
    expected = datetime.fromtimestamp(ts, tz=UTC)
    assert iso(ts) == expected.isoformat(timespec="seconds")
    assert whole_second(ts) == int(expected.replace(microsecond=0).timestamp())


STORE_VALUES: list[Any] = [
    [], {}, [1, "a", None, True, 2.5], {"k": {"n": [1, {"x": -0.0}]}, "é": "ü\n\x00"}, (1, 2),
    {"big": 2**70}, {"nan": math.nan}, {"inf": [math.inf]}, {1: "int key"}, {"s": {3}},
    {"dec": Decimal("1.5")}, 10**18, 1e16, "plain",
]


@pytest.mark.parametrize("value", STORE_VALUES)
def test_dumps_text_means_what_json_dumps_wrote(value: Any) -> None:
    try:
        want = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    except TypeError:
        with pytest.raises(TypeError):
            jsoncodec.dumps_text(value)
        return
    got = jsoncodec.dumps_text(value)
    assert repr(json.loads(got)) == repr(json.loads(want))  # NaN and infinities kept, 1 vs 1.0 kept
    if any(s in want for s in ("NaN", "Infinity")) or isinstance(value, dict) and "big" in value:
        assert got == want  # the cases orjson would spell differently are left to the stdlib
