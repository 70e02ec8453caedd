"""The delivery worker: an asyncio task that POSTs what the outbox says is due.

It decides nothing about retries: it sends a due row once, measures it, and hands the outcome to
``Outbox.record_attempt``. Because rows are committed before they are sent and settled only after an
answer, a row that was pending or in flight when callcard stopped (crash, ``kill -9``, restart) is sent
again at the next start-up: nothing accepted is lost (delivery is at-least-once).

Transport (rest-api.md §9.8, §9.13, placements.md §4): ``POST``, ``application/x-www-form-urlencoded``,
the stored body byte for byte, timeout ``settings.delivery_timeout_s`` for the whole exchange,
redirects not followed (a 3xx is a failed attempt, as any non-2xx).

The worker wakes when the outbox queues a row (it registers itself as a listener; enqueue may happen on
any thread), when an attempt ends, and at least every ``poll_s`` so that deadlines on an injected clock
are noticed.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from ..clock import Clock
from ..settings import Settings
from ..store import Row
from .outbox import Outbox

__all__ = ["DeliveryWorker", "Faults"]

log = logging.getLogger("callcard.outbox")

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass
class Faults:
    """Injected faults for the control API and tests: an attempt to a URL in ``fail_urls`` fails
    without a request being made; every attempt first waits ``delay_s`` seconds (counted against the
    delivery timeout, like a slow handler)."""

    fail_urls: set[str] = field(default_factory=set)
    delay_s: float = 0.0

    def clear(self) -> None:
        self.fail_urls.clear()
        self.delay_s = 0.0


class DeliveryWorker:
    """Sends due outbox rows on the running event loop.

    ``on_attempt(info)`` (sync or async) is called after every recorded attempt with a JSON-ready dict:
    ``outbox_id, kind, url, app_id, attempt, status_code, error, duration_ms, status, next_attempt_at,
    at``. ``verify`` is passed to httpx (True, a CA bundle path or an ``ssl.SSLContext``).
    """

    def __init__(
        self,
        outbox: Outbox,
        clock: Clock,
        settings: Settings,
        on_attempt: Callable[[dict[str, Any]], Any] | None = None,
        *,
        verify: bool | str | ssl.SSLContext = True,
        poll_s: float = 0.5,
        concurrency: int = 8,
    ) -> None:
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        self.on_attempt = on_attempt
        self.verify = verify
        self.poll_s = poll_s
        self.faults = Faults()
        self._concurrency = max(1, concurrency)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_event: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._sem: asyncio.Semaphore | None = None
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._lock = threading.Lock()
        outbox.listeners.append(self.wake)

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the worker task on the running loop (call from async code, e.g. a lifespan).
        Rows already pending (left by a previous run) are sent right away."""
        if self.running:
            return
        self._open()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name="callcard-outbox")

    async def stop(self) -> None:
        """Cancel the worker and any attempt in flight (those rows stay pending for the next start)."""
        self._stopping = True
        task, self._task = self._task, None
        pending = [t for t in (task, *self._tasks) if t is not None]
        for t in pending:
            t.cancel()
        for t in pending:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self._tasks.clear()
        self._inflight.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._loop = None

    def wake(self) -> None:
        """Look for due rows now. Safe to call from any thread, and before ``start``."""
        loop, event = self._loop, self._wake_event
        if loop is None or event is None:
            return
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        if current is loop:
            event.set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                loop.call_soon_threadsafe(event.set)

    async def drain(self, timeout: float = 5.0) -> bool:
        """Wait until no row is due and none is in flight; True if that happened within ``timeout``.

        Rows waiting for a later retry (``next_attempt_at`` in the future) do not count. For tests.
        """
        if not self.running:
            raise RuntimeError("the delivery worker is not running")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if not self._inflight and not self._due():
                return True
            if loop.time() >= deadline:
                return False
            self.wake()
            await asyncio.sleep(0.01)

    async def run_once(self) -> int:
        """Send every due row now and wait for the outcomes (without the background task). Returns how
        many attempts were made."""
        opened = self._client is None
        if opened:
            self._open()
        try:
            tasks = self._dispatch()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            return len(tasks)
        finally:
            if opened and not self.running and self._client is not None:
                await self._client.aclose()
                self._client = None

    # -- internals ------------------------------------------------------------------------------------

    def _open(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake_event = asyncio.Event()
        self._sem = asyncio.Semaphore(self._concurrency)
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.delivery_timeout_s,
                follow_redirects=False,
                verify=self.verify,
                # proxies from the environment must not capture loopback handler URLs
                trust_env=False,
                headers={"User-Agent": "callcard-outbox"},
            )

    def _due(self) -> list[Row]:
        with self._lock:
            busy = set(self._inflight)
        return [r for r in self.outbox.due(self.clock.now()) if r["id"] not in busy]

    def _dispatch(self) -> list[asyncio.Task[None]]:
        started = []
        for row in self._due():
            with self._lock:
                self._inflight.add(row["id"])
            task = asyncio.get_running_loop().create_task(self._deliver(row))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            started.append(task)
        return started

    def _wait_s(self) -> float:
        next_at = self.outbox.next_due_at()
        if next_at is None:
            return self.poll_s
        ahead = next_at - self.clock.now()
        # ahead <= 0 means the earliest row is already in flight: its end wakes us.
        return self.poll_s if ahead <= 0 else min(self.poll_s, ahead)

    async def _run(self) -> None:
        assert self._wake_event is not None
        while not self._stopping:
            self._wake_event.clear()
            try:
                self._dispatch()
                wait = self._wait_s()
            except Exception:  # a store hiccup must not kill delivery for the rest of the run
                log.exception("outbox dispatch failed")
                wait = self.poll_s
            # Not asyncio.wait_for: on 3.11 it can swallow a cancel that races with the event being
            # set, and stop() would then wait forever for this task.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake_event.wait()

    async def _deliver(self, row: Row) -> None:
        assert self._sem is not None
        try:
            async with self._sem:
                status_code, error, duration_ms = await self._post(row)
            try:
                updated = self.outbox.record_attempt(row["id"], status_code, error, duration_ms)
            except Exception:
                log.exception("recording the attempt on outbox row %s failed", row["id"])
                return
        finally:
            with self._lock:
                self._inflight.discard(row["id"])
            self.wake()
        if updated["status"] != "delivered":
            log.warning(
                "delivery %s of %s to %s failed (%s); row is %s",
                updated["attempts"], row["kind"], row["url"], error, updated["status"],
            )
        await self._report(row, updated, status_code, error, duration_ms)

    async def _post(self, row: Row) -> tuple[int | None, str, float]:
        """One POST of the row's stored body: (status code or None, error text, duration in ms)."""
        assert self._client is not None
        faults = self.faults
        started = time.perf_counter()
        status_code: int | None = None
        error = ""
        try:
            # The whole exchange, an injected delay included (it stands for a slow handler), has one
            # deadline; httpx's own timeout only bounds each phase.
            async with asyncio.timeout(self.settings.delivery_timeout_s):
                if faults.delay_s > 0:
                    await asyncio.sleep(faults.delay_s)
                if row["url"] in faults.fail_urls:
                    error = "fault injected (fail_urls)"
                else:
                    response = await self._client.post(
                        row["url"],
                        content=row["body"].encode("utf-8"),
                        headers={"Content-Type": FORM_CONTENT_TYPE},
                    )
                    status_code = response.status_code
                    if not 200 <= status_code < 300:
                        error = f"HTTP {status_code}"
        except (TimeoutError, httpx.TimeoutException):
            error = f"timeout after {self.settings.delivery_timeout_s:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # e.g. httpx.InvalidURL for a malformed handler URL
            error = f"{type(exc).__name__}: {exc}"
        return status_code, error, (time.perf_counter() - started) * 1000.0

    async def _report(
        self, row: Row, updated: Row, status_code: int | None, error: str, duration_ms: float
    ) -> None:
        if self.on_attempt is None:
            return
        info = {
            "outbox_id": row["id"],
            "kind": row["kind"],
            "url": row["url"],
            "app_id": row["app_id"],
            "attempt": updated["attempts"],
            "status_code": status_code,
            "error": error,
            "duration_ms": round(duration_ms, 3),
            "status": updated["status"],
            "next_attempt_at": updated["next_attempt_at"],
            "at": self.clock.now(),
        }
        try:
            result = self.on_attempt(info)
            if inspect.isawaitable(result):
                await result
        except Exception:  # the timeline is a spectator; it must not break delivery
            log.exception("on_attempt callback failed")
