"""The ``batch`` method (rest-api.md §5).

``cmd`` maps keys to ``"method?urlencoded-params"`` strings (an object, or an array); each sub-query is
decoded with the rules of ``params.py`` (a trailing ``&`` is fine) and run through the same dispatcher as
a top-level call, with the outer caller unless the sub-query carries its own ``auth``. The answer is
always HTTP 200::

    {"result": {"result": {k: ...}, "result_error": {k: {...}}, "result_total": {k: n},
                "result_next": {k: n}, "result_time": {k: {...}}}, "time": {...}}

Each member is rendered as a PHP array: ``[]`` when empty, a list for keys 0..n-1. A failed sub-call
has only a ``result_error`` entry; with ``halt`` the batch stops at the first failure. More than 50
commands is ``ERROR_BATCH_LENGTH_EXCEEDED`` (400) for the whole request (the team's reading of the
spec; the platform answers that error per command beyond the 50th). The batch counts once in the
request bucket and adds no operating time itself; its sub-calls do.
"""

from __future__ import annotations

from typing import Any

from ..errors import BitrixError, error
from .dispatch import Dispatcher, Outcome
from .envelope import php_array
from .params import parse_php_query, pop_auth
from .registry import CallContext, Method, Registry
from .types import to_bool

__all__ = ["BATCH_MAX_LENGTH", "batch", "register_batch"]

BATCH_MAX_LENGTH = 50


def _halt(value: Any) -> bool:
    try:
        return to_bool(value if value is not None else False)
    except ValueError:
        return bool(value)  # PHP (bool) of anything else: non-empty is true


def _commands(cmd: Any) -> list[tuple[Any, Any]]:
    if isinstance(cmd, dict):
        return list(cmd.items())
    if isinstance(cmd, list | tuple):
        return list(enumerate(cmd))
    return []  # the platform silently runs nothing for a missing or scalar cmd


def _method_name(path: str) -> str:
    name = path.strip().strip("/")
    if name.lower().endswith(".json"):
        name = name[: -len(".json")]
    return name


async def _sub_call(ctx: CallContext, dispatcher: Dispatcher, command: Any) -> Outcome:
    if not isinstance(command, str):
        return Outcome(404, error("ERROR_METHOD_NOT_FOUND").envelope())
    path, _, query = command.partition("?")
    params = parse_php_query(query)
    token = pop_auth(params)
    try:
        method = dispatcher.lookup(_method_name(path))
        if not method.batchable:
            raise error("ERROR_BATCH_METHOD_NOT_ALLOWED")
        caller = dispatcher.resolver.from_token(token) if token else ctx.caller
    except BitrixError as exc:
        return Outcome(exc.status, exc.envelope())
    return await dispatcher.invoke(method, caller, params, request_ip=ctx.request_ip, in_batch=True)


async def batch(ctx: CallContext, raw: dict[str, Any]) -> dict[str, Any]:
    """Run the ``cmd`` sub-calls; see the module docstring for the result shape."""
    dispatcher: Dispatcher = ctx.dispatcher
    upper = {k.upper(): v for k, v in raw.items() if isinstance(k, str)}
    halt = _halt(upper.get("HALT"))
    commands = _commands(upper.get("CMD"))
    if len(commands) > BATCH_MAX_LENGTH:
        raise error("ERROR_BATCH_LENGTH_EXCEEDED")
    results: dict[Any, Any] = {}
    errors: dict[Any, Any] = {}
    totals: dict[Any, Any] = {}
    nexts: dict[Any, Any] = {}
    times: dict[Any, Any] = {}
    for key, command in commands:
        outcome = await _sub_call(ctx, dispatcher, command)
        body = outcome.body
        if not outcome.ok:
            errors[key] = body
            if halt:
                break
            continue
        results[key] = body.get("result")
        if "total" in body:
            totals[key] = body["total"]
        if "next" in body:
            nexts[key] = body["next"]
        times[key] = body["time"]
    return {
        "result": php_array(results),
        "result_error": php_array(errors),
        "result_total": php_array(totals),
        "result_next": php_array(nexts),
        "result_time": php_array(times),
    }


def register_batch(registry: Registry) -> Method:
    """Add ``batch`` to ``registry`` (once); returns the registered method."""
    existing = registry.get("batch")
    if existing is not None:
        return existing
    return registry.add(
        "batch",
        batch,
        params=None,
        scope=None,
        batchable=False,
        operating=False,
        summary="Run up to 50 methods in one request",
        description=(
            "Params: `halt` (0/1) and `cmd`, an object or array of `method?urlencoded-params` strings. "
            "Always HTTP 200; per-command results, errors, totals, next offsets and timings."
        ),
    )
