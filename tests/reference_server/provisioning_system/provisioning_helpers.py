"""Helpers of the provisioning tests (imported by module name, like `scim_http_helpers`):
`Env`, one running server seen through SCIM and the admin API.

The HTTP tests' helpers (`scim_http_helpers`) are reused: one way to start the app
in-process. Accounts are global, so every test uses fresh email addresses (`Env.email`)
and the tests can share one PostgreSQL database.
"""

from __future__ import annotations

import secrets
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

_HTTP = Path(__file__).resolve().parent.parent / "http"
sys.path.insert(0, str(_HTTP))

from scim_http_helpers import (  # noqa: E402
    ADMIN_TOKEN,
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    TestClient,
)

ADMIN = "http://testserver/admin/v1"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@dataclass
class Env:
    """One running server: SCIM client for the bootstrap organization plus admin calls."""

    scim: TestClient
    org: str
    token: str
    state: Any
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])

    # --- admin API ------------------------------------------------------------------

    def admin(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        if body is not None:
            kw["json"] = body
        return self.scim.request(method, f"{ADMIN}{path}", headers=headers, **kw)

    def org_path(self, suffix: str = "", org: str | None = None) -> str:
        return f"/organizations/{org or self.org}{suffix}"

    def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        response = self.admin(method, path, body)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def members(self, org: str | None = None) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.ok("GET", self.org_path("/members", org))["items"]
        return items

    def member(self, email: str, org: str | None = None) -> dict[str, Any] | None:
        found = [m for m in self.members(org) if m["email"] == email.lower()]
        return found[0] if found else None

    def seats(self) -> dict[str, Any]:
        seats: dict[str, Any] = self.ok("GET", self.org_path("/seats"))
        return seats

    def audit(self, **filters: str) -> list[dict[str, Any]]:
        path = self.org_path("/audit")
        items: list[dict[str, Any]] = self.admin("GET", path, params=filters).json()["items"]
        return items

    def account(self, email: str) -> dict[str, Any] | None:
        items = self.ok("GET", "/accounts", None)["items"]
        found = [a for a in items if a["email"] == email.lower()]
        return found[0] if found else None

    def login(self, email: str, method: str = "sso", org: str | None = None) -> httpx.Response:
        body = {"email": email, "organization": org or self.org, "method": method}
        return self.admin("POST", "/login", body)

    def new_org(self, **fields: Any) -> tuple[str, dict[str, str]]:
        """Another organization and the SCIM headers of a token of it."""
        org = self.ok("POST", "/organizations", {"name": f"other-{self.tag}", **fields}, 201)
        token = self.ok("POST", self.org_path("/tokens", org["id"]), None, 201)["token"]
        return org["id"], {"Authorization": f"Bearer {token}"}

    # --- SCIM -----------------------------------------------------------------------

    def email(self, local: str = "u", domain: str = "example.com") -> str:
        return f"{local}-{self.tag}-{secrets.token_hex(3)}@{domain}"

    def post_user(self, email: str | None = None, **extra: Any) -> httpx.Response:
        body = {"schemas": [USER_SCHEMA], "userName": email or self.email(), **extra}
        return self.scim.post("/Users", json=body)

    def user(self, email: str | None = None, **extra: Any) -> dict[str, Any]:
        response = self.post_user(email, **extra)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def group(self, name: str, members: list[str] | None = None) -> httpx.Response:
        body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": f"{name}-{self.tag}"}
        if members:
            body["members"] = [{"value": m} for m in members]
        return self.scim.post("/Groups", json=body)

    def set_active(self, user_id: str, active: bool) -> httpx.Response:
        body = {
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "active", "value": active}],
        }
        return self.scim.patch(f"/Users/{user_id}", json=body)


MakeEnv = Callable[..., Env]


POLICY: dict[str, Any] = {"registered_domains": ["example.com"], "seat_cap": 3}
