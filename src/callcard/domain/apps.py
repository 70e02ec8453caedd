"""Installed apps: their credentials, install state, options and ``app.info`` (rest-api.md §9.9).

``AppRegistry`` owns the ``apps`` and ``user_options`` tables. Apps render as ``app.info`` returns them;
a fresh app gets platform-shaped credentials (client_id ``local.<14 hex>.<8 digits>``). Every REST call
reads its app, so decoded apps are cached exactly (derived.py): ``get_app`` never serves a stale row.
``Directory`` delegates its app methods here.

``AppUninstaller`` uninstalls an app (rest-api.md §9.7, §9.13): ONAPPUNINSTALL to the handlers it bound,
then its placements, event.bind handlers, placement.bindEvent bindings and OAuth tokens go, in one
transaction. The row stays (ids stay unique), marked uninstalled: the tokens of an uninstalled app are
refused (tokens.py), whoever minted them, until an install finishes again (``mark_installed``), which
starts it from nothing. ``callcard app create`` is the way to a fresh app with new credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final, Protocol

from ..clock import Clock, IdSource
from ..errors import error
from ..settings import Settings
from ..store import Row, Store
from .derived import DerivedCache
from .events import REST_EVENTS, Event

__all__ = ["APP_UNINSTALL", "App", "AppRegistry", "AppUninstaller", "Uninstall", "scope_list"]

#: The REST event an app's handlers hear when it is uninstalled.
APP_UNINSTALL: Final = "ONAPPUNINSTALL"
assert APP_UNINSTALL in REST_EVENTS


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
    #: uninstalled (``AppUninstaller``) and not installed again since: its tokens are refused
    uninstalled: bool = False

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
        uninstalled=row.get("uninstalled_at") is not None,
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
        """Finish (or undo) installation: ``setInstallFinish`` / the admin page. Finishing the install of
        an uninstalled app installs it again (its tokens work again; it had lost everything else)."""
        changes: dict[str, Any] = {"installed": installed}
        if installed:
            changes["uninstalled_at"] = None
        if not self.store.update("apps", {"id": app_id}, changes):
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


class _AppRegistrations(Protocol):
    """A registry of app-owned rows (placements, card handlers) that can drop all rows of one app."""

    def remove_app(self, app_id: int) -> int: ...


class _AppEventHandlers(_AppRegistrations, Protocol):
    """``handlers.EventHandlers`` as the uninstaller uses it."""

    def handlers_for(self, event_name: str, app_id: int | None = None) -> list[Row]: ...


class _AppTokens(Protocol):
    """``tokens.OAuthTokens`` as the uninstaller uses it."""

    def revoke_app(self, app_id: int) -> int: ...


@dataclass(frozen=True)
class Uninstall:
    """What ``AppUninstaller.uninstall`` did."""

    app: App  # as it is now: not installed, uninstalled
    clean: bool
    #: the ONAPPUNINSTALL deliveries, one per handler the app had bound (none when it was not installed)
    events: tuple[Event, ...]
    #: rows removed: ``placements``, ``event_handlers``, ``card_handlers``, ``tokens`` (access + refresh)
    removed: dict[str, int]


class AppUninstaller:
    """Uninstalls apps: ONAPPUNINSTALL for their handlers, then everything they registered goes."""

    def __init__(
        self, store: Store, clock: Clock, settings: Settings, apps: AppRegistry, *,
        placements: _AppRegistrations, event_handlers: _AppEventHandlers,
        card_handlers: _AppRegistrations, lines: _AppRegistrations, tokens: _AppTokens,
    ) -> None:
        self.store, self.clock, self.settings, self.apps = store, clock, settings, apps
        self.placements, self.event_handlers = placements, event_handlers
        self.card_handlers, self.lines, self.tokens = card_handlers, lines, tokens

    def uninstall(
        self, app_id: int, clean: bool, accept: Callable[[list[Event]], object] | None = None
    ) -> Uninstall:
        """Uninstall app ``app_id``; ``clean`` is the admin's "clean the app's data" flag (``data[CLEAN]``).

        In one transaction: the ONAPPUNINSTALL events are built, one per online handler the app bound
        for it (only for an installed app: no REST event reaches an app whose install has not finished,
        rest-api.md §9.8), and handed to ``accept`` (the surface queues them in the outbox there, so that
        they are accepted for delivery before their handler rows go, and both or neither happen); then
        the app's placements, event.bind handlers, placement.bindEvent bindings, external lines (as the
        platform's voximplant module drops them) and its access and refresh tokens are deleted, and it is
        marked not installed and uninstalled. Each event is addressed to its handler row (``extra``:
        ``handler_id``, ``url``, ``data`` = ``{LANGUAGE_ID, CLEAN: 1|0}``): the row is gone by the time
        the outbox sends it.

        Uninstalling again removes nothing and sends nothing. Unknown app: ``ERROR_NOT_FOUND``.
        """
        with self.store.transaction():
            app = self.apps.get_app(app_id)
            if app is None:
                raise error("ERROR_NOT_FOUND", f"App {app_id} not found")
            events = self._farewells(app, clean) if app.installed else []
            if accept is not None:
                accept(list(events))
            removed = {
                "placements": self.placements.remove_app(app.id),
                "event_handlers": self.event_handlers.remove_app(app.id),
                "card_handlers": self.card_handlers.remove_app(app.id),
                "lines": self.lines.remove_app(app.id),
                "tokens": self.tokens.revoke_app(app.id),
            }
            if not app.uninstalled:  # a second uninstall keeps the first one's time
                self.store.update("apps", {"id": app.id}, {"installed": False, "uninstalled_at": self.clock.now()})
            after = self.apps.get_app(app.id)
            assert after is not None
        return Uninstall(after, clean, tuple(events), removed)

    def _farewells(self, app: App, clean: bool) -> list[Event]:
        data = {"LANGUAGE_ID": self.settings.lang, "CLEAN": 1 if clean else 0}
        return [
            Event(
                APP_UNINSTALL, app_id=app.id,
                extra={"handler_id": int(row["id"]), "url": str(row["handler"]), "data": dict(data)},
            )
            for row in self.event_handlers.handlers_for(APP_UNINSTALL, app.id)
        ]
