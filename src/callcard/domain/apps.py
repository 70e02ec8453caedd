"""Installed apps: their credentials, install state, options and ``app.info`` (rest-api.md §9.9).

``AppRegistry`` owns the ``apps`` and ``user_options`` tables. Apps render as ``app.info`` returns them;
a fresh app gets platform-shaped credentials (client_id ``local.<14 hex>.<8 digits>``). Every REST call
reads its app, so decoded apps are cached exactly (derived.py): ``get_app`` never serves a stale row.
``Directory`` delegates its app methods here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..clock import Clock, IdSource
from ..errors import error
from ..settings import Settings
from ..store import Row, Store
from .derived import DerivedCache

__all__ = ["App", "AppRegistry", "scope_list"]


@dataclass(frozen=True)
class App:
    """One installed (or installing) app, as the ``apps`` table holds it."""

    id: int
    code: str
    name: str
    client_id: str
    client_secret: str
    application_token: str
    scopes: tuple[str, ...]
    status: str
    installed: bool
    handler: str
    version: int

    def as_row(self) -> dict[str, Any]:
        """The row-dict form other services take (``scopes`` as a list)."""
        row = asdict(self)
        row["scopes"] = list(self.scopes)
        return row


def _app(row: Row) -> App:
    return App(
        id=int(row["id"]), code=row["code"], name=row["name"], client_id=row["client_id"],
        client_secret=row["client_secret"], application_token=row["application_token"],
        scopes=tuple(row["scopes"] or ()), status=row["status"], installed=bool(row["installed"]),
        handler=row["handler"], version=int(row.get("version") or 1),
    )


def scope_list(scopes: Iterable[str]) -> list[str]:
    """Scopes as stored for apps and webhooks: trimmed, lower case, empty ones and repeats dropped."""
    seen: list[str] = []
    for scope in scopes:
        s = str(scope).strip().lower()
        if s and s not in seen:
            seen.append(s)
    return seen


class AppRegistry:
    """Apps and their options over the store."""

    def __init__(self, store: Store, clock: Clock, ids: IdSource, settings: Settings) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings
        self._apps: DerivedCache[int, App | None] = DerivedCache(store, ("apps",))

    def create_app(
        self, name: str, scopes: Iterable[str], handler: str = "", *, code: str | None = None,
        status: str | None = None, version: int = 1,
    ) -> App:
        """Register a local app with fresh credentials (client_id ``local.<14 hex>.<8 digits>``)."""
        digits = f"{int(self.ids.hex(4), 16) % 100_000_000:08d}"
        client_id = f"local.{self.ids.hex(7)}.{digits}"
        app_id = self.store.insert("apps", {
            "code": code or client_id, "name": name, "client_id": client_id,
            "client_secret": self.ids.hex(25), "application_token": self.ids.hex(16),
            "scopes": scope_list(scopes), "status": status or self.settings.app_status, "installed": False,
            "first_run": True, "handler": handler, "app_options": {}, "version": version,
            "created_at": self.clock.now(),
        })
        app = self.get_app(app_id)
        assert app is not None
        return app

    def get_app(self, app_id: int) -> App | None:
        """The app with id ``app_id``, or None (cached until the apps table changes)."""
        key = int(app_id)
        return self._apps.get(key, lambda: self._load_app(key))

    def _load_app(self, app_id: int) -> App | None:
        row = self.store.get("apps", app_id)
        return _app(row) if row else None

    def app_by_client_id(self, client_id: str) -> App | None:
        row = self.store.find_one("apps", {"client_id": client_id})
        return _app(row) if row else None

    def list_apps(self) -> list[App]:
        return [_app(r) for r in self.store.find("apps")]

    def mark_installed(self, app_id: int, installed: bool = True) -> App:
        """Finish (or undo) installation: ``setInstallFinish`` / the admin page."""
        if not self.store.update("apps", {"id": app_id}, {"installed": installed}):
            raise error("ERROR_NOT_FOUND", f"App {app_id} not found")
        app = self.get_app(app_id)
        assert app is not None
        return app

    def take_first_run(self, app_id: int) -> bool:
        """FIRST_RUN for getInitData: true only the very first time it is asked (wire-protocol.md §7.1)."""
        with self.store.transaction():
            row = self.store.get("apps", app_id)
            if row is None or not row["first_run"]:
                return False
            self.store.update("apps", {"id": app_id}, {"first_run": False})
            return True

    def app_options(self, app_id: int) -> dict[str, Any]:
        row = self.store.get("apps", app_id)
        return dict(row["app_options"] or {}) if row else {}

    def set_app_options(self, app_id: int, options: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``options`` into the app's options (setAppOption); return the result."""
        merged = {**self.app_options(app_id), **dict(options)}
        self.store.update("apps", {"id": app_id}, {"app_options": merged})
        return merged

    def user_options(self, app_id: int, user_id: int) -> dict[str, Any]:
        row = self.store.find_one("user_options", {"app_id": app_id, "user_id": user_id})
        return dict(row["options"] or {}) if row else {}

    def set_user_options(self, app_id: int, user_id: int, options: Mapping[str, Any]) -> dict[str, Any]:
        merged = {**self.user_options(app_id, user_id), **dict(options)}
        self.store.upsert("user_options", {"app_id": app_id, "user_id": user_id, "options": merged})
        return merged

    def app_info(self, app: App | None) -> dict[str, Any]:
        """``app.info`` for ``app``; ``None`` (a webhook caller) gets the pseudo-app of README §9.9."""
        lang = self.settings.lang
        if app is None:
            ident: dict[str, Any] = {"ID": 0, "CODE": "webhook", "VERSION": 1, "STATUS": "L",
                                     "INSTALLED": True}
        else:
            ident = {"ID": app.id, "CODE": app.code, "VERSION": app.version, "STATUS": app.status,
                     "INSTALLED": app.installed}
        return {**ident, "PAYMENT_EXPIRED": "N", "DAYS": None, "LANGUAGE_ID": lang,
                "LICENSE": f"{lang}_selfhosted", "LICENSE_TYPE": "selfhosted", "LICENSE_FAMILY": "selfhosted"}
