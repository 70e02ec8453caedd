"""What callcard notices while it serves: REST calls and outbound deliveries, seen by the timeline and
the conformance report.

``rest_observer`` is the REST endpoint's ``on_call`` hook; ``delivery_observer`` is the delivery
worker's ``on_attempt`` hook. Both only record: they never change an answer or a delivery.
"""

from __future__ import annotations

from typing import Any

from .domain import conformance as conf
from .services import Services

__all__ = ["delivery_observer", "rest_observer", "SLOW_HANDLER_MS"]

#: an event handler slower than this is reported (the platform waits at most 10 s, then gives up)
SLOW_HANDLER_MS = 3000.0


def rest_observer(services: Services) -> Any:
    def record(call: dict[str, Any]) -> None:
        caller = call.get("caller")
        app_id = getattr(caller, "app_id", None)
        journal = services.journal
        if journal is not None and journal.enabled:
            journal.add(
                "rest",
                f"{call['method'] or call['path']} → {call['status']}",
                {"request": call["params"], "response": call["response"]},
                app_id=app_id,
                user_id=getattr(caller, "user_id", None),
                status=call["status"],
                duration_ms=round(call["duration_ms"], 3),
                method=call["method"],
            )
        body = call["response"]
        if call["status"] < 400 or app_id is None or not isinstance(body, dict):
            return
        description = str(body.get("error_description", ""))
        detail = {"method": call["method"], "params": call["params"], "status": call["status"]}
        if str(call["method"]).lower() == "telephony.externalcall.finish" and description.startswith(
            "Call is not found"
        ):
            services.conformance.record(
                app_id, conf.FINISH_UNKNOWN_CALL, message=f"finish for unknown CALL_ID "
                f"{call['params'].get('CALL_ID')!r}", detail=detail
            )
            return
        services.conformance.record(
            app_id, conf.REST_ERROR, conf.WARNING,
            f"{call['method']} answered {body.get('error')}: {description}", detail,
        )

    return record


def delivery_observer(services: Services) -> Any:
    def record(attempt: dict[str, Any]) -> None:
        if services.journal is not None:
            outcome = attempt.get("status_code") or attempt.get("error")
            summary = f"{attempt.get('kind')} → {attempt.get('url')}: {outcome}"
            services.journal.add("delivery", summary, attempt, app_id=attempt.get("app_id"))
        app_id = attempt.get("app_id")
        if app_id is None:
            return
        status = attempt.get("status_code")
        detail = {k: attempt.get(k) for k in ("kind", "url", "status_code", "error", "duration_ms", "attempt")}
        if status is None or not 200 <= int(status) < 300:
            services.conformance.record(
                app_id, conf.HANDLER_ERROR,
                message=f"{attempt.get('kind')} handler {attempt.get('url')} failed: "
                f"{status or attempt.get('error') or 'no answer'}", detail=detail,
            )
        elif float(attempt.get("duration_ms") or 0) > SLOW_HANDLER_MS:
            services.conformance.record(
                app_id, conf.SLOW_HANDLER,
                message=f"{attempt.get('kind')} handler {attempt.get('url')} took "
                f"{float(attempt['duration_ms']):.0f} ms", detail=detail,
            )

    return record
