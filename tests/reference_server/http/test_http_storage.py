"""Storage: migrations mirror tables.py, SQLite pragmas, admin API, token handling."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from scim_http_helpers import ADMIN_TOKEN, TestClient, assert_error, new_group, new_user

from reference_server.scim.resources import (
    index_rows,
    index_values,
    prepare_create,
    search_document,
)
from reference_server.scim.schemas import load_registry
from reference_server.storage.engine import create_engine, downgrade, upgrade
from reference_server.storage.tables import attr_index, group_members, metadata, tokens

ADMIN = "http://testserver/admin/v1"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_migrations_create_exactly_the_tables_module(database_url: str) -> None:
    """The Alembic head equals reference_server/storage/tables.py, and downgrades cleanly."""
    engine = create_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        upgrade(engine)  # idempotent: a second start changes nothing
        downgrade(engine)
        with engine.connect() as conn:
            assert set(sa.inspect(conn).get_table_names()) <= {"alembic_version"}
        upgrade(engine)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/p.db")
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    finally:
        engine.dispose()


def test_tokens_are_stored_hashed(client: TestClient, token: str) -> None:
    engine = client_engine(client)
    with engine.connect() as conn:
        stored = [r.token_hash for r in conn.execute(sa.select(tokens.c.token_hash))]
    assert token not in stored
    assert all(len(h) == 64 for h in stored)


def client_engine(client: TestClient) -> sa.Engine:
    state = client._client._transport.app.state.scim  # type: ignore[attr-defined]
    engine: sa.Engine = state.engine
    return engine


def test_membership_is_rows(client: TestClient) -> None:
    users = [new_user(client, f"m{i}")["id"] for i in range(3)]
    group = new_group(client, "rows", users)
    with client_engine(client).connect() as conn:
        rows = conn.execute(
            sa.select(group_members.c.member_id).where(group_members.c.group_id == group["id"])
        ).all()
    assert sorted(r.member_id for r in rows) == sorted(users)


def test_admin_api_needs_its_own_credential(client: TestClient, token: str) -> None:
    assert_error(client.get(f"{ADMIN}/organizations"), 401)  # a SCIM token is not admin
    assert_error(
        client.get(f"{ADMIN}/organizations", headers={"Authorization": "Bearer wrong"}), 401
    )


def test_admin_creates_organizations_and_tokens(client: TestClient) -> None:
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    created = client.post(f"{ADMIN}/organizations", json={"name": "Acme"}, headers=admin)
    assert created.status_code == 201
    org = created.json()
    assert org["name"] == "Acme"
    listed = client.get(f"{ADMIN}/organizations", headers=admin).json()["organizations"]
    assert org["id"] in {o["id"] for o in listed}
    issued = client.post(f"{ADMIN}/organizations/{org['id']}/tokens", headers=admin)
    assert issued.status_code == 201
    acme = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/Users", headers=acme).json()["totalResults"] == 0
    assert_error(client.post(f"{ADMIN}/organizations/nope/tokens", headers=admin), 404)
    empty = client.post(f"{ADMIN}/organizations", json={"name": ""}, headers=admin)
    assert_error(empty, 400, "invalidValue")


@pytest.fixture
def empty_engine(database_url: str) -> Iterator[sa.Engine]:
    """An engine on a database with no tables, for a migration test to build up; the
    database is brought back to head afterwards, whatever the test left."""
    engine = create_engine(database_url)
    downgrade(engine)
    try:
        yield engine
    finally:
        downgrade(engine)
        upgrade(engine)
        engine.dispose()


def test_migration_0006_moves_core_schema_rows_out_of_attr_index(empty_engine: sa.Engine) -> None:
    """An 0005 database loses its core-schema rows on upgrade (filters compare that URN
    without a row), keeps extension rows, and gets them back on downgrade."""
    core, ext = "urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE
    engine = empty_engine
    upgrade(engine, "0005")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO resources (tenant_id, id, resource_type, data, version, "
                "created, last_modified) VALUES ('t', 'u1', 'User', '{}', 1, 'c', 'm')"
            )
        )
        for elem, urn in enumerate((core, ext)):
            conn.execute(
                sa.text(
                    "INSERT INTO attr_index (tenant_id, resource_id, resource_type, path, "
                    "elem, v_text, v_lower) VALUES ('t', 'u1', 'User', 'schemas', :e, :u, :l)"
                ),
                {"e": elem, "u": urn, "l": urn.lower()},
            )

    def schema_rows() -> list[str]:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT v_text FROM attr_index WHERE path = 'schemas' ORDER BY elem")
            )
            return [r[0] for r in rows]

    upgrade(engine, "0006")
    assert schema_rows() == [ext]
    downgrade(engine, "0005")
    assert sorted(schema_rows()) == sorted([core, ext])


# attr_index as migrations 0001-0007 left it (a row per value, typed value columns).
OLD_ATTR_INDEX = sa.table(
    "attr_index",
    *(
        sa.column(name)
        for name in (
            "tenant_id",
            "resource_id",
            "resource_type",
            "path",
            "elem",
            "v_text",
            "v_lower",
            "v_num",
            "v_bool",
            "v_time",
        )
    ),
)


def test_migration_0007_moves_index_rows_into_search_documents(empty_engine: sa.Engine) -> None:
    """An 0006 database (a row per value) keeps attr_index rows for emails.value only and
    gets each resource's search document from its data; downgrade restores every row."""
    reg = load_registry()
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "ann",
        "name": {"givenName": "Ann", "familyName": "Lee"},
        "emails": [{"value": "Ann@x.org", "type": "work", "primary": True}],
        "active": False,
        ENTERPRISE: {"department": "R&D"},
    }
    data = prepare_create(reg, "User", body)
    rows = index_rows(reg, "User", data)
    columns = ("path", "elem", "v_text", "v_lower", "v_num", "v_bool", "v_time")
    engine = empty_engine

    def index() -> list[tuple[object, ...]]:
        with engine.connect() as conn:
            found = conn.execute(
                sa.select(*(OLD_ATTR_INDEX.c[c] for c in columns)).order_by(
                    OLD_ATTR_INDEX.c.path, OLD_ATTR_INDEX.c.elem
                )
            )
            return [
                (r[0], r[1], r[2], r[3], r[4], bool(r[5]) if r[5] is not None else None, r[6])
                for r in found
            ]

    upgrade(engine, "0006")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO resources (tenant_id, id, resource_type, data, version, "
                "created, last_modified) VALUES ('t', 'u1', 'User', :d, 1, 'c', 'm')"
            ),
            {"d": orjson.dumps(data).decode()},
        )
        conn.execute(
            OLD_ATTR_INDEX.insert(),
            [
                row | {"tenant_id": "t", "resource_id": "u1", "resource_type": "User"}
                for row in rows
            ],
        )
    everything = index()
    assert len(everything) == len(rows) > 5
    upgrade(engine, "0007")
    with engine.connect() as conn:
        doc = conn.execute(sa.text("SELECT search FROM resources")).scalar_one()
    assert orjson.loads(doc) == orjson.loads(search_document(index_values(reg, "User", data)))
    assert index() == [("emails.value", 0, "Ann@x.org", "ann@x.org", None, None, None)]
    downgrade(engine, "0006")
    assert index() == everything


