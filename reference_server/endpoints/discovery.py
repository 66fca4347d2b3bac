"""Discovery endpoints (RFC 7644 section 4): ServiceProviderConfig, ResourceTypes, Schemas.

Content comes from the schema registry (the one source of truth) plus `meta.location`
built from the request's base URL. They need the bearer token like every SCIM endpoint;
a `filter` is refused with 403, as section 4 says ("SHOULD respond with HTTP status code
403 (Forbidden)").
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from reference_server.endpoints.common import ScimResponse, scim_context, server_state
from reference_server.endpoints.operations import LIST_RESPONSE
from reference_server.scim.errors import Forbidden, NotFound
from reference_server.settings import ServerSettings

__all__ = [
    "resource_type_by_id",
    "resource_types",
    "schema_by_id",
    "schemas",
    "service_provider_config",
    "service_provider_config_json",
]

SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


def service_provider_config_json(settings: ServerSettings) -> dict[str, Any]:
    """What the server supports, truthfully (RFC 7643 section 5)."""
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": "https://www.rfc-editor.org/rfc/rfc7644",
        "patch": {"supported": True},
        "bulk": {
            "supported": True,
            "maxOperations": settings.bulk_max_operations,
            "maxPayloadSize": settings.bulk_max_payload_size,
        },
        "filter": {"supported": True, "maxResults": settings.max_results},
        # password is writeOnly and can be set by PUT and PATCH.
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication with an organization's bearer token (RFC 6750).",
                "specUri": "https://www.rfc-editor.org/info/rfc6750",
                "primary": True,
            }
        ],
    }


def _no_filter(request: Request) -> None:
    if "filter" in request.query_params:
        raise Forbidden("Discovery endpoints do not support filtering (RFC 7644 section 4).")


def _listing(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "itemsPerPage": len(items),
        "startIndex": 1,
        "Resources": items,
    }


async def service_provider_config(request: Request) -> Response:
    ctx = await scim_context(request)
    _no_filter(request)
    body = service_provider_config_json(ctx.state.settings)
    body["meta"] = {
        "resourceType": "ServiceProviderConfig",
        "location": f"{ctx.base}/ServiceProviderConfig",
    }
    return ScimResponse(body)


def _schemas(base: str, request: Request) -> list[dict[str, Any]]:
    items = server_state(request).registry.schemas_json()
    for item in items:
        item["meta"]["location"] = f"{base}/Schemas/{item['id']}"
    return items


def _resource_types(base: str, request: Request) -> list[dict[str, Any]]:
    items = server_state(request).registry.resource_types_json()
    for item in items:
        item["meta"]["location"] = f"{base}/ResourceTypes/{item['id']}"
    return items


async def schemas(request: Request) -> Response:
    ctx = await scim_context(request)
    _no_filter(request)
    return ScimResponse(_listing(_schemas(ctx.base, request)))


async def schema_by_id(request: Request) -> Response:
    ctx = await scim_context(request)
    _no_filter(request)
    wanted = str(request.path_params["id"]).lower()
    for item in _schemas(ctx.base, request):
        if str(item["id"]).lower() == wanted:
            return ScimResponse(item)
    raise NotFound(f"No schema with id {request.path_params['id']!r}; GET /Schemas lists them.")


async def resource_types(request: Request) -> Response:
    ctx = await scim_context(request)
    _no_filter(request)
    return ScimResponse(_listing(_resource_types(ctx.base, request)))


async def resource_type_by_id(request: Request) -> Response:
    ctx = await scim_context(request)
    _no_filter(request)
    wanted = str(request.path_params["id"]).lower()
    for item in _resource_types(ctx.base, request):
        if str(item["id"]).lower() == wanted:
            return ScimResponse(item)
    raise NotFound(
        f"No resource type with id {request.path_params['id']!r}; GET /ResourceTypes lists them."
    )
