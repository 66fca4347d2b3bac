"""A tiny in-memory SCIM service provider for testing the plugin's mechanics.

Not the reference server: just enough of RFC 7644 (discovery, Users/Groups CRUD with
bearer auth) to drive the plugin end to end without a database. `faults` switch on
departures for hostile-server tests.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["FakeScim", "scim_json"]

SCIM = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


def scim_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type=SCIM, headers=headers)


def error(status: int, detail: str, scim_type: str | None = None) -> Response:
    body: dict[str, Any] = {"schemas": [ERROR], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if status == 401 else None
    return scim_json(body, status, headers)


def _attr(name: str, type_: str = "string", **kw: Any) -> dict[str, Any]:
    return {
        "name": name,
        "type": type_,
        "multiValued": kw.get("multi", False),
        "required": kw.get("required", False),
        "caseExact": False,
        "mutability": kw.get("mutability", "readWrite"),
        "returned": kw.get("returned", "default"),
        "uniqueness": kw.get("uniqueness", "none"),
        "description": name,
        **({"subAttributes": kw["subs"]} if "subs" in kw else {}),
    }


SCHEMAS = [
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER,
        "name": "User",
        "description": "User Account",
        "attributes": [
            _attr("userName", required=True, uniqueness="server"),
            _attr(
                "name",
                "complex",
                subs=[_attr("givenName"), _attr("familyName"), _attr("formatted")],
            ),
            _attr("displayName"),
            _attr("title"),
            _attr("active", "boolean"),
            _attr("password", mutability="writeOnly", returned="never"),
            _attr(
                "emails",
                "complex",
                multi=True,
                subs=[_attr("value"), _attr("type"), _attr("primary", "boolean")],
            ),
        ],
        "meta": {"resourceType": "Schema", "location": f"/Schemas/{USER}"},
    },
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP,
        "name": "Group",
        "description": "Group",
        "attributes": [
            _attr("displayName", required=True),
            _attr("members", "complex", multi=True, subs=[_attr("value"), _attr("display")]),
        ],
        "meta": {"resourceType": "Schema", "location": f"/Schemas/{GROUP}"},
    },
]

RESOURCE_TYPES = [
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "User Account",
        "schema": USER,
        "meta": {"resourceType": "ResourceType", "location": "/ResourceTypes/User"},
    },
    {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "Group",
        "schema": GROUP,
        "meta": {"resourceType": "ResourceType", "location": "/ResourceTypes/Group"},
    },
]

SPC = {
    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
    "documentationUri": "https://example.com/help/scim.html",
    "patch": {"supported": False},
    "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
    "filter": {"supported": False, "maxResults": 100},
    "changePassword": {"supported": False},
    "sort": {"supported": False},
    "etag": {"supported": False},
    "authenticationSchemes": [
        {
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "Authentication scheme using the OAuth Bearer Token Standard",
        }
    ],
    "meta": {"resourceType": "ServiceProviderConfig", "location": "/ServiceProviderConfig"},
}


@dataclass
class FakeScim:
    """The fake server's state; `app()` builds a Starlette app under `/scim/v2`."""

    token: str = "fake-token-0123456789"
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    faults: set[str] = field(default_factory=set)

    def app(self) -> Starlette:
        base = "/scim/v2"
        routes = [
            Route(f"{base}/ServiceProviderConfig", self.spc),
            Route(f"{base}/ResourceTypes", self.resource_types),
            Route(f"{base}/ResourceTypes/{{rid}}", self.resource_type),
            Route(f"{base}/Schemas", self.schemas),
            Route(f"{base}/Schemas/{{sid}}", self.schema),
            Route(f"{base}/Users", self.collection, methods=["GET", "POST"]),
            Route(f"{base}/Users/{{rid}}", self.item, methods=["GET", "PUT", "DELETE", "PATCH"]),
            Route(f"{base}/Groups", self.collection, methods=["GET", "POST"]),
            Route(f"{base}/Groups/{{rid}}", self.item, methods=["GET", "PUT", "DELETE", "PATCH"]),
        ]
        return Starlette(routes=routes)

    def _authorized(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    def _store(self, request: Request) -> tuple[dict[str, dict[str, Any]], str]:
        if "/Groups" in request.url.path:
            return self.groups, "Group"
        return self.users, "User"

    async def spc(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        return scim_json(SPC)

    async def resource_types(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        if "filter" in request.query_params:
            return error(403, "filtering discovery endpoints is not allowed")
        return scim_json(
            {
                "schemas": [LIST],
                "totalResults": 2,
                "itemsPerPage": 2,
                "startIndex": 1,
                "Resources": RESOURCE_TYPES,
            }
        )

    async def resource_type(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        found = [r for r in RESOURCE_TYPES if r["id"] == request.path_params["rid"]]
        return scim_json(found[0]) if found else error(404, "no such resource type")

    async def schemas(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        if "filter" in request.query_params:
            return error(403, "filtering discovery endpoints is not allowed")
        return scim_json(
            {
                "schemas": [LIST],
                "totalResults": 2,
                "itemsPerPage": 2,
                "startIndex": 1,
                "Resources": SCHEMAS,
            }
        )

    async def schema(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        found = [s for s in SCHEMAS if s["id"] == request.path_params["sid"]]
        return scim_json(found[0]) if found else error(404, "no such schema")

    async def collection(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        store, kind = self._store(request)
        if request.method == "GET":
            items = list(store.values())
            return scim_json(
                {
                    "schemas": [LIST],
                    "totalResults": len(items),
                    "itemsPerPage": len(items),
                    "startIndex": 1,
                    "Resources": items,
                }
            )
        try:
            body = json.loads(await request.body())
        except ValueError:
            return error(400, "request body is not JSON", "invalidSyntax")
        if not isinstance(body, dict):
            return error(400, "request body is not an object", "invalidSyntax")
        rid = uuid.uuid4().hex
        resource = {k: v for k, v in body.items() if k not in ("password", "id", "meta")}
        resource["id"] = rid
        resource["meta"] = {"resourceType": kind, "location": f"{request.url}/{rid}"}
        if "echo-password" in self.faults and "password" in body:
            resource["password"] = body["password"]
        store[rid] = resource
        return scim_json(resource, 201)

    async def item(self, request: Request) -> Response:
        if not self._authorized(request):
            return error(401, "bearer token required")
        store, _ = self._store(request)
        rid = request.path_params["rid"]
        if rid not in store:
            return error(404, f"no resource {rid}")
        if request.method == "DELETE":
            if "delete-500" in self.faults:
                return Response("Internal Server Error", status_code=500)
            del store[rid]
            self.deletes.append(rid)
            return Response(status_code=204)
        return scim_json(store[rid])