def test_migration_0008_clusters_attr_index_on_its_key(empty_engine: sa.Engine) -> None:
    """An 0007 attr_index (table plus two indexes, duplicates allowed) becomes one table
    keyed by (tenant, type, path, v_lower, resource, elem) with the same string rows once;
    downgrade gives the old layout back."""
    engine = empty_engine
    row = {
        "tenant_id": "t",
        "resource_id": "u1",
        "resource_type": "User",
        "path": "emails.value",
        "elem": 0,
        "v_text": "Ann@x.org",
        "v_lower": "ann@x.org",
    }
    upgrade(engine, "0007")
    with engine.begin() as conn:
        conn.execute(OLD_ATTR_INDEX.insert(), [row, row, row | {"elem": 1, "v_lower": None}])
    upgrade(engine)
    with engine.connect() as conn:
        found = conn.execute(sa.select(attr_index)).mappings().all()
    assert [dict(r) for r in found] == [{k: v for k, v in row.items()}]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(attr_index.insert(), [row])  # the key is the primary key
    downgrade(engine, "0007")
    with engine.connect() as conn:
        old = conn.execute(sa.select(OLD_ATTR_INDEX.c.path, OLD_ATTR_INDEX.c.v_lower)).all()
    assert [tuple(r) for r in old] == [("emails.value", "ann@x.org")]
