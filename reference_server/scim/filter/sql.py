"""Filters and sortBy as SQLAlchemy Core over `storage/tables.py` (RFC 7644 3.4.2.2, 3.4.2.3).

The WHERE clause is correlated with the `resources` table: select from `resources` (not
an alias) and add `tenant_id`/`resource_type` conditions yourself. Where the values are
answered from:

- Direct columns: id, userName, externalId, displayName and meta.* (index seeks).
- attr_index, for `SEEK_PATHS` (emails.value): `resources.id IN (SELECT resource_id FROM
  attr_index WHERE tenant, type, path, value)`, a seek on the table's key (issue 2,
  point 9: the lookups IdPs make stay flat at any N).
- group_members, for members.* and a User's groups.*.
- Every other attribute: the resource's search document (`resources.search`, see
  `scim.resources.search_document`), as a correlated EXISTS over the entries of the path
  (`json_each` on SQLite, `jsonb_array_elements` on PostgreSQL): a scan of the tenant's
  resources of the type, comparing the same typed values attr_index rows would hold.
  Tests inside a value path (`emails[type eq "work" and value co "x"]`) are EXISTS over
  the entries of the same element.

`created`/`last_modified` must hold `resources.format_timestamp` text.

LIKE patterns escape `%`, `_` and `\\` with an ESCAPE clause. SQLite's LIKE ignores ASCII
case, so case-exact co/sw/ew add a `replace`/`substr` test that both databases evaluate
case-sensitively.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import (
    Boolean,
    ColumnElement,
    Float,
    Integer,
    Text,
    and_,
    case,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import UnaryExpression
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeEngine

from reference_server.scim.errors import InvalidFilter, InvalidValue
from reference_server.scim.filter.ast import And, Compare, CompValue, Filter, Not, Or, Present
from reference_server.scim.filter.evaluate import compare_value
from reference_server.scim.filter.semantics import (
    Leaf,
    bind_compare,
    check_tree,
    resolve_leaf,
    resolve_parent,
)
from reference_server.scim.resources import SEEK_PATHS
from reference_server.scim.schemas import SchemaRegistry
from reference_server.storage.tables import attr_index, group_members, resources

__all__ = ["code_point_order", "filter_to_sql", "like_escape", "sort_clauses", "sort_key_sql"]

_VALUE_COLUMN = {"bool": "v_bool", "num": "v_num", "time": "v_time"}

# A value's typed column (attr_index) -> its position and type in a search-document entry.
_ENTRY_FIELDS: dict[str, tuple[int, TypeEngine[Any]]] = {
    "elem": (0, Integer()),
    "v_text": (1, Text()),
    "v_lower": (2, Text()),
    "v_num": (1, Float()),
    "v_bool": (1, Boolean()),
    "v_time": (1, Text()),
}

# How a leaf's condition reads a typed value: attr_index column or document entry field.
Getter = Callable[[str], ColumnElement[Any]]


class search_entries(FunctionElement[Any]):
    """The entries of one path of `resources.search`, as rows with a JSON `value` column:
    `json_each(search, '$."path"')` on SQLite, `jsonb_array_elements(search::jsonb ->
    'path')` on PostgreSQL. No rows when the path (or the document) is absent."""

    name = "search_entries"
    inherit_cache = False

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(resources.c.search)


@compiles(search_entries)
def _search_entries_sqlite(element: search_entries, compiler: Any, **kw: Any) -> str:
    path = compiler.process(literal(f'$."{element.path}"'), **kw)
    return f"json_each({compiler.process(element.clauses, **kw)}, {path})"


@compiles(search_entries, "postgresql")
def _search_entries_pg(element: search_entries, compiler: Any, **kw: Any) -> str:
    path = compiler.process(literal(element.path), **kw)
    doc = compiler.process(element.clauses, **kw)
    return f"jsonb_array_elements(CAST({doc} AS JSONB) -> {path})"


class entry_field(FunctionElement[Any]):
    """Field `index` of a search-document entry (a JSON array), as SQL of `type_`."""

    name = "entry_field"
    inherit_cache = False

    def __init__(self, entry: Any, index: int, type_: TypeEngine[Any]) -> None:
        self.index = index
        self.type = type_
        super().__init__(entry)


@compiles(entry_field)
def _entry_field_sqlite(element: entry_field, compiler: Any, **kw: Any) -> str:
    # json_extract gives SQL values of the JSON's types (true -> 1, numbers as numbers).
    return f"json_extract({compiler.process(element.clauses, **kw)}, '$[{element.index}]')"


_PG_CASTS = {"INTEGER": "INTEGER", "FLOAT": "DOUBLE PRECISION", "BOOLEAN": "BOOLEAN"}


@compiles(entry_field, "postgresql")
def _entry_field_pg(element: entry_field, compiler: Any, **kw: Any) -> str:
    text = f"({compiler.process(element.clauses, **kw)} ->> {element.index})"
    cast = _PG_CASTS.get(type(element.type).__name__.upper())
    return f"CAST({text} AS {cast})" if cast else text


def _entries(path: str) -> Any:
    """A fresh FROM item over the search-document entries of `path`."""
    return search_entries(path).table_valued("value").alias()


def _entry_getter(entries: Any) -> Getter:
    def get(name: str) -> ColumnElement[Any]:
        index, type_ = _ENTRY_FIELDS[name]
        return entry_field(entries.c.value, index, type_)

    return get


def like_escape(value: str) -> str:
    """Escape LIKE wildcards for `ESCAPE '\\'`."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _Scope:
    """Where a leaf condition is evaluated: the resource, one element of a complex
    attribute, or one group_members row (inside a value path)."""

    def __init__(self, elem: Any = None, row: Any = None, row_kind: str | None = None) -> None:
        self.elem = elem  # the element's position (an expression) in the value path
        self.row = row
        self.row_kind = row_kind


