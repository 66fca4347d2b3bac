"""The simulator sends exactly what a profile says, in its order, with its headers, query
flag and retry policy, and judges answers the way that IdP does. Unit tests run against a
scripted transport; the integration test runs every scenario of every profile against the
reference server.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `defects`
from defects.serve import serve

from harness.client import ScimClient
from harness.idp._templates import MISSING, TemplateError, deep_merge, render
from harness.idp.model import DirectoryGroup, DirectoryUser
from harness.idp.profiles import Profile, RetryPolicy, load_profile, profile_names
from harness.idp.simulator import (
    SCENARIOS,
    IdpFailure,
    NotSent,
    Simulator,
    compare_state,
    extract,
    person,
    run_scenario,
)
from harness.verdicts import Blocked, ScimViolation, Unsupported

BASE = "http://idp.test/scim/v2"
TOKEN = "tok-9f8e7d6c5b4a"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ADA = DirectoryUser(
    user_name="ada@example.com",
    given_name="Ada",
    family_name="Lovelace",
    email="ada@example.com",
    display_name="Ada Lovelace",
    external_id="00u1",
    title="Analyst",
    department="R&D",
)


def answer(status: int, body: Any = None, **headers: str) -> httpx.Response:
    content = b"" if body is None else json.dumps(body).encode()
    head = {"content-type": "application/scim+json", **headers} if content else headers
    return httpx.Response(status, content=content, headers=head)


def listing(*resources: dict[str, Any], total: int | None = None, start: int = 1) -> dict[str, Any]:
    return {
        "schemas": [LIST],
        "totalResults": len(resources) if total is None else total,
        "startIndex": start,
        "itemsPerPage": len(resources),
        "Resources": list(resources),
    }


class Script:
    """A transport that records requests and answers with `respond(request)`."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    def body(self, index: int) -> Any:
        return json.loads(self.requests[index].content)

    @property
    def lines(self) -> list[str]:
        return [f"{r.method} {r.url.raw_path.decode()}" for r in self.requests]


def simulator(
    name: str | Profile, respond: Callable[[httpx.Request], httpx.Response], **kw: Any
) -> tuple[Simulator, Script]:
    script = Script(respond)
    client = ScimClient(BASE, TOKEN, transport=httpx.MockTransport(script))
    profile = load_profile(name) if isinstance(name, str) else name
    return Simulator(client, profile, **kw), script


# -- templates -------------------------------------------------------------------------------


def test_whole_placeholder_keeps_the_type_and_parts_interpolate() -> None:
    ctx = {"user": ADA, "members": ["a", "b"], "flag": False}
    assert render("{{flag}}", ctx) is False
    assert render("{{members}}", ctx) == ["a", "b"]
    assert render("{{user.givenName}} {{user.family_name}}", ctx) == "Ada Lovelace"
    assert render('userName eq "{{user.user_name}}"', ctx) == 'userName eq "ada@example.com"'


def test_missing_values_are_left_out_but_written_nulls_are_sent() -> None:
    ctx = {"user": replace(ADA, title=None, department=None)}
    body = render({"title": "{{user.title}}", ENT: {"department": "{{user.department}}"},
                   "nickName": None, "roles": []}, ctx)  # fmt: skip
    assert body == {"nickName": None, "roles": []}


def test_each_if_and_merge() -> None:
    ctx = {
        "members": ["u1", "u2"],
        "user": replace(ADA, title=None),
        "last_response": {"a": {"b": 1, "c": 2}, "id": "x"},
    }
    remove = {"op": "remove", "path": 'members[value eq "{{item}}"]'}
    template = [
        {"$each": "members", "do": remove},
        {"$if": "user.title", "do": {"op": "Replace", "path": "title"}},
        {"$if": "user.given_name", "do": {"op": "Replace", "value": "{{user.given_name}}"}},
    ]
    ops = render(template, ctx)
    assert ops == [
        {"op": "remove", "path": 'members[value eq "u1"]'},
        {"op": "remove", "path": 'members[value eq "u2"]'},
        {"op": "Replace", "value": "Ada"},
    ]
    merged = render({"$merge": ["{{last_response}}", {"a": {"c": 3}, "d": 4}]}, ctx)
    assert merged == {"a": {"b": 1, "c": 3}, "id": "x", "d": 4}
    assert deep_merge({"x": [1]}, {"x": [2]}) == {"x": [2]}
    assert render("{{nothing.here}}", ctx) is MISSING


