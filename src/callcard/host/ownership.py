"""The portal pages of each user and card ownership: which page shows a user's call card.

Every render of a portal page registers a ``Page`` (``new_page``; its id is embedded in the HTML). A page
is connected while its WebSocket is (``connect`` / ``disconnect``, called by host/ws.py). Per user the
registry keeps the connected pages in connection order and the *owning* page of the user's card
(call-card.md §1): the first connected page that is not a slider claims it; the others ignore it.
Ownership is per call and outlives the card until its closing events are delivered (``release``).
Pages rendered but never connected are forgotten after ``UNCONNECTED_PAGE_TTL_S``, their layouts with
them.

Thread safety: every method may be called from any thread (REST endpoints run in a thread pool, the
ticker in its own task); one re-entrant lock guards the pages and owners.
"""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from typing import Any

from ..domain.card import CallCard
from ..services import Services
from .frames import LayoutRegistry, PageContext
from .outlet import Outlet

__all__ = ["UNCONNECTED_PAGE_TTL_S", "Page", "PageRegistry"]

#: pages rendered but never connected are forgotten after this long (their layouts with them)
UNCONNECTED_PAGE_TTL_S = 600.0


@dataclass
class Page:
    """One rendered portal page (one browser document)."""

    page_id: str
    user_id: int
    ctx: PageContext
    created_at: float  # time.monotonic() of the render
    crm: tuple[str, int] | None = None  # the CRM entity a /crm/... page shows
    outlet: Outlet | None = None  # set while connected
    seq: int = 0  # connection order
    closed: bool = False
    embedded: bool = False  # a slider (IFRAME=Y): never shows the card

    @property
    def connected(self) -> bool:
        return self.outlet is not None and not self.closed


class PageRegistry:
    """Pages per user and the owning page of each user's card (``PageManager`` adds the sockets)."""

    def __init__(self, services: Services, layouts: LayoutRegistry) -> None:
        self.s = services
        self.layouts = layouts
        self._lock = threading.RLock()
        self._pages: dict[str, Page] = {}
        self._owner: dict[int, tuple[str, str]] = {}  # user_id -> (page_id, call_id)
        self._seq = itertools.count(1)

    # -- pages ----------------------------------------------------------------------------------------

    def new_page(
        self, user_id: int, ctx: PageContext, crm: tuple[str, int] | None = None, *, embedded: bool = False
    ) -> Page:
        """Register a page being rendered (before any of its frames are rendered)."""
        now = time.monotonic()  # housekeeping, not domain time: a FakeClock must not expire pages
        page = Page(
            page_id=self.s.ids.hex(16), user_id=user_id, ctx=ctx, created_at=now, crm=crm, embedded=embedded
        )
        with self._lock:
            self._forget_stale(now)
            self._pages[page.page_id] = page
        return page

    def page(self, page_id: str) -> Page | None:
        with self._lock:
            return self._pages.get(page_id)

    def pages_of(self, user_id: int) -> list[Page]:
        """The user's connected pages in connection order."""
        with self._lock:
            live = [p for p in self._pages.values() if p.user_id == user_id and p.connected]
        return sorted(live, key=lambda p: p.seq)

    def connect(self, page: Page, outlet: Outlet) -> None:
        """The page's WebSocket said hello: it is connected, last in its user's connection order."""
        with self._lock:
            page.outlet = outlet
            page.seq = next(self._seq)

    def disconnect(self, page: Page) -> None:
        """The page's WebSocket closed: forget the page, its ownership and its layouts."""
        with self._lock:
            page.closed = True
            page.outlet = None
            self._pages.pop(page.page_id, None)
            if self._owner.get(page.user_id, ("",))[0] == page.page_id:
                del self._owner[page.user_id]
        self.layouts.drop_page(page.page_id)

    def _forget_stale(self, now: float) -> None:
        for pid, page in list(self._pages.items()):
            if page.outlet is None and not page.closed and now - page.created_at > UNCONNECTED_PAGE_TTL_S:
                del self._pages[pid]
                self.layouts.drop_page(pid)

    # -- ownership ------------------------------------------------------------------------------------

    def owner_of(self, user_id: int) -> Page | None:
        """The page that owns the user's open card, assigning the first connected page if none does yet."""
        return self.owner_of_card(user_id, self.s.cards.get(user_id))

    def owner_of_card(self, user_id: int, card: CallCard | None) -> Page | None:
        """``owner_of`` for a card the caller has just read (``cards.get(user_id)``): no second read."""
        return None if card is None else self._owner_for_call(user_id, card.call_id, card)

    def _owner_for_call(self, user_id: int, call_id: str, card: CallCard | None = None) -> Page | None:
        """The owning page of one call's card. Ownership outlives the card until its closing events are
        delivered (``push_card`` of a closed card releases it). ``card``: the user's card, if just read."""
        with self._lock:
            current = self._owner.get(user_id)
            if current is not None and current[1] == call_id:
                page = self._pages.get(current[0])
                if page is not None and page.connected:
                    return page
            if card is None:
                card = self.s.cards.get(user_id)
            if card is None or card.call_id != call_id:
                return None
            pages = [p for p in self.pages_of(user_id) if not p.embedded]
            if not pages:
                self._owner.pop(user_id, None)
                return None
            self._owner[user_id] = (pages[0].page_id, call_id)
            return pages[0]

    def release(self, user_id: int) -> None:
        """The user's card is gone: no page owns it any more."""
        with self._lock:
            self._owner.pop(user_id, None)

    def is_owner(self, page: Page) -> bool:
        return self.owns(page, self.s.cards.get(page.user_id))

    def owns(self, page: Page, card: CallCard | None) -> bool:
        """``is_owner`` for the user's card the caller has just read (None: there is none)."""
        owner = self.owner_of_card(page.user_id, card)
        return owner is not None and owner.page_id == page.page_id

    def frames(self) -> list[dict[str, Any]]:
        """Every live app frame (layout) of every connected page, for the control API."""
        out = []
        for layout in self.layouts.all():
            page = self.page(layout.page_id)
            if page is None or not page.connected:
                continue
            out.append(
                {
                    "app_sid": layout.sid,
                    "app_id": layout.app_id,
                    "user_id": layout.user_id,
                    "placement": layout.placement,
                    "row_id": layout.row_id,
                    "handler": layout.handler,
                    "page_id": layout.page_id,
                    "page_uri": page.ctx.uri,
                    "owns_card": self.is_owner(page),
                    "rendered_at": layout.created_at,
                    "load_ms": layout.load_ms,
                }
            )
        return out