_TOP = _Scope()


class _Builder:
    def __init__(
        self, reg: SchemaRegistry, resource_type: str, tenant_id: str, negated: bool
    ) -> None:
        self.reg = reg
        self.resource_type = resource_type
        self.tenant_id = tenant_id
        self.negated = negated

    def _null_safe(self, col: Any, cond: ColumnElement[bool]) -> ColumnElement[bool]:
        """`col IS NOT NULL AND cond` where a NOT may apply: NOT (NULL = x) is NULL, not
        true, but an absent attribute must satisfy `not (attr eq x)` (see semantics)."""
        return and_(col.is_not(None), cond) if self.negated else cond

    # --- tree --------------------------------------------------------------------------

    def build(self, node: Filter, scope: _Scope, parent: str | None) -> ColumnElement[bool]:
        if isinstance(node, And):
            return and_(self.build(node.left, scope, parent), self.build(node.right, scope, parent))
        if isinstance(node, Or):
            return or_(self.build(node.left, scope, parent), self.build(node.right, scope, parent))
        if isinstance(node, Not):
            return not_(self.build(node.operand, scope, parent))
        if isinstance(node, Present):
            text = node.path.text if parent is None else f"{parent}.{node.path.text}"
            leaf = resolve_leaf(self.reg, self.resource_type, text, presence=True)
            return self.present(leaf, scope)
        if isinstance(node, Compare):
            leaf, value = bind_compare(self.reg, self.resource_type, node, parent)
            if value is None:
                present = self.present(leaf, scope)
                return not_(present) if node.op == "eq" else present
            if node.op == "ne":
                return not_(self.compare(leaf, "eq", value, scope))
            return self.compare(leaf, node.op, value, scope)
        parent_leaf = resolve_parent(self.reg, self.resource_type, node.path)
        if parent_leaf.source in ("members", "groups"):
            m = group_members.alias()
            scope = _Scope(row=m, row_kind=parent_leaf.source)
            inner = self.build(node.filter, scope, node.path.text)
            return self._in_membership(m, parent_leaf, inner)
        if not parent_leaf.multi_valued:
            # A singular complex attribute is one element, at position -1.
            return self.build(node.filter, _Scope(elem=literal(-1)), node.path.text)
        # Some element (the document lists them under the attribute's own path) satisfies
        # the filter.
        e = _entries(parent_leaf.key)
        inner = self.build(node.filter, _Scope(elem=_entry_getter(e)("elem")), node.path.text)
        return exists(select(literal(1)).select_from(e).where(inner))

    # --- leaves ------------------------------------------------------------------------

    def _index_base(self, x: Any) -> list[ColumnElement[bool]]:
        return [x.c.tenant_id == self.tenant_id, x.c.resource_type == self.resource_type]

    def _in_membership(self, m: Any, leaf: Leaf, *conds: Any) -> ColumnElement[bool]:
        """`resources.id IN` the owners (group, or member for `groups`) of matching rows."""
        owner = m.c.group_id if leaf.source == "members" else m.c.member_id
        return resources.c.id.in_(select(owner).where(m.c.tenant_id == self.tenant_id, *conds))

    def _member_column(self, m: Any, leaf: Leaf) -> Any:
        other = m.c.member_id if leaf.source == "members" else m.c.group_id
        if leaf.key == "type":
            return func.lower(m.c.member_type)
        if leaf.key == "display":  # the label storage keeps on the other resource's row
            r = resources.alias()
            label = (
                select(r.c.display)
                .where(r.c.tenant_id == self.tenant_id, r.c.id == other)
                .scalar_subquery()
            )
            return func.lower(label)
        return other

    def _rows(
        self,
        leaf: Leaf,
        scope: _Scope,
        cond: Callable[[Getter], ColumnElement[bool]],
        paths: tuple[str, ...] | None = None,
    ) -> ColumnElement[bool]:
        """A value of the leaf (in the scope's element) satisfies `cond`.

        At the top level a SEEK_PATHS leaf is an attr_index seek on its key (tenant, type,
        path, v_lower); anything else is an EXISTS over the path's search-document entries.
        """
        if scope.elem is None and paths is None and leaf.key in SEEK_PATHS:
            x = attr_index.alias()
            path = x.c.path == leaf.key
            found = cond(lambda name: x.c[name])
            return resources.c.id.in_(
                select(x.c.resource_id).where(*self._index_base(x), path, found)
            )
        tests = []
        for key in paths or (leaf.key,):
            entries = _entries(key)
            get = _entry_getter(entries)
            where = [cond(get)]
            if scope.elem is not None:
                where.insert(0, get("elem") == scope.elem)
            tests.append(exists(select(literal(1)).select_from(entries).where(*where)))
        return or_(*tests) if len(tests) > 1 else tests[0]

    def present(self, leaf: Leaf, scope: _Scope) -> ColumnElement[bool]:
        def nonempty(col: Any) -> ColumnElement[bool]:
            return and_(col.is_not(None), col != "")

        if leaf.source == "column":
            return nonempty(resources.c[leaf.key])
        if leaf.source == "schemas":
            return true()  # every resource lists its core schema
        if leaf.source in ("members", "groups"):
            if scope.row is not None:
                return nonempty(self._member_column(scope.row, leaf))
            m = group_members.alias()
            if leaf.key == "display":
                return self._in_membership(m, leaf, nonempty(self._member_column(m, leaf)))
            return self._in_membership(m, leaf)

        def cond(get: Getter) -> ColumnElement[bool]:
            return or_(get("v_text").is_(None), get("v_text") != "")

        if leaf.kind == "complex":
            return self._rows(leaf, scope, cond, leaf.paths)
        return self._rows(leaf, scope, cond)

    def compare(self, leaf: Leaf, op: str, value: CompValue, scope: _Scope) -> ColumnElement[bool]:
        if leaf.source == "column":
            col = resources.c[leaf.key]
            return self._null_safe(col, _op(col, op, value, leaf.case_exact))
        if leaf.source in ("members", "groups"):
            if scope.row is not None:
                col = self._member_column(scope.row, leaf)
                return self._null_safe(col, _op(col, op, value, leaf.case_exact))
            m = group_members.alias()
            col = self._member_column(m, leaf)
            return self._in_membership(m, leaf, _op(col, op, value, leaf.case_exact))
        if leaf.source == "schemas":
            # The core schema URN has no attr_index row (every resource lists it, so its
            # rows were the most written and least selective entries of the index): it is
            # compared here, the extension URNs in the database.
            core = self.reg.resource_type(self.resource_type).schema
            if compare_value(leaf, op, core, value):
                return true()
        name = _VALUE_COLUMN.get(leaf.kind) or ("v_text" if leaf.case_exact else "v_lower")
        if name == "v_text" and op == "eq" and isinstance(value, str):
            # Seek attr_index's key on v_lower, compare exactly on v_text.
            low = value.lower()
            found = self._rows(
                leaf, scope, lambda v: and_(v("v_lower") == low, v("v_text") == value)
            )
        else:
            exact = leaf.case_exact or leaf.kind == "binary"
            found = self._rows(leaf, scope, lambda v: _op(v(name), op, value, exact))
        needle = _needle(name, op, value)
        if needle is None or (scope.elem is None and leaf.key in SEEK_PATHS):
            return found
        # A document scan parses each resource's JSON; the text a match needs is found
        # without parsing first (a necessary condition: the result is the same).
        return and_(resources.c.search.contains(needle, autoescape=True), found)


