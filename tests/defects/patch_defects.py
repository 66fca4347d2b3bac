"""Defects of PATCH and group membership: each breaks the reference app in one way a real
SCIM server does (an acknowledged but ignored removal, a filter read as the whole attribute,
a non-atomic PATCH, capitalised ops refused, primary never reset, stale meta, ...).

Like the catalogue's defects they are ASGI-level rewrites around `create_app`: of the
request (before the reference app sees it), of the response, or both.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from defects.catalog import Defect, Exchange

__all__ = [
    "CreateThenFail",
    "EditRequest",
    "NonAtomic",
    "OnBody",
    "PartialMembers",
    "Refuse",
    "all_primary",
    "bump_meta",
    "drop_path_filters",
    "drop_pathless",
    "drop_remove_values",
    "freeze_meta",
    "keep_first_op",
    "on_ops",
    "truncate_values",
    "wrong_scim_type",
]

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _error(exchange: Exchange, status: int, scim_type: str | None, detail: str) -> None:
    body: dict[str, Any] = {"schemas": [ERROR_URN], "status": str(status), "detail": detail}
    if scim_type:
        body["scimType"] = scim_type
    exchange.status = status
    exchange.response_headers = []
    exchange.set_response_body(json.dumps(body).encode(), "application/scim+json")


@dataclass(frozen=True)
class OnBody(Defect):
    """Apply `inner` only to requests whose body matches `pattern` (a regex)."""

    pattern: str = ".*"
    inner: Defect = field(default_factory=Defect)

    @property
    def label(self) -> str:
        return f"OnBody({self.method} {self.path} /{self.pattern}/: {self.inner.label})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        text = exchange.body.decode("utf-8", errors="replace")
        exchange.notes["on_body"] = re.search(self.pattern, text, re.DOTALL) is not None
        if exchange.notes["on_body"]:
            self.inner.rewrite_request(exchange, token)

    def forward(self, exchange: Exchange) -> bool:
        return self.inner.forward(exchange) if exchange.notes.get("on_body") else True

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("on_body"):
            self.inner.rewrite_response(exchange)


@dataclass(frozen=True)
class Refuse(Defect):
    """Answer a SCIM Error without letting the reference app see the request."""

    status: int = 400
    scim_type: str | None = "invalidValue"

    def forward(self, exchange: Exchange) -> bool:
        return False

    def rewrite_response(self, exchange: Exchange) -> None:
        _error(exchange, self.status, self.scim_type, "refused by the defect")


@dataclass(frozen=True)
class EditRequest(Defect):
    """Transform the JSON request body with `edit` before the reference app sees it."""

    name: str = "edit"
    edit: Callable[[Any], Any] = field(default=lambda body: body, compare=False)

    @property
    def label(self) -> str:
        return f"EditRequest({self.method} {self.path}: {self.name})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        try:
            body = json.loads(exchange.body)
        except ValueError:
            return
        exchange.body = json.dumps(self.edit(body)).encode()


@dataclass(frozen=True)
class NonAtomic(Defect):
    """A PATCH that applies every operation but the last, then fails: the earlier ones stay."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        try:
            body = json.loads(exchange.body)
        except ValueError:
            return
        ops = body.get("Operations") if isinstance(body, dict) else None
        if isinstance(ops, list) and len(ops) > 1:
            body["Operations"] = ops[:-1]
            exchange.body = json.dumps(body).encode()
            exchange.notes["partial"] = True

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("partial"):
            _error(exchange, 400, "noTarget", "the last operation failed (earlier ones kept)")


