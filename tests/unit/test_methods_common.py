"""app.info, user.current, user.get, profile, scope, methods, server.time; token expiry and refresh;
scope enforcement — through the real /rest and /oauth surfaces."""

from __future__ import annotations

from conftest import ADMIN, ALL_SCOPES, OPERATOR, Portal, error_of

from callcard.domain.dates import iso

INSUFFICIENT = (
    403,
    {"error": "insufficient_scope", "error_description": "The request requires higher privileges"},
)


# -- app.info / profile / server.time -----------------------------------------------------------------


def test_app_info_for_an_app_and_for_a_webhook(portal: Portal) -> None:
    app = portal.app
    assert portal.ok("app.info") == {
        "ID": app.id, "CODE": app.code, "VERSION": 1, "STATUS": "L", "INSTALLED": True,
        "PAYMENT_EXPIRED": "N", "DAYS": None, "LANGUAGE_ID": "en", "LICENSE": "en_selfhosted",
        "LICENSE_TYPE": "selfhosted", "LICENSE_FAMILY": "selfhosted",
    }  # fmt: skip
    pseudo = portal.ok("app.info", hook=portal.operator_hook)
    assert {k: pseudo[k] for k in ("ID", "CODE", "STATUS", "INSTALLED")} == {
        "ID": 0, "CODE": "webhook", "STATUS": "L", "INSTALLED": True,
    }  # fmt: skip
    installing = portal.install_app(name="New", installed=False)
    assert portal.ok("app.info", token=portal.tokens(installing, ADMIN))["INSTALLED"] is False


def test_profile(portal: Portal) -> None:
    assert portal.ok("profile") == {"ID": "1", "ADMIN": True, "NAME": "Alice", "LAST_NAME": "Admin",
                                    "PERSONAL_GENDER": "", "TIME_ZONE": ""}  # fmt: skip
    assert portal.ok("profile", hook=portal.operator_hook)["ADMIN"] is False


def test_server_time(portal: Portal) -> None:
    assert portal.ok("server.time") == iso(portal.clock.now())


# -- user.current / user.get ------------------------------------------------------------------------------


def test_user_current(portal: Portal) -> None:
    me = portal.ok("user.current", token=portal.operator)
    assert (me["ID"], me["ACTIVE"], me["UF_DEPARTMENT"], me["UF_PHONE_INNER"]) == ("2", True, [1], "102")
    assert (me["NAME"], me["LAST_NAME"], me["EMAIL"]) == ("Oscar", "Operator", "oscar@callcard.local")
    assert portal.ok("user.current", hook=portal.admin_hook)["ID"] == "1"


def test_user_get_filters(portal: Portal) -> None:
    everyone = portal.call("user.get").json()
    assert [u["ID"] for u in everyone["result"]] == ["1", "2", "3", "4"]
    assert everyone["total"] == 4 and "next" not in everyone
    assert [u["ID"] for u in portal.ok("user.get", {"FILTER": {"ID": 2}})] == ["2"]
    assert [u["ID"] for u in portal.ok("user.get", {"filter": {">ID": 2}})] == ["3", "4"]
    assert [u["ID"] for u in portal.ok("user.get", {"ID": 3})] == ["3"]  # bare query keys filter too
    assert [u["ID"] for u in portal.ok("user.get", {"UF_PHONE_INNER": "104", "ADMIN_MODE": True})] == ["4"]
    assert [u["ID"] for u in portal.ok("user.get", {"FILTER": {"FIND": "paula"}})] == ["3"]
    assert [u["ID"] for u in portal.ok("user.get", {"FILTER": {"NAME_SEARCH": "operator"}})] == [
        "2",
        "3",
        "4",
    ]
    form = portal.call("user.get", {"FILTER": {"!ID": 1}, "sort": "ID", "order": "DESC"}, form=True)
    assert [u["ID"] for u in form.json()["result"]] == ["4", "3", "2"]
    assert [u["ID"] for u in portal.ok("user.get", {"FILTER": {"ID": 2}, "ID": 3})] == ["2"]  # FILTER wins


def test_user_get_select_and_paging(portal: Portal) -> None:
    for n in range(60):
        portal.services.directory.add_user(f"User{n:02d}", "Extra")
    first = portal.call("user.get", {"select": ["ID", "NAME"]}).json()
    assert len(first["result"]) == 50 and (first["total"], first["next"]) == (64, 50)
    assert first["result"][0] == {"ID": "1", "NAME": "Alice"}
    second = portal.call("user.get", {"start": 50}, form=True).json()
    assert len(second["result"]) == 14 and second["total"] == 64 and "next" not in second
    assert second["result"][-1]["ID"] == "64"


