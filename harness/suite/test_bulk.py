"""Bulk operations (RFC 7644 section 3.7, 3.7.1-3.7.4): many operations in one POST /Bulk.

Every check skips when /ServiceProviderConfig declares "bulk.supported": false. Each reads
back what the BulkResponse claims was done; everything a bulk request creates is tracked
for cleanup at once (by the location it reports, or by its run-prefixed name).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status, without_response_checks
from harness.client import Response, ScimClient
from harness.discovery import ENTERPRISE_URN, Capabilities
from harness.run import RunState
from harness.validation.messages import validate_message
from harness.verdicts import (
    Blocked,
    ErrorBodyInvalid,
    SchemaViolation,
    ScimViolation,
    StateNotApplied,
    StatusMismatch,
    TransportFailure,
    Unsupported,
    ValueMismatch,
)

if TYPE_CHECKING:
    from harness.suite.conftest import CreatedResources

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"
MAX_SENT = 10 * 1024 * 1024
"""Bytes the suite sends at most to provoke a 413 (larger limits: skipped with the reason)."""

Body = dict[str, Any]


def _code(result: Mapping[str, Any]) -> int | None:
    """An operation's status: "201", 201 or {"code": "201"} (RFC 7644 3.7, 3.7.3)."""
    status = result.get("status")
    if isinstance(status, Mapping):
        status = status.get("code")
    if isinstance(status, bool):
        return None
    if isinstance(status, int):
        return status
    if isinstance(status, str) and status.strip().isdigit():
        return int(status.strip())
    return None


def _ok(result: Mapping[str, Any]) -> bool:
    code = _code(result)
    return code is not None and 200 <= code < 300


def _id_of(location: Any, endpoint: str) -> str | None:
    """The resource id at the end of a location under `endpoint`, if it is one."""
    if not isinstance(location, str) or f"{endpoint.rstrip('/')}/" not in location:
        return None
    tail = location.split(f"{endpoint.rstrip('/')}/", 1)[1].split("?")[0].strip("/")
    return tail if tail and "/" not in tail else None


def _prereq(response: Response, *codes: int) -> Response:
    """A response a check builds on; Blocked (not failed) when its status is unexpected."""
    if response.status not in codes:
        raise Blocked(
            f"{response.exchange.method} answered {response.status} (a prerequisite of this "
            "check; the check of that operation reports it)",
            exchanges=[response.exchange],
        )
    return response


def _unknown_path(endpoint: str) -> str:
    return f"{endpoint.rstrip('/')}/scimtest-{uuid.uuid4().hex}"


@dataclass
class BulkRun:
    """One bulk exchange: the request sent, the response, its results, the ids it created."""

    sent: Body
    response: Response
    results: list[Body]
    created: dict[str, str] = field(default_factory=dict)  # bulkId -> id (found to exist)

    def by_bulk_id(self, bulk_id: str) -> Body | None:
        return next((r for r in self.results if r.get("bulkId") == bulk_id), None)

    def by_method(self, method: str) -> list[Body]:
        return [r for r in self.results if str(r.get("method", "")).upper() == method]

    def problem(self, message: str, *, expected: Any, actual: Any) -> ValueMismatch:
        return ValueMismatch(
            message, expected=expected, actual=actual, exchanges=[self.response.exchange]
        )


@dataclass
class Bulk:
    """Sends BulkRequests and tracks what they create (also when the checks then fail)."""

    scim: ScimClient
    capabilities: Capabilities
    created: CreatedResources
    state: RunState

    def request(self, operations: list[Body], fail_on_errors: int | None = None) -> Body:
        body: Body = {"schemas": [BULK_REQUEST], "Operations": operations}
        if fail_on_errors is not None:
            body["failOnErrors"] = fail_on_errors
        return body

    def post(self, body: Body | bytes) -> Response:
        if isinstance(body, bytes):
            return self.scim.post("/Bulk", content=body)
        return self.scim.post("/Bulk", json=body)

    def run(self, operations: list[Body], fail_on_errors: int | None = None) -> BulkRun:
        """POST the request, track its creations, expect a BulkResponse with Operations."""
        sent = self.request(operations, fail_on_errors)
        response = self.post(sent)
        ok, body = response.parsed()
        listed = body.get("Operations") if ok and isinstance(body, dict) else None
        results = [r for r in listed if isinstance(r, dict)] if isinstance(listed, list) else []
        run = BulkRun(sent, response, results)
        self.track(operations, run)
        if not isinstance(listed, list):
            raise SchemaViolation(
                "the bulk request was not answered with a BulkResponse listing Operations",
                expected=f'HTTP 200, {{"schemas": ["{BULK_RESPONSE}"], "Operations": [...]}}',
                actual=f"HTTP {response.status}: {response.text[:300]}",
                exchanges=[response.exchange],
            )
        return run

    def track(self, operations: Iterable[Body], run: BulkRun | None) -> None:
        """Register every resource the POST operations created, for cleanup."""
        for op in operations:
            if str(op.get("method")).upper() != "POST" or not isinstance(op.get("data"), dict):
                continue
            endpoint = str(op.get("path", ""))
            bulk_id = op.get("bulkId")
            result = run.by_bulk_id(bulk_id) if run and isinstance(bulk_id, str) else None
            rid = _id_of(result.get("location"), endpoint) if result else None
            if rid is None:
                rid = self.lookup(endpoint, op["data"])
            if rid is not None:
                self.created.add(endpoint, rid)
                if run is not None and isinstance(bulk_id, str):
                    run.created[bulk_id] = rid

    def lookup(self, endpoint: str, data: Mapping[str, Any]) -> str | None:
        """The id of a resource created with `data` (by its run-prefixed name), if any."""
        key = "userName" if "userName" in data else "displayName"
        name = data.get(key)
        if not isinstance(name, str) or not self.capabilities.filter:
            return None
        try:
            response = self.scim.get(endpoint, params={"filter": f'{key} eq "{name}"'})
            body = response.json_object() if response.status == 200 else {}
        except ScimViolation as exc:
            self.state.leftovers.append(f"could not look up {endpoint} {name}: {exc.message}")
            return None
        found = [r for r in body.get("Resources") or [] if isinstance(r, dict) and r.get("id")]
        return str(found[0]["id"]) if found else None

    def path(self, resource_type: str, rid: str) -> str:
        return f"{self.capabilities.endpoint(resource_type).rstrip('/')}/{rid}"


