"""Groups and membership (RFC 7643 section 4.2, 4.1.2 "groups"; RFC 7644 section 3.5.2).

Members are set by POST and changed by PATCH (add, remove by filter, replace); every change
is read back, so a server that answers 200 and keeps the member (the classic ignored removal)
fails. A User's readOnly "groups" must follow each change. `test_idp_*` checks grade what
Entra and Okta send beyond the RFC: a refusal skips (RFC-strict), a success that changed
nothing fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.discovery import Capabilities
from harness.suite.conftest import CreatedResources
from harness.verdicts import (
    Keyword,
    StateNotApplied,
    StatusMismatch,
    Unsupported,
    ValueMismatch,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
Maker = Callable[..., dict[str, Any]]
ReadBack = Callable[..., dict[str, Any]]


def _url(capabilities: Capabilities, resource_type: str, rid: str) -> str:
    return f"{capabilities.endpoint(resource_type).rstrip('/')}/{rid}"


def patch_group(
    scim: ScimClient, capabilities: Capabilities, group: Mapping[str, Any], *ops: dict[str, Any]
) -> Response:
    """PATCH a Group with these operations."""
    body = {"schemas": [PATCH_OP], "Operations": list(ops)}
    return scim.patch(_url(capabilities, "Group", group["id"]), json=body)


def succeeded(response: Response) -> Response:
    """RFC 7644 3.5.2: a successful PATCH answers 200 (with the resource) or 204."""
    __tracebackhide__ = True
    return expect_status(response, 200, 204)


def members(*users: Mapping[str, Any]) -> dict[str, Any]:
    """The expected "members" state: exactly these users (none: unassigned)."""
    return {"members": [{"value": u["id"]} for u in users] if users else None}


def refs(*users: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A members value list naming these users."""
    return [{"value": u["id"]} for u in users]


def user_groups(
    scim: ScimClient, capabilities: Capabilities, user: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], Response]:
    """The User's "groups" as read back; Unsupported if the server does not publish it."""
    rt = capabilities.resource_type("User")
    schema = capabilities.schema(rt.schema) if rt else None
    attr = schema.attribute("groups") if schema else None
    if attr is None:
        raise Unsupported('the server\'s User schema publishes no "groups" attribute')
    params = {"attributes": "groups"} if attr.returned == "request" else None
    response = expect_status(scim.get(_url(capabilities, "User", user["id"]), params=params), 200)
    groups = response.json_object().get("groups")
    return [g for g in groups or [] if isinstance(g, dict)], response


def expect_groups(
    scim: ScimClient,
    capabilities: Capabilities,
    user: Mapping[str, Any],
    *,
    has: tuple[Mapping[str, Any], ...] = (),
    lacks: tuple[Mapping[str, Any], ...] = (),
    unpopulated: str = "warn",
) -> list[dict[str, Any]]:
    """The User's "groups" lists every group in `has` and none in `lacks`.

    A server that publishes "groups" but returns none for a member is graded SHOULD (it
    does not maintain the attribute; `unpopulated="skip"` skips instead); one that returns
    groups, but stale or wrong ones, fails (MUST).
    """
    __tracebackhide__ = True
    groups, response = user_groups(scim, capabilities, user)
    listed = {str(g.get("value")) for g in groups}
    if has and not groups:
        if unpopulated == "skip":
            raise Unsupported('the server returns no "groups" for a member User')
        raise StateNotApplied(
            'the server publishes the User\'s "groups" but returns none for a member',
            keyword=Keyword.SHOULD,
            expected={"groups containing": [g["id"] for g in has]},
            actual=response.json_object().get("groups"),
            exchanges=[response.exchange],
        )
    missing = [g["id"] for g in has if g["id"] not in listed]
    extra = [g["id"] for g in lacks if g["id"] in listed]
    if missing or extra:
        raise StateNotApplied(
            'the User\'s "groups" does not follow its direct memberships'
            + (f"; missing {missing}" if missing else "")
            + (f"; still listing {extra}" if extra else ""),
            expected={
                "groups containing": [g["id"] for g in has],
                "groups not containing": [g["id"] for g in lacks],
            },
            actual=sorted(listed),
            exchanges=[response.exchange],
        )
    return groups


