"""Schemas and attribute characteristics (RFC 7643 sections 2, 3, 4, 7 and 8).

Every resource the server returns validates against the RFC message schemas and against
the server's own /Schemas; the common attributes (id, externalId, meta) carry the values
section 3.1 demands; multi-valued, case-exact, writeOnly and readOnly attributes behave as
their published characteristics say.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from harness.checks import clause, expect_status
from harness.client import Response, ScimClient
from harness.discovery import ENTERPRISE_URN, AttributeInfo, Capabilities
from harness.validation.messages import validate_message
from harness.validation.published import validate_published
from harness.verdicts import Keyword, SchemaViolation, Unsupported, ValueMismatch, WriteOnlyEchoed

Maker = Callable[..., dict[str, Any]]

RESOURCE_TYPES = ["User", "Group"]
API_PREFIX = "urn:ietf:params:scim:api:"
ATTRNAME = re.compile(r"^(\$ref|[A-Za-z][A-Za-z0-9_-]*)$")
WEAK_OR_STRONG_ETAG = re.compile(r'^(W/)?"[^"]*"$')
SECRET = "Scimtest-Secret-7Qx!pa55"  # noqa: S105 - a throwaway password the suite sets


def _make(resource_type: str, make_user: Maker, make_group: Maker) -> dict[str, Any]:
    return make_user() if resource_type == "User" else make_group()


def _read(
    scim: ScimClient, capabilities: Capabilities, resource_type: str, rid: str
) -> tuple[Response, dict[str, Any]]:
    path = f"{capabilities.endpoint(resource_type).rstrip('/')}/{rid}"
    response = expect_status(scim.get(path), 200, why=f"GET {path} of a created resource")
    return response, response.json_object()


def _made_and_read(
    scim: ScimClient,
    capabilities: Capabilities,
    resource_type: str,
    make_user: Maker,
    make_group: Maker,
) -> tuple[Response, dict[str, Any]]:
    created = _make(resource_type, make_user, make_group)
    return _read(scim, capabilities, resource_type, str(created["id"]))


def _same_origin_path(scim: ScimClient, reference: str) -> str | None:
    """The path to GET for a reference URI (RFC 7643 2.3.7: absolute, or relative to the
    SCIM base URI); None when it points at another origin, where the token must not go."""
    if not reference.startswith(("http://", "https://")):
        return "/" + reference.lstrip("/")
    url = httpx.URL(reference)
    return reference if (url.scheme, url.host, url.port) == scim.origin else None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- message schemas -------------------------------------------------------------------------


@clause("rfc7643-2.1-must-1", "rfc7643-3-must-1", "rfc7643-3.1-must-4")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_resource_matches_rfc_schema(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 2.1, 3: a resource read back validates against the RFC message JSON Schema."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    validate_message(resource_type, body, exchanges=[response.exchange])
    if resource_type == "User" and ENTERPRISE_URN in body:
        validate_message("EnterpriseUser", body[ENTERPRISE_URN], exchanges=[response.exchange])


@clause("rfc7643-2.1-must-1", "rfc7643-2.3.4-must-1", "rfc7643-2.3.5-must-1",
        "rfc7643-2.3.5-must-2", "rfc7643-7-must-11")  # fmt: skip
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_resource_matches_published_schema(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 7: a resource agrees with the server's own /Schemas (types, multiValued,
    required, returned=never)."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    validate_published(body, capabilities, resource_type, exchanges=[response.exchange])


@clause("rfc7643-2.1-must-1", "rfc7643-3.3-must-2")
def test_enterprise_user_matches_schemas(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3.3, 4.3: a User with enterprise data validates against both schemas."""
    _require_enterprise(capabilities)
    user = make_user(
        schemas=[capabilities.resource_type("User").schema, ENTERPRISE_URN],  # type: ignore[union-attr]
        **{ENTERPRISE_URN: {"employeeNumber": "701984", "department": "Tour Operations"}},
    )
    response, body = _read(scim, capabilities, "User", user["id"])
    validate_message("User", body, exchanges=[response.exchange])
    ext = next((v for k, v in body.items() if k.lower() == ENTERPRISE_URN.lower()), None)
    if not isinstance(ext, dict):
        raise SchemaViolation(
            "the enterprise data is not in its URN container",
            expected=f'"{ENTERPRISE_URN}": {{"employeeNumber": ..., ...}}',
            actual={k: v for k, v in body.items() if k not in ("meta",)},
            exchanges=[response.exchange],
        )
    validate_message("EnterpriseUser", ext, exchanges=[response.exchange])
    validate_published(body, capabilities, "User", exchanges=[response.exchange])


