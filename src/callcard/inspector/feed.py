"""The timeline feed: filters from a query string, JSON encoding, snapshots and the Server-Sent Events stream.

The live stream subscribes to the journal *before* it reads the backlog, so no entry falls between the
two; entries are de-duplicated by ``seq``. A stream ends on its own after ``window_s`` seconds: the
browser's EventSource reconnects at once with ``Last-Event-ID`` and misses nothing, and an open inspector
tab never holds up a server shutdown (uvicorn waits for open HTTP responses before it stops).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..journal import KINDS

__all__ = ["TimelineFilter", "dumps", "parse_filter", "read", "snapshot", "sse_event", "stream"]

#: how long one SSE response lives before the browser reconnects (seconds)
STREAM_WINDOW_S = 5.0
#: how long the stream waits on its queue before looking again (entries added from worker threads do not
#: wake an asyncio waiter, so the stream also polls)
POLL_S = 0.2
#: the browser's reconnect delay after a stream ends (milliseconds)
RETRY_MS = 300
#: the most entries one snapshot returns when no limit is asked for
DEFAULT_LIMIT = 2000


@dataclass(frozen=True)
class TimelineFilter:
    """Which entries a viewer wants: kinds (None = all), app, user, and only those after ``since``."""

    kinds: tuple[str, ...] | None = None
    app_id: int | None = None
    user_id: int | None = None
    since: int = 0
    limit: int | None = DEFAULT_LIMIT

    def matches(self, entry: Mapping[str, Any]) -> bool:
        return (
            entry["seq"] > self.since
            and (self.kinds is None or entry["kind"] in self.kinds)
            and (self.app_id is None or entry.get("app_id") == self.app_id)
            and (self.user_id is None or entry.get("user_id") == self.user_id)
        )


def _opt_int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {value!r}") from None


def parse_filter(query: Mapping[str, str], last_event_id: str | None = None) -> TimelineFilter:
    """A filter from ``?kind=rest,card&app_id=&user_id=&since=&limit=``; ValueError on a bad value.

    ``Last-Event-ID`` (an EventSource reconnecting) wins over ``since`` when it is later.
    """
    raw_kinds = [k.strip() for k in query.get("kind", "").split(",") if k.strip()]
    unknown = [k for k in raw_kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind {unknown[0]!r}; kinds are {', '.join(KINDS)}")
    since = _opt_int(query.get("since"), "since") or 0
    resumed = _opt_int(last_event_id, "Last-Event-ID") if last_event_id else None
    if resumed is not None:
        since = max(since, resumed)
    limit = _opt_int(query.get("limit"), "limit")
    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    return TimelineFilter(
        kinds=tuple(raw_kinds) or None,
        app_id=_opt_int(query.get("app_id"), "app_id"),
        user_id=_opt_int(query.get("user_id"), "user_id"),
        since=max(0, since),
        limit=DEFAULT_LIMIT if limit is None else (limit or None),
    )


def _default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return repr(value)


def dumps(value: Any) -> str:
    """JSON for anything a journal entry may carry (odd values become their repr, bytes their size)."""
    return json.dumps(value, default=_default, ensure_ascii=False, separators=(",", ":"))


def read(journal: Any, **query: Any) -> list[dict[str, Any]]:
    """``journal.entries(**query)``, retried if a writer on another thread appended mid-read (a deque
    refuses iteration while it changes)."""
    for _ in range(4):
        try:
            return list(journal.entries(**query))
        except RuntimeError:
            continue
    return list(journal.entries(**query))


def snapshot(journal: Any, f: TimelineFilter) -> dict[str, Any]:
    """The entries matching ``f`` (oldest first, the newest ``limit``) and the journal's state."""
    enabled = bool(journal is not None and journal.enabled)
    entries = (
        read(journal, kinds=f.kinds, app_id=f.app_id, user_id=f.user_id, since=f.since, limit=f.limit)
        if enabled else []
    )
    newest = read(journal, limit=1) if enabled else []
    return {
        "enabled": enabled,
        "size": journal.size if journal is not None else 0,
        "count": len(journal) if journal is not None else 0,
        "last_seq": newest[-1]["seq"] if newest else 0,
        "entries": entries,
    }


def sse_event(event: str, data: Any, event_id: int | None = None) -> str:
    """One Server-Sent Events message (the JSON never holds a raw newline, so one data line suffices)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {dumps(data)}\n\n"


async def stream(
    journal: Any,
    f: TimelineFilter,
    *,
    window_s: float = STREAM_WINDOW_S,
    monotonic: Callable[[], float] | None = None,
) -> AsyncIterator[str]:
    """``hello``, then each matching entry as an ``entry`` event (``id`` = seq), then ``bye`` after
    ``window_s``. Backlog first (entries after ``f.since``), then live ones.

    A client that goes away is noticed by Starlette's StreamingResponse, which cancels this generator.
    """
    clock = monotonic or asyncio.get_running_loop().time
    enabled = bool(journal is not None and journal.enabled)
    hello = {"enabled": enabled, "size": getattr(journal, "size", 0)}
    yield f"retry: {RETRY_MS}\n" + sse_event("hello", hello)
    if not enabled:
        # nothing will ever come: idle until the window closes (the browser then asks again)
        await asyncio.sleep(window_s)
        yield sse_event("bye", {"reason": "window", "last_seq": f.since})
        return
    queue = journal.subscribe()
    try:
        last = f.since
        for entry in read(journal, kinds=f.kinds, app_id=f.app_id, user_id=f.user_id, since=f.since,
                          limit=f.limit):
            last = entry["seq"]
            yield sse_event("entry", entry, last)
        deadline = clock() + window_s
        while (remaining := deadline - clock()) > 0:
            try:
                entry = queue.get_nowait()
            except asyncio.QueueEmpty:
                try:
                    entry = await asyncio.wait_for(queue.get(), timeout=min(POLL_S, remaining))
                except TimeoutError:
                    continue
            if entry["seq"] > last and f.matches(entry):
                last = entry["seq"]
                yield sse_event("entry", entry, last)
        yield sse_event("bye", {"reason": "window", "last_seq": last})
    finally:
        journal.unsubscribe(queue)
