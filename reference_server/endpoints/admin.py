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
from dataclasses import dataclass
from typing import Any, TypeVar

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
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Admin:
    """One authenticated admin request: the scaffold every handler shares (body, service
    calls, the organization in the path), so each handler states only its own fields."""

    request: Request
    state: ServerState

    @property
    def org_id(self) -> str:
        return str(self.request.path_params["org"])

    async def body(self, *allowed: str) -> dict[str, Any]:
        """The body as a JSON object (415, 413 or 400 otherwise); with `allowed`, any
        other field is a 400 naming it."""
        body = await read_json(self.request, _BODY_LIMIT)
        if allowed:
            _only(body, allowed)
        return body

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(state, *args)` through `state.run`: inline on SQLite, thread pool on PostgreSQL."""
        return await self.state.run(fn, self.state, *args)

    async def in_org(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(state, org_id, *args)` for the organization in the path."""
        return await self.run(fn, self.org_id, *args)


def _admin(request: Request) -> _Admin:
    state = server_state(request)
    expected = state.admin_token_hash
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if expected is None or scheme.lower() != "bearer" or not token:
        raise Unauthorized("The admin API needs 'Authorization: Bearer <admin token>'.")
    if not hmac.compare_digest(hash_token(token), expected):
        raise Unauthorized("The admin token is not valid.")
    return _Admin(request, state)


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
    state = _admin(request).state
    orgs = await state.run(list_organizations, state.engine)
    listed = [{"id": o.id, "name": o.name, "created": o.created} for o in orgs]
    return _json({"items": listed, "organizations": listed})


async def create_org(request: Request) -> Response:
    admin = _admin(request)
    body = await admin.body()
    name = _text(body, "name", required=True)
    changes = _org_changes(admin.state, {k: v for k, v in body.items() if k != "name"})
    return _json((await admin.run(service.create_org, name, changes)).to_json(), 201)


async def organization(request: Request) -> Response:
    """GET, PATCH, DELETE /organizations/{org}."""
    admin = _admin(request)
    if request.method == "DELETE":
        await admin.in_org(service.delete_org)
        return _json(None, 204)
    if request.method == "PATCH":
        changes = _org_changes(admin.state, await admin.body())
        org = await admin.in_org(service.change_org, changes)
    else:
        org = await admin.in_org(service.get_org)
    return _json(org.to_json())


async def policy(request: Request) -> Response:
    """GET, PUT /organizations/{org}/policy: the [policy] table as JSON."""
    admin = _admin(request)
    if request.method == "PUT":
        parsed = parse_policy(await admin.body(), allow_break=admin.state.settings.allow_break)
        org = await admin.in_org(service.change_org, {"policy": parsed})
    else:
        org = await admin.in_org(service.get_org)
    return _json(org.policy.to_json())


async def scim_enable(request: Request) -> Response:
    return _json((await _admin(request).in_org(service.scim_switch, True)).to_json())


async def scim_disable(request: Request) -> Response:
    return _json((await _admin(request).in_org(service.scim_switch, False)).to_json())


async def _tokens_of(request: Request) -> tuple[ServerState, OrgState]:
    """Authenticate, then look up the organization in the path, so an unknown one is a 404
    before any token is read or written."""
    admin = _admin(request)
    return admin.state, await admin.in_org(service.get_org)


def _issued(token_id: str, token: str) -> Response:
    """The new secret, answered this once: storage keeps only its hash."""
    return _json({"id": token_id, "token": token}, 201)


def _known(found: T | None, token_id: str) -> T:
    """What storage found for the token in the path; 404 when no live token has that id."""
    if found is None:
        raise NotFound(f"token {token_id!r} not found")
    return found


async def tokens(request: Request) -> Response:
    """GET lists tokens without secrets; POST issues one, shown once."""
    state, org = await _tokens_of(request)
    if request.method == "GET":
        return _items(await state.run(list_tokens, state.engine, org.id))
    return _issued(*await state.run(issue_token_with_id, state.engine, org.id))


async def token_regenerate(request: Request) -> Response:
    """SPEC: "Regenerating it invalidates the previous token at once."."""
    state, org = await _tokens_of(request)
    token_id = str(request.path_params["token"])
    if org.breaks("token_rotation"):  # the old secret keeps working: a second token
        return _issued(*await state.run(issue_token_with_id, state.engine, org.id))
    found = await state.run(regenerate_token, state.engine, org.id, token_id)
    old_hash, token = _known(found, token_id)
    state.verifier.forget(old_hash)
    return _issued(token_id, token)


async def token_delete(request: Request) -> Response:
    state, org = await _tokens_of(request)
    token_id = str(request.path_params["token"])
    old_hash = await state.run(revoke_token, state.engine, org.id, token_id)
    state.verifier.forget(_known(old_hash, token_id))
    return _json(None, 204)


def _directory(org: OrgState) -> Response:
    return _json({"status": org.directory, "domains": list(org.directory_domains)})


async def directory(request: Request) -> Response:
    """PUT {domains} creates or updates the connection; DELETE removes it."""
    admin = _admin(request)
    if request.method == "DELETE":
        return _directory(await admin.in_org(service.directory_delete))
    body = await admin.body("domains")
    domains = parse_policy(
        {"registered_domains": body.get("domains", [])}, allow_break=False
    ).registered_domains
    return _directory(await admin.in_org(service.directory_put, list(domains)))


async def directory_activate(request: Request) -> Response:
    return _directory(await _admin(request).in_org(service.directory_activate))


async def directory_deactivate(request: Request) -> Response:
    return _directory(await _admin(request).in_org(service.directory_deactivate))


def _email_filter(request: Request) -> str | None:
    """`?email=`, lower-cased as `_email` stores addresses."""
    email = request.query_params.get("email")
    return email.lower() if email else None


async def members(request: Request) -> Response:
    """GET ?email= lists members; POST {email, role} adds one by hand."""
    admin = _admin(request)
    if request.method == "GET":
        return _items(await admin.in_org(service.members, _email_filter(request)))
    body = await admin.body("email", "role")
    email = _email(body.get("email"))
    role = _choice(body, "role", _ROLES) if "role" in body else "member"
    return _json(await admin.in_org(service.add_member, email, role), 201)


async def member(request: Request) -> Response:
    """PATCH {role} changes a role (always allowed); DELETE removes by hand."""
    admin = _admin(request)
    account_id = str(request.path_params["account"])
    if request.method == "DELETE":
        await admin.in_org(service.remove_member, account_id)
        return _json(None, 204)
    role = _choice(await admin.body("role"), "role", _ROLES)
    return _json(await admin.in_org(service.set_role, account_id, role))


async def invitations(request: Request) -> Response:
    admin = _admin(request)
    if request.method == "GET":
        return _items([i.to_json() for i in await admin.in_org(service.invitations)])
    email = _email((await admin.body("email")).get("email"))
    return _json((await admin.in_org(service.invite, email)).to_json(), 201)


async def invitation(request: Request) -> Response:
    admin = _admin(request)
    await admin.in_org(service.revoke_invitation, str(request.path_params["invitation"]))
    return _json(None, 204)


async def teams(request: Request) -> Response:
    admin = _admin(request)
    if request.method == "GET":
        return _items(await admin.in_org(service.teams))
    name = _text(await admin.body("display_name"), "display_name", required=True)
    return _json(await admin.in_org(service.create_team, name), 201)


async def seats(request: Request) -> Response:
    return _json((await _admin(request).in_org(service.seats)).to_json())


async def reconcile(request: Request) -> Response:
    return _json((await _admin(request).in_org(service.reconcile)).to_json())


async def audit(request: Request) -> Response:
    admin = _admin(request)
    params = request.query_params
    filters = {k: params[k] for k in ("action", "outcome", "resource_id", "since") if params.get(k)}
    return _items(await admin.in_org(service.audit_events, filters))


async def faults(request: Request) -> Response:
    admin = _admin(request)
    count = (await admin.body("transient_failures")).get("transient_failures")
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 1000:
        raise InvalidValue("'transient_failures' must be an integer from 0 to 1000.")
    return _json({"transient_failures": await admin.in_org(service.set_faults, count)})


async def accounts(request: Request) -> Response:
    return _items(await _admin(request).run(service.accounts, _email_filter(request)))


async def login(request: Request) -> Response:
    admin = _admin(request)
    body = await admin.body("email", "organization", "method")
    email = _email(body.get("email"))
    org_id = _text(body, "organization", required=True, limit=64)
    method = _choice(body, "method", _METHODS) if "method" in body else "sso"
    return _json(await admin.run(service.login, email, org_id, method))


async def signup(request: Request) -> Response:
    admin = _admin(request)
    email = _email((await admin.body("email")).get("email"))
    return _json(await admin.run(service.signup, email), 201)


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
