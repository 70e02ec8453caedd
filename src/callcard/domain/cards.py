"""One open call card per user, persisted; the service the surfaces call (call-card.md §4, §8, §9).

Every method that changes a card reads it, changes it and writes it back (or deletes the row when the
card closed) inside one store transaction, so the change is durable before the method returns. Methods
return the events the change caused; every event carries the card's user and call id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

from ..clock import Clock
from ..store.base import Store
from .card import CallCard
from .cardreplies import card_undefined_reply, invalid_ui_state_reply
from .cardstate import DEFAULT_STATUS_TEXT, DIRECTIONS, default_title
from .events import Event
from .jsvalues import js_string, js_truthy
from .uistate import (
    CALL_CARD_COMMANDS,
    HIDDEN_STATES,
    LISTED_STATES,
    PAGE_BACKGROUND_WORKER_COMMANDS,
    UiState,
    parse_ui_state,
)

__all__ = ["KNOWN_COMMANDS", "NO_REPLY", "CardService", "CommandOutcome", "NoReply", "ShowRequest"]

_T = TypeVar("_T")
_TABLE: Final = "cards"


@dataclass(frozen=True)
class ShowRequest:
    """What ``telephony.externalCall.register/show`` asks the card of one user to show (call-card.md §9.1)."""

    call_id: str
    phone_number: str
    direction: str  # incoming | outgoing | callback
    line_number: str = ""
    line_name: str = ""
    crm_entity_type: str = ""  # CONTACT | COMPANY | LEAD | ""
    crm_entity_id: int = 0
    crm_activity_id: int = 0
    crm_bindings: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    show_crm_card: bool = True
    app_id: int | None = None


class NoReply:
    """The reply of a command that never calls back (the timers on success): send nothing at all."""

    _instance: NoReply | None = None

    def __new__(cls) -> NoReply:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_REPLY"

    def __bool__(self) -> bool:
        return False


NO_REPLY: Final = NoReply()

#: every command name ``command()`` knows: the 9 worker commands and the 3 CALL_CARD ones
KNOWN_COMMANDS: Final[frozenset[str]] = frozenset(PAGE_BACKGROUND_WORKER_COMMANDS) | frozenset(
    CALL_CARD_COMMANDS
)


@dataclass
class CommandOutcome:
    """What a command produced.

    ``reply``: the one JSON value for the caller's callback, or ``NO_REPLY`` (no callback at all).
    ``known``: False for a name that is no command (frames: silence; REST: ERROR_ARGUMENT).
    ``hidden_ui_state``: the key when CallCardSetUiState applied one of the 3 unlisted states (the
    surfaces record it in the conformance report, README decision 4).
    """

    reply: Any
    events: list[Event] = field(default_factory=list)
    known: bool = True
    hidden_ui_state: str | None = None


def _param(params: Any, name: str) -> Any:
    # Params arrive as whatever the app sent; anything but an object has no fields (missing = None).
    return params.get(name) if isinstance(params, dict) else None


class CardService:
    """At most one open card per user, kept in the ``cards`` table."""

    def __init__(
        self, store: Store, clock: Clock, *, auto_close_delay_s: float = 60.0, restore_s: float = 15.0
    ) -> None:
        self._store = store
        self._clock = clock
        self.auto_close_delay_s = float(auto_close_delay_s)
        self.restore_s = float(restore_s)

    # -- persistence -----------------------------------------------------------------------------------

    def get(self, user_id: int) -> CallCard | None:
        """The user's open card, or None."""
        row = self._store.get(_TABLE, user_id)
        return None if row is None else CallCard.from_dict(row["state"])

    def open_cards(self) -> list[CallCard]:
        return [CallCard.from_dict(row["state"]) for row in self._store.find(_TABLE)]

    def _save(self, card: CallCard) -> None:
        if card.closed:
            self._store.delete(_TABLE, {"user_id": card.user_id})
        else:
            self._store.upsert(
                _TABLE, {"user_id": card.user_id, "state": card.to_dict(), "updated_at": self._clock.now()}
            )

    def _transact(self, user_id: int, change: Callable[[CallCard | None], _T]) -> _T:
        """Read the user's card, apply ``change`` and persist the card if it changed, atomically."""
        with self._store.transaction():
            card = self.get(user_id)
            before = None if card is None else card.to_dict()
            result = change(card)
            if card is not None and card.to_dict() != before:
                self._save(card)
        return result

    def _with_card(self, user_id: int, change: Callable[[CallCard], list[Event]]) -> list[Event]:
        """Like ``_transact`` for operations that do nothing (no events) when there is no card."""
        if self._store.get(_TABLE, user_id) is None:
            # Nothing to change: skip the (empty, but not free) write transaction. Reading outside one
            # is equivalent: the outcome is the one of a transaction that ran at this read.
            return []
        return self._transact(user_id, lambda card: [] if card is None else change(card))

    # -- lifecycle (call-card.md §9) -------------------------------------------------------------------

    def show(self, user_id: int, request: ShowRequest) -> list[Event]:
        """Open the user's card for an external call; a no-op ([]) while the user has a card (§9.1).

        Events in order: the entity events when the CRM card loads (CallCard::EntityChanged, then
        BackgroundCallCard::entityChanged), initialized (CALL_STATE "idle"), then CallStateChanged
        "connected".
        """
        if request.direction not in DIRECTIONS:
            raise ValueError(f"unknown direction {request.direction!r}")

        def build(existing: CallCard | None) -> list[Event]:
            if existing is not None:
                return []
            now = self._clock.now()
            card = CallCard(
                user_id=user_id,
                call_id=request.call_id,
                phone_number=request.phone_number,
                direction=request.direction,
                line_number=request.line_number,
                line_name=request.line_name or request.line_number,
                crm_entity_type=request.crm_entity_type,
                crm_entity_id=request.crm_entity_id,
                crm_activity_id=request.crm_activity_id,
                crm_bindings=[dict(binding) for binding in request.crm_bindings],
                show_crm_card=request.show_crm_card,
                is_external_call=True,
                title=default_title(request.direction, request.phone_number),
                status_text=DEFAULT_STATUS_TEXT,
                app_id=request.app_id,
                created_at=now,
            )
            events: list[Event] = []
            if request.show_crm_card and request.crm_entity_type:
                events += card.entity_changed()  # the CRM card loads during construction
            events += card.initialized()
            card.apply_ui_state(UiState.externalCard, now)
            events += card.set_call_state("connected")
            self._save(card)
            return events

        return self._transact(user_id, build)

    def hide(self, user_id: int, call_id: str) -> list[Event]:
        """§9.2: autoClose() if the open card is external and shows ``call_id``; else nothing.
        callState does not change, so no CallStateChanged fires."""

        def hide_card(card: CallCard) -> list[Event]:
            if not card.is_external_call or card.call_id != call_id:
                return []
            return card.auto_close(self._clock.now(), self.auto_close_delay_s)

        return self._with_card(user_id, hide_card)

    def close(self, user_id: int) -> list[Event]:
        """Operator/system close: close() (BeforeClose), never closeButtonClick."""
        return self._with_card(user_id, lambda card: card.close())

    def tick(self) -> list[Event]:
        """Run what is due: delayed closes (``close_at``) and cards whose page never came back."""
        now = self._clock.now()
        events: list[Event] = []
        with self._store.transaction():
            for card in self.open_cards():
                if card.close_at is not None and now >= card.close_at:
                    events += card.close_after_timeout()
                elif card.restore_until is not None and now >= card.restore_until:
                    events += card.close()
                else:
                    continue
                self._save(card)
        return events

    def page_unloaded(self, user_id: int) -> list[Event]:
        """§9.5: the owning page went away. A card any app used is closed; otherwise it is kept for
        ``restore_s`` seconds for the reloaded page to reclaim (``page_reclaimed``), then closed."""

        def unload(card: CallCard) -> list[Event]:
            if card.used:
                return card.close()
            card.restore_until = self._clock.now() + self.restore_s
            return []

        return self._with_card(user_id, unload)

    def page_reclaimed(self, user_id: int) -> list[Event]:
        """A (reloaded) page took the card over: keep it, and fire ``initialized`` for its frames."""

        def reclaim(card: CallCard) -> list[Event]:
            card.restore_until = None
            return card.initialized()

        return self._with_card(user_id, reclaim)

    def load_crm(
        self, user_id: int, call_id: str, entity_type: str, entity_id: int, bindings: list[dict[str, Any]]
    ) -> list[Event]:
        """An entity was bound to the call ``call_id`` after its card was built (created from the card's CRM
        row): the card shows it and reloads its CRM card (``CallCard.load_crm``). Nothing ([]) when the
        user has no card or the card shows another call."""

        def load(card: CallCard) -> list[Event]:
            if card.call_id != call_id:
                return []
            return card.load_crm(entity_type, entity_id, bindings)

        return self._with_card(user_id, load)

    # -- operator and control API ----------------------------------------------------------------------

    def press(self, user_id: int, button: str, value: Any = None) -> list[Event]:
        """An operator click. Raises ValueError when there is no card or the button is not shown."""

        def click(card: CallCard | None) -> list[Event]:
            if card is None:
                raise ValueError("the user has no open call card")
            return card.press(button, value, self._clock.now(), self.auto_close_delay_s)

        return self._transact(user_id, click)

    def set_ui_state(self, user_id: int, ui_state: str) -> list[Event]:
        """Control API: apply a state as CallCardSetUiState would (without marking the card used).
        Raises ValueError for an unknown key or when there is no card."""
        state = parse_ui_state(ui_state)
        if state is None:
            raise ValueError(f"unknown ui state {ui_state!r}")

        def apply(card: CallCard | None) -> list[Event]:
            if card is None:
                raise ValueError("the user has no open call card")
            card.worker_set_ui_state(state, self._clock.now())
            return []

        return self._transact(user_id, apply)

    # -- commands (call-card.md §4, §8.2, §8.3) --------------------------------------------------------

    def command(
        self, user_id: int, command: str, params: Any, *, owner: bool = True, mark_used: bool = False
    ) -> CommandOutcome:
        """Run a PAGE_BACKGROUND_WORKER or CALL_CARD command against the user's card.

        ``owner=False``: the calling page does not own the card, so the guard fails as if there were
        none. ``mark_used``: also count a CALL_CARD command as worker usage (REST placement.call does).
        """
        if command not in KNOWN_COMMANDS:
            return CommandOutcome(NO_REPLY, known=False)
        worker = command in PAGE_BACKGROUND_WORKER_COMMANDS

        def run(card: CallCard | None) -> CommandOutcome:
            if card is not None and owner and (worker or mark_used):
                card.used = True  # every worker command marks the worker used, even a failing one
            if command == "CallCardGetListUiStates":
                return CommandOutcome(list(LISTED_STATES))  # no guard
            if card is None or not owner or card.closed or (worker and not card.is_external_call):
                return CommandOutcome(card_undefined_reply())
            return self._run(card, command, params)

        return self._transact(user_id, run)

    def _run(self, card: CallCard, command: str, params: Any) -> CommandOutcome:
        """One command on a card that passed the guard."""
        now = self._clock.now()
        if command == "CallCardSetUiState":
            state = parse_ui_state(_param(params, "uiState"))
            if state is None:
                return CommandOutcome(invalid_ui_state_reply())
            card.worker_set_ui_state(
                state, now, disable_auto_start_timer=js_truthy(_param(params, "disableAutoStartTimer"))
            )
            hidden = state.name if state.name in HIDDEN_STATES else None
            return CommandOutcome([], hidden_ui_state=hidden)
        if command == "CallCardSetMute":
            card.muted = js_truthy(_param(params, "muted"))  # same value: nothing changes, no event
            return CommandOutcome([])
        if command == "CallCardSetHold":
            card.held = js_truthy(_param(params, "held"))
            return CommandOutcome([])
        if command == "CallCardSetCardTitle":
            card.title = js_string(_param(params, "title"))
            return CommandOutcome([])
        if command == "CallCardSetStatusText":
            card.status_text = js_string(_param(params, "statusText"))
            return CommandOutcome([])
        if command == "CallCardStartTimer":
            card.timer_shown = True
            card.start_timer(now)
            return CommandOutcome(NO_REPLY)
        if command == "CallCardStopTimer":
            card.stop_timer(now)
            return CommandOutcome(NO_REPLY)
        if command == "CallCardClose":
            return CommandOutcome([], card.close())  # no closeButtonClick
        if command == "getStatus":
            return CommandOutcome(card.status())
        if command == "disableAutoClose":
            card.disable_auto_close(now, self.auto_close_delay_s)
            return CommandOutcome([])
        assert command == "enableAutoClose", command
        return CommandOutcome([], card.enable_auto_close())
