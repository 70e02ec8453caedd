"""``serve --https``: one portal on two listeners, plain http on ``port`` and TLS on ``https_port``
(clients.md §4, rest-api.md §1). In-process: the settings, ``create_app``'s TLS wiring, the banner, the
CLI's flags, and pages rendered through each listener (PROTOCOL and DOMAIN come from the request).
The real two-listener process is exercised in tests/sdk/test_serve_cli.py."""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from callcard import cli
from callcard.app import create_app
from callcard.clock import FakeClock, SequentialIds
from callcard.server import banner
from callcard.settings import Settings

HTTP = "http://127.0.0.1:8765"
HTTPS = "https://127.0.0.1:8767"
HANDLER = "http://localhost:5001/bg.html"


def boot_of(page_html: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="callcard-boot">(.*?)</script>', page_html, re.S)
    assert match, "the portal page embeds its boot JSON"
    return json.loads(match.group(1))


# -- settings ------------------------------------------------------------------------------------------------


def test_https_port_adds_a_tls_url_and_leaves_the_public_url_plain(tmp_path: Path) -> None:
    s = Settings.for_tests(tmp_path, https_port=8767)
    assert s.https_url == HTTPS and s.uses_tls
    assert (s.public_url, s.domain, s.protocol) == (HTTP, "127.0.0.1:8765", 0)


def test_without_either_flag_there_is_no_tls(tmp_path: Path) -> None:
    plain = Settings.for_tests(tmp_path)
    assert plain.https_url is None and not plain.uses_tls
    primary = Settings.for_tests(tmp_path, https=True)  # CallcardServer(https=True): the one listener is TLS
    assert primary.uses_tls and primary.https_url is None and primary.public_url == "https://127.0.0.1:8765"


# -- create_app: certificates and delivery trust ---------------------------------------------------------------


@pytest.mark.parametrize("changes", [{"https_port": 8767}, {"https": True}], ids=["https_port", "https"])
def test_either_tls_setting_ensures_certificates_and_delivery_trusts_the_local_ca(
    tmp_path: Path, changes: dict[str, Any]
) -> None:
    app = create_app(Settings.for_tests(tmp_path, **changes), clock=FakeClock(), ids=SequentialIds())
    services = app.state.services
    try:
        assert services.tls is not None and services.tls.server_cert.is_file()
        assert services.tls.server_cert == tmp_path / "tls" / "server.pem"
        verify = services.worker.verify
        assert isinstance(verify, ssl.SSLContext)
        ca_der = ssl.PEM_cert_to_DER_cert(services.tls.ca_cert.read_text())
        assert ca_der in verify.get_ca_certs(binary_form=True)
    finally:
        services.store.close()


def test_plain_serving_makes_no_certificates(tmp_path: Path) -> None:
    app = create_app(Settings.for_tests(tmp_path), clock=FakeClock(), ids=SequentialIds())
    services = app.state.services
    try:
        assert services.tls is None and services.worker.verify is True
        assert not (tmp_path / "tls").exists()
    finally:
        services.store.close()


# -- one portal, two listeners: pages name the listener they were fetched through -------------------------------


def test_a_page_over_the_tls_listener_renders_protocol_1_and_its_own_domain(tmp_path: Path) -> None:
    app = create_app(Settings.for_tests(tmp_path, https_port=8767), clock=FakeClock(), ids=SequentialIds())
    services = app.state.services
    try:
        softphone = services.directory.apps.create_app("Softphone", ("placement", "telephony"), handler=HANDLER)
        softphone = services.directory.apps.mark_installed(softphone.id)
        services.placements.bind(services.directory.apps.get_app(softphone.id).as_row(), True, {
            "PLACEMENT": "PAGE_BACKGROUND_WORKER", "HANDLER": HANDLER,
            "OPTIONS": {"errorHandlerUrl": "http://localhost:5001/err"},
        })
        client = TestClient(app, base_url=HTTP)
        link = services.directory.sessions.create_login_link(2)
        assert client.get(f"/login/{link}", follow_redirects=False).status_code == 303

        # The session made on the plain listener holds on the TLS one: it is the same portal.
        plain = boot_of(client.get(f"{HTTP}/").text)["background"][0]
        tls = boot_of(client.get(f"{HTTPS}/").text)["background"][0]

        assert plain["frameName"] == f"127.0.0.1:8765|0|{plain['appSid']}"
        assert tls["frameName"] == f"127.0.0.1:8767|1|{tls['appSid']}"
        assert "DOMAIN=127.0.0.1%3A8767&PROTOCOL=1&" in tls["action"]
        assert "DOMAIN=127.0.0.1%3A8765&PROTOCOL=0&" in plain["action"]
        assert (tls["initData"]["DOMAIN"], tls["initData"]["PROTOCOL"]) == ("127.0.0.1:8767", 1)
        assert tls["fields"]["SERVER_ENDPOINT"] == f"{HTTPS}/oauth/"
        assert plain["fields"]["SERVER_ENDPOINT"] == f"{HTTP}/oauth/"
        # The token the TLS page handed its frame works on the plain listener too (one token table).
        reply = client.post(f"{HTTP}/rest/app.info.json", json={"auth": tls["fields"]["AUTH_ID"]})
        assert reply.status_code == 200 and reply.json()["result"]["ID"] == softphone.id
    finally:
        services.store.close()


def test_urls_the_server_hands_out_keep_the_primary_listener(tmp_path: Path) -> None:
    app = create_app(Settings.for_tests(tmp_path, https_port=8767), clock=FakeClock(), ids=SequentialIds())
    services = app.state.services
    try:
        client = TestClient(app, base_url=HTTPS)
        headers = {"Authorization": f"Bearer {services.control_token}"}
        hook = client.post("/_callcard/webhooks", json={"user_id": 1}, headers=headers).json()
        assert hook["url"].startswith(f"{HTTP}/rest/1/")
        login = client.post("/_callcard/login-url", json={"user_id": 2}, headers=headers).json()
        assert login["url"].startswith(f"{HTTP}/login/")
        installed = client.post("/_callcard/apps", json={"name": "x", "scopes": ["user"]}, headers=headers).json()
        assert installed["client_endpoint"] == f"{HTTP}/rest/" and installed["domain"] == "127.0.0.1:8765"
    finally:
        services.store.close()


# -- the banner --------------------------------------------------------------------------------------------------


def _banner(settings: Settings) -> str:
    services = create_app(settings, clock=FakeClock(), ids=SequentialIds()).state.services
    try:
        return banner(settings, services, None)
    finally:
        services.store.close()


def test_banner_lists_the_https_endpoints_and_the_ca_bundle(tmp_path: Path) -> None:
    text = _banner(Settings.for_tests(tmp_path, https_port=8767))
    assert re.search(rf"REST\s{{2,}}{re.escape(HTTP)}/rest/\n", text)
    assert re.search(rf"REST \(https\)\s{{2,}}{re.escape(HTTPS)}/rest/\n", text)
    assert re.search(rf"OAuth \(https\)\s{{2,}}{re.escape(HTTPS)}/oauth/token/\n", text)
    assert re.search(rf"CA bundle\s{{2,}}{re.escape(str(tmp_path / 'tls' / 'bundle.pem'))}", text)
    assert re.search(rf"portal \(admin\)\s{{2,}}{re.escape(HTTP)}/login/\w+\n", text)


def test_banner_without_tls_has_no_https_lines(tmp_path: Path) -> None:
    text = _banner(Settings.for_tests(tmp_path))
    assert "(https)" not in text and "CA bundle" not in text and "https://" not in text


# -- the CLI flags -----------------------------------------------------------------------------------------------


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """``callcard serve`` with the server replaced by a recorder of the settings it was given."""
    seen: list[Settings] = []
    monkeypatch.setattr("callcard.server.serve", lambda settings, **kw: seen.append(settings))
    return seen


@pytest.mark.parametrize(
    ("args", "https_port"),
    [
        ([], None),
        (["--https"], 8767),
        (["--https", "--port", "9000"], 9002),
        (["--https", "--https-port", "8443"], 8443),
        (["--https", "--no-demo", "--https-port", "8766"], 8766),  # the demo's port is free without the demo
    ],
)
def test_serve_https_keeps_the_plain_listener_and_adds_a_tls_port(
    started: list[Settings], tmp_path: Path, args: list[str], https_port: int | None
) -> None:
    result = CliRunner().invoke(cli.main, ["serve", *args, "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    (settings,) = started
    assert settings.https is False and settings.https_port == https_port
    assert settings.public_url.startswith("http://")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--https-port", "8443"], "--https-port needs --https"),
        (["--https", "--https-port", "8765"], "the https port 8765 is also --port"),
        (["--https", "--https-port", "8766"], "the https port 8766 is also the demo app's port"),
        (["--https", "--demo-port", "8767"], "the https port 8767 is also the demo app's port"),
    ],
)
def test_serve_refuses_an_https_port_that_cannot_work(
    started: list[Settings], tmp_path: Path, args: list[str], message: str
) -> None:
    result = CliRunner().invoke(cli.main, ["serve", *args, "--data", str(tmp_path)])
    assert result.exit_code == 2 and message in result.output, result.output
    assert started == []
