"""The direct dispatch of the resource routes (`reference_server.app.ScimServer`) answers
every request exactly as Starlette's router and middleware answer it, on SQLite and
PostgreSQL: same status, headers that matter, and body; routes and methods it does not
take fall through to the router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from scim_http_helpers import (
    BASE,
    GROUP_SCHEMA,
    USER_SCHEMA,
    TestClient,
    assert_error,
    new_user,
    serve,
)
from starlette.applications import Starlette
from starlette.types import Message, Receive, Scope, Send

from reference_server.app import ScimServer, create_app
from reference_server.settings import ServerSettings

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
COMPARED_HEADERS = ("content-type", "etag", "location", "www-authenticate", "allow")


@pytest.fixture
def pair(settings: ServerSettings, token: str) -> Iterator[tuple[TestClient, TestClient]]:
    """(direct, routed): the same app and database, with and without the direct dispatch."""
    app = create_app(settings)
    assert isinstance(app, ScimServer)

    async def routed_app(scope: Scope, receive: Receive, send: Send) -> None:
        await Starlette.__call__(app, scope, receive, send)

    with serve(app) as direct:
        direct.headers["Authorization"] = f"Bearer {token}"
        routed_client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=routed_app),
            base_url=BASE,
            headers={"Authorization": f"Bearer {token}"},
        )
        routed = TestClient(direct._runner, routed_client)
        try:
            yield direct, routed
        finally:
            direct._runner.run(routed_client.aclose())


def _same(direct: httpx.Response, routed: httpx.Response) -> None:
    assert direct.status_code == routed.status_code, (direct.text, routed.text)
    for name in COMPARED_HEADERS:
        assert direct.headers.get(name) == routed.headers.get(name), name
    assert direct.content == routed.content


def test_reads_errors_and_fallbacks_answer_alike(pair: tuple[TestClient, TestClient]) -> None:
    direct, routed = pair
    user = new_user(direct, "dispatch@example.com", externalId="ext-d")
    group = direct.post(
        "/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "d", "members": [{"value": user["id"]}]},
    ).json()
    uid, gid = user["id"], group["id"]
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/Users", {}),
        ("GET", "/Users/", {}),
        ("GET", "/Users", {"params": {"filter": 'userName eq "dispatch@example.com"'}}),
        ("GET", "/Users", {"params": {"filter": "userName eq"}}),  # 400 invalidFilter
        ("GET", f"/Users/{uid}", {}),
        ("GET", f"/Users/{uid}/", {"params": {"attributes": "userName"}}),
        ("GET", f"/Users/{uid}", {"headers": {"If-None-Match": user["meta"]["version"]}}),
        ("GET", "/Users/no-such-id", {}),
        ("GET", f"/Groups/{gid}", {}),
        ("GET", f"/Groups/{uid}", {}),  # a User's id under /Groups: 404
        ("POST", "/Users/.search", {"json": {"schemas": [SEARCH], "filter": "userName pr"}}),
        ("POST", "/Groups/.search", {"content": b"{not json"}),
        ("PATCH", f"/Users/{uid}", {"json": {"schemas": [PATCH], "Operations": "x"}}),
        ("PUT", f"/Users/{uid}", {"content": b"[]"}),
        ("DELETE", f"/Users/{uid}", {"headers": {"If-Match": 'W/"999"'}}),
        ("POST", "/Users", {"json": {"schemas": [GROUP_SCHEMA], "userName": 3}}),
        # Not taken by the direct dispatch: the router answers both alike.
        ("PUT", "/Users", {"json": {}}),
        ("DELETE", "/Groups", {}),
        ("POST", f"/Users/{uid}", {"json": {}}),
        ("GET", "/Users/.search", {}),
        ("GET", f"/Users/{uid}/extra", {}),
        ("GET", "/Widgets", {}),
        ("HEAD", f"/Users/{uid}", {}),
    ]
    for method, path, kwargs in requests:
        _same(direct.request(method, path, **kwargs), routed.request(method, path, **kwargs))
    anonymous = {"headers": {"Authorization": "Bearer wrong"}}
    _same(direct.get("/Users", **anonymous), routed.get("/Users", **anonymous))
    assert_error(direct.get("/Users", **anonymous), 401)


def test_writes_answer_alike(pair: tuple[TestClient, TestClient]) -> None:
    """Create, replace, patch and delete through each: same statuses and shapes."""
    direct, routed = pair
    for n, client in enumerate((direct, routed)):
        created = client.post(
            "/Users", json={"schemas": [USER_SCHEMA], "userName": f"w{n}@example.com"}
        )
        assert created.status_code == 201
        assert created.headers["location"].endswith(f"/Users/{created.json()['id']}")
        uid = created.json()["id"]
        patched = client.patch(
            f"/Users/{uid}",
            json={
                "schemas": [PATCH],
                "Operations": [{"op": "replace", "path": "title", "value": "t"}],
            },
        )
        assert patched.status_code == 200
        assert patched.json()["title"] == "t"
        assert patched.headers["etag"] == 'W/"2"'
        replaced = client.put(
            f"/Users/{uid}", json={"schemas": [USER_SCHEMA], "userName": f"w{n}@example.com"}
        )
        assert replaced.status_code == 200
        assert "title" not in replaced.json()
        assert client.delete(f"/Users/{uid}").status_code == 204
        assert_error(client.get(f"/Users/{uid}"), 404)


def test_an_unexpected_error_on_a_direct_route_is_a_scim_500(
    pair: tuple[TestClient, TestClient],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug behind a directly dispatched route answers 500 with a SCIM Error body and
    logs the traceback, as the full stack does."""
    from reference_server.endpoints import operations

    def broken(*_args: object) -> None:
        raise RuntimeError("internal-secret-detail")

    monkeypatch.setattr(operations, "read", broken)
    direct, routed = pair
    for client in (direct, routed):
        response = client.get("/Users/some-id")
        body = assert_error(response, 500)
        assert "internal-secret-detail" not in response.text
        assert "logged" in body["detail"]
    assert caplog.text.count("unexpected error on GET /scim/v2/Users/some-id") == 2


