"""Constants and small helpers shared by the HTTP tests (imported by module name)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.applications import Starlette

__all__ = [
    "ADMIN_TOKEN",
    "BASE",
    "ENTERPRISE",
    "ERROR",
    "GROUP_SCHEMA",
    "PATCH_OP",
    "SCIM_JSON",
    "USER_SCHEMA",
    "TestClient",
    "assert_error",
    "new_group",
    "new_user",
    "serve",
]

ADMIN_TOKEN = "admin-" + secrets.token_urlsafe(16)
BASE = "http://testserver/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
SCIM_JSON = "application/scim+json"


class TestClient:
    """A synchronous face over httpx.AsyncClient + ASGITransport on one event loop.

    (starlette's TestClient warns about httpx in this starlette version.)
    """

    __test__ = False  # not a test class

    def __init__(self, runner: asyncio.Runner, client: httpx.AsyncClient) -> None:
        self._runner = runner
        self._client = client

    @property
    def headers(self) -> httpx.Headers:
        return self._client.headers

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        return self._runner.run(self._client.request(method, url, **kwargs))

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)

    def concurrently(self, calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
        """Send (method, url, kwargs) requests at once on the event loop."""

        async def run_all() -> list[httpx.Response]:
            return list(
                await asyncio.gather(*(self._client.request(m, u, **kw) for m, u, kw in calls))
            )

        return self._runner.run(run_all())


@contextmanager
def serve(app: Starlette, base_url: str = BASE) -> Iterator[TestClient]:
    """Run the app's lifespan and yield a client talking to it in-process."""
    with asyncio.Runner() as runner:
        lifespan = app.router.lifespan_context(app)
        runner.run(lifespan.__aenter__())
        try:
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url=base_url)
            try:
                yield TestClient(runner, client)
            finally:
                runner.run(client.aclose())
        finally:
            runner.run(lifespan.__aexit__(None, None, None))


def new_user(client: TestClient, user_name: str, **extra: Any) -> dict[str, Any]:
    body = {"schemas": [USER_SCHEMA], "userName": user_name, **extra}
    response = client.post("/Users", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def new_group(client: TestClient, name: str, members: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": name}
    if members:
        body["members"] = [{"value": m} for m in members]
    response = client.post("/Groups", json=body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def assert_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM Error body (RFC 7644 section 3.12) with this status and scimType."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_JSON)
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body
