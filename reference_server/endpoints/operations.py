"""Resource operations shared by the HTTP endpoints and /Bulk: create, read, replace,
patch, delete and search, each one transaction, each answering an `Outcome`.

The stored document never holds `id`, `meta` or Group `members`; `representation`
assembles the full resource (RFC 7643 section 3.1 `meta`, Group `members` from rows with
`display` and `$ref`, a User's readOnly `groups` from rows, type "direct") and projects it
(RFC 7644 section 3.4.2.5).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from reference_server.endpoints.common import (
    Ctx,
    check_write_preconditions,
    etag,
    if_none_match_hit,
)
from reference_server.provisioning import scim_hooks as hooks
from reference_server.provisioning.store import now
from reference_server.scim.errors import InvalidFilter, InvalidValue, NotFound
from reference_server.scim.filter import (
    Filter,
    fast_filter,
    filter_to_sql,
    parse_filter,
    sort_clauses,
)
from reference_server.scim.patch import MemberChanges, apply_patch
from reference_server.scim.resources import (
    SEEK_PATHS,
    prepare_create,
    prepare_replace,
    project,
    split_members,
)
from reference_server.scim.schemas import SchemaRegistry
from reference_server.storage.database import Tx
from reference_server.storage.repository import Member, StoredResource, new_resource_id
from reference_server.storage.tables import resources

__all__ = [
    "LIST_RESPONSE",
    "Outcome",
    "Query",
    "add_members",
    "create",
    "delete",
    "patch",
    "read",
    "replace",
    "representation",
    "search",
]

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@dataclass(slots=True)
class Outcome:
    """What an operation produced: HTTP status, body, version (ETag) and location."""

    status: int
    body: dict[str, Any] | None = None
    version: int | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Query:
    """The query parameters of RFC 7644 section 3.4.2 (GET query or POST .search)."""

    filter: str | None = None
    sort_by: str | None = None
    descending: bool = False
    start_index: int = 1
    count: int | None = None
    attributes: list[str] | None = None
    excluded: list[str] | None = None


@functools.lru_cache(maxsize=512)
def _wants(
    reg: SchemaRegistry,
    resource_type: str,
    name: str,
    attributes: tuple[str, ...] | None,
    excluded: tuple[str, ...] | None,
) -> bool:
    """Would the projection return `name` (members/groups)? Then (only then) load the rows."""
    probe = {"schemas": [], name: [{"value": "x", "display": "x"}]}
    shown = project(
        reg,
        resource_type,
        probe,
        list(attributes) if attributes else None,
        list(excluded) if excluded else None,
    )
    return name in shown


def _t(items: list[str] | None) -> tuple[str, ...] | None:
    return tuple(items) if items else None


def _endpoint(reg: SchemaRegistry, resource_type: str) -> str:
    return reg.resource_type(resource_type).endpoint


def representation(
    ctx: Ctx,
    res: StoredResource,
    related: list[Member] | None,
    attributes: list[str] | None,
    excluded: list[str] | None,
) -> dict[str, Any]:
    """The resource as returned: document + id + members/groups + meta, then projected."""
    reg = ctx.state.registry
    location = f"{ctx.base}{_endpoint(reg, res.resource_type)}/{res.id}"
    # `schemas` first, then `id`: the document's own `schemas` takes the first slot.
    full: dict[str, Any] = {"schemas": [], "id": res.id}
    full.update(res.data)
    if related:
        if res.resource_type == "Group":
            full["members"] = [_member_json(ctx, m.id, m.type, m.display, m.type) for m in related]
        else:
            full["groups"] = [
                _member_json(ctx, m.id, "Group", m.display, "direct") for m in related
            ]
    full["meta"] = {
        "resourceType": res.resource_type,
        "created": res.created,
        "lastModified": res.last_modified,
        "location": location,
        "version": etag(res.version),
    }
    return project(reg, res.resource_type, full, attributes, excluded, owned=True)


def _member_json(ctx: Ctx, mid: str, kind: str, display: str | None, shown: str) -> dict[str, Any]:
    endpoint = "/Groups" if kind == "Group" else "/Users"
    item: dict[str, Any] = {"value": mid, "$ref": f"{ctx.base}{endpoint}/{mid}", "type": shown}
    if display is not None:
        item["display"] = display
    return item


def _related(
    ctx: Ctx,
    conn: Tx,
    rows: Sequence[StoredResource],
    attributes: list[str] | None,
    excluded: list[str] | None,
) -> dict[str, list[Member]]:
    """Members of the Groups and groups of the Users among `rows`, when they are returned."""
    reg, repo = ctx.state.registry, ctx.state.repo
    out: dict[str, list[Member]] = {}
    groups = [r.id for r in rows if r.resource_type == "Group"]
    users = [r.id for r in rows if r.resource_type == "User"]
    if groups and _wants(reg, "Group", "members", _t(attributes), _t(excluded)):
        out.update(repo.members_of(conn, ctx.tenant, groups))
    if users and _wants(reg, "User", "groups", _t(attributes), _t(excluded)):
        out.update(repo.groups_of(conn, ctx.tenant, users))
    return out


def _answer(
    ctx: Ctx,
    conn: Tx,
    res: StoredResource,
    status: int,
    attributes: list[str] | None,
    excluded: list[str] | None,
    *,
    no_related: bool = False,
    related: list[Member] | None = None,
) -> Outcome:
    """The operation's answer; `no_related` when the resource has no membership rows yet,
    `related` when the caller already read them."""
    if related is None and not no_related:
        related = _related(ctx, conn, [res], attributes, excluded).get(res.id)
    body = representation(ctx, res, related, attributes, excluded)
    location = f"{ctx.base}{_endpoint(ctx.state.registry, res.resource_type)}/{res.id}"
    return Outcome(status, body, res.version, location)


def _check_members(
    ctx: Ctx, conn: Tx, group_id: str | None, members: list[dict[str, Any]]
) -> tuple[list[tuple[str, str]], set[str]]:
    """Members must be Users or Groups of this organization (400 invalidValue otherwise).

    Returns the (id, type) pairs and the ids that are already members of the group.
    """
    ids = [m["value"] for m in members]
    kinds, already = ctx.state.repo.resolve_members(conn, ctx.tenant, group_id, ids)
    pairs: list[tuple[str, str]] = []
    for mid in ids:
        kind = kinds.get(mid)
        if kind is None:
            raise InvalidValue(
                f"members: {mid!r} is not the id of a User or Group in this organization."
            )
        if mid == group_id:
            raise InvalidValue("members: a group cannot be a member of itself.")
        pairs.append((mid, kind))
    return pairs, already


def _not_found(resource_type: str, rid: str) -> NotFound:
    return NotFound(f"{resource_type} {rid!r} not found.")


def _current(
    ctx: Ctx,
    conn: Tx,
    resource_type: str,
    rid: str,
    if_match: str | None,
    if_none_match: str | None,
) -> StoredResource:
    """The resource a write changes, locked; 404 when absent, 412 on a stale precondition."""
    cur = ctx.state.repo.get(conn, ctx.tenant, resource_type, rid, for_update=True)
    if cur is None:
        raise _not_found(resource_type, rid)
    check_write_preconditions(if_match, if_none_match, cur.version)
    return cur


# --- operations ------------------------------------------------------------------------


def _action(resource_type: str, verb: str) -> str:
    """The audit log's action name: `user.create`, `group.delete`, ..."""
    return f"{resource_type.lower()}.{verb}"


