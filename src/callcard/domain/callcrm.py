"""The CRM side of external calls: what a new call binds to, the lead it may create, the hand-over of
auto-created entities and the call activity on finish, and ``externalCall.searchCrmEntities``.

A call to a number that is a portal user's inner extension is a portal call and touches no CRM. Any
other call binds the entity the app named, else the first CRM match for the number (a contact's company
joins the bindings), else — when asked and the line allows it — a lead created for it; a failing lead
add is reported (``LEAD_CREATION_ERROR``), not raised. The card's CRM row creates a lead or a contact the
same way (``create_for_card``); its Deal and Invoice chips have nothing behind them (no deals or invoices
in callcard's CRM) and only say so. ``ExternalCalls`` (calls.py) stores the outcome on the call row; this
module never touches the ``calls`` table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..errors import BitrixError, error
from ..store import Row
from .crm import Crm
from .directory import Directory

__all__ = ["CARD_CRM_CHIPS", "CREATE_CHIPS", "CallBinding", "CallCrm", "chip_entity_type", "created_notice"]

_LEAD_TITLE = {"outgoing": "Outgoing call", "incoming": "Incoming call", "callback": "Callback"}

#: the card's CRM-row chips that create an entity for the card's number (call-card.md §3.4): its type
CREATE_CHIPS: Final[dict[str, str]] = {"addLead": "LEAD", "addContact": "CONTACT"}
#: the chips callcard's CRM has nothing behind: what the operator is told instead
_NOT_EMULATED: Final[dict[str, str]] = {
    "addDeal": "Deals are not emulated by callcard",
    "addInvoice": "Invoices are not emulated by callcard",
}
#: every CRM-row chip besides Comment (a card button, ``CardService.press``): what the page, the control
#: API and the CLI accept as a CRM action
CARD_CRM_CHIPS: Final[tuple[str, ...]] = (*_NOT_EMULATED, *CREATE_CHIPS)


def chip_entity_type(chip: str) -> str:
    """The entity type a CRM-row chip creates. ValueError for Deal / Invoice (with the operator's message)
    and for a name that is no such chip."""
    if chip in CREATE_CHIPS:
        return CREATE_CHIPS[chip]
    if chip in _NOT_EMULATED:
        raise ValueError(_NOT_EMULATED[chip])
    raise ValueError(f"{chip!r} is not a CRM action of the call card")


def created_notice(entity_type: str, entity_id: int) -> str:
    """What the operator is told when a chip created an entity: "Lead #12 created"."""
    return f"{entity_type.capitalize()} #{entity_id} created"


@dataclass(frozen=True)
class CallBinding:
    """The CRM state a new call starts with (``CallCrm.bind``)."""

    entity_type: str  # "" when the call is bound to nothing
    entity_id: int
    bindings: list[dict[str, Any]]
    created_lead: int | None
    created_entities: list[dict[str, Any]]
    lead_error: str  # why the lead asked for could not be created; "" when it was (or none was asked)
    crm_enabled: bool  # False for a portal call (to a user's inner extension)
    portal_user_id: int | None


class CallCrm:
    """Binds external calls to CRM entities and records them there."""

    def __init__(self, crm: Crm, directory: Directory) -> None:
        self.crm, self.directory = crm, directory

    def bind(self, phone: str, user_id: int, direction: str, *, entity_type: str | None, entity_id: int | None,
             create_lead: bool, source: str | None) -> CallBinding:
        """The entity a call registered by ``user_id`` to ``phone`` binds to. ``create_lead``: a lead may
        be created when nothing matches (CRM_CREATE, and the line's auto-create for outgoing calls)."""
        portal_user = self.directory.find_by_inner_phone(phone)
        crm_enabled = portal_user is None  # a call to an inner extension is a portal call: no CRM
        etype, eid, bindings = "", 0, []
        if entity_type and entity_id is not None:
            etype, eid = str(entity_type).upper(), int(entity_id)
            bindings = [{"ENTITY_TYPE": etype, "ENTITY_ID": eid}]
        elif crm_enabled:
            found = self.crm.find_by_phone(phone)
            if found:
                etype, eid = found[0]
                bindings = self._bindings(etype, eid)
        lead_id, lead_error, created = None, "", []
        if not etype and create_lead and crm_enabled:
            try:
                lead_id = self.new_entity("LEAD", phone, user_id, direction, source=source)
            except BitrixError as exc:
                lead_error = exc.description
            else:
                etype, eid = "LEAD", lead_id
                created = [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": lead_id}]
                bindings = list(created)
        return CallBinding(etype, eid, bindings, lead_id, created, lead_error, crm_enabled,
                           int(portal_user["id"]) if portal_user else None)

    def new_entity(self, entity_type: str, phone: str, user_id: int, direction: str, *,
                   source: str | None = None) -> int:
        """Create the LEAD or CONTACT a call to ``phone`` stands for — the lead CRM_CREATE asks register for,
        or what a chip of the card's CRM row adds — and return its id. Named after the call ("Incoming
        call +4930…": a lead's TITLE, a contact's NAME), the number as its work phone (none for a hidden
        or unknown number), source CALL unless given, created by (and assigned to) ``user_id``. Raises
        what ``Crm.add`` raises."""
        name_field = "TITLE" if entity_type == "LEAD" else "NAME"
        fields: dict[str, Any] = {name_field: f"{_LEAD_TITLE[direction]} {phone}", "SOURCE_ID": source or "CALL"}
        if phone not in ("hidden", "unknown"):
            fields["PHONE"] = [{"VALUE": phone, "VALUE_TYPE": "WORK"}]
        return self.crm.add(entity_type, fields, user_id=user_id)

    def create_for_card(self, entity_type: str, phone: str, user_id: int,
                        direction: str) -> tuple[str, int, list[dict[str, Any]]]:
        """A Lead / Contact chip of the card (``chip_entity_type``): create that entity for the card's
        number (``new_entity``); (type, id, the call's bindings to it)."""
        eid = self.new_entity(entity_type, phone, user_id, direction)
        return entity_type, eid, self._bindings(entity_type, eid)

    def _bindings(self, etype: str, eid: int) -> list[dict[str, Any]]:
        bindings: list[dict[str, Any]] = [{"ENTITY_TYPE": etype, "ENTITY_ID": eid}]
        if etype == "CONTACT":  # a contact's company is bound to the activity too
            company = self.crm.get("CONTACT", eid).get("COMPANY_ID")
            if company and self.crm.exists("COMPANY", int(company)):
                bindings.append({"ENTITY_TYPE": "COMPANY", "ENTITY_ID": int(company)})
        return bindings

    def hand_over(self, created_entities: Iterable[Mapping[str, Any]], user_id: int) -> None:
        """Assign the entities a call created (and that still exist) to the user who finished it."""
        for entity in created_entities:
            if self.crm.exists(entity["ENTITY_TYPE"], int(entity["ENTITY_ID"])):
                self.crm.update(entity["ENTITY_TYPE"], entity["ENTITY_ID"], {"ASSIGNED_BY_ID": user_id},
                                user_id=user_id)

    def add_activity(self, row: Row, record: Mapping[str, Any], direction: str) -> int | None:
        """The call activity of a finished call on its entity (None if the entity is gone)."""
        etype, eid = row["crm_entity_type"], int(row["crm_entity_id"])
        if not self.crm.exists(etype, eid):
            return None
        subject = f"{_LEAD_TITLE[direction]} {row['phone_number']}"
        return self.crm.add_call_activity(etype, eid, row["call_id"], subject, {
            "DIRECTION": direction, "DURATION": record["CALL_DURATION"],
            "STATUS_CODE": record["CALL_FAILED_CODE"], "USER_ID": record["PORTAL_USER_ID"],
            "BINDINGS": row["crm_bindings"] or [],
        })

    def search(self, phone_number: Any) -> list[dict[str, Any]]:
        """``externalCall.searchCrmEntities``: matches in the platform's order CONTACT, LEAD, COMPANY."""
        phone = str(phone_number or "")
        if phone == "":
            raise error("ERROR_CORE", "PHONE_NUMBER is empty")
        order = ("CONTACT", "LEAD", "COMPANY")
        found = sorted(self.crm.find_by_phone(phone), key=lambda t: (order.index(t[0]), t[1]))
        out = []
        for etype, eid in found:
            assigned = self.crm.assigned_by(etype, eid)
            user = self.directory.get_user(assigned)
            out.append({
                "CRM_ENTITY_TYPE": etype, "CRM_ENTITY_ID": eid, "ASSIGNED_BY_ID": assigned,
                "NAME": self.crm.entity_name(etype, eid),
                "ASSIGNED_BY": {
                    "ID": str(user["id"]) if user else None, "TIMEMAN_STATUS": "NOT_INSTALLED",
                    "USER_PHONE_INNER": (user["uf_phone_inner"] or None) if user else None,
                    "WORK_PHONE": (user["work_phone"] or None) if user else None,
                    "PERSONAL_PHONE": (user["personal_phone"] or None) if user else None,
                    "PERSONAL_MOBILE": (user["personal_mobile"] or None) if user else None,
                },
            })
        return out
