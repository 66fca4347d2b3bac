"""`scim-idp sync`: provision a generated directory into a SCIM server as one IdP sync cycle.

A cycle does what the IdP does: import (or look up) what the server holds, create the users
it lacks, update only users whose mapped attributes differ, deactivate or unassign leavers
the way the profile says, then push groups and their memberships. Every request goes
through `Simulator`, so the traffic is that IdP's (one exception: when a profile's group
import leaves members out, as Entra's does, the members are read with a plain GET, since
the IdP keeps them in its own database). The run is stateless: the server's answers to the
import are the IdP's memory of what it pushed before, so running the same command twice
leaves the second run "unchanged".
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import math
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from harness.client import Recorder, ScimClient
from harness.exchange import Exchange, Masker, render_text
from harness.idp.directory import REVISION_HELP, Directory, generate_directory
from harness.idp.model import DirectoryGroup, DirectoryUser
from harness.idp.simulator import NotSent, Simulator
from harness.verdicts import ScimViolation, TransportFailure

__all__ = [
    "ConnectionProblem",
    "Failure",
    "LatencyStats",
    "ProgressView",
    "SyncEngine",
    "SyncOptions",
    "SyncRecorder",
    "SyncReport",
    "Tally",
    "Terminated",
    "configure_parser",
    "delta_user",
    "differences",
    "manager_levels",
    "run",
    "run_sync",
    "server_view",
    "user_fields_of",
]

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MEMBER_BATCH = 100
"""Member ids per group PATCH: a push of 3,000 members travels in 30 requests."""
OUTCOMES = ("created", "updated", "deactivated", "reactivated", "unchanged", "failed", "skipped")
KINDS = ("users", "groups")
EXIT_OK, EXIT_FAILURES, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 130, 143


# -- measurements --------------------------------------------------------------------------


class LatencyStats:
    """Request latencies in log buckets (2% wide): percentiles in constant memory."""

    _RATIO = math.log(1.02)
    _FLOOR = 1e-5  # seconds; anything faster lands in bucket 0

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self._lock = threading.Lock()
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        index = int(math.log(max(seconds, self._FLOOR) / self._FLOOR) / self._RATIO)
        with self._lock:
            self._buckets[index] = self._buckets.get(index, 0) + 1
            self.count += 1
            self.total += seconds
            self.max = max(self.max, seconds)

    def percentile(self, q: float) -> float:
        """The q-th percentile (0-100) in seconds, within 2%; 0.0 without samples."""
        with self._lock:
            if not self.count:
                return 0.0
            rank = max(1, math.ceil(self.count * q / 100))
            seen = 0
            for index in sorted(self._buckets):
                seen += self._buckets[index]
                if seen >= rank:
                    middle = self._FLOOR * math.exp((index + 0.5) * self._RATIO)
                    return min(middle, self.max)
            return self.max


class _Capped(list[ScimViolation]):
    """The client's non-fatal findings, first few only: a 10,000-user sync must not pile up."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.dropped = 0

    def append(self, item: ScimViolation) -> None:
        if len(self) < self.limit:
            super().append(item)
        else:
            self.dropped += 1


class SyncRecorder(Recorder):
    """Counts and times every request, keeps only the last few exchanges (bounded memory)."""

    def __init__(self, keep: int = 8) -> None:
        super().__init__("scim-idp sync", keep=keep)
        self.findings = _Capped(20)
        self.latency = LatencyStats()
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)
            self.total += 1
        self.latency.add(exchange.elapsed)


# -- outcomes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """One operation that did not succeed, with the (masked) exchange that shows why."""

    kind: str
    action: str
    message: str
    exchange: Exchange | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "action": self.action,
            "message": self.message,
            "exchange": self.exchange.to_dict() if self.exchange else None,
        }


class Tally:
    """Thread-safe outcome counters; the first `keep` failures are kept with their exchange."""

    def __init__(self, keep: int = 20) -> None:
        self.counts = {(kind, outcome): 0 for kind in KINDS for outcome in OUTCOMES}
        self.failures: list[Failure] = []
        self.keep = keep
        self.members_added = 0
        self.members_removed = 0
        self._lock = threading.Lock()

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        with self._lock:
            self.counts[(kind, outcome)] += n

    def members(self, added: int = 0, removed: int = 0) -> None:
        with self._lock:
            self.members_added += added
            self.members_removed += removed

    def fail(self, kind: str, action: str, error: BaseException) -> None:
        exchanges = getattr(error, "exchanges", ()) or ()
        exchange = exchanges[-1] if exchanges else None
        message = _one_line(getattr(error, "message", None) or str(error) or type(error).__name__)
        with self._lock:
            self.counts[(kind, "failed")] += 1
            if len(self.failures) < self.keep:
                self.failures.append(Failure(kind, action, message, exchange))

    @property
    def failed(self) -> int:
        return sum(self.counts[(kind, "failed")] for kind in KINDS)

    @property
    def skipped(self) -> int:
        return sum(self.counts[(kind, "skipped")] for kind in KINDS)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


