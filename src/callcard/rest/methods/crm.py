"""``crm.lead.*`` / ``crm.contact.*`` / ``crm.company.*`` add, get, list, update, and
``crm.duplicate.findbycomm`` — the legacy CRM REST the telephony apps use to look callers up.

Shapes as the platform's: add → the new integer id; get → the entity with a string ``ID``; list → a page
of 50 with ``total`` / ``next``; update → ``true``.

Errors: the platform's CRM proxy throws a bare ``RestException(message)``, so its errors carry an
**empty code** — ``{"error": "", "error_description": "Not found"}`` with HTTP 400, as b24restdocs'
crm-lead-get.md shows ("ID is not defined or invalid.", "Not found", ...). Every 400 the CRM domain
raises is re-coded that way here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from ...errors import BitrixError
from ..envelope import ListResult
from ..registry import CallContext, Registry
from .support import php_int, resolve

__all__ = ["CRM_ENTITIES", "register_crm"]

#: REST name → the domain's entity type
CRM_ENTITIES: dict[str, str] = {"lead": "LEAD", "contact": "CONTACT", "company": "COMPANY"}
_PLURALS = {"LEAD": "Leads", "CONTACT": "Contacts", "COMPANY": "Companies"}
_SCOPE = "crm"


@contextmanager
def _platform_errors() -> Iterator[None]:
    """Re-raise the domain's 400s as the CRM proxy's bare RestException (empty code, HTTP 400)."""
    try:
        yield
    except BitrixError as exc:
        if exc.status == 400:
            raise BitrixError("", exc.description, 400) from None
        raise


def _crm_error(message: str) -> BitrixError:
    return BitrixError("", message, 400)


def _entity_id(raw: Mapping[str, Any]) -> int:
    """``resolveEntityID``: ``ID`` then ``id``, read as ``intval``; must be positive."""
    value = raw.get("ID", raw.get("id"))
    eid = php_int(value) if value is not None else 0
    if eid <= 0:
        raise _crm_error("ID is not defined or invalid.")
    return eid


def _array(raw: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """An array parameter as a dict, None when absent. PHP's empty array arrives as "" (legacy BX24) or
    ``[]`` (JSON); a list with items is an array with keys 0..n-1; a scalar is not an array."""
    value = resolve(raw, name)
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, list | tuple):
        return {str(i): v for i, v in enumerate(value)}
    raise _crm_error(f"Parameter '{name}' must be array.")


def _select(raw: Mapping[str, Any]) -> list[str] | None:
    value = resolve(raw, "select")
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, list | tuple):
        return None  # not an array: ignored, as the platform ignores it
    return [str(v) for v in value if isinstance(v, str | int)]


def _fields(raw: Mapping[str, Any]) -> Any:
    value = resolve(raw, "fields")
    if value is None or value == "" or value == []:
        return {}
    return value  # a non-array reaches the domain, which answers "The parameter 'fields' must be array."


# -- the four entity methods ----------------------------------------------------------------------------


def _add(entity_type: str) -> Callable[[CallContext, dict[str, Any]], int]:
    def add(ctx: CallContext, raw: dict[str, Any]) -> int:
        with _platform_errors():
            return int(ctx.services.crm.add(entity_type, _fields(raw), user_id=ctx.caller.user_id))

    return add


def _get(entity_type: str) -> Callable[[CallContext, dict[str, Any]], dict[str, Any]]:
    def get(ctx: CallContext, raw: dict[str, Any]) -> dict[str, Any]:
        eid = _entity_id(raw)
        with _platform_errors():
            return ctx.services.crm.get(entity_type, eid)  # type: ignore[no-any-return]

    return get


def _list(entity_type: str) -> Callable[[CallContext, dict[str, Any]], ListResult]:
    def list_(ctx: CallContext, raw: dict[str, Any]) -> ListResult:
        order = _array(raw, "order")
        filter_ = _array(raw, "filter")
        with _platform_errors():
            items, total = ctx.services.crm.list(entity_type, filter_, _select(raw), order, ctx.start)
        return ListResult.of_page(items, total, ctx.start)

    return list_


def _update(entity_type: str) -> Callable[[CallContext, dict[str, Any]], bool]:
    def update(ctx: CallContext, raw: dict[str, Any]) -> bool:
        eid = _entity_id(raw)
        with _platform_errors():
            return bool(ctx.services.crm.update(entity_type, eid, _fields(raw), user_id=ctx.caller.user_id))

    return update


# -- crm.duplicate.findbycomm ---------------------------------------------------------------------------


def _entity_type_param(raw: Mapping[str, Any]) -> Any:
    """``resolveMultiPartParam(['entity', 'type'])``: ENTITY_TYPE, entity_type, EntityType, arEntityType."""
    for key in ("ENTITY_TYPE", "entity_type", "EntityType", "arEntityType"):
        if raw.get(key) is not None:
            return raw[key]
    return None


def duplicate_find_by_comm(ctx: CallContext, raw: dict[str, Any]) -> Any:
    """``{"LEAD": [ids], "CONTACT": [...], "COMPANY": [...]}`` of the entities with these phones or
    e-mails (only types with matches), or ``[]``."""
    with _platform_errors():
        return ctx.services.crm.duplicate_find_by_comm(
            resolve(raw, "type"), resolve(raw, "values"), _entity_type_param(raw)
        )


def register_crm(registry: Registry) -> None:
    """Add crm.{lead,contact,company}.{add,get,list,update} and crm.duplicate.findbycomm."""
    for name, entity_type in CRM_ENTITIES.items():
        label = entity_type.lower()
        registry.add(f"crm.{name}.add", _add(entity_type), scope=_SCOPE,
                     summary=f"Create a {label}", description="fields (PHONE/EMAIL as multi-fields). "
                                                             "Result: the new id.")
        registry.add(f"crm.{name}.get", _get(entity_type), scope=_SCOPE, summary=f"One {label} by id",
                     description="id.")
        registry.add(f"crm.{name}.list", _list(entity_type), scope=_SCOPE, paged=True,
                     summary=f"{_PLURALS[entity_type]} by filter",
                     description="filter (operator prefixes), select, order, start; 50 per page.")
        registry.add(f"crm.{name}.update", _update(entity_type), scope=_SCOPE, summary=f"Change a {label}",
                     description="id, fields. Result: true.")
    registry.add("crm.duplicate.findbycomm", duplicate_find_by_comm, scope=_SCOPE,
                 summary="Find entities by phone or e-mail",
                 description="type (PHONE/EMAIL), values (array), entity_type (LEAD/CONTACT/COMPANY).")
