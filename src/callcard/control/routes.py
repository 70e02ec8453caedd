"""The control API: ``/_callcard/…``, callcard's own JSON API, apart from every Bitrix-shaped URL.

Every route except ``/health`` and ``/openapi.json`` needs ``Authorization: Bearer <control token>``
(the token is in ``DATA/control-token``, mode 0600, and in the banner). Errors use the same
``{"error", "error_description"}`` envelope as REST, with 400/401/404 statuses.

| Route | What it does |
|---|---|
| GET  /health | liveness, version (no token) |
| GET  /openapi.json | the REST methods as OpenAPI 3.1 (no token) |
| POST /apps {name, scopes, handler} | install an app; its credentials and fresh tokens for user 1 |
| GET  /apps | the apps, with their installed and uninstalled state |
| DELETE /apps/{id} ?clean=1 | uninstall: ONAPPUNINSTALL, then its registrations and tokens go; {removed: {…}} |
| GET  /bindings | the placement.bindEvent bindings (card events to HTTP handlers) of every app and webhook |
| DELETE /bindings/{id} | remove one of them, as the platform's admin page does (REST has no unbind) |
| POST /webhooks {user_id, scopes} | {url, id}: the webhook URL and its id |
| POST /login-url {user_id} | a one-time portal login URL |
| POST /tokens/expire {app_id?, user_id?} | expire access tokens now |
| POST /calls {direction, phone_number, user_id, app_id?} | simulate an incoming or outgoing call |
| GET  /cards/{user_id} | the user's card view (or null) |
| POST /cards/{user_id}/press {button, value} | press a card button (or a CRM-row chip: addLead, addContact) |
| POST /cards/{user_id}/state {uiState} | set the card's UiState |
| GET  /timeline ?kind=&app_id=&user_id=&since= | timeline entries |
| GET  /conformance ?app_id= | conformance findings |
| POST /delivery-policy {policy} | 'once' or 'retry' |
| GET  /deliveries ?status= | outbox rows and attempts |
| POST /faults {…} | inject faults (see faults.py) |
| GET  /frames | frames on open portal pages and their load times |
| GET  /state | a dump of the portal's state |
| POST /reset | forget calls, cards, deliveries, findings and the timeline |
| POST /snapshot/export {path} / /snapshot/import {path} | atomic snapshot of the database |
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from .. import __version__
from ..errors import BitrixError, CallcardError, error
from ..services import Services
from .operations import Operations

__all__ = ["control_routes"]

log = logging.getLogger("callcard.control")

Handler = Callable[[Request], Awaitable[Any]]


#: spellings of a flag in a query string
_FLAGS = {"1": True, "y": True, "yes": True, "true": True, "0": False, "n": False, "no": False, "false": False,
          "": False}


def _fail(code: str, description: str, status: int) -> JSONResponse:
    return JSONResponse({"error": code, "error_description": description}, status_code=status)


def control_routes(services: Services, *, openapi: Callable[[], dict[str, Any]] | None = None) -> list[BaseRoute]:
    ops = Operations(services)

    def guarded(handler: Handler, *, public: bool = False) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if not public:
                given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
                given = given or request.headers.get("x-callcard-token", "")
                if not given or not hmac.compare_digest(given, services.control_token):
                    return _fail("NO_AUTH_FOUND", "Control API token required", 401)
            try:
                result = await handler(request)
            except BitrixError as exc:
                return JSONResponse(exc.envelope(), status_code=exc.status)
            except (CallcardError, KeyError, ValueError, TypeError) as exc:  # e.g. an unknown user id
                return _fail("INVALID_REQUEST", str(exc) or exc.__class__.__name__, 400)
            except FileNotFoundError as exc:
                return _fail("ERROR_NOT_FOUND", f"No such file: {exc}", 404)
            except Exception:
                log.exception("control %s failed", request.url.path)
                return _fail("INTERNAL_SERVER_ERROR", "Internal server error", 500)
            return result if isinstance(result, Response) else JSONResponse(result)

        return endpoint

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        if not raw.strip():
            return {}
        try:
            data = json.loads(raw)
        except ValueError:
            raise error("INVALID_REQUEST", "The body must be a JSON object") from None
        if not isinstance(data, dict):
            raise error("INVALID_REQUEST", "The body must be a JSON object")
        return data

    def opt_int(value: Any) -> int | None:
        return None if value in (None, "") else int(value)

    async def health(request: Request) -> Any:
        return {"ok": True, "version": __version__}

    async def openapi_doc(request: Request) -> Any:
        return openapi() if openapi else {}

    async def create_app_(request: Request) -> Any:
        b = await body(request)
        name = str(b.get("name") or "").strip()
        if not name:
            raise ValueError("name is required")
        scopes = b.get("scopes") or ["telephony", "placement", "crm", "user"]
        if isinstance(scopes, str):
            scopes = scopes.split(",")
        return ops.create_app(name, [str(s).strip() for s in scopes if str(s).strip()], str(b.get("handler") or ""))

    async def list_apps(request: Request) -> Any:
        return [ops.app_view(a) for a in services.directory.apps.list_apps()]

    async def uninstall_app(request: Request) -> Any:
        app_id = int(request.path_params["app_id"])
        raw = request.query_params.get("clean", "0").strip().lower()
        if raw not in _FLAGS:
            raise ValueError("clean must be 1 or 0")
        if services.directory.apps.get_app(app_id) is None:
            return _fail("ERROR_NOT_FOUND", f"App {app_id} not found", 404)
        return ops.uninstall_app(app_id, _FLAGS[raw])

    async def list_bindings(request: Request) -> Any:
        return services.card_handlers.all()

    async def remove_binding(request: Request) -> Any:
        binding_id = int(request.path_params["binding_id"])
        if not services.card_handlers.remove(binding_id):
            return _fail("ERROR_NOT_FOUND", f"Binding {binding_id} not found", 404)
        return {"removed": binding_id}

    async def create_webhook(request: Request) -> Any:
        b = await body(request)
        scopes = b.get("scopes") or ["telephony", "placement", "crm", "user"]
        if isinstance(scopes, str):
            scopes = scopes.split(",")
        hook = services.directory.webhooks.create_webhook(int(b["user_id"]), scopes)
        return {"url": f"{services.settings.public_url}/rest/{hook.user_id}/{hook.code}/", "id": hook.id}

    async def login_url(request: Request) -> Any:
        b = await body(request)
        token = services.directory.sessions.create_login_link(int(b.get("user_id") or 1))
        return {"url": f"{services.settings.public_url}/login/{token}"}

    async def expire_tokens(request: Request) -> Any:
        b = await body(request)
        n = services.directory.tokens.expire_tokens(opt_int(b.get("app_id")), opt_int(b.get("user_id")))
        return {"expired": n}

    async def calls(request: Request) -> Any:
        b = await body(request)
        return await ops.simulate_call(
            direction=str(b.get("direction") or "incoming"),
            phone=str(b.get("phone_number") or b.get("phone") or ""),
            user_id=int(b.get("user_id") or 1),
            app_id=opt_int(b.get("app_id")),
        )

    async def card(request: Request) -> Any:
        return ops.card_view(int(request.path_params["user_id"]))

    async def press(request: Request) -> Any:
        b = await body(request)
        return ops.press(int(request.path_params["user_id"]), str(b["button"]), b.get("value"))

    async def set_state(request: Request) -> Any:
        b = await body(request)
        return ops.set_state(int(request.path_params["user_id"]), str(b.get("uiState") or b.get("ui_state")))

    async def timeline(request: Request) -> Any:
        q = request.query_params
        kinds = [k for k in q.get("kind", "").split(",") if k] or None
        return ops.timeline(kinds, opt_int(q.get("app_id")), opt_int(q.get("user_id")), int(q.get("since", 0)))

    async def conformance(request: Request) -> Any:
        return ops.conformance(opt_int(request.query_params.get("app_id")))

    async def delivery_policy(request: Request) -> Any:
        b = await body(request)
        return ops.set_delivery_policy(str(b.get("policy")))

    async def deliveries(request: Request) -> Any:
        return ops.deliveries(request.query_params.get("status") or None)

    async def faults(request: Request) -> Any:
        if request.method == "GET":
            return ops.faults.describe()
        return ops.faults.apply(await body(request))

    async def frames(request: Request) -> Any:
        return ops.frames()

    async def state(request: Request) -> Any:
        return ops.state()

    async def reset(request: Request) -> Any:
        return ops.reset()

    async def snapshot_export(request: Request) -> Any:
        b = await body(request)
        return ops.snapshot_export(Path(b.get("path") or Path(services.settings.data_dir) / "snapshot.sqlite3"))

    async def snapshot_import(request: Request) -> Any:
        b = await body(request)
        return ops.snapshot_import(Path(b.get("path") or Path(services.settings.data_dir) / "snapshot.sqlite3"))

    routes = [
        Route("/health", guarded(health, public=True)),
        Route("/openapi.json", guarded(openapi_doc, public=True)),
        Route("/apps", guarded(create_app_), methods=["POST"]),
        Route("/apps", guarded(list_apps), methods=["GET"]),
        Route("/apps/{app_id:int}", guarded(uninstall_app), methods=["DELETE"]),
        Route("/bindings", guarded(list_bindings), methods=["GET"]),
        Route("/bindings/{binding_id:int}", guarded(remove_binding), methods=["DELETE"]),
        Route("/webhooks", guarded(create_webhook), methods=["POST"]),
        Route("/login-url", guarded(login_url), methods=["POST"]),
        Route("/tokens/expire", guarded(expire_tokens), methods=["POST"]),
        Route("/calls", guarded(calls), methods=["POST"]),
        Route("/cards/{user_id:int}", guarded(card), methods=["GET"]),
        Route("/cards/{user_id:int}/press", guarded(press), methods=["POST"]),
        Route("/cards/{user_id:int}/state", guarded(set_state), methods=["POST"]),
        Route("/timeline", guarded(timeline), methods=["GET"]),
        Route("/conformance", guarded(conformance), methods=["GET"]),
        Route("/delivery-policy", guarded(delivery_policy), methods=["POST"]),
        Route("/deliveries", guarded(deliveries), methods=["GET"]),
        Route("/faults", guarded(faults), methods=["GET", "POST"]),
        Route("/frames", guarded(frames), methods=["GET"]),
        Route("/state", guarded(state), methods=["GET"]),
        Route("/reset", guarded(reset), methods=["POST"]),
        Route("/snapshot/export", guarded(snapshot_export), methods=["POST"]),
        Route("/snapshot/import", guarded(snapshot_import), methods=["POST"]),
    ]
    return [Mount("/_callcard", routes=routes)]
