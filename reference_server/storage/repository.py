"""The repository: resources, their attribute index and group membership rows (Core SQL).

Every method takes the caller's connection, so one request's writes share one transaction
(`Repository.write()`), committed before the answer. Every statement filters by tenant.
Group membership is rows of `group_members`: adding or removing members touches only those
rows, whatever the group's size (issue 2, point 9).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from reference_server.scim.errors import InvalidValue, Uniqueness
from reference_server.scim.filter.ast import And, Compare, Filter, Not, Or, Present
from reference_server.scim.resources import format_timestamp, index_rows, resource_columns
from reference_server.scim.schemas import SchemaRegistry
from reference_server.storage.engine import WRITE
from reference_server.storage.tables import attr_index, group_members, resources

__all__ = ["Member", "Repository", "StoredResource"]

_CHUNK = 500  # ids per IN (...) list, well under SQLite's bound-parameter limit


@dataclass(slots=True)
class StoredResource:
    """One row of `resources` with its JSON document decoded."""

    id: str
    resource_type: str
    data: dict[str, Any]
    version: int
    created: str
    last_modified: str


@dataclass(frozen=True, slots=True)
class Member:
    """A membership row joined with the other side's label (members[] or groups[])."""

    id: str
    type: str
    display: str | None


def _now() -> str:
    return format_timestamp(datetime.now(UTC))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _row_to_resource(row: Any) -> StoredResource:
    return StoredResource(
        row.id,
        row.resource_type,
        orjson.loads(row.data),
        row.version,
        row.created,
        row.last_modified,
    )


_COLUMNS = (
    resources.c.id,
    resources.c.resource_type,
    resources.c.data,
    resources.c.version,
    resources.c.created,
    resources.c.last_modified,
)


# Hot statements are built once with bind parameters: building SQLAlchemy expressions per
# request costs more CPU than SQLite takes to answer them (issue 2, point 9).
_GET = sa.select(*_COLUMNS).where(
    resources.c.tenant_id == sa.bindparam("tenant"), resources.c.id == sa.bindparam("rid")
)
# Writes, prebuilt too; `_UPDATE`'s SET clause is the column keys of the parameters.
_INSERT = resources.insert()
_UPDATE = resources.update().where(
    resources.c.tenant_id == sa.bindparam("b_tenant"), resources.c.id == sa.bindparam("b_rid")
)
_TOUCH = _UPDATE.values(version=sa.bindparam("b_version"), last_modified=sa.bindparam("b_now"))
_INDEX_INSERT = attr_index.insert()
_INDEX_DELETE = attr_index.delete().where(
    attr_index.c.tenant_id == sa.bindparam("tenant"),
    attr_index.c.resource_id == sa.bindparam("rid"),
)
_RESOLVE = sa.select(resources.c.id, resources.c.resource_type).where(
    resources.c.tenant_id == sa.bindparam("tenant"),
    resources.c.id.in_(sa.bindparam("ids", expanding=True)),
)
_gm = group_members.alias("gm")
_RESOLVE_IN_GROUP = _RESOLVE.add_columns(_gm.c.member_id).outerjoin(
    _gm,
    sa.and_(
        _gm.c.tenant_id == sa.bindparam("tenant"),
        _gm.c.group_id == sa.bindparam("gid"),
        _gm.c.member_id == resources.c.id,
    ),
)
_REMOVE_MEMBERS = group_members.delete().where(
    group_members.c.tenant_id == sa.bindparam("tenant"),
    group_members.c.group_id == sa.bindparam("gid"),
    group_members.c.member_id.in_(sa.bindparam("ids", expanding=True)),
)
_BY_IDS = sa.select(*_COLUMNS).where(
    resources.c.tenant_id == sa.bindparam("tenant"),
    resources.c.id.in_(sa.bindparam("ids", expanding=True)),
)
_GET_TYPED = _GET.where(resources.c.resource_type == sa.bindparam("rtype"))
_GET_TYPED_LOCKED = _GET_TYPED.with_for_update()
_GET_LOCKED = _GET.with_for_update()
# Direct-column lookups (`userName eq "x"` and friends), one per indexed column.
_LOOKUP_COLUMNS = ("id", "user_name_lower", "external_id", "display_name_lower")
_LOOKUP_WHERE = {
    name: sa.and_(
        resources.c.tenant_id == sa.bindparam("tenant"),
        resources.c.resource_type == sa.bindparam("rtype"),
        resources.c[name] == sa.bindparam("value"),
    )
    for name in _LOOKUP_COLUMNS
}
_LOOKUP = {
    name: sa.select(*_COLUMNS)
    .where(where)
    .order_by(resources.c.created, resources.c.id)
    .limit(sa.bindparam("limit"))
    .offset(sa.bindparam("offset"))
    for name, where in _LOOKUP_WHERE.items()
}
_LOOKUP_COUNT = {
    name: sa.select(sa.func.count()).select_from(resources).where(where)
    for name, where in _LOOKUP_WHERE.items()
}
_MEMBERS_OF = (
    sa.select(
        group_members.c.group_id,
        group_members.c.member_id,
        group_members.c.member_type,
        resources.c.display,
    )
    .join(
        resources,
        sa.and_(
            resources.c.tenant_id == group_members.c.tenant_id,
            resources.c.id == group_members.c.member_id,
        ),
    )
    .where(
        group_members.c.tenant_id == sa.bindparam("tenant"),
        group_members.c.group_id.in_(sa.bindparam("ids", expanding=True)),
    )
    .order_by(group_members.c.group_id, group_members.c.member_id)
)
_GROUPS_OF = (
    sa.select(group_members.c.member_id, group_members.c.group_id, resources.c.display)
    .join(
        resources,
        sa.and_(
            resources.c.tenant_id == group_members.c.tenant_id,
            resources.c.id == group_members.c.group_id,
        ),
    )
    .where(
        group_members.c.tenant_id == sa.bindparam("tenant"),
        group_members.c.member_id.in_(sa.bindparam("ids", expanding=True)),
    )
    .order_by(group_members.c.member_id, group_members.c.group_id)
)


