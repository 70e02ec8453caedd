"""One event model for everything the card, calls and placements emit.

The same ``Event`` goes to app frames (one JSON value on the postMessage wire), to HTTP handlers
(form-encoded ``data[...]`` fields) and to the timeline, so no later layer reshapes it.

Kinds:

* ``BackgroundCallCard::*`` — the 17 PAGE_BACKGROUND_WORKER events (call-card.md §5);
* ``CallCard::*`` — the 3 CALL_CARD tab events (call-card.md §8.4);
* ``ONEXTERNALCALLSTART`` / ``ONEXTERNALCALLBACKSTART`` — REST events to ``event.bind`` handlers;
* ``ERROR_PLACEMENT_LOADING_OVERTIME`` — the errorHandlerUrl notice of the watchdog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "BACKGROUND_EVENTS",
    "BACKGROUND_PREFIX",
    "CALL_CARD_EVENTS",
    "CARD_PREFIX",
    "NO_PAYLOAD",
    "Event",
    "NoPayload",
    "REST_EVENTS",
    "WATCHDOG_NOTICE",
]

BACKGROUND_PREFIX: Final = "BackgroundCallCard::"
CARD_PREFIX: Final = "CallCard::"
WATCHDOG_NOTICE: Final = "ERROR_PLACEMENT_LOADING_OVERTIME"

#: ``initialized`` first, then the 16 others in the interface's order (call-card.md §5).
BACKGROUND_EVENTS: Final[tuple[str, ...]] = tuple(
    BACKGROUND_PREFIX + name
    for name in (
        "initialized",
        "addCommentButtonClick",
        "muteButtonClick",
        "holdButtonClick",
        "closeButtonClick",
        "transferButtonClick",
        "cancelTransferButtonClick",
        "completeTransferButtonClick",
        "hangupButtonClick",
        "nextButtonClick",
        "skipButtonClick",
        "answerButtonClick",
        "entityChanged",
        "qualityMeterClick",
        "dialpadButtonClick",
        "makeCallButtonClick",
        "notifyAdminButtonClick",
    )
)

CALL_CARD_EVENTS: Final[tuple[str, ...]] = (
    CARD_PREFIX + "EntityChanged",
    CARD_PREFIX + "BeforeClose",
    CARD_PREFIX + "CallStateChanged",
)

REST_EVENTS: Final[tuple[str, ...]] = (
    "ONEXTERNALCALLSTART",
    "ONEXTERNALCALLBACKSTART",
    "ONAPPINSTALL",
    "ONAPPUNINSTALL",
)


class NoPayload:
    """The payload of an event that carries none: the frame wire sends ``<cb>:``."""

    _instance: NoPayload | None = None

    def __new__(cls) -> NoPayload:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_PAYLOAD"

    def __bool__(self) -> bool:
        return False


NO_PAYLOAD: Final = NoPayload()


@dataclass(frozen=True)
class Event:
    """Something that happened, addressed by user, call and/or app.

    ``payload`` is the one JSON value a frame receives (or ``NO_PAYLOAD``). ``extra`` holds what only
    HTTP handlers get (``additionalParams`` of ``CallCard::CallStateChanged``, README decision 3), or the
    full ``data`` of a REST event. ``app_id`` addresses one app only (REST events, watchdog notices);
    card events leave it None and go to every bound frame and handler.
    """

    name: str
    payload: Any = NO_PAYLOAD
    user_id: int | None = None
    call_id: str | None = None
    app_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_background(self) -> bool:
        return self.name.startswith(BACKGROUND_PREFIX)

    @property
    def is_card_tab(self) -> bool:
        return self.name.startswith(CARD_PREFIX)

    @property
    def has_payload(self) -> bool:
        return self.payload is not NO_PAYLOAD

    def wire_text(self, callback_id: str) -> str:
        """The postMessage text for a frame bound under ``callback_id``: ``cb:JSON`` or ``cb:``."""
        import json

        if not self.has_payload:
            return f"{callback_id}:"
        return f"{callback_id}:{json.dumps(self.payload, separators=(',', ':'), ensure_ascii=False)}"

    def http_data(self) -> dict[str, Any]:
        """The ``data`` block an HTTP handler receives for a card event (rest-api.md §9.13).

        ``CALL_ID`` and ``USER_ID`` always; object payloads flattened into it; scalar payloads as
        ``value`` (booleans as 1/0); ``CallStateChanged`` as ``callState`` + ``additionalParams``.
        """
        data: dict[str, Any] = {"CALL_ID": self.call_id or "", "USER_ID": self.user_id or 0}
        if self.name == CARD_PREFIX + "CallStateChanged":
            data["callState"] = self.payload
            data["additionalParams"] = dict(self.extra.get("additionalParams", {}))
        elif isinstance(self.payload, dict):
            data.update(self.payload)
        elif self.has_payload:
            value = self.payload
            data["value"] = int(value) if isinstance(value, bool) else value
        return data

    def timeline(self) -> dict[str, Any]:
        """A JSON-ready description for the timeline."""
        return {
            "name": self.name,
            "payload": self.payload if self.has_payload else None,
            "has_payload": self.has_payload,
            "user_id": self.user_id,
            "call_id": self.call_id,
            "app_id": self.app_id,
            "extra": self.extra,
        }
