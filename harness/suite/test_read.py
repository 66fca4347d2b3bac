"""Retrieving a known resource (RFC 7644 sections 3.4.1 and 3.9).

GET on /{endpoint}/{id} returns the resource; an unknown id is a 404 SCIM error; the
"attributes" and "excludedAttributes" parameters shape what a GET by id returns, never
dropping the attributes returned "always" (id).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.discovery import ENTERPRISE_URN, USER_URN, Capabilities
from harness.validation.messages import validate_message
from harness.verdicts import StatusMismatch, Unsupported, ValueMismatch

Maker = Callable[..., dict[str, Any]]
RESOURCE_TYPES = ["User", "Group"]
SECRET = "Scimtest-Secret-7Qx!pa55"  # noqa: S105 - a throwaway password the suite sets


def _path(capabilities: Capabilities, resource_type: str, rid: str) -> str:
    return f"{capabilities.endpoint(resource_type).rstrip('/')}/{rid}"


def _get(
    scim: ScimClient, capabilities: Capabilities, user: dict[str, Any], **params: str
) -> tuple[Response, dict[str, Any]]:
    response = expect_status(scim.get(_path(capabilities, "User", user["id"]), params=params), 200)
    return response, response.json_object()


def _datetime(value: Any) -> datetime | str | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None if value is None else str(value)


def _has(body: dict[str, Any], name: str) -> bool:
    return any(k.lower() == name.lower() for k in body)


def _lookup(body: dict[str, Any], name: str) -> Any:
    return next((v for k, v in body.items() if k.lower() == name.lower()), None)


def _always(capabilities: Capabilities, resource_type: str = "User") -> set[str]:
    """Names the server publishes as returned "always" (they may appear in any response)."""
    rt = capabilities.resource_type(resource_type)
    schema = capabilities.schema(rt.schema) if rt else None
    return {a.name.lower() for a in (schema.attributes if schema else ()) if a.returned == "always"}


def _expect_keys(
    response: Response,
    body: dict[str, Any],
    capabilities: Capabilities,
    *,
    present: tuple[str, ...] = (),
    absent: tuple[str, ...] = (),
    why: str,
) -> None:
    always = _always(capabilities)
    missing = [k for k in present if not _has(body, k)]
    extra = [
        k for k in absent if k.lower() not in always and _lookup(body, k) not in (None, [], {})
    ]
    if missing or extra:
        raise ValueMismatch(
            why,
            expected={"present": list(present), "absent": list(absent)},
            actual={"missing": missing, "unexpectedly present": extra, "keys": sorted(body)},
            exchanges=[response.exchange],
        )


# -- GET by id -----------------------------------------------------------------------------------


@clause("rfc7644-3.4-may-1", "rfc7644-3.1-must-3")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_get_by_id_returns_the_resource(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.4.1: GET /{endpoint}/{id} answers 200 with that resource, per its schema."""
    made = make_user() if resource_type == "User" else make_group()
    response = expect_status(scim.get(_path(capabilities, resource_type, made["id"])), 200)
    body = response.json_object()
    validate_message(resource_type, body, exchanges=[response.exchange])
    key = "userName" if resource_type == "User" else "displayName"
    if body.get("id") != made["id"] or str(_lookup(body, key)).lower() != str(made[key]).lower():
        raise ValueMismatch(
            "GET by id returned another resource",
            expected={"id": made["id"], key: made[key]},
            actual={"id": body.get("id"), key: _lookup(body, key)},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.1-must-3")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_get_agrees_with_the_create_response(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.1: responses reflect the stored state: GET matches what the 201 returned."""
    made = make_user() if resource_type == "User" else make_group()
    response = expect_status(scim.get(_path(capabilities, resource_type, made["id"])), 200)
    body = response.json_object()
    meta_made = made.get("meta") if isinstance(made.get("meta"), dict) else {}
    meta_got = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta_made, dict)
    assert isinstance(meta_got, dict)
    differ: dict[str, tuple[Any, Any]] = {
        k: (made.get(k), body.get(k))
        for k in ("id", "userName", "displayName", "externalId")
        if k in made and made.get(k) != body.get(k)
    }
    for k in ("created", "location", "resourceType"):
        same = meta_made.get(k) == meta_got.get(k)
        if k == "created":
            same = _datetime(meta_made.get(k)) == _datetime(meta_got.get(k))
        if not same:
            differ[f"meta.{k}"] = (meta_made.get(k), meta_got.get(k))
    if differ:
        raise ValueMismatch(
            "GET disagrees with the representation the create returned",
            expected={k: v[0] for k, v in differ.items()},
            actual={k: v[1] for k, v in differ.items()},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.12-should-1", "rfc7644-3.12-must-1", keyword="SHOULD")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_get_unknown_uuid_is_404(
    scim: ScimClient, capabilities: Capabilities, resource_type: str
) -> None:
    """RFC 7644 3.12: GET of a well-formed id no resource has is 404 with a SCIM Error body."""
    expect_scim_error(scim.get(_path(capabilities, resource_type, str(uuid.uuid4()))), 404)


