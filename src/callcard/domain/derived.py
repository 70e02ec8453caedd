"""Exact caches of values derived from store rows (decoded apps, resolved access tokens).

The REST hot path derives the same few objects from the same rows on every call. A ``DerivedCache``
keeps each derived value tagged with the store's *generation* of the tables it was read from, read
before the rows were, and serves it only while that generation is unchanged. The store bumps a table's
generation on every write to it, on a rollback and on another connection's commit, so a served value
is always the one a fresh derivation would give. Values must be immutable (frozen dataclasses, tuples),
as every caller shares them.

A store without ``generation`` (not the SQLite one) gets no caching: every lookup derives afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ["DerivedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

#: entries kept before the cache is emptied (bounds memory; tokens are many over a long run)
LIMIT = 4096


class DerivedCache(Generic[K, V]):
    """``get(key, derive)``: ``derive()``'s value for ``key``, re-derived once ``tables`` changed."""

    def __init__(self, store: Any, tables: tuple[str, ...]) -> None:
        generation = getattr(store, "generation", None)
        self._generation: Callable[..., tuple[int, ...]] | None = generation if callable(generation) else None
        self._tables = tables
        self._values: dict[K, tuple[tuple[int, ...], V]] = {}

    def get(self, key: K, derive: Callable[[], V]) -> V:
        if self._generation is None:
            return derive()
        generation = self._generation(*self._tables)  # before the rows are read: see the module docstring
        entry = self._values.get(key)
        if entry is not None and entry[0] == generation:
            return entry[1]
        value = derive()
        if len(self._values) >= LIMIT:
            self._values.clear()
        self._values[key] = (generation, value)
        return value

    def clear(self) -> None:
        self._values.clear()
