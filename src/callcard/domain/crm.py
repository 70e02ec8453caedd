"""A small but real CRM: leads, contacts and companies shaped as Bitrix returns them, with phone and
e-mail multi-fields, lookups by phone, duplicate search and call activities.

Ids are per type (lead 1 and contact 1 coexist), as on the platform. Scalar fields come back as
strings (``"ID": "3"``), multi-fields as ``[{"ID", "VALUE_TYPE", "VALUE", "TYPE_ID"}]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..clock import Clock
from ..errors import error
from ..store import Row, Store
from .dates import iso as _iso
from .derived import DerivedCache
from .filters import order_rows, page, row_matches

__all__ = [
    "ENTITY_TYPES", "LOOKUP_PRIORITY", "SOURCES", "Crm", "normalize_phone", "phone_key", "phones_match",
]

ENTITY_TYPES: tuple[str, ...] = ("LEAD", "CONTACT", "COMPANY")
#: The platform's caller-id priority: a contact wins over a company, a company over a lead.
LOOKUP_PRIORITY: tuple[str, ...] = ("CONTACT", "COMPANY", "LEAD")
#: The default CRM source directory (crm.status.list ENTITY_ID=SOURCE).
SOURCES: frozenset[str] = frozenset({
    "CALL", "EMAIL", "WEB", "ADVERTISING", "PARTNER", "RECOMMENDATION", "TRADE_SHOW", "WEBFORM",
    "CALLBACK", "RC_GENERATOR", "STORE", "OTHER", "REPEAT_SALE",
})
_MULTI = ("PHONE", "EMAIL")

# Aliases: inside ``Crm`` the name ``list`` is the crm.*.list method, not the builtin.
Views = list[dict[str, Any]]
Matches = list[tuple[str, int]]
Comms = dict[str, list[dict[str, str]]]
Rows = list[Row]
_DEFAULTS: dict[str, dict[str, Any]] = {
    "LEAD": {"TITLE": "", "NAME": "", "SECOND_NAME": "", "LAST_NAME": "", "COMPANY_TITLE": "",
             "SOURCE_ID": "", "SOURCE_DESCRIPTION": "", "STATUS_ID": "NEW", "OPENED": "Y", "POST": "",
             "COMMENTS": "", "CONTACT_ID": None, "COMPANY_ID": None},
    "CONTACT": {"NAME": "", "SECOND_NAME": "", "LAST_NAME": "", "POST": "", "TYPE_ID": "CLIENT",
                "SOURCE_ID": "", "SOURCE_DESCRIPTION": "", "OPENED": "Y", "COMMENTS": "", "COMPANY_ID": None},
    "COMPANY": {"TITLE": "", "COMPANY_TYPE": "CUSTOMER", "INDUSTRY": "", "OPENED": "Y", "COMMENTS": ""},
}
# Set by the CRM itself, never taken from ``fields``.
_SYSTEM = {"ID", "DATE_CREATE", "DATE_MODIFY", "HAS_PHONE", "HAS_EMAIL", "CREATED_BY_ID", "MODIFY_BY_ID"}


def normalize_phone(phone: Any) -> str:
    """Digits only, keeping one leading ``+``: ``"+49 (30) 123-45"`` → ``"+493012345"``."""
    text = str(phone or "").strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    return ("+" + digits) if text.startswith("+") and digits else digits


def phone_key(phone: Any) -> str:
    """The match key: the last 10 digits, so ``+7 906…`` and ``8 906…`` find the same entity."""
    return "".join(ch for ch in str(phone or "") if ch.isdigit())[-10:]


def phones_match(a: Any, b: Any) -> bool:
    """Same number? Equal last 10 digits (``+7 906…`` = ``8 906…``), or, from 7 significant digits on,
    one is the tail of the other once trunk / international zeros are dropped (``030 1234567`` =
    ``+49 30 1234567``). Short numbers (extensions) must match exactly."""
    da = "".join(ch for ch in str(a or "") if ch.isdigit()).lstrip("0")
    db = "".join(ch for ch in str(b or "") if ch.isdigit()).lstrip("0")
    if not da or not db:
        return False
    if da[-10:] == db[-10:]:
        return True
    short, long_ = sorted((da, db), key=len)
    return len(short) >= 7 and long_.endswith(short)


def _comm_key(type_id: str, value: str) -> str:
    return phone_key(value) if type_id == "PHONE" else value.strip().casefold()


def _comm_match(type_id: str, a: str, b: str) -> bool:
    if type_id == "PHONE":
        return phones_match(a, b)
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


def _render(value: Any) -> Any:
    # The platform returns every scalar as a string; nulls stay null.
    if value is None or isinstance(value, (str, list, dict)):
        return value
    if isinstance(value, bool):
        return "Y" if value else "N"
    return str(value)


def _items(value: Any, name: str) -> list[Any]:
    """Urlencoded arrays arrive as ``{"0": …, "1": …}``; JSON ones as lists."""
    if value is None or value == "":
        return []
    if isinstance(value, Mapping):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    raise error("ERROR_ARGUMENT", f"Argument '{name}' must be an array", argument=name)


class Crm:
    """Leads, contacts, companies and call activities over the store."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock
        # Every register looks its number up: the phone list is kept, exactly, until crm_phones changes.
        self._phones: DerivedCache[str, tuple[tuple[str, int, str], ...]] = DerivedCache(store, ("crm_phones",))

    # -- entities -----------------------------------------------------------------------------------

    def add(self, entity_type: str, fields: Mapping[str, Any] | None, *, user_id: int = 1) -> int:
        """Create an entity; return its per-type id. ``user_id`` is the creating user (and the default
        ASSIGNED_BY_ID). An unknown SOURCE_ID is refused with ERROR_CORE."""
        etype, data = self._type(entity_type), self._fields(fields)
        now = self.clock.now()
        with self.store.transaction():
            last = self.store.find("crm_entities", {"entity_type": etype}, order_by="-entity_id", limit=1)
            eid = int(last[0]["entity_id"]) + 1 if last else 1
            scalars = self._scalars(etype, data)
            if etype == "LEAD" and not scalars.get("TITLE"):
                scalars["TITLE"] = f"Lead #{eid}"
            scalars.update({"CREATED_BY_ID": user_id, "MODIFY_BY_ID": user_id})
            self.store.insert("crm_entities", {
                "entity_type": etype, "entity_id": eid, "fields": scalars,
                "assigned_by_id": self._assignee(data, user_id), "created_at": now, "updated_at": now,
            })
            for type_id in _MULTI:
                self._write_multi(etype, eid, type_id, data.get(type_id))
        return eid

    def get(self, entity_type: str, entity_id: Any) -> dict[str, Any]:
        """``crm.<type>.get``: the full entity; ERROR_NOT_FOUND "Not found" if it does not exist."""
        etype = self._type(entity_type)
        return self._view(self._row(etype, self._id(entity_id)), multi=True)

    def exists(self, entity_type: str, entity_id: int) -> bool:
        etype = str(entity_type).upper()
        return etype in ENTITY_TYPES and self.store.find_one(
            "crm_entities", {"entity_type": etype, "entity_id": int(entity_id)}) is not None

    def update(self, entity_type: str, entity_id: Any, fields: Mapping[str, Any] | None,
               *, user_id: int = 1) -> bool:
        """``crm.<type>.update``: merge scalars; multi-field items with an ID are changed (or removed
        when their VALUE is empty or DELETE is "Y"), items without an ID are added."""
        etype, eid, data = self._type(entity_type), self._id(entity_id), self._fields(fields)
        with self.store.transaction():
            row = self._row(etype, eid)
            merged = {**row["fields"], **self._scalars(etype, data, defaults=False), "MODIFY_BY_ID": user_id}
            changes: dict[str, Any] = {"fields": merged, "updated_at": self.clock.now()}
            if "ASSIGNED_BY_ID" in data:
                changes["assigned_by_id"] = self._assignee(data, user_id)
            self.store.update("crm_entities", {"id": row["id"]}, changes)
            for type_id in _MULTI:
                if type_id in data:
                    self._write_multi(etype, eid, type_id, data[type_id], update=True)
        return True

    def delete(self, entity_type: str, entity_id: Any) -> bool:
        etype, eid = self._type(entity_type), self._id(entity_id)
        with self.store.transaction():
            self._row(etype, eid)
            self.store.delete("crm_entities", {"entity_type": etype, "entity_id": eid})
            self.store.delete("crm_phones", {"entity_type": etype, "entity_id": eid})
        return True

    def list(
        self, entity_type: str, filter_: Mapping[str, Any] | None = None, select: Sequence[str] | None = None,
        order: Mapping[str, Any] | None = None, start: int = 0,
    ) -> tuple[Views, int]:
        """``crm.<type>.list``: (one page, total). ``select`` empty → all scalar fields; ``"*"`` also means
        all scalars; PHONE / EMAIL appear only when selected. ID is always returned. The filter takes
        operator prefixes (``>ID``, ``%TITLE``...) and PHONE / EMAIL match any of the entity's values."""
        etype = self._type(entity_type)
        wanted = [str(s).upper() for s in (select or [])]
        views = []
        for row in self.store.find("crm_entities", {"entity_type": etype}):
            view = self._view(row, multi=True)
            if row_matches(view, filter_, special=self._comm_filters(view)):
                views.append(view)
        rows = []
        for view in order_rows(views, order):
            if wanted and "*" not in wanted:
                rows.append({k: v for k, v in view.items() if k == "ID" or k in wanted})
            else:
                rows.append({k: v for k, v in view.items() if k not in _MULTI or k in wanted})
        return page(rows, start), len(rows)

    def entity_name(self, entity_type: str, entity_id: int) -> str:
        """What the card and searchCrmEntities show: a person's full name, else the title."""
        fields = self._row(self._type(entity_type), int(entity_id))["fields"]
        person = " ".join(p for p in (fields.get("NAME"), fields.get("LAST_NAME")) if p)
        return person or str(fields.get("TITLE") or "")

    def assigned_by(self, entity_type: str, entity_id: int) -> int:
        return int(self._row(self._type(entity_type), int(entity_id))["assigned_by_id"])

    # -- lookups ------------------------------------------------------------------------------------

    def find_by_phone(self, phone: Any) -> Matches:
        """Every entity with this phone, ordered CONTACT, COMPANY, LEAD, then by id."""
        # A scan, not an index lookup: suffix matching needs it, and the local CRM is small.
        phones = self._phones.get("PHONE", lambda: tuple(
            (r["entity_type"], int(r["entity_id"]), r["value"])
            for r in self.store.find("crm_phones", {"type_id": "PHONE"})
        ))
        found = {(etype, eid) for etype, eid, value in phones if phones_match(phone, value)}
        return sorted(found, key=lambda t: (LOOKUP_PRIORITY.index(t[0]), t[1]))

    def duplicate_find_by_comm(
        self, comm_type: Any, values: Any, entity_type: Any = None,
    ) -> dict[str, Any] | Views:
        """``crm.duplicate.findbycomm``: ``{"LEAD": [ids], "CONTACT": [...], ...}`` or ``[]``."""
        ctype = str(comm_type or "").strip().upper()
        if not ctype:
            raise error("ERROR_CORE", "Communication type is not defined")
        if ctype not in _MULTI:
            raise error("ERROR_CORE", f"Communication type '{comm_type}' is not supported in current context")
        wanted = [str(v) for v in _items(values, "values") if str(v).strip()]
        if not wanted:
            raise error("ERROR_CORE", "Communication values is not defined")
        etypes = ENTITY_TYPES
        if entity_type:
            etype = str(entity_type).upper()
            if etype not in ENTITY_TYPES:
                raise error("ERROR_CORE", f"Entity type '{entity_type}' is not supported in current context")
            etypes = (etype,)
        found: dict[str, set[int]] = {}
        for value in wanted[:20]:  # the platform reads at most 20 values
            for r in self.store.find("crm_phones", {"type_id": ctype}):
                if r["entity_type"] in etypes and _comm_match(ctype, value, r["value"]):
                    found.setdefault(r["entity_type"], set()).add(int(r["entity_id"]))
        return {t: sorted(found[t]) for t in ENTITY_TYPES if t in found} or []

    # -- activities ---------------------------------------------------------------------------------

    def add_call_activity(self, owner_type: str, owner_id: int, call_id: str, subject: str,
                          data: Mapping[str, Any] | None = None) -> int:
        """Record a call activity on an entity (what externalCall.finish creates); return its id."""
        etype = self._type(owner_type)
        self._row(etype, int(owner_id))
        return self.store.insert("crm_activities", {
            "owner_type": etype, "owner_id": int(owner_id), "call_id": call_id, "subject": subject,
            "data": dict(data or {}), "created_at": self.clock.now(),
        })

    def activities_for_call(self, call_id: str) -> Rows:
        return self.store.find("crm_activities", {"call_id": call_id})

    # -- internals ----------------------------------------------------------------------------------

    @staticmethod
    def _type(entity_type: Any) -> str:
        etype = str(entity_type or "").upper()
        if etype not in ENTITY_TYPES:
            raise error("ERROR_ARGUMENT", f"Unknown CRM entity type '{entity_type}'", argument="entityType")
        return etype

    @staticmethod
    def _id(entity_id: Any) -> int:
        try:
            eid = int(str(entity_id).strip())
        except ValueError:
            eid = 0
        if eid <= 0:
            raise error("ERROR_CORE", "ID is not defined or invalid.")
        return eid

    @staticmethod
    def _fields(fields: Mapping[str, Any] | None) -> dict[str, Any]:
        if fields is None:
            return {}
        if not isinstance(fields, Mapping):
            raise error("ERROR_CORE", "The parameter 'fields' must be array.")
        return {str(k).upper(): v for k, v in fields.items()}

    @staticmethod
    def _assignee(data: Mapping[str, Any], default: int) -> int:
        value = data.get("ASSIGNED_BY_ID", default)
        try:
            return int(str(value).strip()) if value not in (None, "") else default
        except ValueError:
            raise error("ERROR_ARGUMENT", "Argument 'ASSIGNED_BY_ID' is invalid",
                        argument="ASSIGNED_BY_ID") from None

    @staticmethod
    def _scalars(etype: str, data: Mapping[str, Any], *, defaults: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = dict(_DEFAULTS[etype]) if defaults else {}
        for key, value in data.items():
            if key in _SYSTEM or key in _MULTI or key == "ASSIGNED_BY_ID":
                continue
            if isinstance(value, (Mapping, list, tuple)):
                continue  # user fields with structured values are not modelled
            out[key] = value
        source = out.get("SOURCE_ID")
        if source not in (None, "") and str(source).upper() not in SOURCES:
            raise error("ERROR_CORE", f"Source '{source}' is not found")
        return out

    def _row(self, etype: str, eid: int) -> Row:
        row = self.store.find_one("crm_entities", {"entity_type": etype, "entity_id": eid})
        if row is None:
            raise error("ERROR_NOT_FOUND", "Not found")
        return row

    def _multi(self, etype: str, eid: int) -> Comms:
        out: Comms = {}
        for r in self.store.find("crm_phones", {"entity_type": etype, "entity_id": eid}):
            out.setdefault(r["type_id"], []).append({
                "ID": str(r["id"]), "VALUE_TYPE": r["value_type"], "VALUE": r["value"],
                "TYPE_ID": r["type_id"],
            })
        return out

    def _view(self, row: Row, *, multi: bool) -> dict[str, Any]:
        etype, eid = row["entity_type"], int(row["entity_id"])
        comms = self._multi(etype, eid)
        view: dict[str, Any] = {"ID": str(eid)}
        view.update({k: _render(v) for k, v in row["fields"].items()})
        view.update({
            "ASSIGNED_BY_ID": str(row["assigned_by_id"]), "DATE_CREATE": _iso(row["created_at"]),
            "DATE_MODIFY": _iso(row["updated_at"]), "HAS_PHONE": "Y" if comms.get("PHONE") else "N",
            "HAS_EMAIL": "Y" if comms.get("EMAIL") else "N",
        })
        if multi:
            view.update({k: v for k, v in comms.items() if v})
        return view

    def _comm_filters(self, view: Mapping[str, Any]) -> dict[str, Any]:
        def make(type_id: str) -> Any:
            def check(op: str, expected: Any) -> bool:
                many = isinstance(expected, (Mapping, list, tuple))
                values = _items(expected, type_id) if many else [expected]
                return any(_comm_match(type_id, str(v), item["VALUE"])
                           for v in values for item in view.get(type_id, []))
            return check
        return {t: make(t) for t in _MULTI}

    def _write_multi(self, etype: str, eid: int, type_id: str, value: Any, *, update: bool = False) -> None:
        for item in _items(value, type_id):
            if not isinstance(item, Mapping):
                raise error("ERROR_ARGUMENT", f"Argument '{type_id}' must be an array of objects",
                            argument=type_id)
            item = {str(k).upper(): v for k, v in item.items()}
            text = str(item.get("VALUE") or "").strip()
            vtype = str(item.get("VALUE_TYPE") or "WORK").upper()
            existing = item.get("ID")
            if update and existing not in (None, ""):
                where = {"id": int(str(existing)), "entity_type": etype, "entity_id": eid}
                if not text or str(item.get("DELETE", "")).upper() == "Y":
                    self.store.delete("crm_phones", where)
                else:
                    self.store.update("crm_phones", where, {"value": text, "value_type": vtype,
                                                            "normalized": _comm_key(type_id, text)})
            elif text:
                self.store.insert("crm_phones", {"entity_type": etype, "entity_id": eid, "type_id": type_id,
                                                 "value": text, "value_type": vtype,
                                                 "normalized": _comm_key(type_id, text)})


