"""Browser sessions: one-time login links and the session cookies they are traded for.

A login link is short-lived and dies on first use; the session it gives lives ``session_ttl_s`` and
ends early when its user is deactivated. Both are rows of the ``sessions`` table (``kind`` login or
session). A bad link raises ``SessionError``, which the control and host surfaces answer with 403.
``Directory`` delegates its session methods here.
"""

from __future__ import annotations

from collections.abc import Callable

from ..clock import Clock, IdSource
from ..errors import CallcardError
from ..settings import Settings
from ..store import Row, Store

__all__ = ["BrowserSessions", "SessionError"]


class SessionError(CallcardError):
    """A login link that is unknown, already used or expired (control/host surfaces answer 403)."""


class BrowserSessions:
    """Login links and sessions over the store; users are looked up through the directory's ``get_user``."""

    def __init__(
        self, store: Store, clock: Clock, ids: IdSource, settings: Settings,
        get_user: Callable[[int], Row | None],
    ) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings
        self.get_user = get_user

    def create_login_link(self, user_id: int) -> str:
        """A one-time, short-lived token that logs a browser in as ``user_id``."""
        if self.get_user(user_id) is None:
            raise SessionError(f"unknown user {user_id}")
        return self._new_session(user_id, "login", self.settings.login_link_ttl_s)

    def consume_login_link(self, token: str) -> str:
        """Trade a login link for a session token; the link dies on first use."""
        with self.store.transaction():
            row = self.store.get("sessions", token)
            if row is None or row["kind"] != "login":
                raise SessionError("unknown or already used login link")
            self.store.delete("sessions", {"token": token})
            if row["expires_at"] <= self.clock.now():
                raise SessionError("login link expired")
            return self._new_session(int(row["user_id"]), "session", self.settings.session_ttl_s)

    def resolve_session(self, token: str | None) -> Row | None:
        """The user row of a live browser session, or None (unknown, expired, user deactivated)."""
        row = self.store.get("sessions", token) if token else None
        if row is None or row["kind"] != "session" or row["expires_at"] <= self.clock.now():
            return None
        user = self.get_user(int(row["user_id"]))
        return user if user and user["active"] else None

    def end_session(self, token: str) -> None:
        self.store.delete("sessions", {"token": token, "kind": "session"})

    def _new_session(self, user_id: int, kind: str, ttl: float) -> str:
        token, now = self.ids.hex(16), self.clock.now()
        self.store.insert("sessions", {"token": token, "user_id": user_id, "kind": kind,
                                       "expires_at": now + ttl, "created_at": now})
        return token
