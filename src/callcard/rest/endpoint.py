"""The ``/rest`` HTTP surface (rest-api.md §1, §6, §7): URL forms, CORS, limits, envelopes, the call hook.

URL forms (GET or POST; other verbs are treated like POST):

* ``/rest/{method}`` and ``/rest/{method}.json`` — OAuth, ``auth`` in the query or body;
* ``/rest/{user_id}/{code}/{method}[.json]`` — inbound webhook;
* trailing slashes and ``//`` are tolerated; ``.xml``, ``/rest/api/...`` (REST v3) and unknown methods
  answer ``ERROR_METHOD_NOT_FOUND`` (404).

One catch-all route serves the whole ``/rest`` tree, so Starlette never answers a near-miss with a slash
redirect (b24pysdk takes a 302 for a portal domain change). Every response, errors and preflights
included, carries CORS headers, and every body is JSON: an unexpected exception becomes a logged
``INTERNAL_SERVER_ERROR`` (500).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..clock import Clock
from ..errors import BitrixError, error
from ..settings import Settings
from .auth import AuthResolver
from .batch import register_batch
from .dispatch import Dispatcher, Outcome
from .envelope import json_response
from .limits import Limits
from .params import read_request_params
from .registry import Registry

__all__ = ["CallRecord", "RestEndpoint", "parse_rest_path", "rest_routes"]

log = logging.getLogger("callcard.rest")

#: ``on_call`` receives a dict with: method, params, caller, status, response, duration_ms,
#: plus http_method, path, ip and started_at.
CallRecord = dict[str, Any]

_VERBS = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
_ALLOW_METHODS = "GET, POST, OPTIONS"
_PREFLIGHT_MAX_AGE = "600"


def parse_rest_path(rest_path: str) -> tuple[str, tuple[int, str] | None]:
    """``(method, (user_id, code) or None)`` from the path below ``/rest/``; 404 for anything else."""
    segments = [s for s in rest_path.split("/") if s]
    if not segments or segments[0].lower() == "api":
        raise error("ERROR_METHOD_NOT_FOUND")
    webhook: tuple[int, str] | None = None
    if len(segments) == 1:
        method = segments[0]
    elif len(segments) == 3 and segments[0].isdigit():
        webhook = (int(segments[0]), segments[1])
        method = segments[2]
    else:
        raise error("ERROR_METHOD_NOT_FOUND")
    lowered = method.lower()
    if lowered.endswith(".xml"):
        raise error("ERROR_METHOD_NOT_FOUND")
    if lowered.endswith(".json"):
        method = method[: -len(".json")]
    if not method:
        raise error("ERROR_METHOD_NOT_FOUND")
    return method, webhook


def _cors(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin:
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {"Access-Control-Allow-Origin": "*"}


def _preflight(request: Request) -> Response:
    requested = request.headers.get("access-control-request-headers", "")
    names = [h.strip() for h in requested.split(",") if h.strip()]
    if "content-type" not in {n.lower() for n in names}:
        names.append("Content-Type")
    headers = _cors(request)
    headers.update(
        {
            "Access-Control-Allow-Methods": _ALLOW_METHODS,
            "Access-Control-Allow-Headers": ", ".join(names),
            "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE,
        }
    )
    if request.headers.get("access-control-request-private-network", "").lower() == "true":
        headers["Access-Control-Allow-Private-Network"] = "true"
    return Response(status_code=204, headers=headers)


class RestEndpoint:
    """The request handler behind the ``/rest`` routes."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        limits: Limits,
        settings: Settings,
        clock: Clock,
        on_call: Callable[[CallRecord], Any] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.limits = limits
        self.settings = settings
        self.clock = clock
        self.on_call = on_call

    async def handle(self, request: Request) -> Response:
        if request.method == "OPTIONS":
            return _preflight(request)
        started = self.clock.now()
        ip = request.client.host if request.client else "unknown"
        name = ""
        params: dict[str, Any] = {}
        try:
            try:
                self.limits.admit_request(self.settings.domain, ip)
                name, webhook = parse_rest_path(request.path_params.get("rest_path", ""))
                self.dispatcher.lookup(name)  # 404 before the body is read, as the platform does
                decoded = await read_request_params(request)
                params = decoded.params
                await self._injected_latency()
                outcome = await self.dispatcher.run(
                    name, params, token=decoded.auth, webhook=webhook, request_ip=ip, started=started
                )
            except BitrixError as exc:
                outcome = Outcome(exc.status, exc.envelope())
            response = json_response(outcome.body, outcome.status, _cors(request))
        except Exception:
            log.exception("REST request %s %s failed", request.method, request.url.path)
            outcome = Outcome(500, error("INTERNAL_SERVER_ERROR").envelope())
            response = json_response(outcome.body, outcome.status, _cors(request))
        self._notify(request, name, params, outcome, started, ip)
        return response

    async def _injected_latency(self) -> None:
        # The control API's ``rest_latency_ms`` fault (callcard.faults): a slow portal, on purpose.
        faults = getattr(self.dispatcher.services, "faults", None)
        delay_ms = getattr(faults, "rest_latency_ms", 0) or 0
        if delay_ms > 0:
            await asyncio.sleep(delay_ms / 1000)

    def _notify(
        self, request: Request, name: str, params: dict[str, Any], outcome: Outcome, started: float, ip: str
    ) -> None:
        if self.on_call is None:
            return
        record: CallRecord = {
            "method": outcome.method.name if outcome.method is not None else name,
            "params": params,
            "caller": outcome.caller,
            "status": outcome.status,
            "response": outcome.body,
            "duration_ms": max(0.0, (self.clock.now() - started) * 1000.0),
            "http_method": request.method,
            "path": request.scope["path"],  # not request.url: building a URL costs more than the call
            "ip": ip,
            "started_at": started,
        }
        try:
            self.on_call(record)
        except Exception:  # the timeline must never break a REST answer
            log.exception("on_call hook failed for %s", record["method"])


def rest_routes(
    registry: Registry,
    resolver: AuthResolver,
    services: Any,
    settings: Settings,
    clock: Clock,
    on_call: Callable[[CallRecord], Any] | None = None,
    *,
    limits: Limits | None = None,
) -> list[Route]:
    """The Starlette routes of the whole ``/rest`` tree. Adds ``batch`` to ``registry`` if missing.

    Mount them before any other route under ``/rest`` (the catch-all would shadow it). ``limits`` may
    be passed to share or inspect the limiter; by default one is built from ``settings.limits``.
    """
    register_batch(registry)
    limiter = limits if limits is not None else Limits(settings.limits, clock)
    dispatcher = Dispatcher(registry, resolver, services, settings, clock, limiter)
    endpoint = RestEndpoint(dispatcher, limiter, settings, clock, on_call)
    return [
        Route("/rest", endpoint.handle, methods=_VERBS, name="rest_root"),
        Route("/rest/{rest_path:path}", endpoint.handle, methods=_VERBS, name="rest"),
    ]
