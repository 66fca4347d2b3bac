"""SQLite request transactions (`storage.database`): each request's writes commit together
or not at all, a nested block shares the open transaction, and the write gate is always
given back (issue 2: one transaction per request, committed before the answer)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from reference_server.storage.database import Database
from reference_server.storage.engine import create_engine, upgrade

INSERT = "INSERT INTO tenants (id, name, created) VALUES (?, 'x', '2026-01-01T00:00:00Z')"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    engine = create_engine(f"sqlite:///{tmp_path / 'scim.db'}")
    upgrade(engine)
    database = Database(engine)
    yield database
    database.close()
    engine.dispose()


def _ids(db: Database) -> list[str]:
    with db.read() as tx:
        return [row[0] for row in tx.all("SELECT id FROM tenants ORDER BY id")]


def _write_then_fail(db: Database) -> None:
    with db.write() as tx:
        tx.run(INSERT, ("a",))
        raise RuntimeError("the request failed after its first write")


def _nested_then_fail(db: Database) -> None:
    with db.write() as outer:
        outer.run(INSERT, ("a",))
        with db.write() as inner:
            inner.run(INSERT, ("b",))
        raise RuntimeError("the outer block fails after the nested one ended")


def test_a_block_that_raises_keeps_none_of_its_writes(db: Database) -> None:
    with pytest.raises(RuntimeError):
        _write_then_fail(db)
    assert not db._write_gate.locked()
    assert _ids(db) == []
    with db.write() as tx:  # the gate was given back: the next write goes through
        tx.run(INSERT, ("b",))
    assert _ids(db) == ["b"]


def test_a_nested_block_joins_the_open_transaction(db: Database) -> None:
    with pytest.raises(RuntimeError):
        _nested_then_fail(db)
    assert _ids(db) == [], "the nested block committed on its own"
    with db.write() as outer:
        outer.run(INSERT, ("c",))
        with db.read() as inner:
            assert [r[0] for r in inner.all("SELECT id FROM tenants")] == ["c"]
    assert _ids(db) == ["c"]


def test_a_refused_commit_rolls_back_and_frees_the_gate(db: Database) -> None:
    """A COMMIT that fails (here a deferred foreign key) leaves no transaction open."""
    with db.write() as tx:
        tx.run("CREATE TABLE child (t TEXT REFERENCES tenants(id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(db.integrity_error), db.write() as tx:
        tx.run("INSERT INTO child (t) VALUES ('nobody')")
    assert not db._write_gate.locked()
    with db.write() as tx:
        tx.run(INSERT, ("a",))
        assert tx.first("SELECT count(*) FROM child") == (0,)
    assert _ids(db) == ["a"]


def test_a_failed_begin_frees_the_gate(db: Database) -> None:
    with db.read():
        pass  # the thread's connection exists from here on
    conn = db._sqlite_conn()
    conn.execute("BEGIN")  # a transaction left open behind the Database's back
    with pytest.raises(Exception, match="within a transaction"), db.write():
        pass
    assert not db._write_gate.locked()
    conn.execute("ROLLBACK")
    with db.write() as tx:
        tx.run(INSERT, ("a",))
    assert _ids(db) == ["a"]
