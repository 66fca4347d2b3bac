"""`create_app(settings)`: the Starlette application of the reference server.

An explicit routes list and one exception-handler map: every `ScimError` becomes its SCIM
Error body (RFC 7644 section 3.12), routing misses become SCIM 404/405, and anything
unexpected becomes a 500 SCIM error whose body carries no traceback (it is logged).
The lifespan creates the engine, upgrades the database with Alembic and seeds the
bootstrap organization.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference_server.endpoints import admin, bulk, discovery
from reference_server.endpoints import resources as res
from reference_server.endpoints.common import BASE_PATH, ScimResponse, ServerState
from reference_server.provisioning import service
from reference_server.provisioning.orgs import OrgCache
from reference_server.provisioning.policy import parse_policy, validator
from reference_server.scim.errors import (
    ERROR_SCHEMA,
    MethodNotAllowed,
    NotFound,
    ScimError,
)
from reference_server.scim.filter.parser import warm_up as warm_up_parser
from reference_server.scim.schemas import load_registry
from reference_server.settings import ServerSettings
from reference_server.storage.engine import create_engine, is_sqlite, upgrade
from reference_server.storage.repository import Repository
from reference_server.storage.tenants import TokenVerifier, ensure_token, hash_token

__all__ = ["ScimServer", "create_app", "routes"]

log = logging.getLogger("reference_server")


def _rt(fn: Any, resource_type: str) -> Any:
    return functools.partial(fn, resource_type=resource_type)


def _handler(fn: Any) -> Any:
    """`fn` as a Python function, which Starlette's Route takes for a request handler.

    Starlette tells handlers from ASGI apps with `inspect.isfunction`; in the compiled
    build (mypyc, `setup.py`) the endpoints are built-in functions, and a partial of one
    hides it too, so those get a thin Python wrapper.
    """
    if inspect.isfunction(fn):
        return fn

    async def handler(request: Request) -> Response:
        response: Response = await fn(request)
        return response

    return handler


def routes() -> list[Route]:
    """Every route, explicitly. `.search` comes before `{id}` so it is not taken for an id."""
    b = BASE_PATH
    every = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    table: list[tuple[str, Any, list[str]]] = []
    # Resource routes first: they carry nearly all traffic, and routes match in order.
    for name, endpoint in (("User", "/Users"), ("Group", "/Groups")):
        table += [
            (f"{b}{endpoint}", _rt(res.collection, name), ["GET", "POST"]),
            (f"{b}{endpoint}/.search", _rt(res.search, name), ["POST"]),
            (f"{b}{endpoint}/{{id}}", _rt(res.item, name), ["GET", "PUT", "PATCH", "DELETE"]),
        ]
    table += [
        (f"{b}/ServiceProviderConfig", discovery.service_provider_config, ["GET"]),
        (f"{b}/ResourceTypes", discovery.resource_types, ["GET"]),
        (f"{b}/ResourceTypes/{{id}}", discovery.resource_type_by_id, ["GET"]),
        (f"{b}/Schemas", discovery.schemas, ["GET"]),
        (f"{b}/Schemas/{{id:path}}", discovery.schema_by_id, ["GET"]),
        (f"{b}/.search", res.root_search, ["POST"]),
        (b, res.root_query, ["GET"]),
        (f"{b}/", res.root_query, ["GET"]),
        (f"{b}/Bulk", bulk.bulk, ["POST"]),
        (f"{b}/Me", res.me, every),
        (f"{b}/Me/{{rest:path}}", res.me, every),
    ]
    scim = [Route(path, _handler(fn), methods=methods) for path, fn, methods in table]
    return scim + admin.admin_routes()


def _error_response(exc: ScimError) -> Response:
    return ScimResponse(exc.to_json(), status_code=exc.status, headers=exc.headers())


async def _scim_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    return _error_response(exc)


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing misses as SCIM errors (RFC 7644 section 3.12)."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        return _error_response(
            MethodNotAllowed(f"{request.method} is not allowed on {request.url.path}.")
        )
    if exc.status_code == 404:
        return _error_response(NotFound(f"No SCIM endpoint at {request.url.path}."))
    body = {"schemas": [ERROR_SCHEMA], "status": str(exc.status_code), "detail": exc.detail}
    return ScimResponse(body, status_code=exc.status_code, headers=exc.headers)


_RESOURCE_PREFIX = f"{BASE_PATH}/"
_RESOURCE_ENDPOINTS = {"Users": "User", "Groups": "Group"}
_ITEM_METHODS = frozenset(("GET", "PUT", "PATCH", "DELETE"))


class ScimServer(Starlette):
    """Starlette, with a direct dispatch for the resource routes that carry nearly all
    traffic (`/Users`, `/Groups`, their `.search` and `{id}`).

    Those requests skip Starlette's middleware stack and router (a third of the CPU time
    of a GET by id): the route is read from the path, the endpoint is the same function,
    and a SCIM error or an unexpected exception is answered exactly as the full stack
    answers it. Everything else, and any method a route does not take, goes through
    Starlette, which keeps answering it as before (405, 404, discovery, admin).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = _direct_route(scope) if scope["type"] == "http" else None
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self
        try:
            # Endpoints return their response; nothing is sent until it is complete.
            response = await endpoint(Request(scope, receive))
        except ScimError as exc:
            response = _error_response(exc)
        except ClientDisconnect:
            return  # the client left before its body arrived: no one to answer
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            response = _internal_error()
        await response(scope, receive, send)


