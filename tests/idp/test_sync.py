"""`scim-idp sync` against the bundled reference server, started as a subprocess.

One lifecycle per profile: a first sync creates everything, the same command again changes
nothing, revision 1 updates and deactivates exactly what the directory changed (read back
over HTTP). A server that refuses some requests makes the run fail and say why.
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from harness.client import ScimClient
from harness.endpoint import EmbeddedServer, Target
from harness.exchange import Masker
from harness.idp.directory import Directory, compare, generate_directory
from harness.idp.profiles import load_profile, profile_names
from harness.idp.sync import (
    LatencyStats,
    ProgressView,
    SyncEngine,
    SyncOptions,
    SyncRecorder,
    Tally,
    differences,
    manager_levels,
    run_sync,
    server_view,
    user_fields_of,
)

GROUPS = 12
PROFILES = {"generic": 200, "entra": 200, "okta": 60, "jumpcloud": 120}
"""Profile -> users: Okta sends a password with every create, which the reference server
hashes with scrypt (~0.1 s of CPU each), so Okta gets a smaller directory. JumpCloud sends
no externalId and imports no groups: renamed users and groups are found by former names."""


@pytest.fixture
def server() -> Iterator[Target]:
    """A fresh reference server on 127.0.0.1 (port 0) per test; stopped by its process."""
    embedded = EmbeddedServer()
    target = embedded.start()
    try:
        yield target
    finally:
        embedded.stop()


def _sync(target: Target, profile: str, users: int, revision: int) -> dict[str, Any]:
    out = io.StringIO()
    options = SyncOptions(
        url=target.url,
        token=target.token,
        profile=profile,
        users=users,
        groups=GROUPS,
        seed=5,
        revision=revision,
        concurrency=8,
        progress="none",
        json_out="-",
    )
    report = run_sync(options, out=out, err=io.StringIO())
    text = out.getvalue()
    assert target.token is not None
    assert target.token not in text
    data: dict[str, Any] = json.loads(text[text.index("{\n") :])
    data["exit_code"] = report.exit_code
    data["text"] = text
    return data


def _listing(target: Target, endpoint: str) -> list[dict[str, Any]]:
    """Every resource on the server, read with plain RFC paging (not the profile's)."""
    found: list[dict[str, Any]] = []
    with httpx.Client(headers={"Authorization": f"Bearer {target.token}"}) as http:
        start = 1
        while True:
            page = http.get(
                f"{target.url}{endpoint}", params={"startIndex": start, "count": 500}
            ).json()
            found += page.get("Resources", [])
            if not page.get("Resources") or len(found) >= page["totalResults"]:
                return found
            start += len(page["Resources"])


def _counts(data: Mapping[str, Any], kind: str) -> dict[str, int]:
    return {k: v for k, v in data["counts"][kind].items() if v}


def _check_server_holds(target: Target, directory: Directory, fields: tuple[str, ...]) -> None:
    """Every directory user and group as the IdP maps it; leavers gone or inactive."""
    listed_users = _listing(target, "/Users")
    users = {u.get("externalId") or u["userName"]: u for u in listed_users}
    kept = [u for u in directory.departed if u.external_id in users or u.user_name in users]
    assert len(listed_users) == len(directory.users) + len(kept), "a person provisioned twice"
    ids = {}
    for user in directory.users:
        resource = users.get(user.external_id) or users[user.user_name]
        ids[user.user_name] = resource["id"]
        assert differences(resource, user, None, fields) == []
        assert server_view(resource)["active"] is user.active
    for user in directory.departed:
        resource = users.get(user.external_id) or users.get(user.user_name)
        assert resource is None or not server_view(resource)["active"]
    listed = _listing(target, "/Groups")
    assert len(listed) == len(directory.groups)
    groups = {g.get("externalId") or g["displayName"]: g for g in listed}
    for group in directory.groups:
        resource = groups.get(group.external_id) or groups[group.display_name]
        assert resource["displayName"] == group.display_name
        members = {m["value"] for m in resource.get("members", [])}
        assert members == {ids[n] for n in group.member_user_names}


@pytest.mark.parametrize("profile", [p for p in PROFILES if p in profile_names()])
def test_sync_then_rerun_then_revision_one(server: Target, profile: str) -> None:
    """The IdP's cycle: create all; the same run again is all unchanged; revision 1 updates,
    deactivates and creates exactly what the directory changed."""
    users = PROFILES[profile]
    fields = user_fields_of(load_profile(profile))
    first = _sync(server, profile, users, 0)
    assert first["exit_code"] == 0, first["text"]
    assert _counts(first, "users") == {"created": users}
    assert _counts(first, "groups") == {"created": GROUPS}
    assert first["requests"] >= users
    base = generate_directory(5, users, GROUPS)
    _check_server_holds(server, base, fields)

    again = _sync(server, profile, users, 0)
    assert again["exit_code"] == 0, again["text"]
    assert _counts(again, "users") == {"unchanged": users}
    assert _counts(again, "groups") == {"unchanged": GROUPS}
    assert again["requests"] < first["requests"] / 2

    later = generate_directory(5, users, GROUPS, revision=1)
    changes = compare(base, later)
    updated = {k for k, f in changes.changed.items() if set(f) & set(fields)}
    updated -= changes.deactivated
    cycle = _sync(server, profile, users, 1)
    assert cycle["exit_code"] == 0, cycle["text"]
    expected = {
        "created": len(changes.joined),
        "updated": len(updated),
        "deactivated": len(changes.left) + len(changes.deactivated),
        "unchanged": len(base.users) - len(changes.left) - len(updated | changes.deactivated),
    }
    assert _counts(cycle, "users") == {k: v for k, v in expected.items() if v}
    assert updated, "revision 1 must change some attribute the profile maps"
    touched = set(changes.members_added) | set(changes.members_removed) | changes.groups_renamed
    assert cycle["counts"]["groups"]["updated"] >= len(touched)
    _check_server_holds(server, later, fields)


def test_failed_requests_fail_the_run_and_are_shown(server: Target) -> None:
    """Creates refused for a few users: exit 1, the failure count, and the masked exchange."""
    refused = {u.user_name for u in generate_directory(5, 40, 2).users[5:8]}

    def handler(request: httpx.Request) -> httpx.Response | None:
        creates = request.method == "POST" and request.url.path.endswith("/Users")
        if creates and json.loads(request.content).get("userName") in refused:
            body = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                "status": "400",
                "scimType": "invalidValue",
                "detail": "refused by the test",
            }
            return httpx.Response(400, json=body, headers={"Content-Type": "application/scim+json"})
        return None

    transport = _Intercepting(handler)
    out = io.StringIO()
    assert server.token is not None
    client = ScimClient(server.url, server.token, transport=transport)
    try:
        options = SyncOptions(
            url=server.url,
            token=server.token,
            profile="generic",
            users=40,
            groups=2,
            seed=5,
            concurrency=4,
            progress="none",
            show_failures=2,
        )
        report = run_sync(options, out=out, err=io.StringIO(), client=client)
    finally:
        client.close()
    text = out.getvalue()
    assert report.exit_code == 1
    assert report.tally.counts[("users", "failed")] == 3
    assert report.tally.counts[("users", "created")] == 37
    assert "FAILED: 3 operations failed; the first 2:" in text
    assert "refused by the test" in text
    assert "< 400" in text
    assert "Bearer ***" in text
    assert server.token not in text


