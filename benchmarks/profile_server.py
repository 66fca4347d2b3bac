"""Run the reference server in-process under cProfile, one profile per benchmark phase.

    python benchmarks/profile_server.py serve --out DIR --database-url sqlite:///x.db \
        --bootstrap-token T          # what `bench_server.py --profile DIR` starts
    python benchmarks/profile_server.py report DIR [--top 25]

`serve` imports `reference_server.app.create_app` and runs it under uvicorn in this
process, with the same settings as `python -m reference_server` (no access log, the same
event loop), and
prints `READY <url>` like it. On SIGUSR1 it writes what it profiled since the last SIGUSR1
to `DIR/<label>.prof`, where the label is read from `DIR/.label` (the benchmark writes the
phase name there before signalling), and starts a fresh profile. `report` prints, for
each profile, the functions with the most own time (tottime) and the most cumulative time
in the server's code and its libraries.

cProfile slows Python code down (about 1.5-2x): read the shares, not the absolute times,
and never take the benchmark table from a profiled run.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import uvicorn

__all__ = ["main"]


def _serve(args: argparse.Namespace) -> int:
    from reference_server.__main__ import loop_factory
    from reference_server.app import create_app
    from reference_server.settings import ServerSettings

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    settings = ServerSettings.from_env(
        database_url=args.database_url, bootstrap_token=args.bootstrap_token
    )
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        server_header=False,
    )
    server = uvicorn.Server(config)
    # CPU time, not wall time: on a busy machine wall time charges preemption to whatever
    # function happened to be running.
    profiler = cProfile.Profile(time.process_time)

    def dump() -> None:
        profiler.disable()
        label_file = out / ".label"
        label = label_file.read_text().strip() if label_file.exists() else "profile"
        profiler.dump_stats(out / f"{label}.prof")
        profiler.clear()
        profiler.enable()

    async def run() -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, dump)
        task = asyncio.create_task(server.serve())
        deadline = loop.time() + 120
        while not server.started and not task.done() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        if not server.started:
            server.should_exit = True
            await task
            return 1
        port = int(server.servers[0].sockets[0].getsockname()[1])
        print(f"READY http://{args.host}:{port}/scim/v2", flush=True)
        await task
        return 0

    def _ignore(_sig: int, _frame: FrameType | None) -> None:
        return None

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _ignore)
    profiler.enable()
    try:
        with asyncio.Runner(loop_factory=loop_factory("auto")) as runner:
            return runner.run(run())
    finally:
        profiler.disable()


def _report(args: argparse.Namespace) -> int:
    files = sorted(Path(args.dir).glob("*.prof"), key=lambda p: p.stat().st_mtime)
    if not files:
        print(f"no .prof file in {args.dir}", file=sys.stderr)
        return 1
    for path in files:
        for key, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
            buf = io.StringIO()
            stats = pstats.Stats(str(path), stream=buf)
            stats.strip_dirs().sort_stats(key).print_stats(args.top)
            text = buf.getvalue()
            # Keep the header line and the table, drop pstats' preamble of file names.
            body = text[text.find("   ncalls") :] if "   ncalls" in text else text
            print(f"==== {path.stem}: top {args.top} by {title}")
            print(body.rstrip())
            print()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the server under cProfile")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0)
    serve.add_argument("--database-url", required=True)
    serve.add_argument("--bootstrap-token", required=True)
    serve.add_argument("--out", type=Path, required=True, help="directory of the .prof files")
    report = sub.add_parser("report", help="print the hot spots of each profile")
    report.add_argument("dir", type=Path)
    report.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    return _serve(args) if args.command == "serve" else _report(args)


if __name__ == "__main__":
    sys.exit(main())
