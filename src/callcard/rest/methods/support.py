"""Helpers shared by the method modules: PHP-style coercion, the calling app, event publishing.

The platform's PHP methods mostly *cast* their parameters instead of validating them (``(int)``,
``(string)``, ``!= false``), so a wrong value rarely produces an argument error there; it produces the
method's own error further on (``"Unknown TYPE"``, ``"Call is not found"``...). The ``Php*`` annotated
types below reproduce those casts, so a parameter model documents a method (OpenAPI) without inventing
errors the platform never raises.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import BeforeValidator

from ...errors import error
from ..types import to_bool

if TYPE_CHECKING:
    from ...domain.apps import App
    from ...domain.events import Event
    from ..registry import CallContext, Registry

__all__ = [
    "PhpFlag",
    "PhpFloat",
    "PhpInt",
    "PhpStr",
    "calling_app",
    "php_flag",
    "php_float",
    "php_int",
    "php_str",
    "php_truthy",
    "publish",
    "registry_of",
    "resolve",
    "upper_keys",
]

_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_FLOAT_PREFIX = re.compile(r"\s*([+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")


def php_truthy(value: Any) -> bool:
    """PHP's ``(bool)``: false for None, False, 0, 0.0, "", "0" and empty arrays; true otherwise
    (so the string ``"false"`` is true, as the platform documents for ``scope``/``methods`` ``full``)."""
    if value is None or value is False:
        return False
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value not in ("", "0")
    if isinstance(value, Mapping | list | tuple):
        return len(value) > 0
    return True


def php_int(value: Any) -> int:
    """PHP's ``(int)`` / ``intval``: ``"15abc"`` → 15, anything unparsable → 0, never an error."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value == value and abs(value) != float("inf") else 0
    if isinstance(value, str):
        match = _INT_PREFIX.match(value)
        return int(match.group(1)) if match else 0
    if isinstance(value, Mapping | list | tuple):
        return 1 if value else 0
    return 0


def php_float(value: Any) -> float:
    """PHP's ``(double)``: the leading number of a string, 0.0 for anything else."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _FLOAT_PREFIX.match(value)
        return float(match.group(1)) if match else 0.0
    return 0.0


def php_str(value: Any) -> str:
    """PHP's ``(string)``: booleans as "1"/"", integral floats without a fraction, arrays as ""."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "1" if value else ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    return ""


def php_flag(value: Any) -> bool:
    """A Y/N-style flag: the usual spellings (1/0, Y/N, true/false...) first, PHP truthiness otherwise."""
    try:
        return to_bool(value)
    except ValueError:
        return php_truthy(value)


PhpInt = Annotated[int, BeforeValidator(php_int)]
"""An integer read as PHP's ``(int)``: never fails."""
PhpFloat = Annotated[float, BeforeValidator(php_float)]
"""A float read as PHP's ``(double)``: never fails."""
PhpStr = Annotated[str, BeforeValidator(php_str)]
"""A string read as PHP's ``(string)``: never fails."""
PhpFlag = Annotated[bool, BeforeValidator(php_flag)]
"""A flag: 1/"Y"/"true"/true are true, 0/"N"/"false"/""/false are false."""


def upper_keys(params: Mapping[str, Any]) -> dict[str, Any]:
    """``array_change_key_case($params, CASE_UPPER)``."""
    return {str(k).upper(): v for k, v in params.items()}


def resolve(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A parameter the way CRM's ``resolveParam`` finds it: lower case, then upper case, then any case."""
    for key in (name.lower(), name.upper()):
        if key in params and params[key] is not None:
            return params[key]
    wanted = name.upper()
    for key, value in params.items():
        if str(key).upper() == wanted and value is not None:
            return value
    return default


def calling_app(ctx: CallContext) -> App:
    """The app an OAuth caller acts for. App-only methods call this after the registry's
    ``WRONG_AUTH_TYPE`` check, so a missing app means its token outlived it (``invalid_token``)."""
    app_id = ctx.caller.app_id
    app = ctx.services.directory.apps.get_app(app_id) if app_id is not None else None
    if app is None:
        raise error("WRONG_AUTH_TYPE") if app_id is None else error("invalid_token")
    return app  # type: ignore[no-any-return]


def publish(ctx: CallContext, events: Iterable[Event], touched: Iterable[int | None] = ()) -> None:
    """Hand what a card-affecting call caused to the hub: the events go to pages, HTTP handlers and the
    timeline, and the cards of ``touched`` users (plus every event's user) are pushed to their pages.
    Called even without events when a card may have changed silently (a title, a mute flag)."""
    events = list(events)
    users = sorted({int(u) for u in touched if u is not None})
    if not events and not users:
        return
    hub = getattr(ctx.services, "hub", None)
    if hub is not None:
        hub.publish(events, touched=users)


def registry_of(ctx: CallContext) -> Registry:
    """The registry serving this call (``methods`` and ``scope`` describe it)."""
    dispatcher = ctx.dispatcher
    registry = getattr(dispatcher, "registry", None)
    if registry is None:
        registry = getattr(ctx.services, "registry", None)
    if registry is None:
        raise error("INTERNAL_SERVER_ERROR")
    return registry  # type: ignore[no-any-return]
