"""Widget placements: placement.bind/unbind/get/list, what each page renders, and the slow-load watchdog.

Spec: placements.md (all of it). The rules an app can observe are reproduced exactly: the error codes
and their order in ``bind``, the one-handler-per-app limits, the USER_ID and install rules of rendering,
and the watchdog that deletes PAGE_BACKGROUND_WORKER rows whose frames load too slowly.

Rows live in the ``placements`` table; ``options`` and ``lang_all`` are JSON columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..clock import Clock
from ..errors import argument_error, error
from ..settings import Settings
from ..store.base import Row, Store
from .bindparams import (
    AppRef,
    AppView,
    app_view,
    check_handler_url,
    label_text,
    php_int,
    record_dotless_host,
    type_error,
)
from .conformance import SLOW_FRAME_LOAD, WATCHDOG_REMOVED, Conformance
from .events import WATCHDOG_NOTICE, Event

__all__ = [
    "BACKGROUND",
    "CALL_CARD",
    "CRM_TABS",
    "DEFAULT",
    "GLOBAL_CODES",
    "PLACEMENT_SCOPES",
    "Placements",
    "crm_tab_code",
    "tab_title",
]

BACKGROUND: Final = "PAGE_BACKGROUND_WORKER"
CALL_CARD: Final = "CALL_CARD"
DEFAULT: Final = "DEFAULT"
CRM_TABS: Final[tuple[str, ...]] = tuple(
    f"CRM_{entity}_DETAIL_TAB" for entity in ("DEAL", "LEAD", "CONTACT", "COMPANY")
)

#: bindable code -> the scope it belongs to (placements.md §1).
PLACEMENT_SCOPES: Final[dict[str, str]] = {
    BACKGROUND: "placement",
    CALL_CARD: "telephony",
    **{code: "crm" for code in CRM_TABS},
}
#: Codes available whatever the app's scopes: the platform registers PAGE_BACKGROUND_WORKER in its
#: global pseudo-scope (intranet module), so any app that may call placement.bind may bind it.
GLOBAL_CODES: Final[tuple[str, ...]] = (BACKGROUND,)


@dataclass(frozen=True)
class _Rules:
    max_count: int  # 0 = unlimited
    user_mode: bool  # USER_ID allowed
    error_handler_url: bool  # OPTIONS[errorHandlerUrl] required and kept


_RULES: Final[dict[str, _Rules]] = {
    BACKGROUND: _Rules(max_count=1, user_mode=True, error_handler_url=True),
    CALL_CARD: _Rules(max_count=1, user_mode=False, error_handler_url=False),
    **{code: _Rules(max_count=0, user_mode=False, error_handler_url=False) for code in CRM_TABS},
}

_TABLE: Final = "placements"


def crm_tab_code(entity_type: str) -> str:
    """``"deal"``, ``"DEAL"`` or ``"CRM_DEAL_DETAIL_TAB"`` -> ``"CRM_DEAL_DETAIL_TAB"``; else ValueError."""
    code = entity_type.strip().upper()
    if code not in CRM_TABS:
        code = f"CRM_{code}_DETAIL_TAB"
    if code not in CRM_TABS:
        raise ValueError(f"no CRM detail tab for entity type {entity_type!r}")
    return code


def tab_title(row: Mapping[str, Any], lang: str, app_name: str = "") -> str:
    """The label of a tab: the LANG_ALL title for ``lang``, else TITLE, else any LANG_ALL title, else
    ``app_name`` (the platform labels an unlabelled registration with the app's name)."""
    lang_all = row.get("lang_all") or {}
    localized = lang_all.get(lang, {}).get("TITLE", "") if isinstance(lang_all, dict) else ""
    if localized:
        return str(localized)
    if row.get("title"):
        return str(row["title"])
    for item in lang_all.values() if isinstance(lang_all, dict) else ():
        if isinstance(item, dict) and item.get("TITLE"):
            return str(item["TITLE"])
    return app_name


class Placements:
    """Placement registrations of all apps, their rendering queries and the watchdog.

    ``app`` arguments are ``apps`` table rows (``id``, ``name``, ``scopes`` list, ``installed``...).
    Authentication type (``WRONG_AUTH_TYPE``) is the REST layer's job; everything after it is here.
    """

    def __init__(
        self, store: Store, clock: Clock, settings: Settings, conformance: Conformance | None = None
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._conformance = conformance or Conformance(store, clock)

    # -- placement.bind ---------------------------------------------------------------------------------

    def bind(self, app: AppRef, caller_is_admin: bool, params: Mapping[str, Any]) -> bool:
        """placement.bind (placements.md §2.1). Returns True or raises the catalogue error, checked in the
        documented order: admin, arguments, placement, handler URL, options, user mode, count."""
        if not caller_is_admin:
            raise error("ACCESS_DENIED")
        a = app_view(app)
        p = {str(k).upper(): v for k, v in params.items()}

        # arguments
        raw_code = p.get("PLACEMENT")
        if raw_code is not None and not isinstance(raw_code, str):
            raise type_error("PLACEMENT", "string")
        code = (raw_code or "").strip().upper()
        if not code:
            raise argument_error("PLACEMENT")
        if code == DEFAULT:
            # Every app has DEFAULT already; the platform refuses it as a wrong PLACEMENT value.
            raise error("ERROR_ARGUMENT", "Wrong value", argument="PLACEMENT")
        handler = p.get("HANDLER")
        if handler is not None and not isinstance(handler, str):
            raise type_error("HANDLER", "string")
        handler = (handler or "").strip()
        if not handler:
            raise argument_error("HANDLER")
        title = label_text(p, "TITLE")
        description = label_text(p, "DESCRIPTION")
        group_name = label_text(p, "GROUP_NAME")
        lang_all = self._lang_all(p.get("LANG_ALL"))

        # placement
        if not self._available(a, code):
            raise error("ERROR_PLACEMENT_NOT_FOUND")
        rules = _RULES[code]

        # handler URL
        dotless = check_handler_url(handler, strict=self._settings.strict_handler_url)

        # options
        options: dict[str, Any] = {}
        if rules.error_handler_url:
            raw_options = p.get("OPTIONS")
            url = raw_options.get("errorHandlerUrl") if isinstance(raw_options, Mapping) else None
            # PHP's empty(): "0", 0 and false are as empty as a missing key.
            if url in (None, "", "0") or url is False or url == 0 or isinstance(url, Mapping | list):
                raise error("EMPTY_ERROR_HANDLER_URL")
            options = {"errorHandlerUrl": str(url)}

        # user mode: USER_ID counts only when it is a positive integer, as on the platform
        user_id = max(php_int(p.get("USER_ID")), 0)
        if user_id and not rules.user_mode:
            raise error("ERROR_PLACEMENT_USER_MODE")

        # labels: without LANG_ALL the labels go to the portal language; without any, the app's name
        lang = self._settings.lang
        if not lang_all:
            if title or description or group_name:
                lang_all = {lang: {"TITLE": title, "DESCRIPTION": description, "GROUP_NAME": group_name}}
            elif a.name:
                lang_all = {lang: {"TITLE": a.name, "DESCRIPTION": "", "GROUP_NAME": ""}}
        elif not title:
            title = (lang_all.get(lang) or next(iter(lang_all.values())))["TITLE"]

        with self._store.transaction():
            # count
            if rules.max_count:
                users: Iterable[int] = (0, user_id) if (rules.user_mode and user_id) else (0,)
                taken = sum(
                    self._store.count(_TABLE, {"app_id": a.id, "placement": code, "user_id": uid})
                    for uid in set(users)
                )
                if taken >= rules.max_count:
                    raise error("ERROR_PLACEMENT_MAX_COUNT", f"Placement max count: {rules.max_count}")
            elif self._store.count(_TABLE, {"app_id": a.id, "placement": code, "handler": handler}):
                # Unlimited placements still refuse the same (app, placement, handler) twice; apps in the
                # wild look for this exact text.
                raise error("ERROR_CORE", "Unable to set placement handler: Handler already binded")
            self._store.insert(
                _TABLE,
                {
                    "app_id": a.id,
                    "placement": code,
                    "user_id": user_id,
                    "handler": handler,
                    "title": title,
                    "description": description,
                    "group_name": group_name,
                    "lang_all": lang_all,
                    "options": options,
                    "overtime_count": 0,
                    "window_start": None,
                    "created_at": self._clock.now(),
                },
            )
        if dotless:
            record_dotless_host(self._conformance, a.id, "placement.bind", code, handler, {"placement": code})
        return True

    @staticmethod
    def _lang_all(value: Any) -> dict[str, dict[str, str]]:
        if value is None or value == "" or value == []:
            return {}
        if not isinstance(value, Mapping):
            raise type_error("LANG_ALL", "array")
        out: dict[str, dict[str, str]] = {}
        for lang, item in value.items():
            if not isinstance(item, Mapping):
                raise type_error("LANG_ALL", "array")
            out[str(lang)] = {
                field: label_text(item, field) for field in ("TITLE", "DESCRIPTION", "GROUP_NAME")
            }
        return out

    @staticmethod
    def _available(app: AppView, code: str) -> bool:
        if code not in PLACEMENT_SCOPES:
            return False
        return code in GLOBAL_CODES or PLACEMENT_SCOPES[code] in app.scopes

    # -- placement.unbind / get / list --------------------------------------------------------------------

    def unbind(self, app: AppRef, is_admin: bool, params: Mapping[str, Any]) -> dict[str, int]:
        """placement.unbind (§2.2): ``{"count": rows removed}``. Without HANDLER every row of the app for
        the placement goes; USER_ID (when present) restricts removal to that user's rows."""
        if not is_admin:
            raise error("ACCESS_DENIED")
        p = {str(k).upper(): v for k, v in params.items()}
        raw_code = p.get("PLACEMENT")
        if raw_code is not None and not isinstance(raw_code, str):
            raise type_error("PLACEMENT", "string")
        code = (raw_code or "").strip().upper()
        if not code:
            raise argument_error("PLACEMENT")
        where: dict[str, Any] = {"app_id": app_view(app).id, "placement": code}
        handler = p.get("HANDLER")
        if handler is not None and not isinstance(handler, str):
            # a non-empty value of the wrong type must not widen the removal to every handler
            raise type_error("HANDLER", "string")
        if handler and handler.strip():
            where["handler"] = handler.strip()
        if "USER_ID" in p:
            where["user_id"] = php_int(p["USER_ID"])
        return {"count": self._store.delete(_TABLE, where)}

    def get(self, app: AppRef, is_admin: bool = True) -> list[dict[str, Any]]:
        """placement.get (§2.3): the app's rows, oldest first, in the platform's shape."""
        if not is_admin:
            raise error("ACCESS_DENIED")
        out = []
        for row in self._store.find(_TABLE, {"app_id": app_view(app).id}):
            out.append(
                {
                    "placement": row["placement"],
                    "userId": int(row["user_id"]),
                    "handler": row["handler"],
                    # PHP renders an empty array as [] and a filled one as an object.
                    "options": row["options"] or [],
                    "title": row["title"],
                    "description": row["description"],
                    "langAll": row["lang_all"] or [],
                }
            )
        return out

    def list_codes(self, app: AppRef, scope: str | None = None, full: bool = False) -> list[str]:
        """placement.list (§2.4). SCOPE given: that scope's codes (an empty SCOPE means the global codes
        only, as on the platform); else FULL: every code; else the app's scopes plus the global codes."""
        if scope is not None:
            wanted = scope.strip().lower()
            if not wanted:
                return list(GLOBAL_CODES)
            return [code for code, s in PLACEMENT_SCOPES.items() if s == wanted]
        if full:
            return list(PLACEMENT_SCOPES)
        scopes = set(app_view(app).scopes)
        return [code for code, s in PLACEMENT_SCOPES.items() if s in scopes or code in GLOBAL_CODES]

    def remove_app(self, app_id: int) -> int:
        """Delete every registration of an app (uninstall); return how many."""
        return self._store.delete(_TABLE, {"app_id": app_id})

    def row(self, row_id: int) -> Row | None:
        return self._store.get(_TABLE, row_id)

    # -- rendering --------------------------------------------------------------------------------------

    def background_rows(self, user_id: int, user_is_admin: bool) -> list[Row]:
        """The PAGE_BACKGROUND_WORKER rows a page of ``user_id`` renders, in row order: all-user rows and
        this user's rows, of installed apps (of any app for an admin)."""
        rows = [
            row
            for row in self._store.find(_TABLE, {"placement": BACKGROUND})
            if int(row["user_id"]) in (0, user_id)
        ]
        return self._visible(rows, user_is_admin)

    def call_card_rows(self, user_is_admin: bool) -> list[Row]:
        """The CALL_CARD rows that become tabs in the card, in row order (install rule applied)."""
        return self._visible(self._store.find(_TABLE, {"placement": CALL_CARD}), user_is_admin)

    def crm_tab_rows(self, entity_type: str, user_is_admin: bool) -> list[Row]:
        """The detail-tab rows of one CRM entity type (``"DEAL"`` or the full code), install rule applied."""
        code = crm_tab_code(entity_type)
        return self._visible(self._store.find(_TABLE, {"placement": code}), user_is_admin)

    def _visible(self, rows: list[Row], user_is_admin: bool) -> list[Row]:
        # Until setInstallFinish, an app's widgets show only to admins (who are the ones installing it).
        apps: dict[int, Row | None] = {}
        out = []
        for row in rows:
            app_id = int(row["app_id"])
            if app_id not in apps:
                apps[app_id] = self._store.get("apps", app_id)
            app = apps[app_id]
            if app is None:
                continue
            if app.get("installed") or user_is_admin:
                out.append(row)
        return out

    # -- the slow-handler watchdog ------------------------------------------------------------------------

    def report_load(self, row_id: int, load_ms: float) -> list[Event]:
        """The page measured ``load_ms`` for a background frame (placements.md §4).

        Loads at or under the threshold count nothing. A slow one opens or continues the row's window and
        adds a strike; at ``strikes`` the row is deleted, a conformance error is written and, when the row
        has an errorHandlerUrl, the ``ERROR_PLACEMENT_LOADING_OVERTIME`` notice event is returned.
        """
        wd = self._settings.watchdog
        if not wd.enabled or not load_ms > wd.threshold_ms:  # written so that NaN is no strike
            return []
        now = self._clock.now()
        with self._store.transaction():
            row = self._store.get(_TABLE, row_id)
            if row is None or row["placement"] != BACKGROUND:
                return []
            count = int(row["overtime_count"] or 0)
            start = row["window_start"]
            if count == 0 or start is None or now >= float(start) + wd.window_s:
                count, start = 0, now
            count += 1
            if count < wd.strikes:
                self._store.update(_TABLE, {"id": row_id}, {"overtime_count": count, "window_start": start})
                removed = False
            else:
                self._store.delete(_TABLE, {"id": row_id})
                removed = True
        app_id = int(row["app_id"])
        detail = {"row_id": row_id, "load_ms": load_ms, "strike": count, "strikes": wd.strikes}
        self._conformance.record(
            app_id,
            SLOW_FRAME_LOAD,
            message=f"background handler took {load_ms:.0f} ms to load (strike {count} of {wd.strikes})",
            detail=detail,
        )
        if not removed:
            return []
        text = self.overtimelabel_text()
        self._conformance.record(app_id, WATCHDOG_REMOVED, message=text, detail=detail)
        url = (row["options"] or {}).get("errorHandlerUrl") if isinstance(row["options"], dict) else None
        if not url:
            return []
        return [
            Event(
                WATCHDOG_NOTICE,
                app_id=app_id,
                extra={
                    "url": url,
                    "form": {"error": WATCHDOG_NOTICE, "error_description": text},
                },
            )
        ]

    def overtimelabel_text(self) -> str:
        """The notice text: the max load time in seconds and the strike count."""
        wd = self._settings.watchdog
        seconds = wd.threshold_ms / 1000
        shown = f"{seconds:g}"
        return (
            f"The handler took longer than {shown} s to load {wd.strikes} times; "
            "the placement has been removed."
        )
