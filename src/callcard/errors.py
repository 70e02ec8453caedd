"""The error catalogue: every platform error callcard can answer, in one place.

Hierarchy::

    CallcardError                 anything callcard raises on purpose
    ├── BitrixError               a platform error: code + HTTP status + description (+ extra keys);
    │                             renders the REST envelope {"error", "error_description", ...}
    └── ConfigurationError        callcard itself is mis-configured (bad settings, bad data dir)

Domain code raises ``BitrixError`` through the catalogue (``raise error("ERROR_CORE", "Unknown TYPE")``);
the REST surface catches it and renders ``envelope()`` with ``status``. Nothing else is rendered to a
client: an unexpected exception becomes ``INTERNAL_SERVER_ERROR`` (and is logged), never a traceback.

Call-card command failures (``[{"result":"error","errorCode":"Call card is undefined"}]``) are *reply
payloads* of the postMessage wire, not REST errors; they live in ``callcard.domain.cardreplies``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["CATALOGUE", "BitrixError", "CallcardError", "ConfigurationError", "ErrorSpec", "error"]


@dataclass(frozen=True)
class ErrorSpec:
    """One row of the catalogue: the platform's HTTP status and default description for a code."""

    status: int
    description: str


#: code -> (HTTP status, default description). Statuses follow rest-api.md §4 and placements.md §2.
CATALOGUE: dict[str, ErrorSpec] = {
    "ERROR_CORE": ErrorSpec(400, "Internal error"),
    "ERROR_ARGUMENT": ErrorSpec(400, "Argument is null or empty"),
    "INVALID_ARGUMENT": ErrorSpec(400, "Invalid argument"),
    "INVALID_REQUEST": ErrorSpec(400, "Invalid request"),
    "ERROR_BATCH_LENGTH_EXCEEDED": ErrorSpec(400, "Max batch length exceeded"),
    "ERROR_PLACEMENT_NOT_FOUND": ErrorSpec(400, "Placement not found"),
    "ERROR_UNSUPPORTED_PROTOCOL": ErrorSpec(400, "Unsupported event handler protocol"),
    "ERROR_WRONG_HANDLER_URL": ErrorSpec(400, "Wrong handler URL"),
    "ERROR_PLACEMENT_USER_MODE": ErrorSpec(400, "User mode is not available"),
    "ERROR_PLACEMENT_MAX_COUNT": ErrorSpec(400, "Placement max count exceeded"),
    "EMPTY_ERROR_HANDLER_URL": ErrorSpec(200, "Field errorHandlerUrl is empty."),
    "ERROR_EVENT_NOT_FOUND": ErrorSpec(400, "Event not found"),
    "ERROR_HANDLER_ALREADY_EXIST": ErrorSpec(400, "Handler already exists"),
    "ERROR_NOT_FOUND": ErrorSpec(400, "Not found"),
    "NO_AUTH_FOUND": ErrorSpec(401, "Wrong authorization data"),
    "expired_token": ErrorSpec(401, "The access token provided has expired"),
    "invalid_token": ErrorSpec(401, "The access token provided is invalid"),
    "invalid_grant": ErrorSpec(400, "Invalid refresh token"),
    "invalid_client": ErrorSpec(401, "Invalid client credentials"),
    "INVALID_CREDENTIALS": ErrorSpec(401, "Invalid request credentials"),
    "WRONG_AUTH_TYPE": ErrorSpec(
        403, "Current authorization type is denied for this method Application context required"
    ),
    "ACCESS_DENIED": ErrorSpec(403, "Access denied!"),
    "insufficient_scope": ErrorSpec(403, "The request requires higher privileges"),
    "user_access_error": ErrorSpec(403, "The user does not have access to the application"),
    "ERROR_METHOD_NOT_FOUND": ErrorSpec(404, "Method not found!"),
    "ERROR_BATCH_METHOD_NOT_ALLOWED": ErrorSpec(405, "Method is not allowed for batch usage"),
    "OPERATION_TIME_LIMIT": ErrorSpec(429, "Method is blocked due to operation time limit."),
    "INTERNAL_SERVER_ERROR": ErrorSpec(500, "Internal server error"),
    "QUERY_LIMIT_EXCEEDED": ErrorSpec(503, "Too many requests"),
}


class CallcardError(Exception):
    """Base of everything callcard raises on purpose."""


class ConfigurationError(CallcardError):
    """callcard is mis-configured (settings, data directory); never a client's mistake."""


class BitrixError(CallcardError):
    """A platform error with its code, HTTP status and description; ``envelope()`` renders it.

    ``extra`` keys (e.g. ``argument``) are added to the envelope beside ``error`` and
    ``error_description``, as the platform does for ``ERROR_ARGUMENT``.
    """

    def __init__(self, code: str, description: str, status: int, extra: dict[str, Any] | None = None):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.status = status
        self.extra: dict[str, Any] = dict(extra or {})

    def envelope(self) -> dict[str, Any]:
        """The platform's error body: ``{"error": CODE, "error_description": TEXT, **extra}``."""
        body: dict[str, Any] = {"error": self.code, "error_description": self.description}
        body.update(self.extra)
        return body

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BitrixError):
            return NotImplemented
        return (self.code, self.description, self.status, self.extra) == (
            other.code,
            other.description,
            other.status,
            other.extra,
        )

    __hash__ = None  # type: ignore[assignment]


def error(code: str, description: str | None = None, *, status: int | None = None, **extra: Any) -> BitrixError:
    """Build the catalogue's error for ``code``.

    ``description`` overrides the catalogue text (the platform varies it per method, e.g. ERROR_CORE);
    ``status`` overrides the HTTP status (e.g. INVALID_CREDENTIALS under a compatibility setting).
    An unknown code is a programming mistake and raises ``KeyError``.
    """
    spec = CATALOGUE[code]
    return BitrixError(
        code,
        spec.description if description is None else description,
        spec.status if status is None else status,
        extra,
    )


def argument_error(name: str) -> BitrixError:
    """``ERROR_ARGUMENT`` for a missing or empty argument, with the platform's text and ``argument`` key."""
    return error("ERROR_ARGUMENT", f"Argument '{name}' is null or empty", argument=name)


__all__ += ["argument_error"]
