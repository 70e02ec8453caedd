"""The ``callcard`` command: a thin layer over ``create_app`` and the control API.

``callcard serve`` runs the server. Every other subcommand talks to a running server through its control
API (``/_callcard/…``): it finds the server through ``DATA/server.json`` (written at start-up, with the
control token) or ``--server URL`` plus ``--token``/``CALLCARD_TOKEN``. Subcommands accept ``--data DIR``
after their own arguments. ``--json`` prints the raw answer; otherwise output is for people.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import httpx

from .settings import LimitSettings, Settings

__all__ = ["main"]

DATA_HELP = "data directory of the server (default ./.callcard)"


def _data_option(f: Any) -> Any:
    f = click.option("--data", "data_dir", default=".callcard", show_default=True, help=DATA_HELP)(f)
    f = click.option("--server", default=None, help="control API base URL (default: from DATA/server.json)")(f)
    f = click.option("--token", envvar="CALLCARD_TOKEN", default=None, help="control API token")(f)
    return f


class Control:
    """A client of a running server's control API."""

    def __init__(self, data_dir: str, server: str | None, token: str | None) -> None:
        info: dict[str, Any] = {}
        info_path = Path(data_dir) / "server.json"
        if info_path.exists():
            info = json.loads(info_path.read_text())
        self.base = (server or info.get("url") or "").rstrip("/")
        if not self.base:
            raise click.ClickException(
                f"no running callcard found in {data_dir} (start `callcard serve --data {data_dir}` "
                "or pass --server URL)"
            )
        token = token or info.get("control_token")
        if not token and (Path(data_dir) / "control-token").exists():
            token = (Path(data_dir) / "control-token").read_text().strip()
        self.token = token or ""
        verify: Any = True
        ca = info.get("ca_bundle")
        if self.base.startswith("https") and ca:
            verify = ca
        self.http = httpx.Client(
            base_url=self.base, headers={"Authorization": f"Bearer {self.token}"}, timeout=30, verify=verify
        )

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, **params: Any) -> Any:
        try:
            resp = self.http.request(method, "/_callcard" + path, json=body, params=params or None)
        except httpx.HTTPError as exc:
            raise click.ClickException(f"cannot reach callcard at {self.base}: {exc}") from exc
        try:
            data = resp.json()
        except ValueError:
            raise click.ClickException(f"{resp.status_code} from {path}: {resp.text[:200]}") from None
        if resp.status_code >= 400:
            raise click.ClickException(f"{data.get('error')}: {data.get('error_description')}")
        return data


