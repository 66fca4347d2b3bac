"""The defect catalogue: each defect is one small dataclass that breaks the reference server
in exactly one way, applied as ASGI middleware around `create_app` (never inside it).

A defect selects exchanges by method and path (a regex on the path below /scim/v2, and
optionally on the query string) and rewrites the request, the response, or both.
`Switchboard` serves the reference app once and swaps the active defect per proof.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "AllowWithoutToken",
    "Defect",
    "DropHeader",
    "EditJson",
    "IgnoreWrite",
    "LeakOnRefusal",
    "ReencodeBody",
    "RejectRequestHeader",
    "ReplaceBody",
    "RewriteStatus",
    "SetHeader",
    "Switchboard",
]

BASE = "/scim/v2"


@dataclass
class Exchange:
    """A buffered request/response the defect may rewrite."""

    method: str
    path: str  # below /scim/v2
    query: str
    headers: list[tuple[bytes, bytes]]
    body: bytes
    status: int = 0
    response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    response_body: bytes = b""
    notes: dict[str, Any] = field(default_factory=dict)  # per-exchange state of a defect

    def header(self, name: str) -> str | None:
        key = name.lower().encode()
        return next((v.decode() for k, v in self.response_headers if k.lower() == key), None)

    def set_response_header(self, name: str, value: str | None) -> None:
        key = name.lower().encode()
        self.response_headers = [(k, v) for k, v in self.response_headers if k.lower() != key]
        if value is not None:
            self.response_headers.append((key, value.encode()))

    def set_response_body(self, body: bytes, content_type: str | None = None) -> None:
        self.response_body = body
        self.set_response_header("content-length", str(len(body)))
        if content_type is not None:
            self.set_response_header("content-type", content_type)


@dataclass(frozen=True)
class Defect:
    """Base class: which exchanges it touches. Subclasses override the rewrite hooks."""

    method: str = "*"
    path: str = ".*"
    query: str | None = None

    @property
    def label(self) -> str:
        return repr(self)

    def applies(self, method: str, path: str, query: str) -> bool:
        if self.method != "*" and method.upper() != self.method.upper():
            return False
        if not re.fullmatch(self.path, path):
            return False
        return self.query is None or re.search(self.query, query) is not None

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        """Change the request before the reference app sees it (default: nothing)."""

    def forward(self, exchange: Exchange) -> bool:
        """Whether the reference app handles the request at all (default: yes)."""
        return True

    def rewrite_response(self, exchange: Exchange) -> None:
        """Change the response before the client sees it (default: nothing)."""


@dataclass(frozen=True)
class RewriteStatus(Defect):
    """Answer `to_status` instead of the real status (only when it was `from_status`)."""

    from_status: int | None = None
    to_status: int = 200

    def rewrite_response(self, exchange: Exchange) -> None:
        if self.from_status is None or exchange.status == self.from_status:
            exchange.status = self.to_status


@dataclass(frozen=True)
class DropHeader(Defect):
    """Leave out one response header."""

    header: str = "content-type"

    def rewrite_response(self, exchange: Exchange) -> None:
        exchange.set_response_header(self.header, None)


@dataclass(frozen=True)
class SetHeader(Defect):
    """Send one response header with a wrong value."""

    header: str = "content-type"
    value: str = "application/json"

    def rewrite_response(self, exchange: Exchange) -> None:
        exchange.set_response_header(self.header, self.value)


@dataclass(frozen=True)
class ReplaceBody(Defect):
    """Replace the response body (and optionally its status and content type)."""

    body: bytes = b""
    content_type: str | None = None
    status: int | None = None

    def rewrite_response(self, exchange: Exchange) -> None:
        exchange.set_response_body(self.body, self.content_type)
        if self.status is not None:
            exchange.status = self.status


@dataclass(frozen=True)
class EditJson(Defect):
    """Transform the JSON response body with `edit` (named by `name` in proof ids)."""

    name: str = "edit"
    edit: Callable[[Any], Any] = field(default=lambda body: body, compare=False)

    @property
    def label(self) -> str:
        return f"EditJson({self.method} {self.path}: {self.name})"

    def rewrite_response(self, exchange: Exchange) -> None:
        try:
            body = json.loads(exchange.response_body)
        except ValueError:
            return
        exchange.set_response_body(json.dumps(self.edit(body)).encode())


@dataclass(frozen=True)
class IgnoreWrite(Defect):
    """Do not apply a write; answer as if it worked, with the resource's current state."""

    success_status: int = 200

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        exchange.method = "GET"
        exchange.body = b""

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.status == 200:
            exchange.status = self.success_status
            if self.success_status == 204:
                exchange.set_response_body(b"")


