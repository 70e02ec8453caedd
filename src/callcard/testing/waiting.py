"""Polling with a deadline: what every helper that waits for the server uses."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

__all__ = ["DEFAULT_TIMEOUT_S", "wait_until"]

_POLL_S = 0.05
DEFAULT_TIMEOUT_S = 10.0


def wait_until(
    check: Callable[[], Any], *, timeout: float = DEFAULT_TIMEOUT_S, what: str = "condition"
) -> Any:
    """Call ``check`` until it returns something truthy; return that (``TimeoutError`` after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(_POLL_S)
