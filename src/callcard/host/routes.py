"""The host surface's routes: login, the portal page, CRM entity pages, the classic BX24 library,
static files and the page WebSocket.

``host_routes(services)`` builds the frame factory, the layout registry and the page manager, sets
``services.pages`` (the hub delivers card events and views through it) and returns the routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from ..control.operations import Operations
from ..domain.placements import BACKGROUND, crm_tab_code, tab_title
from ..domain.sessions import SessionError
from ..errors import BitrixError
from ..services import Services
from . import pages as html
from .frames import FrameFactory, LayoutRegistry, PageContext
from .ws import PageManager

__all__ = ["SESSION_COOKIE", "STATIC_DIR", "host_routes"]

SESSION_COOKIE = "callcard_session"
STATIC_DIR = Path(__file__).parent / "static"
_NO_STORE = {"Cache-Control": "no-store"}


def host_routes(services: Services) -> list[BaseRoute]:
    """The portal's routes; also installs the page manager as ``services.pages``."""
    layouts = LayoutRegistry()
    factory = FrameFactory(services, layouts)
    manager = PageManager(services, factory, layouts)
    services.pages = manager
    host = _Host(services, factory, manager)
    return [
        Route("/login/{token}", host.login, methods=["GET"]),
        Route("/logout", host.logout, methods=["GET", "POST"]),
        Route("/", host.portal, methods=["GET"]),
        Route("/crm/{entity_type}/details/{entity_id}/", host.crm_page, methods=["GET"]),
        Route("/portal/simulate", host.simulate, methods=["POST"]),
        Route("/api/v1/", host.bx24, methods=["GET"]),
        Route("/api/v1/index.js", host.bx24, methods=["GET"]),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static"),
        WebSocketRoute("/ws", host.websocket),
    ]


def _context(conn: HTTPConnection) -> PageContext:
    url = conn.url
    uri = url.path + (f"?{url.query}" if url.query else "")
    netloc = conn.headers.get("host") or url.netloc
    return PageContext.from_request(url.scheme, netloc, uri)


