"""The cloud's two REST limits (rest-api.md §6), driven by the injected clock.

* **Leaky bucket** per (portal, source IP): each request adds 1; the level drains ``drain_per_s`` per
  second; a request that would lift it above ``bucket_capacity`` gets 503 ``QUERY_LIMIT_EXCEEDED``.
  With the defaults (50, 2/s) a burst of 50 passes, the 51st is refused, and one more passes every
  half second.
* **Operating time** per (method, app or webhook): method execution seconds summed over ten baskets
  (``operating_window_s / 10`` each, 1 minute by default). Once the sum exceeds ``operating_limit_s``
  (480 s), calls of that method get 429 ``OPERATION_TIME_LIMIT`` until old baskets slide out.

SDKs throttle themselves to exactly these numbers, so they must match when limits are on. With
``enabled`` false nothing is refused, but operating time is still counted and reported in ``time``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..clock import Clock
from ..errors import error
from ..settings import LimitSettings

__all__ = ["BASKETS", "LeakyBucket", "Limits", "OperatingTime"]

#: number of baskets the operating window is split into
BASKETS = 10
#: forget idle state once this many keys pile up (a long-running server sees many IPs/methods)
_PRUNE_AT = 4096


@dataclass
class _Level:
    level: float
    at: float


class LeakyBucket:
    """Request bucket per key; ``admit`` raises ``QUERY_LIMIT_EXCEEDED`` when it would overflow."""

    def __init__(self, capacity: int, drain_per_s: float, clock: Clock) -> None:
        self.capacity = capacity
        self.drain_per_s = drain_per_s
        self._clock = clock
        self._levels: dict[tuple[str, str], _Level] = {}

    def level(self, key: tuple[str, str]) -> float:
        """The current (drained) fill level of ``key``."""
        state = self._levels.get(key)
        if state is None:
            return 0.0
        return max(0.0, state.level - (self._clock.now() - state.at) * self.drain_per_s)

    def admit(self, key: tuple[str, str]) -> None:
        """Count one request for ``key``, or raise 503 without counting it."""
        now = self._clock.now()
        level = self.level(key)
        # A tiny tolerance so that exactly-drained float levels do not refuse a legitimate request.
        if level + 1 > self.capacity + 1e-9:
            raise error("QUERY_LIMIT_EXCEEDED")
        self._levels[key] = _Level(level + 1, now)
        if len(self._levels) > _PRUNE_AT:
            self._prune()

    def _prune(self) -> None:
        for key in [k for k in self._levels if self.level(k) <= 0]:
            del self._levels[key]


class OperatingTime:
    """Method execution time per (method, owner) in a sliding window of ``BASKETS`` baskets."""

    def __init__(self, limit_s: float, window_s: float, clock: Clock) -> None:
        self.limit_s = limit_s
        self.window_s = window_s
        self.basket_s = window_s / BASKETS
        self._clock = clock
        self._baskets: dict[tuple[str, str], dict[int, float]] = {}

    def _current(self) -> int:
        return math.floor(self._clock.now() / self.basket_s)

    def _live(self, key: tuple[str, str], now: float | None = None) -> dict[int, float]:
        baskets = self._baskets.get(key)
        if not baskets:
            return {}
        current = math.floor((self._clock.now() if now is None else now) / self.basket_s)
        oldest = current - BASKETS + 1
        if min(baskets) < oldest:
            for index in [i for i in baskets if i < oldest]:
                del baskets[index]
        return baskets

    def used(self, key: tuple[str, str]) -> float:
        """Seconds used by ``key`` in the current window."""
        return sum(self._live(key).values())

    def reset_at(self, key: tuple[str, str]) -> int:
        """Unix time when the oldest counted basket leaves the window (now + window when none)."""
        return self.usage(key)[1]

    def account(self, key: tuple[str, str], seconds: float) -> tuple[float, int]:
        """``add(key, seconds)`` then ``usage(key)``, at one clock reading (every successful call)."""
        now = self._clock.now()
        current = math.floor(now / self.basket_s)
        baskets = self._baskets.get(key)
        if seconds > 0:
            if baskets is None:
                baskets = self._baskets[key] = {}
            baskets[current] = baskets.get(current, 0.0) + seconds
            if len(self._baskets) > _PRUNE_AT:
                for stale in [k for k in self._baskets if not self._live(k)]:
                    del self._baskets[stale]
        if not baskets:
            return 0, int(now + self.window_s)
        oldest = current - BASKETS + 1
        if min(baskets) < oldest:
            for index in [i for i in baskets if i < oldest]:
                del baskets[index]
        used = [i for i, spent in baskets.items() if spent > 0]
        if not used:
            return sum(baskets.values()), int(now + self.window_s)
        return sum(baskets.values()), int((min(used) + BASKETS) * self.basket_s)

    def usage(self, key: tuple[str, str]) -> tuple[float, int]:
        """``(used(key), reset_at(key))`` in one pass, at one clock reading."""
        now = self._clock.now()
        baskets = self._live(key, now)
        used = [i for i, seconds in baskets.items() if seconds > 0]
        if not used:
            return sum(baskets.values()), int(now + self.window_s)
        return sum(baskets.values()), int((min(used) + BASKETS) * self.basket_s)

    def blocked(self, key: tuple[str, str]) -> bool:
        return self.used(key) > self.limit_s

    def add(self, key: tuple[str, str], seconds: float) -> None:
        """Count ``seconds`` of execution for ``key`` in the current basket."""
        if seconds <= 0:
            return
        baskets = self._baskets.get(key)
        if baskets is None:
            baskets = self._baskets[key] = {}
        current = self._current()
        baskets[current] = baskets.get(current, 0.0) + seconds
        if len(self._baskets) > _PRUNE_AT:
            for stale in [k for k in self._baskets if not self._live(k)]:
                del self._baskets[stale]


class Limits:
    """Both limits behind the settings switch; the REST dispatcher talks only to this."""

    def __init__(self, settings: LimitSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.bucket = LeakyBucket(settings.bucket_capacity, settings.drain_per_s, clock)
        self.operating = OperatingTime(settings.operating_limit_s, settings.operating_window_s, clock)

    @property
    def enabled(self) -> bool:
        return self.settings.enabled

    def admit_request(self, portal: str, ip: str) -> None:
        """One HTTP request from ``ip`` (a batch counts once); 503 when the bucket is full."""
        if self.enabled:
            self.bucket.admit((portal, ip))

    def check_method(self, method: str, owner: str) -> None:
        """429 when ``owner`` has used more than the operating limit on ``method``."""
        if self.enabled and self.operating.blocked((method, owner)):
            raise error("OPERATION_TIME_LIMIT")

    def record(self, method: str, owner: str, seconds: float) -> None:
        """Add ``seconds`` of execution of ``method`` by ``owner`` (counted even when limits are off)."""
        self.operating.add((method, owner), seconds)

    def account(self, method: str, owner: str, seconds: float) -> tuple[float, int]:
        """``record`` then ``report``, in one go (what every successful call does)."""
        return self.operating.account((method, owner), seconds)

    def report(self, method: str, owner: str) -> tuple[float, int]:
        """``(operating, operating_reset_at)`` for the ``time`` block."""
        return self.operating.usage((method, owner))
