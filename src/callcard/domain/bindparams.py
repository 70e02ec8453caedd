"""Request-parameter helpers shared by the registration methods (placement.bind, event.bind...).

* ``app_view``: the app fields the registries need, from an ``apps`` row dict or a ``Directory`` App;
* ``check_handler_url``: the platform's handler URL rules (scheme, host with a dot);
* ``php_int``, ``label_text``, ``type_error``: PHP-compatible coercion of request values and the
  platform's ERROR_ARGUMENT wording for a wrong type.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, Protocol
from urllib.parse import urlsplit

from ..errors import BitrixError, error

__all__ = [
    "AppLike",
    "AppRef",
    "AppView",
    "app_view",
    "check_handler_url",
    "label_text",
    "php_int",
    "type_error",
]


class AppLike(Protocol):
    """An app as ``Directory`` hands it out (``domain.directory.App``); an ``apps`` row dict works too."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def scopes(self) -> Sequence[str]: ...


AppRef = Mapping[str, Any] | AppLike


class AppView(NamedTuple):
    id: int
    name: str
    scopes: tuple[str, ...]


def app_view(app: AppRef) -> AppView:
    """The three things placements and handlers need of an app, from a row dict or an ``App``."""
    if isinstance(app, Mapping):
        return AppView(int(app["id"]), str(app.get("name") or ""), tuple(app.get("scopes") or ()))
    return AppView(int(app.id), str(app.name or ""), tuple(app.scopes or ()))


def check_handler_url(url: str, *, strict: bool) -> bool:
    """Validate a handler URL as the platform does; return True when its host has no dot.

    * scheme not http/https -> ``ERROR_UNSUPPORTED_PROTOCOL``;
    * no host at all -> ``ERROR_WRONG_HANDLER_URL`` (nothing could ever load it);
    * host without a dot (``localhost``) -> ``ERROR_WRONG_HANDLER_URL`` only when ``strict``; otherwise
      accepted, and the True return tells the caller to write the conformance warning.
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        raise error("ERROR_WRONG_HANDLER_URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise error("ERROR_UNSUPPORTED_PROTOCOL")
    if not host:
        raise error("ERROR_WRONG_HANDLER_URL")
    # The platform wants a dot after the first character (strpos(host, '.') > 0).
    dotless = host.find(".") <= 0
    if dotless and strict:
        raise error("ERROR_WRONG_HANDLER_URL")
    return dotless


def type_error(name: str, required: str) -> BitrixError:
    """The platform's ERROR_ARGUMENT for a value of the wrong type (ArgumentTypeException wording)."""
    return error(
        "ERROR_ARGUMENT", f"The value of an argument '{name}' must be of type {required}", argument=name
    )


def label_text(params: Mapping[str, Any], name: str) -> str:
    """An optional label parameter as a trimmed string (numbers are accepted, as PHP would)."""
    value = params.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise type_error(name, "string")
    return str(value).strip()


def php_int(value: Any) -> int:
    """PHP's ``(int)`` on a request value: ``"15"`` and ``"15abc"`` -> 15, anything unparsable -> 0."""
    if isinstance(value, int | float):
        return int(value)
    match = re.match(r"\s*([+-]?\d+)", value) if isinstance(value, str) else None
    return int(match.group(1)) if match else 0


def record_dotless_host(
    conformance: Any, app_id: int, method: str, name: str, handler: str, detail: Mapping[str, Any]
) -> None:
    """The conformance warning for a handler host without a dot, accepted because ``strict_handler_url``
    is off (placement.bind and event.bind share it)."""
    from .conformance import DOTLESS_HANDLER_HOST

    conformance.record(
        app_id,
        DOTLESS_HANDLER_HOST,
        message=f"{method} {name}: handler host has no dot: {handler}",
        detail={**detail, "handler": handler},
    )

