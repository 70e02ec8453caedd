"""Versioned schema migrations: ``NNNN_name.sql`` files in this folder, applied in order, once each.

The applied versions are recorded in ``schema_migrations``; a data directory made by an older callcard
is brought forward at start-up. Never edit a migration that has shipped: add the next one.
"""

from __future__ import annotations

import sqlite3
from importlib import resources

__all__ = ["apply_migrations", "migration_files"]


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration shipped with callcard, in order."""
    out = []
    for entry in resources.files(__package__).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            out.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    return sorted(out)


def apply_migrations(conn: sqlite3.Connection) -> list[int]:
    """Apply the migrations this database has not seen; return the versions applied now."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT)")
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        applied.append(version)
    return applied


def _statements(sql: str) -> list[str]:
    """Split a migration into statements; SQLite itself decides where one ends (comments may hold ';')."""
    statements, buffer = [], ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError(f"incomplete statement at the end of a migration: {buffer.strip()[:80]}")
    return statements
