"""The one ordered way out of a page's WebSocket.

Everything a page is sent goes through its ``Outlet``, on the event loop, in the order it was produced.
Who writes it to the socket depends on who is running:

* the connection's reader, while it handles a page request, drains the outlet itself (``flush``) — the
  reply of a command leaves at once, with no hop to another task;
* a writer task (``run``) drains what is produced while the reader waits for the next message (events
  and card views from REST calls, the ticker, other pages).

Only one of them sends at a time (``_busy``), so the order of the socket is the order of ``put``.

Card views are deduplicated here, at the point where the order is final: a view equal to the last one
this page was sent (``card_key``) is dropped, so an unchanged card is neither sent nor re-rendered.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

__all__ = ["Outlet", "card_key", "dumps"]

log = logging.getLogger("callcard.host.ws")

_NOTHING_SENT = object()


class TextSocket(Protocol):
    async def send_text(self, data: str) -> None: ...


class Outlet:
    """Ordered, deduplicating sender for one page connection. Every method runs on the event loop."""

    def __init__(self, ws: TextSocket, dumps: Callable[[Any], str]) -> None:
        self._ws = ws
        self._dumps = dumps
        self._pending: deque[str] = deque()
        self._busy = False  # someone is in ``flush``
        self._held = 0  # the reader is handling a request and will flush when done
        self._wake = asyncio.Event()
        self._last_card: Any = _NOTHING_SENT
        self.broken = False

    def put(self, text: str) -> None:
        """Queue ``text`` to be sent after everything queued before it."""
        if self.broken:
            return
        self._pending.append(text)
        if not self._busy and not self._held:
            self._wake.set()

    def put_card(self, message: Any, key: Any) -> bool:
        """Queue a card view ``message`` unless the last view this page was sent had an equal ``key``
        (then return False: the page already shows it)."""
        if self.broken or key == self._last_card:
            return False
        self._last_card = key
        self.put(self._dumps(message))
        return True

    def hold(self) -> None:
        """The reader handles a request: it will flush what is produced meanwhile (no writer wake-up)."""
        self._held += 1

    async def release(self) -> None:
        """The reader is done with a request: send whatever it produced."""
        self._held -= 1
        await self.flush()

    async def flush(self) -> None:
        """Send everything queued, in order (a no-op while another task is sending: it sends it all)."""
        if self._busy:
            return
        self._busy = True
        try:
            while self._pending and not self.broken:
                await self._ws.send_text(self._pending.popleft())
        except Exception:  # a broken socket: the reader notices the close and cleans up
            self.broken = True
            self._pending.clear()
            log.debug("page socket write failed", exc_info=True)
        finally:
            self._busy = False

    async def run(self) -> None:
        """The writer task: send what arrives while the reader is waiting for the page."""
        while not self.broken:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)


def dumps(message: Any) -> str:
    """A message to a page as compact JSON text (one encoder, built once)."""
    return _ENCODER.encode(message)


def card_key(view: dict[str, Any] | None) -> Any:
    """What decides whether a card view is new to a page: the view, except the elapsed time of a running
    timer, which the page counts on by itself (card.js ``syncTimer``)."""
    if view is None:
        return None
    timer = view.get("timer")
    if isinstance(timer, dict) and timer.get("running"):
        return {**view, "timer": {**timer, "elapsed": None}}
    return view
