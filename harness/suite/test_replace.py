"""Replacing resources with PUT (RFC 7644 section 3.5.1; RFC 7643 sections 3.1, 7).

A PUT replaces the readWrite attributes (null and [] clear them), ignores readOnly input
(id, meta, groups), keeps immutable values, never creates a resource, and is read back so a
server that answers 200 and stores nothing is caught.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.discovery import ENTERPRISE_URN, USER_URN, AttributeInfo, Capabilities
from harness.verdicts import Keyword, StateNotApplied, StatusMismatch, Unsupported, ValueMismatch

Maker = Callable[..., dict[str, Any]]
ReadBack = Callable[..., dict[str, Any]]
READ_ONLY = ("id", "meta", "groups")


def _path(capabilities: Capabilities, resource_type: str, rid: str) -> str:
    return f"{capabilities.endpoint(resource_type).rstrip('/')}/{rid}"


def _writable(resource: dict[str, Any]) -> dict[str, Any]:
    """A PUT body from a resource: everything but the readOnly common attributes."""
    return {k: v for k, v in resource.items() if k not in READ_ONLY}


def _put(
    scim: ScimClient,
    capabilities: Capabilities,
    resource: dict[str, Any],
    body: dict[str, Any],
    resource_type: str = "User",
) -> Response:
    return scim.put(_path(capabilities, resource_type, resource["id"]), json=body)


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    meta = body.get("meta")
    return meta if isinstance(meta, dict) else {}


def _datetime(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


# -- replacement takes effect (RFC 7644 3.5, 3.5.1) ------------------------------------------------


@clause("rfc7644-3.5-must-1", "rfc7644-3.5.1-must-2", "rfc7643-7-may-8")
def test_put_replaces_attributes(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1: values provided in a PUT replace the existing attribute values."""
    user = make_user()
    changes = {
        "displayName": "Scimtest Replaced Name",
        "title": "Chief Replacement Officer",
        "name": {"givenName": "Replaced", "familyName": "Person", "formatted": "Replaced Person"},
    }
    expect_status(_put(scim, capabilities, user, {**_writable(user), **changes}), 200)
    read_back(user, changes)


