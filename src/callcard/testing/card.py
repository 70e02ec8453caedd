"""``Card``: one user's call card on a running callcard, read and pressed through the control API or a
portal page in the browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..domain.callcrm import CARD_CRM_CHIPS
from .server import OPERATOR_ID, CallcardServer
from .waiting import DEFAULT_TIMEOUT_S, wait_until

__all__ = ["Card"]


class Card:
    """One user's call card on a running callcard.

    With ``page`` (a Playwright page showing the portal of that user, or a function returning one or
    None) ``press`` clicks the card's real buttons, so the click travels page → WebSocket → server as an
    operator's would; the server handles it asynchronously, so follow a press with ``wait_state`` or
    ``Timeline.wait_for``. Without a page, ``press`` goes through the control API and returns the new view.
    """

    def __init__(self, server: CallcardServer, user_id: int = OPERATOR_ID, *, page: Any = None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.server = server
        self.user_id = user_id
        self.page = page
        self.timeout = timeout

    def view(self) -> dict[str, Any] | None:
        """The card as the page renders it (``uiState``, ``callState``, ``buttons``…), or None when closed."""
        view = self.server.control_call("GET", f"/cards/{self.user_id}")
        return view if isinstance(view, dict) else None

    @property
    def state(self) -> str | None:
        """The current UiState key, or None when no card is open."""
        view = self.view()
        return None if view is None else str(view["uiState"])

    @property
    def is_open(self) -> bool:
        return self.view() is not None

    def press(self, button: str, value: Any = None) -> dict[str, Any] | None:
        """Press ``button`` (a name from the view's ``buttons``, ``commentSave``, or a chip of the CRM row:
        ``addLead``, ``addContact`` create that entity for the caller and bind the call).

        ``value``: the dialpad key (``"5"``), the quality grade (``"1"``–``"5"``), the transfer target
        (a user id or a phone number), or the comment text for ``commentSave``.
        """
        page = self.page() if callable(self.page) else self.page
        if page is not None:
            self._click(page, button, value)
            return None
        if button == "transfer" and not isinstance(value, dict):
            value = {"target": value}
        if button == "commentSave" and not (self.view() or {}).get("comment", {}).get("editorOpen"):
            self.server.control_call("POST", f"/cards/{self.user_id}/press", {"button": "commentOpen"})
        view = self.server.control_call("POST", f"/cards/{self.user_id}/press",
                                        {"button": button, "value": value})
        return view if isinstance(view, dict) and view.get("uiState") else None

    def _click(self, page: Any, button: str, value: Any) -> None:
        # the card's root box has no height (its window is positioned fixed): wait on the buttons instead,
        # which Playwright's click does by itself (attached, visible, enabled, stable)
        card = page.locator('[data-callcard="card"]')
        popup = card.locator('[data-role="popup"]')
        ms = self.timeout * 1000

        def click(name: str) -> None:
            card.locator(f'[data-button="{name}"]').first.click(timeout=ms)

        def close_popup() -> None:
            # an open keypad/rating/transfer popover covers the buttons; an operator closes it first
            if popup.count():
                page.keyboard.press("Escape")
                popup.first.wait_for(state="detached", timeout=ms)

        if button == "dialpad" and value is not None:
            if not card.locator('[data-popup="dialpad"]').count():
                close_popup()
                click("dialpad")
            click(f"dialpad-{value}")
        elif button == "qualityMeter" and value is not None:
            close_popup()
            click("qualityMeter")
            click(f"quality-{value}")
        elif button == "transfer" and value is not None:
            target = value.get("target") if isinstance(value, dict) else value
            close_popup()
            click("transfer")
            if isinstance(target, int):
                click(f"transfer-target-{target}")
            else:
                card.locator('[data-role="transfer-phone"]').fill(str(target), timeout=ms)
                click("transfer-pstn")
        elif button in CARD_CRM_CHIPS:
            close_popup()
            card.locator(f'[data-crm-button="{button}"]').first.click(timeout=ms)
        elif button == "commentSave":
            close_popup()
            if not card.locator('[data-role="comment"]').count():
                click("commentOpen")
            card.locator('[data-role="comment"]').fill("" if value is None else str(value), timeout=ms)
            click("commentSave")
        else:
            close_popup()
            click(button)

    def wait(self, predicate: Callable[[dict[str, Any] | None], bool], *, timeout: float | None = None,
             what: str = "the card") -> dict[str, Any] | None:
        """Poll the view until ``predicate(view)`` holds; return that view."""
        box: list[dict[str, Any] | None] = []

        def check() -> bool:
            view = self.view()
            if predicate(view):
                box.append(view)
                return True
            return False

        wait_until(check, timeout=self.timeout if timeout is None else timeout, what=what)
        return box[0]

    def wait_state(self, state: str, *, timeout: float | None = None) -> dict[str, Any]:
        """Wait until the card is open in UiState ``state``; return the view."""
        view = self.wait(lambda v: v is not None and v["uiState"] == state, timeout=timeout,
                         what=f"the card of user {self.user_id} to reach {state!r} (now {self.state!r})")
        assert view is not None
        return view

    def wait_open(self, *, timeout: float | None = None) -> dict[str, Any]:
        view = self.wait(lambda v: v is not None, timeout=timeout, what=f"a card for user {self.user_id}")
        assert view is not None
        return view

    def wait_closed(self, *, timeout: float | None = None) -> None:
        self.wait(lambda v: v is None, timeout=timeout, what=f"the card of user {self.user_id} to close")
