"""Form bodies of outbound HTTP deliveries, built the way the platform builds them.

The platform posts ``application/x-www-form-urlencoded`` bodies made by PHP's ``http_build_query``
(rest-api.md §9.8, §9.13; placements.md §4). This module reproduces its rules:

* nested dicts become ``key[sub]``, lists ``key[0]``, ``key[1]`` …, at any depth;
* every value is a string: ``True``/``False`` → ``"1"``/``"0"``, numbers in decimal;
* ``None`` and empty dicts/lists produce **no field at all** (``http_build_query`` skips them);
* the encoded text keeps ``[`` and ``]`` literal in keys (as the spec's example body shows; every form
  parser reads both spellings alike) and encodes everything else as ``application/x-www-form-urlencoded``
  (space → ``+``, ``+`` → ``%2B``, UTF-8).

Body builders return ``list[tuple[str, str]]`` so the key order is explicit and testable; the outbox
encodes them once with ``encode_form`` and stores the text exactly as it is sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote_plus

from ..domain.events import Event

__all__ = [
    "FormPairs",
    "card_event_body",
    "encode_form",
    "flatten",
    "form_value",
    "notice_body",
    "rest_event_body",
]

FormPairs = list[tuple[str, str]]


def form_value(value: Any) -> str:
    """One scalar as PHP writes it into a query string."""
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # PHP prints integral floats without a fraction (1.0 -> "1"); non-finite values as PHP does.
        if math.isnan(value):
            return "NAN"
        if math.isinf(value):
            return "INF" if value > 0 else "-INF"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def flatten(prefix: str, value: Any) -> FormPairs:
    """``value`` as PHP-style form fields under ``prefix`` (``data`` → ``data[KEY]``, ``data[0]`` …).

    An empty ``prefix`` flattens a top-level mapping (its keys become the field names).
    """
    out: FormPairs = []
    _flatten_into(out, prefix, value)
    return out


def _flatten_into(out: FormPairs, prefix: str, value: Any) -> None:
    if value is None:
        return  # http_build_query drops nulls
    if isinstance(value, Mapping):
        for key, item in value.items():
            name = str(key) if not prefix else f"{prefix}[{key}]"
            _flatten_into(out, name, item)
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _flatten_into(out, f"{prefix}[{index}]", item)
        return
    if not prefix:
        raise ValueError("a scalar needs a field name")
    out.append((prefix, form_value(value)))


def encode_form(pairs: Iterable[tuple[str, str]]) -> str:
    """The ``application/x-www-form-urlencoded`` text of ``pairs``, in order.

    Keys keep their brackets literal; values are fully encoded.
    """
    return "&".join(f"{quote_plus(key, safe='[]')}={quote_plus(value, safe='')}" for key, value in pairs)


def _envelope(
    event_name: str, handler_id: int | str, data: Mapping[str, Any], auth: Mapping[str, Any] | None, ts: float
) -> FormPairs:
    # Key order as the platform's queue sends it: event, event_handler_id, data[...], ts, auth[...].
    pairs: FormPairs = [("event", event_name), ("event_handler_id", form_value(handler_id))]
    pairs += flatten("data", dict(data))
    pairs.append(("ts", str(int(ts))))
    if auth is not None:
        pairs += flatten("auth", dict(auth))
    return pairs


def rest_event_body(
    event_name: str,
    handler_id: int | str,
    data: Mapping[str, Any],
    auth: Mapping[str, Any] | None,
    ts: float,
) -> FormPairs:
    """The body of a REST event (``ONEXTERNALCALLSTART`` …) for the ``event.bind`` row ``handler_id``.

    ``auth`` is the block of rest-api.md §9.8 (``access_token`` … ``application_token``), flattened in
    the order given; ``None`` sends no ``auth`` fields. ``ts`` is truncated to whole unix seconds.
    """
    return _envelope(event_name, handler_id, data, auth, ts)


def card_event_body(
    event: Event, handler_id: int | str, auth: Mapping[str, Any] | None, ts: float
) -> FormPairs:
    """The body of a card event for a REST ``placement.bindEvent`` binding (rest-api.md §9.13).

    ``data`` is ``Event.http_data()``: ``CALL_ID``, ``USER_ID``, then the payload (flattened object,
    ``value`` for scalars, ``callState`` + ``additionalParams`` for CallStateChanged). Webhook bindings
    pass ``auth=None``: no ``auth`` fields.
    """
    return _envelope(event.name, handler_id, event.http_data(), auth, ts)


def notice_body(error: str, description: str) -> FormPairs:
    """The errorHandlerUrl notice (placements.md §4): exactly ``error`` and ``error_description``.

    Deliberately no ``auth`` block and no token of any kind: the app must not be able to call REST with it.
    """
    return [("error", error), ("error_description", description)]
