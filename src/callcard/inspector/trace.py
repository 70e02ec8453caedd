"""The states a user's card went through in one call, read back from the timeline's ``card`` entries.

The hub journals a ``card`` entry every time it pushes a user's card view (payload: the view, or None
once the card is closed). The *current call* is the call of the user's open card; with no open card it
is the call of the user's latest journaled card, so the diagram still shows how the last call went.
Consecutive entries in the same state (a mute toggle, a title change) collapse into one step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .feed import read

__all__ = ["CallTrace", "Step", "card_trace", "trace_call"]


@dataclass(frozen=True)
class Step:
    """One state of the path: the journal entry (``seq``, ``at``) where the card first showed it."""

    state: str
    seq: int
    at: float

    def as_dict(self) -> dict[str, Any]:
        return {"state": self.state, "seq": self.seq, "at": self.at}


@dataclass
class CallTrace:
    """The card of one user: its current view and the path of states its call took."""

    user_id: int
    view: dict[str, Any] | None
    call_id: str | None = None
    direction: str | None = None
    path: list[Step] = field(default_factory=list)
    #: the card of this call was closed after the last step (a ``card`` entry with no view)
    closed: bool = False

    @property
    def current(self) -> str | None:
        """The state the open card is in now (None when no card is open)."""
        return str(self.view["uiState"]) if self.view else None

    @property
    def transitions(self) -> list[dict[str, Any]]:
        """Each move between two different states, in order: ``{step, from, to, seq, at}`` (step from 1)."""
        return [
            {"step": i, "from": a.state, "to": b.state, "seq": b.seq, "at": b.at}
            for i, (a, b) in enumerate(zip(self.path, self.path[1:], strict=False), start=1)
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "view": self.view,
            "current": self.current,
            "call_id": self.call_id,
            "direction": self.direction,
            "path": [s.as_dict() for s in self.path],
            "transitions": self.transitions,
            "closed": self.closed,
        }


def trace_call(
    entries: Iterable[Mapping[str, Any]], user_id: int, call_id: str | None
) -> tuple[list[Step], bool]:
    """The path of ``call_id`` on ``user_id``'s card in ``entries`` (oldest first) and whether it closed.

    With ``call_id`` None the latest call found in the entries is traced.
    """
    mine = [e for e in entries if e.get("kind") == "card" and e.get("user_id") == user_id]
    call_id = call_id if call_id is not None else _latest_call(mine)
    if call_id is None:
        return [], False
    path: list[Step] = []
    closed = False
    in_call = False
    for entry in mine:
        view = entry.get("payload")
        if isinstance(view, Mapping) and str(view.get("callId")) == call_id:
            state = str(view.get("uiState"))
            in_call, closed = True, False
            if not path or path[-1].state != state:
                path.append(Step(state, int(entry["seq"]), float(entry["at"])))
        elif in_call:
            # the card left this call: closed (no view) or replaced by another call's card
            in_call, closed = False, True
    return path, closed


def card_trace(services: Any, user_id: int) -> CallTrace:
    """The user's open card view (from the card service, the truth) and its call's path (from the journal)."""
    card = services.cards.get(user_id)
    view = card.view(services.clock.now()) if card is not None else None
    journal = services.journal
    entries = read(journal, kinds=["card"], user_id=user_id) if journal is not None else []
    call_id = str(view["callId"]) if view and view.get("callId") else _latest_call(entries)
    path, closed = trace_call(entries, user_id, call_id) if call_id else ([], False)
    direction = view.get("direction") if view else _direction_of(entries, call_id)
    return CallTrace(user_id, view, call_id=call_id, direction=direction, path=path,
                     closed=closed and view is None)


def _latest_call(entries: Iterable[Mapping[str, Any]]) -> str | None:
    for entry in reversed(list(entries)):
        view = entry.get("payload")
        if isinstance(view, Mapping) and view.get("callId"):
            return str(view["callId"])
    return None


def _direction_of(entries: Iterable[Mapping[str, Any]], call_id: str | None) -> str | None:
    for entry in reversed(list(entries)):
        view = entry.get("payload")
        if isinstance(view, Mapping) and str(view.get("callId")) == call_id and view.get("direction"):
            return str(view["direction"])
    return None
