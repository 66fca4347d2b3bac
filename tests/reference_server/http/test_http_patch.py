"""PATCH over HTTP (RFC 7644 section 3.5.2): status, projection, versions, IdP dialects,
and membership as row operations whose cost does not depend on the group's size."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from scim_http_helpers import (
    ENTERPRISE,
    PATCH_OP,
    TestClient,
    assert_error,
    new_group,
    new_user,
)


def _patch(client: TestClient, path: str, ops: list[dict[str, Any]], **kw: Any) -> Any:
    return client.patch(path, json={"schemas": [PATCH_OP], "Operations": ops}, **kw)


def _engine(client: TestClient) -> sa.Engine:
    engine: sa.Engine = client._client._transport.app.state.scim.engine  # type: ignore[attr-defined]
    return engine


def test_patch_answers_200_with_the_resource(client: TestClient) -> None:
    user = new_user(client, "p.one", title="a")
    response = _patch(
        client, f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "b"}]
    )
    assert response.status_code == 200
    body = response.json()
    assert body["title"] == "b"
    assert body["meta"]["version"] == response.headers["etag"] == 'W/"2"'
    assert client.get(f"/Users/{user['id']}").json() == body


def test_patch_honours_attributes(client: TestClient) -> None:
    user = new_user(client, "p.attrs")
    response = _patch(
        client,
        f"/Users/{user['id']}",
        [{"op": "add", "path": "displayName", "value": "P"}],
        params={"attributes": "displayName"},
    )
    assert response.status_code == 200
    assert set(response.json()) == {"schemas", "id", "displayName"}


def test_okta_pathless_active_false(client: TestClient) -> None:
    """Okta deactivates with a path-less replace of {"active": false}."""
    user = new_user(client, "okta.user", active=True)
    response = _patch(
        client, f"/Users/{user['id']}", [{"op": "replace", "value": {"active": False}}]
    )
    assert response.status_code == 200
    assert response.json()["active"] is False


def test_entra_dialect(client: TestClient) -> None:
    """Entra: capitalised ops, "False" strings, filtered paths, a plain-string manager."""
    boss = new_user(client, "boss")
    user = new_user(client, "entra.user", active=True)
    response = _patch(
        client,
        f"/Users/{user['id']}",
        [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": 'emails[type eq "work"].value', "value": "e@x.example"},
            {"op": "Add", "path": f"{ENTERPRISE}:manager", "value": boss["id"]},
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["active"] is False
    assert body["emails"] == [{"type": "work", "value": "e@x.example"}]
    assert body[ENTERPRISE]["manager"]["value"] == boss["id"]


def test_patch_that_changes_nothing_keeps_the_version(client: TestClient) -> None:
    user = new_user(client, "p.same", title="t")
    response = _patch(
        client, f"/Users/{user['id']}", [{"op": "replace", "path": "title", "value": "t"}]
    )
    assert response.status_code == 200
    assert response.headers["etag"] == 'W/"1"'


def test_patch_errors(client: TestClient) -> None:
    user = new_user(client, "p.err")
    path = f"/Users/{user['id']}"
    assert_error(_patch(client, path, [{"op": "move", "path": "title"}]), 400, "invalidSyntax")
    assert_error(client.patch(path, json={"Operations": []}), 400, "invalidSyntax")
    stale = _patch(
        client, path, [{"op": "add", "path": "title", "value": "x"}], headers={"If-Match": 'W/"9"'}
    )
    assert_error(stale, 412)
    assert_error(_patch(client, "/Users/nope", [{"op": "add", "path": "title", "value": "x"}]), 404)


def test_membership_add_and_remove_are_row_operations(client: TestClient) -> None:
    a, b, c = (new_user(client, f"mem.{n}")["id"] for n in "abc")
    group = new_group(client, "g", [a])
    path = f"/Groups/{group['id']}"
    added = _patch(
        client, path, [{"op": "Add", "path": "members", "value": [{"value": b}, {"value": c}]}]
    )
    assert added.status_code == 204  # membership change: no member list in the answer
    assert added.headers["etag"] == 'W/"2"'
    members = {m["value"] for m in client.get(path).json()["members"]}
    assert members == {a, b, c}
    # Entra: remove with a value removes only those members, never the whole group.
    removed = _patch(client, path, [{"op": "Remove", "path": "members", "value": [{"value": b}]}])
    assert removed.status_code == 204
    assert {m["value"] for m in client.get(path).json()["members"]} == {a, c}
    # Okta: remove by filter path
    _patch(client, path, [{"op": "remove", "path": f'members[value eq "{a}"]'}])
    assert [m["value"] for m in client.get(path).json()["members"]] == [c]
    # with attributes the answer is 200 and the representation asked for
    shown = _patch(
        client,
        path,
        [{"op": "replace", "path": "members", "value": [{"value": a}]}],
        params={"excludedAttributes": "members"},
    )
    assert shown.status_code == 200
    assert "members" not in shown.json()
    assert [m["value"] for m in client.get(path).json()["members"]] == [a]
    gone = _patch(client, path, [{"op": "remove", "path": "members"}])
    assert gone.status_code == 204
    assert "members" not in client.get(path).json()


def test_patch_group_rename_answers_200(client: TestClient) -> None:
    group = new_group(client, "old")
    response = _patch(
        client, f"/Groups/{group['id']}", [{"op": "replace", "path": "displayName", "value": "new"}]
    )
    assert response.status_code == 200
    assert response.json()["displayName"] == "new"


def test_adding_unknown_member_is_400_and_changes_nothing(client: TestClient) -> None:
    """RFC 7643 section 2.3.7: the provider "MAY choose to enforce referential integrity"."""
    user = new_user(client, "ri.user")
    group = new_group(client, "ri", [user["id"]])
    path = f"/Groups/{group['id']}"
    response = _patch(
        client, path, [{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]
    )
    assert_error(response, 400, "invalidValue")
    after = client.get(path)
    assert [m["value"] for m in after.json()["members"]] == [user["id"]]
    assert after.headers["etag"] == 'W/"1"'


def test_membership_patch_cost_does_not_grow_with_the_group(client: TestClient) -> None:
    """Issue 2 point 9: the same statements run for a group of 2 and of 200 members."""
    users = [new_user(client, f"n{i}")["id"] for i in range(202)]
    small = new_group(client, "small", users[:2])
    big = new_group(client, "big", users[2:200])
    engine = _engine(client)

    def statements(group_id: str, member: str) -> list[str]:
        seen: list[str] = []

        def record(conn: Any, cursor: Any, stmt: str, *args: Any) -> None:
            if "FROM tokens" not in stmt:  # the token cache may expire in between
                seen.append(stmt)

        sa.event.listen(engine, "before_cursor_execute", record)
        try:
            ops: list[dict[str, Any]] = [
                {"op": "add", "path": "members", "value": [{"value": member}]},
                {
                    "op": "remove",
                    "path": f'members[value eq "{users[0 if group_id == small["id"] else 2]}"]',
                },
            ]
            response = _patch(client, f"/Groups/{group_id}", ops)
            assert response.status_code == 204
            assert response.content == b""
        finally:
            sa.event.remove(engine, "before_cursor_execute", record)
        return seen

    assert statements(small["id"], users[200]) == statements(big["id"], users[201])
    assert len(client.get(f"/Groups/{big['id']}").json()["members"]) == 198


def test_concurrent_membership_patches_lose_nothing(client: TestClient) -> None:
    """Concurrent writers on one group: every add lands, one version per change."""
    users = [new_user(client, f"w{i}")["id"] for i in range(16)]
    group = new_group(client, "hot")
    calls = [
        (
            "PATCH",
            f"/Groups/{group['id']}",
            {
                "json": {
                    "schemas": [PATCH_OP],
                    "Operations": [{"op": "add", "path": "members", "value": [{"value": uid}]}],
                }
            },
        )
        for uid in users
    ]
    responses = client.concurrently(calls)
    assert [r.status_code for r in responses] == [204] * 16
    after = client.get(f"/Groups/{group['id']}")
    assert sorted(m["value"] for m in after.json()["members"]) == sorted(users)
    assert after.headers["etag"] == 'W/"17"'


def test_pathless_replace_carrying_the_resources_own_id_is_accepted_another_is_not(
    client: TestClient,
) -> None:
    """Okta's group rename repeats the group's own id in a path-less value: accepted. Any
    other id is an attempt to change a readOnly attribute (RFC 7643 section 3.1)."""
    group = new_group(client, "renamed-by-okta")
    own = [{"op": "replace", "value": {"id": group["id"], "displayName": "renamed"}}]
    assert _patch(client, f"/Groups/{group['id']}", own).status_code in (200, 204)
    assert client.get(f"/Groups/{group['id']}").json()["displayName"] == "renamed"
    other = [{"op": "replace", "value": {"id": "someone-else", "displayName": "x"}}]
    assert_error(_patch(client, f"/Groups/{group['id']}", other), 400, "mutability")
    assert client.get(f"/Groups/{group['id']}").json()["displayName"] == "renamed"
