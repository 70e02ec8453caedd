"""The event hub: where the events the domain returns go.

Every domain operation returns ``list[Event]``; the surface that ran it hands them to ``Hub.publish``,
which sends each one, unchanged, to:

1. the owning portal page of the card's user (``services.pages``), which posts it to the bound frames;
2. the timeline;
3. the outbox, once for every HTTP handler bound to it (REST ``event.bind`` for ``ONEXTERNALCALL*``,
   REST ``placement.bindEvent`` for card events, the row's errorHandlerUrl for watchdog notices);
   ``ONAPPUNINSTALL`` names its one handler row itself (the uninstall deletes the rows).

Then it pushes a fresh card view to the pages of every user whose card the operation touched.

``publish`` is ``deliver`` (step 1: what frames must hear first, cheap) followed by ``settle`` (the rest).
A page request calls them apart, with its reply in between (``host.ws``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from .domain.apps import APP_UNINSTALL
from .domain.events import REST_EVENTS, WATCHDOG_NOTICE, Event
from .outbox.forms import card_event_body, notice_body, rest_event_body
from .services import Services

__all__ = ["Hub"]

log = logging.getLogger("callcard.hub")


class Hub:
    def __init__(self, services: Services) -> None:
        self.s = services

    # -- publishing -----------------------------------------------------------------------------------

    def publish(self, events: Iterable[Event], touched: Iterable[int] = ()) -> None:
        events = list(events)
        self.deliver(events)
        self.settle(events, touched)

    def deliver(self, events: list[Event]) -> None:
        """Hand the events to the pages (and so to the bound frames), before anything slower."""
        if events and self.s.pages is not None:
            self.s.pages.send_events(events)

    def settle(self, events: list[Event], touched: Iterable[int] = ()) -> None:
        """Everything ``deliver`` leaves: timeline, outbox, and the card views of the users touched."""
        users = {u for u in touched if u is not None}
        journal = self.s.journal if self.s.journal is not None and self.s.journal.enabled else None
        for event in events:
            if event.user_id is not None:
                users.add(event.user_id)
            if journal is not None:
                journal.add("event", event.name, event.timeline(), app_id=event.app_id, user_id=event.user_id)
            try:
                self._route(event)
            except Exception:  # one bad handler row must not stop the others
                log.exception("routing %s failed", event.name)
        for user_id in sorted(users):
            self.push_card(user_id)

    def push_card(self, user_id: int) -> None:
        """The user's card view to the pages (unless unchanged for a page) and to the timeline."""
        card = self.s.cards.get(user_id)
        view = card.view(self.s.clock.now()) if card is not None else None
        if self.s.pages is not None:
            self.s.pages.push_view(user_id, card, view)
        if self.s.journal is not None and self.s.journal.enabled:
            summary = f"card of user {user_id}: " + (card.ui_state.key if card is not None else "closed")
            self.s.journal.add("card", summary, view, user_id=user_id)

    def _route(self, event: Event) -> None:
        outbox = self.s.outbox
        if outbox is None:
            return
        now = int(self.s.clock.now())
        if event.name == WATCHDOG_NOTICE:
            url = event.extra.get("url")
            form = event.extra.get("form", {})
            if url:
                body = notice_body(form.get("error", WATCHDOG_NOTICE), form.get("error_description", ""))
                outbox.enqueue(WATCHDOG_NOTICE, url, body, app_id=event.app_id, policy="once")
        elif event.name == APP_UNINSTALL:
            self._route_uninstall(event, now)
        elif event.name in REST_EVENTS:
            for row in self.s.event_handlers.handlers_for(event.name, event.app_id):
                app = self.s.directory.apps.get_app(row["app_id"])
                if app is None or not app.installed:
                    continue  # never sent before the app's install has finished (rest-api.md §9.8)
                auth_user = row["auth_type"] or event.user_id or 1
                auth = self.auth_block(row["app_id"], auth_user)
                data = event.extra.get("data", {})
                body = rest_event_body(event.name, row["id"], data, auth, now)
                outbox.enqueue(event.name, row["handler"], body, app_id=row["app_id"])
        elif event.is_background or event.is_card_tab:
            for row in self.s.card_handlers.handlers_for(event.name):
                auth = self.auth_block(row["app_id"], row["user_id"]) if row.get("app_id") else None
                body = card_event_body(event, row["id"], auth, now)
                outbox.enqueue(event.name, row["handler"], body, app_id=row.get("app_id"))

    def _route_uninstall(self, event: Event, now: int) -> None:
        """ONAPPUNINSTALL to the one handler row the event names (``AppUninstaller``): built as the other
        REST events, but its ``auth`` block has no tokens, only the portal fields and the app's
        application_token (the platform's OnAppUninstall: the app can no longer call REST)."""
        url, handler_id = event.extra.get("url"), event.extra.get("handler_id")
        app = self.s.directory.apps.get_app(event.app_id) if event.app_id is not None else None
        if app is None or not url or handler_id is None:
            return
        auth = self.s.directory.tokens.portal_auth(app, self.s.directory.member_id)
        body = rest_event_body(event.name, handler_id, event.extra.get("data", {}), auth, now)
        self.s.outbox.enqueue(event.name, url, body, app_id=app.id)

    # -- helpers ----------------------------------------------------------------------------------------

    _AUTH_KEYS = (
        "access_token", "expires_in", "scope", "domain", "server_endpoint", "status",
        "client_endpoint", "member_id", "refresh_token", "application_token",
    )

    def auth_block(self, app_id: int, user_id: int) -> dict[str, Any] | None:
        """The ``auth`` block of an outbound event (rest-api.md §9.8): fresh tokens for ``user_id``."""
        directory = self.s.directory
        app = directory.apps.get_app(app_id)
        if app is None:
            return None
        payload = directory.oauth_payload(app, user_id, directory.tokens.issue_tokens(app_id, user_id))
        return {key: payload[key] for key in self._AUTH_KEYS}