@clause("rfc7644-3.5-must-1", "rfc7644-3.1-must-3")
def test_put_returns_the_replaced_resource(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.5.1: a successful PUT answers 200 with the entire, updated resource."""
    user = make_user()
    body = {**_writable(user), "displayName": "Scimtest Returned After Put"}
    response = expect_status(_put(scim, capabilities, user, body), 200)
    got = response.json_object()
    if got.get("id") != user["id"] or got.get("displayName") != body["displayName"]:
        raise ValueMismatch(
            "the PUT response is not the replaced resource",
            expected={"id": user["id"], "displayName": body["displayName"]},
            actual={"id": got.get("id"), "displayName": got.get("displayName")},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.5.1-may-2", "rfc7644-3.5.1-must-6", keyword="MUST")
def test_put_accepts_the_resource_as_read(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1: clients MAY send all attributes, readOnly ones too (GET, edit, PUT).

    This is how Okta and PingFederate update users; the readOnly values are ignored.
    """
    user = make_user()
    response = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    body = {**response.json_object(), "title": "Scimtest Full Round Trip"}
    expect_status(_put(scim, capabilities, user, body), 200)
    read_back(user, {"title": "Scimtest Full Round Trip"})


@clause("rfc7644-3.5.1-must-2")
def test_put_replaces_a_multi_valued_attribute(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    read_back: ReadBack,
    run_prefix: str,
) -> None:
    """RFC 7644 3.5.1: a multi-valued attribute in a PUT replaces the whole list."""
    user = make_user()
    emails = [{"value": f"{run_prefix}replaced@example.org", "type": "home", "primary": True}]
    expect_status(_put(scim, capabilities, user, {**_writable(user), "emails": emails}), 200)
    read_back(user, {"emails": emails})


@clause("rfc7644-3.5.1-must-2", "rfc7643-3.3-must-2")
def test_put_replaces_extension_attributes(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1, RFC 7643 3.3: extension attributes in their URN container are replaced."""
    rt = capabilities.resource_type("User")
    if rt is None or not any(u.lower() == ENTERPRISE_URN.lower() for u, _ in rt.extensions):
        raise Unsupported(f"the User resource type declares no {ENTERPRISE_URN} extension")
    user = make_user(schemas=[USER_URN, ENTERPRISE_URN],
                     **{ENTERPRISE_URN: {"department": "Before", "costCenter": "1"}})  # fmt: skip
    ext = {"department": "After", "costCenter": "2"}
    body = {**_writable(user), "schemas": [USER_URN, ENTERPRISE_URN], ENTERPRISE_URN: ext}
    expect_status(_put(scim, capabilities, user, body), 200)
    read_back(user, {ENTERPRISE_URN: ext})


@clause("rfc7644-3.5.1-must-2")
def test_put_replaces_group_members(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.1: a Group PUT with a member list makes exactly those the members."""
    alice, bob, carol = make_user(), make_user(), make_user()
    group = make_group(members=[alice, bob])
    members = [{"value": bob["id"]}, {"value": carol["id"]}]
    body = {**_writable(group), "members": members}
    expect_status(_put(scim, capabilities, group, body, "Group"), 200)
    read_back(group, {"members": members}, resource_type="Group")


@clause("rfc7644-3.5-must-1", "rfc7644-3.5.1-must-2")
def test_put_replaces_group_display_name(
    scim: ScimClient, capabilities: Capabilities, make_group: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1: a Group PUT replaces its displayName (the IdP's group rename)."""
    group = make_group()
    name = f"{group['displayName']} renamed"
    body = {**_writable(group), "displayName": name}
    expect_status(_put(scim, capabilities, group, body, "Group"), 200)
    read_back(group, {"displayName": name}, resource_type="Group")


@clause("rfc7643-4.1.1-must-3", "rfc7644-3.5.1-must-2")
def test_put_own_user_name_in_other_case_is_not_a_conflict(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 4.1.1: userName is unique across *other* Users; re-sending one's own name in
    another case is no conflict with oneself."""
    user = make_user()
    body = {**_writable(user), "userName": str(user["userName"]).upper()}
    why = "a PUT re-sending the User's own userName (upper-cased) was refused"
    expect_status(_put(scim, capabilities, user, body), 200, why=why)


@clause("rfc7643-7-may-10", "rfc7643-7-must-11", "rfc7644-3.5.1-must-2", keyword="MUST")
def test_put_sets_a_write_only_password(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 7: a writeOnly attribute (password) MAY be updated at any time, never returned."""
    capabilities.require("changePassword")
    core = capabilities.schema(USER_URN)
    if core is None or core.attribute("password") is None:
        raise Unsupported('the published User schema has no "password" attribute')
    user = make_user()
    secret = f"Scimtest-{uuid.uuid4().hex[:12]}!"
    response = expect_status(
        _put(scim, capabilities, user, {**_writable(user), "password": secret}), 200
    )
    got = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    if secret in response.text or secret in got.text or "password" in got.json_object():
        raise ValueMismatch(
            "the password set by PUT is returned",
            expected="no password in any response",
            actual="(the password appears)",
            exchanges=[response.exchange, got.exchange],
        )


# -- clearing (RFC 7644 3.5.1, RFC 7643 2.5) -------------------------------------------------------


@clause("rfc7644-3.5.1-may-5", "rfc7643-2.5-must-1", keyword="MUST")
def test_put_null_clears_a_single_valued_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1: clients MAY send null for a single-valued attribute to clear it."""
    user = make_user(title="Scimtest Title To Clear")
    expect_status(_put(scim, capabilities, user, {**_writable(user), "title": None}), 200)
    read_back(user, {"title": None})


@clause("rfc7644-3.5.1-may-5", "rfc7643-2.5-must-1", keyword="MUST")
def test_put_empty_array_clears_a_multi_valued_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1: clients MAY send [] for a multi-valued attribute to clear all values."""
    user = make_user(phoneNumbers=[{"value": "tel:+1-201-555-0123", "type": "work"}])
    expect_status(_put(scim, capabilities, user, {**_writable(user), "phoneNumbers": []}), 200)
    read_back(user, {"phoneNumbers": None})


@clause("rfc7644-3.5.1-may-5", "rfc7643-2.5-must-1", keyword="MUST")
def test_put_empty_members_empties_the_group(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.1: a Group PUT with "members": [] leaves the group without members."""
    group = make_group(members=[make_user(), make_user()])
    body = {**_writable(group), "members": []}
    expect_status(_put(scim, capabilities, group, body, "Group"), 200)
    read_back(group, {"members": None}, resource_type="Group")


@clause("rfc7644-3.5.1-may-4", "rfc7644-3.5-must-1", keyword="SHOULD")
def test_put_clears_omitted_attributes(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.1: a PUT replaces the resource, so an omitted readWrite attribute is cleared.

    The RFC lets the server assign a default instead; keeping the old value is a warning.
    """
    user = make_user(title="Scimtest Title To Omit", nickName="scimtest-nick")
    body = {k: v for k, v in _writable(user).items() if k not in ("title", "nickName")}
    put = expect_status(_put(scim, capabilities, user, body), 200)
    response = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    got = response.json_object()
    kept = {k: got[k] for k in ("title", "nickName") if got.get(k) == user.get(k)}
    if kept:
        raise StateNotApplied(
            "attributes left out of the PUT kept their old values (PATCH-like, not replace)",
            expected={"title": None, "nickName": None},
            actual=kept,
            exchanges=[put.exchange, response.exchange],
        )


# -- readOnly input is ignored (RFC 7644 3.5.1, RFC 7643 3.1, 7) ---------------------------------


@clause("rfc7644-3.5.1-must-6", "rfc7643-3.1-must-11", "rfc7643-7-must-9")
def test_put_ignores_read_only_meta(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.5.1: readOnly values in a PUT (meta) are ignored; created does not move."""
    user = make_user()
    forged = {"created": "2001-01-01T00:00:00Z", "resourceType": "Group",
              "location": "https://scimtest.invalid/Users/forged"}  # fmt: skip
    body = {**_writable(user), "meta": forged, "displayName": "Scimtest Meta Ignored"}
    expect_status(_put(scim, capabilities, user, body), 200)
    response = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    meta = _meta(response.json_object())
    stored = {k: v for k, v in forged.items() if meta.get(k) == v}
    moved = _datetime(meta.get("created")) != _datetime(_meta(user).get("created"))
    if stored or moved:
        raise ValueMismatch(
            "readOnly meta values sent in a PUT were stored",
            expected={"created": _meta(user).get("created"), "resourceType": "User"},
            actual={k: meta.get(k) for k in forged},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.5.1-must-6", "rfc7643-4.1.2-must-4")
def test_put_ignores_read_only_groups(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 4.1.2: "groups" is readOnly; a User PUT naming a group does not join it."""
    user, group = make_user(), make_group()
    body = {**_writable(user), "groups": [{"value": group["id"]}]}
    response = _put(scim, capabilities, user, body)
    expect_status(response, 200)
    got = read_back(group, {}, resource_type="Group")
    if any(m.get("value") == user["id"] for m in got.get("members") or []):
        raise StateNotApplied(
            'a readOnly "groups" value in a User PUT changed the group\'s members',
            expected="the group without the user",
            actual=got.get("members"),
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-6", "rfc7644-3.5.1-must-6")
def test_put_does_not_change_the_id(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3.1: "id" is stable; an id in a PUT body does not re-key the resource."""
    user = make_user()
    other = f"scimtest-{uuid.uuid4().hex}"
    put = _put(scim, capabilities, user, {**_writable(user), "id": other})
    if 200 <= put.status < 300 and put.json_object().get("id") not in (None, user["id"]):
        raise ValueMismatch(
            "the PUT response carries the id the client sent",
            expected=user["id"],
            actual=put.json_object().get("id"),
            exchanges=[put.exchange],
        )
    still = scim.get(_path(capabilities, "User", user["id"]))
    moved = scim.get(_path(capabilities, "User", other))
    if still.status != 200 or still.json_object().get("id") != user["id"] or moved.status == 200:
        raise ValueMismatch(
            "the resource changed its id after a PUT",
            expected=f"GET {user['id']} 200, GET {other} 404",
            actual=f"GET {user['id']} {still.status}, GET {other} {moved.status}",
            exchanges=[put.exchange, still.exchange, moved.exchange],
        )


@clause("rfc7643-7-must-9", "rfc7644-3.1-must-3")
def test_put_keeps_created_and_advances_last_modified(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3.1: after a PUT, meta.created is unchanged and lastModified is not earlier."""
    user = make_user()
    response = expect_status(
        _put(scim, capabilities, user, {**_writable(user), "title": "Scimtest Modified"}), 200
    )
    got = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    meta, before = _meta(got.json_object()), _meta(user)
    created, modified = _datetime(meta.get("created")), _datetime(meta.get("lastModified"))
    earlier = _datetime(before.get("lastModified"))
    if (
        created != _datetime(before.get("created"))
        or created is None
        or modified is None
        or earlier is None
        or modified < earlier
        or modified < created
    ):
        raise ValueMismatch(
            "meta.created moved, or lastModified went backwards, after a PUT",
            expected={"created": before.get("created"),
                      "lastModified": f">= {before.get('lastModified')}"},
            actual={"created": meta.get("created"), "lastModified": meta.get("lastModified")},
            exchanges=[response.exchange, got.exchange],
        )  # fmt: skip


# -- refusals (RFC 7644 3.5.1, 3.12; RFC 7643 4.1.1) ----------------------------------------------


@clause("rfc7644-3.5.1-must-1", "rfc7644-3.2-must-1")
def test_put_does_not_create(
    scim: ScimClient, capabilities: Capabilities, user_body: Maker
) -> None:
    """RFC 7644 3.5.1: PUT MUST NOT be used to create a resource: an unknown id stays unknown."""
    path = _path(capabilities, "User", str(uuid.uuid4()))
    response = scim.put(path, json=user_body())
    after = scim.get(path)
    if 200 <= response.status < 300 or after.status == 200:
        raise StatusMismatch(
            "a PUT to an unknown id created the resource",
            expected="404, and GET stays 404",
            actual=f"PUT {response.status}, GET {after.status}",
            exchanges=[response.exchange, after.exchange],
        )


@clause("rfc7644-3.12-should-1", "rfc7644-3.5.1-must-1", keyword="SHOULD")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_put_unknown_id_is_404(
    scim: ScimClient,
    capabilities: Capabilities,
    user_body: Maker,
    group_body: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.12: a PUT to an id that does not exist answers 404 with a SCIM Error."""
    body = user_body() if resource_type == "User" else group_body()
    path = _path(capabilities, resource_type, str(uuid.uuid4()))
    expect_scim_error(scim.put(path, json=body), 404)


@clause("rfc7643-4.1.1-must-2", "rfc7643-4.1.1-must-3")
def test_put_duplicate_user_name_is_refused(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 4.1.1: a PUT cannot give a User another User's userName (in any case)."""
    first, second = make_user(), make_user()
    body = {**_writable(second), "userName": str(first["userName"]).upper()}
    response = _put(scim, capabilities, second, body)
    if 200 <= response.status < 300:
        raise StatusMismatch(
            "a PUT gave two Users the same userName",
            expected="409 uniqueness",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    read_back(second, {"userName": second["userName"]})


@clause("rfc7644-3.12-should-1", "rfc7643-4.1.1-must-2", keyword="SHOULD")
def test_put_duplicate_user_name_is_409_uniqueness(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.12: a PUT creating a userName clash answers 409, scimType "uniqueness"."""
    first, second = make_user(), make_user()
    body = {**_writable(second), "userName": first["userName"]}
    expect_scim_error(_put(scim, capabilities, second, body), 409, "uniqueness")


@clause("rfc7643-4.1.1-must-1")
def test_put_without_user_name_leaves_a_user_name(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 4.1.1: every User has a non-empty userName, also after a PUT that omits it."""
    user = make_user()
    body = {k: v for k, v in _writable(user).items() if k != "userName"}
    response = _put(scim, capabilities, user, body)
    if response.status >= 400:
        expect_scim_error(response, range(400, 500))
        return
    got = expect_status(scim.get(_path(capabilities, "User", user["id"])), 200)
    if not got.json_object().get("userName"):
        raise StateNotApplied(
            "a PUT without userName left the User without one",
            expected="400 invalidValue (or the userName kept)",
            actual=got.json_object().get("userName"),
            exchanges=[response.exchange, got.exchange],
        )


# -- immutable (RFC 7644 3.5.1, RFC 7643 7) -------------------------------------------------------


def _immutable_string(capabilities: Capabilities) -> tuple[str, AttributeInfo] | None:
    for name in ("User", "Group"):
        rt = capabilities.resource_type(name)
        schema = capabilities.schema(rt.schema) if rt else None
        for attr in schema.attributes if schema else ():
            if attr.mutability == "immutable" and attr.type == "string" and not attr.multi_valued:
                return name, attr
    return None


@clause("rfc7644-3.5.1-must-4", "rfc7643-7-must-10", "rfc7643-7-may-9")
def test_put_cannot_change_an_immutable_attribute(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    run_prefix: str,
) -> None:
    """RFC 7644 3.5.1: an immutable value already set must match in a PUT (else 400 mutability)."""
    found = _immutable_string(capabilities)
    if found is None:
        raise Unsupported("the server publishes no single-valued immutable string attribute")
    resource_type, attr = found
    value = f"{run_prefix}immutable-a"
    made = (make_user if resource_type == "User" else make_group)(**{attr.name: value})
    body = {**_writable(made), attr.name: f"{run_prefix}immutable-b"}
    response = _put(scim, capabilities, made, body, resource_type)
    got = expect_status(scim.get(_path(capabilities, resource_type, made["id"])), 200)
    stored = got.json_object().get(attr.name)
    if 200 <= response.status < 300 or stored != value:
        raise StatusMismatch(
            f"a PUT changed the immutable attribute {attr.name}",
            expected=f"400 mutability, {attr.name} still {value!r}",
            actual=f"{response.status}, {attr.name} now {stored!r}",
            exchanges=[response.exchange, got.exchange],
        )
    expect_scim_error(response, 400, "mutability")


# -- what IdPs send in a PUT (MAY accept; an acceptance must apply it) ----------------------------


def _compat_refused(response: Response, what: str) -> None:
    """A clean 4xx SCIM error for non-RFC input is the RFC-strict answer: skip, with why."""
    if 400 <= response.status < 500:
        expect_scim_error(response, range(400, 500))
        raise Unsupported(f"the server refuses {what} (RFC-strict; that IdP cannot update)")


ONELOGIN_SCHEMAS = ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"]


@clause("rfc7643-3-must-3", "rfc7644-3.5.1-must-2", keyword="MAY")
def test_put_accepts_onelogin_legacy_schemas(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 3 (IdP compatibility): OneLogin PUTs with "urn:scim:schemas:core:2.0".

    A server MAY refuse (skip); accepting, it applies the change and returns only the
    schema URNs its resource type declares.
    """
    user = make_user()
    body = {**_writable(user), "schemas": ONELOGIN_SCHEMAS, "title": "Scimtest OneLogin Title"}
    response = _put(scim, capabilities, user, body)
    _compat_refused(response, "non-standard schema URNs in a PUT")
    expect_status(response, 200)
    got = read_back(user, {"title": "Scimtest OneLogin Title"})
    rt = capabilities.resource_type("User")
    assert rt is not None
    declared = {rt.schema.lower(), *(u.lower() for u, _ in rt.extensions)}
    stray = [s for s in got.get("schemas") or [] if str(s).lower() not in declared]
    if stray or rt.schema.lower() not in [str(s).lower() for s in got.get("schemas") or []]:
        raise ValueMismatch(
            "after the OneLogin PUT the User's schemas are not its declared ones",
            keyword=Keyword.MUST,
            expected=sorted(declared),
            actual=got.get("schemas"),
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.1-must-3", keyword="MAY")
def test_put_accepts_boolean_string(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.1 (IdP compatibility): OneLogin templates PUT "active": "false" as a string.

    A server MAY refuse (skip); accepting, it stores the boolean false.
    """
    user = make_user(active=True)
    response = _put(scim, capabilities, user, {**_writable(user), "active": "false"})
    _compat_refused(response, 'the string "false" for a boolean')
    expect_status(response, 200)
    got = read_back(user, {"active": False})
    if got.get("active") is not False:
        raise ValueMismatch(
            'the accepted "false" is not stored as the boolean false',
            keyword=Keyword.MUST,
            expected=False,
            actual=got.get("active"),
            exchanges=[response.exchange],
        )
