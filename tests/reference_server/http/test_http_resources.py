"""Users and Groups CRUD over HTTP (RFC 7644 sections 3.3, 3.4.1, 3.5.1, 3.6)."""

from __future__ import annotations

import pytest
from scim_http_helpers import (
    ENTERPRISE,
    GROUP_SCHEMA,
    USER_SCHEMA,
    TestClient,
    assert_error,
    new_group,
    new_user,
)

BASE = "http://testserver/scim/v2"


def test_create_returns_201_location_etag_and_meta(client: TestClient) -> None:
    """RFC 7644 section 3.3: 201, Location = meta.location; section 3.14: ETag = meta.version."""
    response = client.post(
        "/Users",
        json={
            "schemas": [USER_SCHEMA],
            "id": "client-chosen",
            "userName": "bjensen",
            "externalId": "ext-1",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] != "client-chosen"  # id is readOnly and server-assigned
    assert body["externalId"] == "ext-1"
    meta = body["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"] == f"{BASE}/Users/{body['id']}"
    assert response.headers["location"] == meta["location"]
    assert response.headers["etag"] == meta["version"] == 'W/"1"'
    assert meta["created"] == meta["lastModified"]
    again = client.get(f"/Users/{body['id']}")
    assert again.status_code == 200
    assert again.json() == body
    assert again.headers["etag"] == 'W/"1"'


def test_unknown_id_is_404(client: TestClient) -> None:
    for method in ("GET", "DELETE"):
        assert_error(client.request(method, "/Users/does-not-exist"), 404)
    body = {"schemas": [USER_SCHEMA], "userName": "x"}
    assert_error(client.put("/Users/does-not-exist", json=body), 404)
    assert_error(client.get("/Groups/does-not-exist"), 404)


def test_user_name_is_unique_case_insensitively(client: TestClient) -> None:
    """RFC 7643 section 4.1.1 (userName uniqueness "server", caseExact false): 409 uniqueness."""
    first = new_user(client, "Alice")
    dup = client.post("/Users", json={"schemas": [USER_SCHEMA], "userName": "aLiCe"})
    assert_error(dup, 409, "uniqueness")
    other = new_user(client, "bob")
    clash = client.put(
        f"/Users/{other['id']}", json={"schemas": [USER_SCHEMA], "userName": "ALICE"}
    )
    assert_error(clash, 409, "uniqueness")
    assert client.get(f"/Users/{first['id']}").json()["userName"] == "Alice"


def test_put_replaces_and_clears_absent_attributes(client: TestClient) -> None:
    """RFC 7644 section 3.5.1: attributes absent from a PUT body are cleared."""
    user = new_user(client, "carol", displayName="Carol", title="Engineer")
    response = client.put(
        f"/Users/{user['id']}",
        json={"schemas": [USER_SCHEMA], "userName": "carol", "title": "Manager"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "Manager"
    assert "displayName" not in body
    assert body["meta"]["version"] == 'W/"2"'
    assert body["meta"]["created"] == user["meta"]["created"]
    assert client.get(f"/Users/{user['id']}").json() == body


def test_delete_is_204_then_404(client: TestClient) -> None:
    user = new_user(client, "dave")
    response = client.delete(f"/Users/{user['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(f"/Users/{user['id']}"), 404)
    assert_error(client.delete(f"/Users/{user['id']}"), 404)


def test_password_is_accepted_and_never_returned(client: TestClient) -> None:
    """RFC 7643 section 4.1.1: password is writeOnly, returned "never"."""
    user = new_user(client, "erin", password="s3cret!")
    assert "password" not in user
    assert "password" not in client.get(f"/Users/{user['id']}").json()
    listed = client.get("/Users", params={"attributes": "password,userName"}).json()
    assert all("password" not in r for r in listed["Resources"])


def test_group_members_come_from_rows_with_display_and_ref(client: TestClient) -> None:
    """RFC 7643 section 4.2: members carry value, $ref, display and type."""
    alice = new_user(client, "alice", displayName="Alice A")
    bob = new_user(client, "bob")
    team = new_group(client, "team", [alice["id"], bob["id"]])
    members = {m["value"]: m for m in team["members"]}
    assert members[alice["id"]] == {
        "value": alice["id"],
        "$ref": f"{BASE}/Users/{alice['id']}",
        "type": "User",
        "display": "Alice A",
    }
    assert members[bob["id"]]["display"] == "bob"
    outer = new_group(client, "outer", [team["id"]])
    assert outer["members"][0]["type"] == "Group"
    assert outer["members"][0]["$ref"] == f"{BASE}/Groups/{team['id']}"


def test_user_groups_are_computed_from_membership(client: TestClient) -> None:
    """RFC 7643 section 4.1.2: a User's readOnly `groups` (direct memberships)."""
    user = new_user(client, "frank")
    group = new_group(client, "Admins", [user["id"]])
    got = client.get(f"/Users/{user['id']}").json()
    assert got["groups"] == [
        {
            "value": group["id"],
            "$ref": f"{BASE}/Groups/{group['id']}",
            "type": "direct",
            "display": "Admins",
        }
    ]
    # groups sent by a client is readOnly: ignored
    again = new_user(client, "grace", groups=[{"value": group["id"]}])
    assert "groups" not in again


def test_unknown_member_is_400_invalid_value(client: TestClient) -> None:
    response = client.post(
        "/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "g", "members": [{"value": "nobody"}]},
    )
    assert_error(response, 400, "invalidValue")
    assert client.get("/Groups").json()["totalResults"] == 0


def test_deleting_a_user_removes_its_memberships(client: TestClient) -> None:
    user = new_user(client, "henry")
    keep = new_user(client, "ivy")
    group = new_group(client, "g", [user["id"], keep["id"]])
    assert client.delete(f"/Users/{user['id']}").status_code == 204
    after = client.get(f"/Groups/{group['id']}")
    assert [m["value"] for m in after.json()["members"]] == [keep["id"]]
    assert after.headers["etag"] != group["meta"]["version"]  # the group changed


def test_put_group_replaces_members(client: TestClient) -> None:
    a, b = new_user(client, "a1"), new_user(client, "b1")
    group = new_group(client, "g", [a["id"]])
    response = client.put(
        f"/Groups/{group['id']}",
        json={"schemas": [GROUP_SCHEMA], "displayName": "g2", "members": [{"value": b["id"]}]},
    )
    assert response.status_code == 200
    assert [m["value"] for m in response.json()["members"]] == [b["id"]]
    emptied = client.put(
        f"/Groups/{group['id']}", json={"schemas": [GROUP_SCHEMA], "displayName": "g2"}
    )
    assert "members" not in emptied.json()


def test_attributes_and_excluded_attributes_on_get(client: TestClient) -> None:
    """RFC 7644 section 3.4.2.5; id and schemas are always returned."""
    user = new_user(client, "jack", displayName="Jack", title="T")
    only = client.get(f"/Users/{user['id']}", params={"attributes": "displayName"}).json()
    assert set(only) == {"schemas", "id", "displayName"}
    without = client.get(f"/Users/{user['id']}", params={"excludedAttributes": "title,meta"}).json()
    assert "title" not in without
    assert without["displayName"] == "Jack"
    assert without["userName"] == "jack"
    group = new_group(client, "big", [user["id"]])
    lean = client.get(f"/Groups/{group['id']}", params={"excludedAttributes": "members"}).json()
    assert "members" not in lean
    assert lean["displayName"] == "big"


def test_enterprise_extension_round_trip(client: TestClient) -> None:
    user = new_user(
        client,
        "kate",
        schemas=[USER_SCHEMA, ENTERPRISE],
        **{ENTERPRISE: {"employeeNumber": "42", "department": "R&D"}},
    )
    assert user[ENTERPRISE] == {"employeeNumber": "42", "department": "R&D"}
    assert ENTERPRISE in user["schemas"]


@pytest.mark.parametrize(
    "body",
    [
        {"schemas": [USER_SCHEMA]},
        {"schemas": [USER_SCHEMA], "userName": ""},
        {"schemas": [USER_SCHEMA], "userName": ["a"]},
        {"schemas": [USER_SCHEMA], "userName": "x", "active": "maybe"},
        {"schemas": ["urn:example:nope"], "userName": "x"},
    ],
)
def test_invalid_bodies_are_400(client: TestClient, body: dict[str, object]) -> None:
    response = client.post("/Users", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["scimType"] in {"invalidValue", "invalidSyntax"}
