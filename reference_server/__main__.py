"""`scim-reference-server` / `python -m reference_server`: run the server under uvicorn.

Once the socket accepts connections it prints, flushed, on stdout:

    SCIM base URL: http://HOST:PORT/scim/v2
    SCIM bearer token: <token>          (development mode: a freshly issued token)
    ADMIN URL: http://HOST:PORT/admin/v1
    ORGANIZATION: <id of the bootstrap organization>
    READY http://HOST:PORT/scim/v2

`--port 0` binds a free port and the lines carry the real one; tools (the harness's
`--scim-url embedded`) wait for the READY line. SIGTERM and SIGINT shut down gracefully
and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from reference_server.app import create_app
from reference_server.endpoints.admin import ADMIN_PATH
from reference_server.endpoints.common import BASE_PATH, ServerState
from reference_server.provisioning.policy import BREAK_NAMES, load_policy_file, parse_policy
from reference_server.scim.errors import ScimError
from reference_server.settings import ServerSettings

__all__ = ["main", "parse_args"]

_START_TIMEOUT = 120.0  # seconds to wait for the socket (migrations on a slow database)


_SECRET_OPTIONS = ("--bootstrap-token", "--admin-token")


def _glue_secrets(argv: Sequence[str]) -> list[str]:
    """`--bootstrap-token VALUE` as `--bootstrap-token=VALUE`: a random URL-safe token
    starts with '-' one time in 64, and argparse would take it for an option."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _SECRET_OPTIONS and i + 1 < len(argv):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="scim-reference-server",
        description="The bundled SCIM 2.0 reference server (RFC 7643/7644).",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8000,
        help="port to bind; 0 picks a free one (default %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL: sqlite:///scim.db (default), sqlite:// (in memory) or "
        "postgresql+psycopg://...; env SCIM_REF_DATABASE_URL",
    )
    parser.add_argument(
        "--bootstrap-token",
        default=None,
        help="known bearer token of the ready organization (scripts, CI); "
        "env SCIM_REF_BOOTSTRAP_TOKEN; without it a fresh token is issued and printed",
    )
    parser.add_argument(
        "--admin-token",
        default=None,
        help="credential of the /admin/v1 API; env SCIM_REF_ADMIN_TOKEN",
    )
    parser.add_argument(
        "--policy",
        type=Path,
        default=None,
        metavar="FILE",
        help="policy file (TOML): apply its [policy] table to the bootstrap organization "
        "(registers its domains, creates its default team, completes the admin profile, "
        "configures SSO, enables SCIM, activates the directory connection); without it the "
        "bootstrap organization is a plain SCIM store. Its effects show through the admin "
        "API (give --admin-token). Presets: profiles/policies/*.toml",
    )
    parser.add_argument(
        "--break",
        dest="break_promise",
        choices=BREAK_NAMES,
        default=None,
        metavar="PROMISE",
        help="test-only, needs --allow-break: violate exactly this one promise (or, as "
        "promise:mode, one more way of breaking it) of the "
        f"provisioning system ({', '.join(BREAK_NAMES)})",
    )
    parser.add_argument(
        "--allow-break",
        action="store_true",
        help="test-only: accept --break, and a policy's 'break' key through the admin API",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log every request (off by default: speed)"
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "uvloop", "asyncio"),
        default="auto",
        help="event loop, as uvicorn's --loop: auto takes uvloop when it is installed "
        "(about 40 µs less CPU per request here, benchmarks/README.md), else asyncio's "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--proxy-headers",
        action="store_true",
        help="trust X-Forwarded-Proto/For from --forwarded-allow-ips (behind a reverse "
        "proxy; off by default: the server is reached directly)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        help="proxies whose X-Forwarded-* headers are trusted with --proxy-headers "
        "(default %(default)s)",
    )
    args = parser.parse_args(_glue_secrets(sys.argv[1:] if argv is None else argv))
    if not 0 <= args.port <= 65535:
        parser.error("--port must be between 0 and 65535")
    if args.break_promise is not None and not args.allow_break:
        parser.error("--break is test-only: add --allow-break to use it")
    args.policy_table = None
    if args.policy is not None:
        try:
            args.policy_table = load_policy_file(args.policy)
            parse_policy(args.policy_table, allow_break=args.allow_break)
        except ValueError as exc:
            parser.error(str(exc))
        except ScimError as exc:
            parser.error(f"{args.policy}: {exc.detail}")
    return args


def loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop `--loop` names: uvloop's for "uvloop" (and for "auto" when it is
    installed; it is a dependency except on Windows), None (asyncio's) otherwise."""
    if name == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if name == "uvloop":
            raise SystemExit("--loop uvloop: the uvloop package is not installed") from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def _url(host: str, port: int, path: str = BASE_PATH) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{path}"


async def _serve(server: uvicorn.Server, app: Starlette) -> int:
    task = asyncio.create_task(server.serve())
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _START_TIMEOUT
    while not server.started and not task.done() and loop.time() < deadline:
        await asyncio.sleep(0.01)
    if not server.started:
        server.should_exit = True
        await task
        print("the server did not start", file=sys.stderr, flush=True)
        return 1
    sockets = [sock for srv in server.servers for sock in srv.sockets]
    port = int(sockets[0].getsockname()[1])
    state: ServerState = app.state.scim
    url = _url(server.config.host, port)
    print(f"SCIM base URL: {url}", flush=True)
    if state.bootstrap_token is not None:
        print(f"SCIM bearer token: {state.bootstrap_token}", flush=True)
    print(f"ADMIN URL: {_url(server.config.host, port, ADMIN_PATH)}", flush=True)
    if state.bootstrap_tenant is not None:
        print(f"ORGANIZATION: {state.bootstrap_tenant}", flush=True)
    # What start-up built (schemas, compiled grammar, SQL, routes) lives as long as the
    # process: out of the collector's sight, a full collection no longer walks it (a 70 ms
    # pause every few thousand requests, the max latency of writes, down to ~6 ms).
    gc.freeze()
    print(f"READY {url}", flush=True)
    await task
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = ServerSettings.from_env(
        database_url=args.database_url,
        bootstrap_token=args.bootstrap_token,
        admin_token=args.admin_token,
        policy=args.policy_table,
        break_promise=args.break_promise,
        allow_break=args.allow_break or None,
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="info",
        access_log=args.access_log,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        lifespan="on",
        server_header=False,
    )
    server = uvicorn.Server(config)

    # uvicorn re-raises the signal that stopped it once it has shut down; with these
    # handlers in place that is a no-op and the process exits 0 after a clean shutdown.
    def _ignore(_sig: int, _frame: FrameType | None) -> None:
        return None

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore)
    with asyncio.Runner(loop_factory=loop_factory(args.loop)) as runner:
        return runner.run(_serve(server, app))


if __name__ == "__main__":
    sys.exit(main())
