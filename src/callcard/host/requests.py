"""A page's requests and notices, answered reply first (docs/benchmarks.md, bridge).

``PageRequests.handle`` runs one message from a page's WebSocket (``host.ws`` reads them, one at a time).
A request — ``cmd``, ``press``, ``crm``, ``frame`` — is answered before anything that can wait: the events it
caused go out first (frames hear them before the reply, wire-protocol.md §10), then the ``re`` reply, and
only once both are written the follow-up work the request left in its ``AfterReply`` list: card views,
outbox routing, timeline entries, and the notices the request carried.

Notices (``wire``, ``conf``, ``load``, ``drop``, ``used``) come alone, as ``batch{items}``, or carried by
the page's next request (``notices``); carried ones are handled after that request's reply, except a
``used`` carried by a click, which the click may depend on (the transfer payload, call-card.md §5).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .ownership import Page
    from .ws import PageManager

__all__ = ["AfterReply", "PageRequests"]

log = logging.getLogger("callcard.host.ws")

#: work a page request leaves for after its reply has been written (card views, outbox, timeline)
AfterReply = list[Callable[[], None]]


class PageRequests:
    """Runs the messages of every page connection of one ``PageManager``."""

    def __init__(self, pages: PageManager) -> None:
        self.pages = pages

    async def handle(self, page: Page, message: dict[str, Any]) -> None:
        """One message from the page. A request's reply is written before anything that can wait:
        its card view, outbox routing, timeline entries and the notices it carried (``after``)."""
        kind = message.get("t")
        request_id = message.get("id")
        carried = message.pop("notices", None)
        notices = carried if isinstance(carried, list) else []
        after: AfterReply = []
        try:
            if kind == "cmd":
                self._notices(page, notices, after)  # queued before the command: journaled before it
                delay_ms = getattr(self.pages.s.faults, "bridge_latency_ms", 0) or 0
                if delay_ms > 0:  # the control API's bridge-latency fault (callcard.faults)
                    await asyncio.sleep(delay_ms / 1000)
                answer = self.pages.commands.run(
                    page, str(message.get("sid", "")), str(message.get("cmd", "")), message.get("params"), after
                )
            elif kind == "press":
                # what a click does may depend on a worker marked used; everything else can wait
                used = [n for n in notices if isinstance(n, dict) and n.get("t") == "used"]
                self._notices(page, used, after, now=True)
                self._notices(page, [n for n in notices if n not in used], after)
                answer = self.pages.commands.press(page, str(message.get("button", "")), message.get("value"), after)
            elif kind == "crm":  # a chip of the card's CRM row other than Comment
                self._notices(page, notices, after)
                answer = self.pages.commands.crm(page, str(message.get("action", "")), after)
            elif kind == "frame":
                self._notices(page, notices, after)
                answer = self.pages.commands.frame(
                    page, str(message.get("placement", "")), message.get("row"), message.get("options")
                )
            elif kind == "echo":
                # the transport alone (bench/bridge.py measures the WebSocket floor with it): no work
                self._notices(page, notices, after)
                answer = {"ok": True}
            elif kind == "batch":
                items = message.get("items")
                self._notices(page, items if isinstance(items, list) else [], None, now=True)
                return
            else:
                self.pages.commands.notice(page, kind, message)
                return
        except Exception as exc:  # the page gets an error answer; the connection stays up
            log.exception("page request %s failed", kind)
            answer = {"ok": False, "error": str(exc) or type(exc).__name__}
        if request_id is not None:
            self.pages.send(page, {"t": "re", "id": request_id, **answer})
        if after and page.outlet is not None:
            await page.outlet.flush()  # the reply (and the events before it) leave now
        for work in after:
            try:
                work()
            except Exception:
                log.exception("page request %s: follow-up work failed", kind)

    def _notices(self, page: Page, notices: list[Any], after: AfterReply | None, *, now: bool = False) -> None:
        """Handle fire-and-forget notices in their order: ``now`` (leaving their own follow-up work in
        ``after``), or else in ``after``, once the reply is out."""
        for notice in notices:
            if not isinstance(notice, dict):
                continue
            if now:
                self._notice(page, notice, after)
            elif after is not None:
                after.append(functools.partial(self._notice, page, notice, None))

    def _notice(self, page: Page, notice: dict[str, Any], after: AfterReply | None) -> None:
        try:
            self.pages.commands.notice(page, notice.get("t"), notice, after)
        except Exception:
            log.exception("page notice %s failed", notice.get("t"))
