"""Defects of /Bulk, ETags and /Me: each breaks the reference server in exactly one way.

They complete `catalog.py` (same `Defect` hooks, same switchboard): rewrites of the bulk
request (what the server is asked to do), of conditional request headers, and stand-ins
that answer in the server's place (a /Me the reference server does not serve).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from defects.catalog import Defect, EditJson, Exchange

__all__ = [
    "AlwaysNotModified",
    "DropBulkIdReferences",
    "DropHeaderOn",
    "DropRequestHeader",
    "ErrorStatus",
    "FakeBulkSuccess",
    "FirstTagOnly",
    "MeStandIn",
    "PartialPatchReportedFailed",
    "ProcessDespiteLimit",
    "RandomEtag",
    "ReplaceRequestHeader",
    "RewriteBulkRequest",
    "StoreBulkIdLiterally",
    "StrongIfNoneMatch",
    "constant_version",
    "each_result",
    "me_body",
    "set_fail_on_errors",
]

ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"


def _json_request(exchange: Exchange) -> Any:
    try:
        return json.loads(exchange.body)
    except ValueError:
        return None


def _set_request(exchange: Exchange, body: Any) -> None:
    exchange.body = json.dumps(body).encode()


def _error(status: int, detail: str) -> bytes:
    return json.dumps({"schemas": [ERROR_URN], "status": str(status), "detail": detail}).encode()


# -- bulk ------------------------------------------------------------------------------------------


def each_result(edit: Callable[[dict[str, Any]], dict[str, Any] | None]) -> Callable[[Any], Any]:
    """An EditJson edit applying `edit` to every BulkResponse result (None drops it)."""

    def apply(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("Operations"), list):
            edited = [edit(dict(r)) for r in body["Operations"] if isinstance(r, dict)]
            body["Operations"] = [r for r in edited if r is not None]
        return body

    return apply


@dataclass(frozen=True)
class RewriteBulkRequest(Defect):
    """Change the BulkRequest before the server sees it (`edit` named by `name`)."""

    method: str = "POST"
    path: str = "/Bulk"
    name: str = "edit"
    edit: Callable[[Any], Any] = field(default=lambda body: body, compare=False)

    @property
    def label(self) -> str:
        return f"RewriteBulkRequest({self.name})"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json_request(exchange)
        if isinstance(body, dict):
            _set_request(exchange, self.edit(body))


def set_fail_on_errors(value: int | None) -> Callable[[Any], Any]:
    """A RewriteBulkRequest edit: failOnErrors set to `value` (None: removed)."""

    def edit(body: dict[str, Any]) -> dict[str, Any]:
        body.pop("failOnErrors", None)
        if value is not None:
            body["failOnErrors"] = value
        return body

    return edit


def _refs(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value[7:]} if value.startswith("bulkId:") else set()
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    out: set[str] = set()
    for item in items:
        out |= _refs(item)
    return out


def _strip(value: Any, drop: Callable[[str], bool]) -> Any:
    """`value` without the list elements and object members that hold a dropped reference."""
    if isinstance(value, list):
        return [_strip(v, drop) for v in value if not any(drop(r) for r in _refs(v))]
    if isinstance(value, dict):
        return {
            k: _strip(v, drop)
            for k, v in value.items()
            if isinstance(v, str) or not any(drop(r) for r in _refs(v))
        }
    return value


@dataclass(frozen=True)
class DropBulkIdReferences(RewriteBulkRequest):
    """Silently leave out members/attributes naming a bulkId (all, or only forward ones)."""

    name: str = "drop bulkId references"
    forward_only: bool = False

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json_request(exchange)
        if not isinstance(body, dict) or not isinstance(body.get("Operations"), list):
            return
        ops = body["Operations"]
        for i, op in enumerate(ops):
            later = {o.get("bulkId") for o in ops[i + 1 :] if isinstance(o, dict)}
            if isinstance(op, dict) and "data" in op:
                op["data"] = _strip(
                    op["data"], lambda r, later=later: not self.forward_only or r in later
                )
        _set_request(exchange, body)


@dataclass(frozen=True)
class StoreBulkIdLiterally(Defect):
    """Accept Group members naming an unknown bulkId and keep "bulkId:..." as their value."""

    path: str = "/(Bulk|Groups/[^/]+)"
    kept: dict[str, list[Any]] = field(default_factory=dict, compare=False)

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json_request(exchange) if exchange.path == "/Bulk" else None
        if not isinstance(body, dict):
            return
        for op in body.get("Operations") or []:
            data = op.get("data") if isinstance(op, dict) else None
            members = data.get("members") if isinstance(data, dict) else None
            if isinstance(members, list) and any(_refs(m) for m in members):
                self.kept[str(data.get("displayName"))] = [m for m in members if _refs(m)]
                data["members"] = [m for m in members if not _refs(m)]
        _set_request(exchange, body)

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.method != "GET" or not exchange.path.startswith("/Groups/"):
            return
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        kept = self.kept.get(str(body.get("displayName"))) if isinstance(body, dict) else None
        if kept:
            body["members"] = [*(body.get("members") or []), *kept]
            exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class FakeBulkSuccess(Defect):
    """Perform none of the operations but report each one as done (the silent no-op)."""

    method: str = "POST"
    path: str = "/Bulk"
    codes: tuple[tuple[str, int], ...] = (("POST", 201), ("PUT", 200), ("PATCH", 200),
                                          ("DELETE", 204))  # fmt: skip

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json_request(exchange)
        if isinstance(body, dict):
            exchange.notes["ops"] = body.get("Operations") or []
            body["Operations"] = []
            _set_request(exchange, body)

    def rewrite_response(self, exchange: Exchange) -> None:
        host = next((v.decode() for k, v in exchange.headers if k.lower() == b"host"), "")
        base = f"http://{host}/scim/v2"
        results = []
        for op in exchange.notes.get("ops", []):
            method = str(op.get("method", "")).upper()
            path = str(op.get("path", ""))
            location = f"{base}{path}/{uuid.uuid4()}" if method == "POST" else f"{base}{path}"
            result = {"method": method, "status": str(dict(self.codes).get(method, 200)),
                      "location": location}  # fmt: skip
            if op.get("bulkId"):
                result["bulkId"] = op["bulkId"]
            results.append(result)
        exchange.status = 200
        payload = {"schemas": [BULK_RESPONSE], "Operations": results}
        exchange.set_response_body(json.dumps(payload).encode())


@dataclass(frozen=True)
class PartialPatchReportedFailed(Defect):
    """Apply the valid operations of a bulk PATCH, skip the bad ones, and report a 400."""

    method: str = "POST"
    path: str = "/Bulk"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json_request(exchange)
        if not isinstance(body, dict):
            return
        for op in body.get("Operations") or []:
            data = op.get("data") if isinstance(op, dict) else None
            if op.get("method") == "PATCH" and isinstance(data, dict):
                data["Operations"] = [
                    o for o in data.get("Operations") or []
                    if str(o.get("op", "")).lower() in ("add", "remove", "replace")
                ]  # fmt: skip
        _set_request(exchange, body)

    def rewrite_response(self, exchange: Exchange) -> None:
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        for result in body.get("Operations") or []:
            if result.get("method") == "PATCH":
                result["status"] = "400"
                result["response"] = json.loads(_error(400, "Unknown op."))
        exchange.set_response_body(json.dumps(body).encode())


@dataclass(frozen=True)
class ProcessDespiteLimit(Defect):
    """Answer 413 to a request over a bulk limit, but perform its first operation first."""

    method: str = "POST"
    path: str = "/Bulk"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        body = _json_request(exchange)
        if isinstance(body, dict):
            ops = body.get("Operations") or []
            _set_request(exchange, {"schemas": body.get("schemas"), "Operations": ops[:1]})

    def rewrite_response(self, exchange: Exchange) -> None:
        exchange.status = 413
        exchange.set_response_body(
            _error(413, "maxOperations 1000 or maxPayloadSize 1048576 exceeded")
        )


@dataclass(frozen=True)
class ErrorStatus(Defect):
    """Answer `to_status` for a `from_status` error, with an Error body that says so."""

    from_status: int = 413
    to_status: int = 400

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.status != self.from_status:
            return
        exchange.status = self.to_status
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            body = {"schemas": [ERROR_URN]}
        body["status"] = str(self.to_status)
        exchange.set_response_body(json.dumps(body).encode())


# -- conditional requests ------------------------------------------------------------------------


def _drop_request_header(exchange: Exchange, name: str) -> None:
    key = name.lower().encode()
    exchange.headers = [(k, v) for k, v in exchange.headers if k.lower() != key]


def _request_header(exchange: Exchange, name: str) -> str | None:
    key = name.lower().encode()
    return next((v.decode("latin-1") for k, v in exchange.headers if k.lower() == key), None)


@dataclass(frozen=True)
class DropRequestHeader(Defect):
    """Ignore one request header (e.g. If-Match), as if the client had not sent it."""

    header: str = "if-match"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        _drop_request_header(exchange, self.header)


@dataclass(frozen=True)
class ReplaceRequestHeader(Defect):
    """Evaluate a request header as if it held `value` (when the client sent one)."""

    header: str = "if-match"
    value: str = 'W/"999999"'

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        if _request_header(exchange, self.header) is not None:
            _drop_request_header(exchange, self.header)
            exchange.headers.append((self.header.encode(), self.value.encode()))


@dataclass(frozen=True)
class StrongIfNoneMatch(Defect):
    """Compare If-None-Match strongly: a tag without W/ never matches a weak ETag."""

    method: str = "GET"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        value = _request_header(exchange, "if-none-match")
        if value is not None and any(
            not t.strip().startswith("W/") for t in value.split(",") if t.strip()
        ):
            _drop_request_header(exchange, "if-none-match")


@dataclass(frozen=True)
class FirstTagOnly(Defect):
    """Read only the first entity-tag of an If-None-Match list."""

    method: str = "GET"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        value = _request_header(exchange, "if-none-match")
        if value is not None and "," in value:
            _drop_request_header(exchange, "if-none-match")
            exchange.headers.append((b"if-none-match", value.split(",")[0].strip().encode()))


@dataclass(frozen=True)
class AlwaysNotModified(Defect):
    """Answer 304 to every conditional GET, whether the resource changed or not."""

    method: str = "GET"

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        exchange.notes["conditional"] = _request_header(exchange, "if-none-match") is not None

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("conditional") and exchange.status == 200:
            exchange.status = 304
            exchange.set_response_body(b"")
            exchange.set_response_header("content-type", None)


@dataclass(frozen=True)
class DropHeaderOn(Defect):
    """Leave out one response header on responses with one status (e.g. ETag on 304)."""

    header: str = "etag"
    status: int = 304

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.status == self.status:
            exchange.set_response_header(self.header, None)


@dataclass(frozen=True)
class RandomEtag(Defect):
    """A new ETag on every response (header and meta.version agree), changed or not."""

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.header("etag") is None:
            return
        tag = f'W/"{uuid.uuid4().hex[:12]}"'
        exchange.set_response_header("etag", tag)
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            body["meta"]["version"] = tag
            exchange.set_response_body(json.dumps(body).encode())


def constant_version(tag: str) -> EditJson:
    """meta.version pinned to `tag` on User/Group responses."""

    def edit(body: Any) -> Any:
        if isinstance(body, dict) and isinstance(body.get("meta"), dict):
            body["meta"]["version"] = tag
        return body

    return EditJson("*", "/(Users|Groups).*", name=f"meta.version {tag}", edit=edit)


# -- /Me ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeStandIn(Defect):
    """Serve GET /Me in the server's place with `body` (and a Location unless `location` "")."""

    method: str = "*"
    path: str = "/Me"
    body: bytes = b"{}"
    location: str = ""

    def forward(self, exchange: Exchange) -> bool:
        return False

    def rewrite_response(self, exchange: Exchange) -> None:
        exchange.status = 200
        exchange.response_headers = []
        exchange.set_response_body(self.body, "application/scim+json")
        if self.location:
            exchange.set_response_header("location", self.location)


def me_body(resource: dict[str, Any]) -> bytes:
    """The body a stand-in /Me serves: the resource as the server returned it."""
    return json.dumps(resource).encode()
