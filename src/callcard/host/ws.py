"""The page connection manager: the server end of every portal page's WebSocket, and sending to pages.

Every render of a portal page registers a ``Page`` (id embedded in the HTML); the page then opens
``/ws`` and says ``hello`` with that id. Which pages a user has and which one owns the user's card
(call-card.md §1) is ``PageRegistry``'s (ownership.py), which ``PageManager`` extends. Events go to the
owning page only (they are page-local on the platform); what its card UI renders is cardview.py's.

Thread safety: ``send_events`` / ``push_card`` may be called from any thread (REST endpoints run in a
thread pool, the ticker in its own task). Outgoing messages go through one ``Outlet`` per connection,
filled on the event loop, so everything a connection receives keeps the order in which it was produced.

Latency (docs/benchmarks.md, bridge): a page request is answered before anything that can wait. For a
command or a click the order on the socket is: the events it caused (frames hear them first, §10), the
``re`` reply, then — after the reply has been written — the card view (dropped when unchanged), the
outbox routing and the timeline entries (``AfterReply``).

Wire (JSON text frames), page -> server:
  hello{page} · cmd{id,sid,cmd,params,notices?} · press{id,button,value,notices?}
  · frame{id,placement,row,notices?}
  · notices, one at a time or as batch{items}: load{sid,ms} · wire{sid,dir,kind,data}
    · conf{sid,kind,message,detail} · drop{sid} · used{sid,cmd}
  (``notices`` on a request: the page's notices not yet sent, carried along instead of a message of
  their own; handled after the reply, except before a click, which may depend on them)
server -> page:
  hello{ok} · re{id,ok,reply|noReply|error,...} · events{events,sticky_ms?} · card{view} · toast{text}
  · reload{}
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from ..domain import conformance as conf
from ..domain.card import CallCard
from ..domain.events import Event
from ..services import Services
from . import cardview
from .commands import PageCommands
from .frames import FrameFactory, LayoutRegistry
from .outlet import Outlet, card_key, dumps
from .ownership import Page, PageRegistry
from .requests import AfterReply, PageRequests

__all__ = ["PageManager"]

log = logging.getLogger("callcard.host.ws")


class PageManager(PageRegistry):
    """Pages per user and card ownership (``PageRegistry``), and the server end of every page WebSocket."""

    def __init__(self, services: Services, factory: FrameFactory, layouts: LayoutRegistry) -> None:
        super().__init__(services, layouts)
        self.factory = factory
        self.commands = PageCommands(services, factory, layouts, self)
        self.requests = PageRequests(self)
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- sending (thread-safe) ------------------------------------------------------------------------

    def send(self, page: Page, message: dict[str, Any], *, card: bool = False) -> None:
        """Queue ``message`` for ``page`` from any thread; ``card``: a card view, dropped if unchanged."""
        outlet, loop = page.outlet, self._loop
        if outlet is None or loop is None or page.closed:
            return
        if card:  # serialised on the loop, only when it is not dropped as unchanged
            put: Callable[[], Any] = functools.partial(outlet.put_card, message, card_key(message["view"]))
        else:
            put = functools.partial(outlet.put, dumps(message))
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            put()
        else:
            try:
                loop.call_soon_threadsafe(put)
            except RuntimeError:  # the server is shutting down: nobody is listening any more
                pass

    def send_events(self, events: Iterable[Event]) -> None:
        """Hand card events to the owning page of each event's user (which posts them to bound frames)."""
        self._send_events(events)

    def _send_events(self, events: Iterable[Event], sticky_ms: float = 0) -> None:
        # grouped per (user, call) in first-seen order; dicts keep insertion order
        per_user: dict[tuple[int, str | None], list[dict[str, Any]]] = {}
        for event in events:
            if event.user_id is None or not (event.is_background or event.is_card_tab):
                continue
            per_user.setdefault((event.user_id, event.call_id), []).append(
                {
                    "name": event.name,
                    "payload": event.payload if event.has_payload else None,
                    "has": event.has_payload,
                }
            )
        for (user_id, call_id), wire in per_user.items():
            owner = self._owner_for_call(user_id, call_id) if call_id else self.owner_of(user_id)
            if owner is None:
                continue  # no page shows this card: events are page-local, nobody hears them
            message: dict[str, Any] = {"t": "events", "events": wire}
            if sticky_ms:
                message["sticky_ms"] = sticky_ms
            self.send(owner, message)

    def push_card(self, user_id: int) -> None:
        """Send the user's current card view (or null when closed) to the owning page."""
        card = self.s.cards.get(user_id)
        self.push_view(user_id, card, None if card is None else card.view(self.s.clock.now()))

    def push_view(self, user_id: int, card: CallCard | None, view: dict[str, Any] | None) -> None:
        """``push_card`` for a card just read and its ``card.view(now)``, neither computed twice.

        The owning page gets the view, every other page of the user null; a page is not sent a view
        equal to the last one it got (``Outlet.put_card``)."""
        owner = self.owner_of_card(user_id, card)
        if owner is None:
            # the card is gone (or nobody owns it): release it, and tell every page so a stale card goes
            if card is None:
                self.release(user_id)
            for page in self.pages_of(user_id):
                self.send(page, {"t": "card", "view": None}, card=True)
            return
        shown = None if view is None else cardview.page_view(self.s, user_id, view)
        self.send(owner, {"t": "card", "view": shown}, card=True)
        for page in self.pages_of(user_id):
            if page.page_id != owner.page_id:
                self.send(page, {"t": "card", "view": None}, card=True)

    def user_choices(self) -> list[dict[str, Any]]:
        """Active portal users as ``{id, name, position}`` (the transfer picker, selectUser)."""
        return cardview.user_choices(self.s)

    def toast(self, user_id: int, text: str) -> None:
        for page in self.pages_of(user_id):
            self.send(page, {"t": "toast", "text": text})

    def publish(self, events: list[Event], user_id: int | None = None, *, after: AfterReply | None = None) -> None:
        """Route events through the hub (frames, HTTP handlers, timeline) and refresh the card view.

        With ``after`` (a page request being answered): the frames hear the events now, before the reply
        (wire-protocol.md §10); the rest — card views, outbox, timeline — is left in ``after``."""
        touched = [user_id] if user_id is not None else []
        hub = self.s.hub
        if after is None:
            if hub is not None:
                hub.publish(events, touched)
                return
            self.send_events(events)
            self._push_touched(events, touched)
            return
        if events:
            self.send_events(events)
        if hub is not None:
            after.append(functools.partial(hub.settle, events, touched))
        else:
            after.append(functools.partial(self._push_touched, events, touched))

    def _push_touched(self, events: list[Event], touched: list[int]) -> None:
        for uid in sorted({*touched, *(e.user_id for e in events if e.user_id is not None)}):
            self.push_card(uid)

    # -- the WebSocket endpoint -----------------------------------------------------------------------

    async def serve(self, ws: WebSocket, user_id: int) -> None:
        """Run one page connection until it closes. The caller has checked the session."""
        await ws.accept()
        self._loop = asyncio.get_running_loop()
        page: Page | None = None
        writer: asyncio.Task[None] | None = None
        try:
            hello = await ws.receive_json()
            page = self.page(str(hello.get("page", ""))) if hello.get("t") == "hello" else None
            if page is None or page.user_id != user_id or page.outlet is not None:
                # unknown page (server restarted) or someone else's: the page must render anew
                await ws.send_text(json.dumps({"t": "reload"}))
                await ws.close(code=4404)
                return
            outlet = Outlet(ws, dumps)
            self.connect(page, outlet)
            writer = asyncio.create_task(outlet.run())
            outlet.hold()
            try:
                self.send(page, {"t": "hello", "ok": True, "page": page.page_id})
                self._claim(page)
            finally:
                await outlet.release()
            while True:
                text = await ws.receive_text()
                try:
                    message = json.loads(text)
                except ValueError:
                    continue  # not ours: ignore rather than drop the page
                if isinstance(message, dict):
                    outlet.hold()
                    try:
                        await self.requests.handle(page, message)
                    finally:
                        await outlet.release()
        except (WebSocketDisconnect, RuntimeError, KeyError, ValueError):
            pass
        finally:
            if page is not None and page.outlet is not None:
                self._disconnected(page)
            if writer is not None:
                writer.cancel()

    def _claim(self, page: Page) -> None:
        """A page connected: if it is now the owner of an existing card, it takes the card over."""
        card = self.s.cards.get(page.user_id)
        if card is None or not self.owns(page, card):
            self.send(page, {"t": "card", "view": None}, card=True)
            return
        # the card was shown before this page was there (or its page reloaded): its frames have not heard
        # `initialized`; fire it again and let the bridge replay it to bindings made soon (§9.5)
        events = self.s.cards.page_reclaimed(page.user_id)
        self._send_events(events, sticky_ms=self.s.settings.card_restore_s * 1000)
        self.send(page, {"t": "card", "view": cardview.card_view(self.s, page.user_id)}, card=True)

    def _disconnected(self, page: Page) -> None:
        was_owner = self.is_owner(page)
        self.disconnect(page)
        if not was_owner:
            return
        try:
            events = self.s.cards.page_unloaded(page.user_id)
            self.publish(events, page.user_id)
            # another open page of the user takes a card that survived the unload
            successor = self.owner_of(page.user_id)
            if successor is not None:
                self._claim(successor)
        except Exception:
            log.exception("page unload handling failed")

    # -- helpers for PageCommands ------------------------------------------------------------------------

    def conformance(self, app_id: int | None, kind: str, message: str = "", detail: Any = None) -> None:
        if kind not in conf.KINDS:
            return
        try:
            self.s.conformance.record(app_id, kind, message=message, detail=detail)
        except Exception:
            log.exception("conformance record failed")
