"""placement.bind/unbind/get/list, rendering queries and the slow-handler watchdog (placements.md)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from callcard.clock import FakeClock
from callcard.domain.conformance import Conformance
from callcard.domain.events import WATCHDOG_NOTICE
from callcard.domain.placements import Placements, tab_title
from callcard.errors import BitrixError
from callcard.settings import Settings, WatchdogSettings
from callcard.store import SQLiteStore

PBW = "PAGE_BACKGROUND_WORKER"
ERR_URL = "https://app.example.com/error"
HANDLER = "https://app.example.com/worker"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_763_700_000.0)


@pytest.fixture
def store(tmp_path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "db.sqlite3")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.for_tests(tmp_path)


@pytest.fixture
def report(store, clock) -> Conformance:
    return Conformance(store, clock)


@pytest.fixture
def pl(store, clock, settings, report) -> Placements:
    return Placements(store, clock, settings, report)


def make_app(store, name="App", scopes=("placement", "telephony", "crm", "user"), installed=True) -> dict:
    app_id = store.insert(
        "apps",
        {
            "code": name.lower(),
            "name": name,
            "client_id": f"local.{name.lower()}",
            "client_secret": "s",
            "application_token": "t",
            "scopes": list(scopes),
            "installed": installed,
            "created_at": 0.0,
        },
    )
    row = store.get("apps", app_id)
    assert row is not None
    return row


@pytest.fixture
def app(store) -> dict:
    return make_app(store)


def pbw(**extra: Any) -> dict[str, Any]:
    return {"PLACEMENT": PBW, "HANDLER": HANDLER, "OPTIONS": {"errorHandlerUrl": ERR_URL}, **extra}


def fails(fn, *args) -> BitrixError:
    with pytest.raises(BitrixError) as info:
        fn(*args)
    return info.value


# -- placement.bind: one test per error row, in the documented order ------------------------------------


def test_bind_success(pl, app):
    assert pl.bind(app, True, pbw()) is True
    assert [r["placement"] for r in pl.get(app)] == [PBW]


def test_1_access_denied_comes_first(pl, app):
    err = fails(pl.bind, app, False, {})  # even with nothing valid in it
    assert (err.code, err.status, err.description) == ("ACCESS_DENIED", 403, "Access denied!")


@pytest.mark.parametrize(
    ("params", "argument", "description"),
    [
        ({"HANDLER": HANDLER}, "PLACEMENT", "Argument 'PLACEMENT' is null or empty"),
        ({"PLACEMENT": "", "HANDLER": HANDLER}, "PLACEMENT", "Argument 'PLACEMENT' is null or empty"),
        ({"PLACEMENT": "CALL_CARD"}, "HANDLER", "Argument 'HANDLER' is null or empty"),
        ({"PLACEMENT": "CALL_CARD", "HANDLER": "  "}, "HANDLER", "Argument 'HANDLER' is null or empty"),
        (
            {"PLACEMENT": ["CALL_CARD"], "HANDLER": HANDLER},
            "PLACEMENT",
            "The value of an argument 'PLACEMENT' must be of type string",
        ),
        (
            {"PLACEMENT": "CALL_CARD", "HANDLER": {"a": 1}},
            "HANDLER",
            "The value of an argument 'HANDLER' must be of type string",
        ),
        (
            {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER, "TITLE": {"x": 1}},
            "TITLE",
            "The value of an argument 'TITLE' must be of type string",
        ),
        (
            {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER, "LANG_ALL": "en"},
            "LANG_ALL",
            "The value of an argument 'LANG_ALL' must be of type array",
        ),
    ],
)
def test_2_error_argument(pl, app, params, argument, description):
    err = fails(pl.bind, app, True, params)
    assert (err.code, err.status) == ("ERROR_ARGUMENT", 400)
    assert err.description == description
    assert err.envelope() == {
        "error": "ERROR_ARGUMENT",
        "error_description": description,
        "argument": argument,
    }


def test_2_arguments_are_checked_before_the_placement(pl, app):
    err = fails(pl.bind, app, True, {"PLACEMENT": "NO_SUCH_PLACE"})
    assert (err.code, err.extra) == ("ERROR_ARGUMENT", {"argument": "HANDLER"})


def test_2_default_is_not_bindable(pl, app):
    err = fails(pl.bind, app, True, {"PLACEMENT": "default", "HANDLER": HANDLER})
    assert (err.code, err.extra) == ("ERROR_ARGUMENT", {"argument": "PLACEMENT"})


@pytest.mark.parametrize(
    ("code", "scopes"),
    [
        ("NO_SUCH_PLACE", ("placement", "telephony", "crm")),
        ("CALL_CARD", ("placement", "crm")),  # telephony scope missing
        ("CRM_DEAL_DETAIL_TAB", ("placement", "telephony")),  # crm scope missing
    ],
)
def test_3_placement_not_found(pl, store, code, scopes):
    app = make_app(store, scopes=scopes)
    err = fails(pl.bind, app, True, {"PLACEMENT": code, "HANDLER": HANDLER})
    assert (err.code, err.status) == ("ERROR_PLACEMENT_NOT_FOUND", 400)


def test_3_background_worker_is_global(pl, store):
    # PAGE_BACKGROUND_WORKER lives in the platform's global scope: no telephony/crm needed.
    app = make_app(store, scopes=("placement",))
    assert pl.bind(app, True, pbw()) is True


def test_3_placement_is_checked_before_the_handler_url(pl, app):
    err = fails(pl.bind, app, True, {"PLACEMENT": "NO_SUCH_PLACE", "HANDLER": "ftp://x.example.com/"})
    assert err.code == "ERROR_PLACEMENT_NOT_FOUND"


@pytest.mark.parametrize("url", ["ftp://app.example.com/h", "javascript:alert(1)", "app.example.com/h"])
def test_4_unsupported_protocol(pl, app, url):
    err = fails(pl.bind, app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": url})
    assert (err.code, err.status) == ("ERROR_UNSUPPORTED_PROTOCOL", 400)


def test_4_protocol_is_checked_before_options(pl, app):
    err = fails(pl.bind, app, True, {"PLACEMENT": PBW, "HANDLER": "ftp://app.example.com/h"})
    assert err.code == "ERROR_UNSUPPORTED_PROTOCOL"


def test_5_wrong_handler_url_only_when_strict(store, clock, settings, report, app):
    strict = Placements(store, clock, settings.with_(strict_handler_url=True), report)
    err = fails(strict.bind, app, True, pbw(HANDLER="http://localhost:3000/worker"))
    assert (err.code, err.status) == ("ERROR_WRONG_HANDLER_URL", 400)
    # checked before options: a dotless URL without errorHandlerUrl still fails on the URL
    err = fails(strict.bind, app, True, {"PLACEMENT": PBW, "HANDLER": "http://localhost/w"})
    assert err.code == "ERROR_WRONG_HANDLER_URL"
    assert report.findings() == []
    # a host with a dot (an IP too) passes
    assert strict.bind(app, True, pbw(HANDLER="http://127.0.0.1:3000/worker")) is True


def test_5_dotless_host_accepted_with_a_warning_when_not_strict(pl, app, report):
    assert pl.bind(app, True, pbw(HANDLER="http://localhost:3000/worker")) is True
    [finding] = report.findings()
    assert (finding["app_id"], finding["kind"], finding["severity"]) == (
        app["id"],
        "dotless_handler_host",
        "warning",
    )
    assert finding["detail"] == {"placement": PBW, "handler": "http://localhost:3000/worker"}


def test_5_url_without_host_is_always_wrong(pl, app):
    err = fails(pl.bind, app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": "http:///path"})
    assert err.code == "ERROR_WRONG_HANDLER_URL"


@pytest.mark.parametrize("options", [None, {}, {"errorHandlerUrl": ""}, {"other": "x"}, "x"])
def test_6_empty_error_handler_url_is_http_200(pl, app, options):
    params = {"PLACEMENT": PBW, "HANDLER": HANDLER}
    if options is not None:
        params["OPTIONS"] = options
    err = fails(pl.bind, app, True, params)
    assert err.code == "EMPTY_ERROR_HANDLER_URL"
    assert err.status == 200
    assert err.envelope() == {
        "error": "EMPTY_ERROR_HANDLER_URL",
        "error_description": "Field errorHandlerUrl is empty.",
    }
    assert pl.get(app) == []


def test_6_options_are_checked_before_the_count(pl, app):
    pl.bind(app, True, pbw())
    err = fails(pl.bind, app, True, {"PLACEMENT": PBW, "HANDLER": HANDLER + "2"})
    assert err.code == "EMPTY_ERROR_HANDLER_URL"


@pytest.mark.parametrize("code", ["CALL_CARD", "CRM_LEAD_DETAIL_TAB"])
def test_7_user_mode_only_for_background_worker(pl, app, code):
    err = fails(pl.bind, app, True, {"PLACEMENT": code, "HANDLER": HANDLER, "USER_ID": "5"})
    assert (err.code, err.status, err.description) == (
        "ERROR_PLACEMENT_USER_MODE",
        400,
        "User mode is not available",
    )


def test_7_user_id_zero_is_not_user_mode(pl, app):
    assert pl.bind(app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER, "USER_ID": "0"}) is True


def test_7_user_mode_is_checked_before_the_count(pl, app):
    pl.bind(app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER})
    err = fails(pl.bind, app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER + "2", "USER_ID": 3})
    assert err.code == "ERROR_PLACEMENT_USER_MODE"


@pytest.mark.parametrize("code", [PBW, "CALL_CARD"])
def test_8_max_count_one_per_app(pl, app, code):
    params = pbw(PLACEMENT=code)
    pl.bind(app, True, params)
    err = fails(pl.bind, app, True, {**params, "HANDLER": HANDLER + "?other=1"})
    assert (err.code, err.status) == ("ERROR_PLACEMENT_MAX_COUNT", 400)
    assert len(pl.get(app)) == 1


def test_8_max_count_is_per_app(pl, store, app):
    other = make_app(store, name="Other")
    pl.bind(app, True, pbw())
    assert pl.bind(other, True, pbw()) is True


def test_8_background_worker_counts_per_user(pl, app):
    assert pl.bind(app, True, pbw(USER_ID=5, HANDLER=HANDLER + "?u=5")) is True
    assert pl.bind(app, True, pbw(USER_ID=6, HANDLER=HANDLER + "?u=6")) is True
    assert fails(pl.bind, app, True, pbw(USER_ID=5, HANDLER=HANDLER + "?again")).code == (
        "ERROR_PLACEMENT_MAX_COUNT"
    )
    # an all-user row may still be added; after it, a user row would render twice for that user
    assert pl.bind(app, True, pbw()) is True
    assert fails(pl.bind, app, True, pbw(USER_ID=7)).code == "ERROR_PLACEMENT_MAX_COUNT"


def test_crm_tabs_allow_one_row_per_handler(pl, app):
    tab = {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER, "TITLE": "Calls"}
    assert pl.bind(app, True, tab) is True
    assert pl.bind(app, True, {**tab, "HANDLER": HANDLER + "?b"}) is True
    err = fails(pl.bind, app, True, tab)
    assert (err.code, err.description) == (
        "ERROR_CORE",
        "Unable to set placement handler: Handler already binded",
    )
    assert len(pl.get(app)) == 2


# -- what bind stores, and placement.get ----------------------------------------------------------------


def test_placement_code_is_case_insensitive_and_stored_upper(pl, app):
    pl.bind(app, True, {"placement": "call_card", "handler": HANDLER})
    assert pl.get(app)[0]["placement"] == "CALL_CARD"


def test_background_worker_keeps_only_error_handler_url(pl, app):
    pl.bind(app, True, pbw(OPTIONS={"errorHandlerUrl": ERR_URL, "other": "dropped", "x": [1]}))
    assert pl.get(app)[0]["options"] == {"errorHandlerUrl": ERR_URL}


def test_call_card_keeps_no_options(pl, app):
    pl.bind(
        app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER, "OPTIONS": {"errorHandlerUrl": ERR_URL}}
    )
    assert pl.get(app)[0]["options"] == []


def test_get_shape(pl, app, store):
    pl.bind(app, True, pbw(USER_ID="4", TITLE="Worker", DESCRIPTION="d", GROUP_NAME="g"))
    pl.bind(
        app,
        True,
        {
            "PLACEMENT": "CALL_CARD",
            "HANDLER": HANDLER + "/tab",
            "LANG_ALL": {"en": {"TITLE": "Tab"}, "de": {"TITLE": " Reiter ", "DESCRIPTION": "Beschreibung"}},
        },
    )
    assert pl.get(app) == [
        {
            "placement": PBW,
            "userId": 4,
            "handler": HANDLER,
            "options": {"errorHandlerUrl": ERR_URL},
            "title": "Worker",
            "description": "d",
            "langAll": {"en": {"TITLE": "Worker", "DESCRIPTION": "d", "GROUP_NAME": "g"}},
        },
        {
            "placement": "CALL_CARD",
            "userId": 0,
            "handler": HANDLER + "/tab",
            "options": [],
            "title": "Tab",
            "description": "",
            "langAll": {
                "en": {"TITLE": "Tab", "DESCRIPTION": "", "GROUP_NAME": ""},
                "de": {"TITLE": "Reiter", "DESCRIPTION": "Beschreibung", "GROUP_NAME": ""},
            },
        },
    ]
    other = make_app(store, name="Other")
    assert pl.get(other) == []


def test_unlabelled_registration_is_labelled_with_the_app_name(pl, app):
    pl.bind(app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER})
    [row] = pl.get(app)
    assert row["title"] == ""
    assert row["langAll"] == {"en": {"TITLE": "App", "DESCRIPTION": "", "GROUP_NAME": ""}}


def test_get_requires_admin(pl, app):
    assert fails(pl.get, app, False).code == "ACCESS_DENIED"


def test_tab_title_prefers_the_user_language(pl, app, store):
    pl.bind(
        app,
        True,
        {
            "PLACEMENT": "CALL_CARD",
            "HANDLER": HANDLER,
            "TITLE": "Calls",
            "LANG_ALL": {"en": {"TITLE": "Calls"}, "de": {"TITLE": "Anrufe"}},
        },
    )
    [row] = pl.call_card_rows(user_is_admin=False)
    assert tab_title(row, "de") == "Anrufe"
    assert tab_title(row, "en") == "Calls"
    assert tab_title(row, "fr") == "Calls"
    assert tab_title({"title": "", "lang_all": None}, "en", "My App") == "My App"


# -- placement.unbind -----------------------------------------------------------------------------------


def test_unbind_removes_all_rows_of_the_placement_without_handler(pl, app, store):
    other = make_app(store, name="Other")
    pl.bind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER})
    pl.bind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER + "2"})
    pl.bind(app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER})
    pl.bind(other, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER})
    assert pl.unbind(app, True, {"PLACEMENT": "crm_deal_detail_tab"}) == {"count": 2}
    assert [r["placement"] for r in pl.get(app)] == ["CALL_CARD"]
    assert len(pl.get(other)) == 1


def test_unbind_with_handler_and_user_id(pl, app):
    pl.bind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER})
    pl.bind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER + "2"})
    assert pl.unbind(app, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER + "2"}) == {
        "count": 1
    }
    pl.bind(app, True, pbw(USER_ID=5))
    pl.bind(app, True, pbw(USER_ID=6, HANDLER=HANDLER + "6"))
    assert pl.unbind(app, True, {"PLACEMENT": PBW, "USER_ID": "5"}) == {"count": 1}
    assert [r["userId"] for r in pl.get(app) if r["placement"] == PBW] == [6]


def test_unbind_nothing_matching_counts_zero(pl, app):
    assert pl.unbind(app, True, {"PLACEMENT": "CALL_CARD"}) == {"count": 0}
    assert pl.unbind(app, True, {"PLACEMENT": "NO_SUCH_PLACE"}) == {"count": 0}


def test_unbind_errors(pl, app):
    assert fails(pl.unbind, app, False, {"PLACEMENT": "CALL_CARD"}).code == "ACCESS_DENIED"
    err = fails(pl.unbind, app, True, {})
    assert (err.code, err.extra) == ("ERROR_ARGUMENT", {"argument": "PLACEMENT"})


# -- placement.list -------------------------------------------------------------------------------------


def test_list_codes(pl, store):
    tel = make_app(store, name="Tel", scopes=("placement", "telephony"))
    assert pl.list_codes(tel) == [PBW, "CALL_CARD"]
    assert pl.list_codes(tel, scope="crm") == [
        "CRM_DEAL_DETAIL_TAB",
        "CRM_LEAD_DETAIL_TAB",
        "CRM_CONTACT_DETAIL_TAB",
        "CRM_COMPANY_DETAIL_TAB",
    ]
    assert pl.list_codes(tel, scope="telephony") == ["CALL_CARD"]
    assert pl.list_codes(tel, scope="nothing") == []
    assert pl.list_codes(tel, scope="") == [PBW]
    full = pl.list_codes(tel, full=True)
    assert set(full) == {PBW, "CALL_CARD", *pl.list_codes(tel, scope="crm")}
    # FULL is considered only when SCOPE is absent
    assert pl.list_codes(tel, scope="telephony", full=True) == ["CALL_CARD"]
    assert "DEFAULT" not in full


# -- rendering queries: USER_ID rule, install rule ------------------------------------------------------


def test_background_rows_user_id_rule(pl, store):
    a = make_app(store, name="A")
    b = make_app(store, name="B")
    c = make_app(store, name="C")
    pl.bind(a, True, pbw())  # every user
    pl.bind(b, True, pbw(USER_ID=5))  # only user 5
    pl.bind(c, True, pbw(USER_ID=6))  # only user 6
    assert [r["app_id"] for r in pl.background_rows(5, False)] == [a["id"], b["id"]]
    assert [r["app_id"] for r in pl.background_rows(6, False)] == [a["id"], c["id"]]
    assert [r["app_id"] for r in pl.background_rows(7, True)] == [a["id"]]


def test_not_installed_app_renders_only_for_admins(pl, store):
    done = make_app(store, name="Done")
    fresh = make_app(store, name="Fresh", installed=False)
    for app in (done, fresh):
        pl.bind(app, True, pbw())
        pl.bind(app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER})
        pl.bind(app, True, {"PLACEMENT": "CRM_CONTACT_DETAIL_TAB", "HANDLER": HANDLER})
    assert [r["app_id"] for r in pl.background_rows(2, False)] == [done["id"]]
    assert [r["app_id"] for r in pl.background_rows(1, True)] == [done["id"], fresh["id"]]
    assert [r["app_id"] for r in pl.call_card_rows(False)] == [done["id"]]
    assert [r["app_id"] for r in pl.call_card_rows(True)] == [done["id"], fresh["id"]]
    assert [r["app_id"] for r in pl.crm_tab_rows("contact", False)] == [done["id"]]
    assert [r["app_id"] for r in pl.crm_tab_rows("CRM_CONTACT_DETAIL_TAB", True)] == [done["id"], fresh["id"]]
    assert pl.crm_tab_rows("DEAL", True) == []
    store.update("apps", {"id": fresh["id"]}, {"installed": 1})
    assert len(pl.background_rows(2, False)) == 2


def test_rows_of_a_deleted_app_are_not_rendered(pl, store, app):
    pl.bind(app, True, pbw())
    store.delete("apps", {"id": app["id"]})
    assert pl.background_rows(1, True) == []


def test_crm_tab_rows_rejects_unknown_entity(pl):
    with pytest.raises(ValueError):
        pl.crm_tab_rows("INVOICE", True)


# -- the slow-handler watchdog --------------------------------------------------------------------------


@pytest.fixture
def worker(pl, app) -> int:
    pl.bind(app, True, pbw())
    return int(pl.background_rows(1, True)[0]["id"])


def test_a_load_at_or_under_the_threshold_counts_nothing(pl, worker, report):
    assert pl.report_load(worker, 100) == []
    assert pl.report_load(worker, 5000) == []  # boundary: not "longer than" 5000 ms
    row = pl.row(worker)
    assert row is not None and row["overtime_count"] == 0 and row["window_start"] is None
    assert report.findings() == []


def test_a_slow_load_is_a_strike(pl, worker, clock, report):
    assert pl.report_load(worker, 5001) == []
    row = pl.row(worker)
    assert row is not None
    assert (row["overtime_count"], row["window_start"]) == (1, clock.now())
    [finding] = report.findings()
    assert (finding["kind"], finding["severity"]) == ("slow_frame_load", "warning")


def test_third_slow_load_in_the_window_deletes_the_row_and_notifies(pl, worker, app, clock, report):
    assert pl.report_load(worker, 6000) == []
    clock.advance(3600)
    assert pl.report_load(worker, 7000) == []
    clock.advance(3600)
    [notice] = pl.report_load(worker, 8000)
    assert pl.row(worker) is None
    assert pl.background_rows(1, True) == []
    assert notice.name == WATCHDOG_NOTICE == "ERROR_PLACEMENT_LOADING_OVERTIME"
    assert notice.app_id == app["id"]
    assert notice.user_id is None and notice.call_id is None
    assert notice.extra == {
        "url": ERR_URL,
        "form": {
            "error": "ERROR_PLACEMENT_LOADING_OVERTIME",
            "error_description": "The handler took longer than 5 s to load 3 times; "
            "the placement has been removed.",
        },
    }
    # exactly the two form fields: no auth block, no tokens
    assert set(notice.extra["form"]) == {"error", "error_description"}
    kinds = [(f["kind"], f["severity"]) for f in report.findings()]
    assert kinds[-1] == ("watchdog_removed", "error")
    assert kinds.count(("slow_frame_load", "warning")) == 3
    # a report for the removed row is harmless; the app may bind again
    assert pl.report_load(worker, 9000) == []
    assert pl.bind(app, True, pbw()) is True


def test_window_expiry_resets_the_count(pl, worker, clock):
    pl.report_load(worker, 6000)
    pl.report_load(worker, 6000)
    clock.advance(86400)  # now == window_start + window: expired
    assert pl.report_load(worker, 6000) == []
    row = pl.row(worker)
    assert row is not None and row["overtime_count"] == 1 and row["window_start"] == clock.now()
    clock.advance(86399)
    pl.report_load(worker, 6000)
    assert pl.report_load(worker, 6000) != []
    assert pl.row(worker) is None


def test_window_is_per_row(pl, store, clock):
    a, b = make_app(store, name="A"), make_app(store, name="B")
    pl.bind(a, True, pbw())
    pl.bind(b, True, pbw())
    ra, rb = (int(r["id"]) for r in pl.background_rows(1, True))
    pl.report_load(ra, 6000)
    clock.advance(80000)
    pl.report_load(rb, 6000)
    pl.report_load(ra, 6000)
    clock.advance(10000)  # a's window (started first) expired, b's has not
    pl.report_load(ra, 6000)
    pl.report_load(rb, 6000)
    assert pl.row(ra)["overtime_count"] == 1
    assert pl.row(rb)["overtime_count"] == 2


def test_watchdog_settings_are_honoured(store, clock, tmp_path, app, report):
    settings = Settings.for_tests(
        tmp_path, watchdog=WatchdogSettings(threshold_ms=2500, strikes=2, window_s=60)
    )
    pl = Placements(store, clock, settings, report)
    pl.bind(app, True, pbw())
    row_id = int(pl.background_rows(1, True)[0]["id"])
    assert pl.report_load(row_id, 2500) == []
    assert pl.report_load(row_id, 2501) == []
    [notice] = pl.report_load(row_id, 2501)
    assert notice.extra["form"]["error_description"] == (
        "The handler took longer than 2.5 s to load 2 times; the placement has been removed."
    )


def test_disabled_watchdog_counts_nothing(store, clock, tmp_path, app, report):
    settings = Settings.for_tests(tmp_path, watchdog=WatchdogSettings(enabled=False))
    pl = Placements(store, clock, settings, report)
    pl.bind(app, True, pbw())
    row_id = int(pl.background_rows(1, True)[0]["id"])
    for _ in range(5):
        assert pl.report_load(row_id, 60000) == []
    assert pl.row(row_id)["overtime_count"] == 0
    assert report.findings() == []


def test_deleted_row_without_error_handler_url_sends_no_notice(pl, worker, store, report):
    store.update("placements", {"id": worker}, {"options": {}})
    assert pl.report_load(worker, 6000) == []
    assert pl.report_load(worker, 6000) == []
    assert pl.report_load(worker, 6000) == []
    assert pl.row(worker) is None
    assert report.findings()[-1]["kind"] == "watchdog_removed"


def test_watchdog_ignores_other_placements_and_unknown_rows(pl, app):
    pl.bind(app, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER})
    [row] = pl.call_card_rows(True)
    for _ in range(4):
        assert pl.report_load(int(row["id"]), 60000) == []
    assert pl.row(int(row["id"])) is not None
    assert pl.report_load(999, 60000) == []


# -- app objects as Directory returns them ----------------------------------------------------------------


@dataclass(frozen=True)
class AppObject:
    id: int
    name: str
    scopes: tuple[str, ...]


def test_app_objects_work_like_rows(pl, app):
    obj = AppObject(id=app["id"], name="Obj", scopes=("placement", "telephony"))
    assert pl.bind(obj, True, {"PLACEMENT": "CALL_CARD", "HANDLER": HANDLER}) is True
    assert pl.get(obj) == pl.get(app)
    assert pl.get(obj)[0]["langAll"] == {"en": {"TITLE": "Obj", "DESCRIPTION": "", "GROUP_NAME": ""}}
    assert pl.list_codes(obj) == [PBW, "CALL_CARD"]
    assert fails(pl.bind, obj, True, {"PLACEMENT": "CRM_DEAL_DETAIL_TAB", "HANDLER": HANDLER}).code == (
        "ERROR_PLACEMENT_NOT_FOUND"
    )
    assert pl.unbind(obj, True, {"PLACEMENT": "CALL_CARD"}) == {"count": 1}
