"""Shared unit-test fixtures: a real callcard REST surface, in process, over a fresh store.

* ``services`` — ``build_services(Settings.for_tests(tmp_path), clock=FakeClock(), ids=SequentialIds())``;
* ``client`` — a Starlette ``TestClient`` over the upload route, ``rest_routes`` and ``oauth_routes``;
* ``portal`` — a ``Portal`` with an installed app holding every scope, tokens for user 1 (the admin)
  and user 2 (an operator), and a full-scope webhook of each; ``portal.call(...)`` sends a request;
* ``make_portal(**settings_changes)`` — another, independent portal (e.g. ``strict_placement_rest``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from callcard.app import DirectoryResolver, build_services
from callcard.clock import FakeClock, SequentialIds
from callcard.domain.apps import App
from callcard.domain.tokens import TokenPair
from callcard.domain.webhooks import Webhook
from callcard.outbox.forms import encode_form, flatten
from callcard.rest.endpoint import rest_routes
from callcard.rest.methods import build_registry, upload_routes
from callcard.rest.oauth import oauth_routes
from callcard.services import Services
from callcard.settings import Settings

ALL_SCOPES = ("telephony", "placement", "crm", "user")
ADMIN = 1
OPERATOR = 2
#: (status, body) of a webhook calling an app-only method
WRONG_AUTH = (403, {"error": "WRONG_AUTH_TYPE", "error_description":
                    "Current authorization type is denied for this method Application context required"})


def error_of(response: httpx.Response) -> tuple[int, Any]:
    """(HTTP status, JSON body) — compare against the exact expected envelope."""
    return response.status_code, response.json()


def rest_client(services: Services) -> TestClient:
    """A TestClient serving what the lead mounts for REST: upload route first, then /rest, then OAuth."""
    settings = services.settings
    registry = build_registry(settings)
    services.registry = registry  # type: ignore[attr-defined]
    routes = [
        *upload_routes(services),
        *rest_routes(registry, DirectoryResolver(services.directory), services, settings, services.clock),
        *oauth_routes(services),
    ]
    return TestClient(Starlette(routes=routes))


class Portal:
    """A local portal with one installed app, its tokens and webhooks, and a way to call REST."""

    def __init__(self, services: Services, client: TestClient) -> None:
        self.services = services
        self.client = client
        self.clock: FakeClock = services.clock  # type: ignore[assignment]
        self.app = self.install_app()
        self.admin = self.tokens(self.app, ADMIN)
        self.operator = self.tokens(self.app, OPERATOR)
        self.admin_hook = self.webhook(ADMIN)
        self.operator_hook = self.webhook(OPERATOR)

    # -- setup --------------------------------------------------------------------------------------

    def install_app(
        self, scopes: tuple[str, ...] = ALL_SCOPES, name: str = "Test app", installed: bool = True
    ) -> App:
        directory = self.services.directory
        app = directory.apps.create_app(name, scopes, "https://app.example.com/handler")
        return directory.apps.mark_installed(app.id) if installed else app

    def tokens(self, app: App, user_id: int) -> TokenPair:
        return self.services.directory.tokens.issue_tokens(app.id, user_id)

    def webhook(self, user_id: int, scopes: tuple[str, ...] = ALL_SCOPES) -> Webhook:
        return self.services.directory.webhooks.create_webhook(user_id, scopes)

    # -- calls --------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        *,
        token: TokenPair | str | None = None,
        hook: Webhook | None = None,
        form: bool = False,
    ) -> httpx.Response:
        """POST ``method``. Credentials: ``hook`` (webhook URL form), else ``token`` (default: the
        admin's) as ``auth``. ``form=True`` sends PHP-style urlencoded fields instead of JSON."""
        body = dict(params or {})
        if hook is not None:
            url = f"/rest/{hook.user_id}/{hook.code}/{method}"
        else:
            url = f"/rest/{method}"
            given = self.admin if token is None else token
            body["auth"] = given if isinstance(given, str) else given.access_token
        if form:
            return self.client.post(
                url,
                content=encode_form(flatten("", body)),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        return self.client.post(url, json=body)

    def ok(self, method: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Call and return ``result``; fails the test on anything but a 200 success envelope."""
        response = self.call(method, params, **kwargs)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "error" not in body, body
        return body["result"]


@pytest.fixture
def services(tmp_path: Path) -> Services:
    return build_services(Settings.for_tests(tmp_path), clock=FakeClock(), ids=SequentialIds())


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with rest_client(services) as test_client:
        yield test_client


@pytest.fixture
def portal(services: Services, client: TestClient) -> Portal:
    return Portal(services, client)


@pytest.fixture
def make_portal(tmp_path: Path) -> Iterator[Callable[..., Portal]]:
    clients: list[TestClient] = []

    def make(**settings_changes: Any) -> Portal:
        data_dir = tmp_path / f"portal{len(clients)}"
        data_dir.mkdir(parents=True, exist_ok=True)
        services = build_services(
            Settings.for_tests(data_dir, **settings_changes), clock=FakeClock(), ids=SequentialIds()
        )
        test_client = rest_client(services)
        clients.append(test_client)
        return Portal(services, test_client)

    yield make
    for test_client in clients:
        test_client.close()
