"""The test apps' origin: ``http://localhost:<port>`` (another origin than the portal's ``127.0.0.1``).

It serves the files of ``tests/e2e/apps`` for GET and for the portal's form POST (``?delay_ms=N`` answers N ms
late: the watchdog's slow handler), the real b24jssdk UMD bundle at ``/b24jssdk.js``, and sinks
(``POST /sink/...``: errorHandlerUrl notices, beacons) that record what they receive.
"""

from __future__ import annotations

import mimetypes
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

HERE = Path(__file__).resolve().parent
APPS_DIR = HERE / "apps"
SDK_FILE = HERE / "node_modules/@bitrix24/b24jssdk/dist/umd/index.min.js"


@dataclass(frozen=True)
class Received:
    """One POST the app origin received."""

    path: str
    query: dict[str, str]
    form: dict[str, str]
    body: bytes
    content_type: str


class AppOrigin:
    """Serve the test apps on ``http://localhost:<port>`` in a thread (``with AppOrigin() as origin``)."""

    def __init__(self, root: Path = APPS_DIR, sdk_file: Path = SDK_FILE) -> None:
        self.root = root.resolve()
        self.sdk_file = sdk_file
        self.port = 0
        self._received: list[Received] = []
        self._cond = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://localhost:{self.port}"

    def start(self) -> AppOrigin:
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        httpd.daemon_threads = True
        self._httpd = httpd
        self.port = int(httpd.server_address[1])
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="e2e-app-origin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> AppOrigin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def posts(self, path: str) -> list[Received]:
        with self._cond:
            return [r for r in self._received if r.path == path]

    def wait_posts(self, path: str, count: int = 1, timeout: float = 5.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(found := [r for r in self._received if r.path == path]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} POST(s) to {path}, got {len(found)}")
                self._cond.wait(left)
            return found

    def _record(self, received: Received) -> None:
        with self._cond:
            self._received.append(received)
            self._cond.notify_all()

    def _file(self, path: str) -> Path | None:
        if path == "/b24jssdk.js":
            return self.sdk_file if self.sdk_file.is_file() else None
        target = (self.root / path.lstrip("/")).resolve()
        if self.root not in target.parents or not target.is_file():
            return None
        return target


def _handler(origin: AppOrigin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet test output
            return

        def _answer(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            if self.command == "POST":
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                form = (dict(parse_qsl(body.decode(), keep_blank_values=True))
                        if ctype.startswith("application/x-www-form-urlencoded") else {})
                origin._record(Received(parts.path, query, form, body, ctype))
                if parts.path.startswith("/sink/"):
                    self._answer(200, b"ok", "text/plain")
                    return
            file = origin._file(parts.path)
            if file is None:
                self._answer(404, b"not found", "text/plain")
                return
            if query.get("delay_ms"):  # a slow handler (the watchdog test): answer late
                time.sleep(int(query["delay_ms"]) / 1000)
            ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            self._answer(200, file.read_bytes(), ctype + "; charset=utf-8")

        do_GET = _serve  # noqa: N815 - http.server's naming
        do_POST = _serve  # noqa: N815

    return Handler
