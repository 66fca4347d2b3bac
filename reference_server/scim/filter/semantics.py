"""What a filter's attribute paths and values mean: shared by SQL and in-memory evaluation.

Decisions (RFC 7644 section 3.4.2.2 leaves them open), identical in both evaluators:

- An unknown attribute is refused with 400 invalidFilter naming it ("the specified
  attribute and filter comparison combination is not supported", section 3.12): a silent
  "no match" would hide a typo from the IdP admin.
- `ne` is `not eq`: it matches when no value of the attribute equals the operand,
  including when the attribute is absent; `not (...)` likewise includes resources where
  the attribute is absent. `attr eq null` means "not present", `attr ne null` "present".
- A filter on a complex attribute without a sub-attribute (`emails co "x"`) means its
  `value` sub-attribute (Figure 2 of section 3.4.2.2 uses `emails co "example.com"`);
  `pr` on a complex attribute matches when any sub-attribute has a value.
- gt/ge/lt/le on boolean or binary: invalidFilter (section 3.4.2.2); co/sw/ew on
  boolean, numbers and dateTime: invalidFilter. Values must fit the attribute's type
  ("True"/"False" strings are accepted for booleans, as on input).
- `members.value`/`type`/`display` and a User's `groups.value`/`display` read the
  `group_members` rows (display: the other resource's `display` column), never a list.
- writeOnly and returned "never" attributes (password) cannot be filtered on: a filter
  would disclose them.
- Strings compare case-insensitively unless the attribute is caseExact; ordering is by
  Unicode code point (SQLite's binary order; PostgreSQL needs a C or C.UTF-8 collation).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from reference_server.scim.errors import InvalidFilter
from reference_server.scim.filter.ast import (
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    Not,
    Or,
    Present,
)
from reference_server.scim.resources import DIRECT_PATHS, normalize_datetime
from reference_server.scim.schemas import AttributeDef, ResolvedPath, SchemaRegistry

__all__ = [
    "COLUMNS",
    "Leaf",
    "bind_compare",
    "check_tree",
    "kind_of",
    "resolve_leaf",
    "resolve_parent",
    "validate",
]

# Direct `resources` columns: lower-cased path -> (column name, value kind, case exact)
COLUMNS: dict[str, tuple[str, str, bool]] = {
    "id": ("id", "text", True),
    "externalid": ("external_id", "text", True),
    "username": ("user_name_lower", "text", False),
    "displayname": ("display_name_lower", "text", False),
    "meta.created": ("created", "time", False),
    "meta.lastmodified": ("last_modified", "time", False),
    "meta.resourcetype": ("resource_type", "text", True),
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """A filterable simple attribute.

    source: "column" (a `resources` column), "index" (attr_index rows), "members" /
    "groups" (group_members rows) or "schemas" (attr_index rows under path "schemas").
    """

    source: str
    key: str  # column name, attr_index path, or members/groups field ("value"/"type")
    kind: str  # text bool num time binary
    case_exact: bool
    top: str  # canonical top-level attribute name (within its schema)
    sub: str | None  # canonical sub-attribute name when the leaf is one
    extension: str | None  # the extension URN when the attribute lives there
    paths: tuple[str, ...] = ()  # for presence on a complex attribute: every sub path
    multi_valued: bool = False  # (complex leaves) the attribute holds a list of elements


def kind_of(attr: AttributeDef) -> str:
    """The comparison family of an attribute type."""
    return {
        "boolean": "bool",
        "integer": "num",
        "decimal": "num",
        "dateTime": "time",
        "binary": "binary",
    }.get(attr.type, "text")


_SCHEMAS_LEAF = Leaf("schemas", "schemas", "text", False, "schemas", None, None)


@functools.lru_cache(maxsize=4096)
def _resolve_cached(
    reg: SchemaRegistry, resource_type: str, text: str, presence: bool
) -> Leaf | str:
    """A Leaf, or an error message (cached: errors are strings, not exceptions)."""
    if text.lower() == "schemas":
        return _SCHEMAS_LEAF
    resolved = reg.resolve(resource_type, text)
    if resolved is None:
        return f"Unknown attribute '{text}' for resource type {resource_type}."
    return _leaf(reg, resource_type, text, resolved, presence)


def _leaf(
    reg: SchemaRegistry, resource_type: str, text: str, resolved: ResolvedPath, presence: bool
) -> Leaf | str:
    definition = reg.resource_type(resource_type)
    attr, sub = resolved.attribute, resolved.sub_attribute
    extension = None if resolved.schema_urn == definition.schema else resolved.schema_urn
    top = attr.name
    leaf_attr = sub if sub is not None else attr
    index_path = resolved.index_path
    if leaf_attr.mutability == "writeOnly" or leaf_attr.returned == "never":
        return f"Attribute '{text}' is never returned and cannot be used in a filter."
    if leaf_attr.type == "complex":
        value_sub = leaf_attr.sub("value")
        if presence:
            subs = tuple(f"{index_path}.{s.name.lower()}" for s in leaf_attr.sub_attributes)
            special = _special(reg, resource_type, attr, None, extension)
            if special is not None:
                return special
            return Leaf(
                "index", index_path, "complex", False, top, None, extension, subs, attr.multi_valued
            )
        if value_sub is None:
            return f"Attribute '{text}' is complex: name one of its sub-attributes."
        sub = value_sub
        leaf_attr = value_sub
        index_path = f"{index_path}.value"
    special = _special(reg, resource_type, attr, sub, extension)
    if special is not None:
        return special
    if index_path in DIRECT_PATHS:
        return f"Attribute '{text}' cannot be used in a filter."
    return Leaf(
        "index",
        index_path,
        kind_of(leaf_attr),
        leaf_attr.case_exact,
        top,
        sub.name if sub is not None else None,
        extension,
    )


def _special(
    reg: SchemaRegistry,
    resource_type: str,
    attr: AttributeDef,
    sub: AttributeDef | None,
    extension: str | None,
) -> Leaf | str | None:
    if extension is not None:
        return None
    low = attr.name.lower() + (f".{sub.name.lower()}" if sub is not None else "")
    column = COLUMNS.get(low)
    if column is not None:
        name, kind, case_exact = column
        return Leaf("column", name, kind, case_exact, attr.name, sub.name if sub else None, None)
    top = attr.name.lower()
    if top == "meta":
        return f"Attribute '{low}' cannot be used in a filter on this server."
    if top in ("members", "groups") and attr.multi_valued:
        field = "value" if sub is None else sub.name.lower()
        allowed = ("value", "type", "display") if top == "members" else ("value", "display")
        if field not in allowed:
            return f"Attribute '{low}' cannot be used in a filter on this server."
        case_exact = sub.case_exact if sub is not None else True
        if field in ("type", "display"):
            case_exact = False
        kind = "text"
        return Leaf(top, field, kind, case_exact, attr.name, sub.name if sub else None, None)
    return None


def resolve_leaf(
    reg: SchemaRegistry, resource_type: str, text: str, presence: bool = False
) -> Leaf:
    """Resolve a filter attribute path; InvalidFilter if it cannot be filtered on."""
    result = _resolve_cached(reg, resource_type, text, presence)
    if isinstance(result, str):
        raise InvalidFilter(result)
    return result


def resolve_parent(reg: SchemaRegistry, resource_type: str, path: AttrPath) -> Leaf:
    """The attribute a value path `attr[...]` applies to: complex, without a sub-attribute."""
    resolved = reg.resolve(resource_type, path.text)
    if resolved is None:
        raise InvalidFilter(f"Unknown attribute '{path.text}' for resource type {resource_type}.")
    if resolved.sub_attribute is not None or resolved.attribute.type != "complex":
        raise InvalidFilter(
            f"'{path.text}[...]' needs a complex attribute before '[' (RFC 7644 3.4.2.2)."
        )
    return resolve_leaf(reg, resource_type, path.text, presence=True)


def validate(leaf: Leaf, op: str, value: CompValue, text: str) -> CompValue:
    """Check an operator/value against the leaf's type; return the comparable value."""
    if value is None:
        if op not in ("eq", "ne"):
            raise InvalidFilter(f"'{text} {op} null': null only works with eq and ne.")
        return None
    kind = leaf.kind
    if op in ("gt", "ge", "lt", "le") and kind in ("bool", "binary"):
        raise InvalidFilter(
            f"'{text} {op}': ordering comparisons are not defined for boolean or binary "
            "attributes (RFC 7644 3.4.2.2)."
        )
    if op in ("co", "sw", "ew") and kind in ("bool", "num", "time"):
        raise InvalidFilter(f"'{text} {op}': co, sw and ew apply to string attributes only.")
    if kind == "bool":
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if not isinstance(value, bool):
            raise InvalidFilter(f"'{text}' is a boolean: compare it with true or false.")
        return value
    if kind == "num":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidFilter(f"'{text}' is a number: compare it with a number.")
        return float(value)
    if not isinstance(value, str):
        raise InvalidFilter(f"'{text}' is a string attribute: the value must be a JSON string.")
    if kind == "time":
        normal = normalize_datetime(value)
        if normal is None:
            raise InvalidFilter(
                f"'{text}' is a dateTime: the value must be an xsd:dateTime such as "
                '"2011-05-13T04:42:34Z".'
            )
        return normal
    return value if leaf.case_exact else value.lower()


