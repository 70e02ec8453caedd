"""The inspector's routes: three pages for a logged-in portal session and their JSON/SSE feeds.

| Route | What it serves |
|---|---|
| GET /inspector/ | the timeline page (REST calls, postMessages, card changes, events, deliveries) |
| GET /inspector/diagram ?user_id= | the UiState diagram of a user's card (default: the session's user) |
| GET /inspector/conformance ?app_id= | the conformance report, grouped by app, each finding with why/fix |
| GET /inspector/api/timeline ?kind=&app_id=&user_id=&since=&limit= | timeline entries (JSON) |
| GET /inspector/api/stream ?kind=&app_id=&user_id=&since= | the same, live, as Server-Sent Events |
| GET /inspector/api/card ?user_id= | the card view and the states its call took |
| GET /inspector/api/diagram.svg ?user_id= | the diagram alone (SVG) |
| GET /inspector/api/conformance ?app_id= | findings and summary (JSON) |
| GET /inspector/api/conformance.html ?app_id= | the report body (HTML fragment, for live refresh) |
| /inspector/static/… | the pages' JS and CSS |

Everything but the static files needs the portal's session cookie: pages answer a 401 page without it,
the API a 401 ``{"error": "NO_AUTH_FOUND", …}``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from ..control.operations import Operations
from ..host.routes import SESSION_COOKIE
from ..journal import KINDS
from ..services import Services
from . import feed
from . import views as html
from .diagram import render_svg
from .trace import card_trace

__all__ = ["STATIC_DIR", "inspector_routes"]

STATIC_DIR = Path(__file__).parent / "static"
_NO_STORE = {"Cache-Control": "no-store"}

Endpoint = Callable[[Request], Awaitable[Response]]
Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


def _json(data: Any, status: int = 200) -> Response:
    return Response(feed.dumps(data), status_code=status, media_type="application/json", headers=_NO_STORE)


def _fail(description: str, status: int = 400, code: str = "INVALID_REQUEST") -> Response:
    return _json({"error": code, "error_description": description}, status)


def _opt_int(query: Mapping[str, str], name: str) -> int | None:
    value = query.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, not {value!r}") from None


def inspector_routes(services: Services) -> list[BaseRoute]:
    """The inspector's routes (mount them next to the host routes; they share its session cookie)."""
    ins = _Inspector(services)
    page, api = ins.page, ins.api
    return [
        Route("/inspector/", page(ins.timeline_page), methods=["GET"]),
        Route("/inspector/diagram", page(ins.diagram_page), methods=["GET"]),
        Route("/inspector/conformance", page(ins.conformance_page), methods=["GET"]),
        Route("/inspector/api/timeline", api(ins.timeline), methods=["GET"]),
        Route("/inspector/api/stream", api(ins.stream), methods=["GET"]),
        Route("/inspector/api/card", api(ins.card), methods=["GET"]),
        Route("/inspector/api/diagram.svg", api(ins.diagram_svg), methods=["GET"]),
        Route("/inspector/api/conformance", api(ins.conformance), methods=["GET"]),
        Route("/inspector/api/conformance.html", api(ins.conformance_fragment), methods=["GET"]),
        Mount("/inspector/static", app=StaticFiles(directory=STATIC_DIR), name="inspector-static"),
    ]


