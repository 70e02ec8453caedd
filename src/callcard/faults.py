"""Injected faults: what the control API can make go wrong, on purpose, so apps can be tested against it.

| Fault | Effect |
|---|---|
| ``rest_latency_ms`` | every ``/rest`` call waits this long before it runs |
| ``bridge_latency_ms`` | every frame command relayed to the server waits this long before its reply |
| ``frame_load_delay_ms`` | background frames submit their form this much later: their load time grows |
| ``failing_handlers`` | outbound deliveries to these URLs fail without a request |
| ``handler_delay_s`` | every outbound delivery waits this long first (a slow handler) |

Faults live in memory and are cleared by ``clear()`` (and by ``POST /_callcard/reset``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults"]


@dataclass
class Faults:
    rest_latency_ms: float = 0.0
    bridge_latency_ms: float = 0.0
    frame_load_delay_ms: float = 0.0
    failing_handlers: set[str] = field(default_factory=set)
    handler_delay_s: float = 0.0
    #: the outbox worker's own fault object, kept in step (``callcard.outbox.worker.Faults``)
    delivery: Any = None

    def apply(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Set the named faults (unknown names are refused) and return them all."""
        for key, value in changes.items():
            if key == "failing_handlers":
                self.failing_handlers = {str(v) for v in (value or [])}
            elif key in ("rest_latency_ms", "bridge_latency_ms", "frame_load_delay_ms", "handler_delay_s"):
                number = float(value or 0)
                if number < 0:
                    raise ValueError(f"{key} must not be negative")
                setattr(self, key, number)
            else:
                raise ValueError(f"unknown fault {key!r}")
        self._sync()
        return self.describe()

    def clear(self) -> None:
        self.rest_latency_ms = self.bridge_latency_ms = self.frame_load_delay_ms = 0.0
        self.handler_delay_s = 0.0
        self.failing_handlers = set()
        self._sync()

    def describe(self) -> dict[str, Any]:
        return {
            "rest_latency_ms": self.rest_latency_ms,
            "bridge_latency_ms": self.bridge_latency_ms,
            "frame_load_delay_ms": self.frame_load_delay_ms,
            "failing_handlers": sorted(self.failing_handlers),
            "handler_delay_s": self.handler_delay_s,
        }

    def _sync(self) -> None:
        if self.delivery is not None:
            self.delivery.fail_urls = set(self.failing_handlers)
            self.delivery.delay_s = self.handler_delay_s
