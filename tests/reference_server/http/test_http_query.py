"""Queries (RFC 7644 section 3.4.2): filters in SQL, sorting, paging, projection, .search."""

from __future__ import annotations

import dataclasses

import pytest
from scim_http_helpers import GROUP_SCHEMA, TestClient, assert_error, new_group, new_user, serve

from reference_server.app import create_app
from reference_server.endpoints import operations as ops
from reference_server.settings import ServerSettings

SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.fixture
def people(client: TestClient) -> dict[str, str]:
    """Five users (ids by userName) with emails, titles and an externalId each."""
    ids = {}
    for i, name in enumerate(["alice", "Bob", "carol", "dave", "eve"]):
        user = new_user(
            client,
            name,
            externalId=f"EXT-{i}",
            title="Boss" if i == 0 else "Staff",
            active=i % 2 == 0,
            emails=[
                {"value": f"{name.lower()}@home.example", "type": "home"},
                {"value": f"{name.lower()}@work.example", "type": "work", "primary": True},
            ],
        )
        ids[name] = user["id"]
    return ids


def _names(response: object) -> list[str]:
    body = response.json()  # type: ignore[attr-defined]
    return [r["userName"] for r in body["Resources"]]


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ('userName eq "BOB"', ["Bob"]),  # caseExact false: case-insensitive
        ('externalId eq "EXT-2"', ["carol"]),
        ('externalId eq "ext-2"', []),  # caseExact true
        ('emails.value eq "dave@work.example"', ["dave"]),
        ('emails[type eq "work" and value sw "eve@"]', ["eve"]),
        ('emails[type eq "home" and value sw "eve@work"]', []),  # same element required
        ('title eq "Boss" or userName eq "eve"', ["alice", "eve"]),
        ('not (title eq "Staff")', ["alice"]),
        ('active eq true and userName sw "c"', ["carol"]),
        ('userName co "A" and not (userName eq "alice")', ["carol", "dave"]),
        ("title pr", ["alice", "Bob", "carol", "dave", "eve"]),
        ('meta.resourceType eq "User"', ["alice", "Bob", "carol", "dave", "eve"]),
    ],
)
def test_filters(client: TestClient, people: dict[str, str], flt: str, expected: list[str]) -> None:
    response = client.get("/Users", params={"filter": flt, "sortBy": "userName"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["schemas"] == [LIST]
    assert sorted(_names(response), key=str.lower) == expected
    assert body["totalResults"] == len(expected)


def test_id_filter(client: TestClient, people: dict[str, str]) -> None:
    response = client.get("/Users", params={"filter": f'id eq "{people["dave"]}"'})
    assert _names(response) == ["dave"]


@pytest.mark.parametrize(
    "flt", ['userName eq "unterminated', "userName zz 1", "((", 'nosuchattr eq "x"', ""]
)
def test_bad_filter_is_400_invalid_filter(client: TestClient, flt: str) -> None:
    response = client.get("/Users", params={"filter": flt})
    if flt == "":
        assert response.status_code == 200  # an empty filter is no filter
    else:
        assert_error(response, 400, "invalidFilter")


def test_sort_by_and_order(client: TestClient, people: dict[str, str]) -> None:
    """RFC 7644 section 3.4.2.3: case-insensitive order for caseExact=false strings."""
    up = client.get("/Users", params={"sortBy": "userName"})
    assert _names(up) == ["alice", "Bob", "carol", "dave", "eve"]
    down = client.get("/Users", params={"sortBy": "userName", "sortOrder": "descending"})
    assert _names(down) == ["eve", "dave", "carol", "Bob", "alice"]
    by_email = client.get("/Users", params={"sortBy": "emails.value", "sortOrder": "descending"})
    assert _names(by_email)[0] == "eve"


def test_paging(client: TestClient, people: dict[str, str]) -> None:
    """RFC 7644 section 3.4.2.4: 1-based startIndex, count, itemsPerPage."""
    page = client.get("/Users", params={"sortBy": "userName", "startIndex": 2, "count": 2}).json()
    assert page["totalResults"] == 5
    assert page["startIndex"] == 2
    assert page["itemsPerPage"] == 2
    assert [r["userName"] for r in page["Resources"]] == ["Bob", "carol"]
    low = client.get("/Users", params={"sortBy": "userName", "startIndex": 0, "count": 1}).json()
    assert low["startIndex"] == 1
    assert [r["userName"] for r in low["Resources"]] == ["alice"]
    past = client.get("/Users", params={"startIndex": 99}).json()
    assert past["totalResults"] == 5
    assert past["Resources"] == []


@pytest.mark.parametrize("count", ["0", "-3"])
def test_count_zero_or_negative_gives_totals_only(
    client: TestClient, people: dict[str, str], count: str
) -> None:
    body = client.get("/Users", params={"count": count}).json()
    assert body["totalResults"] == 5
    assert body["itemsPerPage"] == 0
    assert body["Resources"] == []


def test_non_integer_paging_is_400(client: TestClient) -> None:
    assert_error(client.get("/Users", params={"count": "ten"}), 400, "invalidValue")


def test_count_is_capped_by_max_results(settings: ServerSettings, token: str) -> None:
    capped = dataclasses.replace(settings, max_results=2)
    with serve(create_app(capped)) as c:
        c.headers["Authorization"] = f"Bearer {token}"
        for name in ("u1", "u2", "u3"):
            new_user(c, name)
        body = c.get("/Users", params={"count": 50}).json()
        assert body["totalResults"] == 3
        assert body["itemsPerPage"] == 2
        assert c.get("/ServiceProviderConfig").json()["filter"]["maxResults"] == 2


def test_attributes_on_list(client: TestClient, people: dict[str, str]) -> None:
    body = client.get("/Users", params={"attributes": "userName", "count": 1}).json()
    assert set(body["Resources"][0]) == {"schemas", "id", "userName"}
    excl = client.get("/Users", params={"excludedAttributes": "emails", "count": 1}).json()
    assert "emails" not in excl["Resources"][0]


def test_post_search_per_type(client: TestClient, people: dict[str, str]) -> None:
    """RFC 7644 section 3.4.3: POST .search with a SearchRequest body."""
    response = client.post(
        "/Users/.search",
        json={
            "schemas": [SEARCH],
            "filter": 'userName sw "c" or userName sw "d"',
            "sortBy": "userName",
            "attributes": ["userName"],
            "startIndex": 1,
            "count": 10,
        },
    )
    assert response.status_code == 200
    assert _names(response) == ["carol", "dave"]
    bad = client.post("/Users/.search", json={"schemas": ["urn:nope"], "filter": "title pr"})
    assert_error(bad, 400, "invalidValue")


def test_root_search_spans_resource_types(client: TestClient, people: dict[str, str]) -> None:
    """RFC 7644 section 3.4.3: POST /.search at the root searches every resource type."""
    new_group(client, "alpha", [people["alice"]])
    body = client.post("/.search", json={"schemas": [SEARCH]}).json()
    kinds = sorted(r["meta"]["resourceType"] for r in body["Resources"])
    assert kinds == ["Group"] + ["User"] * 5
    found = client.post(
        "/.search", json={"schemas": [SEARCH], "filter": 'displayName eq "alpha"'}
    ).json()
    assert [r["meta"]["resourceType"] for r in found["Resources"]] == ["Group"]
    users = client.post(
        "/.search", json={"schemas": [SEARCH], "filter": 'userName eq "eve"'}
    ).json()
    assert [r["id"] for r in users["Resources"]] == [people["eve"]]
    got = client.get("", params={"filter": 'displayName eq "alpha"'}).json()
    assert got["totalResults"] == 1


def test_group_filters(client: TestClient, people: dict[str, str]) -> None:
    a = new_group(client, "Admins", [people["alice"], people["Bob"]])
    new_group(client, "Staff", [people["carol"]])
    by_name = client.get("/Groups", params={"filter": 'displayName eq "admins"'}).json()
    assert [g["id"] for g in by_name["Resources"]] == [a["id"]]
    by_member = client.get(
        "/Groups", params={"filter": f'members.value eq "{people["Bob"]}"'}
    ).json()
    assert [g["id"] for g in by_member["Resources"]] == [a["id"]]
    body = {"schemas": [GROUP_SCHEMA], "displayName": "x"}
    assert client.post("/Groups", json=body).status_code == 201


@pytest.mark.parametrize(
    ("flt", "expected", "total"),
    [
        ('emails.value eq "DAVE@work.example"', ["dave"], 1),  # caseExact false
        ('emails.value eq "eve@home.example"', ["eve"], 1),  # any element, not only primary
        ('emails.value eq "nobody@work.example"', [], 0),
    ],
)
def test_email_lookup_takes_fixed_sql(
    client: TestClient,
    people: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    flt: str,
    expected: list[str],
    total: int,
) -> None:
    """`emails.value eq "x"` (an IdP's lookup by email) is answered by the repository's
    fixed statements, like userName, without the filter parser or SQLAlchemy."""

    def refuse(text: str) -> None:
        raise AssertionError(f"{text!r} went through the general filter path")

    monkeypatch.setattr(ops, "parse_filter", refuse)
    assert _names(client.get("/Users", params={"filter": flt})) == expected
    counted = client.get("/Users", params={"filter": flt, "count": 0}).json()
    assert counted["totalResults"] == total
    assert counted.get("Resources", []) == []
