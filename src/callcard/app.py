"""``create_app(settings)``: build one callcard — store, domain services, hub, surfaces — with no globals.

Everything a running callcard holds hangs off ``app.state.services`` (``callcard.services.Services``).
The lifespan starts the background work: the ticker (delayed card closes, held events) and the outbound
delivery worker, and stops them on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import RedirectResponse
from starlette.routing import BaseRoute, Route

from .clock import Clock, IdSource, RandomIds, SystemClock
from .control.auth import load_or_create_token
from .control.routes import control_routes
from .domain.calls import ExternalCalls
from .domain.cards import CardService
from .domain.conformance import Conformance
from .domain.crm import Crm
from .domain.directory import Directory
from .domain.handlers import CardHandlers, EventHandlers
from .domain.placements import Placements
from .domain.tokens import TokenGrant
from .faults import Faults
from .hub import Hub
from .journal import Journal
from .observers import delivery_observer, rest_observer
from .outbox.outbox import Outbox
from .outbox.worker import DeliveryWorker
from .rest.auth import Caller
from .rest.endpoint import RestShortcut, rest_routes
from .rest.methods import build_registry
from .rest.methods.telephony import upload_routes
from .rest.oauth import oauth_routes
from .services import Services
from .settings import Settings
from .store import SQLiteStore

__all__ = ["create_app", "build_services"]

log = logging.getLogger("callcard")

TICK_S = 0.1


class DirectoryResolver:
    """The REST surface's view of credentials: OAuth tokens and webhooks, from the directory."""

    def __init__(self, directory: Directory) -> None:
        self.directory = directory
        #: token -> (the grant it was built from, the Caller); the directory keeps grants exact
        self._callers: dict[str, tuple[TokenGrant, Caller]] = {}

    def from_token(self, token: str) -> Caller:
        grant = self.directory.tokens.token_grant(token)
        known = self._callers.get(token)
        if known is not None and known[0] is grant:
            return known[1]
        assert grant.app is not None and grant.user_id is not None  # token_grant raises otherwise
        caller = Caller("app", grant.user_id, app_id=grant.app.id, scopes=frozenset(grant.app.scopes),
                        is_admin=grant.is_admin, access_token=token)
        if len(self._callers) >= 4096:
            self._callers.clear()
        self._callers[token] = (grant, caller)
        return caller

    def from_webhook(self, user_id: int, code: str) -> Caller:
        hook = self.directory.webhooks.resolve_webhook(user_id, code)
        return Caller("webhook", hook.user_id, webhook_id=hook.id, scopes=frozenset(hook.scopes),
                      is_admin=self.directory.is_admin(hook.user_id))


def build_services(settings: Settings, *, clock: Clock | None = None, ids: IdSource | None = None,
                   store: SQLiteStore | None = None) -> Services:
    """The domain over its store, seeded (portal, users), with hub, journal and outbox attached."""
    clock = clock or SystemClock()
    ids = ids or RandomIds()
    store = store or SQLiteStore(settings.db_path, durability=settings.durability)
    directory = Directory(store, clock, ids, settings)
    directory.ensure_seeded()
    crm = Crm(store, clock)
    cards = CardService(store, clock, auto_close_delay_s=settings.auto_close_delay_s,
                        restore_s=settings.card_restore_s)
    conformance = Conformance(store, clock)
    services = Services(
        settings=settings,
        store=store,
        clock=clock,
        ids=ids,
        directory=directory,
        crm=crm,
        cards=cards,
        calls=ExternalCalls(store, clock, ids, directory, crm, cards, settings),
        placements=Placements(store, clock, settings, conformance),
        event_handlers=EventHandlers(
            store, clock, strict_handler_url=settings.strict_handler_url, conformance=conformance
        ),
        card_handlers=CardHandlers(store, clock),
        conformance=conformance,
    )
    services.journal = Journal(settings.journal_size, clock)
    services.outbox = Outbox(store, clock, settings)
    services.hub = Hub(services)
    services.faults = Faults()
    return services


def create_app(settings: Settings | None = None, *, clock: Clock | None = None, ids: IdSource | None = None,
               demo_url: str | None = None) -> Starlette:
    """A complete callcard ASGI app. ``demo_url`` (the demo softphone's origin) registers the demo app."""
    settings = settings or Settings()
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    services = build_services(settings, clock=clock, ids=ids)
    services.control_token = load_or_create_token(Path(settings.data_dir))
    services.demo_url = demo_url
    if settings.uses_tls:  # either listener: the TLS one needs the certificate, delivery trusts the CA
        from .tls import ensure_certificates

        services.tls = ensure_certificates(Path(settings.data_dir), extra_names=(settings.host,))
    if demo_url:
        from .demo.install import install_demo

        install_demo(services, demo_url)

    verify = services.tls.client_context() if settings.uses_tls else True
    worker = DeliveryWorker(services.outbox, services.clock, settings, on_attempt=delivery_observer(services),
                            verify=verify)
    services.faults.delivery = worker.faults
    services.worker = worker

    registry = build_registry(settings)
    services.registry = registry

    from .host.routes import host_routes
    from .inspector import inspector_routes

    rest = rest_routes(registry, DirectoryResolver(services.directory), services, settings, services.clock,
                       on_call=rest_observer(services))
    routes: list[BaseRoute] = [
        *upload_routes(services),  # before the /rest catch-all
        *rest,  # right after the upload route: RestShortcut below relies on this order
        *oauth_routes(services),
        *control_routes(services, openapi=registry.openapi),
        *host_routes(services),
        *inspector_routes(services),
        Route("/favicon.ico", lambda request: RedirectResponse("/static/favicon.svg")),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        worker.start()
        ticker = asyncio.create_task(_tick_forever(services))
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await worker.stop()

    app = Starlette(routes=routes, lifespan=lifespan)
    # REST calls skip the exception middleware and the route scan (a measurable part of a small call).
    app.add_middleware(RestShortcut, route=rest[-1], router=app.router)
    app.state.services = services
    return app


async def _tick_forever(services: Services) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        try:
            events = services.cards.tick()
            if events:
                services.hub.publish(events)
            pages = services.pages
            if pages is not None and hasattr(pages, "tick"):
                pages.tick()
        except Exception:
            log.exception("tick failed")