def create(
    ctx: Ctx,
    resource_type: str,
    body: dict[str, Any],
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> Outcome:
    """POST (RFC 7644 section 3.3): 201 with the resource, Location and ETag.

    Under a policy, a User is provisioned in the same transaction (`scim_hooks`); a
    lenient domain skip answers 201 with the would-be resource and stores nothing.
    """
    action = _action(resource_type, "create")
    with hooks.refusals(ctx, action, resource_type, None):
        reg, repo = ctx.state.registry, ctx.state.repo
        data = prepare_create(reg, resource_type, body)
        members: list[dict[str, Any]] = []
        if resource_type == "Group":
            hooks.check_group_write(ctx, "POST")
            data, members = split_members(data)
        user = resource_type == "User" and ctx.org.governed
        with repo.write() as conn:
            plan = hooks.plan_user_create(ctx, conn, data) if user else None
            if plan is not None and (plan.skip is not None or plan.lost):
                stamp = now()
                would_be = StoredResource(new_resource_id(), resource_type, data, 1, stamp, stamp)
                outcome = "skipped" if plan.skip is not None else "ok"
                hooks.audit(conn, ctx, action, resource_type, would_be.id, outcome, plan.skip or "")
                return _answer(ctx, conn, would_be, 201, attributes, excluded, no_related=True)
            pairs: list[tuple[str, str]] = []
            if members:
                pairs, _ = _check_members(ctx, conn, None, members)
            res = repo.insert(conn, ctx.tenant, resource_type, data)
            if pairs:
                repo.add_members(conn, ctx.tenant, res.id, pairs)
            detail, outcome = "", "ok"
            if plan is not None:
                detail = hooks.provision_user(ctx, conn, res.id, data, plan)
                outcome = "error" if plan.fallback else "ok"
            hooks.audit(conn, ctx, action, resource_type, res.id, outcome, detail)
            # Under a policy the default team may already hold the new User.
            fresh = not pairs and not ctx.org.governed
            return _answer(ctx, conn, res, 201, attributes, excluded, no_related=fresh)


def read(
    ctx: Ctx,
    resource_type: str,
    rid: str,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
    if_none_match: str | None = None,
) -> Outcome:
    """GET by id (RFC 7644 section 3.4.1); 304 when If-None-Match names the version."""
    repo = ctx.state.repo
    reg = ctx.state.registry
    with repo.read(snapshot=False) as conn:
        if resource_type == "User" and _wants(reg, "User", "groups", _t(attributes), _t(excluded)):
            found = repo.get_with_groups(conn, ctx.tenant, resource_type, rid)
            res, related = found if found is not None else (None, None)
        else:
            res, related = repo.get(conn, ctx.tenant, resource_type, rid), None
        if res is None:
            raise _not_found(resource_type, rid)
        if if_none_match_hit(if_none_match, res.version):
            return Outcome(304, None, res.version)
        return _answer(ctx, conn, res, 200, attributes, excluded, related=related)


def replace(
    ctx: Ctx,
    resource_type: str,
    rid: str,
    body: dict[str, Any],
    if_match: str | None = None,
    if_none_match: str | None = None,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> Outcome:
    """PUT (RFC 7644 section 3.5.1): replace every client-assertable attribute.

    For a Group, `members` in the body replaces the membership rows (absent: no members).
    """
    action = _action(resource_type, "replace")
    with hooks.refusals(ctx, action, resource_type, rid):
        reg, repo = ctx.state.registry, ctx.state.repo
        with repo.write() as conn:
            cur = _current(ctx, conn, resource_type, rid, if_match, if_none_match)
            data = prepare_replace(reg, resource_type, cur.data, body)
            detail = ""
            if resource_type == "Group":
                data, members = split_members(data)
                pairs, _ = _check_members(ctx, conn, rid, members) if members else ([], set())
                if not hooks.keeps_removed_members(ctx):
                    repo.remove_members_where(conn, ctx.tenant, rid, None)
                repo.add_members(conn, ctx.tenant, rid, pairs)
            elif ctx.org.governed:
                detail = hooks.user_changed(ctx, conn, rid, cur.data, data)
            res = repo.update(conn, ctx.tenant, cur, data)
            hooks.audit(conn, ctx, action, resource_type, rid, "ok", detail)
            return _answer(ctx, conn, res, 200, attributes, excluded)


def patch(
    ctx: Ctx,
    resource_type: str,
    rid: str,
    body: dict[str, Any],
    if_match: str | None = None,
    if_none_match: str | None = None,
    attributes: list[str] | None = None,
    excluded: list[str] | None = None,
) -> Outcome:
    """PATCH (RFC 7644 section 3.5.2): 200 with the resource (what Okta and Entra expect).

    Membership changes are row inserts/deletes, so their cost does not grow with the group;
    a PATCH that changes a Group's membership answers 204 No Content (section 3.5.2: the
    provider "MAY return HTTP status code 204"), since the entire resource would carry
    every member (Microsoft's guidance prefers 204 and calls returning members "not
    advisable"), unless the request asks for a representation with `attributes` or
    `excludedAttributes`. A PATCH that changes nothing keeps the version.
    """
    action = _action(resource_type, "update")
    with hooks.refusals(ctx, action, resource_type, rid):
        return _patch(ctx, resource_type, rid, body, if_match, if_none_match, attributes, excluded)


def _patch(
    ctx: Ctx,
    resource_type: str,
    rid: str,
    body: dict[str, Any],
    if_match: str | None,
    if_none_match: str | None,
    attributes: list[str] | None,
    excluded: list[str] | None,
) -> Outcome:
    reg, repo = ctx.state.registry, ctx.state.repo
    with repo.write() as conn:
        cur = _current(ctx, conn, resource_type, rid, if_match, if_none_match)
        outcome = apply_patch(reg, resource_type, cur.data, body, rid)
        detail = ""
        if resource_type == "User" and ctx.org.governed:
            detail = hooks.user_changed(ctx, conn, rid, cur.data, outcome.resource)
        res = cur
        if outcome.resource != cur.data:
            res = repo.update(conn, ctx.tenant, cur, outcome.resource)
        elif outcome.changed:
            # Membership only: the document and its index rows are unchanged, so bump the
            # version without rewriting them (the rows change below).
            res = repo.touch(conn, ctx.tenant, cur)
        changes = outcome.members
        membership = changes is not None and not changes.is_empty()
        if changes is not None and membership and resource_type == "Group":
            touched = _apply_member_changes(ctx, conn, rid, changes)
            if touched and res is cur:
                res = repo.touch(conn, ctx.tenant, cur)
        hooks.audit(conn, ctx, _action(resource_type, "update"), resource_type, rid, "ok", detail)
        if membership and attributes is None and excluded is None:
            # The whole group would carry every member: 204 keeps the cost flat.
            location = f"{ctx.base}{_endpoint(reg, resource_type)}/{rid}"
            return Outcome(204, None, res.version, location)
        return _answer(ctx, conn, res, 200, attributes, excluded)


def add_members(ctx: Ctx, gid: str, members: list[dict[str, Any]]) -> Outcome:
    """Add members to a Group as rows (bulk's second step for circular references)."""
    repo = ctx.state.repo
    # Part of one bulk POST, which has its own audit event.
    with repo.write() as conn:
        cur = repo.get(conn, ctx.tenant, "Group", gid, for_update=True)
        if cur is None:
            raise _not_found("Group", gid)
        _, wanted = split_members({"members": members})
        pairs, already = _check_members(ctx, conn, gid, wanted)
        new = [(mid, kind) for mid, kind in pairs if mid not in already]
        res = cur
        if repo.add_members(conn, ctx.tenant, gid, new):
            res = repo.touch(conn, ctx.tenant, cur)
        return _answer(ctx, conn, res, 200, ["id"], None)


def _apply_member_changes(ctx: Ctx, conn: Tx, gid: str, changes: MemberChanges) -> int:
    """Row operations for a MemberChanges value; returns how many rows changed."""
    repo = ctx.state.repo
    removes = not hooks.keeps_removed_members(ctx)
    touched = 0
    if changes.replace is not None:
        pairs, _ = (
            _check_members(ctx, conn, gid, changes.replace) if changes.replace else ([], set())
        )
        if removes:
            touched += repo.remove_members_where(conn, ctx.tenant, gid, None)
        touched += repo.add_members(conn, ctx.tenant, gid, pairs)
    if changes.remove_all and removes:
        touched += repo.remove_members_where(conn, ctx.tenant, gid, None)
    if changes.remove_ids and removes:
        touched += repo.remove_members(conn, ctx.tenant, gid, sorted(changes.remove_ids))
    if changes.remove_filter is not None and removes:
        touched += repo.remove_members_where(conn, ctx.tenant, gid, changes.remove_filter)
    if changes.add:
        pairs, already = _check_members(ctx, conn, gid, changes.add)
        new = [(mid, kind) for mid, kind in pairs if mid not in already]
        touched += repo.add_members(conn, ctx.tenant, gid, new)
    return touched


def delete(
    ctx: Ctx,
    resource_type: str,
    rid: str,
    if_match: str | None = None,
    if_none_match: str | None = None,
) -> Outcome:
    """DELETE (RFC 7644 section 3.6): 204; membership rows naming the resource go too.

    Under a policy, a User is deprovisioned and a Group's deletion may remove its users.
    """
    repo = ctx.state.repo
    action = _action(resource_type, "delete")
    with hooks.refusals(ctx, action, resource_type, rid), repo.write() as conn:
        if resource_type == "Group":
            hooks.check_group_write(ctx, "DELETE")
        current = _current(ctx, conn, resource_type, rid, if_match, if_none_match)
        detail = ""
        if ctx.org.governed:
            if resource_type == "User":
                detail = hooks.user_deleted(ctx, conn, rid)
            else:
                detail = hooks.group_deleted(ctx, conn, rid)
        repo.delete(conn, ctx.tenant, current)
        hooks.audit(conn, ctx, action, resource_type, rid, "ok", detail)
    return Outcome(204)


# --- search ----------------------------------------------------------------------------


def _fast_column(reg: SchemaRegistry, resource_type: str, text: str) -> tuple[str, str] | None:
    """(indexed column, value) for `attr eq "value"` on id, userName, externalId, displayName;
    (path, lower-cased value) for a quoted value of a SEEK_PATHS attribute (emails.value)."""
    found = fast_filter(text)
    if found is None:
        return None
    value = found.value
    resolved = reg.resolve(resource_type, found.path)
    if resolved is None:
        return None
    leaf = resolved.leaf
    if resolved.index_path in SEEK_PATHS and found.quoted:
        # As filter_to_sql compares it (not caseExact: on v_lower); caseExact ones and
        # Entra's unquoted form take the general path.
        if leaf.type == "string" and not leaf.case_exact:
            return resolved.index_path, value.lower()
        return None
    if resolved.sub_attribute is not None:
        return None
    path = resolved.index_path
    if path != "id" and resolved.schema_urn != reg.resource_type(resource_type).schema:
        return None
    if path == "id":
        return "id", value
    if path == "username":
        return "user_name_lower", value.lower()
    if path == "externalid":
        return "external_id", value
    if path == "displayname":
        return "display_name_lower", value.lower()
    return None


def _fast_where(reg: SchemaRegistry, resource_type: str, text: str) -> ColumnElement[bool] | None:
    found = _fast_column(reg, resource_type, text)
    if found is None or found[0] not in resources.c:
        return None  # a SEEK_PATHS lookup: only `repo.lookup` has its fixed SQL
    return resources.c[found[0]] == found[1]


def _type_where(
    ctx: Ctx, resource_type: str, text: str | None, parsed: Filter | None
) -> ColumnElement[bool]:
    cond = resources.c.resource_type == resource_type
    if text is None:
        return cond
    fast = _fast_where(ctx.state.registry, resource_type, text)
    if fast is not None:
        return sa.and_(cond, fast)
    assert parsed is not None
    return sa.and_(cond, filter_to_sql(ctx.state.registry, resource_type, ctx.tenant, parsed))


def search(ctx: Ctx, types: Sequence[str], q: Query) -> dict[str, Any]:
    """A ListResponse (RFC 7644 section 3.4.2): filter, sort and paging run in SQL.

    startIndex < 1 counts as 1, a negative count as 0, count is capped at maxResults;
    count=0 answers totalResults only. Across several types (root search), a filter
    attribute unknown to one type excludes that type.
    """
    reg, repo = ctx.state.registry, ctx.state.repo
    settings = ctx.state.settings
    text = q.filter if q.filter and q.filter.strip() else None
    start = max(q.start_index, 1)
    count = settings.max_results if q.count is None else max(min(q.count, settings.max_results), 0)
    fast = _fast_column(reg, types[0], text) if text and len(types) == 1 and not q.sort_by else None
    if fast is not None:  # the IdP lookup: prebuilt statements on an indexed column
        with repo.read(snapshot=False) as conn:
            total, rows = repo.lookup(conn, ctx.tenant, types[0], *fast, start - 1, count)
            related = _related(ctx, conn, rows, q.attributes, q.excluded) if rows else {}
        return _list_response(ctx, rows, related, total, start, q)
    if text is None and len(types) == 1 and not q.sort_by:  # an import: flat-cost paging
        with repo.read(snapshot=False) as conn:
            total, rows = repo.listing(conn, ctx.tenant, types[0], start - 1, count)
            related = _related(ctx, conn, rows, q.attributes, q.excluded) if rows else {}
        return _list_response(ctx, rows, related, total, start, q)
    parsed: Filter | None = None
    if text is not None and any(_fast_where(reg, t, text) is None for t in types):
        parsed = parse_filter(text)
    conds: list[ColumnElement[bool]] = []
    error: InvalidFilter | None = None
    for rtype in types:
        try:
            conds.append(_type_where(ctx, rtype, text, parsed))
        except InvalidFilter as exc:
            if len(types) == 1:
                raise
            error = exc
    if not conds:
        assert error is not None
        raise error
    where = conds[0] if len(conds) == 1 else sa.or_(*conds)
    order: list[Any] = []
    if q.sort_by:
        for rtype in types:
            try:
                order = list(sort_clauses(reg, rtype, ctx.tenant, q.sort_by, q.descending))
                break
            except InvalidValue:
                if len(types) == 1:
                    raise
    with repo.read(snapshot=False) as conn:
        total, rows = repo.query(conn, ctx.tenant, where, order, start - 1, count)
        related = _related(ctx, conn, rows, q.attributes, q.excluded) if rows else {}
    return _list_response(ctx, rows, related, total, start, q)


def _list_response(
    ctx: Ctx,
    rows: list[StoredResource],
    related: dict[str, list[Member]],
    total: int,
    start: int,
    q: Query,
) -> dict[str, Any]:
    items = [representation(ctx, r, related.get(r.id), q.attributes, q.excluded) for r in rows]
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(items),
        "startIndex": start,
        "Resources": items,
    }