# -- exact requests --------------------------------------------------------------------------


def _created(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content) if request.content else {}
    body.pop("password", None)
    return answer(201, {**body, "id": "new-id"})


def test_okta_create_sends_its_body_and_headers() -> None:
    sim, script = simulator("okta", _created)
    assert sim.create_user(ADA) == "new-id"
    request = script.requests[0]
    assert script.lines == ["POST /scim/v2/Users"]
    assert request.headers["user-agent"] == "Okta SCIM Client 1.0.0"
    assert request.headers["content-type"] == "application/scim+json; charset=utf-8"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert script.body(0) == {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": "ada@example.com", "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": "00u1",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }


def test_okta_update_is_get_then_put_of_the_merged_object() -> None:
    stored = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "meta": {"resourceType": "User"},
        "userName": "old@example.com",
        "name": {"givenName": "Old", "familyName": "Lovelace", "formatted": "kept"},
    }

    def respond(request: httpx.Request) -> httpx.Response:
        return answer(200, stored if request.method == "GET" else {**stored, "id": "u1"})

    sim, script = simulator("okta", respond)
    sim.update_user("u1", ADA)
    assert script.lines == ["GET /scim/v2/Users/u1", "PUT /scim/v2/Users/u1"]
    put = script.body(1)
    assert put["id"] == "u1"
    assert put["meta"] == {"resourceType": "User"}
    assert put["name"] == {"givenName": "Ada", "familyName": "Lovelace", "formatted": "kept"}
    assert put["userName"] == "ada@example.com"


def test_entra_update_is_one_capitalised_replace_per_attribute() -> None:
    sim, script = simulator("entra", lambda r: answer(204))
    sim.update_user("u1", replace(ADA, title=None, employee_number=None))
    assert script.lines == ["PATCH /scim/v2/Users/u1"]
    ops = script.body(0)["Operations"]
    assert {op["op"] for op in ops} == {"Replace"}
    assert [op["path"] for op in ops] == [
        "userName", "displayName", 'emails[type eq "work"].value', "name.givenName",
        "name.familyName", "externalId", f"{ENT}:department",
    ]  # fmt: skip


def test_entra_deactivates_with_the_string_false() -> None:
    sim, script = simulator("entra", lambda r: answer(204))
    sim.deactivate_user("u1")
    assert script.body(0)["Operations"] == [{"op": "Replace", "path": "active", "value": "False"}]


def test_entra_group_push_creates_then_adds_members_in_one_operation() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return _created(request) if request.method == "POST" else answer(204)

    sim, script = simulator("entra", respond)
    gid = sim.create_group(DirectoryGroup("Team", "obj-1"), ["u1", "u2"])
    assert gid == "new-id"
    assert script.lines == ["POST /scim/v2/Groups", "PATCH /scim/v2/Groups/new-id"]
    assert "members" not in script.body(0)
    assert script.body(1)["Operations"] == [
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u1"},
                                                   {"$ref": None, "value": "u2"}]}
    ]  # fmt: skip
    sim.remove_members(gid, ["u1"])
    assert script.body(2)["Operations"] == [
        {"op": "Remove", "path": "members", "value": [{"value": "u1"}]}
    ]


def test_okta_resends_the_group_name_with_every_membership_update() -> None:
    """OKTA-REF: the path-less rename carrying the group's id "is re-sent each time there is
    a group membership update"; without the group's name nothing extra is sent."""
    sim, script = simulator("okta", lambda request: answer(204))
    team = DirectoryGroup("Team", "ext-1")
    sim.add_members("g1", ["u1"], team)
    sim.remove_members("g1", ["u2"], team)
    assert script.lines == ["PATCH /scim/v2/Groups/g1"] * 4
    rename = {"op": "replace", "value": {"id": "g1", "displayName": "Team"}}
    assert script.body(0)["Operations"] == [rename]
    assert script.body(1)["Operations"][0]["op"] == "add"
    assert script.body(2)["Operations"] == [rename]
    assert script.body(3)["Operations"] == [{"op": "remove", "path": 'members[value eq "u2"]'}]
    sim.add_members("g1", ["u3"])
    assert len(script.requests) == 5


