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
from starlette.types import ASGIApp, Receive, Scope, Send

from ..clock import Clock
from ..errors import BitrixError, error
from ..settings import Settings
from .auth import AuthResolver
from .batch import register_batch
from .dispatch import Dispatcher, Outcome
from .envelope import JSON_MEDIA_TYPE, dump_json
from .limits import Limits
from .params import read_request_params
from .registry import Registry

__all__ = ["CallRecord", "RestEndpoint", "RestShortcut", "parse_rest_path", "rest_routes"]

log = logging.getLogger("callcard.rest")

#: ``on_call`` receives a dict with: method, params, caller, status, response, duration_ms,
#: plus http_method, path, ip and started_at.
CallRecord = dict[str, Any]

_VERBS = ["GET", "POST", "OPTIONS", "PUT", "PATCH", "DELETE"]
_ALLOW_METHODS = "GET, POST, OPTIONS"
_PREFLIGHT_MAX_AGE = "600"
_CONTENT_TYPE = (b"content-type", JSON_MEDIA_TYPE.encode("latin-1"))


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
        """The answer to one request as a Starlette response (the routes themselves use ``__call__``)."""
        if request.method == "OPTIONS":
            return _preflight(request)
        status, body, headers = await self._answer(request)
        return Response(body, status_code=status, headers=headers, media_type=JSON_MEDIA_TYPE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The routes' ASGI app: ``handle`` without building a Response object and its wrappers. The
        messages sent are the ones that Response would send, header for header."""
        request = Request(scope, receive, send)
        if request.method == "OPTIONS":
            await _preflight(request)(scope, receive, send)
            return
        status, body, headers = await self._answer(request)
        raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
        raw.append(_CONTENT_TYPE)
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": body})

    async def _answer(self, request: Request) -> tuple[int, bytes, dict[str, str]]:
        """Run the call: (status, JSON body, CORS headers). The timeline hears of it before it is sent."""
        started = self.clock.now()
        client = request.scope.get("client")
        ip = client[0] if client else "unknown"
        name = ""
        params: dict[str, Any] = {}
        try:
            try:
                if self.limits.enabled:
                    self.limits.admit_request(self.settings.domain, ip)
                name, webhook = parse_rest_path(request.path_params.get("rest_path", ""))
                method = self.dispatcher.lookup(name)  # 404 before the body is read, as the platform does
                decoded = await read_request_params(request)
                params = decoded.params
                if self._latency_ms() > 0:
                    await self._injected_latency()
                outcome = await self.dispatcher.run(
                    name, params, token=decoded.auth, webhook=webhook, request_ip=ip, started=started,
                    method=method,
                )
            except BitrixError as exc:
                outcome = Outcome(exc.status, exc.envelope())
            answer = (outcome.status, dump_json(outcome.body), _cors(request))
        except Exception:
            log.exception("REST request %s %s failed", request.method, request.url.path)
            outcome = Outcome(500, error("INTERNAL_SERVER_ERROR").envelope())
            answer = (outcome.status, dump_json(outcome.body), _cors(request))
        self._notify(request, name, params, outcome, started, ip)
        return answer

    def _latency_ms(self) -> float:
        # The control API's ``rest_latency_ms`` fault (callcard.faults): a slow portal, on purpose.
        faults = getattr(self.dispatcher.services, "faults", None)
        return getattr(faults, "rest_latency_ms", 0) or 0

    async def _injected_latency(self) -> None:
        delay_ms = self._latency_ms()
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


class RestShortcut:
    """ASGI middleware: ``/rest/...`` requests go straight to the REST endpoint, past Starlette's exception
    middleware and router, exactly as the router would send them (same route, same scope keys).

    Only for an app whose routes start with the upload route then ``rest_routes(...)`` (``create_app``):
    a path under ``/rest/`` that is not under ``/rest/upload/`` then matches the ``/rest/{rest_path}``
    route first. Anything else (``/rest`` itself, uploads, other verbs, a ``root_path``) takes the
    router as before.
    """

    def __init__(self, app: ASGIApp, route: Route, router: Any = None) -> None:
        self.app = app
        self.route = route
        self.router = router
        self.methods = route.methods or set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.methods and not scope.get("root_path"):
            path = scope["path"]
            if path.startswith("/rest/") and not path.startswith("/rest/upload/"):
                if "router" not in scope and self.router is not None:
                    scope["router"] = self.router
                scope["route"] = self.route
                scope["endpoint"] = self.route.endpoint
                outer = scope.get("path_params")
                rest_path = path[len("/rest/"):]
                scope["path_params"] = {**outer, "rest_path": rest_path} if outer else {"rest_path": rest_path}
                await self.route.app(scope, receive, send)
                return
        await self.app(scope, receive, send)


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
        Route("/rest", endpoint, methods=_VERBS, name="rest_root"),
        Route("/rest/{rest_path:path}", endpoint, methods=_VERBS, name="rest"),
    ]
