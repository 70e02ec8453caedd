"""One method call, from name to envelope: the pipeline shared by ``/rest`` requests and batch sub-calls.

Order, as the platform's ``CRestServer::process``: method lookup (``ERROR_METHOD_NOT_FOUND``) →
authentication → scope → application context → administrator → operating-time limit → parameter
validation → handler → envelope. Every failure becomes an error envelope with its status; an unexpected
exception is logged and becomes ``INTERNAL_SERVER_ERROR`` (500).
"""

from __future__ import annotations

import inspect
import logging
from dataclasses import dataclass
from typing import Any

from ..clock import Clock
from ..errors import BitrixError, error
from ..settings import Settings
from .auth import AuthResolver, Caller, authenticate, check_access
from .envelope import page, success_body, time_block
from .limits import Limits
from .registry import CallContext, Method, Registry
from .types import parse_params

__all__ = ["Dispatcher", "Outcome"]

log = logging.getLogger("callcard.rest")

#: result types a sync handler returns that cannot be awaitables (inspect.isawaitable is not free)
_PLAIN_RESULTS = frozenset({dict, list, str, int, float, bool, type(None)})


@dataclass(frozen=True)
class Outcome:
    """The result of one call: HTTP status, JSON body, and who called what (None when unknown)."""

    status: int
    body: dict[str, Any]
    caller: Caller | None = None
    method: Method | None = None

    @property
    def ok(self) -> bool:
        return "error" not in self.body


def _failure(exc: BitrixError, caller: Caller | None = None, method: Method | None = None) -> Outcome:
    return Outcome(exc.status, exc.envelope(), caller, method)


class Dispatcher:
    """Runs registered methods for callers; holds what every call needs."""

    def __init__(
        self,
        registry: Registry,
        resolver: AuthResolver,
        services: Any,
        settings: Settings,
        clock: Clock,
        limits: Limits,
    ) -> None:
        self.registry = registry
        self.resolver = resolver
        self.services = services
        self.settings = settings
        self.clock = clock
        self.limits = limits

    def lookup(self, name: str) -> Method:
        """The method called ``name`` (any case), or ``ERROR_METHOD_NOT_FOUND``."""
        method = self.registry.get(name)
        if method is None or not method.available(self.settings):
            raise error("ERROR_METHOD_NOT_FOUND")
        return method

    async def run(
        self,
        name: str,
        params: dict[str, Any],
        *,
        token: str | None,
        webhook: tuple[int, str] | None,
        request_ip: str,
        started: float | None = None,
        method: Method | None = None,
    ) -> Outcome:
        """Look up ``name`` (unless ``method``, its lookup, is given), authenticate the request's
        credentials, and invoke."""
        try:
            if method is None:
                method = self.lookup(name)
            caller = authenticate(self.resolver, token, webhook)
        except BitrixError as exc:
            return _failure(exc, None, method)
        return await self.invoke(method, caller, params, request_ip=request_ip, started=started)

    async def invoke(
        self,
        method: Method,
        caller: Caller,
        params: dict[str, Any],
        *,
        request_ip: str,
        in_batch: bool = False,
        started: float | None = None,
    ) -> Outcome:
        """Check access and limits, validate ``params``, run the handler and build the envelope."""
        start = self.clock.now() if started is None else started
        owner = caller.owner_key
        key = method.key  # a property: computed once here, used three times
        processing = 0.0
        try:
            check_access(method, caller, enforce_scopes=self.settings.enforce_scopes)
            if method.operating:
                self.limits.check_method(key, owner)
            ctx = CallContext(
                caller=caller,
                services=self.services,
                request_ip=request_ip,
                settings=self.settings,
                clock=self.clock,
                method=method.name,
                start=page(params.get("start")),
                raw=params,
                in_batch=in_batch,
                dispatcher=self,
            )
            args: Any = parse_params(method.params, params) if method.params is not None else params
            began = self.clock.now()
            try:
                result = method.handler(ctx, args)
                if type(result) not in _PLAIN_RESULTS and inspect.isawaitable(result):
                    result = await result
            except BaseException:
                if method.operating:  # a failing call used its time too
                    self.limits.record(key, owner, max(0.0, self.clock.now() - began))
                raise
        except BitrixError as exc:
            return _failure(exc, caller, method)
        except Exception:
            log.exception("REST method %s failed", method.name)
            return _failure(error("INTERNAL_SERVER_ERROR"), caller, method)
        processing = max(0.0, self.clock.now() - began)
        if method.operating:
            operating, reset_at = self.limits.account(key, owner, processing)
        else:
            operating, reset_at = self.limits.report(key, owner)
        time = time_block(start, self.clock.now(), processing, operating, reset_at)
        return Outcome(200, success_body(result, time), caller, method)
