"""Deleting resources (RFC 7644 section 3.6).

A DELETE answers 204; afterwards every operation on the resource is 404, it is gone from
query results, its userName is free again, and groups no longer list a deleted member.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.discovery import Capabilities
from harness.suite.conftest import CreatedResources
from harness.verdicts import StateNotApplied, StatusMismatch, Unsupported, ValueMismatch

Maker = Callable[..., dict[str, Any]]
RESOURCE_TYPES = ["User", "Group"]
PATCH_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _path(capabilities: Capabilities, resource_type: str, rid: str) -> str:
    return f"{capabilities.endpoint(resource_type).rstrip('/')}/{rid}"


def _make(resource_type: str, make_user: Maker, make_group: Maker) -> dict[str, Any]:
    return make_user() if resource_type == "User" else make_group()


def _delete(scim: ScimClient, capabilities: Capabilities, resource_type: str,
            resource: dict[str, Any]) -> Response:  # fmt: skip
    """DELETE a created resource, as a prerequisite: it must answer 2xx."""
    path = _path(capabilities, resource_type, resource["id"])
    return expect_status(scim.delete(path), 200, 204, why=f"DELETE {path} did not succeed")


def _gone(response: Response, what: str) -> None:
    if response.status != 404:
        raise StatusMismatch(
            f"{what} of a deleted resource answered {response.status}",
            expected="404 Not Found",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, 404)


@clause("rfc7644-3.6-must-3")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_delete_answers_204(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.6: a successful DELETE answers 204 No Content."""
    made = _make(resource_type, make_user, make_group)
    response = scim.delete(_path(capabilities, resource_type, made["id"]))
    expect_status(response, 204)
    if response.content.strip():
        raise ValueMismatch(
            "the 204 answer to DELETE carries a body",
            expected="no body",
            actual=response.text[:200],
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.6-must-1")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_deleted_resource_is_404_on_get(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.6: after a DELETE, a GET of the resource answers 404."""
    made = _make(resource_type, make_user, make_group)
    _delete(scim, capabilities, resource_type, made)
    _gone(scim.get(_path(capabilities, resource_type, made["id"])), "GET")


@clause("rfc7644-3.6-must-1")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_deleting_twice_is_404(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.6: a second DELETE of the same resource answers 404."""
    made = _make(resource_type, make_user, make_group)
    _delete(scim, capabilities, resource_type, made)
    _gone(scim.delete(_path(capabilities, resource_type, made["id"])), "a second DELETE")


@clause("rfc7644-3.6-must-1")
def test_deleted_resource_is_404_on_put(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.6: after a DELETE, a PUT to the resource answers 404 (and re-creates nothing)."""
    user = make_user()
    _delete(scim, capabilities, "User", user)
    body = {k: v for k, v in user.items() if k not in ("id", "meta", "groups")}
    _gone(scim.put(_path(capabilities, "User", user["id"]), json=body), "PUT")


@clause("rfc7644-3.6-must-1")
def test_deleted_resource_is_404_on_patch(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.6: after a DELETE, a PATCH of the resource answers 404."""
    capabilities.require("patch")
    user = make_user()
    _delete(scim, capabilities, "User", user)
    replace = {"op": "replace", "path": "displayName", "value": "Scimtest Ghost"}
    op = {"schemas": [PATCH_URN], "Operations": [replace]}
    _gone(scim.patch(_path(capabilities, "User", user["id"]), json=op), "PATCH")


@clause("rfc7644-3.6-must-2")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_deleted_resource_is_omitted_from_filtered_queries(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.6: a deleted resource is omitted from future query results."""
    capabilities.require("filter")
    made = _make(resource_type, make_user, make_group)
    _delete(scim, capabilities, resource_type, made)
    key = "userName" if resource_type == "User" else "displayName"
    query = {"filter": f'{key} eq "{made[key]}"'}
    response = expect_status(scim.get(capabilities.endpoint(resource_type), params=query), 200)
    body = response.json_object()
    ids = [r.get("id") for r in body.get("Resources") or [] if isinstance(r, dict)]
    if made["id"] in ids or body.get("totalResults") not in (0, None):
        raise ValueMismatch(
            f"a deleted {resource_type} is still returned by a query",
            expected={"totalResults": 0, "Resources": []},
            actual={"totalResults": body.get("totalResults"), "ids": ids},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.6-must-2")
def test_deleted_user_is_omitted_from_listing(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.6: a deleted resource is not in a plain listing, paged to its end."""
    user = make_user()
    _delete(scim, capabilities, "User", user)
    start, seen = 1, 0
    for _ in range(50):  # bounded: at most 50 pages
        page = expect_status(
            scim.get(capabilities.endpoint("User"), params={"startIndex": start, "count": 200}),
            200,
        )
        resources = [r for r in page.json_object().get("Resources") or [] if isinstance(r, dict)]
        if any(r.get("id") == user["id"] for r in resources):
            raise ValueMismatch(
                "a deleted User is still listed",
                expected=f"no resource with id {user['id']}",
                actual="listed",
                exchanges=[page.exchange],
            )
        seen += len(resources)
        total = page.json_object().get("totalResults")
        if not resources or not isinstance(total, int) or seen >= total:
            return
        start += len(resources)


@clause("rfc7644-3.6-should-1", "rfc7644-3.6-should-2")
def test_deleted_user_name_can_be_reused(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    make_user: Maker,
    user_body: Maker,
) -> None:
    """RFC 7644 3.6: a deleted User's userName SHOULD NOT cause a 409 on a new create."""
    user = make_user()
    _delete(scim, capabilities, "User", user)
    endpoint = capabilities.endpoint("User")
    response = scim.post(endpoint, json=user_body(userName=user["userName"]))
    if response.status == 201:
        created.add(endpoint, response.json_object())
    expect_status(response, 201, why="re-creating a deleted User's userName was refused")


@clause("rfc7644-3.12-should-1", "rfc7644-3.6-must-1", keyword="SHOULD")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_delete_unknown_id_is_404(
    scim: ScimClient, capabilities: Capabilities, resource_type: str
) -> None:
    """RFC 7644 3.12: a DELETE of an id that never existed answers 404 with a SCIM Error."""
    expect_scim_error(scim.delete(_path(capabilities, resource_type, str(uuid.uuid4()))), 404)


@clause("rfc7644-3.6-must-1", keyword="SHOULD")
def test_deleted_user_leaves_its_groups(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.6: deleting a User that is a member leaves the group's other members.

    "A SCIM service provider MAY choose to enforce referential integrity" (RFC 7643 2.3.7):
    a group still listing the deleted member is a skip, not a finding; losing the other
    member is a warning.
    """
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    _delete(scim, capabilities, "User", alice)
    response = expect_status(scim.get(_path(capabilities, "Group", group["id"])), 200)
    members = [m.get("value") for m in response.json_object().get("members") or []]
    if bob["id"] not in members:
        raise StateNotApplied(
            "after deleting one member, the group lost the other member",
            expected=[bob["id"]],
            actual=members,
            exchanges=[response.exchange],
        )
    if alice["id"] in members:
        raise Unsupported(
            "the group still lists the deleted member (referential integrity is a MAY, "
            "RFC 7643 2.3.7)"
        )


@clause("rfc7644-3.6-must-1", keyword="SHOULD")
def test_deleted_group_leaves_its_members(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.6: a deleted Group no longer appears in its former members' "groups"."""
    user = make_user()
    group = make_group(members=[user])
    _delete(scim, capabilities, "Group", group)
    response = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    groups = [g.get("value") for g in response.json_object().get("groups") or []]
    if group["id"] in groups:
        raise StateNotApplied(
            "a deleted Group still appears in its member's groups",
            expected="groups without the deleted Group",
            actual=groups,
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-6", "rfc7643-3.1-must-5")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_deleted_id_is_not_reassigned(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: "id" is non-reassignable: a resource created after a DELETE gets a new id."""
    gone = _make(resource_type, make_user, make_group)
    _delete(scim, capabilities, resource_type, gone)
    fresh = _make(resource_type, make_user, make_group)
    if fresh["id"] == gone["id"]:
        raise ValueMismatch(
            "the id of a deleted resource was given to a new one",
            expected=f"an id other than {gone['id']}",
            actual=fresh["id"],
            exchanges=list(scim.recorder.exchanges)[-1:],
        )
