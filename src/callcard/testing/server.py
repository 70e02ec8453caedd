"""``CallcardServer``: a real callcard for tests — uvicorn in a thread on 127.0.0.1 and a free port.

The server is the same ASGI app ``callcard serve`` runs (``create_app``), over a temporary data directory
with the test settings (``Settings.for_tests``: rate limits off, no demo app). Tests talk to it the way
apps and tools do: HTTP on loopback. ``control`` is an ``httpx.Client`` for the control API
(``/_callcard/…``, token already set); ``rest()`` calls a Bitrix-shaped REST method.

    with CallcardServer() as server:
        app = server.install_app("My softphone")
        reply = server.rest("app.info", auth=app)
        assert reply.result["CODE"] ...

The port is taken by binding the listening socket first and handing it to uvicorn, so there is no window
in which another process could grab it; the settings' ``port`` is that socket's port, so every URL
callcard renders (frame names, ``client_endpoint``…) is right.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ..app import create_app
from ..settings import Settings

__all__ = [
    "DEFAULT_SCOPES",
    "OPERATOR_ID",
    "CallcardServer",
    "ControlError",
    "InstalledApp",
    "RestReply",
    "app_id_of",
    "server_of",
]

#: the scopes an app installed by the test helpers gets unless told otherwise
DEFAULT_SCOPES: tuple[str, ...] = ("telephony", "placement", "crm", "user")
#: the seeded portal's first operator (user 1 is the administrator)
OPERATOR_ID = 2

_START_TIMEOUT_S = 15.0
_STOP_TIMEOUT_S = 10.0


class ControlError(RuntimeError):
    """The control API refused a request: ``status`` and the ``{"error", "error_description"}`` body."""

    def __init__(self, status: int, body: Any, what: str) -> None:
        self.status = status
        self.body = body
        detail = body.get("error_description") or body.get("error") if isinstance(body, dict) else body
        super().__init__(f"{what} -> HTTP {status}: {detail}")


@dataclass(frozen=True)
class RestReply:
    """One REST answer: the HTTP status and the decoded JSON body (``result``/``error`` envelope)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        """2xx and no ``error`` key (clients treat an ``error`` key in a 200 body as a failure too)."""
        return 200 <= self.status < 300 and not (isinstance(self.body, dict) and "error" in self.body)

    @property
    def result(self) -> Any:
        return self.body.get("result") if isinstance(self.body, dict) else None

    @property
    def error(self) -> str | None:
        return self.body.get("error") if isinstance(self.body, dict) else None

    @property
    def error_description(self) -> str | None:
        return self.body.get("error_description") if isinstance(self.body, dict) else None

    def __getitem__(self, key: str) -> Any:
        return self.body[key]


@dataclass(frozen=True)
class InstalledApp:
    """An app installed on the test portal, with an access token for the administrator (user 1).

    Pass it as ``auth=`` to ``CallcardServer.rest`` and to the helpers that take an app.
    """

    app_id: int
    name: str
    scopes: tuple[str, ...]
    handler: str
    client_id: str
    client_secret: str
    access_token: str
    refresh_token: str
    application_token: str
    member_id: str
    credentials: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the ``CallcardServer`` it is installed on (the helpers find the server through it)
    server: Any = field(default=None, repr=False, compare=False)

    @property
    def id(self) -> int:
        return self.app_id


def _auth_token(auth: Any) -> str | None:
    if auth is None or isinstance(auth, str):
        return auth
    token = getattr(auth, "access_token", None)
    if not isinstance(token, str):
        raise TypeError("auth must be an access token string or an object with .access_token")
    return token


