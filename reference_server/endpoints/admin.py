"""The admin API under /admin/v1 (JSON; versioned by its path): what the harness needs to
observe effects SCIM alone does not show (docs/ARCHITECTURE.md, "Admin API").

It has its own credential (`--admin-token`, SCIM_REF_ADMIN_TOKEN), kept only as a SHA-256
hash and compared in constant time; without one configured, every call answers 401.
Bodies are validated here and refused with 400 and a detail naming the field (never a
500); errors are SCIM error bodies. The rules live in `provisioning.service`.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reference_server.endpoints.common import ScimResponse, ServerState, read_json, server_state
from reference_server.provisioning import service
from reference_server.provisioning.orgs import OrgState
from reference_server.provisioning.policy import parse_policy
from reference_server.scim.errors import InvalidValue, NotFound, Unauthorized
from reference_server.storage.tenants import (
    hash_token,
    issue_token_with_id,
    list_organizations,
    list_tokens,
    regenerate_token,
    revoke_token,
)

__all__ = ["ADMIN_PATH", "admin_routes"]

ADMIN_PATH = "/admin/v1"
_BODY_LIMIT = 65536
_ROLES = ("member", "it_admin", "org_admin")
_METHODS = ("sso", "password")

Handler = Callable[[Request], Awaitable[Response]]


def _check_admin(request: Request) -> ServerState:
    state = server_state(request)
    expected = state.admin_token_hash
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if expected is None or scheme.lower() != "bearer" or not token:
        raise Unauthorized("The admin API needs 'Authorization: Bearer <admin token>'.")
    if not hmac.compare_digest(hash_token(token), expected):
        raise Unauthorized("The admin token is not valid.")
    return state


def _json(body: Any, status: int = 200) -> Response:
    if status == 204:
        return Response(status_code=204)
    return ScimResponse(body, status, media_type="application/json")


def _items(items: list[Any]) -> Response:
    return _json({"items": items})


# --- body validation ---------------------------------------------------------------------


def _text(body: dict[str, Any], key: str, *, required: bool = False, limit: int = 200) -> Any:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidValue(f"'{key}' must be a non-empty string of at most {limit} characters.")
    return value.strip()


def _email(value: Any, key: str = "email") -> str:
    if (
        not isinstance(value, str)
        or value.count("@") != 1
        or not all(value.split("@"))
        or len(value) > 320
        or any(c.isspace() for c in value)
    ):
        raise InvalidValue(f"'{key}' must be an email address such as ada@example.com.")
    return value.strip().lower()


def _bool(body: dict[str, Any], key: str) -> bool:
    value = body.get(key)
    if not isinstance(value, bool):
        raise InvalidValue(f"'{key}' must be true or false.")
    return value


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = body.get(key)
    if value not in choices:
        raise InvalidValue(f"'{key}' must be one of {', '.join(choices)}.")
    assert isinstance(value, str)
    return value


def _only(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidValue(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}.")


def _org_changes(state: ServerState, body: dict[str, Any]) -> dict[str, Any]:
    """POST/PATCH /organizations fields as `service.change_org` changes (400 otherwise)."""
    _only(body, ("name", "domains", "seat_cap", "policy", "admin", "sso", "default_team"))
    changes: dict[str, Any] = {}
    if "name" in body:
        changes["name"] = _text(body, "name", required=True)
    if "policy" in body:
        changes["policy"] = parse_policy(body["policy"], allow_break=state.settings.allow_break)
    # Column-kept policy keys go through the policy schema too (one validation).
    table: dict[str, Any] = {}
    if "domains" in body:
        table["registered_domains"] = body["domains"]
    for key in ("seat_cap", "default_team"):
        if key in body:
            table[key] = body[key]
    if table:
        checked = parse_policy(table, allow_break=False)
        for key in table:
            changes[key] = getattr(checked, key)
    admin = body.get("admin")
    if admin is not None:
        if not isinstance(admin, dict):
            raise InvalidValue("'admin' must be an object {first_name, last_name, email}.")
        _only(admin, ("first_name", "last_name", "email"))
        profile = {k: _text(admin, k) for k in ("first_name", "last_name") if k in admin}
        if admin.get("email") is not None:
            profile["email"] = _email(admin["email"], "admin.email")
        elif "email" in admin:
            profile["email"] = None
        changes["admin"] = profile  # the fields given; the others are kept
    sso = body.get("sso")
    if sso is not None:
        if not isinstance(sso, dict):
            raise InvalidValue("'sso' must be an object {configured, enforced}.")
        _only(sso, ("configured", "enforced"))
        if "configured" in sso:
            changes["sso_configured"] = _bool(sso, "configured")
        if "enforced" in sso:
            changes["sso_enforced"] = _bool(sso, "enforced")
    return changes


# --- handlers ------------------------------------------------------------------------------


async def list_orgs(request: Request) -> Response:
    state = _check_admin(request)
    orgs = await state.run(list_organizations, state.engine)
    listed = [{"id": o.id, "name": o.name, "created": o.created} for o in orgs]
    return _json({"items": listed, "organizations": listed})


async def create_org(request: Request) -> Response:
    state = _check_admin(request)
    body = await read_json(request, _BODY_LIMIT)
    name = _text(body, "name", required=True)
    changes = _org_changes(state, {k: v for k, v in body.items() if k != "name"})
    org = await state.run(service.create_org, state, name, changes)
    return _json(org.to_json(), 201)


def _org_id(request: Request) -> str:
    return str(request.path_params["org"])


async def organization(request: Request) -> Response:
    """GET, PATCH, DELETE /organizations/{org}."""
    state = _check_admin(request)
    org_id = _org_id(request)
    if request.method == "DELETE":
        await state.run(service.delete_org, state, org_id)
        return _json(None, 204)
    if request.method == "PATCH":
        changes = _org_changes(state, await read_json(request, _BODY_LIMIT))
        org = await state.run(service.change_org, state, org_id, changes)
    else:
        org = await state.run(service.get_org, state, org_id)
    return _json(org.to_json())


async def policy(request: Request) -> Response:
    """GET, PUT /organizations/{org}/policy: the [policy] table as JSON."""
    state = _check_admin(request)
    org_id = _org_id(request)
    if request.method == "PUT":
        parsed = parse_policy(
            await read_json(request, _BODY_LIMIT), allow_break=state.settings.allow_break
        )
        changes = {"policy": parsed}
        org = await state.run(service.change_org, state, org_id, changes)
    else:
        org = await state.run(service.get_org, state, org_id)
    return _json(org.policy.to_json())


async def scim_enable(request: Request) -> Response:
    state = _check_admin(request)
    org = await state.run(service.scim_switch, state, _org_id(request), True)
    return _json(org.to_json())


async def scim_disable(request: Request) -> Response:
    state = _check_admin(request)
    org = await state.run(service.scim_switch, state, _org_id(request), False)
    return _json(org.to_json())


async def tokens(request: Request) -> Response:
    """GET lists tokens without secrets; POST issues one, shown once."""
    state = _check_admin(request)
    org = await state.run(service.get_org, state, _org_id(request))
    if request.method == "GET":
        return _items(await state.run(list_tokens, state.engine, org.id))
    token_id, token = await state.run(issue_token_with_id, state.engine, org.id)
    return _json({"id": token_id, "token": token}, 201)


async def token_regenerate(request: Request) -> Response:
    """SPEC: "Regenerating it invalidates the previous token at once."."""
    state = _check_admin(request)
    org = await state.run(service.get_org, state, _org_id(request))
    token_id = str(request.path_params["token"])
    if org.breaks("token_rotation"):  # the old secret keeps working: a second token
        new_id, token = await state.run(issue_token_with_id, state.engine, org.id)
        return _json({"id": new_id, "token": token}, 201)
    found = await state.run(regenerate_token, state.engine, org.id, token_id)
    if found is None:
        raise NotFound(f"token {token_id!r} not found")
    old_hash, token = found
    state.verifier.forget(old_hash)
    return _json({"id": token_id, "token": token}, 201)


async def token_delete(request: Request) -> Response:
    state = _check_admin(request)
    org = await state.run(service.get_org, state, _org_id(request))
    token_id = str(request.path_params["token"])
    old_hash = await state.run(revoke_token, state.engine, org.id, token_id)
    if old_hash is None:
        raise NotFound(f"token {token_id!r} not found")
    state.verifier.forget(old_hash)
    return _json(None, 204)


def _directory(org: OrgState) -> Response:
    return _json({"status": org.directory, "domains": list(org.directory_domains)})


async def directory(request: Request) -> Response:
    """PUT {domains} creates or updates the connection; DELETE removes it."""
    state = _check_admin(request)
    org_id = _org_id(request)
    if request.method == "DELETE":
        return _directory(await state.run(service.directory_delete, state, org_id))
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("domains",))
    domains = parse_policy(
        {"registered_domains": body.get("domains", [])}, allow_break=False
    ).registered_domains
    return _directory(await state.run(service.directory_put, state, org_id, list(domains)))


async def directory_activate(request: Request) -> Response:
    state = _check_admin(request)
    return _directory(await state.run(service.directory_activate, state, _org_id(request)))


async def directory_deactivate(request: Request) -> Response:
    state = _check_admin(request)
    return _directory(await state.run(service.directory_deactivate, state, _org_id(request)))


async def members(request: Request) -> Response:
    """GET ?email= lists members; POST {email, role} adds one by hand."""
    state = _check_admin(request)
    org_id = _org_id(request)
    if request.method == "GET":
        email = request.query_params.get("email")
        found = await state.run(service.members, state, org_id, email.lower() if email else None)
        return _items(found)
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("email", "role"))
    email = _email(body.get("email"))
    role = _choice(body, "role", _ROLES) if "role" in body else "member"
    return _json(await state.run(service.add_member, state, org_id, email, role), 201)


async def member(request: Request) -> Response:
    """PATCH {role} changes a role (always allowed); DELETE removes by hand."""
    state = _check_admin(request)
    org_id = _org_id(request)
    account_id = str(request.path_params["account"])
    if request.method == "DELETE":
        await state.run(service.remove_member, state, org_id, account_id)
        return _json(None, 204)
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("role",))
    role = _choice(body, "role", _ROLES)
    return _json(await state.run(service.set_role, state, org_id, account_id, role))


async def invitations(request: Request) -> Response:
    state = _check_admin(request)
    org_id = _org_id(request)
    if request.method == "GET":
        found = await state.run(service.invitations, state, org_id)
        return _items([i.to_json() for i in found])
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("email",))
    email = _email(body.get("email"))
    return _json((await state.run(service.invite, state, org_id, email)).to_json(), 201)


async def invitation(request: Request) -> Response:
    state = _check_admin(request)
    invitation_id = str(request.path_params["invitation"])
    await state.run(service.revoke_invitation, state, _org_id(request), invitation_id)
    return _json(None, 204)


async def teams(request: Request) -> Response:
    state = _check_admin(request)
    org_id = _org_id(request)
    if request.method == "GET":
        return _items(await state.run(service.teams, state, org_id))
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("display_name",))
    name = _text(body, "display_name", required=True)
    return _json(await state.run(service.create_team, state, org_id, name), 201)


async def seats(request: Request) -> Response:
    state = _check_admin(request)
    return _json((await state.run(service.seats, state, _org_id(request))).to_json())


async def reconcile(request: Request) -> Response:
    state = _check_admin(request)
    return _json((await state.run(service.reconcile, state, _org_id(request))).to_json())


async def audit(request: Request) -> Response:
    state = _check_admin(request)
    params = request.query_params
    filters = {k: params[k] for k in ("action", "outcome", "resource_id", "since") if params.get(k)}
    return _items(await state.run(service.audit_events, state, _org_id(request), filters))


async def faults(request: Request) -> Response:
    state = _check_admin(request)
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("transient_failures",))
    count = body.get("transient_failures")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
        raise InvalidValue("'transient_failures' must be an integer from 0 to 1000.")
    left = await state.run(service.set_faults, state, _org_id(request), count)
    return _json({"transient_failures": left})


async def accounts(request: Request) -> Response:
    state = _check_admin(request)
    email = request.query_params.get("email")
    return _items(await state.run(service.accounts, state, email.lower() if email else None))


async def login(request: Request) -> Response:
    state = _check_admin(request)
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("email", "organization", "method"))
    email = _email(body.get("email"))
    org_id = _text(body, "organization", required=True, limit=64)
    method = _choice(body, "method", _METHODS) if "method" in body else "sso"
    return _json(await state.run(service.login, state, email, org_id, method))


async def signup(request: Request) -> Response:
    state = _check_admin(request)
    body = await read_json(request, _BODY_LIMIT)
    _only(body, ("email",))
    email = _email(body.get("email"))
    return _json(await state.run(service.signup, state, email), 201)


def admin_routes() -> list[Route]:
    """Every admin route, explicitly (the table in README and ARCHITECTURE.md)."""
    a = ADMIN_PATH
    o = f"{a}/organizations/{{org}}"
    table: list[tuple[str, Handler, list[str]]] = [
        (f"{a}/organizations", list_orgs, ["GET"]),
        (f"{a}/organizations", create_org, ["POST"]),
        (o, organization, ["GET", "PATCH", "DELETE"]),
        (f"{o}/policy", policy, ["GET", "PUT"]),
        (f"{o}/scim/enable", scim_enable, ["POST"]),
        (f"{o}/scim/disable", scim_disable, ["POST"]),
        (f"{o}/tokens", tokens, ["GET", "POST"]),
        (f"{o}/tokens/{{token}}/regenerate", token_regenerate, ["POST"]),
        (f"{o}/tokens/{{token}}", token_delete, ["DELETE"]),
        (f"{o}/directory", directory, ["PUT", "DELETE"]),
        (f"{o}/directory/activate", directory_activate, ["POST"]),
        (f"{o}/directory/deactivate", directory_deactivate, ["POST"]),
        (f"{o}/members", members, ["GET", "POST"]),
        (f"{o}/members/{{account}}", member, ["PATCH", "DELETE"]),
        (f"{o}/invitations", invitations, ["GET", "POST"]),
        (f"{o}/invitations/{{invitation}}", invitation, ["DELETE"]),
        (f"{o}/teams", teams, ["GET", "POST"]),
        (f"{o}/seats", seats, ["GET"]),
        (f"{o}/billing/reconcile", reconcile, ["POST"]),
        (f"{o}/audit", audit, ["GET"]),
        (f"{o}/faults", faults, ["POST"]),
        (f"{a}/accounts", accounts, ["GET"]),
        (f"{a}/login", login, ["POST"]),
        (f"{a}/signup", signup, ["POST"]),
    ]
    return [Route(path, fn, methods=methods) for path, fn, methods in table]
