"""One open call card per user, persisted; the service the surfaces call. (Being written.)"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ShowRequest:
    """What ``telephony.externalCall.register/show`` asks the card of one user to show (call-card.md §9.1)."""

    call_id: str
    phone_number: str
    direction: str  # incoming | outgoing | callback
    line_number: str = ""
    line_name: str = ""
    crm_entity_type: str = ""  # CONTACT | COMPANY | LEAD | ""
    crm_entity_id: int = 0
    crm_activity_id: int = 0
    crm_bindings: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    show_crm_card: bool = True
    app_id: int | None = None
