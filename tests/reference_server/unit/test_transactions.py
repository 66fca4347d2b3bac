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


def test_a_read_without_snapshot_runs_no_begin(db: Database) -> None:
    """`read(snapshot=False)`: no BEGIN/COMMIT around it, each statement reads on its own."""
    with db.write() as tx:
        tx.run(INSERT, ("a",))
    conn = db._sqlite_conn()
    with db.read(snapshot=False) as tx:
        assert not conn.in_transaction
        assert tx.all("SELECT id FROM tenants") == [("a",)]
        assert not conn.in_transaction
        with db.read() as inner:  # a nested read shares it
            assert inner.first("SELECT count(*) FROM tenants") == (1,)
        assert not conn.in_transaction


def _write_inside_bare_read(db: Database) -> None:
    with db.read(snapshot=False), db.write() as tx:
        tx.run(INSERT, ("a",))


def test_a_write_cannot_nest_in_a_read_without_snapshot(db: Database) -> None:
    with pytest.raises(RuntimeError, match="cannot nest"):
        _write_inside_bare_read(db)
    assert _ids(db) == []
    with db.write() as tx:  # nothing was left open
        tx.run(INSERT, ("b",))
    assert _ids(db) == ["b"]


def test_a_read_without_snapshot_inside_a_write_sees_the_write(db: Database) -> None:
    with db.write() as tx:
        tx.run(INSERT, ("a",))
        with db.read(snapshot=False) as inner:
            assert inner.all("SELECT id FROM tenants") == [("a",)]
        tx.run(INSERT, ("b",))
    assert _ids(db) == ["a", "b"]


def test_a_lookup_and_a_get_are_one_statement_each(tmp_path: Path) -> None:
    """The IdP's existence check and a GET of a User run their one SELECT without the BEGIN
    and COMMIT around it (every SQLite statement of the process runs on one thread)."""
    from reference_server.app import create_state
    from reference_server.endpoints import operations as ops
    from reference_server.endpoints.common import Ctx
    from reference_server.settings import ServerSettings

    state = create_state(ServerSettings(database_url=f"sqlite:///{tmp_path}/r.db"))
    try:
        assert state.bootstrap_tenant is not None
        ctx = Ctx(state, state.bootstrap_tenant, "http://testserver/scim/v2")
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann"}
        created = ops.create(ctx, "User", body).body
        assert created is not None
        statements: list[str] = []
        state.repo.db._sqlite_conn().set_trace_callback(statements.append)
        miss = ops.search(ctx, ["User"], ops.Query(filter='userName eq "bob"'))
        assert miss["totalResults"] == 0
        assert [s.split()[0] for s in statements] == ["SELECT"], statements
        statements.clear()
        got = ops.read(ctx, "User", created["id"])
        assert got.body is not None
        assert got.body["userName"] == "ann"
        assert [s.split()[0] for s in statements] == ["SELECT"], statements
    finally:
        state.repo.close()
        state.engine.dispose()
