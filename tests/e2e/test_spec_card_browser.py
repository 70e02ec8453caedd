"""call-card.md §3.3 in the browser: Esc on a closable card (static/card.js on the harness page).

Esc closes the popup of a closable state, with or without a close button (outgoing and redial have
none), and is not a click on close (no closeButtonClick): the component reports it as its own press,
``escape``, which the server's ``CallCard.press`` handles. Closable states come from the spec.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "harness"))

from card_harness import UI_STATES, launch, make_view, open_harness, presses, render  # noqa: E402

from spec_tables import CLOSABLE  # noqa: E402

pytestmark = pytest.mark.e2e
sync_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("no /usr/bin/chromium")
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        context = browser.new_context(viewport={"width": 1000, "height": 760}, reduced_motion="reduce")
        yield open_harness(context)
        context.close()
        browser.close()


@pytest.mark.parametrize("state", list(UI_STATES))
def test_escape_reports_its_own_press_only_on_a_closable_card(page: Any, state: str) -> None:
    presses(page)  # start clean
    render(page, make_view(state))
    page.keyboard.press("Escape")
    assert presses(page) == ([("escape", None)] if state in CLOSABLE else [])


def test_escape_on_a_folded_card_reports_nothing(page: Any) -> None:
    presses(page)
    render(page, make_view("idle", folded=True, buttons=["close", "fold"]))
    page.keyboard.press("Escape")
    assert presses(page) == []
