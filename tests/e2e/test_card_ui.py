"""The call card UI (static/card.js + card.css) in Chromium, on the static harness page.

Expected buttons come from call-card.md §3.1 (``card_harness.SPEC_BUTTONS``), not from card.js.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from card_harness import (  # noqa: E402
    SPEC_BUTTONS,
    UI_STATES,
    launch,
    make_view,
    open_harness,
    presses,
    render,
)

pytestmark = pytest.mark.e2e
sync_api = pytest.importorskip("playwright.sync_api")

CARD = '[data-callcard="card"]'
POPUP_BUTTONS = {"dialpad", "qualityMeter", "transfer"}
PHONE = "+1 415 555 0142"


@pytest.fixture(scope="module")
def card_browser() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        yield browser
        browser.close()


@pytest.fixture
def card_context(card_browser: Any) -> Iterator[Any]:
    context = card_browser.new_context(viewport={"width": 1000, "height": 760}, reduced_motion="reduce")
    yield context
    context.close()


@pytest.fixture
def page(card_context: Any) -> Any:
    return open_harness(card_context)


@pytest.fixture
def clock_page(card_context: Any) -> Any:
    return open_harness(card_context, fake_clock=True)


def names(page: Any, selector: str) -> list[str]:
    found = page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('data-button'))")
    return [str(name) for name in found]


def timer_text(page: Any) -> str:
    return page.locator(f'{CARD} [data-role="timer"]').text_content() or ""


# ---- states and buttons ------------------------------------------------------------------------


@pytest.mark.parametrize("state", list(UI_STATES))
def test_every_state_renders_exactly_its_buttons(page: Any, state: str) -> None:
    render(page, make_view(state))
    card = page.locator(CARD)
    assert card.get_attribute("data-ui-state") == state
    expected = SPEC_BUTTONS[state]
    # the action row holds the state's buttons left to right (fold lives in the header)
    assert names(page, f"{CARD} footer [data-button]") == [b for b in expected if b != "fold"]
    assert names(page, f"{CARD} header [data-button]") == (["fold"] if "fold" in expected else [])
    # nothing else carries a button hook but the CRM row's comment opener
    assert sorted(names(page, f"{CARD} [data-button]")) == sorted(expected + ["commentOpen"])


def test_idle_outgoing_offers_redial_then_close(page: Any) -> None:
    render(page, make_view("idle", direction="outgoing", buttons=["redial", "close"]))
    assert names(page, f"{CARD} footer [data-button]") == ["redial", "close"]


def test_no_invented_buttons(page: Any) -> None:
    render(page, make_view("connected", buttons=["hangup"], layout="spaced", crmButtons=[]))
    assert names(page, f"{CARD} [data-button]") == ["hangup"]


@pytest.mark.parametrize("state", list(UI_STATES))
def test_clicks_report_the_button(page: Any, state: str) -> None:
    view = make_view(state)
    render(page, view)
    for button in SPEC_BUTTONS[state]:
        if button in POPUP_BUTTONS:
            continue
        page.click(f'{CARD} [data-button="{button}"]')
        assert presses(page) == [(button, None)], button
        render(page, view)  # the server would push the next view; keep the same one
    assert page.evaluate("() => window.__presses.every(p => p.argc === 1)")


def test_no_card_renders_nothing(page: Any) -> None:
    render(page, make_view("connected"))
    render(page, None)
    assert page.locator(CARD).count() == 0
    assert page.locator("#card-root").inner_html() == ""


# ---- popups ------------------------------------------------------------------------------------


def test_dialpad_keys_fire_one_press_each(page: Any) -> None:
    render(page, make_view("connected"))
    page.click('[data-button="dialpad"]')
    assert presses(page) == []  # opening the keypad reports nothing
    keys = names(page, '[data-role="popup"] [data-button]')
    assert keys == [f"dialpad-{k}" for k in "123456789*0#"]
    for k in "5#*0":
        page.click(f'[data-button="dialpad-{k}"]')
    page.keyboard.press("7")
    assert presses(page) == [("dialpad", "5"), ("dialpad", "#"), ("dialpad", "*"), ("dialpad", "0"),
                             ("dialpad", "7")]
    assert page.locator('[data-role="dialed"]').text_content() == "5#*07"
    page.keyboard.press("Escape")
    assert page.locator('[data-role="popup"]').count() == 0
    assert presses(page) == []


def test_quality_star_reports_a_string(page: Any) -> None:
    render(page, make_view("connected"))
    page.click('[data-button="qualityMeter"]')
    assert names(page, '[data-role="popup"] [data-button]') == [f"quality-{i}" for i in range(1, 6)]
    page.click('[data-button="quality-3"]')
    assert presses(page) == [("qualityMeter", "3")]
    assert page.locator('[data-role="popup"]').count() == 0


def test_transfer_to_a_user_and_to_a_number(page: Any) -> None:
    view = make_view("connected")
    render(page, view)
    page.click('[data-button="transfer"]')
    targets = names(page, '[data-role="popup"] [data-button^="transfer-target-"]')
    assert targets == [f"transfer-target-{u['id']}" for u in view["transferTargets"]]
    page.fill('[data-role="transfer-search"]', "sof")
    assert names(page, '[data-role="popup"] [data-button^="transfer-target-"]') == ["transfer-target-3"]
    page.click('[data-button="transfer-target-3"]')
    assert presses(page) == [("transfer", {"target": 3, "phoneNumber": PHONE})]
    assert page.locator('[data-role="popup"]').count() == 0

    page.click('[data-button="transfer"]')
    page.click('[data-button="transfer-pstn"]')  # empty number: nothing happens
    assert presses(page) == []
    page.fill('[data-role="transfer-phone"]', "+44 20 7946 0000")
    page.click('[data-button="transfer-pstn"]')
    assert presses(page) == [("transfer", {"target": "+44 20 7946 0000", "phoneNumber": PHONE})]


def test_popup_closes_when_its_button_goes_away(page: Any) -> None:
    render(page, make_view("connected"))
    page.click('[data-button="dialpad"]')
    render(page, make_view("connected"))  # a server push keeps it open
    assert page.locator('[data-role="popup"]').count() == 1
    render(page, make_view("idle"))
    assert page.locator('[data-role="popup"]').count() == 0


# ---- comment editor ----------------------------------------------------------------------------


def test_comment_open_edit_and_save(page: Any) -> None:
    closed = make_view("connected")
    render(page, closed)
    page.click('[data-button="commentOpen"]')
    assert presses(page) == [("commentOpen", None)]
    assert page.locator('[data-role="comment"]').count() == 0  # the server opens the editor

    opened = make_view("connected", comment={"text": "Wants a callback", "editorOpen": True})
    render(page, opened)
    area = page.locator('[data-role="comment"]')
    assert area.input_value() == "Wants a callback"
    assert page.evaluate("() => document.activeElement.getAttribute('data-role')") == "comment"
    area.press("End")
    area.type(" at 9am")
    render(page, opened)  # a re-render must not lose the draft
    assert area.input_value() == "Wants a callback at 9am"
    assert page.locator('[data-button="commentOpen"]').count() == 0
    page.click('[data-button="commentSave"]')
    assert presses(page) == [("commentSave", "Wants a callback at 9am")]
    area.press("Control+Enter")
    assert presses(page) == [("commentSave", "Wants a callback at 9am")]


# ---- mute/hold, timer, fold, Esc ---------------------------------------------------------------


def test_mute_and_hold_show_their_state(page: Any) -> None:
    render(page, make_view("connected", muted=True, held=False))
    assert page.get_attribute('[data-button="mute"]', "aria-pressed") == "true"
    assert page.get_attribute('[data-button="hold"]', "aria-pressed") == "false"
    render(page, make_view("connected", muted=False, held=True))
    assert page.get_attribute('[data-button="mute"]', "aria-pressed") == "false"
    assert page.get_attribute('[data-button="hold"]', "aria-pressed") == "true"


def test_running_timer_counts_from_elapsed(clock_page: Any) -> None:
    page = clock_page
    render(page, make_view("connected", timer={"running": True, "shown": True, "elapsed": 83.4}))
    assert timer_text(page) == "Call duration 01:23"
    page.clock.run_for(700)
    assert timer_text(page) == "Call duration 01:24"
    page.clock.run_for(60_000)
    assert timer_text(page) == "Call duration 02:24"


def test_popups_and_typing_leave_the_running_timer_where_it_is(clock_page: Any) -> None:
    # the page counts a running timer on by itself; re-rendering the body for a popup must neither
    # blank it nor set it back to the elapsed time of the last view the server sent
    page = clock_page
    render(page, make_view("connected", timer={"running": True, "shown": True, "elapsed": 10.2}))
    page.clock.run_for(5_000)
    assert timer_text(page) == "Call duration 00:15"
    page.click('[data-button="dialpad"]')
    assert timer_text(page) == "Call duration 00:15"
    page.keyboard.press("Escape")  # closes it
    page.click('[data-button="transfer"]')
    page.fill('[data-role="transfer-search"]', "pa")
    assert timer_text(page) == "Call duration 00:15"
    page.clock.run_for(1_000)
    assert timer_text(page) == "Call duration 00:16"


def test_stopped_timer_is_frozen(clock_page: Any) -> None:
    page = clock_page
    render(page, make_view("connected", timer={"running": False, "shown": True, "elapsed": 125.9}))
    assert timer_text(page) == "Call duration 02:05"
    page.clock.run_for(5_000)
    assert timer_text(page) == "Call duration 02:05"


def test_timer_format_past_an_hour_and_hidden(page: Any) -> None:
    render(page, make_view("connected", timer={"running": False, "shown": True, "elapsed": 3725}))
    assert timer_text(page) == "Call duration 62:05"
    render(page, make_view("connected", timer={"running": False, "shown": False, "elapsed": 3725}))
    assert page.locator(f'{CARD} [data-role="timer"]').is_hidden()


def test_folded_card_is_a_mini_panel(clock_page: Any) -> None:
    page = clock_page
    render(page, make_view("connected", folded=True))
    assert page.get_attribute(CARD, "data-folded") == "true"
    assert sorted(names(page, f"{CARD} [data-button]")) == ["fold", "hangup"]
    assert timer_text(page) == "01:23"  # bare MM:SS when folded
    page.clock.run_for(1_000)
    assert timer_text(page) == "01:24"
    assert page.locator(f'{CARD} [data-role="status"]').count() == 0
    page.click(f'{CARD} [data-button="fold"]')
    page.click(f'{CARD} [data-button="hangup"]')
    assert presses(page) == [("fold", None), ("hangup", None)]
    render(page, make_view("externalCard", folded=True))
    assert sorted(names(page, f"{CARD} [data-button]")) == ["close", "fold"]
    # the domain's folded view lists the mini panel's buttons plus "fold": still one expand arrow
    render(page, make_view("connected", folded=True, buttons=["hangup", "fold"]))
    assert sorted(names(page, f"{CARD} [data-button]")) == ["fold", "hangup"]


def test_double_click_folds_only_when_foldable(page: Any) -> None:
    render(page, make_view("connected"))
    page.dblclick('[data-role="title"]')
    assert presses(page) == [("fold", None)]
    page.dblclick('[data-button="hold"]')  # fast clicks on a button never fold
    assert presses(page) == [("hold", None), ("hold", None)]
    render(page, make_view("connected", foldable=False,
                           buttons=["hold", "mute", "qualityMeter", "transfer", "dialpad", "hangup"]))
    page.dblclick('[data-role="title"]')
    assert presses(page) == []


def test_escape_closes_only_a_closable_card(page: Any) -> None:
    render(page, make_view("connected"))
    page.keyboard.press("Escape")
    assert presses(page) == []
    render(page, make_view("outgoing"))
    page.keyboard.press("Escape")
    assert presses(page) == [("escape", None)]  # its own press, not a click on close (call-card.md §3.3)


# ---- content -----------------------------------------------------------------------------------


def test_title_and_status_are_never_html(page: Any) -> None:
    evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2"><b>Bold</b>'
    render(page, make_view("connected", title=evil, statusText=evil))
    assert page.locator(f'{CARD} [data-role="title"]').text_content() == evil
    assert page.locator(f'{CARD} [data-role="status"]').text_content() == evil
    assert page.locator(f"{CARD} script, {CARD} img, {CARD} b").count() == 0
    page.wait_for_timeout(50)
    assert page.evaluate("() => window.__pwned === undefined")


def test_crm_row_shows_entity_number_and_line(page: Any) -> None:
    render(page, make_view("connected"))
    entity = page.locator(f'{CARD} [data-role="crm"]')
    assert "Contact #12" in (entity.text_content() or "")
    assert "Olivia Bennett" in (entity.text_content() or "")
    assert entity.get_attribute("href") == "/crm/contact/details/12/"
    assert page.locator('[data-role="phone"]').text_content() == PHONE
    assert page.locator('[data-role="line"]').text_content() == "Sales line · +1 800 555 0100"
    assert page.get_attribute('[data-role="direction"]', "data-direction") == "incoming"
    crm = page.eval_on_selector_all("[data-crm-button]", "els => els.map(e => e.dataset.crmButton)")
    assert crm == ["addComment", "addDeal", "addInvoice"]
    page.click('[data-crm-button="addDeal"]')  # not a card button: CardService.press would reject it
    assert presses(page) == []
    render(page, make_view("connected", phoneNumber="hidden",
                           crm={"entityType": "", "entityId": 0, "activityId": 0, "bindings": []},
                           crmButtons=["addComment", "addLead", "addContact"]))
    assert page.locator('[data-role="phone"]').text_content() == "Hidden number"
    assert page.locator(f'{CARD} [data-role="crm"]').text_content() == "Not in CRM"


def test_tabs_report_activation_and_keep_the_body(page: Any) -> None:
    tabs = [{"id": "app-7", "title": "Helpdesk", "active": True},
            {"id": "app-9", "title": "<i>Orders</i>", "active": False}]
    render(page, make_view("connected"), tabs)
    assert page.eval_on_selector_all("[data-tab]", "els => els.map(e => e.dataset.tab)") == ["app-7", "app-9"]
    assert page.get_attribute('[data-tab="app-7"]', "aria-selected") == "true"
    assert page.locator('[data-tab="app-9"]').text_content() == "<i>Orders</i>"
    page.evaluate("""() => {
      window.__body = document.querySelector('[data-role="tab-body"]');
      const f = document.createElement('iframe'); f.id = 'app-frame'; window.__body.appendChild(f);
    }""")
    page.click('[data-tab="app-9"]')
    assert page.evaluate("() => window.__tabs") == ["app-9"]
    # server pushes, a state change, folding and unfolding keep the host's frame where it is
    for view in (make_view("connected"), make_view("transferring"), make_view("connected", folded=True),
                 make_view("connected")):
        render(page, view, tabs)
    assert page.evaluate("""() => document.querySelector('[data-role="tab-body"]') === window.__body
      && window.__body.isConnected && !!document.getElementById('app-frame')""")
    assert page.locator('[data-role="tab-body"]').count() == 1


def test_fits_a_320px_screen(card_browser: Any) -> None:
    context = card_browser.new_context(viewport={"width": 320, "height": 640}, reduced_motion="reduce")
    try:
        page = open_harness(context)
        for state in ("connected", "incoming", "moneyError"):
            render(page, make_view(state))
            boxes = page.eval_on_selector_all(f"{CARD} [data-button]", """els => els.map(e => {
              const r = e.getBoundingClientRect(); return [r.left, r.right, r.width]; })""")
            assert boxes and all(left >= 0 and right <= 320 and width > 0 for left, right, width in boxes)
            assert page.evaluate("() => document.documentElement.scrollWidth") <= 320
    finally:
        context.close()
