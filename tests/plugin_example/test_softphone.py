"""Testing a third-party telephony app with callcard's pytest plugin.

This file is the example of docs/testing.md, verbatim: the app under test is the small
PAGE_BACKGROUND_WORKER softphone in ./app (worker.html + softphone.js, classic BX24 library).
"""

from pathlib import Path

import httpx
import pytest

from callcard.testing.helpers import AppServer, app_frame, conformance, frames

APP_DIR = Path(__file__).parent / "app"


@pytest.fixture
def softphone(callcard_server, callcard_app):
    """The app's files on their own origin, registered as a background worker on the portal."""
    with AppServer(APP_DIR) as files:
        reply = callcard_server.rest("placement.bind", {
            "PLACEMENT": "PAGE_BACKGROUND_WORKER",
            "HANDLER": files.url_for("/worker.html"),
            "OPTIONS": {"errorHandlerUrl": files.url_for("/errors")},
        }, auth=callcard_app)
        assert reply.result is True, reply.body
        yield files


@pytest.mark.e2e
def test_a_call_from_ring_to_hangup(softphone, callcard_app, open_portal, card, timeline):
    page = open_portal()  # the operator's portal page, with the softphone in the background
    frame = app_frame(page, softphone, path="/worker.html")
    # poll by time: a hidden frame gets no animation frames, Playwright's default way of polling
    frame.wait_for_function("window.softphone && window.softphone.ready", polling=50)
    timeline.wait_bound(callcard_app, "BackgroundCallCard::initialized")

    # One hidden worker frame, loaded well inside the watchdog's 5 s.
    [worker] = frames(callcard_app)
    assert worker.placement == "PAGE_BACKGROUND_WORKER"
    assert worker.load_ms < 5000

    # The PBX rings: the app registers the call, the card opens, the app sets it to "incoming".
    frame.evaluate("softphone.ring('+14155550142')")
    view = card.wait_state("incoming")
    assert view["title"] == "Acme: +14155550142"
    assert view["statusText"] == "Ringing…"

    card.press("answer")
    view = card.wait_state("connected")
    assert view["timer"]["running"] is True

    card.press("mute")
    card.wait(lambda v: v["statusText"] == "Muted", what="the app to show Muted")

    card.press("hangup")
    card.wait_closed()  # the app called telephony.externalCall.finish, which closed the card

    # What the app heard, in order, and what it called.
    assert timeline.names("event", "BackgroundCallCard::*") == [
        "BackgroundCallCard::initialized",
        "BackgroundCallCard::answerButtonClick",
        "BackgroundCallCard::muteButtonClick",
        "BackgroundCallCard::hangupButtonClick",
    ]
    [mute] = timeline.events("event", "BackgroundCallCard::muteButtonClick")
    assert mute.payload is True
    # the frame calls REST as the operator (the test's placement.bind ran as the administrator)
    assert timeline.names("rest", app=callcard_app, user=card.user_id) == [
        "user.current", "telephony.externalCall.register", "telephony.externalCall.finish",
    ]
    assert timeline.names("message", "CallCardSetUiState", app=callcard_app, direction="in") == [
        "CallCardSetUiState", "CallCardSetUiState",
    ]

    # Nothing the app did would break on a real Bitrix24 portal.
    conformance(callcard_app).assert_clean()


def test_the_worker_page_is_served_to_the_portals_form_post(softphone):
    """Without a browser: the app server answers the host's hidden-form POST with the worker page."""
    resp = httpx.post(softphone.url_for("/worker.html?DOMAIN=127.0.0.1:1&PROTOCOL=0&LANG=en&APP_SID=ab"),
                      data={"AUTH_ID": "token", "PLACEMENT": "PAGE_BACKGROUND_WORKER"})
    assert resp.status_code == 200
    assert "softphone.js" in resp.text
    [post] = softphone.posts("/worker.html")
    assert post.form["PLACEMENT"] == "PAGE_BACKGROUND_WORKER"
    assert post.query["APP_SID"] == "ab"
