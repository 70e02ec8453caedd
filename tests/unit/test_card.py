"""CallCard as a pure state machine: status forms, timer, fold, buttons and their events, closing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from callcard.domain.card import CallCard
from callcard.domain.cardstate import default_title
from callcard.domain.events import NO_PAYLOAD, Event
from callcard.domain.jsvalues import js_string, js_truthy
from callcard.domain.uistate import UiState

T0 = 1_763_700_000.0
DELAY = 60.0
BG = "BackgroundCallCard::"


def make_card(**overrides: Any) -> CallCard:
    values: dict[str, Any] = {
        "user_id": 7,
        "call_id": "externalCall.abc",
        "phone_number": "+15550001",
        "direction": "incoming",
        "line_number": "LINE1",
        "line_name": "Sales line",
        "call_state": "connected",
        "ui_state": UiState.externalCard,
    }
    values.update(overrides)
    return CallCard(**values)


def names(events: list[Event]) -> list[str]:
    return [e.name for e in events]


# -- getStatus and its string form (call-card.md §8.2) ------------------------------------------------


def test_status_native_types_and_omissions() -> None:
    card = make_card(crm_entity_type="CONTACT", crm_entity_id=12, crm_activity_id=99,
                     crm_bindings=[{"ENTITY_TYPE": "COMPANY", "ENTITY_ID": 3}])
    assert card.status() == {
        "CALL_ID": "externalCall.abc",
        "PHONE_NUMBER": "+15550001",
        "LINE_NUMBER": "LINE1",
        "LINE_NAME": "Sales line",
        "CRM_ENTITY_TYPE": "CONTACT",
        "CRM_ENTITY_ID": 12,
        "CRM_ACTIVITY_ID": 99,
        "CRM_BINDINGS": [{"ENTITY_TYPE": "COMPANY", "ENTITY_ID": 3}],
        "CALL_DIRECTION": "incoming",
        "CALL_STATE": "connected",
        "CALL_LIST_MODE": False,
    }
    assert list(card.status()) == ["CALL_ID", "PHONE_NUMBER", "LINE_NUMBER", "LINE_NAME", "CRM_ENTITY_TYPE",
                                   "CRM_ENTITY_ID", "CRM_ACTIVITY_ID", "CRM_BINDINGS", "CALL_DIRECTION",
                                   "CALL_STATE", "CALL_LIST_MODE"]


def test_status_omits_unknown_number_and_zero_activity() -> None:
    status = make_card(phone_number="unknown").status()
    assert "PHONE_NUMBER" not in status and "CRM_ACTIVITY_ID" not in status
    assert status["CRM_ENTITY_TYPE"] == "" and status["CRM_ENTITY_ID"] == 0 and status["CRM_BINDINGS"] == []
    assert isinstance(status["CALL_LIST_MODE"], bool)
    assert make_card(phone_number="hidden").status()["PHONE_NUMBER"] == "hidden"


def test_status_as_strings_unbound() -> None:
    assert make_card(phone_number="unknown", call_state="idle").status_as_strings() == {
        "CALL_ID": "externalCall.abc",
        "LINE_NUMBER": "LINE1",
        "LINE_NAME": "Sales line",
        "CRM_ENTITY_TYPE": "",
        "CRM_ENTITY_ID": "0",
        "CRM_ACTIVITY_ID": "undefined",
        "CALL_DIRECTION": "incoming",
        "CALL_STATE": "idle",
        "CALL_LIST_MODE": "false",
    }


def test_status_as_strings_bound() -> None:
    card = make_card(crm_entity_type="LEAD", crm_entity_id=4, crm_activity_id=8,
                     crm_bindings=[{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 4}])
    data = card.status_as_strings()
    assert data["PHONE_NUMBER"] == "+15550001"
    assert (data["CRM_ENTITY_ID"], data["CRM_ACTIVITY_ID"]) == ("4", "8")
    assert data["CRM_BINDINGS"] == [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": "4"}]
    assert list(data)[:7] == ["CALL_ID", "PHONE_NUMBER", "LINE_NUMBER", "LINE_NAME", "CRM_ENTITY_TYPE",
                              "CRM_ENTITY_ID", "CRM_ACTIVITY_ID"]
    assert "URI" not in data


# -- timer (call-card.md §3.2) ---------------------------------------------------------------------------


def test_first_start_sets_initial_and_counts() -> None:
    card = make_card()
    card.start_timer(T0)
    assert card.timer_initial == T0 and card.timer_running
    assert card.timer_elapsed(T0 + 42.5) == 42.5
    card.start_timer(T0 + 10)  # already running: no-op
    assert card.timer_initial == T0


def test_stop_keeps_value_and_resume_does_not_reset() -> None:
    card = make_card()
    card.start_timer(T0)
    card.stop_timer(T0 + 30)
    assert not card.timer_running
    assert card.timer_elapsed(T0 + 500) == 30.0  # last value stays visible
    card.start_timer(T0 + 100)
    assert card.timer_initial == T0  # resume counts from the first start
    assert card.timer_elapsed(T0 + 120) == 120.0


def test_hide_resets_initial_timestamp() -> None:
    card = make_card()
    card.start_timer(T0)
    card.stop_timer(T0 + 30)
    card.hide_timer()
    assert (card.timer_shown, card.timer_initial, card.timer_elapsed(T0 + 40)) == (False, 0.0, 0.0)
    card.start_timer(T0 + 50)
    assert card.timer_elapsed(T0 + 55) == 5.0  # counts from 00:00 again


def test_apply_ui_state_timer_rules() -> None:
    card = make_card()
    card.apply_ui_state(UiState.connected, T0)
    assert (card.timer_shown, card.timer_running, card.timer_initial) == (True, True, T0)
    card.apply_ui_state(UiState.transferring, T0 + 5)
    assert (card.timer_shown, card.timer_running) == (True, True)  # unchanged, not stopped
    card.apply_ui_state(UiState.error, T0 + 9)
    assert (card.timer_shown, card.timer_running, card.timer_elapsed(T0 + 99)) == (True, False, 9.0)
    card.apply_ui_state(UiState.externalCard, T0 + 10)
    assert (card.timer_shown, card.timer_running) == (True, False)
    card.apply_ui_state(UiState.incoming, T0 + 11)
    assert card.timer_shown is False
    assert card.timer_initial == T0  # the view's own state change hides but does not reset


def test_worker_set_ui_state_connected_and_disable_auto_start() -> None:
    card = make_card()
    card.worker_set_ui_state(UiState.connected, T0, disable_auto_start_timer=True)
    assert (card.timer_running, card.timer_shown, card.timer_initial) == (False, False, 0.0)
    card.worker_set_ui_state(UiState.connected, T0 + 3)
    assert (card.timer_running, card.timer_shown, card.timer_initial) == (True, True, T0 + 3)


def test_worker_set_ui_state_not_connected_hides_a_stopped_timer() -> None:
    card = make_card()
    card.worker_set_ui_state(UiState.connected, T0)
    card.worker_set_ui_state(UiState.transferring, T0 + 4)  # still running: kept
    assert (card.timer_running, card.timer_shown, card.timer_initial) == (True, True, T0)
    card.worker_set_ui_state(UiState.idle, T0 + 8)  # idle stops it, then the worker hides it
    assert (card.timer_running, card.timer_shown, card.timer_initial) == (False, False, 0.0)


# -- call state ---------------------------------------------------------------------------------------------


def test_call_state_changed_only_on_change() -> None:
    card = make_card(call_state="idle")
    (event,) = card.set_call_state("connected")
    assert (event.name, event.payload, event.extra) == ("CallCard::CallStateChanged", "connected",
                                                        {"additionalParams": {}})
    assert (event.user_id, event.call_id) == (7, "externalCall.abc")
    assert card.set_call_state("connected") == []
    (event,) = card.set_call_state("idle", {"failedCode": 486})
    assert event.extra == {"additionalParams": {"failedCode": 486}}
    with pytest.raises(ValueError):
        card.set_call_state("ringing")


# -- fold and closable (call-card.md §3.3) -----------------------------------------------------------------


def test_foldable_needs_auto_close_and_connected() -> None:
    assert make_card().foldable
    assert not make_card(call_state="idle").foldable
    assert not make_card(call_state="connecting").foldable
    assert not make_card(allow_auto_close=False).foldable
    assert make_card(call_state="idle", call_list_mode=True).foldable


def test_fold_button_follows_foldability() -> None:
    card = make_card()
    assert card.buttons() == ["close", "fold"]
    card.disable_auto_close(T0, DELAY)
    assert card.buttons() == ["close"]
    with pytest.raises(ValueError):
        card.press("fold", None, T0, DELAY)
    card.enable_auto_close()
    card.ui_state = UiState.connected
    assert "fold" in card.buttons()


def test_fold_toggle_and_folded_buttons() -> None:
    card = make_card(ui_state=UiState.connected)
    assert card.press("fold", None, T0, DELAY) == []
    assert card.folded and card.buttons() == ["hangup", "fold"]
    with pytest.raises(ValueError):
        card.press("mute", None, T0, DELAY)  # not on the mini panel
    card.disable_auto_close(T0, DELAY)
    assert card.buttons() == ["hangup", "fold"]  # the expand arrow stays
    card.press("fold", None, T0, DELAY)
    assert not card.folded and "fold" not in card.buttons()


@pytest.mark.parametrize("key", [s.name for s in UiState])
def test_closable(key: str) -> None:
    expected = key in {"outgoing", "idle", "error", "moneyError", "sipPhoneError", "redial"}
    assert make_card(ui_state=UiState[key]).closable is expected
    assert make_card(ui_state=UiState[key]).view(T0)["closable"] is expected


# -- buttons and their events (call-card.md §3.1, §5) -----------------------------------------------------

SIMPLE_CLICKS = [
    ("incoming", "answer", "answerButtonClick"),
    ("incoming", "skip", "skipButtonClick"),
    ("transferIncoming", "answer", "answerButtonClick"),
    ("outgoing", "call", "makeCallButtonClick"),
    ("connectingIncoming", "hangup", "hangupButtonClick"),
    ("connectingOutgoing", "hangup", "hangupButtonClick"),
    ("connected", "hangup", "hangupButtonClick"),
    ("transferring", "transferComplete", "completeTransferButtonClick"),
    ("transferring", "transferCancel", "cancelTransferButtonClick"),
    ("transferFailed", "transferCancel", "cancelTransferButtonClick"),
    ("transferConnected", "hangup", "hangupButtonClick"),
    ("moneyError", "notifyAdmin", "notifyAdminButtonClick"),
    ("redial", "redial", "makeCallButtonClick"),
]


@pytest.mark.parametrize(("key", "button", "event"), SIMPLE_CLICKS)
def test_click_fires_event_without_payload(key: str, button: str, event: str) -> None:
    card = make_card(ui_state=UiState[key])
    (fired,) = card.press(button, None, T0, DELAY)
    assert (fired.name, fired.payload) == (BG + event, NO_PAYLOAD)
    assert (fired.user_id, fired.call_id) == (7, "externalCall.abc")
    assert not card.closed


def test_idle_outgoing_redial() -> None:
    card = make_card(ui_state=UiState.idle, direction="outgoing")
    assert names(card.press("redial", None, T0, DELAY)) == [BG + "makeCallButtonClick"]
    with pytest.raises(ValueError):
        make_card(ui_state=UiState.idle, direction="callback").press("redial", None, T0, DELAY)


@pytest.mark.parametrize("key", ["idle", "error", "moneyError", "sipPhoneError", "externalCard"])
def test_close_click_fires_close_button_then_before_close(key: str) -> None:
    card = make_card(ui_state=UiState[key])
    events = card.press("close", None, T0, DELAY)
    assert names(events) == [BG + "closeButtonClick", "CallCard::BeforeClose"]
    assert card.closed


def test_mute_and_hold_carry_the_new_value() -> None:
    card = make_card(ui_state=UiState.connected)
    (event,) = card.press("mute", None, T0, DELAY)
    assert (event.name, event.payload) == (BG + "muteButtonClick", True)
    assert card.muted
    assert card.press("mute", None, T0, DELAY)[0].payload is False
    assert card.press("hold", None, T0, DELAY)[0].payload is True
    (event,) = card.press("hold", None, T0, DELAY)
    assert (event.name, event.payload) == (BG + "holdButtonClick", False)


@pytest.mark.parametrize(
    ("used", "target", "payload"),
    [
        (False, 5, {"type": "user", "target": 5}),
        (False, "+15559999", {"type": "pstn", "target": "+15559999"}),
        (True, 5, {"phoneNumber": "+15550001", "target": 5}),
        (True, "+15559999", {"phoneNumber": "+15550001", "target": "+15559999"}),
    ],
)
def test_transfer_payload_depends_on_used(used: bool, target: Any, payload: dict[str, Any]) -> None:
    card = make_card(ui_state=UiState.connected, used=used)
    (event,) = card.press("transfer", {"target": target}, T0, DELAY)
    assert (event.name, event.payload) == (BG + "transferButtonClick", payload)


@pytest.mark.parametrize("value", [None, {}, {"target": ""}, {"target": True}, {"target": 1.5}, 5])
def test_transfer_needs_a_target(value: Any) -> None:
    with pytest.raises(ValueError):
        make_card(ui_state=UiState.connected).press("transfer", value, T0, DELAY)


@pytest.mark.parametrize("key", list("0123456789*#"))
def test_dialpad_key(key: str) -> None:
    (event,) = make_card(ui_state=UiState.connected).press("dialpad", key, T0, DELAY)
    assert (event.name, event.payload) == (BG + "dialpadButtonClick", key)


@pytest.mark.parametrize("value", [None, "", "A", "12", 1])
def test_dialpad_rejects_other_keys(value: Any) -> None:
    with pytest.raises(ValueError):
        make_card(ui_state=UiState.connected).press("dialpad", value, T0, DELAY)


@pytest.mark.parametrize(("value", "payload"), [("1", "1"), ("5", "5"), (3, "3")])
def test_quality_meter_payload_is_a_string(value: Any, payload: str) -> None:
    (event,) = make_card(ui_state=UiState.connected).press("qualityMeter", value, T0, DELAY)
    assert (event.name, event.payload) == (BG + "qualityMeterClick", payload)


@pytest.mark.parametrize("value", ["0", "6", None, True, "x"])
def test_quality_meter_rejects_other_grades(value: Any) -> None:
    with pytest.raises(ValueError):
        make_card(ui_state=UiState.connected).press("qualityMeter", value, T0, DELAY)


@pytest.mark.parametrize(
    ("key", "button"),
    [("externalCard", "hangup"), ("connected", "close"), ("incoming", "hangup"), ("idle", "redial"),
     ("outgoing", "answer"), ("redial", "close"), ("transferring", "hangup"), ("connected", "next"),
     ("externalCard", "bogus")],
)
def test_button_not_shown_raises(key: str, button: str) -> None:
    card = make_card(ui_state=UiState[key])
    with pytest.raises(ValueError):
        card.press(button, None, T0, DELAY)


def test_comment_editor_open_and_save() -> None:
    card = make_card()
    with pytest.raises(ValueError):
        card.press("commentSave", "x", T0, DELAY)
    assert card.press("commentOpen", None, T0, DELAY) == []
    assert card.comment_editor_open
    with pytest.raises(ValueError):
        card.press("commentOpen", None, T0, DELAY)
    (event,) = card.press("commentSave", "Call back tomorrow", T0, DELAY)
    assert (event.name, event.payload) == (BG + "addCommentButtonClick", "Call back tomorrow")
    assert (card.comment_text, card.comment_editor_open) == ("Call back tomorrow", False)


def test_non_external_card_emits_no_background_events() -> None:
    card = make_card(ui_state=UiState.connected, is_external_call=False)
    assert card.press("mute", None, T0, DELAY) == [] and card.muted
    assert card.initialized() == []
    assert names(card.entity_changed()) == ["CallCard::EntityChanged"]
    card.ui_state = UiState.externalCard
    assert names(card.press("close", None, T0, DELAY)) == ["CallCard::BeforeClose"]


def test_entity_changed_payload() -> None:
    card = make_card(crm_entity_type="COMPANY", crm_entity_id=9, phone_number="hidden")
    events = card.entity_changed()
    assert names(events) == ["CallCard::EntityChanged", BG + "entityChanged"]  # the platform's loadCrmCard
    for event in events:
        assert event.payload == {"CRM_ENTITY_TYPE": "COMPANY", "CRM_ENTITY_ID": 9, "PHONE_NUMBER": "hidden"}


# -- auto-close (call-card.md §8.3, §8.4) ----------------------------------------------------------------


def test_auto_close_immediate() -> None:
    card = make_card()
    assert names(card.auto_close(T0, DELAY)) == ["CallCard::BeforeClose"]
    assert card.closed


def test_auto_close_blocked_by_disable_or_open_comment() -> None:
    for card in (make_card(allow_auto_close=False), make_card(comment_editor_open=True)):
        assert names(card.auto_close(T0, DELAY)) == ["CallCard::BeforeClose"]
        assert not card.closed and card.close_at == T0 + DELAY
        assert names(card.auto_close(T0 + 10, DELAY)) == ["CallCard::BeforeClose"]
        assert card.close_at == T0 + DELAY  # the first countdown still fires first


def test_close_after_timeout_saves_the_shown_comment_first() -> None:
    card = make_card(comment_editor_open=True, comment_text="draft")
    card.auto_close(T0, DELAY)
    events = card.close_after_timeout()
    assert [(e.name, e.payload) for e in events] == [
        (BG + "addCommentButtonClick", "draft"), ("CallCard::BeforeClose", NO_PAYLOAD)]
    assert card.closed and not card.comment_editor_open


def test_disable_restarts_and_enable_closes_at_once() -> None:
    card = make_card(allow_auto_close=False)
    card.disable_auto_close(T0, DELAY)
    assert card.close_at is None  # no countdown to restart
    card.auto_close(T0, DELAY)
    card.disable_auto_close(T0 + 30, DELAY)
    assert card.close_at == T0 + 30 + DELAY
    assert names(card.enable_auto_close()) == ["CallCard::BeforeClose"]
    assert card.closed and card.allow_auto_close


def test_enable_without_countdown_does_nothing_else() -> None:
    card = make_card(allow_auto_close=False)
    assert card.enable_auto_close() == [] and card.allow_auto_close and not card.closed


def test_comment_save_restarts_a_running_countdown_when_text_changed() -> None:
    card = make_card(comment_editor_open=True)
    card.auto_close(T0, DELAY)
    card.press("commentSave", "typed", T0 + 20, DELAY)
    assert card.close_at == T0 + 20 + DELAY


# -- view and persistence -------------------------------------------------------------------------------


def test_view_shape() -> None:
    card = make_card(ui_state=UiState.connected, crm_entity_type="CONTACT", crm_entity_id=1, title="T",
                     status_text="S")
    card.start_timer(T0)
    view = card.view(T0 + 61)
    assert set(view) == {
        "userId", "callId", "phoneNumber", "lineNumber", "lineName", "direction", "callState", "uiState",
        "uiStateNumber", "title", "statusText", "muted", "held", "timer", "allowAutoClose", "folded",
        "foldable", "closable", "layout", "buttons", "crm", "crmButtons", "comment", "closeAt",
        "isExternalCall", "used",
    }  # fmt: skip
    assert (view["uiState"], view["uiStateNumber"], view["layout"]) == ("connected", 6, "spaced")
    assert view["timer"] == {"running": True, "shown": False, "elapsed": 61.0}
    assert view["buttons"] == ["hold", "mute", "qualityMeter", "fold", "transfer", "dialpad", "hangup"]
    assert view["crm"] == {"entityType": "CONTACT", "entityId": 1, "activityId": 0, "bindings": []}
    assert view["crmButtons"] == ["addComment", "addDeal", "addInvoice"]
    assert view["comment"] == {"text": "", "editorOpen": False}
    json.dumps(view)


@pytest.mark.parametrize(
    ("entity", "expected"),
    [
        ("CONTACT", ["addComment", "addDeal", "addInvoice"]),
        ("COMPANY", ["addComment", "addDeal", "addInvoice"]),
        ("LEAD", ["addComment"]),
        ("", ["addComment", "addLead", "addContact"]),
    ],
)
def test_crm_buttons(entity: str, expected: list[str]) -> None:
    assert make_card(crm_entity_type=entity).crm_buttons() == expected


def test_round_trip_is_json_safe() -> None:
    card = make_card(ui_state=UiState.transferFailed, muted=True, crm_bindings=[{"ENTITY_TYPE": "LEAD",
                     "ENTITY_ID": 2}], comment_text="c", close_at=T0 + 5, used=True, app_id=3)
    card.start_timer(T0)
    data = json.loads(json.dumps(card.to_dict()))
    assert data["ui_state"] == "transferFailed"
    assert CallCard.from_dict(data) == card
    assert CallCard.from_dict({**data, "future_field": 1}) == card


def test_to_dict_holds_every_field_and_copies_the_bindings() -> None:
    # to_dict is written field by field for speed; it must stay what dataclasses.asdict would give
    card = make_card(crm_bindings=[{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 2}], close_at=T0, app_id=3)
    expected = dataclasses.asdict(card) | {"ui_state": card.ui_state.name}
    data = card.to_dict()
    assert data == expected
    assert list(data) == [f.name for f in dataclasses.fields(CallCard)]
    data["crm_bindings"][0]["ENTITY_ID"] = 9  # a snapshot must not alias the live card
    assert card.crm_bindings == [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 2}]


def test_helpers() -> None:
    assert [js_truthy(v) for v in (None, False, 0, 0.0, "", float("nan"))] == [False] * 6
    assert [js_truthy(v) for v in (True, 1, "false", "0", [], {})] == [True] * 6
    assert [js_string(v) for v in (None, "x", True, 3, 2.0, 2.5, {"a": 1})] == [
        "", "x", "true", "3", "2", "2.5", '{"a":1}']
    assert default_title("incoming", "+1") == "Incoming call from +1"
    assert default_title("outgoing", "unknown") == "Outgoing call to Unknown number"
    assert default_title("callback", "hidden") == "Callback to Hidden number"
