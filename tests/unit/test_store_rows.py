"""The read cache files reads of one row by primary key separately (store/schema.py, store/readcache.py):
a write aimed at one row keeps the cached reads of the other rows, and everything a fresh SELECT would
show is still shown. Also the store's generations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callcard.store import SQLiteStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "db.sqlite3"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    s = SQLiteStore(path)
    yield s
    s.close()


def call(call_id: str, **extra: Any) -> dict[str, Any]:
    row = {"call_id": call_id, "user_id": 1, "phone_number": "+4930", "type": 2, "call_start_date": "x",
           "dedup_key": f"k-{call_id}", "created_at": 1.5, "crm_bindings": [{"ENTITY_TYPE": "LEAD"}]}
    row.update(extra)
    return row


def fresh(path: Path, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """What another connection reads: the ground truth."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_an_inserted_row_reads_back_exactly_as_a_select_gives_it(store: SQLiteStore, path: Path) -> None:
    # call_start_ts is REAL: an integer written there reads back as a float; defaults fill the rest.
    store.insert("calls", call("a", call_start_ts=7, crm_enabled=True))
    seeded = store.get("calls", "a")
    store.execute("SELECT 1")  # drops every cached read
    selected = store.get("calls", "a")
    assert seeded == selected
    assert [type(v) for v in seeded.values()] == [type(v) for v in selected.values()]
    assert seeded["call_start_ts"] == 7.0 and type(seeded["call_start_ts"]) is float
    assert seeded["crm_activity_id"] == 0 and seeded["crm_enabled"] == 1
    assert list(seeded) == [r[1] for r in fresh(path, "PRAGMA table_info(calls)")]


def test_a_write_to_one_row_keeps_the_other_rows_and_shows_its_own(store: SQLiteStore) -> None:
    store.insert("calls", call("a"))
    store.insert("calls", call("b"))
    assert store.get("calls", "a")["phone_number"] == "+4930"
    store.update("calls", {"call_id": "a"}, {"phone_number": "+4931"})
    assert store.get("calls", "a")["phone_number"] == "+4931"
    assert store.get("calls", "b")["phone_number"] == "+4930"
    store.delete("calls", {"call_id": "b"})
    assert store.get("calls", "b") is None
    assert store.get("calls", "a")["phone_number"] == "+4931"


def test_reads_by_other_columns_see_single_row_writes(store: SQLiteStore) -> None:
    assert store.find("calls", {"dedup_key": "k-a"}) == []
    assert store.find("calls") == []
    store.insert("calls", call("a"))
    assert [r["call_id"] for r in store.find("calls", {"dedup_key": "k-a"})] == ["a"]
    store.update("calls", {"call_id": "a"}, {"dedup_key": "k-z"})
    assert store.find("calls", {"dedup_key": "k-a"}) == []
    assert [r["call_id"] for r in store.find("calls")] == ["a"]
    store.delete("calls", {"call_id": "a"})
    assert store.find("calls") == [] and store.find("calls", {"dedup_key": "k-z"}) == []


def test_a_missing_row_is_seen_once_inserted(store: SQLiteStore) -> None:
    assert store.get("calls", "a") is None  # cached: no such row
    store.insert("calls", call("a"))
    assert store.get("calls", "a") is not None
    assert store.get("users", 7) is None
    store.insert("users", {"id": 7, "name": "Sam"})
    assert store.get("users", 7)["name"] == "Sam"
    assert store.get("users", 8) is None
    new_id = store.insert("users", {"name": "Tia"})  # the key comes from SQLite
    assert new_id == 8 and store.get("users", 8)["name"] == "Tia"


def test_keys_of_another_type_are_compared_as_sqlite_compares_them(store: SQLiteStore) -> None:
    # A TEXT key column matches the integer 5 with the text "5"; an INTEGER key matches "9" with 9.
    assert store.get("calls", 5) is None
    assert store.get("users", "9") is None
    store.insert("calls", call("5"))
    store.insert("users", {"id": 9, "name": "Una"})
    assert store.get("calls", 5)["call_id"] == "5"
    assert store.get("users", "9")["name"] == "Una"
    store.update("calls", {"call_id": 5}, {"phone_number": "+1"})
    assert store.get("calls", "5")["phone_number"] == "+1"
    store.delete("users", {"id": "9"})
    assert store.get("users", 9) is None


def test_changing_a_key_or_replacing_rows_drops_every_read(store: SQLiteStore, path: Path) -> None:
    store.insert("calls", call("a"))
    assert store.get("calls", "a") is not None and store.get("calls", "c") is None
    store.update("calls", {"call_id": "a"}, {"call_id": "c"})
    assert store.get("calls", "a") is None and store.get("calls", "c") is not None
    # INSERT OR REPLACE deletes the other row holding the same UNIQUE client_id.
    app = {"code": "x", "name": "X", "client_secret": "s", "application_token": "t", "scopes": [],
           "created_at": 1.0}
    store.insert("apps", {**app, "id": 1, "client_id": "local.1"})
    assert store.get("apps", 1)["client_id"] == "local.1"
    store.upsert("apps", {**app, "id": 2, "code": "y", "client_id": "local.1"})
    assert store.get("apps", 1) is None
    assert fresh(path, "SELECT id FROM apps") == [(2,)]


