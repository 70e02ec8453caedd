"""SQLite implementation of the store: one file, WAL journal, versioned migrations.

Why these pragmas:

* ``journal_mode=WAL`` lets readers proceed during a write and makes each commit an append, which is what
  keeps a durable ``register``+``finish`` pair cheap.
* ``synchronous=NORMAL`` (default) in WAL mode means a committed transaction is in the OS before
  ``commit()`` returns: it survives ``kill -9`` of callcard. ``durability="full"`` (``synchronous=FULL``)
  also fsyncs every commit, surviving power loss.
* ``busy_timeout`` covers a second process (the CLI, a test) touching the same file.

One connection is shared by every thread behind a re-entrant lock: the server is a single asyncio loop,
and the pytest plugin runs it in a thread beside the test.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import Row, Where
from .migrations import apply_migrations

__all__ = ["SQLiteStore"]

_IDENT_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")


def _ident(name: str) -> str:
    # Table and column names come from our own code, never from clients; still, refuse anything odd
    # rather than interpolate it into SQL.
    if not name or set(name.lower()) - _IDENT_OK:
        raise ValueError(f"bad identifier {name!r}")
    return f'"{name}"'


class SQLiteStore:
    """The store on one SQLite file (``path``), or in memory when ``path`` is ``":memory:"``."""

    def __init__(self, path: str | Path, *, durability: str = "normal") -> None:
        if durability not in ("normal", "full"):
            raise ValueError("durability must be 'normal' or 'full'")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA busy_timeout=5000")
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(f"PRAGMA synchronous={durability.upper()}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            apply_migrations(self._conn)
        self._schema = self._read_schema()

    # -- schema knowledge -------------------------------------------------------------------------

    def _read_schema(self) -> dict[str, tuple[str, set[str]]]:
        """table -> (primary key column, JSON columns)."""
        schema: dict[str, tuple[str, set[str]]] = {}
        tables = self._conn.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'schema_migrations'"
        ).fetchall()
        for (name,) in tables:
            pk = "rowid"
            json_cols: set[str] = set()
            for col in self._conn.execute(f"PRAGMA table_info({_ident(name)})"):
                if col["pk"] == 1:
                    pk = col["name"]
                if str(col["type"]).upper() == "JSON":
                    json_cols.add(col["name"])
            schema[name] = (pk, json_cols)
        return schema

    def _table(self, table: str) -> tuple[str, set[str]]:
        try:
            return self._schema[table]
        except KeyError:
            raise ValueError(f"unknown table {table!r}") from None

    def _encode(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        _, json_cols = self._table(table)
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key in json_cols and value is not None:
                value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            elif isinstance(value, bool):
                value = int(value)
            out[key] = value
        return out

    def _decode(self, table: str, row: sqlite3.Row) -> Row:
        _, json_cols = self._table(table)
        out = dict(row)
        for key in json_cols & out.keys():
            # A column declared JSON has NUMERIC affinity in SQLite: a bare number comes back as a number.
            if isinstance(out[key], str | bytes):
                out[key] = json.loads(out[key])
        return out

    @staticmethod
    def _where(where: Where | None) -> tuple[str, list[Any]]:
        if not where:
            return "", []
        parts, args = [], []
        for key, value in where.items():
            if value is None:
                parts.append(f"{_ident(key)} IS NULL")
            else:
                parts.append(f"{_ident(key)} = ?")
                args.append(int(value) if isinstance(value, bool) else value)
        return " WHERE " + " AND ".join(parts), args

    # -- transactions ---------------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            else:
                self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")

    def _exec(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> sqlite3.Cursor:
        # Outside a transaction() the connection is in autocommit mode: each statement is its own
        # durable commit.
        with self._lock:
            return self._conn.execute(sql, args)

    # -- operations -----------------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        data = self._encode(table, row)
        cols = ", ".join(_ident(k) for k in data)
        marks = ", ".join("?" for _ in data)
        sql = f"INSERT INTO {_ident(table)} ({cols}) VALUES ({marks})" if data else (
            f"INSERT INTO {_ident(table)} DEFAULT VALUES"
        )
        cur = self._exec(sql, list(data.values()))
        return int(cur.lastrowid or 0)

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        data = self._encode(table, row)
        cols = ", ".join(_ident(k) for k in data)
        marks = ", ".join("?" for _ in data)
        self._exec(f"INSERT OR REPLACE INTO {_ident(table)} ({cols}) VALUES ({marks})", list(data.values()))

    def get(self, table: str, key: Any) -> Row | None:
        pk, _ = self._table(table)
        return self.find_one(table, {pk: key})

    def find(
        self,
        table: str,
        where: Where | None = None,
        *,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        pk, _ = self._table(table)
        clause, args = self._where(where)
        order = order_by or pk
        direction = "DESC" if order.startswith("-") else "ASC"
        sql = f"SELECT * FROM {_ident(table)}{clause} ORDER BY {_ident(order.lstrip('-'))} {direction}"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            args += [-1 if limit is None else int(limit), int(offset)]
        with self._lock:
            rows = self._conn.execute(sql, args).fetchall()
        return [self._decode(table, r) for r in rows]

    def find_one(self, table: str, where: Where) -> Row | None:
        rows = self.find(table, where, limit=1)
        return rows[0] if rows else None

    def count(self, table: str, where: Where | None = None) -> int:
        self._table(table)
        clause, args = self._where(where)
        with self._lock:
            return int(self._conn.execute(f"SELECT COUNT(*) FROM {_ident(table)}{clause}", args).fetchone()[0])

    def update(self, table: str, where: Where, changes: Mapping[str, Any]) -> int:
        if not changes:
            return self.count(table, where)
        data = self._encode(table, changes)
        sets = ", ".join(f"{_ident(k)} = ?" for k in data)
        clause, args = self._where(where)
        cur = self._exec(f"UPDATE {_ident(table)} SET {sets}{clause}", list(data.values()) + args)
        return int(cur.rowcount)

    def delete(self, table: str, where: Where) -> int:
        self._table(table)
        clause, args = self._where(where)
        cur = self._exec(f"DELETE FROM {_ident(table)}{clause}", args)
        return int(cur.rowcount)

    def iter_tables(self) -> Iterator[str]:
        return iter(sorted(self._schema))

    def execute(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[Row]:
        """Escape hatch for queries the protocol does not cover (e.g. LIKE on phones). Keep it rare:
        anything called here must be re-implemented by another store."""
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, args).fetchall()]

    def export_to(self, path: str | Path) -> Path:
        """Write a consistent copy of the whole database to ``path``, atomically.

        The copy is made beside the target and renamed over it only once complete, so a failed export
        never leaves a half-written file nor removes the previous snapshot.
        """
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        try:
            dest = sqlite3.connect(str(tmp))
            try:
                with self._lock:
                    self._conn.backup(dest)
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def import_from(self, path: str | Path) -> None:
        """Replace the whole database with the snapshot at ``path`` (made by ``export_to``).

        The snapshot is checked before anything is replaced; an unreadable file changes nothing.
        """
        source = Path(path)
        if not source.is_file():
            raise FileNotFoundError(str(source))
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            src.execute("SELECT COUNT(*) FROM schema_migrations").fetchone()
            with self._lock:
                src.backup(self._conn)
                apply_migrations(self._conn)  # an older snapshot is brought forward
        except sqlite3.DatabaseError as exc:
            raise ValueError(f"{source} is not a callcard snapshot: {exc}") from exc
        finally:
            src.close()
        self._schema = self._read_schema()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
