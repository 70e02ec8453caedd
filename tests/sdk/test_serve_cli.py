"""``callcard serve`` and the CLI commands outside tests rely on, against real child processes.

Covers: start-up time (spawn → first successful request ≤ 1 s), the banner and that every URL in it
answers, rate limits on by default and off with ``--no-limits``, the stable JSON of ``app create`` and
``webhook create``, ``login-url``, ``--data`` after a subcommand's arguments, ``--server``/``--token``, a
wrong control token, ``--https`` (one portal on a plain and a TLS listener), ``ca-path`` and the CA kept
across restarts, and a clean stop.
"""

from __future__ import annotations

import json
import re
import ssl
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from b24pysdk import BitrixWebhook, Client

from .conftest import CALLCARD, Served, free_port

pytestmark = pytest.mark.sdk

#: the keys `callcard app create --json` promises (issue text)
APP_KEYS = {"client_id", "client_secret", "access_token", "refresh_token", "expires_in", "member_id",
            "domain", "client_endpoint", "application_token"}


def _banner_urls(banner: str) -> dict[str, str]:
    """``label -> first URL`` for each banner line that carries one."""
    found: dict[str, str] = {}
    for line in banner.splitlines():
        m = re.match(r"\s+(\S.*?)\s{2,}(https?://\S+)", line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


# -- start-up, banner, limits -------------------------------------------------------------------------------


def test_default_serve_answers_within_one_second_and_every_banner_url_works(start_serve: Any) -> None:
    demo_port = free_port()
    s: Served = start_serve("--demo-port", str(demo_port))  # default flags otherwise: limits on, demo on
    # Correctness bound of the issue: spawn of the process -> first successful request.
    assert s.ready_after_s <= 1.0, f"first request answered {s.ready_after_s:.3f} s after spawn"

    banner = s.wait_banner()
    urls = _banner_urls(banner)
    base = s.url
    assert set(urls) == {"portal (admin)", "REST", "OAuth", "control API", "OpenAPI", "demo app"}, banner
    assert urls["REST"] == f"{base}/rest/"
    assert urls["OAuth"] == f"{base}/oauth/token/"
    assert urls["control API"] == f"{base}/_callcard/"
    assert urls["OpenAPI"] == f"{base}/_callcard/openapi.json"
    assert urls["demo app"] == f"http://localhost:{demo_port}/"
    assert re.fullmatch(rf"{re.escape(base)}/login/\w+", urls["portal (admin)"])
    assert f"token: {s.token}" in banner
    assert str(s.data_dir.resolve()) in banner
    assert re.search(r"rate limits\s+on", banner)

    with httpx.Client(timeout=10) as http:
        # The admin's login link opens the portal page (and is single-use).
        page = http.get(urls["portal (admin)"], follow_redirects=True)
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert http.get(urls["portal (admin)"]).status_code == 401
        # REST: a webhook under the banner's REST URL.
        hook = s.webhook(1)
        assert hook.startswith(urls["REST"])
        me = http.post(hook + "user.current")
        assert me.status_code == 200 and me.json()["result"]["ID"] == "1"
        # OAuth: a refresh under the banner's OAuth URL.
        app = s.install_app("banner check")
        renewed = http.post(urls["OAuth"], params={
            "grant_type": "refresh_token", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "refresh_token": app["refresh_token"]})
        assert renewed.status_code == 200 and renewed.json()["access_token"] != app["access_token"]
        # Control API and OpenAPI.
        assert http.get(urls["control API"] + "health").json()["ok"] is True
        assert http.get(urls["OpenAPI"]).json()["openapi"].startswith("3.1")
        # The demo app's origin serves its page.
        assert http.get(urls["demo app"]).status_code == 200


def test_rate_limits_are_on_by_default(start_serve: Any) -> None:
    s: Served = start_serve("--no-demo")
    hook = s.webhook(1)
    with httpx.Client(timeout=10) as http:
        answers = [http.post(hook + "user.current") for _ in range(60)]
    statuses = [a.status_code for a in answers]
    # Capacity 50 draining 2/s: the first 50 pass, and the bucket overflows before 60.
    assert statuses[:50] == [200] * 50
    refused = [a for a in answers if a.status_code != 200]
    assert refused, "60 requests in a burst all passed: limits are off"
    assert {a.status_code for a in refused} == {503}
    assert refused[0].json() == {"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}


def test_no_limits_flag_switches_them_off(served: Served) -> None:
    assert re.search(r"rate limits\s+off", served.banner)
    hook = served.webhook(1)
    with httpx.Client(timeout=10) as http:
        assert {http.post(hook + "user.current").status_code for _ in range(80)} == {200}


def test_stop_is_clean_and_forgets_server_json(start_serve: Any) -> None:
    s: Served = start_serve("--no-demo")
    info = json.loads((s.data_dir / "server.json").read_text())
    assert info["url"] == s.url and info["control_token"] == s.token and info["pid"] == s.proc.pid
    assert s.stop() == 0
    assert not (s.data_dir / "server.json").exists()
    # With the server gone the CLI says so instead of hanging or crashing.
    done = s.cli("login-url", check=False)
    assert done.returncode != 0 and "callcard" in done.stderr and "Traceback" not in done.stderr


# -- CLI: stable names and JSON -----------------------------------------------------------------------------


def test_app_create_json_shape_and_the_tokens_work(served: Served) -> None:
    app = served.install_app("shape check", scope="telephony,user")
    assert APP_KEYS <= set(app), sorted(APP_KEYS - set(app))
    assert app["expires_in"] == 3600
    assert app["domain"] == f"127.0.0.1:{served.port}"
    assert app["client_endpoint"] == f"{served.url}/rest/"
    assert app["client_id"].startswith("local.")
    for key in ("client_secret", "access_token", "refresh_token", "member_id", "application_token"):
        assert isinstance(app[key], str) and len(app[key]) >= 16, key
    with httpx.Client(timeout=10) as http:
        me = http.post(app["client_endpoint"] + "user.current", json={"auth": app["access_token"]})
        assert me.status_code == 200 and me.json()["result"]["ID"] == "1"
        # --scope is honoured: crm was not granted.
        denied = http.post(app["client_endpoint"] + "crm.lead.list", json={"auth": app["access_token"]})
        assert denied.status_code == 403 and denied.json()["error"] == "insufficient_scope"


def test_webhook_create_json_is_a_working_url(served: Served) -> None:
    data = served.cli_json("webhook", "create", "--user", "2", "--scope", "user", "--json")
    assert re.fullmatch(rf"http://127\.0\.0\.1:{served.port}/rest/2/[0-9A-Za-z]+/", data["url"]), data
    assert set(data) == {"url", "id"} and isinstance(data["id"], int)  # the shape the README shows
    with httpx.Client(timeout=10) as http:
        me = http.post(data["url"] + "user.current")
        assert me.status_code == 200 and me.json()["result"]["ID"] == "2"
        assert http.post(data["url"] + "crm.lead.list").json()["error"] == "insufficient_scope"


def test_human_output_without_json(served: Served) -> None:
    url = served.cli("webhook", "create", "--user", "1").stdout.strip()
    assert re.fullmatch(rf"http://127\.0\.0\.1:{served.port}/rest/1/\w+/", url)
    out = served.cli("app", "create", "--name", "human").stdout
    assert "client_id local." in out and "{" not in out


def test_app_uninstall_json_and_the_tokens_stop_working(served: Served) -> None:
    app = served.install_app("leaving")
    with httpx.Client(timeout=10) as http:
        bound = http.post(app["client_endpoint"] + "placement.bind", json={
            "auth": app["access_token"], "PLACEMENT": "PAGE_BACKGROUND_WORKER",
            "HANDLER": "https://leaving.example.com/bg", "OPTIONS": {"errorHandlerUrl": "https://leaving.example.com/e"},
        })
        assert bound.status_code == 200 and bound.json()["result"] is True
    data = served.cli_json("app", "uninstall", str(app["app_id"]), "--clean", "--json")
    assert data == {"app_id": app["app_id"], "clean": True, "notified": 0,
                    "removed": {"placements": 1, "event_handlers": 0, "card_handlers": 0, "lines": 0, "tokens": 2}}
    with httpx.Client(timeout=10) as http:
        me = http.post(app["client_endpoint"] + "user.current", json={"auth": app["access_token"]})
        assert (me.status_code, me.json()["error"]) == (401, "invalid_token")
    again = served.cli("app", "uninstall", str(app["app_id"])).stdout  # safe twice; people's output
    assert f"app {app['app_id']} uninstalled: 0 placement(s)" in again and "{" not in again
    missing = served.cli("app", "uninstall", "999999", check=False)
    assert missing.returncode == 1
    assert "ERROR_NOT_FOUND: App 999999 not found" in missing.stderr and "Traceback" not in missing.stderr


def test_login_url_logs_a_user_in(served: Served) -> None:
    url = served.cli("login-url", "--user", "2").stdout.strip()
    assert re.fullmatch(rf"{re.escape(served.url)}/login/\w+", url)
    with httpx.Client(timeout=10) as http:
        first = http.get(url)
        assert first.status_code == 303
        assert "callcard_session=" in "".join(first.headers.get_list("set-cookie"))
        page = http.get(served.url + "/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]


def test_login_url_for_an_unknown_user_is_a_clear_error(served: Served) -> None:
    done = served.cli("login-url", "--user", "999", check=False)
    assert done.returncode == 1
    assert "unknown user 999" in done.stderr and "Traceback" not in done.stderr


def test_every_subcommand_takes_data_after_its_arguments(served: Served) -> None:
    # cli() always appends `--data DIR` last; these run from a cwd without any .callcard.
    app = served.install_app("data check")
    calls = [
        ("app", "create", "--name", "d1", "--json"),
        ("webhook", "create", "--user", "1", "--json"),
        ("login-url", "--user", "1"),
        ("call", "incoming", "+4930111", "--user", "2", "--app", str(app["app_id"]), "--json"),
        ("report", "--app", str(app["app_id"]), "--json"),
        ("ca-path",),
    ]
    cwd = tempfile.mkdtemp()
    for args in calls:
        argv = [*CALLCARD, *args, "--data", str(served.data_dir)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=cwd)
        assert done.returncode == 0, (args, done.stderr)
    # The incoming call opened user 2's card (an external call's card starts as externalCard).
    card = served.control.get("/cards/2").json()
    assert card is not None and card["uiState"] == "externalCard" and card["phoneNumber"] == "+4930111"


def test_server_url_and_token_instead_of_a_data_dir(served: Served, tmp_path: Path) -> None:
    args = ["webhook", "create", "--user", "1", "--json", "--server", served.url]
    by_flag = subprocess.run([*CALLCARD, *args, "--token", served.token, "--data", str(tmp_path)],
                             capture_output=True, text=True, timeout=60)
    assert by_flag.returncode == 0, by_flag.stderr
    assert json.loads(by_flag.stdout)["url"].startswith(f"{served.url}/rest/1/")
    by_env = served.cli(*args, data=False, env={"CALLCARD_TOKEN": served.token})
    assert json.loads(by_env.stdout)["url"].startswith(f"{served.url}/rest/1/")


def test_without_a_server_the_cli_says_where_it_looked(tmp_path: Path) -> None:
    done = subprocess.run([*CALLCARD, "login-url", "--data", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 1
    assert f"no running callcard found in {tmp_path}" in done.stderr


def test_a_wrong_control_token_is_refused(served: Served) -> None:
    done = served.cli("webhook", "create", "--user", "1", "--json", "--server", served.url, "--token", "nope",
                      data=False, check=False)
    assert done.returncode == 1
    assert "NO_AUTH_FOUND" in done.stderr and "Traceback" not in done.stderr
    with httpx.Client(timeout=10) as http:
        for headers in ({"Authorization": "Bearer nope"}, {}):
            r = http.post(f"{served.url}/_callcard/webhooks", json={"user_id": 1}, headers=headers)
            assert r.status_code == 401
            assert r.json() == {"error": "NO_AUTH_FOUND", "error_description": "Control API token required"}


# -- HTTPS and ca-path --------------------------------------------------------------------------------------


def test_ca_path_prints_a_bundle_that_trusts_the_https_server(served_https: Served) -> None:
    path = Path(served_https.cli("ca-path").stdout.strip())
    assert path == served_https.ca_bundle
    bundle = path.read_text()
    assert (served_https.data_dir / "tls" / "ca.pem").read_text() in bundle
    assert bundle.count("BEGIN CERTIFICATE") > 1  # system CAs too: REQUESTS_CA_BUNDLE replaces the store
    for host in ("127.0.0.1", "localhost"):
        url = str(served_https.https_url).replace("127.0.0.1", host)
        with httpx.Client(verify=ssl.create_default_context(cafile=str(path)), timeout=10) as http:
            assert http.get(url + "/_callcard/health").json()["ok"] is True
    with httpx.Client(verify=ssl.create_default_context(), timeout=10) as http, \
            pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        http.get(f"{served_https.https_url}/_callcard/health")
    assert re.search(rf"CA bundle\s+{re.escape(str(path))}", served_https.banner)
    assert str(served_https.https_url).startswith("https://")


def test_the_ca_is_generated_once_and_kept(start_serve: Any, tmp_path: Path) -> None:
    first = start_serve("--no-demo", https=True, data_dir=tmp_path)
    ca = (tmp_path / "tls" / "ca.pem").read_bytes()
    assert first.stop() == 0
    # ca-path without a server reuses it too.
    assert Path(first.cli("ca-path").stdout.strip()) == tmp_path / "tls" / "bundle.pem"
    second = start_serve("--no-demo", https=True, data_dir=tmp_path)
    assert (tmp_path / "tls" / "ca.pem").read_bytes() == ca
    trust = ssl.create_default_context(cafile=str(tmp_path / "tls" / "bundle.pem"))
    with httpx.Client(verify=trust, timeout=10) as http:
        assert http.get(f"{second.https_url}/_callcard/health").status_code == 200


def test_serve_https_is_one_portal_on_a_plain_and_a_tls_listener(served_https: Served,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    s = served_https
    assert s.url == f"http://127.0.0.1:{s.port}" and s.https_url == f"https://127.0.0.1:{s.https_port}"
    info = json.loads((s.data_dir / "server.json").read_text())
    assert (info["url"], info["https_url"], info["ca_bundle"]) == (s.url, s.https_url, str(s.ca_bundle))
    urls = _banner_urls(s.banner)
    assert urls["REST"] == f"{s.url}/rest/" and urls["OAuth"] == f"{s.url}/oauth/token/"
    assert urls["REST (https)"] == f"{s.https_url}/rest/"
    assert urls["OAuth (https)"] == f"{s.https_url}/oauth/token/"
    assert urls["portal (admin)"].startswith(f"{s.url}/login/")

    trust = ssl.create_default_context(cafile=str(s.ca_bundle))
    hook = s.webhook(2)  # created once, through the CLI (which keeps the plain `url`)
    assert hook.startswith(f"{s.url}/rest/2/")
    hook_tls = hook.replace(s.url, str(s.https_url))
    with httpx.Client(timeout=10) as plain, httpx.Client(verify=trust, timeout=10) as tls:
        assert plain.get(f"{s.url}/_callcard/health").json()["ok"] is True
        assert tls.get(f"{s.https_url}/_callcard/health").json()["ok"] is True
        for client, base in ((plain, hook), (tls, hook_tls)):
            me = client.post(base + "user.current")
            assert me.status_code == 200 and me.json()["result"]["ID"] == "2"
        # One store: a lead added over TLS is read over plain http.
        tag = uuid.uuid4().hex[:8]
        lead_id = tls.post(hook_tls + "crm.lead.add", json={"fields": {"TITLE": tag}}).json()["result"]
        lead = plain.post(hook + "crm.lead.get", json={"id": lead_id}).json()["result"]
        assert lead["TITLE"] == tag
        # One token table: a token refreshed at the TLS OAuth URL works on the plain REST URL.
        app = s.install_app("two listeners", scope="user")
        renewed = tls.post(urls["OAuth (https)"], params={
            "grant_type": "refresh_token", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "refresh_token": app["refresh_token"]})
        assert renewed.status_code == 200
        again = plain.post(app["client_endpoint"] + "user.current", json={"auth": renewed.json()["access_token"]})
        assert again.status_code == 200 and again.json()["result"]["ID"] == "1"
        # Each port speaks only its own protocol.
        with pytest.raises(httpx.ConnectError):
            tls.get(f"https://127.0.0.1:{s.port}/_callcard/health")

    # b24pysdk (https only) with the same webhook, and the CLI still finds the server through `url`.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(s.ca_bundle))
    token = "/".join(hook.rstrip("/").split("/")[-2:])
    sdk = Client(BitrixWebhook(domain=s.https_domain, webhook_token=token))
    assert sdk.crm.lead.get(bitrix_id=int(lead_id)).result["TITLE"] == tag
    assert s.cli("login-url", "--user", "2").stdout.startswith(f"{s.url}/login/")
