"""The IdP simulator: a profile's request templates, sent in the IdP's order, with its retries.

Each operation (`create_user`, `deactivate_user`, `add_members`, ...) renders the profile's
templates, sends them through the `ScimClient` (recorded, token masked) with the profile's
headers, retries the way the IdP does, and checks every answer against what that IdP
needs (status, fields it reads, ListResponse shape). A scenario strings operations into an
IdP lifecycle and reads the state back; a quirk sends one IdP habit on its own.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from harness.client import Response, ScimClient
from harness.exchange import Exchange
from harness.idp._templates import MISSING, render
from harness.idp.model import DirectoryGroup, DirectoryUser
from harness.idp.profiles import Profile, Quirk, RequestTemplate
from harness.validation.responses import ERROR_URN
from harness.verdicts import Blocked, ScimViolation, Unsupported

__all__ = [
    "LIST_URN",
    "SCENARIOS",
    "SCENARIO_OPERATIONS",
    "IdpFailure",
    "NotSent",
    "QuirkResult",
    "Simulator",
    "answer_problem",
    "compare_state",
    "extract",
    "person",
    "run_scenario",
]

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

SCENARIOS: tuple[str, ...] = (
    "assign",
    "update",
    "rename-and-email",
    "deactivate",
    "reactivate",
    "unassign",
    "reassign-after-delete",
    "group-push",
    "import",
    "link-existing",
)

_USER_LIFE = ("lookup_user", "create_user")
SCENARIO_OPERATIONS: dict[str, tuple[str, ...]] = {
    "assign": _USER_LIFE,
    "update": (*_USER_LIFE, "update_user"),
    "rename-and-email": (*_USER_LIFE, "update_user"),
    "deactivate": (*_USER_LIFE, "deactivate_user"),
    "reactivate": (*_USER_LIFE, "deactivate_user", "reactivate_user"),
    "unassign": (*_USER_LIFE, "unassign_user"),
    "reassign-after-delete": (*_USER_LIFE, "delete_user", "unassign_user", "reactivate_user"),
    "group-push": (*_USER_LIFE, "lookup_group", "create_group", "add_members",
                   "remove_members", "rename_group", "delete_group"),
    "import": ("import_users", "import_groups"),
    "link-existing": (*_USER_LIFE, "update_user"),
}  # fmt: skip
"""The profile operations each scenario may send (to tell what a server must support)."""


class IdpFailure(ScimViolation):
    """An answer the IdP of the profile would not accept (it names the profile's source)."""

    title = "The IdP would not accept this answer"


class NotSent(Unsupported):
    """The profile has no such operation: the IdP never sends it."""


@dataclass
class QuirkResult:
    """What one quirk request got: the answer, and whether its effect (or the RFC's) shows."""

    response: Response
    effect_ok: bool
    problems: list[str]
    rfc_effect_ok: bool
    answer: tuple[str, str, str] | None = None  # what the IdP would refuse in the answer
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def works_with_idp(self) -> bool:
        """The IdP accepts the answer and the effect it relies on shows."""
        return self.answer is None and self.effect_ok

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def proper_error(self) -> bool:
        """A 400 answered with a SCIM Error body (RFC 7644 3.12)."""
        ok, body = self.response.parsed()
        return (
            self.response.status == 400
            and ok
            and isinstance(body, dict)
            and ERROR_URN in (body.get("schemas") or [])
            and body.get("status") == "400"
        )


class Simulator:
    """One IdP's SCIM client over one `ScimClient`.

    strict=True: an answer the IdP would not accept raises IdpFailure; strict=False (diff)
    records it in `self.failures` and carries on. `on_create(endpoint, id)` hears about
    every resource created, so a caller can clean up.
    """

    def __init__(
        self,
        client: ScimClient,
        profile: Profile,
        *,
        strict: bool = True,
        on_create: Callable[[str, str], object] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 5.0,
        max_pages: int = 1000,
    ) -> None:
        self.client = client
        self.profile = profile
        self.strict = strict
        self.on_create = on_create
        self.failures: list[IdpFailure] = []
        self.sleep = sleep
        self.max_wait = max_wait
        self.max_pages = max_pages

    # -- users ----------------------------------------------------------------------------

    def lookup_user(self, user: DirectoryUser) -> str | None:
        """The id the IdP's lookup finds for this user, or None."""
        return _first_id(self._run("lookup_user", {"user": user}))

    def create_user(self, user: DirectoryUser) -> str:
        ctx = self._run("create_user", {"user": user})
        return self._created("/Users", ctx)

    def update_user(self, user_id: str, user: DirectoryUser) -> None:
        self._run("update_user", {"user": user, "id": user_id})

    def deactivate_user(self, user_id: str) -> None:
        self._run("deactivate_user", {"id": user_id})

    def reactivate_user(self, user_id: str) -> None:
        self._run("reactivate_user", {"id": user_id})

    def unassign_user(self, user_id: str) -> None:
        """Deactivate or DELETE, as the profile's IdP does on unassignment."""
        self._run("unassign_user", {"id": user_id})

    def delete_user(self, user_id: str) -> None:
        self._run("delete_user", {"id": user_id})

    def assign(self, user: DirectoryUser) -> str:
        """The IdP's assignment: look up, link and update a match, else create."""
        found = self.lookup_user(user)
        if found is None:
            return self.create_user(user)
        if self.profile.has("update_user"):
            self.update_user(found, user)
        return found

    # -- groups ---------------------------------------------------------------------------

    def lookup_group(self, group: DirectoryGroup) -> str | None:
        return _first_id(self._run("lookup_group", {"group": group}))

    def create_group(self, group: DirectoryGroup, member_ids: Sequence[str] = ()) -> str:
        ctx = self._run("create_group", {"group": group, "members": list(member_ids)})
        return self._created("/Groups", ctx)

    def add_members(
        self, group_id: str, member_ids: Sequence[str], group: DirectoryGroup | None = None
    ) -> None:
        """`group` (its current name) lets a profile send what goes with a membership
        change, such as Okta's rename re-sent with every update (steps `when: group`)."""
        ctx = {"id": group_id, "members": list(member_ids), "group": group}
        self._run("add_members", ctx)

    def remove_members(
        self, group_id: str, member_ids: Sequence[str], group: DirectoryGroup | None = None
    ) -> None:
        ctx = {"id": group_id, "members": list(member_ids), "group": group}
        self._run("remove_members", ctx)

    def rename_group(self, group_id: str, group: DirectoryGroup) -> None:
        self._run("rename_group", {"id": group_id, "group": group})

    def delete_group(self, group_id: str) -> None:
        self._run("delete_group", {"id": group_id})

    # -- import ---------------------------------------------------------------------------

    def import_users(self) -> list[dict[str, Any]]:
        """Every user, paged the way the IdP pages."""
        return list(self._run("import_users", {}).get("resources", []))

    def import_groups(self) -> list[dict[str, Any]]:
        return list(self._run("import_groups", {}).get("resources", []))

    def probe(self, prefix: str = "scimtest-probe-") -> None:
        """The IdP's connection test; a user it names (absent, or a test user JumpCloud
        creates and deletes) carries `prefix`."""
        self._run("probe", {"user": person(f"{prefix}probe-", 0)})

    # -- quirks ---------------------------------------------------------------------------

    def run_quirk(self, quirk: Quirk, prefix: str) -> QuirkResult:
        """Set up plain RFC resources, send the quirk's request alone, read the effect back."""
        ctx = self._quirk_setup(quirk, prefix)
        response = self._send(quirk.request, ctx)
        exchanges = [response.exchange]
        target_id = ctx.get("id")
        if quirk.creates:
            ok, body = response.parsed()
            new_id = body.get("id") if ok and isinstance(body, dict) else None
            if isinstance(new_id, str) and new_id and 200 <= response.status < 300:
                self._track(quirk.creates, new_id)
                target_id = new_id
            else:
                target_id = None
        ok, body = response.parsed()
        answer = body if ok else None
        state: dict[str, Any] | None = None
        needs_state = any("state" in e for e in (quirk.effect, *quirk.rfc_effects))
        if needs_state and target_id and 200 <= response.status < 300:
            endpoint = quirk.creates or _endpoint_of(quirk.request.path)
            read = self.client.get(f"{endpoint}/{target_id}")
            exchanges.append(read.exchange)
            if read.status == 200 and isinstance(read.parsed()[1], dict):
                state = read.json_object()

        def holds(effect: Mapping[str, Any]) -> list[str]:
            return _effect_problems(render(effect, ctx), state, answer)

        problems = holds(quirk.effect)
        return QuirkResult(
            answer=answer_problem(quirk.request, response),
            exchanges=exchanges,
            response=response,
            effect_ok=200 <= response.status < 300 and not problems,
            problems=problems,
            rfc_effect_ok=200 <= response.status < 300
            and any(not holds(e) for e in quirk.rfc_effects),
        )

    def _quirk_setup(self, quirk: Quirk, prefix: str) -> dict[str, Any]:
        tag = f"{prefix}{quirk.id}-"
        user, new = person(tag, 1), person(tag, 2)
        ctx: dict[str, Any] = {"user": user, "new": new, "members": []}
        ctx["group"] = DirectoryGroup(f"{tag}group", f"{tag}group-ext")
        ctx["new_group"] = DirectoryGroup(f"{tag}renamed", f"{tag}group-ext")
        if quirk.setup == "user":
            ctx["id"] = self.plain_user(user)
        elif quirk.setup == "user_and_manager":
            ctx["id"] = self.plain_user(user)
            ctx["other_id"] = self.plain_user(person(tag, 3))
        elif quirk.setup == "user_with_manager":
            ctx["other_id"] = self.plain_user(person(tag, 3))
            ctx["id"] = self.plain_user(user, manager_id=ctx["other_id"])
        elif quirk.setup == "group_with_members":
            members = [self.plain_user(person(tag, n)) for n in (3, 4, 5, 6)]
            ctx["members"] = members
            ctx["id"] = self.plain_group(ctx["group"], members[:2])
        return ctx

    def plain_user(self, user: DirectoryUser, manager_id: str | None = None) -> str:
        """Create the user with a plain RFC 7643 body (setup, not the IdP's traffic)."""
        body: dict[str, Any] = {
            "schemas": [USER_URN],
            "userName": user.user_name,
            "externalId": user.external_id,
            "name": {"givenName": user.given_name, "familyName": user.family_name},
            "displayName": user.display_name,
            "emails": [{"value": user.email, "type": "work", "primary": True}],
            "active": True,
        }
        if manager_id is not None:
            body["schemas"] = [USER_URN, ENTERPRISE_URN]
            body[ENTERPRISE_URN] = {"manager": {"value": manager_id}}
        return self._plain_create("/Users", body)

    def plain_group(self, group: DirectoryGroup, members: Sequence[str]) -> str:
        body = {
            "schemas": [GROUP_URN],
            "displayName": group.display_name,
            "externalId": group.external_id,
            "members": [{"value": m} for m in members],
        }
        return self._plain_create("/Groups", body)

    def _plain_create(self, endpoint: str, body: dict[str, Any]) -> str:
        try:
            response = self.client.post(endpoint, json=body)
        except ScimViolation as exc:
            raise Blocked(
                f"setup POST {endpoint} failed: {exc.message}", exchanges=exc.exchanges
            ) from exc
        ok, answer = response.parsed()
        rid = answer.get("id") if ok and isinstance(answer, dict) else None
        if response.status != 201 or not isinstance(rid, str) or not rid:
            raise Blocked(
                f"setup POST {endpoint} answered {response.status} without an id (prerequisite)",
                exchanges=[response.exchange],
            )
        self._track(endpoint, rid)
        return rid

    # -- engine ---------------------------------------------------------------------------

    def _track(self, endpoint: str, rid: str) -> None:
        if self.on_create is not None:
            self.on_create(endpoint, rid)

    def _created(self, endpoint: str, ctx: Mapping[str, Any]) -> str:
        """The id the create answered ("" without one); `_run` reported it to on_create."""
        rid = ctx.get("id")
        return rid if isinstance(rid, str) else ""

    def _templates(self, operation: str) -> tuple[RequestTemplate, ...]:
        templates = self.profile.operations.get(operation)
        if not templates:
            raise NotSent(f"the {self.profile.title} profile never sends {operation}")
        return templates

    def _run(self, operation: str, context: Mapping[str, Any]) -> dict[str, Any]:
        """Send the operation's templates in order; returns the final context."""
        ctx: dict[str, Any] = {"members": [], "last_response": None, **context}
        ctx.setdefault("id", None)
        for template in self._templates(operation):
            if template.when == "members" and not ctx["members"]:
                continue
            if template.when == "no_members" and ctx["members"]:
                continue
            if template.when == "group" and ctx.get("group") is None:
                continue
            if template.page is not None:
                ctx["resources"] = self._paged(operation, template, ctx)
                continue
            response = self._send(template, ctx)
            self._check(operation, template, response)
            ok, body = response.parsed()
            if ok and isinstance(body, dict):
                ctx["last_response"] = body
                if template.method == "POST" and response.status == 201 and body.get("id"):
                    self._track(_endpoint_of(template.path), str(body["id"]))
                if isinstance(body.get("id"), str):
                    ctx["last_id"] = body["id"]
                    if ctx["id"] is None:
                        ctx["id"] = body["id"]
            ctx["response"] = response
        return ctx

    def _paged(
        self, operation: str, template: RequestTemplate, ctx: dict[str, Any]
    ) -> list[dict[str, Any]]:
        assert template.page is not None
        page = template.page
        start, found = page.start, []
        for _ in range(self.max_pages):
            params = {**template.params, "startIndex": str(start), "count": str(page.count)}
            response = self._send(replace(template, params=params), ctx)
            self._check(operation, template, response)
            ok, body = response.parsed()
            if response.status != 200 or not ok or not isinstance(body, dict):
                break
            echoed = body.get("startIndex")
            if isinstance(echoed, int) and not isinstance(echoed, bool) and echoed != start:
                source = template.expect.source or template.source
                self.fail(
                    f"{self.profile.title} {operation} ({source}): the page asked for "
                    f"startIndex {start} answers startIndex {echoed}",
                    expected=str(start),
                    actual=str(echoed),
                    response=response,
                )
            resources = [r for r in _resources(body) if isinstance(r, dict)]
            found.extend(resources)
            total = body.get("totalResults")
            if (
                not resources
                or not isinstance(total, int)
                or start - page.start + len(resources) >= total
            ):
                break
            start += page.count if page.step == "count" else len(resources)
        return found

    def _send(self, template: RequestTemplate, ctx: Mapping[str, Any]) -> Response:
        """One request with the profile's headers and query flag, retried per its policy."""
        path = render(template.path, ctx)
        params = {k: render(v, ctx) for k, v in template.params.items()}
        params = {k: _text(v) for k, v in params.items() if v is not MISSING}
        if self.profile.base_url_query:
            params = {self.profile.base_url_query: "", **params}
        headers = {**self.profile.headers, **template.headers}
        kwargs: dict[str, Any] = {"params": params or None, "headers": headers}
        if template.query is not None:
            raw = _text(render(template.query, ctx))
            if self.profile.base_url_query:
                raw = f"{self.profile.base_url_query}&{raw}"
            path, kwargs["params"] = f"{self.client.url_for(str(path))}?{raw}", None
        if template.has_body:
            body = render(template.body, ctx)
            kwargs["json"] = {} if body is MISSING else body
        retry = self.profile.retry
        for attempt in range(1, max(1, retry.max_attempts) + 1):
            response = self.client.request(template.method, str(path), **kwargs)
            if response.status not in retry.statuses or attempt >= retry.max_attempts:
                return response
            self.sleep(self._wait(response, attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, response: Response, attempt: int) -> float:
        """Seconds before the next attempt: Retry-After (if honoured) or backoff, bounded."""
        retry = self.profile.retry
        wait: float = retry.backoff * (2 ** (attempt - 1))
        header = response.headers.get("retry-after")
        if retry.retry_after and header is not None and str(header).strip().isdigit():
            wait = float(str(header).strip())
        return max(0.0, min(wait, self.max_wait))

    def _check(self, operation: str, template: RequestTemplate, response: Response) -> None:
        """Fail (or record) unless the answer is one the IdP accepts."""
        problem = answer_problem(template, response)
        if problem is not None:
            source = template.expect.source or template.source
            message, expected, actual = problem
            self.fail(
                f"{self.profile.title} {operation} ({source}): {message}",
                expected=expected,
                actual=actual,
                response=response,
            )

    def fail(self, message: str, *, expected: Any, actual: Any, response: Response) -> None:
        failure = IdpFailure(
            message, expected=expected, actual=actual, exchanges=[response.exchange]
        )
        if self.strict:
            raise failure
        self.failures.append(failure)

    # -- oracle ---------------------------------------------------------------------------

    def verify(
        self, endpoint: str, rid: str, expected: Mapping[str, Any], why: str
    ) -> dict[str, Any] | None:
        """GET the resource and fail (or record) unless `expected` holds (see compare_state)."""
        response = self.client.get(f"{endpoint}/{rid}")
        if response.status != 200:
            self.fail(f"{why}: GET {endpoint}/{rid} answered {response.status}",
                       expected="200", actual=str(response.status), response=response)  # fmt: skip
            return None
        ok, state = response.parsed()
        if not ok or not isinstance(state, dict):
            why = f"{why}: GET {endpoint}/{rid} answered no JSON object"
            self.fail(why, expected="the resource", actual=response.text[:200], response=response)
            return None
        problems = compare_state(expected, state)
        if problems:
            self.fail(f"{why}: {'; '.join(problems)}", expected=dict(expected),
                       actual=response.text[:400], response=response)  # fmt: skip
        return state

    def verify_gone(self, endpoint: str, rid: str, why: str) -> None:
        response = self.client.get(f"{endpoint}/{rid}")
        if response.status != 404:
            self.fail(f"{why}: GET {endpoint}/{rid} answered {response.status}",
                       expected="404", actual=str(response.status), response=response)  # fmt: skip


# -- helpers ------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _endpoint_of(path: str) -> str:
    return "/Groups" if path.startswith("/Groups") else "/Users"


def answer_problem(template: RequestTemplate, response: Response) -> tuple[str, str, str] | None:
    """(what is wrong, expected, actual) when the IdP would not accept this answer."""
    expect = template.expect
    wanted = expect.status + expect.absent_status
    if response.status not in wanted:
        codes = " or ".join(str(s) for s in wanted)
        return f"{template.method} answered {response.status}", codes, str(response.status)
    if response.status in expect.absent_status:
        return None
    ok, body = response.parsed()
    if (expect.list or expect.fields) and not (ok and isinstance(body, dict)):
        return "the answer has no JSON object body", "a JSON object", response.text[:200] or "-"
    if expect.list:
        problem = _list_problem(body)
        if problem:
            return problem, "a ListResponse", response.text[:300]
    missing = [f for f in expect.fields if body.get(f) in (None, "", [])]
    if missing:
        return (
            f"the answer lacks {', '.join(missing)}",
            ", ".join(expect.fields),
            ", ".join(sorted(body)) or "(no attributes)",
        )
    return None


def _resources(body: Any) -> list[Any]:
    """The Resources of a ListResponse, [] for anything else (a hostile answer)."""
    found = body.get("Resources") if isinstance(body, dict) else None
    return found if isinstance(found, list) else []


def _first_id(ctx: Mapping[str, Any]) -> str | None:
    response = ctx.get("response")
    if response is None or response.status != 200:
        return None
    body = ctx.get("last_response") or {}
    resources = _resources(body)
    for resource in resources:
        if isinstance(resource, dict) and isinstance(resource.get("id"), str):
            return str(resource["id"])
    return None


def _list_problem(body: Mapping[str, Any]) -> str | None:
    if LIST_URN not in (body.get("schemas") or []):
        return f"schemas lacks {LIST_URN}"
    total = body.get("totalResults")
    if not isinstance(total, int) or isinstance(total, bool):
        return f"totalResults is {total!r}, not a number"
    for name in ("startIndex", "itemsPerPage"):
        value = body.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{name} is {value!r}, not a number"
    resources = body.get("Resources")
    if total and not isinstance(resources, list):
        return "Resources is missing although totalResults is not 0"
    return None


def person(tag: str, n: int) -> DirectoryUser:
    """A deterministic directory user whose names all carry `tag` (the run prefix)."""
    given, family = ("Ada", "Grace", "Alan", "Edsger", "Barbara")[n % 5], f"Tester{n}"
    email = f"{tag}{n}.{given}.{family}@example.com".lower()
    return DirectoryUser(
        user_name=email,
        given_name=given,
        family_name=family,
        email=email,
        display_name=f"{given} {family}",
        external_id=f"{tag}{n}-ext",
        title=f"Engineer {n}",
        department=f"Dept {n}",
        employee_number=f"E{n:04d}",
    )


_SEGMENT = re.compile(r'^(?P<attr>[^.\[]+)(?:\[(?P<key>\w+) eq "(?P<val>[^"]*)"\])?$')


def _get_ci(node: Any, name: str) -> Any:
    if not isinstance(node, Mapping):
        return None
    for key, value in node.items():
        if str(key).lower() == name.lower():
            return value
    return None


def extract(resource: Mapping[str, Any], path: str) -> Any:
    """The value at a SCIM path: `name.givenName`, `urn:...:User:department`, `members`,
    `emails[type eq "work"].value`; a multi-valued step without a filter collects values."""
    node: Any = resource
    rest = path
    if path.lower().startswith("urn:"):
        urn, _, rest = path.rpartition(":")
        node = _get_ci(resource, urn)
    parts = re.findall(r"[^.\[]+(?:\[[^\]]*\])?", rest)
    for part in parts:
        match = _SEGMENT.match(part)
        if match is None:
            return None
        if isinstance(node, list):
            node = [_get_ci(n, match["attr"]) for n in node]
            node = [n for n in node if n is not None]
        else:
            node = _get_ci(node, match["attr"])
        if match["key"] and isinstance(node, list):
            node = [
                n
                for n in node
                if str(_get_ci(n, match["key"]) or "").lower() == match["val"].lower()
            ]
    return node


def _same(expected: Any, actual: Any) -> bool:
    if expected is None:
        return actual in (None, "", [], {})
    if isinstance(actual, list) and not isinstance(expected, list):
        return any(_same(expected, a) for a in actual)
    if isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, str):
        return isinstance(actual, str) and actual.casefold() == expected.casefold()
    if isinstance(expected, list):
        values = [a.get("value") if isinstance(a, dict) else a for a in actual or []]
        return sorted(map(str, values)) == sorted(map(str, expected))
    if isinstance(expected, Mapping):
        return isinstance(actual, Mapping) and all(
            _same(v, _get_ci(actual, k)) for k, v in expected.items()
        )
    return bool(expected == actual)


def compare_state(expected: Mapping[str, Any], resource: Mapping[str, Any]) -> list[str]:
    """Problems of `resource` against {path: value}: strings compare without case, a list
    compares member/values as a set, None means absent or empty."""
    problems = []
    for path, want in expected.items():
        got = extract(resource, path)
        if not _same(want, got):
            problems.append(f"{path} is {got!r}, expected {want!r}")
    return problems


def _effect_problems(effect: Any, state: Mapping[str, Any] | None, answer: Any) -> list[str]:
    if not isinstance(effect, Mapping):
        return []
    problems: list[str] = []
    if "state" in effect:
        if state is None:
            problems.append("the resource could not be read back")
        else:
            problems += compare_state(effect["state"], state)
    if "response" in effect:
        if not isinstance(answer, Mapping):
            problems.append("the answer has no JSON object body")
        else:
            problems += [f"answer: {p}" for p in compare_state(effect["response"], answer)]
    return problems


# -- scenarios ----------------------------------------------------------------------------


def _user_state(user: DirectoryUser, active: bool | None = True) -> dict[str, Any]:
    """What a read-back must show; `active` None: not compared (an IdP that never sends it)."""
    state: dict[str, Any] = {
        "userName": user.user_name,
        "name.givenName": user.given_name,
        "name.familyName": user.family_name,
    }
    if active is not None:
        state["active"] = active
    return state


def _created_active(sim: Simulator) -> bool | None:
    """True when the profile's create sends active (else the server's default stands)."""
    body = sim.profile.operations["create_user"][0].body
    return True if isinstance(body, dict) and "active" in body else None


def _require(sim: Simulator, *operations: str) -> None:
    for operation in operations:
        if not sim.profile.has(operation):
            raise NotSent(f"the {sim.profile.title} profile never sends {operation}")


def _assign_fresh(sim: Simulator, user: DirectoryUser) -> str:
    """Assignment of a user the server cannot know: the lookup misses, the IdP creates."""
    found = sim.lookup_user(user)
    if found is not None:
        raise Blocked(f"the lookup of the fresh run-prefixed user {user.user_name} found {found}")
    rid = sim.create_user(user)
    if not rid:
        raise Blocked(f"the create of {user.user_name} answered no id")
    return rid


def _expect_found(sim: Simulator, user: DirectoryUser, rid: str, why: str) -> None:
    found = sim.lookup_user(user)
    if found != rid:
        response = sim.client.get(f"/Users/{rid}")
        sim.fail(f"{sim.profile.title}: {why}", expected=rid, actual=found, response=response)


def _expect_one(sim: Simulator, user: DirectoryUser, rid: str) -> None:
    """Exactly one user carries the userName (the IdP linked, it did not duplicate)."""
    response = sim.client.get("/Users", params={"filter": f'userName eq "{user.user_name}"'})
    ok, body = response.parsed()
    found = _resources(body) if ok else []
    ids = [r.get("id") for r in found if isinstance(r, dict)]
    if ids != [rid]:
        why = f"{sim.profile.title}: exactly one user with userName {user.user_name} expected"
        sim.fail(why, expected=[rid], actual=ids, response=response)


def _assign(sim: Simulator, tag: str) -> None:
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    expected = _user_state(user, _created_active(sim))
    sim.verify("/Users", rid, expected, f"{sim.profile.title}: the assigned user")
    _expect_found(sim, user, rid, "a lookup after the create does not find the user")


def _update(sim: Simulator, tag: str) -> None:
    _require(sim, "update_user")
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    changed = replace(user, given_name="Changed", title="Principal Engineer")
    sim.update_user(rid, changed)
    expected = _user_state(changed, _created_active(sim))
    sim.verify("/Users", rid, expected, f"{sim.profile.title}: the updated user")


def _rename_and_email(sim: Simulator, tag: str) -> None:
    _require(sim, "update_user")
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    renamed = replace(person(f"{tag}renamed-", 1), external_id=user.external_id)
    sim.update_user(rid, renamed)
    expected = {**_user_state(renamed, _created_active(sim)), "emails.value": renamed.email}
    sim.verify("/Users", rid, expected, f"{sim.profile.title}: the renamed user")
    _expect_found(sim, renamed, rid, "the lookup by the new userName does not find the user")


def _deactivate(sim: Simulator, tag: str) -> None:
    _require(sim, "deactivate_user")
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    sim.deactivate_user(rid)
    sim.verify("/Users", rid, _user_state(user, False), f"{sim.profile.title}: deactivated")
    _expect_found(sim, user, rid, "a deactivated user is no longer found by the lookup")


def _reactivate(sim: Simulator, tag: str) -> None:
    _require(sim, "deactivate_user", "reactivate_user")
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    sim.deactivate_user(rid)
    sim.reactivate_user(rid)
    sim.verify("/Users", rid, _user_state(user), f"{sim.profile.title}: reactivated")


def _unassign(sim: Simulator, tag: str) -> None:
    _require(sim, "unassign_user")
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    sim.unassign_user(rid)
    if sim.profile.unassign == "delete":
        sim.verify_gone("/Users", rid, f"{sim.profile.title}: unassigned (deleted)")
    else:
        sim.verify("/Users", rid, _user_state(user, False), f"{sim.profile.title}: unassigned")


def _reassign_after_delete(sim: Simulator, tag: str) -> None:
    """Deprovision (DELETE where the IdP sends it, else its unassign), then assign again."""
    user = person(tag, 1)
    rid = _assign_fresh(sim, user)
    if sim.profile.has("delete_user"):
        sim.delete_user(rid)
    else:
        _require(sim, "unassign_user")
        sim.unassign_user(rid)
    again = sim.assign(user)
    if again == rid and sim.profile.has("reactivate_user"):
        sim.reactivate_user(again)
    active = True if again == rid else _created_active(sim)
    sim.verify("/Users", again, _user_state(user, active), f"{sim.profile.title}: re-assigned")
    _expect_one(sim, user, again)


def _group_push(sim: Simulator, tag: str) -> None:
    _require(sim, "create_group", "add_members", "remove_members", "rename_group")
    title = sim.profile.title
    ids = [_assign_fresh(sim, person(tag, n)) for n in (1, 2, 3)]
    group = DirectoryGroup(f"{tag}group", f"{tag}group-ext")
    if sim.profile.has("lookup_group") and sim.lookup_group(group) is not None:
        raise Blocked(f"the lookup of the fresh run-prefixed group {group.display_name} found one")
    gid = sim.create_group(group, ids[:2])
    if not gid:
        raise Blocked(f"the create of group {group.display_name} answered no id")
    expected = {"displayName": group.display_name, "members": ids[:2]}
    sim.verify("/Groups", gid, expected, f"{title}: the pushed group")
    sim.add_members(gid, ids[2:], group)
    sim.verify("/Groups", gid, {"members": ids}, f"{title}: after adding a member")
    sim.remove_members(gid, ids[:1], group)
    sim.verify("/Groups", gid, {"members": ids[1:]}, f"{title}: after removing a member")
    renamed = DirectoryGroup(f"{tag}renamed", group.external_id)
    sim.rename_group(gid, renamed)
    expected = {"displayName": renamed.display_name, "members": ids[1:]}
    sim.verify("/Groups", gid, expected, f"{title}: after the rename")
    if sim.profile.has("delete_group"):
        sim.delete_group(gid)
        sim.verify_gone("/Groups", gid, f"{title}: the deleted group")


def _import(sim: Simulator, tag: str) -> None:
    """Users and groups that exist before the IdP connects are found by its listing."""
    _require(sim, "import_users")
    title = sim.profile.title
    page = sim.profile.operations["import_users"][-1].page
    count = page.count + 2 if page is not None and page.count <= 10 else 3  # two pages at least
    ids = {sim.plain_user(person(tag, n)) for n in range(1, count + 1)}
    # Offset paging shifts when others delete or create while it pages (the suite's own
    # workers under -n do): a user can drop out of one walk or show up twice in it. So up
    # to three walks; a user is missed only if no walk saw it, repeated only if every walk
    # did repeat it. A server that really drops or repeats rows does so in every walk.
    ever_seen: set[Any] = set()
    repeated_each: set[Any] | None = None
    for _ in range(3):
        seen = [u.get("id") for u in sim.import_users()]
        ever_seen.update(seen)
        twice = {i for i in ids if seen.count(i) > 1}
        repeated_each = twice if repeated_each is None else repeated_each & twice
        if ids <= set(seen) and not twice:
            break
    missing = sorted(ids - ever_seen)
    repeated = sorted(repeated_each or ())
    if missing or repeated:
        response = sim.client.get("/Users", params={"count": "1"})
        why = f"{title}: the user import misses {missing} or repeats {repeated}"
        sim.fail(why, expected=sorted(ids), actual=f"{len(seen)} users", response=response)
    if sim.profile.has("import_groups"):
        group = DirectoryGroup(f"{tag}group", f"{tag}group-ext")
        gid = sim.plain_group(group, sorted(ids))
        groups = [g.get("id") for g in sim.import_groups()]
        if gid not in groups:
            response = sim.client.get(f"/Groups/{gid}")
            why = f"{title}: the group import misses the group"
            sim.fail(why, expected=gid, actual=f"{len(groups)} groups", response=response)


def _link_existing(sim: Simulator, tag: str) -> None:
    """A user the app already has is found by the lookup and linked, never duplicated."""
    user = person(tag, 1)
    existing = sim.plain_user(user)
    changed = replace(user, given_name="Linked", title="Linked Engineer")
    rid = sim.assign(changed)
    if rid != existing:
        response = sim.client.get(f"/Users/{existing}")
        why = f"{sim.profile.title}: the IdP did not link the existing user"
        sim.fail(why, expected=existing, actual=rid, response=response)
        return
    expected = _user_state(changed if sim.profile.has("update_user") else user, None)
    sim.verify("/Users", existing, expected, f"{sim.profile.title}: the linked user")
    _expect_one(sim, user, existing)


_SCENARIOS: dict[str, Callable[[Simulator, str], None]] = {
    "assign": _assign,
    "update": _update,
    "rename-and-email": _rename_and_email,
    "deactivate": _deactivate,
    "reactivate": _reactivate,
    "unassign": _unassign,
    "reassign-after-delete": _reassign_after_delete,
    "group-push": _group_push,
    "import": _import,
    "link-existing": _link_existing,
}


def run_scenario(sim: Simulator, scenario: str, prefix: str) -> None:
    """Run one IdP lifecycle scenario with `prefix`-ed names: IdpFailure at the first answer
    the IdP would not accept (strict), else recorded in `sim.failures`. Resources created
    reach `sim.on_create`; an operation the profile lacks raises NotSent (a skip)."""
    runner = _SCENARIOS.get(scenario)
    if runner is None:
        raise ValueError(f"unknown scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    runner(sim, f"{prefix}{scenario}-")
