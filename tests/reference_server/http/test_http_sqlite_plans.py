"""SQLite planner statistics: fixed sqlite_stat1 rows exist after start, and the lookups
that must stay flat (issue 2, point 9) use the index a large database needs."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from reference_server.storage.engine import SQLITE_STATS, create_engine, upgrade


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
