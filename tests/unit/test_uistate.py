"""UiState enum, listed/hidden states, buttons, events, sections and interfaces against call-card.md.

Expected values are transcribed from the spec tables here, not derived from the module's constants.
"""

from __future__ import annotations

import pytest

import spec_tables
from callcard.domain.uistate import (
    BUTTON_EVENTS,
    CALL_CARD_COMMANDS,
    CLOSABLE_STATES,
    HIDDEN_STATES,
    INTERFACES,
    LISTED_STATES,
    PAGE_BACKGROUND_WORKER_COMMANDS,
    STATE_RULES,
    UiState,
    layout_for,
    parse_ui_state,
    state_buttons,
)
from spec_tables import SPEC_BUTTONS, UI_STATE_NUMBERS

SPEC_NUMBERS = UI_STATE_NUMBERS

SPEC_LISTED = spec_tables.LISTED_STATES  # fmt: skip


def test_fifteen_keys_with_platform_numbers() -> None:
    assert {state.name: int(state) for state in UiState} == SPEC_NUMBERS
    assert [state.name for state in UiState] == list(SPEC_NUMBERS)  # declaration order
    assert UiState.connected.key == "connected"


def test_listed_states_are_the_twelve_in_order() -> None:
    assert list(LISTED_STATES) == SPEC_LISTED
    assert set(HIDDEN_STATES) == {"idle", "sipPhoneError", "externalCard"}


@pytest.mark.parametrize("key", list(SPEC_NUMBERS))
def test_parse_accepts_all_fifteen_keys(key: str) -> None:
    state = parse_ui_state(key)
    assert state is not None and state.name == key and int(state) == SPEC_NUMBERS[key]


@pytest.mark.parametrize(
    "value",
    [None, "", 6, "6", "Connected", "CONNECTED", " connected", True, ["connected"], {"uiState": "connected"},
     "toString", "constructor"],
)
def test_parse_rejects_anything_but_a_key(value: object) -> None:
    assert parse_ui_state(value) is None




@pytest.mark.parametrize("key", [k for k in SPEC_BUTTONS if k != "idle"])  # idle: by direction, below
@pytest.mark.parametrize("foldable", [True, False])
def test_buttons_per_state(key: str, foldable: bool) -> None:
    expected = [b for b in SPEC_BUTTONS[key] if b != "fold" or foldable]
    for direction in ("incoming", "outgoing", "callback"):
        assert state_buttons(UiState[key], direction, foldable=foldable) == expected


@pytest.mark.parametrize(
    ("direction", "expected"),
    [("incoming", ["close"]), ("outgoing", ["redial", "close"]), ("callback", ["close"])],
)
def test_idle_buttons_depend_on_direction(direction: str, expected: list[str]) -> None:
    assert state_buttons(UiState.idle, direction, foldable=True) == expected


def test_button_events_follow_the_spec() -> None:
    prefix = "BackgroundCallCard::"
    assert BUTTON_EVENTS == {
        "answer": prefix + "answerButtonClick",
        "skip": prefix + "skipButtonClick",
        "call": prefix + "makeCallButtonClick",
        "redial": prefix + "makeCallButtonClick",
        "hangup": prefix + "hangupButtonClick",
        "hold": prefix + "holdButtonClick",
        "mute": prefix + "muteButtonClick",
        "qualityMeter": prefix + "qualityMeterClick",
        "transfer": prefix + "transferButtonClick",
        "dialpad": prefix + "dialpadButtonClick",
        "transferComplete": prefix + "completeTransferButtonClick",
        "transferCancel": prefix + "cancelTransferButtonClick",
        "close": prefix + "closeButtonClick",
        "notifyAdmin": prefix + "notifyAdminButtonClick",
        "next": prefix + "nextButtonClick",
        "commentSave": prefix + "addCommentButtonClick",
    }
    assert "fold" not in BUTTON_EVENTS and "commentOpen" not in BUTTON_EVENTS


# call-card.md §3.2: (timer section: True shown / False hidden / None unchanged, timer action)
SPEC_SECTIONS = {
    **{k: (False, "stop") for k in ("incoming", "transferIncoming", "outgoing", "connectingIncoming",
                                     "connectingOutgoing", "idle")},
    "connected": (True, "start"),
    "transferring": (True, "unchanged"),
    **{k: (None, "stop") for k in ("error", "moneyError", "sipPhoneError", "redial")},
    **{k: (None, "unchanged") for k in ("transferFailed", "transferConnected", "externalCard")},
}


@pytest.mark.parametrize("key", list(SPEC_NUMBERS))
def test_sections_and_timer_rule(key: str) -> None:
    rule = STATE_RULES[UiState[key]]
    assert (rule.show_timer, rule.timer) == SPEC_SECTIONS[key]


def test_closable_states() -> None:
    assert {s.name for s in CLOSABLE_STATES} == {"outgoing", "idle", "error", "moneyError", "sipPhoneError",
                                                  "redial"}


@pytest.mark.parametrize("key", list(SPEC_NUMBERS))
def test_layout(key: str) -> None:
    assert layout_for(UiState[key]) == ("spaced" if key == "connected" else "default")


def test_interface_lists() -> None:
    assert list(PAGE_BACKGROUND_WORKER_COMMANDS) == [
        "CallCardSetMute", "CallCardSetHold", "CallCardSetUiState", "CallCardGetListUiStates",
        "CallCardSetCardTitle", "CallCardSetStatusText", "CallCardClose", "CallCardStartTimer",
        "CallCardStopTimer",
    ]  # fmt: skip
    assert list(CALL_CARD_COMMANDS) == ["getStatus", "disableAutoClose", "enableAutoClose"]
    commands, events = INTERFACES["PAGE_BACKGROUND_WORKER"]
    assert commands == PAGE_BACKGROUND_WORKER_COMMANDS
    assert [e.split("::")[1] for e in events] == [
        "initialized", "addCommentButtonClick", "muteButtonClick", "holdButtonClick", "closeButtonClick",
        "transferButtonClick", "cancelTransferButtonClick", "completeTransferButtonClick",
        "hangupButtonClick", "nextButtonClick", "skipButtonClick", "answerButtonClick", "entityChanged",
        "qualityMeterClick", "dialpadButtonClick", "makeCallButtonClick", "notifyAdminButtonClick",
    ]  # fmt: skip
    assert all(e.startswith("BackgroundCallCard::") for e in events)
    assert INTERFACES["CALL_CARD"] == (
        ("getStatus", "disableAutoClose", "enableAutoClose"),
        ("CallCard::EntityChanged", "CallCard::BeforeClose", "CallCard::CallStateChanged"),
    )