def test_a_rollback_drops_rows_handed_over_inside_the_transaction(store: SQLiteStore) -> None:
    with pytest.raises(RuntimeError), store.transaction():
        store.insert("calls", call("a"))
        assert store.get("calls", "a") is not None
        raise RuntimeError("roll back")
    assert store.get("calls", "a") is None


def test_a_failed_insert_changes_nothing_it_shows(store: SQLiteStore) -> None:
    store.insert("calls", call("a"))
    assert store.get("calls", "a")["type"] == 2
    with pytest.raises(sqlite3.IntegrityError):
        store.insert("calls", call("a", type=3))
    assert store.get("calls", "a")["type"] == 2


def test_another_connection_writing_one_row_is_seen(store: SQLiteStore, path: Path) -> None:
    store.insert("calls", call("a"))
    assert store.get("calls", "a")["type"] == 2
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE calls SET type = 4 WHERE call_id = 'a'")
    other.close()
    assert store.get("calls", "a")["type"] == 4


def test_generations_move_with_writes_rollbacks_and_other_connections(store: SQLiteStore, path: Path) -> None:
    first = store.generation("users", "apps")
    store.get("users", 1)
    store.find("apps")
    assert store.generation("users", "apps") == first  # reads change nothing
    store.insert("calls", call("a"))
    assert store.generation("users", "apps") == first  # nor do writes to other tables
    store.insert("users", {"name": "Val"})
    second = store.generation("users")
    assert store.generation("users", "apps") != first
    store.update("users", {"id": 1}, {"name": "Wes"})
    third = store.generation("users")
    assert third != second
    with pytest.raises(RuntimeError), store.transaction():
        raise RuntimeError("roll back")
    fourth = store.generation("users")
    assert fourth != third
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("UPDATE users SET name = 'Xia' WHERE id = 1")
    other.close()
    assert store.generation("users") != fourth


LOOKUPS = [
    ("sessions", {"user_id": 1, "kind": "session"}),
    ("call_records", {"call_id": "x"}),
    ("call_records", {"upload_token": "x"}),
    ("crm_activities", {"call_id": "x"}),
    ("crm_phones", {"type_id": "PHONE"}),
    ("delivery_attempts", {"outbox_id": 1}),
    ("card_handlers", {"event": "x"}),
    ("event_handlers", {"app_id": 1}),
    ("event_handlers", {"event": "x"}),
    ("placements", {"placement": "x"}),
    ("calls", {"dedup_key": "x"}),
    ("call_stats", {"call_id": "x"}),
    ("access_tokens", {"token": "x"}),
]


@pytest.mark.parametrize(("table", "where"), LOOKUPS)
def test_lookups_the_domain_makes_use_an_index(store: SQLiteStore, path: Path, table: str,
                                              where: dict[str, Any]) -> None:
    seen: list[str] = []
    store._conn.set_trace_callback(seen.append)
    try:
        store.find(table, where)
    finally:
        store._conn.set_trace_callback(None)
    (sql,) = [s for s in seen if s.startswith("SELECT")]
    plan = " ".join(row[3] for row in fresh(path, "EXPLAIN QUERY PLAN " + sql))
    assert "USING INDEX" in plan or "USING PRIMARY KEY" in plan, plan
    assert f"SCAN {table}" not in plan, plan


def test_checkpoints_come_every_ten_thousand_pages(store: SQLiteStore) -> None:
    assert store._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000


def test_live_calls_survive_the_move_to_a_table_keyed_by_call_id(path: Path) -> None:
    from callcard.store.migrations import _statements, migration_files

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT)")
    for version, name, sql in migration_files():
        if version < 7:
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, name))
    conn.execute("INSERT INTO calls (call_id, user_id, phone_number, type, call_start_date, dedup_key, created_at,"
                 " crm_bindings) VALUES ('c1', 2, '+4930', 2, 'x', 'k', 1.5, '[1]')")
    conn.close()
    store = SQLiteStore(path)
    try:
        row = store.get("calls", "c1")
        assert (row["user_id"], row["crm_bindings"], row["crm_enabled"], row["call_start_ts"]) == (2, [1], 1, 0.0)
        assert store.find("calls", {"dedup_key": "k"})[0]["call_id"] == "c1"
        (sql,) = fresh(path, "SELECT sql FROM sqlite_master WHERE name = 'calls'")[0]
        assert "WITHOUT ROWID" in sql
        assert fresh(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls'") == [
            ("calls_dedup",)]
        assert store.insert("calls", call("c2")) == 0  # no rowid to report
    finally:
        store.close()


def test_a_loop_stopped_inside_a_turn_hides_no_later_commit(path: Path) -> None:
    # The once-per-turn check is reset by a callback at the next turn; a loop stopped before that turn
    # must not leave later reads, outside any loop, unchecked.
    import asyncio

    store = SQLiteStore(path)
    store.insert("users", {"id": 1, "name": "Ann"})
    loop = asyncio.new_event_loop()
    seen: list[str] = []

    async def read_and_stop() -> None:
        seen.append(store.get("users", 1)["name"])
        seen.append(str(store.generation("users")))
        loop.stop()

    try:
        loop.create_task(read_and_stop())
        loop.run_forever()  # the reset callback is still pending when this returns
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("UPDATE users SET name = 'Bo' WHERE id = 1")
        other.close()
        assert store.get("users", 1)["name"] == "Bo"
        assert str(store.generation("users")) != seen[1]
    finally:
        loop.close()
        store.close()