def _require_enterprise(capabilities: Capabilities) -> None:
    rt = capabilities.resource_type("User")
    if rt is None or not any(urn.lower() == ENTERPRISE_URN.lower() for urn, _ in rt.extensions):
        raise Unsupported(f"the User resource type declares no {ENTERPRISE_URN} extension")


# -- "schemas" (RFC 7643 3) ----------------------------------------------------------------------


@clause("rfc7643-3-must-2", "rfc7643-3.3-must-1")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_schemas_names_the_core_schema(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.3: "schemas" is non-empty and contains the resource type's base schema."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    core = capabilities.resource_type(resource_type).schema  # type: ignore[union-attr]
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or core.lower() not in [str(s).lower() for s in schemas]:
        raise SchemaViolation(
            f'"schemas" lacks the base schema of {resource_type}',
            expected=f"a list containing {core}",
            actual=schemas,
            exchanges=[response.exchange],
        )


@clause("rfc7643-3-must-3")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_schemas_lists_only_declared_schemas(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3: "schemas" only holds the resource type's "schema" and "schemaExtensions"."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    rt = capabilities.resource_type(resource_type)
    assert rt is not None
    allowed = {rt.schema.lower()} | {urn.lower() for urn, _ in rt.extensions}
    stray = [s for s in body.get("schemas") or [] if str(s).lower() not in allowed]
    if stray:
        raise SchemaViolation(
            f'"schemas" names URIs the {resource_type} resource type does not declare',
            expected=sorted(allowed),
            actual=body.get("schemas"),
            exchanges=[response.exchange],
        )


@clause("rfc7643-3-must-4")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_schemas_has_no_duplicates(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3: duplicate values MUST NOT be included in "schemas"."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    schemas = [str(s).lower() for s in body.get("schemas") or []]
    if len(schemas) != len(set(schemas)):
        raise SchemaViolation(
            '"schemas" repeats a URI',
            expected="each URI once",
            actual=body.get("schemas"),
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.3-must-2")
def test_extension_schema_listed_when_extension_data_present(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3.3: extension attributes sit in their URN container, and "schemas" names it."""
    _require_enterprise(capabilities)
    core = capabilities.resource_type("User").schema  # type: ignore[union-attr]
    user = make_user(
        schemas=[core, ENTERPRISE_URN], **{ENTERPRISE_URN: {"department": "Cartography"}}
    )
    response, body = _read(scim, capabilities, "User", user["id"])
    schemas = [str(s).lower() for s in body.get("schemas") or []]
    container = any(k.lower() == ENTERPRISE_URN.lower() for k in body)
    if not container or ENTERPRISE_URN.lower() not in schemas:
        raise SchemaViolation(
            'enterprise data without its URN in "schemas" or outside its container',
            expected=f'"schemas" with {ENTERPRISE_URN} and a "{ENTERPRISE_URN}" object',
            actual={"schemas": body.get("schemas"), "container": container},
            exchanges=[response.exchange],
        )


# -- common attributes (RFC 7643 3.1) ------------------------------------------------------------


@clause("rfc7643-3.1-must-5")
def test_ids_are_unique(scim: ScimClient, make_user: Maker, make_group: Maker) -> None:
    """RFC 7643 3.1: "id" is unique across the service provider's resources."""
    made = [make_user(), make_user(), make_group(), make_group()]
    ids = [str(r.get("id")) for r in made]
    if len(set(ids)) != len(ids):
        raise ValueMismatch(
            "two created resources share an id",
            expected="four distinct ids",
            actual=ids,
            exchanges=list(scim.recorder.exchanges)[-4:],  # the four creates
        )


@clause("rfc7643-3.1-must-6")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_id_is_stable(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: "id" does not change when the resource is returned again."""
    created = _make(resource_type, make_user, make_group)
    for _ in range(2):
        response, body = _read(scim, capabilities, resource_type, str(created["id"]))
        if body.get("id") != created["id"]:
            raise ValueMismatch(
                "the id read back differs from the id the create returned",
                expected=created["id"],
                actual=body.get("id"),
                exchanges=[response.exchange],
            )


@clause("rfc7643-3.1-must-9")
def test_server_does_not_invent_external_id(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3.1: "externalId" is issued by the client only; the server never sets one."""
    user = make_user(externalId=None)
    response, body = _read(scim, capabilities, "User", user["id"])
    found = next((v for k, v in body.items() if k.lower() == "externalid"), None)
    if found not in (None, ""):
        raise ValueMismatch(
            "the server set an externalId the client never sent",
            expected="no externalId",
            actual=found,
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-may-2", "rfc7643-7-must-8", keyword="MUST")
def test_external_id_is_kept_exactly(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, run_prefix: str
) -> None:
    """RFC 7643 3.1, 7: the client's "externalId" (caseExact) comes back with its case intact."""
    external = f"{run_prefix}MiXeD-Case-ExtId-Ab"
    user = make_user(externalId=external)
    response, body = _read(scim, capabilities, "User", user["id"])
    if body.get("externalId") != external:
        raise ValueMismatch(
            "externalId was not kept exactly as sent",
            expected=external,
            actual=body.get("externalId"),
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-2", "rfc7644-3.3.1-must-1")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_meta_resource_type_names_the_endpoint_type(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7644 3.3.1: "meta.resourceType" is set to the resource type of the endpoint."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    if meta.get("resourceType") != resource_type:
        raise ValueMismatch(
            "meta.resourceType does not name the resource type",
            expected=resource_type,
            actual=meta.get("resourceType"),
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-2", "rfc7643-3.1-must-12", "rfc7643-2.3.5-must-1")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_meta_created_is_a_datetime(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: "meta.created" is assigned and is an xsd:dateTime with date and time."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    created = meta.get("created")
    if _datetime(created) is None:
        raise ValueMismatch(
            "meta.created is missing or not a dateTime",
            expected="e.g. 2011-05-13T04:42:34Z",
            actual=created,
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-13")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_meta_last_modified_equals_created_when_new(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: a never-modified resource has "lastModified" equal to "created"."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    created, modified = _datetime(meta.get("created")), _datetime(meta.get("lastModified"))
    if created is None or modified is None or created != modified:
        raise ValueMismatch(
            "meta.lastModified of an unmodified resource differs from meta.created",
            expected=meta.get("created"),
            actual=meta.get("lastModified"),
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-2", "rfc7643-2.3.7-must-1", "rfc7643-2.3.7-must-3",
        "rfc7643-2.3.7-must-4")  # fmt: skip
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_meta_location_resolves_to_the_resource(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1, 2.3.7: "meta.location" is the resource's URI; a GET on it returns it."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    location = meta.get("location")
    suffix = f"{capabilities.endpoint(resource_type).rstrip('/')}/{body.get('id')}"
    if not isinstance(location, str) or not ("/" + location.strip("/")).endswith(suffix):
        raise ValueMismatch(
            "meta.location is not the resource's URI",
            expected=f"a URI ending in {suffix}",
            actual=location,
            exchanges=[response.exchange],
        )
    target = _same_origin_path(scim, location)
    if target is None:
        return  # another origin (a public URL behind a proxy): the token does not go there
    followed = expect_status(scim.get(target), 200, why=f"GET meta.location {location}")
    if followed.json_object().get("id") != body.get("id"):
        raise ValueMismatch(
            "GET on meta.location returned another resource",
            expected=body.get("id"),
            actual=followed.json_object().get("id"),
            exchanges=[followed.exchange],
        )


@clause("rfc7643-3.1-must-14")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_content_location_matches_meta_location(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: "meta.location" is the same as the Content-Location header, when sent."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    header = response.headers.get("content-location")
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    if header is not None and str(header) != meta.get("location"):
        raise ValueMismatch(
            "Content-Location and meta.location disagree",
            expected=f"Content-Location: {meta.get('location')}",
            actual=f"Content-Location: {header}",
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-15")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_meta_version_is_an_entity_tag(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: "meta.version", when given, is an entity-tag; weak ones start "W/"."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    version = meta.get("version")
    if version is not None and not (
        isinstance(version, str) and WEAK_OR_STRONG_ETAG.match(version)
    ):
        raise ValueMismatch(
            "meta.version is not an entity-tag (a quoted string, weak ones prefixed W/)",
            expected='W/"..." or "..."',
            actual=version,
            exchanges=[response.exchange],
        )


# -- attribute characteristics (RFC 7643 2, 4, 7) -----------------------------------------------


@clause("rfc7643-4.1.1-must-4", "rfc7643-4.1.1-must-7", "rfc7643-7-must-11")
def test_password_is_never_returned(
    scim: ScimClient, capabilities: Capabilities, user_body: Maker, created: Any
) -> None:
    """RFC 7643 4.1.1, 7: "password" is writeOnly/returned never: no response carries it."""
    endpoint = capabilities.endpoint("User")
    posted = scim.post(endpoint, json=user_body(password=SECRET))
    if posted.status >= 400:
        raise Unsupported(f"the server refuses a password on create ({posted.status})")
    expect_status(posted, 201)
    user = posted.json_object()
    created.add(endpoint, user)
    response, body = _read(scim, capabilities, "User", user["id"])
    for where, found in (("POST response", user), ("GET", body)):
        leaked = [k for k in found if k.lower() == "password"]
        if leaked or SECRET in str(found):
            raise WriteOnlyEchoed(
                f"the {where} carries the password",
                expected="no password attribute",
                actual=found.get(leaked[0]) if leaked else "(the secret appears in the body)",
                exchanges=[posted.exchange, response.exchange],
            )


@clause("rfc7643-2.4-must-3")
def test_at_most_one_primary_is_returned(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, run_prefix: str
) -> None:
    """RFC 7643 2.4: the "primary" value true appears no more than once per attribute."""
    user = make_user(
        emails=[
            {"value": f"{run_prefix}work@example.org", "type": "work", "primary": True},
            {"value": f"{run_prefix}home@example.org", "type": "home"},
        ]
    )
    response, got = _read(scim, capabilities, "User", user["id"])
    _one_primary(got, response)


def _one_primary(resource: dict[str, Any], response: Response) -> None:
    for key, value in resource.items():
        if isinstance(value, list):
            primaries = [e for e in value if isinstance(e, dict) and e.get("primary") is True]
            if len(primaries) > 1:
                raise ValueMismatch(
                    f'"{key}" has more than one primary value',
                    expected="at most one element with primary true",
                    actual=value,
                    exchanges=[response.exchange],
                )


@clause("rfc7643-2.4-must-3")
def test_two_primaries_are_refused_or_resolved(
    scim: ScimClient, capabilities: Capabilities, user_body: Maker, created: Any, run_prefix: str
) -> None:
    """RFC 7643 2.4: a create carrying two primary emails is refused, or stored with one."""
    endpoint = capabilities.endpoint("User")
    body = user_body()
    body["emails"] = [
        {"value": f"{run_prefix}a@example.org", "type": "work", "primary": True},
        {"value": f"{run_prefix}b@example.org", "type": "home", "primary": True},
    ]
    response = scim.post(endpoint, json=body)
    if response.status != 201:
        expect_status(response, 400, 409, why="two primaries: refuse with 400 or keep one")
        return
    resource = response.json_object()
    created.add(endpoint, resource)
    _one_primary(resource, response)
    got_response, got = _read(scim, capabilities, "User", resource["id"])
    _one_primary(got, got_response)


@clause("rfc7643-2.4-should-2")
def test_same_type_and_value_not_returned_twice(
    scim: ScimClient, capabilities: Capabilities, user_body: Maker, created: Any, run_prefix: str
) -> None:
    """RFC 7643 2.4: the same (type, value) pair SHOULD NOT be returned twice in an attribute."""
    endpoint = capabilities.endpoint("User")
    value = f"{run_prefix}twice@example.org"
    body = user_body()
    body["emails"] = [{"value": value, "type": "work"}, {"value": value, "type": "work"}]
    response = scim.post(endpoint, json=body)
    if response.status != 201:
        expect_status(response, 400, why="a duplicate (type, value): refuse or keep one")
        return
    created.add(endpoint, response.json_object())
    got_response, got = _read(scim, capabilities, "User", response.json_object()["id"])
    pairs = [
        (str(e.get("type", "")).lower(), str(e.get("value", "")).lower())
        for e in got.get("emails") or []
        if isinstance(e, dict)
    ]
    if len(pairs) != len(set(pairs)):
        raise ValueMismatch(
            "the same (type, value) email is returned twice",
            expected="each (type, value) once",
            actual=got.get("emails"),
            exchanges=[got_response.exchange],
        )


@clause("rfc7643-2.5-must-1", "rfc7644-3.3-may-4", keyword="MUST")
def test_null_and_empty_mean_unassigned(
    scim: ScimClient, capabilities: Capabilities, user_body: Maker, created: Any
) -> None:
    """RFC 7643 2.5: null, an empty array and an absent attribute are the same state."""
    endpoint = capabilities.endpoint("User")
    body = user_body()
    body.update({"nickName": None, "title": None, "phoneNumbers": [], "addresses": None})
    response = expect_status(scim.post(endpoint, json=body), 201)
    resource = response.json_object()
    created.add(endpoint, resource)
    got_response, got = _read(scim, capabilities, "User", resource["id"])
    for key in ("nickName", "title", "phoneNumbers", "addresses"):
        value = next((v for k, v in got.items() if k.lower() == key.lower()), None)
        if value not in (None, [], ""):
            raise ValueMismatch(
                f'"{key}" was sent empty or null and came back with a value',
                expected="absent, null or []",
                actual=value,
                exchanges=[got_response.exchange],
            )


@clause("rfc7643-2.1-must-2")
def test_published_attribute_names_follow_the_abnf(capabilities: Capabilities) -> None:
    """RFC 7643 2.1: attribute names are ALPHA *(ALPHA / DIGIT / "-" / "_") ($ref allowed)."""
    bad: list[str] = []

    def walk(attrs: tuple[AttributeInfo, ...], where: str) -> None:
        for attr in attrs:
            if not ATTRNAME.match(attr.name):
                bad.append(f"{where}{attr.name}")
            walk(attr.sub_attributes, f"{where}{attr.name}.")

    for schema in capabilities.schemas:
        walk(schema.attributes, f"{schema.id}:")
    if bad:
        raise SchemaViolation(
            "published attribute names break the ATTRNAME rule",
            expected='ALPHA *("-" / "_" / DIGIT / ALPHA)',
            actual=bad[:20],
            exchanges=list(capabilities.exchanges),
        )


@clause("rfc7643-2.1-must-2")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_returned_attribute_names_follow_the_abnf(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 2.1: every attribute name in a returned resource follows the ATTRNAME rule."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    bad: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, list):
            for element in value:
                walk(element, where)
        elif isinstance(value, dict):
            for key, sub in value.items():
                if not ATTRNAME.match(key) and not (where == "" and key.lower().startswith("urn:")):
                    bad.append(f"{where}{key}")
                walk(sub, f"{where}{key}.")

    walk(body, "")
    if bad:
        raise SchemaViolation(
            "returned attribute names break the ATTRNAME rule",
            expected='ALPHA *("-" / "_" / DIGIT / ALPHA), or a schema URN container',
            actual=bad[:20],
            exchanges=[response.exchange],
        )


@clause("rfc7643-2.3.8-must-2")
def test_published_complex_attributes_are_not_nested(capabilities: Capabilities) -> None:
    """RFC 7643 2.3.8: a complex attribute has no complex sub-attributes (resource schemas)."""
    nested = [
        f"{schema.id}:{attr.name}.{sub.name}"
        for rt in capabilities.resource_types
        for urn in (rt.schema, *(u for u, _ in rt.extensions))
        if (schema := capabilities.schema(urn)) is not None
        for attr in schema.attributes
        for sub in attr.sub_attributes
        if sub.type == "complex"
    ]
    if nested:
        raise SchemaViolation(
            "complex sub-attributes in a resource schema",
            expected="sub-attributes of simple types only",
            actual=nested,
            exchanges=list(capabilities.exchanges),
        )


@clause("rfc7644-3.1-must-2")
def test_message_schemas_are_not_discoverable(capabilities: Capabilities) -> None:
    """RFC 7644 3.1: "urn:ietf:params:scim:api:" message schemas are not listed at /Schemas."""
    listed = [s.id for s in capabilities.schemas if s.id.lower().startswith(API_PREFIX)]
    if listed:
        raise SchemaViolation(
            "/Schemas publishes SCIM protocol message schemas",
            expected=f"no schema id starting {API_PREFIX}",
            actual=listed,
            exchanges=list(capabilities.exchanges),
        )


@clause("rfc7643-3.3-should-1")
def test_extensions_do_not_redefine_core_attributes(capabilities: Capabilities) -> None:
    """RFC 7643 3.3: schema extensions SHOULD avoid redefining attributes of the core schema."""
    clashes: list[str] = []
    for rt in capabilities.resource_types:
        core = capabilities.schema(rt.schema)
        if core is None:
            continue
        names = {a.name.lower() for a in core.attributes}
        for urn, _ in rt.extensions:
            ext = capabilities.schema(urn)
            clashes += [
                f"{urn}:{a.name}"
                for a in (ext.attributes if ext else ())
                if a.name.lower() in names
            ]
    if clashes:
        raise SchemaViolation(
            "extension attributes redefine core attributes",
            expected="extension attribute names distinct from the core schema's",
            actual=clashes,
            exchanges=list(capabilities.exchanges),
        )


@clause("rfc7643-4.1.2-must-3", "rfc7643-2.3.7-must-4")
def test_user_groups_name_the_group_by_id(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 4.1.2: a User's "groups" value is the Group's id and "$ref" its URI.

    A published "groups" left empty for a member is a warning; a wrong value fails.
    """
    core = capabilities.schema(capabilities.resource_type("User").schema)  # type: ignore[union-attr]
    groups = core.attribute("groups") if core else None
    if groups is None:
        raise Unsupported('the published User schema has no "groups" attribute')
    user = make_user()
    group = make_group(members=[user])
    params = {"attributes": "groups"} if groups.returned == "request" else None
    path = f"{capabilities.endpoint('User').rstrip('/')}/{user['id']}"
    response = expect_status(scim.get(path, params=params), 200)
    body = response.json_object()
    entries = [g for g in body.get("groups") or [] if isinstance(g, dict)]
    entry = next((g for g in entries if g.get("value") == group["id"]), None)
    if not entries:
        raise ValueMismatch(
            'the server publishes "groups" but the member\'s groups is empty',
            keyword=Keyword.SHOULD,
            expected=[{"value": group["id"]}],
            actual=body.get("groups"),
            exchanges=[response.exchange],
        )
    if entry is None:
        raise ValueMismatch(
            "the member's groups attribute does not name the group by its id",
            expected={"value": group["id"]},
            actual=body.get("groups"),
            exchanges=[response.exchange],
        )
    ref = entry.get("$ref")
    if ref is not None:
        suffix = f"{capabilities.endpoint('Group').rstrip('/')}/{group['id']}"
        if not str(ref).rstrip("/").endswith(suffix):
            raise ValueMismatch(
                'groups "$ref" is not the URI of the group',
                expected=f"a URI ending in {suffix}",
                actual=ref,
                exchanges=[response.exchange],
            )


@clause("rfc7643-2.3.7-must-1", "rfc7643-2.3.7-must-2", "rfc7643-2.3.7-must-4")
def test_member_refs_resolve(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7643 2.3.7: a member's "$ref" is the member's URI, and a GET on it returns it."""
    user = make_user()
    group = make_group(members=[user])
    response, body = _read(scim, capabilities, "Group", group["id"])
    members = [m for m in body.get("members") or [] if isinstance(m, dict)]
    entry = next((m for m in members if m.get("value") == user["id"]), None)
    if entry is None:
        raise ValueMismatch(
            "the group read back lacks its member",
            expected={"value": user["id"]},
            actual=body.get("members"),
            exchanges=[response.exchange],
        )
    ref = entry.get("$ref")
    if ref is None:
        return  # "$ref" is optional (RFC 7643 2.3.7)
    target = _same_origin_path(scim, str(ref))
    if target is None:
        return  # another origin: the token does not go there
    followed = scim.get(target)
    if followed.status != 200 or followed.json_object().get("id") != user["id"]:
        raise ValueMismatch(
            'GET on the member\'s "$ref" does not return the member',
            expected=f"200 with id {user['id']}",
            actual=f"{followed.status} {followed.text[:200]}",
            exchanges=[response.exchange, followed.exchange],
        )


@clause("rfc7643-4.3-may-1", "rfc7644-3.3-must-2", keyword="MUST")
def test_manager_display_name_is_read_only(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 4.3: manager.displayName is readOnly: a client's value is ignored on create."""
    _require_enterprise(capabilities)
    boss = make_user()
    forged = "Scimtest Forged Manager Name"
    core = capabilities.resource_type("User").schema  # type: ignore[union-attr]
    user = make_user(
        schemas=[core, ENTERPRISE_URN],
        **{ENTERPRISE_URN: {"manager": {"value": boss["id"], "displayName": forged}}},
    )
    response, body = _read(scim, capabilities, "User", user["id"])
    ext = next((v for k, v in body.items() if k.lower() == ENTERPRISE_URN.lower()), None)
    manager = ext.get("manager") if isinstance(ext, dict) else None
    shown = manager.get("displayName") if isinstance(manager, dict) else None
    if shown == forged:
        raise ValueMismatch(
            "the readOnly manager.displayName the client sent was stored",
            expected=f"absent, or the manager's own name ({boss.get('displayName')!r})",
            actual=shown,
            exchanges=[response.exchange],
        )


@clause("rfc7643-3-must-6", "rfc7643-3.1-must-1")
@pytest.mark.parametrize("resource_type", RESOURCE_TYPES)
def test_common_attributes_are_present(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    resource_type: str,
) -> None:
    """RFC 7643 3.1: every resource carries the common attributes "id" and "meta"."""
    response, body = _made_and_read(scim, capabilities, resource_type, make_user, make_group)
    missing = [k for k in ("id", "meta") if not body.get(k)]
    if missing:
        raise SchemaViolation(
            f"the {resource_type} lacks the common attributes {missing}",
            expected="id and meta",
            actual=sorted(body),
            exchanges=[response.exchange],
        )


@clause("rfc7643-2.4-must-4")
def test_primary_is_not_invented(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, run_prefix: str
) -> None:
    """RFC 7643 2.4: "primary" not specified SHALL be assumed false: the server sets none."""
    emails = [
        {"value": f"{run_prefix}first@example.org", "type": "work"},
        {"value": f"{run_prefix}second@example.org", "type": "home"},
    ]
    user = make_user(emails=emails)
    response, body = _read(scim, capabilities, "User", user["id"])
    primaries = [e for e in body.get("emails") or [] if isinstance(e, dict) and e.get("primary")]
    if primaries:
        raise ValueMismatch(
            "an email the client sent without primary came back primary",
            expected="no primary email",
            actual=body.get("emails"),
            exchanges=[response.exchange],
        )


# The DER certificate of RFC 7643 section 8.2 (Babs Jensen's), base64 (RFC 4648 section 4).
CERTIFICATE = (
    "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"
    "EzARBgNVBAgMCkNhbGlmb3JuaWExFDASBgNVBAoMC2V4YW1wbGUuY29tMRQwEgYD"
    "VQQDDAtleGFtcGxlLmNvbTAeFw0xMTEwMjIwNjI0MzFaFw0xMjEwMDQwNjI0MzFa"
    "MH8xCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxpZm9ybmlhMRQwEgYDVQQKDAtl"
    "eGFtcGxlLmNvbTEhMB8GA1UEAwwYTXMuIEJhcmJhcmEgSiBKZW5zZW4gSUlJMSIw"
    "IAYJKoZIhvcNAQkBFhNiamVuc2VuQGV4YW1wbGUuY29tMIIBIjANBgkqhkiG9w0B"
    "AQEFAAOCAQ8AMIIBCgKCAQEA7Kr+Dcds/JQ5GwejJFcBIP682X3xpjis56AK02bc"
    "1FLgzdLI8auoR+cC9/Vrh5t66HkQIOdA4unHh0AaZ4xL5PhVbXIPMB5vAPKpzz5i"
    "PSi8xO8SL7I7SDhcBVJhqVqr3HgllEG6UClDdHO7nkLuwXq8HcISKkbT5WFTVfFZ"
    "zidPl8HZ7DhXkZIRtJwBweq4bvm3hM1Os7UQH05ZS6cVDgweKNwdLLrT51ikSQG3"
    "DYrl+ft781UQRIqxgwqCfXEuDiinPh0kkvIi5jivVu1Z9QiwlYEdRbLJ4zJQBmDr"
    "SGTMYn4lRc2HgHO4DqB/bnMVorHB0CC6AV1QoFK4GPe1LwIDAQABo3sweTAJBgNV"
    "HRMEAjAAMCwGCWCGSAGG+EIBDQQfFh1PcGVuU1NMIEdlbmVyYXRlZCBDZXJ0aWZp"
    "Y2F0ZTAdBgNVHQ4EFgQU8pD0U0vsZIsaA16lL8En8bx0F/gwHwYDVR0jBBgwFoAU"
    "dGeKitcaF7gnzsNwDx708kqaVt0wDQYJKoZIhvcNAQEFBQADgYEAA81SsFnOdYJt"
    "Ng5Tcq+/ByEDrBgnusx0jloUhByPMEVkoMZ3J7j1ZgI8rAbOkNngX8+pKfTiDz1R"
    "C4+dx8oU6Za+4NJXUjlL5CvV6BEYb1+QAEJwitTVvxB/A67g42/vzgAtoRUeDov1"
    "+GFiBZ+GNF/cAYKcMtGcrs2i97ZkJMo="
)


@clause("rfc7643-2.3.6-must-1", "rfc7643-4.1.2-must-5")
def test_binary_values_are_base64(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 2.3.6, 4.1.2: binary values (x509Certificates.value) come back base64."""
    core = capabilities.schema(capabilities.resource_type("User").schema)  # type: ignore[union-attr]
    if core is None or core.attribute("x509Certificates") is None:
        raise Unsupported('the published User schema has no "x509Certificates" attribute')
    user = make_user(x509Certificates=[{"value": CERTIFICATE}])
    response, body = _read(scim, capabilities, "User", user["id"])
    values = [c.get("value") for c in body.get("x509Certificates") or [] if isinstance(c, dict)]
    bad = [v for v in values if not _is_base64(v)]
    if bad or not values:
        raise ValueMismatch(
            "x509Certificates values are missing or not base64",
            expected=[CERTIFICATE],
            actual=values,
            exchanges=[response.exchange],
        )


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str) or not value:
        return False
    padded = value + "=" * (-len(value) % 4)  # padding MAY be omitted (2.3.6)
    try:
        base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


@clause("rfc7643-2.3-should-1")
def test_extension_attributes_use_scim_types(capabilities: Capabilities) -> None:
    """RFC 7643 2.3: schema extensions SHOULD NOT introduce new data types."""
    types = {"string", "boolean", "decimal", "integer", "dateTime", "binary", "reference",
             "complex"}  # fmt: skip
    odd: list[str] = []
    for rt in capabilities.resource_types:
        for urn, _ in rt.extensions:
            ext = capabilities.schema(urn)
            for attr in ext.attributes if ext else ():
                odd += [f"{urn}:{a.name}={a.type}" for a in (attr, *attr.sub_attributes)
                        if a.type not in types]  # fmt: skip
    if odd:
        raise SchemaViolation(
            "extension attributes of types SCIM does not define",
            expected=sorted(types),
            actual=odd,
            exchanges=list(capabilities.exchanges),
        )


# (schema, attribute, characteristic, value the RFC gives it) for attributes whose
# characteristic is a requirement, not a default a server may change.
PUBLISHED_RULES = [
    ("User", "userName", "required", True),  # RFC 7643 4.1.1: REQUIRED
    ("Group", "displayName", "required", True),  # RFC 7643 4.2: REQUIRED
    ("User", "password", "mutability", "writeOnly"),  # RFC 7643 4.1.1
    ("User", "password", "returned", "never"),  # RFC 7643 4.1.1, 7
    ("User", "groups", "mutability", "readOnly"),  # RFC 7643 4.1.2
]


@clause("rfc7643-4.1.1-must-3", "rfc7643-4.2-must-1", "rfc7643-4.1.1-must-7",
        "rfc7643-4.1.2-must-4")  # fmt: skip
@pytest.mark.parametrize(
    ("resource_type", "name", "characteristic", "value"),
    PUBLISHED_RULES,
    ids=[f"{r}.{n}.{c}" for r, n, c, _ in PUBLISHED_RULES],
)
def test_published_characteristics_match_the_rfc(
    capabilities: Capabilities, resource_type: str, name: str, characteristic: str, value: Any
) -> None:
    """RFC 7643 4: userName and Group displayName are REQUIRED, password writeOnly/never,
    groups readOnly, wherever the server publishes these attributes."""
    rt = capabilities.resource_type(resource_type)
    schema = capabilities.schema(rt.schema) if rt else None
    attr = schema.attribute(name) if schema else None
    if attr is None:
        raise Unsupported(f"the server publishes no {resource_type}.{name}")
    published = getattr(attr, characteristic)
    if published != value:
        raise SchemaViolation(
            f"/Schemas gives {resource_type}.{name} the wrong {characteristic}",
            expected={characteristic: value},
            actual={characteristic: published},
            exchanges=list(capabilities.exchanges),
        )
