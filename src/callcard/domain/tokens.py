"""OAuth tokens, as the platform's OAuth server issues them (rest-api.md §8).

Tokens are opaque and belong to one app and one user; a refresh rotates the refresh token and issues a
new pair, while old access tokens live on until their own expiry. ``OAuthTokens`` owns the
``access_tokens`` and ``refresh_tokens`` tables. Every REST call resolves its token, so ``token_grant``
is cached exactly (derived.py) until the token, app or user rows change; expiry is checked against the
clock on every call. ``Directory`` delegates its token methods here.

Uninstalling an app revokes its tokens (``revoke_app``); tokens of an app still marked uninstalled are
refused like unknown ones (``invalid_token``, ``invalid_grant``) even when minted after the uninstall.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..clock import Clock, IdSource
from ..errors import error
from ..settings import Settings
from ..store import Row, Store
from .apps import App, AppRegistry
from .derived import DerivedCache

__all__ = ["OAuthTokens", "TokenGrant", "TokenPair"]


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


class OAuthTokens:
    """Access and refresh tokens over the store; apps and users are looked up through the directory's."""

    def __init__(
        self, store: Store, clock: Clock, ids: IdSource, settings: Settings, apps: AppRegistry,
        get_user: Callable[[int], Row | None],
    ) -> None:
        self.store, self.clock, self.ids, self.settings = store, clock, ids, settings
        self.apps, self.get_user = apps, get_user
        self._grants: DerivedCache[str, TokenGrant | None] = DerivedCache(
            store, ("access_tokens", "apps", "users")
        )

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
        if grant.app is None or grant.user_id is None or grant.app.uninstalled:
            raise error("invalid_token")
        return grant

    def _load_grant(self, token: str) -> TokenGrant | None:
        row = self.store.get("access_tokens", token) if token else None
        if row is None:
            return None
        app, user = self.apps.get_app(row["app_id"]), self.get_user(row["user_id"])
        return TokenGrant(row["expires_at"], app, int(user["id"]) if user else None,
                          bool(user and user["is_admin"]))

    def resolve_access_token(self, token: str) -> tuple[App, Row]:
        """(app, user row) for an access token; ``invalid_token`` if unknown, ``expired_token`` if old."""
        row = self.store.get("access_tokens", token) if token else None
        if row is None:
            raise error("invalid_token")
        if row["expires_at"] <= self.clock.now():
            raise error("expired_token")
        app, user = self.apps.get_app(row["app_id"]), self.get_user(row["user_id"])
        if app is None or user is None or app.uninstalled:
            raise error("invalid_token")
        return app, user

    def refresh(self, client_id: str, client_secret: str, refresh_token: str) -> TokenPair:
        """``/oauth/token/?grant_type=refresh_token``: rotate the refresh token, issue a new pair.

        The old refresh token dies; old access tokens live until their own expiry (rest-api.md §8).
        ``resolve_access_token(pair.access_token)`` gives the app and user for the response body.
        Wrong client → ``invalid_client``; unknown, spent, expired or foreign token, or an uninstalled
        app → ``invalid_grant``.
        """
        app = self.apps.app_by_client_id(client_id)
        if app is None or app.client_secret != client_secret:
            raise error("invalid_client")
        with self.store.transaction():
            row = self.store.get("refresh_tokens", refresh_token) if refresh_token else None
            if row is None or row["app_id"] != app.id or row["expires_at"] <= self.clock.now() or app.uninstalled:
                raise error("invalid_grant")
            self.store.delete("refresh_tokens", {"token": refresh_token})
            return self.issue_tokens(app.id, int(row["user_id"]))

    def oauth_payload(self, app: App, user_id: int, pair: TokenPair, member_id: str) -> dict[str, Any]:
        """The OAuth server's token response (also the outbound events' ``auth`` block, rest-api.md §8);
        ``member_id`` is the portal's."""
        portal = self.portal_auth(app, member_id)
        return {
            "access_token": pair.access_token, "refresh_token": pair.refresh_token,
            "expires_in": pair.expires_in, "expires": pair.expires, "scope": ",".join(app.scopes),
            "domain": portal["domain"], "server_endpoint": portal["server_endpoint"],
            "client_endpoint": portal["client_endpoint"], "member_id": member_id, "user_id": user_id,
            "status": app.status, "application_token": app.application_token,
        }

    def portal_auth(self, app: App, member_id: str) -> dict[str, str]:
        """The token-free ``auth`` block, in the platform's order: ``domain``, ``server_endpoint``,
        ``client_endpoint``, ``member_id``, ``application_token``. ONAPPUNINSTALL carries only this: the
        uninstalled app can no longer call REST, so it gets no tokens (its application_token lets it
        check the sender)."""
        base = self.settings.public_url
        return {
            "domain": self.settings.domain, "server_endpoint": f"{base}/oauth/",
            "client_endpoint": f"{base}/rest/", "member_id": member_id,
            "application_token": app.application_token,
        }

    def revoke_app(self, app_id: int) -> int:
        """Delete every access and refresh token of an app (uninstall); return how many. Its access
        tokens then answer ``invalid_token``, its refresh tokens ``invalid_grant``."""
        with self.store.transaction():
            access = self.store.delete("access_tokens", {"app_id": app_id})
            return access + self.store.delete("refresh_tokens", {"app_id": app_id})

    def expire_tokens(self, app_id: int | None = None, user_id: int | None = None) -> int:
        """Test hook: make matching access tokens expired now; return how many (refresh tokens stay)."""
        where: dict[str, Any] = {}
        if app_id is not None:
            where["app_id"] = app_id
        if user_id is not None:
            where["user_id"] = user_id
        return self.store.update("access_tokens", where, {"expires_at": self.clock.now() - 1})
