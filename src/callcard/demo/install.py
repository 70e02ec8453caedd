"""Install the demo softphone on the local portal, the way a real app installs itself.

Idempotent: the app is created once; its PAGE_BACKGROUND_WORKER binding and its ONEXTERNALCALLSTART
handler are (re)bound to the demo origin of this run, through the same domain calls ``placement.bind``
and ``event.bind`` use.
"""

from __future__ import annotations

from typing import Any

from . import DEMO_APP_NAME

__all__ = ["install_demo"]

SCOPES = ["telephony", "placement", "crm", "user"]


def install_demo(services: Any, demo_url: str) -> Any:
    directory = services.directory
    app = next((a for a in directory.apps.list_apps() if a.name == DEMO_APP_NAME), None)
    if app is None:
        app = directory.apps.create_app(DEMO_APP_NAME, SCOPES, f"{demo_url}/")
    app = directory.apps.mark_installed(app.id)
    row = app.as_row()
    placements = services.placements
    placements.unbind(row, True, {"PLACEMENT": "PAGE_BACKGROUND_WORKER"})
    placements.bind(row, True, {
        "PLACEMENT": "PAGE_BACKGROUND_WORKER",
        "HANDLER": f"{demo_url}/",
        "TITLE": "Demo softphone",
        "OPTIONS": {"errorHandlerUrl": f"{demo_url}/error"},
    })
    handlers = services.event_handlers
    for bound in handlers.get(row):
        handlers.unbind(row, True, {"event": bound["event"], "handler": bound["handler"]})
    handlers.bind(row, True, {"event": "ONEXTERNALCALLSTART", "handler": f"{demo_url}/events"})
    return app
