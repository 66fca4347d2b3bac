"""Versioning (RFC 7644 section 3.14): ETag, If-Match and If-None-Match."""

from __future__ import annotations

from scim_http_helpers import USER_SCHEMA, TestClient, assert_error, new_user


def test_get_with_matching_if_none_match_is_304(client: TestClient) -> None:
    user = new_user(client, "etag.a")
    path = f"/Users/{user['id']}"
    cached = client.get(path, headers={"If-None-Match": 'W/"1"'})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == 'W/"1"'
    fresh = client.get(path, headers={"If-None-Match": 'W/"7"'})
    assert fresh.status_code == 200
    assert fresh.json()["id"] == user["id"]


def test_put_with_stale_if_match_is_412_and_changes_nothing(client: TestClient) -> None:
    user = new_user(client, "etag.b", title="one")
    path = f"/Users/{user['id']}"
    body = {"schemas": [USER_SCHEMA], "userName": "etag.b", "title": "two"}
    ok = client.put(path, json=body, headers={"If-Match": 'W/"1"'})
    assert ok.status_code == 200
    assert ok.headers["etag"] == 'W/"2"'
    stale = client.put(path, json={**body, "title": "three"}, headers={"If-Match": 'W/"1"'})
    assert_error(stale, 412)
    assert client.get(path).json()["title"] == "two"


def test_if_match_star_and_lists(client: TestClient) -> None:
    user = new_user(client, "etag.c")
    path = f"/Users/{user['id']}"
    body = {"schemas": [USER_SCHEMA], "userName": "etag.c"}
    assert client.put(path, json=body, headers={"If-Match": "*"}).status_code == 200
    listed = client.put(path, json=body, headers={"If-Match": 'W/"9", W/"2"'})
    assert listed.status_code == 200


def test_delete_with_stale_if_match_is_412(client: TestClient) -> None:
    user = new_user(client, "etag.d")
    path = f"/Users/{user['id']}"
    assert_error(client.delete(path, headers={"If-Match": 'W/"5"'}), 412)
    assert client.get(path).status_code == 200
    assert client.delete(path, headers={"If-Match": 'W/"1"'}).status_code == 204


def test_write_with_matching_if_none_match_is_412(client: TestClient) -> None:
    """RFC 7232 section 3.2: If-None-Match that matches fails a state-changing method."""
    user = new_user(client, "etag.e")
    body = {"schemas": [USER_SCHEMA], "userName": "etag.e"}
    response = client.put(f"/Users/{user['id']}", json=body, headers={"If-None-Match": "*"})
    assert_error(response, 412)


def test_every_resource_response_has_an_etag(client: TestClient) -> None:
    user = new_user(client, "etag.f")
    for response in (
        client.get(f"/Users/{user['id']}"),
        client.put(f"/Users/{user['id']}", json={"schemas": [USER_SCHEMA], "userName": "etag.f"}),
    ):
        assert response.headers["etag"] == response.json()["meta"]["version"]
