"""/Bulk (RFC 7644 section 3.7): several operations in one request, each its own transaction.

- `bulkId:<id>` references in `path` and anywhere in `data` (including Group `members`)
  are replaced by the id the referenced POST created; an operation whose references are
  not created yet waits until they are (section 3.7.2: "the service provider MUST try to
  resolve circular cross-references").
- A cycle between Groups' `members` is broken as the RFC's own example does: one Group is
  created without the not-yet-known members, which are added by PATCH once they exist.
  Other cycles answer 409 for the operations involved (the RFC's permitted fallback).
- `failOnErrors` stops processing once that many operations failed (section 3.7.3);
  more than maxOperations operations, or a body over maxPayloadSize, is 413 (section 3.7.4).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reference_server.endpoints import operations as ops
from reference_server.endpoints.common import Ctx, ScimResponse, etag, read_json, scim_context
from reference_server.scim.errors import (
    Conflict,
    InvalidSyntax,
    InvalidValue,
    PayloadTooLarge,
    ScimError,
)

__all__ = ["BULK_REQUEST", "BULK_RESPONSE", "bulk", "run_bulk"]

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@dataclass(slots=True)
class _Op:
    index: int
    method: str
    path: str
    bulk_id: str | None
    version: str | None
    data: Any
    # members stripped to break a cycle: added by PATCH once their POSTs ran
    deferred: list[dict[str, Any]] = field(default_factory=list)


def _refs(value: Any, out: set[str]) -> None:
    if isinstance(value, str):
        if value.startswith("bulkId:"):
            out.add(value[7:])
    elif isinstance(value, list):
        for item in value:
            _refs(item, out)
    elif isinstance(value, dict):
        for item in value.values():
            _refs(item, out)


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        if value.startswith("bulkId:") and value[7:] in ids:
            return ids[value[7:]]
        return value
    if isinstance(value, list):
        return [_resolve(item, ids) for item in value]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    return value


def _parse_ops(body: dict[str, Any], max_ops: int) -> list[_Op | dict[str, Any]]:
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or BULK_REQUEST not in schemas:
        raise InvalidValue(f"A bulk request's 'schemas' must contain {BULK_REQUEST}.")
    raw_ops = body.get("Operations")
    if not isinstance(raw_ops, list):
        raise InvalidSyntax("A bulk request needs an 'Operations' list.")
    if len(raw_ops) > max_ops:
        raise PayloadTooLarge(
            f"The bulk request has {len(raw_ops)} operations; maxOperations is {max_ops}."
        )
    parsed: list[_Op | dict[str, Any]] = []
    for i, raw in enumerate(raw_ops):
        if not isinstance(raw, dict):
            parsed.append(
                _error_entry(None, None, InvalidSyntax(f"Operations[{i}] is not an object."))
            )
            continue
        method = raw.get("method")
        path = raw.get("path")
        bulk_id = raw.get("bulkId")
        version = raw.get("version")
        method = method.upper() if isinstance(method, str) else None
        bid = bulk_id if isinstance(bulk_id, str) and bulk_id else None
        error: ScimError | None = None
        if method not in _METHODS:
            error = InvalidValue(f"Operations[{i}].method must be one of {', '.join(_METHODS)}.")
        elif not isinstance(path, str) or not path.startswith("/"):
            error = InvalidValue(f"Operations[{i}].path must be a path such as '/Users'.")
        elif method == "POST" and bid is None:
            error = InvalidValue(f"Operations[{i}]: a POST needs a bulkId (section 3.7).")
        elif method != "DELETE" and not isinstance(raw.get("data"), dict):
            error = InvalidSyntax(f"Operations[{i}].data must be a JSON object.")
        elif version is not None and not isinstance(version, str):
            error = InvalidValue(f"Operations[{i}].version must be a string (an ETag).")
        if error is not None:
            entry = _error_entry(method, bid, error)
            if method != "POST" and isinstance(path, str) and path.startswith("/"):
                entry["location"] = path  # made absolute by run_bulk
            parsed.append(entry)
            continue
        assert isinstance(method, str)
        assert isinstance(path, str)
        parsed.append(_Op(i, method, path, bid, version, raw.get("data")))
    return parsed


def _error_entry(method: str | None, bulk_id: str | None, error: ScimError) -> dict[str, Any]:
    entry: dict[str, Any] = {"status": str(error.status), "response": error.to_json()}
    if method:
        entry["method"] = method
    if bulk_id:
        entry["bulkId"] = bulk_id
    return entry


def _target(ctx: Ctx, op: _Op) -> tuple[str, str | None]:
    """(resource type, id or None) of an operation's path."""
    parts = op.path.strip("/").split("/")
    found = ctx.state.registry.resource_type_by_endpoint("/" + parts[0])
    if found is None or len(parts) > 2:
        raise InvalidValue(f"Bulk path {op.path!r} names no resource endpoint.")
    rid = parts[1] if len(parts) == 2 else None
    if (op.method == "POST") != (rid is None):
        raise InvalidValue(
            f"Bulk {op.method} path {op.path!r}: POST takes an endpoint, "
            "PUT/PATCH/DELETE an endpoint and id."
        )
    return found.name, rid


