"""The method registry: the single source for dispatch, validation and the OpenAPI document.

Registering a method::

    registry = Registry()

    class ShowParams(BxModel):
        CALL_ID: BxRequiredStr
        USER_ID: BxInt | BxList[BxInt] | None = None

    @registry.method("telephony.externalCall.show", params=ShowParams, scope="telephony", app_only=True,
                     summary="Show the call card to users")
    def show(ctx: CallContext, params: ShowParams) -> bool:
        ...

Names are matched case-insensitively. A handler gets a ``CallContext`` and the validated model (or the
raw parameter dict when ``params`` is None); it returns the ``result`` value (a ``ListResult`` for list
methods) or raises a catalogue ``BitrixError``. Sync handlers run on the event loop, so they must not
block; ``async def`` handlers are awaited.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

if TYPE_CHECKING:
    from ..clock import Clock
    from ..settings import Settings
    from .auth import Caller

__all__ = ["CallContext", "Handler", "Method", "Registry"]

Handler = Callable[..., Any]


@dataclass
class CallContext:
    """Everything a handler may use besides its parameters."""

    caller: Caller
    services: Any
    request_ip: str
    settings: Settings
    clock: Clock
    #: the method being called (its registered spelling)
    method: str = ""
    #: paging offset from the ``start`` parameter (``page(start)``), 0 when absent
    start: int = 0
    #: the decoded parameters without ``auth``, before validation
    raw: dict[str, Any] = field(default_factory=dict)
    #: true for a sub-call of ``batch``
    in_batch: bool = False
    #: the dispatcher running this call (``batch`` uses it for sub-calls)
    dispatcher: Any = None


@dataclass(frozen=True)
class Method:
    """One REST method and its access rules."""

    name: str
    handler: Handler
    params: type[BaseModel] | None = None
    #: required scope (None: available to every caller, like the platform's global scope)
    scope: str | None = None
    #: webhooks get WRONG_AUTH_TYPE 403
    app_only: bool = False
    #: non-admin users get ACCESS_DENIED 403
    admin_only: bool = False
    #: false: a batch sub-call gets ERROR_BATCH_METHOD_NOT_ALLOWED
    batchable: bool = True
    summary: str = ""
    description: str = ""
    #: JSON schema of ``result`` for the OpenAPI document (any value when None)
    result_schema: dict[str, Any] | None = None
    #: the method returns a ``ListResult`` (documents ``total`` / ``next``)
    paged: bool = False
    #: counts towards the operating-time limit (``batch`` does not; its sub-calls do)
    operating: bool = True
    #: when given and false for the settings, the method answers ERROR_METHOD_NOT_FOUND
    enabled_if: Callable[[Settings], bool] | None = None

    @property
    def key(self) -> str:
        return self.name.lower()

    def available(self, settings: Settings) -> bool:
        return self.enabled_if is None or bool(self.enabled_if(settings))


class Registry:
    """Methods by lower-cased name."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}

    def add(self, name: str, handler: Handler, **options: Any) -> Method:
        """Register ``handler`` as ``name``; ``options`` are the other ``Method`` fields."""
        method = Method(name=name, handler=handler, **options)
        if method.key in self._methods:
            raise ValueError(f"REST method {name!r} is already registered")
        if method.params is not None and not (
            isinstance(method.params, type) and issubclass(method.params, BaseModel)
        ):
            raise TypeError(f"params of {name!r} must be a pydantic model class or None")
        self._methods[method.key] = method
        return method

    def method(self, name: str, **options: Any) -> Callable[[Handler], Handler]:
        """Decorator form of ``add``; returns the handler unchanged."""

        def register(handler: Handler) -> Handler:
            self.add(name, handler, **options)
            return handler

        return register

    def get(self, name: str) -> Method | None:
        """The method called ``name`` in any letter case, or None."""
        return self._methods.get(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._methods

    def __iter__(self) -> Iterator[Method]:
        return iter(sorted(self._methods.values(), key=lambda m: m.key))

    def __len__(self) -> int:
        return len(self._methods)

    def openapi(
        self, *, title: str = "callcard REST (Bitrix24-compatible)", version: str = "1"
    ) -> dict[str, Any]:
        """An OpenAPI 3.1 document: one ``POST /rest/{method}`` per method, request schemas from the
        parameter models, and the success / error envelopes."""
        from .openapi import build_openapi

        return build_openapi(self, title=title, version=version)


def model_schemas(
    models: list[type[BaseModel]],
) -> tuple[dict[type[BaseModel], dict[str, Any]], dict[str, Any]]:
    """JSON schemas of ``models`` with shared definitions under ``#/components/schemas``."""
    if not models:
        return {}, {}
    keyed, defs = models_json_schema(
        [(m, "validation") for m in models], ref_template="#/components/schemas/{model}"
    )
    return {m: keyed[(m, "validation")] for m in models}, defs.get("$defs", {})
