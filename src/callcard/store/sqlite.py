"""SQLite implementation of the store: one file, WAL journal, versioned migrations.

Why these pragmas:

* ``journal_mode=WAL`` lets readers proceed during a write and makes each commit an append, which is what
  keeps a durable ``register``+``finish`` pair cheap.
* ``synchronous=NORMAL`` (default) in WAL mode means a committed transaction is in the OS before
  ``commit()`` returns: it survives ``kill -9`` of callcard. ``durability="full"`` (``synchronous=FULL``)
  also fsyncs every commit, surviving power loss.
* ``busy_timeout`` covers a second process (the CLI, a test) touching the same file.
* ``wal_autocheckpoint`` is raised so that checkpoints (and their fsyncs) come ten times less often; see
  ``WAL_AUTOCHECKPOINT_PAGES``.

One connection is shared by every thread behind a re-entrant lock: the server is a single asyncio loop,
and the pytest plugin runs it in a thread beside the test.

``find`` (and so ``get``/``find_one``) results are cached: the REST hot path reads the same token, app and
user rows on every call, and building the SQL and decoding the rows costs more than SQLite itself. The
cache is exact, never time-based; ``store/readcache.py`` says how. ``generation(*tables)`` exposes its
per-table write counters, so caches of values derived from rows (the directory's) can be exact too.
The SQL text of each statement shape is built once and remembered.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from .. import jsoncodec
from .base import Row, Where
from .migrations import apply_migrations
from .readcache import NO_KEY, CacheKey, Layout, RawResult, ReadCache
from .schema import TableInfo, read_schema

__all__ = ["SQLiteStore"]

_IDENT_OK = set("abcdefghijklmnopqrstuvwxyz0123456789_")
#: names already checked and quoted (the same few dozen, on every call)
_QUOTED: dict[str, str] = {}
#: WAL pages before a commit also checkpoints (SQLite's default is 1,000). A checkpoint fsyncs the WAL and
#: the database, and it runs inside the commit that crossed the mark, so the event loop waits for those
#: fsyncs: at 1,000 pages a busy server stalled for about a tenth of its time. 10,000 pages (a WAL of
#: at most ~40 MB) makes that ~1 %. Durability is untouched: a commit is in the WAL, in the OS, before
#: it returns, whenever the checkpoint comes.
WAL_AUTOCHECKPOINT_PAGES = 10_000
#: JSON columns mean exactly what ``json.dumps(value, separators=(",", ":"), ensure_ascii=False)`` wrote
_encode_json = jsoncodec.dumps_text


class _Transaction:
    """``SQLiteStore.transaction()``: BEGIN IMMEDIATE on the outermost entry, COMMIT on its clean exit,
    ROLLBACK (and a dropped read cache: reads cached inside may show undone writes) when it raises;
    nested blocks join the outer one. The store's lock is held throughout. (A class, not a generator
    context manager: it runs twice per REST write and the generator costs more than the rest of it.)"""

    __slots__ = ("_store", "_outer")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        try:
            self._outer = store._depth == 0
            if self._outer:
                store._conn.execute("BEGIN IMMEDIATE")
            store._depth += 1
        except BaseException:
            store._lock.release()
            raise

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        store = self._store
        try:
            store._depth -= 1
            if self._outer:
                if exc_type is None:
                    store._conn.execute("COMMIT")
                else:
                    store._conn.execute("ROLLBACK")
                    store._forget()
        finally:
            store._lock.release()


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
            self._conn.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        self._conn.execute(f"PRAGMA synchronous={durability.upper()}")
        self._conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            apply_migrations(self._conn)
        self._schema = self._read_schema()
        #: table -> {(where items, order_by, limit, offset): raw result}; see store/readcache.py
        self._cache = ReadCache(self._read_data_version, self._lock)
        #: statement shape -> SQL text (the same few dozen shapes, on every call)
        self._sql: dict[tuple[Any, ...], str] = {}
        #: SELECT text -> the layout of its rows (until the schema changes: import_from)
        self._layouts: dict[str, Layout] = {}

    # -- schema knowledge -------------------------------------------------------------------------

    def _read_schema(self) -> dict[str, TableInfo]:
        return read_schema(self._conn)

    def _info(self, table: str) -> TableInfo:
        try:
            return self._schema[table]
        except KeyError:
            raise ValueError(f"unknown table {table!r}") from None

    def _table(self, table: str) -> tuple[str, frozenset[str]]:
        """(primary key column, JSON columns) of ``table``; ValueError for an unknown one."""
        info = self._info(table)
        return info.pk, info.json_cols

    def _row_key(self, info: TableInfo, where: Where | None) -> Any:
        """The primary-key value ``where`` names one row by, when the cache may file it so (schema.py)."""
        if info.key_type is None or not where or len(where) != 1:
            return NO_KEY
        value = where.get(info.pk, NO_KEY)
        return value if type(value) is info.key_type else NO_KEY

    def _encode(self, table: str, row: Mapping[str, Any]) -> dict[str, Any]:
        _, json_cols = self._table(table)
        out: dict[str, Any] = {}
        for key, value in row.items():
            if key in json_cols and value is not None:
                value = _encode_json(value)
            elif isinstance(value, bool):
                value = int(value)
            out[key] = value
        return out

    def _where(self, where: Where | None) -> tuple[str, list[Any]]:
        if not where:
            return "", []
        columns = tuple([(key, value is None) for key, value in where.items()])
        shape = ("where", columns)
        clause = self._sql.get(shape)
        if clause is None:
            parts = [f"{_ident(key)} IS NULL" if null else f"{_ident(key)} = ?" for key, null in columns]
            clause = self._sql[shape] = " WHERE " + " AND ".join(parts)
        args = [int(value) if isinstance(value, bool) else value for value in where.values() if value is not None]
        return clause, args

    def _statement(self, verb: str, table: str, columns: tuple[str, ...]) -> str:
        """``INSERT`` / ``INSERT OR REPLACE`` / ``UPDATE ... SET`` text for these columns, built once."""
        shape = (verb, table, columns)
        sql = self._sql.get(shape)
        if sql is None:
            if verb == "UPDATE":
                sets = ", ".join(f"{_ident(k)} = ?" for k in columns)
                sql = f"UPDATE {_ident(table)} SET {sets}"
            elif columns:
                cols = ", ".join(_ident(k) for k in columns)
                marks = ", ".join("?" for _ in columns)
                sql = f"{verb} INTO {_ident(table)} ({cols}) VALUES ({marks})"
            else:
                sql = f"{verb} INTO {_ident(table)} DEFAULT VALUES"
            self._sql[shape] = sql
        return sql

    # -- read cache -------------------------------------------------------------------------------------

    def _read_data_version(self) -> int:
        return int(self._conn.execute("PRAGMA data_version").fetchone()[0])

    def _forget(self, table: str | None = None) -> None:
        """Drop cached reads of ``table``, or of every table. Call with the lock held."""
        self._cache.forget(table)

    def generation(self, *tables: str) -> tuple[int, ...]:
        """A value that changes whenever any of ``tables`` may have changed: a write through this store,
        a rollback, or a commit by another connection. A value derived from those tables' rows after
        reading it is current for as long as ``generation(*tables)`` returns the same value."""
        return self._cache.generation(tables)  # takes the lock itself, only when it must

    # -- transactions ---------------------------------------------------------------------------------

    def transaction(self) -> _Transaction:
        return _Transaction(self)

    def _write(
        self, table: str, sql: str, args: list[Any] | tuple[Any, ...] = (), row_key: Any = NO_KEY
    ) -> sqlite3.Cursor:
        # Outside a transaction() the connection is in autocommit mode: each statement is its own
        # durable commit. The migrations declare no foreign keys or triggers, so a write changes only
        # ``table`` (and, given ``row_key``, only that row of it).
        with self._lock:
            try:
                return self._conn.execute(sql, args)
            finally:
                if row_key is NO_KEY:
                    self._forget(table)
                else:
                    self._cache.forget_row(table, row_key)

    # -- operations -----------------------------------------------------------------------------------

    def insert(self, table: str, row: Mapping[str, Any]) -> int:
        info = self._info(table)
        data = self._encode(table, row)
        sql = self._statement("INSERT", table, tuple(data))
        with self._lock:
            try:
                cur = self._conn.execute(sql, list(data.values()))
            except BaseException:
                self._forget(table)
                raise
            rowid = int(cur.lastrowid or 0) if info.has_rowid else 0  # lastrowid is stale without one
            # A plain INSERT adds one row and changes no other: the cached reads of other keys stay.
            row_key = data.get(info.pk, rowid) if info.pk in data or info.key_type is int else NO_KEY
            if info.key_type is not None and type(row_key) is info.key_type:
                self._cache.forget_row(table, row_key)
            else:
                self._forget(table)
            return rowid

    def upsert(self, table: str, row: Mapping[str, Any]) -> None:
        # INSERT OR REPLACE may delete other rows that clash on a UNIQUE column: forget the whole table.
        data = self._encode(table, row)
        self._write(table, self._statement("INSERT OR REPLACE", table, tuple(data)), list(data.values()))

    def get(self, table: str, key: Any) -> Row | None:
        rows = self.find(table, {self._info(table).pk: key}, limit=1)
        return rows[0] if rows else None

    def find(
        self,
        table: str,
        where: Where | None = None,
        *,
        order_by: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Row]:
        info = self._info(table)
        key: CacheKey | None = (tuple(where.items()) if where else (), order_by, limit, offset)
        try:
            hash(key)
        except TypeError:  # an unhashable where value: SQLite will say what it thinks of it
            key = None
        row_key = self._row_key(info, where) if key is not None else NO_KEY
        with self._lock:
            result = self._cache.lookup(table, key, row_key) if key is not None else None
            if result is None:
                clause, args = self._where(where)
                paged = limit is not None or bool(offset)
                shape = ("select", table, clause, order_by, paged)
                sql = self._sql.get(shape)
                if sql is None:
                    order = order_by or info.pk
                    direction = "DESC" if order.startswith("-") else "ASC"
                    column = _ident(order.lstrip("-"))
                    sql = f"SELECT * FROM {_ident(table)}{clause} ORDER BY {column} {direction}"
                    if paged:
                        sql += " LIMIT ? OFFSET ?"
                    self._sql[shape] = sql
                if paged:
                    args += [-1 if limit is None else int(limit), int(offset)]
                cur = self._conn.cursor()
                cur.row_factory = None  # plain tuples: zipping them with the names is cheaper than Row
                rows = cur.execute(sql, args).fetchall()
                layout = self._layouts.get(sql)
                if layout is None:
                    layout = self._layouts[sql] = Layout(tuple(d[0] for d in cur.description), info.json_cols)
                result = RawResult(layout, rows)
                if key is not None:
                    self._cache.remember(table, key, result, row_key)
        return result.decode()

    def find_one(self, table: str, where: Where) -> Row | None:
        rows = self.find(table, where, limit=1)
        return rows[0] if rows else None

    def count(self, table: str, where: Where | None = None) -> int:
        self._info(table)
        clause, args = self._where(where)
        shape = ("count", table, clause)
        sql = self._sql.get(shape)
        if sql is None:
            sql = self._sql[shape] = f"SELECT COUNT(*) FROM {_ident(table)}{clause}"
        with self._lock:
            return int(self._conn.execute(sql, args).fetchone()[0])

    def update(self, table: str, where: Where, changes: Mapping[str, Any]) -> int:
        if not changes:
            return self.count(table, where)
        info = self._info(table)
        data = self._encode(table, changes)
        clause, args = self._where(where)
        sql = self._statement("UPDATE", table, tuple(data)) + clause
        row_key = self._row_key(info, where) if info.pk not in data else NO_KEY
        cur = self._write(table, sql, list(data.values()) + args, row_key)
        return int(cur.rowcount)

    def delete(self, table: str, where: Where) -> int:
        info = self._info(table)
        clause, args = self._where(where)
        cur = self._write(table, f"DELETE FROM {_ident(table)}{clause}", args, self._row_key(info, where))
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
                self._layouts.clear()  # or even altered a table

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
        self._layouts.clear()

    def close(self) -> None:
        with self._lock:
            self._conn.close()