# -- attributes / excludedAttributes on GET by id (RFC 7644 3.9, 3.4.2.5) -----------------------


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-2")
def test_attributes_returns_requested_and_id(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9: "attributes" overrides the default set: the requested ones plus id."""
    user = make_user()
    response, body = _get(scim, capabilities, user, attributes="userName")
    _expect_keys(response, body, capabilities, present=("id", "userName"),
                 absent=("displayName", "emails", "name", "title", "active"),
                 why='GET ?attributes=userName did not return just userName and id')  # fmt: skip


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_selects_a_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9, 3.10: "attributes=name.givenName" returns that sub-attribute only."""
    user = make_user()
    response, body = _get(scim, capabilities, user, attributes="name.givenName")
    name = _lookup(body, "name")
    ok = isinstance(name, dict) and _has(name, "givenName") and not _has(name, "familyName")
    if not ok or _lookup(body, "displayName") is not None:
        raise ValueMismatch(
            "GET ?attributes=name.givenName did not return just name.givenName (and id)",
            expected={"id": user["id"], "name": {"givenName": user["name"]["givenName"]}},
            actual=body,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attribute_names_are_case_insensitive(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 2.1, RFC 7644 3.9: "attributes=USERNAME" selects userName (names ignore case)."""
    user = make_user()
    response, body = _get(scim, capabilities, user, attributes="USERNAME")
    _expect_keys(
        response,
        body,
        capabilities,
        present=("id", "userName"),
        absent=("displayName", "emails"),
        why="GET ?attributes=USERNAME did not select userName",
    )


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_selects_an_extension_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.10: "attributes=<URN>:department" returns the extension attribute."""
    rt = capabilities.resource_type("User")
    if rt is None or not any(u.lower() == ENTERPRISE_URN.lower() for u, _ in rt.extensions):
        raise Unsupported(f"the User resource type declares no {ENTERPRISE_URN} extension")
    ext = {"department": "Tour Operations", "costCenter": "4130"}
    user = make_user(schemas=[USER_URN, ENTERPRISE_URN], **{ENTERPRISE_URN: ext})
    response, body = _get(scim, capabilities, user, attributes=f"{ENTERPRISE_URN}:department")
    ext = _lookup(body, ENTERPRISE_URN)
    if (
        not isinstance(ext, dict)
        or _lookup(ext, "department") != "Tour Operations"
        or _lookup(ext, "costCenter") is not None
        or _lookup(body, "displayName") is not None
    ):
        raise ValueMismatch(
            "GET ?attributes=<enterprise URN>:department did not return just that attribute",
            expected={"id": user["id"], ENTERPRISE_URN: {"department": "Tour Operations"}},
            actual=body,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-must-2", "rfc7644-3.4.2.5-must-2")
def test_excluded_attributes_are_left_out(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9: "excludedAttributes" removes those attributes and keeps the others."""
    user = make_user()
    response, body = _get(scim, capabilities, user, excludedAttributes="emails,displayName")
    _expect_keys(
        response,
        body,
        capabilities,
        present=("id", "userName", "name"),
        absent=("emails", "displayName"),
        why="GET ?excludedAttributes=emails,displayName kept them or lost others",
    )


@clause("rfc7644-3.4.2.5-must-4", "rfc7644-3.9-must-2")
def test_excluded_attributes_keep_returned_always(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.4.2.5: "excludedAttributes" has no effect on returned=always ("id")."""
    user = make_user()
    response, body = _get(scim, capabilities, user, excludedAttributes="id,displayName")
    if body.get("id") != user["id"]:
        raise ValueMismatch(
            "excludedAttributes=id removed the id (returned always)",
            expected={"id": user["id"]},
            actual={"id": body.get("id")},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-must-1")
def test_attributes_keep_the_schemas_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3, RFC 7644 3.9: a partial representation still names its "schemas"."""
    user = make_user()
    response, body = _get(scim, capabilities, user, attributes="displayName")
    if USER_URN.lower() not in [str(s).lower() for s in body.get("schemas") or []]:
        raise ValueMismatch(
            'GET ?attributes=displayName dropped "schemas"',
            expected=[USER_URN],
            actual=body.get("schemas"),
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-must-1", "rfc7643-7-must-11")
def test_attributes_never_return_a_write_only_value(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 7: even when asked for by name, "password" (returned never) is not returned."""
    user = make_user(password=SECRET)
    response, body = _get(scim, capabilities, user, attributes="password,userName")
    if _has(body, "password"):
        raise ValueMismatch(
            "GET ?attributes=password returned the password",
            expected="no password",
            actual=_lookup(body, "password"),
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-may-1", "rfc7644-3.4.2.5-must-2")
def test_group_attributes_can_leave_out_members(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.9: "excludedAttributes=members" returns the Group without its member list."""
    group = make_group(members=[make_user()])
    path = _path(capabilities, "Group", group["id"])
    response = expect_status(scim.get(path, params={"excludedAttributes": "members"}), 200)
    body = response.json_object()
    members_always = "members" in _always(capabilities, "Group")
    if (_lookup(body, "members") and not members_always) or body.get("id") != group["id"]:
        raise ValueMismatch(
            "GET ?excludedAttributes=members still listed the members (or lost the id)",
            expected={"id": group["id"], "members": "(absent)"},
            actual={"id": body.get("id"), "members": _lookup(body, "members")},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.12-should-1", "rfc7644-3.3.1-must-1", keyword="SHOULD")
def test_user_id_under_groups_is_404(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.12: a User's id is no Group: GET /Groups/{user id} answers 404."""
    user = make_user()
    response = scim.get(_path(capabilities, "Group", user["id"]))
    if response.status == 200:
        raise StatusMismatch(
            "the Groups endpoint serves a User",
            expected="404",
            actual=f"200 {response.text[:200]}",
            exchanges=[response.exchange],
        )
    expect_scim_error(response, 404)


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_takes_several_names(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9: "attributes" is a comma-separated list: each named attribute is returned."""
    user = make_user()
    response, body = _get(scim, capabilities, user, attributes="userName,displayName")
    _expect_keys(
        response,
        body,
        capabilities,
        present=("id", "userName", "displayName"),
        absent=("emails", "name", "title"),
        why="GET ?attributes=userName,displayName did not return just those (and id)",
    )


@clause("rfc7644-3.9-must-2", "rfc7644-3.4.2.5-must-5")
def test_excluded_attributes_drop_a_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9, 3.10: "excludedAttributes=name.familyName" keeps the rest of "name"."""
    user = make_user()
    response, body = _get(scim, capabilities, user, excludedAttributes="name.familyName")
    name = _lookup(body, "name")
    if not isinstance(name, dict) or _has(name, "familyName") or not _has(name, "givenName"):
        raise ValueMismatch(
            "GET ?excludedAttributes=name.familyName did not drop just that sub-attribute",
            expected={"name": {"givenName": user["name"]["givenName"], "familyName": "(absent)"}},
            actual={"name": name},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_select_a_multi_valued_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.9: "attributes=members.value" returns the members' values and not the name."""
    user = make_user()
    group = make_group(members=[user])
    path = _path(capabilities, "Group", group["id"])
    response = expect_status(scim.get(path, params={"attributes": "members.value"}), 200)
    body = response.json_object()
    members = _lookup(body, "members")
    values = [m.get("value") for m in members or [] if isinstance(m, dict)]
    extra = sorted({k for m in members or [] if isinstance(m, dict) for k in m} - {"value"})
    name_back = _lookup(body, "displayName") is not None and "displayname" not in _always(
        capabilities, "Group"
    )
    if values != [user["id"]] or extra or name_back:
        raise ValueMismatch(
            "GET ?attributes=members.value did not return just the members' values",
            expected={"id": group["id"], "members": [{"value": user["id"]}]},
            actual={k: body.get(k) for k in ("displayName", "members")},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-must-2", "rfc7644-3.4.2.5-must-5")
def test_excluded_attributes_drop_an_extension(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9, 3.10: "excludedAttributes=<extension URN>" leaves the extension out."""
    rt = capabilities.resource_type("User")
    if rt is None or not any(u.lower() == ENTERPRISE_URN.lower() for u, _ in rt.extensions):
        raise Unsupported(f"the User resource type declares no {ENTERPRISE_URN} extension")
    ext = {"department": "Excluded Department"}
    user = make_user(schemas=[USER_URN, ENTERPRISE_URN], **{ENTERPRISE_URN: ext})
    response, body = _get(scim, capabilities, user, excludedAttributes=ENTERPRISE_URN)
    if _lookup(body, ENTERPRISE_URN) or not _has(body, "userName"):
        raise ValueMismatch(
            "GET ?excludedAttributes=<enterprise URN> still returned the extension",
            expected={"userName": user["userName"], ENTERPRISE_URN: "(absent)"},
            actual={k: body.get(k) for k in ("userName", ENTERPRISE_URN)},
            exchanges=[response.exchange],
        )
