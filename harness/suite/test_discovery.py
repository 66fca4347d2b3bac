"""Discovery (RFC 7644 section 4; RFC 7643 sections 5-7): what the server says about itself.

These checks read the three discovery endpoints directly (not through `capabilities`), so a
broken endpoint fails here with its exchange while dependent checks elsewhere are blocked.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.validation.messages import validate_message
from harness.verdicts import SchemaViolation, StatusMismatch, ValueMismatch

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
RESOURCE_TYPE_URN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
ATTRIBUTE_TYPES = {"string", "boolean", "decimal", "integer", "dateTime", "reference", "complex",
                   "binary"}  # fmt: skip
ENUMS = {
    "mutability": {"readOnly", "readWrite", "immutable", "writeOnly"},
    "returned": {"always", "never", "default", "request"},
    "uniqueness": {"none", "server", "global"},
}


def _problem(what: str, response: Response, *, expected: Any, actual: Any) -> SchemaViolation:
    return SchemaViolation(what, expected=expected, actual=actual, exchanges=[response.exchange])


def _spc(scim: ScimClient) -> tuple[Response, dict[str, Any]]:
    response = expect_status(scim.get("/ServiceProviderConfig"), 200)
    return response, response.json_object()


def _listed(scim: ScimClient, path: str) -> tuple[Response, list[dict[str, Any]]]:
    response = expect_status(scim.get(path), 200)
    body = response.json_object()
    if LIST_URN not in (body.get("schemas") or []) or not isinstance(body.get("Resources"), list):
        raise _problem(
            f"GET {path} is not a ListResponse",
            response,
            expected=f'{{"schemas": ["{LIST_URN}"], "Resources": [...]}}',
            actual={k: body.get(k) for k in ("schemas", "totalResults")},
        )
    items = [r for r in body["Resources"] if isinstance(r, dict)]
    return response, items


def _feature(body: dict[str, Any], response: Response, name: str, *ints: str) -> dict[str, Any]:
    feature = body.get(name)
    if not isinstance(feature, dict):
        raise _problem(
            f'"{name}" is missing or not an object',
            response,
            expected=f'"{name}": {{"supported": true|false}}',
            actual=feature,
        )
    if not isinstance(feature.get("supported"), bool):
        raise _problem(
            f'"{name}.supported" is missing or not a boolean',
            response,
            expected="true or false",
            actual=feature.get("supported"),
        )
    for key in ints:
        value = feature.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise _problem(
                f'"{name}.{key}" is missing or not a non-negative integer',
                response,
                expected="an integer",
                actual=value,
            )
    return feature


# -- /ServiceProviderConfig (RFC 7644 4, RFC 7643 5) ------------------------------------------


@clause("rfc7644-4-must-1")
def test_service_provider_config_schema(scim: ScimClient) -> None:
    """RFC 7644 4: /ServiceProviderConfig answers with the ServiceProviderConfig schema URN."""
    response, body = _spc(scim)
    if SPC_URN not in (body.get("schemas") or []):
        raise _problem(
            '"schemas" lacks the ServiceProviderConfig URN',
            response,
            expected=[SPC_URN],
            actual=body.get("schemas"),
        )


@clause("rfc7643-5-must-1", "rfc7643-5-must-2")
def test_service_provider_config_declares_patch(scim: ScimClient) -> None:
    """RFC 7643 5: "patch" with a boolean "supported" is REQUIRED."""
    response, body = _spc(scim)
    _feature(body, response, "patch")


@clause("rfc7643-5-must-3", "rfc7643-5-must-4", "rfc7643-5-must-5", "rfc7643-5-must-6")
def test_service_provider_config_declares_bulk(scim: ScimClient) -> None:
    """RFC 7643 5: "bulk" with "supported", "maxOperations" and "maxPayloadSize" is REQUIRED."""
    response, body = _spc(scim)
    _feature(body, response, "bulk", "maxOperations", "maxPayloadSize")


@clause("rfc7643-5-must-7", "rfc7643-5-must-8", "rfc7643-5-must-9")
def test_service_provider_config_declares_filter(scim: ScimClient) -> None:
    """RFC 7643 5: "filter" with "supported" and "maxResults" is REQUIRED."""
    response, body = _spc(scim)
    _feature(body, response, "filter", "maxResults")


@clause("rfc7643-5-must-10", "rfc7643-5-must-11")
def test_service_provider_config_declares_change_password(scim: ScimClient) -> None:
    """RFC 7643 5: "changePassword" with a boolean "supported" is REQUIRED."""
    response, body = _spc(scim)
    _feature(body, response, "changePassword")


@clause("rfc7643-5-must-12", "rfc7643-5-must-13")
def test_service_provider_config_declares_sort(scim: ScimClient) -> None:
    """RFC 7643 5: "sort" with a boolean "supported" is REQUIRED."""
    response, body = _spc(scim)
    _feature(body, response, "sort")


@clause("rfc7643-5-must-14", "rfc7643-5-must-15")
def test_service_provider_config_declares_etag(scim: ScimClient) -> None:
    """RFC 7643 5: "etag" with a boolean "supported" is REQUIRED."""
    response, body = _spc(scim)
    _feature(body, response, "etag")


@clause("rfc7643-5-must-16", "rfc7643-5-must-17", "rfc7643-5-must-18", "rfc7643-5-must-19")
def test_service_provider_config_lists_authentication_schemes(scim: ScimClient) -> None:
    """RFC 7643 5: "authenticationSchemes" lists each scheme's type, name and description."""
    response, body = _spc(scim)
    schemes = body.get("authenticationSchemes")
    if not isinstance(schemes, list) or not schemes:
        raise _problem(
            '"authenticationSchemes" is missing or empty',
            response,
            expected="a non-empty list",
            actual=schemes,
        )
    for i, scheme in enumerate(schemes):
        missing = [
            k
            for k in ("type", "name", "description")
            if not isinstance(scheme, dict) or not isinstance(scheme.get(k), str)
        ]
        if missing:
            raise _problem(
                f"authenticationSchemes[{i}] lacks {', '.join(missing)}",
                response,
                expected="type, name and description strings",
                actual=scheme,
            )


