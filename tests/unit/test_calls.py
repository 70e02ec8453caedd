"""ExternalCalls over a real SQLiteStore with a recording fake of the card service: register (every
error, validation order, dedup window edges, CRM lookup and lead creation), finish (record defaults,
activity, hide), show/hide, attachRecord and uploads, searchCrmEntities, external lines, click-to-call
and callback events."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest

from callcard.clock import FakeClock, SequentialIds
from callcard.domain.calls import ExternalCalls
from callcard.domain.cards import ShowRequest
from callcard.domain.crm import Crm
from callcard.domain.directory import Directory
from callcard.domain.events import Event
from callcard.errors import BitrixError
from callcard.settings import Settings
from callcard.store import SQLiteStore

T0 = 1_763_700_000.0
PHONE = "+49 30 1234567"
STRIPPED = "+49301234567"
NOT_FINISHED = "Call is not found in the statistic table. Looks like it is not finished yet."


class FakeCards:
    """Records what external calls ask of the card service; answers one marker event per call."""

    def __init__(self) -> None:
        self.shown: list[tuple[int, ShowRequest]] = []
        self.hidden: list[tuple[int, str]] = []

    def show(self, user_id: int, request: ShowRequest) -> list[Event]:
        self.shown.append((user_id, request))
        return [Event("BackgroundCallCard::initialized", user_id=user_id, call_id=request.call_id)]

    def hide(self, user_id: int, call_id: str) -> list[Event]:
        self.hidden.append((user_id, call_id))
        return [Event("CallCard::BeforeClose", user_id=user_id, call_id=call_id)]


class Env:
    def __init__(self, tmp_path: Path) -> None:
        self.settings = Settings.for_tests(tmp_path)
        self.store = SQLiteStore(tmp_path / "db.sqlite3")
        self.clock = FakeClock(T0)
        ids = SequentialIds()
        self.directory = Directory(self.store, self.clock, ids, self.settings)
        self.directory.ensure_seeded()
        self.crm = Crm(self.store, self.clock)
        self.cards = FakeCards()
        self.calls = ExternalCalls(
            self.store, self.clock, ids, self.directory, self.crm, self.cards, self.settings
        )
        self.app = self.directory.apps.create_app("PBX", ["telephony", "crm"]).id
        self.other_app = self.directory.apps.create_app("Other PBX", ["telephony"]).id

    def register(self, **kw: Any) -> tuple[dict[str, Any], list[Event]]:
        args: dict[str, Any] = {"user_id": 2, "phone_number": PHONE, "call_type": 2}
        args.update(kw)
        app = args.pop("app", self.app)
        result, events = self.calls.register(app, **args)
        return result, events

    def finish(self, call_id: Any, **kw: Any) -> tuple[dict[str, Any], list[Event]]:
        kw.setdefault("user_id", 2)
        result, events = self.calls.finish(self.app, call_id=call_id, **kw)
        return result, events


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def raises(code: str, description: str, fn: Any, *args: Any, **kwargs: Any) -> None:
    with pytest.raises(BitrixError) as info:
        fn(*args, **kwargs)
    assert (info.value.code, info.value.description, info.value.status) == (code, description, 400)


# -- register -------------------------------------------------------------------------------------


def test_register_result_and_show(env: Env) -> None:
    result, events = env.register()
    assert re.fullmatch(r"externalCall\.[0-9a-f]{32}\.1763700000", result["CALL_ID"])
    assert result == {
        "CALL_ID": result["CALL_ID"],
        "CRM_CREATED_LEAD": None,
        "CRM_CREATED_ENTITIES": [],
        "CRM_ENTITY_TYPE": "",
        "CRM_ENTITY_ID": None,
    }
    assert [(e.name, e.user_id, e.call_id) for e in events] == [
        ("BackgroundCallCard::initialized", 2, result["CALL_ID"])
    ]
    ((uid, req),) = env.cards.shown
    assert uid == 2 and req == ShowRequest(
        call_id=result["CALL_ID"],
        phone_number=STRIPPED,
        direction="incoming",
        show_crm_card=True,
        app_id=env.app,
    )
    row = env.calls.live_call(result["CALL_ID"])
    assert row is not None and row["call_start_date"] == "2025-11-21T04:40:00+00:00"


def test_register_show_zero_shows_nothing(env: Env) -> None:
    result, events = env.register(show=False)
    assert events == [] and env.cards.shown == []
    assert env.calls.live_call(result["CALL_ID"]) is not None


@pytest.mark.parametrize(
    ("call_type", "direction"),
    [(1, "outgoing"), (2, "incoming"), (3, "incoming"), (4, "callback"), (5, "incoming")],
)
def test_register_direction_per_type(env: Env, call_type: int, direction: str) -> None:
    env.register(call_type=call_type)
    assert env.cards.shown[0][1].direction == direction


def test_register_by_inner_phone(env: Env) -> None:
    env.register(user_id=None, user_phone_inner="103")
    assert env.cards.shown[0][0] == 3
    env.register(user_id=0, user_phone_inner="104", call_type=3)
    assert env.cards.shown[1][0] == 4
    env.register(user_id=2, user_phone_inner="104", call_type=4)  # USER_ID wins
    assert env.cards.shown[2][0] == 2


@pytest.mark.parametrize(
    "kw",
    [
        {"user_id": None},
        {"user_id": 0},
        {"user_id": None, "user_phone_inner": "999"},
        {"user_id": None, "user_phone_inner": ""},
    ],
)
def test_register_needs_a_user(env: Env, kw: dict[str, Any]) -> None:
    raises("ERROR_CORE", "USER_ID or USER_PHONE_INNER should be set", env.register, **kw)


def test_register_inactive_inner_phone_is_unknown(env: Env) -> None:
    env.directory.set_user_active(3, False)
    raises(
        "ERROR_CORE",
        "USER_ID or USER_PHONE_INNER should be set",
        env.register,
        user_id=None,
        user_phone_inner="103",
    )
    raises("ERROR_CORE", "User is not found or is not active", env.register, user_id=3)


@pytest.mark.parametrize("call_type", [None, 0, 6, -1])
def test_register_unknown_type(env: Env, call_type: Any) -> None:
    raises("ERROR_CORE", "Unknown TYPE", env.register, call_type=call_type)


@pytest.mark.parametrize(
    "date",
    [
        "2026-03-07 10:20:30",
        "yesterday",
        "2026-03-07T10:20:30",
        "07.03.2026",
        "2026-03-07T10:20+03:00",
        1763700000,
    ],
)
def test_register_bad_start_date(env: Env, date: Any) -> None:
    raises(
        "ERROR_CORE", "CALL_START_DATE should be in the ISO-8601 format", env.register, call_start_date=date
    )


@pytest.mark.parametrize(
    ("date", "stored"),
    [
        ("2026-03-07T10:20:30+03:00", "2026-03-07T10:20:30+03:00"),
        ("2026-03-07T10:20:30+0300", "2026-03-07T10:20:30+03:00"),
        ("2026-03-07T07:20:30Z", "2026-03-07T07:20:30+00:00"),
        ("2026-03-07T07:20:30.250+00:00", "2026-03-07T07:20:30+00:00"),
        ("2026-03-07", "2026-03-07T00:00:00+00:00"),
        ("", "2025-11-21T04:40:00+00:00"),
    ],
)
def test_register_good_start_date(env: Env, date: str, stored: str) -> None:
    result, _ = env.register(call_start_date=date)
    assert env.calls.live_call(result["CALL_ID"])["call_start_date"] == stored  # type: ignore[index]


@pytest.mark.parametrize("number", ["", None, "anonymous", "()- "])
def test_register_unsupported_number(env: Env, number: Any) -> None:
    raises("ERROR_CORE", "Unsupported phone number format", env.register, phone_number=number)


@pytest.mark.parametrize("user_id", [99, 3])
def test_register_user_not_found_or_inactive(env: Env, user_id: int) -> None:
    env.directory.set_user_active(3, False)
    raises("ERROR_CORE", "User is not found or is not active", env.register, user_id=user_id)


def test_register_validation_order(env: Env) -> None:
    bad = {"user_id": None, "call_type": 9, "call_start_date": "bad", "phone_number": "x"}
    raises("ERROR_CORE", "USER_ID or USER_PHONE_INNER should be set", env.register, **bad)
    bad["user_id"] = 99
    raises("ERROR_CORE", "Unknown TYPE", env.register, **bad)
    bad["call_type"] = 2
    raises("ERROR_CORE", "CALL_START_DATE should be in the ISO-8601 format", env.register, **bad)
    bad["call_start_date"] = None
    raises("ERROR_CORE", "Unsupported phone number format", env.register, **bad)
    bad["phone_number"] = PHONE
    raises("ERROR_CORE", "User is not found or is not active", env.register, **bad)
    assert env.store.count("calls") == 0 and env.cards.shown == []


def test_register_accepts_the_rest_params_mapping(env: Env) -> None:
    result, events = env.calls.register(
        env.app,
        {"user_id": "3", "PHONE_NUMBER": PHONE, "TYPE": "1", "SHOW": "0", "CRM_CREATE": "1", "unknown": "x"},
    )
    assert events == [] and result["CRM_CREATED_LEAD"] == 1
    assert env.calls.live_call(result["CALL_ID"])["user_id"] == 3  # type: ignore[index]
    _, events = env.calls.register(env.app, {"USER_ID": 3, "PHONE_NUMBER": PHONE, "TYPE": 1}, show=True)
    assert len(events) == 1  # a keyword wins over the mapping; SHOW defaults to 1


# -- dedup ----------------------------------------------------------------------------------------


def test_dedup_window_edges(env: Env) -> None:
    first, _ = env.register()
    env.clock.advance(29 * 60 + 59)
    again, events = env.register()
    assert again["CALL_ID"] == first["CALL_ID"] and len(events) == 1 and len(env.cards.shown) == 2
    env.clock.advance(2)  # 30:01 after the first registration
    fresh, _ = env.register()
    assert fresh["CALL_ID"] != first["CALL_ID"]
    assert env.store.count("calls") == 2


def test_dedup_is_strictly_within_thirty_minutes(env: Env) -> None:
    first, _ = env.register()
    env.clock.advance(30 * 60)
    assert env.register()[0]["CALL_ID"] != first["CALL_ID"]


def test_dedup_reads_the_call_start_date(env: Env) -> None:
    old = "2025-11-21T04:00:00+00:00"  # 40 minutes before now
    first, _ = env.register(call_start_date=old)
    assert env.register(call_start_date=old)[0]["CALL_ID"] != first["CALL_ID"]


@pytest.mark.parametrize(
    "change", [{"call_type": 3}, {"user_id": 3}, {"app": "other"}, {"phone_number": "+49 30 7654321"}]
)
def test_dedup_keys(env: Env, change: dict[str, Any]) -> None:
    first, _ = env.register()
    if change.get("app") == "other":
        change = {"app": env.other_app}
    assert env.register(**change)[0]["CALL_ID"] != first["CALL_ID"]


def test_dedup_line_and_external_id_narrow_only_when_given(env: Env) -> None:
    first, _ = env.register(line_number="100", external_call_id="pbx-1")
    assert env.register(line_number="200", external_call_id="pbx-1")[0]["CALL_ID"] != first["CALL_ID"]
    assert env.register(line_number="100", external_call_id="pbx-2")[0]["CALL_ID"] != first["CALL_ID"]
    assert env.register(line_number="100", external_call_id="pbx-1")[0]["CALL_ID"] == first["CALL_ID"]


def test_dedup_without_line_or_external_id_matches_latest(env: Env) -> None:
    env.register(external_call_id="pbx-1")
    env.clock.advance(5)
    second, _ = env.register(external_call_id="pbx-2")
    assert env.register()[0]["CALL_ID"] == second["CALL_ID"]


def test_dedup_show_zero_and_finished_calls(env: Env) -> None:
    first, _ = env.register(show=False)
    again, events = env.register(show=False)
    assert again["CALL_ID"] == first["CALL_ID"] and events == [] and env.cards.shown == []
    env.finish(first["CALL_ID"])
    assert env.register()[0]["CALL_ID"] != first["CALL_ID"]


def test_dedup_returns_created_lead_without_a_new_one(env: Env) -> None:
    first, _ = env.register(crm_create=True)
    again, _ = env.register(crm_create=True)
    assert again == first and first["CRM_CREATED_LEAD"] == 1
    assert env.crm.list("LEAD")[1] == 1


def test_dedup_without_crm_answers_null_type(env: Env) -> None:
    env.register()
    again, _ = env.register()
    assert again["CRM_ENTITY_TYPE"] is None and again["CRM_ENTITY_ID"] is None


# -- register: CRM ----------------------------------------------------------------------------------


def test_register_finds_existing_contact_first(env: Env) -> None:
    env.crm.add("LEAD", {"PHONE": [{"VALUE": "030 1234567"}]})
    company = env.crm.add("COMPANY", {"TITLE": "C"})
    contact = env.crm.add("CONTACT", {"NAME": "A", "COMPANY_ID": company, "PHONE": [{"VALUE": PHONE}]})
    result, _ = env.register(crm_create=True)
    assert (result["CRM_ENTITY_TYPE"], result["CRM_ENTITY_ID"], result["CRM_CREATED_LEAD"]) == (
        "CONTACT",
        contact,
        None,
    )
    req = env.cards.shown[0][1]
    assert (req.crm_entity_type, req.crm_entity_id) == ("CONTACT", contact)
    assert req.crm_bindings == (
        {"ENTITY_TYPE": "CONTACT", "ENTITY_ID": contact},
        {"ENTITY_TYPE": "COMPANY", "ENTITY_ID": company},
    )
    assert env.crm.list("LEAD")[1] == 1


def test_register_creates_lead_when_asked(env: Env) -> None:
    result, _ = env.register(crm_create=True, crm_source="WEB", call_type=3)
    lead = env.crm.get("LEAD", result["CRM_CREATED_LEAD"])
    assert result["CRM_CREATED_ENTITIES"] == [{"ENTITY_TYPE": "LEAD", "ENTITY_ID": 1}]
    assert (result["CRM_ENTITY_TYPE"], result["CRM_ENTITY_ID"]) == ("LEAD", 1)
    assert (lead["TITLE"], lead["SOURCE_ID"], lead["ASSIGNED_BY_ID"]) == (
        f"Incoming call {STRIPPED}",
        "WEB",
        "2",
    )
    assert lead["PHONE"][0]["VALUE"] == STRIPPED
    assert env.cards.shown[0][1].crm_bindings == ({"ENTITY_TYPE": "LEAD", "ENTITY_ID": 1},)
    assert (
        env.crm.get(
            "LEAD", env.register(crm_create=True, phone_number="555 1", call_type=1)[0]["CRM_CREATED_LEAD"]
        )["SOURCE_ID"]
        == "CALL"
    )


def test_register_without_crm_create_makes_no_lead(env: Env) -> None:
    result, _ = env.register()
    assert result["CRM_CREATED_LEAD"] is None and env.crm.list("LEAD")[1] == 0


def test_lead_creation_error_is_reported_not_raised(env: Env) -> None:
    result, events = env.register(crm_create=True, crm_source="NO_SUCH_SOURCE")
    assert result["LEAD_CREATION_ERROR"] == "Source 'NO_SUCH_SOURCE' is not found"
    assert (result["CRM_CREATED_LEAD"], result["CRM_CREATED_ENTITIES"], result["CRM_ENTITY_TYPE"]) == (
        None,
        [],
        "",
    )
    assert len(events) == 1


def test_outgoing_honours_line_crm_auto_create(env: Env) -> None:
    env.calls.line_add(env.app, "100", "Main", "N")
    out, _ = env.register(call_type=1, crm_create=True, line_number="100")
    assert out["CRM_CREATED_LEAD"] is None
    incoming, _ = env.register(call_type=2, crm_create=True, line_number="100")
    assert incoming["CRM_CREATED_LEAD"] == 1


def test_register_with_explicit_entity(env: Env) -> None:
    env.crm.add("CONTACT", {"NAME": "A", "PHONE": [{"VALUE": PHONE}]})
    result, _ = env.register(crm_entity_type="lead", crm_entity_id=7, crm_create=True)
    assert (result["CRM_ENTITY_TYPE"], result["CRM_ENTITY_ID"], result["CRM_CREATED_LEAD"]) == (
        "LEAD",
        7,
        None,
    )


def test_portal_call_has_no_crm(env: Env) -> None:
    env.crm.add("CONTACT", {"NAME": "A", "PHONE": [{"VALUE": "104"}]})
    result, _ = env.register(phone_number="104", crm_create=True)
    assert (result["CRM_ENTITY_TYPE"], result["CRM_CREATED_LEAD"]) == ("", None)
    assert env.cards.shown[0][1].show_crm_card is False
    assert env.calls.live_call(result["CALL_ID"])["portal_user_id"] == 4  # type: ignore[index]


def test_a_number_like_an_extension_with_zeros_is_not_a_portal_call(env: Env) -> None:
    result, _ = env.register(phone_number="0104", crm_create=True)
    assert result["CRM_CREATED_LEAD"] == 1 and env.cards.shown[0][1].show_crm_card is True


def test_register_creates_missing_line_and_shows_its_name(env: Env) -> None:
    env.register(line_number=" 200 ")
    assert env.calls.line_get(env.app)[0] == [{"NUMBER": "200", "NAME": "", "CRM_AUTO_CREATE": "Y"}]
    req = env.cards.shown[0][1]
    assert (req.line_number, req.line_name) == ("200", "200")
    env.calls.line_update(env.app, "200", name="Sales")
    env.register(line_number="200", user_id=3)
    assert env.cards.shown[1][1].line_name == "Sales"


# -- finish ---------------------------------------------------------------------------------------


def test_finish_record_and_defaults(env: Env) -> None:
    call_id = env.register(external_call_id="pbx-9")[0]["CALL_ID"]
    env.clock.advance(95)
    record, events = env.finish(call_id)
    assert record == {
        "CALL_ID": call_id,
        "EXTERNAL_CALL_ID": "pbx-9",
        "PORTAL_USER_ID": 2,
        "PHONE_NUMBER": STRIPPED,
        "PORTAL_NUMBER": f"REST_APP:{env.app}",
        "INCOMING": "2",
        "CALL_DURATION": 0,
        "CALL_START_DATE": "2025-11-21T04:40:00+00:00",
        "CALL_STATUS": 0,
        "CALL_VOTE": 0,
        "COST": 0.0,
        "COST_CURRENCY": "",
        "CALL_FAILED_CODE": "304",
        "CALL_FAILED_REASON": "",
        "REST_APP_ID": str(env.app),
        "REST_APP_NAME": "PBX",
        "CRM_ACTIVITY_ID": None,
        "COMMENT": None,
        "ID": 1,
    }
    assert [(e.name, e.user_id) for e in events] == [("CallCard::BeforeClose", 2)]
    assert env.cards.hidden == [(2, call_id)]
    assert env.calls.live_call(call_id) is None and env.calls.stats(call_id) == record


def test_finish_with_duration_and_explicit_values(env: Env) -> None:
    env.calls.line_add(env.app, "100")
    call_id = env.register(line_number="100", call_type=1)[0]["CALL_ID"]
    record, _ = env.finish(call_id, duration=95, cost=1.5, cost_currency="EUR", vote=5, failed_reason="ok")
    assert (record["CALL_DURATION"], record["CALL_STATUS"], record["CALL_FAILED_CODE"]) == (95, 1, "200")
    assert (record["COST"], record["COST_CURRENCY"], record["CALL_VOTE"]) == (1.5, "EUR", 5)
    assert (record["PORTAL_NUMBER"], record["INCOMING"], record["EXTERNAL_CALL_ID"]) == ("100", "1", None)
    other = env.register(phone_number="555 2")[0]["CALL_ID"]
    assert env.finish(other, duration=10, status_code="603-S")[0]["CALL_FAILED_CODE"] == "603-S"


def test_finish_creates_activity_and_reassigns_created_lead(env: Env) -> None:
    call_id = env.register(crm_create=True)[0]["CALL_ID"]
    record, _ = env.finish(call_id, user_id=3, duration=12)
    assert (record["CRM_ENTITY_TYPE"], record["CRM_ENTITY_ID"], record["PORTAL_USER_ID"]) == ("LEAD", 1, 3)
    (activity,) = env.crm.activities_for_call(call_id)
    assert record["CRM_ACTIVITY_ID"] == activity["id"]
    assert (activity["owner_type"], activity["owner_id"], activity["subject"]) == (
        "LEAD",
        1,
        f"Incoming call {STRIPPED}",
    )
    assert activity["data"]["DURATION"] == 12 and activity["data"]["USER_ID"] == 3
    assert env.crm.get("LEAD", 1)["ASSIGNED_BY_ID"] == "3"
    assert env.cards.hidden == [(3, call_id)]


def test_finish_existing_contact_keeps_its_owner(env: Env) -> None:
    contact = env.crm.add("CONTACT", {"NAME": "A", "ASSIGNED_BY_ID": 4, "PHONE": [{"VALUE": PHONE}]})
    call_id = env.register()[0]["CALL_ID"]
    record, _ = env.finish(call_id, duration=3)
    assert (record["CRM_ENTITY_TYPE"], record["CRM_ENTITY_ID"]) == ("CONTACT", contact)
    assert env.crm.get("CONTACT", contact)["ASSIGNED_BY_ID"] == "4"


def test_finish_by_inner_phone_and_params_mapping(env: Env) -> None:
    call_id = env.register()[0]["CALL_ID"]
    record, _ = env.calls.finish(env.app, {"CALL_ID": call_id, "USER_PHONE_INNER": "104", "DURATION": "7"})
    assert (record["PORTAL_USER_ID"], record["CALL_DURATION"], record["CALL_FAILED_CODE"]) == (4, 7, "200")


def test_finish_errors_and_order(env: Env) -> None:
    call_id = env.register()[0]["CALL_ID"]
    raises("ERROR_CORE", "USER_ID or USER_PHONE_INNER should be set", env.finish, 123, user_id=None)
    raises("INVALID_ARGUMENT", "CALL_ID must be a string", env.finish, 123)
    raises("INVALID_ARGUMENT", "CALL_ID must be a string", env.finish, None)
    raises(
        "ERROR_CORE", "Call is not found (call should be registered prior to finishing)", env.finish, "nope"
    )
    raises("ERROR_CORE", "User is not found or is not active", env.finish, call_id, user_id=99)
    assert env.cards.hidden == [] and env.calls.live_call(call_id) is not None
    env.finish(call_id)
    raises(
        "ERROR_CORE", "Call is not found (call should be registered prior to finishing)", env.finish, call_id
    )


def test_finish_unexpected_database_error(env: Env) -> None:
    call_id = env.register()[0]["CALL_ID"]
    env.store.insert("call_stats", {"call_id": call_id, "user_id": 2, "record": {}, "finished_at": T0})
    raises("ERROR_CORE", "Unexpected database error", env.finish, call_id)
    assert env.calls.live_call(call_id) is not None  # nothing was half-written


def test_finish_record_url_is_kept_as_a_link(env: Env) -> None:
    call_id = env.register()[0]["CALL_ID"]
    env.finish(call_id, record_url="http://pbx.test/rec.mp3")
    (rec,) = env.calls.records.for_call(call_id)
    assert (rec["url"], rec["content"]) == ("http://pbx.test/rec.mp3", None)


# -- show / hide ----------------------------------------------------------------------------------


def test_show_and_hide_targets(env: Env) -> None:
    call_id = env.register(show=False)[0]["CALL_ID"]
    assert env.calls.show("nope") == (False, [])
    assert env.calls.hide("nope") == (False, [])
    ok, events = env.calls.show(call_id)
    assert ok is True and [e.user_id for e in events] == [2]
    ok, events = env.calls.show(call_id, [3, "4", 99])
    assert ok is True and [u for u, _ in env.cards.shown] == [2, 3, 4]
    env.calls.show(call_id, {"0": 1})
    env.calls.show(call_id, 3)
    assert [u for u, _ in env.cards.shown] == [2, 3, 4, 1, 3]
    ok, events = env.calls.hide(call_id, [2, 3])
    assert ok is True and env.cards.hidden == [(2, call_id), (3, call_id)] and len(events) == 2
    env.calls.hide(call_id)
    assert env.cards.hidden[-1] == (2, call_id)
    env.finish(call_id)
    assert env.calls.show(call_id) == (False, []) and env.calls.hide(call_id) == (False, [])


# -- attachRecord -----------------------------------------------------------------------------------


def finished(env: Env) -> str:
    call_id = env.register()[0]["CALL_ID"]
    env.finish(call_id)
    return str(call_id)


def test_attach_record_only_after_finish(env: Env) -> None:
    call_id = env.register()[0]["CALL_ID"]
    raises(
        "ERROR_CORE", NOT_FINISHED, env.calls.attach_record, call_id, filename="a.mp3", file_content="AAAA"
    )
    raises("ERROR_CORE", NOT_FINISHED, env.calls.attach_record, "nope", record_url="http://x/a.mp3")
    raises(
        "ERROR_CORE",
        "Required parameters are not set. Request should contain or URL or FILENAME parameter",
        env.calls.attach_record,
        call_id,
    )


def test_attach_record_with_content(env: Env) -> None:
    call_id = finished(env)
    audio = b"RIFF\x00\x01fake-wave"
    result, events = env.calls.attach_record(
        call_id, filename="call.wav", file_content=base64.b64encode(audio).decode()
    )
    assert events == [] and set(result) == {"FILE_ID"}
    rec = env.calls.records.get(result["FILE_ID"])
    assert rec is not None and (rec["filename"], rec["content"]) == ("call.wav", audio)
    pair, _ = env.calls.attach_record(
        call_id, filename="b.mp3", file_content=["b.mp3", base64.b64encode(b"ID3").decode()]
    )
    assert env.calls.records.get(pair["FILE_ID"])["content"] == b"ID3"  # type: ignore[index]
    assert len(env.calls.records.for_call(call_id)) == 2


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("", "AAAA", "File name is empty"),
        ("rec.ogg", "AAAA", "Wrong file extension. Only wav and mp3 are allowed"),
        ("rec.WAV", "AAAA", "Wrong file extension. Only wav and mp3 are allowed"),
        ("wav", "AAAA", "Wrong file extension. Only wav and mp3 are allowed"),
        ("rec.mp3", "", "File content is empty."),
        ("rec.mp3", "!!!not base64!!!", "File content is not properly encoded. Base64 encoding is expected."),
    ],
)
def test_attach_record_errors(env: Env, filename: str, content: str, message: str) -> None:
    raises(
        "ERROR_CORE", message, env.calls.attach_record, finished(env), filename=filename, file_content=content
    )


def test_attach_record_by_url(env: Env) -> None:
    call_id = finished(env)
    result, _ = env.calls.attach_record(call_id, record_url="http://pbx.test/r.mp3", filename="ignored.txt")
    rec = env.calls.records.get(result["FILE_ID"])
    assert rec is not None and rec["url"] == "http://pbx.test/r.mp3"


def test_empty_record_url_counts_as_absent(env: Env) -> None:
    call_id = finished(env)
    result, _ = env.calls.attach_record(call_id, record_url="", filename="a.mp3")
    assert set(result) == {"uploadUrl", "fieldName"}
    raises(
        "ERROR_CORE",
        "Required parameters are not set. Request should contain or URL or FILENAME parameter",
        env.calls.attach_record,
        call_id,
        record_url="",
    )


def test_attach_record_upload_url_flow(env: Env) -> None:
    call_id = finished(env)
    result, _ = env.calls.attach_record(call_id, filename="call.mp3")
    assert result["fieldName"] == "file"
    match = re.fullmatch(r"http://127\.0\.0\.1:8765/rest/upload/([0-9a-f]{32})", result["uploadUrl"])
    assert match is not None
    token = match.group(1)
    assert env.calls.records.for_call(call_id) == []  # pending uploads are not records yet
    raises(
        "ERROR_CORE",
        "Error: required parameter file is not found",
        env.calls.accept_upload,
        token,
        "x.mp3",
        None,
    )
    raises(
        "ERROR_CORE",
        "Wrong file extension. Only wav and mp3 are allowed",
        env.calls.accept_upload,
        token,
        "x.ogg",
        b"data",
    )
    done = env.calls.accept_upload(token, "real.mp3", b"ID3data")
    rec = env.calls.records.get(done["FILE_ID"])
    assert rec is not None and (rec["filename"], rec["content"], rec["upload_token"]) == (
        "real.mp3",
        b"ID3data",
        None,
    )
    raises(
        "ERROR_CORE", "Upload link is invalid or already used", env.calls.accept_upload, token, "a.mp3", b"x"
    )


def test_empty_filename_without_content_still_gets_an_upload_url(env: Env) -> None:
    result, _ = env.calls.attach_record(finished(env), filename="")
    assert set(result) == {"uploadUrl", "fieldName"}


# -- searchCrmEntities ------------------------------------------------------------------------------


def test_search_crm_entities(env: Env) -> None:
    raises("ERROR_CORE", "PHONE_NUMBER is empty", env.calls.search_crm_entities, "")
    assert env.calls.search_crm_entities("+1 999") == ([], [])
    env.crm.add("COMPANY", {"TITLE": "Daisy LLC", "ASSIGNED_BY_ID": 2, "PHONE": [{"VALUE": PHONE}]})
    env.crm.add("LEAD", {"TITLE": "Lead A", "PHONE": [{"VALUE": PHONE}]})
    env.crm.add(
        "CONTACT", {"NAME": "John", "LAST_NAME": "Doe", "ASSIGNED_BY_ID": 2, "PHONE": [{"VALUE": PHONE}]}
    )
    found, events = env.calls.search_crm_entities("030 1234567")
    assert events == []
    assert [(f["CRM_ENTITY_TYPE"], f["CRM_ENTITY_ID"], f["NAME"]) for f in found] == [
        ("CONTACT", 1, "John Doe"),
        ("LEAD", 1, "Lead A"),
        ("COMPANY", 1, "Daisy LLC"),
    ]
    assert found[0]["ASSIGNED_BY_ID"] == 2 and found[0]["ASSIGNED_BY"] == {
        "ID": "2",
        "TIMEMAN_STATUS": "NOT_INSTALLED",
        "USER_PHONE_INNER": "102",
        "WORK_PHONE": None,
        "PERSONAL_PHONE": None,
        "PERSONAL_MOBILE": None,
    }
    assert found[1]["ASSIGNED_BY"]["ID"] == "1"


# -- external lines -------------------------------------------------------------------------------


def test_lines_add_get_update_delete(env: Env) -> None:
    assert env.calls.line_add(env.app, " 100 ", "Main") == ({"ID": 1}, [])
    assert env.calls.line_add(env.app, "200", crm_auto_create="N")[0] == {"ID": 2}
    assert env.calls.line_get(env.app)[0] == [
        {"NUMBER": "100", "NAME": "Main", "CRM_AUTO_CREATE": "Y"},
        {"NUMBER": "200", "NAME": "", "CRM_AUTO_CREATE": "N"},
    ]
    assert env.calls.line_update(env.app, "200", crm_auto_create="Y")[0] == {"ID": "2"}
    assert env.calls.line_update(env.app, "100", name="Sales", crm_auto_create=False)[0] == {"ID": "1"}
    assert env.calls.line_get(env.app)[0][0] == {"NUMBER": "100", "NAME": "Sales", "CRM_AUTO_CREATE": "N"}
    assert env.calls.line_delete(env.app, "100") == ([], [])
    assert [ln["NUMBER"] for ln in env.calls.line_get(env.app)[0]] == ["200"]


def test_lines_errors(env: Env) -> None:
    env.calls.line_add(env.app, "100")
    raises("ERROR_CORE", "NUMBER should not be empty", env.calls.line_add, env.app, "  ")
    raises("ERROR_CORE", "Line already exists", env.calls.line_add, env.app, "100")
    raises("ERROR_CORE", "There are no fields to update", env.calls.line_update, env.app, "100")
    raises("ERROR_CORE", "There are no fields to update", env.calls.line_update, env.app, "")
    raises("ERROR_CORE", "NUMBER should not be empty", env.calls.line_update, env.app, "", name="x")
    raises(
        "ERROR_CORE", "Could not find line with number 300", env.calls.line_update, env.app, "300", name="x"
    )
    raises("ERROR_CORE", "Could not find line with number 300", env.calls.line_delete, env.app, "300")
    raises("ERROR_CORE", "NUMBER should not be empty", env.calls.line_delete, env.app, None)


@pytest.mark.parametrize(
    ("value", "stored"),
    [(None, "Y"), ("Y", "Y"), ("N", "N"), ("y", "N"), ("yes", "N"), (True, "Y"), (False, "N")],
)
def test_line_crm_auto_create_values(env: Env, value: Any, stored: str) -> None:
    env.calls.line_add(env.app, "100", crm_auto_create=value)
    assert env.calls.line_get(env.app)[0][0]["CRM_AUTO_CREATE"] == stored


def test_lines_belong_to_their_app(env: Env) -> None:
    env.calls.line_add(env.app, "100", "Mine")
    env.calls.line_add(env.other_app, "100", "Theirs")
    assert env.calls.line_get(env.other_app)[0] == [
        {"NUMBER": "100", "NAME": "Theirs", "CRM_AUTO_CREATE": "Y"}
    ]
    env.calls.line_delete(env.other_app, "100")
    assert env.calls.line_get(env.app)[0][0]["NAME"] == "Mine"


# -- click-to-call and callback events ------------------------------------------------------------


def test_start_outgoing_registers_then_returns_the_event(env: Env) -> None:
    event, result = env.calls.start_outgoing(3, "+4930123456;ext=55", env.app)
    assert (event.name, event.app_id, event.user_id, event.call_id) == (
        "ONEXTERNALCALLSTART",
        env.app,
        3,
        result["CALL_ID"],
    )
    assert event.extra == {
        "data": {
            "PHONE_NUMBER": "+4930123456;ext=55",
            "PHONE_NUMBER_INTERNATIONAL": "+4930123456",
            "EXTENSION": "55",
            "USER_ID": "3",
            "CALL_LIST_ID": "0",
            "LINE_NUMBER": "",
            "IS_MOBILE": "0",
            "CALL_ID": result["CALL_ID"],
            "CRM_ENTITY_TYPE": "LEAD",
            "CRM_ENTITY_ID": "1",
        }
    }
    row = env.calls.live_call(result["CALL_ID"])
    assert row is not None and (row["type"], row["user_id"]) == (1, 3)
    assert env.cards.shown == []  # SHOW 0


def test_start_outgoing_with_known_contact_and_line(env: Env) -> None:
    env.crm.add("CONTACT", {"NAME": "A", "PHONE": [{"VALUE": "0049 30 999"}]})
    env.calls.line_add(env.app, "100", crm_auto_create="N")
    event, result = env.calls.start_outgoing(2, "0049 30 999", env.app, line_number="100", is_mobile=True)
    data = event.extra["data"]
    assert (data["CRM_ENTITY_TYPE"], data["CRM_ENTITY_ID"], data["LINE_NUMBER"], data["IS_MOBILE"]) == (
        "CONTACT",
        "1",
        "100",
        "1",
    )
    assert (data["PHONE_NUMBER_INTERNATIONAL"], data["EXTENSION"]) == ("+4930999", "")
    assert result["CRM_CREATED_LEAD"] is None
    assert all(isinstance(v, str) for v in data.values())


def test_start_outgoing_errors_propagate(env: Env) -> None:
    raises("ERROR_CORE", "User is not found or is not active", env.calls.start_outgoing, 99, "123", env.app)


def test_request_callback_event(env: Env) -> None:
    event = env.calls.request_callback("+49 30 1234567", "Call me", "100", env.app, voice="ru-RU")
    assert (event.name, event.app_id, event.user_id) == ("ONEXTERNALCALLBACKSTART", env.app, None)
    assert event.extra == {
        "data": {
            "PHONE_NUMBER": "+49 30 1234567",
            "TEXT": "Call me",
            "VOICE": "ru-RU",
            "CRM_ENTITY_TYPE": "",
            "CRM_ENTITY_ID": "",
            "LINE_NUMBER": "100",
        }
    }
    env.crm.add("LEAD", {"PHONE": [{"VALUE": PHONE}]})
    env.crm.add("COMPANY", {"TITLE": "C", "PHONE": [{"VALUE": PHONE}]})
    data = env.calls.request_callback(PHONE, "", "", env.app).extra["data"]
    assert (data["CRM_ENTITY_TYPE"], data["CRM_ENTITY_ID"]) == ("COMPANY", "1")
    assert env.store.count("calls") == 0  # a callback request registers nothing
