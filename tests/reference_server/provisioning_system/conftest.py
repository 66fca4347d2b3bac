"""Fixtures for the provisioning tests: a server with a given policy (and break), on SQLite
and, when SCIM_TEST_POSTGRES_URL is set, on PostgreSQL (the HTTP tests' session database).

The folder is not called `provisioning`: where tests/ is on sys.path (tests/checks), a
tests/reference_server/provisioning directory shadows the package
reference_server.provisioning.
"""

from __future__ import annotations

import importlib.util
import secrets
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from provisioning_helpers import _HTTP, POLICY, Env, MakeEnv
from scim_http_helpers import ADMIN_TOKEN, serve

from reference_server.app import create_app
from reference_server.settings import ServerSettings


def _http_conftest() -> Any:
    spec = importlib.util.spec_from_file_location("_http_conftest", _HTTP / "conftest.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The HTTP tests' storage parametrization: a SQLite file per test, and the session's
# PostgreSQL database when SCIM_TEST_POSTGRES_URL is set.
_http = _http_conftest()
postgres_url = _http.postgres_url
database_url = _http.database_url


@pytest.fixture
def make_env(database_url: str) -> Iterator[MakeEnv]:
    """`make_env(policy, broken=None)`: a server whose bootstrap organization has `policy`
    (None: no policy) and which breaks the promise `broken` (`--break`)."""
    with ExitStack() as stack:

        def make(policy: dict[str, Any] | None = None, broken: str | None = None) -> Env:
            token = secrets.token_urlsafe(24)
            settings = ServerSettings(
                database_url=database_url,
                bootstrap_token=token,
                admin_token=ADMIN_TOKEN,
                bootstrap_org_name=f"org-{uuid.uuid4().hex}",
                policy=policy,
                break_promise=broken,
                allow_break=broken is not None,
            )
            client = stack.enter_context(serve(create_app(settings)))
            client.headers["Authorization"] = f"Bearer {token}"
            state = client._client._transport.app.state.scim  # type: ignore[attr-defined]
            return Env(client, state.bootstrap_tenant, token, state)

        yield make


@pytest.fixture
def env(make_env: MakeEnv) -> Env:
    """A server whose bootstrap organization has the default policy, example.com, cap 3."""
    return make_env(POLICY)
