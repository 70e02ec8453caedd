"""Test helpers over a running callcard: the call card, the timeline, the conformance report, frames.

Everything here talks to the server through its control API (``/_callcard/…``), the same way the CLI
does, so the helpers see exactly what callcard recorded:

* ``Card`` — the operator's call card: ``view()``, ``state``, ``press(button, value)`` (a real click in
  the portal page when a Playwright page is given, otherwise the control API), ``wait_state(...)``;
* ``Timeline`` — the journal: ``events(kind=..., name=...)``, ``wait_for(...)``, ``wait_bound(...)``;
* ``conformance(app)`` — the app's findings as a ``ConformanceReport`` (``clean``, ``assert_clean()``);
* ``frames(app)`` — the app's frames that portal pages loaded, with their load times;
* ``app_frame(page, app_server)`` — the Playwright ``Frame`` of your app inside the portal page.

The app server for your app's files is ``AppServer`` (``callcard.testing.appserver``), re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .appserver import AppRequest, AppServer
from .card import Card
from .server import CallcardServer, app_id_of, server_of
from .timeline import FrameLoad, Timeline, TimelineEntry, frames
from .waiting import wait_until

__all__ = [
    "LOCAL_SETUP_KINDS",
    "AppRequest",
    "AppServer",
    "Card",
    "ConformanceReport",
    "FrameLoad",
    "Timeline",
    "TimelineEntry",
    "app_frame",
    "conformance",
    "frames",
    "wait_until",
]

#: findings that only the local test setup causes, left out of ``conformance(app)`` by default: a handler
#: on ``localhost`` has no dot in its host (the platform wants a public name; a local test cannot have one)
LOCAL_SETUP_KINDS: tuple[str, ...] = ("dotless_handler_host",)


@dataclass(frozen=True)
class ConformanceReport:
    """An app's conformance findings (dicts with kind, severity, message, detail, count, why, fix).

    ``findings`` excludes the kinds in ``ignored_kinds`` (by default ``LOCAL_SETUP_KINDS``); those are in
    ``ignored``. ``clean`` means no findings.
    """

    app_id: int | None
    findings: list[dict[str, Any]]
    ignored: list[dict[str, Any]]
    ignored_kinds: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not self.findings

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == "error"]

    @property
    def warnings(self) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["severity"] == "warning"]

    @property
    def kinds(self) -> list[str]:
        return [str(f["kind"]) for f in self.findings]

    def assert_clean(self) -> None:
        """Raise ``AssertionError`` listing every finding with its why and fix."""
        if not self.clean:
            raise AssertionError(str(self))

    def __str__(self) -> str:
        if self.clean:
            return f"conformance report of app {self.app_id}: clean"
        lines = [f"conformance report of app {self.app_id}: {len(self.findings)} finding(s)"]
        for f in self.findings:
            times = f" (x{f['count']})" if int(f.get("count") or 1) > 1 else ""
            lines += [f"- [{f['severity']}] {f['kind']}: {f['message']}{times}",
                      f"    why: {f.get('why', '')}", f"    fix: {f.get('fix', '')}"]
        return "\n".join(lines)


def conformance(app: Any, *, server: CallcardServer | None = None,
                ignore: Iterable[str] = LOCAL_SETUP_KINDS) -> ConformanceReport:
    """The conformance report of ``app`` (an ``InstalledApp``, or an app id with ``server=``).

    Pass ``ignore=()`` to see every finding, including those only the local setup causes.
    """
    srv = server_of(app, server)
    app_id = app_id_of(app)
    data = srv.control_call("GET", "/conformance", params={} if app_id is None else {"app_id": app_id})
    skip = tuple(ignore)
    rows = list(data.get("findings", []))
    return ConformanceReport(
        app_id=app_id,
        findings=[f for f in rows if f["kind"] not in skip],
        ignored=[f for f in rows if f["kind"] in skip],
        ignored_kinds=skip,
    )


def app_frame(page: Any, app: Any, *, path: str | None = None, timeout: float = 10.0) -> Any:
    """The Playwright ``Frame`` of your app in ``page``, once its document has loaded.

    ``app``: the app's origin (``"http://localhost:8001"``), or anything with ``.url`` (an ``AppServer``)
    or ``.handler``. ``path`` narrows it to one handler page (``"/worker.html"``).
    """
    origin = app if isinstance(app, str) else getattr(app, "url", None) or getattr(app, "handler", "")
    prefix = str(origin).rstrip("/") + (("/" + path.lstrip("/")) if path else "/")
    if not prefix.startswith("http"):
        raise TypeError("app must be an origin URL, an AppServer or an app with a handler URL")

    def find() -> Any:
        for frame in page.frames:
            if frame is not page.main_frame and frame.url.startswith(prefix):
                return frame
        return None

    deadline = time.monotonic() + timeout
    while (frame := find()) is None:
        if time.monotonic() >= deadline:
            raise TimeoutError(f"no frame from {prefix} in the portal page after {timeout}s")
        page.wait_for_timeout(50)  # lets Playwright process the page's events while we wait
    frame.wait_for_load_state("load", timeout=max(1.0, (deadline - time.monotonic()) * 1000))
    return frame
