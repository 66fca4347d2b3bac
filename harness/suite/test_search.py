"""Search with POST (RFC 7644 section 3.4.3): `/.search` takes a SearchRequest and answers like
a query: filter, attributes/excludedAttributes, sortBy/sortOrder, startIndex/count.

The checks read a module-scoped directory of four tagged Users (the query module's, built
anew for this module) and scope every search to that tag.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status, without_response_checks
from harness.client import Response, ScimClient
from harness.discovery import USER_URN, Capabilities
from harness.run import RunState
from harness.suite.test_query import (
    LIST_URN,
    PEOPLE,
    Directory,
    Listing,
    _check_shape,
    _expect_order,
    _expect_page,
    _judge,
    _names,
    _need_filter,
    _need_sort,
    _not_always,
    _order,
    _page,
    grouped,
    populated,
)
from harness.validation.messages import validate_message
from harness.verdicts import SchemaViolation, StatusMismatch, Unsupported, ValueMismatch

SEARCH_URN = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@pytest.fixture(scope="module")
def people(
    scim_base: ScimClient, capabilities: Capabilities, run_prefix: str, scim_state: RunState
) -> Iterator[Directory]:
    """Four tagged Users for this module's read-only searches, deleted at its end."""
    with populated(scim_base, capabilities, run_prefix, scim_state) as found:
        yield found


@pytest.fixture(scope="module")
def crews(
    scim_base: ScimClient, capabilities: Capabilities, people: Directory, scim_state: RunState
) -> Iterator[dict[str, dict[str, Any]]]:
    """Two tagged Groups for the cross-type searches, deleted at the module's end."""
    with grouped(scim_base, capabilities, people, scim_state) as made:
        yield made


def _search_path(capabilities: Capabilities, resource_type: str | None) -> str:
    if resource_type is None:
        return "/.search"
    return f"{capabilities.endpoint(resource_type).rstrip('/')}/.search"


NOT_IMPLEMENTED = (404, 405, 501)


def _implemented(scim: ScimClient, capabilities: Capabilities, resource_type: str) -> None:
    """Unsupported when even a bare SearchRequest is answered 404/405/501: no search at all."""
    path = _search_path(capabilities, resource_type)
    probe = scim.post(path, json={"schemas": [SEARCH_URN], "count": 0})
    if probe.status in NOT_IMPLEMENTED:
        raise Unsupported(f"POST {path} answers {probe.status}: the server does not implement "
                          "search with POST (RFC 7644 3.4.3, no server MUST)")  # fmt: skip


def _post_search(
    scim: ScimClient, capabilities: Capabilities, resource_type: str | None = "User", **members: Any
) -> Response:
    body = {"schemas": [SEARCH_URN], **members}
    response = scim.post(_search_path(capabilities, resource_type), json=body)
    if resource_type is not None and response.status in NOT_IMPLEMENTED:
        _implemented(scim, capabilities, resource_type)
    return response


def _searched(
    scim: ScimClient,
    capabilities: Capabilities,
    resource_type: str | None = "User",
    **members: Any,
) -> Listing:
    response = _post_search(scim, capabilities, resource_type, **members)
    body, resources = _page(response, f"POST {_search_path(capabilities, resource_type)}")
    return Listing(body, resources, [response.exchange])


def _root_searchable(response: Response) -> None:
    """Unsupported unless POST /.search at the root answers a ListResponse (a MAY)."""
    ok, body = response.parsed()
    if response.status in (400, 403, 404, 405, 501):
        why = f"answered {response.status}"
    elif 200 <= response.status < 300 and not (
        ok and isinstance(body, dict) and LIST_URN in (body.get("schemas") or [])
    ):
        why = "answered something other than a ListResponse"
    else:
        return
    raise Unsupported(f"POST /.search at the server root {why}: searching the root is a MAY "
                      "(RFC 7644 3.4.3)")  # fmt: skip


@clause("rfc7644-3.4.3-must-1", "rfc7644-3.4.3-may-1", "rfc7644-3.4.3-must-2",
        "rfc7644-3.4.3-must-6")  # fmt: skip
