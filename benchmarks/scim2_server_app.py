"""Run scim2-server (PyPI, pinned 0.8.3) as an ASGI app under uvicorn, with a bearer token.

scim2-server ships `ASGIApplication` (scim2_server.applications.asgi) over an asynchronous
storage, and its `scim2-server` command builds the provider (RFC 7643 default schemas and
resource types, default service provider configuration) and a `BearerTokenApplication`
on WSGI. This module does the same on ASGI, with the same in-memory storage
(`AsyncInMemoryStorage`), so that both servers of the benchmark run under the same uvicorn,
on the same event loop (`--loop`, as the reference server's: uvloop when installed, which is
also what `uvicorn` itself picks by default).

    python benchmarks/scim2_server_app.py --host 127.0.0.1 --port 0 --bearer-token T

prints `READY http://HOST:PORT/v2` once the socket accepts connections, like our server.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn
from scim2_models import ScimProvider, UnauthorizedException
from scim2_server.applications.asgi import ASGIApplication
from scim2_server.memory import AsyncInMemoryStorage
from scim2_server.requests import ScimRequest
from scim2_server.service import ScimService
from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
from scim2_server.utils import (
    load_default_resource_types,
    load_default_schemas,
    load_default_service_provider_config,
)

__all__ = ["BearerTokenASGIApplication", "build_app", "main"]


class BearerTokenASGIApplication(ASGIApplication):
    """scim2-server's ASGI application that accepts only static bearer tokens.

    The same check as scim2-server's own `BearerTokenApplication` (its WSGI test server).
    """

    def __init__(
        self,
        storage: AsyncInMemoryStorage,
        provider: ScimProvider,
        service: ScimService | None = None,
        bearer_tokens: Sequence[str] = (),
    ) -> None:
        super().__init__(storage, provider, service)
        self.bearer_tokens = set(bearer_tokens)

    def check_auth(self, request: ScimRequest) -> None:
        if not self.bearer_tokens:
            return
        scheme, _, token = (request.header("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or token not in self.bearer_tokens:
            raise UnauthorizedException


def build_app(bearer_token: str) -> BearerTokenASGIApplication:
    """The app as `scim2-server --bearer-token TOKEN` builds it, on ASGI."""
    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    return BearerTokenASGIApplication(
        AsyncInMemoryStorage(), provider, service=service, bearer_tokens=[bearer_token]
    )


async def _serve(server: uvicorn.Server, host: str) -> int:
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60.0
    while not server.started and not task.done() and loop.time() < deadline:
        await asyncio.sleep(0.01)
    if not server.started:
        server.should_exit = True
        await task
        print("the server did not start", file=sys.stderr, flush=True)
        return 1
    port = int(server.servers[0].sockets[0].getsockname()[1])
    print(f"READY http://{host}:{port}/v2", flush=True)
    await task
    return 0


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop for "uvloop", and for "auto" when installed (as uvicorn's --loop);
    written out here rather than imported, so this process loads nothing of our server."""
    if name == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if name == "uvloop":
            raise
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--bearer-token", required=True)
    parser.add_argument("--loop", choices=("auto", "uvloop", "asyncio"), default="auto")
    args = parser.parse_args(argv)
    # scim2-server logs every client error at INFO: keep the benchmark's stderr quiet.
    logging.getLogger("scim2_server").setLevel(logging.WARNING)
    config = uvicorn.Config(
        build_app(args.bearer_token),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    server = uvicorn.Server(config)

    def _ignore(_sig: int, _frame: FrameType | None) -> None:
        return None

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore)
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        return runner.run(_serve(server, args.host))


if __name__ == "__main__":
    sys.exit(main())
