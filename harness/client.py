"""The only way the harness talks to a server: httpx, origin-pinned, bounded, recorded.

Every request becomes a masked `Exchange` in the current check's `Recorder` and passes the
always-on response checks. A hostile server (HTML, truncated or huge bodies, timeouts,
redirects elsewhere) yields a `ScimViolation` carrying the exchange, never a crash.
"""

from __future__ import annotations

import json
import time
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from harness.exchange import Exchange, Masker
from harness.validation.responses import Observed, run_response_checks
from harness.verdicts import (
    BodyNotJson,
    HarnessError,
    Keyword,
    ScimViolation,
    TransportFailure,
    UnsafeRedirect,
)

__all__ = [
    "MAX_BODY",
    "SCIM_JSON",
    "Recorder",
    "Response",
    "ScimClient",
]

SCIM_JSON = "application/scim+json"
MAX_BODY = 5 * 1024 * 1024
"""Bytes of a response body read at most; the rest is left unread and marked cut."""

_UNSET: Any = object()


class Recorder:
    """The exchanges of one check (bounded) and the non-fatal findings seen on them."""

    def __init__(
        self, name: str = "", *, disabled: frozenset[str] = frozenset(), keep: int = 40
    ) -> None:
        self.name = name
        self.disabled = disabled
        self.exchanges: deque[Exchange] = deque(maxlen=keep)
        self.total = 0
        self.findings: list[ScimViolation] = []

    def record(self, exchange: Exchange) -> None:
        self.exchanges.append(exchange)
        self.total += 1


class Response:
    """A response as checks see it: status, headers, the body (bounded) and its exchange."""

    def __init__(
        self, exchange: Exchange, headers: httpx.Headers, content: bytes, truncated: bool
    ) -> None:
        self.exchange = exchange
        self.status: int = exchange.status or 0
        self.headers = headers
        self.content = content
        self.truncated = truncated
        self._json: Any = _UNSET

    def __repr__(self) -> str:
        return f"<Response {self.exchange.method} {self.exchange.url} {self.status}>"

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", "")).split(";")[0].strip().lower()

    @property
    def location(self) -> str | None:
        value = self.headers.get("location")
        return None if value is None else str(value)

    def parsed(self) -> tuple[bool, Any]:
        """(is_json, value) without raising."""
        if self._json is _UNSET:
            try:
                if self.truncated or not self.content:
                    raise ValueError("no complete body")
                self._json = (True, json.loads(self.content))
            except (ValueError, RecursionError):
                self._json = (False, None)
        result: tuple[bool, Any] = self._json
        return result

    def json(self) -> Any:
        """The JSON body; BodyNotJson (RFC 7644 3.1: SCIM bodies are JSON) if it is not."""
        ok, value = self.parsed()
        if not ok:
            why = "was cut at the size limit" if self.truncated else "is not valid JSON"
            raise BodyNotJson(
                f"the response body {why}",
                clause="RFC7644 3.1",
                expected="a JSON body",
                actual=(self.text[:200] or "(empty body)"),
                exchanges=[self.exchange],
            )
        return value

    def json_object(self) -> dict[str, Any]:
        value = self.json()
        if not isinstance(value, dict):
            raise BodyNotJson(
                "the response body is JSON but not an object",
                clause="RFC7644 3.1",
                expected="a JSON object",
                actual=type(value).__name__,
                exchanges=[self.exchange],
            )
        return value


