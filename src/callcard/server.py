"""Running callcard: uvicorn for the portal (and, with the demo on, a second origin for the demo app).

The portal is served on ``127.0.0.1`` and app frames on ``localhost``: two origins without DNS, as
Bitrix24 and its apps are on different hosts. ``server.json`` in the data directory tells the CLI where
the server is and which control token to use; it is written once the server listens and removed on exit.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app
from .settings import Settings

__all__ = ["serve", "banner"]


def banner(settings: Settings, services: Any, demo_url: str | None) -> str:
    base = settings.public_url
    login = services.directory.create_login_link(1)
    lines = [
        f"callcard {_version()} — a local Bitrix24 portal for telephony apps",
        "",
        f"  portal (admin)  {base}/login/{login}",
        f"  REST            {base}/rest/",
        f"  OAuth           {base}/oauth/token/",
        f"  control API     {base}/_callcard/  (token: {services.control_token})",
        f"  OpenAPI         {base}/_callcard/openapi.json",
        f"  data            {Path(settings.data_dir).resolve()}",
    ]
    if demo_url:
        lines.append(f"  demo app        {demo_url}/ (PAGE_BACKGROUND_WORKER on every portal page)")
    if settings.https:
        lines.append(f"  CA bundle       {services.tls.bundle}  (REQUESTS_CA_BUNDLE=…)")
    lines.append(f"  rate limits     {'on (cloud numbers)' if settings.limits.enabled else 'off'}")
    lines += ["", "Open the portal link in a browser. `callcard login-url --user 2` logs in an operator.", ""]
    return "\n".join(lines)


def _version() -> str:
    from . import __version__

    return __version__


def serve(settings: Settings, *, demo_port: int | None = None, log_level: str = "warning") -> None:
    asyncio.run(_serve(settings, demo_port=demo_port, log_level=log_level))


async def _serve(settings: Settings, *, demo_port: int | None, log_level: str) -> None:
    demo_url = None
    if settings.demo:
        scheme = "https" if settings.https else "http"
        demo_url = f"{scheme}://localhost:{demo_port or settings.port + 1}"
    app = create_app(settings, demo_url=demo_url)
    services = app.state.services
    ssl: dict[str, Any] = {}
    if settings.https:
        ssl = {"ssl_certfile": str(services.tls.server_cert), "ssl_keyfile": str(services.tls.server_key)}
    servers = [
        uvicorn.Server(
            uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level, **ssl)
        )
    ]
    if demo_url:
        from .demo import demo_app

        port = int(demo_url.rsplit(":", 1)[1])
        servers.append(
            uvicorn.Server(
                uvicorn.Config(demo_app(settings), host=settings.host, port=port, log_level=log_level, **ssl)
            )
        )
    info_path = Path(settings.data_dir) / "server.json"

    async def announce() -> None:
        while not all(s.started for s in servers):
            if any(s.should_exit for s in servers):
                return
            await asyncio.sleep(0.01)
        info = {
            "url": settings.public_url,
            "control_token": services.control_token,
            "pid": os.getpid(),
            "demo_url": demo_url,
            "ca_bundle": str(services.tls.bundle) if settings.https else None,
        }
        info_path.write_text(json.dumps(info, indent=2))
        os.chmod(info_path, 0o600)
        print(banner(settings, services, demo_url), flush=True)

    async def run(server: uvicorn.Server) -> None:
        # Each uvicorn server handles Ctrl-C for itself; when one stops, stop them all.
        try:
            await server.serve()
        finally:
            for other in servers:
                other.should_exit = True

    try:
        await asyncio.gather(announce(), *(run(s) for s in servers))
    finally:
        info_path.unlink(missing_ok=True)