def bind_compare(
    reg: SchemaRegistry, resource_type: str, node: Compare, parent: str | None = None
) -> tuple[Leaf, CompValue]:
    """Resolve and validate one comparison (inside a value path when `parent` is given)."""
    text = node.path.text if parent is None else f"{parent}.{node.path.text}"
    leaf = resolve_leaf(reg, resource_type, text, presence=node.value is None)
    if leaf.kind == "complex" and node.value is not None:
        raise InvalidFilter(f"Attribute '{text}' is complex: name one of its sub-attributes.")
    return leaf, validate(leaf, node.op, node.value, text)


def check_tree(reg: SchemaRegistry, resource_type: str, node: Filter, parent: str | None) -> None:
    """Validate a whole tree up front, so errors never depend on the data."""
    if isinstance(node, And | Or):
        check_tree(reg, resource_type, node.left, parent)
        check_tree(reg, resource_type, node.right, parent)
    elif isinstance(node, Not):
        check_tree(reg, resource_type, node.operand, parent)
    elif isinstance(node, Present):
        text = node.path.text if parent is None else f"{parent}.{node.path.text}"
        resolve_leaf(reg, resource_type, text, presence=True)
    elif isinstance(node, Compare):
        bind_compare(reg, resource_type, node, parent)
    else:
        if parent is not None:
            raise InvalidFilter("Value paths cannot be nested (RFC 7644 3.4.2.2).")
        resolve_parent(reg, resource_type, node.path)
        check_tree(reg, resource_type, node.filter, node.path.text)
