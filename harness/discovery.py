"""What the server says about itself (RFC 7644 section 4): read once, used to skip or expect.

`discover()` reads /ServiceProviderConfig, /ResourceTypes and /Schemas into `Capabilities`.
A feature declared unsupported makes its checks skip with that reason (`require()`); a
discovery failure makes every dependent check Blocked, with the exchange.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.client import Response, ScimClient
from harness.exchange import Exchange
from harness.verdicts import Blocked, ScimViolation, Unsupported

__all__ = [
    "AttributeInfo",
    "Capabilities",
    "ResourceTypeInfo",
    "SchemaInfo",
    "discover",
]

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """One attribute definition as the server publishes it (RFC 7643 section 7)."""

    name: str
    type: str = "string"
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"
    returned: str = "default"
    uniqueness: str = "none"
    canonical_values: tuple[str, ...] = ()
    sub_attributes: tuple[AttributeInfo, ...] = ()

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> AttributeInfo:
        subs = raw.get("subAttributes")
        canon = raw.get("canonicalValues")
        return cls(
            name=str(raw.get("name", "")),
            type=str(raw.get("type", "string")),
            multi_valued=bool(raw.get("multiValued", False)),
            required=bool(raw.get("required", False)),
            case_exact=bool(raw.get("caseExact", False)),
            mutability=str(raw.get("mutability", "readWrite")),
            returned=str(raw.get("returned", "default")),
            uniqueness=str(raw.get("uniqueness", "none")),
            canonical_values=tuple(str(v) for v in canon) if isinstance(canon, list) else (),
            sub_attributes=tuple(cls.from_json(s) for s in subs if isinstance(s, Mapping))
            if isinstance(subs, list)
            else (),
        )

    def sub(self, name: str) -> AttributeInfo | None:
        lowered = name.lower()
        return next((s for s in self.sub_attributes if s.name.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class SchemaInfo:
    """A schema from /Schemas: its URN and attributes."""

    id: str
    name: str
    attributes: tuple[AttributeInfo, ...]
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def attribute(self, name: str) -> AttributeInfo | None:
        lowered = name.lower()
        return next((a for a in self.attributes if a.name.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class ResourceTypeInfo:
    """A resource type from /ResourceTypes."""

    name: str
    endpoint: str
    schema: str
    extensions: tuple[tuple[str, bool], ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The server's declared features, resource types and schemas."""

    service_provider_config: Mapping[str, Any]
    resource_types: tuple[ResourceTypeInfo, ...]
    schemas: tuple[SchemaInfo, ...]
    exchanges: tuple[Exchange, ...] = ()

    def __repr__(self) -> str:
        return f"<Capabilities {self.declared()}>"

    def _feature(self, name: str) -> Mapping[str, Any]:
        value = self.service_provider_config.get(name)
        return value if isinstance(value, Mapping) else {}

    def supports(self, feature: str) -> bool:
        """patch, bulk, filter, sort, etag, changePassword: the `supported` flag."""
        return self._feature(feature).get("supported") is True

    def require(self, feature: str) -> None:
        """Unsupported (a skip with the reason) unless the server declares the feature."""
        if not self.supports(feature):
            raise Unsupported(f'ServiceProviderConfig declares "{feature}.supported": false')

    @property
    def patch(self) -> bool:
        return self.supports("patch")

    @property
    def bulk(self) -> bool:
        return self.supports("bulk")

    @property
    def filter(self) -> bool:
        return self.supports("filter")

    @property
    def sort(self) -> bool:
        return self.supports("sort")

    @property
    def etag(self) -> bool:
        return self.supports("etag")

    @property
    def change_password(self) -> bool:
        return self.supports("changePassword")

    @property
    def max_results(self) -> int | None:
        value = self._feature("filter").get("maxResults")
        return value if isinstance(value, int) else None

    @property
    def bulk_max_operations(self) -> int | None:
        value = self._feature("bulk").get("maxOperations")
        return value if isinstance(value, int) else None

    @property
    def bulk_max_payload_size(self) -> int | None:
        value = self._feature("bulk").get("maxPayloadSize")
        return value if isinstance(value, int) else None

    def resource_type(self, name: str) -> ResourceTypeInfo | None:
        return next((r for r in self.resource_types if r.name.lower() == name.lower()), None)

    def endpoint(self, name: str) -> str:
        """The endpoint of a resource type; Unsupported if the server has no such type."""
        found = self.resource_type(name)
        if found is None:
            raise Unsupported(f"the server publishes no {name} resource type at /ResourceTypes")
        return found.endpoint

    def schema(self, urn: str) -> SchemaInfo | None:
        return next((s for s in self.schemas if s.id.lower() == urn.lower()), None)

    def declared(self) -> dict[str, Any]:
        """The declared features, for the report."""
        features: dict[str, Any] = {
            name: self.supports(name)
            for name in ("patch", "bulk", "filter", "sort", "etag", "changePassword")
        }
        features["maxResults"] = self.max_results
        features["bulkMaxOperations"] = self.bulk_max_operations
        features["bulkMaxPayloadSize"] = self.bulk_max_payload_size
        features["resourceTypes"] = {r.name: r.endpoint for r in self.resource_types}
        features["schemas"] = [s.id for s in self.schemas]
        return features


def _listed(response: Response) -> list[Mapping[str, Any]]:
    body = response.json()
    if isinstance(body, dict) and isinstance(body.get("Resources"), list):
        items: list[Any] = body["Resources"]
    elif isinstance(body, list):  # a common departure; the discovery checks report it
        items = body
    else:
        items = []
    return [i for i in items if isinstance(i, Mapping)]


def discover(client: ScimClient) -> Capabilities:
    """Read the three discovery endpoints; Blocked (with the exchanges) if that fails."""
    exchanges: list[Exchange] = []
    try:
        spc = client.get("/ServiceProviderConfig")
        exchanges.append(spc.exchange)
        if spc.status != 200:
            raise Blocked(f"GET /ServiceProviderConfig answered {spc.status}", exchanges=exchanges)
        config = spc.json_object()
        rts = client.get("/ResourceTypes")
        exchanges.append(rts.exchange)
        schemas = client.get("/Schemas")
        exchanges.append(schemas.exchange)
        rt_items = _listed(rts) if rts.status == 200 else []
        schema_items = _listed(schemas) if schemas.status == 200 else []
    except ScimViolation as exc:
        raise Blocked(
            f"discovery failed: {exc.message}", exchanges=[*exchanges, *exc.exchanges]
        ) from exc
    resource_types = []
    for raw in rt_items:
        ext = raw.get("schemaExtensions")
        resource_types.append(
            ResourceTypeInfo(
                name=str(raw.get("name", raw.get("id", ""))),
                endpoint=str(raw.get("endpoint", "")),
                schema=str(raw.get("schema", "")),
                extensions=tuple(
                    (str(e.get("schema", "")), bool(e.get("required", False)))
                    for e in ext
                    if isinstance(e, Mapping)
                )
                if isinstance(ext, list)
                else (),
                raw=raw,
            )
        )
    schema_infos = []
    for raw in schema_items:
        attrs = raw.get("attributes")
        schema_infos.append(
            SchemaInfo(
                id=str(raw.get("id", "")),
                name=str(raw.get("name", "")),
                attributes=tuple(
                    AttributeInfo.from_json(a) for a in attrs if isinstance(a, Mapping)
                )
                if isinstance(attrs, list)
                else (),
                raw=raw,
            )
        )
    return Capabilities(
        service_provider_config=config,
        resource_types=tuple(resource_types),
        schemas=tuple(schema_infos),
        exchanges=tuple(exchanges),
    )