class _Intercepting(httpx.BaseTransport):
    """Sees every request; answers some itself (a failing server) and forwards the rest."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        answer = self.handler(request)
        if answer is not None:
            return answer  # type: ignore[no-any-return]
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_latency_percentiles_are_close_and_bounded() -> None:
    """Log buckets: within 2% of the exact percentile, in constant memory."""
    stats = LatencyStats()
    samples = [i / 1000 for i in range(1, 1001)]  # 1 ms .. 1 s
    for s in samples:
        stats.add(s)
    assert stats.count == 1000
    assert stats.percentile(50) == pytest.approx(0.5, rel=0.02)
    assert stats.percentile(99) == pytest.approx(0.99, rel=0.02)
    assert stats.percentile(100) <= 1.0
    assert len(stats._buckets) < 400
    assert LatencyStats().percentile(50) == 0.0


def test_the_recorder_keeps_few_exchanges() -> None:
    """A 10,000-user sync must not keep 30,000 exchanges: counts and times only."""
    from harness.exchange import Exchange

    recorder = SyncRecorder(keep=3)
    for n in range(50):
        recorder.record(Exchange("GET", f"http://x/{n}", (), "", 200, (), "", 0.01))
    assert recorder.total == 50
    assert len(recorder.exchanges) == 3
    assert recorder.latency.count == 50


def test_managers_come_before_their_reports() -> None:
    directory = generate_directory(2, 150, 0)
    levels = manager_levels(directory.users)
    level_of = {u.user_name: n for n, level in enumerate(levels) for u in level}
    assert len(level_of) == 150
    for user in directory.users:
        if user.manager_user_name:
            assert level_of[user.manager_user_name] < level_of[user.user_name]
    assert [u.title for u in levels[0]] == ["Chief Executive Officer"]


def test_differences_compare_only_mapped_fields() -> None:
    """Unmapped attributes never look changed; userName compares without case."""
    user = generate_directory(2, 3, 0).users[2]
    resource = {
        "userName": user.user_name.upper(),
        "name": {"givenName": user.given_name, "familyName": "Other"},
        "displayName": user.display_name,
        "emails": [{"value": user.email, "type": "work", "primary": True}],
        "externalId": user.external_id,
        "active": "False",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "manager": {"value": "m-1"},
        },
    }
    assert differences(resource, user, "m-1", ("user_name", "given_name")) == []
    assert differences(resource, user, "m-2", ("family_name", "manager_user_name")) == [
        "family_name",
        "manager_user_name",
    ]
    assert server_view(resource)["active"] is False


def test_a_patch_update_carries_only_the_changed_attributes(server: Target) -> None:
    """Entra updates with one PATCH operation per changed attribute, never the whole user."""
    assert server.token is not None
    options = SyncOptions(
        url=server.url, token=server.token, profile="entra", users=120, groups=0, seed=4
    )
    run_sync(dataclasses.replace(options, progress="none"), out=io.StringIO(), err=io.StringIO())
    patches: list[list[str]] = []

    def spy(request: httpx.Request) -> None:
        if request.method == "PATCH" and "/Users/" in request.url.path:
            ops = json.loads(request.content)["Operations"]
            patches.append([op["path"] for op in ops])

    client = ScimClient(server.url, server.token, transport=_Intercepting(spy))
    try:
        report = run_sync(
            dataclasses.replace(options, revision=1, progress="none"),
            out=io.StringIO(),
            err=io.StringIO(),
            client=client,
        )
    finally:
        client.close()
    assert report.exit_code == 0
    updates = [p for p in patches if p != ["active"]]
    assert len(updates) == report.tally.counts[("users", "updated")]
    assert ["title"] in updates
    assert all(1 <= len(p) <= 4 for p in updates)
    renamed = [p for p in updates if "name.familyName" in p]
    assert renamed
    assert all(
        set(p) == {"userName", "displayName", 'emails[type eq "work"].value', "name.familyName"}
        for p in renamed
    )


class _RecordingSim:
    """Stands in for the Simulator: records what the engine asks for, in order."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.profile = load_profile("generic")
        self.refuse = refuse
        self.created: list[str] = []
        self.lock = threading.Lock()

    def import_users(self) -> list[dict[str, Any]]:
        return []

    def import_groups(self) -> list[dict[str, Any]]:
        return []

    def lookup_user(self, user: Any) -> None:
        return None

    def create_user(self, user: Any) -> str:
        if user.user_name in self.refuse:
            from harness.idp.simulator import IdpFailure

            raise IdpFailure("refused", expected="201", actual="400")
        manages = "Head" in (user.title or "") or "Manager" in (user.title or "")
        time.sleep(0.02 if manages or user.manager_user_name is None else 0.001)
        with self.lock:
            self.created.append(user.user_name)
        return f"id-{user.user_name}"


