"""The call-card scenarios both SDKs must pass, through the browser (call-card.md, wire-protocol.md).

``CardScenarios`` is a mix-in test class: ``test_b24jssdk_app.py`` and ``test_bx24_app.py`` subclass it
with ``SDK = "b24jssdk"`` / ``"bx24"``, so every scenario runs once with the official @bitrix24/b24jssdk
bundle and once with the classic BX24 library callcard serves. Each test gets a fresh portal page of the
app's user with the app's worker frame ready (``session`` fixture, ``PortalSession``).

Expected values come from the spec, never from callcard's code: the 12 listed states (§2), the buttons per
state for an incoming external card that is connected and so foldable (§3.1, §3.3), event payloads (§5),
getStatus (§8.2) and the error arrays of §4.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from e2e_support import CARD, CARD_UNDEFINED, INVALID_UI_STATE, PortalSession, find_frame, wait_until

from spec_tables import LISTED_STATES, SPEC_BUTTONS

LISTED = LISTED_STATES
#: call-card.md §3.1 for an incoming external card (callState connected, auto-close allowed: foldable)
BUTTONS = SPEC_BUTTONS
GUARDED = {
    "CallCardSetUiState": {"uiState": "connected"},
    "CallCardSetMute": {"muted": True},
    "CallCardSetHold": {"held": True},
    "CallCardSetCardTitle": {"title": "x"},
    "CallCardSetStatusText": {"statusText": "x"},
    "CallCardClose": {},
    "CallCardStartTimer": {},
    "CallCardStopTimer": {},
}
_numbers = itertools.count(1000)


def phone() -> str:
    """A fresh client number per call (register dedups the same number for 30 minutes)."""
    return f"+1555010{next(_numbers)}"


def other_user(session: PortalSession) -> int:
    return 4 if session.app.user_id != 4 else 3


class CardScenarios:
    """Mixed into ``Test<SDK>`` classes; ``SDK`` names the test app."""

    SDK = ""

    # -- the card opens: initialized and entityChanged --------------------------------------------------

    def test_register_opens_card_and_app_hears_initialized(self, session: PortalSession) -> None:
        s = session
        line = "100" if s.app.sdk == "b24jssdk" else "200"
        assert "result" in s.rest("telephony.externalLine.add", {"NUMBER": line, "NAME": f"Sales {line}"})
        number = phone()
        contact = s.server.services.crm.add(
            "CONTACT", {"NAME": "Ada", "LAST_NAME": "Lovelace", "PHONE": [{"VALUE": number, "VALUE_TYPE": "WORK"}]}
        )
        s.settle()
        call_id = s.register_call(number, LINE_NUMBER=line)
        s.wait_state("externalCard")
        assert s.text("phone") == number
        initialized = s.wait_event("initialized")
        assert initialized == [{
            "CALL_ID": call_id,
            "PHONE_NUMBER": number,
            "LINE_NUMBER": line,
            "LINE_NAME": f"Sales {line}",
            "CRM_ENTITY_TYPE": "CONTACT",
            "CRM_ENTITY_ID": contact,
            "CRM_BINDINGS": [{"ENTITY_TYPE": "CONTACT", "ENTITY_ID": contact}],
            "CALL_DIRECTION": "incoming",
            "CALL_STATE": "idle",  # fired before callState becomes connected (§5)
            "CALL_LIST_MODE": False,
        }]
        # the CRM card loads during construction, so entityChanged comes first (§7)
        names = [e["name"].split("::")[1] for e in s.events()]
        assert names == ["entityChanged", "initialized"]
        assert s.payloads("entityChanged") == [
            {"CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": contact, "PHONE_NUMBER": number}
        ]

    # -- the app drives the card ------------------------------------------------------------------------

    def test_list_ui_states_is_the_twelve_in_order(self, session: PortalSession) -> None:
        assert session.call("CallCardGetListUiStates") == LISTED  # no card: no guard for this one
        session.open_card(phone())
        assert session.call("CallCardGetListUiStates") == LISTED

    def test_app_drives_the_card_through_every_state(self, session: PortalSession) -> None:
        s = session
        s.open_card(phone())
        assert s.action_buttons() == ["close"] and s.has_fold()
        for state, expected in BUTTONS.items():
            s.set_state(state)
            assert s.action_buttons() == [b for b in expected if b != "fold"], state
            assert s.has_fold() == ("fold" in expected), state
            assert s.page.locator(f"{CARD} [data-button='next']").count() == 0  # no call-list mode
        # the 3 unlisted states are accepted but reported (README decision 4)
        kinds = {f["kind"] for f in s.server.services.conformance.findings(s.app.app.app_id)}
        assert "hidden_ui_state" in kinds

    def test_title_status_mute_and_hold_follow_the_app(self, session: PortalSession) -> None:
        s = session
        s.open_card(phone())
        assert s.call("CallCardSetCardTitle", {"title": "<b>Acme</b> & Co"}) == []
        s.page.wait_for_function(
            f"document.querySelector(\"{CARD} [data-role='title']\").textContent === '<b>Acme</b> & Co'")
        assert s.page.locator(f"{CARD} [data-role='title'] b").count() == 0  # escaped, never HTML
        assert s.call("CallCardSetStatusText", {"statusText": "Ringing…"}) == []
        s.page.wait_for_function(
            f"document.querySelector(\"{CARD} [data-role='status']\").textContent === 'Ringing…'")
        assert s.call("CallCardSetStatusText", {}) == []  # missing: empty (team choice)
        s.page.wait_for_function(
            f"document.querySelector(\"{CARD} [data-role='status']\").textContent === ''")
        s.set_state("connected")
        mute = f"{CARD} [data-button='mute']"
        hold = f"{CARD} [data-button='hold']"
        assert s.call("CallCardSetMute", {"muted": True}) == []
        s.page.wait_for_selector(f"{mute}[aria-pressed='true']")
        assert s.call("CallCardSetHold", {"held": True}) == []
        s.page.wait_for_selector(f"{hold}[aria-pressed='true']")
        assert s.call("CallCardSetMute", {"muted": True}) == []  # same value: nothing changes
        assert s.call("CallCardSetHold", {}) == []  # missing counts as false
        s.page.wait_for_selector(f"{hold}[aria-pressed='false']")
        # the commands fire no click events; the operator's click fires the *new* value
        s.click("mute")
        assert s.wait_event("muteButtonClick") == [False]
        assert s.payloads("holdButtonClick") == []
        s.page.wait_for_selector(f"{mute}[aria-pressed='false']")

    def test_timer_follows_states_and_timer_commands(self, session: PortalSession) -> None:
        s = session
        timer = f"{CARD} [data-role='timer']"
        s.open_card(phone())
        assert s.page.locator(timer).is_hidden()
        s.set_state("connected")  # starts and shows the timer (§3.2)
        s.page.wait_for_selector(f"{timer}[data-running='true']", state="visible")
        s.page.wait_for_function(f"+document.querySelector(\"{timer}\").dataset.seconds >= 1", polling=100)
        # the timer commands never answer on success (README decision 5)
        assert s.call("CallCardStopTimer") == s.app.silence
        s.page.wait_for_selector(f"{timer}[data-running='false']", state="visible")
        frozen = int(s.page.locator(timer).get_attribute("data-seconds") or -1)
        s.page.wait_for_timeout(1100)
        assert int(s.page.locator(timer).get_attribute("data-seconds") or -1) == frozen
        assert s.call("CallCardStartTimer") == s.app.silence
        s.page.wait_for_selector(f"{timer}[data-running='true']")
        assert int(s.page.locator(timer).get_attribute("data-seconds") or -1) >= frozen  # resumed, not reset
        assert s.call("CallCardSetUiState", {"uiState": "connected", "disableAutoStartTimer": True}) == []
        s.page.wait_for_selector(timer, state="hidden")  # stopped and hidden, its start time reset
        s.worker.evaluate("() => { testApp.call('CallCardStartTimer'); }")  # not awaited: no answer comes
        s.page.wait_for_selector(f"{timer}[data-running='true']", state="visible")
        assert int(s.page.locator(timer).get_attribute("data-seconds") or -1) == 0  # counts from 00:00

    # -- errors ------------------------------------------------------------------------------------------

    def test_invalid_state_and_guard_errors(self, session: PortalSession) -> None:
        s = session
        for command, params in GUARDED.items():  # no card open: the guard fails, even for the timers
            assert s.call(command, params) == CARD_UNDEFINED, command
        # the guard runs before any parameter check
        assert s.call("CallCardSetUiState", {"uiState": "bogus"}) == CARD_UNDEFINED
        s.open_card(phone())
        for bad in ({"uiState": "bogus"}, {}, {"uiState": 6}, {"uiState": "CONNECTED"}):
            assert s.call("CallCardSetUiState", bad) == INVALID_UI_STATE, bad
        assert s.state() == "externalCard"

    def test_close_then_guard(self, session: PortalSession) -> None:
        s = session
        s.open_card(phone())
        assert s.call("CallCardClose") == []
        s.wait_closed()
        for command, params in GUARDED.items():
            assert s.call(command, params) == CARD_UNDEFINED, command
        assert s.call("CallCardGetListUiStates") == LISTED
        assert s.payloads("closeButtonClick") == []  # CallCardClose is not the close button
        assert s.server.services.cards.get(s.app.user_id) is None
        # a later show opens a new card, and the app hears initialized again (§9.4)
        call_id = s.register_call(phone())
        s.wait_state("externalCard")
        assert s.wait_event("initialized", 2)[1]["CALL_ID"] == call_id

    # -- the 17 events -----------------------------------------------------------------------------------

    def test_each_button_fires_its_event_with_the_documented_payload(self, session: PortalSession) -> None:
        s = session
        number = phone()
        s.open_card(number)
        empty = s.app.empty  # "<cb>:" reaches b24jssdk handlers as '' and BX24 handlers as []
        target = other_user(s)

        def fires(short: str, payload: Any, *buttons: str) -> None:
            """Click ``buttons`` in turn; the last click must fire ``short`` with ``payload``."""
            count = len(s.payloads(short)) + 1
            for button in buttons:
                s.click(button)
            assert s.wait_event(short, count)[-1] == payload, short

        s.set_state("incoming")
        fires("answerButtonClick", empty, "answer")
        fires("skipButtonClick", empty, "skip")
        s.set_state("connected")
        fires("muteButtonClick", True, "mute")
        fires("holdButtonClick", True, "hold")
        fires("qualityMeterClick", "4", "qualityMeter", "quality-4")  # the data-attribute string
        s.click("dialpad")
        for key in ("7", "#"):
            fires("dialpadButtonClick", key, f"dialpad-{key}")
        s.page.click(f"{CARD} [data-action='popup-close']")  # closes the keypad
        # an app used the card, so the background-app form (§5)
        fires("transferButtonClick", {"phoneNumber": number, "target": target},
              "transfer", f"transfer-target-{target}")
        s.click("transfer")
        s.page.fill(f"{CARD} [data-role='transfer-phone']", "+15550999")
        fires("transferButtonClick", {"phoneNumber": number, "target": "+15550999"}, "transfer-pstn")
        s.click("commentOpen")
        s.page.fill(f"{CARD} [data-role='comment']", "Wants a callback on Monday")
        fires("addCommentButtonClick", "Wants a callback on Monday", "commentSave")
        fires("hangupButtonClick", empty, "hangup")
        s.set_state("transferring")
        fires("completeTransferButtonClick", empty, "transferComplete")
        fires("cancelTransferButtonClick", empty, "transferCancel")
        s.set_state("outgoing")
        fires("makeCallButtonClick", empty, "call")
        s.set_state("redial")
        fires("makeCallButtonClick", empty, "redial")
        s.set_state("moneyError")
        fires("notifyAdminButtonClick", empty, "notifyAdmin")
        fires("closeButtonClick", empty, "close")
        s.wait_closed()  # the close button closes the card after its event
        s.page.wait_for_timeout(200)
        names = [e["name"].split("::")[1] for e in s.events()]
        assert names == [
            "initialized", "answerButtonClick", "skipButtonClick", "muteButtonClick", "holdButtonClick",
            "qualityMeterClick", "dialpadButtonClick", "dialpadButtonClick", "transferButtonClick",
            "transferButtonClick", "addCommentButtonClick", "hangupButtonClick", "completeTransferButtonClick",
            "cancelTransferButtonClick", "makeCallButtonClick", "makeCallButtonClick",
            "notifyAdminButtonClick", "closeButtonClick",
        ]
        # nextButtonClick is bindable (call-list mode only, never rendered here); entityChanged has its test
        interface = s.worker.evaluate("testApp.getInterface()")
        assert "BackgroundCallCard::nextButtonClick" in interface["event"] and len(interface["event"]) == 17

    def test_folded_card_keeps_hangup_and_expands(self, session: PortalSession) -> None:
        s = session
        s.open_card(phone())
        s.set_state("connected")
        s.click("fold")
        s.page.wait_for_selector(f"{CARD}[data-folded='true']")
        mini = f"{CARD} .cc-mini"
        names = s.page.eval_on_selector_all(f"{mini} [data-button]", "els => els.map(e => e.dataset.button)")
        assert sorted(names) == ["fold", "hangup"]  # the mini panel: hangup, and the expand arrow (§3.3)
        s.page.click(f"{mini} [data-button='hangup']")
        assert s.wait_event("hangupButtonClick") == [s.app.empty]
        s.page.click(f"{mini} [data-button='fold']")
        s.page.wait_for_selector(f"{CARD}[data-folded='false']")
        assert s.action_buttons() == [b for b in BUTTONS["connected"] if b != "fold"]

    def test_list_ui_states_answered_by_the_page_still_uses_the_card(self, session: PortalSession) -> None:
        s = session
        s.settle()
        uid = s.app.user_id
        cards, journal = s.server.services.cards, s.server.services.journal
        s.server.control_call("POST", "/calls", {"direction": "incoming", "phone_number": phone(),
                                                 "user_id": uid, "app_id": s.app.app.app_id})
        s.wait_event("initialized")
        s.server.control_call("POST", f"/cards/{uid}/state", {"uiState": "connected"})
        s.wait_state("connected")
        assert cards.get(uid).used is False
        since = journal.entries()[-1]["seq"]
        # the page answers it without a server round trip, then tells the server the worker was used
        assert s.call("CallCardGetListUiStates") == LISTED
        wait_until(lambda: cards.get(uid).used, what="the card marked used")
        target = other_user(s)
        s.click("transfer")
        s.click(f"transfer-target-{target}")
        number = cards.get(uid).phone_number
        assert s.wait_event("transferButtonClick") == [{"phoneNumber": number, "target": target}]  # §5, used
        # nothing is lost from the timeline: the frame's message and the page's reply, in order
        def exchange() -> list[dict[str, Any]] | None:
            found = [e for e in journal.entries(kinds=["message"], since=since)
                     if "CallCardGetListUiStates" in e["summary"]]
            return found if len(found) >= 2 else None

        messages = wait_until(exchange, what="the exchange on the timeline")
        assert [m["direction"] for m in messages] == ["in", "out"]
        assert "CallCardGetListUiStates" in str(messages[0]["payload"])
        assert str(messages[1]["payload"]).endswith(":" + json.dumps(LISTED, separators=(",", ":")))

    def test_transfer_payload_of_a_card_no_app_used(self, session: PortalSession) -> None:
        s = session
        s.settle()
        uid = s.app.user_id
        # raised and driven from outside (control API): no worker command touches it, `used` stays false
        s.server.control_call("POST", "/calls", {"direction": "incoming", "phone_number": phone(),
                                                 "user_id": uid, "app_id": s.app.app.app_id})
        s.wait_event("initialized")
        s.server.control_call("POST", f"/cards/{uid}/state", {"uiState": "connected"})
        s.wait_state("connected")
        target = other_user(s)
        s.click("transfer")
        s.click(f"transfer-target-{target}")
        assert s.wait_event("transferButtonClick") == [{"type": "user", "target": target}]
        s.click("transfer")
        s.page.fill(f"{CARD} [data-role='transfer-phone']", "+15550998")
        s.click("transfer-pstn")
        assert s.wait_event("transferButtonClick", 2)[1] == {"type": "pstn", "target": "+15550998"}

    # -- the CALL_CARD tab ---------------------------------------------------------------------------------

    def test_call_card_tab_get_status_and_auto_close(self, session: PortalSession) -> None:
        s = session
        number = phone()
        call_id = s.open_card(number)
        s.page.click(f"{CARD} [data-tab='app-{s.app.tab_row}']")
        tab = find_frame(s.page, s.app.page_path, "tab")
        assert tab.evaluate("testApp.placement") == "CALL_CARD"
        status = s.call("getStatus", frame=tab)
        assert status == {
            "CALL_ID": call_id, "PHONE_NUMBER": number, "LINE_NUMBER": "", "LINE_NAME": "",
            "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": 0, "CRM_BINDINGS": [], "CALL_DIRECTION": "incoming",
            "CALL_STATE": "connected", "CALL_LIST_MODE": False,
        }
        # PLACEMENT_OPTIONS: the same fields as strings, CRM_ACTIVITY_ID "undefined", plus URI (§8.2)
        assert tab.evaluate("testApp.options") == {
            "CALL_ID": call_id, "PHONE_NUMBER": number, "LINE_NUMBER": "", "LINE_NAME": "",
            "CRM_ENTITY_TYPE": "", "CRM_ENTITY_ID": "0", "CRM_ACTIVITY_ID": "undefined",
            "CALL_DIRECTION": "incoming", "CALL_STATE": "connected", "CALL_LIST_MODE": "false", "URI": "/",
        }
        assert s.has_fold()
        assert s.call("disableAutoClose", frame=tab) == []
        s.page.wait_for_selector(f"{CARD} .cc-topbar [data-button='fold']", state="detached")
        assert s.call("enableAutoClose", frame=tab) == []
        s.page.wait_for_selector(f"{CARD} .cc-topbar [data-button='fold']", state="attached")
        sid = tab.evaluate("testApp.sid")
        s.page.wait_for_function(
            """sid => callcardBridge.bindings.filter(b => b.layout.sid === sid)
                       .every(b => performance.now() - b.at > callcardPage.boot.guardMs + 30)""",
            arg=sid, polling=50)
        # the card's close fires CallCard::BeforeClose (no payload) to the tab; the frame then goes
        assert s.call("CallCardClose") == []
        s.wait_closed()
        assert s.beacons(sid) == [{"sid": sid, "name": "CallCard::BeforeClose", "payload": s.app.empty}]

    def test_a_tab_hears_before_close_even_when_the_card_closes_inside_its_bind_guard(
        self, session: PortalSession
    ) -> None:
        # the bind guard holds BeforeClose back for a tab that bound it just now; removing the tab frame
        # must wait for it rather than drop it (wire-protocol.md §9)
        s = session
        s.open_card(phone())
        s.page.click(f"{CARD} [data-tab='app-{s.app.tab_row}']")
        tab = find_frame(s.page, s.app.page_path, "tab")
        sid = tab.evaluate("testApp.sid")
        s.page.wait_for_function(
            "sid => callcardBridge.bindings.some(b => b.layout.sid === sid && b.event === 'CallCard::BeforeClose')",
            arg=sid, polling=20)
        assert s.call("CallCardClose") == []
        s.wait_closed()
        wait_until(lambda: s.beacons(sid), timeout=5, what="BeforeClose at the tab")
        assert s.beacons(sid) == [{"sid": sid, "name": "CallCard::BeforeClose", "payload": s.app.empty}]

    # -- the origin and appSid checks ----------------------------------------------------------------------

    def test_wrong_origin_or_app_sid_gets_no_answer(self, session: PortalSession) -> None:
        s = session
        w = s.worker
        sid = w.evaluate("testApp.sid")
        wrong = "0" * 32 if sid != "0" * 32 else "1" * 32
        w.evaluate("""([sid, wrong]) => {
            testApp.post('getInitData::wrongsidcb0000000000000000000000:' + wrong);  // legacy form
            testApp.post('getInitData:wrongsidcb1111111111111111111111:' + wrong);   // b24jssdk form
            testApp.post({method: 'getInitData', params: '', callback: 'wrongsidcb2', appSid: wrong});
            testApp.post('getInitData::goodsidcb0000000000000000000000:' + sid);     // the control
        }""", [sid, wrong])
        # a page of another origin (127.0.0.1 instead of localhost, same port) that knows the real APP_SID
        app_port = w.url.split("/")[2].split(":")[1]
        w.evaluate("""([port, sid]) => {
            const f = document.createElement('iframe');
            f.src = 'http://127.0.0.1:' + port + '/foreign.html?sid=' + sid;
            document.body.appendChild(f);
        }""", [app_port, sid])
        w.wait_for_function(
            "testApp.messages.some(m => m.data.startsWith('goodsidcb0000000000000000000000:{'))", polling=50)
        foreign = s.frame_where(lambda url: "/foreign.html" in url)
        foreign.wait_for_function("window.sent === 2", polling=50)
        s.page.wait_for_timeout(900)  # a reply, had there been one, would be here by now
        heard = [m["data"].split(":")[0] for m in w.evaluate("testApp.messages")]
        heard += [m.split(":")[0] for m in foreign.evaluate("window.heard")]
        assert not [cb for cb in heard if cb.startswith(("wrongsidcb", "foreigncb"))]
        assert "goodsidcb0000000000000000000000" in heard