def test_user_methods_need_the_user_scope(portal: Portal) -> None:
    app = portal.install_app(scopes=("telephony",))
    token = portal.tokens(app, OPERATOR)
    assert error_of(portal.call("user.current", token=token)) == INSUFFICIENT
    assert error_of(portal.call("user.get", token=token)) == INSUFFICIENT
    hook = portal.webhook(OPERATOR, ("crm",))
    assert error_of(portal.call("user.get", hook=hook)) == INSUFFICIENT
    assert portal.ok("profile", token=token)["ID"] == "2"  # basic methods need no scope


# -- scope / methods ---------------------------------------------------------------------------------------


def test_scope(portal: Portal) -> None:
    assert portal.ok("scope") == list(ALL_SCOPES)
    hook = portal.webhook(OPERATOR, ("user", "crm"))
    assert portal.ok("scope", hook=hook) == ["crm", "user"]
    full = ["crm", "placement", "telephony", "user"]
    assert portal.ok("scope", {"full": True}, hook=hook) == full
    assert portal.call("scope", {"full": "false"}, hook=hook, form=True).json()["result"] == full  # PHP quirk
    assert portal.ok("scope", {"full": False}, hook=hook) == ["crm", "user"]


def test_methods(portal: Portal) -> None:
    hook = portal.webhook(OPERATOR, ("crm",))
    mine = portal.ok("methods", hook=hook)
    assert "crm.lead.get" in mine and "batch" in mine and "app.info" in mine
    assert "user.get" not in mine and "telephony.externalcall.register" not in mine
    assert portal.ok("methods", {"scope": "user"}, hook=hook) == ["user.current", "user.get"]
    basic = portal.ok("methods", {"scope": ""}, hook=hook)
    assert set(basic) == {"app.info", "batch", "event.bind", "event.get", "event.unbind", "methods",
                          "profile", "scope", "server.time"}  # fmt: skip
    assert portal.ok("methods", {"scope": "nothing"}) == []
    everything = portal.ok("methods", {"full": 1}, hook=hook)
    assert "telephony.externalcall.register" in everything and "placement.call" in everything
    assert len(everything) == len(portal.services.registry)


def test_batch_runs_registered_methods(portal: Portal) -> None:
    body = portal.call(
        "batch", {"halt": 0, "cmd": {"me": "user.current", "app": "app.info", "bad": "crm.lead.get?id=999&"}}
    ).json()
    assert body["result"]["result"]["me"]["ID"] == "1"
    assert body["result"]["result"]["app"]["ID"] == portal.app.id
    assert body["result"]["result_error"] == {"bad": {"error": "", "error_description": "Not found"}}


# -- tokens -------------------------------------------------------------------------------------------


def test_expired_token_then_refresh(portal: Portal) -> None:
    directory = portal.services.directory
    assert directory.tokens.expire_tokens(portal.app.id) >= 2
    assert error_of(portal.call("user.current")) == (
        401, {"error": "expired_token", "error_description": "The access token provided has expired"},
    )  # fmt: skip
    app = directory.apps.get_app(portal.app.id)
    grant = {"grant_type": "refresh_token", "client_id": app.client_id, "client_secret": app.client_secret,
             "refresh_token": portal.admin.refresh_token}  # fmt: skip
    refreshed = portal.client.get("/oauth/token/", params=grant)
    assert refreshed.status_code == 200
    payload = refreshed.json()
    assert (payload["expires_in"], payload["user_id"], payload["member_id"]) == (3600, 1, directory.member_id)
    assert payload["client_endpoint"] == portal.services.settings.public_url + "/rest/"
    assert portal.ok("user.current", token=payload["access_token"])["ID"] == "1"
    again = portal.client.post("/oauth/token/", data=grant)  # the old refresh token is spent
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_unknown_and_missing_credentials(portal: Portal) -> None:
    assert error_of(portal.call("profile", token="nope")) == (
        401, {"error": "invalid_token", "error_description": "The access token provided is invalid"},
    )  # fmt: skip
    missing = portal.client.post("/rest/profile", json={})
    assert error_of(missing) == (
        401,
        {"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"},
    )
