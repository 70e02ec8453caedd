"""Inbound webhooks: ``/rest/{user_id}/{code}/`` URLs that call the REST API as a user.

A webhook belongs to one user and carries its own scopes. Resolving a URL fails alike for an unknown
code, another user's code and an inactive user: ``INVALID_CREDENTIALS`` with the status the settings
give. ``Webhooks`` owns the ``webhooks`` table; ``Directory`` delegates its webhook methods here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..clock import Clock, IdSource
from ..errors import BitrixError, error
from ..settings import Settings
from ..store import Row, Store
from .apps import scope_list

__all__ = ["Webhook", "Webhooks"]


@dataclass(frozen=True)
class Webhook:
    id: int
    user_id: int
    code: str
    scopes: tuple[str, ...]


class Webhooks:
    """Webhooks over the store; users are looked up through the directory's ``get_user``."""

    def __init__(
        self, store: Store, clock: Clock, ids: IdSource, settings: Settings,
        get_user: Callable[[int], Row | None],
    ) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings
        self.get_user = get_user

    def create_webhook(self, user_id: int, scopes: Iterable[str]) -> Webhook:
        """An inbound webhook ``/rest/{user_id}/{code}/`` for a user with the given scopes."""
        if self.get_user(user_id) is None:
            raise error("ERROR_NOT_FOUND", f"User {user_id} not found")
        code = self.ids.hex(8)
        wid = self.store.insert("webhooks", {"user_id": user_id, "code": code, "scopes": scope_list(scopes),
                                             "created_at": self.clock.now()})
        return Webhook(wid, user_id, code, tuple(scope_list(scopes)))

    def resolve_webhook(self, user_id: int, code: str) -> Webhook:
        """The webhook for a URL; unknown code or another user's code → INVALID_CREDENTIALS."""
        row = self.store.find_one("webhooks", {"code": code}) if code else None
        user = self.get_user(user_id) if row else None
        if row is None or int(row["user_id"]) != int(user_id) or user is None or not user["active"]:
            raise self._invalid_credentials()
        return Webhook(int(row["id"]), int(row["user_id"]), row["code"], tuple(row["scopes"] or ()))

    def list_webhooks(self) -> list[Webhook]:
        return [Webhook(int(r["id"]), int(r["user_id"]), r["code"], tuple(r["scopes"] or ()))
                for r in self.store.find("webhooks")]

    def _invalid_credentials(self) -> BitrixError:
        return error("INVALID_CREDENTIALS", status=self.settings.invalid_credentials_status)
