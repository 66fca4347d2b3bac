"""Benchmark the reference server against scim2-server with one IdP-shaped workload.

Issue 2, point 9. Both servers run side by side in the same run, one after the other on
the same core (`taskset -c 0` by default), the load client on another core (`--client-cpu`).
Each server is seeded with N users and a few groups over its own HTTP API, then the
workload runs phase by phase against one server, then the other:

    lookup+create   GET /Users?filter=userName eq "x" (expect none), then POST /Users
    filter          GET /Users?filter=<attr> eq "v" on existing users, attr rotating over
                    userName, externalId, emails.value, displayName (expect exactly one)
    patch           PATCH /Users/{id}, rotating dialects: standard, Okta's path-less
                    {"op":"replace","value":{"active":false}}, Entra's
                    {"op":"Replace","path":"active","value":"False"}, a value-filter path,
                    Entra's capitalised "Add"
    page            GET /Users?startIndex=k&count=100 over all users (pages in a shuffled
                    order, so a time-bounded phase still samples the whole range)
    get             GET /Users/{id} on random existing users
    group-patch     PATCH /Groups/{id} on a growing group: add 50 members per request,
                    alternating with a single remove `members[value eq "id"]`; once every
                    user is a member, a new group (POST /Groups, counted) takes the adds,
                    so every add adds 50 non-members at any N. It runs last, so the other
                    phases see the same users at every N (at 1,000 users it would make each
                    seeded user a member of hundreds of groups, at 100,000 of one or two).

For each phase and server it prints requests, requests/s, p50/p99 latency (ms), errors and
the server's CPU time per request (utime+stime of the server process from
/proc/<pid>/stat, before and after the phase, divided by the requests), and the ratio
ours/theirs of that CPU time. A Python client caps every server at roughly 1,500 req/s on
a small machine, so CPU per request is the figure that compares the servers. The client is
aiohttp: httpx reached only about 300 req/s on one core of the project's machine, so a
server faster than that sat idle most of a phase and every request paid a wake-up from
idle (a canned-JSON ASGI app cost 399 µs of CPU per request under httpx at 318 req/s,
269 µs under aiohttp at 3,056 req/s, 106 µs under wrk).

    python benchmarks/bench_server.py --users 1000 --users 100000 --concurrency 8 \
        --seconds 10 --json bench.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import platform
import queue
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import native_build
import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

__all__ = ["main", "parse_args"]

REPO_ROOT = Path(__file__).resolve().parent.parent
SCIM2_LAUNCHER = Path(__file__).resolve().parent / "scim2_server_app.py"
PROFILER = Path(__file__).resolve().parent / "profile_server.py"

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
TOKEN = "bench-token-7f3a9c"

# group-patch runs last: the memberships it makes would change what a page or a GET of
# the same users returns (their groups), and differently at each N.
PHASES: tuple[str, ...] = ("lookup+create", "filter", "patch", "page", "get", "group-patch")
SINGLE_RESOURCE_PHASES = ("lookup+create", "filter", "patch", "get")
GROUP_BATCH = 50
PAGE_SIZE = 100
START_TIMEOUT = 120.0

console = Console(stderr=True)


# --------------------------------------------------------------------------- servers


@dataclass
class Server:
    """One server process under test: its pid, SCIM base URL and scratch directory."""

    name: str
    label: str
    proc: subprocess.Popen[bytes]
    base_url: str
    log_path: Path
    lines: queue.Queue[str] = field(default_factory=queue.Queue)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu_seconds(self) -> float:
        """utime + stime of the whole process (all threads), from /proc/<pid>/stat."""
        raw = Path(f"/proc/{self.pid}/stat").read_text()
        fields = raw[raw.rindex(")") + 2 :].split()
        # After "pid (comm) ", fields[0] is the state; utime and stime are stat fields
        # 14 and 15 (1-based), i.e. 11 and 12 here.
        ticks = int(fields[11]) + int(fields[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        """VmRSS from /proc/<pid>/status, in MB."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _pinned(cmd: list[str], cpu: int | None) -> list[str]:
    if cpu is None:
        return cmd
    taskset = shutil.which("taskset")
    return [taskset, "-c", str(cpu), *cmd] if taskset else cmd


def _pump(stream: Any, lines: queue.Queue[str]) -> None:
    """Drain the server's stdout (so it never blocks on a full pipe), line by line."""
    for raw in iter(stream.readline, b""):
        lines.put(raw.decode(errors="replace").rstrip("\n"))
    stream.close()


def launch_server(
    name: str,
    label: str,
    cmd: list[str],
    cpu: int | None,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """Start a server process pinned to `cpu` (then `wait_ready`)."""
    log_path = workdir / f"{name}.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(extra_env or {})}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            _pinned(cmd, cpu),
            stdout=subprocess.PIPE,
            stderr=log,
            cwd=REPO_ROOT,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal reaches the benchmark only
        )
    if cpu is not None and not shutil.which("taskset"):
        with contextlib.suppress(OSError):
            os.sched_setaffinity(proc.pid, {cpu})
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True).start()
    return Server(name, label, proc, "", log_path, lines)


def wait_ready(server: Server) -> None:
    """Wait for the server's `READY <url>` line on stdout; stop it if it never comes."""
    proc, lines = server.proc, server.lines
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if proc.poll() is not None:
                break
            continue
        if line.startswith("READY "):
            server.base_url = line.split(" ", 1)[1].strip()
            return
    stop_server(server)
    raise RuntimeError(
        f"{server.label} did not print READY; its log ends with:\n{server.log_tail()}"
    )


def stop_server(server: Server) -> None:
    """SIGTERM, then SIGKILL after 10 s; only the process we started, by its pid."""
    proc = server.proc
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        proc.wait(timeout=10)


