"""`scim-idp record`: a recording proxy to put between a real IdP and a SCIM server.

Every request is forwarded to `--upstream` (same origin only, redirects never followed) and
the upstream's answer goes back to the IdP byte for byte; each exchange is appended to a
JSON Lines file (format in `harness.idp.traffic`) with the IdP's token masked, one flushed
line per exchange, so a killed proxy still leaves a readable file.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import itertools
import json
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from harness.client import MAX_BODY
from harness.exchange import Masker
from harness.idp.traffic import dump_line, utc_now

__all__ = ["RecordingProxy", "configure_parser", "run", "uvicorn_config"]

ASGIMessage = dict[str, Any]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
"""Headers that belong to one connection (RFC 9110 7.6.1), never forwarded."""

NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length", "accept-encoding"}
"""`accept-encoding` is dropped so the upstream answers in identity encoding: the bytes the
IdP gets are the bytes the file records."""


def request_secrets(headers: list[tuple[str, str]]) -> list[str]:
    """The credentials in a request's Authorization header, for masking echoes of them."""
    found: list[str] = []
    for name, value in headers:
        if name.lower() not in ("authorization", "proxy-authorization"):
            continue
        scheme, _, credential = value.strip().partition(" ")
        credential = credential.strip() or scheme
        found.append(credential)
        if scheme.lower() == "basic":
            with contextlib.suppress(binascii.Error, UnicodeDecodeError, ValueError):
                decoded = base64.b64decode(credential, validate=True).decode("utf-8")
                found += [decoded, *decoded.split(":", 1)]
    return found


def _error_body(status: int, detail: str) -> bytes:
    return json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(status),
            "detail": detail,
        }
    ).encode()


