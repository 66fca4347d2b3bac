"""One HTTP request/response pair as evidence: bounded, token-masked, replayable.

Masking happens once, when an exchange is recorded (`Masker.exchange`), so no later
renderer, report or log can leak the token: the Exchange never holds it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "BODY_KEEP",
    "MASK",
    "Exchange",
    "Masker",
    "render_curl",
    "render_text",
]

BODY_KEEP = 64 * 1024
"""Characters of a body kept in an exchange; the rest is dropped and counted."""

MASK = "***"
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})


@dataclass(frozen=True, slots=True)
class Exchange:
    """A recorded request and its response (status None when no response came)."""

    method: str
    url: str
    request_headers: tuple[tuple[str, str], ...]
    request_body: str
    status: int | None
    response_headers: tuple[tuple[str, str], ...]
    response_body: str
    elapsed: float
    request_cut: int = 0
    response_cut: int = 0
    error: str | None = None

    def response_header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == lowered), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for reports (already masked)."""
        return {
            "method": self.method,
            "url": self.url,
            "request_headers": [list(h) for h in self.request_headers],
            "request_body": self.request_body,
            "request_cut": self.request_cut,
            "status": self.status,
            "response_headers": [list(h) for h in self.response_headers],
            "response_body": self.response_body,
            "response_cut": self.response_cut,
            "elapsed_ms": round(self.elapsed * 1000, 1),
            "error": self.error,
            "curl": render_curl(self),
        }


def _bound(body: bytes | str, extra: int = 0) -> tuple[str, int]:
    text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
    if len(text) > BODY_KEEP:
        return text[:BODY_KEEP], len(text) - BODY_KEEP + extra
    return text, extra


class Masker:
    """Removes the secrets (the bearer token) from everything that is recorded."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        self._secrets = tuple(
            sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        )

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value

    def headers(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        masked = []
        for name, value in headers:
            if name.lower() in SENSITIVE_HEADERS:
                scheme = value.split(" ", 1)[0] if " " in value else ""
                value = f"{scheme} {MASK}" if scheme else MASK
            masked.append((name, self.text(value)))
        return tuple(masked)

    def exchange(
        self,
        *,
        method: str,
        url: str,
        request_headers: Iterable[tuple[str, str]],
        request_body: bytes | str,
        status: int | None,
        response_headers: Iterable[tuple[str, str]],
        response_body: bytes | str,
        elapsed: float,
        response_dropped: int = 0,
        error: str | None = None,
    ) -> Exchange:
        """Build a bounded, masked Exchange from raw parts."""
        req_body, req_cut = _bound(request_body)
        resp_body, resp_cut = _bound(response_body, response_dropped)
        return Exchange(
            method=method,
            url=self.text(url),
            request_headers=self.headers(request_headers),
            request_body=self.text(req_body),
            status=status,
            response_headers=self.headers(response_headers),
            response_body=self.text(resp_body),
            elapsed=elapsed,
            request_cut=req_cut,
            response_cut=resp_cut,
            error=self.text(error) if error else None,
        )


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


def _cut_note(cut: int) -> str:
    return f"\n[cut: {cut} bytes more]" if cut else ""


def render_text(exchange: Exchange) -> str:
    """The exchange as a person reads and replays it (request `>` lines, response `<`)."""
    lines = [f"> {exchange.method} {exchange.url}"]
    lines += [f"> {k}: {v}" for k, v in exchange.request_headers]
    if exchange.request_body:
        lines += [">", *(f"> {ln}" for ln in _pretty(exchange.request_body).splitlines())]
        if exchange.request_cut:
            lines.append(f"> [cut: {exchange.request_cut} bytes more]")
    if exchange.status is None:
        lines.append(f"< no response: {exchange.error} (after {exchange.elapsed * 1000:.0f} ms)")
        return "\n".join(lines)
    lines.append(f"< {exchange.status} ({exchange.elapsed * 1000:.0f} ms)")
    lines += [f"< {k}: {v}" for k, v in exchange.response_headers]
    if exchange.response_body:
        body = _pretty(exchange.response_body) + _cut_note(exchange.response_cut)
        lines += ["<", *(f"< {ln}" for ln in body.splitlines())]
    elif exchange.response_cut:
        lines.append(f"< [cut: {exchange.response_cut} bytes more]")
    if exchange.error:
        lines.append(f"< note: {exchange.error}")
    return "\n".join(lines)


def render_curl(exchange: Exchange) -> str:
    """A curl command line replaying the request; the token comes from $SCIM_TOKEN."""
    parts = ["curl", "-sS", "-X", exchange.method, shlex.quote(exchange.url)]
    for name, value in exchange.request_headers:
        if name.lower() in {
            "host",
            "content-length",
            "accept-encoding",
            "connection",
            "user-agent",
        }:
            continue
        if name.lower() == "authorization" and value.endswith(MASK):
            parts += ["-H", f'"{name}: {value[: -len(MASK)]}$SCIM_TOKEN"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if exchange.request_body:
        parts += ["--data-raw", shlex.quote(exchange.request_body)]
    return " ".join(parts)


def headers_dict(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k.lower(): v for k, v in items}