Endpoint = Callable[[Request], Awaitable[Response]]


def _direct_route(scope: Scope) -> Endpoint | None:
    """The endpoint of a resource route, with its path parameters set in the scope; None
    for anything Starlette should route (other paths and methods, a mounted root path)."""
    path: str = scope["path"]
    if scope.get("root_path") or not path.startswith(_RESOURCE_PREFIX):
        return None
    parts = path[len(_RESOURCE_PREFIX) :].rstrip("/").split("/")
    resource_type = _RESOURCE_ENDPOINTS.get(parts[0])
    if resource_type is None or len(parts) > 2:
        return None
    method = scope["method"]
    if len(parts) == 1:
        if method in ("GET", "POST"):
            return functools.partial(res.collection, resource_type=resource_type)
        return None
    rid = parts[1]
    if rid == ".search":
        if method == "POST":
            return functools.partial(res.search, resource_type=resource_type)
        return None
    if not rid or method not in _ITEM_METHODS:
        return None
    scope["path_params"] = {"id": rid}
    return functools.partial(res.item, resource_type=resource_type)


def _internal_error() -> Response:
    body = {
        "schemas": [ERROR_SCHEMA],
        "status": "500",
        "detail": "Internal server error; it has been logged.",
    }
    return ScimResponse(body, status_code=500)


class _CatchAll:
    """Last line: an unexpected exception is logged and answered 500 without a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            # `/Users/?filter=...` (Microsoft's Postman collection) is served, never
            # redirected: IdPs and the harness do not follow redirects.
            scope = {**scope, "path": path.rstrip("/") or "/"}
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception:
            log.exception("unexpected error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await _internal_error()(scope, receive, send)


def create_state(settings: ServerSettings) -> ServerState:
    """Engine, migrated schema, registry, repository and bootstrap organization (with the
    `--policy` table applied to it, when given)."""
    if settings.break_promise is not None and not settings.allow_break:
        raise ValueError("break_promise is test-only: it needs allow_break")
    policy = (
        parse_policy(settings.policy, allow_break=settings.allow_break)
        if settings.policy is not None
        else None
    )
    validator()  # the policy schema, read once (the admin API validates with it)
    engine = create_engine(settings.database_url)
    upgrade(engine)
    registry = load_registry()
    warm_up_parser()
    repo = Repository(engine, registry)
    state = ServerState(
        settings=settings,
        engine=engine,
        registry=registry,
        repo=repo,
        verifier=TokenVerifier(engine, settings.token_cache_ttl),
        orgs=OrgCache(repo.db, settings.break_promise, settings.allow_break),
        inline=is_sqlite(engine),
        admin_token_hash=hash_token(settings.admin_token) if settings.admin_token else None,
    )
    if settings.bootstrap:
        org, token = ensure_token(engine, settings.bootstrap_org_name, settings.bootstrap_token)
        state.bootstrap_tenant = org.id
        state.bootstrap_token = token
        if policy is not None:
            service.apply_policy_file(state, org.id, policy)
    return state


def create_app(settings: ServerSettings | None = None) -> ScimServer:
    """The ASGI app; its lifespan opens the database (so tests must run the lifespan)."""
    settings = settings if settings is not None else ServerSettings.from_env()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = create_state(settings)
        app.state.scim = state
        try:
            yield
        finally:
            state.repo.close()
            state.engine.dispose()

    app = ScimServer(
        routes=routes(),
        exception_handlers={ScimError: _scim_error, HTTPException: _http_error},
        lifespan=lifespan,
    )
    app.add_middleware(_CatchAll)
    return app