class RecordingProxy:
    """ASGI app: forward to the upstream, answer with its answer, append one line per exchange."""

    def __init__(
        self,
        upstream: str,
        out: IO[str],
        *,
        timeout: float = 30.0,
        max_body: int = MAX_BODY,
        secrets: tuple[str, ...] = (),
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        url = httpx.URL(upstream)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"--upstream must be an http(s) URL, got {upstream!r}")
        self.upstream = url.copy_with(query=None, fragment=None)
        self.base_path = url.path.rstrip("/")
        self.out = out
        self.timeout = timeout
        self.max_body = max_body
        self.secrets = secrets
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._seq = itertools.count(1)
        self.recorded = 0

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

    def _http_client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                follow_redirects=False,
                timeout=self.timeout,
                trust_env=False,
                transport=self._transport,
            )
        return self._client

    def relative_path(self, raw_path: str) -> str:
        """The request path below the SCIM base (the IdP may use the upstream's base path)."""
        base = self.base_path
        if base and (raw_path == base or raw_path.startswith(base + "/")):
            raw_path = raw_path[len(base) :]
        return raw_path or "/"

    async def _read_body(self, receive: Any) -> tuple[bytes, bool]:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"".join(chunks), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return b"".join(chunks), True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        seq = next(self._seq)
        when = utc_now()
        start = time.perf_counter()
        method: str = scope["method"]
        raw = scope.get("raw_path") or scope["path"].encode()
        path = self.relative_path(raw.decode("latin-1").split("?", 1)[0])
        query = scope.get("query_string", b"").decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        masker = Masker([*request_secrets(headers), *self.secrets])
        body, too_big = await self._read_body(receive)

        def write(status: int | None, out_headers: Any, out_body: bytes, error: str | None) -> None:
            line = dump_line(
                seq=seq,
                time=when,
                elapsed=time.perf_counter() - start,
                method=method,
                path=path,
                query=query,
                request_headers=headers,
                request_body=body,
                status=status,
                response_headers=out_headers,
                response_body=out_body,
                masker=masker,
                error=error,
            )
            self.out.write(line + "\n")
            self.out.flush()
            self.recorded += 1

        if too_big:
            detail = f"request body larger than {self.max_body} bytes; not forwarded"
            write(413, [], _error_body(413, detail), detail)
            await self._answer(send, 413, detail)
            return
        origin = f"{self.upstream.scheme}://{self.upstream.netloc.decode('ascii')}"
        url = httpx.URL(origin + self.base_path + path + (f"?{query}" if query else ""))
        forward = [(k, v) for k, v in headers if k.lower() not in NOT_FORWARDED]
        forward.append(("accept-encoding", "identity"))
        client = self._http_client()
        request = client.build_request(method, url, headers=forward, content=body)
        try:
            response = await client.send(request, stream=True)
        except httpx.HTTPError as exc:
            detail = f"upstream error: {type(exc).__name__}: {exc}"
            write(502, [], _error_body(502, masker.text(detail)), detail)
            await self._answer(send, 502, masker.text(detail))
            return
        await self._relay(response, send, write)

    async def _relay(self, response: httpx.Response, send: Any, write: Any) -> None:
        """Stream the upstream's answer to the IdP, keeping a bounded copy for the file."""
        out_headers = [
            (k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP
        ]
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in out_headers],
            }
        )
        kept: list[bytes] = []
        size = 0
        error: str | None = None
        held = b""  # one chunk held back: the IdP has the whole answer only after the write
        try:
            async for chunk in response.aiter_raw():
                if size < self.max_body:
                    kept.append(chunk[: self.max_body - size])
                size += len(chunk)
                if held:
                    await send({"type": "http.response.body", "body": held, "more_body": True})
                held = chunk
        except httpx.HTTPError as exc:
            error = f"upstream body broken off: {type(exc).__name__}: {exc}"
        finally:
            await response.aclose()
        if size > self.max_body and error is None:
            error = f"response body of {size} bytes; the file keeps the first {self.max_body}"
        write(response.status_code, out_headers, b"".join(kept), error)
        await send({"type": "http.response.body", "body": held, "more_body": False})

    @staticmethod
    async def _answer(send: Any, status: int, detail: str) -> None:
        body = _error_body(status, detail)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/scim+json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# -- command line ------------------------------------------------------------------------


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of `scim-idp record`."""
    parser.description = (
        "Record the traffic between an IdP and a SCIM server: point the IdP at the printed "
        "URL; every exchange is forwarded to --upstream and appended to --out (JSON Lines, "
        "token masked)."
    )
    parser.add_argument(
        "--listen", type=int, required=True, metavar="PORT", help="port to listen on (0: any)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--upstream", required=True, metavar="URL", help="SCIM base URL of the real server"
    )
    parser.add_argument(
        "--out",
        "-o",
        type=Path,
        default=Path("scim-traffic.jsonl"),
        metavar="FILE",
        help="JSON Lines file the exchanges are appended to (default: scim-traffic.jsonl)",
    )
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="seconds to wait for the upstream (30)"
    )
    parser.add_argument(
        "--max-body",
        type=int,
        default=MAX_BODY,
        metavar="BYTES",
        help=f"largest request body forwarded and response body recorded ({MAX_BODY})",
    )


def uvicorn_config(proxy: RecordingProxy, host: str, port: int) -> Any:
    """uvicorn settings for the proxy: no `server`/`date` headers of its own (transparent)."""
    import uvicorn

    return uvicorn.Config(
        proxy,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        access_log=False,
        server_header=False,
        date_header=False,
    )


async def _serve(proxy: RecordingProxy, host: str, port: int, out: Path) -> None:
    import uvicorn

    server = uvicorn.Server(uvicorn_config(proxy, host, port))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise OSError(f"could not listen on {host}:{port}")
        await asyncio.sleep(0.02)
    bound = server.servers[0].sockets[0].getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{bound}{proxy.base_path}"
    print(f"RECORDING {url} -> {proxy.upstream} into {out}", flush=True)
    print(f"READY {url}", flush=True)
    await task


def run(args: argparse.Namespace) -> int:
    """Run the proxy until interrupted; 2 when the options or the port are unusable."""
    if not 0 <= args.listen <= 65535:
        print(f"error: --listen must be a port number, got {args.listen}", file=sys.stderr)
        return 2
    try:
        handle = args.out.open("a", encoding="utf-8")
    except OSError as exc:
        print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    with handle:
        try:
            proxy = RecordingProxy(
                args.upstream, handle, timeout=args.timeout, max_body=args.max_body
            )
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        try:
            asyncio.run(_serve(proxy, args.host, args.listen, args.out))
        except KeyboardInterrupt:
            pass
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"recorded {proxy.recorded} exchanges into {args.out}", flush=True)
    return 0
