"""The local portal: its member id and users, and the one entry point for apps, tokens, webhooks and
browser sessions.

Everything an app or SDK authenticates against is reached through ``Directory``. Users render exactly as
``user.current`` / ``user.get`` return them (rest-api.md §9.10, userviews.py). Apps (``app.info``, §9.9),
OAuth tokens (§8), webhooks and sessions are services of their own (apps.py, tokens.py, webhooks.py,
sessions.py), reachable as ``directory.apps``, ``.tokens``, ``.webhooks`` and ``.sessions``; callers use
them there. Only ``oauth_payload`` stays here, because it needs the portal's member id as well.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..clock import Clock, IdSource
from ..settings import Settings
from ..store import Row, Store
from .apps import App, AppRegistry
from .dates import iso
from .derived import DerivedCache
from .sessions import BrowserSessions
from .tokens import OAuthTokens, TokenPair
from .userviews import UserViews
from .webhooks import Webhooks

__all__ = ["Directory"]

#: user 1 is the portal admin; the operators carry inner extensions for USER_PHONE_INNER lookups.
_SEED_USERS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("Alice", "Admin", "admin@callcard.local", "101", True),
    ("Oscar", "Operator", "oscar@callcard.local", "102", False),
    ("Paula", "Operator", "paula@callcard.local", "103", False),
    ("Quinn", "Operator", "quinn@callcard.local", "104", False),
)


def _inner_key(stored: Any) -> str:
    # The platform indexes UF_PHONE_INNER as the integer of its digits, and only from 1 to 9999
    # ("ext. 0101" is found as "101"); the number looked up is compared as given.
    digits = "".join(ch for ch in str(stored or "") if ch.isdigit())
    return str(int(digits)) if digits and 0 < int(digits) < 10000 else ""


class Directory:
    """Portal and users over the store; apps, tokens, webhooks and sessions through their services."""

    def __init__(self, store: Store, clock: Clock, ids: IdSource, settings: Settings) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings
        self._active: DerivedCache[int, bool] = DerivedCache(store, ("users",))
        self.views = UserViews(store, clock)
        self.apps = AppRegistry(store, clock, ids, settings)
        self.tokens = OAuthTokens(store, clock, ids, settings, self.apps, self.get_user)
        self.webhooks = Webhooks(store, clock, ids, settings, self.get_user)
        self.sessions = BrowserSessions(store, clock, ids, settings, self.get_user)

    # -- portal -------------------------------------------------------------------------------------

    def ensure_seeded(self) -> None:
        """Create the portal (member_id) and the four demo users once; later calls change nothing."""
        with self.store.transaction():
            if self.store.get("meta", "portal") is None:
                portal = {"member_id": self.ids.hex(16), "created_at": self.clock.now()}
                self.store.upsert("meta", {"key": "portal", "value": portal})
            if self.store.count("users") == 0:
                for name, last, email, inner, admin in _SEED_USERS:
                    self.add_user(name, last, email=email, uf_phone_inner=inner, is_admin=admin)

    @property
    def member_id(self) -> str:
        row = self.store.get("meta", "portal")
        if row is None:
            self.ensure_seeded()
            row = self.store.get("meta", "portal")
        assert row is not None
        return str(row["value"]["member_id"])

    # -- users --------------------------------------------------------------------------------------

    def add_user(
        self, name: str, last_name: str = "", *, email: str = "", uf_phone_inner: str | None = None,
        is_admin: bool = False, active: bool = True, work_position: str = "",
    ) -> Row:
        """Create a user (ids are sequential, as the platform's) and return its row."""
        uid = self.store.insert("users", {
            "name": name, "last_name": last_name, "email": email, "active": active, "is_admin": is_admin,
            "uf_phone_inner": uf_phone_inner, "work_position": work_position, "departments": [1],
            "date_register": iso(self.clock.now()),
        })
        row = self.get_user(uid)
        assert row is not None
        return row

    def set_user_active(self, user_id: int, active: bool) -> None:
        self.store.update("users", {"id": user_id}, {"active": active})

    def get_user(self, user_id: int) -> Row | None:
        return self.store.get("users", int(user_id))

    def is_active_user(self, user_id: int) -> bool:
        """Whether ``user_id`` exists and is active (cached until the users table changes)."""
        key = int(user_id)
        return self._active.get(key, lambda: bool((row := self.get_user(key)) and row["active"]))

    def find_by_inner_phone(self, phone: Any, *, active_only: bool = True) -> Row | None:
        """The user whose UF_PHONE_INNER is ``phone`` (inactive users are invisible, as on the platform)."""
        key = str(phone if phone is not None else "").strip()
        if not (0 < len(key) <= 4 and key.isascii() and key.isdigit() and key[0] != "0"):
            return None  # _inner_key only ever yields "1".."9999": no scan can match anything else
        for row in self.store.find("users"):
            if _inner_key(row["uf_phone_inner"]) == key and (row["active"] or not active_only):
                return row
        return None

    def user_view(self, row: Row) -> dict[str, Any]:
        """The ``user.current`` / ``user.get`` object: scalars as strings, ACTIVE bool, dates ISO."""
        return self.views.view(row)

    def user_view_of(self, user_id: int) -> dict[str, Any] | None:
        """``user_view(get_user(user_id))``, None for an unknown user; cached (userviews.py)."""
        return self.views.view_of(user_id)

    def list_users(
        self, filter_: Mapping[str, Any] | None = None, order: Mapping[str, Any] | None = None,
        start: int = 0,
    ) -> tuple[list[dict[str, Any]], int]:
        """``user.get``: (one page of user objects, total); see ``UserViews.listing``."""
        return self.views.listing(filter_, order, start)

    def is_admin(self, user_id: int) -> bool:
        row = self.get_user(user_id)
        return bool(row and row["is_admin"])

    # -- OAuth tokens (tokens.py) -------------------------------------------------------------------

    def oauth_payload(self, app: App, user_id: int, pair: TokenPair) -> dict[str, Any]:
        """The OAuth token response for this portal (``OAuthTokens.oauth_payload``)."""
        return self.tokens.oauth_payload(app, user_id, pair, self.member_id)
