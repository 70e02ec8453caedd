"""``Timeline``: the running callcard's journal as test data, and ``frames(app)``, the frame loads in it.

Entries come from the control API (``GET /_callcard/timeline``); each becomes a ``TimelineEntry`` with a
``name`` that suits its kind, so tests filter with shell patterns on one field.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .server import CallcardServer, app_id_of, server_of
from .waiting import DEFAULT_TIMEOUT_S, wait_until

__all__ = ["FrameLoad", "Timeline", "TimelineEntry", "frames"]


@dataclass(frozen=True)
class TimelineEntry:
    """One journal entry. ``name``: the event name (``event``), REST method (``rest``), command or event
    on the wire (``message``), UiState or ``closed`` (``card``), delivery kind (``delivery``).
    ``payload``: for ``event`` entries the event's own payload (what a frame receives); otherwise the
    journal payload."""

    seq: int
    at: float
    kind: str
    name: str
    summary: str
    app_id: int | None
    user_id: int | None
    payload: Any
    raw: dict[str, Any] = field(repr=False)


def _entry(raw: dict[str, Any]) -> TimelineEntry:
    kind = str(raw.get("kind"))
    summary = str(raw.get("summary", ""))
    payload = raw.get("payload")
    name = summary
    if kind == "event" and isinstance(payload, dict):
        name = str(payload.get("name") or summary)
        payload = payload.get("payload")
    elif kind == "rest":
        name = str(raw.get("method") or summary.split(" ", 1)[0])
    elif kind == "message":
        parts = summary.split(" ", 2)  # "in CallCardSetUiState (PAGE_BACKGROUND_WORKER, app 1)"
        name = parts[1] if len(parts) > 1 else summary
    elif kind == "card":
        name = str(payload.get("uiState")) if isinstance(payload, dict) else "closed"
    elif kind == "delivery" and isinstance(payload, dict):
        name = str(payload.get("kind") or summary)
    return TimelineEntry(
        seq=int(raw.get("seq", 0)), at=float(raw.get("at", 0.0)), kind=kind, name=name, summary=summary,
        app_id=raw.get("app_id"), user_id=raw.get("user_id"), payload=payload, raw=raw,
    )


class Timeline:
    """The running callcard's timeline (REST calls, postMessages, card changes, events, deliveries).

    ``name`` filters accept shell patterns: ``events(kind="event", name="BackgroundCallCard::*")``.
    Card events are addressed to every bound frame, so their entries carry a user but no app.
    """

    def __init__(self, server: CallcardServer) -> None:
        self.server = server

    def events(
        self,
        kind: str | Iterable[str] | None = None,
        name: str | None = None,
        *,
        app: Any = None,
        user: int | None = None,
        since: int = 0,
        direction: str | None = None,
    ) -> list[TimelineEntry]:
        """Entries after seq ``since``, oldest first, filtered by kind, name, app, user and (for
        ``message`` entries) ``direction`` ``"in"`` (app → host) or ``"out"`` (host → app)."""
        kinds = [kind] if isinstance(kind, str) else list(kind or [])
        params: dict[str, Any] = {"since": since}
        if kinds:
            params["kind"] = ",".join(kinds)
        if app is not None:
            params["app_id"] = app_id_of(app)
        if user is not None:
            params["user_id"] = user
        data = self.server.control_call("GET", "/timeline", params=params)
        entries = [_entry(raw) for raw in data.get("entries", [])]
        return [e for e in entries
                if (name is None or fnmatch.fnmatchcase(e.name, name))
                and (direction is None or e.raw.get("direction") == direction)]

    def names(self, kind: str = "event", name: str | None = None, **filters: Any) -> list[str]:
        """Just the names, in order: handy for asserting a sequence."""
        return [e.name for e in self.events(kind, name, **filters)]

    def mark(self) -> int:
        """The newest entry's seq: pass it as ``since=`` to see only what happens next."""
        entries = self.server.control_call("GET", "/timeline").get("entries", [])
        return int(entries[-1]["seq"]) if entries else 0

    def wait_for(
        self,
        kind: str | Iterable[str] | None = None,
        name: str | None = None,
        *,
        count: int = 1,
        timeout: float = DEFAULT_TIMEOUT_S,
        **filters: Any,
    ) -> list[TimelineEntry]:
        """Wait until at least ``count`` entries match; return all matching entries."""

        def enough() -> list[TimelineEntry] | None:
            found = self.events(kind, name, **filters)
            return found if len(found) >= count else None

        what = f"{count} timeline entr{'y' if count == 1 else 'ies'} kind={kind} name={name} {filters or ''}"
        return list(wait_until(enough, timeout=timeout, what=what.strip()))

    def wait_bound(self, app: Any, *event_names: str, timeout: float = 10.0) -> list[TimelineEntry]:
        """Wait until ``app``'s frames have bound each of ``event_names`` and the newest of those bindings
        is older than the server's ``bind_event_guard_ms``.

        callcard holds events back from younger bindings (wire-protocol.md §9.1) and reports each hold-back
        as a conformance warning; a test that triggers a call right after the page loaded waits here first.
        """
        def bound() -> list[TimelineEntry] | None:
            binds = self.events("message", "placementBindEvent", app=app, direction="in")
            chosen = []
            for event in event_names:
                hits = [b for b in binds if event in str(b.payload)]
                if not hits:
                    return None
                chosen.append(hits[-1])
            return chosen or binds or None

        what = f"app {app_id_of(app)} to bind {', '.join(event_names) or 'events'}"
        binds = wait_until(bound, timeout=timeout, what=what)
        settings = self.server.settings
        guard_s = (settings.bind_event_guard_ms if settings is not None else 1000) / 1000
        # the timeline's clock is the server's (same process, wall time): sleep out the rest of the guard
        wait_s = max(b.at for b in binds) + guard_s + 0.05 - time.time()
        if wait_s > 0:
            time.sleep(wait_s)
        return list(binds)


@dataclass(frozen=True)
class FrameLoad:
    """One app frame a portal page loaded: its APP_SID, placement, registration row and load time
    (insertion to ``onload``, the time the slow-handler watchdog judges)."""

    sid: str
    app_id: int | None
    user_id: int | None
    placement: str
    row_id: int | None
    load_ms: float
    at: float


def frames(
    app: Any, *, server: CallcardServer | None = None, placement: str | None = None
) -> list[FrameLoad]:
    """The frames of ``app`` that portal pages have loaded so far, oldest first, with their load times.

    Read from the timeline, where the host notes each frame load; ``placement`` narrows the list
    (``"PAGE_BACKGROUND_WORKER"``, ``"CALL_CARD"``…).
    """
    srv = server_of(app, server)
    loads = []
    for entry in Timeline(srv).events("note", "frame *", app=app):
        data = entry.payload if isinstance(entry.payload, dict) else {}
        if "load_ms" not in data:
            continue
        where = entry.summary.split(" ")[1]  # "frame PAGE_BACKGROUND_WORKER of app 1 loaded in 12 ms"
        if placement is not None and where != placement:
            continue
        row = data.get("row_id")
        loads.append(FrameLoad(sid=str(data.get("sid", "")), app_id=entry.app_id, user_id=entry.user_id,
                               placement=where, row_id=None if row is None else int(row),
                               load_ms=float(data["load_ms"]), at=entry.at))
    return loads
