"""Directory over a real SQLiteStore: seeding, users (user.current / user.get shapes and filters), apps,
OAuth tokens (expiry, refresh rotation), webhooks, login links and sessions, app.info."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from callcard.clock import FakeClock, SequentialIds
from callcard.domain.directory import Directory
from callcard.domain.sessions import SessionError
from callcard.errors import BitrixError
from callcard.settings import Settings
from callcard.store import SQLiteStore

T0 = 1_763_700_000.0


class Env:
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.settings = Settings.for_tests(tmp_path, **settings)
        self.store = SQLiteStore(tmp_path / "db.sqlite3")
        self.clock = FakeClock(T0)
        self.ids = SequentialIds()
        self.directory = Directory(self.store, self.clock, self.ids, self.settings)
        self.directory.ensure_seeded()


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def raises(code: str, status: int, fn: Any, *args: Any, **kwargs: Any) -> BitrixError:
    with pytest.raises(BitrixError) as info:
        fn(*args, **kwargs)
    assert (info.value.code, info.value.status) == (code, status)
    return info.value


# -- portal and seed ------------------------------------------------------------------------------


def test_seed_creates_portal_and_four_users_once(env: Env, tmp_path: Path) -> None:
    member = env.directory.member_id
    assert re.fullmatch(r"[0-9a-f]{32}", member)
    env.directory.ensure_seeded()
    assert env.store.count("users") == 4
    assert env.directory.member_id == member
    again = Directory(env.store, env.clock, SequentialIds(), env.settings)
    again.ensure_seeded()
    assert again.member_id == member and env.store.count("users") == 4


def test_seeded_users_admin_and_operators(env: Env) -> None:
    admin = env.directory.get_user(1)
    assert admin is not None and admin["is_admin"]
    inner = [env.directory.get_user(i)["uf_phone_inner"] for i in (1, 2, 3, 4)]  # type: ignore[index]
    assert inner == ["101", "102", "103", "104"]
    assert [env.directory.is_admin(i) for i in (1, 2, 3, 4)] == [True, False, False, False]


# -- users ------------------------------------------------------------------------------------------


def test_user_view_shape(env: Env) -> None:
    view = env.directory.user_view(env.directory.get_user(2))  # type: ignore[arg-type]
    assert view["ID"] == "2" and view["ACTIVE"] is True
    assert view["NAME"] == "Oscar" and view["LAST_NAME"] == "Operator"
    assert view["UF_DEPARTMENT"] == [1] and view["UF_PHONE_INNER"] == "102"
    assert view["DATE_REGISTER"] == "2025-11-21T04:40:00+00:00"
    assert view["IS_ONLINE"] == "N" and view["USER_TYPE"] == "employee"
    assert all(isinstance(view[k], str) for k in ("ID", "EMAIL", "WORK_PHONE", "LAST_LOGIN"))


def test_user_online_and_last_login_follow_sessions(env: Env) -> None:
    env.clock.advance(100)
    env.directory.sessions.consume_login_link(env.directory.sessions.create_login_link(3))
    view = env.directory.user_view(env.directory.get_user(3))  # type: ignore[arg-type]
    assert view["IS_ONLINE"] == "Y" and view["LAST_LOGIN"] == "2025-11-21T04:41:40+00:00"


def test_find_by_inner_phone(env: Env) -> None:
    assert env.directory.find_by_inner_phone("102")["id"] == 2  # type: ignore[index]
    assert env.directory.find_by_inner_phone(" 103 ")["id"] == 3  # type: ignore[index]
    assert env.directory.find_by_inner_phone(104)["id"] == 4  # type: ignore[index]
    assert env.directory.find_by_inner_phone("0103") is None  # the query is compared as given
    assert env.directory.find_by_inner_phone("999") is None
    assert env.directory.find_by_inner_phone("") is None
    env.directory.add_user("Ext", uf_phone_inner="ext. 0105")
    env.directory.add_user("Big", uf_phone_inner="12345")
    assert env.directory.find_by_inner_phone("105")["name"] == "Ext"  # type: ignore[index]
    assert env.directory.find_by_inner_phone("12345") is None  # outside the platform's 1..9999 index
    env.directory.set_user_active(2, False)
    assert env.directory.find_by_inner_phone("102") is None
    assert env.directory.find_by_inner_phone("102", active_only=False)["id"] == 2  # type: ignore[index]


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [r["ID"] for r in rows]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({}, ["1", "2", "3", "4"]),
        ({"ID": 2}, ["2"]),
        ({"ID": "3"}, ["3"]),
        ({">=ID": 3}, ["3", "4"]),
        ({"<ID": 2}, ["1"]),
        ({"@ID": [1, 3]}, ["1", "3"]),
        ({"!@ID": {"0": "1", "1": "3"}}, ["2", "4"]),
        ({"!ID": 1}, ["2", "3", "4"]),
        ({"LAST_NAME": "Operator"}, ["2", "3", "4"]),
        ({"%LAST_NAME": "perat"}, ["2", "3", "4"]),
        ({"!%LAST_NAME": "perat"}, ["1"]),
        ({"NAME": "Pa%"}, ["3"]),
        ({"=%NAME": "%u%"}, ["3", "4"]),
        ({"EMAIL": "quinn@callcard.local"}, ["4"]),
        ({"UF_PHONE_INNER": "103"}, ["3"]),
        ({"UF_DEPARTMENT": 1}, ["1", "2", "3", "4"]),
        ({"UF_DEPARTMENT": 7}, []),
        ({"USER_TYPE": "extranet"}, ["1", "2", "3", "4"]),
        ({"NAME_SEARCH": "osc"}, ["2"]),
        ({"NO_SUCH_FIELD": "x"}, ["1", "2", "3", "4"]),
    ],
)
def test_list_users_filters(env: Env, filter_: dict[str, Any], expected: list[str]) -> None:
    rows, total = env.directory.list_users(filter_)
    assert ids(rows) == expected and total == len(expected)


@pytest.mark.parametrize("active", [True, "Y", "true", 1])
def test_list_users_active_filter(env: Env, active: Any) -> None:
    env.directory.set_user_active(3, False)
    assert ids(env.directory.list_users({"ACTIVE": active})[0]) == ["1", "2", "4"]
    assert ids(env.directory.list_users({"ACTIVE": "N"})[0]) == ["3"]


def test_list_users_order_and_pages(env: Env) -> None:
    for n in range(56):
        env.directory.add_user(f"U{n:02d}", "Bulk")
    rows, total = env.directory.list_users({}, {"ID": "DESC"})
    assert total == 60 and len(rows) == 50 and rows[0]["ID"] == "60"
    second, _ = env.directory.list_users({}, {"ID": "DESC"}, start=50)
    assert ids(second) == [str(i) for i in range(10, 0, -1)]
    by_name, _ = env.directory.list_users({"LAST_NAME": "Operator"}, {"NAME": "DESC"})
    assert ids(by_name) == ["4", "3", "2"]


# -- apps -------------------------------------------------------------------------------------------


def test_create_app_credentials(env: Env) -> None:
    app = env.directory.apps.create_app("Dialer", ["Telephony", "crm", "telephony", " placement "], "http://x/h")
    assert re.fullmatch(r"local\.[0-9a-f]{14}\.\d{8}", app.client_id)
    assert re.fullmatch(r"[0-9a-f]{32}", app.application_token)
    assert len(app.client_secret) == 50 and app.code == app.client_id
    assert app.scopes == ("telephony", "crm", "placement")
    assert (app.status, app.installed, app.handler, app.version) == ("L", False, "http://x/h", 1)
    assert env.directory.apps.get_app(app.id) == app
    assert env.directory.apps.app_by_client_id(app.client_id) == app
    assert env.directory.apps.app_by_client_id("local.nope") is None
    assert env.directory.apps.list_apps() == [app]
    assert app.as_row()["scopes"] == ["telephony", "crm", "placement"]


def test_status_from_settings_and_mark_installed(tmp_path: Path) -> None:
    env = Env(tmp_path, app_status="F")
    app = env.directory.apps.create_app("A", ["crm"])
    assert app.status == "F"
    assert env.directory.apps.mark_installed(app.id).installed is True
    assert env.directory.apps.mark_installed(app.id, False).installed is False
    raises("ERROR_NOT_FOUND", 400, env.directory.apps.mark_installed, 999)


def test_first_run_only_once(env: Env) -> None:
    app = env.directory.apps.create_app("A", ["crm"])
    assert env.directory.apps.take_first_run(app.id) is True
    assert env.directory.apps.take_first_run(app.id) is False
    assert env.directory.apps.take_first_run(999) is False


def test_app_and_user_options_merge(env: Env) -> None:
    app = env.directory.apps.create_app("A", ["crm"])
    assert env.directory.apps.app_options(app.id) == {} and env.directory.apps.user_options(app.id, 2) == {}
    env.directory.apps.set_app_options(app.id, {"a": 1})
    assert env.directory.apps.set_app_options(app.id, {"b": "2"}) == {"a": 1, "b": "2"}
    env.directory.apps.set_user_options(app.id, 2, {"x": True})
    env.directory.apps.set_user_options(app.id, 2, {"x": False, "y": [1]})
    assert env.directory.apps.user_options(app.id, 2) == {"x": False, "y": [1]}
    assert env.directory.apps.user_options(app.id, 3) == {}


def test_app_info_for_app_and_webhook(env: Env) -> None:
    app = env.directory.apps.mark_installed(env.directory.apps.create_app("A", ["crm"], version=3).id)
    info = env.directory.apps.app_info(app)
    assert info == {"ID": app.id, "CODE": app.code, "VERSION": 3, "STATUS": "L", "INSTALLED": True,
                    "PAYMENT_EXPIRED": "N", "DAYS": None, "LANGUAGE_ID": "en", "LICENSE": "en_selfhosted",
                    "LICENSE_TYPE": "selfhosted", "LICENSE_FAMILY": "selfhosted"}
    hook = env.directory.apps.app_info(None)
    assert (hook["ID"], hook["CODE"], hook["STATUS"], hook["INSTALLED"]) == (0, "webhook", "L", True)


# -- tokens -----------------------------------------------------------------------------------------


def test_tokens_issue_resolve_and_expire(env: Env) -> None:
    app = env.directory.apps.create_app("A", ["crm", "telephony"])
    pair = env.directory.tokens.issue_tokens(app.id, 2)
    assert pair.expires_in == 3600 and pair.expires == int(T0) + 3600
    assert pair.access_token != pair.refresh_token
    got_app, user = env.directory.tokens.resolve_access_token(pair.access_token)
    assert got_app.id == app.id and user["id"] == 2
    env.clock.advance(3599)
    env.directory.tokens.resolve_access_token(pair.access_token)
    env.clock.advance(1)
    raises("expired_token", 401, env.directory.tokens.resolve_access_token, pair.access_token)
    raises("invalid_token", 401, env.directory.tokens.resolve_access_token, "nope")
    raises("invalid_token", 401, env.directory.tokens.resolve_access_token, "")


def test_expire_tokens_hook_is_selective(env: Env) -> None:
    a, b = env.directory.apps.create_app("A", ["crm"]), env.directory.apps.create_app("B", ["crm"])
    pa, pb, pa3 = (env.directory.tokens.issue_tokens(a.id, 2), env.directory.tokens.issue_tokens(b.id, 2),
                   env.directory.tokens.issue_tokens(a.id, 3))
    assert env.directory.tokens.expire_tokens(app_id=a.id, user_id=2) == 1
    raises("expired_token", 401, env.directory.tokens.resolve_access_token, pa.access_token)
    env.directory.tokens.resolve_access_token(pb.access_token)
    env.directory.tokens.resolve_access_token(pa3.access_token)
    assert env.directory.tokens.expire_tokens() == 3
    raises("expired_token", 401, env.directory.tokens.resolve_access_token, pb.access_token)
    # refresh tokens survive the hook, so the SDKs' recovery path works
    fresh = env.directory.tokens.refresh(b.client_id, b.client_secret, pb.refresh_token)
    env.directory.tokens.resolve_access_token(fresh.access_token)


def test_refresh_rotates_refresh_token_and_keeps_old_access(env: Env) -> None:
    app = env.directory.apps.create_app("A", ["crm"])
    old = env.directory.tokens.issue_tokens(app.id, 3)
    env.clock.advance(10)
    new = env.directory.tokens.refresh(app.client_id, app.client_secret, old.refresh_token)
    assert new.access_token != old.access_token and new.expires == int(T0) + 10 + 3600
    assert env.directory.tokens.resolve_access_token(new.access_token)[1]["id"] == 3
    env.directory.tokens.resolve_access_token(old.access_token)  # still valid until its own expiry
    raises("invalid_grant", 400, env.directory.tokens.refresh, app.client_id, app.client_secret, old.refresh_token)


def test_refresh_errors(env: Env) -> None:
    app, other = env.directory.apps.create_app("A", ["crm"]), env.directory.apps.create_app("B", ["crm"])
    pair = env.directory.tokens.issue_tokens(app.id, 1)
    raises("invalid_client", 401, env.directory.tokens.refresh, app.client_id, "wrong", pair.refresh_token)
    raises("invalid_client", 401, env.directory.tokens.refresh, "local.x.1", app.client_secret, pair.refresh_token)
    raises("invalid_grant", 400, env.directory.tokens.refresh, other.client_id, other.client_secret,
           pair.refresh_token)
    raises("invalid_grant", 400, env.directory.tokens.refresh, app.client_id, app.client_secret, "")
    env.clock.advance(28 * 86400)
    raises("invalid_grant", 400, env.directory.tokens.refresh, app.client_id, app.client_secret, pair.refresh_token)


def test_oauth_payload(env: Env) -> None:
    app = env.directory.apps.create_app("A", ["crm", "telephony"])
    pair = env.directory.tokens.issue_tokens(app.id, 2)
    body = env.directory.oauth_payload(app, 2, pair)
    assert body == {
        "access_token": pair.access_token, "refresh_token": pair.refresh_token, "expires_in": 3600,
        "expires": int(T0) + 3600, "scope": "crm,telephony", "domain": "127.0.0.1:8765",
        "server_endpoint": "http://127.0.0.1:8765/oauth/", "client_endpoint": "http://127.0.0.1:8765/rest/",
        "member_id": env.directory.member_id, "user_id": 2, "status": "L",
        "application_token": app.application_token,
    }


# -- webhooks ---------------------------------------------------------------------------------------


def test_webhooks(env: Env) -> None:
    hook = env.directory.webhooks.create_webhook(2, ["user", "CRM"])
    assert re.fullmatch(r"[0-9a-f]{16}", hook.code) and hook.scopes == ("user", "crm")
    assert env.directory.webhooks.resolve_webhook(2, hook.code) == hook
    assert env.directory.webhooks.list_webhooks() == [hook]
    raises("INVALID_CREDENTIALS", 401, env.directory.webhooks.resolve_webhook, 2, "wrong")
    raises("INVALID_CREDENTIALS", 401, env.directory.webhooks.resolve_webhook, 3, hook.code)
    raises("INVALID_CREDENTIALS", 401, env.directory.webhooks.resolve_webhook, 2, "")
    env.directory.set_user_active(2, False)
    raises("INVALID_CREDENTIALS", 401, env.directory.webhooks.resolve_webhook, 2, hook.code)
    raises("ERROR_NOT_FOUND", 400, env.directory.webhooks.create_webhook, 99, ["user"])


def test_invalid_credentials_status_is_a_setting(tmp_path: Path) -> None:
    env = Env(tmp_path, invalid_credentials_status=403)
    err = raises("INVALID_CREDENTIALS", 403, env.directory.webhooks.resolve_webhook, 1, "nope")
    assert err.envelope() == {"error": "INVALID_CREDENTIALS",
                              "error_description": "Invalid request credentials"}


# -- sessions ---------------------------------------------------------------------------------------


def test_login_link_is_one_time(env: Env) -> None:
    link = env.directory.sessions.create_login_link(2)
    assert env.directory.sessions.resolve_session(link) is None  # a link is not a session
    session = env.directory.sessions.consume_login_link(link)
    assert env.directory.sessions.resolve_session(session)["id"] == 2  # type: ignore[index]
    with pytest.raises(SessionError):
        env.directory.sessions.consume_login_link(link)
    with pytest.raises(SessionError):
        env.directory.sessions.consume_login_link(session)  # a session is not a link
    with pytest.raises(SessionError):
        env.directory.sessions.create_login_link(99)


def test_login_link_expires(env: Env) -> None:
    link = env.directory.sessions.create_login_link(1)
    env.clock.advance(600)
    with pytest.raises(SessionError):
        env.directory.sessions.consume_login_link(link)
    with pytest.raises(SessionError):  # and it was used up by the failed attempt
        env.directory.sessions.consume_login_link(link)


def test_session_lifetime_deactivation_and_logout(env: Env) -> None:
    s1 = env.directory.sessions.consume_login_link(env.directory.sessions.create_login_link(2))
    s2 = env.directory.sessions.consume_login_link(env.directory.sessions.create_login_link(3))
    env.clock.advance(12 * 3600 - 1)
    assert env.directory.sessions.resolve_session(s1) is not None
    env.directory.set_user_active(3, False)
    assert env.directory.sessions.resolve_session(s2) is None
    env.directory.sessions.end_session(s1)
    assert env.directory.sessions.resolve_session(s1) is None
    s3 = env.directory.sessions.consume_login_link(env.directory.sessions.create_login_link(1))
    env.clock.advance(12 * 3600)
    assert env.directory.sessions.resolve_session(s3) is None
    assert env.directory.sessions.resolve_session(None) is None