# -- /ResourceTypes (RFC 7644 4, RFC 7643 6) --------------------------------------------------


@clause("rfc7644-4-must-3", "rfc7644-3.1-must-1")
def test_resource_types_is_a_list_response(scim: ScimClient) -> None:
    """RFC 7644 4: GET /ResourceTypes returns every resource type in a ListResponse."""
    response, items = _listed(scim, "/ResourceTypes")
    if not items:
        raise _problem(
            "/ResourceTypes lists no resource type",
            response,
            expected="at least one resource type",
            actual=[],
        )


@clause(
    "rfc7643-6-must-1",
    "rfc7643-6-must-2",
    "rfc7643-6-must-3",
    "rfc7643-6-must-5",
    "rfc7643-6-must-7",
)
def test_resource_types_carry_name_endpoint_schema(scim: ScimClient) -> None:
    """RFC 7643 6: every resource type has a name, an endpoint and a core schema URN."""
    response, items = _listed(scim, "/ResourceTypes")
    for item in items:
        missing = [
            k
            for k in ("name", "endpoint", "schema")
            if not isinstance(item.get(k), str) or not item.get(k)
        ]
        if missing:
            raise _problem(
                f"resource type {item.get('id')!r} lacks {', '.join(missing)}",
                response,
                expected="name, endpoint and schema",
                actual=item,
            )
        if RESOURCE_TYPE_URN not in (item.get("schemas") or []):
            raise _problem(
                f"resource type {item['name']!r} lacks the ResourceType URN",
                response,
                expected=[RESOURCE_TYPE_URN],
                actual=item.get("schemas"),
            )


@clause("rfc7643-6-must-9", "rfc7643-6-must-11")
def test_resource_type_extensions_are_well_formed(scim: ScimClient) -> None:
    """RFC 7643 6: each schemaExtensions entry has a "schema" URN and a boolean "required"."""
    response, items = _listed(scim, "/ResourceTypes")
    for item in items:
        extensions = item.get("schemaExtensions", [])
        if not isinstance(extensions, list):
            raise _problem(
                '"schemaExtensions" is not a list', response, expected="a list", actual=extensions
            )
        for ext in extensions:
            if (
                not isinstance(ext, dict)
                or not isinstance(ext.get("schema"), str)
                or not isinstance(ext.get("required"), bool)
            ):
                raise _problem(
                    f"resource type {item.get('name')!r}: malformed extension",
                    response,
                    expected='{"schema": URN, "required": bool}',
                    actual=ext,
                )