# -- progress ------------------------------------------------------------------------------


class ProgressView:
    """A rich progress bar on a terminal; plain lines (every few seconds) elsewhere or in CI."""

    def __init__(
        self, mode: str, stream: TextIO, meter: SyncRecorder, masker: Masker, interval: float = 5
    ) -> None:
        if mode == "auto":
            ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
            mode = "rich" if stream.isatty() and not ci else "plain"
        self.mode = mode
        self.stream = stream
        self.meter = meter
        self.masker = masker
        self.interval = interval
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._totals: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._last_line = 0.0
        self._rich: Any = None
        self._tasks: dict[str, Any] = {}
        if mode == "rich":
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._rich = Progress(
                TextColumn("{task.description:<14}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(file=stream),
                transient=False,
            )
            self._rich.start()

    def _rate(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        return f"{self.meter.total / elapsed:,.0f} req/s"

    def phase(self, name: str, total: int) -> None:
        with self._lock:
            self._totals[name] = total
            self._done[name] = 0
            if self._rich is not None:
                self._tasks[name] = self._rich.add_task(name, total=total, rate="")
                return
        self._line(name, force=True)

    def advance(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._done[name] = self._done.get(name, 0) + n
            if self._rich is not None:
                self._rich.update(self._tasks[name], advance=n, rate=self._rate())
                return
        self._line(name, force=self._done[name] >= self._totals.get(name, 0))

    def note(self, text: str) -> None:
        """A one-off line (which phase, what was found)."""
        text = self.masker.text(text)
        if self._rich is not None:
            self._rich.console.print(text, markup=False, highlight=False)
        elif self.mode == "plain":
            print(f"[scim-idp] {text}", file=self.stream, flush=True)

    def _line(self, name: str, *, force: bool = False) -> None:
        if self.mode != "plain":
            return
        now = time.monotonic()
        with self._lock:
            if not force and now - self._last_line < self.interval:
                return
            self._last_line = now
            done, total = self._done.get(name, 0), self._totals.get(name, 0)
        share = f" ({100 * done // total}%)" if total else ""
        print(
            f"[scim-idp] {name}: {done:,}/{total:,}{share}, {self._rate()}, "
            f"{now - self.started:.1f} s",
            file=self.stream,
            flush=True,
        )

    def close(self) -> None:
        if self._rich is not None:
            self._rich.stop()
            self._rich = None


# -- the engine ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SyncOptions:
    """Everything one sync run needs; `run` builds it from the command line."""

    url: str
    token: str | None
    profile: str
    users: int = 100
    groups: int = 10
    seed: int = 1
    revision: int = 0
    domain: str = "example.com"
    concurrency: int = 8
    timeout: float = 30.0
    max_seconds: float | None = None
    progress: str = "auto"
    show_failures: int = 5
    json_out: str | None = None


@dataclass
class SyncReport:
    """What a run did: counts per kind and outcome, requests, latency, failures."""

    options: SyncOptions
    tally: Tally
    requests: int
    elapsed: float
    p50: float
    p99: float
    generated_in: float
    stopped: str | None = None
    findings: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def exit_code(self) -> int:
        if self.stopped == "interrupted":
            return EXIT_INTERRUPTED
        if self.stopped == "terminated":
            return EXIT_TERMINATED
        return EXIT_FAILURES if self.tally.failed or self.tally.skipped or self.stopped else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        o = self.options
        return {
            "format": 1,
            "profile": o.profile,
            "url": o.url,
            "seed": o.seed,
            "revision": o.revision,
            "users": o.users,
            "groups": o.groups,
            "domain": o.domain,
            "concurrency": o.concurrency,
            "counts": {
                kind: {outcome: self.tally.counts[(kind, outcome)] for outcome in OUTCOMES}
                for kind in KINDS
            },
            "members_added": self.tally.members_added,
            "members_removed": self.tally.members_removed,
            "requests": self.requests,
            "requests_per_second": round(self.rate, 1),
            "latency_ms": {"p50": round(self.p50 * 1000, 2), "p99": round(self.p99 * 1000, 2)},
            "elapsed_seconds": round(self.elapsed, 3),
            "generated_seconds": round(self.generated_in, 3),
            "stopped": self.stopped,
            "failed": self.tally.failed,
            "failures": [f.to_dict() for f in self.tally.failures],
            "findings": self.findings,
        }


class ConnectionProblem(Exception):
    """The server cannot be used at all (unreachable, token refused): exit 2."""


_END: Any = object()


class Terminated(KeyboardInterrupt):
    """SIGTERM (`timeout`, a CI job cancelled): stop like Ctrl-C, still print the summary."""


class _NoId(Exception):
    """A create the IdP cannot link: the answer carried no id."""


class _Stop(Exception):
    """The run is over (deadline or Ctrl-C): remaining work is counted as skipped."""


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False


def server_view(resource: Mapping[str, Any]) -> dict[str, Any]:
    """A SCIM User as DirectoryUser fields (plus `manager_id` and `active`), for diffing."""
    name = resource.get("name") if isinstance(resource.get("name"), Mapping) else {}
    enterprise = resource.get(ENTERPRISE_URN)
    enterprise = enterprise if isinstance(enterprise, Mapping) else {}
    manager = enterprise.get("manager")
    manager_id = manager.get("value") if isinstance(manager, Mapping) else manager
    emails = [e for e in resource.get("emails") or () if isinstance(e, Mapping)]
    chosen = (
        next((e for e in emails if _truthy(e.get("primary", False)) is True), None)
        or next((e for e in emails if e.get("type") == "work"), None)
        or (emails[0] if emails else {})
    )
    assert isinstance(name, Mapping)
    return {
        "user_name": resource.get("userName"),
        "given_name": name.get("givenName"),
        "family_name": name.get("familyName"),
        "display_name": resource.get("displayName"),
        "email": chosen.get("value"),
        "external_id": resource.get("externalId"),
        "title": resource.get("title"),
        "department": enterprise.get("department"),
        "employee_number": enterprise.get("employeeNumber"),
        "manager_id": manager_id or None,
        "active": _truthy(resource.get("active", True)),
    }


COMPARED_FIELDS = (
    "user_name",
    "given_name",
    "family_name",
    "display_name",
    "email",
    "external_id",
    "title",
    "department",
    "employee_number",
    "manager_user_name",
)


def differences(
    resource: Mapping[str, Any],
    user: DirectoryUser,
    manager_id: str | None,
    fields: Iterable[str] = COMPARED_FIELDS,
) -> list[str]:
    """DirectoryUser fields whose value on the server differs from the directory's.

    Only `fields` (those the profile maps) count; a directory value of None is not compared,
    nor is a manager whose id is unknown (its creation failed).
    """
    have = server_view(resource)
    changed = []
    for name in fields:
        if name == "manager_user_name":
            if user.manager_user_name:
                stale = bool(manager_id) and have["manager_id"] != manager_id
            else:
                stale = bool(have["manager_id"])
            if stale:
                changed.append(name)
            continue
        want = getattr(user, name)
        if want is None:
            continue
        value = have.get(name)
        if name == "user_name" and isinstance(value, str):
            value, want = value.lower(), want.lower()  # userName is caseExact false
        if value != want:
            changed.append(name)
    return changed


def delta_user(user: DirectoryUser, changed: Sequence[str]) -> DirectoryUser:
    """The user with every attribute but the changed ones left empty: what a PATCH-style
    update sends, since a template leaves empty attributes out."""
    cleared: dict[str, Any] = {f: None for f in COMPARED_FIELDS if f not in changed}
    return dataclasses.replace(user, **cleared)


def manager_levels(users: Sequence[DirectoryUser]) -> list[list[DirectoryUser]]:
    """Users grouped by depth in the org chart: managers are written before their reports."""
    by_name = {u.user_name: u for u in users}
    depth: dict[str, int] = {}
    for user in users:
        chain, current = [], user
        while current.user_name not in depth:
            chain.append(current)
            boss = by_name.get(current.manager_user_name or "")
            if boss is None or boss in chain:
                depth[current.user_name] = 0
                chain.pop()
                break
            current = boss
        for person in reversed(chain):
            boss_name = person.manager_user_name or ""
            depth[person.user_name] = depth[boss_name] + 1 if boss_name in depth else 0
    levels: dict[int, list[DirectoryUser]] = {}
    for user in users:
        levels.setdefault(depth[user.user_name], []).append(user)
    return [levels[d] for d in sorted(levels)]


def _index(resources: Iterable[Mapping[str, Any]], key: str) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}
    for resource in resources:
        value = resource.get(key)
        if isinstance(value, str) and value:
            found.setdefault(value.lower() if key != "externalId" else value, resource)
    return found


def _former(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """externalId -> earlier names, lower-cased, the latest first."""
    found: dict[str, list[str]] = {}
    for key, name in pairs:
        found.setdefault(key, []).insert(0, name.lower())
    return found


def _chunks(items: Sequence[str], size: int = MEMBER_BATCH) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SyncEngine:
    """One sync cycle of `directory` through `sim`, with a bounded pool of workers."""

    def __init__(
        self,
        sim: Simulator,
        directory: Directory,
        *,
        concurrency: int,
        tally: Tally,
        progress: ProgressView,
        deadline: float | None = None,
        user_fields: Sequence[str] = COMPARED_FIELDS,
    ) -> None:
        self.sim = sim
        self.directory = directory
        self.concurrency = concurrency
        self.tally = tally
        self.progress = progress
        self.deadline = deadline
        self.user_fields = tuple(user_fields)
        templates = sim.profile.operations.get("update_user") or ()
        # A PATCH update carries only what changed (Entra: one operation per changed
        # attribute); a PUT (Okta's GET-then-PUT, OneLogin) always carries the whole user.
        self.patch_updates = bool(templates) and all(t.method == "PATCH" for t in templates)
        self.ids: dict[str, str] = {}  # userName -> SCIM id, as the IdP links them
        self.managed: set[str] = set()  # ids of users this directory has (or had): leavers too
        self.stop_reason: str | None = None
        self._stop = threading.Event()
        self._former_groups: dict[str, list[str]] = {}

    # control

    def _check(self) -> None:
        if self._stop.is_set():
            raise _Stop()
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.stop_reason = self.stop_reason or "--max-seconds reached"
            self._stop.set()
            raise _Stop()

    def interrupt(self, reason: str = "interrupted") -> None:
        self.stop_reason = reason
        self._stop.set()

    def _run_all(
        self, phase: str, kind: str, items: Sequence[Any], work: Callable[[Any], None]
    ) -> None:
        """Run `work(item)` for every item on the pool; failures are tallied, not raised."""
        if not items:
            return

        executed = [0]
        lock = threading.Lock()

        def task(item: Any) -> None:
            with lock:
                executed[0] += 1
            try:
                self._check()
                work(item)
            except _Stop:
                self.tally.add(kind, "skipped")
            finally:
                self.progress.advance(phase)

        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="scim-idp")
        queue = iter(items)
        pending: set[Future[None]] = set()

        def refill() -> None:
            """Keep a few operations queued per worker, not all 10,000 (memory, wait cost)."""
            while len(pending) < 2 * self.concurrency and not self._stop.is_set():
                item = next(queue, _END)
                if item is _END:
                    return
                pending.add(pool.submit(task, item))

        try:
            refill()
            while pending:
                done, pending = wait(pending, timeout=0.5, return_when=FIRST_COMPLETED)
                for future in done:
                    future.result()  # a harness bug surfaces here, never as a server failure
                refill()
        except BaseException:
            self._stop.set()
            raise
        finally:
            # On Ctrl-C/SIGTERM: queued work is dropped, running operations finish.
            pool.shutdown(wait=True, cancel_futures=True)
            not_run = len(items) - executed[0]
            if not_run:
                self.tally.add(kind, "skipped", not_run)

    # users

    def run(self) -> None:
        """Import, users by manager level, leavers, then groups."""
        imported = self._import("users", self.sim.import_users)
        by_ext = _index(imported or (), "externalId")
        by_name = _index(imported or (), "userName")
        former = _former(self.directory.former_user_names)

        def match(user: DirectoryUser) -> Mapping[str, Any] | None:
            """By externalId, else userName, else a name the person had before (renames)."""
            names = (user.user_name.lower(), *former.get(user.external_id, ()))
            found = by_ext.get(user.external_id) or next(
                (by_name[n] for n in names if n in by_name), None
            )
            return found if found is not None and isinstance(found.get("id"), str) else None

        plan: list[tuple[DirectoryUser, Mapping[str, Any] | None]] = []
        for user in self.directory.users:
            found = match(user)
            if found is not None:
                self.ids[user.user_name] = found["id"]
            plan.append((user, found))
        matched = dict((u.user_name, r) for u, r in plan)
        leavers = []
        for user in self.directory.departed:
            found = match(user)
            if found is not None:
                leavers.append((user, found))
                self.managed.add(found["id"])
        self.managed.update(self.ids.values())
        if "manager_user_name" in self.user_fields:
            levels = manager_levels(self.directory.users)
        else:  # the profile sends no manager: no order to keep
            levels = [list(self.directory.users)]
        self.progress.phase("users", len(plan) + len(leavers))
        for level in levels:
            self._run_all("users", "users", level, lambda u: self._user(u, matched[u.user_name]))
        self._run_all("users", "users", leavers, self._leaver)
        self._groups()

    def _import(self, what: str, call: Callable[[], list[dict[str, Any]]]) -> list[Any] | None:
        """The IdP's import; None when the profile has none (then it looks each one up)."""
        self.progress.note(f"importing existing {what}")
        try:
            found = call()
        except NotSent:
            self.progress.note(f"the profile does not import {what}: looking each one up")
            return None
        except TransportFailure as exc:
            raise ConnectionProblem(f"no answer from the server: {exc.message}") from exc
        except ScimViolation as exc:
            status = exc.exchanges[-1].status if exc.exchanges else None
            if status in (401, 403):
                raise ConnectionProblem(
                    f"the server refused the token ({status}) while importing {what}"
                ) from exc
            raise ConnectionProblem(f"importing {what} failed: {_one_line(str(exc))}") from exc
        self.progress.note(f"found {len(found):,} {what} on the server")
        return found

    def _maybe(self, call: Callable[..., Any], *args: Any) -> tuple[bool, Any]:
        """(sent, result): an operation the profile never sends is skipped, as the IdP does."""
        try:
            return True, call(*args)
        except NotSent:
            return False, None

    def _user(self, user: DirectoryUser, found: Mapping[str, Any] | None) -> None:
        action = f"provision user {user.user_name}"
        try:
            if found is None:
                if not user.active:  # an IdP never creates a disabled user
                    self.tally.add("users", "unchanged")
                    return
                action = f"look up user {user.user_name}"
                _, user_id = self._maybe(self.sim.lookup_user, user)
                if user_id is None:
                    action = f"create user {user.user_name}"
                    new_id = self.sim.create_user(user)
                    if not new_id:
                        self.tally.fail("users", action, _NoId("the create answered no id"))
                        return
                    self.ids[user.user_name] = new_id
                    self.managed.add(new_id)
                    self.tally.add("users", "created")
                    return
                self.ids[user.user_name] = user_id
                self.managed.add(user_id)
                action = f"update user {user.user_name}"
                sent, _ = self._maybe(self.sim.update_user, user_id, user)
                self.tally.add("users", "updated" if sent else "unchanged")
                return
            user_id = str(found["id"])
            manager_id = self.ids.get(user.manager_user_name or "")
            changed = differences(found, user, manager_id, self.user_fields)
            active = server_view(found)["active"]
            outcome = "unchanged"
            if user.active and not active:
                action = f"reactivate user {user.user_name}"
                sent, _ = self._maybe(self.sim.reactivate_user, user_id)
                outcome = "reactivated" if sent else outcome
            if changed:
                action = f"update user {user.user_name} ({', '.join(changed)})"
                body = delta_user(user, changed) if self.patch_updates else user
                sent, _ = self._maybe(self.sim.update_user, user_id, body)
                outcome = "updated" if sent and outcome == "unchanged" else outcome
            if active and not user.active:
                action = f"deactivate user {user.user_name}"
                sent, _ = self._maybe(self.sim.deactivate_user, user_id)
                outcome = "deactivated" if sent else outcome
            self.tally.add("users", outcome)
        except ScimViolation as exc:
            self.tally.fail("users", action, exc)

    def _leaver(self, item: tuple[DirectoryUser, Mapping[str, Any]]) -> None:
        user, found = item
        if not server_view(found)["active"]:
            self.tally.add("users", "unchanged")
            return
        try:
            sent, _ = self._maybe(self.sim.unassign_user, str(found["id"]))
            self.tally.add("users", "deactivated" if sent else "unchanged")
        except ScimViolation as exc:
            self.tally.fail("users", f"unassign user {user.user_name}", exc)

    # groups

    def _groups(self) -> None:
        groups = self.directory.groups
        if not groups:
            return
        if self._stop.is_set():  # stopped during the users: no group import either
            self.tally.add("groups", "skipped", len(groups))
            return
        imported = self._import("groups", self.sim.import_groups)
        by_ext = _index(imported or (), "externalId")
        by_name = _index(imported or (), "displayName")
        self.progress.phase("groups", len(groups))
        former = self._former_groups = _former(self.directory.former_group_names)
        plan = []
        for group in groups:
            names = [group.display_name.lower(), *former.get(group.external_id, ())]
            found = by_ext.get(group.external_id) or next(
                (by_name[n] for n in names if n in by_name), None
            )
            plan.append((group, found))
        self._run_all("groups", "groups", plan, self._group)

    def _group(self, item: tuple[DirectoryGroup, Mapping[str, Any] | None]) -> None:
        group, found = item
        wanted = [self.ids[n] for n in group.member_user_names if n in self.ids]
        action = f"push group {group.display_name}"
        try:
            renamed = False
            if found is None:
                action = f"look up group {group.display_name}"
                _, group_id = self._maybe(self.sim.lookup_group, group)
                for name in self._former_groups.get(group.external_id, ()):
                    if group_id is not None:
                        break
                    before = dataclasses.replace(group, display_name=name)
                    _, group_id = self._maybe(self.sim.lookup_group, before)
                    renamed = group_id is not None
                if group_id is None:
                    action = f"create group {group.display_name}"
                    first = wanted[:MEMBER_BATCH]
                    group_id = self.sim.create_group(group, first)
                    if not group_id:
                        self.tally.fail("groups", action, _NoId("the create answered no id"))
                        return
                    action = f"add members to group {group.display_name}"
                    for chunk in _chunks(wanted[MEMBER_BATCH:]):
                        self._check()
                        self.sim.add_members(group_id, chunk, group)
                    self.tally.members(added=len(wanted))
                    self.tally.add("groups", "created")
                    return
                current: set[str] | None = None
            else:
                group_id = str(found["id"])
                members = found.get("members")
                current = (
                    {str(m.get("value")) for m in members if isinstance(m, Mapping)}
                    if isinstance(members, list)
                    else None
                )
                renamed = found.get("displayName") != group.display_name
            if current is None:
                action = f"read members of group {group.display_name}"
                current = self.sim_members(group_id)
            outcome = "unchanged"
            if renamed:
                action = f"rename group {group.display_name}"
                sent, _ = self._maybe(self.sim.rename_group, group_id, group)
                outcome = "updated" if sent else outcome
            add = [m for m in wanted if m not in current]
            wanted_set = set(wanted)
            # Only members this directory manages (or managed) are removed: others were put
            # there by someone else, and the IdP does not know them.
            remove = sorted(m for m in current if m not in wanted_set and m in self.managed)
            action = f"remove members from group {group.display_name}"
            for chunk in _chunks(remove):
                self._check()
                sent, _ = self._maybe(self.sim.remove_members, group_id, chunk, group)
                if not sent:
                    remove = []
                    break
            action = f"add members to group {group.display_name}"
            for chunk in _chunks(add):
                self._check()
                self.sim.add_members(group_id, chunk, group)
            if add or remove:
                self.tally.members(added=len(add), removed=len(remove))
                outcome = "updated"
            self.tally.add("groups", outcome)
        except ScimViolation as exc:
            self.tally.fail("groups", action, exc)

    def sim_members(self, group_id: str) -> set[str]:
        """Member ids of a group whose import left them out (the IdP keeps them in its DB)."""
        response = self.sim.client.get(f"/Groups/{group_id}", params={"attributes": "members"})
        body = response.json_object() if response.status == 200 else {}
        members = body.get("members") or []
        return {str(m.get("value")) for m in members if isinstance(m, Mapping)}


# -- running and printing ------------------------------------------------------------------


def run_sync(
    options: SyncOptions,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    client: ScimClient | None = None,
) -> SyncReport:
    """Generate the directory, sync it, print the summary; ConnectionProblem if unusable."""
    from harness.idp.profiles import load_profile

    out = out or sys.stdout
    err = err or sys.stderr
    masker = Masker([options.token])
    started = time.monotonic()
    directory = generate_directory(
        options.seed, options.users, options.groups, options.domain, options.revision
    )
    generated_in = time.monotonic() - started
    profile = load_profile(options.profile)
    recorder = SyncRecorder()
    own_client = client is None
    client = client or ScimClient(
        options.url, options.token, timeout=options.timeout, recorder=recorder
    )
    if not own_client:
        client = client.bound(recorder)
    tally = Tally(keep=max(options.show_failures, 0) or 1)
    progress = ProgressView(options.progress, err, recorder, masker)
    sim = Simulator(client, profile, strict=True)
    begin = time.monotonic()
    deadline = begin + options.max_seconds if options.max_seconds else None
    engine = SyncEngine(
        sim,
        directory,
        concurrency=options.concurrency,
        tally=tally,
        progress=progress,
        deadline=deadline,
        user_fields=user_fields_of(profile),
    )
    progress.note(
        f"{profile.title}: {len(directory.users):,} users, {len(directory.groups):,} groups "
        f"(seed {options.seed}, revision {options.revision}) -> {options.url}"
    )
    try:
        engine.run()
    except KeyboardInterrupt as exc:
        engine.interrupt("terminated" if isinstance(exc, Terminated) else "interrupted")
    finally:
        progress.close()
        if own_client:
            client.close()
    elapsed = time.monotonic() - begin
    report = SyncReport(
        options=options,
        tally=tally,
        requests=recorder.total,
        elapsed=elapsed,
        p50=recorder.latency.percentile(50),
        p99=recorder.latency.percentile(99),
        generated_in=generated_in,
        stopped=engine.stop_reason,
        findings=[_one_line(str(f)) for f in recorder.findings],
    )
    print_summary(report, out, masker)
    if options.json_out:
        text = masker.text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        if options.json_out == "-":
            out.write(text + "\n")
        else:
            Path(options.json_out).write_text(text + "\n", encoding="utf-8")
    return report


_USER_EXPR = re.compile(r"\{\{\s*user\.([A-Za-z_]+)")


def user_fields_of(profile: Any) -> tuple[str, ...]:
    """The DirectoryUser fields the profile's update sends: only those can be kept in sync,
    so an attribute the IdP does not send (or cannot update) never looks changed."""
    templates = profile.operations.get("update_user") or ()
    text = json.dumps([[t.path, dict(t.params), t.body] for t in templates], default=str)
    named = {re.sub(r"(?<!^)(?=[A-Z])", "_", m).lower() for m in _USER_EXPR.findall(text)}
    return tuple(f for f in COMPARED_FIELDS if f in named)


def print_summary(report: SyncReport, out: TextIO, masker: Masker) -> None:
    """The summary table, then the first failures with their exchange (token masked)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    o = report.options
    table = Table(box=box.MARKDOWN, show_edge=True, pad_edge=True)
    table.add_column("")
    for outcome in OUTCOMES:
        table.add_column(outcome, justify="right")
    for kind in KINDS:
        table.add_row(kind, *(f"{report.tally.counts[(kind, x)]:,}" for x in OUTCOMES))
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=100, force_terminal=False, color_system=None, soft_wrap=True
    )
    console.print(
        f"scim-idp sync: profile {o.profile} -> {o.url}\n"
        f"directory: seed {o.seed}, revision {o.revision}, {o.users:,} users, {o.groups:,} "
        f"groups, domain {o.domain}; concurrency {o.concurrency}",
        markup=False,
        highlight=False,
    )
    console.print(table)
    console.print(
        f"members: {report.tally.members_added:,} added, {report.tally.members_removed:,} removed",
        markup=False,
        highlight=False,
    )
    console.print(
        f"requests: {report.requests:,}   req/s: {report.rate:,.1f}   "
        f"latency p50: {report.p50 * 1000:.1f} ms   p99: {report.p99 * 1000:.1f} ms   "
        f"elapsed: {report.elapsed:.1f} s (directory generated in {report.generated_in:.1f} s)",
        markup=False,
        highlight=False,
    )
    if report.stopped:
        console.print(
            f"stopped early ({report.stopped}): {report.tally.skipped:,} operations not attempted",
            markup=False,
            highlight=False,
        )
    failed = report.tally.failed
    shown = report.tally.failures[: max(o.show_failures, 0)]
    if failed:
        console.print(
            f"FAILED: {failed:,} operations failed"
            + (f"; the first {len(shown)}:" if shown else ""),
            markup=False,
            highlight=False,
        )
    for number, failure in enumerate(shown, 1):
        console.print(f"\n{number}. {failure.action}: {failure.message}", markup=False)
        if failure.exchange is not None:
            console.print(render_text(failure.exchange), markup=False, highlight=False)
    if report.findings:
        console.print(
            f"notes on the server's answers ({len(report.findings)} shown):",
            markup=False,
            highlight=False,
        )
        for finding in report.findings[:5]:
            console.print(f"  - {finding}", markup=False, highlight=False)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines())
    out.write(masker.text(text.strip("\n") + "\n"))
    out.flush()


# -- command line --------------------------------------------------------------------------


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be between 1 and 256, got {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, got {text}")
    return value


def _profiles_help() -> str:
    from harness.idp.profiles import profile_names

    names = profile_names()
    return ", ".join(names) if names else "none installed"


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Options of `scim-idp sync`."""
    parser.description = (
        "Provision a generated directory into a SCIM 2.0 server the way the chosen IdP does: "
        "import what the server holds, create missing users, update changed ones (only when "
        "a mapped attribute differs), deactivate or unassign leavers per profile, then push "
        "groups and memberships. Run it again with a higher --revision to sync the changes "
        "of later cycles; the same command twice leaves the second run unchanged."
    )
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = f"""{REVISION_HELP}

The sync compares only the attributes the profile's update sends; a user whose
other attributes differ is "unchanged". Leavers are deactivated or deleted as the
profile unassigns; both count as "deactivated".

exit codes: 0 every operation succeeded; 1 some failed, or --max-seconds stopped
the run; 2 usage error or the server cannot be used (unreachable, token refused);
130 interrupted (Ctrl-C), 143 terminated (SIGTERM), after the summary of what was
done.

example:
  scim-idp sync --profile okta --url http://127.0.0.1:8000/scim/v2 \\
      --token "$SCIM_TOKEN" --users 10000 --groups 50 --concurrency 16 --seed 1"""
    parser.add_argument(
        "--profile", required=True, help=f"IdP profile name or file ({_profiles_help()})"
    )
    parser.add_argument("--url", required=True, help="SCIM base URL (ends in /scim/v2)")
    parser.add_argument(
        "--token", default=None, help="bearer token (default: env SCIM_TOKEN); never printed"
    )
    parser.add_argument("--users", type=_count, default=100, help="users at revision 0 (100)")
    parser.add_argument("--groups", type=_count, default=10, help="groups (10)")
    parser.add_argument("--seed", type=int, default=1, help="directory seed (1)")
    parser.add_argument(
        "--revision",
        type=_count,
        default=0,
        help="sync cycles the directory has aged since revision 0 (0; see below)",
    )
    parser.add_argument(
        "--domain", default="example.com", help="e-mail and userName domain (example.com)"
    )
    parser.add_argument(
        "--concurrency", type=_positive, default=8, help="requests in flight at most (8)"
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=30.0, help="seconds per request at most (30)"
    )
    parser.add_argument(
        "--max-seconds",
        type=_seconds,
        default=None,
        help="stop starting new operations after this many seconds (exit 1)",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "rich", "plain", "none"),
        default="auto",
        help="progress on stderr: a bar on a terminal, plain lines otherwise or with CI=true",
    )
    parser.add_argument(
        "--show-failures",
        type=_count,
        default=5,
        metavar="N",
        help="failures printed with their exchange (5)",
    )
    parser.add_argument(
        "--json",
        dest="json_out",
        default=None,
        metavar="PATH",
        help="also write the summary as JSON to PATH ('-' for standard output)",
    )


def run(args: argparse.Namespace) -> int:
    """0 all synced; 1 failures (or stopped early); 2 unusable options or server."""
    from harness.idp.profiles import ProfileError, load_profile

    token = args.token or os.environ.get("SCIM_TOKEN") or None
    if not str(args.url).startswith(("http://", "https://")):
        print(f"error: --url must be an http(s) URL, got {args.url!r}", file=sys.stderr)
        return EXIT_USAGE
    try:
        load_profile(args.profile)
        generate_directory(args.seed, 0, 0, args.domain, 0)  # validates the domain
    except (ProfileError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    options = SyncOptions(
        url=args.url,
        token=token,
        profile=args.profile,
        users=args.users,
        groups=args.groups,
        seed=args.seed,
        revision=args.revision,
        domain=args.domain,
        concurrency=args.concurrency,
        timeout=args.timeout,
        max_seconds=args.max_seconds,
        progress=args.progress,
        show_failures=args.show_failures,
        json_out=args.json_out,
    )
    masker = Masker([token])
    with _sigterm_as_interrupt():
        try:
            report = run_sync(options)
        except ConnectionProblem as exc:
            print(masker.text(f"error: {exc} ({args.url})"), file=sys.stderr)
            return EXIT_USAGE
    return report.exit_code


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While a sync runs, SIGTERM stops it the way Ctrl-C does: the summary still prints."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
