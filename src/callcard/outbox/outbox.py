"""The persisted outbox: every outbound HTTP delivery is a row before anything is sent.

Rows live in the ``outbox`` table (store/migrations/0005_outbox.sql); every attempt is a row of
``delivery_attempts``. A row is ``pending`` until an attempt settles it as ``delivered`` (a 2xx answer)
or ``failed`` (policy exhausted). The worker (``outbox.worker``) only sends what ``due()`` returns and
reports back through ``record_attempt``; all decisions live here, against the injected clock.

Policies:

* ``once`` — as the platform (rest-api.md §9.8: "No retry; failures are logged"): one attempt, then
  ``delivered`` or ``failed``.
* ``retry`` — exponential backoff 1, 2, 4 … seconds, capped at 60 s, up to
  ``settings.delivery_max_attempts`` attempts in all, then ``failed``.

errorHandlerUrl notices are always ``once`` (placements.md §4: "no retry"), whatever the default.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from ..clock import Clock
from ..domain.events import WATCHDOG_NOTICE
from ..settings import Settings
from ..store import Row, Store
from .forms import encode_form

__all__ = ["BACKOFF_CAP_S", "NOTICE_KINDS", "POLICIES", "Outbox", "backoff_s"]

log = logging.getLogger("callcard.outbox")

POLICIES = ("once", "retry")
#: kinds that are errorHandlerUrl notices; they never retry
NOTICE_KINDS = frozenset({"errorHandlerUrl", WATCHDOG_NOTICE})
BACKOFF_CAP_S = 60.0

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)

# A module-level alias: the class has a method called ``list``.
Rows = list[Row]


def backoff_s(attempts_made: int) -> float:
    """Delay before the next try after ``attempts_made`` failed attempts: 1, 2, 4 … capped at 60 s."""
    return min(BACKOFF_CAP_S, float(2 ** max(0, attempts_made - 1)))


class Outbox:
    """Durable queue of outbound deliveries over a ``Store``.

    All times come from ``clock``; the default policy from ``settings.delivery_policy`` (changeable at
    run time with ``set_policy``).
    """

    def __init__(self, store: Store, clock: Clock, settings: Settings) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self._policy = self._check_policy(settings.delivery_policy)
        #: called (on the enqueuing thread) after every enqueue; the worker wakes itself up this way
        self.listeners: list[Callable[[], None]] = []

    # -- policy ---------------------------------------------------------------------------------------

    @staticmethod
    def _check_policy(policy: str) -> str:
        if policy not in POLICIES:
            raise ValueError(f"delivery policy must be one of {POLICIES}, not {policy!r}")
        return policy

    @property
    def policy(self) -> str:
        """The policy given to new deliveries that do not name one."""
        return self._policy

    def set_policy(self, policy: str) -> int:
        """Make ``policy`` the default from now on, and apply it to every pending non-notice row (so
        switching to ``retry`` also covers what is queued). Returns how many pending rows changed."""
        self._policy = self._check_policy(policy)
        changed = 0
        with self.store.transaction():
            for row in self.store.find("outbox", {"status": PENDING}):
                if row["kind"] not in NOTICE_KINDS and row["policy"] != policy:
                    changed += self.store.update("outbox", {"id": row["id"]}, {"policy": policy})
        self._notify()
        return changed

    # -- queueing -------------------------------------------------------------------------------------

    def enqueue(
        self,
        kind: str,
        url: str,
        body_pairs: Iterable[tuple[str, str]],
        app_id: int | None = None,
        policy: str | None = None,
    ) -> int:
        """Queue one POST of ``body_pairs`` (form-encoded now, stored exactly as it will be sent) to
        ``url``; due at once. The row is committed before this returns. Returns its id."""
        if kind in NOTICE_KINDS:
            chosen = "once"
        else:
            chosen = self._check_policy(policy) if policy is not None else self._policy
        now = self.clock.now()
        row_id = self.store.insert(
            "outbox",
            {
                "kind": kind,
                "app_id": app_id,
                "url": url,
                "body": encode_form(body_pairs),
                "status": PENDING,
                "policy": chosen,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
            },
        )
        self._notify()
        return row_id

    def _notify(self) -> None:
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # a listener must never undo an accepted delivery
                log.exception("outbox listener failed")

    def due(self, now: float | None = None) -> Rows:
        """Pending rows whose next attempt time has come, oldest deadline first."""
        at = self.clock.now() if now is None else now
        rows = self.store.find("outbox", {"status": PENDING}, order_by="next_attempt_at")
        return [r for r in rows if r["next_attempt_at"] <= at]

    def next_due_at(self) -> float | None:
        """The earliest ``next_attempt_at`` of any pending row, or None when nothing is pending."""
        row = self.store.find("outbox", {"status": PENDING}, order_by="next_attempt_at", limit=1)
        return float(row[0]["next_attempt_at"]) if row else None

    # -- outcomes -------------------------------------------------------------------------------------

    def record_attempt(
        self, outbox_id: int, status_code: int | None, error: str = "", duration_ms: float = 0.0
    ) -> Row:
        """Record one attempt on row ``outbox_id`` and settle it; return the updated row.

        ``status_code`` None means no answer (connection error, timeout; ``error`` says which). A 2xx
        delivers; anything else fails this attempt: under ``once`` the row is ``failed``; under
        ``retry`` it is due again after ``backoff_s`` unless ``delivery_max_attempts`` is reached.
        """
        now = self.clock.now()
        with self.store.transaction():
            row = self.store.get("outbox", outbox_id)
            if row is None:
                raise KeyError(f"no outbox row {outbox_id}")
            if row["status"] != PENDING:
                raise ValueError(f"outbox row {outbox_id} is already {row['status']}")
            self.store.insert(
                "delivery_attempts",
                {
                    "outbox_id": outbox_id,
                    "at": now,
                    "status_code": status_code,
                    "error": error,
                    "duration_ms": float(duration_ms),
                },
            )
            attempts = int(row["attempts"]) + 1
            changes: dict[str, Any] = {"attempts": attempts}
            if status_code is not None and 200 <= status_code < 300:
                changes.update(status=DELIVERED, last_error="")
            else:
                changes["last_error"] = error or f"HTTP {status_code}"
                if row["policy"] == "retry" and attempts < self.settings.delivery_max_attempts:
                    changes["next_attempt_at"] = now + backoff_s(attempts)
                else:
                    changes["status"] = FAILED
            self.store.update("outbox", {"id": outbox_id}, changes)
            row.update(changes)
        return row

    # -- reading --------------------------------------------------------------------------------------

    def get(self, outbox_id: int) -> Row | None:
        return self.store.get("outbox", outbox_id)

    def attempts(self, outbox_id: int) -> Rows:
        """Every attempt made for row ``outbox_id``, first first."""
        return self.store.find("delivery_attempts", {"outbox_id": outbox_id})

    def list(self, status: str | None = None, *, limit: int | None = None) -> Rows:
        """Rows, newest first; only those with ``status`` when given."""
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        where = {"status": status} if status is not None else None
        return self.store.find("outbox", where, order_by="-id", limit=limit)

    def counts(self) -> dict[str, int]:
        """How many rows are in each status."""
        return {s: self.store.count("outbox", {"status": s}) for s in STATUSES}
