"""One call card as a pure state machine (call-card.md §1, §3, §5, §8).

``CallCard`` adds to the card's fields (``CardState`` in cardstate.py, which also holds the snapshot) the
primitives the service composes: UI state, call state, timer, fold, comment editor, button presses,
``close()``, ``autoClose()`` and the delayed close. It never reads the clock: methods take ``now`` (Unix
seconds). Operations return the events they cause; ``BackgroundCallCard::*`` events are emitted only for
external cards (README decision 9), ``CallCard::*`` events always.
"""

from __future__ import annotations

from typing import Any, Final

from .cardstate import CALL_STATES, CardState
from .events import BACKGROUND_PREFIX, CARD_PREFIX, NO_PAYLOAD, Event
from .jsvalues import js_string
from .uistate import (
    BUTTON_EVENTS,
    CLOSABLE_STATES,
    FOLDED_BUTTONS,
    STATE_RULES,
    UiState,
    layout_for,
    state_buttons,
)

__all__ = ["DIALPAD_KEYS", "CallCard"]

DIALPAD_KEYS: Final = frozenset("0123456789*#")
QUALITY_GRADES: Final = ("1", "2", "3", "4", "5")


class CallCard(CardState):
    """The state of one user's call card. Mutating methods return the events they cause.

    The fields and the snapshot (``to_dict``/``from_dict``) are ``CardState``'s; a field added here
    instead would be missing from the snapshot."""

    # -- events ----------------------------------------------------------------------------------------

    def _event(self, name: str, payload: Any = NO_PAYLOAD, extra: dict[str, Any] | None = None) -> Event:
        return Event(name, payload, user_id=self.user_id, call_id=self.call_id, extra=dict(extra or {}))

    def _background(self, name: str, payload: Any = NO_PAYLOAD) -> list[Event]:
        """A BackgroundCallCard event, or nothing for a card that is not an external call (decision 9)."""
        if not self.is_external_call:
            return []
        full = name if name.startswith(BACKGROUND_PREFIX) else BACKGROUND_PREFIX + name
        return [self._event(full, payload)]

    def entity_changed(self) -> list[Event]:
        """A CRM card load: CallCard::EntityChanged, then BackgroundCallCard::entityChanged (gated), the
        platform's order (its loadCrmCard fires the window event before the worker's)."""
        payload = {
            "CRM_ENTITY_TYPE": self.crm_entity_type,
            "CRM_ENTITY_ID": self.crm_entity_id,
            "PHONE_NUMBER": self.phone_number,
        }
        return [self._event(CARD_PREFIX + "EntityChanged", dict(payload))] + self._background(
            "entityChanged", dict(payload)
        )

    def load_crm(self, entity_type: str, entity_id: int, bindings: list[dict[str, Any]]) -> list[Event]:
        """Show an entity bound after construction (one created from the CRM row) and reload the CRM card:
        the card's CRM fields change, then the entity events of every CRM load (call-card.md §5, §8.4)."""
        self.crm_entity_type = entity_type
        self.crm_entity_id = int(entity_id)
        self.crm_bindings = [dict(binding) for binding in bindings]
        return self.entity_changed()

    def initialized(self) -> list[Event]:
        return self._background("initialized", self.status())

    # -- derived ---------------------------------------------------------------------------------------

    @property
    def foldable(self) -> bool:
        return self.allow_auto_close and (
            self.call_state == "connected" or (self.call_state == "idle" and self.call_list_mode)
        )

    @property
    def closable(self) -> bool:
        return self.ui_state in CLOSABLE_STATES or (self.ui_state is UiState.connected and self.device_call)

    def timer_elapsed(self, now: float) -> float:
        """Seconds the timer shows: live while running, the last value after a stop, 0 when reset."""
        if not self.timer_initial:
            return 0.0
        end = now if self.timer_running else self.timer_stopped_at
        return max(0.0, end - self.timer_initial)

    def buttons(self) -> list[str]:
        """The buttons shown now, left to right. Folded: the mini panel's hangup/close, then the expand
        toggle (named "fold")."""
        if self.folded:
            base = state_buttons(self.ui_state, self.direction, foldable=False)
            return [name for name in base if name in FOLDED_BUTTONS] + ["fold"]
        return state_buttons(self.ui_state, self.direction, foldable=self.foldable)

    def crm_buttons(self) -> list[str]:
        """The CRM row (call-card.md §3.4). External calls always get CRM_CREATE='none'."""
        result = ["addComment"]
        if self.crm_entity_type in ("CONTACT", "COMPANY"):
            result += ["addDeal", "addInvoice"]
        elif not self.crm_entity_type:
            result += ["addLead", "addContact"]
        return result

    def status(self) -> dict[str, Any]:
        """getStatus / the initialized payload, with native JSON types (call-card.md §8.2)."""
        data: dict[str, Any] = {"CALL_ID": self.call_id}
        if self.phone_number != "unknown":
            data["PHONE_NUMBER"] = self.phone_number
        data["LINE_NUMBER"] = self.line_number
        data["LINE_NAME"] = self.line_name
        data["CRM_ENTITY_TYPE"] = self.crm_entity_type
        data["CRM_ENTITY_ID"] = self.crm_entity_id
        if self.crm_activity_id != 0:
            data["CRM_ACTIVITY_ID"] = self.crm_activity_id
        data["CRM_BINDINGS"] = [dict(binding) for binding in self.crm_bindings]
        data["CALL_DIRECTION"] = self.direction
        data["CALL_STATE"] = self.call_state
        data["CALL_LIST_MODE"] = self.call_list_mode
        return data

    def status_as_strings(self) -> dict[str, Any]:
        """The same fields as the platform puts them in PLACEMENT_OPTIONS and the handler form POST: all
        strings, CRM_ACTIVITY_ID "undefined" when none, no CRM_BINDINGS when empty. URI is the caller's."""
        data: dict[str, Any] = {}
        for key, value in self.status().items():
            if key == "CRM_BINDINGS":
                if value:
                    data[key] = [{k: js_string(v) for k, v in binding.items()} for binding in value]
                continue
            data[key] = js_string(value)
            if key == "CRM_ENTITY_ID" and self.crm_activity_id == 0:
                data["CRM_ACTIVITY_ID"] = "undefined"
        return data

    def view(self, now: float) -> dict[str, Any]:
        """What the portal page renders (the UI codes against these keys)."""
        return {
            "userId": self.user_id,
            "callId": self.call_id,
            "phoneNumber": self.phone_number,
            "lineNumber": self.line_number,
            "lineName": self.line_name,
            "direction": self.direction,
            "callState": self.call_state,
            "uiState": self.ui_state.name,
            "uiStateNumber": int(self.ui_state),
            "title": self.title,
            "statusText": self.status_text,
            "muted": self.muted,
            "held": self.held,
            "timer": {
                "running": self.timer_running,
                "shown": self.timer_shown,
                "elapsed": self.timer_elapsed(now),
            },
            "allowAutoClose": self.allow_auto_close,
            "folded": self.folded,
            "foldable": self.foldable,
            "closable": self.closable,
            "layout": layout_for(self.ui_state),
            "buttons": self.buttons(),
            "crm": {
                "entityType": self.crm_entity_type,
                "entityId": self.crm_entity_id,
                "activityId": self.crm_activity_id,
                "bindings": [dict(binding) for binding in self.crm_bindings],
            },
            "crmButtons": self.crm_buttons(),
            "comment": {"text": self.comment_text, "editorOpen": self.comment_editor_open},
            "closeAt": self.close_at,
            "isExternalCall": self.is_external_call,
            "used": self.used,
        }

    # -- timer, state ----------------------------------------------------------------------------------

    def start_timer(self, now: float) -> None:
        """Start (no-op while running); counts from initialTimestamp, set on the first start only."""
        if self.timer_running:
            return
        if not self.timer_initial:
            self.timer_initial = now
        self.timer_running = True

    def stop_timer(self, now: float) -> None:
        """Stop the count; the last value stays visible."""
        if not self.timer_running:
            return
        self.timer_running = False
        self.timer_stopped_at = now

    def hide_timer(self) -> None:
        """Hide the section and reset initialTimestamp, so the next start counts from 00:00."""
        self.timer_shown = False
        self.timer_initial = 0.0
        self.timer_stopped_at = 0.0

    def apply_ui_state(self, state: UiState, now: float) -> None:
        """The view's own setUiState: buttons follow the state; sections and timer per §3.2."""
        self.ui_state = state
        rule = STATE_RULES[state]
        if rule.show_timer is not None:
            self.timer_shown = rule.show_timer
        if rule.timer == "start":
            self.start_timer(now)
        elif rule.timer == "stop":
            self.stop_timer(now)

    def worker_set_ui_state(
        self, state: UiState, now: float, *, disable_auto_start_timer: bool = False
    ) -> None:
        """CallCardSetUiState after validation: §3 for the state, then the worker's timer rules."""
        self.apply_ui_state(state, now)
        if state is UiState.connected:
            if disable_auto_start_timer:
                self.stop_timer(now)
                self.hide_timer()
            else:
                self.timer_shown = True
        elif not self.timer_running:
            self.hide_timer()

    def set_call_state(self, state: str, additional_params: dict[str, Any] | None = None) -> list[Event]:
        """Change callState; CallCard::CallStateChanged fires only on an actual change."""
        if state not in CALL_STATES:
            raise ValueError(f"unknown call state {state!r}")
        if state == self.call_state:
            return []
        self.call_state = state
        extra = {"additionalParams": dict(additional_params or {})}
        return [self._event(CARD_PREFIX + "CallStateChanged", state, extra)]

    # -- closing ---------------------------------------------------------------------------------------

    def close(self) -> list[Event]:
        """close(): CallCard::BeforeClose, then the card is disposed (the service deletes it)."""
        self.closed = True
        self.close_at = None
        self.restore_until = None
        return [self._event(CARD_PREFIX + "BeforeClose")]

    def auto_close(self, now: float, delay: float) -> list[Event]:
        """autoClose() when the call ends: close at once, or BeforeClose and start the delayed close.

        A second autoClose while the countdown runs fires BeforeClose again but keeps the earlier
        deadline (the platform's first timer still fires then).
        """
        if self.allow_auto_close and not self.comment_editor_open:
            return self.close()
        if self.close_at is None:
            self.close_at = now + delay
        return [self._event(CARD_PREFIX + "BeforeClose")]

    def close_after_timeout(self) -> list[Event]:
        """The delayed close fires: save a shown comment, then close (no call is ever flagged current
        for an external card, so nothing holds the close back)."""
        events = self._save_comment(self.comment_text) if self.comment_editor_open else []
        return events + self.close()

    def disable_auto_close(self, now: float, delay: float) -> None:
        """disableAutoClose: hides the fold button; a running countdown restarts for the full delay."""
        self.allow_auto_close = False
        if self.close_at is not None:
            self.close_at = now + delay

    def enable_auto_close(self) -> list[Event]:
        """enableAutoClose: a pending countdown is cleared and its close runs at once."""
        self.allow_auto_close = True
        if self.close_at is None:
            return []
        self.close_at = None
        return self.close_after_timeout()

    # -- operator clicks -------------------------------------------------------------------------------

    def _save_comment(self, text: str) -> list[Event]:
        self.comment_text = text
        self.comment_editor_open = False
        return self._background("addCommentButtonClick", text)

    def press(self, button: str, value: Any, now: float, delay: float) -> list[Event]:
        """An operator click on ``button`` (a name from the view's buttons, or commentOpen/commentSave), or
        the Esc key (``"escape"``).

        Raises ValueError for a button that is not shown now or a value the control cannot produce.
        """
        if self.closed:
            raise ValueError("the card is closed")
        if button == "commentOpen":
            if self.comment_editor_open:
                raise ValueError("the comment editor is already open")
            self.comment_editor_open = True
            return []
        if button == "commentSave":
            if not self.comment_editor_open:
                raise ValueError("the comment editor is not open")
            if not isinstance(value, str):
                raise ValueError("commentSave needs the comment text")
            if value != self.comment_text and self.close_at is not None:
                self.close_at = now + delay  # typing in the editor restarts the countdown
            return self._save_comment(value)
        if button == "escape":
            return self._escape()
        if button == "fold":
            # the fold button, the expand arrow or a double-click on the card: folding needs only a
            # foldable card (§3.3), in any UiState, not a fold button; expanding is always possible
            if not self.folded and not self.foldable:
                raise ValueError("the card cannot be folded now")
            self.folded = not self.folded
            return []
        if button not in self.buttons():
            raise ValueError(f"button {button!r} is not shown in state {self.ui_state.name}")
        event = BUTTON_EVENTS[button]
        if button == "close":
            return self._background(event) + self.close()
        if button == "mute":
            self.muted = not self.muted
            return self._background(event, self.muted)
        if button == "hold":
            self.held = not self.held
            return self._background(event, self.held)
        if button == "transfer":
            return self._background(event, self._transfer_payload(value))
        if button == "dialpad":
            if not isinstance(value, str) or value not in DIALPAD_KEYS:
                raise ValueError(f"dialpad key must be one of 0-9 * #, not {value!r}")
            return self._background(event, value)
        if button == "qualityMeter":
            grade = js_string(value)
            if isinstance(value, bool) or grade not in QUALITY_GRADES:
                raise ValueError(f"quality grade must be 1..5, not {value!r}")
            return self._background(event, grade)  # the platform sends the data-attribute string
        return self._background(event)

    def _escape(self) -> list[Event]:
        """Esc on a closable, unfolded card closes its popup (call-card.md §3.3), in states without a close
        button too. The platform's popup-close handler runs only the controller's close callback (dispose,
        release the lock): no closeButtonClick (no button was clicked) and no BeforeClose (not close())."""
        if not self.closable or self.folded:
            raise ValueError(f"Esc does not close the card in state {self.ui_state.name}")
        self.closed = True
        self.close_at = None
        self.restore_until = None
        return []

    def _transfer_payload(self, value: Any) -> dict[str, Any]:
        target = value.get("target") if isinstance(value, dict) else None
        is_user = isinstance(target, int) and not isinstance(target, bool)
        if not is_user and not (isinstance(target, str) and target):
            raise ValueError("transfer needs a target: a user id (int) or a phone number (str)")
        if self.used:
            # the background-app dialog: the card's number and the picked user or phone
            return {"phoneNumber": self.phone_number, "target": target}
        return {"type": "user" if is_user else "pstn", "target": target}
