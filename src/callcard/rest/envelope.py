"""The REST envelopes (rest-api.md §3, §4) and the paging helpers list methods use.

Success::

    {"result": ..., "total": 120, "next": 50,
     "time": {"start", "finish", "duration", "processing", "date_start", "date_finish",
              "operating_reset_at", "operating"}}

``total`` and ``next`` appear only for list results (``next`` only when more pages exist; page size 50).
Errors are ``BitrixError.envelope()`` with the error's HTTP status. Every body is
``application/json; charset=utf-8``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel
from starlette.responses import Response

from .. import jsoncodec
from ..domain.dates import whole_second
from ..errors import BitrixError

__all__ = [
    "JSON_MEDIA_TYPE",
    "PAGE_SIZE",
    "ListResult",
    "TimeInfo",
    "dump_json",
    "error_body",
    "json_response",
    "page",
    "php_array",
    "success_body",
    "time_block",
]

PAGE_SIZE = 50
JSON_MEDIA_TYPE = "application/json; charset=utf-8"


def page(start: Any) -> int:
    """The paging offset from a raw ``start`` parameter, read like PHP's ``intval`` (never negative)."""
    if start is None:  # the usual case: no paging
        return 0
    if isinstance(start, bool):
        return int(start)
    if isinstance(start, int):
        return max(0, start)
    if isinstance(start, float):
        return max(0, int(start))
    if isinstance(start, str):
        text = start.strip()
        digits = ""
        for i, ch in enumerate(text):
            if ch.isdigit() or (i == 0 and ch in "+-"):
                digits += ch
            else:
                break
        try:
            return max(0, int(digits))
        except ValueError:
            return 0
    return 0


@dataclass(frozen=True)
class ListResult:
    """What a list method returns: one page of ``items``, the ``total`` count, and the ``next`` offset
    (None on the last page). Rendered as ``result`` = items plus top-level ``total`` / ``next``."""

    items: list[Any]
    total: int
    next: int | None = None

    @classmethod
    def of_page(cls, items: Sequence[Any], total: int, start: Any) -> ListResult:
        """A page already cut at offset ``page(start)``; ``next`` follows from its length and ``total``."""
        offset = page(start)
        following = offset + len(items)
        return cls(list(items), total, following if following < total and items else None)

    @classmethod
    def slice(cls, everything: Sequence[Any], start: Any, size: int = PAGE_SIZE) -> ListResult:
        """Cut page ``page(start)`` of ``size`` out of the full list."""
        offset = page(start)
        return cls.of_page(list(everything[offset : offset + size]), len(everything), offset)


@dataclass(frozen=True)
class TimeInfo:
    """Timings of one call, in unix seconds from the injected clock."""

    start: float
    finish: float
    processing: float
    operating: float
    operating_reset_at: int

    def as_dict(self) -> dict[str, Any]:
        return time_block(self.start, self.finish, self.processing, self.operating, self.operating_reset_at)


def time_block(
    start: float, finish: float, processing: float, operating: float, operating_reset_at: int
) -> dict[str, Any]:
    """The ``time`` object of a success envelope (``TimeInfo(...).as_dict()`` without the object)."""
    return {
        "start": start,
        "finish": finish,
        "duration": max(0.0, finish - start),
        "processing": max(0.0, processing),
        "date_start": _iso(start),
        "date_finish": _iso(finish),
        "operating_reset_at": int(operating_reset_at),
        "operating": float(operating),
    }


def _iso(ts: float) -> str:
    # PHP date('c'): local time with its UTC offset, whole seconds. Every call formats two stamps that
    # are nearly always in the same second, so remember the last few seconds' renderings.
    second = whole_second(ts)
    text = _ISO_SEEN.get(second)
    if text is None:
        text = datetime.fromtimestamp(second, tz=UTC).astimezone().isoformat(timespec="seconds")
        if len(_ISO_SEEN) >= 64:
            _ISO_SEEN.clear()
        _ISO_SEEN[second] = text
    return text


_ISO_SEEN: dict[int, str] = {}


def php_array(members: Mapping[Any, Any]) -> Any:
    """A PHP array as ``json_encode`` renders it: ``[]`` when empty, a JSON list when the keys are
    0..n-1 in order (numeric strings count as integers, as PHP converts them), an object otherwise."""
    if not members:
        return []
    keys = list(members)
    if all(_int_key(k) == i for i, k in enumerate(keys)):
        return list(members.values())
    return {str(k): v for k, v in members.items()}


def _int_key(key: Any) -> int | None:
    if isinstance(key, bool):
        return None
    if isinstance(key, int):
        return key
    if isinstance(key, str) and key.isdigit() and (key == "0" or not key.startswith("0")):
        return int(key)
    return None


def success_body(result: Any, time: TimeInfo | dict[str, Any]) -> dict[str, Any]:
    """``{"result", ["total", "next"], "time"}``; a ``ListResult`` supplies total/next. ``time`` is a
    ``TimeInfo`` or its ``as_dict()`` (``time_block``)."""
    body: dict[str, Any]
    if isinstance(result, ListResult):
        body = {"result": result.items, "total": int(result.total)}
        if result.next is not None:
            body["next"] = int(result.next)
    else:
        body = {"result": result}
    body["time"] = time.as_dict() if isinstance(time, TimeInfo) else time
    return body


def error_body(exc: BitrixError) -> dict[str, Any]:
    """The platform's error body for ``exc``."""
    return exc.envelope()


def _default(value: Any) -> Any:
    # Lets handlers return the natural Python objects; the wire always gets plain JSON.
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)


def dump_json(body: Any) -> bytes:
    """Compact UTF-8 JSON, with the conversions of ``_default`` (orjson, else the stdlib: jsoncodec.py)."""
    return jsoncodec.dumps(body, _default, _ENCODER)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response with the platform's content type."""
    return Response(
        dump_json(body), status_code=status, headers=dict(headers or {}), media_type=JSON_MEDIA_TYPE
    )
