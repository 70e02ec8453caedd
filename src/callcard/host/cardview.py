"""What a portal page's card UI renders: the card's own view plus what only the host knows.

``CallCard.view(now)`` (domain/card.py) is the card itself; the page also shows the transfer targets
(every other active user) and the name of the card's CRM entity. ``user_choices`` is the user list of
the transfer picker and selectUser. Pure reads of the services: nothing here sends or changes anything.
"""

from __future__ import annotations

from typing import Any

from ..errors import BitrixError
from ..services import Services

__all__ = ["card_view", "page_view", "user_choices"]


def page_view(services: Services, user_id: int, view: dict[str, Any]) -> dict[str, Any]:
    """What the card UI renders: ``card.view(now)`` (not changed) plus transfer targets and the CRM
    entity's name."""
    shown = dict(view)
    shown["transferTargets"] = [u for u in user_choices(services) if u["id"] != user_id]
    crm = view.get("crm")
    if isinstance(crm, dict) and crm.get("entityType") and crm.get("entityId"):
        try:  # the card UI shows the entity's name beside its type and id
            name = services.crm.entity_name(crm["entityType"], int(crm["entityId"]))
            shown["crm"] = {**crm, "entityName": name}
        except (BitrixError, ValueError):
            pass
    return shown


def card_view(services: Services, user_id: int) -> dict[str, Any] | None:
    """The view the owning page of the user's card renders (None: no card)."""
    card = services.cards.get(user_id)
    return None if card is None else page_view(services, user_id, card.view(services.clock.now()))


def user_choices(services: Services) -> list[dict[str, Any]]:
    """Active portal users as ``{id, name, position}`` (the transfer picker, selectUser)."""
    rows = [r for r in services.store.find("users") if r["active"]]
    return [
        {
            "id": int(r["id"]),
            "name": f"{r['name']} {r['last_name']}".strip() or f"User {r['id']}",
            "position": r.get("work_position") or "",
        }
        for r in rows
    ]
