"""fast-bitrix24 (unmodified) against ``callcard serve`` over plain http on loopback.

fast-bitrix24 sends every non-raw ``call``/``get_all`` through ``batch`` (lower-cased method names,
``cmd[key]="method?query&"``), raises on any 4xx/5xx before reading the body, and surfaces errors inside a
200 batch body as ``ErrorInServerResponseException``. With ``token_func`` it puts ``auth`` in the JSON
body and calls ``token_func`` again on a 401.
"""

from __future__ import annotations

import uuid
from typing import Any

import aiohttp
import httpx
import pytest
from fast_bitrix24 import Bitrix
from fast_bitrix24.server_response import ErrorInServerResponseException

from .conftest import Served

pytestmark = pytest.mark.sdk


def _bitrix(url: str, **kwargs: Any) -> Bitrix:
    return Bitrix(url, verbose=False, **kwargs)


def _single(result: Any) -> Any:
    """fast-bitrix24 hands back a single call's dict result keyed by its batch label
    (``{"order0000000000": {...}}``), the same against a cloud portal; unwrap it."""
    if isinstance(result, dict) and len(result) == 1:
        (key, value), = result.items()
        if key.startswith("order"):
            return value
    return result


# -- webhook -----------------------------------------------------------------------------------------------


def test_webhook_raw_call_returns_the_envelope(served: Served) -> None:
    b = _bitrix(served.webhook(1))
    reply = b.call("user.current", raw=True)
    assert reply["result"]["ID"] == "1"
    # the throttler reads these; without them fast-bitrix24 breaks
    assert {"operating", "start", "finish"} <= set(reply["time"])


def test_webhook_call_through_batch_and_get_all_pages_past_fifty_leads(served: Served) -> None:
    b = _bitrix(served.webhook(1))
    tag = uuid.uuid4().hex[:8]
    items = [{"fields": {"TITLE": f"{tag} lead {i}",
                         "PHONE": [{"VALUE": f"+49301{i:06d}", "VALUE_TYPE": "WORK"}]}} for i in range(73)]
    ids = b.call("crm.lead.add", items)  # 73 adds: two batches (50 + 23)
    assert len(ids) == 73 and len({int(i) for i in ids}) == 73

    one = _single(b.call("crm.lead.get", {"ID": ids[5]}))
    assert one["TITLE"] == f"{tag} lead 5"
    assert one["PHONE"][0]["VALUE"] == "+49301000005"

    leads = b.get_all("crm.lead.list", {"filter": {"%TITLE": tag}, "select": ["ID", "TITLE"]})
    assert len(leads) == 73, "get_all must follow total/next across pages of 50"
    assert sorted(int(lead["ID"]) for lead in leads) == sorted(int(i) for i in ids)
    assert {lead["TITLE"] for lead in leads} == {f"{tag} lead {i}" for i in range(73)}


def test_webhook_error_inside_batch_surfaces(served: Served) -> None:
    b = _bitrix(served.webhook(1))
    with pytest.raises(ErrorInServerResponseException) as caught:
        b.call("crm.lead.get", {"ID": 987654321})
    errors = caught.value.args[0]
    # The platform's crm.*.get answers an empty code with "Not found" (b24restdocs crm-lead-get.md).
    assert list(errors.values()) == [{"error": "", "error_description": "Not found"}]


def test_webhook_unknown_method_and_bad_code_raise_http_errors(served: Served) -> None:
    b = _bitrix(served.webhook(1))
    with pytest.raises(aiohttp.ClientResponseError) as caught:
        b.call("no.such.method", raw=True)
    assert caught.value.status == 404
    bad = served.webhook(1).rsplit("/", 2)[0] + "/wrongcode/"
    with pytest.raises(aiohttp.ClientResponseError) as caught:
        _bitrix(bad).call("user.current", raw=True)
    assert caught.value.status == 401


# -- OAuth with token_func ---------------------------------------------------------------------------------


class TokenSource:
    """A ``token_func`` the way an app writes one: the first token, then refreshes at /oauth/token/."""

    def __init__(self, served: Served, app: dict[str, Any]) -> None:
        self.served = served
        self.app = app
        self.refresh_token = app["refresh_token"]
        self.issued: list[str] = []

    async def get(self) -> str:
        if not self.issued:
            token = str(self.app["access_token"])
        else:
            async with httpx.AsyncClient(timeout=10) as http:
                reply = await http.post(f"{self.served.url}/oauth/token/", params={
                    "grant_type": "refresh_token", "client_id": self.app["client_id"],
                    "client_secret": self.app["client_secret"], "refresh_token": self.refresh_token})
            reply.raise_for_status()
            body = reply.json()
            self.refresh_token = body["refresh_token"]
            token = str(body["access_token"])
        self.issued.append(token)
        return token


def test_oauth_token_func_goes_through_batch_and_is_called_again_on_401(served: Served) -> None:
    app = served.install_app("fb24 oauth")
    tokens = TokenSource(served, app)
    b = _bitrix(app["client_endpoint"], token_func=tokens.get)

    me = b.call("user.get", {"ID": 1})  # a non-raw call: sent as batch with auth in the body
    assert me["ID"] == "1"
    assert tokens.issued == [app["access_token"]]

    expired = served.control.post("/tokens/expire", json={"app_id": app["app_id"]}).json()["expired"]
    assert expired >= 1
    me = b.call("user.get", {"ID": 1})  # 401 expired_token -> token_func -> retried with the new token
    assert me["ID"] == "1"
    assert len(tokens.issued) == 2 and tokens.issued[1] != app["access_token"]

    info = b.call("app.info", raw=True)["result"]
    assert str(info["ID"]) == str(app["app_id"])


def test_telephony_register_and_finish_with_the_app_token(served: Served) -> None:
    app = served.install_app("fb24 telephony")
    tokens = TokenSource(served, app)
    b = _bitrix(app["client_endpoint"], token_func=tokens.get)

    registered = _single(b.call("telephony.externalCall.register", {
        "USER_ID": 2, "PHONE_NUMBER": "+4930555000111", "TYPE": 2, "SHOW": 1, "CRM_CREATE": 1}))
    call_id = registered["CALL_ID"]
    assert call_id.startswith("externalCall.")
    card = served.control.get("/cards/2").json()
    assert card is not None and card["callId"] == call_id

    finished = _single(b.call("telephony.externalCall.finish", {
        "CALL_ID": call_id, "USER_ID": 2, "DURATION": 42, "STATUS_CODE": "200"}))
    assert finished["CALL_ID"] == call_id
    assert int(finished["CALL_DURATION"]) == 42
    # a webhook cannot: these are app-only methods
    with pytest.raises(aiohttp.ClientResponseError) as caught:
        _bitrix(served.webhook(1)).call("telephony.externalCall.register",
                                        {"USER_ID": 1, "PHONE_NUMBER": "+1", "TYPE": 2}, raw=True)
    assert caught.value.status == 403
