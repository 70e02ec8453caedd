"""CardService over a real SQLiteStore: show/hide lifecycle, every command in every state, guards,
auto-close timing with a FakeClock, operator clicks, page unload, persistence."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcard.clock import FakeClock
from callcard.domain.card import CallCard
from callcard.domain.cards import NO_REPLY, CardService, ShowRequest
from callcard.domain.events import NO_PAYLOAD, Event
from callcard.domain.uistate import UiState
from callcard.store import SQLiteStore

T0 = 1_763_700_000.0
BG = "BackgroundCallCard::"
UNDEFINED = [{"result": "error", "errorCode": "Call card is undefined"}]
INVALID = [{"result": "error", "errorCode": "Invalid ui state"}]
LISTED = ["incoming", "transferIncoming", "outgoing", "connectingIncoming", "connectingOutgoing",
          "connected", "transferring", "transferFailed", "transferConnected", "error", "moneyError", "redial"]
ALL_KEYS = ["incoming", "transferIncoming", "outgoing", "connectingIncoming", "connectingOutgoing",
            "connected", "transferring", "transferFailed", "transferConnected", "idle", "error", "moneyError",
            "sipPhoneError", "redial", "externalCard"]
WORKER = ["CallCardSetMute", "CallCardSetHold", "CallCardSetUiState", "CallCardGetListUiStates",
          "CallCardSetCardTitle", "CallCardSetStatusText", "CallCardClose", "CallCardStartTimer",
          "CallCardStopTimer"]
TAB = ["getStatus", "disableAutoClose", "enableAutoClose"]


class Env:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.store = SQLiteStore(path)
        self.clock = FakeClock(T0)
        self.cards = CardService(self.store, self.clock, auto_close_delay_s=60.0)

    def reopen(self) -> CardService:
        """A second service on a fresh connection to the same file: sees only what was committed."""
        return CardService(SQLiteStore(self.path), self.clock)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(tmp_path / "callcard.sqlite3")
    yield e
    e.store.close()


def request(**overrides: Any) -> ShowRequest:
    values: dict[str, Any] = {"call_id": "externalCall.1", "phone_number": "+15550001",
                              "direction": "incoming", "line_number": "L1", "line_name": "Sales"}
    values.update(overrides)
    return ShowRequest(**values)


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


def put_card(env: Env, card: CallCard) -> None:
    env.store.upsert("cards", {"user_id": card.user_id, "state": card.to_dict(), "updated_at": T0})


# -- show (call-card.md §9.1) ----------------------------------------------------------------------------


def test_show_events_in_order_with_crm(env: Env) -> None:
    events = env.cards.show(1, request(crm_entity_type="CONTACT", crm_entity_id=12, crm_activity_id=5,
                                       crm_bindings=({"ENTITY_TYPE": "CONTACT", "ENTITY_ID": 12},)))
    assert names(events) == ["CallCard::EntityChanged", BG + "entityChanged", BG + "initialized",
                             "CallCard::CallStateChanged"]
    entity = {"CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 12, "PHONE_NUMBER": "+15550001"}
    assert events[0].payload == entity and events[1].payload == entity
    assert events[2].payload == {
        "CALL_ID": "externalCall.1", "PHONE_NUMBER": "+15550001", "LINE_NUMBER": "L1", "LINE_NAME": "Sales",
        "CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": 12, "CRM_ACTIVITY_ID": 5,
        "CRM_BINDINGS": [{"ENTITY_TYPE": "CONTACT", "ENTITY_ID": 12}], "CALL_DIRECTION": "incoming",
        "CALL_STATE": "idle", "CALL_LIST_MODE": False,
    }  # fmt: skip
    assert (events[3].payload, events[3].extra) == ("connected", {"additionalParams": {}})
    assert all((e.user_id, e.call_id) == (1, "externalCall.1") for e in events)
    card = env.cards.get(1)
    assert card is not None
    assert (card.ui_state, card.call_state, card.is_external_call, card.used) == (
        UiState.externalCard, "connected", True, False)
    assert card.title == "Incoming call from +15550001" and card.status_text == "Connected"
    assert card.view(T0)["buttons"] == ["close", "fold"]


@pytest.mark.parametrize(
    "req", [request(), request(crm_entity_type="LEAD", crm_entity_id=3, show_crm_card=False)]
)
def test_show_without_crm_load(env: Env, req: ShowRequest) -> None:
    assert names(env.cards.show(1, req)) == [BG + "initialized", "CallCard::CallStateChanged"]


def test_show_direction_and_line_name_fallback(env: Env) -> None:
    env.cards.show(1, request(direction="callback", line_name=""))
    card = env.cards.get(1)
    assert card is not None and card.direction == "callback" and card.line_name == "L1"
    with pytest.raises(ValueError):
        env.cards.show(2, request(direction="inbound"))
    assert env.cards.get(2) is None


def test_second_show_is_ignored_until_close(env: Env) -> None:
    env.cards.show(1, request())
    assert env.cards.show(1, request(call_id="externalCall.2")) == []
    assert env.cards.get(1).call_id == "externalCall.1"  # type: ignore[union-attr]
    env.cards.close(1)
    assert names(env.cards.show(1, request(call_id="externalCall.2")))[-1] == "CallCard::CallStateChanged"
    assert env.cards.get(1).call_id == "externalCall.2"  # type: ignore[union-attr]


def test_one_card_per_user_and_open_cards(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.show(2, request(call_id="externalCall.9"))
    assert sorted((c.user_id, c.call_id) for c in env.cards.open_cards()) == [
        (1, "externalCall.1"), (2, "externalCall.9")]


# -- every command in every UiState ----------------------------------------------------------------------

COMMAND_PARAMS: dict[str, Any] = {
    "CallCardSetMute": {"muted": True},
    "CallCardSetHold": {"held": True},
    "CallCardSetUiState": {"uiState": "connected"},
    "CallCardGetListUiStates": None,
    "CallCardSetCardTitle": {"title": "<b>Acme</b>"},
    "CallCardSetStatusText": {"statusText": "Talking"},
    "CallCardClose": {},
    "CallCardStartTimer": {},
    "CallCardStopTimer": {},
    "getStatus": {},
    "disableAutoClose": {},
    "enableAutoClose": {},
}


@pytest.mark.parametrize("key", ALL_KEYS)
@pytest.mark.parametrize("command", WORKER + TAB)
def test_command_in_every_state(env: Env, key: str, command: str) -> None:
    env.cards.show(1, request())
    env.cards.set_ui_state(1, key)
    env.clock.advance(10)
    outcome = env.cards.command(1, command, COMMAND_PARAMS[command])
    assert outcome.known
    card = env.cards.get(1)
    if command == "CallCardClose":
        assert (outcome.reply, names(outcome.events), card) == ([], ["CallCard::BeforeClose"], None)
        return
    assert card is not None and outcome.events == []
    expected_reply: Any = {
        "CallCardGetListUiStates": LISTED,
        "CallCardStartTimer": NO_REPLY,
        "CallCardStopTimer": NO_REPLY,
        "getStatus": {"CALL_ID": "externalCall.1", "PHONE_NUMBER": "+15550001", "LINE_NUMBER": "L1",
                      "LINE_NAME": "Sales", "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": 0, "CRM_BINDINGS": [],
                      "CALL_DIRECTION": "incoming", "CALL_STATE": "connected", "CALL_LIST_MODE": False},
    }.get(command, [])
    assert outcome.reply == expected_reply if expected_reply is not NO_REPLY else outcome.reply is NO_REPLY
    assert card.used is (command in WORKER)
    assert card.ui_state is (UiState.connected if command == "CallCardSetUiState" else UiState[key])
    if command == "CallCardSetMute":
        assert card.muted
    elif command == "CallCardSetHold":
        assert card.held
    elif command == "CallCardSetCardTitle":
        assert card.title == "<b>Acme</b>"  # stored raw, rendered escaped
    elif command == "CallCardSetStatusText":
        assert card.status_text == "Talking"
    elif command == "CallCardStartTimer":
        assert card.timer_running and card.timer_shown and card.timer_elapsed(env.clock.now() + 1) >= 1
    elif command == "CallCardStopTimer":
        assert not card.timer_running
    elif command == "disableAutoClose":
        assert not card.allow_auto_close and "fold" not in card.buttons()


# -- guards (call-card.md §4) ------------------------------------------------------------------------------

GUARDED = [c for c in WORKER if c != "CallCardGetListUiStates"]


def _guard_case(env: Env, case: str) -> bool:
    """Set up a guard case; return the ``owner`` flag to call with."""
    if case == "not_external":
        put_card(env, CallCard(user_id=1, call_id="voximplant.1", phone_number="+1", is_external_call=False,
                               call_state="connected"))
    elif case == "after_close":
        env.cards.show(1, request())
        assert env.cards.command(1, "CallCardClose", None).reply == []
    elif case == "not_owner":
        env.cards.show(1, request())
        return False
    return True


@pytest.mark.parametrize("case", ["no_card", "not_owner", "not_external", "after_close"])
@pytest.mark.parametrize("command", GUARDED)
def test_guard_failure_replies_card_undefined(env: Env, case: str, command: str) -> None:
    owner = _guard_case(env, case)
    before = env.cards.get(1)
    outcome = env.cards.command(1, command, COMMAND_PARAMS[command], owner=owner)
    assert (outcome.reply, outcome.events, outcome.known) == (UNDEFINED, [], True)
    after = env.cards.get(1)
    if before is not None and after is not None:
        # nothing but the used flag may change (a non-owning page's command does not even set that)
        assert {**after.to_dict(), "used": before.used} == before.to_dict()
        assert after.used is (case == "not_external")


@pytest.mark.parametrize("case", ["no_card", "not_owner", "not_external", "after_close"])
def test_get_list_has_no_guard(env: Env, case: str) -> None:
    owner = _guard_case(env, case)
    assert env.cards.command(1, "CallCardGetListUiStates", None, owner=owner).reply == LISTED


@pytest.mark.parametrize("case", ["no_card", "not_owner", "after_close"])
@pytest.mark.parametrize("command", TAB)
def test_call_card_commands_without_a_card(env: Env, case: str, command: str) -> None:
    owner = _guard_case(env, case)
    assert env.cards.command(1, command, {}, owner=owner).reply == UNDEFINED


def test_call_card_commands_work_on_a_non_external_card(env: Env) -> None:
    _guard_case(env, "not_external")
    assert env.cards.command(1, "getStatus", {}).reply["CALL_ID"] == "voximplant.1"
    assert env.cards.command(1, "disableAutoClose", {}).reply == []
    assert env.cards.get(1).allow_auto_close is False  # type: ignore[union-attr]


def test_guard_runs_before_the_parameter_check(env: Env) -> None:
    assert env.cards.command(1, "CallCardSetUiState", {"uiState": "nonsense"}).reply == UNDEFINED


@pytest.mark.parametrize("params", [None, [], "connected", {}, {"uiState": None}, {"uiState": ""},
                                    {"uiState": 6}, {"uiState": "Connected"}, {"uiState": "ringing"}])
def test_invalid_ui_state(env: Env, params: Any) -> None:
    env.cards.show(1, request())
    outcome = env.cards.command(1, "CallCardSetUiState", params)
    assert (outcome.reply, outcome.events) == (INVALID, [])
    card = env.cards.get(1)
    assert card is not None and card.ui_state is UiState.externalCard and card.used


@pytest.mark.parametrize("key", ALL_KEYS)
def test_set_ui_state_accepts_all_fifteen_and_flags_hidden(env: Env, key: str) -> None:
    env.cards.show(1, request())
    outcome = env.cards.command(1, "CallCardSetUiState", {"uiState": key})
    assert outcome.reply == []
    assert outcome.hidden_ui_state == (key if key in ("idle", "sipPhoneError", "externalCard") else None)
    assert env.cards.get(1).ui_state is UiState[key]  # type: ignore[union-attr]


def test_set_ui_state_connected_with_disable_auto_start_timer(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "CallCardSetUiState", {"uiState": "connected", "disableAutoStartTimer": True})
    card = env.cards.get(1)
    assert card is not None
    assert card.view(T0 + 5)["timer"] == {"running": False, "shown": False, "elapsed": 0.0}
    env.cards.command(1, "CallCardSetUiState", {"uiState": "connected"})
    env.clock.advance(7)
    assert env.cards.get(1).view(env.clock.now())["timer"] == {  # type: ignore[union-attr]
        "running": True, "shown": True, "elapsed": 7.0}


def test_timer_commands_are_silent_and_resume(env: Env) -> None:
    env.cards.show(1, request())
    assert env.cards.command(1, "CallCardStartTimer", None).reply is NO_REPLY
    env.clock.advance(30)
    assert env.cards.command(1, "CallCardStopTimer", None).reply is NO_REPLY
    env.clock.advance(100)
    assert env.cards.get(1).timer_elapsed(env.clock.now()) == 30.0  # type: ignore[union-attr]
    assert env.cards.command(1, "CallCardStartTimer", None).reply is NO_REPLY
    env.clock.advance(5)
    assert env.cards.get(1).timer_elapsed(env.clock.now()) == 135.0  # type: ignore[union-attr]
    assert env.cards.command(1, "CallCardStopTimer", None).events == []


@pytest.mark.parametrize(("command", "field"), [("CallCardSetMute", "muted"), ("CallCardSetHold", "held")])
def test_mute_and_hold_are_idempotent_and_fire_nothing(env: Env, command: str, field: str) -> None:
    env.cards.show(1, request())
    for value, expected in [(True, True), (True, True), ("false", True), (0, False), (None, False),
                            (1, True), (False, False)]:
        outcome = env.cards.command(1, command, {field: value})
        assert (outcome.reply, outcome.events) == ([], [])
        assert getattr(env.cards.get(1), field) is expected
    env.cards.command(1, command, {field: True})
    assert env.cards.command(1, command, {}).reply == []  # missing counts as false
    assert getattr(env.cards.get(1), field) is False


def test_title_and_status_missing_become_empty(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "CallCardSetCardTitle", {})
    env.cards.command(1, "CallCardSetStatusText", None)
    card = env.cards.get(1)
    assert card is not None and (card.title, card.status_text) == ("", "")


def test_unknown_command(env: Env) -> None:
    env.cards.show(1, request())
    outcome = env.cards.command(1, "CallCardExplode", {})
    assert (outcome.reply, outcome.events, outcome.known) == (NO_REPLY, [], False)
    assert env.cards.get(1).used is False  # type: ignore[union-attr]


def test_used_flag_rules(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "getStatus", {})
    env.cards.command(1, "CallCardSetMute", {"muted": True}, owner=False)
    assert env.cards.get(1).used is False  # type: ignore[union-attr]
    env.cards.command(1, "getStatus", {}, mark_used=True)  # REST placement.call counts as usage
    assert env.cards.get(1).used is True  # type: ignore[union-attr]
    env.cards.close(1)
    env.cards.show(1, request())
    env.cards.command(1, "CallCardGetListUiStates", None)
    assert env.cards.get(1).used is True  # type: ignore[union-attr]


def test_after_close_commands_fail_and_a_new_show_works(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "CallCardClose", None)
    assert env.cards.command(1, "CallCardSetMute", {"muted": True}).reply == UNDEFINED
    env.cards.show(1, request(call_id="externalCall.2"))
    assert env.cards.command(1, "CallCardSetMute", {"muted": True}).reply == []


# -- hide and auto-close (call-card.md §8.3, §8.4, §9.2) -----------------------------------------------------


def test_hide_closes_at_once_without_call_state_change(env: Env) -> None:
    env.cards.show(1, request())
    assert env.cards.hide(1, "externalCall.other") == []
    events = env.cards.hide(1, "externalCall.1")
    assert [(e.name, e.payload, e.user_id, e.call_id) for e in events] == [
        ("CallCard::BeforeClose", NO_PAYLOAD, 1, "externalCall.1")]
    assert env.cards.get(1) is None and env.store.get("cards", 1) is None
    assert env.cards.hide(1, "externalCall.1") == []


def test_hide_ignores_a_non_external_card(env: Env) -> None:
    put_card(env, CallCard(user_id=1, call_id="externalCall.1", phone_number="+1", is_external_call=False))
    assert env.cards.hide(1, "externalCall.1") == []
    assert env.cards.get(1) is not None


@pytest.mark.parametrize("delay", [60.0, 65.0])
def test_delayed_close_after_the_configured_delay(tmp_path: Path, delay: float) -> None:
    store, clock = SQLiteStore(tmp_path / "c.sqlite3"), FakeClock(T0)
    cards = CardService(store, clock, auto_close_delay_s=delay)
    cards.show(1, request())
    cards.command(1, "disableAutoClose", {})
    assert names(cards.hide(1, "externalCall.1")) == ["CallCard::BeforeClose"]
    assert cards.get(1).close_at == T0 + delay  # type: ignore[union-attr]
    clock.advance(delay - 0.5)
    assert cards.tick() == [] and cards.get(1) is not None
    clock.advance(0.5)
    events = cards.tick()
    assert [(e.name, e.user_id, e.call_id) for e in events] == [
        ("CallCard::BeforeClose", 1, "externalCall.1")]
    assert cards.get(1) is None and cards.tick() == []
    store.close()


def test_disable_auto_close_restarts_the_countdown(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "disableAutoClose", {})
    env.cards.hide(1, "externalCall.1")
    env.clock.advance(50)
    env.cards.command(1, "disableAutoClose", {})
    env.clock.advance(50)
    assert env.cards.tick() == []  # 100 s after hide, but only 50 s after the restart
    env.clock.advance(10)
    assert names(env.cards.tick()) == ["CallCard::BeforeClose"]


def test_enable_auto_close_closes_a_pending_card_at_once(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "disableAutoClose", {})
    env.cards.hide(1, "externalCall.1")
    outcome = env.cards.command(1, "enableAutoClose", {})
    assert (outcome.reply, names(outcome.events)) == ([], ["CallCard::BeforeClose"])
    assert env.cards.get(1) is None


def test_enable_auto_close_without_countdown_only_reenables(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "disableAutoClose", {})
    assert env.cards.command(1, "enableAutoClose", {}).events == []
    card = env.cards.get(1)
    assert card is not None and card.allow_auto_close and "fold" in card.buttons()


def test_open_comment_blocks_auto_close_and_is_saved_on_timeout(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.press(1, "commentOpen")
    assert names(env.cards.hide(1, "externalCall.1")) == ["CallCard::BeforeClose"]
    env.clock.advance(60)
    events = env.cards.tick()
    assert [(e.name, e.payload) for e in events] == [(BG + "addCommentButtonClick", ""),
                                                     ("CallCard::BeforeClose", NO_PAYLOAD)]
    assert env.cards.get(1) is None


# -- operator, control API, page lifecycle -----------------------------------------------------------------


def test_press_close(env: Env) -> None:
    env.cards.show(1, request())
    assert names(env.cards.press(1, "close")) == [BG + "closeButtonClick", "CallCard::BeforeClose"]
    assert env.cards.get(1) is None


def test_press_rejects_hidden_buttons_and_missing_card(env: Env) -> None:
    with pytest.raises(ValueError):
        env.cards.press(1, "close")
    env.cards.show(1, request())
    with pytest.raises(ValueError):
        env.cards.press(1, "mute")  # not shown in externalCard
    env.cards.set_ui_state(1, "connected")
    assert [(e.name, e.payload) for e in env.cards.press(1, "mute")] == [(BG + "muteButtonClick", True)]
    assert env.cards.get(1).muted  # type: ignore[union-attr]


def test_press_transfer_after_an_app_used_the_worker(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.set_ui_state(1, "connected")
    assert env.cards.press(1, "transfer", {"target": 4})[0].payload == {"type": "user", "target": 4}
    env.cards.command(1, "CallCardSetStatusText", {"statusText": "x"})
    (event,) = env.cards.press(1, "transfer", {"target": 4})
    assert event.payload == {"phoneNumber": "+15550001", "target": 4}


def test_press_on_a_non_external_card_fires_no_background_events(env: Env) -> None:
    put_card(env, CallCard(user_id=1, call_id="c", phone_number="+1", is_external_call=False,
                           call_state="connected", ui_state=UiState.connected))
    assert env.cards.press(1, "mute") == []
    assert names(env.cards.press(1, "hangup")) == []
    env.cards.set_ui_state(1, "idle")
    assert names(env.cards.press(1, "close")) == ["CallCard::BeforeClose"]


def test_control_set_ui_state(env: Env) -> None:
    with pytest.raises(ValueError):
        env.cards.set_ui_state(1, "connected")
    env.cards.show(1, request())
    with pytest.raises(ValueError):
        env.cards.set_ui_state(1, "Connected")
    assert env.cards.set_ui_state(1, "connected") == []
    card = env.cards.get(1)
    assert card is not None and card.ui_state is UiState.connected and card.timer_running and not card.used


def test_close_is_silent_towards_background_apps(env: Env) -> None:
    env.cards.show(1, request())
    assert names(env.cards.close(1)) == ["CallCard::BeforeClose"]
    assert env.cards.close(1) == []


def test_page_unload_closes_a_used_card(env: Env) -> None:
    env.cards.show(1, request())
    env.cards.command(1, "CallCardStartTimer", None)
    assert names(env.cards.page_unloaded(1)) == ["CallCard::BeforeClose"]
    assert env.cards.get(1) is None


def test_page_unload_keeps_an_unused_card_for_restore(env: Env) -> None:
    env.cards.show(1, request())
    assert env.cards.page_unloaded(1) == []
    env.clock.advance(10)
    events = env.cards.page_reclaimed(1)
    assert names(events) == [BG + "initialized"] and events[0].payload["CALL_STATE"] == "connected"
    env.clock.advance(60)
    assert env.cards.tick() == [] and env.cards.get(1) is not None
    env.cards.page_unloaded(1)
    env.clock.advance(14.9)
    assert env.cards.tick() == []
    env.clock.advance(0.1)
    assert names(env.cards.tick()) == ["CallCard::BeforeClose"]
    assert env.cards.get(1) is None


# -- persistence -------------------------------------------------------------------------------------------


def test_every_change_is_committed_before_return(env: Env) -> None:
    env.cards.show(1, request(crm_entity_type="COMPANY", crm_entity_id=2))
    env.cards.command(1, "CallCardSetUiState", {"uiState": "connected"})
    env.cards.command(1, "CallCardSetCardTitle", {"title": "Acme"})
    env.cards.press(1, "hold")
    other = env.reopen()
    card = other.get(1)
    assert card is not None
    assert (card.ui_state, card.title, card.held, card.used, card.crm_entity_type) == (
        UiState.connected, "Acme", True, True, "COMPANY")
    assert card == env.cards.get(1)
    row = env.store.get("cards", 1)
    assert row is not None and row["state"]["ui_state"] == "connected" and row["updated_at"] == T0
    env.cards.command(1, "CallCardClose", None)
    assert env.reopen().get(1) is None and env.store.count("cards") == 0


def test_a_failed_press_changes_nothing(env: Env) -> None:
    env.cards.show(1, request())
    before = env.store.get("cards", 1)
    with pytest.raises(ValueError):
        env.cards.press(1, "dialpad", "5")
    assert env.store.get("cards", 1) == before