@clause("rfc7643-6-must-6", "rfc7643-6-must-8")
def test_resource_type_schemas_are_published(scim: ScimClient) -> None:
    """RFC 7643 6: a resource type's schema and extensions are ids of schemas at /Schemas."""
    _, types = _listed(scim, "/ResourceTypes")
    schemas_response, schemas = _listed(scim, "/Schemas")
    published = {s.get("id") for s in schemas}
    for item in types:
        wanted = [item.get("schema")] + [
            e.get("schema") for e in item.get("schemaExtensions") or [] if isinstance(e, dict)
        ]
        missing = [urn for urn in wanted if urn not in published]
        if missing:
            raise ValueMismatch(
                f"resource type {item.get('name')!r} names schemas /Schemas does not publish",
                expected=f"{missing} among the ids at /Schemas",
                actual=sorted(str(p) for p in published),
                exchanges=[schemas_response.exchange],
            )


@clause("rfc7644-4-must-3")
def test_resource_type_by_name(scim: ScimClient) -> None:
    """RFC 7644 4: /ResourceTypes/{name} returns that single resource type, not a list."""
    _, items = _listed(scim, "/ResourceTypes")
    for item in items:
        rid = item.get("id") or item.get("name")
        response = expect_status(scim.get(f"/ResourceTypes/{rid}"), 200)
        body = response.json_object()
        if body.get("name") != item.get("name") or body.get("endpoint") != item.get("endpoint"):
            raise _problem(
                f"/ResourceTypes/{rid} is not that resource type",
                response,
                expected={"name": item.get("name"), "endpoint": item.get("endpoint")},
                actual={k: body.get(k) for k in ("schemas", "name", "endpoint")},
            )


# -- /Schemas (RFC 7644 4, RFC 7643 7) --------------------------------------------------------


@clause("rfc7644-4-must-2", "rfc7644-4-must-3", "rfc7643-7-must-2", "rfc7643-7-must-3")
def test_schemas_is_a_list_response_of_schemas(scim: ScimClient) -> None:
    """RFC 7644 4: GET /Schemas returns all supported schemas, each with its URN "id"."""
    response, items = _listed(scim, "/Schemas")
    if not items:
        raise _problem(
            "/Schemas lists no schema", response, expected="the User schema at least", actual=[]
        )
    for item in items:
        if not isinstance(item.get("id"), str) or not item["id"].startswith("urn:"):
            raise _problem(
                "a schema lacks its URN id",
                response,
                expected="id: urn:...",
                actual={k: item.get(k) for k in ("id", "name")},
            )


def _attribute_problems(attr: Any, where: str) -> list[str]:
    if not isinstance(attr, dict):
        return [f"{where}: not an object"]
    name = attr.get("name")
    here = f"{where}.{name}"
    problems = []
    if not isinstance(name, str) or not name:
        problems.append(f"{where}: attribute without a name")
    if attr.get("type") not in ATTRIBUTE_TYPES:
        problems.append(f"{here}: type {attr.get('type')!r} is not a SCIM type")
    for key in ("multiValued", "required"):
        if not isinstance(attr.get(key), bool):
            problems.append(f"{here}: {key} is missing or not a boolean")
    if "caseExact" in attr and not isinstance(attr["caseExact"], bool):
        problems.append(f"{here}: caseExact is not a boolean")
    for key, allowed in ENUMS.items():
        if key in attr and attr[key] not in allowed:
            problems.append(f"{here}: {key} {attr[key]!r} not one of {sorted(allowed)}")
    for sub in attr.get("subAttributes") or []:
        problems += _attribute_problems(sub, here)
    return problems


@clause("rfc7643-7-must-1")
def test_schema_attributes_are_well_formed(scim: ScimClient) -> None:
    """RFC 7643 7: each attribute definition has a name, a SCIM type and valid characteristics."""
    response, items = _listed(scim, "/Schemas")
    problems: list[str] = []
    for item in items:
        attributes = item.get("attributes")
        if not isinstance(attributes, list):
            problems.append(f"{item.get('id')}: attributes missing or not a list")
            continue
        for attr in attributes:
            problems += _attribute_problems(attr, str(item.get("id")))
    if problems:
        raise _problem(
            "malformed attribute definitions: " + "; ".join(problems[:8]),
            response,
            expected="name, type, multiValued, required; valid enum values",
            actual=problems[:20],
        )


@clause("rfc7643-7-should-1")
def test_complex_attributes_list_sub_attributes(scim: ScimClient) -> None:
    """RFC 7643 7: a complex attribute SHOULD define its "subAttributes"."""
    response, items = _listed(scim, "/Schemas")
    bare = [
        f"{item.get('id')}:{attr.get('name')}"
        for item in items
        for attr in item.get("attributes") or []
        if isinstance(attr, dict)
        and attr.get("type") == "complex"
        and not attr.get("subAttributes")
    ]
    if bare:
        raise _problem(
            "complex attributes without subAttributes",
            response,
            expected="subAttributes for every complex attribute",
            actual=bare,
        )


