"""Time and identity, injected: the domain never reads the wall clock or ``secrets`` directly.

``SystemClock`` / ``RandomIds`` are what the server uses; ``FakeClock`` / ``SequentialIds`` let tests
script time (auto-close delays, the 30-minute dedup window, watchdog windows, token expiry) and get
predictable identifiers.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Protocol

__all__ = ["Clock", "FakeClock", "IdSource", "RandomIds", "SequentialIds", "SystemClock"]


class Clock(Protocol):
    def now(self) -> float:
        """Unix time in seconds (float)."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: float = 1_763_700_000.0) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds

    def set(self, when: float) -> None:
        self._now = float(when)


class IdSource(Protocol):
    def hex(self, nbytes: int = 16) -> str:
        """``2 * nbytes`` lowercase hex characters, unpredictable in production."""
        ...


class RandomIds:
    def hex(self, nbytes: int = 16) -> str:
        return secrets.token_hex(nbytes)


class SequentialIds:
    """Deterministic ids for tests: 000…001, 000…002, …"""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def hex(self, nbytes: int = 16) -> str:
        return format(next(self._counter), f"0{2 * nbytes}x")