def test_created_resources_are_reported() -> None:
    seen: list[tuple[str, str]] = []
    sim, _ = simulator("generic", _created, on_create=lambda e, i: seen.append((e, i)))
    sim.create_user(ADA)
    sim.create_group(DirectoryGroup("Team", "g"), [])
    assert seen == [("/Users", "new-id"), ("/Groups", "new-id")]


def test_onelogin_lookup_keeps_its_trailing_ampersand() -> None:
    sim, script = simulator("onelogin", lambda r: answer(200, listing()))
    assert sim.lookup_user(ADA) is None
    assert str(script.requests[0].url).endswith("?filter=userName+eq+%22ada@example.com%22&")
    assert script.requests[0].headers["user-agent"] == ""


def test_base_url_flag_goes_on_every_request() -> None:
    entra = load_profile("entra")
    flagged = replace(entra, base_url_query="aadOptscim062020")
    sim, script = simulator(flagged, lambda r: answer(200, listing()))
    sim.lookup_user(ADA)
    assert "aadOptscim062020" in script.requests[0].url.params
    assert script.requests[0].url.params["filter"] == 'userName eq "ada@example.com"'


# -- answers the IdP accepts ---------------------------------------------------------------


def test_okta_reads_a_404_lookup_as_not_found_entra_does_not() -> None:
    miss = answer(404, {"schemas": [ERROR], "status": "404", "detail": "no such user"})
    okta, _ = simulator("okta", lambda r: miss)
    assert okta.lookup_user(ADA) is None
    entra, _ = simulator("entra", lambda r: miss)
    with pytest.raises(IdpFailure, match=r"lookup_user \(MS-TUT MS-QUAR\): GET answered 404"):
        entra.lookup_user(ADA)


def test_lookup_returns_the_first_match() -> None:
    sim, _ = simulator("entra", lambda r: answer(200, listing({"id": "u7"}, {"id": "u8"})))
    assert sim.lookup_user(ADA) == "u7"


def test_a_create_without_an_id_is_refused_with_the_exchange() -> None:
    sim, _ = simulator("okta", lambda r: answer(201, {"userName": "ada@example.com"}))
    with pytest.raises(IdpFailure) as caught:
        sim.create_user(ADA)
    failure = caught.value
    assert isinstance(failure, ScimViolation)
    assert "lacks id" in failure.message
    assert failure.exchanges[0].method == "POST"
    assert TOKEN not in json.dumps(failure.exchanges[0].to_dict())


def test_list_counters_must_be_numbers() -> None:
    body = {**listing(), "totalResults": "0"}
    sim, _ = simulator("okta", lambda r: answer(200, body))
    with pytest.raises(IdpFailure, match="totalResults is '0', not a number"):
        sim.lookup_user(ADA)


def test_not_strict_records_and_carries_on() -> None:
    sim, script = simulator("generic", lambda r: answer(200, {"id": "x"}), strict=False)
    assert sim.create_user(ADA) == "x"
    sim.deactivate_user("x")
    assert len(script.requests) == 2
    assert [f.actual for f in sim.failures] == ["200"]


def test_an_operation_the_idp_never_sends_is_a_skip() -> None:
    sim, script = simulator("okta", lambda r: answer(204))
    with pytest.raises(
        NotSent, match="the Okta \\(OIN template app\\) profile never sends delete_user"
    ):
        sim.delete_user("u1")
    assert issubclass(NotSent, Unsupported)
    assert script.requests == []


# -- retries -----------------------------------------------------------------------------


def _throttled(times: int, retry_after: str) -> Callable[[httpx.Request], httpx.Response]:
    calls = {"n": 0}

    def respond(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] <= times:
            return answer(
                429, {"schemas": [ERROR], "status": "429"}, **{"retry-after": retry_after}
            )
        return _created(request)

    return respond


