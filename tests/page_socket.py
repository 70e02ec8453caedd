"""``PageSocket``: portal.js in miniature over a Starlette TestClient WebSocket, for unit tests of the page
connection (tests/unit/test_host_*.py, test_crm_row.py).

It says hello as the rendered page, then sends requests by id; everything else the server sends while it
waits (events, card views, toasts) is kept in ``pushed``, in order.
"""

from __future__ import annotations

from typing import Any


class PageSocket:
    def __init__(self, ws: Any, page_id: str) -> None:
        self.ws = ws
        self.next_id = 1
        self.pushed: list[dict[str, Any]] = []
        self.first_view: dict[str, Any] | None = None  # set by fixtures that wait for the first card view
        self.sid = ""  # the worker's APP_SID, for fixtures that know it
        ws.send_json({"t": "hello", "page": page_id})
        assert self.receive("hello")["ok"] is True

    def receive(self, kind: str) -> dict[str, Any]:
        """The next message of ``kind``; the ones before it go to ``pushed``."""
        while True:
            msg: dict[str, Any] = self.ws.receive_json()
            if msg["t"] == kind:
                return msg
            self.pushed.append(msg)

    def request(self, **msg: Any) -> dict[str, Any]:
        """Send ``msg`` with a fresh id and return its ``re`` answer."""
        msg["id"] = self.next_id
        self.next_id += 1
        self.ws.send_json(msg)
        while True:
            answer: dict[str, Any] = self.ws.receive_json()
            if answer["t"] == "re" and answer["id"] == msg["id"]:
                return answer
            self.pushed.append(answer)

    def barrier(self, row_id: int) -> None:
        """A request that pushes nothing (a CALL_CARD tab frame of row ``row_id``): its reply means all
        earlier messages and their follow-ups are done (one reader handles a page's messages in order)."""
        self.request(t="frame", placement="CALL_CARD", row=row_id)