@clause("rfc7644-4-must-2")
def test_schema_by_urn(scim: ScimClient) -> None:
    """RFC 7644 4: /Schemas/{URN} returns that one schema definition."""
    _, items = _listed(scim, "/Schemas")
    for item in items:
        urn = item["id"]
        response = expect_status(scim.get(f"/Schemas/{urn}"), 200)
        body = response.json_object()
        if body.get("id") != urn:
            raise _problem(
                f"/Schemas/{urn} is not that schema",
                response,
                expected={"id": urn},
                actual={k: body.get(k) for k in ("schemas", "id", "totalResults")},
            )


@clause("rfc7644-3.12-should-1")
@pytest.mark.parametrize(
    "path",
    [
        "/Schemas/urn:ietf:params:scim:schemas:core:2.0:NoSuchSchema",
        "/ResourceTypes/NoSuchResourceType",
    ],
)
def test_unknown_discovery_item_is_404(scim: ScimClient, path: str) -> None:
    """RFC 7644 3.12: an unknown schema or resource type is 404 Not Found, as a SCIM error."""
    expect_scim_error(scim.get(path), 404)


# -- query parameters on discovery (RFC 7644 4) -----------------------------------------------


@clause("rfc7644-4-must-4")
@pytest.mark.parametrize("path", ["/Schemas", "/ResourceTypes"])
def test_discovery_ignores_paging_and_sorting(scim: ScimClient, path: str) -> None:
    """RFC 7644 4: sorting and pagination parameters on discovery endpoints SHALL be ignored."""
    _, everything = _listed(scim, path)
    response = scim.get(
        path, params={"count": 1, "startIndex": 2, "sortBy": "name", "sortOrder": "descending"}
    )
    expect_status(response, 200)
    body = response.json_object()
    got = [r.get("id") for r in body.get("Resources") or [] if isinstance(r, dict)]
    want = [r.get("id") for r in everything]
    if sorted(map(str, got)) != sorted(map(str, want)):
        raise ValueMismatch(
            f"GET {path} with count/startIndex/sortBy returned a different set",
            expected=want,
            actual=got,
            exchanges=[response.exchange],
        )


@clause("rfc7644-4-should-1")
@pytest.mark.parametrize("path", ["/Schemas", "/ResourceTypes"])
def test_discovery_filter_is_forbidden(scim: ScimClient, path: str) -> None:
    """RFC 7644 4: a "filter" on a discovery endpoint SHOULD be answered 403 Forbidden."""
    response = scim.get(path, params={"filter": 'id eq "urn:scimtest:none"'})
    if response.status != 403:
        raise StatusMismatch(
            f"GET {path}?filter=... answered {response.status}",
            expected="403 (clients must not assume the filter was applied)",
            actual=str(response.status),
            exchanges=[response.exchange],
        )


# -- RFC message schemas (RFC 7643 5-7, JSON Schemas in harness/validation/schemas) -----------


@clause("rfc7644-4-must-1", "rfc7643-5-must-1", "rfc7643-5-must-16")
def test_service_provider_config_matches_rfc_schema(scim: ScimClient) -> None:
    """RFC 7643 5: the ServiceProviderConfig document validates against its RFC schema."""
    response, body = _spc(scim)
    validate_message("ServiceProviderConfig", body, exchanges=[response.exchange])


@clause("rfc7643-6-must-1")
def test_resource_types_match_rfc_schema(scim: ScimClient) -> None:
    """RFC 7643 6: each ResourceType validates against the RFC schema, as does the list."""
    response, items = _listed(scim, "/ResourceTypes")
    validate_message("ListResponse", response.json(), exchanges=[response.exchange])
    for item in items:
        validate_message("ResourceType", item, exchanges=[response.exchange])


@clause("rfc7643-7-must-1")
def test_schemas_match_rfc_schema(scim: ScimClient) -> None:
    """RFC 7643 7: each Schema document validates against the RFC schema, as does the list."""
    response, items = _listed(scim, "/Schemas")
    validate_message("ListResponse", response.json(), exchanges=[response.exchange])
    for item in items:
        validate_message("Schema", item, exchanges=[response.exchange])