def group_member_values(
    scim: ScimClient, capabilities: Capabilities, group: Mapping[str, Any]
) -> tuple[list[str], Response]:
    response = expect_status(scim.get(_url(capabilities, "Group", group["id"])), 200)
    found = response.json_object().get("members") or []
    return [str(m.get("value")) for m in found if isinstance(m, dict)], response


def _origin(url: str) -> tuple[str, str, int | None]:
    parsed = httpx.URL(url)
    return parsed.scheme, parsed.host, parsed.port


# -- creating with members ---------------------------------------------------------------------


@clause("rfc7644-3.3-must-3", "rfc7643-4.2-may-1", keyword="MUST")
def test_create_group_with_members(
    capabilities: Capabilities, make_user: Maker, make_group: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 4.2: a Group created with "members" has exactly those members when read back."""
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    read_back(group, {**members(alice, bob), "displayName": group["displayName"]}, "Group")


@clause("rfc7644-3.3-should-1")
def test_create_group_response_lists_members(
    capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.3: the 201 body is the created Group, members included."""
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    listed = {str(m.get("value")) for m in group.get("members") or [] if isinstance(m, dict)}
    if listed != {alice["id"], bob["id"]}:
        raise ValueMismatch(
            "the create response does not list the members the Group was created with",
            expected=sorted([alice["id"], bob["id"]]),
            actual=sorted(listed),
        )


# -- PATCH: add, remove, replace members -----------------------------------------------------


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-1")
def test_add_members_by_patch(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.1: "add" on "members" with a list adds every listed member."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group()
    value = refs(alice, bob)
    succeeded(
        patch_group(scim, capabilities, group, {"op": "add", "path": "members", "value": value})
    )
    read_back(group, members(alice, bob), "Group")


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-1")
def test_add_member_keeps_existing_members(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.1: adding to "members" appends; the existing members stay."""
    capabilities.require("patch")
    alice, bob, carol = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob])
    op = {"op": "add", "path": "members", "value": refs(carol)}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, members(alice, bob, carol), "Group")


@clause("rfc7644-3.5.2.1-should-1")
def test_add_existing_member_is_not_duplicated(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.1: adding a user who is already a member succeeds and changes nothing."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    op = {"op": "add", "path": "members", "value": refs(alice)}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, members(alice, bob), "Group")


@clause("rfc7643-2.4-should-2", "rfc7644-3.5.2.1-should-1")
def test_same_member_twice_in_one_add_is_kept_once(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 2.4: a user listed twice in one "add" becomes one member, not two."""
    capabilities.require("patch")
    alice = make_user()
    group = make_group()
    op = {"op": "add", "path": "members", "value": refs(alice, alice)}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, members(alice), "Group")


@clause("rfc7644-3.5.2.2-must-4", "rfc7644-3.5.2-must-11")
def test_remove_member_by_filter_keeps_the_others(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.2: remove 'members[value eq "id"]' removes that member only."""
    capabilities.require("patch")
    alice, bob, carol = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob, carol])
    op = {"op": "remove", "path": f'members[value eq "{bob["id"]}"]'}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, members(alice, carol), "Group")


@clause("rfc7644-3.5.2.2-must-3", "rfc7644-3.5.2.2-must-5")
def test_remove_last_member_unassigns_members(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.2: removing the only member by filter leaves "members" unassigned."""
    capabilities.require("patch")
    alice = make_user()
    group = make_group(members=[alice])
    op = {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, {**members(), "displayName": group["displayName"]}, "Group")


@clause("rfc7644-3.5.2.2-must-2")
def test_remove_members_without_filter_removes_all(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.2: {"op":"remove","path":"members"} removes every member."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    succeeded(patch_group(scim, capabilities, group, {"op": "remove", "path": "members"}))
    read_back(group, {**members(), "displayName": group["displayName"]}, "Group")


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.3-must-1")
def test_replace_members_replaces_all(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.3: replace on "members" without filter replaces the whole membership."""
    capabilities.require("patch")
    alice, bob, carol = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob])
    op = {"op": "replace", "path": "members", "value": refs(carol)}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, members(carol), "Group")


@clause("rfc7644-3.5.2-must-11", "rfc7644-3.5.2.2-must-4")
def test_remove_and_add_member_in_one_patch(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.2: the RFC's "remove and add a member" PATCH applies both, in order."""
    capabilities.require("patch")
    alice, bob, carol = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob])
    ops = (
        {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'},
        {"op": "add", "path": "members", "value": refs(carol)},
    )
    succeeded(patch_group(scim, capabilities, group, *ops))
    read_back(group, members(bob, carol), "Group")


@clause("rfc7644-3.5.2-must-11", "rfc7644-3.5.2-must-13")
def test_remove_non_member_changes_nothing(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.2: removing a user who is no member changes nothing (success or noTarget)."""
    capabilities.require("patch")
    alice, bob, stranger = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob])
    op = {"op": "remove", "path": f'members[value eq "{stranger["id"]}"]'}
    response = patch_group(scim, capabilities, group, op)
    if response.status >= 300:
        expect_scim_error(response, 400, "noTarget")
    read_back(group, members(alice, bob), "Group")


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2-must-14")
def test_rename_group_keeps_members(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.3: replacing "displayName" renames the Group; its members stay."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    name = f"{group['displayName']} renamed"
    op = {"op": "replace", "path": "displayName", "value": name}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, {"displayName": name, **members(alice, bob)}, "Group")


@clause("rfc7644-3.5.2.2-must-4")
def test_remove_members_by_or_filter(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.2: 'members[value eq "a" or value eq "b"]' removes both, keeps the rest."""
    capabilities.require("patch")
    alice, bob, carol = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob, carol])
    path = f'members[value eq "{alice["id"]}" or value eq "{carol["id"]}"]'
    succeeded(patch_group(scim, capabilities, group, {"op": "remove", "path": path}))
    read_back(group, members(bob), "Group")


@clause("rfc7644-3.5.2.3-must-1", "rfc7643-2.5-must-1")
def test_replace_members_with_empty_list_empties_the_group(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.3: replacing "members" with [] leaves none ([] equals unassigned, 2.5)."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    op = {"op": "replace", "path": "members", "value": []}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, {**members(), "displayName": group["displayName"]}, "Group")


@clause("rfc7644-3.5.2-may-2", "rfc7644-3.5.2-must-5", "rfc7643-4.2-may-1")
def test_add_member_with_type(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 4.2: a member added with its (immutable) "type": "User" is accepted as given."""
    capabilities.require("patch")
    alice = make_user()
    group = make_group()
    value = [{"value": alice["id"], "type": "User"}]
    succeeded(
        patch_group(scim, capabilities, group, {"op": "add", "path": "members", "value": value})
    )
    read_back(group, members(alice), "Group")


@clause("rfc7644-3.5.2.3-must-1")
def test_pathless_replace_renames_group(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.3: {"op":"replace","value":{"displayName":...}} renames, members stay."""
    capabilities.require("patch")
    alice = make_user()
    group = make_group(members=[alice])
    name = f"{group['displayName']} pathless"
    op = {"op": "replace", "value": {"displayName": name}}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, {"displayName": name, **members(alice)}, "Group")


@clause("rfc7643-4.2-may-1", "rfc7644-3.5.2-may-2", keyword="MAY")
def test_add_group_as_member(
    scim: ScimClient,
    capabilities: Capabilities,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 4.2: a member MAY be a Group; if the server accepts a nested Group, it holds it.

    A clean refusal skips (nested groups are optional); a success that adds nothing fails.
    """
    capabilities.require("patch")
    inner, outer = make_group(), make_group()
    op = {"op": "add", "path": "members", "value": [{"value": inner["id"], "type": "Group"}]}
    response = patch_group(scim, capabilities, outer, op)
    if 400 <= response.status < 500:
        expect_scim_error(response, range(400, 500))
        raise Unsupported("the server refuses a Group as a member (nested groups are optional)")
    succeeded(response)
    _must_hold(read_back, outer, {"members": [{"value": inner["id"]}]})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-1")
def test_fifty_members_in_one_patch(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.1: one "add" carrying 50 members adds all 50 (Entra batches members)."""
    capabilities.require("patch")
    users = [make_user() for _ in range(50)]
    group = make_group()
    op = {"op": "add", "path": "members", "value": refs(*users)}
    succeeded(patch_group(scim, capabilities, group, op))
    read_back(group, members(*users), "Group")


@clause("rfc7644-3.5.2-must-11", "rfc7644-3.5.2.2-must-4")
def test_twenty_removals_in_one_patch(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2: twenty "remove" operations in one PATCH are all applied."""
    capabilities.require("patch")
    users = [make_user() for _ in range(30)]
    group = make_group(members=users)
    ops = [{"op": "remove", "path": f'members[value eq "{u["id"]}"]'} for u in users[:20]]
    succeeded(patch_group(scim, capabilities, group, *ops))
    read_back(group, members(*users[20:]), "Group")


@clause("rfc7644-3.5.2-may-1", keyword="SHOULD")
def test_add_member_with_display_and_ref(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2: the RFC's own add-member body (with "display" and "$ref") works.

    A server MAY refuse readOnly "display" in input, hence a warning, not a failure.
    """
    capabilities.require("patch")
    alice = make_user()
    group = make_group()
    ref = scim.url_for(_url(capabilities, "User", alice["id"]))
    value = [
        {"display": alice.get("displayName", "Member"), "$ref": str(ref), "value": alice["id"]}
    ]
    succeeded(
        patch_group(scim, capabilities, group, {"op": "add", "path": "members", "value": value})
    )
    read_back(group, members(alice), "Group")


# -- unknown members -------------------------------------------------------------------------


@clause("rfc7644-3.5.2-must-12", "rfc7644-3.5.2-must-13")
def test_unknown_member_is_refused_or_ignored_atomically(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2: adding a known and an unknown member either succeeds (referential
    integrity is optional, RFC 7643 2.3.7) with the known one added, or fails as a whole."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice])
    value = [{"value": bob["id"]}, {"value": f"scimtest-{uuid.uuid4()}"}]
    response = patch_group(
        scim, capabilities, group, {"op": "add", "path": "members", "value": value}
    )
    if 200 <= response.status < 300:
        values, got = group_member_values(scim, capabilities, group)
        if alice["id"] not in values or bob["id"] not in values:
            raise StateNotApplied(
                "the PATCH was accepted but the known members are not all there",
                expected=[alice["id"], bob["id"]],
                actual=values,
                exchanges=[response.exchange, got.exchange],
            )
        return
    expect_scim_error(response, range(400, 500))
    read_back(group, members(alice), "Group")


@clause("rfc7644-3.12-should-1")
def test_unknown_member_refusal_is_400(
    scim: ScimClient, capabilities: Capabilities, make_group: Maker
) -> None:
    """RFC 7644 3.12: refusing an unknown member is 400 (invalidValue); a 404 would say the
    Group itself does not exist. Accepting it is allowed (RFC 7643 2.3.7)."""
    capabilities.require("patch")
    group = make_group()
    value = [{"value": f"scimtest-{uuid.uuid4()}"}]
    response = patch_group(
        scim, capabilities, group, {"op": "add", "path": "members", "value": value}
    )
    if 200 <= response.status < 300:
        raise Unsupported("the server accepts unknown members (referential integrity is a MAY)")
    expect_scim_error(response, 400)


@clause("rfc7644-3.12-must-1", "rfc7644-3.3-must-3")
def test_unknown_member_on_create_is_clean(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    group_body: Maker,
) -> None:
    """RFC 7644 3.3/3.12: a Group created with an unknown member is either created (201) or
    refused with a SCIM Error; never a half-created Group."""
    endpoint = capabilities.endpoint("Group")
    body = group_body(members=[{"value": f"scimtest-{uuid.uuid4()}"}])
    response = scim.post(endpoint, json=body)
    if response.status == 201:
        created.add(endpoint, response.json_object())
        return
    expect_scim_error(response, range(400, 500))
    listing = scim.get(endpoint, params={"filter": f'displayName eq "{body["displayName"]}"'})
    if listing.status == 200 and (listing.json_object().get("totalResults") or 0) > 0:
        for found in listing.json_object().get("Resources") or []:
            if isinstance(found, dict) and found.get("id"):
                created.add(endpoint, found)
        raise StateNotApplied(
            "the create was refused but the Group exists",
            expected="no Group with that displayName",
            actual=listing.json_object().get("totalResults"),
            exchanges=[response.exchange, listing.exchange],
        )


# -- members' sub-attributes -------------------------------------------------------------------


@clause("rfc7643-2.4-must-2")
def test_member_type_is_user(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 2.4, 4.2: a member's "type", when returned, says "User" for a User member."""
    alice = make_user()
    group = make_group(members=[alice])
    response = expect_status(scim.get(_url(capabilities, "Group", group["id"])), 200)
    found = [m for m in response.json_object().get("members") or [] if isinstance(m, dict)]
    typed = [m.get("type") for m in found if m.get("type") is not None]
    if not found:
        raise StateNotApplied(
            "the Group lists no members",
            expected=alice["id"],
            actual=found,
            exchanges=[response.exchange],
        )
    if not typed:
        raise Unsupported("the server returns no members[].type (it is optional)")
    if any(str(t).lower() != "user" for t in typed):
        raise ValueMismatch(
            'a User member has a "type" other than "User"',
            expected="User",
            actual=typed,
            exchanges=[response.exchange],
        )


@clause("rfc7643-2.3.7-must-1", "rfc7643-2.3.7-must-4")
def test_member_ref_resolves_to_the_user(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 2.3.7: a member's "$ref" is the User's URI; a GET on it returns that User."""
    alice = make_user()
    group = make_group(members=[alice])
    response = expect_status(scim.get(_url(capabilities, "Group", group["id"])), 200)
    found = [m for m in response.json_object().get("members") or [] if isinstance(m, dict)]
    ref = next((m.get("$ref") for m in found if m.get("value") == alice["id"]), None)
    if not ref:
        raise Unsupported("the server returns no members[].$ref (it is optional)")
    ref = str(ref)
    suffix = f"{capabilities.endpoint('User').rstrip('/')}/{alice['id']}"
    if ref.startswith(("http://", "https://")) and scim.origin != _origin(ref):
        # another host (a proxy's public name): never send the token there; judge the path
        if not httpx.URL(ref).path.rstrip("/").endswith(suffix):
            raise ValueMismatch(
                "the member's $ref is not the User's URI",
                expected=f"...{suffix}",
                actual=ref,
                exchanges=[response.exchange],
            )
        return
    # RFC 7643 2.3.7: a relative URI is relative to the service provider's base URI
    target = scim.get(ref if ref.startswith(("http://", "https://")) else f"/{ref.lstrip('/')}")
    expect_status(target, 200, why=f"GET on the member's $ref {ref} did not return the User")
    if target.json_object().get("id") != alice["id"]:
        raise ValueMismatch(
            "the member's $ref leads to another resource",
            expected=alice["id"],
            actual=target.json_object().get("id"),
            exchanges=[response.exchange, target.exchange],
        )


# -- the User's "groups" -----------------------------------------------------------------------


@clause("rfc7643-4.1.2-must-3")
def test_user_groups_lists_membership_from_create(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: a User created into a Group lists it in "groups" (value = Group id)."""
    alice = make_user()
    group = make_group(members=[alice])
    expect_groups(scim, capabilities, alice, has=(group,))


@clause("rfc7643-4.1.2-must-3", "rfc7643-4.1.2-must-4")
def test_user_groups_follows_patch_add(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: after a PATCH adds the User to a Group, its "groups" lists the Group."""
    capabilities.require("patch")
    alice = make_user()
    first, second = make_group(members=[alice]), make_group()
    op = {"op": "add", "path": "members", "value": refs(alice)}
    succeeded(patch_group(scim, capabilities, second, op))
    expect_groups(scim, capabilities, alice, has=(first, second))


@clause("rfc7643-4.1.2-must-3", "rfc7643-4.1.2-must-4")
def test_user_groups_follows_patch_remove(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: after a PATCH removes the User from a Group, "groups" drops it."""
    capabilities.require("patch")
    alice = make_user()
    kept, left = make_group(members=[alice]), make_group(members=[alice])
    op = {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'}
    succeeded(patch_group(scim, capabilities, left, op))
    expect_groups(scim, capabilities, alice, has=(kept,), lacks=(left,))


@clause("rfc7643-4.1.2-must-3", "rfc7643-4.1.2-must-4")
def test_user_groups_follows_members_replace(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: replacing a Group's members updates "groups" of who left and who came."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice])
    op = {"op": "replace", "path": "members", "value": refs(bob)}
    succeeded(patch_group(scim, capabilities, group, op))
    expect_groups(scim, capabilities, alice, lacks=(group,))
    expect_groups(scim, capabilities, bob, has=(group,))


@clause("rfc7643-4.1.2-must-3")
def test_user_groups_ref_is_the_group_uri(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: groups[].$ref MUST be the URI of the Group (when returned)."""
    alice = make_user()
    group = make_group(members=[alice])
    groups = expect_groups(scim, capabilities, alice, has=(group,), unpopulated="skip")
    entry = next(g for g in groups if g.get("value") == group["id"])
    ref = entry.get("$ref")
    if ref is None:
        raise Unsupported("the server returns no groups[].$ref")
    expected = f"{capabilities.endpoint('Group').rstrip('/')}/{group['id']}"
    if not str(ref).rstrip("/").endswith(expected):
        raise ValueMismatch(
            "groups[].$ref is not the Group's URI", expected=f"...{expected}", actual=ref
        )


@clause("rfc7643-4.1.2-should-8")
def test_user_groups_type_is_direct(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: a membership set through the Group resource is "direct" (when typed)."""
    alice = make_user()
    group = make_group(members=[alice])
    groups = expect_groups(scim, capabilities, alice, has=(group,), unpopulated="skip")
    entry = next(g for g in groups if g.get("value") == group["id"])
    if entry.get("type") is None:
        raise Unsupported("the server returns no groups[].type")
    if str(entry.get("type")).lower() != "direct":
        raise ValueMismatch(
            'a direct membership is not typed "direct"', expected="direct", actual=entry.get("type")
        )


@clause("rfc7643-4.1.2-must-4", "rfc7644-3.5.2-must-6", "rfc7644-3.5.2-must-7")
def test_user_groups_cannot_be_patched(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 4.1.2: "groups" is readOnly; a PATCH adding to it fails and joins nothing."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[bob])
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": "groups", "value": [{"value": group["id"]}]}],
    }
    response = scim.patch(_url(capabilities, "User", alice["id"]), json=body)
    if 200 <= response.status < 300:
        raise StatusMismatch(
            'a PATCH of the readOnly "groups" was accepted',
            expected="4xx SCIM Error (mutability)",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, range(400, 500))
    read_back(group, members(bob), "Group")


# -- IdP dialects ----------------------------------------------------------------------------


def idp_outcome(response: Response, what: str) -> None:
    """A clean 4xx SCIM error for an IdP's non-RFC shape is the RFC-strict answer: skip, with
    why (as test_create and test_replace do); a success must then have been applied."""
    __tracebackhide__ = True
    if 400 <= response.status < 500:
        expect_scim_error(response, range(400, 500))
        raise Unsupported(f"the server refuses {what} (RFC-strict; that IdP cannot provision)")
    succeeded(response)


def _emptied_is_rfc_literal(values: list[str], keep: Mapping[str, Any]) -> None:
    """RFC 7644 3.5.2.2: "If the target location is a multi-valued attribute and no filter is
    specified, the attribute and all values are removed": emptying the group is the letter."""
    __tracebackhide__ = True
    if keep["id"] not in values:
        raise Unsupported(
            'the server reads a filterless remove of "members" as the RFC does (all values '
            "removed, RFC 7644 3.5.2.2), so that IdP's single-member removal empties the group"
        )


def _remove_one_member_by_value_list(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    op_name: str,
    what: str,
) -> None:
    """Entra's member removal: {"op": op_name, "path": "members", "value": [{"value": id}]}.
    A refusal or the RFC-literal emptying skips; a success that keeps the member fails."""
    __tracebackhide__ = True
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice, bob])
    op = {"op": op_name, "path": "members", "value": refs(alice)}
    response = patch_group(scim, capabilities, group, op)
    idp_outcome(response, what)
    values, got = group_member_values(scim, capabilities, group)
    if alice["id"] in values:
        raise StateNotApplied(
            "the removal was acknowledged but the member is still there",
            keyword=Keyword.MUST,
            expected=[bob["id"]],
            actual=values,
            exchanges=[response.exchange, got.exchange],
        )
    _emptied_is_rfc_literal(values, bob)


@clause("rfc7644-3.5.2.2-must-2", keyword="SHOULD")
def test_idp_remove_member_with_value_list(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.5.2.2 (IdP dialect, Entra): remove "members" with a value list removes just
    those members. Refusing, or emptying the group (the RFC-literal reading), skips; keeping
    the member after a success is a failure."""
    _remove_one_member_by_value_list(
        scim,
        capabilities,
        make_user,
        make_group,
        "remove",
        "Entra's member removal with a value list",
    )


@clause("rfc7644-3.5.2-must-3", "rfc7644-3.5.2.2-must-2", keyword="SHOULD")
def test_idp_entra_remove_member(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.5.2.2 (IdP dialect, Entra default): {"op":"Remove","path":"members","value":
    [{"value":id}]} removes that member only (refusing or emptying skips; ignoring fails)."""
    _remove_one_member_by_value_list(
        scim,
        capabilities,
        make_user,
        make_group,
        "Remove",
        'Entra\'s "Remove" of a member with a value list',
    )


@clause("rfc7644-3.5.2-must-3", keyword="SHOULD")
def test_idp_entra_add_member(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2 (IdP dialect, Entra): {"op":"Add","path":"members","value":[{"$ref":
    null,"value":id}]} adds the member (a refusal skips, an ignored success fails)."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice])
    op = {"op": "Add", "path": "members", "value": [{"$ref": None, "value": bob["id"]}]}
    idp_outcome(patch_group(scim, capabilities, group, op), 'Entra\'s "Add" of a member')
    _must_hold(read_back, group, members(alice, bob))


@clause("rfc7644-3.5.2.3-must-1", keyword="SHOULD")
def test_idp_okta_rename_with_id_in_value(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2.3 (IdP dialect, Okta): a path-less replace carrying the Group's own
    "id" and a new "displayName" renames it (the id is unchanged, so not a modification)."""
    capabilities.require("patch")
    alice = make_user()
    group = make_group(members=[alice])
    name = f"{group['displayName']} okta"
    op = {"op": "replace", "value": {"id": group["id"], "displayName": name}}
    idp_outcome(patch_group(scim, capabilities, group, op), "Okta's rename carrying the id")
    _must_hold(read_back, group, {"displayName": name, **members(alice)})


def _must_hold(read_back: ReadBack, group: Mapping[str, Any], expected: Mapping[str, Any]) -> None:
    """After an acknowledged PATCH the state must hold: a success that changed nothing fails."""
    __tracebackhide__ = True
    try:
        read_back(group, expected, "Group")
    except StateNotApplied as exc:
        exc.keyword = Keyword.MUST
        exc.message = "the PATCH was acknowledged but not applied: " + exc.message
        raise
