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

``find`` (and so ``get``/``find_one``) results are cached: the REST hot path reads the same token, app and
user rows on every call, and building the SQL and decoding the rows costs more than SQLite itself. The
cache is exact, never time-based. It keeps the raw ``sqlite3.Row`` results, so each read still decodes
fresh dicts the caller may mutate. A write through this store drops the written table's entries; a
rollback, ``execute()`` or a snapshot import drops them all. Commits by *other* connections (a second
process) show in ``PRAGMA data_version``, checked before a cache hit — once per turn of the asyncio
loop when the store is used from one, else before every hit. Skipping the check within one loop turn
loses nothing: code that runs without yielding has received no I/O, so nothing it does can depend on
a commit made elsewhere meanwhile; the next turn sees it.
"""

from __future__ import annotations

import asyncio
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
#: names already checked and quoted (the same few dozen, on every call)
_QUOTED: dict[str, str] = {}
#: cached ``find`` results per table before that table's cache is emptied (bounds memory)
_CACHE_LIMIT = 4096

_CacheKey = tuple[Any, ...]


class _Result:
    """The raw answer of one SELECT: column names, value tuples, and which columns hold JSON."""

    __slots__ = ("names", "rows", "json_at")

    def __init__(self, names: tuple[str, ...], rows: list[tuple[Any, ...]], json_cols: set[str]) -> None:
        self.names = names
        self.rows = rows
        self.json_at = tuple(i for i, name in enumerate(names) if name in json_cols)

    def decode(self) -> list[Row]:
        """Fresh dicts (the caller may mutate them); JSON columns parsed anew each time."""
        names, json_at = self.names, self.json_at
        out = []
        for values in self.rows:
            row = dict(zip(names, values, strict=True))
            for i in json_at:
                # A column declared JSON has NUMERIC affinity in SQLite: a bare number comes back as one.
                value = values[i]
                if isinstance(value, str | bytes):
                    row[names[i]] = json.loads(value)
            out.append(row)
        return out


def _ident(name: str) -> str:
    # Table and column names come from our own code, never from clients; still, refuse anything odd
    # rather than interpolate it into SQL.
    quoted = _QUOTED.get(name)
    if quoted is None:
        if not name or set(name.lower()) - _IDENT_OK:
            raise ValueError(f"bad identifier {name!r}")
        quoted = _QUOTED[name] = f'"{name}"'
    return quoted


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
        #: table -> {(where items, order_by, limit, offset): raw result}; see the module docstring
        self._cache: dict[str, dict[_CacheKey, _Result]] = {}
        self._data_version = self._read_data_version()
        #: the asyncio loop whose current turn has already checked data_version, if any
        self._checked_in: asyncio.AbstractEventLoop | None = None

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

    # -- read cache -------------------------------------------------------------------------------------

    def _read_data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _cached(self, table: str, key: _CacheKey) -> _Result | None:
        """Cached rows of ``table`` for ``key``, unless another connection has committed meanwhile.
        Call with the lock held."""
        entries = self._cache.get(table)
        if not entries or key not in entries:
            return None
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None  # no loop: check before every hit
        if loop is None or self._checked_in is not loop:
            version = self._read_data_version()
            if version != self._data_version:
                self._data_version = version
                self._cache.clear()
                return None
            if loop is not None:
                self._checked_in = loop
                loop.call_soon(self._end_of_turn, loop)
        return entries[key]

    def _end_of_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._checked_in is loop:
                self._checked_in = None

    def _remember(self, table: str, key: _CacheKey, result: _Result) -> None:
        entries = self._cache.setdefault(table, {})
        if len(entries) >= _CACHE_LIMIT:
            entries.clear()
        entries[key] = result

    def _forget(self, table: str | None = None) -> None:
        """Drop cached reads of ``table``, or of every table. Call with the lock held."""
        if table is None:
            self._cache.clear()
        else:
            self._cache.pop(table, None)

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
                    self._forget()  # reads cached inside the transaction may show undone writes
                raise
            else:
                self._depth -= 1
                if outer:
                    self._conn.execute("COMMIT")

    def _write(self, table: str, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> sqlite3.Cursor:
        # Outside a transaction() the connection is in autocommit mode: each statement is its own
        # durable commit. The migrations declare no foreign keys or triggers, so a write changes only
        # ``table``.
        with self._lock:
            try:
                return self._conn.execute(sql, args)
            finally:
                self._forget(table)

    # -- operations -----------------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        data = self._encode(table, row)
        cols = ", ".join(_ident(k) for k in data)
        marks = ", ".join("?" for _ in data)
        sql = f"INSERT INTO {_ident(table)} ({cols}) VALUES ({marks})" if data else (
            f"INSERT INTO {_ident(table)} DEFAULT VALUES"
        )
        cur = self._write(table, sql, list(data.values()))
        return int(cur.lastrowid or 0)

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        data = self._encode(table, row)
        cols = ", ".join(_ident(k) for k in data)
        marks = ", ".join("?" for _ in data)
        self._write(table, f"INSERT OR REPLACE INTO {_ident(table)} ({cols}) VALUES ({marks})",
                    list(data.values()))

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
        pk, json_cols = self._table(table)
        key: _CacheKey | None = (tuple(where.items()) if where else (), order_by, limit, offset)
        try:
            hash(key)
        except TypeError:  # an unhashable where value: SQLite will say what it thinks of it
            key = None
        with self._lock:
            result = self._cached(table, key) if key is not None else None
            if result is None:
                clause, args = self._where(where)
                order = order_by or pk
                direction = "DESC" if order.startswith("-") else "ASC"
                column = _ident(order.lstrip("-"))
                sql = f"SELECT * FROM {_ident(table)}{clause} ORDER BY {column} {direction}"
                if limit is not None or offset:
                    sql += " LIMIT ? OFFSET ?"
                    args += [-1 if limit is None else int(limit), int(offset)]
                cur = self._conn.cursor()
                cur.row_factory = None  # plain tuples: zipping them with the names is cheaper than Row
                rows = cur.execute(sql, args).fetchall()
                result = _Result(tuple(d[0] for d in cur.description), rows, json_cols)
                if key is not None:
                    self._remember(table, key, result)
        return result.decode()

    def find_one(self, table: str, where: Where) -> Row | None:
        rows = self.find(table, where, limit=1)
        return rows[0] if rows else None

    def count(self, table: str, where: Where | None = None) -> int:
        self._table(table)
        clause, args = self._where(where)
        with self._lock:
            cur = self._conn.execute(f"SELECT COUNT(*) FROM {_ident(table)}{clause}", args)
            return int(cur.fetchone()[0])

    def update(self, table: str, where: Where, changes: Mapping[str, Any]) -> int:
        if not changes:
            return self.count(table, where)
        data = self._encode(table, changes)
        sets = ", ".join(f"{_ident(k)} = ?" for k in data)
        clause, args = self._where(where)
        cur = self._write(table, f"UPDATE {_ident(table)} SET {sets}{clause}", list(data.values()) + args)
        return int(cur.rowcount)

    def delete(self, table: str, where: Where) -> int:
        self._table(table)
        clause, args = self._where(where)
        cur = self._write(table, f"DELETE FROM {_ident(table)}{clause}", args)
        return int(cur.rowcount)

    def iter_tables(self) -> Iterator[str]:
        return iter(sorted(self._schema))

    def execute(self, sql: str, args: list[Any] | tuple[Any, ...] = ()) -> list[Row]:
        """Escape hatch for queries the protocol does not cover (e.g. LIKE on phones). Keep it rare:
        anything called here must be re-implemented by another store."""
        with self._lock:
            try:
                return [dict(r) for r in self._conn.execute(sql, args).fetchall()]
            finally:
                self._forget()  # the escape hatch may have written anything

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
            with self._lock:
                self._forget()
        self._schema = self._read_schema()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