def ours_cmd(workdir: Path, profile_dir: Path | None = None) -> list[str]:
    db = workdir / "bench.db"
    if profile_dir is not None:
        return [
            sys.executable,
            str(PROFILER),
            "serve",
            "--out",
            str(profile_dir),
            "--database-url",
            f"sqlite:///{db}",
            "--bootstrap-token",
            TOKEN,
        ]
    return [
        sys.executable,
        "-m",
        "reference_server",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--database-url",
        f"sqlite:///{db}",
        "--bootstrap-token",
        TOKEN,
    ]


def ours_env(build: str) -> dict[str, str]:
    """The environment that selects our server's build: the compiled one (mypyc,
    `native_build.py`) first on PYTHONPATH for "native", nothing for "pure"."""
    if build == "pure":
        return {}
    native = str(native_build.ensure())
    path = os.environ.get("PYTHONPATH")
    return {
        "PYTHONPATH": native if not path else os.pathsep.join((native, path)),
        # `python -m` would put the working directory (the checkout, pure) first.
        "PYTHONSAFEPATH": "1",
    }


def ours_label(build: str) -> str:
    return "reference_server" if build == "pure" else "reference_server (mypyc)"


def scim2_cmd() -> list[str]:
    return [
        sys.executable,
        str(SCIM2_LAUNCHER),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--bearer-token",
        TOKEN,
    ]


# --------------------------------------------------------------------------- payloads