class ScimClient:
    """A SCIM client bound to one base URL, one token and one recorder.

    The base URL's query (Entra's `?aadOptscim062020`) is merged into every request.
    Redirects are returned as they are; `follow()` refuses to carry the token elsewhere.
    """

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        recorder: Recorder | None = None,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        url = httpx.URL(base_url)
        self.base_url = base_url
        self._base = url.copy_with(query=None, fragment=None)
        self._base_params = list(url.params.multi_items())
        self.token = token
        self.timeout = timeout
        self.recorder = recorder if recorder is not None else Recorder("session")
        self.max_body = max_body
        self._masker = Masker([token])
        self._owns_http = http is None
        self._http = http or httpx.Client(
            follow_redirects=False, timeout=timeout, transport=transport, trust_env=False
        )

    def bound(self, recorder: Recorder) -> ScimClient:
        """A client sharing this one's connection pool but recording into `recorder`."""
        return ScimClient(
            self.base_url,
            self.token,
            timeout=self.timeout,
            recorder=recorder,
            http=self._http,
            max_body=self.max_body,
        )

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> ScimClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def origin(self) -> tuple[str, str, int | None]:
        return (self._base.scheme, self._base.host, self._base.port)

    def url_for(self, path: str) -> httpx.URL:
        """Absolute URL for a path under the base; absolute URLs must share the origin."""
        if path.startswith(("http://", "https://")):
            url = httpx.URL(path)
            if (url.scheme, url.host, url.port) != self.origin:
                raise UnsafeRedirect(
                    f"refusing to send the bearer token to another origin: {url.host}",
                    clause="RFC7644 2",
                    expected=f"a URL on {self._base.host}",
                    actual=str(url.copy_with(query=None)),
                )
            return url
        base_path = self._base.path.rstrip("/")
        suffix = path if path.startswith("/") else "/" + path
        return self._base.copy_with(path=base_path + suffix if path else base_path or "/")

    # -- verbs ---------------------------------------------------------------------------

    def get(self, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any) -> Response:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, *, json: Any = _UNSET, **kw: Any) -> Response:
        __tracebackhide__ = True
        return self.request("POST", path, json=json, **kw)

    def put(self, path: str, *, json: Any = _UNSET, **kw: Any) -> Response:
        __tracebackhide__ = True
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path: str, *, json: Any = _UNSET, **kw: Any) -> Response:
        __tracebackhide__ = True
        return self.request("PATCH", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        __tracebackhide__ = True
        return self.request("DELETE", path, **kw)

    def follow(self, response: Response) -> Response:
        __tracebackhide__ = True
        """GET the Location of a redirect, only on the same origin (token never leaves)."""
        __tracebackhide__ = True
        location = response.location
        if not location:
            raise HarnessError("follow() needs a response with a Location header")
        target = httpx.URL(str(self.url_for("/"))).join(location)
        if (target.scheme, target.host, target.port) != self.origin:
            raise UnsafeRedirect(
                f"the server redirects to another origin ({target.host}); the harness does "
                "not send the bearer token there",
                clause="RFC7644 2",
                expected=f"no redirect away from {self._base.host}",
                actual=f"Location: {location}",
                exchanges=[response.exchange],
            )
        return self.request("GET", str(target))

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = _UNSET,
        content: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool | str = True,
    ) -> Response:
        """Send one request; `auth` False sends no token, a string sends that token."""
        __tracebackhide__ = True
        url = self.url_for(path)
        send_headers = {"Accept": SCIM_JSON}
        body = b""
        if json is not _UNSET:
            body = _dumps(json)
            send_headers["Content-Type"] = SCIM_JSON
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
            send_headers["Content-Type"] = SCIM_JSON
        token = self.token if auth is True else (auth or None)
        if token:
            send_headers["Authorization"] = f"Bearer {token}"
        for name, value in (headers or {}).items():
            send_headers = {k: v for k, v in send_headers.items() if k.lower() != name.lower()}
            send_headers[name] = value
        query: list[tuple[str, str | int | float | bool | None]] = (
            list(self._base_params) if not url.query else []
        )
        query += [(k, str(v)) for k, v in (params or {}).items() if v is not None]
        if query:
            url = url.copy_merge_params(query)
        request = self._http.build_request(method, url, headers=send_headers, content=body)
        return self._send(request, body)

    # -- transport -----------------------------------------------------------------------

    def _send(self, request: httpx.Request, body: bytes) -> Response:
        __tracebackhide__ = True
        start = time.perf_counter()
        chunks: list[bytes] = []
        status: int | None = None
        resp_headers = httpx.Headers()
        truncated = False
        dropped = 0
        error: str | None = None
        try:
            response = self._http.send(request, stream=True)
            try:
                status, resp_headers = response.status_code, response.headers
                size = 0
                for chunk in _iter_bounded(response, start, self.timeout * 3):
                    if size + len(chunk) > self.max_body:
                        chunks.append(chunk[: self.max_body - size])
                        truncated = True
                        declared = response.headers.get("content-length", "")
                        dropped = int(declared) - self.max_body if declared.isdigit() else 0
                        error = f"body larger than {self.max_body} bytes; reading stopped"
                        break
                    chunks.append(chunk)
                    size += len(chunk)
            finally:
                response.close()
        except _SlowBody as exc:
            truncated, error = True, str(exc)
        except httpx.LocalProtocolError as exc:
            raise HarnessError(f"the harness built an invalid request: {exc}") from exc
        except httpx.TimeoutException as exc:
            error = f"timed out after {self.timeout:g} s ({type(exc).__name__})"
            truncated = status is not None
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
            truncated = status is not None
        content = b"".join(chunks)
        exchange = self._masker.exchange(
            method=request.method,
            url=str(request.url),
            request_headers=request.headers.multi_items(),
            request_body=body,
            status=status,
            response_headers=resp_headers.multi_items(),
            response_body=content,
            elapsed=time.perf_counter() - start,
            response_dropped=dropped,
            error=error,
        )
        self.recorder.record(exchange)
        if status is None or (error and not content and truncated):
            raise TransportFailure(
                f"no usable response: {exchange.error}",
                clause="RFC7644 3",
                keyword=Keyword.MUST,
                expected="an HTTP response",
                actual=exchange.error,
                exchanges=[exchange],
            )
        result = Response(exchange, resp_headers, content, truncated)
        is_json, value = result.parsed()
        seen = Observed(exchange, value, is_json, truncated)
        for finding in run_response_checks(seen, self.recorder.disabled):
            if finding.keyword is Keyword.MUST:
                raise finding
            self.recorder.findings.append(finding)
        return result


class _SlowBody(Exception):
    pass


def _iter_bounded(response: httpx.Response, start: float, limit: float) -> Iterator[bytes]:
    """The body's chunks, stopping when reading it takes longer than `limit` seconds."""
    for chunk in response.iter_bytes():
        yield chunk
        if time.perf_counter() - start > limit:
            raise _SlowBody(f"body still arriving after {limit:g} s; reading stopped")


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8")
