"""Users and Groups over HTTP (RFC 7644 section 3): CRUD, GET query, POST .search, /Me.

The endpoints only translate HTTP to `operations` calls and back; unknown query
parameters are ignored, so a base URL carrying Entra's `?aadOptscim062020` works.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reference_server.endpoints import operations as ops
from reference_server.endpoints.common import (
    ScimResponse,
    etag,
    header,
    query_dict,
    read_json,
    scim_context,
    split_list,
)
from reference_server.scim.errors import InvalidValue, NotImplementedFeature

__all__ = [
    "collection",
    "item",
    "me",
    "parse_query",
    "respond",
    "root_query",
    "root_search",
    "search",
]

SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


def respond(out: ops.Outcome) -> Response:
    """HTTP response of an operation outcome: ETag on every resource, Location on 201."""
    headers: dict[str, str] = {}
    if out.version is not None:
        headers["ETag"] = etag(out.version)
    if out.status == 201 and out.location:
        headers["Location"] = out.location
    if out.body is None:
        return Response(status_code=out.status, headers=headers)
    return ScimResponse(out.body, status_code=out.status, headers=headers)


def _int(name: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InvalidValue(f"'{name}' must be an integer.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit() and len(text) < 19:
            return int(text)
    raise InvalidValue(f"'{name}' must be an integer, got {value!r}.")


def _names(name: str, value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return split_list(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [v.strip() for v in value if v.strip()] or None
    raise InvalidValue(f"'{name}' must be a list of attribute names.")


def _text(name: str, value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidValue(f"'{name}' must be a string.")


def parse_query(source: dict[str, Any]) -> ops.Query:
    """Query parameters (section 3.4.2) from a query string or a SearchRequest body."""
    get = source.get
    order = _text("sortOrder", get("sortOrder"))
    if order is not None and order.strip().lower() not in ("ascending", "descending", ""):
        raise InvalidValue("sortOrder must be 'ascending' or 'descending'.")
    start = _int("startIndex", get("startIndex"))
    return ops.Query(
        filter=_text("filter", get("filter")),
        sort_by=_text("sortBy", get("sortBy")) or None,
        descending=order is not None and order.strip().lower() == "descending",
        start_index=1 if start is None else start,
        count=_int("count", get("count")),
        attributes=_names("attributes", get("attributes")),
        excluded=_names("excludedAttributes", get("excludedAttributes")),
    )


def _projection(request: Request) -> tuple[list[str] | None, list[str] | None]:
    if not request.scope.get("query_string"):  # the usual case: no parsing at all
        return None, None
    params = query_dict(request.scope)
    return split_list(params.get("attributes")), split_list(params.get("excludedAttributes"))


async def _search_body(request: Request) -> ops.Query:
    state = request.app.state.scim
    body = await read_json(request, state.settings.bulk_max_payload_size)
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH_REQUEST not in schemas):
        raise InvalidValue(f"A search request's 'schemas' must contain {SEARCH_REQUEST}.")
    return parse_query(body)


async def collection(request: Request, resource_type: str) -> Response:
    """GET /Users (query) and POST /Users (create)."""
    ctx = await scim_context(request)
    state = ctx.state
    if request.method == "POST":
        body = await read_json(request, state.settings.bulk_max_payload_size)
        attributes, excluded = _projection(request)
        out = await state.run(ops.create, ctx, resource_type, body, attributes, excluded)
        return respond(out)
    query = parse_query(query_dict(request.scope))
    return ScimResponse(await state.run(ops.search, ctx, [resource_type], query))


async def search(request: Request, resource_type: str) -> Response:
    """POST /Users/.search (section 3.4.3)."""
    ctx = await scim_context(request)
    query = await _search_body(request)
    return ScimResponse(await ctx.state.run(ops.search, ctx, [resource_type], query))


async def root_search(request: Request) -> Response:
    """POST /.search at the base URL: every resource type (section 3.4.3)."""
    ctx = await scim_context(request)
    query = await _search_body(request)
    types = list(ctx.state.registry.type_names())
    return ScimResponse(await ctx.state.run(ops.search, ctx, types, query))


async def root_query(request: Request) -> Response:
    """GET on the base URL: a query across every resource type (section 3.4.2.1)."""
    ctx = await scim_context(request)
    query = parse_query(query_dict(request.scope))
    types = list(ctx.state.registry.type_names())
    return ScimResponse(await ctx.state.run(ops.search, ctx, types, query))


async def item(request: Request, resource_type: str) -> Response:
    """GET, PUT, PATCH, DELETE on /Users/{id} and /Groups/{id}."""
    ctx = await scim_context(request)
    state = ctx.state
    rid = str(request.path_params["id"])
    if_match = header(request.scope, b"if-match")
    if_none = header(request.scope, b"if-none-match")
    attributes, excluded = _projection(request)
    method = request.method
    if method == "GET":
        out = await state.run(ops.read, ctx, resource_type, rid, attributes, excluded, if_none)
    elif method == "DELETE":
        out = await state.run(ops.delete, ctx, resource_type, rid, if_match, if_none)
    else:
        body = await read_json(request, state.settings.bulk_max_payload_size)
        fn = ops.replace if method == "PUT" else ops.patch
        out = await state.run(
            fn, ctx, resource_type, rid, body, if_match, if_none, attributes, excluded
        )
    return respond(out)


async def me(request: Request) -> Response:
    """/Me (RFC 7644 section 3.11): not supported, 501.

    A token here belongs to an organization, not to a User, so there is no authenticated
    subject to alias; the section says a provider that does not support /Me "SHOULD
    respond with HTTP status 501 (Not Implemented)".
    """
    await scim_context(request)
    raise NotImplementedFeature(
        "/Me is not supported: bearer tokens belong to an organization, not to a User."
    )
