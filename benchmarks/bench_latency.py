"""Latency of single-resource operations at N users, measured with wrk instead of Python.

Issue 2, point 9 asks for p99 under 20 ms for single-resource operations at 100,000 users
and concurrency 8. `bench_server.py` measures latency with a Python client that saturates
its own core at about 1,500 req/s, so its p99 is mostly the client's queueing. Here the
load comes from wrk (Debian package `wrk`, a C client; `apt-get install wrk`): one thread,
8 connections, pinned to the other core, each phase a Lua script. The server is seeded over
its own HTTP API by `bench_server.seed` (Bulk), then each phase runs for `--seconds`:

    get      GET /Users/{id} on random existing users
    filter   GET /Users?filter=userName eq "..." on random existing users
    patch    PATCH /Users/{id} replace title, alternating with Okta's path-less
             {"op":"replace","value":{"active":...}}
    create   POST /Users with a unique userName (what follows an IdP's lookup)
    lookup   GET /Users?filter=userName eq "..." for users that do not exist

For each phase it prints requests/s, p50/p90/p99/max latency in ms as wrk measured them,
non-2xx answers and socket errors, and the server's CPU time per request (from
/proc/<pid>/stat). Servers listen on 127.0.0.1 only and are stopped by pid.

    python benchmarks/bench_latency.py --users 100000 --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.progress import Progress
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_server as bench  # the sibling script: servers, seeding, payloads

PHASES = ("get", "filter", "patch", "create", "lookup")

# One Lua script for every phase: `init` reads the phase and the user keys/ids from the
# arguments' files, `request` builds the next request, and `done` prints wrk's latency
# distribution and its count of answers over 399 as one JSON line.
LUA = r"""
local phase, ids, keys, tag, BASE
local n = 0
local auth = "Bearer " .. os.getenv("BENCH_TOKEN")

