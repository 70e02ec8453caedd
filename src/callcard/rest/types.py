"""Parameter types that coerce values the way the platform's PHP methods read them.

Urlencoded bodies deliver every value as a string (``"1"``, ``"Y"``, ``""``) and PHP arrays as dicts with
numeric keys; JSON bodies deliver real types. These annotated pydantic types accept both::

    class FinishParams(BxModel):
        CALL_ID: BxRequiredStr
        USER_ID: BxInt | None = None
        DURATION: BxInt = 0
        ADD_TO_CHAT: BxBool = True
        USERS: BxList[BxInt] = []

``parse_params(Model, raw)`` validates and turns the first pydantic error into the catalogue's envelope:
a missing (or null, or empty where emptiness is not a value) argument is ``ERROR_ARGUMENT`` "Argument 'X'
is null or empty"; a value of the wrong kind is ``INVALID_ARGUMENT`` "X must be an integer". Both carry
``argument``.
"""

from __future__ import annotations

import re
import typing
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal, TypeVar, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from ..errors import BitrixError, argument_error, error

__all__ = [
    "BxBool",
    "BxDateTime",
    "BxDict",
    "BxFile",
    "BxFloat",
    "BxInt",
    "BxList",
    "BxModel",
    "BxRequiredStr",
    "BxStr",
    "EmptyIsMissing",
    "parse_params",
    "to_bool",
    "validation_error",
]

T = TypeVar("T")

_TRUE = frozenset({"1", "y", "yes", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "false", "off", ""})
_INT_RE = re.compile(r"[+-]?\d+")
_FLOAT_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")


class EmptyIsMissing:
    """Marker: for this type an empty string means "not given" (PHP ``name=``), so defaults apply."""

    def __repr__(self) -> str:
        return "EmptyIsMissing()"


EMPTY_IS_MISSING = EmptyIsMissing()


def _bad(kind: str, message: str) -> PydanticCustomError:
    return PydanticCustomError(f"bx_{kind}", message)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise _bad("bool", "must be a boolean")


def to_bool(value: Any) -> bool:
    """``BxBool``'s coercion as a plain function; raises ``ValueError`` for anything else."""
    return _to_bool(value)


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _INT_RE.fullmatch(text):
            return int(text)
        if _FLOAT_RE.fullmatch(text) and float(text).is_integer():
            return int(float(text))  # "12.0", as a JSON client may stringify a float
    raise _bad("int", "must be an integer")


def _to_float(value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            pass
        else:
            if number == number and number not in (float("inf"), float("-inf")):
                return number
    raise _bad("float", "must be a number")


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else ""  # PHP's (string)true / (string)false
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    raise _bad("str", "must be a string")


def _to_required_str(value: Any) -> str:
    text = _to_str(value)
    if not text.strip():
        raise _bad("empty", "is null or empty")
    return text


def _to_list(value: Any) -> list[Any]:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, Mapping):
        # A PHP array posted as name[0]=..&name[1]=.. arrives as a dict; array_values() order.
        return list(value.values())
    if value == "":
        return []  # legacy BX24 sends an empty array as "name="
    raise _bad("list", "must be an array")


def _to_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list | tuple):
        return {str(i): v for i, v in enumerate(value)}  # PHP: a list is an array with keys 0..n-1
    if value == "":
        return {}
    raise _bad("dict", "must be an object")


def _to_file(value: Any) -> tuple[str, str]:
    if isinstance(value, Mapping):
        value = [value.get("0", value.get(0)), value.get("1", value.get(1))]
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return (value[0], value[1])
    raise _bad("file", "must be a [filename, base64 content] pair")


def _to_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            pass
    raise _bad("datetime", "must be a date in ISO-8601 format")


BxBool = Annotated[bool, BeforeValidator(_to_bool)]
"""True for 1, "1", "Y", "yes", "true", "on"; False for 0, "0", "N", "no", "false", "off", ""."""
BxInt = Annotated[int, BeforeValidator(_to_int), EMPTY_IS_MISSING]
"""An integer from int, integral float or numeric string; "" counts as not given."""
BxFloat = Annotated[float, BeforeValidator(_to_float), EMPTY_IS_MISSING]
"""A float from a number or numeric string; "" counts as not given."""
BxStr = Annotated[str, BeforeValidator(_to_str)]
"""A string; numbers are stringified (JSON 79001234567 for a phone), arrays are refused."""
BxRequiredStr = Annotated[str, BeforeValidator(_to_required_str)]
"""A string that must not be blank: "" or "  " is ERROR_ARGUMENT "Argument 'X' is null or empty"."""
BxList = Annotated[list[T], BeforeValidator(_to_list)]
"""``BxList[BxInt]``: a list from a JSON array, a PHP dict with numeric keys, or "" (empty)."""
BxDict = Annotated[dict[str, Any], BeforeValidator(_to_dict)]
"""An object; a JSON array (PHP's empty ``[]``) and "" become dicts too."""
BxFile = Annotated[tuple[str, str], BeforeValidator(_to_file)]
"""``(filename, base64)``: from a multipart file part, ``[name, b64]`` or ``name[0]=..&name[1]=..``."""
BxDateTime = Annotated[datetime, BeforeValidator(_to_datetime), EMPTY_IS_MISSING]
"""An ISO-8601 date-time (``Z`` accepted); "" counts as not given."""


