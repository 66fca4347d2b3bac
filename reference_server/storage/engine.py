"""Engine creation and schema migration: one code path for SQLite and PostgreSQL.

SQLite runs in WAL mode with synchronous=NORMAL (durable at checkpoints, fast commits),
foreign keys on and a busy timeout so several processes can share one file. Writes open
with BEGIN IMMEDIATE so two writers never deadlock on a lock upgrade. An in-memory
database (`sqlite://`) uses one shared connection, else every pool checkout would see an
empty database.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Engine
from sqlalchemy.pool import StaticPool

__all__ = ["SQLITE_STATS", "WRITE", "create_engine", "downgrade", "is_sqlite", "upgrade"]

_MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
# Execution option marking a write transaction (BEGIN IMMEDIATE on SQLite).
WRITE = "scim_write"
# Key of the PostgreSQL advisory lock that serialises concurrent migrations at start.
_MIGRATION_LOCK = 76447643


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_in_memory(url: sa.URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_engine(database_url: str) -> Engine:
    """An engine for `database_url` (sqlite:///file, sqlite://, postgresql+psycopg://...)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return sa.create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if _sqlite_in_memory(url):
        kwargs["poolclass"] = StaticPool
    engine = sa.create_engine(url, **kwargs)
    memory = _sqlite_in_memory(url)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event issue BEGIN itself (pysqlite's own is deferred/late).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Checkpoints run in a background thread (storage/database.Checkpointer): inside
            # a commit they stall the event loop for the fsync (p99 of writes, issue 2).
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute("PRAGMA journal_size_limit=67108864")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _alembic_config(connection: sa.Connection) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


# Fixed planner statistics for SQLite (rows of `sqlite_stat1`: table, index, "rows, then
# average rows per distinct value of each leading column prefix"). They describe a large
# database with several tenants, so every plan is the one that stays flat as it grows:
# without them SQLite guesses that `tenant_id = ?` selects ten rows and, for example,
# answers `id IN (50 ids)` by scanning the covering ix_resources_created (every resource
# of the tenant) instead of 50 primary-key lookups. Fixed rather than measured (ANALYZE)
# so that plans never depend on when the statistics were taken (issue 2, point 9).
SQLITE_STATS: tuple[tuple[str, str, str], ...] = (
    ("resources", "sqlite_autoindex_resources_1", "1000000 100000 1"),
    ("resources", "sqlite_autoindex_resources_2", "1000000 100000 50000 1"),
    ("resources", "ix_resources_external_id", "1000000 100000 50000 1"),
    ("resources", "ix_resources_display_name", "1000000 100000 50000 2"),
    ("resources", "ix_resources_created", "1000000 100000 50000 1 1"),
    # A WITHOUT ROWID table's primary key is named after the table.
    ("attr_index", "attr_index", "1000000 100000 50000 50000 1 1 1"),
    ("group_members", "sqlite_autoindex_group_members_1", "1000000 100000 1000 1"),
    ("group_members", "ix_group_members_member", "1000000 100000 5"),
)


def _seed_sqlite_stats(conn: sa.Connection) -> None:
    """Write `SQLITE_STATS` into sqlite_stat1 and make this connection load them.

    `ANALYZE sqlite_master` creates sqlite_stat1 when missing (analysing only the schema
    table, which costs nothing) and reloads the statistics; connections opened later load
    them with the schema.
    """
    conn.exec_driver_sql("ANALYZE sqlite_master")
    for table, index, stat in SQLITE_STATS:
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE tbl = ? AND idx = ?", (table, index))
        conn.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", (table, index, stat)
        )
    conn.commit()
    conn.exec_driver_sql("ANALYZE sqlite_master")
    conn.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (a fresh database gets every table).

    On PostgreSQL an advisory lock makes concurrent starts (several workers) take turns.
    On SQLite the planner statistics are (re)written afterwards (`SQLITE_STATS`).
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            conn.commit()
        try:
            command.upgrade(_alembic_config(conn), revision)
            conn.commit()
            if conn.dialect.name == "sqlite" and revision == "head":
                _seed_sqlite_stats(conn)
        finally:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                conn.commit()


def downgrade(engine: Engine, revision: str = "base") -> None:
    """Undo migrations down to `revision` (tests use it to reset a PostgreSQL schema)."""
    with engine.connect() as conn:
        command.downgrade(_alembic_config(conn), revision)
        conn.commit()
