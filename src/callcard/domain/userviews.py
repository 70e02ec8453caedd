"""Users as ``user.current`` / ``user.get`` return them (rest-api.md §9.10): scalars as strings, ACTIVE
a bool, UF_DEPARTMENT integers, dates ISO, IS_ONLINE and LAST_LOGIN from the user's browser sessions.

``user.current`` is the call SDKs make most, so what a view is made of (the user row, the sessions'
latest expiry and login) is cached exactly (derived.py) until the users or sessions tables change;
IS_ONLINE is worked out against the clock on every call, and every caller gets a fresh dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..clock import Clock
from ..store import Row, Store
from .dates import iso
from .derived import DerivedCache
from .filters import order_rows, page, row_matches

__all__ = ["UserViews"]

#: (the view with a placeholder IS_ONLINE, when the user's last session expires or None)
_Made = tuple[dict[str, Any], float | None]


class UserViews:
    """Renders user rows; the directory's ``user_view`` / ``user_view_of`` / ``list_users``."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        self._sessions_seen: DerivedCache[int, tuple[float | None, str]] = DerivedCache(store, ("sessions",))
        self._views: DerivedCache[int, _Made | None] = DerivedCache(store, ("users", "sessions"))

    def view(self, row: Row) -> dict[str, Any]:
        """The user object of ``row``."""
        online_until, last_login = self._session_facts(int(row["id"]))
        return {
            "ID": str(row["id"]), "XML_ID": "", "ACTIVE": bool(row["active"]),
            "NAME": row["name"], "LAST_NAME": row["last_name"], "SECOND_NAME": "", "EMAIL": row["email"],
            "LAST_LOGIN": last_login or row["date_register"],
            "DATE_REGISTER": row["date_register"], "TIME_ZONE": "", "IS_ONLINE": self._online(online_until),
            "PERSONAL_GENDER": "", "PERSONAL_BIRTHDAY": "", "PERSONAL_PHONE": row["personal_phone"],
            "PERSONAL_MOBILE": row["personal_mobile"], "WORK_PHONE": row["work_phone"],
            "WORK_POSITION": row["work_position"], "UF_EMPLOYMENT_DATE": "",
            "UF_DEPARTMENT": [int(d) for d in (row["departments"] or [])],
            "UF_PHONE_INNER": row["uf_phone_inner"] or "", "USER_TYPE": "employee",
        }

    def view_of(self, user_id: int) -> dict[str, Any] | None:
        """``view(users row of user_id)``, None for an unknown user."""
        key = int(user_id)
        made = self._views.get(key, lambda: self._make(key))
        if made is None:
            return None
        view, online_until = made
        fresh = dict(view)  # the cached view is never handed out: callers may change what they get
        fresh["UF_DEPARTMENT"] = list(view["UF_DEPARTMENT"])
        fresh["IS_ONLINE"] = self._online(online_until)
        return fresh

    def listing(
        self, filter_: Mapping[str, Any] | None = None, order: Mapping[str, Any] | None = None,
        start: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """``user.get``: (one page of user objects, total) for FILTER keys with operator prefixes.

        USER_TYPE is accepted and ignored (every local user is an employee); NAME_SEARCH matches a
        substring of the name, last name or e-mail; ADMIN_MODE is the REST layer's concern.
        """
        def name_search(op: str, value: Any) -> bool:
            needle = str(value).casefold()
            return any(needle in str(view[k]).casefold() for k in ("NAME", "LAST_NAME", "EMAIL"))

        views = []
        for row in self.store.find("users"):
            view = self.view(row)
            if row_matches(view, filter_, special={"NAME_SEARCH": name_search}, ignore=("USER_TYPE",)):
                views.append(view)
        ordered = order_rows(views, order)
        return page(ordered, start), len(ordered)

    def _online(self, online_until: float | None) -> str:
        return "Y" if online_until is not None and online_until > self.clock.now() else "N"

    def _make(self, user_id: int) -> _Made | None:
        row = self.store.get("users", user_id)
        return None if row is None else (self.view(row), self._session_facts(user_id)[0])

    def _session_facts(self, user_id: int) -> tuple[float | None, str]:
        """(latest expiry, LAST_LOGIN) of the user's browser sessions: one read for both."""
        def read() -> tuple[float | None, str]:
            sessions = self.store.find("sessions", {"user_id": user_id, "kind": "session"})
            if not sessions:
                return None, ""
            return max(s["expires_at"] for s in sessions), iso(max(s["created_at"] for s in sessions))

        return self._sessions_seen.get(user_id, read)
