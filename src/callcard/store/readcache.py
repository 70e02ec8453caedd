"""The SQLite store's read cache, and the table generations that caches built above the store key on.

Cached ``find`` results are kept per table as raw value tuples (``RawResult``) and decoded into fresh
dicts on every read, so callers may still mutate what they get. The cache is exact, never time-based:

* a write through the store drops the written table's entries and bumps its generation (a write to one
  row of a table keyed as schema.py describes keeps the reads of its other rows);
* a rollback, ``execute()`` or a snapshot import drops everything and bumps the epoch;
* a commit by another connection or process shows in ``PRAGMA data_version``, checked before a cache hit
  and in ``generation()``: once per turn of the asyncio loop when the store is used from one, else every
  time. Skipping the check within one loop turn loses nothing: code that runs without yielding has
  received no I/O, so nothing it does can depend on a commit made elsewhere meanwhile.

``generation(tables)`` lets a cache of *derived* values (the directory's resolved tokens, decoded apps)
stay as exact as this one: a value computed after reading the generation is current for as long as the
generation is unchanged. Every method but ``generation`` must be called with the store's lock held.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any

from .. import jsoncodec
from .base import Row

__all__ = ["NO_KEY", "CacheKey", "Layout", "RawResult", "ReadCache"]

CacheKey = tuple[Any, ...]
#: "this read does not name one row by its primary key"
NO_KEY: Any = object()
#: cached ``find`` results per table before that table's cache is emptied (bounds memory)
CACHE_LIMIT = 4096


class Layout:
    """The columns of one SELECT's rows: their names, and the positions of those holding JSON."""

    __slots__ = ("names", "json_at")

    def __init__(self, names: tuple[str, ...], json_cols: AbstractSet[str]) -> None:
        self.names = names
        self.json_at = tuple(i for i, name in enumerate(names) if name in json_cols)


class RawResult:
    """The raw answer of one SELECT: its layout and its value tuples."""

    __slots__ = ("names", "rows", "json_at")

    def __init__(self, layout: Layout, rows: list[tuple[Any, ...]]) -> None:
        self.names = layout.names
        self.rows = rows
        self.json_at = layout.json_at

    def decode(self) -> list[Row]:
        """Fresh dicts (the caller may mutate them); JSON columns parsed anew each time."""
        names, json_at = self.names, self.json_at
        if not json_at:
            return [dict(zip(names, values)) for values in self.rows]  # noqa: B905 - as below
        out = []
        for values in self.rows:
            row = dict(zip(names, values))  # noqa: B905 - every row has len(names) values, by SQLite
            for i in json_at:
                # A column declared JSON has NUMERIC affinity in SQLite: a bare number comes back as one.
                value = values[i]
                if isinstance(value, str | bytes):
                    row[names[i]] = jsoncodec.loads(value)
            out.append(row)
        return out


class ReadCache:
    """Cached raw results per table, kept exact as the module docstring says.

    Reads that name one row by its primary key (``get``, and any ``find`` whose ``where`` is exactly
    ``{pk: value}`` with a value of the key's own type: schema.py) are filed under that value; every
    other read is filed per table. A write known to touch only the row with key ``k`` (``forget_row``)
    drops the table's other reads and the reads of ``k``, but keeps the reads of other keys.
    """

    def __init__(self, data_version: Callable[[], int], lock: threading.RLock) -> None:
        self._read_version = data_version
        self._lock = lock
        self._entries: dict[str, dict[CacheKey, RawResult]] = {}
        self._by_key: dict[str, dict[Any, dict[CacheKey, RawResult]]] = {}
        self._version = data_version()
        #: the asyncio loop whose current turn has already checked data_version, if any, and its thread
        self._checked_in: asyncio.AbstractEventLoop | None = None
        self._checked_thread = 0
        self._epoch = 0
        self._generations: dict[str, int] = {}

    def lookup(self, table: str, key: CacheKey, row_key: Any = NO_KEY) -> RawResult | None:
        """The cached result of ``table`` for ``key``, unless another connection committed meanwhile.
        ``row_key``: the primary-key value the read names, when it names exactly one row."""
        if row_key is NO_KEY:
            entries = self._entries.get(table)
        else:
            entries = self._by_key.get(table, {}).get(row_key)
        if not entries or key not in entries:
            return None
        if not self._fresh():
            return None
        return entries[key]

    def remember(self, table: str, key: CacheKey, result: RawResult, row_key: Any = NO_KEY) -> None:
        if row_key is NO_KEY:
            entries = self._entries.setdefault(table, {})
            if len(entries) >= CACHE_LIMIT:
                entries.clear()
        else:
            rows = self._by_key.setdefault(table, {})
            if len(rows) >= CACHE_LIMIT:
                rows.clear()
            entries = rows.setdefault(row_key, {})
        entries[key] = result

    def forget(self, table: str | None = None) -> None:
        """Drop cached reads of ``table`` (a write to it), or of every table."""
        if table is None:
            self._entries.clear()
            self._by_key.clear()
            self._epoch += 1
        else:
            self._entries.pop(table, None)
            self._by_key.pop(table, None)
            self._generations[table] = self._generations.get(table, 0) + 1

    def forget_row(self, table: str, row_key: Any) -> None:
        """A write that changed at most the row whose primary key is ``row_key`` (of the key's type)."""
        self._entries.pop(table, None)
        rows = self._by_key.get(table)
        if rows:
            rows.pop(row_key, None)
        self._generations[table] = self._generations.get(table, 0) + 1

    def generation(self, tables: Iterable[str]) -> tuple[int, ...]:
        """A value that changes whenever any of ``tables`` may have changed, here or elsewhere.
        The only method callable without the lock: it takes it when it must ask SQLite."""
        if not self._checked_this_turn():
            with self._lock:
                self._fresh()
        # Reading two ints under the GIL needs no lock: a write racing with this read bumps them
        # either before (seen) or after (seen by the next call), and callers read rows only after.
        generations = self._generations
        return (self._epoch, *[generations.get(t, 0) for t in tables])

    def _checked_this_turn(self) -> bool:
        """Whether this code runs in the loop turn that already checked ``data_version``.

        The same as ``self._checked_in is asyncio.get_running_loop()``, which is what it means, but
        without that call: it asks the OS for the process id every time (CPython's fork check), a
        system call, and this runs several times per REST call. A loop that is running, and was running
        on this very thread when it checked, is the loop running this code."""
        loop = self._checked_in
        return loop is not None and self._checked_thread == threading.get_ident() and loop.is_running()

    def _fresh(self) -> bool:
        """Check ``data_version`` (once per loop turn); False when it moved and everything was dropped."""
        if self._checked_this_turn():
            return True
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None  # no loop: check every time
        version = self._read_version()
        if version != self._version:
            self._version = version
            self.forget()
            return False
        if loop is not None:
            self._checked_in = loop
            self._checked_thread = threading.get_ident()
            loop.call_soon(self._end_of_turn, loop)
        return True

    def _end_of_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._checked_in is loop:
                self._checked_in = None