def test_retry_after_is_honoured_and_bounded() -> None:
    sleeps: list[float] = []
    sim, script = simulator("okta", _throttled(2, "2"), sleep=sleeps.append)
    assert sim.create_user(ADA) == "new-id"
    assert len(script.requests) == 3
    assert sleeps == [2.0, 2.0]
    sleeps.clear()
    sim, _ = simulator("okta", _throttled(1, "3600"), sleep=sleeps.append, max_wait=5.0)
    sim.create_user(ADA)
    assert sleeps == [5.0]


def test_attempts_are_bounded_then_the_answer_is_judged() -> None:
    sleeps: list[float] = []
    sim, script = simulator("okta", _throttled(99, "x"), sleep=sleeps.append)
    with pytest.raises(IdpFailure, match="POST answered 429"):
        sim.create_user(ADA)
    assert len(script.requests) == 3
    assert sleeps == [1.0, 2.0]  # no usable Retry-After: backoff


def test_entra_does_not_retry_within_a_cycle() -> None:
    sim, script = simulator("entra", _throttled(1, "1"), sleep=lambda s: None)
    with pytest.raises(IdpFailure):
        sim.create_user(ADA)
    assert len(script.requests) == 1


def test_custom_retry_statuses() -> None:
    generic = load_profile("generic")
    policy = RetryPolicy(
        statuses=(503,), max_attempts=2, retry_after=False, backoff=0.5, source="x"
    )
    sleeps: list[float] = []
    calls = iter([answer(503, {"schemas": [ERROR], "status": "503"}), answer(201, {"id": "u"})])
    sim, _ = simulator(replace(generic, retry=policy), lambda r: next(calls), sleep=sleeps.append)
    assert sim.create_user(ADA) == "u"
    assert sleeps == [0.5]


# -- paging ----------------------------------------------------------------------------------


def _pages(total: int, cap: int) -> Callable[[httpx.Request], httpx.Response]:
    users = [{"id": f"u{i}"} for i in range(1, total + 1)]

    def respond(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["startIndex"])
        count = min(int(request.url.params["count"]), cap)
        return answer(200, listing(*users[start - 1 : start - 1 + count], total=total, start=start))

    return respond


def test_okta_pages_by_100_from_1() -> None:
    sim, script = simulator("okta", _pages(250, 100))
    assert len(sim.import_users()) == 250
    starts = [r.url.params["startIndex"] for r in script.requests]
    assert starts == ["1", "101", "201"]
    assert {r.url.params["count"] for r in script.requests} == {"100"}


def test_okta_steps_by_count_even_when_the_server_returns_fewer() -> None:
    """Okta adds 100 per page (OKTA-REF): a server capping pages at 50 loses users."""
    sim, _ = simulator("okta", _pages(150, 50))
    assert len(sim.import_users()) == 100
    generic, gscript = simulator("generic", _pages(150, 50))
    assert len(generic.import_users()) == 150
    assert [r.url.params["startIndex"] for r in gscript.requests] == ["1", "51", "101"]


# -- state comparison -----------------------------------------------------------------------


def test_extract_and_compare_state() -> None:
    user = {"userName": "Ada@Example.com", "active": "False",
            "emails": [{"type": "work", "value": "a@x"}, {"type": "home", "value": "h@x"}],
            ENT: {"manager": {"value": "m1"}, "department": "R&D"},
            "members": [{"value": "u1"}, {"value": "u2"}]}  # fmt: skip
    assert extract(user, 'emails[type eq "home"].value') == ["h@x"]
    assert extract(user, f"{ENT}:manager.value") == "m1"
    assert compare_state({"userName": "ada@example.com", "emails.value": "a@x"}, user) == []
    assert compare_state({"members": ["u2", "u1"], f"{ENT}:department": "r&d"}, user) == []
    assert compare_state({"active": False}, user) == ["active is 'False', expected False"]
    assert compare_state({"title": None, "members": ["u1"]}, user) == [
        "members is [{'value': 'u1'}, {'value': 'u2'}], expected ['u1']"
    ]


def test_scenarios_match_the_contract() -> None:
    assert SCENARIOS == ("assign", "update", "rename-and-email", "deactivate", "reactivate",
                         "unassign", "reassign-after-delete", "group-push", "import",
                         "link-existing")  # fmt: skip
    sim, _ = simulator("generic", _created)
    with pytest.raises(ValueError, match="unknown scenario"):
        run_scenario(sim, "nope", "p-")


