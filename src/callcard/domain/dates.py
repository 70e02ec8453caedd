"""Dates as the platform renders them: ISO-8601 with offset, whole seconds."""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["iso", "whole_second"]


def iso(ts: float) -> str:
    """A unix time as the platform renders dates: ISO-8601 with offset, seconds precision."""
    # Only the whole second shows, and calls format the current second over and over: remember a few.
    second = whole_second(ts)
    text = _ISO_SEEN.get(second)
    if text is None:
        text = datetime.fromtimestamp(second, tz=UTC).isoformat(timespec="seconds")
        if len(_ISO_SEEN) >= 64:
            _ISO_SEEN.clear()
        _ISO_SEEN[second] = text
    return text


_ISO_SEEN: dict[int, str] = {}


def whole_second(ts: float) -> int:
    """The second ``datetime.fromtimestamp(ts)`` falls in: it rounds to microseconds (half to even)
    first, so a stamp a hair below a whole second belongs to the next one."""
    fraction, whole = math.modf(ts)
    micros = round(fraction * 1e6)
    return int(whole) + (1 if micros >= 1_000_000 else -1 if micros < 0 else 0)
