"""JSON on the hot paths: orjson where it gives exactly what the standard library gives, the standard
library everywhere else.

``loads`` is ``json.loads``. orjson parses the same grammar into the same values, with these exceptions,
which all fall back to ``json.loads`` (so the value, or the exception, is the stdlib's):

* integers beyond 64 bits (orjson turns them into floats): any text holding a run of 19 or more digits
  is handed to the stdlib unparsed, which is conservative and cheap;
* ``NaN`` / ``Infinity`` literals, lone surrogates, UTF-16/32 input, overflowing floats: orjson refuses
  them, the stdlib decides.

``dumps_text`` is ``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` for the store's JSON
columns, through orjson only for plain data without non-finite floats, so the text means the same.

``dumps`` renders what ``json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=...)``
renders, as UTF-8 bytes: the same values, keys and order (orjson spells a few floats differently, e.g.
``1e16`` for ``1e+16``, which any parser reads as the same number). Datetimes and dataclasses go to
``default``, as they did; whatever orjson refuses (non-string keys, integers beyond 64 bits, circular
data) is encoded by the stdlib, so its output or its exception is unchanged. The one difference: a
non-finite float, which the stdlib wrote as the bare token ``NaN`` / ``Infinity`` (not JSON; every
client's parser rejects the whole body), comes out as ``null``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson

__all__ = ["dumps", "dumps_text", "loads"]

#: every ASCII digit as "0", so that a run of 19 digits is one substring search (a regex is 5x slower)
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19
_DUMP_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def loads(text: str | bytes | bytearray) -> Any:
    """``json.loads(text)``: same values, same exceptions."""
    try:
        raw = text.encode() if isinstance(text, str) else text
    except UnicodeEncodeError:  # lone surrogates: orjson refuses them anyway
        return json.loads(text)
    if _LONG_NUMBER not in raw.translate(_DIGITS_AS_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # the stdlib either accepts it (NaN, surrogates, UTF-16...) or raises its own error
    return json.loads(text)


def dumps(value: Any, default: Callable[[Any], Any], fallback: json.JSONEncoder) -> bytes:
    """Compact UTF-8 JSON of ``value``; ``fallback`` (an encoder built with ``default``) takes what
    orjson refuses."""
    try:
        return orjson.dumps(value, default=default, option=_DUMP_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return fallback.encode(value).encode("utf-8")


_SCALARS = frozenset({str, int, bool, type(None)})
_STDLIB_TEXT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def dumps_text(value: Any) -> str:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"))``, as text. orjson writes it when
    ``value`` is plain JSON data (dicts with string keys, lists, tuples, strings, numbers, booleans,
    None) with no non-finite float, which is the only such data it would write differently."""
    if not value and (type(value) is list or type(value) is dict):
        return "[]" if type(value) is list else "{}"  # the usual empty column, without either encoder
    if _plain(value):
        try:
            return orjson.dumps(value).decode()
        except TypeError:  # e.g. an integer beyond 64 bits
            pass
    return _STDLIB_TEXT(value)


def _plain(value: Any) -> bool:
    # A loop, not recursion: this runs on every JSON column written, and Python calls are dear.
    stack = [value]
    pop, push = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is dict:
            for key in item:
                if type(key) is not str:
                    return False
            push(item.values())
        elif kind is list or kind is tuple:
            push(item)
        elif kind is float:
            if item - item != 0.0:  # NaN or an infinity
                return False
        else:
            return False
    return True
