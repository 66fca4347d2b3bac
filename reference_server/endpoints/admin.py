"""Minimal admin API under /admin/v1: create organizations and issue their tokens.

It has its own credential (`--admin-token`, SCIM_REF_ADMIN_TOKEN), kept only as a SHA-256
hash and compared in constant time; without one configured, every call answers 401.
The full admin side comes with the policies work.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

from reference_server.endpoints.common import ScimResponse, read_json, server_state
from reference_server.scim.errors import InvalidValue, NotFound, Unauthorized
from reference_server.storage.tenants import (
    create_organization,
    find_organization,
    hash_token,
    issue_token,
    list_organizations,
)

__all__ = ["create_org", "create_token", "list_orgs"]


def _check_admin(request: Request) -> None:
    state = server_state(request)
    expected = state.admin_token_hash
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if expected is None or scheme.lower() != "bearer" or not token:
        raise Unauthorized("The admin API needs 'Authorization: Bearer <admin token>'.")
    if not hmac.compare_digest(hash_token(token), expected):
        raise Unauthorized("The admin token is not valid.")


async def list_orgs(request: Request) -> Response:
    _check_admin(request)
    state = server_state(request)
    orgs = await state.run(list_organizations, state.engine)
    return ScimResponse(
        {"organizations": [{"id": o.id, "name": o.name, "created": o.created} for o in orgs]},
        media_type="application/json",
    )


async def create_org(request: Request) -> Response:
    _check_admin(request)
    state = server_state(request)
    body = await read_json(request, 65536)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise InvalidValue("'name' is required: a non-empty string of at most 200 characters.")
    org = await state.run(create_organization, state.engine, name.strip())
    return ScimResponse({"id": org.id, "name": org.name}, 201, media_type="application/json")


async def create_token(request: Request) -> Response:
    """Issue a new bearer token; it is shown once and stored only as a hash."""
    _check_admin(request)
    state = server_state(request)
    org_id = str(request.path_params["id"])
    org = await state.run(find_organization, state.engine, org_id)
    if org is None:
        raise NotFound(f"Organization {org_id!r} not found.")
    token = await state.run(issue_token, state.engine, org.id)
    return ScimResponse({"token": token}, 201, media_type="application/json")