def user_body(key: str) -> dict[str, Any]:
    """An Okta/Entra-shaped user whose userName, externalId, email and displayName are unique."""
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
        "userName": f"{key}@bench.example",
        "externalId": f"ext-{key}",
        "name": {"givenName": "Bench", "familyName": key, "formatted": f"Bench {key}"},
        "displayName": f"Bench {key}",
        "emails": [{"value": f"{key}@mail.example", "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE_SCHEMA: {"employeeNumber": key, "department": "Benchmarks"},
    }


def seed_key(i: int) -> str:
    return f"u{i:07d}"


def filter_query(attr: str, key: str) -> str:
    value = {
        "userName": f"{key}@bench.example",
        "externalId": f"ext-{key}",
        "emails.value": f"{key}@mail.example",
        "displayName": f"Bench {key}",
    }[attr]
    return f'{attr} eq "{value}"'


PATCH_DIALECTS: tuple[str, ...] = (
    "standard",
    "okta-pathless-active",
    "entra-Replace-active-False",
    "value-filter-path",
    "entra-Add-title",
)


def patch_ops(dialect: str, key: str, n: int) -> list[dict[str, Any]]:
    if dialect == "standard":
        return [{"op": "replace", "path": "name.givenName", "value": f"Given{n}"}]
    if dialect == "okta-pathless-active":
        return [{"op": "replace", "value": {"active": n % 2 == 1}}]
    if dialect == "entra-Replace-active-False":
        return [{"op": "Replace", "path": "active", "value": "False" if n % 2 else "True"}]
    if dialect == "value-filter-path":
        return [
            {
                "op": "replace",
                "path": 'emails[type eq "work"].value',
                "value": f"{key}.{n}@mail.example",
            }
        ]
    if dialect == "entra-Add-title":
        return [{"op": "Add", "path": "title", "value": f"Engineer {n}"}]
    raise ValueError(dialect)


def patch_body(operations: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": operations}


# --------------------------------------------------------------------------- recording


@dataclass
class PhaseResult:
    phase: str
    server: str
    users: int
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    cpu_s: float
    cpu_us_per_req: float
    error_kinds: dict[str, int]
    # Client-side latency per kind of request (e.g. "filter emails.value"): requests, p50, p99.
    latency_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    note: str = ""
    # CPU µs/request of each round (`--rounds`), in the order they ran.
    rounds_us_per_req: list[float] = field(default_factory=list)
    # Raw latencies (s) by kind, for merging rounds; not written to the JSON.
    samples: dict[str, list[float]] = field(default_factory=dict, repr=False)


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list (0 <= q <= 1)."""
    if not sorted_values:
        return float("nan")
    rank = max(0, min(len(sorted_values) - 1, math.ceil(q * len(sorted_values)) - 1))
    return sorted_values[rank]


class TransportError(Exception):
    """No HTTP answer: connection refused or reset, or the request timed out."""


class HttpClient:
    """The load client: one aiohttp session (keep-alive, at most `concurrency` connections)
    with the base URL and the SCIM headers; `request` answers (status, body bytes)."""

    def __init__(self, base_url: str, concurrency: int, timeout: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency),
            headers={
                "Authorization": f"Bearer {TOKEN}",
                "Content-Type": "application/scim+json",
                "Accept": "application/scim+json",
            },
            timeout=aiohttp.ClientTimeout(total=timeout),
            auto_decompress=False,
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        try:
            async with self.session.request(
                method, self.base_url + path, data=content, params=params
            ) as response:
                return response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TransportError(type(exc).__name__) from exc

    async def post(self, path: str, content: bytes) -> tuple[int, bytes]:
        return await self.request("POST", path, content=content)

    async def aclose(self) -> None:
        await self.session.close()


class Recorder:
    """Times every HTTP request, checks its answer, counts requests and errors."""

    def __init__(self, client: HttpClient, max_requests: int, deadline: float) -> None:
        self.client = client
        self.max_requests = max_requests
        self.deadline = deadline
        self.started = 0  # requests issued (the budget)
        self.by_kind: dict[str, list[float]] = {}
        self.errors: Counter[str] = Counter()

    def budget_left(self, needed: int = 1) -> bool:
        return self.started + needed <= self.max_requests and time.monotonic() < self.deadline

    def _record(self, tag: str, seconds: float) -> None:
        self.by_kind.setdefault(tag, []).append(seconds)

    async def call(
        self,
        tag: str,
        method: str,
        url: str,
        *,
        body: Any = None,
        params: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        check: Callable[[Any], str | None] | None = None,
    ) -> Any:
        """One request; returns the parsed body, or None when it failed (counted as error)."""
        self.started += 1
        content = orjson.dumps(body) if body is not None else None
        t0 = time.perf_counter()
        try:
            status, raw = await self.client.request(method, url, content=content, params=params)
        except TransportError as exc:
            self._record(tag, time.perf_counter() - t0)
            self.errors[f"{tag}: {exc}"] += 1
            return None
        self._record(tag, time.perf_counter() - t0)
        if status not in expect:
            self.errors[f"{tag}: HTTP {status}"] += 1
            return None
        parsed: Any = orjson.loads(raw) if raw else {}
        if check is not None:
            problem = check(parsed)
            if problem is not None:
                self.errors[f"{tag}: {problem}"] += 1
                return None
        return parsed


def _total_is(expected: int) -> Callable[[Any], str | None]:
    def check(body: Any) -> str | None:
        total = body.get("totalResults") if isinstance(body, dict) else None
        return None if total == expected else f"totalResults {total} != {expected}"

    return check


# --------------------------------------------------------------------------- workload


@dataclass
class Population:
    """What the client knows about one server's data."""

    user_ids: list[str]
    user_keys: list[str]
    group_id: str = ""
    members: list[str] = field(default_factory=list)
    member_pos: dict[str, int] = field(default_factory=dict)
    add_cursor: int = 0
    # Users added to the current group_id so far; at len(user_ids) a new group starts.
    group_fill: int = 0
    next_group: asyncio.Future[None] | None = None
    created: int = 0

    def start_group(self, group_id: str) -> None:
        self.group_id = group_id
        self.group_fill = 0
        self.members.clear()
        self.member_pos.clear()

    def add_members(self, ids: Sequence[str]) -> None:
        for uid in ids:
            if uid not in self.member_pos:
                self.member_pos[uid] = len(self.members)
                self.members.append(uid)

    def take_random_member(self, rng: random.Random) -> str | None:
        if not self.members:
            return None
        i = rng.randrange(len(self.members))
        uid = self.members[i]
        last = self.members.pop()
        if last != uid:
            self.members[i] = last
            self.member_pos[last] = i
        del self.member_pos[uid]
        return uid


Op = Callable[[Recorder, int], Awaitable[None]]


def make_ops(pop: Population, run_tag: str, rng: random.Random) -> dict[str, Op]:
    """The six phases, as one `op(recorder, n)` each (n: the op's sequence number)."""

    async def lookup_create(rec: Recorder, n: int) -> None:
        key = f"n{run_tag}{n:07d}"
        found = await rec.call(
            "lookup",
            "GET",
            "/Users",
            params={"filter": filter_query("userName", key)},
            check=_total_is(0),
        )
        if found is None:
            return
        created = await rec.call("create", "POST", "/Users", body=user_body(key), expect=(201,))
        if created is not None:
            pop.created += 1

    filter_attrs = ("userName", "externalId", "emails.value", "displayName")

    async def filter_lookup(rec: Recorder, n: int) -> None:
        attr = filter_attrs[n % len(filter_attrs)]
        key = pop.user_keys[rng.randrange(len(pop.user_keys))]
        await rec.call(
            f"filter {attr}",
            "GET",
            "/Users",
            params={"filter": filter_query(attr, key)},
            check=_total_is(1),
        )

    async def patch(rec: Recorder, n: int) -> None:
        dialect = PATCH_DIALECTS[n % len(PATCH_DIALECTS)]
        i = rng.randrange(len(pop.user_ids))
        await rec.call(
            f"patch {dialect}",
            "PATCH",
            f"/Users/{pop.user_ids[i]}",
            body=patch_body(patch_ops(dialect, pop.user_keys[i], n)),
            expect=(200, 204),
        )

    async def start_next_group(rec: Recorder, n: int) -> None:
        created = await rec.call(
            "group create",
            "POST",
            "/Groups",
            body={"schemas": [GROUP_SCHEMA], "displayName": f"bench-growing-{run_tag}-{n}"},
            expect=(201,),
        )
        if created is not None:
            pop.start_group(str(created["id"]))

    async def group_patch(rec: Recorder, n: int) -> None:
        if n % 2 == 0 or not pop.members:
            batch = min(GROUP_BATCH, len(pop.user_ids))
            if pop.group_fill + batch > len(pop.user_ids):
                # Every user is a member: the adds go on in a fresh group, so that each
                # adds 50 non-members at any N (one request for the workers that get here
                # while it is created).
                if pop.next_group is None or pop.next_group.done():
                    pop.next_group = asyncio.ensure_future(start_next_group(rec, n))
                await pop.next_group
                return
            start = pop.add_cursor
            pop.add_cursor += batch
            pop.group_fill += batch
            ids = [pop.user_ids[(start + k) % len(pop.user_ids)] for k in range(batch)]
            body = patch_body(
                [{"op": "add", "path": "members", "value": [{"value": uid} for uid in ids]}]
            )
            group = pop.group_id
            ok = await rec.call(
                "group add 50", "PATCH", f"/Groups/{group}", body=body, expect=(200, 204)
            )
            if ok is not None and group == pop.group_id:
                pop.add_members(ids)
            return
        uid = pop.take_random_member(rng)
        body = patch_body([{"op": "remove", "path": f'members[value eq "{uid}"]'}])
        await rec.call(
            "group remove 1", "PATCH", f"/Groups/{pop.group_id}", body=body, expect=(200, 204)
        )

    page_starts: list[int] = []

    async def page(rec: Recorder, n: int) -> None:
        if not page_starts:
            total = len(pop.user_ids) + pop.created
            page_starts.extend(range(1, total + 1, PAGE_SIZE))
            rng.shuffle(page_starts)
        start = page_starts[n % len(page_starts)]

        def check(body: Any) -> str | None:
            total = body.get("totalResults", 0)
            expected = max(0, min(PAGE_SIZE, total - start + 1))
            got = len(body.get("Resources", []))
            return None if got == expected else f"page of {got} != {expected}"

        await rec.call(
            "page",
            "GET",
            "/Users",
            params={"startIndex": str(start), "count": str(PAGE_SIZE)},
            check=check,
        )

    async def get(rec: Recorder, n: int) -> None:
        uid = pop.user_ids[rng.randrange(len(pop.user_ids))]
        await rec.call("get", "GET", f"/Users/{uid}")

    return {
        "lookup+create": lookup_create,
        "filter": filter_lookup,
        "patch": patch,
        "group-patch": group_patch,
        "page": page,
        "get": get,
    }


REQUESTS_PER_OP = {"lookup+create": 2}


async def settle(server: Server, limit: float = 120.0) -> None:
    """Wait until the server is idle (at most one CPU tick in 0.2 s), at most `limit` s.

    A request the client gave up on (timeout) keeps the server busy after the phase; its
    CPU time must not be charged to the next phase.
    """
    deadline = time.monotonic() + limit
    last = server.cpu_seconds() if server.alive() else 0.0
    while server.alive() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        now = server.cpu_seconds()
        if now - last < 0.015:  # at most one 10 ms tick in 0.2 s: idle
            return
        last = now


async def run_phase(
    client: HttpClient,
    server: Server,
    phase: str,
    op: Op,
    *,
    users: int,
    concurrency: int,
    max_requests: int,
    seconds: float,
    request_timeout: float,
    progress: Progress,
    op_numbers: Iterator[int] | None = None,
) -> PhaseResult:
    """One phase against one server. `op_numbers` numbers the ops (a phase's later rounds
    go on from where the earlier ones stopped: new keys to create, further pages)."""
    per_op = REQUESTS_PER_OP.get(phase, 1)
    deadline = time.monotonic() + seconds
    rec = Recorder(client, max_requests, deadline)
    task = progress.add_task(f"{server.label}: {phase}", total=max_requests)
    numbers = itertools.count() if op_numbers is None else op_numbers

    async def worker() -> None:
        while rec.budget_left(per_op):
            n = next(numbers)
            await op(rec, n)
            if n % 16 == 0:
                progress.update(task, completed=rec.started)

    await settle(server)
    cpu0 = server.cpu_seconds()
    t0 = time.perf_counter()
    workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
    try:
        await asyncio.wait_for(asyncio.gather(*workers), timeout=seconds + request_timeout + 5)
    except TimeoutError:
        for w in workers:
            w.cancel()
        rec.errors["phase timeout"] += 1
    elapsed = time.perf_counter() - t0
    cpu = server.cpu_seconds() - cpu0 if server.alive() else float("nan")
    progress.update(task, completed=rec.started)
    progress.remove_task(task)
    return _result(
        phase,
        server.name,
        users,
        seconds=elapsed,
        cpu=cpu,
        samples=rec.by_kind,
        errors=rec.errors,
        note="" if server.alive() else "server died",
    )


def _result(
    phase: str,
    server: str,
    users: int,
    *,
    seconds: float,
    cpu: float,
    samples: dict[str, list[float]],
    errors: Counter[str],
    note: str,
    rounds: list[float] | None = None,
) -> PhaseResult:
    lat = sorted(v for values in samples.values() for v in values)
    requests = len(lat)
    per_req = cpu / requests * 1e6 if requests else float("nan")
    return PhaseResult(
        phase=phase,
        server=server,
        users=users,
        requests=requests,
        seconds=round(seconds, 3),
        rps=requests / seconds if seconds > 0 else 0.0,
        p50_ms=percentile(lat, 0.50) * 1000,
        p99_ms=percentile(lat, 0.99) * 1000,
        max_ms=(lat[-1] * 1000) if lat else float("nan"),
        errors=sum(errors.values()),
        cpu_s=cpu,
        cpu_us_per_req=per_req,
        error_kinds=dict(errors),
        latency_by_kind={
            tag: {
                "requests": len(values),
                "p50_ms": percentile(sorted(values), 0.50) * 1000,
                "p99_ms": percentile(sorted(values), 0.99) * 1000,
            }
            for tag, values in sorted(samples.items())
        },
        note=note,
        rounds_us_per_req=[per_req] if rounds is None else rounds,
        samples=samples,
    )


def merge_rounds(results: Sequence[PhaseResult]) -> PhaseResult:
    """One server's rounds of a phase as one result: CPU and requests summed (the CPU per
    request is the pooled mean), latencies pooled, each round's CPU per request kept."""
    first = results[0]
    if len(results) == 1:
        return first
    samples: dict[str, list[float]] = {}
    errors: Counter[str] = Counter()
    for r in results:
        for tag, values in r.samples.items():
            samples.setdefault(tag, []).extend(values)
        errors.update(r.error_kinds)
    return _result(
        first.phase,
        first.server,
        first.users,
        seconds=sum(r.seconds for r in results),
        cpu=sum(r.cpu_s for r in results),
        samples=samples,
        errors=errors,
        note="; ".join(r.note for r in results if r.note),
        rounds=[x for r in results for x in r.rounds_us_per_req],
    )


# --------------------------------------------------------------------------- seeding


@dataclass
class SeedResult:
    users: int
    seconds: float
    mode: str
    errors: int
    server_cpu_s: float
    timed_out: bool


async def seed(
    client: HttpClient,
    server: Server,
    users: int,
    *,
    concurrency: int,
    bulk_size: int,
    timeout: float,
    progress: Progress,
) -> tuple[Population, SeedResult]:
    """N users (through Bulk when the server takes it, else one POST each) and groups."""
    t0 = time.monotonic()
    cpu0 = server.cpu_seconds()
    deadline = t0 + timeout
    ids: list[str | None] = [None] * users
    errors = 0
    task = progress.add_task(f"{server.label}: seeding {users:,} users", total=users)
    mode = "bulk" if bulk_size > 1 else "post"

    async def bulk_chunk(start: int, stop: int) -> bool:
        nonlocal errors
        ops = [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"b{i}",
                "data": user_body(seed_key(i)),
            }
            for i in range(start, stop)
        ]
        body = {"schemas": [BULK_SCHEMA], "failOnErrors": 1, "Operations": ops}
        try:
            status, raw = await client.post("/Bulk", orjson.dumps(body))
        except TransportError:
            return False
        if status != 200:
            return False
        answers = orjson.loads(raw).get("Operations", [])
        by_bulk_id = {a.get("bulkId"): a for a in answers}
        for i in range(start, stop):
            answer = by_bulk_id.get(f"b{i}", {})
            location = answer.get("location") or ""
            if str(answer.get("status", "")).startswith("201") and location:
                ids[i] = location.rstrip("/").rsplit("/", 1)[1]
        return all(ids[i] is not None for i in range(start, stop))

    async def post_one(i: int) -> None:
        nonlocal errors
        try:
            status, raw = await client.post("/Users", orjson.dumps(user_body(seed_key(i))))
        except TransportError:
            errors += 1
            return
        if status == 201:
            ids[i] = orjson.loads(raw)["id"]
        else:
            errors += 1

    if mode == "bulk" and users > 0 and not await bulk_chunk(0, min(bulk_size, users)):
        mode = "post"  # this server does not take our Bulk: fall back to one POST per user

    next_index = min(bulk_size, users) if mode == "bulk" else 0

    async def worker() -> None:
        nonlocal next_index, errors
        while next_index < users and time.monotonic() < deadline and server.alive():
            if mode == "bulk":
                start = next_index
                next_index = min(users, start + bulk_size)
                if not await bulk_chunk(start, next_index):
                    for i in range(start, next_index):
                        if ids[i] is None:
                            await post_one(i)
            else:
                i = next_index
                next_index += 1
                await post_one(i)
            progress.update(task, completed=next_index)

    workers = concurrency if mode == "post" else max(1, min(concurrency, 4))
    await asyncio.gather(*(worker() for _ in range(workers)))
    progress.remove_task(task)
    keys = [seed_key(i) for i in range(users) if ids[i] is not None]
    user_ids = [uid for uid in ids if uid is not None]
    pop = Population(user_ids=user_ids, user_keys=keys)

    # A few small groups (what an IdP pushes), and the group that grows in group-patch.
    for g in range(5):
        members = [{"value": uid} for uid in user_ids[g * 10 : g * 10 + 10]]
        body = {"schemas": [GROUP_SCHEMA], "displayName": f"bench-team-{g}", "members": members}
        status, _ = await client.post("/Groups", orjson.dumps(body))
        if status != 201:
            errors += 1
    body = {"schemas": [GROUP_SCHEMA], "displayName": "bench-growing"}
    status, raw = await client.post("/Groups", orjson.dumps(body))
    if status != 201:
        raise RuntimeError(f"{server.label}: cannot create the group: {raw[:300]!r}")
    pop.group_id = orjson.loads(raw)["id"]
    return pop, SeedResult(
        users=len(user_ids),
        seconds=round(time.monotonic() - t0, 1),
        mode=mode,
        errors=errors,
        server_cpu_s=round(server.cpu_seconds() - cpu0, 2),
        timed_out=len(user_ids) < users and time.monotonic() >= deadline,
    )


# --------------------------------------------------------------------------- one run


@dataclass
class ServerRun:
    name: str
    label: str
    seeded: SeedResult
    rss_after_seed_mb: float
    rss_end_mb: float
    phases: list[PhaseResult]


async def profile_mark(args: argparse.Namespace, server: Server, label: str) -> None:
    """With --profile: have our profiled server write what it profiled since the last mark."""
    if args.profile is None or server.name != "ours" or not server.alive():
        return
    await settle(server)
    (args.profile / ".label").write_text(label)
    target = args.profile / f"{label}.prof"
    target.unlink(missing_ok=True)
    os.kill(server.pid, signal.SIGUSR1)
    for _ in range(100):  # at most 10 s for the dump
        await asyncio.sleep(0.1)
        if target.exists():
            break


async def bench_one_n(
    args: argparse.Namespace, users: int, workdir: Path, progress: Progress
) -> list[ServerRun]:
    """Start each server, seed it, run every phase against each, stop both."""
    specs: list[tuple[str, str, list[str], int, dict[str, str]]] = []
    if "ours" in args.servers:
        cmd = ours_cmd(workdir, args.profile)
        specs.append(("ours", ours_label(args.build), cmd, users, args.ours_env))
    if "scim2" in args.servers:
        n = users if args.scim2_max_users is None else min(users, args.scim2_max_users)
        specs.append(("scim2", "scim2-server 0.8.3", scim2_cmd(), n, {}))
    servers: list[Server] = []
    populations: dict[str, Population] = {}
    runs: dict[str, ServerRun] = {}
    clients: dict[str, HttpClient] = {}
    try:
        # Both start at once (their imports overlap); each is seeded on its own.
        for name, label, cmd, _, env in specs:
            servers.append(launch_server(name, label, cmd, args.server_cpu, workdir, env))
        for server, (name, label, _, n, _) in zip(servers, specs, strict=True):
            wait_ready(server)
            client = HttpClient(server.base_url, args.concurrency, args.request_timeout)
            clients[name] = client
            pop, seeded = await seed(
                client,
                server,
                n,
                concurrency=args.concurrency,
                bulk_size=args.bulk_size,
                timeout=args.seed_timeout,
                progress=progress,
            )
            populations[name] = pop
            await profile_mark(args, server, f"n{users}-seed")
            runs[name] = ServerRun(name, label, seeded, server.rss_mb(), float("nan"), [])
            console.log(
                f"{label}: seeded {seeded.users:,} users in {seeded.seconds:.1f} s "
                f"({seeded.mode}, server CPU {seeded.server_cpu_s:.1f} s, {seeded.errors} errors"
                f"{', seed timeout' if seeded.timed_out else ''}), "
                f"RSS {runs[name].rss_after_seed_mb:.0f} MB"
            )
        run_tag = f"{int(time.time()) % 100000:05d}"
        ops = {
            s.name: make_ops(populations[s.name], run_tag, random.Random(args.seed))
            for s in servers
        }
        for phase in args.phases:
            # Rounds alternate the servers, so that a slow spell of the machine falls on
            # both rather than on one server's whole phase.
            rounds: dict[str, list[PhaseResult]] = {s.name: [] for s in servers}
            numbers = {s.name: itertools.count() for s in servers}
            for k in range(args.rounds):
                for server in servers:
                    if not server.alive():
                        continue
                    result = await run_phase(
                        clients[server.name],
                        server,
                        phase,
                        ops[server.name][phase],
                        users=runs[server.name].seeded.users,
                        concurrency=args.concurrency,
                        max_requests=args.requests,
                        seconds=args.seconds,
                        request_timeout=args.request_timeout,
                        progress=progress,
                        op_numbers=numbers[server.name],
                    )
                    rounds[server.name].append(result)
                    await profile_mark(args, server, f"n{users}-{phase}")
                    label = f" (round {k + 1}/{args.rounds})" if args.rounds > 1 else ""
                    console.log(
                        f"{server.label} {phase}{label}: {result.requests} req, "
                        f"{result.rps:.0f} req/s, p99 {result.p99_ms:.1f} ms, "
                        f"{result.cpu_us_per_req:.0f} µs CPU/req, {result.errors} errors"
                    )
            for name, results in rounds.items():
                if results:
                    runs[name].phases.append(merge_rounds(results))
        for server in servers:
            if server.alive():
                runs[server.name].rss_end_mb = server.rss_mb()
            else:
                console.log(f"[red]{server.label} died; log tail:\n{server.log_tail()}")
    finally:
        for client in clients.values():
            await client.aclose()
        for server in servers:
            stop_server(server)
            if args.log_dir is not None:
                args.log_dir.mkdir(parents=True, exist_ok=True)
                shutil.copy(server.log_path, args.log_dir / f"{server.name}-n{users}.log")
    return [runs[name] for name, *_ in specs if name in runs]


# --------------------------------------------------------------------------- report


def _fmt(value: float, digits: int = 0) -> str:
    if value != value:  # NaN
        return "-"
    return f"{value:,.{digits}f}"


def ratio(ours: PhaseResult | None, theirs: PhaseResult | None) -> float:
    if ours is None or theirs is None or not theirs.cpu_us_per_req:
        return float("nan")
    return ours.cpu_us_per_req / theirs.cpu_us_per_req


def results_table(users: int, runs: list[ServerRun]) -> Table:
    by = {r.name: {p.phase: p for p in r.phases} for r in runs}
    title = f"N = {users:,} users" + "".join(
        f" · {r.label}: {r.seeded.users:,} seeded" for r in runs if r.seeded.users != users
    )
    table = Table(title=title)
    for col in ("phase", "server", "requests", "req/s", "p50 ms", "p99 ms", "errors"):
        table.add_column(col, justify="left" if col in ("phase", "server") else "right")
    table.add_column("CPU µs/req", justify="right")
    by_round = _has_rounds(runs)
    if by_round:
        table.add_column("by round", justify="right")
    table.add_column("ours/theirs CPU", justify="right")
    phases = [p for p in PHASES if any(p in d for d in by.values())]
    for phase in phases:
        first = True
        for r in runs:
            p = by[r.name].get(phase)
            if p is None:
                continue
            cell_ratio = ""
            if first:
                rv = ratio(by.get("ours", {}).get(phase), by.get("scim2", {}).get(phase))
                cell_ratio = "-" if rv != rv else f"{rv:.2f} (1/{1 / rv:.1f})" if rv else "0"
            cells = [
                phase if first else "",
                r.label,
                f"{p.requests:,}",
                _fmt(p.rps),
                _fmt(p.p50_ms, 2),
                _fmt(p.p99_ms, 2),
                str(p.errors),
                _fmt(p.cpu_us_per_req),
            ]
            if by_round:
                cells.append(_by_round(p))
            table.add_row(*cells, cell_ratio, end_section=r is runs[-1])
            first = False
    return table


def memory_table(runs: list[ServerRun]) -> Table:
    table = Table(title="Server memory (VmRSS) and seeding")
    for col in ("server", "users", "seeding", "RSS after seeding MB", "RSS at end MB"):
        table.add_column(col, justify="left" if col == "server" else "right")
    for r in runs:
        table.add_row(
            r.label,
            f"{r.seeded.users:,}",
            f"{r.seeded.seconds:.1f} s ({r.seeded.mode})",
            _fmt(r.rss_after_seed_mb, 1),
            _fmt(r.rss_end_mb, 1),
        )
    return table


def errors_table(runs: list[ServerRun]) -> Table | None:
    rows = [
        (r.label, p.phase, kind, count)
        for r in runs
        for p in r.phases
        for kind, count in sorted(p.error_kinds.items())
    ]
    if not rows:
        return None
    table = Table(title="Errors by kind (dialects a server refuses are listed here)")
    for col in ("server", "phase", "kind", "count"):
        table.add_column(col, justify="right" if col == "count" else "left")
    for label, phase, kind, count in rows:
        table.add_row(label, phase, kind, str(count))
    return table


def flatness_table(all_runs: dict[int, list[ServerRun]]) -> Table | None:
    ns = sorted(all_runs)
    if len(ns) < 2:
        return None
    table = Table(title="CPU µs/req by N (flatness)")
    table.add_column("phase")
    table.add_column("server")
    for n in ns:
        table.add_column(f"N={n:,}", justify="right")
    table.add_column(f"growth {ns[-1]:,}/{ns[0]:,}", justify="right")
    names = [r.name for r in all_runs[ns[0]]]
    labels = {r.name: r.label for r in all_runs[ns[0]]}
    for phase in PHASES:
        for name in names:
            values = []
            for n in ns:
                run = next((r for r in all_runs[n] if r.name == name), None)
                p = next((p for p in run.phases if p.phase == phase), None) if run else None
                values.append(p.cpu_us_per_req if p else float("nan"))
            if all(v != v for v in values):
                continue
            growth = values[-1] / values[0] if values[0] else float("nan")
            table.add_row(phase, labels[name], *(_fmt(v) for v in values), _fmt(growth, 2))
    return table


def _has_rounds(runs: list[ServerRun]) -> bool:
    """Whether a phase ran in several rounds: the tables then show each round."""
    return any(len(p.rounds_us_per_req) > 1 for r in runs for p in r.phases)


def _by_round(p: PhaseResult) -> str:
    return " / ".join(_fmt(v) for v in p.rounds_us_per_req)


def markdown_report(
    results: dict[int, list[ServerRun]],
    args: argparse.Namespace,
    load_before: str,
    load_after: str,
) -> str:
    """The same numbers as the rich tables, as GitHub Markdown."""
    lines: list[str] = []
    for users, runs in results.items():
        by = {r.name: {p.phase: p for p in r.phases} for r in runs}
        seeded = ", ".join(f"{r.label}: {r.seeded.users:,} users" for r in runs)
        by_round = _has_rounds(runs)
        lines += [
            f"**N = {users:,}** ({seeded})",
            "",
            "| phase | server | requests | req/s | p50 ms | p99 ms | errors | CPU µs/req "
            + ("| by round " if by_round else "")
            + "| ours/theirs CPU |",
            "|---|---|--:|--:|--:|--:|--:|--:|" + ("--:|" if by_round else "") + "--:|",
        ]
        for phase in PHASES:
            rv = ratio(by.get("ours", {}).get(phase), by.get("scim2", {}).get(phase))
            for r in runs:
                p = by[r.name].get(phase)
                if p is None:
                    continue
                cell = "" if r is not runs[0] or rv != rv else f"{rv:.3f} (1/{1 / rv:.1f})"
                lines.append(
                    f"| {phase} | {r.label} | {p.requests:,} | {_fmt(p.rps)} | "
                    f"{_fmt(p.p50_ms, 2)} | {_fmt(p.p99_ms, 2)} | {p.errors} | "
                    f"{_fmt(p.cpu_us_per_req)} | "
                    + (f"{_by_round(p)} | " if by_round else "")
                    + f"{cell} |"
                )
        lines += ["", "| server | users | seeding | RSS after seeding MB | RSS at end MB |"]
        lines.append("|---|--:|--:|--:|--:|")
        for r in runs:
            lines.append(
                f"| {r.label} | {r.seeded.users:,} | {r.seeded.seconds:.1f} s "
                f"({r.seeded.mode}) | {_fmt(r.rss_after_seed_mb, 1)} | {_fmt(r.rss_end_mb, 1)} |"
            )
        kinds = [
            f"- {r.label}, {p.phase}: {kind}: {count}"
            for r in runs
            for p in r.phases
            for kind, count in sorted(p.error_kinds.items())
        ]
        if kinds:
            lines += ["", "Errors by kind:", "", *kinds]
        lines.append("")
    lines.append(
        f"Concurrency {args.concurrency}, at most {args.seconds:g} s and {args.requests:,} "
        f"requests per phase, server and round ({args.rounds} round"
        f"{'s' if args.rounds != 1 else ''}, alternating the servers); our server's build: "
        f"{args.build}; servers on CPU "
        f"{args.server_cpu}, client on CPU {args.client_cpu}; load average before "
        f"{load_before}, after {load_after}."
    )
    return "\n".join(lines) + "\n"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --------------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench_server.py",
        description="Benchmark the reference server against scim2-server (issue 2, point 9): "
        "one IdP-shaped workload, phase by phase, server CPU time per request.",
    )
    parser.add_argument(
        "--users",
        type=int,
        action="append",
        metavar="N",
        help="users to seed; repeat for several runs (default 1000)",
    )
    parser.add_argument(
        "--concurrency", type=int, default=8, help="concurrent requests (default %(default)s)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=10.0,
        help="time limit of each phase per server and round (default %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="rounds of each phase, alternating the servers; CPU per request is pooled "
        "over the rounds and each round's is shown (default %(default)s)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=20_000,
        help="request limit of each phase per server (default %(default)s)",
    )
    parser.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        help="client timeout of one request, seconds; a timeout counts as an error "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--phases",
        default=",".join(PHASES),
        help="comma-separated phases to run, in this order (default: all)",
    )
    parser.add_argument(
        "--servers",
        default="ours,scim2",
        help="comma-separated servers: ours, scim2 (default %(default)s)",
    )
    parser.add_argument(
        "--scim2-max-users",
        type=int,
        default=None,
        metavar="N",
        help="seed scim2-server with at most N users (when seeding it is impractically slow)",
    )
    parser.add_argument(
        "--seed-timeout",
        type=float,
        default=900.0,
        help="time limit of seeding one server, seconds (default %(default)s)",
    )
    parser.add_argument(
        "--bulk-size",
        type=int,
        default=100,
        help="users per Bulk request when seeding; 1 seeds with one POST per user "
        "(a server refusing Bulk falls back to POST) (default %(default)s)",
    )
    parser.add_argument(
        "--server-cpu", type=int, default=0, help="core of the servers (default %(default)s)"
    )
    parser.add_argument(
        "--client-cpu", type=int, default=1, help="core of the client (default %(default)s)"
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to cores")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default %(default)s)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="write numbers")
    parser.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the tables as Markdown (for the README)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="DIR",
        help="run our server under cProfile (benchmarks/profile_server.py) and write one "
        "profile per phase to DIR; the timings of such a run are inflated",
    )
    parser.add_argument(
        "--build",
        choices=("native", "pure"),
        default="native",
        help="our server's build: native compiles its request path with mypyc "
        "(benchmarks/native_build.py, cached by source hash; what SCIM_USE_MYPYC=1 pip "
        "install . installs), pure runs the sources as they are (what an editable install "
        "runs); --profile always runs pure (default %(default)s)",
    )
    parser.add_argument(
        "--log-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the servers' stderr logs in DIR (default: discarded with the temp dir)",
    )
    args = parser.parse_args(argv)
    args.users = args.users or [1000]
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.mkdir(parents=True, exist_ok=True)
        args.build = "pure"  # cProfile sees nothing inside compiled functions
    args.phases = [p.strip() for p in args.phases.split(",") if p.strip()]
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = [p for p in args.phases if p not in PHASES]
    if unknown:
        parser.error(f"unknown phases {unknown}; choose from {list(PHASES)}")
    if not set(args.servers) <= {"ours", "scim2"} or not args.servers:
        parser.error("--servers takes ours, scim2 or both")
    if any(n < 1 for n in args.users) or args.concurrency < 1 or args.requests < 1:
        parser.error("--users, --concurrency and --requests must be positive")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if args.no_pin or len(cpus) < 2:
        args.server_cpu = None
        args.client_cpu = None
    return args


