"""In-memory filter evaluation, with the same meaning as the SQL translation.

Used by PATCH value filters (`emails[type eq "work"]`, RFC 7644 section 3.5.2) and by
tests that check the SQL against it; see `semantics` for the decisions both share.
"""

from __future__ import annotations

from typing import Any

from reference_server.scim.filter.ast import And, Compare, CompValue, Filter, Not, Or, Present
from reference_server.scim.filter.semantics import (
    Leaf,
    bind_compare,
    check_tree,
    resolve_leaf,
    resolve_parent,
)
from reference_server.scim.resources import normalize_datetime
from reference_server.scim.schemas import SchemaRegistry

__all__ = ["compare_value", "match_element", "matches"]


def matches(reg: SchemaRegistry, resource_type: str, f: Filter, resource: dict[str, Any]) -> bool:
    """Whether `resource` (a full or stored representation) matches the filter."""
    check_tree(reg, resource_type, f, None)
    return _eval(reg, resource_type, f, resource, None)


def match_element(
    reg: SchemaRegistry, resource_type: str, parent: str, f: Filter, element: Any
) -> bool:
    """Whether one element of the complex attribute `parent` matches a value-path filter."""
    check_tree(reg, resource_type, f, parent)
    return _eval(reg, resource_type, f, element, parent)


def _eval(
    reg: SchemaRegistry, resource_type: str, node: Filter, obj: Any, parent: str | None
) -> bool:
    if isinstance(node, And):
        return _eval(reg, resource_type, node.left, obj, parent) and _eval(
            reg, resource_type, node.right, obj, parent
        )
    if isinstance(node, Or):
        return _eval(reg, resource_type, node.left, obj, parent) or _eval(
            reg, resource_type, node.right, obj, parent
        )
    if isinstance(node, Not):
        return not _eval(reg, resource_type, node.operand, obj, parent)
    if isinstance(node, Present):
        text = node.path.text if parent is None else f"{parent}.{node.path.text}"
        leaf = resolve_leaf(reg, resource_type, text, presence=True)
        return _present(leaf, _values(leaf, obj, parent, resource_type))
    if isinstance(node, Compare):
        leaf, value = bind_compare(reg, resource_type, node, parent)
        values = _values(leaf, obj, parent, resource_type)
        if value is None:
            present = _present(leaf, values)
            return not present if node.op == "eq" else present
        if node.op == "ne":
            return not any(compare_value(leaf, "eq", v, value) for v in values)
        return any(compare_value(leaf, node.op, v, value) for v in values)
    parent_leaf = resolve_parent(reg, resource_type, node.path)
    elements = _elements(parent_leaf, obj)
    return any(_eval(reg, resource_type, node.filter, e, node.path.text) for e in elements)


def _container(leaf: Leaf, obj: Any) -> Any:
    if not isinstance(obj, dict):
        return None
    if leaf.extension is not None:
        ext = obj.get(leaf.extension)
        return ext.get(leaf.top) if isinstance(ext, dict) else None
    return obj.get(leaf.top)


def _elements(leaf: Leaf, obj: Any) -> list[Any]:
    value = _container(leaf, obj)
    if isinstance(value, list):
        return [e for e in value if isinstance(e, dict)]
    return [value] if isinstance(value, dict) else []


def _flat(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _values(leaf: Leaf, obj: Any, parent: str | None, resource_type: str) -> list[Any]:
    """Raw values of the leaf in `obj` (a resource, or one element inside a value path)."""
    if not isinstance(obj, dict):
        return []
    if parent is not None:  # obj is one element of the parent attribute
        if leaf.kind == "complex":
            return [v for e in _elements(leaf, obj) for v in e.values()]
        name = leaf.sub if leaf.source == "index" else leaf.key
        if leaf.source in ("members", "groups") and leaf.sub is None:
            name = "value"
        return _flat(obj.get(name)) if name else []
    source = leaf.source
    if source == "schemas":
        return _flat(obj.get("schemas"))
    if source == "column":
        if leaf.top == "meta":
            meta = obj.get("meta")
            if leaf.key == "resource_type":
                found = meta.get("resourceType") if isinstance(meta, dict) else None
                return [found if found is not None else resource_type]
            return _flat(meta.get(leaf.sub)) if isinstance(meta, dict) and leaf.sub else []
        return _flat(obj.get(leaf.top))
    if source in ("members", "groups"):
        return [m.get(leaf.key) for m in _flat(obj.get(leaf.top)) if isinstance(m, dict)]
    value = _container(leaf, obj)
    if leaf.kind == "complex":
        return [v for e in _flat(value) if isinstance(e, dict) for v in e.values()]
    if leaf.sub is None:
        return _flat(value)
    out: list[Any] = []
    for element in _flat(value):
        if isinstance(element, dict):
            out.extend(_flat(element.get(leaf.sub)))
    return out


def _norm(leaf: Leaf, value: Any) -> Any:
    """The comparable form of a stored value (None when it is not of the leaf's type)."""
    kind = leaf.kind
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "num":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        return float(value)
    if not isinstance(value, str):
        return None
    if kind == "time":
        return normalize_datetime(value)
    return value if leaf.case_exact else value.lower()


def _present(leaf: Leaf, values: list[Any]) -> bool:
    for value in values:
        if value is None or value == "" or isinstance(value, dict | list):
            continue
        if leaf.kind == "complex" or _norm(leaf, value) is not None:
            return True
    return False


def compare_value(leaf: Leaf, op: str, raw: Any, value: CompValue) -> bool:
    have = _norm(leaf, raw)
    if have is None:
        return False
    if op == "eq":
        return bool(have == value)
    if op == "co":
        return isinstance(value, str) and value in have
    if op == "sw":
        return isinstance(value, str) and have.startswith(value)
    if op == "ew":
        return isinstance(value, str) and have.endswith(value)
    if op == "gt":
        return bool(have > value)
    if op == "ge":
        return bool(have >= value)
    if op == "lt":
        return bool(have < value)
    if op == "le":
        return bool(have <= value)
    return False
