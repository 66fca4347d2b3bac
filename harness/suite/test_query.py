"""Query (RFC 7644 section 3.4.2): filters, case-exactness, sorting, paging, attribute selection.

Most checks read one module-scoped directory of four Users (and two Groups) whose names
start with a tag unique to this module instance, and scope each query to that tag, so other
data on a real tenant never changes a verdict; the directory is read-only. The few checks
that need their own user create it through `make_user`.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Recorder, Response, ScimClient
from harness.discovery import ENTERPRISE_URN, GROUP_URN, USER_URN, Capabilities
from harness.exchange import Exchange, render_text
from harness.run import RunState
from harness.validation.messages import validate_message
from harness.verdicts import (
    Blocked,
    SchemaViolation,
    ScimViolation,
    StatusMismatch,
    Unsupported,
    ValueMismatch,
)

LIST_URN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"

# key: (givenName, familyName, title, displayName, active, department, emails)
# d's displayName holds a quote, a keyword and brackets, for the string-literal checks.
# emails: (type, local part, domain, primary). b's first email is not its primary one, so
# sorting by emails.value tells "primary value" from "first value"; b's @corp address is a
# home address, so emails[type eq "work" and value co "@corp."] tells one value from any.
PEOPLE: dict[str, tuple[str, str, str | None, str, bool, str | None, tuple[Any, ...]]] = {
    "a": ("Dana", "Avery", "Analyst", "alpha", True, "Research",
          (("work", "a", "corp.example.org", True), ("home", "a", "mail.example.net", False))),
    "b": ("Cleo", "Bishop", "Baker", "Bravo", False, "Sales",
          (("home", "zz.b", "corp.example.org", False), ("work", "b", "mail.example.net", True))),
    "c": ("Blair", "Cole", "Chemist", "charlie", True, "Research",
          (("work", "c", "corp.example.org", True),)),
    "d": ("Ari", "Drake", None, 'Delta "and" or (not)', True, None,
          (("home", "d", "mail.example.net", False),)),
}  # fmt: skip


NICKNAMES = {"c": "Zoë-山田"}
"""A non-ASCII value, for the UTF-8 filter checks."""


@dataclass
class Directory:
    """The module's users (key -> resource as created) and groups, sharing one tag."""

    tag: str
    users: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    enterprise: bool = False

    @property
    def scope(self) -> str:
        """The filter that selects exactly this directory's users."""
        return f'userName sw "{self.tag}"'

    def scoped(self, expression: str) -> str:
        return f"{self.scope} and ({expression})"

    def key_of(self, rid: Any) -> str | None:
        for key, resource in (*self.users.items(), *self.groups.items()):
            if resource.get("id") == rid:
                return key
        return None

    def user(self, key: str) -> dict[str, Any]:
        return self.users[key]

    def email(self, key: str, kind: str) -> str:
        return next(str(e["value"]) for e in _emails(self.tag, key) if e["type"] == kind)


def _emails(tag: str, key: str) -> list[dict[str, Any]]:
    out = []
    for kind, local, domain, primary in PEOPLE[key][6]:
        entry: dict[str, Any] = {"type": kind, "value": f"{tag}{local}@{domain}"}
        if primary:
            entry["primary"] = True
        out.append(entry)
    return out


def _user_body(tag: str, key: str, enterprise: bool) -> dict[str, Any]:
    given, family, title, display, active, department, _ = PEOPLE[key]
    body: dict[str, Any] = {
        "schemas": [USER_URN],
        "userName": f"{tag}{key}.{given.lower()}@example.com",
        "externalId": f"{tag}Ext-{key.upper()}",
        "name": {"givenName": given, "familyName": family, "formatted": f"{given} {family}"},
        "displayName": f"{display} {tag}",
        "active": active,
        "emails": _emails(tag, key),
    }
    if title is not None:
        body["title"] = title
    if key in NICKNAMES:
        body["nickName"] = NICKNAMES[key]
    if enterprise and department is not None:
        body["schemas"] = [USER_URN, ENTERPRISE_URN]
        body[ENTERPRISE_URN] = {"department": department}
    return body


def _supports_enterprise(capabilities: Capabilities) -> bool:
    rt = capabilities.resource_type("User")
    return (
        rt is not None
        and any(urn.lower() == ENTERPRISE_URN.lower() for urn, _ in rt.extensions)
        and capabilities.schema(ENTERPRISE_URN) is not None
    )


class _Made:
    """What a module fixture created (DELETE paths), deleted again at the module's end."""

    def __init__(self, client: ScimClient, state: RunState) -> None:
        self.client, self.state, self.paths = client, state, list[str]()

    def post(self, endpoint: str, body: Any) -> Any:
        return _post(self.client, self.paths, endpoint, body)

    def delete_all(self) -> None:
        for path in reversed(self.paths):
            try:
                response = self.client.delete(path)
            except ScimViolation as exc:
                self.state.leftovers.append(f"DELETE {path}: {exc.message}")
                continue
            if response.status not in (200, 204, 404):
                self.state.leftovers.append(
                    f"DELETE {path} answered {response.status}\n{render_text(response.exchange)}"
                )


def _post(client: ScimClient, paths: list[str], endpoint: str, body: Any) -> Any:
    try:
        response = client.post(endpoint, json=body)
        if response.status != 201:
            raise StatusMismatch(f"POST {endpoint} answered {response.status}",
                                 expected="201", actual=str(response.status),
                                 exchanges=[response.exchange])  # fmt: skip
        resource = response.json_object()
        if not resource.get("id"):
            raise StatusMismatch(f"POST {endpoint} answered a resource without id",
                                 expected="an id", actual=str(resource)[:200],
                                 exchanges=[response.exchange])  # fmt: skip
        paths.append(f"{endpoint.rstrip('/')}/{resource['id']}")
    except ScimViolation as exc:
        raise Blocked(f"could not create the query directory (prerequisite): {exc.message}",
                      exchanges=exc.exchanges) from exc  # fmt: skip
    return resource


@contextmanager
def populated(
    scim_base: ScimClient, capabilities: Capabilities, run_prefix: str, scim_state: RunState
) -> Iterator[Directory]:
    """Create the four tagged Users (Blocked if that fails); delete them when done."""
    client = scim_base.bound(Recorder("query-directory", disabled=frozenset({"media_type"})))
    made = _Made(client, scim_state)
    tag = f"{run_prefix}q{uuid.uuid4().hex[:6]}-"
    enterprise = _supports_enterprise(capabilities)
    found = Directory(tag=tag, users={}, enterprise=enterprise)
    try:
        endpoint = capabilities.endpoint("User")
        for key in PEOPLE:
            found.users[key] = made.post(endpoint, _user_body(tag, key, enterprise))
        yield found
    finally:
        made.delete_all()


@contextmanager
def grouped(
    scim_base: ScimClient, capabilities: Capabilities, directory: Directory, scim_state: RunState
) -> Iterator[dict[str, dict[str, Any]]]:
    """Two tagged Groups: "eng" with member a, "ops" without members; deleted when done."""
    client = scim_base.bound(Recorder("query-teams", disabled=frozenset({"media_type"})))
    tracker = _Made(client, scim_state)
    endpoint = capabilities.endpoint("Group")
    made: dict[str, dict[str, Any]] = {}
    try:
        for key, members in (("eng", [directory.user("a")]), ("ops", [])):
            body: dict[str, Any] = {"schemas": [GROUP_URN],
                                    "displayName": f"{directory.tag}{key} team"}  # fmt: skip
            if members:
                body["members"] = [{"value": m["id"]} for m in members]
            made[key] = tracker.post(endpoint, body)
        directory.groups.update(made)
        yield made
    finally:
        tracker.delete_all()


@pytest.fixture(scope="module")
def directory(
    scim_base: ScimClient, capabilities: Capabilities, run_prefix: str, scim_state: RunState
) -> Iterator[Directory]:
    """Four run-prefixed Users created once for this module's read-only checks, then deleted."""
    with populated(scim_base, capabilities, run_prefix, scim_state) as found:
        yield found


@pytest.fixture(scope="module")
def teams(
    scim_base: ScimClient, capabilities: Capabilities, directory: Directory, scim_state: RunState
) -> Iterator[dict[str, dict[str, Any]]]:
    """Two tagged Groups ("eng" holding user a, "ops" empty), then deleted."""
    with grouped(scim_base, capabilities, directory, scim_state) as made:
        yield made


# -- helpers -------------------------------------------------------------------------------


@dataclass
class Listing:
    """A ListResponse as read (all pages when the server paged on its own)."""

    body: dict[str, Any]
    resources: list[dict[str, Any]]
    exchanges: list[Exchange]

    @property
    def ids(self) -> list[Any]:
        return [r.get("id") for r in self.resources]


