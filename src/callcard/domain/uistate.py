"""The call card's UiState enum and everything that depends only on the state (call-card.md §2, §3).

* ``UiState`` — the 15 keys with the platform's numbers; apps pass the key, the host stores the number.
* ``LISTED_STATES`` — what ``CallCardGetListUiStates`` answers (12 keys, declaration order minus
  ``HIDDEN_STATES``). ``CallCardSetUiState`` accepts all 15 (README decision 4).
* Per-state buttons as callcard renders them (no SIP phone, no call-list mode, no device call, no
  transferred call: those conditions never hold here), the button -> ``BackgroundCallCard::`` event map,
  the sections/timer rule and the closable set.
* The PAGE_BACKGROUND_WORKER and CALL_CARD interface lists (wire-protocol.md §7.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

from .events import BACKGROUND_EVENTS, BACKGROUND_PREFIX, CALL_CARD_EVENTS

__all__ = [
    "ALL_STATES",
    "BUTTON_EVENTS",
    "CALL_CARD_COMMANDS",
    "CLOSABLE_STATES",
    "CRM_BUTTONS",
    "FOLDED_BUTTONS",
    "HIDDEN_STATES",
    "INTERFACES",
    "LISTED_STATES",
    "PAGE_BACKGROUND_WORKER_COMMANDS",
    "PRESSABLE",
    "STATE_RULES",
    "StateRule",
    "TimerAction",
    "UiState",
    "layout_for",
    "parse_ui_state",
    "state_buttons",
]


class UiState(IntEnum):
    """The platform's ``UiState``: member name = the key apps send, value = the stored number."""

    incoming = 1
    transferIncoming = 2
    outgoing = 3
    connectingIncoming = 4
    connectingOutgoing = 5
    connected = 6
    transferring = 7
    transferFailed = 8
    transferConnected = 9
    idle = 10
    error = 11
    moneyError = 12
    sipPhoneError = 13
    redial = 14
    externalCard = 15

    @property
    def key(self) -> str:
        return self.name


#: every key, in declaration order
ALL_STATES: Final[tuple[str, ...]] = tuple(state.name for state in UiState)

#: the keys CallCardGetListUiStates leaves out (they are still accepted by CallCardSetUiState)
HIDDEN_STATES: Final[frozenset[str]] = frozenset({"idle", "sipPhoneError", "externalCard"})

#: CallCardGetListUiStates' answer: declaration order minus the hidden keys
LISTED_STATES: Final[tuple[str, ...]] = tuple(key for key in ALL_STATES if key not in HIDDEN_STATES)


def parse_ui_state(value: object) -> UiState | None:
    """The state for an app-supplied key, or None. Only string keys count: the platform looks the value
    up as a property name of its enum object, so numbers and other types never match."""
    if isinstance(value, str) and value in UiState.__members__:
        return UiState[value]
    return None


# -- buttons -------------------------------------------------------------------------------------------

#: Buttons per state, left to right, as callcard renders them. "fold" is only a slot: it is shown only
#: when the card is foldable (call-card.md §3.3). Idle depends on the direction (see ``state_buttons``).
_STATE_BUTTONS: Final[dict[UiState, tuple[str, ...]]] = {
    UiState.incoming: ("answer", "skip"),
    UiState.transferIncoming: ("answer", "skip"),
    UiState.outgoing: ("call",),
    UiState.connectingIncoming: ("hangup",),
    UiState.connectingOutgoing: ("hangup",),
    UiState.connected: ("hold", "mute", "qualityMeter", "fold", "transfer", "dialpad", "hangup"),
    UiState.transferring: ("transferComplete", "transferCancel"),
    UiState.transferFailed: ("transferCancel",),
    UiState.transferConnected: ("hangup",),
    UiState.error: ("close",),
    UiState.moneyError: ("notifyAdmin", "close"),
    UiState.sipPhoneError: ("close",),
    UiState.redial: ("redial",),
    UiState.externalCard: ("close", "fold"),
}

#: what the folded mini panel keeps of a state's buttons (call-card.md §3.3)
FOLDED_BUTTONS: Final[frozenset[str]] = frozenset({"hangup", "close"})


def state_buttons(state: UiState, direction: str, *, foldable: bool) -> list[str]:
    """The buttons of ``state`` left to right, for a card in ``direction`` (unfolded card).

    Idle: outgoing shows redial + close; incoming and (team choice) callback show close only.
    """
    if state is UiState.idle:
        base: tuple[str, ...] = ("redial", "close") if direction == "outgoing" else ("close",)
    else:
        base = _STATE_BUTTONS[state]
    return [name for name in base if name != "fold" or foldable]


