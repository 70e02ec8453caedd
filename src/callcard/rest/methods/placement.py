"""``placement.*``: bind / unbind / get / list (placements.md §2), and the REST forms of ``placement.call``
and ``placement.bindEvent`` (rest-api.md §9.12–9.13, README decision 6).

bind/unbind/get/list need an app (OAuth) context: the registry answers ``WRONG_AUTH_TYPE`` to webhooks
before the domain (``Placements``) checks admin rights, arguments and limits in the documented order.
placement.call and placement.bindEvent work for webhooks and apps alike, and disappear
(``ERROR_METHOD_NOT_FOUND``) under ``settings.strict_placement_rest``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.cards import NO_REPLY
from ...domain.conformance import HIDDEN_UI_STATE
from ...errors import argument_error, error
from ...settings import Settings
from ..registry import CallContext, Registry
from .support import calling_app, php_flag, publish, upper_keys

__all__ = ["register_placement", "rest_placement_enabled"]

_SCOPE = "placement"


def rest_placement_enabled(settings: Settings) -> bool:
    """README decision 6's off switch: under ``strict_placement_rest`` the REST forms do not exist."""
    return not settings.strict_placement_rest


# -- bind / unbind / get / list -------------------------------------------------------------------------


def placement_bind(ctx: CallContext, raw: dict[str, Any]) -> bool:
    """§2.1: register a handler; ``true``, or the first error in the documented order."""
    return bool(ctx.services.placements.bind(calling_app(ctx), ctx.caller.is_admin, raw))


def placement_unbind(ctx: CallContext, raw: dict[str, Any]) -> dict[str, int]:
    """§2.2: ``{"count": rows removed}``."""
    return ctx.services.placements.unbind(calling_app(ctx), ctx.caller.is_admin, raw)  # type: ignore[no-any-return]


def placement_get(ctx: CallContext, raw: dict[str, Any]) -> list[dict[str, Any]]:
    """§2.3: the calling app's registrations."""
    return ctx.services.placements.get(calling_app(ctx), ctx.caller.is_admin)  # type: ignore[no-any-return]


def placement_list(ctx: CallContext, raw: dict[str, Any]) -> list[str]:
    """§2.4: placement codes; SCOPE wins over FULL."""
    p = upper_keys(raw)
    scope = p.get("SCOPE")
    full = php_flag(p.get("FULL")) if p.get("FULL") is not None else False
    return ctx.services.placements.list_codes(  # type: ignore[no-any-return]
        calling_app(ctx), None if scope is None else str(scope), full
    )


# -- placement.call (REST form) -------------------------------------------------------------------------


def placement_call(ctx: CallContext, raw: dict[str, Any]) -> Any:
    """Apply a card command to the CALLING user's open card; the result is exactly the payload a frame
    would get (``[]``, the 12 states, the getStatus object, the "Call card is undefined" array), ``null``
    for the timers that never call back. An unknown command is ERROR_ARGUMENT (a frame would get
    silence; REST must answer)."""
    p = upper_keys(raw)
    command = p.get("PLACEMENT")
    if not isinstance(command, str) or not command.strip():
        raise argument_error("PLACEMENT")
    command = command.strip()
    params = p.get("PARAMS")
    if params is None or params == "" or params == []:
        params = {}  # PHP's empty array arrives as "" (legacy BX24) or [] (JSON)
    elif isinstance(params, Mapping):
        params = dict(params)
    user_id = ctx.caller.user_id
    outcome = ctx.services.cards.command(user_id, command, params, owner=True, mark_used=True)
    if not outcome.known:
        raise error("ERROR_ARGUMENT", f"Unknown command '{command}'", argument="PLACEMENT")
    if outcome.hidden_ui_state:
        state = outcome.hidden_ui_state
        ctx.services.conformance.record(
            ctx.caller.app_id, HIDDEN_UI_STATE,
            message=f"CallCardSetUiState to undocumented state {state} (REST placement.call)",
            detail={"uiState": state},
        )
    # the card may have changed without an event (title, mute flag, used): always push it
    publish(ctx, outcome.events, [user_id])
    return None if outcome.reply is NO_REPLY else outcome.reply


# -- placement.bindEvent (REST form) --------------------------------------------------------------------


def placement_bind_event(ctx: CallContext, raw: dict[str, Any]) -> bool:
    """Bind an HTTP handler to a card event (CallCard::* or BackgroundCallCard::*) of every user's card.
    Re-binding the same (app or webhook, event, handler) answers ``true`` and adds nothing."""
    p = upper_keys(raw)
    caller = ctx.caller
    app_id = calling_app(ctx).id if caller.is_app else None
    webhook_id = None if caller.is_app else caller.webhook_id
    return bool(ctx.services.card_handlers.bind(
        app_id, webhook_id, caller.user_id, p.get("PLACEMENT"), p.get("HANDLER")
    ))


def register_placement(registry: Registry, settings: Settings) -> None:
    """Add placement.bind/unbind/get/list and, unless ``strict_placement_rest``, placement.call and
    placement.bindEvent."""
    app_only = {"scope": _SCOPE, "app_only": True}
    registry.add("placement.bind", placement_bind, summary="Register a widget handler (admin)",
                 description="PLACEMENT, HANDLER (req); TITLE, DESCRIPTION, GROUP_NAME, LANG_ALL, OPTIONS, "
                             "USER_ID. See placements.md §2.1.", **app_only)
    registry.add("placement.unbind", placement_unbind, summary="Remove widget handlers (admin)",
                 description="PLACEMENT (req); HANDLER, USER_ID. Result {count}.", **app_only)
    registry.add("placement.get", placement_get, summary="The app's widget handlers (admin)", **app_only)
    registry.add("placement.list", placement_list, summary="Placement codes available to the app",
                 description="SCOPE, FULL.", **app_only)
    if not rest_placement_enabled(settings):
        return
    registry.add("placement.call", placement_call, scope=_SCOPE, enabled_if=rest_placement_enabled,
                 summary="Run a call-card command on the calling user's open card",
                 description="PLACEMENT: the command (CallCard* or getStatus/disableAutoClose/"
                             "enableAutoClose); PARAMS: its object. Result: the frame's payload.")
    registry.add("placement.bindEvent", placement_bind_event, scope=_SCOPE,
                 enabled_if=rest_placement_enabled,
                 summary="Bind an HTTP handler to a call-card event",
                 description="PLACEMENT: CallCard::* or BackgroundCallCard::* event; HANDLER: http(s) URL.")