class _Inspector:
    def __init__(self, services: Services) -> None:
        self.s = services

    # -- session guards -------------------------------------------------------------------------------

    def _user(self, request: Request) -> dict[str, Any] | None:
        user = self.s.directory.sessions.resolve_session(request.cookies.get(SESSION_COOKIE))
        return dict(user) if user is not None else None

    def page(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = self._user(request)
            if user is None:
                return HTMLResponse(html.login_required_page(), status_code=401, headers=_NO_STORE)
            try:
                return await handler(request, user)
            except ValueError as exc:
                return HTMLResponse(f"<!doctype html><title>Bad request</title><p>{html.esc(exc)}</p>",
                                    status_code=400)

        return endpoint

    def api(self, handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            user = self._user(request)
            if user is None:
                return _fail("Portal session required: open a login link first", 401, "NO_AUTH_FOUND")
            try:
                return await handler(request, user)
            except ValueError as exc:
                return _fail(str(exc))

        return endpoint

    # -- shared data ----------------------------------------------------------------------------------

    def users(self) -> list[dict[str, Any]]:
        return [{"id": int(u["id"]), "name": html.user_name(u), "active": bool(u["active"])}
                for u in self.s.store.find("users")]

    def apps(self) -> dict[int, str]:
        return {a.id: a.name for a in self.s.directory.apps.list_apps()}

    def journal_state(self) -> dict[str, Any]:
        journal = self.s.journal
        return {"enabled": bool(journal is not None and journal.enabled),
                "size": journal.size if journal is not None else 0}

    def trace(self, request: Request, user: dict[str, Any]) -> dict[str, Any]:
        user_id = _opt_int(request.query_params, "user_id") or int(user["id"])
        return card_trace(self.s, user_id).as_dict()

    @staticmethod
    def svg(trace: Mapping[str, Any]) -> str:
        return render_svg(current=trace["current"], path=[s["state"] for s in trace["path"]],
                          transitions=trace["transitions"], direction=trace["direction"])

    # -- pages ----------------------------------------------------------------------------------------

    async def timeline_page(self, request: Request, user: dict[str, Any]) -> Response:
        boot = {
            "kinds": list(KINDS),
            "apps": [{"id": i, "name": n} for i, n in sorted(self.apps().items())],
            "users": self.users(),
            "me": int(user["id"]),
            "journal": self.journal_state(),
            "focus": _opt_int(request.query_params, "focus"),
        }
        return HTMLResponse(html.timeline_page(user, boot), headers=_NO_STORE)

    async def diagram_page(self, request: Request, user: dict[str, Any]) -> Response:
        trace = self.trace(request, user)
        body = html.diagram_page(user, self.users(), trace, self.svg(trace))
        return HTMLResponse(body, headers=_NO_STORE)

    async def conformance_page(self, request: Request, user: dict[str, Any]) -> Response:
        app_id = _opt_int(request.query_params, "app_id")
        apps = self.apps()
        report = self._report(app_id, apps)
        return HTMLResponse(html.conformance_page(user, report, apps, app_id), headers=_NO_STORE)

    def _report(self, app_id: int | None, apps: Mapping[int, str]) -> str:
        # the same report as the control API's /_callcard/conformance (stored + computed findings)
        report = Operations(self.s).conformance(app_id)
        return html.conformance_report(report["findings"], report["summary"], apps, app_id)

    # -- API ------------------------------------------------------------------------------------------

    async def timeline(self, request: Request, user: dict[str, Any]) -> Response:
        f = feed.parse_filter(request.query_params)
        return _json(feed.snapshot(self.s.journal, f))

    async def stream(self, request: Request, user: dict[str, Any]) -> Response:
        f = feed.parse_filter(request.query_params, request.headers.get("last-event-id"))
        return StreamingResponse(
            feed.stream(self.s.journal, f, window_s=feed.STREAM_WINDOW_S), media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    async def card(self, request: Request, user: dict[str, Any]) -> Response:
        return _json(self.trace(request, user))

    async def diagram_svg(self, request: Request, user: dict[str, Any]) -> Response:
        return Response(self.svg(self.trace(request, user)), media_type="image/svg+xml", headers=_NO_STORE)

    async def conformance(self, request: Request, user: dict[str, Any]) -> Response:
        report = Operations(self.s).conformance(_opt_int(request.query_params, "app_id"))
        return _json({**report, "apps": self.apps()})

    async def conformance_fragment(self, request: Request, user: dict[str, Any]) -> Response:
        report = self._report(_opt_int(request.query_params, "app_id"), self.apps())
        return HTMLResponse(report, headers=_NO_STORE)
