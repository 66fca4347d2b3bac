"""Start-up work for speed: fixed sqlite_stat1 rows exist after start, the lookups
that must stay flat (issue 2, point 9) use the index a large database needs, and the
filter grammar is built before the first request."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from reference_server.scim.filter import parse_filter
from reference_server.scim.filter.sql import filter_to_sql
from reference_server.scim.schemas import load_registry
from reference_server.storage.engine import SQLITE_STATS, create_engine, upgrade
from reference_server.storage.tables import resources


def _plan(conn: sa.Connection, sql: str, params: tuple[object, ...]) -> str:
    rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    return " | ".join(str(r[-1]) for r in rows)


def test_statistics_are_written_at_start_and_idempotent(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/s.db")
    try:
        upgrade(engine)
        upgrade(engine)  # a second start rewrites the same rows, no duplicates
        with engine.connect() as conn:
            rows = conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1").all()
        assert sorted(tuple(r) for r in rows if r[1] is not None) == sorted(SQLITE_STATS)
    finally:
        engine.dispose()


def test_member_resolution_uses_primary_key_not_a_tenant_scan(tmp_path: Path) -> None:
    """`id IN (...)` within a tenant is primary-key lookups, never a walk of the tenant's
    rows through the covering ix_resources_created (what SQLite picks without statistics)."""
    engine = create_engine(f"sqlite:///{tmp_path}/s.db")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            plan = _plan(
                conn,
                "SELECT id, resource_type FROM resources WHERE tenant_id = ? AND id IN (?, ?, ?)",
                ("t", "a", "b", "c"),
            )
        assert "sqlite_autoindex_resources_1" in plan, plan
        assert "ix_resources_created" not in plan, plan
    finally:
        engine.dispose()


def test_in_memory_database_gets_statistics_too() -> None:
    engine = create_engine("sqlite://")
    try:
        upgrade(engine)
        with engine.connect() as conn:
            count = conn.exec_driver_sql("SELECT count(*) FROM sqlite_stat1").scalar_one()
        assert count >= len(SQLITE_STATS)
    finally:
        engine.dispose()


def test_filter_grammar_is_built_at_start_not_in_the_first_request(tmp_path: Path) -> None:
    """The LALR construction (about half a second of CPU) happens in create_state."""
    from reference_server.app import create_state
    from reference_server.scim.filter import parser
    from reference_server.settings import ServerSettings

    parser._parser.cache_clear()
    state = create_state(ServerSettings(database_url=f"sqlite:///{tmp_path}/g.db"))
    try:
        assert parser._parser.cache_info().currsize == 1
    finally:
        state.engine.dispose()


def _filter_plan(tmp_path: Path, text: str) -> str:
    engine = create_engine(f"sqlite:///{tmp_path}/s.db")
    try:
        upgrade(engine)
        where = filter_to_sql(load_registry(), "User", "t", parse_filter(text))
        stmt = sa.select(resources.c.id).where(
            resources.c.tenant_id == "t", resources.c.resource_type == "User", where
        )
        compiled = stmt.compile(dialect=engine.dialect)
        params = tuple(compiled.params[name] for name in compiled.positiontup or ())
        with engine.connect() as conn:
            return _plan(conn, str(compiled), params)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "text",
    [
        'emails.value eq "a@x.org"',
        'emails.value co "lead"',
        'emails.value sw "lead"',
        'emails.value ew "son"',
        'emails.value gt "m"',
        "emails.value pr",
        'emails eq "a@x.org"',
    ],
)
def test_email_filters_seek_attr_index_by_its_key(tmp_path: Path, text: str) -> None:
    """attr_index is clustered on (tenant, type, path, v_lower): every emails.value test,
    LIKE included, seeks that key's prefix instead of walking the tenant's rows."""
    plan = _filter_plan(tmp_path, text)
    assert "USING PRIMARY KEY (tenant_id=? AND resource_type=? AND path=?" in plan, plan


@pytest.mark.parametrize(
    "text",
    [
        'title co "lead"',
        'name.familyName eq "son"',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "7"',
        'schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"',
        'emails[type eq "work" and value co "x"]',
    ],
)
def test_other_filters_scan_search_documents_of_the_tenant_only(tmp_path: Path, text: str) -> None:
    """Attributes without attr_index rows scan `resources.search` of one tenant and type
    (through an index on tenant and type), never the whole table or attr_index."""
    plan = _filter_plan(tmp_path, text)
    assert plan.startswith("SEARCH resources USING"), plan
    assert "(tenant_id=? AND resource_type=?)" in plan, plan
    assert "VIRTUAL TABLE" in plan, plan  # json_each over the resource's document
    assert "attr_index" not in plan, plan
