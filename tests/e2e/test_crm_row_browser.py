"""The card's CRM row in the browser (call-card.md §3.4, §5): the official @bitrix24/b24jssdk app in its
worker frame hears BackgroundCallCard::entityChanged when the operator creates a lead or a contact from
the card, and the row follows the new entity; Deal (not emulated) only shows a toast.

Run alone: ``python -m pytest -q -m e2e tests/e2e/test_crm_row_browser.py``.
"""

from __future__ import annotations

import pytest
from card_scenarios import phone
from e2e_support import CARD, PortalSession

pytestmark = pytest.mark.e2e
SHARED_BROWSER = True
SDK = "b24jssdk"


def chips(s: PortalSession) -> list[str]:
    found: list[str] = s.page.eval_on_selector_all(f"{CARD} [data-crm-button]",
                                                   "els => els.map(e => e.dataset.crmButton)")
    return found


def wait_chips(s: PortalSession, expected: list[str]) -> None:
    s.page.wait_for_function(
        "([sel, want]) => JSON.stringify([...document.querySelectorAll(sel)].map(e => e.dataset.crmButton))"
        " === JSON.stringify(want)",
        arg=[f"{CARD} [data-crm-button]", expected], timeout=5000, polling=50,
    )


def wait_toast(s: PortalSession, text: str) -> None:
    s.page.locator("#pp-toasts .pp-toast", has_text=text).wait_for(state="attached", timeout=5000)


def created(s: PortalSession, number: str) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = s.server.services.crm.find_by_phone(number)
    return found


def test_lead_chip_creates_the_lead_and_the_app_hears_entity_changed(session: PortalSession) -> None:
    s = session
    number = phone()  # nobody in the CRM has it
    s.open_card(number)
    assert chips(s) == ["addComment", "addLead", "addContact"]
    assert s.payloads("entityChanged") == []  # no CRM entity: no CRM card load at construction
    s.page.click(f'{CARD} [data-crm-button="addLead"]')
    payloads = s.wait_event("entityChanged")
    [(etype, lead_id)] = created(s, number)
    assert etype == "LEAD"
    assert payloads == [{"CRM_ENTITY_TYPE": "LEAD", "CRM_ENTITY_ID": lead_id, "PHONE_NUMBER": number}]
    wait_chips(s, ["addComment"])
    entity = s.page.locator(f"{CARD} [data-role='crm']")
    assert (entity.get_attribute("data-entity-type"), entity.get_attribute("data-entity-id")) == (
        "LEAD", str(lead_id))
    wait_toast(s, f"Lead #{lead_id} created")
    names = [e["name"].split("::")[1] for e in s.events()]
    assert names == ["initialized", "entityChanged"]


def test_contact_chip_then_deal_is_a_toast_and_no_event(session: PortalSession) -> None:
    s = session
    number = phone()
    s.open_card(number)
    s.page.click(f'{CARD} [data-crm-button="addContact"]')
    payloads = s.wait_event("entityChanged")
    [(etype, contact_id)] = created(s, number)
    assert (etype, payloads) == (
        "CONTACT", [{"CRM_ENTITY_TYPE": "CONTACT", "CRM_ENTITY_ID": contact_id, "PHONE_NUMBER": number}])
    wait_chips(s, ["addComment", "addDeal", "addInvoice"])
    heard = len(s.events())
    entities = s.server.services.store.count("crm_entities")
    s.page.click(f'{CARD} [data-crm-button="addDeal"]')
    wait_toast(s, "Deals are not emulated by callcard")
    s.page.wait_for_timeout(300)  # an event would have reached the frame by now
    assert len(s.events()) == heard
    assert s.server.services.store.count("crm_entities") == entities
    assert chips(s) == ["addComment", "addDeal", "addInvoice"]
