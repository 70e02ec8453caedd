"""Running callcard: uvicorn for the portal (and, with the demo on, a second origin for the demo app).

The portal is served on ``127.0.0.1`` and app frames on ``localhost``: two origins without DNS, as
Bitrix24 and its apps are on different hosts. With ``Settings.https_port`` (``serve --https``) the same app
object — one portal, one store — is also served over TLS on that port (clients.md §4: b24pysdk speaks only
https, while a browser is happier on plain http). Pages opened there render PROTOCOL 1 and their own
DOMAIN; what the server names by itself (OAuth payloads, webhooks, login links) keeps ``public_url``.

``server.json`` in the data directory tells the CLI where the server is (``url``, and ``https_url`` for the
TLS listener) and which control token to use. It is written just before the listeners start (so anyone who
got an answer from the server can also find it through the data dir) and removed on exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app
from .settings import Settings

__all__ = ["serve", "banner"]


def banner(settings: Settings, services: Any, demo_url: str | None) -> str:
    base = settings.public_url
    login = services.directory.sessions.create_login_link(1)
    lines = [
        f"callcard {_version()} — a local Bitrix24 portal for telephony apps",
        "",
        f"  portal (admin)  {base}/login/{login}",
        f"  REST            {base}/rest/",
        f"  OAuth           {base}/oauth/token/",
        *_https_lines(settings.https_url),
        f"  control API     {base}/_callcard/  (token: {services.control_token})",
        f"  OpenAPI         {base}/_callcard/openapi.json",
        f"  data            {Path(settings.data_dir).resolve()}",
    ]
    if demo_url:
        lines.append(f"  demo app        {demo_url}/ (PAGE_BACKGROUND_WORKER on every portal page)")
    if settings.uses_tls:
        lines.append(f"  CA bundle       {services.tls.bundle}  (REQUESTS_CA_BUNDLE=…)")
    lines.append(f"  rate limits     {'on (cloud numbers)' if settings.limits.enabled else 'off'}")
    lines += ["", "Open the portal link in a browser. `callcard login-url --user 2` logs in an operator.", ""]
    return "\n".join(lines)


def _https_lines(https_url: str | None) -> list[str]:
    """The TLS listener's endpoints (the same portal; b24pysdk's domain is its host:port)."""
    if not https_url:
        return []
    return [f"  REST (https)    {https_url}/rest/", f"  OAuth (https)   {https_url}/oauth/token/"]


def _version() -> str:
    from . import __version__

    return __version__


def serve(settings: Settings, *, demo_port: int | None = None, log_level: str = "warning") -> None:
    # The loop uvicorn itself would pick ("auto": uvloop when installed). uvicorn.Server.serve() runs in
    # whatever loop it is given, and the stdlib loop costs about a third of the throughput.
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(settings, demo_port=demo_port, log_level=log_level))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it on Linux and macOS
        return None
    return uvloop.new_event_loop


async def _serve(settings: Settings, *, demo_port: int | None, log_level: str) -> None:
    demo_url = None
    if settings.demo:
        scheme = "https" if settings.https else "http"
        demo_url = f"{scheme}://localhost:{demo_port or settings.port + 1}"
    app = create_app(settings, demo_url=demo_url)
    services = app.state.services
    tls: dict[str, Any] = {}
    if settings.uses_tls:
        tls = {"ssl_certfile": str(services.tls.server_cert), "ssl_keyfile": str(services.tls.server_key)}
    ssl = tls if settings.https else {}
    # The access log is INFO: below that level uvicorn would still format its arguments for every
    # request, then drop them (a few per cent of a small REST call).
    access_log = log_level.lower() in ("trace", "debug", "info")
    servers: list[uvicorn.Server] = [
        _Listener(uvicorn.Config(app, host=settings.host, port=settings.port, log_level=log_level,
                                 access_log=access_log, **ssl))
    ]
    if settings.https_port is not None:
        # The same app, not a second one: one store, one hub, one set of pages. Its lifespan (ticker,
        # delivery worker) runs once, with the primary listener; here it would start them twice.
        servers.append(
            _Listener(uvicorn.Config(app, host=settings.host, port=settings.https_port, log_level=log_level,
                                     access_log=access_log, lifespan="off", **tls))
        )
    if demo_url:
        from .demo import demo_app

        port = int(demo_url.rsplit(":", 1)[1])
        servers.append(
            _Listener(
                uvicorn.Config(demo_app(settings), host=settings.host, port=port, log_level=log_level, **ssl)
            )
        )
    info_path = Path(settings.data_dir) / "server.json"
    info = {
        "url": settings.public_url,
        "control_token": services.control_token,
        "pid": os.getpid(),
        "https_url": settings.https_url,
        "demo_url": demo_url,
        "ca_bundle": str(services.tls.bundle) if settings.uses_tls else None,
    }
    # Before the listeners start, not after: a client that polls the URL until it answers must then find
    # the server through the data dir without racing this write. It holds the token, so 0600 from birth.
    fd = os.open(info_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(info, indent=2))

    async def announce() -> None:
        while not all(s.started for s in servers):
            if any(s.should_exit for s in servers):
                return
            await asyncio.sleep(0.01)
        print(banner(settings, services, demo_url), flush=True)

    failures: list[int] = []

    async def run(server: uvicorn.Server) -> None:
        # When one listener stops (e.g. its port is taken), stop them all.
        try:
            await server.serve()
        except SystemExit as exc:
            # uvicorn exits when it cannot start (it has logged why). Raised here, that would cancel the
            # other listeners mid-lifespan; record it and let them shut down, then exit with its code.
            failures.append(exc.code if isinstance(exc.code, int) else 1)
        finally:
            for other in servers:
                other.should_exit = True

    def on_signal() -> None:
        for server in servers:
            if server.should_exit:  # a second Ctrl-C: stop waiting for open connections
                server.force_exit = True
            server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await asyncio.gather(announce(), *(run(s) for s in servers))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        info_path.unlink(missing_ok=True)
    if failures:
        raise SystemExit(failures[0])


class _Listener(uvicorn.Server):
    """A uvicorn server that leaves signals to ``_serve``.

    uvicorn's own handling re-raises SIGTERM once it has shut down, which kills the process before
    ``server.json`` is removed; with two listeners each would also steal the other's handler. ``_serve``
    handles SIGINT/SIGTERM once for all of them, so a stop is graceful and exits 0.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
