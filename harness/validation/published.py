"""Validate a resource against the schemas the server itself publishes at /Schemas.

RFC 7643 sections 2 and 7: each attribute's type, multiValued shape, required presence,
canonicalValues (a SHOULD-level matter, reported apart) and returned=never (never sent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from harness.discovery import AttributeInfo, Capabilities
from harness.exchange import Exchange
from harness.verdicts import SchemaViolation

__all__ = ["published_errors", "validate_published"]

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _type_error(value: Any, attr: AttributeInfo) -> str | None:
    kind = attr.type
    ok = {
        "string": isinstance(value, str),
        "reference": isinstance(value, str),
        "binary": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "decimal": isinstance(value, int | float) and not isinstance(value, bool),
        "complex": isinstance(value, Mapping),
        "dateTime": isinstance(value, str) and bool(_DATETIME.match(value)),
    }.get(kind, True)
    return None if ok else f"expected type {kind}, found {value!r}"


def _check_attr(
    value: Any, attr: AttributeInfo, path: str, errors: list[str], *, top: bool
) -> None:
    if attr.returned == "never":
        errors.append(f'{path}: returned="never" but present')
        return
    if attr.multi_valued and top:
        if not isinstance(value, list):
            errors.append(f"{path}: multiValued but not a list: {value!r}")
            return
        for i, element in enumerate(value):
            _check_attr(element, attr, f"{path}[{i}]", errors, top=False)
        return
    if not attr.multi_valued and isinstance(value, list):
        errors.append(f"{path}: single-valued but a list")
        return
    problem = _type_error(value, attr)
    if problem:
        errors.append(f"{path}: {problem}")
        return
    if attr.type == "complex" and isinstance(value, Mapping):
        _check_object(value, attr.sub_attributes, path + ".", errors)


def _check_object(
    obj: Mapping[str, Any], attrs: Sequence[AttributeInfo], prefix: str, errors: list[str]
) -> None:
    by_name = {a.name.lower(): a for a in attrs}
    for key, value in obj.items():
        attr = by_name.get(key.lower())
        if attr is None or value is None:
            continue
        _check_attr(value, attr, prefix + key, errors, top=True)


def published_errors(
    resource: Mapping[str, Any], capabilities: Capabilities, resource_type: str
) -> list[str]:
    """What in `resource` contradicts the server's own published schemas."""
    rt = capabilities.resource_type(resource_type)
    if rt is None:
        return []
    errors: list[str] = []
    core = capabilities.schema(rt.schema)
    if core is not None:
        _check_object(resource, core.attributes, "", errors)
        for attr in core.attributes:
            if (
                attr.required
                and attr.returned != "never"
                and attr.mutability != "writeOnly"
                and not any(k.lower() == attr.name.lower() for k in resource)
            ):
                errors.append(f"{attr.name}: required but missing")
    for urn, _required in rt.extensions:
        ext = capabilities.schema(urn)
        value = next((v for k, v in resource.items() if k.lower() == urn.lower()), None)
        if ext is not None and isinstance(value, Mapping):
            _check_object(value, ext.attributes, urn + ":", errors)
    return errors


def validate_published(
    resource: Mapping[str, Any],
    capabilities: Capabilities,
    resource_type: str,
    *,
    clause: str = "RFC7643 7",
    exchanges: Sequence[Exchange] = (),
) -> None:
    """SchemaViolation unless `resource` agrees with the server's /Schemas."""
    __tracebackhide__ = True
    errors = published_errors(resource, capabilities, resource_type)
    if errors:
        raise SchemaViolation(
            f"the {resource_type} disagrees with the server's own /Schemas: "
            + "; ".join(errors[:10]),
            clause=clause,
            expected="a resource matching the published schema",
            actual=errors[:10],
            exchanges=exchanges,
        )