local function lines(path)
  local out = {}
  for line in io.lines(path) do out[#out + 1] = line end
  return out
end

function init(args)
  phase = args[1]
  ids = lines(args[2])
  keys = lines(args[3])
  tag = args[4]
  BASE = args[5]
  math.randomseed(os.time())
end

local headers = {
  ["Authorization"] = auth,
  ["Content-Type"] = "application/scim+json",
  ["Accept"] = "application/scim+json",
}

local function quote(s) return (s:gsub('"', '\\"')) end

local function filter_path(user_name)
  local f = 'userName eq "' .. quote(user_name) .. '"'
  return "/Users?filter=" .. f:gsub("[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end)
end

function request()
  n = n + 1
  if phase == "get" then
    return wrk.format("GET", BASE .. "/Users/" .. ids[math.random(#ids)], headers)
  elseif phase == "filter" then
    local user_name = keys[math.random(#keys)] .. "@bench.example"
    return wrk.format("GET", BASE .. filter_path(user_name), headers)
  elseif phase == "lookup" then
    local user_name = "absent-" .. tag .. "-" .. n .. "@bench.example"
    return wrk.format("GET", BASE .. filter_path(user_name), headers)
  elseif phase == "patch" then
    local body
    if n % 2 == 0 then
      body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":'
        .. '[{"op":"replace","path":"title","value":"Title ' .. n .. '"}]}'
    else
      body = '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":'
        .. '[{"op":"replace","value":{"active":' .. (n % 4 == 1 and "false" or "true") .. '}}]}'
    end
    return wrk.format("PATCH", BASE .. "/Users/" .. ids[math.random(#ids)], headers, body)
  else -- create
    local key = "lat-" .. tag .. "-" .. n
    local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
      .. '"userName":"' .. key .. '@bench.example","externalId":"ext-' .. key .. '",'
      .. '"name":{"givenName":"Bench","familyName":"' .. key .. '"},'
      .. '"displayName":"Bench ' .. key .. '",'
      .. '"emails":[{"value":"' .. key .. '@mail.example","type":"work","primary":true}],'
      .. '"active":true}'
    return wrk.format("POST", BASE .. "/Users", headers, body)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK-RESULT {"requests":%d,"duration_us":%d,"over399":%d,"socket_errors":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean))
end
"""


@dataclass
class LatencyResult:
    phase: str
    requests: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    over_399: int
    socket_errors: int
    cpu_us_per_request: float


def run_wrk(
    server: bench.Server,
    phase: str,
    files: tuple[Path, Path],
    script: Path,
    args: argparse.Namespace,
) -> LatencyResult:
    """One wrk run for `phase`; the server's CPU time is read around it."""
    parts = urlsplit(server.base_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    cmd = bench._pinned(
        [
            "wrk",
            "-t1",
            f"-c{args.concurrency}",
            f"-d{max(1, round(args.seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            origin,
            "--",
            phase,
            str(files[0]),
            str(files[1]),
            f"{phase}{int(time.time())}",
            parts.path,
        ],
        None if args.no_pin else args.client_cpu,
    )
    cpu0 = server.cpu_seconds()
    completed = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=args.seconds + 60,
        check=False,
        env={**os.environ, "BENCH_TOKEN": bench.TOKEN},
    )
    cpu = server.cpu_seconds() - cpu0
    line = next(
        (x for x in completed.stdout.splitlines() if x.startswith("WRK-RESULT ")),
        None,
    )
    if completed.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({completed.returncode}): "
            f"{completed.stdout[-2000:]}{completed.stderr[-2000:]}"
        )
    data = json.loads(line.split(" ", 1)[1])
    requests = max(1, int(data["requests"]))
    return LatencyResult(
        phase=phase,
        requests=int(data["requests"]),
        rps=round(data["requests"] / (data["duration_us"] / 1e6), 1),
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        over_399=int(data["over399"]),
        socket_errors=int(data["socket_errors"]),
        cpu_us_per_request=round(cpu / requests * 1e6),
    )


def table(label: str, users: int, concurrency: int, results: Sequence[LatencyResult]) -> Table:
    t = Table(title=f"{label}, N = {users:,} users, wrk -t1 -c{concurrency}")
    for column in (
        "phase",
        "requests",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "status > 399",
        "socket errors",
        "server CPU µs/req",
    ):
        t.add_column(column, justify="left" if column == "phase" else "right")
    for r in results:
        t.add_row(
            r.phase,
            f"{r.requests:,}",
            f"{r.rps:,.0f}",
            f"{r.p50_ms:.2f}",
            f"{r.p90_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{r.max_ms:.1f}",
            str(r.over_399),
            str(r.socket_errors),
            f"{r.cpu_us_per_request:,}",
        )
    return t


async def _seed(server: bench.Server, args: argparse.Namespace) -> bench.Population:
    with Progress(console=Console(stderr=True), transient=True) as progress:
        client = bench.HttpClient(server.base_url, 8, args.request_timeout)
        try:
            pop, result = await bench.seed(
                client,
                server,
                args.users,
                concurrency=8,
                bulk_size=args.bulk_size,
                timeout=args.seed_timeout,
                progress=progress,
            )
        finally:
            await client.aclose()
    if result.errors or result.users < args.users:
        raise RuntimeError(f"seeding failed: {result}")
    print(f"seeded {result.users:,} users in {result.seconds} s", flush=True)
    return pop


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100_000, help="N (default %(default)s)")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--concurrency", type=int, default=8, help="wrk connections")
    parser.add_argument("--phase", action="append", choices=PHASES, help="repeatable")
    parser.add_argument("--bulk-size", type=int, default=500, help="seeding Bulk size")
    parser.add_argument("--seed-timeout", type=float, default=900.0, help="seconds")
    parser.add_argument("--request-timeout", type=float, default=120.0, help="seconds")
    parser.add_argument("--server-cpu", type=int, default=0, help="core for the server")
    parser.add_argument("--client-cpu", type=int, default=1, help="core for wrk")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write numbers")
    parser.add_argument(
        "--build",
        choices=("native", "pure"),
        default="native",
        help="the server's build, as bench_server.py's --build (default %(default)s)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    phases = args.phase or list(PHASES)
    workdir = Path(tempfile.mkdtemp(prefix="scim-latency-"))
    server = bench.launch_server(
        "ours",
        bench.ours_label(args.build),
        bench.ours_cmd(workdir),
        None if args.no_pin else args.server_cpu,
        workdir,
        bench.ours_env(args.build),
    )
    try:
        bench.wait_ready(server)
        pop = asyncio.run(_seed(server, args))
        ids_file, keys_file = workdir / "ids.txt", workdir / "keys.txt"
        ids_file.write_text("\n".join(pop.user_ids) + "\n")
        keys_file.write_text("\n".join(pop.user_keys) + "\n")
        script = workdir / "phase.lua"
        script.write_text(LUA)
        results = []
        for phase in phases:
            asyncio.run(bench.settle(server))
            results.append(run_wrk(server, phase, (ids_file, keys_file), script, args))
        rss = server.rss_mb()
    finally:
        bench.stop_server(server)
        shutil.rmtree(workdir, ignore_errors=True)
    console = Console(width=140)
    console.print(table(server.label, args.users, args.concurrency, results))
    console.print(f"server RSS at the end: {rss:.0f} MB")
    if args.json is not None:
        doc = {
            "users": args.users,
            "build": args.build,
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "rss_mb": round(rss, 1),
            "phases": [asdict(r) for r in results],
        }
        args.json.write_text(json.dumps(doc, indent=2) + "\n")
    return 1 if any(r.over_399 or r.socket_errors for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
