"""event.bind/unbind/get handlers (rest-api.md §9.7) and REST placement.bindEvent card handlers (§9.13)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from callcard.clock import FakeClock
from callcard.domain.conformance import Conformance
from callcard.domain.events import BACKGROUND_EVENTS, CALL_CARD_EVENTS
from callcard.domain.handlers import CardHandlers, EventHandlers
from callcard.errors import BitrixError
from callcard.store import SQLiteStore

URL = "https://app.example.com/events"


@pytest.fixture
def store(tmp_path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "db.sqlite3")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def report(store, clock) -> Conformance:
    return Conformance(store, clock)


@pytest.fixture
def events(store, clock, report) -> EventHandlers:
    return EventHandlers(store, clock, conformance=report)


@pytest.fixture
def cards(store, clock) -> CardHandlers:
    return CardHandlers(store, clock)


def make_app(store, name="App", scopes=("telephony", "placement")) -> dict:
    app_id = store.insert(
        "apps",
        {
            "code": name.lower(),
            "name": name,
            "client_id": f"local.{name.lower()}",
            "client_secret": "s",
            "application_token": "t",
            "scopes": list(scopes),
            "created_at": 0.0,
        },
    )
    return store.get("apps", app_id)


@pytest.fixture
def app(store) -> dict:
    return make_app(store)


def fails(fn, *args) -> BitrixError:
    with pytest.raises(BitrixError) as info:
        fn(*args)
    return info.value


# -- event.bind -----------------------------------------------------------------------------------------


def test_bind_upper_cases_the_event_and_lists_it(events, app):
    assert events.bind(app, True, {"event": "onExternalCallStart", "handler": URL}) is True
    assert events.get(app) == [
        {"event": "ONEXTERNALCALLSTART", "handler": URL, "auth_type": "0", "offline": 0}
    ]


def test_bind_accepts_upper_case_keys_and_auth_type(events, app):
    events.bind(app, True, {"EVENT": "ONAPPINSTALL", "HANDLER": URL, "AUTH_TYPE": "3"})
    assert events.get(app)[0]["auth_type"] == "3"


def test_bind_requires_admin(events, app):
    err = fails(events.bind, app, False, {"event": "ONEXTERNALCALLSTART", "handler": URL})
    assert (err.code, err.status) == ("ACCESS_DENIED", 403)


def test_unknown_event(events, app):
    err = fails(events.bind, app, True, {"event": "ONCRMLEADADD", "handler": URL})
    assert (err.code, err.status, err.description) == ("ERROR_EVENT_NOT_FOUND", 400, "Event not found")


def test_telephony_events_need_the_telephony_scope(events, store):
    app = make_app(store, name="NoTel", scopes=("placement",))
    assert fails(events.bind, app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL}).code == (
        "ERROR_EVENT_NOT_FOUND"
    )
    assert events.bind(app, True, {"event": "ONAPPUNINSTALL", "handler": URL}) is True


def test_same_event_handler_and_auth_type_twice(events, app):
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL})
    err = fails(events.bind, app, True, {"event": "onexternalcallstart", "handler": URL})
    assert (err.code, err.status, err.description) == (
        "ERROR_HANDLER_ALREADY_EXIST",
        400,
        "Handler already exists",
    )
    # another auth_type or handler is a new binding
    assert events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL, "auth_type": 2})
    assert events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL + "/2"})
    assert len(events.get(app)) == 3


@pytest.mark.parametrize(
    ("params", "argument"),
    [
        ({"handler": URL}, "EVENT"),
        ({"event": "", "handler": URL}, "EVENT"),
        ({"event": "ONEXTERNALCALLSTART"}, "HANDLER"),
        ({"event": "ONEXTERNALCALLSTART", "handler": "", "event_type": "online"}, "HANDLER"),
        ({"event": "ONEXTERNALCALLSTART", "handler": URL, "event_type": "sometimes"}, "EVENT_TYPE"),
    ],
)
def test_bind_argument_errors(events, app, params, argument):
    err = fails(events.bind, app, True, params)
    assert (err.code, err.status, err.extra) == ("ERROR_ARGUMENT", 400, {"argument": argument})


def test_arguments_are_checked_before_the_event(events, app):
    err = fails(events.bind, app, True, {"event": "NO_SUCH_EVENT"})
    assert (err.code, err.extra) == ("ERROR_ARGUMENT", {"argument": "HANDLER"})


def test_handler_must_be_http_or_https(events, app):
    err = fails(events.bind, app, True, {"event": "ONEXTERNALCALLSTART", "handler": "ftp://app.example.com/"})
    assert (err.code, err.status) == ("ERROR_UNSUPPORTED_PROTOCOL", 400)


def test_dotless_handler_host(store, clock, report, app):
    lenient = EventHandlers(store, clock, conformance=report)
    assert lenient.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": "http://localhost:8000/e"})
    [finding] = report.findings()
    assert (finding["kind"], finding["app_id"]) == ("dotless_handler_host", app["id"])
    strict = EventHandlers(store, clock, strict_handler_url=True, conformance=report)
    err = fails(strict.bind, app, True, {"event": "ONAPPINSTALL", "handler": "http://localhost:8000/e"})
    assert err.code == "ERROR_WRONG_HANDLER_URL"


def test_offline_binding_is_stored_without_handler(events, app):
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "event_type": "OFFLINE", "handler": URL})
    assert events.get(app) == [{"event": "ONEXTERNALCALLSTART", "connector_id": "", "offline": 1}]
    # stored and ignored: nothing is delivered to it
    assert events.handlers_for("ONEXTERNALCALLSTART", app["id"]) == []


# -- event.unbind ---------------------------------------------------------------------------------------


def test_unbind_counts_removed_rows(events, app, store):
    other = make_app(store, name="Other")
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL})
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL, "auth_type": 2})
    events.bind(other, True, {"event": "ONEXTERNALCALLSTART", "handler": URL})
    assert events.unbind(app, True, {"event": "onexternalcallstart", "handler": URL, "auth_type": 2}) == {
        "count": 1
    }
    assert events.unbind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL}) == {"count": 1}
    assert events.unbind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL}) == {"count": 0}
    assert len(events.get(other)) == 1


def test_unbind_without_auth_type_removes_every_user(events, app):
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL})
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL, "auth_type": 2})
    assert events.unbind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL}) == {"count": 2}


def test_unbind_errors(events, app):
    assert fails(events.unbind, app, False, {"event": "X", "handler": URL}).code == "ACCESS_DENIED"
    assert fails(events.unbind, app, True, {"handler": URL}).extra == {"argument": "EVENT"}
    assert fails(events.unbind, app, True, {"event": "ONAPPINSTALL"}).extra == {"argument": "HANDLER"}


# -- handlers_for ---------------------------------------------------------------------------------------


def test_handlers_for(events, app, store):
    other = make_app(store, name="Other")
    events.bind(app, True, {"event": "ONEXTERNALCALLSTART", "handler": URL})
    events.bind(other, True, {"event": "ONEXTERNALCALLSTART", "handler": URL + "/o"})
    events.bind(app, True, {"event": "ONEXTERNALCALLBACKSTART", "handler": URL + "/cb"})
    rows = events.handlers_for("onExternalCallStart", app["id"])
    assert [(r["app_id"], r["handler"], r["auth_type"]) for r in rows] == [(app["id"], URL, 0)]
    assert [r["app_id"] for r in events.handlers_for("ONEXTERNALCALLSTART")] == [app["id"], other["id"]]
    assert events.handlers_for("ONAPPINSTALL", app["id"]) == []
    assert events.remove_app(app["id"]) == 2
    assert events.handlers_for("ONEXTERNALCALLSTART", app["id"]) == []


# -- REST placement.bindEvent ---------------------------------------------------------------------------


def test_card_bind_and_handlers_for(cards, app):
    assert cards.bind(app["id"], None, 1, "CallCard::EntityChanged", URL) is True
    [row] = cards.handlers_for("CallCard::EntityChanged")
    assert (row["app_id"], row["webhook_id"], row["user_id"], row["event"], row["handler"]) == (
        app["id"],
        None,
        1,
        "CallCard::EntityChanged",
        URL,
    )
    assert cards.handlers_for("CallCard::BeforeClose") == []


def test_every_card_event_is_bindable(cards, app):
    for name in CALL_CARD_EVENTS + BACKGROUND_EVENTS:
        assert cards.bind(app["id"], None, 1, name, URL) is True
    assert len(cards.all()) == 20


def test_same_triple_twice_is_true_without_duplicate(cards, app):
    assert cards.bind(app["id"], None, 1, "BackgroundCallCard::muteButtonClick", URL) is True
    assert cards.bind(app["id"], None, 2, "BackgroundCallCard::muteButtonClick", URL) is True
    assert len(cards.handlers_for("BackgroundCallCard::muteButtonClick")) == 1


def test_app_and_webhook_bindings_are_separate(cards, app):
    cards.bind(app["id"], None, 1, "CallCard::BeforeClose", URL)
    cards.bind(None, 9, 1, "CallCard::BeforeClose", URL)
    cards.bind(None, 9, 1, "CallCard::BeforeClose", URL)
    rows = cards.handlers_for("CallCard::BeforeClose")
    assert [(r["app_id"], r["webhook_id"]) for r in rows] == [(app["id"], None), (None, 9)]


@pytest.mark.parametrize("event", ["CallCard::Nope", "callcard::entitychanged", "ONEXTERNALCALLSTART"])
def test_card_bind_unknown_event(cards, app, event):
    err = fails(cards.bind, app["id"], None, 1, event, URL)
    assert (err.code, err.status, err.extra) == ("ERROR_ARGUMENT", 400, {"argument": "PLACEMENT"})


@pytest.mark.parametrize("event", [None, "", 5])
def test_card_bind_missing_event(cards, app, event):
    err = fails(cards.bind, app["id"], None, 1, event, URL)
    assert (err.code, err.extra) == ("ERROR_ARGUMENT", {"argument": "PLACEMENT"})
    assert err.description == "Argument 'PLACEMENT' is null or empty"


@pytest.mark.parametrize("handler", [None, "", "   ", "ftp://app.example.com/x", "not a url", ["x"]])
def test_card_bind_bad_handler(cards, app, handler):
    err = fails(cards.bind, app["id"], None, 1, "CallCard::BeforeClose", handler)
    assert (err.code, err.status, err.extra) == ("ERROR_ARGUMENT", 400, {"argument": "HANDLER"})
    assert cards.all() == []


def test_card_bind_needs_exactly_one_owner(cards):
    with pytest.raises(ValueError):
        cards.bind(None, None, 1, "CallCard::BeforeClose", URL)
    with pytest.raises(ValueError):
        cards.bind(1, 2, 1, "CallCard::BeforeClose", URL)


def test_card_handlers_removal(cards, app):
    cards.bind(app["id"], None, 1, "CallCard::BeforeClose", URL)
    cards.bind(app["id"], None, 1, "CallCard::EntityChanged", URL)
    cards.bind(None, 4, 1, "CallCard::EntityChanged", URL)
    first = cards.all()[0]["id"]
    assert cards.remove(first) is True
    assert cards.remove(first) is False
    assert cards.remove_app(app["id"]) == 1
    assert [r["webhook_id"] for r in cards.all()] == [4]


def test_event_handlers_accept_app_objects(events, app):
    obj = SimpleNamespace(id=app["id"], name="Obj", scopes=("telephony",))
    assert events.bind(obj, True, {"event": "ONEXTERNALCALLSTART", "handler": URL}) is True
    assert events.get(obj) == events.get(app)
    assert events.unbind(obj, True, {"event": "ONEXTERNALCALLSTART", "handler": URL}) == {"count": 1}
