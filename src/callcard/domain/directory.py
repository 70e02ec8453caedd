"""The local portal: its users, installed apps, OAuth tokens, webhooks and browser sessions.

Everything an app or SDK authenticates against lives here. Users render exactly as ``user.current`` /
``user.get`` return them (rest-api.md §9.10), apps as ``app.info`` (§9.9), tokens behave as the
platform's OAuth server does (§8: opaque, per app+user, refresh rotates, old access tokens live on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..clock import Clock, IdSource
from ..errors import BitrixError, CallcardError, error
from ..settings import Settings
from ..store import Row, Store
from .dates import iso, whole_second
from .derived import DerivedCache
from .userviews import UserViews

__all__ = ["App", "Directory", "SessionError", "TokenGrant", "TokenPair", "Webhook", "iso", "whole_second"]

#: user 1 is the portal admin; the operators carry inner extensions for USER_PHONE_INNER lookups.
_SEED_USERS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("Alice", "Admin", "admin@callcard.local", "101", True),
    ("Oscar", "Operator", "oscar@callcard.local", "102", False),
    ("Paula", "Operator", "paula@callcard.local", "103", False),
    ("Quinn", "Operator", "quinn@callcard.local", "104", False),
)


class SessionError(CallcardError):
    """A login link that is unknown, already used or expired (control/host surfaces answer 403)."""


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


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    expires: int  # unix time the access token stops working


@dataclass(frozen=True)
class TokenGrant:
    """What an access token row says: when it expires, and its app and user (None when gone)."""

    expires_at: float
    app: App | None
    user_id: int | None
    is_admin: bool


@dataclass(frozen=True)
class Webhook:
    id: int
    user_id: int
    code: str
    scopes: tuple[str, ...]


def _app(row: Row) -> App:
    return App(
        id=int(row["id"]), code=row["code"], name=row["name"], client_id=row["client_id"],
        client_secret=row["client_secret"], application_token=row["application_token"],
        scopes=tuple(row["scopes"] or ()), status=row["status"], installed=bool(row["installed"]),
        handler=row["handler"], version=int(row.get("version") or 1),
    )


def _scopes(scopes: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for scope in scopes:
        s = str(scope).strip().lower()
        if s and s not in seen:
            seen.append(s)
    return seen


def _inner_key(stored: Any) -> str:
    # The platform indexes UF_PHONE_INNER as the integer of its digits, and only from 1 to 9999
    # ("ext. 0101" is found as "101"); the number looked up is compared as given.
    digits = "".join(ch for ch in str(stored or "") if ch.isdigit())
    return str(int(digits)) if digits and 0 < int(digits) < 10000 else ""


class Directory:
    """Portal, users, apps, tokens, webhooks and sessions over the store."""

    def __init__(self, store: Store, clock: Clock, ids: IdSource, settings: Settings) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings
        # Every REST call resolves its token and reads its app: both are cached, exactly (derived.py).
        self._apps: DerivedCache[int, App | None] = DerivedCache(store, ("apps",))
        self._grants: DerivedCache[str, TokenGrant | None] = DerivedCache(
            store, ("access_tokens", "apps", "users")
        )
        self._active: DerivedCache[int, bool] = DerivedCache(store, ("users",))
        self.views = UserViews(store, clock)

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

    # -- apps ---------------------------------------------------------------------------------------

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
            "scopes": _scopes(scopes), "status": status or self.settings.app_status, "installed": False,
            "first_run": True, "handler": handler, "app_options": {}, "version": version,
            "created_at": self.clock.now(),
        })
        app = self.get_app(app_id)
        assert app is not None
        return app

    def get_app(self, app_id: int) -> App | None:
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

    # -- OAuth tokens -------------------------------------------------------------------------------

    def issue_tokens(self, app_id: int, user_id: int) -> TokenPair:
        """A fresh access + refresh token pair for (app, user), TTLs from settings."""
        now = self.clock.now()
        access, refresh = self.ids.hex(16), self.ids.hex(16)
        expires = now + self.settings.access_token_ttl_s
        with self.store.transaction():
            self.store.insert("access_tokens", {"token": access, "app_id": app_id, "user_id": user_id,
                                                "expires_at": expires, "created_at": now})
            self.store.insert("refresh_tokens", {"token": refresh, "app_id": app_id, "user_id": user_id,
                                                 "expires_at": now + self.settings.refresh_token_ttl_s,
                                                 "created_at": now})
        return TokenPair(access, refresh, int(self.settings.access_token_ttl_s), int(expires))

    def token_grant(self, token: str) -> TokenGrant:
        """What ``resolve_access_token`` checks, without the user row: the same errors in the same order,
        and a grant whose ``app`` and ``user_id`` are set. Cached until the token, app or user rows change
        (expiry is checked against the clock on every call)."""
        grant = self._grants.get(token, lambda: self._load_grant(token))
        if grant is None:
            raise error("invalid_token")
        if grant.expires_at <= self.clock.now():
            raise error("expired_token")
        if grant.app is None or grant.user_id is None:
            raise error("invalid_token")
        return grant

    def _load_grant(self, token: str) -> TokenGrant | None:
        row = self.store.get("access_tokens", token) if token else None
        if row is None:
            return None
        app, user = self.get_app(row["app_id"]), self.get_user(row["user_id"])
        return TokenGrant(row["expires_at"], app, int(user["id"]) if user else None,
                          bool(user and user["is_admin"]))

    def resolve_access_token(self, token: str) -> tuple[App, Row]:
        """(app, user row) for an access token; ``invalid_token`` if unknown, ``expired_token`` if old."""
        row = self.store.get("access_tokens", token) if token else None
        if row is None:
            raise error("invalid_token")
        if row["expires_at"] <= self.clock.now():
            raise error("expired_token")
        app, user = self.get_app(row["app_id"]), self.get_user(row["user_id"])
        if app is None or user is None:
            raise error("invalid_token")
        return app, user

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> TokenPair:
        """``/oauth/token/?grant_type=refresh_token``: rotate the refresh token, issue a new pair.

        The old refresh token dies; old access tokens live until their own expiry (rest-api.md §8).
        ``resolve_access_token(pair.access_token)`` gives the app and user for the response body.
        Wrong client → ``invalid_client``; unknown, spent, expired or foreign token → ``invalid_grant``.
        """
        app = self.app_by_client_id(client_id)
        if app is None or app.client_secret != client_secret:
            raise error("invalid_client")
        with self.store.transaction():
            row = self.store.get("refresh_tokens", refresh_token) if refresh_token else None
            if row is None or row["app_id"] != app.id or row["expires_at"] <= self.clock.now():
                raise error("invalid_grant")
            self.store.delete("refresh_tokens", {"token": refresh_token})
            return self.issue_tokens(app.id, int(row["user_id"]))

    def oauth_payload(self, app: App, user_id: int, pair: TokenPair) -> dict[str, Any]:
        """The OAuth server's token response (also the outbound events' ``auth`` block, rest-api.md §8)."""
        base = self.settings.public_url
        return {
            "access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in, "expires": pair.expires, "scope": ",".join(app.scopes),
            "domain": self.settings.domain, "server_endpoint": f"{base}/oauth/",
            "client_endpoint": f"{base}/rest/", "member_id": self.member_id, "user_id": user_id,
            "status": app.status, "application_token": app.application_token,
        }

    def expire_tokens(self, app_id: int | None = None, user_id: int | None = None) -> int:
        """Test hook: make matching access tokens expired now; return how many (refresh tokens stay)."""
        where: dict[str, Any] = {}
        if app_id is not None:
            where["app_id"] = app_id
        if user_id is not None:
            where["user_id"] = user_id
        return self.store.update("access_tokens", where, {"expires_at": self.clock.now() - 1})

    # -- webhooks -----------------------------------------------------------------------------------

    def create_webhook(self, user_id: int, scopes: Iterable[str]) -> Webhook:
        """An inbound webhook ``/rest/{user_id}/{code}/`` for a user with the given scopes."""
        if self.get_user(user_id) is None:
            raise error("ERROR_NOT_FOUND", f"User {user_id} not found")
        code = self.ids.hex(8)
        wid = self.store.insert("webhooks", {"user_id": user_id, "code": code, "scopes": _scopes(scopes),
                                             "created_at": self.clock.now()})
        return Webhook(wid, user_id, code, tuple(_scopes(scopes)))

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

    # -- browser sessions ---------------------------------------------------------------------------

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