def _out(data: Any, as_json: bool, human: str) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False) if as_json else human)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="callcard")
def main() -> None:
    """callcard: a local Bitrix24 host for telephony apps."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to bind (loopback by default)")
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--data", "data_dir", default=".callcard", show_default=True, help="data directory")
@click.option("--https", is_flag=True,
              help="also serve over TLS on --https-port, with a generated local CA (see `callcard ca-path`)")
@click.option("--https-port", default=None, type=int, help="port of the TLS listener (default PORT+2)")
@click.option("--no-limits", is_flag=True, help="switch the cloud's rate limits off (load tests)")
@click.option("--no-demo", is_flag=True, help="do not register the demo softphone app")
@click.option("--demo-port", default=None, type=int, help="port of the demo app's origin (default PORT+1)")
@click.option("--log-level", default="warning", show_default=True)
def serve(
    host: str,
    port: int,
    data_dir: str,
    https: bool,
    https_port: int | None,
    no_limits: bool,
    no_demo: bool,
    demo_port: int | None,
    log_level: str,
) -> None:
    """Serve the portal, REST API and control API.

    With --https the portal keeps its plain listener on --port and the same portal is also served over
    TLS on --https-port (b24pysdk speaks only https); URLs the server hands out name the plain one.
    """
    from .server import serve as run_server

    if https_port is not None and not https:
        raise click.UsageError("--https-port needs --https")
    tls_port = (https_port or port + 2) if https else None
    if tls_port is not None:
        taken = {port: "--port", **({demo_port or port + 1: "the demo app's port"} if not no_demo else {})}
        if tls_port in taken:
            raise click.UsageError(f"the https port {tls_port} is also {taken[tls_port]}; pick another "
                                   "with --https-port")
    settings = Settings(
        data_dir=Path(data_dir),
        host=host,
        port=port,
        https_port=tls_port,
        limits=LimitSettings(enabled=not no_limits),
        demo=not no_demo,
    )
    run_server(settings, demo_port=demo_port, log_level=log_level)


@main.command("ca-path")
@click.option("--data", "data_dir", default=".callcard", show_default=True, help=DATA_HELP)
def ca_path(data_dir: str) -> None:
    """Print the CA bundle clients should trust (REQUESTS_CA_BUNDLE=…) for `serve --https`."""
    from .tls import ensure_certificates

    click.echo(str(ensure_certificates(Path(data_dir)).bundle))


@main.group()
def app() -> None:
    """Apps installed on the local portal."""


@app.command("create")
@click.option("--name", required=True)
@click.option("--scope", default="telephony,placement,crm,user", show_default=True)
@click.option("--handler", default="", help="the app's main page URL (its origin is trusted for frames)")
@click.option("--json", "as_json", is_flag=True)
@_data_option
def app_create(
    name: str, scope: str, handler: str, as_json: bool, data_dir: str, server: str | None, token: str | None
) -> None:
    """Install an app and print its credentials."""
    data = Control(data_dir, server, token).call(
        "POST", "/apps", {"name": name, "scopes": scope.split(","), "handler": handler}
    )
    _out(data, as_json, f"app {name}: client_id {data['client_id']}\naccess_token {data['access_token']}")


@app.command("uninstall")
@click.argument("app_id", type=int)
@click.option("--clean", is_flag=True, help="set the app's \"clean its data\" flag (ONAPPUNINSTALL data[CLEAN]=1)")
@click.option("--json", "as_json", is_flag=True)
@_data_option
def app_uninstall(
    app_id: int, clean: bool, as_json: bool, data_dir: str, server: str | None, token: str | None
) -> None:
    """Uninstall an app: ONAPPUNINSTALL to its handlers, then its placements, handlers, lines and tokens go."""
    data = Control(data_dir, server, token).call("DELETE", f"/apps/{app_id}", clean=int(clean))
    removed = data["removed"]
    human = (
        f"app {app_id} uninstalled: {removed['placements']} placement(s), {removed['event_handlers']} event "
        f"handler(s), {removed['card_handlers']} card handler(s), {removed['lines']} line(s), "
        f"{removed['tokens']} token(s) removed; "
        f"ONAPPUNINSTALL queued for {data['notified']} handler(s)"
    )
    _out(data, as_json, human)


@main.group()
def webhook() -> None:
    """Incoming webhooks."""


@webhook.command("create")
@click.option("--user", "user_id", required=True, type=int)
@click.option("--scope", default="telephony,placement,crm,user", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@_data_option
def webhook_create(
    user_id: int, scope: str, as_json: bool, data_dir: str, server: str | None, token: str | None
) -> None:
    """Create a webhook for a user and print its URL."""
    data = Control(data_dir, server, token).call(
        "POST", "/webhooks", {"user_id": user_id, "scopes": scope.split(",")}
    )
    _out(data, as_json, data["url"])


@main.command("login-url")
@click.option("--user", "user_id", default=1, show_default=True, type=int)
@_data_option
def login_url(user_id: int, data_dir: str, server: str | None, token: str | None) -> None:
    """Print a one-time URL that opens the portal page as a user."""
    click.echo(Control(data_dir, server, token).call("POST", "/login-url", {"user_id": user_id})["url"])


@main.group()
def call() -> None:
    """Simulate calls."""


@call.command("incoming")
@click.argument("phone")
@click.option("--user", "user_id", default=1, show_default=True, type=int)
@click.option("--app", "app_id", default=None, type=int, help="app that registers the call (default: demo)")
@click.option("--json", "as_json", is_flag=True)
@_data_option
def call_incoming(
    phone: str, user_id: int, app_id: int | None, as_json: bool, data_dir: str, server: str | None,
    token: str | None,
) -> None:
    """Register an incoming external call and show its card."""
    body = {"direction": "incoming", "phone_number": phone, "user_id": user_id, "app_id": app_id}
    data = Control(data_dir, server, token).call("POST", "/calls", body)
    _out(data, as_json, f"incoming call {data.get('CALL_ID', '')} from {phone} to user {user_id}")


@call.command("outgoing")
@click.argument("phone")
@click.option("--user", "user_id", default=1, show_default=True, type=int)
@click.option("--app", "app_id", default=None, type=int)
@click.option("--json", "as_json", is_flag=True)
@_data_option
def call_outgoing(
    phone: str, user_id: int, app_id: int | None, as_json: bool, data_dir: str, server: str | None,
    token: str | None,
) -> None:
    """Click-to-call: deliver ONEXTERNALCALLSTART to the app (or register and show the card)."""
    body = {"direction": "outgoing", "phone_number": phone, "user_id": user_id, "app_id": app_id}
    data = Control(data_dir, server, token).call("POST", "/calls", body)
    _out(data, as_json, f"outgoing call {data.get('CALL_ID', '')} to {phone} by user {user_id}")


@main.command()
@click.argument("button")
@click.argument("value", required=False)
@click.option("--user", "user_id", default=1, show_default=True, type=int)
@_data_option
def press(button: str, value: str | None, user_id: int, data_dir: str, server: str | None, token: str | None) -> None:
    """Press a card button server-side (e.g. `callcard press answer`, `callcard press dialpad 5`), or a chip
    of the card's CRM row (`callcard press addLead`, `addContact`: the entity is created and bound)."""
    data = Control(data_dir, server, token).call(
        "POST", f"/cards/{user_id}/press", {"button": button, "value": value}
    )
    click.echo(f"pressed {button}; card is now {data.get('uiState', 'closed')}")


@main.command()
@click.option("--app", "app_id", default=None, type=int)
@click.option("--json", "as_json", is_flag=True)
@_data_option
def report(app_id: int | None, as_json: bool, data_dir: str, server: str | None, token: str | None) -> None:
    """The conformance report; exits 1 when it holds errors (for CI)."""
    control = Control(data_dir, server, token)
    data = control.call("GET", "/conformance", app_id=app_id) if app_id is not None else control.call(
        "GET", "/conformance"
    )
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        findings = data.get("findings", [])
        if not findings:
            click.echo("no protocol mistakes seen")
        for f in findings:
            click.echo(f"[{f['severity']}] app {f.get('app_id')}: {f['message']} (x{f.get('count', 1)})")
            if f.get("why"):
                click.echo(f"    why: {f['why']}")
            if f.get("fix"):
                click.echo(f"    fix: {f['fix']}")
    if any(f["severity"] == "error" for f in data.get("findings", [])):
        sys.exit(1)


@main.command()
@_data_option
def reset(data_dir: str, server: str | None, token: str | None) -> None:
    """Forget calls, cards, timeline and findings (apps, users and webhooks stay)."""
    Control(data_dir, server, token).call("POST", "/reset", {})
    click.echo("reset")


if __name__ == "__main__":  # pragma: no cover
    main()