@pytest.fixture
def bulk(
    scim: ScimClient, capabilities: Capabilities, created: CreatedResources, scim_state: RunState
) -> Bulk:
    """The bulk helper; skips the check when the server declares bulk unsupported."""
    capabilities.require("bulk")
    return Bulk(scim, capabilities, created, scim_state)


def _expect_ok(run: BulkRun, result: Body | None, what: str) -> Body:
    if result is None or not _ok(result):
        raise run.problem(
            f"the bulk operation ({what}) did not succeed",
            expected="a 2xx status for the operation",
            actual=result,
        )
    return result


def _replacement(user: Mapping[str, Any], **changes: Any) -> Body:
    body = {k: v for k, v in user.items() if k not in ("id", "meta", "groups")}
    body.update(changes)
    return body


def _patch(path: str, value: Any, op: str = "replace") -> Body:
    return {"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}


# -- one operation per method: status code, location, effect ---------------------------------

METHODS = ("POST", "PUT", "PATCH", "DELETE")
EXPECTED_CODES = {"POST": (201,), "PUT": (200,), "PATCH": (200, 204), "DELETE": (204,)}


@dataclass
class _Single:
    run: BulkRun
    result: Body
    endpoint: str
    rid: str | None  # the resource operated on (for POST: the id found)
    check: Callable[[], None]  # reads back the effect


def _single(
    method: str,
    bulk: Bulk,
    user_body: Callable[..., Body],
    make_user: Callable[..., Body],
    read_back: Callable[..., Body],
) -> _Single:
    endpoint = bulk.capabilities.endpoint("User")
    if method == "POST":
        data = user_body()
        run = bulk.run(
            [{"method": "POST", "path": endpoint, "bulkId": "scimtest-u1", "data": data}]
        )
        result = run.by_bulk_id("scimtest-u1") or (run.results[0] if run.results else {})
        rid = run.created.get("scimtest-u1")

        def check() -> None:
            if rid is None:
                raise StateNotApplied(
                    "the bulk POST created no resource that can be found",
                    expected=f"a User {data['userName']}",
                    actual=result,
                    exchanges=[run.response.exchange],
                )
            read_back({"id": rid}, {"userName": data["userName"], "name": data["name"]})

        return _Single(run, result, endpoint, rid, check)
    if method == "PATCH":
        bulk.capabilities.require("patch")
    user = make_user()
    path = bulk.path("User", user["id"])
    new_name = f"scimtest bulk {method.lower()} {uuid.uuid4().hex[:6]}"
    op: Body = {"method": method, "path": path}
    if method == "PUT":
        op["data"] = _replacement(user, displayName=new_name)
    elif method == "PATCH":
        op["data"] = _patch("displayName", new_name)
    run = bulk.run([op])
    result = run.by_method(method)[0] if run.by_method(method) else {}

    def effect() -> None:
        if method == "DELETE":
            gone = bulk.scim.get(path)
            if gone.status != 404:
                raise StateNotApplied(
                    "the resource the bulk DELETE removed can still be read",
                    expected="GET answers 404",
                    actual=str(gone.status),
                    exchanges=[run.response.exchange, gone.exchange],
                )
        else:
            read_back(user, {"displayName": new_name})

    return _Single(run, result, endpoint, user["id"], effect)


@clause("rfc7644-3.7.3-must-3", "rfc7644-3.7-must-6")
@pytest.mark.parametrize("method", METHODS)
def test_operation_reports_single_request_status(
    method: str, bulk: Bulk, user_body: Any, make_user: Any, read_back: Any
) -> None:
    """RFC 7644 3.7.3: each operation's status holds the code a single request would get."""
    single = _single(method, bulk, user_body, make_user, read_back)
    if _code(single.result) not in EXPECTED_CODES[method]:
        raise single.run.problem(
            f"the bulk {method} reports status {single.result.get('status')!r}",
            expected=" or ".join(str(c) for c in EXPECTED_CODES[method]),
            actual=single.result,
        )


@clause("rfc7644-3.7-must-6", "rfc7644-3.7.3-must-2")
@pytest.mark.parametrize("method", METHODS)
def test_operation_reports_location(
    method: str, bulk: Bulk, user_body: Any, make_user: Any, read_back: Any
) -> None:
    """RFC 7644 3.7.3: a successful operation returns the "location" of its resource."""
    single = _single(method, bulk, user_body, make_user, read_back)
    _expect_ok(single.run, single.result, method)
    found = _id_of(single.result.get("location"), single.endpoint)
    if found is None or (single.rid is not None and found != single.rid):
        raise single.run.problem(
            f'the bulk {method} result lacks the resource\'s "location"',
            expected=f".../{single.endpoint.strip('/')}/{single.rid or '<new id>'}",
            actual=single.result.get("location"),
        )


@clause("rfc7644-3.7-must-6", "rfc7644-3.7.3-must-2")
def test_post_location_resolves_to_the_resource(bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7: the "location" of a bulk POST is the URL of the resource it created."""
    endpoint = bulk.capabilities.endpoint("User")
    data = user_body()
    run = bulk.run([{"method": "POST", "path": endpoint, "bulkId": "scimtest-loc", "data": data}])
    result = _expect_ok(run, run.by_bulk_id("scimtest-loc"), "POST")
    location = result.get("location")
    if not isinstance(location, str) or not location:
        raise run.problem('the POST result has no "location"', expected="a URL", actual=result)
    fetched = bulk.scim.get(location)
    body = fetched.json() if fetched.status == 200 else None
    if not isinstance(body, dict) or str(body.get("userName", "")).lower() != data["userName"]:
        raise ValueMismatch(
            "GET of the reported location does not return the created User",
            expected=f"200 with userName {data['userName']}",
            actual=f"{fetched.status}: {fetched.text[:200]}",
            exchanges=[run.response.exchange, fetched.exchange],
        )


@clause("rfc7644-3.7-must-9", "rfc7644-3.1-must-3")
@pytest.mark.parametrize("method", METHODS)
def test_operation_takes_effect(
    method: str, bulk: Bulk, user_body: Any, make_user: Any, read_back: Any
) -> None:
    """RFC 7644 3.7: what a bulk operation reports done is done (read back)."""
    single = _single(method, bulk, user_body, make_user, read_back)
    _expect_ok(single.run, single.result, method)
    single.check()


@clause("rfc7644-3.7-may-2", "rfc7644-3.14-must-1", keyword="MUST")
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_operation_version_is_the_resource_version(
    method: str, bulk: Bulk, user_body: Any, make_user: Any, read_back: Any
) -> None:
    """RFC 7644 3.7: an operation's "version" is the resource's current version (meta.version)."""
    bulk.capabilities.require("etag")
    single = _single(method, bulk, user_body, make_user, read_back)
    _expect_ok(single.run, single.result, method)
    version = single.result.get("version")
    if version is None:
        raise Unsupported('the server omits the optional "version" in bulk results')
    if single.rid is None:
        raise Blocked("the created resource could not be found to compare its version")
    current = bulk.scim.get(bulk.path("User", single.rid))
    meta = _prereq(current, 200).json_object().get("meta") or {}
    now = current.headers.get("etag") or meta.get("version")
    if version != now:
        raise ValueMismatch(
            f'the bulk {method} reports "version" {version!r}, the resource is at {now!r}',
            expected=now,
            actual=version,
            exchanges=[single.run.response.exchange, current.exchange],
        )


# -- the BulkResponse message -------------------------------------------------------------------


def _mixed(bulk: Bulk, user_body: Callable[..., Body], make_user: Callable[..., Body]) -> BulkRun:
    endpoint = bulk.capabilities.endpoint("User")
    user = make_user()
    return bulk.run(
        [
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-m1", "data": user_body()},
            {"method": "PUT", "path": bulk.path("User", user["id"]),
             "data": _replacement(user, displayName="scimtest schema")},
        ]
    )  # fmt: skip


@clause("rfc7644-3.7-must-9")
def test_bulk_job_answers_200(bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7: a bulk job that is processed answers HTTP 200 OK."""
    endpoint = bulk.capabilities.endpoint("User")
    run = bulk.run(
        [{"method": "POST", "path": endpoint, "bulkId": "scimtest-j", "data": user_body()}]
    )
    expect_status(run.response, 200)


@clause(
    "rfc7644-3.7-must-1",
    "rfc7644-3.7-must-2",
    "rfc7644-3.7-must-3",
    "rfc7644-3.7-must-6",
    "rfc7644-3.7-must-7",
    "rfc7644-3.1-must-1",
)
def test_bulk_response_matches_its_schema(bulk: Bulk, user_body: Any, make_user: Any) -> None:
    """RFC 7644 3.7: the answer is a BulkResponse (schemas, Operations with method, status)."""
    run = _mixed(bulk, user_body, make_user)
    validate_message("BulkResponse", run.response.json(), exchanges=[run.response.exchange])


@clause("rfc7644-3.7-must-11", "rfc7644-3.7-may-5")
def test_post_returns_its_bulk_id(bulk: Bulk, user_body: Any, read_back: Any) -> None:
    """RFC 7644 3.7: the same "bulkId" comes back together with the resource it created."""
    endpoint = bulk.capabilities.endpoint("User")
    first, second = user_body(), user_body()
    run = bulk.run(
        [
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-b1", "data": first},
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-b2", "data": second},
        ]
    )
    for bulk_id, data in (("scimtest-b1", first), ("scimtest-b2", second)):
        result = _expect_ok(run, run.by_bulk_id(bulk_id), f"POST bulkId {bulk_id}")
        rid = _id_of(result.get("location"), endpoint)
        if rid is None:
            raise run.problem(
                f"the result of bulkId {bulk_id} names no created resource",
                expected="a location with the new id",
                actual=result,
            )
        read_back({"id": rid}, {"userName": data["userName"]})


@clause("rfc7644-3.7.3-must-1")
def test_response_lists_every_operation(bulk: Bulk, user_body: Any, make_user: Any) -> None:
    """RFC 7644 3.7.3: the response includes the result of every processed operation."""
    endpoint = bulk.capabilities.endpoint("User")
    user = make_user()
    run = bulk.run(
        [
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-l1", "data": user_body()},
            {"method": "PUT", "path": bulk.path("User", user["id"]),
             "data": _replacement(user, displayName="scimtest listed")},
            {"method": "DELETE", "path": _unknown_path(endpoint)},
        ]
    )  # fmt: skip
    seen = {
        "POST": run.by_bulk_id("scimtest-l1") is not None,
        "PUT": bool(run.by_method("PUT")),
        "DELETE": bool(run.by_method("DELETE")),
    }
    if not all(seen.values()) or len(run.results) != 3:
        raise run.problem(
            "the BulkResponse does not list the result of each of the 3 operations",
            expected="3 results: POST (bulkId scimtest-l1), PUT, DELETE",
            actual=run.results,
        )


# -- errors ---------------------------------------------------------------------------------------


def _failed_delete(bulk: Bulk) -> tuple[BulkRun, Body]:
    run = bulk.run(
        [{"method": "DELETE", "path": _unknown_path(bulk.capabilities.endpoint("User"))}]
    )
    result = run.by_method("DELETE")[0] if run.by_method("DELETE") else None
    if result is None or _ok(result):
        raise run.problem(
            "a bulk DELETE of an id nobody created did not fail",
            expected="an error status (404)",
            actual=result,
        )
    return run, result


@clause("rfc7644-3.7-must-7", "rfc7644-3.7-must-8")
def test_failed_operation_carries_a_scim_error(bulk: Bulk) -> None:
    """RFC 7644 3.7: a failed operation's "response" is the SCIM Error (3.12) of its status."""
    run, result = _failed_delete(bulk)
    error = result.get("response")
    code = _code(result)
    if (
        not isinstance(error, dict)
        or ERROR_URN not in (error.get("schemas") or [])
        or error.get("status") != str(code)
    ):
        raise ErrorBodyInvalid(
            "the failed operation does not carry a SCIM Error response",
            expected=f'"response": {{"schemas": ["{ERROR_URN}"], "status": "{code}", ...}}',
            actual=result,
            exchanges=[run.response.exchange],
        )


@clause("rfc7644-3.7.3-must-2", "rfc7644-3.7-must-6")
def test_failed_operation_keeps_its_location(bulk: Bulk) -> None:
    """RFC 7644 3.7.3: only a failed POST has no "location"; a failed DELETE reports its own."""
    run, result = _failed_delete(bulk)
    path = str(run.sent["Operations"][0]["path"])
    endpoint = bulk.capabilities.endpoint("User")
    if _id_of(result.get("location"), endpoint) != path.rsplit("/", 1)[1]:
        raise run.problem(
            'the failed DELETE result lacks the "location" of the resource it addressed',
            expected=f'"location": ".../{path.strip("/")}"',
            actual=result,
        )


@clause("rfc7644-3.7.3-must-4")
def test_failed_operation_explains_the_error(bulk: Bulk) -> None:
    """RFC 7644 3.7.3: an error carries a human-readable explanation (description or detail)."""
    run, result = _failed_delete(bulk)
    status = result.get("status")
    error = result.get("response")
    texts = [
        status.get("description") if isinstance(status, dict) else None,
        error.get("detail") if isinstance(error, dict) else None,
    ]
    if not any(isinstance(t, str) and t.strip() for t in texts):
        raise run.problem(
            "the failed operation gives no human-readable explanation",
            expected='"status": {"description": ...} or "response": {"detail": ...}',
            actual=result,
        )


@clause("rfc7644-3.7.3-must-3")
@pytest.mark.parametrize("method", ["DELETE", "PUT", "POST"])
def test_failed_operation_code_matches_a_single_request(
    method: str, bulk: Bulk, user_body: Any, make_user: Any, created: CreatedResources
) -> None:
    """RFC 7644 3.7.3: a failed operation reports the code the same single request gets.

    DELETE and PUT address an id nobody created; POST repeats an existing userName.
    """
    endpoint = bulk.capabilities.endpoint("User")
    if method == "POST":
        taken = make_user()["userName"]
        op: Body = {"method": "POST", "path": endpoint, "bulkId": "scimtest-dup",
                    "data": user_body(userName=taken)}  # fmt: skip
        single = bulk.scim.post(endpoint, json=user_body(userName=taken))
        if single.status == 201:
            created.add(endpoint, single.json_object())
    else:
        path = _unknown_path(endpoint)
        op = {"method": method, "path": _unknown_path(endpoint)}
        if method == "PUT":
            op["data"] = user_body()
            single = bulk.scim.put(path, json=user_body())
        else:
            single = bulk.scim.delete(path)
        if 200 <= single.status < 300:
            created.add(endpoint, path.rsplit("/", 1)[1])
    if 200 <= single.status < 300:
        raise Blocked(f"the single {method} that must fail succeeded ({single.status})")
    run = bulk.run([op])
    result = run.by_method(method)[0] if run.by_method(method) else {}
    if _code(result) != single.status:
        raise ValueMismatch(
            f"the bulk {method} reports {result.get('status')!r}; the single request got "
            f"{single.status}",
            expected=str(single.status),
            actual=result,
            exchanges=[single.exchange, run.response.exchange],
        )


@clause("rfc7644-3.7-must-3", "rfc7644-3.7-must-11")
def test_failed_post_keeps_its_bulk_id(bulk: Bulk, user_body: Any, make_user: Any) -> None:
    """RFC 7644 3.7.3: a failed POST is reported with its bulkId (and no location)."""
    endpoint = bulk.capabilities.endpoint("User")
    taken = make_user()["userName"]
    run = bulk.run([{"method": "POST", "path": endpoint, "bulkId": "scimtest-taken",
                     "data": user_body(userName=taken)}])  # fmt: skip
    result = run.by_bulk_id("scimtest-taken")
    if result is None or _ok(result):
        raise run.problem(
            "the failed POST (userName already taken) is not reported with its bulkId",
            expected='{"method": "POST", "bulkId": "scimtest-taken", "status": "409", ...}',
            actual=run.results,
        )


@clause("rfc7644-3.7-must-12")
def test_operations_keep_their_order(bulk: Bulk, make_user: Any, read_back: Any) -> None:
    """RFC 7644 3.7: the result is that of processing in order (the last of two PUTs wins)."""
    user = make_user()
    path = bulk.path("User", user["id"])
    run = bulk.run(
        [
            {"method": "PUT", "path": path, "data": _replacement(user, displayName="scimtest 1st")},
            {"method": "PUT", "path": path, "data": _replacement(user, displayName="scimtest 2nd")},
        ]
    )
    puts = run.by_method("PUT")
    _expect_ok(run, puts[1] if len(puts) == 2 else None, "second PUT")
    read_back(user, {"displayName": "scimtest 2nd"})


@clause("rfc7644-3.2-must-1")
def test_put_to_unknown_id_creates_nothing(bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.2: PUT MUST NOT be used to create resources, inside a bulk request too."""
    path = _unknown_path(bulk.capabilities.endpoint("User"))
    run = bulk.run([{"method": "PUT", "path": path, "data": user_body()}])
    result = run.by_method("PUT")[0] if run.by_method("PUT") else {}
    after = bulk.scim.get(path)
    if after.status == 200:
        bulk.created.add(bulk.capabilities.endpoint("User"), path.rsplit("/", 1)[1])
    if _ok(result) or after.status != 404:
        raise ValueMismatch(
            "a bulk PUT to an id nobody created was not refused",
            expected="an error status for the operation, and GET of the id answers 404",
            actual={"operation": result, "GET status": after.status},
            exchanges=[run.response.exchange, after.exchange],
        )


@clause("rfc7644-3.5.2-must-12", "rfc7644-3.1-must-3")
def test_failed_patch_operation_changes_nothing(bulk: Bulk, make_user: Any, read_back: Any) -> None:
    """RFC 7644 3.5.2, 3.7: a bulk PATCH failing on one of its operations is not applied at all."""
    bulk.capabilities.require("patch")
    user = make_user()
    data = _patch("displayName", "scimtest half-applied")
    data["Operations"].append({"op": "scimtest-bogus", "path": "displayName", "value": "x"})
    run = bulk.run([{"method": "PATCH", "path": bulk.path("User", user["id"]), "data": data}])
    result = run.by_method("PATCH")[0] if run.by_method("PATCH") else {}
    if _ok(result):
        raise run.problem(
            'a PATCH with the unknown op "scimtest-bogus" was reported as done',
            expected="an error status (400)",
            actual=result,
        )
    read_back(user, {"displayName": user.get("displayName")})


@clause("rfc7644-3.7-must-10")
def test_failure_does_not_stop_the_others(bulk: Bulk, user_body: Any, read_back: Any) -> None:
    """RFC 7644 3.7: without failOnErrors, the server performs the rest despite a failure."""
    endpoint = bulk.capabilities.endpoint("User")
    data = user_body()
    run = bulk.run(
        [
            {"method": "DELETE", "path": _unknown_path(endpoint)},
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-c1", "data": data},
        ]
    )
    _expect_ok(run, run.by_bulk_id("scimtest-c1"), "POST after a failed DELETE")
    if "scimtest-c1" not in run.created:
        raise StateNotApplied(
            "the POST after the failed operation created nothing that can be found",
            expected=data["userName"],
            actual=run.results,
            exchanges=[run.response.exchange],
        )
    read_back({"id": run.created["scimtest-c1"]}, {"userName": data["userName"]})


# -- failOnErrors (RFC 7644 3.7, 3.7.3) ----------------------------------------------------------


def _not_created(run: BulkRun, bulk_id: str, why: str) -> None:
    result = run.by_bulk_id(bulk_id)
    if bulk_id in run.created or (result is not None and _ok(result)):
        raise StateNotApplied(
            why,
            expected=f"the operation with bulkId {bulk_id} not performed",
            actual={"result": result, "created id": run.created.get(bulk_id)},
            exchanges=[run.response.exchange],
        )


@clause("rfc7644-3.7-may-4", "rfc7644-3.7-may-1", keyword="MUST")
def test_fail_on_errors_stops_processing(bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7: with "failOnErrors": 1 the server stops after the first error."""
    endpoint = bulk.capabilities.endpoint("User")
    run = bulk.run(
        [
            {"method": "DELETE", "path": _unknown_path(endpoint)},
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-f1", "data": user_body()},
        ],
        fail_on_errors=1,
    )
    _not_created(run, "scimtest-f1", "the server went on after failOnErrors errors")


@clause("rfc7644-3.7.3-must-1", "rfc7644-3.7-may-4", keyword="MUST")
def test_fail_on_errors_reports_what_was_done(bulk: Bulk, user_body: Any, read_back: Any) -> None:
    """RFC 7644 3.7.3: a stopped job lists the error and the results before it."""
    endpoint = bulk.capabilities.endpoint("User")
    done = user_body()
    run = bulk.run(
        [
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-d1", "data": done},
            {"method": "DELETE", "path": _unknown_path(endpoint)},
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-d2", "data": user_body()},
        ],
        fail_on_errors=1,
    )
    _expect_ok(run, run.by_bulk_id("scimtest-d1"), "POST before the error")
    failed = [r for r in run.by_method("DELETE") if not _ok(r)]
    if not failed:
        raise run.problem(
            "the stopped job does not list the error that stopped it",
            expected="a DELETE result with an error status",
            actual=run.results,
        )
    _not_created(run, "scimtest-d2", "the server went on after failOnErrors errors")
    if "scimtest-d1" not in run.created:
        raise Blocked("the User the first operation created could not be found")
    read_back({"id": run.created["scimtest-d1"]}, {"userName": done["userName"]})


@clause("rfc7644-3.7-may-4", "rfc7644-3.7-must-10", keyword="MUST")
def test_fail_on_errors_not_reached_continues(bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7: below the failOnErrors limit the server performs the remaining operations."""
    endpoint = bulk.capabilities.endpoint("User")
    run = bulk.run(
        [
            {"method": "DELETE", "path": _unknown_path(endpoint)},
            {"method": "POST", "path": endpoint, "bulkId": "scimtest-n1", "data": user_body()},
        ],
        fail_on_errors=2,
    )
    _expect_ok(run, run.by_bulk_id("scimtest-n1"), "POST below the failOnErrors limit")
    if "scimtest-n1" not in run.created:
        raise StateNotApplied(
            "the POST below the failOnErrors limit created nothing that can be found",
            expected="the User created",
            actual=run.results,
            exchanges=[run.response.exchange],
        )


# -- bulkId references (RFC 7644 3.7.1, 3.7.2) -------------------------------------------------


def _user_op(bulk: Bulk, bulk_id: str, data: Body) -> Body:
    return {"method": "POST", "path": bulk.capabilities.endpoint("User"), "bulkId": bulk_id,
            "data": data}  # fmt: skip


def _group_op(bulk: Bulk, bulk_id: str, data: Body) -> Body:
    return {"method": "POST", "path": bulk.capabilities.endpoint("Group"), "bulkId": bulk_id,
            "data": data}  # fmt: skip


def _member_check(
    bulk: Bulk, run: BulkRun, group_bulk_id: str, member_bulk_id: str, read_back: Any
) -> None:
    _expect_ok(run, run.by_bulk_id(group_bulk_id), f"Group POST {group_bulk_id}")
    _expect_ok(run, run.by_bulk_id(member_bulk_id), f"POST {member_bulk_id}")
    if group_bulk_id not in run.created or member_bulk_id not in run.created:
        raise Blocked(f"the resources created by {run.results} could not be found")
    read_back(
        {"id": run.created[group_bulk_id]},
        {"members": [{"value": run.created[member_bulk_id]}]},
        resource_type="Group",
    )


@clause("rfc7644-3.7.2-must-1", "rfc7644-3.7-may-5")
def test_bulk_id_adds_new_user_to_new_group(
    bulk: Bulk, user_body: Any, group_body: Any, read_back: Any
) -> None:
    """RFC 7644 3.7.2: "bulkId:<id>" in a later operation is replaced by the new User's id."""
    run = bulk.run(
        [
            _user_op(bulk, "scimtest-qwerty", user_body()),
            _group_op(bulk, "scimtest-ytrewq",
                      group_body(members=[{"type": "User", "value": "bulkId:scimtest-qwerty"}])),
        ]
    )  # fmt: skip
    _member_check(bulk, run, "scimtest-ytrewq", "scimtest-qwerty", read_back)


@clause("rfc7644-3.7.1-must-1", "rfc7644-3.7-must-12", "rfc7644-3.7.2-must-1")
def test_bulk_id_forward_reference_is_resolved(
    bulk: Bulk, user_body: Any, group_body: Any, read_back: Any
) -> None:
    """RFC 7644 3.7.1: a reference to a resource created later in the request is resolved."""
    run = bulk.run(
        [
            _group_op(bulk, "scimtest-fwd-g",
                      group_body(members=[{"type": "User", "value": "bulkId:scimtest-fwd-u"}])),
            _user_op(bulk, "scimtest-fwd-u", user_body()),
        ]
    )  # fmt: skip
    _member_check(bulk, run, "scimtest-fwd-g", "scimtest-fwd-u", read_back)


@clause("rfc7644-3.7.1-must-1")
def test_circular_references_resolved_or_409(bulk: Bulk, group_body: Any, read_back: Any) -> None:
    """RFC 7644 3.7.1: two Groups naming each other are both resolved, or refused with 409."""
    a, b = "scimtest-circ-a", "scimtest-circ-b"
    run = bulk.run(
        [
            _group_op(bulk, a, group_body(members=[{"type": "Group", "value": f"bulkId:{b}"}])),
            _group_op(bulk, b, group_body(members=[{"type": "Group", "value": f"bulkId:{a}"}])),
        ]
    )
    results = {k: run.by_bulk_id(k) for k in (a, b)}
    if all(r is not None and _ok(r) for r in results.values()):
        _member_check(bulk, run, a, b, read_back)
        _member_check(bulk, run, b, a, read_back)
        return
    wrong = {k: r for k, r in results.items() if r is None or (not _ok(r) and _code(r) != 409)}
    if wrong:
        raise run.problem(
            "circular references were neither resolved nor refused with 409 Conflict",
            expected="both Groups created with each other as member, or status 409",
            actual=run.results,
        )


@clause("rfc7644-3.7.2-must-2")
def test_bulk_id_in_extension_is_resolved(bulk: Bulk, user_body: Any, read_back: Any) -> None:
    """RFC 7644 3.7.2: a bulkId in an extension reference (enterprise manager) is resolved."""
    rt = bulk.capabilities.resource_type("User")
    schema = bulk.capabilities.schema(ENTERPRISE_URN)
    if rt is None or ENTERPRISE_URN not in [e for e, _ in rt.extensions] or schema is None:
        raise Unsupported("the User resource type does not publish the enterprise extension")
    manager = schema.attribute("manager")
    if manager is None or manager.sub("value") is None:
        raise Unsupported("the enterprise extension publishes no manager.value")
    report = user_body()
    report["schemas"] = [*report["schemas"], ENTERPRISE_URN]
    report[ENTERPRISE_URN] = {"manager": {"value": "bulkId:scimtest-boss"}}
    run = bulk.run([_user_op(bulk, "scimtest-boss", user_body()),
                    _user_op(bulk, "scimtest-report", report)])  # fmt: skip
    _expect_ok(run, run.by_bulk_id("scimtest-report"), "POST with the manager reference")
    if "scimtest-boss" not in run.created or "scimtest-report" not in run.created:
        raise Blocked("the Users the bulk request created could not be found")
    read_back(
        {"id": run.created["scimtest-report"]},
        {ENTERPRISE_URN: {"manager": {"value": run.created["scimtest-boss"]}}},
    )


@clause("rfc7644-3.7.2-must-1")
def test_bulk_id_in_patch_value_is_resolved(
    bulk: Bulk, user_body: Any, make_group: Any, read_back: Any
) -> None:
    """RFC 7644 3.7.2: "bulkId:<id>" inside a PATCH operation's value is resolved."""
    bulk.capabilities.require("patch")
    group = make_group()
    run = bulk.run(
        [
            _user_op(bulk, "scimtest-pm", user_body()),
            {"method": "PATCH", "path": bulk.path("Group", group["id"]),
             "data": _patch("members", [{"value": "bulkId:scimtest-pm"}], op="add")},
        ]
    )  # fmt: skip
    _expect_ok(run, run.by_method("PATCH")[0] if run.by_method("PATCH") else None, "PATCH")
    if "scimtest-pm" not in run.created:
        raise Blocked("the User the bulk request created could not be found")
    read_back(group, {"members": [{"value": run.created["scimtest-pm"]}]}, resource_type="Group")


@clause("rfc7644-3.7.2-must-1")
def test_bulk_id_in_put_data_is_resolved(
    bulk: Bulk, user_body: Any, make_group: Any, read_back: Any
) -> None:
    """RFC 7644 3.7.2: "bulkId:<id>" in the data of a PUT (a Group's members) is resolved."""
    group = make_group()
    data = {k: v for k, v in group.items() if k not in ("id", "meta", "members")}
    data["members"] = [{"type": "User", "value": "bulkId:scimtest-putm"}]
    run = bulk.run(
        [
            _user_op(bulk, "scimtest-putm", user_body()),
            {"method": "PUT", "path": bulk.path("Group", group["id"]), "data": data},
        ]
    )
    _expect_ok(run, run.by_method("PUT")[0] if run.by_method("PUT") else None, "PUT")
    if "scimtest-putm" not in run.created:
        raise Blocked("the User the bulk request created could not be found")
    read_back(group, {"members": [{"value": run.created["scimtest-putm"]}]}, resource_type="Group")


# -- versions inside bulk (RFC 7644 3.7, 3.14) ----------------------------------------------------


def _stale_version(bulk: Bulk, user: Body) -> tuple[str, Body]:
    """(an outdated ETag of `user`, the user as changed since)."""
    bulk.capabilities.require("etag")
    path = bulk.path("User", user["id"])
    before = _prereq(bulk.scim.get(path), 200)
    old = before.headers.get("etag")
    changed = _prereq(
        bulk.scim.put(path, json=_replacement(user, displayName="scimtest changed first")), 200
    )
    new = changed.headers.get("etag")
    if not old or old == new:
        raise Blocked("no ETag, or the ETag did not change after a PUT (see test_etag)")
    return old, changed.json_object()


def _versioned_op(bulk: Bulk, method: str, user: Body, version: str, name: str) -> Body:
    """A PUT, PATCH or DELETE of `user` carrying `version`; PUT/PATCH set displayName."""
    if method == "PATCH":
        bulk.capabilities.require("patch")
    op: Body = {"method": method, "path": bulk.path("User", user["id"]), "version": version}
    if method == "PUT":
        op["data"] = _replacement(user, displayName=name)
    elif method == "PATCH":
        op["data"] = _patch("displayName", name)
    return op


@clause("rfc7644-3.7-may-2", "rfc7644-3.12-should-1", keyword="MUST")
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_stale_version_is_refused(method: str, bulk: Bulk, make_user: Any, read_back: Any) -> None:
    """RFC 7644 3.7: an operation whose "version" is outdated fails (412) and changes nothing."""
    user = make_user()
    old, now = _stale_version(bulk, user)
    run = bulk.run([_versioned_op(bulk, method, user, old, "scimtest stale write")])
    result = run.by_method(method)[0] if run.by_method(method) else {}
    if _ok(result) or _code(result) not in (412, 409):
        raise run.problem(
            f"a bulk {method} with an outdated version was not refused",
            expected="status 412 (or 409)",
            actual=result,
        )
    read_back(user, {"displayName": now.get("displayName")})


@clause("rfc7644-3.7-may-2", keyword="MUST")
@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
def test_current_version_is_accepted(
    method: str, bulk: Bulk, make_user: Any, read_back: Any
) -> None:
    """RFC 7644 3.7: an operation carrying the current "version" is performed."""
    bulk.capabilities.require("etag")
    user = make_user()
    path = bulk.path("User", user["id"])
    current = _prereq(bulk.scim.get(path), 200).headers.get("etag")
    if not current:
        raise Blocked("GET sends no ETag (see test_etag)")
    run = bulk.run([_versioned_op(bulk, method, user, current, "scimtest versioned write")])
    result = run.by_method(method)[0] if run.by_method(method) else None
    _expect_ok(run, result, f"versioned {method}")
    if method != "DELETE":
        read_back(user, {"displayName": "scimtest versioned write"})
        return
    gone = bulk.scim.get(path)
    if gone.status != 404:
        raise StateNotApplied(
            "the versioned bulk DELETE reported success but the resource remains",
            expected="GET answers 404",
            actual=str(gone.status),
            exchanges=[run.response.exchange, gone.exchange],
        )


# -- limits (RFC 7644 3.7.4) ---------------------------------------------------------------------


@clause("rfc7644-3.7.4-must-1", "rfc7644-3.7.4-may-1")
def test_limits_are_declared(bulk: Bulk) -> None:
    """RFC 7644 3.7.4: the server defines maxOperations and maxPayloadSize (positive)."""
    ops, size = bulk.capabilities.bulk_max_operations, bulk.capabilities.bulk_max_payload_size
    if not (isinstance(ops, int) and ops > 0 and isinstance(size, int) and size > 0):
        raise SchemaViolation(
            "bulk is supported but its limits are not defined",
            expected="bulk.maxOperations and bulk.maxPayloadSize > 0",
            actual={"maxOperations": ops, "maxPayloadSize": size},
            exchanges=bulk.capabilities.exchanges[:1],
        )


def _too_many(bulk: Bulk, user_body: Callable[..., Body]) -> tuple[Body, list[Body]]:
    """A request with maxOperations + 1 operations: a POST, then harmless DELETEs."""
    limit = bulk.capabilities.bulk_max_operations
    size = bulk.capabilities.bulk_max_payload_size
    if not isinstance(limit, int) or limit <= 0:
        raise Unsupported("bulk.maxOperations is not declared")
    endpoint = bulk.capabilities.endpoint("User")
    post = {"method": "POST", "path": endpoint, "bulkId": "scimtest-over", "data": user_body()}
    ops = [post] + [{"method": "DELETE", "path": _unknown_path(endpoint)} for _ in range(limit)]
    body = bulk.request(ops)
    length = len(json.dumps(body))
    if length > MAX_SENT or (isinstance(size, int) and length > size):
        raise Unsupported(
            f"maxOperations + 1 operations take {length} bytes, over maxPayloadSize or "
            f"the suite's bound of {MAX_SENT}"
        )
    return body, [post]


def _oversized(bulk: Bulk, user_body: Callable[..., Body]) -> tuple[Body, list[Body]]:
    """A request one KiB over maxPayloadSize: one POST and padding."""
    size = bulk.capabilities.bulk_max_payload_size
    if not isinstance(size, int) or size <= 0:
        raise Unsupported("bulk.maxPayloadSize is not declared")
    if size > MAX_SENT:
        raise Unsupported(f"maxPayloadSize is {size} bytes, over the suite's bound of {MAX_SENT}")
    endpoint = bulk.capabilities.endpoint("User")
    post = {"method": "POST", "path": endpoint, "bulkId": "scimtest-big", "data": user_body()}
    body = bulk.request([post])
    body["scimtestPadding"] = "x" * (size + 1024 - len(json.dumps(body)))
    return body, [post]


LIMITS = {"maxOperations": _too_many, "maxPayloadSize": _oversized}


def _post_over_limit(bulk: Bulk, body: Body) -> Response:
    """POST a request over a limit; skip if the server cut the connection before answering."""
    try:
        return bulk.post(body)
    except TransportFailure as exc:
        raise Unsupported(
            "the server closed the connection while the oversized request was sent, so its "
            f"answer cannot be read ({exc.actual})"
        ) from exc


@clause("rfc7644-3.7.4-must-2")
@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_exceeded_limit_is_413(limit: str, bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7.4: a request over maxOperations or maxPayloadSize answers 413."""
    body, posts = LIMITS[limit](bulk, user_body)
    response = _post_over_limit(bulk, body)
    bulk.track(posts, None)
    expect_scim_error(response, 413)


@clause("rfc7644-3.7.4-must-3")
@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_exceeded_limit_is_named(limit: str, bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7.4: the 413 error body specifies the limit exceeded."""
    body, posts = LIMITS[limit](bulk, user_body)
    response = _post_over_limit(bulk, body)
    bulk.track(posts, None)
    error = expect_scim_error(response, 413)
    value = (
        bulk.capabilities.bulk_max_operations
        if limit == "maxOperations"
        else bulk.capabilities.bulk_max_payload_size
    )
    text = json.dumps(error).lower()
    if limit.lower() not in text and str(value) not in text:
        raise ErrorBodyInvalid(
            "the 413 error does not say which limit was exceeded",
            expected=f'"{limit}" or its value {value} in the error body',
            actual=response.text[:300],
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.7.4-must-2")
@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_exceeded_limit_processes_nothing(limit: str, bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 3.7.4: a request over a limit is refused as a whole: nothing is created."""
    if not bulk.capabilities.filter:
        raise Unsupported("filter is not supported: the suite cannot look for the created User")
    body, posts = LIMITS[limit](bulk, user_body)
    response = _post_over_limit(bulk, body)
    endpoint = bulk.capabilities.endpoint("User")
    found = bulk.lookup(endpoint, posts[0]["data"])
    bulk.track(posts, None)
    if found is not None:
        raise StateNotApplied(
            f"the request over {limit} was processed: its POST created a User",
            expected="nothing created",
            actual=f"{endpoint}/{found} exists (answer: HTTP {response.status})",
            exchanges=[response.exchange],
        )


# -- malformed requests -------------------------------------------------------------------------


@clause("rfc7644-3.7-must-1", "rfc7644-3.12-should-1", keyword="SHOULD")
def test_request_without_operations_is_400(bulk: Bulk) -> None:
    """RFC 7644 3.7, 3.12: a BulkRequest without the REQUIRED "Operations" is a 400 error."""
    expect_scim_error(bulk.post({"schemas": [BULK_REQUEST]}), 400)


@clause("rfc7644-3.7-must-9", "rfc7644-3.12-must-1")
@without_response_checks("error_body")
def test_malformed_request_is_an_error(bulk: Bulk) -> None:
    """RFC 7644 3.7: a bulk request that cannot be processed answers an HTTP error (4xx)."""
    response = bulk.post(b'{"schemas": ["' + BULK_REQUEST.encode() + b'"], "Operations": [')
    if not 400 <= response.status < 500:
        raise StatusMismatch(
            "a truncated bulk request was not refused",
            expected="400 (invalidSyntax)",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-2-must-2")
def test_bulk_requires_a_valid_credential(bulk: Bulk, user_body: Any) -> None:
    """RFC 7644 2: POST /Bulk without a credential is refused and performs nothing."""
    endpoint = bulk.capabilities.endpoint("User")
    post = {"method": "POST", "path": endpoint, "bulkId": "scimtest-anon", "data": user_body()}
    response = bulk.scim.post("/Bulk", json=bulk.request([post]), auth=False)
    found = bulk.lookup(endpoint, post["data"])
    bulk.track([post], None)
    if 200 <= response.status < 300 or found is not None:
        raise StatusMismatch(
            "POST /Bulk without a credential was processed",
            expected="401 Unauthorized, nothing created",
            actual=f"HTTP {response.status}; created: {found}",
            exchanges=[response.exchange],
        )


@clause("rfc7643-3.1-must-8", "rfc7644-3.7.2-must-1")
def test_unresolved_bulk_id_is_never_stored(bulk: Bulk, group_body: Any, read_back: Any) -> None:
    """RFC 7643 3.1: "bulkId" is reserved: an unresolvable reference is never kept as an id."""
    ref = f"bulkId:scimtest-nowhere-{uuid.uuid4().hex[:6]}"
    run = bulk.run([_group_op(bulk, "scimtest-dangling",
                              group_body(members=[{"type": "User", "value": ref}]))])  # fmt: skip
    result = run.by_bulk_id("scimtest-dangling")
    if result is None or not _ok(result):
        return  # refused: the RFC's expected outcome
    if "scimtest-dangling" not in run.created:
        raise Blocked("the Group the bulk request created could not be found")
    group = read_back({"id": run.created["scimtest-dangling"]}, {}, resource_type="Group")
    kept = [m for m in group.get("members") or [] if "bulkid" in json.dumps(m).lower()]
    if kept:
        raise ValueMismatch(
            "an unresolved bulkId reference was stored as a member",
            expected="the operation refused (409), or no member naming a bulkId",
            actual=kept,
            exchanges=[run.response.exchange],
        )
