"""/Bulk (RFC 7644 section 3.7): bulkId references, failOnErrors, limits, circular refs."""

from __future__ import annotations

import dataclasses
from typing import Any

from scim_http_helpers import (
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    TestClient,
    assert_error,
    new_user,
    serve,
)

from reference_server.app import create_app
from reference_server.settings import ServerSettings

BULK = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def _bulk(client: TestClient, operations: list[dict[str, Any]], **extra: Any) -> Any:
    response = client.post("/Bulk", json={"schemas": [BULK], "Operations": operations, **extra})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [BULK_RESPONSE]
    return body["Operations"]


def _user_op(bulk_id: str, name: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "path": "/Users",
        "bulkId": bulk_id,
        "data": {"schemas": [USER_SCHEMA], "userName": name},
    }


def test_bulk_id_references_resolve_even_forward(client: TestClient) -> None:
    """Section 3.7.2: a Group refers to a User created later in the same request."""
    ops = _bulk(
        client,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "Tour Guides",
                    "members": [{"type": "User", "value": "bulkId:u"}],
                },
            },
            _user_op("u", "guide"),
        ],
    )
    assert [op["status"] for op in ops] == ["201", "201"]
    assert [op["bulkId"] for op in ops] == ["g", "u"]
    group = client.get(ops[0]["location"]).json()
    user_id = ops[1]["location"].rsplit("/", 1)[1]
    assert [m["value"] for m in group["members"]] == [user_id]
    assert ops[0]["version"] == client.get(ops[0]["location"]).headers["etag"]


def test_put_patch_delete_with_versions(client: TestClient) -> None:
    user = new_user(client, "bulk.v")
    path = f"/Users/{user['id']}"
    ops = _bulk(
        client,
        [
            {
                "method": "PUT",
                "path": path,
                "version": 'W/"1"',
                "data": {"schemas": [USER_SCHEMA], "userName": "bulk.v", "title": "x"},
            },
            {
                "method": "PATCH",
                "path": path,
                "version": 'W/"1"',
                "data": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "replace", "path": "title", "value": "y"}],
                },
            },
            {"method": "DELETE", "path": path, "version": 'W/"2"'},
        ],
    )
    assert [op["status"] for op in ops] == ["200", "412", "204"]
    assert ops[1]["response"]["status"] == "412"
    # Section 3.7.3: every result but a failed POST has a location, failures included.
    assert [op["location"] for op in ops] == [f"http://testserver/scim/v2{path}"] * 3
    assert_error(client.get(path), 404)


def test_fail_on_errors_stops_processing(client: TestClient) -> None:
    """Section 3.7.3: after failOnErrors errors the rest is not processed."""
    ops = _bulk(
        client,
        [
            {"method": "DELETE", "path": "/Users/nope-1"},
            {"method": "DELETE", "path": "/Users/nope-2"},
            _user_op("late", "never.created"),
        ],
        failOnErrors=2,
    )
    assert [op["status"] for op in ops] == ["404", "404"]
    assert (
        client.get("/Users", params={"filter": 'userName eq "never.created"'}).json()[
            "totalResults"
        ]
        == 0
    )


def test_errors_are_reported_per_operation(client: TestClient) -> None:
    ops = _bulk(
        client,
        [
            _user_op("a", "dup"),
            _user_op("b", "DUP"),
            {"method": "FETCH", "path": "/Users"},
            {"method": "POST", "path": "/Widgets", "bulkId": "w", "data": {}},
            {"method": "POST", "path": "/Users", "data": {"userName": "no-bulk-id"}},
        ],
    )
    assert [op["status"] for op in ops] == ["201", "409", "400", "400", "400"]
    assert ops[1]["response"]["scimType"] == "uniqueness"


def test_circular_group_references_are_resolved(client: TestClient) -> None:
    """Section 3.7.1: the service provider MUST try to resolve circular references."""
    ops = _bulk(
        client,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "a",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "A",
                    "members": [{"value": "bulkId:b", "type": "Group"}],
                },
            },
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "b",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "B",
                    "members": [{"value": "bulkId:a", "type": "Group"}],
                },
            },
        ],
    )
    assert [op["status"] for op in ops] == ["201", "201"]
    a_id, b_id = (op["location"].rsplit("/", 1)[1] for op in ops)
    a = client.get(f"/Groups/{a_id}").json()
    b = client.get(f"/Groups/{b_id}").json()
    assert [m["value"] for m in a["members"]] == [b_id]
    assert [m["value"] for m in b["members"]] == [a_id]


def test_unresolvable_bulk_id_is_409(client: TestClient) -> None:
    ops = _bulk(
        client,
        [
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g",
                "data": {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": "G",
                    "members": [{"value": "bulkId:missing"}],
                },
            }
        ],
    )
    assert ops[0]["status"] == "409"


def test_limits_are_413(settings: ServerSettings, token: str) -> None:
    """Section 3.7.4: over maxOperations or maxPayloadSize: 413."""
    small = dataclasses.replace(settings, bulk_max_operations=2, bulk_max_payload_size=2048)
    with serve(create_app(small)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        three = [_user_op(str(i), f"u{i}") for i in range(3)]
        body = {"schemas": [BULK], "Operations": three}
        assert "2" in assert_error(c.post("/Bulk", json=body), 413)["detail"]
        big = [_user_op("x", "x" * 4000)]
        assert_error(c.post("/Bulk", json={"schemas": [BULK], "Operations": big}), 413)
        assert c.get("/Users").json()["totalResults"] == 0


def test_bulk_request_needs_its_schema(client: TestClient) -> None:
    assert_error(client.post("/Bulk", json={"Operations": []}), 400, "invalidValue")