def layout_for(state: UiState) -> Literal["spaced", "default"]:
    """Connected uses the spaced layout (left group + hangup on the right); every other state the default."""
    return "spaced" if state is UiState.connected else "default"


#: button -> the BackgroundCallCard event it fires (full name). fold and commentOpen fire nothing.
BUTTON_EVENTS: Final[dict[str, str]] = {
    button: BACKGROUND_PREFIX + event
    for button, event in (
        ("answer", "answerButtonClick"),
        ("skip", "skipButtonClick"),
        ("call", "makeCallButtonClick"),
        ("redial", "makeCallButtonClick"),
        ("hangup", "hangupButtonClick"),
        ("hold", "holdButtonClick"),
        ("mute", "muteButtonClick"),
        ("qualityMeter", "qualityMeterClick"),
        ("transfer", "transferButtonClick"),
        ("dialpad", "dialpadButtonClick"),
        ("transferComplete", "completeTransferButtonClick"),
        ("transferCancel", "cancelTransferButtonClick"),
        ("close", "closeButtonClick"),
        ("notifyAdmin", "notifyAdminButtonClick"),
        ("next", "nextButtonClick"),
        ("commentSave", "addCommentButtonClick"),
    )
}

#: every name press() understands (state buttons, the fold toggle, the comment editor and the Esc key)
PRESSABLE: Final[frozenset[str]] = frozenset(BUTTON_EVENTS) | {"fold", "commentOpen", "escape"}

#: the CRM row, in display order (call-card.md §3.4); which ones show depends on the CRM entity
CRM_BUTTONS: Final[tuple[str, ...]] = ("addComment", "addDeal", "addInvoice", "addLead", "addContact")


# -- sections, timer, closable -----------------------------------------------------------------------

TimerAction = Literal["start", "stop", "unchanged"]


@dataclass(frozen=True)
class StateRule:
    """What entering a state does to the timer section and the timer (call-card.md §3.2).

    ``show_timer``: True shows the timer section, False hides it (status only), None leaves it.
    """

    show_timer: bool | None
    timer: TimerAction


_STATUS_ONLY = StateRule(show_timer=False, timer="stop")
_ERRORISH = StateRule(show_timer=None, timer="stop")
_UNCHANGED = StateRule(show_timer=None, timer="unchanged")

STATE_RULES: Final[dict[UiState, StateRule]] = {
    UiState.incoming: _STATUS_ONLY,
    UiState.transferIncoming: _STATUS_ONLY,
    UiState.outgoing: _STATUS_ONLY,
    UiState.connectingIncoming: _STATUS_ONLY,
    UiState.connectingOutgoing: _STATUS_ONLY,
    UiState.idle: _STATUS_ONLY,
    UiState.connected: StateRule(show_timer=True, timer="start"),
    UiState.transferring: StateRule(show_timer=True, timer="unchanged"),
    UiState.error: _ERRORISH,
    UiState.moneyError: _ERRORISH,
    UiState.sipPhoneError: _ERRORISH,
    UiState.redial: _ERRORISH,
    UiState.transferFailed: _UNCHANGED,
    UiState.transferConnected: _UNCHANGED,
    UiState.externalCard: _UNCHANGED,
}

#: states in which Esc closes the popup (connected only for a device call, which callcard never has)
CLOSABLE_STATES: Final[frozenset[UiState]] = frozenset(
    {UiState.outgoing, UiState.idle, UiState.error, UiState.moneyError, UiState.sipPhoneError, UiState.redial}
)


# -- interfaces ----------------------------------------------------------------------------------------

#: the 9 commands in the order getInterface lists them (wire-protocol.md §7.3)
PAGE_BACKGROUND_WORKER_COMMANDS: Final[tuple[str, ...]] = (
    "CallCardSetMute",
    "CallCardSetHold",
    "CallCardSetUiState",
    "CallCardGetListUiStates",
    "CallCardSetCardTitle",
    "CallCardSetStatusText",
    "CallCardClose",
    "CallCardStartTimer",
    "CallCardStopTimer",
)

CALL_CARD_COMMANDS: Final[tuple[str, ...]] = ("getStatus", "disableAutoClose", "enableAutoClose")

#: placement -> (commands, events) as getInterface answers them
INTERFACES: Final[dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "PAGE_BACKGROUND_WORKER": (PAGE_BACKGROUND_WORKER_COMMANDS, BACKGROUND_EVENTS),
    "CALL_CARD": (CALL_CARD_COMMANDS, CALL_CARD_EVENTS),
}