async def _amain(args: argparse.Namespace) -> dict[int, list[ServerRun]]:
    results: dict[int, list[ServerRun]] = {}
    with (
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            refresh_per_second=4,
        ) as progress,
        tempfile.TemporaryDirectory(prefix="scim-bench-") as tmp,
    ):
        for users in args.users:
            workdir = Path(tmp) / f"n{users}"
            workdir.mkdir()
            results[users] = await bench_one_n(args, users, workdir, progress)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # Built before any server starts, so a compile never falls inside a phase.
    args.ours_env = ours_env(args.build) if "ours" in args.servers else {}
    if args.client_cpu is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.client_cpu})
    load_before = load_average()
    started = time.time()
    try:
        results = asyncio.run(_amain(args))
    except KeyboardInterrupt:
        console.print("[red]interrupted; servers stopped")
        return 130
    # Not a terminal (a pipe, a file, a test): wide enough that no column is truncated.
    out = Console() if sys.stdout.isatty() else Console(width=150)
    for users, runs in results.items():
        out.print(results_table(users, runs))
        out.print(memory_table(runs))
        errs = errors_table(runs)
        if errs is not None:
            out.print(errs)
    flat = flatness_table(results)
    if flat is not None:
        out.print(flat)
    load_after = load_average()
    out.print(
        f"concurrency {args.concurrency}, ≤{args.seconds:g} s and ≤{args.requests:,} requests "
        f"per phase, server and round, {args.rounds} round(s); our server's build: "
        f"{args.build}; servers on CPU "
        f"{args.server_cpu}, client on CPU {args.client_cpu}; load average before "
        f"{load_before}, after {load_after}"
    )
    if args.markdown is not None:
        args.markdown.write_text(markdown_report(results, args, load_before, load_after))
    if args.json is not None:
        doc = {
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": load_after,
            "concurrency": args.concurrency,
            "seconds_per_phase": args.seconds,
            "requests_per_phase": args.requests,
            "rounds": args.rounds,
            "build": args.build,
            "runs": {
                str(users): {
                    "servers": [_without_samples(asdict(run)) for run in runs],
                    "cpu_ratio_ours_over_scim2": {
                        phase: ratio(_phase(runs, "ours", phase), _phase(runs, "scim2", phase))
                        for phase in args.phases
                    },
                }
                for users, runs in results.items()
            },
        }
        args.json.write_text(json.dumps(_clean(doc), indent=2, allow_nan=False) + "\n")
    failed = any(p.errors for runs in results.values() for r in runs for p in r.phases)
    return 1 if failed and os.environ.get("BENCH_FAIL_ON_ERRORS") else 0


def _without_samples(run: dict[str, Any]) -> dict[str, Any]:
    """A ServerRun as JSON: the raw latencies stay out (the percentiles are in)."""
    for phase in run["phases"]:
        phase.pop("samples", None)
    return run


def _clean(value: Any) -> Any:
    """NaN (a phase not run, a dead server) as null: strict JSON."""
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _phase(runs: list[ServerRun], name: str, phase: str) -> PhaseResult | None:
    return next((p for r in runs if r.name == name for p in r.phases if p.phase == phase), None)


if __name__ == "__main__":
    sys.exit(main())
