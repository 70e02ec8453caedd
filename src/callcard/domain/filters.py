"""Bitrix-style list filters and ordering, applied in Python to small local tables.

The platform's list methods (``user.get``, ``crm.*.list``) take a ``FILTER`` whose keys may carry an
operator prefix (``>=ID``, ``%LAST_NAME``, ``!@ID``...). Our tables are tiny (a handful of users, a demo
CRM), so we evaluate filters over rendered rows instead of translating them to SQL: one implementation
serves every list and stays identical across stores.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["PAGE_SIZE", "matches", "order_rows", "page", "parse_key", "row_matches"]

#: The platform's fixed list page size (rest-api.md §3).
PAGE_SIZE = 50

# Longest prefixes first so that "!=%" is not read as "!" + "=%".
_OPERATORS: tuple[str, ...] = (
    "!=%", "!%=", ">=", "<=", "!@", "!=", "=%", "%=", "!%", ">", "<", "@", "%", "=", "!",
)

_TRUE = {"Y", "TRUE", "1", "ON"}
_FALSE = {"N", "FALSE", "0", "OFF", ""}


def parse_key(key: str) -> tuple[str, str]:
    """Split ``">=ID"`` into ``(">=", "ID")``; a bare key gets the operator ``""``."""
    for op in _OPERATORS:
        if key.startswith(op) and len(key) > len(op):
            return op, key[len(op):].upper()
    return "", key.upper()


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "Y" if value else "N"
    if value is None:
        return ""
    return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def _equal(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        a, e = _scalar(actual).upper(), _scalar(expected).upper()
        # Booleans arrive as true/"Y"/"true"/1 depending on the client; compare their truth.
        if a in _TRUE | _FALSE and e in _TRUE | _FALSE:
            return (a in _TRUE) == (e in _TRUE)
    na, ne = _number(actual), _number(expected)
    if na is not None and ne is not None:
        return na == ne
    return _scalar(actual).casefold() == _scalar(expected).casefold()


def _like(actual: Any, pattern: str) -> bool:
    """SQL LIKE with ``%`` wildcards, case-insensitive (MySQL's default collation)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, _scalar(actual), flags=re.IGNORECASE | re.DOTALL) is not None


def _compare(actual: Any, expected: Any, op: str) -> bool:
    na, ne = _number(actual), _number(expected)
    left: Any = na if na is not None and ne is not None else _scalar(actual)
    right: Any = ne if na is not None and ne is not None else _scalar(expected)
    if op == ">":
        return bool(left > right)
    if op == ">=":
        return bool(left >= right)
    if op == "<":
        return bool(left < right)
    return bool(left <= right)


def _values(expected: Any) -> list[Any]:
    if isinstance(expected, Mapping):
        return list(expected.values())  # urlencoded arrays arrive as {"0": ..., "1": ...}
    if isinstance(expected, (list, tuple, set)):
        return list(expected)
    return [expected]


def _positive(actual: Any, op: str, expected: Any) -> bool:
    """The operator without its negation, for one actual scalar."""
    if op in ("", "=", "@"):
        candidates = _values(expected)
        if op == "" and len(candidates) == 1 and isinstance(candidates[0], str) and "%" in candidates[0]:
            return _like(actual, candidates[0])  # CUser-style "NAME": "Iva%"
        return any(_equal(actual, c) for c in candidates)
    if op == "%":
        return any(_scalar(c).casefold() in _scalar(actual).casefold() for c in _values(expected))
    if op in ("=%", "%="):
        return any(_like(actual, _scalar(c)) for c in _values(expected))
    return _compare(actual, expected, op)


def matches(actual: Any, op: str, expected: Any) -> bool:
    """Does one field value satisfy ``op expected``? List-valued fields match if any element does."""
    negated = op.startswith("!")
    base = op[1:] if negated else op
    if base == "" and negated:
        base = "="
    items = actual if isinstance(actual, (list, tuple)) else [actual]
    hit = any(_positive(item, base, expected) for item in items) if items else False
    return not hit if negated else hit


def row_matches(
    row: Mapping[str, Any],
    filter_: Mapping[str, Any] | None,
    *,
    special: Mapping[str, Callable[[str, Any], bool]] | None = None,
    ignore: Iterable[str] = (),
) -> bool:
    """Does a rendered row satisfy every filter key? Keys naming no field are ignored, as the platform's
    list methods ignore them; ``special`` handles computed fields, ``ignore`` skips keys entirely."""
    skip = {k.upper() for k in ignore}
    for key, expected in (filter_ or {}).items():
        op, field = parse_key(str(key))
        if field in skip:
            continue
        if special and field in special:
            hit = special[field](op.lstrip("!") or "=", expected)
            if hit == op.startswith("!"):
                return False
            continue
        if field not in row:
            continue
        if not matches(row[field], op, expected):
            return False
    return True


def order_rows(rows: Sequence[Mapping[str, Any]], order: Mapping[str, Any] | None) -> list[Any]:
    """Sort rendered rows by ``{"FIELD": "ASC"|"DESC", ...}`` (first key most significant).
    Numeric-looking values sort numerically; the default is ``ID`` ascending."""
    keys = [(str(k).upper(), str(v).upper() == "DESC") for k, v in (order or {"ID": "ASC"}).items()]
    out = list(rows)
    for field, descending in reversed(keys):
        def sort_key(row: Mapping[str, Any], field: str = field) -> tuple[int, float, str]:
            value = row.get(field)
            number = _number(value)
            return (0, number, "") if number is not None else (1, 0.0, _scalar(value).casefold())

        out.sort(key=sort_key, reverse=descending)
    return out


def page(rows: Sequence[Any], start: int | None) -> list[Any]:
    """One page of ``PAGE_SIZE`` rows from offset ``start`` (negative or None counts as 0)."""
    offset = max(int(start or 0), 0)
    return list(rows[offset:offset + PAGE_SIZE])