class Repository:
    """Resource storage for every tenant; stateless apart from the engine and registry."""

    def __init__(self, engine: Engine, registry: SchemaRegistry) -> None:
        self.engine = engine
        self.registry = registry
        self._write_engine = engine.execution_options(**{WRITE: True})
        self._insert = sqlite.insert if engine.dialect.name == "sqlite" else postgresql.insert

    @contextmanager
    def read(self) -> Iterator[sa.Connection]:
        with self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[sa.Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        with self._write_engine.begin() as conn:
            yield conn

    # --- resources -------------------------------------------------------------------

    def get(
        self,
        conn: sa.Connection,
        tenant: str,
        resource_type: str | None,
        resource_id: str,
        *,
        for_update: bool = False,
    ) -> StoredResource | None:
        params = {"tenant": tenant, "rid": resource_id, "rtype": resource_type}
        if resource_type is None:
            stmt = _GET_LOCKED if for_update else _GET
        else:
            stmt = _GET_TYPED_LOCKED if for_update else _GET_TYPED
        row = conn.execute(stmt, params).first()
        return _row_to_resource(row) if row is not None else None

    def _columns(self, resource_type: str, data: dict[str, Any]) -> dict[str, Any]:
        cols: dict[str, Any] = dict(resource_columns(self.registry, resource_type, data))
        display = data.get("displayName")
        if not isinstance(display, str) and resource_type == "User":
            display = data.get("userName")
        cols["display"] = display[:512] if isinstance(display, str) else None
        for key in ("user_name_lower", "external_id", "display_name_lower"):
            if isinstance(cols[key], str) and len(cols[key]) > 512:
                raise InvalidValue(f"'{key}' is longer than 512 characters.")
        return cols

    def _write_index(
        self,
        conn: sa.Connection,
        tenant: str,
        resource_type: str,
        rid: str,
        data: dict[str, Any],
        *,
        fresh: bool = False,
    ) -> None:
        """Rewrite the resource's attr_index rows (a new resource has none to delete)."""
        if not fresh:
            conn.execute(_INDEX_DELETE, {"tenant": tenant, "rid": rid})
        rows = index_rows(self.registry, resource_type, data)
        if rows:
            for row in rows:
                row["tenant_id"] = tenant
                row["resource_id"] = rid
                row["resource_type"] = resource_type
            conn.execute(_INDEX_INSERT, rows)

    def _unique_violation(self, resource_type: str, data: dict[str, Any]) -> Uniqueness:
        return Uniqueness(
            f"userName {data.get('userName')!r} is already taken in this organization "
            "(userName is unique, case-insensitively; RFC 7643 section 4.1.1)."
            if resource_type == "User"
            else f"A {resource_type} with these unique attribute values already exists."
        )

    def insert(
        self, conn: sa.Connection, tenant: str, resource_type: str, data: dict[str, Any]
    ) -> StoredResource:
        now = _now()
        res = StoredResource(str(uuid.uuid4()), resource_type, data, 1, now, now)
        try:
            conn.execute(
                _INSERT,
                {
                    "tenant_id": tenant,
                    "id": res.id,
                    "resource_type": resource_type,
                    "data": orjson.dumps(data).decode(),
                    "version": 1,
                    "created": now,
                    "last_modified": now,
                    **self._columns(resource_type, data),
                },
            )
        except IntegrityError:
            # The whole request transaction rolls back: no savepoint needed.
            raise self._unique_violation(resource_type, data) from None
        self._write_index(conn, tenant, resource_type, res.id, data, fresh=True)
        return res

    def update(
        self, conn: sa.Connection, tenant: str, current: StoredResource, data: dict[str, Any]
    ) -> StoredResource:
        """Store a new document; bumps version and lastModified."""
        now = _now()
        try:
            conn.execute(
                _UPDATE,
                {
                    "b_tenant": tenant,
                    "b_rid": current.id,
                    "data": orjson.dumps(data).decode(),
                    "version": current.version + 1,
                    "last_modified": now,
                    **self._columns(current.resource_type, data),
                },
            )
        except IntegrityError:
            # The whole request transaction rolls back: no savepoint needed.
            raise self._unique_violation(current.resource_type, data) from None
        self._write_index(conn, tenant, current.resource_type, current.id, data)
        return StoredResource(
            current.id, current.resource_type, data, current.version + 1, current.created, now
        )

    def touch(self, conn: sa.Connection, tenant: str, current: StoredResource) -> StoredResource:
        """A change outside the document (membership rows): new version and lastModified."""
        now = _now()
        conn.execute(
            _TOUCH,
            {
                "b_tenant": tenant,
                "b_rid": current.id,
                "b_version": current.version + 1,
                "b_now": now,
            },
        )
        return StoredResource(
            current.id,
            current.resource_type,
            current.data,
            current.version + 1,
            current.created,
            now,
        )

    def delete(self, conn: sa.Connection, tenant: str, resource_id: str) -> None:
        """Delete a resource, its index rows and every membership row that names it."""
        conn.execute(
            attr_index.delete().where(
                attr_index.c.tenant_id == tenant, attr_index.c.resource_id == resource_id
            )
        )
        # Groups that lose this member change representation: new version (ETags stay honest).
        containing = sa.select(group_members.c.group_id).where(
            group_members.c.tenant_id == tenant, group_members.c.member_id == resource_id
        )
        conn.execute(
            resources.update()
            .where(resources.c.tenant_id == tenant, resources.c.id.in_(containing))
            .values(version=resources.c.version + 1, last_modified=_now())
        )
        conn.execute(
            group_members.delete().where(
                group_members.c.tenant_id == tenant,
                sa.or_(
                    group_members.c.member_id == resource_id,
                    group_members.c.group_id == resource_id,
                ),
            )
        )
        conn.execute(
            resources.delete().where(resources.c.tenant_id == tenant, resources.c.id == resource_id)
        )

    def query(
        self,
        conn: sa.Connection,
        tenant: str,
        where: ColumnElement[bool],
        order: Sequence[ColumnElement[Any]],
        offset: int,
        limit: int,
    ) -> tuple[int, list[StoredResource]]:
        """(total matching, one page) for a WHERE over `resources` (tenant added here)."""
        cond = sa.and_(resources.c.tenant_id == tenant, where)
        page: list[StoredResource] = []
        if limit > 0 and offset > 0:
            # Deep pages: OFFSET skips rows, so skip them in the covering (tenant, type,
            # created, id) index, reading ids only, then fetch the page's documents by
            # primary key (3x less work at offset 100,000; issue 2, point 9).
            ids = conn.execute(
                sa.select(resources.c.id)
                .where(cond)
                .order_by(*order, resources.c.created, resources.c.id)
                .offset(offset)
                .limit(limit)
            ).scalars()
            page = self._by_ids(conn, tenant, list(ids))
        elif limit > 0:
            rows = conn.execute(
                sa.select(*_COLUMNS)
                .where(cond)
                .order_by(*order, resources.c.created, resources.c.id)
                .limit(limit)
            )
            page = [_row_to_resource(r) for r in rows]
            if offset == 0 and len(page) < limit:
                # The first page is not full: it holds every match (one query for lookups).
                return len(page), page
        total = conn.execute(sa.select(sa.func.count()).select_from(resources).where(cond))
        return int(total.scalar_one()), page

    def _by_ids(self, conn: sa.Connection, tenant: str, ids: list[str]) -> list[StoredResource]:
        """The resources with these ids, in the order given (one primary-key query)."""
        if not ids:
            return []
        found = {
            r.id: _row_to_resource(r) for r in conn.execute(_BY_IDS, {"tenant": tenant, "ids": ids})
        }
        return [found[i] for i in ids if i in found]

    def lookup(
        self,
        conn: sa.Connection,
        tenant: str,
        resource_type: str,
        column: str,
        value: str,
        offset: int,
        limit: int,
    ) -> tuple[int, list[StoredResource]]:
        """`query` for `column = value` on an indexed column, with prebuilt statements."""
        params = {"tenant": tenant, "rtype": resource_type, "value": value}
        page: list[StoredResource] = []
        if limit > 0:
            rows = conn.execute(_LOOKUP[column], {**params, "limit": limit, "offset": offset})
            page = [_row_to_resource(r) for r in rows]
            if offset == 0 and len(page) < limit:
                return len(page), page
        return int(conn.execute(_LOOKUP_COUNT[column], params).scalar_one()), page

    # --- membership --------------------------------------------------------------------

    def resolve_members(
        self, conn: sa.Connection, tenant: str, group_id: str | None, ids: Sequence[str]
    ) -> tuple[dict[str, str], set[str]]:
        """({id: resource type} of the ids that exist, ids already members of the group).

        One indexed query per chunk; unknown ids are simply absent from the first map.
        """
        kinds: dict[str, str] = {}
        already: set[str] = set()
        stmt = _RESOLVE if group_id is None else _RESOLVE_IN_GROUP
        for chunk in _chunks(list(dict.fromkeys(ids))):
            params = {"tenant": tenant, "gid": group_id, "ids": list(chunk)}
            for row in conn.execute(stmt, params):
                kinds[row.id] = row.resource_type
                if group_id is not None and row.member_id is not None:
                    already.add(row.id)
        return kinds, already

    def add_members(
        self, conn: sa.Connection, tenant: str, group_id: str, members: Iterable[tuple[str, str]]
    ) -> int:
        """Insert (member id, type) rows, ignoring ones already there; returns rows added."""
        rows = [
            {"tenant_id": tenant, "group_id": group_id, "member_id": mid, "member_type": kind}
            for mid, kind in members
        ]
        if not rows:
            return 0
        stmt = self._insert(group_members).on_conflict_do_nothing()
        conn.execute(stmt, rows)
        return len(rows)

    def remove_members(
        self, conn: sa.Connection, tenant: str, group_id: str, ids: Iterable[str]
    ) -> int:
        removed = 0
        for chunk in _chunks(list(dict.fromkeys(ids))):
            result = conn.execute(
                _REMOVE_MEMBERS, {"tenant": tenant, "gid": group_id, "ids": list(chunk)}
            )
            removed += max(result.rowcount, 0)
        return removed

    def remove_members_where(
        self, conn: sa.Connection, tenant: str, group_id: str, flt: Filter | None
    ) -> int:
        """Delete the membership rows matching a members[...] filter (None: all of them)."""
        cond: ColumnElement[bool] = sa.and_(
            group_members.c.tenant_id == tenant, group_members.c.group_id == group_id
        )
        if flt is not None:
            cond = sa.and_(cond, _member_filter_sql(tenant, flt))
        result = conn.execute(group_members.delete().where(cond))
        return max(result.rowcount, 0)

    def members_of(
        self, conn: sa.Connection, tenant: str, group_ids: Sequence[str]
    ) -> dict[str, list[Member]]:
        """Each group's members (rows joined with the member's label), in one query."""
        out: dict[str, list[Member]] = {gid: [] for gid in group_ids}
        for chunk in _chunks(list(group_ids)):
            rows = conn.execute(_MEMBERS_OF, {"tenant": tenant, "ids": list(chunk)})
            for r in rows:
                out[r.group_id].append(Member(r.member_id, r.member_type, r.display))
        return out

    def groups_of(
        self, conn: sa.Connection, tenant: str, member_ids: Sequence[str]
    ) -> dict[str, list[Member]]:
        """The groups each resource is a direct member of (a User's `groups`)."""
        out: dict[str, list[Member]] = {mid: [] for mid in member_ids}
        for chunk in _chunks(list(member_ids)):
            rows = conn.execute(_GROUPS_OF, {"tenant": tenant, "ids": list(chunk)})
            for r in rows:
                out[r.member_id].append(Member(r.group_id, "Group", r.display))
        return out


def _member_filter_sql(tenant: str, flt: Filter) -> ColumnElement[bool]:
    """A members[...] value filter as SQL over `group_members` (value, type, display)."""
    if isinstance(flt, And):
        return sa.and_(_member_filter_sql(tenant, flt.left), _member_filter_sql(tenant, flt.right))
    if isinstance(flt, Or):
        return sa.or_(_member_filter_sql(tenant, flt.left), _member_filter_sql(tenant, flt.right))
    if isinstance(flt, Not):
        return sa.not_(_member_filter_sql(tenant, flt.operand))
    if isinstance(flt, Present):
        name = flt.path.text.lower().rsplit(".", 1)[-1]
        if name in ("value", "type"):
            return sa.true()
        if name == "display":
            return _display_of_member(tenant).is_not(None)
        raise InvalidValue(f"members filter: unknown sub-attribute '{flt.path.text}'.")
    if isinstance(flt, Compare):
        name = flt.path.text.lower().rsplit(".", 1)[-1]
        column: ColumnElement[Any]
        if name == "value":
            column, exact = group_members.c.member_id, True
        elif name == "type":
            column, exact = group_members.c.member_type, False
        elif name == "display":
            column, exact = _display_of_member(tenant), False
        else:
            raise InvalidValue(f"members filter: unsupported sub-attribute '{flt.path.text}'.")
        return _compare(column, flt.op, flt.value, exact)
    raise InvalidValue("members filter: nested value filters are not allowed here.")


def _display_of_member(tenant: str) -> ColumnElement[Any]:
    return (
        sa.select(resources.c.display)
        .where(resources.c.tenant_id == tenant, resources.c.id == group_members.c.member_id)
        .scalar_subquery()
    )


def _compare(column: ColumnElement[Any], op: str, value: Any, exact: bool) -> ColumnElement[bool]:
    if not isinstance(value, str):
        return sa.false() if op != "ne" else sa.true()
    col: ColumnElement[Any] = column if exact else sa.func.lower(column)
    val = value if exact else value.lower()
    like = val.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    ops: dict[str, Any] = {
        "eq": lambda: col == val,
        "ne": lambda: col != val,
        "co": lambda: col.like(f"%{like}%", escape="\\"),
        "sw": lambda: col.like(f"{like}%", escape="\\"),
        "ew": lambda: col.like(f"%{like}", escape="\\"),
        "gt": lambda: col > val,
        "ge": lambda: col >= val,
        "lt": lambda: col < val,
        "le": lambda: col <= val,
    }
    if op not in ops:
        raise InvalidValue(f"members filter: unknown operator '{op}'.")
    result: ColumnElement[bool] = ops[op]()
    return result
