"""No input, however broken, produces a 500 (issue 2, point 8): Hypothesis-generated bodies
and query strings against the ASGI app (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scim_http_helpers import GROUP_SCHEMA, USER_SCHEMA, TestClient, new_group, new_user, serve

from reference_server.app import create_app
from reference_server.settings import ServerSettings

FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

_NAMES = [
    "userName", "name", "givenName", "emails", "value", "type", "primary", "active",
    "members", "displayName", "externalId", "schemas", "id", "meta", "groups", "password",
    USER_SCHEMA, GROUP_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "manager", "Operations", "op", "path", "bulkId", "method", "data", "x",
]  # fmt: skip
_keys = st.one_of(st.sampled_from(_NAMES), st.text(max_size=8))
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["True", "False", "bulkId:x", "work", "add", "remove", "replace", "POST"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=20,
)
_bodies = st.dictionaries(_keys, _json, max_size=6)
_TOKENS = [
    "userName", "emails", "[", "]", "(", ")", " eq ", " ne ", " co ", " sw ", " gt ", " pr",
    " and ", " or ", "not ", '"x"', "true", "null", "1.5", "meta.lastModified", ".value",
    "members", '"2024-01-01T00:00:00Z"', "urn:ietf:params:scim:schemas:core:2.0:User:",
    "\\", '"', " ",
]  # fmt: skip
_filters = st.one_of(
    st.lists(st.sampled_from(_TOKENS), max_size=10).map("".join), st.text(max_size=30)
)
_params = st.fixed_dictionaries(
    {},
    optional={
        "filter": _filters,
        "sortBy": st.one_of(
            st.sampled_from(["userName", "emails.value", "x", ""]), st.text(max_size=10)
        ),
        "sortOrder": st.text(max_size=10),
        "startIndex": st.one_of(st.integers().map(str), st.text(max_size=5)),
        "count": st.one_of(st.integers().map(str), st.text(max_size=5)),
        "attributes": st.text(max_size=20),
        "excludedAttributes": st.text(max_size=20),
    },
)


@pytest.fixture
def fuzz_client(tmp_path: Path) -> Iterator[tuple[TestClient, str, str]]:
    token = "fuzz-token"
    app = create_app(
        ServerSettings(database_url=f"sqlite:///{tmp_path}/fuzz.db", bootstrap_token=token)
    )
    with serve(app) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        user = new_user(client, "fuzz.target")
        group = new_group(client, "fuzz group", [user["id"]])
        yield client, user["id"], group["id"]


def _check(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.content:
        assert response.headers["content-type"] == "application/scim+json"
        orjson.loads(response.content)


@FUZZ
@given(body=_bodies, endpoint=st.sampled_from(["/Users", "/Groups", "/Bulk", "/.search"]))
def test_post_bodies_never_500(
    fuzz_client: tuple[TestClient, str, str], body: dict[str, Any], endpoint: str
) -> None:
    client, _, _ = fuzz_client
    _check(client.post(endpoint, json=body))


@FUZZ
@given(body=_bodies, kind=st.sampled_from(["Users", "Groups"]))
def test_put_bodies_never_500(
    fuzz_client: tuple[TestClient, str, str], body: dict[str, Any], kind: str
) -> None:
    client, uid, gid = fuzz_client
    _check(client.put(f"/{kind}/{uid if kind == 'Users' else gid}", json=body))


@FUZZ
@given(raw=st.binary(max_size=64))
def test_raw_bytes_never_500(fuzz_client: tuple[TestClient, str, str], raw: bytes) -> None:
    client, _, _ = fuzz_client
    _check(client.post("/Users", content=raw, headers={"Content-Type": "application/scim+json"}))


@FUZZ
@given(params=_params, path=st.sampled_from(["/Users", "/Groups", ""]))
def test_query_strings_never_500(
    fuzz_client: tuple[TestClient, str, str], params: dict[str, str], path: str
) -> None:
    client, _, _ = fuzz_client
    _check(client.get(path, params=params))


@FUZZ
@given(params=_params)
def test_search_bodies_never_500(
    fuzz_client: tuple[TestClient, str, str], params: dict[str, Any]
) -> None:
    client, _, _ = fuzz_client
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], **params}
    _check(client.post("/Users/.search", json=body))