def test_with_a_mapped_manager_managers_are_created_before_their_reports() -> None:
    """Level by level: a report is only sent once its manager has an id (or failed), even
    though managers here answer 20 times slower than their reports."""
    directory = generate_directory(6, 120, 0)
    ceo = directory.users[0].user_name
    sim = _RecordingSim(refuse=frozenset({directory.users[1].user_name}))
    tally = Tally()
    progress = ProgressView("none", io.StringIO(), SyncRecorder(), Masker([]))
    engine = SyncEngine(
        sim,  # type: ignore[arg-type]
        directory,
        concurrency=8,
        tally=tally,
        progress=progress,
        user_fields=("user_name", "manager_user_name"),
    )
    engine.run()
    position = {name: n for n, name in enumerate(sim.created)}
    assert sim.created[0] == ceo
    for user in directory.users[2:]:
        if user.manager_user_name in position:
            assert position[user.manager_user_name] < position[user.user_name]
    assert tally.counts[("users", "created")] == 119
    assert tally.counts[("users", "failed")] == 1
    assert tally.failures[0].action == f"create user {directory.users[1].user_name}"


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_in_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """auto: rich on a TTY, plain lines elsewhere or with CI=true; notes never show a token."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    assert ProgressView("auto", Tty(), SyncRecorder(), Masker([])).mode == "rich"
    assert ProgressView("auto", io.StringIO(), SyncRecorder(), Masker([])).mode == "plain"
    monkeypatch.setenv("CI", "true")
    assert ProgressView("auto", Tty(), SyncRecorder(), Masker([])).mode == "plain"

    stream = io.StringIO()
    plain = ProgressView("plain", stream, SyncRecorder(), Masker(["s3cret-token"]), interval=60)
    plain.note("connecting with s3cret-token")
    plain.phase("users", 3)
    for _ in range(3):
        plain.advance("users")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[scim-idp] connecting with ***"
    assert lines[1].startswith("[scim-idp] users: 0/3 (0%)")
    assert lines[2].startswith("[scim-idp] users: 3/3 (100%)")
    assert len(lines) == 3  # the middle steps fall inside the interval

    bar = io.StringIO()
    rich = ProgressView("rich", bar, SyncRecorder(), Masker([]))
    rich.phase("users", 2)
    rich.advance("users", 2)
    rich.close()
    assert "users" in bar.getvalue()
    assert "2/2" in bar.getvalue()
