"""Fixtures for SCIM checks (see README.md beside this file for the authors' guide).

- `scim`: a ScimClient bound to the current check's recorder (exchanges land in reports).
- `capabilities`: what the server declares (discovery, read once); Blocked if that fails.
- `run_prefix`: `scimtest-<8 hex>-`, shared by every xdist worker of the run.
- `user_body(**overrides)`, `group_body(**overrides)`: realistic, run-prefixed bodies.
- `make_user(**overrides)`, `make_group(members=..., **overrides)`: create, return the
  created resource, delete at the end of the check (also after a failure or Ctrl-C).
- `created`: register resources a check creates itself, for the same cleanup.
- `read_back(resource, expected)`: GET the resource again and compare (the oracle).
- `destructive`: skips the check unless --scim-destructive.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from harness.client import Recorder, Response, ScimClient
from harness.discovery import GROUP_URN, USER_URN, Capabilities, discover
from harness.exchange import render_text
from harness.run import RECORDER_KEY, RUN_KEY, RunState
from harness.validation.oracle import expect_state
from harness.verdicts import Blocked, HarnessError, ScimViolation, StatusMismatch

__all__ = [
    "CreatedResources",
    "capabilities",
    "created",
    "destructive",
    "group_body",
    "make_group",
    "make_user",
    "read_back",
    "run_prefix",
    "scim",
    "scim_base",
    "scim_state",
    "user_body",
]


@pytest.fixture(scope="session")
def scim_state(pytestconfig: pytest.Config) -> RunState:
    """The run's state (settings, target, run uid); only present with --scim-url."""
    state = pytestconfig.stash.get(RUN_KEY, None)
    if state is None or state.target is None:
        raise HarnessError("the SCIM suite runs only with --scim-url (URL or 'embedded')")
    return state


@pytest.fixture(scope="session")
def scim_base(scim_state: RunState) -> Generator[ScimClient, None, None]:
    """The session's client (one connection pool); checks use `scim`, bound to themselves."""
    assert scim_state.target is not None
    client = ScimClient(
        scim_state.target.url,
        scim_state.target.token,
        timeout=scim_state.settings.timeout,
        recorder=Recorder("session"),
    )
    yield client
    client.close()


@pytest.fixture
def scim(scim_base: ScimClient, request: pytest.FixtureRequest) -> ScimClient:
    """A client recording into this check's recorder (its exchanges go into the report)."""
    recorder = request.node.stash.get(RECORDER_KEY, None)
    if recorder is None:
        off: set[str] = set()
        for marker in request.node.iter_markers("scim_response_checks_off"):
            off.update(marker.args)
        recorder = Recorder(request.node.nodeid, disabled=frozenset(off))
        request.node.stash[RECORDER_KEY] = recorder
    return scim_base.bound(recorder)


@pytest.fixture(scope="session")
def capabilities(scim_base: ScimClient, scim_state: RunState) -> Capabilities:
    """The server's declared features, resource types and schemas (RFC 7644 section 4)."""
    try:
        found = discover(scim_base.bound(Recorder("discovery")))
    except Blocked as exc:
        scim_state.discovery_error = exc.reason
        raise
    scim_state.declared = found.declared()
    return found


@pytest.fixture(scope="session")
def run_prefix(scim_state: RunState) -> str:
    """Run-unique prefix of every name the suite creates (shared across xdist workers)."""
    return f"scimtest-{scim_state.uid[:8]}-"


@dataclass
class CreatedResources:
    """Every resource this run created (endpoint path, id), so they can all be deleted."""

    pending: dict[str, str] = field(default_factory=dict)  # path -> description
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, endpoint: str, resource: Mapping[str, Any] | str) -> str:
        """Track a created resource (its body or id); returns its path for DELETE."""
        rid = resource if isinstance(resource, str) else str(resource.get("id", ""))
        if not rid:
            raise HarnessError(f"cannot track a resource without id under {endpoint}")
        path = f"{endpoint.rstrip('/')}/{rid}"
        with self.lock:
            self.pending[path] = path
        return path

    def forget(self, path: str) -> None:
        with self.lock:
            self.pending.pop(path, None)

    def delete(self, client: ScimClient, path: str) -> str | None:
        """DELETE one tracked resource; None when gone, else what went wrong."""
        try:
            response = client.delete(path)
        except ScimViolation as exc:
            return f"DELETE {path}: {exc.message}"
        if response.status in (200, 204, 404):
            self.forget(path)
            return None
        return f"DELETE {path} answered {response.status}\n{render_text(response.exchange)}"


def _groups_first(path: str) -> tuple[bool, str]:
    """Delete groups before users, so no membership points at a deleted user."""
    return ("group" not in path.lower(), path)


@pytest.fixture(scope="session")
def _created_session(
    scim_base: ScimClient, scim_state: RunState
) -> Generator[CreatedResources, None, None]:
    registry = CreatedResources()
    yield registry
    sweeper = scim_base.bound(Recorder("cleanup", disabled=frozenset({"media_type"})))
    for path in sorted(registry.pending, key=_groups_first):
        problem = registry.delete(sweeper, path)
        if problem is not None:
            scim_state.leftovers.append(problem)


