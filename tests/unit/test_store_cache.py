"""The SQLite store's read cache is exact: every read sees every committed write, its own or another
connection's, and hands out fresh dicts."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from callcard.store import SQLiteStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(path)
    s.insert("users", {"id": 1, "name": "Ann", "departments": [1]})
    yield s
    s.close()


def test_reads_see_every_kind_of_write(store: SQLiteStore) -> None:
    assert store.get("users", 1)["name"] == "Ann"  # now cached
    store.update("users", {"id": 1}, {"name": "Bea"})
    assert store.get("users", 1)["name"] == "Bea"
    assert [r["id"] for r in store.find("users")] == [1]
    store.insert("users", {"id": 2, "name": "Cy"})
    assert [r["id"] for r in store.find("users")] == [1, 2]
    store.upsert("users", {"id": 2, "name": "Dee"})
    assert store.find_one("users", {"id": 2})["name"] == "Dee"
    store.delete("users", {"id": 2})
    assert store.get("users", 2) is None
    assert [r["id"] for r in store.find("users")] == [1]


def test_each_read_gets_fresh_dicts(store: SQLiteStore) -> None:
    first = store.get("users", 1)
    first["name"] = "scribbled"
    first["departments"].append(99)
    again = store.get("users", 1)
    assert again["name"] == "Ann" and again["departments"] == [1]


def test_a_rolled_back_write_is_not_served_from_the_cache(store: SQLiteStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.update("users", {"id": 1}, {"name": "Undone"})
        assert store.get("users", 1)["name"] == "Undone"  # cached inside the transaction
        raise RuntimeError("roll back")
    assert store.get("users", 1)["name"] == "Ann"


def test_another_connections_commit_is_seen_without_a_loop(store: SQLiteStore, path: Path) -> None:
    assert store.get("users", 1)["name"] == "Ann"
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE users SET name = 'Eve' WHERE id = 1")
    other.close()
    assert store.get("users", 1)["name"] == "Eve"


def test_another_store_on_the_same_file(store: SQLiteStore, path: Path) -> None:
    second = SQLiteStore(path)
    try:
        assert second.get("users", 1)["name"] == "Ann"
        store.update("users", {"id": 1}, {"name": "Fay"})
        assert second.get("users", 1)["name"] == "Fay"
        second.insert("users", {"id": 3, "name": "Gus"})
        assert [r["id"] for r in store.find("users")] == [1, 3]
    finally:
        second.close()


def test_inside_a_loop_a_foreign_commit_shows_from_the_next_turn(store: SQLiteStore, path: Path) -> None:
    async def scenario() -> list[str]:
        seen = [store.get("users", 1)["name"]]
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("UPDATE users SET name = 'Hal' WHERE id = 1")
        other.close()
        await asyncio.sleep(0)  # any I/O that could tell us about the commit comes at a loop turn
        seen.append(store.get("users", 1)["name"])
        return seen

    assert asyncio.run(scenario()) == ["Ann", "Hal"]


def test_execute_and_snapshot_import_drop_the_cache(store: SQLiteStore, tmp_path: Path) -> None:
    snapshot = store.export_to(tmp_path / "snap.sqlite3")
    assert store.get("users", 1)["name"] == "Ann"
    store.execute("UPDATE users SET name = 'Ivy' WHERE id = 1")
    assert store.get("users", 1)["name"] == "Ivy"
    store.import_from(snapshot)
    assert store.get("users", 1)["name"] == "Ann"


def test_unhashable_where_values_still_query(store: SQLiteStore) -> None:
    with pytest.raises(sqlite3.ProgrammingError):
        store.find("users", {"name": ["not", "a", "scalar"]})