class CallcardServer:
    """A callcard server in a background thread, started with ``start()`` (or ``with``).

    ``data_dir``: where the database and control token live; a fresh temporary directory (removed by
    ``stop()``) when omitted. ``settings``: a complete ``Settings`` to start from (its data_dir, host
    and port are replaced), else ``Settings.for_tests(data_dir)``; ``changes`` are applied on top.
    """

    def __init__(
        self,
        data_dir: str | Path | None = None,
        *,
        settings: Settings | None = None,
        log_level: str = "warning",
        **changes: Any,
    ) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir is not None else Path(tempfile.mkdtemp(prefix="callcard-"))
        self._base_settings = settings
        self._changes = changes
        self._log_level = log_level
        self._thread: threading.Thread | None = None
        self._uvicorn: uvicorn.Server | None = None
        self._control: httpx.Client | None = None
        self._http: httpx.Client | None = None
        self.settings: Settings | None = None
        self.app: Any = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self, timeout: float = _START_TIMEOUT_S) -> CallcardServer:
        """Bind a free port, build the app, serve it in a thread; return once it accepts requests."""
        if self._thread is not None:
            raise RuntimeError("the server is already running")
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = int(sock.getsockname()[1])
        if self._base_settings is not None:
            base = self._base_settings.with_(**self._changes)
        else:
            base = Settings.for_tests(self.data_dir, **self._changes)
        self.settings = base.with_(data_dir=self.data_dir, host="127.0.0.1", port=self.port)
        self.app = create_app(self.settings)
        ssl: dict[str, Any] = {}
        if self.settings.https:
            tls = self.services.tls
            ssl = {"ssl_certfile": str(tls.server_cert), "ssl_keyfile": str(tls.server_key)}
        config = uvicorn.Config(
            self.app, log_level=self._log_level, log_config=None, lifespan="on",
            # open portal pages keep WebSockets; never let them hold the test run hostage on stop
            timeout_graceful_shutdown=2, **ssl,
        )
        server = uvicorn.Server(config)
        self._uvicorn = server
        failure: list[BaseException] = []

        def run() -> None:
            try:
                server.run(sockets=[sock])
            except BaseException as exc:  # reported to start(); a thread must not die silently
                failure.append(exc)
            finally:
                sock.close()

        self._thread = threading.Thread(target=run, name=f"callcard-server-{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._thread.join(0.1)
                self._thread = None
                cause = failure[0] if failure else None
                raise RuntimeError(f"callcard did not start on port {self.port}") from cause
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving, close the clients and remove the temporary data directory (if it made one)."""
        for client in (self._control, self._http):
            if client is not None:
                client.close()
        self._control = self._http = None
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        if self._thread is not None:
            self._thread.join(_STOP_TIMEOUT_S)
            if self._thread.is_alive() and self._uvicorn is not None:
                self._uvicorn.force_exit = True
                self._thread.join(_STOP_TIMEOUT_S)
        self._thread = None
        self._uvicorn = None
        if self.app is not None:
            self.app.state.services.store.close()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> CallcardServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- addresses and clients ------------------------------------------------------------------------

    def _require(self) -> Settings:
        if self.settings is None:
            raise RuntimeError("the server has not been started")
        return self.settings

    @property
    def url(self) -> str:
        """The portal's base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return self._require().public_url

    @property
    def services(self) -> Any:
        """The running callcard's ``Services`` (in-process access for assertions the API lacks)."""
        self._require()
        return self.app.state.services

    @property
    def control_token(self) -> str:
        return str(self.services.control_token)

    def _verify(self) -> Any:
        if not self._require().https:
            return True
        return ssl.create_default_context(cafile=str(self.services.tls.bundle))

    @property
    def control(self) -> httpx.Client:
        """An ``httpx.Client`` on ``<url>/_callcard`` with the control token: ``control.get("/cards/2")``."""
        if self._control is None:
            self._control = httpx.Client(
                base_url=f"{self.url}/_callcard", timeout=10.0, verify=self._verify(),
                headers={"Authorization": f"Bearer {self.control_token}"},
            )
        return self._control

    @property
    def http(self) -> httpx.Client:
        """A plain ``httpx.Client`` on the portal's base URL (no credentials)."""
        if self._http is None:
            self._http = httpx.Client(base_url=self.url, timeout=10.0, verify=self._verify())
        return self._http

    def control_call(self, method: str, path: str, json: Any = None, params: Any = None) -> Any:
        """One control API request; the decoded JSON, or ``ControlError`` for a non-2xx answer."""
        resp = self.control.request(method, path, json=json, params=params)
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
        if resp.status_code >= 400:
            raise ControlError(resp.status_code, body, f"{method} /_callcard{path}")
        return body

    # -- REST -----------------------------------------------------------------------------------------

    def rest(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        auth: Any = None,
        webhook: str | None = None,
    ) -> RestReply:
        """Call a REST method as an app would: ``POST /rest/<method>.json`` with a JSON body.

        ``auth``: an access token, or an object with ``.access_token`` (``InstalledApp``); it goes into
        the body as ``auth``. ``webhook``: a webhook base URL (``…/rest/1/<code>/``) instead. With neither,
        the call carries no credentials. Errors are returned, not raised: check ``reply.ok``.
        """
        body = dict(params or {})
        if webhook is not None:
            url = webhook.rstrip("/") + f"/{method}.json"
        else:
            url = f"{self.url}/rest/{method}.json"
            token = _auth_token(auth)
            if token is not None:
                body["auth"] = token
        resp = self.http.post(url, json=body)
        try:
            decoded: Any = resp.json()
        except ValueError:
            decoded = resp.text
        return RestReply(resp.status_code, decoded)

    # -- the control API's common operations -------------------------------------------------------------

    def install_app(
        self,
        name: str = "Test app",
        *,
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
        handler: str = "",
    ) -> InstalledApp:
        """Install an app (finished install) and return its credentials with tokens for user 1 (admin)."""
        data = self.control_call("POST", "/apps", {"name": name, "scopes": list(scopes), "handler": handler})
        return InstalledApp(
            app_id=int(data["app_id"]), name=name, scopes=tuple(scopes), handler=handler,
            client_id=data["client_id"], client_secret=data["client_secret"],
            access_token=data["access_token"], refresh_token=data["refresh_token"],
            application_token=data["application_token"], member_id=data["member_id"], credentials=dict(data),
            server=self,
        )

    def login_url(self, user_id: int = OPERATOR_ID) -> str:
        """A one-time portal login link (``/login/<token>``) for ``user_id``."""
        return str(self.control_call("POST", "/login-url", {"user_id": user_id})["url"])

    def webhook(self, user_id: int = 1, scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES) -> str:
        """A new inbound webhook base URL for ``user_id``."""
        data = self.control_call("POST", "/webhooks", {"user_id": user_id, "scopes": list(scopes)})
        return str(data["url"])

    def simulate_call(
        self, direction: str = "incoming", phone_number: str = "", *, user_id: int = OPERATOR_ID,
        app: Any = None,
    ) -> Any:
        """Simulate a call reaching the portal (control ``POST /calls``); see ``Operations.simulate_call``."""
        app_id = getattr(app, "app_id", app)
        return self.control_call("POST", "/calls", {
            "direction": direction, "phone_number": phone_number, "user_id": user_id, "app_id": app_id,
        })

    def reset(self) -> None:
        """Forget calls, cards, deliveries, findings and the timeline (apps and placements stay)."""
        self.control_call("POST", "/reset")


def server_of(app: Any, server: CallcardServer | None) -> CallcardServer:
    """The server to ask about ``app``: ``server`` if given, else the one the app was installed on."""
    found = server or getattr(app, "server", None)
    if found is None:
        raise TypeError("pass server=..., or an app from callcard_app / CallcardServer.install_app")
    return found


def app_id_of(app: Any) -> int | None:
    """An app's id from an ``InstalledApp`` (or anything with ``.app_id``), an int, or None."""
    if app is None:
        return None
    return int(app) if isinstance(app, int) else int(app.app_id)