def _inject_token(exchange: Exchange, token: str) -> None:
    exchange.headers = [(k, v) for k, v in exchange.headers if k.lower() != b"authorization"]
    exchange.headers.append((b"authorization", f"Bearer {token}".encode()))


@dataclass(frozen=True)
class AllowWithoutToken(Defect):
    """Serve requests that carry no valid credential, as if they had the right token."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        _inject_token(exchange, token)


@dataclass(frozen=True)
class LeakOnRefusal(Defect):
    """Refuse a request without a valid token (401) but still send the resource data."""

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        auth = next((v for k, v in exchange.headers if k.lower() == b"authorization"), b"")
        exchange.notes["refuse"] = auth != f"Bearer {token}".encode()
        _inject_token(exchange, token)

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("refuse"):
            exchange.status = 401
            exchange.set_response_header("www-authenticate", 'Bearer realm="scim"')


@dataclass(frozen=True)
class RejectRequestHeader(Defect):
    """Refuse requests whose header matches (e.g. Accept: application/json) with `status`."""

    header: str = "accept"
    value: str = "application/json"
    status: int = 406

    def _hit(self, exchange: Exchange) -> bool:
        key = self.header.lower().encode()
        values = [v.decode("latin-1") for k, v in exchange.headers if k.lower() == key]
        return any(re.search(self.value, v) for v in values)

    def rewrite_request(self, exchange: Exchange, token: str) -> None:
        exchange.notes["rejected"] = self._hit(exchange)

    def forward(self, exchange: Exchange) -> bool:
        return not exchange.notes.get("rejected")

    def rewrite_response(self, exchange: Exchange) -> None:
        if exchange.notes.get("rejected"):
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": str(self.status),
                "detail": f"{self.header} not supported",
            }
            exchange.status = self.status
            exchange.response_headers = []
            exchange.set_response_body(json.dumps(body).encode(), "application/scim+json")


@dataclass(frozen=True)
class ReencodeBody(Defect):
    """Send the body in another encoding than the UTF-8 it claims (unknown chars become ?)."""

    encoding: str = "latin-1"

    def rewrite_response(self, exchange: Exchange) -> None:
        text = exchange.response_body.decode("utf-8", errors="replace")
        exchange.set_response_body(text.encode(self.encoding, errors="replace"))


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    for _ in range(100_000):
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class Switchboard:
    """ASGI app: the reference app behind whichever defect is switched on (or none)."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token
        self.defect: Defect | None = None

    @contextmanager
    def active(self, defect: Defect | None) -> Iterator[None]:
        previous, self.defect = self.defect, defect
        try:
            yield
        finally:
            self.defect = previous

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        defect = self.defect
        if scope["type"] != "http" or defect is None:
            await self.app(scope, receive, send)
            return
        raw_path: str = scope["path"]
        path = raw_path[len(BASE) :] if raw_path.startswith(BASE) else raw_path
        query = scope.get("query_string", b"").decode("latin-1")
        if not defect.applies(scope["method"], path, query):
            await self.app(scope, receive, send)
            return
        exchange = Exchange(scope["method"], path, query, list(scope["headers"]),
                            await _read_body(receive))  # fmt: skip
        defect.rewrite_request(exchange, self.token)
        if defect.forward(exchange):
            await self._call_app(scope, exchange)
        defect.rewrite_response(exchange)
        await send({"type": "http.response.start", "status": exchange.status,
                    "headers": exchange.response_headers})  # fmt: skip
        await send({"type": "http.response.body", "body": exchange.response_body})

    async def _call_app(self, scope: Scope, exchange: Exchange) -> None:
        headers = [(k, v) for k, v in exchange.headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(exchange.body)).encode()))
        inner = dict(scope, method=exchange.method, headers=headers,
                     query_string=exchange.query.encode("latin-1"))  # fmt: skip
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": exchange.body, "more_body": False}

        chunks: list[bytes] = []

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(inner, receive, send)
        exchange.response_body = b"".join(chunks)
