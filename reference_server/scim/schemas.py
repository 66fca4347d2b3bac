"""The schema registry: the schemas and resource types the server publishes, loaded once.

`reference_server/resources/*.json` is the one source of truth (RFC 7643 section 7):
`/Schemas` and `/ResourceTypes` publish it, and validation, projection, filters and PATCH
read every attribute characteristic from it. The files start from RFC 7643 section 8.7
with the known errata and common fixes applied: Group `members` sub-attributes immutable
with `type` canonical values "User"/"Group" and a readOnly `display`; Group
`displayName` required (section 4.2); `groups` readOnly; `password` writeOnly, returned
never; every attribute carries all characteristics (section 2.2 defaults made explicit);
references and binaries caseExact (sections 2.3.6, 2.3.7); `x509Certificates.value`
binary; the ServiceProviderConfig schema gains `etag` and `authenticationSchemes.type`
(section 5); `schemaExtensions` multi-valued (section 6).

The common attributes `id`, `externalId` and `meta` (section 3.1) "are not defined in any
particular schema": they live in `common-attributes.json`, resolve on every resource
type under the core schema, and are not listed under `/Schemas`.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

__all__ = [
    "CORE_GROUP",
    "CORE_USER",
    "ENTERPRISE_USER",
    "AttributeDef",
    "ResolvedPath",
    "ResourceTypeDef",
    "SchemaRegistry",
    "load_registry",
]

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

_RESOURCES = Path(__file__).resolve().parent.parent / "resources"


@dataclass(frozen=True, slots=True)
class AttributeDef:
    """One attribute with its RFC 7643 section 2.2 characteristics."""

    name: str
    type: str
    multi_valued: bool
    required: bool
    case_exact: bool
    mutability: str
    returned: str
    uniqueness: str
    canonical_values: tuple[str, ...]
    reference_types: tuple[str, ...]
    sub_attributes: tuple[AttributeDef, ...]
    # lower-cased name -> sub-attribute; built once, so lookups are one dict access
    sub_index: dict[str, AttributeDef] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )

    def __post_init__(self) -> None:
        if self.sub_attributes and not self.sub_index:
            self.sub_index.update({a.name.lower(): a for a in self.sub_attributes})
            self.sub_index.update({a.name: a for a in self.sub_attributes})

    def sub(self, name: str) -> AttributeDef | None:
        """The sub-attribute called `name`, case-insensitively (RFC 7643 section 2.1)."""
        found = self.sub_index.get(name)
        if found is None:
            found = self.sub_index.get(name.lower())
        return found

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AttributeDef:
        """Build from a published attribute definition, with section 2.2 defaults."""
        return cls(
            name=data["name"],
            type=data.get("type", "string"),
            multi_valued=bool(data.get("multiValued", False)),
            required=bool(data.get("required", False)),
            case_exact=bool(data.get("caseExact", False)),
            mutability=data.get("mutability", "readWrite"),
            returned=data.get("returned", "default"),
            uniqueness=data.get("uniqueness", "none"),
            canonical_values=tuple(data.get("canonicalValues", ())),
            reference_types=tuple(data.get("referenceTypes", ())),
            sub_attributes=tuple(cls.from_json(s) for s in data.get("subAttributes", ())),
        )


@dataclass(frozen=True, slots=True)
class ResolvedPath:
    """An attribute path resolved against a resource type."""

    schema_urn: str
    attribute: AttributeDef
    sub_attribute: AttributeDef | None
    index_path: str

    @property
    def leaf(self) -> AttributeDef:
        """The attribute the path ends at (the sub-attribute if there is one)."""
        return self.sub_attribute if self.sub_attribute is not None else self.attribute


@dataclass(frozen=True, slots=True)
class ResourceTypeDef:
    """A resource type (RFC 7643 section 6)."""

    name: str
    endpoint: str
    schema: str
    extensions: tuple[tuple[str, bool], ...]

    @property
    def schema_urns(self) -> tuple[str, ...]:
        """The core schema then every extension: all URNs allowed in `schemas`."""
        return (self.schema, *(urn for urn, _ in self.extensions))


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    definition: ResourceTypeDef
    # top-level attributes of the core schema (common attributes included), by lower name
    core: dict[str, AttributeDef]
    # extension URN (lower) -> (canonical URN, attributes by lower name)
    extensions: dict[str, tuple[str, dict[str, AttributeDef]]]
    paths: dict[str, ResolvedPath]


class SchemaRegistry:
    """Schemas and resource types, indexed for case-insensitive lookups."""

    def __init__(
        self,
        schemas: list[dict[str, Any]],
        common: list[dict[str, Any]],
        resource_types: list[dict[str, Any]],
    ) -> None:
        self._schemas_json = schemas
        self._resource_types_json = resource_types
        self.common_attributes: tuple[AttributeDef, ...] = tuple(
            AttributeDef.from_json(a) for a in common
        )
        self._schema_attrs: dict[str, tuple[str, tuple[AttributeDef, ...]]] = {
            s["id"].lower(): (s["id"], tuple(AttributeDef.from_json(a) for a in s["attributes"]))
            for s in schemas
        }
        self._types: dict[str, _TypeInfo] = {}
        self._by_endpoint: dict[str, ResourceTypeDef] = {}
        for rt in resource_types:
            definition = ResourceTypeDef(
                name=rt["name"],
                endpoint=rt["endpoint"],
                schema=rt["schema"],
                extensions=tuple(
                    (e["schema"], bool(e.get("required", False)))
                    for e in rt.get("schemaExtensions", ())
                ),
            )
            self._types[definition.name.lower()] = self._build_type(definition)
            self._by_endpoint[definition.endpoint.lower()] = definition

    def _build_type(self, definition: ResourceTypeDef) -> _TypeInfo:
        core_urn, core_attrs = self._schema_attrs[definition.schema.lower()]
        core = {a.name.lower(): a for a in (*self.common_attributes, *core_attrs)}
        extensions: dict[str, tuple[str, dict[str, AttributeDef]]] = {}
        for urn, _required in definition.extensions:
            ext_urn, ext_attrs = self._schema_attrs[urn.lower()]
            extensions[ext_urn.lower()] = (ext_urn, {a.name.lower(): a for a in ext_attrs})
        paths: dict[str, ResolvedPath] = {}

        def add(urn: str, prefix: str, attrs: dict[str, AttributeDef], core_schema: bool) -> None:
            for low, attr in attrs.items():
                index = prefix + low
                top = ResolvedPath(urn, attr, None, index)
                keys = [f"{urn.lower()}:{low}"]
                if core_schema:
                    keys.append(low)
                for key in keys:
                    paths[key] = top
                for sub in attr.sub_attributes:
                    resolved = ResolvedPath(urn, attr, sub, f"{index}.{sub.name.lower()}")
                    for key in keys:
                        paths[f"{key}.{sub.name.lower()}"] = resolved

        add(core_urn, "", core, core_schema=True)
        for ext_low, (ext_urn, ext_by_name) in extensions.items():
            add(ext_urn, ext_low + ":", ext_by_name, core_schema=False)
        return _TypeInfo(definition, core, extensions, paths)

    # --- contract -------------------------------------------------------------------

    def resource_type(self, name: str) -> ResourceTypeDef:
        """The resource type called `name` ("User", "Group"); KeyError if unknown."""
        return self._types[name.lower()].definition

    def resource_type_by_endpoint(self, endpoint: str) -> ResourceTypeDef | None:
        """The resource type served at `endpoint` ("/Users"), case-insensitively."""
        return self._by_endpoint.get(endpoint.lower())

    def resolve(self, resource_type: str, path: str) -> ResolvedPath | None:
        """Resolve an attribute path, case-insensitively (RFC 7643 section 2.1).

        Accepts "userName", "name.givenName", "meta.lastModified", and fully qualified
        paths such as "urn:ietf:params:scim:schemas:core:2.0:User:userName" or
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
        """
        return self._types[resource_type.lower()].paths.get(path.lower())

    def schemas_json(self) -> list[dict[str, Any]]:
        """The `/Schemas` resources (without `meta.location`, which needs the base URL)."""
        out = []
        for schema in self._schemas_json:
            item = copy.deepcopy(schema)
            item["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:Schema"]
            item["meta"] = {"resourceType": "Schema"}
            out.append(item)
        return out

    def resource_types_json(self) -> list[dict[str, Any]]:
        """The `/ResourceTypes` resources (without `meta.location`)."""
        out = []
        for rt in self._resource_types_json:
            item = copy.deepcopy(rt)
            item["meta"] = {"resourceType": "ResourceType"}
            out.append(item)
        return out

    # --- helpers for the semantics modules -------------------------------------------

    def type_names(self) -> tuple[str, ...]:
        """Every resource type name, as published."""
        return tuple(info.definition.name for info in self._types.values())

    def core_attributes(self, resource_type: str) -> dict[str, AttributeDef]:
        """Top-level core attributes (common ones included) keyed by lower-cased name."""
        return self._types[resource_type.lower()].core

    def extension(self, resource_type: str, urn: str) -> tuple[str, dict[str, AttributeDef]] | None:
        """(canonical URN, attributes by lower name) of an extension of this type."""
        return self._types[resource_type.lower()].extensions.get(urn.lower())

    def extension_urns(self, resource_type: str) -> tuple[str, ...]:
        """The canonical URNs of this type's schema extensions."""
        return tuple(urn for urn, _ in self._types[resource_type.lower()].extensions.values())

    def split_urn(self, resource_type: str, path: str) -> tuple[str | None, str]:
        """Split a URN-qualified path into (canonical schema URN, rest).

        "urn:...:enterprise:2.0:User:manager.value" -> (enterprise URN, "manager.value");
        "urn:...:enterprise:2.0:User" -> (enterprise URN, ""); a plain path -> (None, path).
        """
        if path[:4].lower() != "urn:":
            return None, path
        info = self._types[resource_type.lower()]
        low = path.lower()
        core = info.definition.schema
        candidates = [(core.lower(), core)] + [(k, v[0]) for k, v in info.extensions.items()]
        for cand_low, urn in candidates:
            if low == cand_low:
                return urn, ""
            if low.startswith(cand_low + ":"):
                return urn, path[len(cand_low) + 1 :]
        return None, path

    def schema_urn(self, urn: str) -> str | None:
        """The canonical spelling of a published schema URN, or None."""
        found = self._schema_attrs.get(urn.lower())
        return found[0] if found else None


def _read(name: str) -> Any:
    return orjson.loads((_RESOURCES / name).read_bytes())


@functools.cache
def load_registry() -> SchemaRegistry:
    """The registry, built once per process from `reference_server/resources/`."""
    return SchemaRegistry(
        schemas=_read("schemas.json")["schemas"],
        common=_read("common-attributes.json")["attributes"],
        resource_types=_read("resource-types.json")["resourceTypes"],
    )
