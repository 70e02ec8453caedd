"""The plugin's browser fixtures in Chromium: portal_page, open_portal, and card presses that click the
real call card (dialpad, quality, transfer and comment popups included)."""

import pytest

from callcard.testing.helpers import Card, Timeline

pytestmark = pytest.mark.e2e

PHONE = "+14155550142"


def test_portal_page_is_the_operators_connected_portal(portal_page, callcard_server):
    assert portal_page.url == callcard_server.url + "/"
    assert portal_page.locator("[data-user-id]").get_attribute("data-user-id") == "2"
    assert portal_page.locator("html").get_attribute("data-ws") == "open"


def test_card_presses_click_the_real_controls(portal_page, callcard_server, callcard_app, card, timeline):
    callcard_server.simulate_call("incoming", PHONE, user_id=2, app=callcard_app)
    card.wait_open()
    callcard_server.control_call("POST", "/cards/2/state", {"uiState": "connected"})
    card.wait_state("connected")

    assert card.press("mute") is None  # a click in the page: it returns at once
    card.press("dialpad", "5")
    card.press("dialpad", "#")  # the keypad is already open: only the key is clicked
    card.press("qualityMeter", "4")
    card.press("transfer", 3)
    card.press("transfer", "+4930123")
    card.press("commentSave", "call back")
    events = timeline.wait_for("event", "BackgroundCallCard::*Click", count=7)
    assert [(e.name.split("::")[1], e.payload) for e in events] == [
        ("muteButtonClick", True),
        ("dialpadButtonClick", "5"),
        ("dialpadButtonClick", "#"),
        ("qualityMeterClick", "4"),
        ("transferButtonClick", {"type": "user", "target": 3}),
        ("transferButtonClick", {"type": "pstn", "target": "+4930123"}),
        ("addCommentButtonClick", "call back"),
    ]
    assert card.view()["muted"] is True

    # a chip of the CRM row: the caller becomes a lead, and the frames hear entityChanged
    card.press("addLead")
    [changed] = timeline.wait_for("event", "BackgroundCallCard::entityChanged")
    assert changed.payload["CRM_ENTITY_TYPE"] == "LEAD" and changed.payload["PHONE_NUMBER"] == PHONE
    view = card.wait(lambda v: bool(v and v["crm"]["entityType"] == "LEAD"), what="the lead on the card")
    assert view["crmButtons"] == ["addComment"]


def test_open_portal_logs_in_any_user(open_portal, callcard_server, callcard_app):
    paula = open_portal(3)
    assert paula.locator("[data-user-id]").get_attribute("data-user-id") == "3"
    callcard_server.simulate_call("incoming", PHONE, user_id=3, app=callcard_app)
    Card(callcard_server, 3, page=paula).press("close")  # clicked in Paula's page
    Card(callcard_server, 3).wait_closed()
    assert "BackgroundCallCard::closeButtonClick" in Timeline(callcard_server).names("event", user=3)


def test_open_portal_opens_a_path_after_login(open_portal, callcard_server, callcard_app):
    reply = callcard_server.rest("telephony.externalCall.register", {
        "USER_ID": 2, "PHONE_NUMBER": PHONE, "TYPE": 2, "SHOW": 0, "CRM_CREATE": 1}, auth=callcard_app)
    lead = reply.result["CRM_CREATED_LEAD"]
    page = open_portal(path=f"/crm/lead/details/{lead}/")
    assert page.url == f"{callcard_server.url}/crm/lead/details/{lead}/"
    assert page.locator('[data-entity-type="LEAD"]').get_attribute("data-entity-id") == str(lead)
