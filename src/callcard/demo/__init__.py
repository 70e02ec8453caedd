"""The demo softphone: a reference PAGE_BACKGROUND_WORKER app, served from a second origin.

It plays both sides a real telephony app has: the *PBX* (this small server: it queues incoming calls and
receives ``ONEXTERNALCALLSTART`` for click-to-call) and the *softphone* (``static/softphone.js`` in the
hidden background frame, written against the classic BX24 library that callcard serves at ``/api/v1/``).
The softphone is the example app developers copy from; the server side is only a stand-in PBX.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ..settings import Settings

__all__ = ["DEMO_APP_NAME", "demo_app"]

DEMO_APP_NAME = "callcard demo softphone"


class Pbx:
    """The stand-in PBX: a queue of things for the softphone, long-polled by the background frame."""

    def __init__(self) -> None:
        self.queue: deque[dict[str, Any]] = deque(maxlen=100)
        self.changed = asyncio.Event()
        self.notices: list[dict[str, str]] = []

    def push(self, item: dict[str, Any]) -> None:
        self.queue.append(item)
        self.changed.set()

    async def take(self, timeout: float, gone: Any) -> list[dict[str, Any]]:
        """Wait up to ``timeout`` for items; a poller whose page has gone (``await gone()``) takes none,
        so a call never vanishes into a closed tab's request."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.queue:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or await gone():
                return []
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass
        if await gone():
            return []
        items = list(self.queue)
        self.queue.clear()
        return items


def _static(name: str) -> str:
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def demo_app(settings: Settings) -> Starlette:
    """The demo origin: the softphone page (GET or the host's form POST), its script, the PBX endpoints."""
    pbx = Pbx()
    portal = settings.public_url

    async def page(request: Request) -> Response:
        # Bitrix24 loads app frames with a form POST; a GET (opening it by hand) renders the same page.
        html = _static("softphone.html").replace("{{PORTAL}}", portal)
        return HTMLResponse(html)

    async def script(request: Request) -> Response:
        return Response(_static("softphone.js"), media_type="text/javascript")

    async def incoming(request: Request) -> Response:
        if request.headers.get("content-type", "").startswith("application/json"):
            body = await request.json()
        else:
            body = dict(await request.form())
        phone = str(body.get("phone") or body.get("phone_number") or "+4930123456789")
        pbx.push({"kind": "incoming", "phone": phone, "user_id": body.get("user_id")})
        return JSONResponse({"queued": True, "phone": phone})

    async def poll(request: Request) -> Response:
        timeout = min(float(request.query_params.get("timeout", 25)), 60.0)
        return JSONResponse(await pbx.take(timeout, request.is_disconnected))

    async def events(request: Request) -> Response:
        # ONEXTERNALCALLSTART from the portal (click-to-call): hand it to the softphone.
        form = await request.form()
        data = {k[5:-1]: v for k, v in form.items() if k.startswith("data[")}
        if form.get("event") == "ONEXTERNALCALLSTART":
            pbx.push({"kind": "outgoing", "data": data})
        return PlainTextResponse("ok")

    async def error_handler(request: Request) -> Response:
        pbx.notices.append({k: str(v) for k, v in (await request.form()).items()})
        return PlainTextResponse("ok")

    async def notices(request: Request) -> Response:
        return Response(json.dumps(pbx.notices), media_type="application/json")

    return Starlette(
        routes=[
            Route("/", page, methods=["GET", "POST"]),
            Route("/softphone.js", script),
            Route("/pbx/incoming", incoming, methods=["POST"]),
            Route("/pbx/poll", poll),
            Route("/events", events, methods=["POST"]),
            Route("/error", error_handler, methods=["POST"]),
            Route("/notices", notices),
        ],
        middleware=[Middleware(CORSMiddleware, allow_origins=[portal], allow_methods=["GET", "POST"],
                               allow_headers=["Content-Type"])],
    )