class _Host:
    def __init__(self, services: Services, factory: FrameFactory, manager: PageManager) -> None:
        self.s = services
        self.factory = factory
        self.pages = manager

    def _user(self, conn: HTTPConnection) -> dict[str, Any] | None:
        return self.s.directory.sessions.resolve_session(conn.cookies.get(SESSION_COOKIE))

    # -- login ------------------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        try:
            session = self.s.directory.sessions.consume_login_link(request.path_params["token"])
        except SessionError as exc:
            return HTMLResponse(html.login_failed_page(str(exc)), status_code=401, headers=_NO_STORE)
        target = request.query_params.get("next", "/")
        if not target.startswith("/") or target.startswith("//") or "\\" in target:
            target = "/"  # never an open redirect
        response = RedirectResponse(target, status_code=303, headers=_NO_STORE)
        response.set_cookie(
            SESSION_COOKIE,
            session,
            max_age=int(self.s.settings.session_ttl_s),
            path="/",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
        return response

    async def logout(self, request: Request) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            self.s.directory.sessions.end_session(token)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- toolbar --------------------------------------------------------------------------------------

    async def simulate(self, request: Request) -> Response:
        """The toolbar's "simulate call" for the logged-in user (JSON body: direction, phone)."""
        user = self._user(request)
        if user is None:
            return JSONResponse({"error": "NO_AUTH_FOUND", "error_description": "Log in first"}, 401)
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            # JSON only: a cross-site form cannot send it without a CORS preflight we never grant.
            return JSONResponse({"error": "INVALID_REQUEST", "error_description": "JSON body required"}, 400)
        try:
            body = await request.json()
            result = await Operations(self.s).simulate_call(
                direction=str(body.get("direction") or "incoming"),
                phone=str(body.get("phone") or ""),
                user_id=int(user["id"]),
                app_id=None,
            )
        except BitrixError as exc:
            return JSONResponse(exc.envelope(), exc.status)
        except (ValueError, TypeError, AttributeError) as exc:
            return JSONResponse({"error": "INVALID_REQUEST", "error_description": str(exc)}, 400)
        return JSONResponse(result)

    # -- pages ------------------------------------------------------------------------------------------

    async def portal(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return HTMLResponse(html.login_required_page(), status_code=401, headers=_NO_STORE)
        entities = []
        for etype in ("CONTACT", "COMPANY", "LEAD"):
            rows, _total = self.s.crm.list(
                etype, None, ["ID", "TITLE", "NAME", "LAST_NAME", "PHONE"], {"ID": "DESC"}, 0
            )
            entities += [(etype, row) for row in rows[:20]]
        return self._render(
            request,
            user,
            "callcard — Portal",
            lambda boot: html.home_content(user, boot["backgroundSummary"], boot["cardTabs"], entities),
        )

    async def crm_page(self, request: Request) -> Response:
        user = self._user(request)
        if user is None:
            return HTMLResponse(html.login_required_page(), status_code=401, headers=_NO_STORE)
        etype = html.CRM_TYPES.get(str(request.path_params["entity_type"]).lower())
        try:
            entity_id = int(request.path_params["entity_id"])
            entity = self.s.crm.get(etype, entity_id) if etype else None
        except (ValueError, BitrixError):
            entity = None
        if etype is None or entity is None:
            return HTMLResponse(
                html.portal_page(
                    title="Not found — callcard",
                    user=user,
                    has_background=False,
                    boot={"embedded": True},
                    content='<section class="pp-panel"><h1>Not found</h1><p>No such CRM item.</p></section>',
                ),
                status_code=404,
            )
        is_admin = bool(user["is_admin"])
        code = crm_tab_code(etype)
        app_names = {a.id: a.name for a in self.s.directory.apps.list_apps()}
        tabs = [
            {
                "rowId": int(r["id"]),
                "appId": int(r["app_id"]),
                "title": tab_title(r, self.s.settings.lang, app_names.get(int(r["app_id"]), "")),
            }
            for r in self.s.placements.crm_tab_rows(etype, is_admin)
        ]
        activities = [
            dict(r)
            for r in self.s.store.find(
                "crm_activities", {"owner_type": etype, "owner_id": entity_id}, order_by="-id", limit=20
            )
        ]
        title = (
            f"{html.TYPE_LABELS[etype]} {entity.get('TITLE') or entity.get('NAME') or entity_id} — callcard"
        )
        return self._render(
            request,
            user,
            title,
            lambda boot: html.crm_content(etype, entity, activities, tabs),
            crm=(etype, entity_id),
            crm_boot={"type": etype, "id": entity_id, "placement": code, "tabs": tabs},
        )

    def _render(
        self,
        request: Request,
        user: dict[str, Any],
        title: str,
        content: Any,
        *,
        crm: tuple[str, int] | None = None,
        crm_boot: dict[str, Any] | None = None,
    ) -> Response:
        """Register the page, render its background frames' descriptors, and return the HTML."""
        ctx = _context(request)
        uid = int(user["id"])
        is_admin = bool(user["is_admin"])
        # sliders (IFRAME=Y) show content only: no second set of background workers, no second card
        embedded = request.query_params.get("IFRAME") == "Y"
        page = self.pages.new_page(uid, ctx, crm=crm, embedded=embedded)
        apps = {a.id: a for a in self.s.directory.apps.list_apps()}
        rows = [] if embedded else self.s.placements.background_rows(uid, is_admin)
        background = [
            self.factory.render(
                ctx,
                page_id=page.page_id,
                app_id=int(r["app_id"]),
                user_id=uid,
                placement=BACKGROUND,
                handler=r["handler"],
                options={"ID": BACKGROUND, "URI": ctx.uri},
                row_id=int(r["id"]),
            )
            for r in rows
        ]
        card_tabs = (
            []
            if embedded
            else [
                {
                    "rowId": int(r["id"]),
                    "appId": int(r["app_id"]),
                    "title": tab_title(
                        r,
                        self.s.settings.lang,
                        apps[int(r["app_id"])].name if int(r["app_id"]) in apps else "",
                    ),
                }
                for r in self.s.placements.call_card_rows(is_admin)
            ]
        )
        boot: dict[str, Any] = {
            "pageId": page.page_id,
            "embedded": embedded,
            "user": {"id": uid, "isAdmin": is_admin},
            "guardMs": self.s.settings.bind_event_guard_ms,
            "background": background,
            "backgroundSummary": [
                {"rowId": d["rowId"], "appName": d["appName"], "handler": r["handler"]}
                for d, r in zip(background, rows, strict=True)
            ],
            "cardTabs": card_tabs,
            "crm": crm_boot,
            "users": self.pages.user_choices(),
            "crmChoices": self._crm_choices(),
        }
        body = html.portal_page(
            title=title,
            user=user,
            content=content(boot),
            boot=boot,
            has_background=bool(background),
            embedded=embedded,
        )
        return HTMLResponse(body, headers=_NO_STORE)

    def _crm_choices(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for etype in ("LEAD", "CONTACT", "COMPANY"):
            rows, _total = self.s.crm.list(
                etype, None, ["ID", "TITLE", "NAME", "LAST_NAME"], {"ID": "ASC"}, 0
            )
            for row in rows[:50]:
                name = " ".join(str(p) for p in (row.get("NAME"), row.get("LAST_NAME")) if p)
                out.append(
                    {
                        "type": etype.lower(),
                        "id": int(row["ID"]),
                        "title": name or str(row.get("TITLE") or f"#{row['ID']}"),
                    }
                )
        return out

    # -- the classic BX24 library -------------------------------------------------------------------------

    async def bx24(self, request: Request) -> Response:
        return Response(
            (STATIC_DIR / "bx24.js").read_bytes(),
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*"},
        )

    # -- the page WebSocket ---------------------------------------------------------------------------------

    async def websocket(self, ws: WebSocket) -> None:
        user = self._user(ws)
        if user is None:
            await ws.close(code=4401)  # before accept: the handshake is refused (HTTP 403)
            return
        await self.pages.serve(ws, int(user["id"]))
