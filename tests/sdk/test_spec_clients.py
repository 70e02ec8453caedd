"""clients.md §3–§4: what fast-bitrix24 and b24pysdk (unmodified) need from ``callcard serve``, beyond
what test_fast_bitrix24.py and test_b24pysdk.py already pin.

* fast-bitrix24 puts every value of a non-raw call through ``quote(str(v))`` inside ``batch``: Python
  ``True``/``False`` arrive as the strings ``True``/``False`` and must still act as flags (§3).
* With the cloud's rate limits on (the default of ``callcard serve``), a full bucket answers 503
  ``QUERY_LIMIT_EXCEEDED`` as JSON. b24pysdk retries **only** 503, after 1 s (§4); fast-bitrix24 retries 5xx
  with backoff (§3). Both must come through with the right result. The timeline shows each attempt.
"""

from __future__ import annotations

import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from b24pysdk import BitrixWebhook, Client
from fast_bitrix24 import Bitrix

from .conftest import Served

pytestmark = pytest.mark.sdk


def _single(result: Any) -> Any:
    """fast-bitrix24 hands back a single call's dict keyed by its batch label; unwrap it."""
    if isinstance(result, dict) and len(result) == 1:
        (key, value), = result.items()
        if key.startswith("order"):
            return value
    return result


# -- fast-bitrix24: Python booleans through batch ------------------------------------------------------------


@pytest.mark.parametrize(("show", "card_opens"), [(True, True), (False, False)])
def test_python_booleans_arrive_as_true_false_strings_and_act_as_flags(served: Served, show: bool,
                                                                      card_opens: bool) -> None:
    app = served.install_app("fb24 flags")
    b = Bitrix(app["client_endpoint"], token_func=_static_token(app["access_token"]), verbose=False)
    user_id = 3 if show else 4
    number = f"+4930{uuid.uuid4().int % 10**9:09d}"
    registered = _single(b.call("telephony.externalCall.register", {
        "USER_ID": user_id, "PHONE_NUMBER": number, "TYPE": 2, "SHOW": show, "CRM_CREATE": True}))
    call_id = registered["CALL_ID"]
    try:
        # CRM_CREATE=True: a lead is created for an unknown number
        assert registered["CRM_CREATED_LEAD"] and int(registered["CRM_CREATED_LEAD"]) > 0, registered
        card = served.control.get(f"/cards/{user_id}").json()
        if card_opens:
            assert card is not None and card["callId"] == call_id
        else:
            assert card is None or card.get("callId") != call_id
    finally:
        b.call("telephony.externalCall.finish", {"CALL_ID": call_id, "USER_ID": user_id, "DURATION": 1})


def _static_token(token: str) -> Any:
    async def get() -> str:
        return token

    return get


# -- 503 under the default rate limits: b24pysdk and fast-bitrix24 retry and succeed -------------------------


@pytest.fixture(scope="module")
def limited() -> Iterator[Served]:
    """``callcard serve --https`` with the default flags (rate limits on): http and https listeners."""
    from .conftest import serving

    with serving("--no-demo", https=True) as s:
        yield s


def _fill_bucket(served: Served, hook: str) -> None:
    """Send requests until one is refused: the webhook's bucket is then full. ``hook`` may name either
    listener: the bucket is the portal's (and the caller's address), whichever way a request came in."""
    trust = ssl.create_default_context(cafile=str(served.ca_bundle))
    with httpx.Client(verify=trust, timeout=10) as http:
        for _ in range(200):
            reply = http.post(hook + "user.current")
            if reply.status_code == 503:
                assert reply.json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}
                return
            assert reply.status_code == 200
    raise AssertionError("the bucket never filled: are rate limits on?")


def _rest_statuses(served: Served, since: int) -> list[int]:
    """Statuses of the REST calls after ``since`` (a refused call has no method name yet: all of them)."""
    entries = served.control.get("/timeline", params={"kind": "rest", "since": since}).json()
    items = entries if isinstance(entries, list) else entries.get("entries", [])
    return [int(e["status"]) for e in items]


def _last_seq(served: Served) -> int:
    entries = served.control.get("/timeline", params={"kind": "rest"}).json()
    items = entries if isinstance(entries, list) else entries.get("entries", [])
    return max((int(e["seq"]) for e in items), default=0)


def _refused_then_answered(served: Served, hook: str, call: Any) -> tuple[Any, list[int], float]:
    """Fill the bucket, then ``call()``: (its result, the statuses of its attempts, seconds it took).

    The bucket drains one request per 0.5 s: on a busy machine the SDK's first attempt can come late
    enough to pass. Such a run proves nothing about retries, so it is repeated (at most three times).
    """
    for _ in range(3):
        _fill_bucket(served, hook)
        since = _last_seq(served)
        started = time.monotonic()
        result = call()
        elapsed = time.monotonic() - started
        statuses = _rest_statuses(served, since)
        if statuses and statuses[0] == 503:
            return result, statuses, elapsed
    raise AssertionError(f"the SDK's first attempt was never refused: {statuses}")


def test_b24pysdk_retries_a_503_after_a_second_and_gets_the_result(
    limited: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(limited.ca_bundle))
    hook = limited.webhook(2).replace(limited.url, str(limited.https_url))  # filled over TLS, as the SDK calls
    token = "/".join(hook.rstrip("/").split("/")[-2:])
    client = Client(BitrixWebhook(domain=limited.https_domain, webhook_token=token))
    me, statuses, elapsed = _refused_then_answered(limited, hook, lambda: client.user.current().result)
    assert me["ID"] == "2"
    assert statuses == [503, 200]  # refused once, answered on the retry
    assert elapsed >= 0.9  # b24pysdk's first retry waits 1 s


def test_fast_bitrix24_retries_5xx_with_backoff_and_gets_the_result(limited: Served) -> None:
    # `--https` keeps the plain listener: fast-bitrix24 takes the webhook URL as handed out, over http
    hook = limited.webhook(3)
    assert hook.startswith("http://")
    b = Bitrix(hook, verbose=False)
    me, statuses, _ = _refused_then_answered(limited, hook, lambda: b.call("user.current", raw=True))
    assert me["result"]["ID"] == "3"
    assert statuses[-1] == 200 and set(statuses[:-1]) == {503}, statuses  # retried until answered


# -- the bundle: system CAs + the local CA, never built on a bundle of ours (clients.md §4) -------------------


def test_the_bundle_is_not_built_on_our_own_bundle_named_by_ssl_cert_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `client_env()` tells clients to export SSL_CERT_FILE=<our bundle>; where OpenSSL has no default file,
    # Python's default verify paths then name that bundle, and a rebuilt bundle would keep a stale CA.
    from callcard import tls

    first = tls.ensure_certificates(tmp_path / "one")
    real = ssl.get_default_verify_paths()
    fake = real._replace(openssl_cafile=str(tmp_path / "missing.pem"), cafile=str(first.bundle))
    monkeypatch.setattr(tls.ssl, "get_default_verify_paths", lambda: fake)
    monkeypatch.setenv("SSL_CERT_FILE", str(first.bundle))
    assert tls.system_ca_file() != first.bundle

    second = tls.ensure_certificates(tmp_path / "two")
    bundle = second.bundle.read_bytes()
    assert first.ca_cert.read_bytes() not in bundle  # no stale local CA
    assert bundle.count(b"# callcard local CA") == 1 and bundle.endswith(second.ca_cert.read_bytes())
