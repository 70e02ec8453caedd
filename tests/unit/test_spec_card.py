"""call-card.md statements the older card tests leave unpinned: Esc on a closable card (§3.3), the
comment saved by enableAutoClose (§8.3), a command-set flag toggled by the operator (§3.1) and the JS
truthiness of ``disableAutoStartTimer`` (§4).

Expected values come from the spec (``spec_tables``), never from callcard's own constants.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcard.clock import FakeClock
from callcard.domain.cards import CardService, ShowRequest
from callcard.domain.events import NO_PAYLOAD, Event
from callcard.store import SQLiteStore
from spec_tables import CLOSABLE, UI_STATE_NUMBERS

T0 = 1_763_700_000.0
BG = "BackgroundCallCard::"


@pytest.fixture
def cards(tmp_path: Path) -> Iterator[CardService]:
    store = SQLiteStore(tmp_path / "callcard.sqlite3")
    service = CardService(store, FakeClock(T0), auto_close_delay_s=60.0)
    service.show(1, ShowRequest(call_id="externalCall.1", phone_number="+15550001", direction="incoming"))
    yield service
    store.close()


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


# -- §3.3: Esc closes the popup of a closable card ------------------------------------------------------


@pytest.mark.parametrize("key", sorted(CLOSABLE))
def test_escape_closes_every_closable_state_silently(cards: CardService, key: str) -> None:
    # outgoing and redial have no close button, yet Esc closes them too. Esc closes the popup, whose
    # close handler runs only the controller's close callback (dispose, release the lock): it is not a
    # click on close (no closeButtonClick) and not close() (no CallCard::BeforeClose).
    cards.set_ui_state(1, key)
    assert cards.press(1, "escape") == []
    assert cards.get(1) is None
    assert cards.command(1, "CallCardSetMute", {"muted": True}).reply == [
        {"result": "error", "errorCode": "Call card is undefined"}]


@pytest.mark.parametrize("key", sorted(set(UI_STATE_NUMBERS) - CLOSABLE))
def test_escape_does_nothing_on_a_state_that_is_not_closable(cards: CardService, key: str) -> None:
    cards.set_ui_state(1, key)
    with pytest.raises(ValueError):
        cards.press(1, "escape")
    card = cards.get(1)
    assert card is not None and card.ui_state.name == key


def test_escape_does_nothing_on_a_folded_card(cards: CardService) -> None:
    # a folded card is the mini panel, not the popup: Esc has nothing to close
    cards.set_ui_state(1, "connected")
    cards.press(1, "fold")
    cards.set_ui_state(1, "idle")
    with pytest.raises(ValueError):
        cards.press(1, "escape")
    assert cards.get(1) is not None


# -- §8.3: enableAutoClose runs the after-timeout close, which saves a shown comment first ---------------


def test_enable_auto_close_saves_the_open_comment_before_closing(cards: CardService) -> None:
    cards.command(1, "disableAutoClose", {})
    cards.press(1, "commentOpen")
    assert names(cards.hide(1, "externalCall.1")) == ["CallCard::BeforeClose"]
    outcome = cards.command(1, "enableAutoClose", {})
    assert outcome.reply == []
    assert [(e.name, e.payload) for e in outcome.events] == [
        (BG + "addCommentButtonClick", ""), ("CallCard::BeforeClose", NO_PAYLOAD)]
    assert cards.get(1) is None


def test_enable_auto_close_after_the_call_ended_waits_for_the_next_auto_close(cards: CardService) -> None:
    # no countdown was pending: nothing happens until the next autoClose, which then closes at once
    cards.command(1, "disableAutoClose", {})
    assert cards.command(1, "enableAutoClose", {}).events == []
    assert cards.get(1) is not None
    assert names(cards.hide(1, "externalCall.1")) == ["CallCard::BeforeClose"]
    assert cards.get(1) is None


# -- §3.1 / §4: the operator's click toggles the flag an app set, and reports the new value ---------------


@pytest.mark.parametrize(("command", "field", "button"),
                         [("CallCardSetMute", "muted", "mute"), ("CallCardSetHold", "held", "hold")])
def test_click_toggles_the_flag_an_app_set(cards: CardService, command: str, field: str, button: str) -> None:
    cards.command(1, "CallCardSetUiState", {"uiState": "connected"})
    assert cards.command(1, command, {field: True}).events == []  # the command fires no click event
    assert [(e.name, e.payload) for e in cards.press(1, button)] == [(BG + button + "ButtonClick", False)]
    assert getattr(cards.get(1), field) is False


# -- §4: disableAutoStartTimer is tested for JS truthiness -----------------------------------------------


@pytest.mark.parametrize(("value", "hidden"), [
    (True, True), (1, True), ("false", True), ("0", True), ({}, True), ([], True),
    (False, False), (0, False), ("", False), (None, False),
])
def test_disable_auto_start_timer_is_js_truthy(cards: CardService, value: Any, hidden: bool) -> None:
    cards.command(1, "CallCardSetUiState", {"uiState": "connected", "disableAutoStartTimer": value})
    card = cards.get(1)
    assert card is not None
    assert (card.timer_running, card.timer_shown) == ((False, False) if hidden else (True, True))


# -- §3.3: folding depends on foldability only (allowAutoClose and callState), not on the state's buttons --


@pytest.mark.parametrize("key", list(UI_STATE_NUMBERS))
def test_double_click_folds_a_foldable_card_in_any_state(cards: CardService, key: str) -> None:
    # the fold button exists in connected and externalCard only, but a double-click folds whenever the
    # card is foldable; an external card stays callState "connected" whatever its UiState
    cards.set_ui_state(1, key)
    assert cards.press(1, "fold") == []
    card = cards.get(1)
    assert card is not None and card.folded
    assert card.buttons()[-1] == "fold"  # the mini panel's expand arrow
    cards.press(1, "fold")
    assert cards.get(1).folded is False  # type: ignore[union-attr]


@pytest.mark.parametrize("key", list(UI_STATE_NUMBERS))
def test_no_fold_once_auto_close_is_disabled(cards: CardService, key: str) -> None:
    cards.set_ui_state(1, key)
    cards.command(1, "disableAutoClose", {})
    with pytest.raises(ValueError):
        cards.press(1, "fold")
    assert cards.get(1).folded is False  # type: ignore[union-attr]
