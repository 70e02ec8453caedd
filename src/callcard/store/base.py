"""The store interface the domain talks to: a handful of table operations, nothing SQL-specific.

Rows are plain ``dict``s keyed by column name. Columns declared with type ``JSON`` in a migration are
encoded and decoded by the store, so the domain reads and writes lists and dicts directly.

Contract:

* Every write outside ``transaction()`` is committed — durably — before the call returns.
* ``transaction()`` groups writes; they commit together when the outermost block exits and roll back
  together when it raises. Nested blocks join the outer one.
* "Durably" means the write survives the process being killed (``kill -9``) the moment after the call
  returns. (SQLite: WAL journal, ``synchronous=NORMAL`` by default; ``durability="full"`` also survives
  power loss at a throughput cost.)
* ``where`` is a mapping of column -> value, all compared for equality (``None`` matches NULL).

A PostgreSQL store implements the same protocol; nothing above this module changes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Row", "Store", "Where"]

Row = dict[str, Any]
Where = Mapping[str, Any]


class Store(Protocol):
    def transaction(self) -> AbstractContextManager[None]:
        """Group writes into one atomic, durable commit."""
        ...

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        """Insert a row; return its integer primary key (or rowid)."""
        ...

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        """Insert, or replace the row with the same primary key."""
        ...

    def get(self, table: str, key: Any) -> Row | None:
        """The row whose primary key equals ``key``, or None."""
        ...

    def find(
        self,
        table: str,
        where: Where | None = None,
        *,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Rows matching ``where`` (all of them when None), ordered by ``order_by`` (a column name,
        optionally prefixed with ``-`` for descending; default: the primary key)."""
        ...

    def find_one(self, table: str, where: Where) -> Row | None:
        """The first matching row, or None."""
        ...

    def count(self, table: str, where: Where | None = None) -> int:
        ...

    def update(self, table: str, where: Where, changes: Mapping[str, Any]) -> int:
        """Set ``changes`` on matching rows; return how many matched."""
        ...

    def delete(self, table: str, where: Where) -> int:
        """Delete matching rows; return how many."""
        ...

    def iter_tables(self) -> Iterator[str]:
        """The domain tables (for snapshots and state dumps)."""
        ...

    def close(self) -> None:
        ...
