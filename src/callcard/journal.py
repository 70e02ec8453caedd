"""The timeline: one bounded, in-memory journal of everything that crossed callcard.

Kinds of entry: ``rest`` (a REST call: request, response, status, duration), ``message`` (a postMessage
in either direction, per frame), ``card`` (a card state change), ``event`` (an event the domain emitted),
``delivery`` (an outbound HTTP attempt), ``note`` (anything else worth seeing).

The journal is a ring buffer (``settings.journal_size`` entries; 0 switches it off). Live viewers
subscribe and receive each new entry; a slow viewer's queue drops its oldest entries rather than
slowing callcard down.

Entries are written on the server's event loop and may be read from any thread (a test reads the journal
of a ``CallcardServer`` running in a thread): writes and reads take one lock, and readers get copies of
the entry list, never the live ring buffer.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

__all__ = ["KINDS", "Journal"]

KINDS = ("rest", "message", "card", "event", "delivery", "note")


class Journal:
    def __init__(self, size: int, clock: Any) -> None:
        self.size = max(0, int(size))
        self._clock = clock
        self._entries: deque[dict[str, Any]] = deque(maxlen=self.size or 1)
        self._seq = itertools.count(1)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def add(
        self,
        kind: str,
        summary: str,
        payload: Any = None,
        *,
        app_id: int | None = None,
        user_id: int | None = None,
        **fields: Any,
    ) -> dict[str, Any] | None:
        """Append an entry and hand it to live viewers; return it (None when the journal is off)."""
        if not self.enabled:
            return None
        if kind not in KINDS:
            raise ValueError(f"unknown journal kind {kind!r}")
        at = self._clock.now()
        with self._lock:  # seq order is append order, whichever thread writes
            entry = {
                "seq": next(self._seq),
                "at": at,
                "kind": kind,
                "summary": summary,
                "app_id": app_id,
                "user_id": user_id,
                "payload": payload,
                **fields,
            }
            self._entries.append(entry)
        # live viewers are asyncio queues of the server's loop, where entries are written
        for queue in list(self._subscribers) if self._subscribers else ():
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(entry)
        return entry

    def entries(
        self,
        *,
        kinds: Iterable[str] | None = None,
        app_id: int | None = None,
        user_id: int | None = None,
        since: int = 0,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """Entries after ``since`` (a seq), oldest first, filtered by kind, app and user."""
        wanted = set(kinds) if kinds else None
        with self._lock:
            current = list(self._entries)
        out = [
            e
            for e in current
            if e["seq"] > since
            and (wanted is None or e["kind"] in wanted)
            and (app_id is None or e["app_id"] == app_id)
            and (user_id is None or e["user_id"] == user_id)
        ]
        return out[-limit:] if limit else out

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def subscribe(self, maxsize: int = 1000) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=maxsize)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    def __len__(self) -> int:
        return len(self._entries) if self.enabled else 0
