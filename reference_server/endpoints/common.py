"""Request plumbing shared by every SCIM endpoint: auth, bodies, responses, ETags.

RFC 7644 section 3.1 (media type), section 2 (bearer authentication), section 3.12
(error bodies), section 3.14 (versions). Database calls run inline on SQLite (each call is
microseconds and SQLite serialises writers anyway) and in the thread pool on PostgreSQL,
where a network round trip must not stall the event loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, unquote_to_bytes

import orjson
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Scope

from reference_server.provisioning.orgs import PLAIN, OrgCache, OrgState
from reference_server.scim.errors import (
    Forbidden,
    InvalidSyntax,
    PayloadTooLarge,
    PreconditionFailed,
    Unauthorized,
    UnsupportedMediaType,
)
from reference_server.scim.schemas import SchemaRegistry
from reference_server.settings import ServerSettings
from reference_server.storage.repository import Repository
from reference_server.storage.tenants import TokenVerifier

__all__ = [
    "BASE_PATH",
    "SCIM_MEDIA_TYPE",
    "Ctx",
    "ScimResponse",
    "ServerState",
    "check_write_preconditions",
    "etag",
    "header",
    "if_match_ok",
    "if_none_match_hit",
    "query_dict",
    "read_json",
    "scim_context",
    "server_state",
    "split_list",
]

BASE_PATH = "/scim/v2"
SCIM_MEDIA_TYPE = "application/scim+json"
_JSON_TYPES = ("application/scim+json", "application/json")

T = TypeVar("T")


class ScimResponse(Response):
    """A JSON body encoded with orjson, served as application/scim+json."""

    media_type = SCIM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return b"" if content is None else orjson.dumps(content)


@dataclass(slots=True)
class ServerState:
    """Everything built once at start and shared by requests (no per-request rebuilding)."""

    settings: ServerSettings
    engine: Engine
    registry: SchemaRegistry
    repo: Repository
    verifier: TokenVerifier
    orgs: OrgCache  # each organization's provisioning settings, loaded once
    inline: bool  # run database calls on the event loop (SQLite)
    admin_token_hash: str | None = None
    bootstrap_token: str | None = None
    bootstrap_tenant: str | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        if self.inline:
            return fn(*args)
        return await run_in_threadpool(fn, *args)


@dataclass(frozen=True, slots=True)
class Ctx:
    """One authenticated SCIM request: the tenant the token belongs to and the base URL,
    the token's id (the audit log's actor) and the organization's provisioning settings."""

    state: ServerState
    tenant: str
    base: str
    actor: str = ""
    org: OrgState = PLAIN


def server_state(request: Request) -> ServerState:
    state: ServerState = request.app.state.scim
    return state


def query_dict(scope: Scope) -> dict[str, str]:
    """The query string as a dict, last value winning, decoded as Starlette's
    `request.query_params` decodes it (`+` is a space, %-escapes are UTF-8) but without
    building a multi-dict: a SCIM lookup sends one parameter and reads seven."""
    raw: bytes = scope.get("query_string") or b""
    out: dict[str, str] = {}
    for part in raw.decode("latin-1").split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in key or "+" in key:
            key = _unquote_plus(key)
        if "%" in value or "+" in value:
            value = _unquote_plus(value)
        out[key] = value
    return out


def _unquote_plus(text: str) -> str:
    """`urllib.parse.unquote_plus`, with the common all-ASCII case decoded in one step
    (what `unquote` does for each ASCII run; a filter has one run, so this is the same
    result at half the cost)."""
    text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii():
        return unquote_to_bytes(text).decode("utf-8", "replace")
    return unquote(text)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a request header, read from the ASGI scope (`name` lower-case):
    cheaper than building `request.headers` for the one or two a request needs."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def _base_url(scope: Scope, host: bytes | None) -> str:
    """Read from the ASGI scope directly: building `request.url` costs more than a lookup."""
    if host is None:
        server = scope.get("server") or ("localhost", None)
        authority = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    else:
        authority = host.decode("latin-1")
    return f"{scope.get('scheme', 'http')}://{authority}{scope.get('root_path', '')}{BASE_PATH}"


