"""What the SQLite store knows about each table, read from the database itself once the migrations ran.

Besides the primary key and the JSON columns (which the store encodes and decodes), it works out what
the read cache may do row by row (readcache.py): a table whose primary key is one plain ``TEXT`` or
``INTEGER`` column, compared with the default collation, identifies a row by a Python value exactly as
SQLite does, as long as the value has that column's own type (``"5"`` for a TEXT key, ``5`` for an
INTEGER one). For such tables a write aimed at one key leaves the cached reads of other keys alone.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

__all__ = ["TableInfo", "read_schema"]


@dataclass(frozen=True)
class TableInfo:
    """One table: its primary key column, its JSON columns and what the cache may do with its rows."""

    pk: str
    json_cols: frozenset[str]
    #: the Python type a primary-key value must have to name one row exactly (None: no row-wise caching)
    key_type: type | None = None
    #: False for a WITHOUT ROWID table, whose inserts have no rowid to return
    has_rowid: bool = True


def read_schema(conn: sqlite3.Connection) -> dict[str, TableInfo]:
    """table -> TableInfo for every callcard table (not SQLite's own, not ``schema_migrations``)."""
    schema: dict[str, TableInfo] = {}
    tables = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'schema_migrations'"
    ).fetchall()
    for name, sql in tables:
        pk, pk_type, pk_columns = "rowid", "INTEGER", 0
        json_cols: set[str] = set()
        quoted = '"' + name.replace('"', '""') + '"'
        for _, column, declared, _notnull, _default, pk_index in conn.execute(f"PRAGMA table_info({quoted})"):
            if pk_index:
                pk_columns += 1
            if pk_index == 1:
                pk, pk_type = column, str(declared).upper()
            if str(declared).upper() == "JSON":
                json_cols.add(column)
        text = str(sql or "").upper()
        has_rowid = "WITHOUT ROWID" not in text
        plain = pk_columns <= 1 and "COLLATE" not in text and (has_rowid or pk != "rowid")
        key_type: type | None = None
        if plain and pk_type == "TEXT":
            key_type = str
        elif plain and pk_type == "INTEGER":
            key_type = int
        schema[name] = TableInfo(pk, frozenset(json_cols), key_type, has_rowid)
    return schema
