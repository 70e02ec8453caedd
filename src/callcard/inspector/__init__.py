"""The inspector: the live timeline, the UiState diagram and the conformance report, in the portal UI.

``inspector_routes(services)`` returns the routes; ``create_app`` mounts them beside the host routes.
"""

from __future__ import annotations

from .routes import inspector_routes

__all__ = ["inspector_routes"]