def test_a_lookup_hit_for_a_fresh_user_blocks_the_scenario() -> None:
    sim, _ = simulator("generic", lambda r: answer(200, listing({"id": "someone"})))
    with pytest.raises(Blocked, match="found someone"):
        run_scenario(sim, "assign", "p-")


# -- against the reference server ----------------------------------------------------------


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimClient]:
    from reference_server.app import create_app
    from reference_server.settings import ServerSettings

    folder: Path = tmp_path_factory.mktemp("idp-reference")
    app = create_app(
        ServerSettings(database_url=f"sqlite:///{folder / 'scim.db'}", bootstrap_token=TOKEN)
    )
    with serve(app) as url, ScimClient(url, TOKEN) as client:
        yield client


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("name", profile_names())
def test_every_scenario_passes_on_the_reference_server(
    reference: ScimClient, name: str, scenario: str
) -> None:
    created: list[tuple[str, str]] = []
    sim = Simulator(reference, load_profile(name), on_create=lambda e, i: created.append((e, i)))
    run_scenario(sim, scenario, f"unit-{name}-")
    assert created
    assert sim.failures == []


@pytest.mark.parametrize(
    ("name", "quirk"), [(n, q.id) for n in profile_names() for q in load_profile(n).quirks]
)
def test_every_quirk_works_on_the_reference_server(
    reference: ScimClient, name: str, quirk: str
) -> None:
    profile = load_profile(name)
    result = Simulator(reference, profile).run_quirk(profile.quirk(quirk), f"unitq-{name}-")
    assert result.problems == []
    assert result.works_with_idp


def test_people_are_deterministic_and_prefixed() -> None:
    assert person("run-", 1) == person("run-", 1)
    assert person("run-", 1).user_name.startswith("run-1.")


def test_hostile_answers_are_failures_not_crashes() -> None:
    """A non-JSON read-back or a non-list Resources is recorded, never a TypeError."""
    odd = {"schemas": [LIST], "totalResults": 0, "Resources": 5}
    sim, _ = simulator("generic", lambda r: answer(200, odd), strict=False)
    assert sim.lookup_user(ADA) is None
    assert sim.import_users() == []
    html = httpx.Response(200, content=b"<html>ok</html>", headers={"content-type": "text/html"})
    sim, _ = simulator("generic", lambda r: html, strict=False)
    assert sim.verify("/Users", "u1", {"active": True}, "read-back") is None
    assert "no JSON object" in sim.failures[-1].message


def test_probe_names_carry_the_prefix() -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        return _created(request) if request.method == "POST" else answer(204)

    sim, script = simulator("jumpcloud", respond)
    sim.probe("run-42-")
    assert script.lines == [
        "POST /scim/v2/Users",
        "DELETE /scim/v2/Users/new-id",
        "POST /scim/v2/Groups",
        "DELETE /scim/v2/Groups/new-id",
    ]
    assert script.body(0)["userName"].startswith("run-42-probe-")
    assert script.body(2)["displayName"].startswith("run-42-probe-")


def test_a_page_must_echo_the_start_index_asked_for() -> None:
    """Entra's validation checks the echoed startIndex (MS-LOGICAPP); a server ignoring it fails."""
    users = [{"id": f"u{i}"} for i in range(1, 8)]
    page = listing(*users[:5], total=7, start=1)
    sim, script = simulator("entra", lambda r: answer(200, page), strict=False)
    sim.import_users()
    assert [r.url.params["startIndex"] for r in script.requests] == ["1", "6"]
    assert "asked for startIndex 6 answers startIndex 1" in sim.failures[0].message


def test_case_filters_in_templates() -> None:
    ctx = {"user": ADA}
    assert render("{{user.user_name|upper}}", ctx) == "ADA@EXAMPLE.COM"
    assert render('userName eq "{{user.email|lower}}"', ctx) == 'userName eq "ada@example.com"'
    with pytest.raises(TemplateError, match="unknown filter"):
        render("{{user.user_name|title}}", ctx)
