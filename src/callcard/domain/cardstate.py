"""The data of one call card (call-card.md §1): its fields, their values and defaults, and its snapshot.

``CardState`` holds every field of a card; ``CallCard`` (card.py) is the state machine over them and
adds no fields of its own, so the snapshot here covers the whole card. ``to_dict()`` is the JSON-safe
snapshot the ``cards`` table stores; ``from_dict`` restores it as the class it is called on
(``CallCard.from_dict`` gives a ``CallCard``). ``default_title`` and ``DEFAULT_STATUS_TEXT`` are the
host's own texts for a new card, until an app sets its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, Final, Self

from .uistate import UiState

__all__ = ["CALL_STATES", "DEFAULT_STATUS_TEXT", "DIRECTIONS", "CardState", "default_title"]

DIRECTIONS: Final = ("incoming", "outgoing", "callback")
CALL_STATES: Final = ("idle", "connecting", "connected")
DEFAULT_STATUS_TEXT: Final = "Connected"


def default_title(direction: str, phone_number: str) -> str:
    """The host's title template until an app sets its own."""
    shown = {"unknown": "Unknown number", "hidden": "Hidden number"}.get(phone_number, phone_number)
    if direction == "callback":
        return f"Callback to {shown}"
    if direction == "outgoing":
        return f"Outgoing call to {shown}"
    return f"Incoming call from {shown}"


@dataclass
class CardState:
    """Every field of one user's call card; ``CallCard`` adds the behaviour."""

    user_id: int
    call_id: str
    phone_number: str
    direction: str = "incoming"
    line_number: str = ""
    line_name: str = ""
    call_state: str = "idle"
    ui_state: UiState = UiState.externalCard
    title: str = ""
    status_text: str = ""
    muted: bool = False
    held: bool = False
    # timer: initialTimestamp is set on the first start only; 0 means "not started / hidden"
    timer_running: bool = False
    timer_shown: bool = False
    timer_initial: float = 0.0
    timer_stopped_at: float = 0.0
    allow_auto_close: bool = True
    folded: bool = False
    crm_entity_type: str = ""
    crm_entity_id: int = 0
    crm_activity_id: int = 0
    crm_bindings: list[dict[str, Any]] = field(default_factory=list)
    show_crm_card: bool = True
    is_external_call: bool = True
    # conditions that never hold in callcard, kept so the model matches the platform's
    call_list_mode: bool = False
    device_call: bool = False
    sip_phone: bool = False
    used: bool = False
    comment_text: str = ""
    comment_editor_open: bool = False
    close_at: float | None = None  # deadline of the delayed close (autoClose while blocked)
    restore_until: float | None = None  # the owning page unloaded; reclaim before this or it closes
    closed: bool = False
    app_id: int | None = None
    created_at: float = 0.0

    # -- persistence -----------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe snapshot (field name -> value; uiState by key); ``from_dict`` restores it."""
        # Field by field rather than dataclasses.asdict, which recurses and deep-copies every value: it
        # was the largest single cost of a card command (~57 µs of ~150), and it runs 2-3 times each.
        # Every field is a scalar except crm_bindings, a list of flat dicts, copied one level down.
        data = {name: getattr(self, name) for name in _FIELD_NAMES}
        data["ui_state"] = self.ui_state.name
        data["crm_bindings"] = [dict(binding) for binding in self.crm_bindings]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a card from ``to_dict()``; missing fields take their defaults, unknown keys are
        ignored (so a snapshot from an older or newer callcard still loads)."""
        values = {key: value for key, value in data.items() if key in _FIELD_SET}
        values["ui_state"] = UiState[str(values.get("ui_state", UiState.externalCard.name))]
        values["crm_bindings"] = [dict(binding) for binding in values.get("crm_bindings", [])]
        return cls(**values)


_FIELD_NAMES: Final = tuple(f.name for f in fields(CardState))
_FIELD_SET: Final = frozenset(_FIELD_NAMES)
