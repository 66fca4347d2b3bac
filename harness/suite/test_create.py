"""Creating resources (RFC 7644 section 3.3; RFC 7643 sections 3.1, 4).

A POST to a resource endpoint answers 201 with the created resource, its URI in Location
and meta.location; readOnly input is ignored; required attributes and userName uniqueness
are enforced; the bodies real IdPs send (Entra's meta and empty roles, nulls) are accepted.
Where an IdP departs from the RFC ("True" strings, a plain-string manager) the server MAY
refuse; a refusal skips with the reason, an acceptance must keep what was sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.discovery import ENTERPRISE_URN, USER_URN, Capabilities
from harness.suite.conftest import CreatedResources
from harness.validation.messages import validate_message
from harness.validation.published import validate_published
from harness.verdicts import (
    HeaderMismatch,
    Keyword,
    StateNotApplied,
    StatusMismatch,
    Unsupported,
    ValueMismatch,
)

Maker = Callable[..., dict[str, Any]]
ReadBack = Callable[..., dict[str, Any]]
RESOURCE_TYPES = ["User", "Group"]


def _post(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    resource_type: str,
    body: dict[str, Any],
) -> Response:
    """POST a body; whatever the server created is tracked for cleanup."""
    endpoint = capabilities.endpoint(resource_type)
    response = scim.post(endpoint, json=body)
    if 200 <= response.status < 300:
        ok, value = response.parsed()
        if ok and isinstance(value, dict) and value.get("id"):
            created.add(endpoint, value)
    return response


def _body(resource_type: str, user_body: Maker, group_body: Maker) -> dict[str, Any]:
    return user_body() if resource_type == "User" else group_body()


def _get(
    scim: ScimClient, capabilities: Capabilities, resource_type: str, rid: str
) -> tuple[Response, dict[str, Any]]:
    path = f"{capabilities.endpoint(resource_type).rstrip('/')}/{rid}"
    response = expect_status(scim.get(path), 200, why=f"GET {path} of the created resource")
    return response, response.json_object()


def _sent(body: dict[str, Any]) -> dict[str, Any]:
    """What a read-back must show of a create body (common attributes are server-set)."""
    return {k: v for k, v in body.items() if k not in ("schemas", "meta", "id", "password")}


# -- status, body, Location (RFC 7644 3.3) -------------------------------------------------------


@clause("rfc7644-3.3-must-3")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_create_answers_201(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    group_body: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.3: a successful create answers 201 Created."""
    body = _body(resource_type, user_body, group_body)
    expect_status(_post(scim, capabilities, created, resource_type, body), 201)