def test_search_returns_the_matches(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3: POST <endpoint>/.search with a SearchRequest filter is a query."""
    _need_filter(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope)
    _judge(listing, people, set(PEOPLE), what=f"search filter {people.scope!r}")


@clause("rfc7644-3.4.3-must-1", "rfc7644-3.4.2-must-1")
def test_search_answers_a_list_response(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3: the answer to a search is a ListResponse (RFC message schema)."""
    _need_filter(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, count=2)
    if LIST_URN not in (listing.body.get("schemas") or []):
        raise SchemaViolation('"schemas" lacks the ListResponse URN', expected=[LIST_URN],
                              actual=listing.body.get("schemas"),
                              exchanges=listing.exchanges)  # fmt: skip
    validate_message("ListResponse", listing.body, exchanges=listing.exchanges)


SEARCH_FILTERS = {
    "eq": ('title eq "Chemist"', {"c"}),
    "co": ('title co "hemi"', {"c"}),
    "or-and": ('title eq "Analyst" or title eq "Baker" and active eq false', {"a", "b"}),
    "not": ("not (active eq true)", {"b"}),
    "complex": ('emails[type eq "work" and value co "@corp."]', {"a", "c"}),
}


@clause("rfc7644-3.4.3-must-6", "rfc7644-3.4.3-may-2", "rfc7644-3.4.2.2-must-1")
@pytest.mark.parametrize("shape", list(SEARCH_FILTERS))
def test_search_filter_selects_exactly_the_matches(
    scim: ScimClient, capabilities: Capabilities, people: Directory, shape: str
) -> None:
    """RFC 7644 3.4.3: the SearchRequest "filter" is evaluated as in section 3.4.2.2."""
    _need_filter(capabilities)
    expression, expected = SEARCH_FILTERS[shape]
    text = people.scoped(expression)
    response = _post_search(scim, capabilities, filter=text)
    if shape == "complex" and response.status == 400:
        raise Unsupported("the server refuses complex attribute filters (a MAY, Table 5)")
    body, resources = _page(response, f"search filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), people, expected,
           what=f"search filter {text!r}")  # fmt: skip


@clause("rfc7644-3.4.2-must-6", "rfc7644-3.4.3-must-1")
def test_search_without_match_is_200_with_zero_total(
    scim: ScimClient, capabilities: Capabilities, run_prefix: str
) -> None:
    """RFC 7644 3.4.2, 3.4.3: a search without matches is 200 with totalResults 0."""
    _need_filter(capabilities)
    text = f'userName eq "{run_prefix}nobody-{uuid.uuid4()}"'
    response = _post_search(scim, capabilities, filter=text)
    body, resources = _page(response, f"search filter {text!r}")
    if body.get("totalResults") != 0 or resources:
        raise ValueMismatch(f"search filter {text!r} matches nothing, yet the answer disagrees",
                            expected='"totalResults": 0 and no Resources',
                            actual={"totalResults": body.get("totalResults"),
                                    "Resources": len(resources)},
                            exchanges=[response.exchange])  # fmt: skip


@clause("rfc7644-3.4.3-must-3", "rfc7644-3.9-must-1")
@pytest.mark.parametrize("names", [["userName"], [f"{USER_URN}:userName"]], ids=["plain", "urn"])
def test_search_attributes_select_the_returned_attributes(
    scim: ScimClient, capabilities: Capabilities, people: Directory, names: list[str]
) -> None:
    """RFC 7644 3.4.3: "attributes" returns the named attributes plus the returned=always ones."""
    _need_filter(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, attributes=names)
    _judge(listing, people, set(PEOPLE), what=f"search with attributes {names}")
    absent = _not_always(capabilities, ["title", "displayName", "name", "emails", "active"])
    _check_shape(listing, people, present=["id", "userName"], absent=absent,
                 what=f"search attributes={names}")  # fmt: skip


@clause("rfc7644-3.4.3-must-5", "rfc7644-3.9-must-2")
def test_search_excluded_attributes_remove_defaults(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3: "excludedAttributes" removes those from the default set, keeps the rest."""
    _need_filter(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope,
                        excludedAttributes=["emails", "name.familyName"])  # fmt: skip
    _judge(listing, people, set(PEOPLE), what="search with excludedAttributes")
    _check_shape(listing, people, present=["id", "userName", "title", "name.givenName"],
                 absent=_not_always(capabilities, ["emails", "name.familyName"]),
                 what="search excludedAttributes=[emails, name.familyName]")  # fmt: skip


@clause("rfc7644-3.4.3-must-4")
def test_search_excluded_attributes_keep_returned_always(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3: excludedAttributes SHALL have no effect on returned=always (id)."""
    _need_filter(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, excludedAttributes=["id"])
    _check_shape(listing, people, present=["id"], absent=[],
                 what='search excludedAttributes=["id"]')  # fmt: skip


@clause("rfc7644-3.4.3-must-7", "rfc7644-3.4.3-must-8")
@pytest.mark.parametrize("order", ["ascending", "descending"])
def test_search_sorts(
    scim: ScimClient, capabilities: Capabilities, people: Directory, order: str
) -> None:
    """RFC 7644 3.4.3: "sortBy"/"sortOrder" order the results as in section 3.4.2.3."""
    _need_sort(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, sortBy="name.familyName",
                        sortOrder=order)  # fmt: skip
    expected = ["a", "b", "c", "d"] if order == "ascending" else ["d", "c", "b", "a"]
    _expect_order(listing, people, expected, f"search sortBy=name.familyName {order}")


@clause("rfc7644-3.4.3-must-7", "rfc7644-3.4.2.3-must-2")
def test_search_sort_order_defaults_to_ascending(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3, 3.4.2.3: a search with sortBy and no sortOrder sorts ascending."""
    _need_sort(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, sortBy="title")
    _expect_order(listing, people, ["a", "b", "c"], "search sortBy=title")


@clause("rfc7644-3.4.3-may-2", "rfc7644-3.4.2.4-must-4", "rfc7644-3.4.2-must-4",
        "rfc7644-3.4.2-must-5")  # fmt: skip
def test_search_pages_with_start_index_and_count(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3: "startIndex" and "count" in the body page the results (1-based)."""
    _need_sort(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, sortBy="userName",
                        startIndex=2, count=2)  # fmt: skip
    _expect_page(
        listing, people, ["b", "c"], "a search page (sortBy userName, startIndex 2, count 2)"
    )
    body = listing.body
    shape = {"totalResults": body.get("totalResults"), "itemsPerPage": body.get("itemsPerPage"),
             "startIndex": body.get("startIndex")}  # fmt: skip
    wanted = {"totalResults": len(PEOPLE), "itemsPerPage": len(listing.resources), "startIndex": 2}
    if shape != wanted:
        raise ValueMismatch("a search page (startIndex 2, count 2) does not describe itself",
                            expected=wanted, actual=shape,
                            exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.3-may-2", "rfc7644-3.4.2.4-must-2", "rfc7644-3.4.2.4-must-3")
@pytest.mark.parametrize("members", [{"startIndex": 0}, {"startIndex": -4}, {"count": -1}],
                         ids=["startIndex-0", "startIndex-negative", "count-negative"])  # fmt: skip
def test_search_out_of_range_paging_is_clamped(
    scim: ScimClient, capabilities: Capabilities, people: Directory, members: dict[str, Any]
) -> None:
    """RFC 7644 3.4.3, 3.4.2.4: in a SearchRequest too, startIndex < 1 is 1, count < 0 is 0."""
    _need_sort(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, sortBy="userName",
                        **{"count": 2, **members})  # fmt: skip
    if members.get("count", 0) < 0:
        got = _order(listing, people)
        if got:
            raise ValueMismatch(f"a search with {members} returned resources",
                                expected="no Resources", actual=_names(people, got),
                                exchanges=listing.exchanges)  # fmt: skip
    else:
        _expect_page(listing, people, ["a", "b"], f"a search with {members} (sortBy userName)")
    if listing.body.get("totalResults") != len(PEOPLE):
        raise ValueMismatch(f"a search with {members}: totalResults is not the number of matches",
                            expected=len(PEOPLE), actual=listing.body.get("totalResults"),
                            exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.3-may-2", "rfc7644-3.4.2.4-must-4")
def test_search_count_zero_returns_only_the_total(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3, 3.4.2.4: a search with "count": 0 returns only totalResults."""
    _need_filter(capabilities)
    listing = _searched(scim, capabilities, filter=people.scope, count=0)
    total = listing.body.get("totalResults")
    if listing.resources or total != len(PEOPLE):
        raise ValueMismatch('a search with "count": 0',
                            expected={"totalResults": len(PEOPLE), "Resources": 0},
                            actual={"totalResults": total, "Resources": len(listing.resources)},
                            exchanges=listing.exchanges)  # fmt: skip


@clause("rfc7644-3.4.3-must-1")
def test_search_creates_nothing(
    scim: ScimClient, capabilities: Capabilities, people: Directory
) -> None:
    """RFC 7644 3.4.3: POST to "/.search" is a query, never a create: no 201, nothing new."""
    _need_filter(capabilities)
    response = _post_search(scim, capabilities, filter=people.scope, attributes=["userName"])
    if response.status == 201:
        raise StatusMismatch("POST .search was answered like a create",
                             expected="200 with a ListResponse", actual="201",
                             exchanges=[response.exchange])  # fmt: skip
    expect_status(response, 200)
    after = _searched(scim, capabilities, filter=people.scope)
    after.exchanges.insert(0, response.exchange)
    _judge(after, people, set(PEOPLE), what="the tagged users after a search")


@clause("rfc7644-3.4.3-must-6", "rfc7644-3.4.2.2-must-14")
@pytest.mark.parametrize("operator", ["scimtestop", "xx"])
def test_search_unknown_operator_is_invalid_filter(
    scim: ScimClient, capabilities: Capabilities, people: Directory, operator: str
) -> None:
    """RFC 7644 3.4.3, 3.4.2.2: an unrecognized filter operator in a search is 400
    invalidFilter.
    """
    _need_filter(capabilities)
    response = _post_search(scim, capabilities, filter=people.scoped(f'title {operator} "x"'))
    expect_scim_error(response, 400, "invalidFilter")


@clause("rfc7644-3.4.3-must-6", "rfc7644-3.12-must-1")
@pytest.mark.parametrize("text", ['title eq', '(title eq "x"', 'title eq "x" and'],
                         ids=["missing-value", "unbalanced", "dangling-and"])  # fmt: skip
def test_search_malformed_filter_is_refused(
    scim: ScimClient, capabilities: Capabilities, text: str
) -> None:
    """RFC 7644 3.4.3: a SearchRequest filter that is not a valid filter is refused (4xx)."""
    _need_filter(capabilities)
    response = _post_search(scim, capabilities, filter=text)
    if response.status < 400:
        raise StatusMismatch(f"the malformed search filter {text!r} was evaluated",
                             expected="400 invalidFilter", actual=str(response.status),
                             exchanges=[response.exchange])  # fmt: skip
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-3.12-must-1", "rfc7644-3.12-should-1", keyword="MUST")
@without_response_checks("media_type")
def test_search_malformed_body_is_refused(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 3.12: a .search body that is not JSON is refused with a 4xx SCIM Error."""
    path = _search_path(capabilities, "User")
    response = scim.post(path, content=b'{"schemas": ["' + SEARCH_URN.encode() + b'"], "filter":')
    if response.status in NOT_IMPLEMENTED:
        _implemented(scim, capabilities, "User")
    if response.status < 400:
        raise StatusMismatch("a truncated SearchRequest was accepted", expected="400",
                             actual=str(response.status),
                             exchanges=[response.exchange])  # fmt: skip
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-3.4.3-must-1", "rfc7644-3.4.3-must-6")
def test_group_search_returns_only_groups(
    scim: ScimClient, capabilities: Capabilities, people: Directory, crews: dict[str, Any]
) -> None:
    """RFC 7644 3.4.3: /Groups/.search searches the Groups endpoint only."""
    _need_filter(capabilities)
    text = f'displayName co "{people.tag}"'
    listing = _searched(scim, capabilities, "Group", filter=text)
    _judge(listing, people, set(crews), what=f"group search filter {text!r}")


@clause("rfc7644-3.4.3-may-1", "rfc7644-3.4.2.1-must-1")
def test_root_search_spans_resource_types(
    scim: ScimClient, capabilities: Capabilities, people: Directory, crews: dict[str, Any]
) -> None:
    """RFC 7644 3.4.3: POST /.search at the root searches every resource type (a MAY)."""
    _need_filter(capabilities)
    text = f'displayName co "{people.tag}"'
    response = _post_search(scim, capabilities, None, filter=text)
    _root_searchable(response)
    body, resources = _page(response, f"POST /.search filter {text!r}")
    _judge(Listing(body, resources, [response.exchange]), people, set(PEOPLE) | set(crews),
           what=f"root search filter {text!r}")  # fmt: skip