@dataclass(frozen=True)
class PartialMembers(Defect):
    """Adds the first member of each list, then refuses the PATCH: a half-applied failure."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        exchange.notes["partial"] = True
        exchange.body = json.dumps(truncate_values(1)(json.loads(exchange.body))).encode()

    def rewrite_response(self, exchange: Exchange) -> None:
        _error(exchange, 400, "invalidValue", "unknown member (the first one was kept)")


@dataclass(frozen=True)
class CreateThenFail(Defect):
    """Creates the resource without its members, then answers 400: a refusal that isn't."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = json.loads(exchange.body)
        if isinstance(body, dict):
            body.pop("members", None)
        exchange.body = json.dumps(body).encode()

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.status == 201:
            _error(exchange, 400, "invalidValue", "unknown member (the group was kept)")


# -- request edits -----------------------------------------------------------------------------


def on_ops(change: Callable[[dict[str, Any]], list[dict[str, Any]]]) -> Callable[[Any], Any]:
    """A request edit that maps each PATCH operation to a list of operations."""

    def edit(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("Operations"), list):
            out: list[dict[str, Any]] = []
            for op in body["Operations"]:
                out += change(op) if isinstance(op, dict) else [op]
            body["Operations"] = out
        return body

    return edit


def _strip_filter(op: dict[str, Any]) -> list[dict[str, Any]]:
    path = op.get("path")
    if isinstance(path, str) and "[" in path:
        op = {**op, "path": path.split("[", 1)[0]}
        if str(op.get("op", "")).lower() == "replace" and isinstance(op.get("value"), dict):
            op["value"] = [op["value"]]
    return [op]


drop_path_filters = on_ops(_strip_filter)
"""A server that reads 'emails[type eq "home"]' as "emails": the whole attribute."""


def _drop_remove_value(op: dict[str, Any]) -> list[dict[str, Any]]:
    if str(op.get("op", "")).lower() == "remove":
        return [{k: v for k, v in op.items() if k != "value"}]
    return [op]


drop_remove_values = on_ops(_drop_remove_value)
"""A server that ignores the value of a remove: "remove members" then empties the group."""


def _drop_pathless(op: dict[str, Any]) -> list[dict[str, Any]]:
    if "path" in op or not isinstance(op.get("value"), dict):
        return [op]
    return [
        {
            **op,
            "value": {
                k: v
                for k, v in op["value"].items()
                if not k.startswith("urn:") and "." not in k and k != "active"
            },
        }
    ]


drop_pathless = on_ops(_drop_pathless)
"""A server that applies a path-less value only for plain core keys (no URN, dotted, active)."""


def keep_first_op(body: Any) -> Any:
    """A server that applies only the first operation of a PATCH."""
    if isinstance(body, dict) and isinstance(body.get("Operations"), list):
        body["Operations"] = body["Operations"][:1]
    return body


def truncate_values(limit: int) -> Callable[[Any], Any]:
    """A server that silently caps a multi-valued add at `limit` values."""

    def change(op: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(op.get("value"), list):
            return [{**op, "value": op["value"][:limit]}]
        return [op]

    return on_ops(change)


# -- response edits ----------------------------------------------------------------------------


def all_primary(body: Any) -> Any:
    """A server that never resets "primary": every email that ever was primary stays so."""
    emails = body.get("emails") if isinstance(body, dict) else None
    if isinstance(emails, list) and any(isinstance(e, dict) and e.get("primary") for e in emails):
        for e in emails:
            if isinstance(e, dict):
                e["primary"] = True
    return body


def bump_meta(body: Any) -> Any:
    """A server that stamps lastModified and version on every read (even after no change)."""
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        now = time.time()
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
        body["meta"]["lastModified"] = stamp
        body["meta"]["version"] = f'W/"{uuid.uuid4().hex}"'
    return body


def freeze_meta(body: Any) -> Any:
    """A server whose meta never moves: lastModified stays "created", no version."""
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        meta = body["meta"]
        if meta.get("created"):
            meta["lastModified"] = meta["created"]
        meta.pop("version", None)
    return body


def wrong_scim_type(body: Any) -> Any:
    """A server that answers every PATCH error with scimType "invalidValue"."""
    if isinstance(body, dict) and ERROR_URN in (body.get("schemas") or []):
        body["scimType"] = "invalidValue"
    return body
