"""crm.lead/contact/company add/get/list/update and crm.duplicate.findbycomm through the real /rest surface.

The platform's CRM proxy answers errors with an empty code (``{"error": "", ...}``, HTTP 400).
"""

from __future__ import annotations

import pytest
from conftest import OPERATOR, Portal, error_of

PHONE = "+49 30 123-45-67"


def crm_error(text: str) -> tuple[int, dict]:
    return 400, {"error": "", "error_description": text}


@pytest.mark.parametrize("entity", ["lead", "contact", "company"])
def test_add_get_update(portal: Portal, entity: str) -> None:
    fields = {"TITLE": "Acme", "NAME": "Ann", "PHONE": [{"VALUE": PHONE, "VALUE_TYPE": "WORK"}]}
    new_id = portal.ok(f"crm.{entity}.add", {"fields": fields}, token=portal.operator)
    assert new_id == 1 and isinstance(new_id, int)
    got = portal.ok(f"crm.{entity}.get", {"id": new_id})
    assert got["ID"] == "1" and got["ASSIGNED_BY_ID"] == str(OPERATOR) and got["HAS_PHONE"] == "Y"
    assert got["PHONE"] == [{"ID": "1", "VALUE_TYPE": "WORK", "VALUE": PHONE, "TYPE_ID": "PHONE"}]
    assert portal.ok(f"crm.{entity}.update", {"ID": new_id, "FIELDS": {"COMMENTS": "VIP"}}) is True
    assert portal.ok(f"crm.{entity}.get", {"ID": str(new_id)})["COMMENTS"] == "VIP"


def test_add_urlencoded_with_nested_multifields(portal: Portal) -> None:
    body = {"fields": {"TITLE": "From BX24", "PHONE": [{"VALUE": "+15550001111", "VALUE_TYPE": "MOBILE"}]}}
    response = portal.call("crm.lead.add", body, form=True)
    assert (response.status_code, response.json()["result"]) == (200, 1)
    lead = portal.services.crm.get("LEAD", 1)
    assert lead["TITLE"] == "From BX24" and lead["PHONE"][0]["VALUE_TYPE"] == "MOBILE"


def test_list_filter_select_order_and_paging(portal: Portal) -> None:
    crm = portal.services.crm
    for n in range(55):
        crm.add("CONTACT", {"NAME": f"N{n:02d}", "LAST_NAME": "Smith" if n % 2 else "Jones"})
    first = portal.call("crm.contact.list", {"select": ["ID", "NAME"]}).json()
    assert (len(first["result"]), first["total"], first["next"]) == (50, 55, 50)
    assert first["result"][0] == {"ID": "1", "NAME": "N00"}
    second = portal.call("crm.contact.list", {"start": 50}, form=True).json()
    assert len(second["result"]) == 5 and "next" not in second and second["total"] == 55
    assert "PHONE" not in second["result"][0] and second["result"][0]["LAST_NAME"] == "Jones"
    smiths = portal.call("crm.contact.list", {"filter": {"LAST_NAME": "Smith", "<=ID": 6},
                                              "order": {"ID": "DESC"}, "select": ["ID"]}).json()  # fmt: skip
    assert smiths["result"] == [{"ID": "6"}, {"ID": "4"}, {"ID": "2"}] and smiths["total"] == 3


def test_list_filters_by_phone(portal: Portal) -> None:
    portal.services.crm.add("LEAD", {"TITLE": "a", "PHONE": [{"VALUE": PHONE}]})
    portal.services.crm.add("LEAD", {"TITLE": "b"})
    found = portal.ok("crm.lead.list", {"filter": {"PHONE": "+493012345 67"}, "select": ["ID", "PHONE"]})
    assert [row["ID"] for row in found] == ["1"] and found[0]["PHONE"][0]["VALUE"] == PHONE


@pytest.mark.parametrize(
    ("method", "params", "text"),
    [
        ("crm.lead.get", {}, "ID is not defined or invalid."),
        ("crm.lead.get", {"id": "abc"}, "ID is not defined or invalid."),
        ("crm.contact.get", {"id": 7}, "Not found"),
        ("crm.company.update", {"id": 7, "fields": {"TITLE": "x"}}, "Not found"),
        ("crm.company.update", {"fields": {"TITLE": "x"}}, "ID is not defined or invalid."),
        ("crm.lead.list", {"order": "ID"}, "Parameter 'order' must be array."),
        ("crm.lead.list", {"filter": 5}, "Parameter 'filter' must be array."),
        ("crm.lead.add", {"fields": {"SOURCE_ID": "NOWHERE"}}, "Source 'NOWHERE' is not found"),
    ],
)
def test_errors_carry_the_empty_code(portal: Portal, method: str, params: dict, text: str) -> None:
    assert error_of(portal.call(method, params)) == crm_error(text)


def test_duplicate_find_by_comm(portal: Portal) -> None:
    crm = portal.services.crm
    crm.add("LEAD", {"TITLE": "l", "PHONE": [{"VALUE": PHONE}]})
    crm.add("CONTACT", {"NAME": "c"})
    crm.add(
        "CONTACT", {"NAME": "d", "PHONE": [{"VALUE": "0049 (30) 1234567"}], "EMAIL": [{"VALUE": "d@x.org"}]}
    )
    assert portal.ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["+4930 1234567"]}) == {
        "LEAD": [1], "CONTACT": [2]
    }  # fmt: skip
    assert portal.ok(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": [PHONE], "entity_type": "CONTACT"}
    ) == {"CONTACT": [2]}
    form = portal.call("crm.duplicate.findbycomm", {"type": "email", "values": ["D@X.ORG"]}, form=True)
    assert form.json()["result"] == {"CONTACT": [2]}
    assert portal.ok("crm.duplicate.findbycomm", {"type": "PHONE", "values": ["+1 555"]}) == []


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"values": ["1"]}, "Communication type is not defined"),
        ({"type": "FAX", "values": ["1"]}, "Communication type 'FAX' is not supported in current context"),
        ({"type": "PHONE"}, "Communication values is not defined"),
    ],
)
def test_duplicate_find_by_comm_errors(portal: Portal, params: dict, text: str) -> None:
    assert error_of(portal.call("crm.duplicate.findbycomm", params)) == crm_error(text)


def test_crm_scope(portal: Portal) -> None:
    app = portal.install_app(scopes=("telephony",))
    response = portal.call("crm.lead.list", token=portal.tokens(app, OPERATOR))
    assert error_of(response) == (
        403, {"error": "insufficient_scope", "error_description": "The request requires higher privileges"},
    )  # fmt: skip
    assert portal.ok("crm.lead.add", {"fields": {"TITLE": "hook"}}, hook=portal.operator_hook) == 1
