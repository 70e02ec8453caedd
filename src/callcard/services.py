"""The one object that holds a running callcard's parts; built by ``app.create_app``.

Surfaces receive it and call the domain through it; nothing reaches the domain any other way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .clock import Clock, IdSource
    from .domain.calls import ExternalCalls
    from .domain.cards import CardService
    from .domain.conformance import Conformance
    from .domain.crm import Crm
    from .domain.directory import Directory
    from .domain.handlers import CardHandlers, EventHandlers
    from .domain.placements import Placements
    from .settings import Settings
    from .store import SQLiteStore

__all__ = ["Services"]


@dataclass
class Services:
    settings: Settings
    store: SQLiteStore
    clock: Clock
    ids: IdSource
    directory: Directory
    crm: Crm
    cards: CardService
    calls: ExternalCalls
    placements: Placements
    event_handlers: EventHandlers
    card_handlers: CardHandlers
    conformance: Conformance
    #: the event hub (``callcard.hub.Hub``): ``publish(events)`` routes events to pages, outbox, timeline
    hub: Any = None
    #: the page connection manager (``callcard.host.ws``), set by the host routes
    pages: Any = None
    #: the timeline journal (``callcard.journal.Journal``)
    journal: Any = None
    #: the outbox (``callcard.outbox.outbox.Outbox``) and its delivery worker
    outbox: Any = None
    worker: Any = None
    #: injected faults (``callcard.faults.Faults``)
    faults: Any = None
    #: the REST method registry (``callcard.rest.registry.Registry``)
    registry: Any = None
    #: the control API token (``DATA/control-token``)
    control_token: str = ""
    #: the demo softphone's origin, when the demo is on
    demo_url: str | None = None
    #: local TLS files (``callcard.tls.TlsFiles``) under ``--https``
    tls: Any = None
