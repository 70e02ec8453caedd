"""Portal-wide methods: ``app.info`` (rest-api.md §9.9), ``user.current`` / ``user.get`` (§9.10),
``profile``, ``scope``, ``methods`` and ``server.time``.

None of them changes anything. ``app.info`` answers webhooks with the built-in pseudo-app (team choice
of §9.9) so fast-bitrix24's raw smoke call works.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...domain.dates import iso
from ...domain.filters import parse_key
from ...domain.placements import PLACEMENT_SCOPES
from ...errors import error
from ..envelope import ListResult
from ..registry import CallContext, Method, Registry
from .support import php_truthy, registry_of, upper_keys

__all__ = ["register_common"]

#: user.get filter keys that are not user fields (NAME_SEARCH/FIND search names and e-mail;
#: HAS_DEPARTAMENT holds for every local user, who all belong to the company department)
_USER_FILTER_EXTRA = frozenset({"NAME_SEARCH", "FIND", "HAS_DEPARTAMENT"})


def _user_row(ctx: CallContext) -> dict[str, Any]:
    row = ctx.services.directory.get_user(ctx.caller.user_id)
    if row is None:  # the user was removed after the token was issued
        raise error("invalid_token")
    return row  # type: ignore[no-any-return]


# -- app.info / profile / server.time -------------------------------------------------------------------


def app_info(ctx: CallContext, raw: dict[str, Any]) -> dict[str, Any]:
    """The calling app, or the webhook pseudo-app (``ID: 0``, ``CODE: "webhook"``)."""
    directory = ctx.services.directory
    app = directory.apps.get_app(ctx.caller.app_id) if ctx.caller.is_app and ctx.caller.app_id else None
    return directory.apps.app_info(app)  # type: ignore[no-any-return]


def profile(ctx: CallContext, raw: dict[str, Any]) -> dict[str, Any]:
    """Basic facts about the current user, without any scope."""
    row = _user_row(ctx)
    return {
        "ID": str(row["id"]),
        "ADMIN": bool(row["is_admin"]),
        "NAME": row["name"],
        "LAST_NAME": row["last_name"],
        "PERSONAL_GENDER": "",
        "TIME_ZONE": "",
    }


def server_time(ctx: CallContext, raw: dict[str, Any]) -> str:
    """The server time, ISO-8601 with offset."""
    return iso(ctx.clock.now())


# -- user.current / user.get ----------------------------------------------------------------------------


def user_current(ctx: CallContext, raw: dict[str, Any]) -> dict[str, Any]:
    """The current user: string scalars, bool ACTIVE, int UF_DEPARTMENT, UF_PHONE_INNER."""
    view = ctx.services.directory.user_view_of(ctx.caller.user_id)  # user_view(_user_row(ctx)), cached
    if view is None:  # the user was removed after the token was issued
        raise error("invalid_token")
    return view  # type: ignore[no-any-return]


def _user_filter(query: Mapping[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    """The platform's user.get filter: FILTER when it is an array, else the query itself (a documented
    backward-compatibility quirk); keys that are neither user fields nor search keys are dropped."""
    source = query.get("FILTER")
    items = upper_keys(source) if isinstance(source, Mapping) else query
    out: dict[str, Any] = {}
    for key, value in items.items():
        op, field = parse_key(str(key))
        if field not in fields and field not in _USER_FILTER_EXTRA:
            continue
        if field == "HAS_DEPARTAMENT":
            continue
        out[op + "NAME_SEARCH" if field == "FIND" else str(key)] = value
    return out


def _select(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        value = list(value.values())
    if not isinstance(value, list | tuple):
        return []
    return [str(v).upper() for v in value if isinstance(v, str | int)]


def user_get(ctx: CallContext, raw: dict[str, Any]) -> ListResult:
    """Users by FILTER (or the bare query), sorted by ``sort``/``order`` (ID ascending by default),
    projected by ``select``, 50 per page from ``start``. ADMIN_MODE and IMAGE_RESIZE change nothing
    here (no extranet, no photos)."""
    directory = ctx.services.directory
    query = upper_keys(raw)
    fields = frozenset(directory.user_view(_user_row(ctx)))
    sort, order = query.get("SORT"), query.get("ORDER")
    ordering = {str(sort): str(order)} if php_truthy(sort) and php_truthy(order) else None
    items, total = directory.list_users(_user_filter(query, fields), ordering, ctx.start)
    wanted = _select(query.get("SELECT"))
    if wanted and "*" not in wanted:
        def chosen(key: str) -> bool:
            return key in wanted or (key.startswith("UF_") and "UF_*" in wanted)

        items = [{k: v for k, v in item.items() if chosen(k)} for item in items]
    return ListResult.of_page(items, total, ctx.start)


# -- scope / methods ------------------------------------------------------------------------------------


def _caller_scopes(ctx: CallContext) -> list[str]:
    caller = ctx.caller
    if caller.is_app and caller.app_id is not None:
        app = ctx.services.directory.apps.get_app(caller.app_id)
        if app is not None:
            return list(app.scopes)
    return sorted(caller.scopes)


def _all_scopes(ctx: CallContext) -> list[str]:
    found = {m.scope for m in registry_of(ctx) if m.scope} | set(PLACEMENT_SCOPES.values())
    return sorted(found)


def scope(ctx: CallContext, raw: dict[str, Any]) -> list[str]:
    """The caller's scopes; with ``full`` (PHP truthiness: the string "false" counts) every scope."""
    if php_truthy(upper_keys(raw).get("FULL")):
        return _all_scopes(ctx)
    return _caller_scopes(ctx)


def methods(ctx: CallContext, raw: dict[str, Any]) -> list[str]:
    """Registered method names (lower case, as the platform lists them).

    ``scope`` given: that scope's methods (``""``: the scope-less basic ones; unknown: ``[]``); else
    ``full``: all; else the basic methods plus those of the caller's scopes.
    """
    params = upper_keys(raw)
    available = [m for m in registry_of(ctx) if m.available(ctx.settings)]
    chosen: list[Method]
    if "SCOPE" in params and params["SCOPE"] is not None:
        wanted = str(params["SCOPE"]).strip().lower()
        chosen = [m for m in available if (m.scope or "") == wanted]
    elif php_truthy(params.get("FULL")):
        chosen = available
    else:
        mine = set(_caller_scopes(ctx))
        chosen = [m for m in available if m.scope is None or m.scope in mine]
    return [m.key for m in chosen]


def register_common(registry: Registry) -> None:
    """Add app.info, user.current, user.get, profile, scope, methods and server.time."""
    registry.add("app.info", app_info, summary="The calling app (webhooks: a pseudo-app)")
    registry.add("profile", profile, summary="Basic facts about the current user")
    registry.add("server.time", server_time, summary="Server time, ISO-8601")
    registry.add("scope", scope, summary="The caller's scopes (full=true: all)")
    registry.add("methods", methods, summary="Available method names",
                 description="scope: one scope's methods; full=true: all.")
    registry.add("user.current", user_current, scope="user", summary="The current user")
    registry.add("user.get", user_get, scope="user", paged=True, summary="Users by filter",
                 description="FILTER (or bare field keys), sort, order, select, ADMIN_MODE, start; "
                             "50 per page.")
