"""Who is calling (rest-api.md §1, §4, §8) and what they may call.

The REST surface never looks at tokens or webhook codes itself: an ``AuthResolver`` (implemented on top
of the directory) turns them into a ``Caller`` or raises the catalogue's error (``invalid_token``,
``expired_token``, ``INVALID_CREDENTIALS``, ``user_access_error``). This module then applies the
per-method rules in the platform's order: scope (``insufficient_scope``), application context
(``WRONG_AUTH_TYPE``), administrator (``ACCESS_DENIED``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from ..errors import error

if TYPE_CHECKING:
    from .registry import Method

__all__ = ["AuthResolver", "Caller", "authenticate", "check_access"]


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: an app acting for a user (OAuth) or a user's inbound webhook."""

    kind: Literal["app", "webhook"]
    user_id: int
    app_id: int | None = None
    webhook_id: int | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    is_admin: bool = False
    access_token: str | None = None

    @property
    def is_app(self) -> bool:
        return self.kind == "app"

    @property
    def owner_key(self) -> str:
        """The key operating-time limits are counted under: the app, or the webhook."""
        if self.kind == "app":
            return f"app:{self.app_id}"
        return f"webhook:{self.webhook_id}"


class AuthResolver(Protocol):
    """Turns credentials into a ``Caller``; both methods raise catalogue errors (``BitrixError``)."""

    def from_token(self, token: str) -> Caller:
        """The caller an OAuth access token belongs to (``invalid_token`` / ``expired_token``)."""
        ...

    def from_webhook(self, user_id: int, code: str) -> Caller:
        """The caller of ``/rest/{user_id}/{code}/`` (``INVALID_CREDENTIALS``)."""
        ...


def authenticate(resolver: AuthResolver, token: str | None, webhook: tuple[int, str] | None) -> Caller:
    """Resolve the caller of one request: the webhook path wins over a token; neither -> NO_AUTH_FOUND."""
    if webhook is not None:
        return resolver.from_webhook(webhook[0], webhook[1])
    if token:
        return resolver.from_token(token)
    raise error("NO_AUTH_FOUND")


def check_access(method: Method, caller: Caller, *, enforce_scopes: bool) -> None:
    """Raise the first access error ``caller`` hits for ``method``, in the platform's order."""
    if enforce_scopes and method.scope and method.scope not in caller.scopes:
        raise error("insufficient_scope")
    if method.app_only and caller.kind != "app":
        raise error("WRONG_AUTH_TYPE")
    if method.admin_only and not caller.is_admin:
        raise error("ACCESS_DENIED")
