"""The schema registry: published characteristics and case-insensitive resolution (RFC 7643)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from reference_server.scim.schemas import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    load_registry,
)

REG = load_registry()


def test_registry_is_built_once() -> None:
    assert load_registry() is REG


@pytest.mark.parametrize(
    ("path", "index_path", "name", "sub"),
    [
        ("userName", "username", "userName", None),
        ("USERNAME", "username", "userName", None),
        ("name.givenName", "name.givenname", "name", "givenName"),
        ("emails.VALUE", "emails.value", "emails", "value"),
        ("meta.lastModified", "meta.lastmodified", "meta", "lastModified"),
        ("id", "id", "id", None),
        ("externalId", "externalid", "externalId", None),
        (f"{CORE_USER}:userName", "username", "userName", None),
        (f"{CORE_USER.upper()}:name.familyName", "name.familyname", "name", "familyName"),
        (
            f"{ENTERPRISE_USER}:department",
            f"{ENTERPRISE_USER.lower()}:department",
            "department",
            None,
        ),
        (
            f"{ENTERPRISE_USER}:manager.value",
            f"{ENTERPRISE_USER.lower()}:manager.value",
            "manager",
            "value",
        ),
    ],
)
def test_resolve_user_paths(path: str, index_path: str, name: str, sub: str | None) -> None:
    resolved = REG.resolve("User", path)
    assert resolved is not None
    assert resolved.index_path == index_path
    assert resolved.attribute.name == name
    assert (resolved.sub_attribute.name if resolved.sub_attribute else None) == sub


@pytest.mark.parametrize(
    "path", ["nope", "name.nope", "department", f"{CORE_GROUP}:displayName", "members.value"]
)
def test_resolve_unknown_user_paths(path: str) -> None:
    assert REG.resolve("User", path) is None


def test_extension_schema_urn_resolves_to_the_extension() -> None:
    resolved = REG.resolve("User", f"{ENTERPRISE_USER}:department")
    assert resolved is not None
    assert resolved.schema_urn == ENTERPRISE_USER


def test_group_members_characteristics() -> None:
    resolved = REG.resolve("Group", "members.type")
    assert resolved is not None
    assert resolved.leaf.canonical_values == ("User", "Group")
    assert resolved.leaf.mutability == "immutable"
    value = REG.resolve("Group", "members.value")
    assert value is not None
    assert value.leaf.mutability == "immutable"
    assert REG.resolve("Group", "members.$ref") is not None


@pytest.mark.parametrize(
    ("path", "mutability", "returned", "uniqueness", "required", "case_exact"),
    [
        ("id", "readOnly", "always", "server", False, True),
        ("userName", "readWrite", "default", "server", True, False),
        ("password", "writeOnly", "never", "none", False, False),
        ("groups", "readOnly", "default", "none", False, False),
        ("groups.value", "readOnly", "default", "none", False, True),
        ("meta.created", "readOnly", "default", "none", False, False),
        ("externalId", "readWrite", "default", "none", False, True),
    ],
)
def test_user_characteristics(
    path: str, mutability: str, returned: str, uniqueness: str, required: bool, case_exact: bool
) -> None:
    resolved = REG.resolve("User", path)
    assert resolved is not None
    leaf = resolved.leaf
    assert (leaf.mutability, leaf.returned, leaf.uniqueness, leaf.required, leaf.case_exact) == (
        mutability,
        returned,
        uniqueness,
        required,
        case_exact,
    )


def test_group_display_name_required() -> None:
    resolved = REG.resolve("Group", "displayName")
    assert resolved is not None
    assert resolved.attribute.required


def test_resource_types() -> None:
    user = REG.resource_type("user")
    assert user.endpoint == "/Users"
    assert user.schema == CORE_USER
    assert user.extensions == ((ENTERPRISE_USER, False),)
    assert REG.resource_type_by_endpoint("/groups") == REG.resource_type("Group")
    assert REG.resource_type_by_endpoint("/Nope") is None


def test_schemas_json_lists_published_schemas_without_common_attributes() -> None:
    published = {s["id"]: s for s in REG.schemas_json()}
    assert set(published) >= {CORE_USER, CORE_GROUP, ENTERPRISE_USER}
    assert len(published) == 6
    user_names = {a["name"] for a in published[CORE_USER]["attributes"]}
    assert "userName" in user_names
    assert "id" not in user_names
    for schema in published.values():
        assert schema["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
        for attr in schema["attributes"]:
            assert {"name", "type", "multiValued", "required", "mutability", "returned"} <= set(
                attr
            )


def test_schemas_json_is_a_copy() -> None:
    first = REG.schemas_json()
    first[0]["attributes"].clear()
    assert REG.schemas_json()[0]["attributes"]


def test_resource_types_json() -> None:
    types = {rt["name"]: rt for rt in REG.resource_types_json()}
    assert types["User"]["schemaExtensions"] == [{"schema": ENTERPRISE_USER, "required": False}]
    assert types["Group"]["endpoint"] == "/Groups"


def test_split_urn() -> None:
    assert REG.split_urn("User", f"{ENTERPRISE_USER.lower()}:manager") == (
        ENTERPRISE_USER,
        "manager",
    )
    assert REG.split_urn("User", ENTERPRISE_USER) == (ENTERPRISE_USER, "")
    assert REG.split_urn("User", "name.givenName") == (None, "name.givenName")
    assert REG.split_urn("User", f"{CORE_USER}:userName") == (CORE_USER, "userName")


ATTRNAME = re.compile(r"\$ref|[A-Za-z][A-Za-z0-9_-]*")  # RFC 7644 Figure 1 (plus "$ref")
TYPES = {"string", "boolean", "decimal", "integer", "dateTime", "reference", "complex", "binary"}


def _walk(attributes: list[dict[str, Any]], depth: int) -> Iterator[tuple[dict[str, Any], int]]:
    for attr in attributes:
        yield attr, depth
        yield from _walk(attr.get("subAttributes", []), depth + 1)


@pytest.mark.parametrize("schema", REG.schemas_json(), ids=lambda s: s["name"])
def test_published_attributes_are_well_formed(schema: dict[str, Any]) -> None:
    """RFC 7643 section 7: every characteristic present and valid; no complex sub-attribute
    (section 2.3.8); names unique per level, case-insensitively (section 2.1)."""
    seen: dict[int, set[str]] = {}
    for attr, depth in _walk(schema["attributes"], 0):
        assert ATTRNAME.fullmatch(attr["name"]), attr["name"]
        assert attr["type"] in TYPES
        assert attr["mutability"] in {"readOnly", "readWrite", "immutable", "writeOnly"}
        assert attr["returned"] in {"always", "never", "default", "request"}
        assert isinstance(attr["multiValued"], bool)
        assert isinstance(attr["required"], bool)
        assert isinstance(attr["description"], str)
        if attr["type"] not in ("complex", "boolean"):
            assert attr["uniqueness"] in {"none", "server", "global"}
            assert isinstance(attr["caseExact"], bool)
        if attr["type"] == "reference":
            assert attr["referenceTypes"]
        if attr["type"] == "complex":
            # the RFC's own Schema meta-schema nests subAttributes (section 7): kept as is
            meta = schema["id"] == "urn:ietf:params:scim:schemas:core:2.0:Schema"
            assert depth == 0 or meta, f"{attr['name']}: complex sub-attributes are not allowed"
            assert attr["subAttributes"]
            seen.pop(depth + 1, None)
        names = seen.setdefault(depth, set())
        if depth == 0:
            assert attr["name"].lower() not in names
            names.add(attr["name"].lower())


def test_resource_types_point_at_published_schemas() -> None:
    published = {s["id"] for s in REG.schemas_json()}
    for rt in REG.resource_types_json():
        assert rt["schema"] in published
        assert rt["endpoint"].startswith("/")
        for ext in rt["schemaExtensions"]:
            assert ext["schema"] in published
