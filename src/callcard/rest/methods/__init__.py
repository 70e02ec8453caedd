"""The Bitrix-shaped REST methods, registered on the transport's ``Registry``.

``build_registry(settings)`` is the one entry point ``app.create_app`` uses; ``upload_routes(services)``
serves attachRecord's ``uploadUrl`` and must be mounted before ``rest_routes`` (whose ``/rest``
catch-all would shadow it).

Modules: ``telephony`` (externalCall.* / externalLine.*), ``placement`` (placement.* incl. the REST
forms of call/bindEvent), ``events`` (event.*), ``common`` (app.info, user.*, profile, scope, methods,
server.time), ``crm`` (crm.lead/contact/company.*, crm.duplicate.findbycomm).
"""

from __future__ import annotations

from ...settings import Settings
from ..registry import Registry
from .common import register_common
from .crm import register_crm
from .events import register_events
from .placement import register_placement
from .telephony import register_telephony, upload_routes

__all__ = ["build_registry", "upload_routes"]


def build_registry(settings: Settings) -> Registry:
    """Every business method callcard serves (``rest_routes`` adds ``batch``). Under
    ``settings.strict_placement_rest`` placement.call and placement.bindEvent are not
    registered (ERROR_METHOD_NOT_FOUND, README decision 6)."""
    registry = Registry()
    register_telephony(registry)
    register_placement(registry, settings)
    register_events(registry)
    register_common(registry)
    register_crm(registry)
    return registry
