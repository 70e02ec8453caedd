"""``AppServer``: your app's files on a second origin (``http://localhost:<free port>``), for tests.

On Bitrix24 an app lives on its own host and the portal embeds it cross-origin. callcard's portal is on
``127.0.0.1``; serving the app on ``localhost`` gives the browser a second origin (and a second site, so
cookies stay apart) without DNS. The server:

* answers ``GET``/``HEAD`` with the files of ``root`` (``index.html`` for a directory);
* answers ``POST`` to a file with that file too — that is how the portal loads a frame (a hidden form
  POSTs AUTH_ID, PLACEMENT, PLACEMENT_OPTIONS… to the handler URL, wire-protocol.md §3);
* answers ``POST`` to any other path with ``200 ok``, so the same server can be an event handler or an
  ``errorHandlerUrl``;
* records every request (``requests``, ``posts()``, ``wait_for_request()``) with its decoded form fields.

It is the standard library's threaded HTTP server: no event loop, nothing to install.
"""

from __future__ import annotations

import mimetypes
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["AppRequest", "AppServer"]


@dataclass(frozen=True)
class AppRequest:
    """One request the app server received. ``form``: urlencoded body fields (last value wins)."""

    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    body: bytes = field(repr=False)
    at: float


class AppServer:
    """Serve ``root`` on ``http://localhost:<port>`` in a thread. Use ``with AppServer(dir) as app:``."""

    def __init__(self, root: str | Path, *, host: str = "localhost") -> None:
        self.root = Path(root).resolve()
        if not self.root.is_dir():
            raise NotADirectoryError(f"app root {self.root} is not a directory")
        self.host = host
        self.port = 0
        self._requests: list[AppRequest] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> AppServer:
        if self._httpd is not None:
            raise RuntimeError("the app server is already running")
        # Bound to IPv4 loopback: "localhost" resolves there for Chromium and for httpx alike.
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"callcard-appserver-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> AppServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The app's origin, ``http://localhost:<port>`` (no trailing slash)."""
        if not self.port:
            raise RuntimeError("the app server has not been started")
        return f"http://{self.host}:{self.port}"

    def url_for(self, path: str) -> str:
        """An absolute URL on the app's origin: ``url_for("/worker.html")``."""
        return self.url + "/" + path.lstrip("/")

    # -- what arrived ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[AppRequest]:
        with self._lock:
            return list(self._requests)

    def posts(self, path: str | None = None) -> list[AppRequest]:
        """The POSTs received (to ``path`` only, when given), oldest first."""
        return [r for r in self.requests if r.method == "POST" and (path is None or r.path == path)]

    def wait_for_request(
        self,
        path: str | None = None,
        *,
        method: str | None = "POST",
        where: Callable[[AppRequest], bool] | None = None,
        count: int = 1,
        timeout: float = 10.0,
    ) -> list[AppRequest]:
        """Block until ``count`` matching requests have arrived; return them (``TimeoutError`` if not)."""

        def matching() -> list[AppRequest]:
            return [r for r in self._requests
                    if (method is None or r.method == method) and (path is None or r.path == path)
                    and (where is None or where(r))]

        deadline = time.monotonic() + timeout
        with self._changed:
            while len(found := matching()) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{count} {method or 'any'} request(s) to {path or 'any path'} "
                                       f"expected within {timeout}s, got {len(found)}")
                self._changed.wait(left)
            return found

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def _record(self, request: AppRequest) -> None:
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()

    def _file(self, path: str) -> Path | None:
        target = (self.root / unquote(path).lstrip("/")).resolve()
        if target != self.root and self.root not in target.parents:
            return None  # no escaping the app root with ../
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() else None


def _handler_class(server: AppServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
            return

        def _read(self) -> AppRequest:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            form: dict[str, str] = {}
            ctype = self.headers.get("Content-Type", "")
            if body and ctype.startswith("application/x-www-form-urlencoded"):
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            request = AppRequest(
                method=self.command, path=parts.path or "/",
                query=dict(parse_qsl(parts.query, keep_blank_values=True)), form=form,
                headers={k: v for k, v in self.headers.items()}, body=body, at=time.time(),
            )
            server._record(request)
            return request

        def _send(self, status: int, content: bytes, ctype: str, head: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(content)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head:
                self.wfile.write(content)

        def _serve(self, request: AppRequest, head: bool = False) -> None:
            file = server._file(request.path)
            if file is None:
                if request.method == "POST":
                    self._send(200, b"ok", "text/plain; charset=utf-8")  # an event handler endpoint
                else:
                    self._send(404, b"not found", "text/plain; charset=utf-8", head)
                return
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
                ctype += "; charset=utf-8"
            self._send(200, file.read_bytes(), ctype, head)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(self._read())

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(self._read(), head=True)

        def do_POST(self) -> None:  # noqa: N802
            self._serve(self._read())

    return Handler
