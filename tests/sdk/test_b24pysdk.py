"""b24pysdk (unmodified) against ``callcard serve --https``, trusting the generated CA.

b24pysdk only speaks ``https://{domain}/rest/…`` (requests, ``allow_redirects=False``), so its ``domain``
is the TLS listener's ``host:port`` (``Served.https_domain``); webhooks and apps are created through the
CLI as always, and the URLs callcard hands out name the plain listener of the same portal. It trusts what
``REQUESTS_CA_BUNDLE`` names; the variable *replaces* the trust store, so each test overrides it with the
bundle ``callcard ca-path`` prints (system CAs + the local CA). Errors are raised by code: any non-2xx,
or an ``error`` key in a 200, becomes the SDK's exception class for the upper-cased code, else for the
HTTP status.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from b24pysdk import BitrixApp, BitrixToken, BitrixWebhook, Client
from b24pysdk import errors as b24errors

from .conftest import Served

pytestmark = pytest.mark.sdk


@pytest.fixture
def trusted(served_https: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """``REQUESTS_CA_BUNDLE`` overridden to the path ``callcard ca-path`` prints."""
    bundle = served_https.cli("ca-path").stdout.strip()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    yield served_https


def _webhook_client(served: Served, user_id: int = 1, scope: str = "telephony,placement,crm,user") -> Client:
    url = served.webhook(user_id, scope)
    assert url.startswith(f"{served.url}/rest/")  # the plain listener's URL; the code works on both
    token = "/".join(url.rstrip("/").split("/")[-2:])  # "user_id/code"
    return Client(BitrixWebhook(domain=served.https_domain, webhook_token=token))


def test_without_the_bundle_the_local_ca_is_not_trusted(served_https: Served,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # What the team's machine sets globally: the system store alone. Proves the override is needed.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = _webhook_client(served_https)
    with pytest.raises(b24errors.BitrixRequestError):
        client.user.current().result  # noqa: B018 - the request is lazy; reading result sends it


def test_webhook_calls_over_https(trusted: Served) -> None:
    client = _webhook_client(trusted, user_id=2)
    me = client.user.current().response
    assert me.result["ID"] == "2"
    assert me.time.operating is not None and me.time.start is not None

    tag = uuid.uuid4().hex[:8]
    lead_id = client.crm.lead.add(fields={"TITLE": f"{tag} b24pysdk",
                                          "PHONE": [{"VALUE": "+4930777000", "VALUE_TYPE": "WORK"}]}).result
    assert int(lead_id) > 0
    lead = client.crm.lead.get(bitrix_id=int(lead_id)).result
    assert lead["TITLE"] == f"{tag} b24pysdk" and lead["PHONE"][0]["VALUE"] == "+4930777000"
    listed = client.crm.lead.list(filter={"%TITLE": tag}, select=["ID", "TITLE"]).result
    assert [row["ID"] for row in listed] == [str(lead_id)]


def test_batch_over_https(trusted: Served) -> None:
    client = _webhook_client(trusted)
    batch = client.call_batch({"me": client.user.current(), "two": client.user.get(filter={"ID": 2})})
    result: Any = batch.result
    assert result.result["me"]["ID"] == "1"
    assert [u["ID"] for u in result.result["two"]] == ["2"]


@pytest.mark.parametrize(
    ("call", "exc", "code"),
    [
        # a 400 with an empty code: the class for the status
        (lambda c: c.crm.lead.get(bitrix_id=987654321), b24errors.BitrixAPIBadRequest, ""),
        # a code the SDK knows: its own class
        (lambda c: c.telephony.external_call.register(phone_number="+1", call_type=2, user_id=1),
         b24errors.BitrixAPIWrongAuthType, "WRONG_AUTH_TYPE"),
        (lambda c: c.crm.lead.list(), b24errors.BitrixAPIInsufficientScope, "insufficient_scope"),
    ],
    ids=["not-found", "wrong-auth-type", "insufficient-scope"],
)
def test_errors_become_the_sdks_exception_for_the_code(trusted: Served, call: Any, exc: type,
                                                       code: str) -> None:
    scope = "telephony,user" if code == "insufficient_scope" else "telephony,crm,user"
    client = _webhook_client(trusted, scope=scope)
    with pytest.raises(exc) as caught:
        call(client).result  # noqa: B018
    assert caught.value.error == code


def test_unknown_method_and_bad_webhook(trusted: Served) -> None:
    client = _webhook_client(trusted)
    token = client.get_token()
    with pytest.raises(b24errors.BitrixAPINotFound) as not_found:
        token.call_method("no.such.method")
    assert not_found.value.error == "ERROR_METHOD_NOT_FOUND"
    assert not_found.value.error_description == "Method not found!"

    bad = Client(BitrixWebhook(domain=trusted.https_domain, webhook_token="1/wrongcode"))
    with pytest.raises(b24errors.BitrixAPIInvalidCredentials):
        bad.user.current().result  # noqa: B018


def test_oauth_token_drives_an_external_call(trusted: Served) -> None:
    app = trusted.install_app("b24pysdk telephony")
    # The install names the primary (plain) listener; b24pysdk is pointed at the TLS one of the same portal.
    assert app["client_endpoint"] == f"{trusted.url}/rest/" and app["domain"] == f"127.0.0.1:{trusted.port}"
    # An application token (bound to its app); fresh, so the SDK never tries its hard-coded refresh URL.
    bitrix_app = BitrixApp(client_id=app["client_id"], client_secret=app["client_secret"])
    token = BitrixToken(domain=trusted.https_domain, auth_token=app["access_token"],
                        refresh_token=app["refresh_token"], expires_in=app["expires_in"],
                        bitrix_app=bitrix_app)
    assert not token.is_webhook
    client = Client(token)

    registered = client.telephony.external_call.register(
        phone_number="+4930888000", call_type=2, user_id=2, show=1).result
    call_id = registered["CALL_ID"]
    card = trusted.control.get("/cards/2").json()
    assert card is not None and card["callId"] == call_id and card["phoneNumber"] == "+4930888000"

    finished = client.telephony.external_call.finish(call_id=call_id, user_id=2, duration=7,
                                                     status_code="200").result
    assert finished["CALL_ID"] == call_id and int(finished["CALL_DURATION"]) == 7
    # finishing again: the call is gone -> ERROR_CORE with the platform's text, as BitrixAPIBadRequest
    with pytest.raises(b24errors.BitrixAPIBadRequest) as caught:
        client.telephony.external_call.finish(call_id=call_id, user_id=2).result  # noqa: B018
    assert caught.value.error == "ERROR_CORE"
