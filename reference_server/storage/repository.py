"""The repository: resources, their attribute index and group membership rows.

Every method takes the caller's transaction (`Repository.write()` / `read()`), so one
request's writes share one transaction, committed before the answer. Every statement
filters by tenant. Group membership is rows of `group_members`: adding or removing members
touches only those rows, whatever the group's size (issue 2, point 9). The statements of
the hot paths are fixed SQL run on the driver (`storage/database.py`); filters and sorting
are Core expressions from `scim/filter/sql.py`, compiled per call.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.sql.elements import ColumnElement

from reference_server.scim.errors import InvalidValue, Uniqueness
from reference_server.scim.filter.ast import And, Compare, Filter, Not, Or, Present
from reference_server.scim.resources import (
    SEEK_PATHS,
    IndexValue,
    index_values,
    resource_columns,
    search_document,
    utc_now,
)
from reference_server.scim.schemas import SchemaRegistry
from reference_server.storage.database import Database, Tx
from reference_server.storage.tables import group_members, resources

__all__ = ["Member", "Repository", "StoredResource", "new_resource_id"]

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


def new_resource_id() -> str:
    """A time-ordered UUID (version 7, RFC 9562 section 5.7): 48 bits of Unix milliseconds,
    then 74 random bits.

    Resources created one after another get neighbouring ids, so their entries in every
    index that starts with (tenant, id) (the primary key, attr_index, group_members)
    land on the same few B-tree pages instead of one random page each: fewer pages
    written per create, and a group add or a page of users reads and writes a handful of
    leaves instead of one per member (issue 2, point 9). The random part keeps ids
    unguessable; the time they reveal is meta.created, which every reader sees anyway.
    """
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    text = f"{value:032x}"  # what str(uuid.UUID(int=value)) gives, without its checks
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _row_to_resource(row: tuple[Any, ...]) -> StoredResource:
    """A row of `_COLS` (id, resource_type, data, version, created, last_modified)."""
    return StoredResource(row[0], row[1], orjson.loads(row[2]), row[3], row[4], row[5])


def _marks(n: int) -> str:
    return ", ".join("?" * n)


_COLUMNS = (
    resources.c.id,
    resources.c.resource_type,
    resources.c.data,
    resources.c.version,
    resources.c.created,
    resources.c.last_modified,
)
_COLS = "id, resource_type, data, version, created, last_modified"

_GET = f"SELECT {_COLS} FROM resources WHERE tenant_id = ? AND id = ?"
_GET_TYPED = _GET + " AND resource_type = ?"
_INSERT = (
    "INSERT INTO resources (tenant_id, id, resource_type, user_name_lower, external_id,"
    " display_name_lower, display, data, search, version, created, last_modified)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE resources SET user_name_lower = ?, external_id = ?, display_name_lower = ?,"
    " display = ?, data = ?, search = ?, version = ?, last_modified = ?"
    " WHERE tenant_id = ? AND id = ?"
)
# When the indexed columns keep their values: SQLite rewrites the index entries of every
# column named in SET, so naming them would dirty four index pages for nothing.
_UPDATE_DATA = (
    "UPDATE resources SET data = ?, search = ?, version = ?, last_modified = ?"
    " WHERE tenant_id = ? AND id = ?"
)
_TOUCH = "UPDATE resources SET version = ?, last_modified = ? WHERE tenant_id = ? AND id = ?"
_BUMP = (
    "UPDATE resources SET version = version + 1, last_modified = ?"
    " WHERE tenant_id = ? AND id IN ({})"
)
# attr_index rows are written and deleted by their whole key (the table is its index).
_INDEX_INSERT = (
    "INSERT INTO attr_index (tenant_id, resource_type, path, v_lower, resource_id, elem,"
    " v_text) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_INDEX_DELETE = (
    "DELETE FROM attr_index WHERE tenant_id = ? AND resource_type = ? AND path = ?"
    " AND v_lower = ? AND resource_id = ? AND elem = ?"
)
_RESOLVE = "SELECT id, resource_type FROM resources WHERE tenant_id = ? AND id IN ({})"
_RESOLVE_IN_GROUP = (
    "SELECT r.id, r.resource_type, gm.member_id FROM resources r"
    " LEFT OUTER JOIN group_members gm"
    " ON gm.tenant_id = ? AND gm.group_id = ? AND gm.member_id = r.id"
    " WHERE r.tenant_id = ? AND r.id IN ({})"
)
_ADD_MEMBER = (
    "INSERT INTO group_members (tenant_id, group_id, member_id, member_type)"
    " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
)
_REMOVE_MEMBERS = (
    "DELETE FROM group_members WHERE tenant_id = ? AND group_id = ? AND member_id IN ({})"
)
_BY_IDS = f"SELECT {_COLS} FROM resources WHERE tenant_id = ? AND id IN ({{}})"
# Fixed-SQL lookups (`userName eq "x"` and friends): one per indexed column, and one per
# SEEK_PATHS path (`emails.value eq "x"`: an attr_index seek on the lower-cased value,
# which takes the tenant and type again).
_LOOKUP_COLUMNS = ("id", "user_name_lower", "external_id", "display_name_lower")
_LOOKUP_WHERE = {name: f"{name} = ?" for name in _LOOKUP_COLUMNS} | {
    path: "id IN (SELECT resource_id FROM attr_index WHERE tenant_id = ? AND resource_type = ?"
    f" AND path = '{path}' AND v_lower = ?)"
    for path in SEEK_PATHS
}
_LOOKUP = {
    key: f"SELECT {_COLS} FROM resources WHERE tenant_id = ? AND resource_type = ?"
    f" AND {where} ORDER BY created, id LIMIT ? OFFSET ?"
    for key, where in _LOOKUP_WHERE.items()
}
_LOOKUP_COUNT = {
    key: f"SELECT count(*) FROM resources WHERE tenant_id = ? AND resource_type = ? AND {where}"
    for key, where in _LOOKUP_WHERE.items()
}
_MEMBERS_OF = (
    "SELECT gm.group_id, gm.member_id, gm.member_type, r.display FROM group_members gm"
    " JOIN resources r ON r.tenant_id = gm.tenant_id AND r.id = gm.member_id"
    " WHERE gm.tenant_id = ? AND gm.group_id IN ({}) ORDER BY gm.group_id, gm.member_id"
)
_GROUPS_OF = (
    "SELECT gm.member_id, gm.group_id, r.display FROM group_members gm"
    " JOIN resources r ON r.tenant_id = gm.tenant_id AND r.id = gm.group_id"
    " WHERE gm.tenant_id = ? AND gm.member_id IN ({}) ORDER BY gm.member_id, gm.group_id"
)
_DELETE_STEPS = (
    "DELETE FROM group_members WHERE tenant_id = ? AND member_id = ?",
    "DELETE FROM group_members WHERE tenant_id = ? AND group_id = ?",
    "DELETE FROM resources WHERE tenant_id = ? AND id = ?",
)
_CONTAINING = "SELECT group_id FROM group_members WHERE tenant_id = ? AND member_id = ?"
_COUNT_UP = (
    "INSERT INTO resource_counts (tenant_id, resource_type, total, generation)"
    " VALUES (?, ?, 1, 1) ON CONFLICT (tenant_id, resource_type) DO UPDATE"
    " SET total = resource_counts.total + 1, generation = resource_counts.generation + 1"
)
_COUNT_DOWN = (
    "UPDATE resource_counts SET total = total - 1, generation = generation + 1"
    " WHERE tenant_id = ? AND resource_type ="
    " (SELECT resource_type FROM resources WHERE tenant_id = ? AND id = ?)"
)
# A User with its groups in one statement (a GET by id is one round trip).
_USER_GROUPS = {
    "sqlite": "SELECT json_group_array(json_array(gm.group_id, g.display))",
    "postgresql": "SELECT coalesce(json_agg(json_build_array(gm.group_id, g.display)),"
    " '[]'::json)::text",
}
_GET_WITH_GROUPS = (
    "SELECT r.id, r.resource_type, r.data, r.version, r.created, r.last_modified, ({}"
    " FROM group_members gm JOIN resources g ON g.tenant_id = gm.tenant_id"
    " AND g.id = gm.group_id WHERE gm.tenant_id = r.tenant_id AND gm.member_id = r.id)"
    " FROM resources r WHERE r.tenant_id = ? AND r.id = ? AND r.resource_type = ?"
)
_COUNTS = "SELECT total, generation FROM resource_counts WHERE tenant_id = ? AND resource_type = ?"
_LIST_FIRST = (
    f"SELECT {_COLS} FROM resources WHERE tenant_id = ? AND resource_type = ?"
    " ORDER BY created, id LIMIT ? OFFSET ?"
)
_AFTER = " AND (created, id) > (?, ?)"
_LIST_IDS = (
    "SELECT id FROM resources WHERE tenant_id = ? AND resource_type = ?{}"
    " ORDER BY created, id LIMIT ? OFFSET ?"
)
_ANCHOR = (
    "SELECT created, id FROM resources WHERE tenant_id = ? AND resource_type = ?{}"
    " ORDER BY created, id LIMIT 1 OFFSET ?"
)
# Rows between two cached page anchors: a deep page skips at most this many index entries.
ANCHOR_STEP = 500
_ANCHOR_CACHE_SIZE = 256

# An attr_index row by its key after (tenant, type): (path, v_lower, elem), then v_text.
SeekRow = tuple[str, str, int, str]


# Top-level attributes holding SEEK_PATHS (core schema attributes: no URN prefix).
_SEEK_TOPS = frozenset(path.split(".", 1)[0] for path in SEEK_PATHS)


def _seek_rows(values: list[IndexValue]) -> dict[str, list[SeekRow]]:
    """The attr_index rows among a resource's index values (SEEK_PATHS), by path."""
    rows: dict[str, list[SeekRow]] = {}
    for path, elem, text, lower, _num, _flag, _time in values:
        if path in SEEK_PATHS and lower is not None and text is not None:
            rows.setdefault(path, []).append((path, lower, elem, text))
    return rows