@clause("rfc7644-3.3-should-1", "rfc7643-3.1-must-2")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_create_returns_the_created_resource(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    group_body: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.3: the 201 body SHOULD be the new resource, with its id and meta assigned."""
    body = _body(resource_type, user_body, group_body)
    response = expect_status(_post(scim, capabilities, created, resource_type, body), 201)
    resource = response.json_object()
    key = "userName" if resource_type == "User" else "displayName"
    missing = [k for k in ("id", "meta") if not resource.get(k)]
    if missing or str(resource.get(key, "")).lower() != str(body[key]).lower():
        raise ValueMismatch(
            "the 201 body is not the created resource",
            expected={"id": "(assigned)", "meta": "(assigned)", key: body[key]},
            actual={k: resource.get(k) for k in ("id", "meta", key)},
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.3-should-1", "rfc7643-2.1-must-1", "rfc7643-3-must-1", keyword="MUST")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_create_response_matches_the_schemas(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    group_body: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 2.1, 7: the 201 body validates against the RFC schema and the server's own."""
    body = _body(resource_type, user_body, group_body)
    response = expect_status(_post(scim, capabilities, created, resource_type, body), 201)
    resource = response.json_object()
    validate_message(resource_type, resource, exchanges=[response.exchange])
    validate_published(resource, capabilities, resource_type, exchanges=[response.exchange])


@clause("rfc7644-3.3-must-4")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_create_location_header_is_meta_location(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    group_body: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.3: the created resource's URI is in the Location header and meta.location."""
    body = _body(resource_type, user_body, group_body)
    response = expect_status(_post(scim, capabilities, created, resource_type, body), 201)
    resource = response.json_object()
    meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    suffix = f"{capabilities.endpoint(resource_type).rstrip('/')}/{resource.get('id')}"
    request_url = httpx.URL(response.exchange.url)
    location = response.location
    resolved = str(request_url.join(location)) if location else None
    in_body = str(request_url.join(str(meta["location"]))) if meta.get("location") else None
    if resolved is None or resolved != in_body or not resolved.rstrip("/").endswith(suffix):
        raise HeaderMismatch(
            "Location is missing or differs from meta.location",
            expected=f"Location: {meta.get('location') or '(URI ending in ' + suffix + ')'}",
            actual=f"Location: {location}",
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.3-must-3", "rfc7644-3.1-must-3")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_create_is_read_back(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    group_body: Maker,
    read_back: ReadBack,
    resource_type: str,
) -> None:
    """RFC 7644 3.3: the created resource exists with the attributes the client sent."""
    body = _body(resource_type, user_body, group_body)
    response = expect_status(_post(scim, capabilities, created, resource_type, body), 201)
    read_back(response.json_object(), _sent(body), resource_type=resource_type)


@clause("rfc7644-3.3-must-3")
def test_create_group_with_members_is_read_back(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    group_body: Maker,
    make_user: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.3: a Group created with members holds exactly those members."""
    alice, bob = make_user(), make_user()
    body = group_body(members=[{"value": alice["id"]}, {"value": bob["id"]}])
    response = expect_status(_post(scim, capabilities, created, "Group", body), 201)
    expected = {"members": [{"value": alice["id"]}, {"value": bob["id"]}]}
    read_back(response.json_object(), expected, resource_type="Group")


# -- readOnly input is ignored (RFC 7644 3.3, RFC 7643 3.1) --------------------------------------


@clause("rfc7644-3.3-must-2", "rfc7643-3.1-must-7")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_create_ignores_client_id(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    group_body: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: "id" is issued by the service provider; an id sent by the client is ignored.

    The client breaks a MUST by sending one, so a 4xx SCIM error is accepted too.
    """
    mine = f"scimtest-client-chosen-{uuid.uuid4().hex}"
    body = {**_body(resource_type, user_body, group_body), "id": mine}
    response = _post(scim, capabilities, created, resource_type, body)
    if 400 <= response.status < 500:
        expect_scim_error(response, range(400, 500))
        return
    expect_status(response, 201)
    got = response.json_object().get("id")
    if got == mine or not got:
        raise ValueMismatch(
            "the server took the id the client sent",
            expected="an id the server assigned",
            actual=got,
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-11", "rfc7644-3.3-must-2", "rfc7644-3.3.1-must-1")
def test_create_ignores_client_meta(
    scim: ScimClient, capabilities: Capabilities, created: CreatedResources, user_body: Maker
) -> None:
    """RFC 7643 3.1: "meta" SHALL be ignored when provided by clients."""
    forged = {
        "resourceType": "Group",
        "created": "2001-01-01T00:00:00Z",
        "lastModified": "2001-01-01T00:00:00Z",
        "location": "https://scimtest.invalid/Users/forged",
        "version": 'W/"scimtest-forged"',
    }
    body = {**user_body(), "meta": forged}
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    got_response, got = _get(scim, capabilities, "User", response.json_object()["id"])
    meta = got.get("meta") if isinstance(got.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    kept = {k: v for k, v in forged.items() if meta.get(k) == v}
    if kept:
        raise ValueMismatch(
            "meta values the client sent were stored",
            expected="server-assigned meta",
            actual=kept,
            exchanges=[response.exchange, got_response.exchange],
        )


@clause("rfc7644-3.3-must-2", "rfc7644-3.3-must-1", "rfc7643-4.1.2-must-4")
def test_create_ignores_read_only_groups(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 4.1.2: "groups" is readOnly; a create naming a group does not join it."""
    group = make_group()
    body = user_body(groups=[{"value": group["id"], "display": group.get("displayName")}])
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    user = response.json_object()
    got = read_back(group, {}, resource_type="Group")
    joined = [m for m in got.get("members") or [] if m.get("value") == user.get("id")]
    if joined:
        raise StateNotApplied(
            'a readOnly "groups" value in the create made the user a member',
            expected="the group without the new user",
            actual=got.get("members"),
            exchanges=[response.exchange],
        )


# -- required and unique (RFC 7643 4.1.1, 4.2; RFC 7644 3.3) -------------------------------------


def _refused(response: Response, what: str) -> None:
    if 200 <= response.status < 300:
        raise StatusMismatch(
            f"{what} was accepted",
            expected="a 4xx SCIM error (400 invalidValue)",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, range(400, 500))


@clause("rfc7643-4.1.1-must-1", "rfc7643-4.1.1-must-3")
@pytest.mark.parametrize("user_name", ["absent", "empty", "null"])
def test_create_without_user_name_is_refused(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    user_name: str,
) -> None:
    """RFC 7643 4.1.1: each User MUST include a non-empty userName; a create without is refused."""
    body = user_body(userName=None)
    if user_name == "empty":
        body["userName"] = ""
    elif user_name == "null":
        body["userName"] = None
    _refused(_post(scim, capabilities, created, "User", body), f"a User with userName {user_name}")


@clause("rfc7644-3.12-should-1", "rfc7643-4.1.1-must-3", keyword="SHOULD")
def test_create_without_user_name_is_400_invalid_value(
    scim: ScimClient, capabilities: Capabilities, created: CreatedResources, user_body: Maker
) -> None:
    """RFC 7644 3.12: a missing required value is 400 with scimType "invalidValue"."""
    response = _post(scim, capabilities, created, "User", user_body(userName=None))
    expect_scim_error(response, 400, "invalidValue")


@clause("rfc7643-4.2-must-1")
def test_create_group_without_display_name_is_refused(
    scim: ScimClient, capabilities: Capabilities, created: CreatedResources, group_body: Maker
) -> None:
    """RFC 7643 4.2: a Group's displayName is REQUIRED; a create without it is refused."""
    response = _post(scim, capabilities, created, "Group", group_body(displayName=None))
    _refused(response, "a Group without displayName")


@clause("rfc7644-3.3-must-5", "rfc7643-4.1.1-must-2")
def test_create_duplicate_user_name_is_409_uniqueness(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    make_user: Maker,
) -> None:
    """RFC 7644 3.3: a create with a userName in use answers 409 with scimType "uniqueness"."""
    first = make_user()
    response = _post(scim, capabilities, created, "User", user_body(userName=first["userName"]))
    expect_scim_error(response, 409, "uniqueness")


@clause("rfc7643-4.1.1-must-3", "rfc7643-4.1.1-must-2", "rfc7644-3.3-must-5")
def test_create_user_name_differing_in_case_is_409(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    make_user: Maker,
) -> None:
    """RFC 7643 4.1.1: userName is case insensitive, so "A@x" and "a@X" collide (409)."""
    first = make_user()
    shouted = str(first["userName"]).upper()
    response = _post(scim, capabilities, created, "User", user_body(userName=shouted))
    expect_scim_error(response, 409, "uniqueness")


@clause("rfc7643-4.1.1-must-2", "rfc7643-7-should-3", "rfc7643-7-should-2")
def test_refused_duplicate_leaves_the_original(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    make_user: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 4.1.1: after a refused duplicate, one User holds the userName, unchanged."""
    first = make_user()
    clash = user_body(userName=first["userName"], displayName="Scimtest Impostor")
    response = _post(scim, capabilities, created, "User", clash)
    if 200 <= response.status < 300:
        raise StatusMismatch(
            "a second User with the same userName was created",
            expected="409 uniqueness",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    read_back(first, {"userName": first["userName"], "displayName": first.get("displayName")})


# -- extensions (RFC 7643 3.3, 4.3) ----------------------------------------------------------------


def _require_enterprise(capabilities: Capabilities) -> None:
    rt = capabilities.resource_type("User")
    if rt is None or not any(urn.lower() == ENTERPRISE_URN.lower() for urn, _ in rt.extensions):
        raise Unsupported(f"the User resource type declares no {ENTERPRISE_URN} extension")


@clause("rfc7643-3.3-must-2", "rfc7644-3.3-must-3")
def test_create_with_enterprise_extension_is_read_back(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    make_user: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 3.3, 4.3: enterprise attributes sent in their URN container are stored."""
    _require_enterprise(capabilities)
    boss = make_user()
    ext = {
        "employeeNumber": "701984",
        "costCenter": "4130",
        "organization": "Universal Studios",
        "division": "Theme Park",
        "department": "Tour Operations",
        "manager": {"value": boss["id"]},
    }
    body = user_body(schemas=[USER_URN, ENTERPRISE_URN], **{ENTERPRISE_URN: ext})
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    read_back(response.json_object(), {ENTERPRISE_URN: ext})


# -- what IdPs send (docs: /work/shared/reference/idp-request-shapes.md) -------------------------


@clause("rfc7643-3.1-must-11", "rfc7643-2.5-must-1")
def test_create_accepts_entra_body(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    run_prefix: str,
    read_back: ReadBack,
) -> None:
    """RFC 7643 3.1, 2.5: Entra's create (meta.resourceType, "roles": []) is accepted.

    meta from a client SHALL be ignored, and an empty array is an unassigned attribute.
    """
    _require_enterprise(capabilities)
    unique = f"{run_prefix}{uuid.uuid4().hex[:8]}"
    body = {
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": f"{unique}-0a21f0f2",
        "userName": f"{unique}.test_user@testuser.example.com",
        "active": True,
        "emails": [{"primary": True, "type": "work", "value": f"{unique}@testuser.example.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName",
                 "givenName": "givenName"},
        "roles": [],
    }  # fmt: skip
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    expected = {k: v for k, v in body.items() if k not in ("schemas", "meta", "roles")}
    got = read_back(response.json_object(), expected)
    if got.get("roles") not in (None, []):
        raise ValueMismatch(
            '"roles": [] came back with values',
            expected="no roles",
            actual=got.get("roles"),
            exchanges=[response.exchange],
        )


def _compat_refused(response: Response, what: str) -> None:
    """A clean 4xx SCIM error for non-RFC input is the RFC-strict answer: skip, with why."""
    if 400 <= response.status < 500:
        expect_scim_error(response, range(400, 500))
        raise Unsupported(f"the server refuses {what} (RFC-strict; that IdP cannot provision)")


@clause("rfc7644-3.1-must-3", keyword="MAY")
@pytest.mark.parametrize(("sent", "meant"), [("True", True), ("False", False)])
def test_create_accepts_boolean_strings(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    read_back: ReadBack,
    sent: str,
    meant: bool,
) -> None:
    """RFC 7644 3.1 (IdP compatibility): Entra sends "active": "True"; a server MAY accept it.

    Refusing with a 400 skips; accepting must store the boolean, not the string.
    """
    response = _post(scim, capabilities, created, "User", user_body(active=sent))
    _compat_refused(response, f'the string "{sent}" for a boolean')
    expect_status(response, 201)
    got = read_back(response.json_object(), {"active": meant})
    if got.get("active") is not meant:
        raise ValueMismatch(
            f'the accepted "{sent}" is not stored as the boolean {str(meant).lower()}',
            keyword=Keyword.MUST,
            expected=meant,
            actual=got.get("active"),
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.1-must-3", keyword="MAY")
def test_create_accepts_manager_as_string(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    make_user: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.1 (IdP compatibility): Entra sends "manager": "<id>"; a server MAY accept it.

    Refusing with a 400 skips; accepting must store it as manager.value.
    """
    _require_enterprise(capabilities)
    boss = make_user()
    body = user_body(
        schemas=[USER_URN, ENTERPRISE_URN], **{ENTERPRISE_URN: {"manager": boss["id"]}}
    )
    response = _post(scim, capabilities, created, "User", body)
    _compat_refused(response, "a plain-string enterprise manager")
    expect_status(response, 201)
    try:
        read_back(response.json_object(), {ENTERPRISE_URN: {"manager": {"value": boss["id"]}}})
    except StateNotApplied as exc:
        exc.keyword = Keyword.MUST
        exc.message = "the server accepted the manager string but did not keep it: " + exc.message
        raise


@clause("rfc7643-3.1-must-11", "rfc7643-3.3-must-2", "rfc7644-3.3-must-2", "rfc7643-2.5-must-1")
def test_create_accepts_entra_legacy_body(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 2.5: Entra's older create sends explicit nulls; null is an unassigned value.

    The same example names a misspelt enterprise URN; the server may drop or refuse it,
    so the body here keeps the nulls only (the URN is judged in the schema checks).
    """
    body = user_body()
    body.update({"addresses": None, "title": None, "nickName": None, "phoneNumbers": None,
                 "preferredLanguage": None, "locale": None, "timezone": None})  # fmt: skip
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    read_back(response.json_object(), {**_sent(body)})


@clause("rfc7644-3.3-must-2", "rfc7643-2.5-must-1")
def test_create_accepts_null_id(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.3: OneLogin templates send "id": null; a null readOnly value is ignored."""
    body = {**user_body(), "id": None}
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    resource = response.json_object()
    if not resource.get("id"):
        raise ValueMismatch(
            'after "id": null the created resource has no id',
            expected="a server-assigned id",
            actual=resource.get("id"),
            exchanges=[response.exchange],
        )
    read_back(resource, _sent(body))


@clause("rfc7644-3.3-must-2", "rfc7643-4.1.2-must-4", "rfc7643-2.5-must-1")
def test_create_accepts_okta_body(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    run_prefix: str,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.3: Okta's create ("groups": [], a password, locale) is accepted.

    "groups" is readOnly (ignored) and empty; the password is sent only when published.
    """
    unique = f"{run_prefix}{uuid.uuid4().hex[:8]}"
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "userName": f"{unique}.test.user@okta.example.com",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": f"{unique}@okta.example.com", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": f"00u{uuid.uuid4().hex[:17]}",
        "groups": [],
        "active": True,
    }
    core = capabilities.schema(USER_URN)
    if core is not None and core.attribute("password") is not None:
        body["password"] = "1mz050nq"  # noqa: S105 - Okta's placeholder, not a secret
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    read_back(response.json_object(), {k: v for k, v in _sent(body).items() if k != "groups"})


@clause("rfc7643-3-must-5")
def test_create_with_extension_schema_listed_first(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 3: the order of "schemas" values MUST NOT impact behaviour."""
    _require_enterprise(capabilities)
    ext = {"department": "Order Independence"}
    body = user_body(schemas=[ENTERPRISE_URN, USER_URN], **{ENTERPRISE_URN: ext})
    response = expect_status(_post(scim, capabilities, created, "User", body), 201)
    read_back(response.json_object(), {"userName": body["userName"], ENTERPRISE_URN: ext})


@clause("rfc7643-2.5-must-1", "rfc7644-3.3-must-3")
def test_create_group_with_empty_members(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    group_body: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 2.5: Okta creates pushed groups with "members": [] (no members): accepted."""
    body = group_body(members=[])
    response = expect_status(_post(scim, capabilities, created, "Group", body), 201)
    read_back(response.json_object(), {"displayName": body["displayName"], "members": None},
              resource_type="Group")  # fmt: skip


MISSPELT_ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"


@clause("rfc7643-3-must-3", keyword="MAY")
def test_create_accepts_entra_misspelt_urn(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
) -> None:
    """RFC 7643 3 (IdP compatibility): Entra's old example names "...enterprise:2.0User".

    A server MAY refuse it (skip); accepting it, it must not return the undeclared URN.
    """
    body = user_body(schemas=[USER_URN, MISSPELT_ENTERPRISE])
    response = _post(scim, capabilities, created, "User", body)
    _compat_refused(response, f"the undeclared schema URN {MISSPELT_ENTERPRISE}")
    expect_status(response, 201)
    got_response, got = _get(scim, capabilities, "User", response.json_object()["id"])
    rt = capabilities.resource_type("User")
    assert rt is not None
    declared = {rt.schema.lower(), *(u.lower() for u, _ in rt.extensions)}
    stray = [s for s in got.get("schemas") or [] if str(s).lower() not in declared]
    if stray:
        raise ValueMismatch(
            "the accepted User names a schema its resource type does not declare",
            keyword=Keyword.MUST,
            expected=sorted(declared),
            actual=got.get("schemas"),
            exchanges=[response.exchange, got_response.exchange],
        )


@clause("rfc7643-2.3.8-must-1")
def test_create_accepts_attributes_in_any_order(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7643 2.3.8: servers MUST NOT require attributes in any order ("schemas" last here)."""
    body = user_body()
    reordered = {k: body[k] for k in reversed(list(body))}
    reordered["name"] = {k: body["name"][k] for k in reversed(list(body["name"]))}
    response = expect_status(_post(scim, capabilities, created, "User", reordered), 201)
    read_back(response.json_object(), _sent(body))