def test_a_client_that_leaves_before_its_body_gets_no_answer_and_no_error_log(
    pair: tuple[TestClient, TestClient], token: str, caplog: pytest.LogCaptureFixture
) -> None:
    direct, _ = pair
    app = direct._client._transport.app  # type: ignore[attr-defined]
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/scim/v2/Users",
        "raw_path": b"/scim/v2/Users",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"testserver")],
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 5000),
    }
    direct._runner.run(app(scope, receive, send))
    assert sent == []
    assert "unexpected error" not in caplog.text


def test_a_body_in_several_messages_is_joined_and_its_size_is_capped(
    pair: tuple[TestClient, TestClient], settings: ServerSettings
) -> None:
    """A streamed body (no Content-Length, several ASGI messages) is read whole; past the
    limit it is a 413 even though no length was declared (RFC 7644 section 3.12)."""
    body = orjson.dumps({"schemas": [USER_SCHEMA], "userName": "streamed@example.com"})
    over = b" " * (settings.bulk_max_payload_size + 1)

    async def pieces(data: bytes) -> AsyncIterator[bytes]:
        step = 7 if len(data) < 4096 else 4096  # many small messages, or a few big ones
        for i in range(0, len(data), step):
            yield data[i : i + step]

    for n, client in enumerate(pair):
        created = client.post(
            "/Users",
            content=pieces(body.replace(b"streamed", f"streamed{n}".encode())),
            headers={"Content-Type": "application/scim+json"},
        )
        assert created.status_code == 201, created.text
        assert created.json()["userName"] == f"streamed{n}@example.com"
        too_big = client.post(
            "/Users",
            content=pieces(over[:-1] + b"x"),
            headers={"Content-Type": "application/scim+json"},
        )
        assert_error(too_big, 413)
