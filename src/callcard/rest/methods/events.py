"""``event.bind`` / ``event.unbind`` / ``event.get`` (rest-api.md §9.7): REST event handlers of an app.

All three need an app context (webhooks: ``WRONG_AUTH_TYPE``) and an administrator (``ACCESS_DENIED``);
the registry checks both, in that order. The domain (``EventHandlers``) validates the rest: the event
name (``ERROR_EVENT_NOT_FOUND``), the handler URL, duplicates (``ERROR_HANDLER_ALREADY_EXIST``).
"""

from __future__ import annotations

from typing import Any

from ..registry import CallContext, Registry
from .support import calling_app

__all__ = ["register_events"]


def event_bind(ctx: CallContext, raw: dict[str, Any]) -> bool:
    """Bind ``handler`` to ``event`` (case-insensitive, stored upper-cased) for ``auth_type``'s user."""
    return bool(ctx.services.event_handlers.bind(calling_app(ctx), ctx.caller.is_admin, raw))


def event_unbind(ctx: CallContext, raw: dict[str, Any]) -> dict[str, int]:
    """Remove matching handlers: ``{"count": n}``."""
    return ctx.services.event_handlers.unbind(calling_app(ctx), ctx.caller.is_admin, raw)  # type: ignore[no-any-return]


def event_get(ctx: CallContext, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """The app's handlers: ``[{event, handler, auth_type, offline}]``."""
    return ctx.services.event_handlers.get(calling_app(ctx))  # type: ignore[no-any-return]


def register_events(registry: Registry) -> None:
    """Add event.bind / event.unbind / event.get (admin, app only) to ``registry``."""
    rules = {"app_only": True, "admin_only": True}
    registry.add("event.bind", event_bind, summary="Bind an HTTP handler to a REST event",
                 description="event (req), handler (req for online events), auth_type, event_type "
                             "(online/offline), auth_connector, options. Events: ONEXTERNALCALLSTART, "
                             "ONEXTERNALCALLBACKSTART, ONAPPINSTALL, ONAPPUNINSTALL.", **rules)
    registry.add("event.unbind", event_unbind, summary="Unbind REST event handlers",
                 description="event, handler, auth_type, event_type. Result {count}.", **rules)
    registry.add("event.get", event_get, summary="The app's REST event handlers", **rules)
