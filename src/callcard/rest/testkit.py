"""Helpers for testing REST methods through the real transport, without the directory.

::

    resolver = FakeResolver()
    resolver.add_token("tok", Caller(kind="app", user_id=1, app_id=7, scopes=frozenset({"telephony"})))
    client = TestClient(rest_app(registry, resolver, settings=Settings.for_tests(tmp_path)))
    client.post("/rest/telephony.externalLine.get", json={"auth": "tok"})
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette

from ..clock import Clock, FakeClock
from ..errors import error
from ..settings import Settings
from .auth import Caller
from .endpoint import CallRecord, rest_routes
from .limits import Limits
from .registry import Registry

__all__ = ["FakeResolver", "rest_app"]


class FakeResolver:
    """An ``AuthResolver`` over two dicts; unknown credentials raise the platform's errors."""

    def __init__(self) -> None:
        self.tokens: dict[str, Caller] = {}
        self.expired: set[str] = set()
        self.webhooks: dict[tuple[int, str], Caller] = {}

    def add_token(self, token: str, caller: Caller) -> None:
        self.tokens[token] = caller

    def add_webhook(self, user_id: int, code: str, caller: Caller) -> None:
        self.webhooks[(user_id, code)] = caller

    def from_token(self, token: str) -> Caller:
        if token in self.expired:
            raise error("expired_token")
        caller = self.tokens.get(token)
        if caller is None:
            raise error("invalid_token")
        return caller

    def from_webhook(self, user_id: int, code: str) -> Caller:
        caller = self.webhooks.get((user_id, code))
        if caller is None:
            raise error("INVALID_CREDENTIALS")
        return caller


def rest_app(
    registry: Registry,
    resolver: Any,
    *,
    settings: Settings | None = None,
    clock: Clock | None = None,
    services: Any = None,
    on_call: Callable[[CallRecord], Any] | None = None,
    limits: Limits | None = None,
) -> Starlette:
    """A Starlette app serving only ``/rest`` (FakeClock and default test settings when not given)."""
    the_clock = clock if clock is not None else FakeClock()
    the_settings = settings if settings is not None else Settings.for_tests(data_dir=Path(".callcard-test"))
    return Starlette(
        routes=rest_routes(registry, resolver, services, the_settings, the_clock, on_call, limits=limits)
    )