def _page(response: Response, what: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    expect_status(response, 200, why=f"{what} answered {response.status}, expected 200")
    body = response.json_object()
    raw = body.get("Resources", [])
    if not isinstance(raw, list):
        raise SchemaViolation(f'{what}: "Resources" is not a list', expected="a JSON array",
                              actual=type(raw).__name__, exchanges=[response.exchange])  # fmt: skip
    return body, [r for r in raw if isinstance(r, dict)]


def _list(scim: ScimClient, path: str, what: str = "", **params: Any) -> Listing:
    """GET a list (one page, as asked)."""
    response = scim.get(path, params=params)
    body, resources = _page(response, what or f"GET {path}")
    return Listing(body, resources, [response.exchange])


def _list_all(scim: ScimClient, path: str, **params: Any) -> Listing:
    """GET a list and, when the server paged by itself, the following pages (at most 10)."""
    listing = _list(scim, path, **params)
    total = listing.body.get("totalResults")
    for _ in range(10):
        if not isinstance(total, int) or len(listing.resources) >= total or total > 50:
            break
        response = scim.get(path, params={**params, "startIndex": len(listing.resources) + 1})
        _, more = _page(response, f"GET {path} (next page)")
        listing.exchanges.append(response.exchange)
        if not more:
            break
        listing.resources.extend(more)
    return listing


def _names(directory: Directory, keys: Iterable[str]) -> list[str]:
    out = []
    for key in sorted(keys):
        resource = directory.users.get(key) or directory.groups.get(key) or {}
        out.append(f"{key} ({resource.get('userName') or resource.get('displayName')})")
    return out


def _judge(
    listing: Listing,
    directory: Directory,
    expected: Iterable[str],
    *,
    what: str,
    ignore: Iterable[str] = (),
) -> None:
    """ValueMismatch unless the listing holds exactly `expected` (keys), `ignore` aside."""
    __tracebackhide__ = True
    want, dont_care = set(expected), set(ignore)
    keys = [directory.key_of(rid) for rid in listing.ids]
    got = {k for k in keys if k is not None}
    foreign = [rid for rid, k in zip(listing.ids, keys, strict=True) if k is None]
    twice = sorted({k for k in got if keys.count(k) > 1})
    missing, extra = want - got, got - want - dont_care
    if not (missing or extra or foreign or twice):
        return
    problems = []
    if missing:
        problems.append(f"missing {_names(directory, missing)}")
    if extra:
        problems.append(f"returned although they do not match {_names(directory, extra)}")
    if foreign:
        problems.append(f"returned resources outside the filter's scope: ids {foreign[:5]}")
    if twice:
        problems.append(f"returned more than once {_names(directory, twice)}")
    raise ValueMismatch(
        f"{what}: " + "; ".join(problems),
        expected=_names(directory, want),
        actual=_names(directory, got) + [f"id {f}" for f in foreign[:5]],
        exchanges=listing.exchanges,
    )


def _filtered(
    scim: ScimClient,
    capabilities: Capabilities,
    directory: Directory,
    expression: str,
    expected: Iterable[str],
    *,
    ignore: Iterable[str] = (),
    resource_type: str = "User",
) -> Listing:
    """Query `scope and (expression)`; exactly `expected` (directory keys) must come back."""
    __tracebackhide__ = True
    text = directory.scoped(expression)
    listing = _list_all(scim, capabilities.endpoint(resource_type), filter=text)
    _judge(listing, directory, expected, ignore=ignore, what=f"filter {text!r}")
    return listing


def _attribute(capabilities: Capabilities, path: str) -> Any:
    """The published definition of `name` or `name.sub` (User schema or a URN-qualified one)."""
    urn, _, rest = path.rpartition(":") if path.lower().startswith("urn:") else ("", "", path)
    schema = capabilities.schema(urn or USER_URN)
    top, _, sub = rest.partition(".")
    attr = schema.attribute(top) if schema else None
    return attr.sub(sub) if attr is not None and sub else attr


RFC_CASE_EXACT = {"id": True, "externalid": True}
"""RFC 7643 3.1: id and externalId are caseExact; other strings default to false (2.2)."""


def _case_exact(capabilities: Capabilities, path: str) -> bool:
    attr = _attribute(capabilities, path)
    if attr is None:
        return RFC_CASE_EXACT.get(path.lower(), False)
    return bool(attr.case_exact)


def _returned(capabilities: Capabilities, path: str) -> str:
    if path.lower() == "id":
        return "always"
    attr = _attribute(capabilities, path)
    return str(attr.returned) if attr is not None else "default"


def _swapcase(value: str) -> str:
    swapped = value.swapcase()
    if swapped == value:
        raise Unsupported(f"{value!r} has no letters whose case could change")
    return swapped


def _need_filter(capabilities: Capabilities) -> None:
    capabilities.require("filter")


def _need_sort(capabilities: Capabilities) -> None:
    capabilities.require("filter")  # the sort checks scope their query with a filter
    capabilities.require("sort")


def _get(mapping: Mapping[str, Any], name: str) -> Any:
    """A member of a JSON object, names compared without case (RFC 7643 2.1)."""
    lowered = name.lower()
    return next((v for k, v in mapping.items() if k.lower() == lowered), None)


def _present(mapping: Mapping[str, Any], name: str) -> bool:
    value = _get(mapping, name)
    return value not in (None, [], {}, "")


# -- filters: operators on strings, booleans, dateTimes ---------------------------------------

# operator -> (expression on title, keys that must match, keys not judged)
STRING_OPERATORS: dict[str, tuple[str, set[str], set[str]]] = {
    "eq": ('title eq "Chemist"', {"c"}, set()),
    "ne": ('title ne "Chemist"', {"a", "b"}, {"d"}),  # d has no title: not judged
    "co": ('title co "hemi"', {"c"}, set()),
    "sw": ('title sw "Ana"', {"a"}, set()),
    "sw-identical": ('title sw "Baker"', {"b"}, set()),
    "ew": ('title ew "ker"', {"b"}, set()),
    "ew-identical": ('title ew "Baker"', {"b"}, set()),
    "pr": ("title pr", {"a", "b", "c"}, set()),
    "gt": ('title gt "Baker"', {"c"}, set()),
    "ge": ('title ge "Baker"', {"b", "c"}, set()),
    "lt": ('title lt "Baker"', {"a"}, set()),
    "le": ('title le "Baker"', {"a", "b"}, set()),
    # SQL LIKE wildcards are plain characters in a SCIM filter value
    "co-percent-literal": ('title co "%"', set(), set()),
    "sw-underscore-literal": ('title sw "_nalyst"', set(), set()),
}


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-10", "rfc7644-3.4.2.2-may-1")
@pytest.mark.parametrize("operator", list(STRING_OPERATORS))
def test_string_operator_selects_exactly_the_matches(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, operator: str
) -> None:
    """RFC 7644 3.4.2.2 (Table 3): each attribute operator on a string returns only matches."""
    _need_filter(capabilities)
    expression, expected, ignore = STRING_OPERATORS[operator]
    _filtered(scim, capabilities, directory, expression, expected, ignore=ignore)


BOOLEAN_FILTERS = {
    "eq-true": ("active eq true", {"a", "c", "d"}),
    "eq-false": ("active eq false", {"b"}),
    "ne-true": ("active ne true", {"b"}),
}


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-10")
@pytest.mark.parametrize("shape", list(BOOLEAN_FILTERS))
def test_boolean_filter_selects_exactly_the_matches(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2: eq/ne against the JSON literals true and false on a boolean."""
    _need_filter(capabilities)
    expression, expected = BOOLEAN_FILTERS[shape]
    _filtered(scim, capabilities, directory, expression, expected)


ORDERING = ["gt", "ge", "lt", "le"]
ORDERING_IDS = ("rfc7644-3.4.2.2-must-4", "rfc7644-3.4.2.2-must-5", "rfc7644-3.4.2.2-must-6",
                "rfc7644-3.4.2.2-must-7")  # fmt: skip


@clause(*ORDERING_IDS)
@pytest.mark.parametrize("operator", ORDERING)
def test_ordering_a_boolean_is_invalid_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, operator: str
) -> None:
    """RFC 7644 3.4.2.2: gt/ge/lt/le on a Boolean SHALL fail with 400 and "invalidFilter"."""
    _need_filter(capabilities)
    text = directory.scoped(f"active {operator} true")
    expect_scim_error(scim.get(capabilities.endpoint("User"), params={"filter": text}), 400,
                      "invalidFilter")  # fmt: skip


def _binary_path(capabilities: Capabilities) -> str:
    schema = capabilities.schema(USER_URN)
    for attr in schema.attributes if schema else ():
        if attr.type == "binary":
            return attr.name
        for sub in attr.sub_attributes:
            if sub.type == "binary":
                return f"{attr.name}.{sub.name}"
    raise Unsupported("the server publishes no binary attribute in the User schema")


@clause(*ORDERING_IDS)
@pytest.mark.parametrize("operator", ORDERING)
def test_ordering_a_binary_is_invalid_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, operator: str
) -> None:
    """RFC 7644 3.4.2.2: gt/ge/lt/le on a Binary attribute SHALL fail with 400 "invalidFilter"."""
    _need_filter(capabilities)
    text = directory.scoped(f'{_binary_path(capabilities)} {operator} "AAAA"')
    expect_scim_error(scim.get(capabilities.endpoint("User"), params={"filter": text}), 400,
                      "invalidFilter")  # fmt: skip


def _instants(directory: Directory, attribute: str) -> list[datetime]:
    found = []
    for user in directory.users.values():
        raw = _get(user.get("meta") or {}, attribute)
        try:
            found.append(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
        except ValueError:
            continue
    if len(found) != len(directory.users):
        raise Unsupported(f"the created users do not all carry meta.{attribute}")
    return found


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# operator -> (all match a bound one day before the first creation, ... one day after)
CHRONOLOGY = {"gt": (True, False), "ge": (True, False), "lt": (False, True), "le": (False, True)}


@clause("rfc7644-3.4.2.2-must-1", "rfc7643-2.3.5-must-1")
@pytest.mark.parametrize("attribute", ["created", "lastModified"])
@pytest.mark.parametrize("operator", ORDERING)
def test_datetime_operator_compares_chronologically(
    scim: ScimClient,
    capabilities: Capabilities,
    directory: Directory,
    operator: str,
    attribute: str,
) -> None:
    """RFC 7644 3.4.2.2: gt/ge/lt/le on meta dateTimes are chronological comparisons."""
    _need_filter(capabilities)
    moments = _instants(directory, attribute)
    before, after = min(moments) - timedelta(days=1), max(moments) + timedelta(days=1)
    for bound, all_match in zip((before, after), CHRONOLOGY[operator], strict=True):
        expression = f'meta.{attribute} {operator} "{_stamp(bound)}"'
        _filtered(scim, capabilities, directory, expression, set(PEOPLE) if all_match else set())


@clause("rfc7644-3.4.2.2-must-1", "rfc7643-2.3.5-must-1")
def test_datetime_filter_compares_instants_not_strings(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: dateTime comparison is chronological, also across UTC offsets."""
    _need_filter(capabilities)
    first = min(_instants(directory, "created"))
    # An hour before the first creation, written at +14:00: later as a string, earlier in time.
    bound = (first - timedelta(hours=1)).astimezone(timezone(timedelta(hours=14)))
    expression = f'meta.created gt "{bound.strftime("%Y-%m-%dT%H:%M:%S+14:00")}"'
    _filtered(scim, capabilities, directory, expression, set(PEOPLE))


@clause("rfc7644-3.4.2.2-must-1")
@pytest.mark.parametrize("operator", ["ge", "le"])
def test_datetime_bound_includes_the_exact_value(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, operator: str
) -> None:
    """RFC 7644 3.4.2.2: ge/le match a dateTime equal to the operand (the value as returned)."""
    _need_filter(capabilities)
    created = _get(directory.user("b").get("meta") or {}, "created")
    if not isinstance(created, str):
        raise Unsupported("the created user carries no meta.created")
    text = directory.scoped(f'meta.created {operator} "{created}"')
    listing = _list_all(scim, capabilities.endpoint("User"), filter=text)
    if directory.user("b")["id"] not in listing.ids:
        raise ValueMismatch(
            f'meta.created {operator} "{created}" does not match the user created at {created}',
            expected=_names(directory, "b"),
            actual=[directory.key_of(i) or f"id {i}" for i in listing.ids],
            exchanges=listing.exchanges,
        )


# -- filters: logic, precedence, grouping ------------------------------------------------------

LOGIC = {
    "and": ("title pr and active eq false", {"b"}, set()),
    "or": ('title eq "Analyst" or title eq "Chemist"', {"a", "c"}, set()),
    "not": ('not (title eq "Analyst")', {"b", "c"}, {"d"}),
    "not-and": ('not (title eq "Analyst") and active eq true', {"c"}, {"d"}),
    "nested": ('(title eq "Analyst" or title eq "Baker") and (not (active eq true))', {"b"},
               set()),
}  # fmt: skip


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-may-4", "rfc7644-3.4.2.2-may-7",
        "rfc7644-3.4.2.2-must-10")  # fmt: skip
@pytest.mark.parametrize("shape", list(LOGIC))
def test_logical_operators_combine_expressions(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2 (Table 4): "and", "or" and "not" combine expressions as defined."""
    _need_filter(capabilities)
    expression, expected, ignore = LOGIC[shape]
    _filtered(scim, capabilities, directory, expression, expected, ignore=ignore)


@clause("rfc7644-3.4.2.2-must-11")
def test_and_binds_tighter_than_or(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: "and" takes precedence over "or" (a or b and c = a or (b and c))."""
    _need_filter(capabilities)
    expression = 'title eq "Analyst" or title eq "Baker" and active eq false'
    _filtered(scim, capabilities, directory, expression, {"a", "b"})


@clause("rfc7644-3.4.2.2-must-11", "rfc7644-3.4.2.2-may-5", "rfc7644-3.4.2.2-may-6")
def test_parentheses_change_the_order_of_evaluation(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2 (Table 5): grouping evaluates the bracketed "or" before the "and"."""
    _need_filter(capabilities)
    text = f'{directory.scope} and (title eq "Analyst" or title eq "Baker") and active eq false'
    listing = _list_all(scim, capabilities.endpoint("User"), filter=text)
    _judge(listing, directory, {"b"}, what=f"filter {text!r}")


# -- filters: attribute paths ------------------------------------------------------------------


COMPLEX = {
    "and": ('emails[type eq "work" and value co "@corp."]', {"a", "c"}),
    "single": ('emails[type eq "home"]', {"a", "b", "d"}),
    "not": ('emails[not (type eq "work")]', {"a", "b", "d"}),
}


@clause("rfc7644-3.4.2.2-must-8", "rfc7644-3.4.2.2-must-9", "rfc7644-3.4.2.2-may-7")
@pytest.mark.parametrize("shape", list(COMPLEX))
def test_complex_filter_applies_to_one_value(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2 (Table 5): in emails[...] every condition holds for the same email."""
    _need_filter(capabilities)
    expression, expected = COMPLEX[shape]
    text = directory.scoped(expression)
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if response.status == 400:
        raise Unsupported("the server refuses complex attribute filters (a MAY, Table 5)")
    body, resources = _page(response, f"filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, expected,
           what=f"filter {text!r}")  # fmt: skip


@clause("rfc7644-3.4.2.2-may-9", "rfc7644-3.4.2.2-must-1")
def test_filter_by_schemas_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: `schemas eq "<extension URN>"` selects the resources using it (a MAY)."""
    _need_filter(capabilities)
    if not directory.enterprise:
        raise Unsupported("the User resource type declares no enterprise extension")
    using = {
        key
        for key, user in directory.users.items()
        if ENTERPRISE_URN.lower() in [str(x).lower() for x in user.get("schemas") or []]
    }
    text = directory.scoped(f'schemas eq "{ENTERPRISE_URN}"')
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if response.status == 400:
        raise Unsupported('the server does not filter on "schemas" (a MAY)')
    body, resources = _page(response, f"filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, using,
           what=f"filter {text!r} (the users whose schemas list the extension)")  # fmt: skip


LITERALS = {
    "escaped-quote": ('displayName eq "Delta \\"and\\" or (not) {tag}"', {"d"}),
    "keywords-inside": ('displayName co "or (not)"', {"d"}),
    "unicode-escape": ('title eq "\\u0043hemist"', {"c"}),
}


@clause("rfc7644-3.4.2.2-must-10", "rfc7644-3.4.2.2-must-1")
@pytest.mark.parametrize("shape", list(LITERALS))
def test_filter_string_values_are_json_strings(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2: compValue strings are JSON strings: escapes, and keywords or brackets
    inside the quotes, are part of the value.
    """
    _need_filter(capabilities)
    expression, expected = LITERALS[shape]
    _filtered(scim, capabilities, directory, expression.format(tag=directory.tag), expected)


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.8-must-2")
@pytest.mark.parametrize("operator", ["eq", "co"])
def test_filter_on_a_non_ascii_value(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, operator: str
) -> None:
    """RFC 7644 3.4.2.2, 3.8: a filter value outside ASCII (UTF-8 in the URL) matches as sent."""
    _need_filter(capabilities)
    value = NICKNAMES["c"] if operator == "eq" else NICKNAMES["c"][-2:]
    _filtered(scim, capabilities, directory, f'nickName {operator} "{value}"', {"c"})


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-12")
def test_sub_attribute_conditions_match_any_values(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: emails.type and emails.value match if any value matches, each alone."""
    _need_filter(capabilities)
    expression = 'emails.type eq "work" and emails.value co "@corp."'
    _filtered(scim, capabilities, directory, expression, {"a", "b", "c"})


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-12")
def test_multi_valued_filter_matches_a_non_primary_value(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: a filter on a multi-valued attribute matches if any value matches."""
    _need_filter(capabilities)
    expression = f'emails.value eq "{directory.email("a", "home")}"'
    _filtered(scim, capabilities, directory, expression, {"a"})


PRESENCE = {
    "name": ("name pr", set(PEOPLE)),
    "emails": ("emails pr", set(PEOPLE)),
    "phoneNumbers": ("phoneNumbers pr", set()),
    "emails.type": ('emails[type eq "home"] and title pr', {"a", "b"}),
}


@clause("rfc7644-3.4.2.2-must-1")
@pytest.mark.parametrize("shape", list(PRESENCE))
def test_presence_of_a_complex_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2: "pr" on a complex attribute matches a non-empty node, nothing else."""
    _need_filter(capabilities)
    expression, expected = PRESENCE[shape]
    text = directory.scoped(expression)
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if shape == "emails.type" and response.status == 400:
        raise Unsupported("the server refuses complex attribute filters (a MAY, Table 5)")
    body, resources = _page(response, f"filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, expected,
           what=f"filter {text!r}")  # fmt: skip


@clause("rfc7644-3.4.2.2-must-12")
@pytest.mark.parametrize("path", ["name.familyName", "name.givenName"])
def test_sub_attribute_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, path: str
) -> None:
    """RFC 7644 3.4.2.2: a complex attribute is filtered by its fully qualified sub-attribute."""
    _need_filter(capabilities)
    value = PEOPLE["c"][1] if path.endswith("familyName") else PEOPLE["c"][0]
    _filtered(scim, capabilities, directory, f'{path} eq "{value}"', {"c"})


@clause("rfc7644-3.4.2.2-must-10", "rfc7644-3.4.2.2-must-12")
def test_urn_qualified_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2, 3.10: attributes may be named with their schema URN in a filter."""
    _need_filter(capabilities)
    text = (f'{USER_URN}:userName sw "{directory.tag}" and '
            f'{USER_URN}:name.familyName eq "{PEOPLE["b"][1]}"')  # fmt: skip
    listing = _list_all(scim, capabilities.endpoint("User"), filter=text)
    _judge(listing, directory, {"b"}, what=f"filter {text!r}")


@clause("rfc7644-3.4.2.2-must-10", "rfc7644-3.4.2.2-must-12")
def test_extension_attribute_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2, 3.10: an extension attribute is filtered by its URN-qualified name."""
    _need_filter(capabilities)
    if not directory.enterprise:
        raise Unsupported("the User resource type declares no enterprise extension")
    _filtered(scim, capabilities, directory, f'{ENTERPRISE_URN}:department eq "Sales"', {"b"})


# -- filters: case -----------------------------------------------------------------------------

NAME_CASES = {
    "attribute-upper": ('TITLE eq "Chemist"', {"c"}),
    "attribute-mixed": ('Title eq "Chemist"', {"c"}),
    "sub-attribute-upper": ('NAME.FAMILYNAME eq "Cole"', {"c"}),
    "urn-upper": (f'{USER_URN.upper()}:TITLE eq "Chemist"', {"c"}),
}


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-10")
@pytest.mark.parametrize("shape", list(NAME_CASES))
def test_attribute_names_in_filters_ignore_case(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2, 3.10: attribute names (and URNs) in filters are case insensitive."""
    _need_filter(capabilities)
    expression, expected = NAME_CASES[shape]
    _filtered(scim, capabilities, directory, expression, expected)


OPERATOR_CASES = {
    "EQ": ('title EQ "Chemist"', {"c"}),
    "Ne": ('title Ne "Chemist" and title pr', {"a", "b"}),
    "CO": ('title CO "hemi"', {"c"}),
    "Sw": ('title Sw "Ana"', {"a"}),
    "EW": ('title EW "ker"', {"b"}),
    "PR": ("title PR", {"a", "b", "c"}),
    "GT": ('title GT "Baker"', {"c"}),
    "Le": ('title Le "Baker"', {"a", "b"}),
}


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-10")
@pytest.mark.parametrize("spelling", list(OPERATOR_CASES))
def test_attribute_operators_ignore_case(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, spelling: str
) -> None:
    """RFC 7644 3.4.2.2: attribute operators are case insensitive ("Eq" is "eq")."""
    _need_filter(capabilities)
    expression, expected = OPERATOR_CASES[spelling]
    _filtered(scim, capabilities, directory, expression, expected)


LOGIC_CASES = {
    "AND": ("title pr AND active eq false", {"b"}),
    "Or": ('title eq "Analyst" Or title eq "Chemist"', {"a", "c"}),
    "NOT": ('NOT (title eq "Analyst") and title pr', {"b", "c"}),
}


@clause("rfc7644-3.4.2.2-must-10")
@pytest.mark.parametrize("spelling", list(LOGIC_CASES))
def test_logical_operators_ignore_case(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, spelling: str
) -> None:
    """RFC 7644 3.4.2.2: the ABNF's quoted "and"/"or"/"not" are case insensitive (RFC 5234)."""
    _need_filter(capabilities)
    expression, expected = LOGIC_CASES[spelling]
    _filtered(scim, capabilities, directory, expression, expected)


# (path, operator, key whose value is used, how the value is derived from it)
CASE_PROBES = {
    "userName-eq": ("userName", "eq", "a"),
    "displayName-eq": ("displayName", "eq", "c"),
    "title-eq": ("title", "eq", "c"),
    "title-co": ("title", "co", "c"),
    "title-sw": ("title", "sw", "c"),
    "title-ew": ("title", "ew", "c"),
    "name.familyName-eq": ("name.familyName", "eq", "c"),
    "emails.value-eq": ("emails.value", "eq", "c"),
}


def _value_of(resource: Mapping[str, Any], path: str) -> str:
    top, _, sub = path.partition(".")
    value = _get(resource, top)
    if isinstance(value, list):
        value = value[0] if value else None
    if sub and isinstance(value, Mapping):
        value = _get(value, sub)
    if not isinstance(value, str):
        raise Blocked(f"the created user carries no {path} to filter on")
    return value


def _operand(value: str, operator: str) -> str:
    middle = len(value) // 2
    return {"co": value[1:-1], "sw": value[: middle + 1], "ew": value[middle:]}.get(operator, value)


@clause("rfc7644-3.4.2.2-must-15", "rfc7643-7-must-7")
@pytest.mark.parametrize("probe", list(CASE_PROBES))
def test_string_comparison_follows_case_exact(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, probe: str
) -> None:
    """RFC 7644 3.4.2.2: a comparison ignores case unless the attribute is published caseExact."""
    _need_filter(capabilities)
    path, operator, key = CASE_PROBES[probe]
    operand = _swapcase(_operand(_value_of(directory.user(key), path), operator))
    exact = _case_exact(capabilities, path)
    expression = f'{path} {operator} "{operand}"'
    # The scope must not depend on the probed attribute's case handling.
    text = f'externalId eq "{directory.user(key)["externalId"]}" and {expression}'
    listing = _list_all(scim, capabilities.endpoint("User"), filter=text)
    expected = set() if exact else {key}
    what = f"filter {text!r} on a {'caseExact' if exact else 'case-insensitive'} attribute"
    _judge(listing, directory, expected, what=what)


@clause("rfc7644-3.4.2.2-must-15", "rfc7643-7-must-7", "rfc7643-3.1-must-4")
@pytest.mark.parametrize("path", ["externalId", "id"])
def test_case_exact_identifier_needs_the_exact_case(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, path: str
) -> None:
    """RFC 7643 3.1, 7: id and externalId are caseExact: eq with another case must not match."""
    _need_filter(capabilities)
    user = directory.user("a")
    value = str(user.get(path) or "")
    if not value:
        raise Blocked(f"the created user carries no {path}")
    changed = _swapcase(value)
    exact = _case_exact(capabilities, path)
    control = _list_all(scim, capabilities.endpoint("User"),
                        filter=directory.scoped(f'{path} eq "{value}"'))  # fmt: skip
    if control.ids != [user["id"]]:
        raise Blocked(f'{path} eq "{value}" (exact case) does not find the user; '
                      "case-exactness cannot be judged", exchanges=control.exchanges)  # fmt: skip
    text = directory.scoped(f'{path} eq "{changed}"')
    listing = _list_all(scim, capabilities.endpoint("User"), filter=text)
    _judge(listing, directory, set() if exact else {"a"},
           what=f"filter {text!r} ({path} caseExact={str(exact).lower()})")  # fmt: skip


# -- filters: errors ---------------------------------------------------------------------------


@clause("rfc7644-3.4.2.2-must-14")
@pytest.mark.parametrize("operator", ["scimtestop", "xx"])
def test_unknown_operator_is_invalid_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, operator: str
) -> None:
    """RFC 7644 3.4.2.2: an unrecognized operator is declined with 400 and "invalidFilter" (the
    operators are made up: a server MAY support extra ones such as "regex").
    """
    _need_filter(capabilities)
    text = directory.scoped(f'title {operator} "Chemist"')
    expect_scim_error(scim.get(capabilities.endpoint("User"), params={"filter": text}), 400,
                      "invalidFilter")  # fmt: skip


MALFORMED = {
    "missing-value": "title eq",
    "missing-operator": 'title "Chemist"',
    "unbalanced-parenthesis": '(title eq "Chemist"',
    "unterminated-string": 'title eq "Chemist',
    "dangling-and": 'title eq "Chemist" and',
    "value-first": '"Chemist" eq title',
    "unclosed-bracket": 'emails[type eq "work"',
}


@clause("rfc7644-3.4.2.2-must-2", "rfc7644-3.4.2.2-must-3", "rfc7644-3.4.2.2-must-10",
        "rfc7644-3.12-must-1")  # fmt: skip
@pytest.mark.parametrize("shape", list(MALFORMED))
def test_malformed_filter_is_refused(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.4.2.2: a filter that breaks the ABNF is refused with a 4xx SCIM Error."""
    _need_filter(capabilities)
    text = MALFORMED[shape]
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if response.status < 400:
        raise StatusMismatch(f"the malformed filter {text!r} was evaluated",
                             expected="400 invalidFilter", actual=str(response.status),
                             exchanges=[response.exchange])  # fmt: skip
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-3.12-should-1")
@pytest.mark.parametrize("shape", list(MALFORMED))
def test_malformed_filter_is_400_invalid_filter(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, shape: str
) -> None:
    """RFC 7644 3.12 (Table 9): a filter with invalid syntax is 400 with scimType invalidFilter."""
    _need_filter(capabilities)
    response = scim.get(capabilities.endpoint("User"), params={"filter": MALFORMED[shape]})
    expect_scim_error(response, 400, "invalidFilter")


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.1-must-4")
def test_unknown_attribute_matches_nothing_or_is_refused(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.1-3.4.2.2: an undefined attribute has no value (no match) or is refused."""
    _need_filter(capabilities)
    text = directory.scoped('scimtestNoSuchAttribute eq "x" or scimtestNoSuchAttribute pr')
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if response.status >= 400:
        expect_scim_error(response, 400)
        return
    body, resources = _page(response, f"filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, set(),
           what=f"filter {text!r} on an attribute no schema defines")  # fmt: skip


@clause("rfc7644-3.4.2.2-must-13")
def test_defaulted_attribute_is_filtered_as_returned(
    scim: ScimClient, capabilities: Capabilities, make_user: Callable[..., dict[str, Any]]
) -> None:
    """RFC 7644 3.4.2.2: eq/pr on an attribute the client left out (defaulted or not) use the
    value the server returned at creation: none returned, no presence.
    """
    _need_filter(capabilities)
    user = make_user(active=None)
    endpoint, name = capabilities.endpoint("User"), user["userName"]
    control = _list_all(scim, endpoint, filter=f'userName eq "{name}"')
    if control.ids != [user["id"]]:
        raise Blocked(f'userName eq "{name}" does not find the created user',
                      exchanges=control.exchanges)  # fmt: skip
    returned = _get(user, "active")
    text = f'userName eq "{name}" and active pr'
    listing = _list_all(scim, endpoint, filter=text)
    if (user["id"] in listing.ids) != (returned is not None):
        raise ValueMismatch(f"filter {text!r} disagrees with the creation response, which "
                            + ("returned active" if returned is not None else "had no active"),
                            expected="a match" if returned is not None else "no match",
                            actual=f"{len(listing.ids)} match(es)",
                            exchanges=listing.exchanges)  # fmt: skip
    if returned is not None:
        text = f'userName eq "{name}" and active eq {json.dumps(returned)}'
        listing = _list_all(scim, endpoint, filter=text)
        if listing.ids != [user["id"]]:
            raise ValueMismatch(f"filter {text!r} does not match the defaulted value returned",
                                expected=[user["id"]], actual=listing.ids,
                                exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2.1-must-2")
@pytest.mark.parametrize("shape", ["unfiltered", "userName-pr"])
def test_too_many_results_refusal_says_too_many(
    scim: ScimClient, capabilities: Capabilities, shape: str
) -> None:
    """RFC 7644 3.4.2.1: a query refused because it would return too many results is 400 with
    scimType "tooMany" (answering it is fine too).
    """
    params: dict[str, Any] = {}
    if shape == "userName-pr":
        _need_filter(capabilities)
        params["filter"] = "userName pr"
    response = scim.get(capabilities.endpoint("User"), params=params)
    if response.status == 400:
        expect_scim_error(response, 400, "tooMany")
        return
    _page(response, f"GET {capabilities.endpoint('User')} ({shape})")


# -- empty results and the lookups IdPs send ---------------------------------------------------


@clause("rfc7644-3.4.2-must-6")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_no_match_is_200_with_zero_total(
    scim: ScimClient, capabilities: Capabilities, run_prefix: str, resource_type: str
) -> None:
    """RFC 7644 3.4.2: a query without matches is 200 with totalResults 0 (never 404)."""
    _need_filter(capabilities)
    attribute = "userName" if resource_type == "User" else "displayName"
    text = f'{attribute} eq "{run_prefix}nobody-{uuid.uuid4()}"'
    response = scim.get(capabilities.endpoint(resource_type), params={"filter": text})
    body, resources = _page(response, f"filter {text!r}")
    if body.get("totalResults") != 0 or resources:
        raise ValueMismatch(f"filter {text!r} matches nothing, yet the answer says otherwise",
                            expected='"totalResults": 0 and no Resources',
                            actual={"totalResults": body.get("totalResults"),
                                    "Resources": len(resources)},
                            exchanges=[response.exchange])  # fmt: skip


def _raw_query(scim: ScimClient, endpoint: str, query: str) -> Response:
    """GET with a query string exactly as given (already encoded)."""
    return scim.get(f"{scim.url_for(endpoint)}?{query}")


@clause("rfc7644-3.4.2.2-must-1", keyword="SHOULD")
def test_entra_form_encoded_lookup(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2; Entra ID sends `userName+eq+"..."` ("+" for spaces, %40 for "@")."""
    _need_filter(capabilities)
    user = directory.user("c")
    value = urllib.parse.quote(f'"{user["userName"]}"', safe="")
    response = _raw_query(scim, capabilities.endpoint("User"), f"filter=userName+eq+{value}")
    body, resources = _page(response, "Entra's userName lookup")
    _judge(Listing(body, resources, [response.exchange]), directory, {"c"},
           what="filter userName+eq+... (Entra ID's encoding)")  # fmt: skip


@clause("rfc7644-3.4.2.2-must-1")
def test_percent_encoded_lookup(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: `filter=userName%20eq%20%22...%22` (RFC 3986 encoding) is one filter."""
    _need_filter(capabilities)
    user = directory.user("b")
    text = urllib.parse.quote(f'userName eq "{user["userName"]}"', safe="")
    response = _raw_query(scim, capabilities.endpoint("User"), f"filter={text}")
    body, resources = _page(response, "a %20-encoded userName lookup")
    _judge(Listing(body, resources, [response.exchange]), directory, {"b"},
           what="filter userName%20eq%20... (percent-encoded)")  # fmt: skip


@clause("rfc7644-3.4.2.2-must-10", "rfc7644-3.4.2.2-must-1")
def test_unquoted_value_is_refused_or_matched_exactly(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2: Entra's documented `externalId eq jyoung` breaks the ABNF (compValue
    is JSON): a server may refuse it (400) or read it leniently, but never match other users.
    """
    _need_filter(capabilities)
    user = directory.user("a")
    text = f"externalId eq {user['externalId']}"
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if response.status >= 400:
        expect_scim_error(response, 400)
        return
    body, resources = _page(response, f"filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, {"a"},
           what=f"lenient reading of the unquoted filter {text!r}")  # fmt: skip


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.4-must-4")
def test_okta_lookup_with_paging(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2, 3.4.2.4: Okta's `filter=userName eq "x"&startIndex=1&count=100`."""
    _need_filter(capabilities)
    user = directory.user("d")
    text = f'userName eq "{user["userName"]}"'
    listing = _list(scim, capabilities.endpoint("User"), filter=text, startIndex=1, count=100)
    _judge(listing, directory, {"d"}, what="Okta's userName lookup")
    if listing.body.get("totalResults") != 1:
        raise ValueMismatch("totalResults does not count the one match",
                            expected=1, actual=listing.body.get("totalResults"),
                            exchanges=listing.exchanges)  # fmt: skip


# -- groups ------------------------------------------------------------------------------------


@clause("rfc7644-3.4.2.2-must-1")
def test_group_filter_by_display_name(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.2: Groups filter by displayName (the IdPs' group lookup)."""
    _need_filter(capabilities)
    text = f'displayName eq "{teams["ops"]["displayName"]}"'
    listing = _list_all(scim, capabilities.endpoint("Group"), filter=text)
    _judge(listing, directory, {"ops"}, what=f"filter {text!r}")


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-12")
def test_group_filter_by_member(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.2: members.value eq "<user id>" finds the groups holding that member."""
    _need_filter(capabilities)
    text = (f'displayName sw "{directory.tag}" and '
            f'members.value eq "{directory.user("a")["id"]}"')  # fmt: skip
    listing = _list_all(scim, capabilities.endpoint("Group"), filter=text)
    _judge(listing, directory, {"eng"}, what=f"filter {text!r}")


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.4.2.2-must-12")
def test_user_filter_by_group_membership(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.2: groups.value eq "<group id>" finds the users listing that group."""
    _need_filter(capabilities)
    eng, user = teams["eng"]["id"], directory.user("a")
    path = f"{capabilities.endpoint('User').rstrip('/')}/{user['id']}"
    shown = expect_status(scim.get(path), 200).json_object()
    values = [g.get("value") for g in _get(shown, "groups") or [] if isinstance(g, Mapping)]
    if eng not in values:
        raise Unsupported("the server does not list group memberships in User.groups")
    text = directory.scoped(f'groups.value eq "{eng}"')
    response = scim.get(capabilities.endpoint("User"), params={"filter": text})
    if response.status == 400:
        raise Unsupported("the server does not filter on the readOnly groups attribute")
    body, resources = _page(response, f"filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, {"a"},
           what=f"filter {text!r}")  # fmt: skip


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-2")
def test_group_query_with_attributes(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.9: attributes=displayName on /Groups returns id and displayName, no members."""
    _need_filter(capabilities)
    listing = _list(scim, capabilities.endpoint("Group"), attributes="displayName",
                    filter=f'displayName sw "{directory.tag}"')  # fmt: skip
    _judge(listing, directory, set(teams), what="the tagged groups with attributes=displayName")
    for group in listing.resources:
        if _present(group, "members") or not _present(group, "displayName"):
            raise ValueMismatch("attributes=displayName is not applied to a group",
                                expected="id and displayName, no members",
                                actual=sorted(group), exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.9-must-2", "rfc7644-3.4.2.5-must-2")
def test_group_query_without_members(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.5; Entra's `excludedAttributes=members&filter=displayName eq "..."`."""
    _need_filter(capabilities)
    listing = _list(scim, capabilities.endpoint("Group"), excludedAttributes="members",
                    filter=f'displayName eq "{teams["eng"]["displayName"]}"')  # fmt: skip
    _judge(listing, directory, {"eng"}, what="a group lookup without members")
    group = listing.resources[0]
    if _present(group, "members") or not _present(group, "displayName"):
        raise ValueMismatch("excludedAttributes=members is not applied to the group",
                            expected="displayName present, members absent",
                            actual=sorted(group), exchanges=listing.exchanges)  # fmt: skip


# -- sorting (3.4.2.3) -------------------------------------------------------------------------


def _order(listing: Listing, directory: Directory) -> list[str]:
    return [directory.key_of(i) or f"id {i}" for i in listing.ids]


def _sorted_listing(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, **params: Any
) -> Listing:
    return _list(scim, capabilities.endpoint("User"), filter=directory.scope,
                 count=max(len(PEOPLE), 10), **params)  # fmt: skip


def _expect_order(listing: Listing, directory: Directory, expected: list[str], what: str) -> None:
    __tracebackhide__ = True
    got = [k for k in _order(listing, directory) if k in expected]
    if got != expected:
        raise ValueMismatch(f"{what}: wrong order", expected=_names_in_order(directory, expected),
                            actual=_names_in_order(directory, got),
                            exchanges=listing.exchanges)  # fmt: skip


def _expect_page(listing: Listing, directory: Directory, expected: list[str], what: str) -> None:
    """The page holds `expected`, or a non-empty prefix of it (a server MAY return fewer)."""
    __tracebackhide__ = True
    got = _order(listing, directory)
    if not got or got != expected[: len(got)]:
        raise ValueMismatch(f"{what}: not the page asked for",
                            expected=_names_in_order(directory, expected),
                            actual=_names_in_order(directory, got),
                            exchanges=listing.exchanges)  # fmt: skip


def _names_in_order(directory: Directory, keys: list[str]) -> list[str]:
    return [_names(directory, [k])[0] if k in directory.users else k for k in keys]


@clause("rfc7644-3.4.2.3-must-1", "rfc7644-3.4.2.3-may-1")
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_sort_by_string(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, order: str
) -> None:
    """RFC 7644 3.4.2.3: sortBy orders the resources by that attribute, in sortOrder."""
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy="title", sortOrder=order)
    expected = ["a", "b", "c"] if order == "ascending" else ["c", "b", "a"]
    _expect_order(listing, directory, expected, f"sortBy=title&sortOrder={order}")


@clause("rfc7644-3.4.2.3-must-2")
def test_sort_order_defaults_to_ascending(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.3: with sortBy and no sortOrder, the order SHALL be ascending."""
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy="name.familyName")
    _expect_order(listing, directory, ["a", "b", "c", "d"], "sortBy=name.familyName")


@clause("rfc7644-3.4.2.3-must-3")
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_sort_follows_case_exactness(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, order: str
) -> None:
    """RFC 7644 3.4.2.3: a case-insensitive string sorts without case, a caseExact one with."""
    _need_sort(capabilities)
    exact = _case_exact(capabilities, "displayName")
    listing = _sorted_listing(scim, capabilities, directory, sortBy="displayName",
                              sortOrder=order)  # fmt: skip
    # displayNames: alpha, Bravo, charlie, Delta (+ the tag)
    expected = ["b", "d", "a", "c"] if exact else ["a", "b", "c", "d"]
    if order == "descending":
        expected.reverse()
    what = f"sortBy=displayName&sortOrder={order} (caseExact={str(exact).lower()})"
    _expect_order(listing, directory, expected, what)


@clause("rfc7644-3.4.2.3-must-1")
@pytest.mark.parametrize("spelling", ["NAME.FAMILYNAME", f"{USER_URN}:name.familyName"])
def test_sort_by_any_spelling_of_the_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, spelling: str
) -> None:
    """RFC 7644 3.4.2.3, 3.10: sortBy takes attribute notation (any case, URN-qualified)."""
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy=spelling,
                              sortOrder="descending")  # fmt: skip
    _expect_order(listing, directory, ["d", "c", "b", "a"], f"sortBy={spelling} descending")


@clause("rfc7644-3.4.2.3-must-1")
def test_sort_by_extension_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.3, 3.10: sortBy takes a URN-qualified extension attribute."""
    _need_sort(capabilities)
    if not directory.enterprise:
        raise Unsupported("the User resource type declares no enterprise extension")
    listing = _sorted_listing(scim, capabilities, directory, sortBy=f"{ENTERPRISE_URN}:department",
                              sortOrder="descending")  # fmt: skip
    for first in ("a", "c"):  # Sales (b) before Research (a, c), descending
        _expect_order(listing, directory, ["b", first], "sortBy=<enterprise>:department descending")


@clause("rfc7644-3.4.2.3-must-1")
def test_sort_multi_valued_by_primary_value(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.3: a multi-valued sortBy uses the primary value, else the first one."""
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy="emails.value")
    _expect_order(listing, directory, ["a", "b", "c", "d"], "sortBy=emails.value")


@clause("rfc7644-3.4.2.3-must-1")
def test_sort_by_datetime(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.3: sortBy=meta.created orders resources chronologically."""
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy="meta.created",
                              sortOrder="descending")  # fmt: skip
    stamps = []
    for resource in listing.resources:
        raw = _get(resource.get("meta") or {}, "created")
        try:
            stamps.append(datetime.fromisoformat(str(raw).replace("Z", "+00:00")))
        except ValueError:
            raise Blocked("a listed resource carries no parsable meta.created") from None
    if stamps != sorted(stamps, reverse=True):
        raise ValueMismatch("sortBy=meta.created&sortOrder=descending is not chronological",
                            expected="meta.created non-increasing",
                            actual=[_stamp(s) for s in stamps],
                            exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2.3-must-1", keyword="SHOULD")
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_sort_puts_missing_values_last_ascending(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, order: str
) -> None:
    """RFC 7644 3.4.2.3: resources without the sortBy value come last ascending, first
    descending (the sentence carries no keyword: graded as a SHOULD).
    """
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy="title", sortOrder=order)
    order_keys = [k for k in _order(listing, directory) if k in PEOPLE]
    position = order_keys.index("d") if "d" in order_keys else -1
    wanted = len(order_keys) - 1 if order == "ascending" else 0
    if position != wanted:
        raise ValueMismatch(f"sortBy=title&sortOrder={order}: the user without a title is "
                            f"at position {position + 1} of {len(order_keys)}",
                            expected="last" if order == "ascending" else "first",
                            actual=_names_in_order(directory, order_keys),
                            exchanges=listing.exchanges)  # fmt: skip


# -- pagination (3.4.2.4) ----------------------------------------------------------------------


def _scoped_page(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, **params: Any
) -> Listing:
    _need_filter(capabilities)
    return _list(scim, capabilities.endpoint("User"), filter=directory.scope, **params)


def _total(listing: Listing) -> Any:
    return listing.body.get("totalResults")


def _expect_total(listing: Listing, what: str) -> None:
    __tracebackhide__ = True
    if _total(listing) != len(PEOPLE):
        raise ValueMismatch(f"{what}: totalResults is not the number of matches",
                            expected=len(PEOPLE), actual=_total(listing),
                            exchanges=listing.exchanges)  # fmt: skip


def _expect_no_resources(listing: Listing, what: str) -> None:
    __tracebackhide__ = True
    if listing.resources:
        raise ValueMismatch(f"{what}: resources were returned",
                            expected="no Resources", actual=f"{len(listing.resources)} resources",
                            exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2.4-must-4")
@pytest.mark.parametrize("count", [1, 2, 3])
def test_count_limits_the_page(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, count: int
) -> None:
    """RFC 7644 3.4.2.4: with count, the server MUST NOT return more results than specified."""
    listing = _scoped_page(scim, capabilities, directory, count=count)
    if len(listing.resources) > count:
        raise ValueMismatch(f"count={count} returned {len(listing.resources)} resources",
                            expected=f"at most {count}", actual=len(listing.resources),
                            exchanges=listing.exchanges)  # fmt: skip
    _expect_total(listing, f"count={count}")


@clause("rfc7644-3.4.2.4-must-4", "rfc7644-3.4.2-must-4", "rfc7644-3.4.2-must-5")
def test_count_limits_an_unfiltered_list(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4: count=1 on /Users returns one resource and says which page it is
    (needs no filter support; the directory guarantees several users).
    """
    listing = _list(scim, capabilities.endpoint("User"), count=1)
    body = listing.body
    shape = {"Resources": len(listing.resources), "itemsPerPage": body.get("itemsPerPage"),
             "startIndex": body.get("startIndex")}  # fmt: skip
    if shape != {"Resources": 1, "itemsPerPage": 1, "startIndex": 1}:
        raise ValueMismatch("GET /Users?count=1 is not a first page of one resource",
                            expected={"Resources": 1, "itemsPerPage": 1, "startIndex": 1},
                            actual=shape, exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2.4-must-4")
def test_count_zero_returns_only_the_total(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4 (Table 6): count=0 returns no resources, only totalResults."""
    listing = _scoped_page(scim, capabilities, directory, count=0)
    _expect_no_resources(listing, "count=0")
    _expect_total(listing, "count=0")


@clause("rfc7644-3.4.2.4-must-3")
def test_negative_count_is_zero(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4: a negative count SHALL be interpreted as 0."""
    listing = _scoped_page(scim, capabilities, directory, count=-2)
    _expect_no_resources(listing, "count=-2")
    _expect_total(listing, "count=-2")


@clause("rfc7644-3.4.2.4-must-2")
@pytest.mark.parametrize("start", [0, -3])
def test_start_index_below_one_is_one(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, start: int
) -> None:
    """RFC 7644 3.4.2.4: a startIndex less than 1 SHALL be interpreted as 1."""
    _need_sort(capabilities)
    listing = _scoped_page(scim, capabilities, directory, startIndex=start, count=2,
                           sortBy="userName")  # fmt: skip
    _expect_page(listing, directory, ["a", "b"], f"startIndex={start}&count=2&sortBy=userName")
    reported = listing.body.get("startIndex")
    if reported is not None and reported != 1:
        raise ValueMismatch(f"startIndex={start} is reported as {reported!r}",
                            expected=1, actual=reported, exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2.4-must-4", "rfc7644-3.4.2-must-4")
@pytest.mark.parametrize("start", [1, 2, 4])
def test_start_index_is_one_based(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, start: int
) -> None:
    """RFC 7644 3.4.2.4: startIndex is the 1-based index of the first result of the page."""
    _need_sort(capabilities)
    listing = _scoped_page(scim, capabilities, directory, startIndex=start, count=1,
                           sortBy="userName")  # fmt: skip
    _expect_page(listing, directory, [sorted(PEOPLE)[start - 1]],
                 f"startIndex={start}&count=1&sortBy=userName")  # fmt: skip
    if listing.body.get("startIndex") != start:
        raise ValueMismatch("a page's startIndex is not the index of its first result",
                            expected=start, actual=listing.body.get("startIndex"),
                            exchanges=listing.exchanges)  # fmt: skip


def _walk(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, count: int, **params: Any
) -> tuple[list[str], list[Exchange], list[Any]]:
    """Page through the directory; (keys in order, exchanges, totalResults per page)."""
    seen: list[str] = []
    exchanges: list[Exchange] = []
    totals: list[Any] = []
    start = 1
    for _ in range(len(PEOPLE) + 2):
        listing = _scoped_page(scim, capabilities, directory, startIndex=start, count=count,
                               **params)  # fmt: skip
        exchanges += listing.exchanges
        totals.append(_total(listing))
        seen += _order(listing, directory)
        if not listing.resources:
            break
        start += len(listing.resources)
        if isinstance(_total(listing), int) and start > _total(listing):
            break
    return seen, exchanges, totals


@clause("rfc7644-3.4.2.4-must-4", "rfc7644-3.4.2.4-must-2")
@pytest.mark.parametrize("count", [1, 3])
def test_paging_sorted_sees_each_resource_once(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, count: int
) -> None:
    """RFC 7644 3.4.2.4: paging a sorted query by startIndex/count yields each match once."""
    _need_sort(capabilities)
    seen, exchanges, _ = _walk(scim, capabilities, directory, count, sortBy="userName")
    if seen != sorted(PEOPLE):
        raise ValueMismatch(f"pages of {count} (sortBy=userName) do not add up to the matches",
                            expected=_names_in_order(directory, sorted(PEOPLE)),
                            actual=_names_in_order(directory, seen),
                            exchanges=exchanges)  # fmt: skip


@clause("rfc7644-3.4.2.4-must-4", keyword="SHOULD")
def test_paging_unsorted_sees_each_resource_once(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4: paging unchanged data without sortBy yields each match once (the
    default order is not specified, so this is graded as a SHOULD).
    """
    seen, exchanges, _ = _walk(scim, capabilities, directory, 1)
    if sorted(seen) != sorted(PEOPLE):
        raise ValueMismatch("pages of 1 (no sortBy) do not add up to the matches",
                            expected=_names(directory, PEOPLE),
                            actual=_names_in_order(directory, seen),
                            exchanges=exchanges)  # fmt: skip


@clause("rfc7644-3.4.2-must-2")
def test_total_results_is_stable_across_pages(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4 (Table 7): totalResults counts all matches on every page."""
    _, exchanges, totals = _walk(scim, capabilities, directory, 1)
    if any(t != len(PEOPLE) for t in totals):
        raise ValueMismatch("totalResults changes from page to page or counts the page",
                            expected=[len(PEOPLE)] * len(totals), actual=totals,
                            exchanges=exchanges)  # fmt: skip


@clause("rfc7644-3.4.2-must-4", "rfc7644-3.4.2-must-5")
@pytest.mark.parametrize("start", [1, 4])
def test_items_per_page_counts_the_page(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, start: int
) -> None:
    """RFC 7644 3.4.2: a partial page carries startIndex and itemsPerPage = resources returned."""
    listing = _scoped_page(scim, capabilities, directory, startIndex=start, count=3)
    body = listing.body
    if body.get("itemsPerPage") != len(listing.resources) or body.get("startIndex") != start:
        raise ValueMismatch("a page's itemsPerPage/startIndex do not describe it",
                            expected={"itemsPerPage": len(listing.resources), "startIndex": start},
                            actual={"itemsPerPage": body.get("itemsPerPage"),
                                    "startIndex": body.get("startIndex")},
                            exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2-must-2", "rfc7644-3.4.2.4-must-4")
def test_start_index_past_the_end_is_an_empty_page(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4: a startIndex beyond the matches is 200 with no resources."""
    listing = _scoped_page(scim, capabilities, directory, startIndex=len(PEOPLE) + 5, count=5)
    _expect_no_resources(listing, f"startIndex={len(PEOPLE) + 5}")
    _expect_total(listing, f"startIndex={len(PEOPLE) + 5}")


@clause("rfc7644-3.4.2.4-must-4")
def test_count_above_max_results_is_capped(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.4: a count above maxResults is valid; the server MAY return fewer."""
    count = (capabilities.max_results or 1000) + 1000
    listing = _scoped_page(scim, capabilities, directory, count=count)
    _judge(listing, directory, set(PEOPLE), what=f"count={count}")


@clause("rfc7644-3.4.2-should-1")
def test_unknown_query_parameter_is_ignored(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2: unrecognized query parameters SHOULD be ignored, not rejected."""
    listing = _scoped_page(scim, capabilities, directory, scimtestUnknownParameter="1")
    _judge(listing, directory, set(PEOPLE), what="a query with an unknown parameter")


# -- the ListResponse (3.4.2) ------------------------------------------------------------------


@clause("rfc7644-3.4.2-must-1", "rfc7644-3.4.2-may-1")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_list_response_schema_urn(
    scim: ScimClient, capabilities: Capabilities, resource_type: str
) -> None:
    """RFC 7644 3.4.2: query responses are identified by the ListResponse URN."""
    listing = _list(scim, capabilities.endpoint(resource_type), count=1)
    if LIST_URN not in (listing.body.get("schemas") or []):
        raise SchemaViolation('"schemas" lacks the ListResponse URN', expected=[LIST_URN],
                              actual=listing.body.get("schemas"),
                              exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.2-must-1", "rfc7644-3.4.2-must-2", "rfc7644-3.4.2-must-3")
def test_list_response_matches_its_schema(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2: a ListResponse validates against the RFC message schema."""
    listing = _scoped_page(scim, capabilities, directory, count=2)
    validate_message("ListResponse", listing.body, exchanges=listing.exchanges)


@clause("rfc7644-3.4.2-must-2", "rfc7644-3.4.2-must-3")
def test_total_results_and_resources_are_present(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2: totalResults is REQUIRED; Resources is REQUIRED when it is non-zero."""
    listing = _scoped_page(scim, capabilities, directory)
    body = listing.body
    total = body.get("totalResults")
    if (
        not isinstance(total, int)
        or isinstance(total, bool)
        or not isinstance(body.get("Resources"), list)
    ):
        raise SchemaViolation("totalResults or Resources is missing",
                              expected='"totalResults": 4, "Resources": [...]',
                              actual={"totalResults": total,
                                      "Resources": type(body.get("Resources")).__name__},
                              exchanges=listing.exchanges)  # fmt: skip
    _judge(listing, directory, set(PEOPLE), what="the scoped listing")


# -- attributes and excludedAttributes (3.4.2.5, 3.9) ------------------------------------------

DEFAULTS = ("userName", "title", "displayName", "name", "emails", "active")


def _projected(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, **params: Any
) -> Listing:
    listing = _scoped_page(scim, capabilities, directory, **params)
    _judge(listing, directory, set(PEOPLE), what=f"the scoped listing with {params}")
    return listing


def _check_shape(
    listing: Listing,
    directory: Directory,
    *,
    present: Iterable[str],
    absent: Iterable[str],
    what: str,
) -> None:
    """Each resource has the `present` paths it was created with and none of the `absent`."""
    __tracebackhide__ = True
    problems = []
    for resource in listing.resources:
        key = directory.key_of(resource.get("id")) or "?"
        for path in present:
            expected_here = path == "id" or _has(directory.users.get(key, {}), path)
            if expected_here and not _has(resource, path):
                problems.append(f"{key}: {path} missing")
        for path in absent:
            if _has(resource, path):
                problems.append(f"{key}: {path} returned")
    if problems:
        raise ValueMismatch(f"{what}: " + "; ".join(problems[:8]),
                            expected={"present": list(present), "absent": list(absent)},
                            actual=[sorted(r) for r in listing.resources[:2]],
                            exchanges=listing.exchanges)  # fmt: skip


def _has(resource: Mapping[str, Any], path: str) -> bool:
    """Whether `path` ("name.givenName", "urn:...:department", "id") has a value."""
    if path.lower().startswith("urn:"):
        urn, _, attr = path.rpartition(":")
        ext = _get(resource, urn)
        return isinstance(ext, Mapping) and _present(ext, attr)
    top, _, sub = path.partition(".")
    value = _get(resource, top)
    if not sub:
        return value not in (None, [], {}, "")
    if isinstance(value, list):
        return any(isinstance(v, Mapping) and _present(v, sub) for v in value)
    return isinstance(value, Mapping) and _present(value, sub)


def _not_always(capabilities: Capabilities, paths: Iterable[str]) -> list[str]:
    return [p for p in paths if _returned(capabilities, p) != "always"]


@clause("rfc7644-3.4.2.5-must-1", "rfc7644-3.4.2.5-must-2", "rfc7644-3.9-must-1")
def test_attributes_returns_only_those_and_always(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.9: attributes=userName overrides the defaults: id, userName and nothing else
    returned by default.
    """
    listing = _projected(scim, capabilities, directory, attributes="userName")
    absent = _not_always(capabilities, [d for d in DEFAULTS if d != "userName"])
    _check_shape(listing, directory, present=["id", "userName"], absent=absent,
                 what="attributes=userName")  # fmt: skip


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_lists_several_names(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.9: attributes is a comma-separated list; each named attribute is returned."""
    listing = _projected(scim, capabilities, directory, attributes="title,displayName")
    absent = _not_always(capabilities, ["name", "emails", "active"])
    _check_shape(listing, directory, present=["id", "title", "displayName"], absent=absent,
                 what="attributes=title,displayName")  # fmt: skip


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_selects_a_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.9: attributes=name.givenName returns that sub-attribute, not its siblings."""
    listing = _projected(scim, capabilities, directory, attributes="name.givenName")
    absent = _not_always(capabilities, ["name.familyName", "title", "emails"])
    _check_shape(listing, directory, present=["id", "name.givenName"], absent=absent,
                 what="attributes=name.givenName")  # fmt: skip


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
@pytest.mark.parametrize("spelling", ["urn", "upper-case"])
def test_attributes_in_any_spelling(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, spelling: str
) -> None:
    """RFC 7644 3.10: attribute names are URN-qualifiable and case insensitive in attributes."""
    names = f"{USER_URN}:title" if spelling == "urn" else "TITLE,NAME.FAMILYNAME"
    listing = _projected(scim, capabilities, directory, attributes=names)
    present = ["id", "title"] + (["name.familyName"] if spelling != "urn" else [])
    absent = _not_always(capabilities, ["displayName", "emails"])
    _check_shape(listing, directory, present=present, absent=absent, what=f"attributes={names}")


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.5-must-3")
def test_attributes_selects_an_extension_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.9, 3.10: attributes=<extension URN>:department returns that attribute."""
    if not directory.enterprise:
        raise Unsupported("the User resource type declares no enterprise extension")
    path = f"{ENTERPRISE_URN}:department"
    listing = _projected(scim, capabilities, directory, attributes=path)
    absent = _not_always(capabilities, ["title", "displayName", "emails"])
    _check_shape(listing, directory, present=["id", path], absent=absent,
                 what=f"attributes={path}")  # fmt: skip


@clause("rfc7644-3.9-must-2", "rfc7644-3.4.2.5-must-2")
@pytest.mark.parametrize("names", ["emails", "emails,title", f"{USER_URN}:emails"])
def test_excluded_attributes_removes_defaults(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, names: str
) -> None:
    """RFC 7644 3.9: excludedAttributes removes those from the default set, keeps the rest."""
    listing = _projected(scim, capabilities, directory, excludedAttributes=names)
    removed = [n.rpartition(":")[2] for n in names.split(",")]
    kept = [d for d in DEFAULTS if d not in removed]
    _check_shape(listing, directory, present=["id", *kept],
                 absent=_not_always(capabilities, removed),
                 what=f"excludedAttributes={names}")  # fmt: skip


@clause("rfc7644-3.9-must-2", "rfc7644-3.4.2.5-must-5")
def test_excluded_attributes_removes_a_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.9: excludedAttributes=name.familyName removes only that sub-attribute."""
    listing = _projected(scim, capabilities, directory, excludedAttributes="name.familyName")
    _check_shape(listing, directory, present=["id", "name.givenName", "userName"],
                 absent=_not_always(capabilities, ["name.familyName"]),
                 what="excludedAttributes=name.familyName")  # fmt: skip


@clause("rfc7644-3.4.2.5-must-4", "rfc7644-3.9-must-2")
def test_excluded_attributes_keeps_returned_always(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.5: excludedAttributes SHALL have no effect on returned=always (id)."""
    always = ["id"] + [a for a in DEFAULTS if _returned(capabilities, a) == "always"]
    listing = _projected(scim, capabilities, directory, excludedAttributes=",".join(always))
    _check_shape(listing, directory, present=always, absent=[],
                 what=f"excludedAttributes={','.join(always)}")  # fmt: skip


@clause("rfc7644-3.9-must-1", "rfc7644-3.4.2.1-may-1", "rfc7644-3.9-may-1")
@pytest.mark.parametrize("parameter", ["attributes", "excludedAttributes"])
def test_projection_applies_to_a_single_resource(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, parameter: str
) -> None:
    """RFC 7644 3.9: attributes/excludedAttributes apply to GET of one resource too."""
    user = directory.user("a")
    path = f"{capabilities.endpoint('User').rstrip('/')}/{user['id']}"
    response = expect_status(scim.get(path, params={parameter: "title"}), 200)
    listing = Listing({}, [response.json_object()], [response.exchange])
    if parameter == "attributes":
        present, absent = ["id", "title"], _not_always(capabilities, ["displayName", "emails"])
    else:
        present, absent = ["id", "displayName", "emails"], _not_always(capabilities, ["title"])
    _check_shape(listing, directory, present=present, absent=absent,
                 what=f"GET {path}?{parameter}=title")  # fmt: skip


@clause("rfc7644-3.4.2.2-must-1", "rfc7644-3.9-must-1")
def test_filter_applies_to_attributes_not_selected(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.2, 3.9: the filter applies to the resource, not to the projection asked."""
    _need_filter(capabilities)
    text = directory.scoped('title eq "Chemist"')
    listing = _list_all(scim, capabilities.endpoint("User"), filter=text, attributes="userName")
    _judge(listing, directory, {"c"}, what=f"filter {text!r} with attributes=userName")


@clause("rfc7644-3.4.2.3-must-1", "rfc7644-3.9-must-1")
def test_sort_applies_to_attributes_not_selected(
    scim: ScimClient, capabilities: Capabilities, directory: Directory
) -> None:
    """RFC 7644 3.4.2.3, 3.9: sortBy orders by the attribute even when it is not returned."""
    _need_sort(capabilities)
    listing = _sorted_listing(scim, capabilities, directory, sortBy="name.familyName",
                              sortOrder="descending", attributes="userName")  # fmt: skip
    _expect_order(listing, directory, ["d", "c", "b", "a"],
                  "sortBy=name.familyName descending with attributes=userName")  # fmt: skip


# -- queries at the server root (3.4.2.1) ------------------------------------------------------


def _root(scim: ScimClient, text: str) -> Response:
    return scim.get("/", params={"filter": text})


def _root_supported(response: Response) -> None:
    """Unsupported unless the root answers a query with a ListResponse (root queries: a MAY)."""
    ok, body = response.parsed()
    if response.status in (400, 403, 404, 405, 501):
        why = f"answered {response.status}"
    elif 200 <= response.status < 300 and not (
        ok and isinstance(body, dict) and LIST_URN in (body.get("schemas") or [])
    ):
        why = "answered something other than a ListResponse"
    else:
        return
    raise Unsupported(f"GET on the server root with a filter {why}: root queries are a MAY "
                      "(RFC 7644 3.4.2.1)")  # fmt: skip


@clause("rfc7644-3.4.2.1-may-1", "rfc7644-3.4.2.1-must-1", "rfc7644-3.4.2.1-must-3")
def test_root_query_spans_resource_types(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.1: a query at the root includes all resource types, subject to the filter."""
    _need_filter(capabilities)
    text = f'displayName co "{directory.tag}"'
    response = _root(scim, text)
    _root_supported(response)
    body, resources = _page(response, f"GET / filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory,
           set(PEOPLE) | set(teams), what=f"root query {text!r}")  # fmt: skip


@clause("rfc7644-3.4.2.1-may-2", "rfc7644-3.4.2.1-must-3")
def test_root_query_filters_by_resource_type(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.1: at the root, meta.resourceType restricts the types returned (a MAY)."""
    _need_filter(capabilities)
    _root_supported(_root(scim, f'displayName co "{directory.tag}"'))
    text = f'displayName co "{directory.tag}" and meta.resourceType eq "Group"'
    response = _root(scim, text)
    if response.status == 400:
        raise Unsupported("the server does not filter on meta.resourceType at the root (a MAY)")
    body, resources = _page(response, f"GET / filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, set(teams),
           what=f"root query {text!r}")  # fmt: skip


@clause("rfc7644-3.4.2.1-must-4", "rfc7644-3.4.2.1-must-3")
def test_root_query_on_an_attribute_one_type_lacks(
    scim: ScimClient, capabilities: Capabilities, directory: Directory, teams: dict[str, Any]
) -> None:
    """RFC 7644 3.4.2.1: an attribute a resource type lacks has no value there (no 400)."""
    _need_filter(capabilities)
    probe = _root(scim, f'displayName co "{directory.tag}"')
    _root_supported(probe)
    text = f'userName sw "{directory.tag}"'
    response = _root(scim, text)
    body, resources = _page(response, f"GET / filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), directory, set(PEOPLE),
           what=f"root query {text!r} (Groups have no userName)")  # fmt: skip
