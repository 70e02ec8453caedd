"""The failure replies of call-card commands on the postMessage wire (call-card.md §4).

A failing ``CallCard*`` command answers its caller's callback with one of these payloads; they are reply
values, not REST errors (``errors.py`` holds those). Each call returns a fresh list, as the caller may
hand it on to be serialised or changed.
"""

from __future__ import annotations

from typing import Final

__all__ = ["CARD_UNDEFINED", "INVALID_UI_STATE", "card_undefined_reply", "invalid_ui_state_reply"]

CARD_UNDEFINED: Final = "Call card is undefined"
INVALID_UI_STATE: Final = "Invalid ui state"


def card_undefined_reply() -> list[dict[str, str]]:
    """The guard failure every CallCard* command (but GetListUiStates) answers (call-card.md §4)."""
    return [{"result": "error", "errorCode": CARD_UNDEFINED}]


def invalid_ui_state_reply() -> list[dict[str, str]]:
    """CallCardSetUiState's answer to a uiState that names no state."""
    return [{"result": "error", "errorCode": INVALID_UI_STATE}]
