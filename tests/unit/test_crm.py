"""Crm over a real SQLiteStore: Bitrix-shaped entities, per-type ids, multi-fields, list filters,
phone lookup priority, duplicate search, call activities and the catalogue errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from callcard.clock import FakeClock
from callcard.domain.crm import Crm, normalize_phone, phone_key, phones_match
from callcard.errors import BitrixError
from callcard.store import SQLiteStore

T0 = 1_763_700_000.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def crm(tmp_path: Path, clock: FakeClock) -> Crm:
    return Crm(SQLiteStore(tmp_path / "db.sqlite3"), clock)


def raises(code: str, description: str, fn: Any, *args: Any, **kwargs: Any) -> BitrixError:
    with pytest.raises(BitrixError) as info:
        fn(*args, **kwargs)
    assert (info.value.code, info.value.description, info.value.status) == (code, description, 400)
    return info.value


def phone(value: str, vtype: str = "WORK") -> list[dict[str, str]]:
    return [{"VALUE": value, "VALUE_TYPE": vtype}]


def test_phone_normalisation() -> None:
    assert normalize_phone("+49 (30) 123-45") == "+493012345"
    assert normalize_phone("8 906 219-50-47") == "89062195047"
    assert normalize_phone("hidden") == ""
    assert phone_key("+7 906 219 50 47") == phone_key("8 (906) 219-50-47") == "9062195047"
    assert phone_key("101") == "101"


@pytest.mark.parametrize(("a", "b", "same"), [
    ("+7 906 219 50 47", "8 (906) 219-50-47", True),     # same last 10 digits
    ("030 1234567", "+49 30 1234567", True),              # national vs international (trunk 0)
    ("0049 30 1234567", "+49 30 1234567", True),          # 00 prefix
    ("1234567", "+49 30 1234567", True),                  # local number, 7 significant digits
    ("234567", "+49 30 1234567", False),                  # too short to match on a tail
    ("101", "101", True), ("101", "5101", False),         # extensions match exactly
    ("+49 30 1234567", "+49 30 7654321", False),
    ("", "", False), ("hidden", "hidden", False),
])
def test_phones_match(a: str, b: str, same: bool) -> None:
    assert phones_match(a, b) is same and phones_match(b, a) is same


def test_lead_shape(crm: Crm) -> None:
    lead_id = crm.add("lead", {"NAME": "Ann", "PHONE": phone("+1 555 0100")}, user_id=2)
    lead = crm.get("LEAD", lead_id)
    assert lead["ID"] == "1" and lead["TITLE"] == "Lead #1" and lead["NAME"] == "Ann"
    assert (lead["STATUS_ID"], lead["OPENED"], lead["SOURCE_ID"]) == ("NEW", "Y", "")
    assert (lead["ASSIGNED_BY_ID"], lead["CREATED_BY_ID"], lead["MODIFY_BY_ID"]) == ("2", "2", "2")
    assert lead["DATE_CREATE"] == lead["DATE_MODIFY"] == "2025-11-21T04:40:00+00:00"
    assert lead["PHONE"] == [{"ID": "1", "VALUE_TYPE": "WORK", "VALUE": "+1 555 0100", "TYPE_ID": "PHONE"}]
    assert (lead["HAS_PHONE"], lead["HAS_EMAIL"]) == ("Y", "N") and "EMAIL" not in lead
    assert lead["CONTACT_ID"] is None


def test_contact_and_company_shapes(crm: Crm) -> None:
    company = crm.add("COMPANY", {"TITLE": "Daisy LLC", "EMAIL": [{"VALUE": "hi@daisy.test"}]})
    contact = crm.add("CONTACT", {"NAME": "John", "LAST_NAME": "Doe", "COMPANY_ID": company,
                                  "ASSIGNED_BY_ID": "3"})
    c = crm.get("CONTACT", contact)
    assert (c["ID"], c["TYPE_ID"], c["COMPANY_ID"], c["ASSIGNED_BY_ID"]) == ("1", "CLIENT", "1", "3")
    assert "PHONE" not in c and c["HAS_PHONE"] == "N"
    co = crm.get("COMPANY", company)
    assert (co["COMPANY_TYPE"], co["HAS_EMAIL"]) == ("CUSTOMER", "Y")
    assert co["EMAIL"][0] == {"ID": "1", "VALUE_TYPE": "WORK", "VALUE": "hi@daisy.test", "TYPE_ID": "EMAIL"}
    assert crm.entity_name("CONTACT", contact) == "John Doe"
    assert crm.entity_name("COMPANY", company) == "Daisy LLC"
    assert crm.assigned_by("CONTACT", contact) == 3


def test_ids_are_per_type(crm: Crm) -> None:
    assert crm.add("LEAD", {}) == 1
    assert crm.add("CONTACT", {"NAME": "A"}) == 1
    assert crm.add("LEAD", None) == 2
    assert crm.add("COMPANY", {"TITLE": "C"}) == 1


def test_urlencoded_multifield_form(crm: Crm) -> None:
    cid = crm.add("CONTACT", {"NAME": "A", "PHONE": {"0": {"VALUE": "111", "VALUE_TYPE": "MOBILE"},
                                                     "1": {"VALUE": "222"}}})
    values = [(p["VALUE"], p["VALUE_TYPE"]) for p in crm.get("CONTACT", cid)["PHONE"]]
    assert values == [("111", "MOBILE"), ("222", "WORK")]


def test_get_errors(crm: Crm) -> None:
    raises("ERROR_NOT_FOUND", "Not found", crm.get, "LEAD", 5)
    raises("ERROR_CORE", "ID is not defined or invalid.", crm.get, "LEAD", 0)
    raises("ERROR_CORE", "ID is not defined or invalid.", crm.get, "LEAD", "abc")
    err = raises("ERROR_ARGUMENT", "Unknown CRM entity type 'DEAL'", crm.get, "DEAL", 1)
    assert err.extra == {"argument": "entityType"}


def test_add_errors(crm: Crm) -> None:
    raises("ERROR_CORE", "The parameter 'fields' must be array.", crm.add, "LEAD", ["x"])
    raises("ERROR_CORE", "Source 'NOPE' is not found", crm.add, "LEAD", {"SOURCE_ID": "NOPE"})
    raises("ERROR_ARGUMENT", "Argument 'PHONE' must be an array", crm.add, "LEAD", {"PHONE": "123"})
    raises("ERROR_ARGUMENT", "Argument 'PHONE' must be an array of objects",
           crm.add, "LEAD", {"PHONE": ["1"]})
    raises("ERROR_ARGUMENT", "Argument 'ASSIGNED_BY_ID' is invalid", crm.add, "LEAD", {"ASSIGNED_BY_ID": "x"})
    assert crm.add("LEAD", {"SOURCE_ID": "web"}) == 1  # known sources, any case
    assert crm.store.count("crm_entities") == 1  # failed adds left nothing behind


def test_update_scalars_and_multifields(crm: Crm, clock: FakeClock) -> None:
    cid = crm.add("CONTACT", {"NAME": "A", "PHONE": phone("111") + phone("222"), "EMAIL": [{"VALUE": "a@x"}]})
    clock.advance(60)
    assert crm.update("CONTACT", cid, {"LAST_NAME": "B", "ASSIGNED_BY_ID": 4, "ID": 99, "PHONE": [
        {"ID": "1", "VALUE": "333"},            # change
        {"ID": "2", "VALUE": ""},               # delete
        {"VALUE": "444", "VALUE_TYPE": "HOME"},  # add
    ]}, user_id=2) is True
    c = crm.get("CONTACT", cid)
    scalars = (c["ID"], c["NAME"], c["LAST_NAME"], c["ASSIGNED_BY_ID"], c["MODIFY_BY_ID"])
    assert scalars == ("1", "A", "B", "4", "2")
    phones = [(p["ID"], p["VALUE"], p["VALUE_TYPE"]) for p in c["PHONE"]]
    assert phones == [("1", "333", "WORK"), ("4", "444", "HOME")]
    assert c["EMAIL"][0]["VALUE"] == "a@x"  # untouched when not in fields
    assert c["DATE_MODIFY"] == "2025-11-21T04:41:00+00:00" and c["DATE_CREATE"] == "2025-11-21T04:40:00+00:00"
    crm.update("CONTACT", cid, {"PHONE": [{"ID": "1", "VALUE": "555", "DELETE": "Y"}]})
    assert [p["VALUE"] for p in crm.get("CONTACT", cid)["PHONE"]] == ["444"]
    assert crm.find_by_phone("333") == [] and crm.find_by_phone("444") == [("CONTACT", 1)]
    raises("ERROR_NOT_FOUND", "Not found", crm.update, "CONTACT", 9, {"NAME": "x"})


def test_delete(crm: Crm) -> None:
    lid = crm.add("LEAD", {"PHONE": phone("123456")})
    assert crm.delete("LEAD", lid) is True
    raises("ERROR_NOT_FOUND", "Not found", crm.get, "LEAD", lid)
    assert crm.find_by_phone("123456") == []
    raises("ERROR_NOT_FOUND", "Not found", crm.delete, "LEAD", lid)


def test_list_filter_select_order_paging(crm: Crm) -> None:
    for n in range(1, 61):
        crm.add("LEAD", {"TITLE": f"T{n:02d}", "STATUS_ID": "JUNK" if n % 2 else "NEW",
                         "PHONE": phone(f"+1 555 {n:04d}")})
    rows, total = crm.list("LEAD")
    assert total == 60 and len(rows) == 50 and rows[0]["ID"] == "1"
    assert "PHONE" not in rows[0] and rows[0]["TITLE"] == "T01"
    rows, total = crm.list("LEAD", start=50)
    assert [r["ID"] for r in rows] == [str(n) for n in range(51, 61)]
    rows, total = crm.list("LEAD", {">ID": 55, "STATUS_ID": "NEW"}, ["TITLE", "PHONE"], {"ID": "DESC"})
    assert total == 3 and rows == [
        {"ID": "60", "TITLE": "T60", "PHONE": [{"ID": "60", "VALUE_TYPE": "WORK", "VALUE": "+1 555 0060",
                                                "TYPE_ID": "PHONE"}]},
        {"ID": "58", "TITLE": "T58", "PHONE": rows[1]["PHONE"]},
        {"ID": "56", "TITLE": "T56", "PHONE": rows[2]["PHONE"]},
    ]
    assert [r["ID"] for r in crm.list("LEAD", {"PHONE": "15550007"})[0]] == ["7"]
    assert [r["ID"] for r in crm.list("LEAD", {"%TITLE": "t1"}, ["*"])[0]] == [str(n) for n in range(10, 20)]
    star = crm.list("LEAD", {"ID": 1}, ["*", "PHONE"])[0][0]
    assert "PHONE" in star and "TITLE" in star


def test_find_by_phone_priority_and_matching(crm: Crm) -> None:
    crm.add("LEAD", {"PHONE": phone("8 (906) 219-50-47")})
    crm.add("LEAD", {"PHONE": phone("+79062195047")})
    crm.add("COMPANY", {"TITLE": "C", "PHONE": phone("906 219 5047")})
    crm.add("CONTACT", {"NAME": "X", "PHONE": phone("+7 906 219 50 47")})
    crm.add("CONTACT", {"NAME": "Y", "PHONE": phone("+7 906 000 00 00")})
    expected = [("CONTACT", 1), ("COMPANY", 1), ("LEAD", 1), ("LEAD", 2)]
    assert crm.find_by_phone("+7 (906) 219-50-47") == expected
    assert crm.find_by_phone("+1 000") == []
    assert crm.find_by_phone("hidden") == []


def test_duplicate_find_by_comm(crm: Crm) -> None:
    crm.add("LEAD", {"PHONE": phone("555-1234"), "EMAIL": [{"VALUE": "Ann@Example.com"}]})
    crm.add("CONTACT", {"NAME": "A", "PHONE": phone("5551234")})
    crm.add("CONTACT", {"NAME": "B", "PHONE": phone("+15550000")})
    assert crm.duplicate_find_by_comm("PHONE", ["5551234", "+1 555 0000"]) == {"LEAD": [1], "CONTACT": [1, 2]}
    assert crm.duplicate_find_by_comm("phone", {"0": "5551234"}, "CONTACT") == {"CONTACT": [1]}
    assert crm.duplicate_find_by_comm("EMAIL", ["ann@example.COM"]) == {"LEAD": [1]}
    assert crm.duplicate_find_by_comm("EMAIL", ["nobody@x"]) == []
    assert crm.duplicate_find_by_comm("PHONE", ["001 555 0000"]) == {"CONTACT": [2]}
    raises("ERROR_CORE", "Communication type is not defined", crm.duplicate_find_by_comm, "", ["1"])
    raises("ERROR_CORE", "Communication type 'FAX' is not supported in current context",
           crm.duplicate_find_by_comm, "FAX", ["1"])
    raises("ERROR_CORE", "Communication values is not defined", crm.duplicate_find_by_comm, "PHONE", [])
    raises("ERROR_CORE", "Entity type 'DEAL' is not supported in current context",
           crm.duplicate_find_by_comm, "PHONE", ["1"], "DEAL")


def test_call_activities(crm: Crm) -> None:
    cid = crm.add("CONTACT", {"NAME": "A"})
    aid = crm.add_call_activity("contact", cid, "externalCall.x.1", "Incoming call 123", {"DURATION": 5})
    rows = crm.activities_for_call("externalCall.x.1")
    assert [(r["id"], r["owner_type"], r["owner_id"], r["subject"], r["data"]) for r in rows] == [
        (aid, "CONTACT", cid, "Incoming call 123", {"DURATION": 5})]
    raises("ERROR_NOT_FOUND", "Not found", crm.add_call_activity, "LEAD", 7, "c", "s")
    assert crm.exists("CONTACT", cid) and not crm.exists("LEAD", 1) and not crm.exists("DEAL", 1)
