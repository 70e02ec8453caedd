"""The SQLite store: WAL, JSON columns, transactions, migrations, durability under SIGKILL, snapshots."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap

import pytest

from callcard.store import SQLiteStore
from callcard.store.migrations import _statements, migration_files


@pytest.fixture
def store(tmp_path):
    s = SQLiteStore(tmp_path / "db.sqlite3")
    yield s
    s.close()


def test_file_is_in_wal_mode(store, tmp_path):
    mode = sqlite3.connect(tmp_path / "db.sqlite3").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_every_migration_applied_once(tmp_path):
    path = tmp_path / "db.sqlite3"
    SQLiteStore(path).close()
    SQLiteStore(path).close()  # reopening applies nothing twice
    rows = sqlite3.connect(path).execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [v for v, _, _ in migration_files()]


def test_statement_splitter_respects_semicolons_in_comments():
    sql = "CREATE TABLE a (x INTEGER -- one; two\n);\n-- trailing; comment\nCREATE TABLE b (y TEXT);\n"
    assert _statements(sql) == [
        "CREATE TABLE a (x INTEGER -- one; two\n);",
        "-- trailing; comment\nCREATE TABLE b (y TEXT);",
    ]


def test_json_columns_round_trip_and_booleans_become_ints(store):
    store.insert("users", {"id": 7, "name": "Ann", "departments": [1, 2], "is_admin": True})
    row = store.get("users", 7)
    assert row["departments"] == [1, 2]
    assert row["is_admin"] == 1
    assert store.find("users", {"is_admin": True})[0]["id"] == 7


def test_find_orders_pages_and_counts(store):
    for i in range(1, 6):
        store.insert("users", {"id": i, "name": f"u{i}"})
    assert [r["id"] for r in store.find("users", order_by="-id", limit=2)] == [5, 4]
    assert [r["id"] for r in store.find("users", limit=2, offset=2)] == [3, 4]
    assert store.count("users") == 5
    assert store.update("users", {"id": 3}, {"name": "x"}) == 1
    assert store.delete("users", {"name": "x"}) == 1
    assert store.count("users") == 4


def test_transaction_rolls_back_together(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.insert("users", {"id": 1, "name": "a"})
            with store.transaction():  # nested joins the outer one
                store.insert("users", {"id": 2, "name": "b"})
            raise RuntimeError("boom")
    assert store.count("users") == 0


def test_unknown_table_and_odd_identifiers_are_refused(store):
    with pytest.raises(ValueError):
        store.find("nope")
    with pytest.raises(ValueError):
        store.find("users", {"id; DROP TABLE users": 1})


def test_round_trip_write_close_reopen(tmp_path):
    path = tmp_path / "db.sqlite3"
    s = SQLiteStore(path)
    s.insert("meta", {"key": "portal", "value": {"member_id": "abc", "nested": {"a": [1, 2]}}})
    s.upsert("cards", {"user_id": 1, "state": {"uiState": "connected"}, "updated_at": 1.5})
    before = {t: s.find(t) for t in s.iter_tables()}
    s.close()
    s2 = SQLiteStore(path)
    assert {t: s2.find(t) for t in s2.iter_tables()} == before
    s2.close()


CHILD = textwrap.dedent(
    """
    import sys
    from callcard.store import SQLiteStore
    store = SQLiteStore(sys.argv[1])
    for i in range(int(sys.argv[2])):
        store.insert("meta", {"key": f"k{i}", "value": {"i": i}})
        print(i, flush=True)          # acknowledged: the insert returned
    sys.stdout.write("done\\n"); sys.stdout.flush()
    import time; time.sleep(60)       # killed here, connection never closed
    """
)


def test_acknowledged_writes_survive_sigkill(tmp_path):
    path = tmp_path / "db.sqlite3"
    n = 300
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(n)], stdout=subprocess.PIPE, text=True
    )
    acknowledged = 0
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "done":
            break
        acknowledged = int(line) + 1
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert acknowledged == n
    store = SQLiteStore(path)
    keys = {r["key"] for r in store.find("meta")}
    store.close()
    assert keys == {f"k{i}" for i in range(n)}


def test_sigkill_mid_stream_keeps_every_acknowledged_write(tmp_path):
    path = tmp_path / "db.sqlite3"
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "100000"], stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    acknowledged = 0
    for line in child.stdout:
        acknowledged = int(line) + 1
        if acknowledged >= 500:
            os.kill(child.pid, signal.SIGKILL)
            break
    child.wait()
    # Lines still in the pipe were printed, so acknowledged, before the kill landed.
    for line in child.stdout:
        acknowledged = int(line) + 1
    store = SQLiteStore(path)
    count = store.count("meta")
    store.close()
    # Everything acknowledged is there; at most the one in flight may be there too.
    assert acknowledged <= count <= acknowledged + 1


def test_snapshot_export_import_and_failed_export_keeps_previous(tmp_path, store):
    store.insert("meta", {"key": "a", "value": 1})
    snap = store.export_to(tmp_path / "snaps" / "one.sqlite3")
    store.insert("meta", {"key": "b", "value": 2})
    store.import_from(snap)
    assert [r["key"] for r in store.find("meta")] == ["a"]

    # A failing export (target is a directory) leaves the earlier snapshot untouched.
    (tmp_path / "snaps" / "dir.sqlite3").mkdir()
    with pytest.raises(OSError):
        store.export_to(tmp_path / "snaps" / "dir.sqlite3")
    assert snap.read_bytes()[:15] == b"SQLite format 3"
    assert not [p for p in (tmp_path / "snaps").iterdir() if p.name.endswith(".tmp")]

    bad = tmp_path / "bad.sqlite3"
    bad.write_text("not a database")
    with pytest.raises(ValueError):
        store.import_from(bad)
    assert [r["key"] for r in store.find("meta")] == ["a"]