async def scim_context(request: Request) -> Ctx:
    """Authenticate the bearer token (RFC 7644 section 2); 401 when missing or unknown."""
    state = server_state(request)
    scope = request.scope
    auth = host = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            auth = value
        elif key == b"host":
            host = value
    scheme, _, token = (auth or b"").decode("latin-1").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send the organization's token as 'Authorization: Bearer <token>'.")
    found = state.verifier.cached(token)
    if found is None:
        found = await state.run(state.verifier.tenant_for, token)
    if found is None:
        raise Unauthorized("The bearer token is not valid (unknown or revoked).")
    tenant, actor = found
    org = state.orgs.cached(tenant)
    if org is None:
        org = await state.run(state.orgs.load, tenant) or PLAIN
    # SPEC: "SCIM is configured per organization by an org admin": off means refused.
    if not org.scim_enabled and not org.breaks("scim_switch"):
        raise Forbidden(
            "SCIM provisioning is disabled for this organization: an admin can enable it."
        )
    return Ctx(state, tenant, _base_url(scope, host), actor, org)


async def read_json(request: Request, limit: int) -> dict[str, Any]:
    """The request body as a JSON object; 415, 413 or 400 invalidSyntax otherwise.

    RFC 7644 section 3.1: application/scim+json, and application/json is accepted too.
    A missing Content-Type is tolerated (the body must still be JSON).
    """
    scope = request.scope
    ctype = header(scope, b"content-type")
    if ctype is not None:
        media = ctype.split(";", 1)[0].strip().lower()
        if media not in _JSON_TYPES:
            raise UnsupportedMediaType(
                f"Content-Type {media!r} is not supported: send application/scim+json."
            )
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The request body exceeds the maximum of {limit} bytes.")
    raw = await _body(request, limit)
    if not raw.strip():
        raise InvalidSyntax("The request body is empty: a JSON object is required.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidSyntax(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(body, dict):
        raise InvalidSyntax("The request body must be a JSON object.")
    return body


async def _body(request: Request, limit: int) -> bytes:
    """The request body from the ASGI messages (one message for nearly every request:
    cheaper than `request.stream()`'s generator), at most `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The request body exceeds the maximum of {limit} bytes.")
        if not message.get("more_body", False):
            return chunk if not chunks else b"".join((*chunks, chunk))
        chunks.append(chunk)


def split_list(value: str | None) -> list[str] | None:
    """`attributes=a,b` -> ["a", "b"] (RFC 7644 section 3.4.2.5); None when absent/empty."""
    if not value:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or None


def etag(version: int) -> str:
    """The weak entity tag of a resource version (RFC 7644 section 3.14)."""
    return f'W/"{version}"'


def _tags(header: str) -> list[str]:
    # Weak comparison (RFC 7232 section 2.3.2): SCIM versions are weak tags.
    return [t.strip().removeprefix("W/").removeprefix("w/") for t in header.split(",")]


def if_match_ok(header: str | None, version: int) -> bool:
    """False when an If-Match precondition names no current version."""
    if header is None or not header.strip():
        return True
    tags = _tags(header)
    return "*" in tags or f'"{version}"' in tags


def if_none_match_hit(header: str | None, version: int) -> bool:
    """True when If-None-Match names the current version (or `*`)."""
    if header is None or not header.strip():
        return False
    tags = _tags(header)
    return "*" in tags or f'"{version}"' in tags


def check_write_preconditions(
    if_match: str | None, if_none_match: str | None, version: int
) -> None:
    """412 for a stale If-Match, or an If-None-Match that matches (RFC 7232 section 3)."""
    if not if_match_ok(if_match, version):
        raise PreconditionFailed(
            f"If-Match names a stale version: the resource is now at {etag(version)}. "
            "Read it again and retry with the current ETag."
        )
    if if_none_match_hit(if_none_match, version):
        raise PreconditionFailed(f"If-None-Match matches the current version {etag(version)}.")
