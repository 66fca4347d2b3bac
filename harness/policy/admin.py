"""The admin-API client (`/admin/v1` of docs/ARCHITECTURE.md, "Provisioning system"): the
policy checks observe through it what SCIM alone does not show (accounts, seats, logins).

Built on `ScimClient`, so it is origin-pinned (the admin token goes only to the admin URL
it was given), follows no redirect and records every exchange, masked, into the check's
recorder. The admin API speaks plain JSON, so the SCIM media-type check is off for it;
secrets it hands out (`{"token": ...}`) are masked in what is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from harness.client import Recorder, Response, ScimClient
from harness.exchange import MASK, Exchange
from harness.verdicts import StatusMismatch, Unsupported

__all__ = ["ADMIN_JSON", "SIMULATIONS", "AdminClient", "AdminRecorder"]

ADMIN_JSON = "application/json"
_OFF = frozenset({"media_type", "write_only"})
_SECRET_KEYS = frozenset({"token", "secret", "password"})
SIMULATIONS = ("/login", "/signup", "/faults", "/billing/reconcile")
"""Routes a third-party admin API may leave out (simulated sign-in, faults, billing): a 404
there means "not offered", like a 405 or 501 anywhere."""


def _redact(value: Any, found: list[str]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key.lower() in _SECRET_KEYS and isinstance(item, str) and item:
                found.append(item)
                out[key] = MASK
            else:
                out[key] = _redact(item, found)
        return out
    if isinstance(value, list):
        return [_redact(item, found) for item in value]
    return value


class AdminRecorder(Recorder):
    """Forwards exchanges to the check's recorder, secrets masked; admin-only checks off."""

    def __init__(self, into: Recorder) -> None:
        super().__init__(into.name, disabled=into.disabled | _OFF)
        self.into = into
        self.findings = into.findings
        self.secrets: list[str] = []

    def record(self, exchange: Exchange) -> None:
        found: list[str] = []
        try:
            body = json.loads(exchange.response_body) if exchange.response_body else None
        except ValueError:
            body = None
        if body is not None:
            redacted = _redact(body, found)
            if found:
                exchange = replace(exchange, response_body=json.dumps(redacted))
        self.secrets.extend(found)
        text = exchange.request_body
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        if text != exchange.request_body:
            exchange = replace(exchange, request_body=text)
        self.exchanges.append(exchange)
        self.total += 1
        self.into.record(exchange)


class AdminClient:
    """`/admin/v1` of one deployment for one organization; answers as `Response`s.

    Helpers return parsed bodies and raise StatusMismatch (with the exchange) when the
    admin API answers something the contract does not allow.
    """

    def __init__(
        self,
        url: str,
        token: str,
        organization: str,
        *,
        timeout: float = 10.0,
        recorder: Recorder | None = None,
        http: ScimClient | None = None,
    ) -> None:
        self.url = url
        self.organization = organization
        self.recorder = AdminRecorder(recorder if recorder is not None else Recorder("admin"))
        base = http or ScimClient(url, token, timeout=timeout)
        self._base = base
        self.client = base.bound(self.recorder)

    def bound(self, recorder: Recorder) -> AdminClient:
        """The same admin API recording into another check's recorder (one pool)."""
        return AdminClient(
            self.url,
            self._base.token or "",
            self.organization,
            recorder=recorder,
            http=self._base,
        )

    def close(self) -> None:
        self._base.close()

    # -- raw verbs -------------------------------------------------------------------------

    def request(
        self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None
    ) -> Response:
        """One admin call; Unsupported (a skip saying why) when the API lacks the route."""
        __tracebackhide__ = True
        headers = {"Accept": ADMIN_JSON}
        if json is None:
            response = self.client.request(method, path, params=params, headers=headers)
        else:
            headers["Content-Type"] = ADMIN_JSON
            response = self.client.request(method, path, params=params, json=json, headers=headers)
        status = response.status
        if status in (405, 501) or (status == 404 and path.endswith(SIMULATIONS)):
            raise Unsupported(
                f"the admin API does not offer {method} {path} (it answered {status}); the "
                "check observes its promise through it"
            )
        return response

    def get(self, path: str, **params: Any) -> Response:
        __tracebackhide__ = True
        return self.request("GET", path, params=params or None)

    def post(self, path: str, json: Any = None) -> Response:
        __tracebackhide__ = True
        return self.request("POST", path, json={} if json is None else json)

    def put(self, path: str, json: Any) -> Response:
        __tracebackhide__ = True
        return self.request("PUT", path, json=json)

    def patch(self, path: str, json: Any) -> Response:
        __tracebackhide__ = True
        return self.request("PATCH", path, json=json)

    def delete(self, path: str) -> Response:
        __tracebackhide__ = True
        return self.request("DELETE", path)

    def org_path(self, suffix: str = "", organization: str | None = None) -> str:
        return f"/organizations/{organization or self.organization}{suffix}"

    # -- reads -----------------------------------------------------------------------------

    def expect(self, response: Response, *codes: int, why: str = "") -> dict[str, Any]:
        """The JSON object of a response with one of `codes`; StatusMismatch otherwise."""
        __tracebackhide__ = True
        if response.status not in codes:
            wanted = " or ".join(str(c) for c in codes)
            raise StatusMismatch(
                why
                or f"admin API {response.exchange.method} answered {response.status}, "
                f"expected {wanted}",
                clause="admin API /admin/v1",
                expected=wanted,
                actual=str(response.status),
                exchanges=[response.exchange],
            )
        if response.status == 204 or not response.content:
            return {}
        return response.json_object()

    def items(self, path: str, **params: Any) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        body = self.expect(self.get(path, **params), 200)
        found = body.get("items")
        if not isinstance(found, list):
            raise StatusMismatch(
                f"admin API GET {path} answered no 'items' list",
                clause="admin API /admin/v1",
                expected='{"items": [...]}',
                actual=json.dumps(body)[:200],
                exchanges=list(self.recorder.exchanges)[-1:],
            )
        return [item for item in found if isinstance(item, dict)]

    def organization_info(self, organization: str | None = None) -> dict[str, Any]:
        __tracebackhide__ = True
        return self.expect(self.get(self.org_path("", organization)), 200)

    def member(self, email: str, organization: str | None = None) -> dict[str, Any] | None:
        """The organization's member with this email (case-insensitive), or None."""
        __tracebackhide__ = True
        found = self.items(self.org_path("/members", organization), email=email)
        return next((m for m in found if str(m.get("email", "")).lower() == email.lower()), None)

    def account(self, email: str) -> dict[str, Any] | None:
        __tracebackhide__ = True
        found = self.items("/accounts", email=email)
        return next((a for a in found if str(a.get("email", "")).lower() == email.lower()), None)

    def seats(self) -> dict[str, Any]:
        __tracebackhide__ = True
        return self.expect(self.get(self.org_path("/seats")), 200)

    def invitations(self, email: str | None = None) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        found = self.items(self.org_path("/invitations"))
        if email is None:
            return found
        return [i for i in found if str(i.get("email", "")).lower() == email.lower()]

    def teams(self) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        return self.items(self.org_path("/teams"))

    def audit(self, **filters: Any) -> list[dict[str, Any]]:
        __tracebackhide__ = True
        return self.items(self.org_path("/audit"), **filters)

    def login(self, email: str, method: str = "sso", organization: str | None = None) -> Response:
        __tracebackhide__ = True
        body = {"email": email, "organization": organization or self.organization, "method": method}
        return self.post("/login", body)