def _insert_params(tenant: str, resource_type: str, rid: str, row: SeekRow) -> tuple[Any, ...]:
    path, lower, elem, text = row
    return (tenant, resource_type, path, lower, rid, elem, text)


class Repository:
    """Resource storage for every tenant; stateless apart from the database and registry."""

    def __init__(self, engine: Engine, registry: SchemaRegistry) -> None:
        self.engine = engine
        self.registry = registry
        self.db = Database(engine)
        self._lock_suffix = "" if self.db.sqlite else " FOR UPDATE"
        # (tenant, type) -> (generation, keys of the rows at positions STEP-1, 2*STEP-1, ...)
        self._anchors: dict[tuple[str, str], tuple[int, list[tuple[str, str]]]] = {}
        self._anchor_lock = threading.Lock()
        self.anchor_step = ANCHOR_STEP
        dialect = "sqlite" if self.db.sqlite else "postgresql"
        self._get_with_groups = _GET_WITH_GROUPS.format(_USER_GROUPS[dialect])

    def read(self, *, snapshot: bool = True) -> AbstractContextManager[Tx]:
        """A read transaction (`Database.read`)."""
        return self.db.read(snapshot=snapshot)

    def write(self) -> AbstractContextManager[Tx]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        return self.db.write()

    def close(self) -> None:
        self.db.close()

    # --- resources -------------------------------------------------------------------

    def get(
        self,
        tx: Tx,
        tenant: str,
        resource_type: str | None,
        resource_id: str,
        *,
        for_update: bool = False,
    ) -> StoredResource | None:
        lock = self._lock_suffix if for_update else ""
        if resource_type is None:
            row = tx.first(_GET + lock, (tenant, resource_id))
        else:
            row = tx.first(_GET_TYPED + lock, (tenant, resource_id, resource_type))
        return _row_to_resource(row) if row is not None else None

    def get_with_groups(
        self, tx: Tx, tenant: str, resource_type: str, resource_id: str
    ) -> tuple[StoredResource, list[Member]] | None:
        """A resource and the groups it is a direct member of, in one statement."""
        row = tx.first(self._get_with_groups, (tenant, resource_id, resource_type))
        if row is None:
            return None
        pairs = sorted(orjson.loads(row[6]) if row[6] else [])
        return _row_to_resource(row), [Member(gid, "Group", display) for gid, display in pairs]

    def _columns(self, resource_type: str, data: dict[str, Any]) -> tuple[Any, ...]:
        """(user_name_lower, external_id, display_name_lower, display) of a document."""
        cols = resource_columns(self.registry, resource_type, data)
        display = data.get("displayName")
        if not isinstance(display, str) and resource_type == "User":
            display = data.get("userName")
        for key in ("user_name_lower", "external_id", "display_name_lower"):
            value = cols[key]
            if value is not None and len(value) > 512:
                raise InvalidValue(f"'{key}' is longer than 512 characters.")
        return (
            cols["user_name_lower"],
            cols["external_id"],
            cols["display_name_lower"],
            display[:512] if isinstance(display, str) else None,
        )

    def _write_index(
        self,
        tx: Tx,
        tenant: str,
        resource_type: str,
        rid: str,
        values: list[IndexValue],
        old: dict[str, Any] | None,
    ) -> None:
        """Bring the resource's attr_index rows (SEEK_PATHS) from `old`'s to `values`'.

        Only the paths whose rows differ are rewritten: a PATCH of `active` touches none.
        """
        after = _seek_rows(values)
        before = self._old_seek_rows(resource_type, old) if old is not None else {}
        stale = [row for p, found in before.items() if after.get(p) != found for row in found]
        if stale:
            keys = [(tenant, resource_type, path, low, rid, elem) for path, low, elem, _ in stale]
            tx.run_many(_INDEX_DELETE, keys)
        fresh = [row for p, found in after.items() if before.get(p) != found for row in found]
        if fresh:
            tx.run_many(
                _INDEX_INSERT, [_insert_params(tenant, resource_type, rid, r) for r in fresh]
            )

    def _old_seek_rows(self, resource_type: str, old: dict[str, Any]) -> dict[str, list[SeekRow]]:
        tops = {k: v for k, v in old.items() if k.lower() in _SEEK_TOPS}
        return _seek_rows(index_values(self.registry, resource_type, tops))

    def _unique_violation(self, resource_type: str, data: dict[str, Any]) -> Uniqueness:
        return Uniqueness(
            f"userName {data.get('userName')!r} is already taken in this organization "
            "(userName is unique, case-insensitively; RFC 7643 section 4.1.1)."
            if resource_type == "User"
            else f"A {resource_type} with these unique attribute values already exists."
        )

    def insert(
        self, tx: Tx, tenant: str, resource_type: str, data: dict[str, Any]
    ) -> StoredResource:
        now = utc_now()
        res = StoredResource(new_resource_id(), resource_type, data, 1, now, now)
        rows = index_values(self.registry, resource_type, data)
        params = (
            tenant,
            res.id,
            resource_type,
            *self._columns(resource_type, data),
            orjson.dumps(data).decode(),
            search_document(rows),
            1,
            now,
            now,
        )
        try:
            tx.run(_INSERT, params)
        except self.db.integrity_error:
            # The whole request transaction rolls back: no savepoint needed.
            raise self._unique_violation(resource_type, data) from None
        self._write_index(tx, tenant, resource_type, res.id, rows, None)
        tx.run(_COUNT_UP, (tenant, resource_type))
        return res

    def update(
        self, tx: Tx, tenant: str, current: StoredResource, data: dict[str, Any]
    ) -> StoredResource:
        """Store a new document; bumps version and lastModified."""
        now = utc_now()
        rtype = current.resource_type
        columns = self._columns(rtype, data)
        rows = index_values(self.registry, rtype, data)
        tail = (
            orjson.dumps(data).decode(),
            search_document(rows),
            current.version + 1,
            now,
            tenant,
            current.id,
        )
        try:
            if columns == self._columns(rtype, current.data):
                tx.run(_UPDATE_DATA, tail)
            else:
                tx.run(_UPDATE, (*columns, *tail))
        except self.db.integrity_error:
            # The whole request transaction rolls back: no savepoint needed.
            raise self._unique_violation(rtype, data) from None
        self._write_index(tx, tenant, rtype, current.id, rows, current.data)
        return StoredResource(current.id, rtype, data, current.version + 1, current.created, now)

    def touch(self, tx: Tx, tenant: str, current: StoredResource) -> StoredResource:
        """A change outside the document (membership rows): new version and lastModified."""
        now = utc_now()
        tx.run(_TOUCH, (current.version + 1, now, tenant, current.id))
        return StoredResource(
            current.id,
            current.resource_type,
            current.data,
            current.version + 1,
            current.created,
            now,
        )

    def _bump(self, tx: Tx, tenant: str, ids: Sequence[str]) -> None:
        """New versions for groups whose `members` changed through another resource."""
        now = utc_now()
        for chunk in _chunks(list(dict.fromkeys(ids))):
            tx.run(_BUMP.format(_marks(len(chunk))), (now, tenant, *chunk))

    def delete(self, tx: Tx, tenant: str, current: StoredResource) -> None:
        """Delete a resource, its index rows and every membership row that names it."""
        resource_id = current.id
        self._write_index(tx, tenant, current.resource_type, resource_id, [], current.data)
        # Groups that lose this member change representation: new versions (ETags stay
        # honest). A User's version does not follow its `groups`: bumping it would make
        # group and user writers lock rows in opposite orders on PostgreSQL (deadlocks).
        containing = [r[0] for r in tx.all(_CONTAINING, (tenant, resource_id))]
        self._bump(tx, tenant, containing)
        tx.run(_COUNT_DOWN, (tenant, tenant, resource_id))
        for sql in _DELETE_STEPS:
            tx.run(sql, (tenant, resource_id))

    def query(
        self,
        tx: Tx,
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
            ids = tx.select(
                sa.select(resources.c.id)
                .where(cond)
                .order_by(*order, resources.c.created, resources.c.id)
                .offset(offset)
                .limit(limit)
            )
            page = self._by_ids(tx, tenant, [r[0] for r in ids])
        elif limit > 0:
            rows = tx.select(
                sa.select(*_COLUMNS)
                .where(cond)
                .order_by(*order, resources.c.created, resources.c.id)
                .limit(limit)
            )
            page = [_row_to_resource(r) for r in rows]
            if offset == 0 and len(page) < limit:
                # The first page is not full: it holds every match (one query for lookups).
                return len(page), page
        total = tx.select(sa.select(sa.func.count()).select_from(resources).where(cond))
        return int(total[0][0]), page

    def _by_ids(self, tx: Tx, tenant: str, ids: list[str]) -> list[StoredResource]:
        """The resources with these ids, in the order given (one primary-key query)."""
        if not ids:
            return []
        found: dict[str, StoredResource] = {}
        for chunk in _chunks(ids):
            for r in tx.all(_BY_IDS.format(_marks(len(chunk))), (tenant, *chunk)):
                found[r[0]] = _row_to_resource(r)
        return [found[i] for i in ids if i in found]

    def listing(
        self, tx: Tx, tenant: str, resource_type: str, offset: int, limit: int
    ) -> tuple[int, list[StoredResource]]:
        """An unfiltered, unsorted page (what an IdP's import pages through) at flat cost.

        totalResults comes from the counter row, not count(*). A deep page starts from a
        cached anchor (the key of the row at a multiple of ANCHOR_STEP, valid while the
        counter's generation is unchanged), so it skips fewer than ANCHOR_STEP index
        entries instead of `offset` of them (issue 2, point 9: the same cost at any N).
        """
        step = self.anchor_step
        row = tx.first(_COUNTS, (tenant, resource_type))
        total, generation = (int(row[0]), int(row[1])) if row else (0, 0)
        if limit <= 0 or offset >= total:
            return total, []
        block = offset // step
        if block == 0:
            rows = tx.all(_LIST_FIRST, (tenant, resource_type, limit, offset))
            return total, [_row_to_resource(r) for r in rows]
        after = self._anchor(tx, tenant, resource_type, generation, block - 1)
        if after is None:  # fewer rows than the counter says (a concurrent delete)
            return total, []
        sql = _LIST_IDS.format(_AFTER)
        skip = offset - block * step
        ids = tx.all(sql, (tenant, resource_type, *after, limit, skip))
        return total, self._by_ids(tx, tenant, [r[0] for r in ids])

    def _anchor(
        self, tx: Tx, tenant: str, resource_type: str, generation: int, index: int
    ) -> tuple[str, str] | None:
        """Key (created, id) of the row at position (index + 1) * step - 1."""
        step = self.anchor_step
        key = (tenant, resource_type)
        cached = self._anchors.get(key)
        anchors = list(cached[1]) if cached is not None and cached[0] == generation else []
        while len(anchors) <= index:
            if anchors:
                found = tx.first(
                    _ANCHOR.format(_AFTER),
                    (tenant, resource_type, *anchors[-1], step - 1),
                )
            else:
                found = tx.first(_ANCHOR.format(""), (tenant, resource_type, step - 1))
            if found is None:
                return None
            anchors.append((found[0], found[1]))
        with self._anchor_lock:
            if key not in self._anchors and len(self._anchors) >= _ANCHOR_CACHE_SIZE:
                self._anchors.clear()
            self._anchors[key] = (generation, anchors)
        return anchors[index]

    def lookup(
        self,
        tx: Tx,
        tenant: str,
        resource_type: str,
        column: str,
        value: str,
        offset: int,
        limit: int,
    ) -> tuple[int, list[StoredResource]]:
        """`query` for `column = value` on an indexed column (or a SEEK_PATHS path and a
        lower-cased value), with fixed statements."""
        params: tuple[str, ...] = (tenant, resource_type, value)
        if column in SEEK_PATHS:
            params = (tenant, resource_type, tenant, resource_type, value)
        page: list[StoredResource] = []
        if limit > 0:
            rows = tx.all(_LOOKUP[column], (*params, limit, offset))
            page = [_row_to_resource(r) for r in rows]
            if offset == 0 and len(page) < limit:
                return len(page), page
        row = tx.first(_LOOKUP_COUNT[column], params)
        return (int(row[0]) if row else 0), page

    # --- membership --------------------------------------------------------------------

    def resolve_members(
        self, tx: Tx, tenant: str, group_id: str | None, ids: Sequence[str]
    ) -> tuple[dict[str, str], set[str]]:
        """({id: resource type} of the ids that exist, ids already members of the group).

        One indexed query per chunk; unknown ids are simply absent from the first map.
        """
        kinds: dict[str, str] = {}
        already: set[str] = set()
        for chunk in _chunks(list(dict.fromkeys(ids))):
            marks = _marks(len(chunk))
            if group_id is None:
                for rid, kind in tx.all(_RESOLVE.format(marks), (tenant, *chunk)):
                    kinds[rid] = kind
                continue
            sql = _RESOLVE_IN_GROUP.format(marks)
            for rid, kind, member in tx.all(sql, (tenant, group_id, tenant, *chunk)):
                kinds[rid] = kind
                if member is not None:
                    already.add(rid)
        return kinds, already

    def add_members(
        self, tx: Tx, tenant: str, group_id: str, members: Iterable[tuple[str, str]]
    ) -> int:
        """Insert (member id, type) rows, ignoring ones already there; returns rows added."""
        rows = [(tenant, group_id, mid, kind) for mid, kind in members]
        if not rows:
            return 0
        tx.run_many(_ADD_MEMBER, rows)
        return len(rows)

    def remove_members(self, tx: Tx, tenant: str, group_id: str, ids: Iterable[str]) -> int:
        removed = 0
        for chunk in _chunks(list(dict.fromkeys(ids))):
            sql = _REMOVE_MEMBERS.format(_marks(len(chunk)))
            removed += tx.run(sql, (tenant, group_id, *chunk))
        return removed

    def remove_members_where(self, tx: Tx, tenant: str, group_id: str, flt: Filter | None) -> int:
        """Delete the membership rows matching a members[...] filter (None: all of them)."""
        cond: ColumnElement[bool] = sa.and_(
            group_members.c.tenant_id == tenant, group_members.c.group_id == group_id
        )
        if flt is not None:
            cond = sa.and_(cond, _member_filter_sql(tenant, flt))
        return tx.execute(group_members.delete().where(cond))

    def members_of(self, tx: Tx, tenant: str, group_ids: Sequence[str]) -> dict[str, list[Member]]:
        """Each group's members (rows joined with the member's label), in one query."""
        out: dict[str, list[Member]] = {gid: [] for gid in group_ids}
        for chunk in _chunks(list(group_ids)):
            sql = _MEMBERS_OF.format(_marks(len(chunk)))
            for gid, mid, kind, display in tx.all(sql, (tenant, *chunk)):
                out[gid].append(Member(mid, kind, display))
        return out

    def groups_of(self, tx: Tx, tenant: str, member_ids: Sequence[str]) -> dict[str, list[Member]]:
        """The groups each resource is a direct member of (a User's `groups`)."""
        out: dict[str, list[Member]] = {mid: [] for mid in member_ids}
        for chunk in _chunks(list(member_ids)):
            sql = _GROUPS_OF.format(_marks(len(chunk)))
            for mid, gid, display in tx.all(sql, (tenant, *chunk)):
                out[mid].append(Member(gid, "Group", display))
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