@pytest.fixture
def created(
    _created_session: CreatedResources, scim_base: ScimClient
) -> Generator[CreatedResources, None, None]:
    """Track what a check creates itself (`created.add("/Users", body)`); deleted at its end."""
    before = set(_created_session.pending)
    yield _created_session
    mine = [p for p in _created_session.pending if p not in before]
    cleaner = scim_base.bound(Recorder("cleanup", disabled=frozenset({"media_type"})))
    for path in sorted(mine, key=_groups_first):
        # A failure keeps the path pending: the session sweep retries it and reports it.
        _created_session.delete(cleaner, path)


@pytest.fixture(scope="session")
def _faker(scim_state: RunState) -> Any:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(f"{scim_state.uid}-{scim_state.worker}")
    return fake


@pytest.fixture(scope="session")
def _counter(scim_state: RunState) -> Callable[[], str]:
    numbers = itertools.count(1)
    worker = scim_state.worker
    return lambda: f"{worker}-{next(numbers):04d}"


def _merge(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    body = dict(base)
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    return body


@pytest.fixture
def user_body(
    run_prefix: str, _faker: Any, _counter: Callable[[], str]
) -> Callable[..., dict[str, Any]]:
    """`user_body(**overrides)`: a realistic User body; an override of None drops the key."""

    def build(**overrides: Any) -> dict[str, Any]:
        first, last = _faker.first_name(), _faker.last_name()
        unique = f"{run_prefix}{_counter()}"
        email = f"{unique}.{first}.{last}@example.com".lower()
        base = {
            "schemas": [USER_URN],
            "userName": email,
            "externalId": f"{unique}-ext",
            "name": {"givenName": first, "familyName": last, "formatted": f"{first} {last}"},
            "displayName": f"{first} {last}",
            "title": _faker.job()[:60],
            "emails": [{"value": email, "type": "work", "primary": True}],
            "active": True,
        }
        return _merge(base, overrides)

    return build


@pytest.fixture
def group_body(
    run_prefix: str, _faker: Any, _counter: Callable[[], str]
) -> Callable[..., dict[str, Any]]:
    """`group_body(**overrides)`: a Group body with a run-prefixed displayName."""

    def build(**overrides: Any) -> dict[str, Any]:
        base = {
            "schemas": [GROUP_URN],
            "displayName": f"{run_prefix}{_counter()} {_faker.color_name()} team",
            "externalId": f"{run_prefix}{_counter()}-ext",
        }
        return _merge(base, overrides)

    return build


def _create(
    scim: ScimClient, created: CreatedResources, endpoint: str, body: dict[str, Any], what: str
) -> dict[str, Any]:
    try:
        response = scim.post(endpoint, json=body)
        if response.status != 201:
            raise StatusMismatch(
                f"POST {endpoint} answered {response.status}",
                expected="201",
                actual=str(response.status),
                exchanges=[response.exchange],
            )
        resource = response.json_object()
        created.add(endpoint, resource)
    except ScimViolation as exc:
        raise Blocked(
            f"could not create a {what} (prerequisite): {exc.message}", exchanges=exc.exchanges
        ) from exc
    return resource


@pytest.fixture
def make_user(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    user_body: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """`make_user(**overrides) -> created User`; Blocked if the server cannot create it."""

    def make(**overrides: Any) -> dict[str, Any]:
        return _create(scim, created, capabilities.endpoint("User"), user_body(**overrides), "User")

    return make


@pytest.fixture
def make_group(
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    group_body: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """`make_group(members=[user, ...], **overrides) -> created Group`."""

    def make(members: list[Mapping[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
        if members:
            overrides["members"] = [{"value": m["id"]} for m in members]
        return _create(
            scim, created, capabilities.endpoint("Group"), group_body(**overrides), "Group"
        )

    return make


@pytest.fixture
def read_back(scim: ScimClient, capabilities: Capabilities) -> Callable[..., dict[str, Any]]:
    """`read_back(resource, expected, resource_type="User", clause="")` -> the resource.

    GETs `/<endpoint>/<id>` and raises StateNotApplied with a diff unless every attribute in
    `expected` has that value (None: must be absent). readOnly, writeOnly, returned=never
    and unpublished attributes are ignored, so a correct server never fails it.
    """

    def check(
        resource: Mapping[str, Any],
        expected: Mapping[str, Any],
        resource_type: str = "User",
        clause: str = "",
    ) -> dict[str, Any]:
        path = f"{capabilities.endpoint(resource_type).rstrip('/')}/{resource['id']}"
        response: Response = scim.get(path)
        if response.status != 200:
            raise StatusMismatch(
                f"GET {path} after the write answered {response.status}",
                clause=clause,
                expected="200",
                actual=str(response.status),
                exchanges=[response.exchange],
            )
        actual = response.json_object()
        expect_state(
            expected,
            actual,
            capabilities,
            resource_type,
            clause=clause,
            exchanges=[response.exchange],
        )
        return actual

    return check


@pytest.fixture
def destructive(scim_state: RunState) -> None:
    """Gate for checks that fill or reset a tenant: they run only with --scim-destructive."""
    if not scim_state.settings.destructive:
        pytest.skip("changes tenant-wide state; run with --scim-destructive to include it")
