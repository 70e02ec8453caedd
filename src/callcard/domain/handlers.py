"""HTTP handler registries: REST ``event.bind`` handlers and REST ``placement.bindEvent`` card handlers.

* ``EventHandlers`` — event.bind / event.unbind / event.get (rest-api.md §9.7). The events are
  ``REST_EVENTS``; the outbox POSTs them to ``handlers_for(event, app_id)``.
* ``CardHandlers`` — the REST form of placement.bindEvent (rest-api.md §9.13, README decision 6): HTTP
  handlers for the ``CallCard::*`` and ``BackgroundCallCard::*`` events of every user's card.

Neither sends anything; they only answer who is bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlsplit

from ..clock import Clock
from ..errors import argument_error, error
from ..store.base import Row, Store
from .bindparams import AppRef, app_view, check_handler_url, php_int, record_dotless_host
from .conformance import Conformance
from .events import BACKGROUND_EVENTS, CALL_CARD_EVENTS, REST_EVENTS

__all__ = ["CARD_EVENTS", "EVENT_SCOPES", "CardHandlers", "EventHandlers"]

ONLINE: Final = "online"
OFFLINE: Final = "offline"

#: REST event -> the scope the app needs to bind it (None: any app). On the platform the telephony
#: events are declared under the telephony scope and the app events globally.
EVENT_SCOPES: Final[dict[str, str | None]] = {
    "ONEXTERNALCALLSTART": "telephony",
    "ONEXTERNALCALLBACKSTART": "telephony",
    "ONAPPINSTALL": None,
    "ONAPPUNINSTALL": None,
}
assert set(EVENT_SCOPES) == set(REST_EVENTS)

#: Every card event REST placement.bindEvent accepts, exactly as spelled on the frame wire.
CARD_EVENTS: Final[tuple[str, ...]] = CALL_CARD_EVENTS + BACKGROUND_EVENTS


def _string(p: Mapping[str, Any], name: str) -> str:
    value = p.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise error(
            "ERROR_ARGUMENT", f"The value of an argument '{name}' must be of type string", argument=name
        )
    return value.strip()


def _event_type(p: Mapping[str, Any]) -> str:
    event_type = _string(p, "EVENT_TYPE").lower() or ONLINE
    if event_type not in (ONLINE, OFFLINE):
        raise error("ERROR_ARGUMENT", "Value must be one of {online|offline}", argument="EVENT_TYPE")
    return event_type


class EventHandlers:
    """REST event handlers (table ``event_handlers``)."""

    _TABLE: Final = "event_handlers"

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        strict_handler_url: bool = False,
        conformance: Conformance | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._strict = strict_handler_url
        self._conformance = conformance or Conformance(store, clock)

    def bind(self, app: AppRef, is_admin: bool, params: Mapping[str, Any]) -> bool:
        """event.bind: True, or the catalogue error. Checks, in the platform's order: admin, ``event``,
        ``event_type``, ``handler`` (required for online events; URL rules as placement.bind), the event
        itself (unknown, or not under the app's scopes -> ERROR_EVENT_NOT_FOUND), then duplicates
        (same event + handler + auth_type -> ERROR_HANDLER_ALREADY_EXIST)."""
        if not is_admin:
            raise error("ACCESS_DENIED")
        a = app_view(app)
        p = {str(k).upper(): v for k, v in params.items()}
        event = _string(p, "EVENT").upper()
        if not event:
            raise argument_error("EVENT")
        event_type = _event_type(p)
        handler = _string(p, "HANDLER")
        auth_type = max(php_int(p.get("AUTH_TYPE")), 0)
        if event_type == OFFLINE:
            # Offline events are pulled, not pushed: no handler, no user.
            handler, auth_type = "", 0
        elif not handler:
            raise argument_error("HANDLER")
        dotless = check_handler_url(handler, strict=self._strict) if handler else False
        if event not in EVENT_SCOPES:
            raise error("ERROR_EVENT_NOT_FOUND")
        scope = EVENT_SCOPES[event]
        if scope is not None and scope not in a.scopes:
            raise error("ERROR_EVENT_NOT_FOUND")
        options = p.get("OPTIONS")
        with self._store.transaction():
            duplicate = self._store.count(
                self._TABLE,
                {"app_id": a.id, "event": event, "handler": handler, "auth_type": auth_type},
            )
            if duplicate:
                raise error("ERROR_HANDLER_ALREADY_EXIST")
            self._store.insert(
                self._TABLE,
                {
                    "app_id": a.id,
                    "event": event,
                    "handler": handler,
                    "auth_type": auth_type,
                    "event_type": event_type,
                    "auth_connector": _string(p, "AUTH_CONNECTOR"),
                    "options": dict(options) if isinstance(options, Mapping) else {},
                    "created_at": self._clock.now(),
                },
            )
        if dotless:
            record_dotless_host(self._conformance, a.id, "event.bind", event, handler, {"event": event})
        return True

    def unbind(self, app: AppRef, is_admin: bool, params: Mapping[str, Any]) -> dict[str, int]:
        """event.unbind: ``{"count": rows removed}``. ``event`` is required, ``handler`` too for online
        events; ``auth_type``, when given, restricts removal to that user's rows."""
        if not is_admin:
            raise error("ACCESS_DENIED")
        p = {str(k).upper(): v for k, v in params.items()}
        event = _string(p, "EVENT").upper()
        if not event:
            raise argument_error("EVENT")
        event_type = _event_type(p)
        handler = "" if event_type == OFFLINE else _string(p, "HANDLER")
        if event_type == ONLINE and not handler:
            raise argument_error("HANDLER")
        where: dict[str, Any] = {
            "app_id": app_view(app).id,
            "event": event,
            "handler": handler,
            "event_type": event_type,
        }
        if event_type == ONLINE and p.get("AUTH_TYPE") not in (None, ""):
            where["auth_type"] = php_int(p["AUTH_TYPE"])
        return {"count": self._store.delete(self._TABLE, where)}

    def get(self, app: AppRef) -> list[dict[str, Any]]:
        """event.get: the app's handlers, oldest first. Online rows are
        ``{event, handler, auth_type (string, as the platform's DB value), offline: 0}``; offline rows
        ``{event, connector_id, offline: 1}``."""
        out: list[dict[str, Any]] = []
        for row in self._store.find(self._TABLE, {"app_id": app_view(app).id}):
            if row["event_type"] == OFFLINE:
                out.append({"event": row["event"], "connector_id": row["auth_connector"], "offline": 1})
            else:
                out.append(
                    {
                        "event": row["event"],
                        "handler": row["handler"],
                        "auth_type": str(row["auth_type"]),
                        "offline": 0,
                    }
                )
        return out

    def handlers_for(self, event_name: str, app_id: int | None = None) -> list[Row]:
        """The online handler rows for ``event_name`` (of one app, or of all when None), in bind order."""
        where: dict[str, Any] = {"event": event_name.upper(), "event_type": ONLINE}
        if app_id is not None:
            where["app_id"] = app_id
        return [row for row in self._store.find(self._TABLE, where) if row["handler"]]

    def remove_app(self, app_id: int) -> int:
        """Delete every handler of an app (uninstall); return how many."""
        return self._store.delete(self._TABLE, {"app_id": app_id})


class CardHandlers:
    """HTTP handlers for card events, bound with REST placement.bindEvent (table ``card_handlers``)."""

    _TABLE: Final = "card_handlers"

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def bind(
        self, app_id: int | None, webhook_id: int | None, user_id: int, event: Any, handler: Any
    ) -> bool:
        """placement.bindEvent: bind ``handler`` (an http(s) URL) to a card ``event`` for an app or a
        webhook. ``user_id`` is whose tokens go into the ``auth`` block (app bindings). Binding the same
        (app or webhook, event, handler) again answers True and stores nothing new."""
        if (app_id is None) == (webhook_id is None):
            raise ValueError("exactly one of app_id and webhook_id is required")
        name = event.strip() if isinstance(event, str) else ""
        if not name:
            raise argument_error("PLACEMENT")
        if name not in CARD_EVENTS:
            raise error("ERROR_ARGUMENT", f"Unknown event '{name}'", argument="PLACEMENT")
        url = handler.strip() if isinstance(handler, str) else ""
        if not url:
            raise argument_error("HANDLER")
        try:
            parts = urlsplit(url)
            valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid:
            text = "The value of an argument 'HANDLER' must be an http(s) URL"
            raise error("ERROR_ARGUMENT", text, argument="HANDLER")
        key = {"app_id": app_id, "webhook_id": webhook_id, "event": name, "handler": url}
        with self._store.transaction():
            if not self._store.count(self._TABLE, key):
                self._store.insert(
                    self._TABLE, {**key, "user_id": int(user_id), "created_at": self._clock.now()}
                )
        return True

    def handlers_for(self, event_name: str) -> list[Row]:
        """Every binding for ``event_name`` (exact spelling), in bind order."""
        return self._store.find(self._TABLE, {"event": event_name})

    def all(self) -> list[Row]:
        """Every binding, for the host's admin page."""
        return self._store.find(self._TABLE)

    def remove(self, binding_id: int) -> bool:
        """Delete one binding (admin page); False if it did not exist."""
        return self._store.delete(self._TABLE, {"id": binding_id}) > 0

    def remove_app(self, app_id: int) -> int:
        """Delete every binding of an app (uninstall); return how many."""
        return self._store.delete(self._TABLE, {"app_id": app_id})