def _has_marker(annotation: Any, metadata: list[Any]) -> bool:
    if any(isinstance(m, EmptyIsMissing) for m in metadata):
        return True
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _has_marker(typing.get_args(annotation)[0], list(annotation.__metadata__))
    if origin is Union or type(annotation).__name__ == "UnionType":
        return any(_has_marker(arg, []) for arg in typing.get_args(annotation))
    return False


#: per model class: the input keys whose "" means "not given" (computed once per class)
_EMPTY_KEYS: weakref.WeakKeyDictionary[type[BaseModel], frozenset[str]] = weakref.WeakKeyDictionary()


class BxModel(BaseModel):
    """Base for method parameter models: unknown keys are ignored (as the platform ignores them),
    ``null`` means "not given", and "" means "not given" for numeric/date fields.

    Set ``bx_key_case = "upper"`` (or ``"lower"``) to fold incoming keys first, as PHP methods do with
    ``array_change_key_case`` — then ``user_id`` and ``USER_ID`` both reach the field ``USER_ID``.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    bx_key_case: ClassVar[Literal["upper", "lower"] | None] = None

    @classmethod
    def _empty_is_missing_keys(cls) -> frozenset[str]:
        cached = _EMPTY_KEYS.get(cls)
        if cached is None:
            keys: set[str] = set()
            for name, field in cls.model_fields.items():
                if _has_marker(field.annotation, list(field.metadata)):
                    keys.add(name)
                    if field.alias:
                        keys.add(field.alias)
            cached = _EMPTY_KEYS[cls] = frozenset(keys)
        return cached

    @model_validator(mode="before")
    @classmethod
    def _bx_prepare(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        items: Iterable[tuple[Any, Any]] = data.items()
        if cls.bx_key_case == "upper":
            items = ((k.upper() if isinstance(k, str) else k, v) for k, v in items)
        elif cls.bx_key_case == "lower":
            items = ((k.lower() if isinstance(k, str) else k, v) for k, v in items)
        empty_missing = cls._empty_is_missing_keys()
        return {
            k: v
            for k, v in items
            if v is not None and not (v == "" and isinstance(v, str) and k in empty_missing)
        }


def _php_path(loc: tuple[int | str, ...], data: Any) -> tuple[str, str]:
    """(top-level argument, PHP-style path) of an error location, skipping pydantic's union tags.

    Union members add tags such as ``'int'`` to ``loc``; only elements that really index the input
    are kept, so the path names what the client sent (``FIELDS[PHONE][0]``).
    """
    if not loc:
        return ("", "")
    top = str(loc[0])
    path = top
    node = data.get(loc[0]) if isinstance(data, Mapping) else None
    for part in loc[1:]:
        if isinstance(node, Mapping) and (part in node or str(part) in node):
            node = node.get(part, node.get(str(part)))
        elif isinstance(node, list | tuple) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            continue
        path += f"[{part}]"
    return (top, path)


def validation_error(exc: ValidationError, data: Any = None) -> BitrixError:
    """The catalogue error for the first problem pydantic found (fields in declaration order)."""
    errors = exc.errors(include_url=False)
    if not errors:
        return error("INVALID_ARGUMENT")
    first = errors[0]
    top, path = _php_path(tuple(first["loc"]), data)
    kind = first["type"]
    if not path:
        message = str(first["msg"]).removeprefix("Value error, ")
        return error("INVALID_ARGUMENT", message)
    if kind in ("missing", "bx_empty"):
        return argument_error(path)
    message = str(first["msg"])
    if kind.startswith("bx_"):
        description = f"{path} {message}"
    else:
        description = f"{path}: {message.removeprefix('Value error, ')}"
    return error("INVALID_ARGUMENT", description, argument=top if path == top else path)


_M = TypeVar("_M", bound=BaseModel)


def parse_params(model: type[_M], params: Mapping[str, Any]) -> _M:
    """Validate raw request parameters into ``model``; raise the catalogue error on failure."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise validation_error(exc, params) from None