_JSON_ESCAPED = frozenset('"\\') | frozenset(chr(c) for c in range(0x20))


def _needle(name: str, op: str, value: CompValue) -> str | None:
    """Text that a search document whose entry satisfies `name op value` must contain, as
    `search_document` writes it (orjson); None when no such text is known."""
    if not isinstance(value, str) or name not in ("v_text", "v_lower"):
        return None
    text = value.lower() if name == "v_lower" else value
    if op == "eq":
        return orjson.dumps(text).decode()  # the whole JSON string, quotes included
    if op in ("co", "sw", "ew") and text and not _JSON_ESCAPED.intersection(text):
        return text  # written as it is inside the JSON string
    return None


class code_point_order(FunctionElement[str]):
    """A text expression ordered by Unicode code point, as Python and SQLite compare: on
    PostgreSQL `expr COLLATE "C"`, whatever the database's default collation."""

    type = Text()
    name = "code_point_order"
    inherit_cache = True


@compiles(code_point_order)
def _code_point_order_default(element: code_point_order, compiler: Any, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(code_point_order, "postgresql")
def _code_point_order_pg(element: code_point_order, compiler: Any, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


def _op(col: Any, op: str, value: CompValue, case_exact: bool) -> ColumnElement[bool]:
    if op == "eq":
        result: ColumnElement[bool] = col == value
        return result
    if isinstance(value, str) and op in ("gt", "ge", "lt", "le"):
        col = code_point_order(col)
    if op == "gt":
        return col > value  # type: ignore[no-any-return]
    if op == "ge":
        return col >= value  # type: ignore[no-any-return]
    if op == "lt":
        return col < value  # type: ignore[no-any-return]
    if op == "le":
        return col <= value  # type: ignore[no-any-return]
    if not isinstance(value, str):
        raise InvalidFilter(f"Operator '{op}' needs a string value.")
    escaped = like_escape(value)
    if op == "co":
        like = col.like(f"%{escaped}%", escape="\\")
        exact = func.replace(col, value, "") != col if value else true()
    elif op == "sw":
        like = col.like(f"{escaped}%", escape="\\")
        exact = func.substr(col, 1, len(value)) == value
    elif op == "ew":
        like = col.like(f"%{escaped}", escape="\\")
        exact = func.substr(col, func.length(col) - len(value) + 1) == value if value else true()
    else:
        raise InvalidFilter(f"The operator '{op}' is not supported.")
    return and_(like, exact) if case_exact else like


def filter_to_sql(
    reg: SchemaRegistry, resource_type: str, tenant_id: str, f: Filter
) -> ColumnElement[bool]:
    """A WHERE clause over `resources` for the filter; InvalidFilter for what it cannot mean."""
    check_tree(reg, resource_type, f, None)
    return _Builder(reg, resource_type, tenant_id, _has_negation(f)).build(f, _TOP, None)


def _has_negation(node: Filter) -> bool:
    if isinstance(node, Not):
        return True
    if isinstance(node, And | Or):
        return _has_negation(node.left) or _has_negation(node.right)
    if isinstance(node, Compare):
        return node.op == "ne" or node.value is None
    if isinstance(node, Present):
        return False
    return _has_negation(node.filter)


def sort_key_sql(
    reg: SchemaRegistry, resource_type: str, tenant_id: str, sort_by: str
) -> ColumnElement[Any]:
    """The value to order by for `sortBy` (RFC 7644 section 3.4.2.3).

    A multi-valued attribute sorts by its primary value, else its first value; strings
    that are not caseExact sort case-insensitively. InvalidValue for an unknown or
    unsortable attribute.
    """
    try:
        leaf = resolve_leaf(reg, resource_type, sort_by)
    except InvalidFilter as exc:
        raise InvalidValue(f"sortBy: {exc.detail}") from None
    if leaf.source == "column":
        column = resources.c[leaf.key]
        return code_point_order(column) if leaf.kind == "text" else column
    if leaf.source != "index" or leaf.kind == "complex":
        raise InvalidValue(f"sortBy: attribute '{sort_by}' cannot be sorted on.")
    name = _VALUE_COLUMN.get(leaf.kind) or ("v_text" if leaf.case_exact else "v_lower")
    entries = _entries(leaf.key)
    get = _entry_getter(entries)
    source: Any = entries
    order: list[Any] = []
    if leaf.sub is not None:
        # Joined, not a correlated EXISTS: SQLite cannot resolve `resources` two subqueries
        # deep inside an ORDER BY.
        primary = _entries(f"{leaf.key.rsplit('.', 1)[0]}.primary")
        flag = _entry_getter(primary)
        source = entries.outerjoin(
            primary, and_(flag("elem") == get("elem"), flag("v_bool") == true())
        )
        order.append(case((flag("elem").is_(None), 1), else_=0))
    order.append(get("elem"))
    value = get(name)
    if name in ("v_text", "v_lower"):
        value = code_point_order(value)
    return select(value).select_from(source).order_by(*order).limit(1).scalar_subquery()


def sort_clauses(
    reg: SchemaRegistry, resource_type: str, tenant_id: str, sort_by: str, descending: bool
) -> list[UnaryExpression[Any] | ColumnElement[Any]]:
    """ORDER BY for sortBy/sortOrder: missing values last ascending, first descending
    (RFC 7644 section 3.4.2.3), then `id` so pages are stable."""
    key = sort_key_sql(reg, resource_type, tenant_id, sort_by)
    ordered = key.desc().nulls_first() if descending else key.asc().nulls_last()
    return [ordered, resources.c.id]
