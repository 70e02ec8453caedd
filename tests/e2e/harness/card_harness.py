"""Static harness for the call card UI: representative views and a Playwright page that renders them.

Shared by ``tests/e2e/test_card_ui.py`` and ``scripts/screenshot_states.py``. The harness page
(``card.html``) and the package's ``card.js``/``card.css`` are served through Playwright request
routing on a made-up origin, so nothing listens on a port and nothing leaves the machine.
"""

from __future__ import annotations

import copy
import importlib.resources
import mimetypes
from pathlib import Path
from typing import Any

from spec_tables import CLOSABLE, SPEC_BUTTONS  # the spec's tables, shared by the tests

HARNESS_DIR = Path(__file__).resolve().parent
STATIC_DIR = Path(str(importlib.resources.files("callcard.host") / "static"))
ORIGIN = "http://callcard-harness.test"
HARNESS_URL = f"{ORIGIN}/card.html"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

#: The 15 UiState keys with their numbers (call-card.md §2).
UI_STATES: dict[str, int] = {
    "incoming": 1, "transferIncoming": 2, "outgoing": 3, "connectingIncoming": 4,
    "connectingOutgoing": 5, "connected": 6, "transferring": 7, "transferFailed": 8,
    "transferConnected": 9, "idle": 10, "error": 11, "moneyError": 12, "sipPhoneError": 13,
    "redial": 14, "externalCard": 15,
}


# title, status text, direction, timer (running, shown, elapsed) per state: what an app would show
_STORY: dict[str, tuple[str, str, str, tuple[bool, bool, float]]] = {
    "incoming": ("Olivia Bennett", "Ringing on the Sales line", "incoming", (False, False, 0.0)),
    "transferIncoming": ("Olivia Bennett", "Mark Lee is transferring this call to you", "incoming",
                         (False, False, 0.0)),
    "outgoing": ("Olivia Bennett", "Ready to call", "outgoing", (False, False, 0.0)),
    "connectingIncoming": ("Olivia Bennett", "Connecting…", "incoming", (False, False, 0.0)),
    "connectingOutgoing": ("Olivia Bennett", "Calling…", "outgoing", (False, False, 0.0)),
    "connected": ("Olivia Bennett", "Connected", "incoming", (True, True, 83.4)),
    "transferring": ("Olivia Bennett", "Waiting for Mark Lee to accept the transfer", "incoming",
                     (True, True, 131.0)),
    "transferFailed": ("Transfer failed", "Mark Lee did not answer. You are still on the call.",
                       "incoming", (True, True, 164.0)),
    "transferConnected": ("Olivia Bennett", "Mark Lee accepted the call", "incoming",
                          (False, True, 187.0)),
    "idle": ("Call ended", "The call has finished", "incoming", (False, False, 0.0)),
    "error": ("Call failed", "The number could not be reached", "outgoing", (False, False, 0.0)),
    "moneyError": ("Out of balance", "The telephony balance is exhausted. Ask your administrator "
                   "to top it up.", "outgoing", (False, False, 0.0)),
    "sipPhoneError": ("SIP phone unavailable", "Check that your desk phone is connected",
                      "outgoing", (False, False, 0.0)),
    "redial": ("Line busy", "The line is busy. Try again?", "outgoing", (False, False, 0.0)),
    "externalCard": ("Incoming call", "", "incoming", (False, False, 0.0)),
}

TRANSFER_TARGETS = [
    {"id": 2, "name": "Mark Lee"}, {"id": 3, "name": "Sofia Martinez"},
    {"id": 4, "name": "Daniel Kim"}, {"id": 5, "name": "Priya Sharma"},
]


def make_view(ui_state: str, **overrides: Any) -> dict[str, Any]:
    """A CardService-shaped view (card.md `view(now)`) for one state; ``overrides`` replace keys."""
    title, status, direction, (running, shown, elapsed) = _STORY[ui_state]
    buttons = list(SPEC_BUTTONS[ui_state])
    view: dict[str, Any] = {
        "userId": 1, "callId": "externalCall.5f2c9a1e.1700000000", "phoneNumber": "+1 415 555 0142",
        "lineNumber": "+1 800 555 0100", "lineName": "Sales line", "direction": direction,
        "callState": "connected", "uiState": ui_state, "uiStateNumber": UI_STATES[ui_state],
        "title": title, "statusText": status, "muted": False, "held": False,
        "timer": {"running": running, "shown": shown, "elapsed": elapsed},
        "allowAutoClose": True, "folded": False, "foldable": "fold" in buttons,
        "closable": ui_state in CLOSABLE, "layout": "spaced" if ui_state == "connected" else "default",
        "buttons": buttons,
        "crm": {"entityType": "CONTACT", "entityId": 12, "activityId": 0, "bindings": [],
                "entityName": "Olivia Bennett"},
        "crmButtons": ["addComment", "addDeal", "addInvoice"],
        "comment": {"text": "", "editorOpen": False}, "closeAt": None, "isExternalCall": True,
        "used": True, "transferTargets": copy.deepcopy(TRANSFER_TARGETS),
    }
    view.update(copy.deepcopy(overrides))
    return view


def all_views() -> dict[str, dict[str, Any]]:
    """One representative view per UiState, in enum order."""
    return {key: make_view(key) for key in UI_STATES}


def _fulfill(route: Any) -> None:
    path = route.request.url[len(ORIGIN):].split("?", 1)[0]
    if path.startswith("/static/"):
        file = STATIC_DIR / path[len("/static/"):]
    else:
        file = HARNESS_DIR / path.lstrip("/")
    if ".." in path or not file.is_file():
        route.fulfill(status=404, body="not found")
        return
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    route.fulfill(status=200, body=file.read_bytes(), headers={"Content-Type": ctype})


def launch(playwright: Any) -> Any:
    """The system Chromium with the project's launch flags (never `playwright install`)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def open_harness(context: Any, *, fake_clock: bool = False) -> Any:
    """A new page on the harness, with routing installed; returns the page once CallcardUI is ready.

    ``fake_clock`` installs Playwright's clock before the page loads, so tests can move time.
    """
    page = context.new_page()
    if fake_clock:
        page.clock.install()
    page.route(f"{ORIGIN}/**", _fulfill)
    # anything else (there should be nothing) is refused rather than fetched
    page.route(lambda url: not url.startswith(ORIGIN), lambda route: route.abort())
    page.goto(HARNESS_URL)
    page.wait_for_function("() => !!window.harnessRender")
    return page


def render(page: Any, view: dict[str, Any] | None, tabs: list[dict[str, Any]] | None = None) -> None:
    """Render ``view`` (None = no card) with CALL_CARD ``tabs`` on the harness page."""
    page.evaluate("([v, t]) => window.harnessRender(v, t)", [view, tabs or []])


def presses(page: Any, clear: bool = True) -> list[tuple[str, Any]]:
    """The (button, value) pairs reported through onPress since the last call."""
    got = page.evaluate("() => window.__presses.map(p => [p.button, p.value])")
    if clear:
        page.evaluate("() => { window.__presses.length = 0; }")
    return [(b, v) for b, v in got]
