"""The admin-API client: origin-pinned, recorded into the check's recorder, secrets masked."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from harness.client import Recorder
from harness.policy.admin import AdminClient
from harness.verdicts import StatusMismatch, UnsafeRedirect, Unsupported

URL = "http://admin.test/admin/v1"
TOKEN = "admin-token-abcdef0123456789"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder("check")


@pytest.fixture
def admin(recorder: Recorder) -> AdminClient:
    return AdminClient(URL, TOKEN, "org-1", recorder=recorder)


@respx.mock
def test_requests_carry_the_admin_token_and_land_in_the_checks_recorder(
    admin: AdminClient, recorder: Recorder
) -> None:
    route = respx.get(f"{URL}/organizations/org-1/seats").mock(
        return_value=httpx.Response(200, json={"used": 1, "billed": 2, "cap": 3, "pending": 0})
    )
    assert admin.seats()["billed"] == 2
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert sent.headers["accept"] == "application/json"
    assert len(recorder.exchanges) == 1
    exchange = recorder.exchanges[0]
    assert TOKEN not in json.dumps(exchange.to_dict())
    assert not recorder.findings  # plain JSON is the admin API's media type


@respx.mock
def test_secrets_handed_out_are_masked_in_the_record(
    admin: AdminClient, recorder: Recorder
) -> None:
    secret = "scim-secret-9f8e7d6c5b4a"
    respx.post(f"{URL}/organizations/org-1/tokens").mock(
        return_value=httpx.Response(201, json={"id": "t1", "token": secret})
    )
    refused = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403"}
    respx.post(f"{URL}/login").mock(return_value=httpx.Response(403, json=refused))
    body = admin.expect(admin.post(admin.org_path("/tokens")), 201)
    assert body["token"] == secret  # the check sees it
    admin.post("/login", {"email": "a@example.com", "note": secret})
    recorded = json.dumps([e.to_dict() for e in recorder.exchanges])
    assert secret not in recorded
    assert "***" in recorded


def test_the_token_never_goes_to_another_origin(admin: AdminClient) -> None:
    with pytest.raises(UnsafeRedirect):
        admin.get("http://elsewhere.test/admin/v1/accounts")


@respx.mock
def test_an_unexpected_status_is_a_violation_with_the_exchange(admin: AdminClient) -> None:
    respx.get(f"{URL}/accounts").mock(
        return_value=httpx.Response(
            500,
            json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "500"},
        )
    )
    with pytest.raises(Exception) as caught:
        admin.account("a@example.com")
    assert isinstance(caught.value, AssertionError)
    assert getattr(caught.value, "exchanges", ())


@respx.mock
def test_items_and_lookups(admin: AdminClient) -> None:
    respx.get(f"{URL}/organizations/org-1/members").mock(
        return_value=httpx.Response(
            200, json={"items": [{"email": "A@Example.com", "role": "member"}]}
        )
    )
    respx.get(f"{URL}/accounts").mock(return_value=httpx.Response(200, json={"nope": []}))
    assert admin.member("a@example.com") == {"email": "A@Example.com", "role": "member"}
    with pytest.raises(StatusMismatch, match="no 'items' list"):
        admin.account("a@example.com")


def test_bound_shares_the_pool_and_records_elsewhere(admin: AdminClient) -> None:
    other = Recorder("other")
    bound = admin.bound(other)
    assert bound.client.recorder.into is other  # type: ignore[attr-defined]
    assert bound.organization == "org-1"


@respx.mock
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", "/login", 404),
        ("POST", "/organizations/org-1/faults", 404),
        ("GET", "/accounts", 501),
        ("DELETE", "/organizations/org-1/members/a", 405),
    ],
)
def test_a_route_the_admin_api_lacks_is_unsupported(
    admin: AdminClient, method: str, path: str, status: int
) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": str(status)}
    respx.route(method=method, url=f"{URL}{path}").mock(
        return_value=httpx.Response(status, json=body)
    )
    with pytest.raises(Unsupported, match=f"does not offer {method} {path}"):
        admin.request(method, path)


@respx.mock
def test_a_404_on_a_resource_is_an_answer(admin: AdminClient) -> None:
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "404"}
    respx.get(f"{URL}/organizations/nope").mock(return_value=httpx.Response(404, json=body))
    assert admin.get("/organizations/nope").status == 404
