"""External calls: ``telephony.externalCall.*`` and ``telephony.externalLine.*`` (rest-api.md §9.1–9.6),
click-to-call (ONEXTERNALCALLSTART) and callback requests (ONEXTERNALCALLBACKSTART, §9.8).

Every REST-facing method takes already-coerced values and returns ``(result, events)``; the events come
from the card service (register/show/hide/finish open and close cards, call-card.md §9) and the surface
publishes them. Validation order and error texts follow the platform's voximplant REST module. What a
call does in the CRM (bindings, auto-created leads, the call activity, searchCrmEntities) is callcrm.py's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from ..clock import Clock, IdSource
from ..errors import error
from ..settings import Settings
from ..store import Row, Store
from .callcrm import CallCrm, chip_entity_type
from .callparams import (
    FINISH_PARAMS,
    REGISTER_PARAMS,
    international,
    merge_params,
    parse_start_date,
    split_extension,
    strip_letters,
    target_users,
)
from .card import CallCard
from .cards import ShowRequest
from .crm import Crm
from .directory import Directory
from .events import Event
from .lines import ExternalLines
from .records import CallRecords

__all__ = ["CALL_TYPES", "CardPort", "ExternalCalls", "direction_of"]

#: TYPE → card direction (call-card.md §1): 1 outgoing, 2 incoming, 3 incoming with redirect,
#: 4 callback, 5 info call (rendered as incoming).
CALL_TYPES: dict[int, str] = {1: "outgoing", 2: "incoming", 3: "incoming", 4: "callback", 5: "incoming"}
Result = tuple[Any, list[Event]]


class CardPort(Protocol):
    """The card-service operations external calls use (``CardService`` in domain/cards.py)."""

    def get(self, user_id: int) -> CallCard | None: ...

    def show(self, user_id: int, request: ShowRequest) -> list[Event]: ...

    def hide(self, user_id: int, call_id: str) -> list[Event]: ...

    def load_crm(self, user_id: int, call_id: str, entity_type: str, entity_id: int,
                 bindings: list[dict[str, Any]]) -> list[Event]: ...


def direction_of(call_type: int) -> str:
    return CALL_TYPES.get(int(call_type), "incoming")


class ExternalCalls:
    """Live external calls (table ``calls``), their statistics (``call_stats``), lines and records."""

    def __init__(self, store: Store, clock: Clock, ids: IdSource, directory: Directory, crm: Crm,
                 cards: CardPort, settings: Settings) -> None:
        self.store, self.clock, self.ids = store, clock, ids
        self.directory, self.crm, self.cards, self.settings = directory, crm, cards, settings
        self.lines = ExternalLines(store)
        self.records = CallRecords(store, clock, ids, settings)
        self.call_crm = CallCrm(crm, directory)

    # -- register -----------------------------------------------------------------------------------

    def register(
        self, app_id: int | None, params: Mapping[str, Any] | None = None, *, user_id: int | None = None,
        user_phone_inner: Any = None,
        phone_number: Any = None, call_type: int | None = None, call_start_date: Any = None,
        crm_create: bool | None = None, crm_source: str | None = None, crm_entity_type: str | None = None,
        crm_entity_id: int | None = None, show: bool | None = None, add_to_chat: bool | None = None,
        call_list_id: int | None = None, line_number: str | None = None, external_call_id: str | None = None,
    ) -> Result:
        """``telephony.externalCall.register``. Parameters come as keywords or as the REST ``params``
        mapping (``{"USER_ID": 1, "PHONE_NUMBER": ..., "TYPE": 2}``); keywords win. Defaults: SHOW 1,
        CRM_CREATE 0. ADD_TO_CHAT and CALL_LIST_ID have no effect (no chat or call lists in callcard)."""
        if params:
            return self.register(app_id, **merge_params(params, REGISTER_PARAMS, {
                "user_id": user_id, "user_phone_inner": user_phone_inner, "phone_number": phone_number,
                "call_type": call_type, "call_start_date": call_start_date, "crm_create": crm_create,
                "crm_source": crm_source, "crm_entity_type": crm_entity_type, "crm_entity_id": crm_entity_id,
                "show": show, "add_to_chat": add_to_chat, "call_list_id": call_list_id,
                "line_number": line_number, "external_call_id": external_call_id,
            }))
        show = True if show is None else bool(show)
        now = self.clock.now()
        uid = self._operator(user_id, user_phone_inner)
        if call_type not in CALL_TYPES:
            raise error("ERROR_CORE", "Unknown TYPE")
        start_ts, start_iso = parse_start_date(call_start_date, now)
        phone = strip_letters(phone_number)
        if not phone:
            raise error("ERROR_CORE", "Unsupported phone number format")
        self._require_active(uid)
        line_text = str(line_number if line_number is not None else "").strip()
        line = self.lines.ensure(app_id, line_text) if line_text else None
        key = f"{uid}|{phone}|{call_type}|{app_id}"
        with self.store.transaction():
            duplicate = self._duplicate(key, line, external_call_id or "", now)
            if duplicate is None:
                row = self._create(app_id, uid, phone, call_type, key, start_ts, start_iso, line,
                                   external_call_id or "", bool(crm_create), crm_source, crm_entity_type,
                                   crm_entity_id)
        if duplicate is not None:
            # The platform re-shows the existing call and answers its CRM state (no LEAD_CREATION_ERROR).
            events = self._show(duplicate, [int(duplicate["user_id"])]) if show else []
            return self._register_result(duplicate, dedup=True), events
        result = self._register_result(row, dedup=False)
        if row.get("lead_error"):
            result["LEAD_CREATION_ERROR"] = row["lead_error"]
        return result, (self._show(row, [uid]) if show else [])

    def _create(self, app_id: int | None, uid: int, phone: str, call_type: int, key: str, start_ts: float,
                start_iso: str, line: Row | None, external_call_id: str, crm_create: bool,
                crm_source: str | None, crm_entity_type: str | None, crm_entity_id: int | None) -> Row:
        # an outgoing call (TYPE 1) on a line may create a lead only if the line's CRM_AUTO_CREATE is Y
        auto_create = line is None or call_type != 1 or line["crm_auto_create"] == "Y"
        crm = self.call_crm.bind(phone, uid, direction_of(call_type), entity_type=crm_entity_type,
                                 entity_id=crm_entity_id, create_lead=crm_create and auto_create,
                                 source=crm_source)
        call_id = f"externalCall.{self.ids.hex(16)}.{int(self.clock.now())}"
        row: Row = {
            "call_id": call_id, "app_id": app_id, "user_id": uid, "phone_number": phone, "type": call_type,
            "line_number": line["number"] if line else "", "external_call_id": external_call_id,
            "call_start_date": start_iso, "call_start_ts": start_ts, "crm_entity_type": crm.entity_type,
            "crm_entity_id": crm.entity_id, "crm_bindings": crm.bindings, "crm_created_lead": crm.created_lead,
            "crm_created_entities": crm.created_entities, "crm_enabled": crm.crm_enabled,
            "portal_user_id": crm.portal_user_id, "dedup_key": key, "created_at": self.clock.now(),
        }
        self.store.insert("calls", row)
        # The row as a read would return it, without reading it back: the two columns not written take
        # their defaults, the flag comes back as an integer (register and _show read nothing else).
        return {**row, "type": int(call_type), "crm_activity_id": 0, "crm_enabled": int(crm.crm_enabled),
                "lead_error": crm.lead_error}

    def _duplicate(self, key: str, line: Row | None, external_call_id: str, now: float) -> Row | None:
        """The platform's dedup: same user, number, TYPE and app, started within the window; line and
        EXTERNAL_CALL_ID narrow the match only when given. Finished calls are gone and never match."""
        since = now - self.settings.dedup_window_s
        candidates = [
            r for r in self.store.find("calls", {"dedup_key": key})
            if r["call_start_ts"] > since
            and (line is None or r["line_number"] == line["number"])
            and (not external_call_id or r["external_call_id"] == external_call_id)
        ]
        return max(candidates, key=lambda r: r["created_at"]) if candidates else None

    @staticmethod
    def _register_result(row: Row, *, dedup: bool) -> dict[str, Any]:
        etype, eid = row["crm_entity_type"], int(row["crm_entity_id"] or 0)
        return {
            "CALL_ID": row["call_id"],
            "CRM_CREATED_LEAD": row["crm_created_lead"] or None,
            "CRM_CREATED_ENTITIES": [dict(e) for e in row["crm_created_entities"] or []],
            "CRM_ENTITY_TYPE": (etype or None) if dedup else etype,
            "CRM_ENTITY_ID": eid or None,
        }

    # -- show / hide --------------------------------------------------------------------------------

    def show(self, call_id: Any, user_ids: Any = None) -> Result:
        """``externalCall.show``: ``True`` and the card events, ``False`` for an unknown call."""
        row = self.store.get("calls", str(call_id or ""))
        if row is None:
            return False, []
        return True, self._show(row, target_users(user_ids, int(row["user_id"])))

    def hide(self, call_id: Any, user_ids: Any = None) -> Result:
        """``externalCall.hide``: ``True`` and the card events, ``False`` for an unknown call."""
        row = self.store.get("calls", str(call_id or ""))
        if row is None:
            return False, []
        events: list[Event] = []
        for uid in target_users(user_ids, int(row["user_id"])):
            if self.directory.get_user(uid) is not None:
                events += self.cards.hide(uid, row["call_id"])
        return True, events

    def _show(self, row: Row, user_ids: list[int]) -> list[Event]:
        line = self.lines.find(row["app_id"], row["line_number"]) if row["line_number"] else None
        request = ShowRequest(
            call_id=row["call_id"], phone_number=row["phone_number"], direction=direction_of(row["type"]),
            line_number=line["number"] if line else "",
            line_name=(line["name"] or line["number"]) if line else "",
            crm_entity_type=row["crm_entity_type"], crm_entity_id=int(row["crm_entity_id"] or 0),
            crm_activity_id=int(row["crm_activity_id"] or 0),
            crm_bindings=tuple(dict(b) for b in row["crm_bindings"] or []),
            show_crm_card=bool(row["crm_enabled"]), app_id=row["app_id"],
        )
        events: list[Event] = []
        for uid in user_ids:
            if self.directory.get_user(uid) is not None:  # unknown ids reach nobody, as a pull would
                events += self.cards.show(uid, request)
        return events

    # -- the card's CRM row (call-card.md §3.4, §5) --------------------------------------------------

    def create_from_card(self, user_id: int, chip: str) -> Result:
        """The operator's Lead or Contact chip: create that entity for the number of the user's open card,
        bind the card's call to it (finish and the call record report it, as an entity found at register)
        and show it on the card. Returns ``{"CRM_ENTITY_TYPE", "CRM_ENTITY_ID"}`` and the events of the
        CRM load (CallCard::EntityChanged, then BackgroundCallCard::entityChanged for an external card).

        Raises ValueError, creating nothing: for Deal / Invoice (the message says callcard has none), when
        the user has no open card, and when the card does not offer the chip (it shows an entity already:
        a stale click)."""
        entity_type = chip_entity_type(chip)
        with self.store.transaction():  # the check, the entity, the call and the card change together
            card = self.cards.get(user_id)
            if card is None:
                raise ValueError("the user has no open call card")
            if chip not in card.crm_buttons():
                raise ValueError(f"the card already shows {card.crm_entity_type} #{card.crm_entity_id}")
            etype, eid, bindings = self.call_crm.create_for_card(entity_type, card.phone_number, user_id,
                                                                 card.direction)
            # a finished call has no row left: only the card learns the entity then
            self.store.update("calls", {"call_id": card.call_id},
                              {"crm_entity_type": etype, "crm_entity_id": eid, "crm_bindings": bindings})
            events = self.cards.load_crm(user_id, card.call_id, etype, eid, bindings)
        return {"CRM_ENTITY_TYPE": etype, "CRM_ENTITY_ID": eid}, events

    # -- finish -------------------------------------------------------------------------------------

    def finish(
        self, app_id: int | None, params: Mapping[str, Any] | None = None, *, call_id: Any = None,
        user_id: int | None = None, user_phone_inner: Any = None,
        duration: int | None = None, cost: float | None = None, cost_currency: str | None = None,
        status_code: str | None = None, failed_reason: str | None = None, record_url: str | None = None,
        vote: int | None = None, add_to_chat: bool | None = None,
    ) -> Result:
        """``telephony.externalCall.finish``: hide the card for the user, write the statistics record,
        create the CRM call activity, delete the live call. Returns the record (rest-api.md §9.2).
        Parameters come as keywords or as the REST ``params`` mapping, like ``register``."""
        if params:
            return self.finish(app_id, **merge_params(params, FINISH_PARAMS, {
                "call_id": call_id, "user_id": user_id, "user_phone_inner": user_phone_inner,
                "duration": duration, "cost": cost, "cost_currency": cost_currency,
                "status_code": status_code,
                "failed_reason": failed_reason, "record_url": record_url, "vote": vote,
                "add_to_chat": add_to_chat,
            }))
        uid = self._operator(user_id, user_phone_inner)
        if not isinstance(call_id, str):
            raise error("INVALID_ARGUMENT", "CALL_ID must be a string")
        row = self.store.get("calls", call_id)
        if row is None:
            raise error("ERROR_CORE", "Call is not found (call should be registered prior to finishing)")
        self._require_active(uid)
        events = self.cards.hide(uid, call_id)
        seconds = int(duration or 0)
        with self.store.transaction():
            if self.store.count("call_stats", {"call_id": call_id}):  # count: no row to cache or decode
                raise error("ERROR_CORE", "Unexpected database error")
            # auto-created entities go to the finisher
            self.call_crm.hand_over(row["crm_created_entities"] or [], uid)
            app = self.directory.apps.get_app(row["app_id"]) if row["app_id"] is not None else None
            record: dict[str, Any] = {
                "CALL_ID": call_id, "EXTERNAL_CALL_ID": row["external_call_id"] or None,
                "PORTAL_USER_ID": uid,
                "PHONE_NUMBER": row["phone_number"],
                "PORTAL_NUMBER": row["line_number"] or f"REST_APP:{row['app_id']}",
                "INCOMING": str(row["type"]), "CALL_DURATION": seconds,
                "CALL_START_DATE": row["call_start_date"],
                "CALL_STATUS": 1 if seconds > 0 else 0, "CALL_VOTE": int(vote or 0), "COST": float(cost or 0),
                "COST_CURRENCY": str(cost_currency or ""),
                "CALL_FAILED_CODE": str(status_code) if status_code else ("200" if seconds > 0 else "304"),
                "CALL_FAILED_REASON": str(failed_reason or ""),
                "REST_APP_ID": str(row["app_id"]) if row["app_id"] is not None else "",
                "REST_APP_NAME": app.name if app else False, "CRM_ACTIVITY_ID": None, "COMMENT": None,
            }
            if row["crm_entity_type"] and int(row["crm_entity_id"] or 0) > 0:
                record["CRM_ENTITY_TYPE"] = row["crm_entity_type"]
                record["CRM_ENTITY_ID"] = int(row["crm_entity_id"])
                record["CRM_ACTIVITY_ID"] = self.call_crm.add_activity(row, record, direction_of(row["type"]))
            # The record carries its own ID, known only once the row exists: insert a placeholder and
            # write the record once (the transaction hides the placeholder; encoding it twice costs more).
            stat_id = self.store.insert("call_stats", {
                "call_id": call_id, "user_id": uid, "app_id": row["app_id"], "record": {},
                "finished_at": self.clock.now(),
            })
            record["ID"] = stat_id
            self.store.update("call_stats", {"id": stat_id}, {"record": record})
            if record_url:  # deprecated RECORD_URL: kept as a link (callcard never downloads)
                self.records.attach(call_id, record_url=record_url)
            self.store.delete("calls", {"call_id": call_id})
        return record, events

    def stats(self, call_id: str) -> dict[str, Any] | None:
        """The finish record of a finished call (for the UI and tests)."""
        row = self.store.find_one("call_stats", {"call_id": call_id})
        return dict(row["record"]) if row else None

    def live_call(self, call_id: str) -> Row | None:
        return self.store.get("calls", call_id)

    # -- records, CRM search, lines -----------------------------------------------------------------

    def attach_record(self, call_id: Any, *, record_url: Any = None, filename: Any = None,
                      file_content: Any = None) -> Result:
        """``externalCall.attachRecord`` (only after finish): ``{FILE_ID}`` or ``{uploadUrl, fieldName}``."""
        return self.records.attach(call_id, record_url=record_url, filename=filename,
                                   file_content=file_content), []

    def accept_upload(self, token: str, filename: str, content: bytes | None) -> dict[str, Any]:
        """The multipart POST to an ``uploadUrl`` (field ``file``) → ``{FILE_ID}``."""
        return self.records.accept_upload(token, filename, content)

    def search_crm_entities(self, phone_number: Any) -> Result:
        """``externalCall.searchCrmEntities``: matches in the platform's order CONTACT, LEAD, COMPANY."""
        return self.call_crm.search(phone_number), []

    def line_add(self, app_id: int | None, number: Any, name: Any = None,
                 crm_auto_create: Any = None) -> Result:
        return self.lines.add(app_id, number, name, crm_auto_create), []

    def line_update(self, app_id: int | None, number: Any, name: Any = None,
                    crm_auto_create: Any = None) -> Result:
        return self.lines.update(app_id, number, name, crm_auto_create), []

    def line_get(self, app_id: int | None) -> Result:
        return self.lines.get(app_id), []

    def line_delete(self, app_id: int | None, number: Any) -> Result:
        return self.lines.delete(app_id, number), []

    # -- host-initiated calls (outbound REST events) ------------------------------------------------

    def start_outgoing(self, user_id: int, phone: str, app_id: int, *, line_number: str = "",
                       crm_entity_type: str = "", crm_entity_id: int | None = None, call_list_id: int = 0,
                       is_mobile: bool = False) -> tuple[Event, dict[str, Any]]:
        """Click-to-call: register an outgoing call (TYPE 1, SHOW 0, CRM_CREATE 1) for the user; return
        the ONEXTERNALCALLSTART event for the app (the call exists before it is sent) and the register
        result. Delivery must wait until the app's install has finished (rest-api.md §9.8)."""
        number, extension = split_extension(phone)
        result, _ = self.register(
            app_id, user_id=user_id, phone_number=phone, call_type=1, show=False, crm_create=True,
            crm_entity_type=crm_entity_type or None, crm_entity_id=crm_entity_id,
            line_number=line_number or None, call_list_id=call_list_id,
        )
        data = {
            "PHONE_NUMBER": phone, "PHONE_NUMBER_INTERNATIONAL": international(number),
            "EXTENSION": extension, "USER_ID": str(user_id), "CALL_LIST_ID": str(int(call_list_id or 0)),
            "LINE_NUMBER": line_number, "IS_MOBILE": "1" if is_mobile else "0", "CALL_ID": result["CALL_ID"],
            "CRM_ENTITY_TYPE": result["CRM_ENTITY_TYPE"] or "",
            "CRM_ENTITY_ID": str(result["CRM_ENTITY_ID"] or ""),
        }
        event = Event("ONEXTERNALCALLSTART", user_id=user_id, call_id=result["CALL_ID"], app_id=app_id,
                      extra={"data": data})
        return event, result

    def request_callback(self, phone: str, text: str, line_number: str, app_id: int, *, voice: str = "",
                         crm_entity_type: str = "", crm_entity_id: int | None = None) -> Event:
        """A callback request from the host UI → the ONEXTERNALCALLBACKSTART event for the app. Without an
        explicit entity the CRM is searched by phone (contact, company, then lead)."""
        if not crm_entity_type:
            found = self.crm.find_by_phone(phone)
            crm_entity_type, crm_entity_id = found[0] if found else ("", None)
        data = {"PHONE_NUMBER": phone, "TEXT": text, "VOICE": voice, "CRM_ENTITY_TYPE": crm_entity_type,
                "CRM_ENTITY_ID": str(crm_entity_id or ""), "LINE_NUMBER": line_number}
        return Event("ONEXTERNALCALLBACKSTART", app_id=app_id, extra={"data": data})

    # -- helpers ------------------------------------------------------------------------------------

    def _operator(self, user_id: int | None, user_phone_inner: Any) -> int:
        """USER_ID, else the active user with that UF_PHONE_INNER (the platform's order)."""
        uid = int(user_id or 0)
        if uid == 0 and user_phone_inner not in (None, ""):
            found = self.directory.find_by_inner_phone(user_phone_inner)
            uid = int(found["id"]) if found else 0
        if uid == 0:
            raise error("ERROR_CORE", "USER_ID or USER_PHONE_INNER should be set")
        return uid

    def _require_active(self, user_id: int) -> None:
        if not self.directory.is_active_user(user_id):
            raise error("ERROR_CORE", "User is not found or is not active")
