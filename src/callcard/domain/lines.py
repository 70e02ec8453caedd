"""External lines: the numbers an app's PBX calls through (``telephony.externalLine.*``, rest-api.md §9.6).

Lines belong to the app that created them, as on the platform (looked up by NUMBER + app). Register
creates a missing line on the fly, so a LINE_NUMBER never has to be added first.
"""

from __future__ import annotations

from typing import Any

from ..errors import error
from ..store import Row, Store

__all__ = ["ExternalLines", "crm_auto_create_flag"]


def crm_auto_create_flag(value: Any, default: str = "Y") -> str:
    """The platform stores ``'Y'`` only for exactly ``'Y'`` (booleans from coerced params map too)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return "Y" if value else "N"
    return "Y" if str(value) == "Y" else "N"


class ExternalLines:
    """The ``external_lines`` table, per app."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def find(self, app_id: int | None, number: str) -> Row | None:
        return self.store.find_one("external_lines", {"app_id": app_id, "number": number.strip()})

    def ensure(self, app_id: int | None, number: str) -> Row:
        """The app's line with this number, created (name empty, CRM_AUTO_CREATE Y) if missing."""
        row = self.find(app_id, number)
        if row is None:
            self.store.insert("external_lines", {"app_id": app_id, "number": number.strip()})
            row = self.find(app_id, number)
        assert row is not None
        return row

    def add(self, app_id: int | None, number: Any, name: Any = None,
            crm_auto_create: Any = None) -> dict[str, Any]:
        """``externalLine.add`` → ``{"ID": int}``."""
        num = str(number or "").strip()
        if not num:
            raise error("ERROR_CORE", "NUMBER should not be empty")
        with self.store.transaction():
            if self.find(app_id, num) is not None:
                raise error("ERROR_CORE", "Line already exists")
            line_id = self.store.insert("external_lines", {
                "app_id": app_id, "number": num, "name": str(name or ""),
                "crm_auto_create": crm_auto_create_flag(crm_auto_create),
            })
        return {"ID": line_id}

    def update(self, app_id: int | None, number: Any, name: Any = None, crm_auto_create: Any = None,
               ) -> dict[str, Any]:
        """``externalLine.update`` → ``{"ID": "<id>"}`` (a string, as the platform's update result)."""
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = str(name)
        if crm_auto_create is not None:
            changes["crm_auto_create"] = crm_auto_create_flag(crm_auto_create)
        if not changes:
            raise error("ERROR_CORE", "There are no fields to update")
        row = self._existing(app_id, number)
        self.store.update("external_lines", {"id": row["id"]}, changes)
        return {"ID": str(row["id"])}

    def get(self, app_id: int | None) -> list[dict[str, Any]]:
        """``externalLine.get`` → ``[{NUMBER, NAME, CRM_AUTO_CREATE}]`` for the calling app."""
        return [{"NUMBER": r["number"], "NAME": r["name"], "CRM_AUTO_CREATE": r["crm_auto_create"]}
                for r in self.store.find("external_lines", {"app_id": app_id})]

    def delete(self, app_id: int | None, number: Any) -> list[Any]:
        """``externalLine.delete`` → ``[]`` (the platform's empty result)."""
        row = self._existing(app_id, number)
        self.store.delete("external_lines", {"id": row["id"]})
        return []

    def remove_app(self, app_id: int) -> int:
        """Delete every line of an app (uninstall: the platform drops them too); return how many."""
        return self.store.delete("external_lines", {"app_id": app_id})

    def _existing(self, app_id: int | None, number: Any) -> Row:
        num = str(number or "").strip()
        if not num:
            raise error("ERROR_CORE", "NUMBER should not be empty")
        row = self.find(app_id, num)
        if row is None:
            raise error("ERROR_CORE", f"Could not find line with number {num}")
        return row