def _execute(ctx: Ctx, op: _Op, ids: dict[str, str]) -> dict[str, Any]:
    path = _resolve(op.path, ids)
    data = _resolve(op.data, ids)
    entry: dict[str, Any] = {"method": op.method}
    if op.bulk_id:
        entry["bulkId"] = op.bulk_id
    try:
        rtype, rid = _target(ctx, _Op(op.index, op.method, path, op.bulk_id, op.version, data))
        if op.method == "POST":
            out = ops.create(ctx, rtype, data, ["id"], None)
            assert out.body is not None
            assert op.bulk_id is not None
            ids[op.bulk_id] = str(out.body["id"])
        elif op.method == "PUT":
            assert rid is not None
            out = ops.replace(ctx, rtype, rid, data, op.version, None, ["id"], None)
        elif op.method == "PATCH":
            assert rid is not None
            out = ops.patch(ctx, rtype, rid, data, op.version, None, ["id"], None)
        else:
            assert rid is not None
            out = ops.delete(ctx, rtype, rid, op.version, None)
            out.location = f"{ctx.base}{ctx.state.registry.resource_type(rtype).endpoint}/{rid}"
    except ScimError as exc:
        entry.update(_error_entry(None, None, exc))
        if op.method != "POST" and isinstance(path, str):
            # Section 3.7.3: every result but a failed POST carries its location.
            entry["location"] = f"{ctx.base}{path}"
        return entry
    if out.location:
        entry["location"] = out.location
    if out.version is not None:
        entry["version"] = etag(out.version)
    entry["status"] = str(out.status)
    return entry


def _break_cycle(pending: list[_Op], known: set[str]) -> _Op | None:
    """A pending Group POST whose unknown references are all in `members`: strip them."""
    for op in pending:
        if op.method != "POST" or not isinstance(op.data, dict):
            continue
        members = op.data.get("members")
        if not isinstance(members, list):
            continue
        rest = {k: v for k, v in op.data.items() if k != "members"}
        rest_refs: set[str] = set()
        _refs(rest, rest_refs)
        if rest_refs - known:
            continue
        keep: list[Any] = []
        later: list[Any] = []
        for member in members:
            member_refs: set[str] = set()
            _refs(member, member_refs)
            (later if member_refs - known else keep).append(member)
        if not later:
            continue
        op.data = {**rest, "members": keep} if keep else rest
        op.deferred = later
        return op
    return None


def run_bulk(ctx: Ctx, body: dict[str, Any]) -> dict[str, Any]:
    """Process a BulkRequest; returns the BulkResponse (operations in request order)."""
    settings = ctx.state.settings
    parsed = _parse_ops(body, settings.bulk_max_operations)
    fail_on = body.get("failOnErrors")
    if fail_on is not None and (not isinstance(fail_on, int) or isinstance(fail_on, bool)):
        raise InvalidValue("failOnErrors must be an integer.")
    results: dict[int, dict[str, Any]] = {}
    errors = 0
    pending: list[_Op] = []
    for i, item in enumerate(parsed):
        if isinstance(item, dict):
            if "location" in item:
                item["location"] = f"{ctx.base}{item['location']}"
            results[i] = item
            errors += 1
        else:
            pending.append(item)
    posts = {op.bulk_id for op in pending if op.method == "POST" and op.bulk_id}
    ids: dict[str, str] = {}
    follow_ups: list[tuple[_Op, list[dict[str, Any]]]] = []

    def stop() -> bool:
        return fail_on is not None and fail_on > 0 and errors >= fail_on

    while pending and not stop():
        progressed = False
        for op in list(pending):
            if stop():
                break
            refs: set[str] = set()
            _refs([op.path, op.data], refs)
            missing = refs - ids.keys()
            if missing & posts:
                continue  # its references are created later in this request
            pending.remove(op)
            progressed = True
            if missing:
                results[op.index] = _error_entry(
                    op.method,
                    op.bulk_id,
                    Conflict(f"bulkId reference(s) {sorted(missing)} could not be resolved."),
                )
                errors += 1
                posts.discard(op.bulk_id or "")
                continue
            entry = _execute(ctx, op, ids)
            results[op.index] = entry
            if not entry["status"].startswith("2"):
                errors += 1
                posts.discard(op.bulk_id or "")
            elif op.deferred:
                follow_ups.append((op, op.deferred))
        if not progressed:
            broken = _break_cycle(pending, set(ids))
            if broken is None:
                for op in pending:
                    results[op.index] = _error_entry(
                        op.method,
                        op.bulk_id,
                        Conflict("Circular bulkId references that cannot be resolved."),
                    )
                    errors += 1
                pending = []
    for op, members in follow_ups:
        if op.bulk_id not in ids:
            continue
        try:
            out = ops.add_members(ctx, ids[op.bulk_id], _resolve(members, ids))
        except ScimError as exc:
            results[op.index] = _error_entry("POST", op.bulk_id, exc)
            continue
        if out.version is not None:
            results[op.index]["version"] = etag(out.version)
    return {
        "schemas": [BULK_RESPONSE],
        "Operations": [results[i] for i in sorted(results)],
    }


async def bulk(request: Request) -> Response:
    """POST /Bulk."""
    ctx = await scim_context(request)
    body = await read_json(request, ctx.state.settings.bulk_max_payload_size)
    return ScimResponse(await ctx.state.run(run_bulk, ctx, body))
