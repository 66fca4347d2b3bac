"""Fixtures for the HTTP tests: the app on SQLite and on PostgreSQL, a client per test.

Every test gets its own organization (a unique bootstrap token and name), so tests never
see each other's data even when they share a database. SQLite: a fresh file per test (WAL
mode, like a real deployment). PostgreSQL: one uniquely named database per test session,
created from SCIM_TEST_POSTGRES_URL and dropped at the end.
"""

from __future__ import annotations

import os
import secrets
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from scim_http_helpers import ADMIN_TOKEN, TestClient, serve

from reference_server.app import create_app
from reference_server.settings import ServerSettings


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this session (skips when no server is configured)."""
    url = os.environ.get("SCIM_TEST_POSTGRES_URL")
    if not url:
        pytest.skip(
            "SCIM_TEST_POSTGRES_URL is not set: the PostgreSQL variant needs a server "
            "(.ci/run starts one through .ci/postgres.sh)"
        )
    name = f"scim_http_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                f'CREATE DATABASE "{name}" TEMPLATE template0 LC_COLLATE "C" LC_CTYPE "C"'
            )
        yield sa.make_url(url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/scim.db"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def token() -> str:
    return secrets.token_urlsafe(32)


@pytest.fixture
def settings(database_url: str, token: str) -> ServerSettings:
    return ServerSettings(
        database_url=database_url,
        bootstrap_token=token,
        admin_token=ADMIN_TOKEN,
        bootstrap_org_name=f"org-{uuid.uuid4().hex}",
    )


@pytest.fixture
def app_client(settings: ServerSettings) -> Iterator[TestClient]:
    """A client without credentials (the lifespan runs: the database is migrated)."""
    with serve(create_app(settings)) as client:
        yield client


@pytest.fixture
def client(app_client: TestClient, token: str) -> TestClient:
    """A client authenticated as the test's organization."""
    app_client.headers["Authorization"] = f"Bearer {token}"
    return app_client
