"""The conformance report: what an app does that works against callcard but would break on the platform.

Every surface that notices such a thing calls ``Conformance.record(app_id, kind, severity, message)``
with one of the kinds below. Each kind carries a ``why`` (what goes wrong on a real portal) and a ``fix``
(what the app author should change), so the report explains itself.

Flood control: an app that repeats the same mistake on every page load would drown the report, so an
identical finding (same app, kind, severity, message and detail) that directly follows the app's previous
finding is not stored again; the previous row's ``count`` goes up and its ``at`` moves to now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..clock import Clock
from ..store.base import Row, Store

__all__ = [
    "summarize",
    "AWAITED_TIMER",
    "COMMAND_BEFORE_INITIALIZED",
    "COMMAND_IGNORED",
    "Conformance",
    "DOTLESS_HANDLER_HOST",
    "DUPLICATE_BIND",
    "ERROR",
    "EVENT_HELD_BACK",
    "FINISH_UNKNOWN_CALL",
    "HANDLER_ERROR",
    "HIDDEN_UI_STATE",
    "KINDS",
    "Kind",
    "RAW_PARAMS",
    "REGISTER_WITHOUT_FINISH",
    "REST_ERROR",
    "SELECTOR_CANCELLED",
    "SEVERITIES",
    "SLOW_FRAME_LOAD",
    "SLOW_HANDLER",
    "UNKNOWN_BIND_EVENT",
    "WARNING",
    "WATCHDOG_REMOVED",
]

ERROR: Final = "error"
WARNING: Final = "warning"
SEVERITIES: Final = (ERROR, WARNING)

_TABLE: Final = "conformance"


@dataclass(frozen=True)
class Kind:
    """One kind of finding: its code, a short title, its usual severity, and the why/fix texts."""

    code: str
    title: str
    severity: str
    why: str
    fix: str


KINDS: dict[str, Kind] = {}


def _kind(code: str, title: str, severity: str, why: str, fix: str) -> str:
    KINDS[code] = Kind(code, title, severity, why, fix)
    return code


COMMAND_BEFORE_INITIALIZED: Final = _kind(
    "command_before_initialized",
    "Card command sent before BackgroundCallCard::initialized",
    WARNING,
    "On the platform the card is built asynchronously after telephony.externalCall.register; a CallCard* "
    "command that arrives before the card exists fails the guard with 'Call card is undefined', and the "
    "timing differs from portal to portal.",
    "Bind BackgroundCallCard::initialized and send CallCard* commands from its handler (or later).",
)
HIDDEN_UI_STATE: Final = _kind(
    "hidden_ui_state",
    "Undocumented UiState used (idle, sipPhoneError or externalCard)",
    WARNING,
    "CallCardSetUiState accepts these keys on today's platform, but the documentation lists only the 12 "
    "states CallCardGetListUiStates returns; undocumented states may change or vanish without notice.",
    "Use one of the 12 states returned by CallCardGetListUiStates.",
)
AWAITED_TIMER: Final = _kind(
    "awaited_timer",
    "CallCardStartTimer / CallCardStopTimer awaited",
    WARNING,
    "The platform never answers these commands on success: a b24jssdk caller gets {isSafely:true} after "
    "900 ms and a classic BX24 callback never runs, so code waiting for the reply stalls.",
    "Fire CallCardStartTimer / CallCardStopTimer without waiting for a reply.",
)
DUPLICATE_BIND: Final = _kind(
    "duplicate_bind",
    "Same event bound twice",
    WARNING,
    "placementBindEvent has no unbind and no de-duplication: every binding gets every occurrence, so the "
    "app handles each event twice (two hang-ups, two CRM writes...).",
    "Bind each event once per frame load, e.g. behind a flag.",
)
COMMAND_IGNORED: Final = _kind(
    "command_ignored",
    "Command ignored by the host (unknown or denied)",
    WARNING,
    "The platform ignores unknown and denied commands silently: no reply, no error. A caller that waits "
    "for the reply hangs (getInitData-style commands) or gets {isSafely:true} after 900 ms.",
    "Check the command name and that the placement allows it (getInterface lists what is available).",
)
REGISTER_WITHOUT_FINISH: Final = _kind(
    "register_without_finish",
    "Call registered but never finished",
    WARNING,
    "telephony.externalCall.register without telephony.externalCall.finish leaves the call open on the "
    "platform: no statistics record, no CRM activity result, and the operator's card lock can persist.",
    "Call telephony.externalCall.finish for every registered CALL_ID, also for failed or missed calls.",
)
FINISH_UNKNOWN_CALL: Final = _kind(
    "finish_unknown_call",
    "finish for an unknown CALL_ID",
    ERROR,
    "The platform answers an error for a CALL_ID it never registered (or already finished); the call "
    "statistics and CRM activity the app expects are not written.",
    "Finish only CALL_IDs returned by telephony.externalCall.register, and finish each one once.",
)
SLOW_FRAME_LOAD: Final = _kind(
    "slow_frame_load",
    "Background handler loaded too slowly (watchdog strike)",
    WARNING,
    "The platform counts every PAGE_BACKGROUND_WORKER load slower than 5 s; after too many in a day it "
    "deletes the registration and the worker silently stops running for every user.",
    "Make the handler page answer fast: serve a small static page and do the heavy work after onload.",
)
WATCHDOG_REMOVED: Final = _kind(
    "watchdog_removed",
    "Background handler removed by the slow-load watchdog",
    ERROR,
    "The PAGE_BACKGROUND_WORKER registration is gone: from the next page load no frame is inserted and "
    "the app receives no call-card events until it calls placement.bind again.",
    "Speed up the handler, handle the errorHandlerUrl notice, and re-register with placement.bind.",
)
HANDLER_ERROR: Final = _kind(
    "handler_error",
    "Event handler failed",
    ERROR,
    "The platform sends each event once and does not retry: a handler that errors or is unreachable "
    "loses the event for good.",
    "Make the handler answer 2xx quickly and reliably; queue work internally instead of failing.",
)
SLOW_HANDLER: Final = _kind(
    "slow_handler",
    "Event handler answered slowly",
    WARNING,
    "The platform gives up on a handler after a few seconds and may stop sending events to handlers "
    "that are repeatedly slow.",
    "Acknowledge the POST at once and process the event asynchronously.",
)
REST_ERROR: Final = _kind(
    "rest_error",
    "REST call rejected because of the app's request",
    WARNING,
    "The same request fails on the platform with the same error; code that ignores the error envelope "
    "(an 'error' key, sometimes in a 200 body) misbehaves there too.",
    "Fix the request parameters and check every response for an 'error' key.",
)
EVENT_HELD_BACK: Final = _kind(
    "event_held_back",
    "Event held back by the bind guard",
    WARNING,
    "On the platform this event would have been lost by b24jssdk apps: an event arriving within 900 ms "
    "of placementBindEvent resolves the bind promise instead of reaching the handler.",
    "Bind events early (right after frame init) and do not rely on events fired in the first second.",
)
DOTLESS_HANDLER_HOST: Final = _kind(
    "dotless_handler_host",
    "Handler URL host without a dot",
    WARNING,
    "The platform rejects handler URLs whose host has no dot (e.g. localhost) with ERROR_WRONG_HANDLER_URL; "
    "callcard accepts them only because strict_handler_url is off.",
    "Register a public host name (with a dot) on the real portal, e.g. via a tunnel.",
)
RAW_PARAMS: Final = _kind(
    "raw_params",
    "Command parameters are not JSON",
    WARNING,
    "The platform's message listener parses the parameter segment as JSON and throws on anything else; "
    "the command is then never executed.",
    "Send parameters as a JSON value (the SDKs do this when given an object).",
)
UNKNOWN_BIND_EVENT: Final = _kind(
    "unknown_bind_event",
    "placementBindEvent for an event the placement does not have",
    WARNING,
    "The platform registers nothing and answers nothing, so the handler never runs.",
    "Bind only events listed by getInterface for this placement (names are case-sensitive).",
)
SELECTOR_CANCELLED: Final = _kind(
    "selector_cancelled",
    "Selector dialog cancelled without a reply",
    WARNING,
    "The platform's selector dialogs call back only on a selection, so a cancelled dialog leaves the "
    "caller's promise pending forever.",
    "Do not block on selectUser/selectAccess/selectCRM; time out or let the user retry.",
)


class Conformance:
    """The conformance findings, persisted in the ``conformance`` table."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def record(
        self,
        app_id: int | None,
        kind: str,
        severity: str | None = None,
        message: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Record one finding and return its row id.

        ``kind`` must be one of ``KINDS``; ``severity`` (``"error"``/``"warning"``) defaults to the kind's.
        ``message`` defaults to the kind's title. A finding identical to the app's latest one only bumps
        that row's ``count`` and ``at``.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown conformance kind {kind!r}")
        severity = severity or KINDS[kind].severity
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
        message = message or KINDS[kind].title
        detail_value = dict(detail) if detail else None
        now = self._clock.now()
        with self._store.transaction():
            last = self._store.find(_TABLE, {"app_id": app_id}, order_by="-id", limit=1)
            if last and (
                last[0]["kind"],
                last[0]["severity"],
                last[0]["message"],
                last[0]["detail"],
            ) == (kind, severity, message, detail_value):
                row = last[0]
                self._store.update(_TABLE, {"id": row["id"]}, {"count": int(row["count"]) + 1, "at": now})
                return int(row["id"])
            return self._store.insert(
                _TABLE,
                {
                    "app_id": app_id,
                    "kind": kind,
                    "severity": severity,
                    "message": message,
                    "detail": detail_value,
                    "count": 1,
                    "first_at": now,
                    "at": now,
                },
            )

    def findings(self, app_id: int | None = None) -> list[dict[str, Any]]:
        """All findings (of one app when ``app_id`` is given), oldest first, each with the kind's texts:
        ``{id, app_id, kind, severity, message, detail, count, first_at, at, title, why, fix}``."""
        where = None if app_id is None else {"app_id": app_id}
        return [self._view(row) for row in self._store.find(_TABLE, where)]

    def summary(self) -> dict[str, Any]:
        """Totals over every stored finding; see ``summarize``."""
        return summarize(self.findings())

    def clear(self, app_id: int | None = None) -> int:
        """Delete the findings (of one app when given); return how many rows went."""
        return self._store.delete(_TABLE, {} if app_id is None else {"app_id": app_id})

    @staticmethod
    def _view(row: Row) -> dict[str, Any]:
        kind = KINDS.get(row["kind"])
        return {
            "id": row["id"],
            "app_id": row["app_id"],
            "kind": row["kind"],
            "severity": row["severity"],
            "message": row["message"],
            "detail": row["detail"],
            "count": int(row["count"]),
            "first_at": row["first_at"],
            "at": row["at"],
            "title": kind.title if kind else row["kind"],
            "why": kind.why if kind else "",
            "fix": kind.fix if kind else "",
        }


def summarize(findings: list[dict[str, Any]]) -> dict[str, Any]:
    """Totals for a report header, over the findings given (stored or computed). Occurrences (``count``)
    are summed, not rows: ``{"findings": rows, "occurrences": n, "errors": n, "warnings": n,
    "by_kind": {kind: n}, "by_app": {app_id or 0: n}}``."""
    by_kind: dict[str, int] = {}
    by_app: dict[int, int] = {}
    totals = {ERROR: 0, WARNING: 0}
    for row in findings:
        n = int(row["count"])
        totals[row["severity"]] = totals.get(row["severity"], 0) + n
        by_kind[row["kind"]] = by_kind.get(row["kind"], 0) + n
        app_key = int(row["app_id"] or 0)
        by_app[app_key] = by_app.get(app_key, 0) + n
    return {
        "findings": len(findings),
        "occurrences": sum(by_kind.values()),
        "errors": totals[ERROR],
        "warnings": totals[WARNING],
        "by_kind": by_kind,
        "by_app": by_app,
    }
