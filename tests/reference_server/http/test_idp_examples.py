"""Every vendored IdP wire-format example (tests/idp/reference_examples.json) sent to the
reference server as that IdP sends it, checked for the status the IdP requires and for its
effect, read back from the server.

Ids in the examples are placeholders: each check creates the resources it needs first and
substitutes their real ids. A check per example id; an example without a check fails.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from scim_http_helpers import (
    BASE,
    ENTERPRISE,
    ERROR,
    GROUP_SCHEMA,
    PATCH_OP,
    USER_SCHEMA,
    TestClient,
    assert_error,
    new_group,
    new_user,
)

EXAMPLES_FILE = Path(__file__).parents[2] / "idp" / "reference_examples.json"
EXAMPLES: dict[str, dict[str, Any]] = {
    e["id"]: e for e in json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
}
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
MGR = "26118915-6090-4610-87e4-49d8ca9f808d"  # the examples' filled-in manager id
MEMBER = "2819c223-7f76-453a-919d-413861904646"  # the examples' filled-in member id
# What each IdP sends as Content-Type (idp-request-shapes.md, section 0).
CONTENT_TYPES = {
    "google": "application/json",
    "okta": "application/scim+json; charset=utf-8",
    "ms-validator": "application/scim+json; charset=utf-8",
}

Check = Callable[[TestClient, dict[str, Any]], None]
CHECKS: dict[str, Check] = {}


def check(*ids: str) -> Callable[[Check], Check]:
    """Register a check for these example ids."""

    def register(fn: Check) -> Check:
        for example_id in ids:
            assert example_id not in CHECKS, example_id
            CHECKS[example_id] = fn
        return fn

    return register


# --- helpers -------------------------------------------------------------------------------


def send(
    client: TestClient,
    example: dict[str, Any],
    rid: str | None = None,
    subs: dict[str, str] | None = None,
) -> httpx.Response:
    """Send the example as written, with `{id}` and placeholder ids replaced."""
    replacements = dict(subs or {})
    if rid is not None:
        replacements["{id}"] = rid
    path = example["path"]
    for old, new in replacements.items():
        path = path.replace(old, new)
    kwargs: dict[str, Any] = {}
    if example["body"] is not None:
        text = json.dumps(example["body"])
        for old, new in replacements.items():
            text = text.replace(old, new)
        kwargs["content"] = text.encode()
        content_type = CONTENT_TYPES.get(example["idp"], "application/scim+json")
        kwargs["headers"] = {"Content-Type": content_type}
    return client.request(example["method"], path, **kwargs)


def read(client: TestClient, kind: str, rid: str) -> dict[str, Any]:
    response = client.get(f"/{kind}/{rid}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["id"] == rid
    return body


def patched(response: httpx.Response) -> None:
    """A PATCH the IdP accepts: 200 with the resource or 204 (both IdPs take either)."""
    assert response.status_code in (200, 204), response.text
    if response.status_code == 200:
        assert response.json()["schemas"]


def listed(response: httpx.Response, total: int) -> list[dict[str, Any]]:
    """A ListResponse (200, also for a miss) with `total` results; its Resources."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body = response.json()
    assert body["schemas"] == [LIST_RESPONSE]
    assert body["totalResults"] == total
    assert isinstance(body["startIndex"], int)
    assert isinstance(body["itemsPerPage"], int)
    resources: list[dict[str, Any]] = body.get("Resources", [])
    assert len(resources) <= total
    return resources


def created(response: httpx.Response) -> dict[str, Any]:
    """201 with the full resource: id, meta, Location (Okta and Entra need the id)."""
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    body: dict[str, Any] = response.json()
    assert body["id"]
    assert body["meta"]["location"] == response.headers["location"]
    return body


def member_ids(client: TestClient, gid: str) -> set[str]:
    return {m["value"] for m in read(client, "Groups", gid).get("members", [])}


def manager_of(client: TestClient, uid: str) -> dict[str, Any] | None:
    manager: dict[str, Any] | None = read(client, "Users", uid).get(ENTERPRISE, {}).get("manager")
    return manager


def stored_data(client: TestClient, rid: str) -> str:
    """The stored document of a resource, as text (the storage contract's `data` column)."""
    engine: sa.Engine = client._client._transport.app.state.scim.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT data FROM resources WHERE id = :id"), {"id": rid}).one()
    return str(row[0])


def entra_user(client: TestClient, name: str = "Test_User@testuser.com", **extra: Any) -> str:
    """A user as Entra created it, with a work e-mail and the enterprise extension."""
    body = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": "0a21f0f2",
        "userName": name,
        "active": True,
        "displayName": "Test User",
        "emails": [{"primary": True, "type": "work", "value": name}],
        "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
        ENTERPRISE: {"employeeNumber": "1", "department": "R&D"},
        **extra,
    }
    response = client.post("/Users", json=body)
    return str(created(response)["id"])


def group_with(client: TestClient, name: str, *members: str) -> str:
    return str(new_group(client, name, list(members))["id"])


def users(client: TestClient, *names: str) -> list[str]:
    return [str(new_user(client, n)["id"]) for n in names]


# --- lookups -------------------------------------------------------------------------------


@check(
    "entra-get-user-by-username-filter",
    "entra-validator-get-user-plus-encoded-filter",
    "okta-get-user-by-username-filter",
    "onelogin-get-user-by-username-trailing-ampersand",
    "google-get-user-by-username-filter",
    "pingone-get-user-mixed-case-operator",
    "validator-get-user-different-case",
)
def lookup_by_user_name(client: TestClient, example: dict[str, Any]) -> None:
    """A miss is 200 with an empty ListResponse; after the create, exactly that user."""
    names = {
        "entra-get-user-by-username-filter": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "entra-validator-get-user-plus-encoded-filter": "Test_User@testuser.com",
        "okta-get-user-by-username-filter": "test.user@okta.local",
        "onelogin-get-user-by-username-trailing-ampersand": "onelogin-test-user01",
        "google-get-user-by-username-filter": "user@domain.com",
        "pingone-get-user-mixed-case-operator": "pingone.user@example.com",
        "validator-get-user-different-case": "ford_purdy@example.com",
    }
    assert listed(send(client, example), 0) == []
    users(client, "someone.else@example.com")
    (uid,) = users(client, names[example["id"]])
    deactivate = {"op": "replace", "path": "active", "value": False}
    patched(client.patch(f"/Users/{uid}", json={"schemas": [PATCH_OP], "Operations": [deactivate]}))
    found = listed(send(client, example), 1)
    assert [r["id"] for r in found] == [uid]  # inactive users are still found (Entra, Okta)


@check("entra-get-user-by-externalid-unquoted")
def lookup_unquoted_external_id(client: TestClient, example: dict[str, Any]) -> None:
    """`externalId eq jyoung` (unquoted, as Microsoft's tutorial prints it) finds the user."""
    assert listed(send(client, example), 0) == []
    uid = new_user(client, "jyoung@example.com", externalId="jyoung")["id"]
    new_user(client, "other@example.com", externalId="jyoung2")
    assert [r["id"] for r in listed(send(client, example), 1)] == [uid]


@check("onelogin-get-user-absent-probe", "okta-spec-get-user-invalid-username")
def lookup_miss(client: TestClient, example: dict[str, Any]) -> None:
    """The connection probe for a value known to be absent: 200 and an empty list."""
    users(client, "present@example.com")
    assert listed(send(client, example), 0) == []


@check("entra-get-user-by-id")
def get_user_by_id(client: TestClient, example: dict[str, Any]) -> None:
    """By-id read: 200 with the id; the printed (unknown) id is 404 with an Error body."""
    uid = entra_user(client)
    assert send(client, example, uid).json()["userName"] == "Test_User@testuser.com"
    body = assert_error(client.get("/Users/5d48a0a8e9f04aa38008"), 404)
    assert body["schemas"] == [ERROR]


@check("okta-spec-get-unknown-user-id")
def get_unknown_user(client: TestClient, example: dict[str, Any]) -> None:
    """Okta's spec test: 404, `status` "404", a non-empty detail, the Error URN."""
    users(client, "present@example.com")
    assert_error(send(client, example), 404)


@check("okta-get-users-probe", "okta-spec-get-users-count-1", "google-get-users-count-1-probe")
def paging_probe(client: TestClient, example: dict[str, Any]) -> None:
    """Probe pages: numbers, not strings; the first page holds the users' required fields."""
    for i in range(3):
        new_user(
            client,
            f"probe{i}@example.com",
            name={"givenName": f"G{i}", "familyName": f"F{i}"},
            emails=[{"value": f"probe{i}@example.com", "primary": True, "type": "work"}],
            active=True,
        )
    response = send(client, example)
    page = listed(response, 3)
    body = response.json()
    count = 2 if "count=2" in example["path"] else 1
    assert body["itemsPerPage"] == len(page) == count
    assert body["startIndex"] == 1
    first = page[0]
    assert first["id"]
    assert first["userName"]
    assert first["name"]["givenName"]
    assert first["name"]["familyName"]
    assert first["active"] is True
    assert first["emails"][0]["value"]


@check("okta-get-users-import-page-2")
def import_page_two(client: TestClient, example: dict[str, Any]) -> None:
    """Okta pages by startIndex; past the end the page is empty and startIndex echoed."""
    users(client, "a@example.com", "b@example.com")
    response = send(client, example)
    assert listed(response, 2) == []
    assert response.json()["startIndex"] == 101


@check("okta-get-groups-probe")
def groups_probe(client: TestClient, example: dict[str, Any]) -> None:
    """`GET /Groups?startIndex=1&count=100` lists the groups."""
    gid = group_with(client, "Okta probe group")
    assert [g["id"] for g in listed(send(client, example), 1)] == [gid]


@check("google-get-users-unfiltered")
def unfiltered_list(client: TestClient, example: dict[str, Any]) -> None:
    """An unfiltered `GET /Users` answers every user."""
    ids = set(users(client, "u1@example.com", "u2@example.com"))
    assert {r["id"] for r in listed(send(client, example), 2)} == ids


@check("postman-get-users-capitalised-filter-attribute")
def capitalised_filter_attribute(client: TestClient, example: dict[str, Any]) -> None:
    """`DisplayName eq "BobIsAmazing"` (capitalised attribute, /Users/ path) finds Bob."""
    uid = new_user(client, "bob@example.com", displayName="BobIsAmazing")["id"]
    new_user(client, "ann@example.com", displayName="Ann")
    response = send(client, example)  # served as /Users, never redirected
    assert [r["id"] for r in listed(response, 1)] == [uid]


@check("postman-get-users-unquoted-values-capitalised-subattributes")
def unquoted_compound_filter(client: TestClient, example: dict[str, Any]) -> None:
    """Postman's compound filter with unquoted values and capitalised sub-attributes."""
    want = set()
    for i, domain in enumerate(("example.com", "example.org", "example.net")):
        user = new_user(
            client,
            f"employee{i}@{domain}",
            name={"familyName": "Employee", "givenName": f"E{i}"},
            emails=[{"value": f"employee{i}@{domain}", "type": "work"}],
        )
        if domain != "example.net":
            want.add(user["id"])
    new_user(
        client,
        "boss@example.com",
        name={"familyName": "Boss"},
        emails=[{"value": "boss@example.com", "type": "work"}],
    )
    assert {r["id"] for r in listed(send(client, example), 2)} == want


# --- user create ---------------------------------------------------------------------------


@check("entra-post-user")
def entra_create(client: TestClient, example: dict[str, Any]) -> None:
    """201 with id and meta; what was sent is read back (readOnly meta and empty roles aside)."""
    body = created(send(client, example))
    sent = example["body"]
    got = read(client, "Users", body["id"])
    for key in ("userName", "externalId", "emails", "name"):
        assert got[key] == sent[key]
    assert got["active"] is True
    assert got["meta"]["resourceType"] == "User"
    assert "roles" not in got
    assert got["schemas"][0] == USER_SCHEMA


@check("entra-post-user-explicit-nulls-misspelt-urn")
def entra_create_with_nulls(client: TestClient, example: dict[str, Any]) -> None:
    """Explicit nulls are skipped (even unqualified `department` and `manager`), the
    misspelt URN dropped."""
    body = created(send(client, example))
    got = read(client, "Users", body["id"])
    assert got["userName"] == "jyoung"
    assert got["externalId"] == "jyoung"
    assert got["displayName"] == "Joy Young"
    assert got["name"] == {"familyName": "Young", "givenName": "Joy"}
    assert got["emails"] == [{"type": "work", "value": "jyoung@Contoso.com", "primary": True}]
    nulls = ("addresses", "phoneNumbers", "preferredLanguage", "title", "department", "manager")
    assert not set(got) & {*nulls, ENTERPRISE}
    assert got["schemas"] == [USER_SCHEMA]


@check("entra-post-user-manager-plain-string")
def entra_create_manager_string(client: TestClient, example: dict[str, Any]) -> None:
    """A plain-string manager is the manager's id; it comes back with its $ref."""
    boss = users(client, "boss@example.com")[0]
    body = created(send(client, example, subs={"123456": boss}))
    assert manager_of(client, body["id"]) == {"value": boss, "$ref": f"{BASE}/Users/{boss}"}


@check("entra-post-user-roles-single-app-role", "validator-post-user-roles-primary-string")
def create_with_roles(client: TestClient, example: dict[str, Any]) -> None:
    """Roles are stored as sent, `primary` as a JSON boolean (the validator sends "True")."""
    body = created(send(client, example))
    roles = read(client, "Users", body["id"])["roles"]
    assert roles == [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]


@check("postman-post-user-active-string", "onelogin-post-user-active-string-null-id")
def create_active_string(client: TestClient, example: dict[str, Any]) -> None:
    """`"active": "True"` / `"true"` is stored and returned as the boolean true; `id: null`
    is ignored."""
    body = created(send(client, example))
    got = read(client, "Users", body["id"])
    assert got["active"] is True
    assert got["userName"] == example["body"]["userName"]


@check("okta-post-user")
def okta_create(client: TestClient, example: dict[str, Any]) -> None:
    """201 with id (groups [] and the password accepted); the password is never returned nor
    stored as sent; a second create is 409 with an Error body."""
    response = send(client, example)
    body = created(response)
    assert "password" not in body
    got = read(client, "Users", body["id"])
    sent = example["body"]
    for key in ("userName", "name", "emails", "displayName", "locale", "externalId"):
        assert got[key] == sent[key]
    assert got["active"] is True
    assert "password" not in got
    assert sent["password"] not in stored_data(client, body["id"])
    assert_error(send(client, example), 409, "uniqueness")


@check("onelogin-post-user-core-1-0-template")
def onelogin_core_1_0(client: TestClient, example: dict[str, Any]) -> None:
    """OneLogin's core template names only the SCIM 1.0 core URN: read as the core schema."""
    body = created(send(client, example))
    got = read(client, "Users", body["id"])
    assert got["schemas"] == [USER_SCHEMA]
    assert got["name"] == example["body"]["name"]


@check("onelogin-post-user-v2-enterprise-template")
def onelogin_v2_enterprise(client: TestClient, example: dict[str, Any]) -> None:
    """The v2 Enterprise template: enterprise department and manager (by id) land."""
    boss = users(client, "boss@example.com")[0]
    body = created(send(client, example, subs={MGR: boss}))
    got = read(client, "Users", body["id"])
    sent = example["body"]
    for key in ("userName", "name", "title", "emails", "addresses"):
        assert got[key] == sent[key]
    assert got[ENTERPRISE]["department"] == "Engineering"
    assert got[ENTERPRISE]["manager"]["value"] == boss
    assert got[ENTERPRISE]["manager"]["$ref"] == f"{BASE}/Users/{boss}"


@check("onelogin-post-user-emails-single-object")
def onelogin_single_email(client: TestClient, example: dict[str, Any]) -> None:
    """`emails` as a single object is read as a one-element list."""
    body = created(send(client, example))
    assert read(client, "Users", body["id"])["emails"] == [example["body"]["emails"]]


@check("google-post-user-scim-1-0-urn")
def google_create(client: TestClient, example: dict[str, Any]) -> None:
    """Google's create (application/json, a SCIM 1.0 URN in schemas) is stored canonically."""
    body = created(send(client, example))
    got = read(client, "Users", body["id"])
    assert got["schemas"] == [USER_SCHEMA]
    for key in ("userName", "emails", "displayName", "name", "active"):
        assert got[key] == example["body"][key]


# --- user PATCH ----------------------------------------------------------------------------


@check(
    "entra-patch-deactivate-default-dialect",
    "entra-patch-deactivate-flag-dialect",
    "entra-patch-disable-tutorial-mixed",
    "okta-patch-deactivate-pathless",
    "jumpcloud-patch-deprovision-inactive",
)
def deactivate(client: TestClient, example: dict[str, Any]) -> None:
    """Soft delete: active false, the user still readable by id and by filter."""
    uid = entra_user(client)
    patched(send(client, example, uid))
    assert read(client, "Users", uid)["active"] is False
    found = listed(
        client.get("/Users", params={"filter": 'userName eq "Test_User@testuser.com"'}), 1
    )
    assert found[0]["active"] is False
    assert read(client, "Users", uid)["emails"][0]["value"] == "Test_User@testuser.com"


@check("okta-patch-reactivate-pathless")
def reactivate(client: TestClient, example: dict[str, Any]) -> None:
    """Reactivation through the same path-less shape."""
    uid = entra_user(client, active=False)
    patched(send(client, example, uid))
    assert read(client, "Users", uid)["active"] is True


@check("entra-patch-update-default-dialect")
def entra_default_update(client: TestClient, example: dict[str, Any]) -> None:
    """Six capitalised Replace operations, each landing where its path points."""
    uid = entra_user(client)
    patched(send(client, example, uid))
    got = read(client, "Users", uid)
    assert got["displayName"] == "Pvlo"
    assert got["emails"] == [
        {"primary": True, "type": "work", "value": "TestBcwqnm@test.microsoft.com"}
    ]
    assert got["name"] == {"formatted": "Test User", "givenName": "Gtfd", "familyName": "Pkqf"}
    assert got["externalId"] == "Eqpj"
    assert got[ENTERPRISE] == {"employeeNumber": "Eqpj", "department": "R&D"}


@check("entra-patch-update-flag-dialect-pathless-dotted-keys")
def entra_flag_update(client: TestClient, example: dict[str, Any]) -> None:
    """Path-less replace with dotted and URN keys sets name.givenName and employeeNumber
    (never a literal "name.givenName" key)."""
    uid = entra_user(client)
    patched(send(client, example, uid))
    got = read(client, "Users", uid)
    assert got["displayName"] == "Bjfe"
    assert got["name"] == {"formatted": "Test User", "givenName": "Kkom", "familyName": "Unua"}
    assert got[ENTERPRISE] == {"employeeNumber": "Aklq", "department": "R&D"}
    assert got["emails"] == [
        {"primary": True, "type": "work", "value": "TestMhvaes@test.microsoft.com"}
    ]
    literal = {"name.givenName", "name.familyName", f"{ENTERPRISE}:employeeNumber"}
    assert not literal & set(got)


@check("entra-patch-multi-op-replace-and-add")
def entra_replace_and_add(client: TestClient, example: dict[str, Any]) -> None:
    """Replace title and Add a first work e-mail in one request."""
    uid = new_user(client, "joe", title="dev")["id"]
    patched(send(client, example, uid))
    got = read(client, "Users", uid)
    assert got["title"] == "tester"
    assert got["emails"] == [{"type": "work", "value": "joe@example.com"}]


@check("entra-patch-filtered-paths-on-absent-attributes")
def entra_filtered_absent(client: TestClient, example: dict[str, Any]) -> None:
    """Filtered value paths on attributes the user lacks create the element."""
    uid = new_user(client, "nophone")["id"]
    patched(send(client, example, uid))
    got = read(client, "Users", uid)
    assert got["phoneNumbers"] == [{"type": "mobile", "value": "+1 555 0100"}]
    assert got["addresses"] == [{"type": "work", "streetAddress": "1 Main Street"}]


@check("entra-patch-enterprise-urn-paths")
def entra_urn_path(client: TestClient, example: dict[str, Any]) -> None:
    """`<enterprise URN>:department` sets the extension attribute (and its schema)."""
    uid = new_user(client, "dept")["id"]
    patched(send(client, example, uid))
    got = read(client, "Users", uid)
    assert got[ENTERPRISE] == {"department": "Finance"}
    assert ENTERPRISE in got["schemas"]


@check("entra-patch-roles-json-string-value")
def entra_roles_json_string(client: TestClient, example: dict[str, Any]) -> None:
    """A JSON-encoded role inside `value` is stored as sent, not parsed."""
    uid = entra_user(client)
    patched(send(client, example, uid))
    roles = read(client, "Users", uid)["roles"]
    assert roles == example["body"]["Operations"][0]["value"]
    assert json.loads(roles[0]["value"])["displayName"] == "Role1234"


@check("entra-patch-roles-replace-full-list")
def entra_roles_replace(client: TestClient, example: dict[str, Any]) -> None:
    """Lower-case replace on roles replaces the whole list."""
    uid = entra_user(client, roles=[{"value": "Old"}, {"value": "Older"}])
    patched(send(client, example, uid))
    assert read(client, "Users", uid)["roles"] == example["body"]["Operations"][0]["value"]


@check(
    "entra-patch-manager-legacy-add-array",
    "entra-patch-manager-urn-path-value-object",
    "entra-patch-manager-urn-path-bare-string",
)
def manager_set(client: TestClient, example: dict[str, Any]) -> None:
    """Every manager shape sets the manager to that user, returned with its $ref; a second
    PATCH changes it (the $ref follows the value)."""
    first, second = users(client, "boss1@example.com", "boss2@example.com")
    uid = entra_user(client)
    subs = {f"https://example.com/scim/v2/Users/{MGR}": f"{BASE}/Users/{first}", MGR: first}
    patched(send(client, example, uid, subs))
    assert manager_of(client, uid) == {"value": first, "$ref": f"{BASE}/Users/{first}"}
    subs = {f"https://example.com/scim/v2/Users/{MGR}": f"{BASE}/Users/{second}", MGR: second}
    patched(send(client, example, uid, subs))
    assert manager_of(client, uid) == {"value": second, "$ref": f"{BASE}/Users/{second}"}


@check(
    "entra-patch-manager-remove-replace-empty-value-object",
    "entra-patch-manager-remove-replace-empty-string",
    "entra-patch-manager-remove-urn-path",
    "entra-patch-manager-remove-value-filter",
)
def manager_clear(client: TestClient, example: dict[str, Any]) -> None:
    """Every removal shape clears the manager and leaves the rest of the extension."""
    (boss,) = users(client, "boss@example.com")
    uid = entra_user(client, **{ENTERPRISE: {"department": "R&D", "manager": {"value": boss}}})
    assert manager_of(client, uid) is not None
    patched(send(client, example, uid, {MGR: boss}))
    got = read(client, "Users", uid)
    assert got[ENTERPRISE] == {"department": "R&D"}


@check("validator-patch-user-pathless-username")
def validator_rename_user(client: TestClient, example: dict[str, Any]) -> None:
    """Path-less replace of userName; the new name is what a filter finds."""
    uid = entra_user(client)
    patched(send(client, example, uid))
    assert read(client, "Users", uid)["userName"] == "renamed.user@example.com"
    params = {"filter": 'userName eq "renamed.user@example.com"'}
    assert [r["id"] for r in listed(client.get("/Users", params=params), 1)] == [uid]


@check("validator-patch-user-multiple-ops-different-attributes")
def validator_multi_ops(client: TestClient, example: dict[str, Any]) -> None:
    """remove, add and replace on different attributes, applied in order."""
    uid = entra_user(client, preferredLanguage="en-US")
    patched(send(client, example, uid))
    got = read(client, "Users", uid)
    assert "preferredLanguage" not in got
    assert got["externalId"] == "validator-ext-1"
    assert got["displayName"] == "Validator Multi Op"


@check("validator-patch-empty-operations")
def validator_empty_operations(client: TestClient, example: dict[str, Any]) -> None:
    """RFC 7644 3.5.2: Operations holds "one or more" operations; an empty list is 400
    invalidSyntax and changes nothing."""
    uid = entra_user(client)
    before = read(client, "Users", uid)
    assert_error(send(client, example, uid), 400, "invalidSyntax")
    assert read(client, "Users", uid) == before


# --- user PUT and DELETE -------------------------------------------------------------------


@check("okta-put-user-profile-update")
def okta_put(client: TestClient, example: dict[str, Any]) -> None:
    """GET then full PUT echoing id, meta, groups and the password: 200 and the new name."""
    body = {k: v for k, v in example["body"].items() if k not in ("id", "meta")}
    body["name"] = {"givenName": "Test", "familyName": "User"}
    uid = created(client.post("/Users", json=body))["id"]
    response = send(client, example, uid)
    assert response.status_code == 200, response.text
    assert "password" not in response.json()
    got = read(client, "Users", uid)
    assert got["name"] == {"givenName": "Another", "familyName": "User"}
    assert got["displayName"] == "Another User"
    assert example["body"]["password"] not in stored_data(client, uid)


@check("okta-aiw-put-deactivate")
def okta_aiw_put_deactivate(client: TestClient, example: dict[str, Any]) -> None:
    """AIW deactivation: a PUT with active false."""
    uid = new_user(client, "test.user@okta.local", active=True)["id"]
    assert send(client, example, uid).status_code == 200
    assert read(client, "Users", uid)["active"] is False


@check("onelogin-put-user-legacy-urns")
def onelogin_put(client: TestClient, example: dict[str, Any]) -> None:
    """OneLogin's PUT with legacy URNs and a trailing `?`: 200, stored with the canonical
    URNs (the enterprise data the PUT omits is cleared)."""
    uid = entra_user(client, "onelogin-test-user01")
    response = send(client, example, uid)
    assert response.status_code == 200, response.text
    got = read(client, "Users", uid)
    assert got["schemas"] == [USER_SCHEMA, ENTERPRISE]
    assert ENTERPRISE not in got
    assert got["name"] == {"givenName": "Test", "familyName": "Renamed"}


@check("entra-delete-user", "onelogin-delete-user")
def delete_user(client: TestClient, example: dict[str, Any]) -> None:
    """Hard delete: 204, then 404 (by id) and no match (by filter)."""
    uid = entra_user(client)
    response = send(client, example, uid)
    assert response.status_code == 204
    assert response.content == b""
    assert_error(client.get(f"/Users/{uid}"), 404)
    listed(client.get("/Users", params={"filter": 'userName eq "Test_User@testuser.com"'}), 0)


# --- groups --------------------------------------------------------------------------------


@check("entra-get-group-by-id-excluding-members")
def group_by_id_without_members(client: TestClient, example: dict[str, Any]) -> None:
    """Entra reads groups without members."""
    (uid,) = users(client, "m@example.com")
    gid = group_with(client, "G", uid)
    response = send(client, example, gid)
    assert response.status_code == 200
    assert response.json()["id"] == gid
    assert "members" not in response.json()


@check("entra-get-group-by-displayname-excluding-members")
def group_by_name_without_members(client: TestClient, example: dict[str, Any]) -> None:
    """The displayName lookup finds the group (case-insensitively), without members."""
    assert listed(send(client, example), 0) == []
    (uid,) = users(client, "m@example.com")
    gid = group_with(client, "DisplayName", uid)
    group_with(client, "displayName2")
    found = listed(send(client, example), 1)
    assert [g["id"] for g in found] == [gid]
    assert "members" not in found[0]


@check("entra-post-group-microsoft-schema-urn")
def entra_group_create(client: TestClient, example: dict[str, Any]) -> None:
    """201 with id, Microsoft's ADSCIM URN dropped from schemas, no members."""
    body = created(send(client, example))
    got = read(client, "Groups", body["id"])
    assert got["schemas"] == [GROUP_SCHEMA]
    assert ADSCIM not in got["schemas"]
    assert got["displayName"] == "displayName"
    assert got["externalId"] == example["body"]["externalId"]
    assert got.get("members", []) == []


@check("okta-post-group")
def okta_group_create(client: TestClient, example: dict[str, Any]) -> None:
    """Push Groups create with `members: []`: 201 with id."""
    body = created(send(client, example))
    got = read(client, "Groups", body["id"])
    assert got["displayName"] == "Test SCIMv2"
    assert got.get("members", []) == []


@check(
    "entra-patch-group-rename",
    "validator-patch-group-pathless-displayname",
    "okta-patch-group-rename-with-id",
)
def group_rename(client: TestClient, example: dict[str, Any]) -> None:
    """Renames, including Okta's path-less one repeating the group's own (read-only) id;
    the membership is untouched. A different id in Okta's shape is 400 mutability."""
    (uid,) = users(client, "m@example.com")
    gid = group_with(client, "Old name", uid)
    patched(send(client, example, gid, {"abf4dd94-a4c0-4f67-89c9-76b03340cb9b": gid}))
    got = read(client, "Groups", gid)
    op = example["body"]["Operations"][0]
    value = op["value"] if "path" in op else op["value"]["displayName"]
    assert got["displayName"] == value
    assert got["id"] == gid
    assert {m["value"] for m in got["members"]} == {uid}
    if "abf4dd94-a4c0-4f67-89c9-76b03340cb9b" in json.dumps(example["body"]):
        # another id in the value would modify a readOnly attribute (RFC 7644 3.5.2)
        assert_error(send(client, example, gid), 400, "mutability")
        assert read(client, "Groups", gid) == got


@check("validator-patch-group-pathless-externalid")
def group_external_id(client: TestClient, example: dict[str, Any]) -> None:
    """Path-less replace of a group's externalId."""
    gid = group_with(client, "G")
    patched(send(client, example, gid))
    assert read(client, "Groups", gid)["externalId"] == "a7c4d3f2-0000-4e2b-9d61-aa00bb11cc22"


@check(
    "entra-patch-group-add-members",
    "jumpcloud-patch-group-add-member-value-list",
    "postman-patch-group-add-member-string-value",
    "postman-patch-group-add-members-extra-name-key",
)
def group_add_member(client: TestClient, example: dict[str, Any]) -> None:
    """Add a member (null $ref, value list, plain string, extra key): existing ones stay."""
    old, new = users(client, "old@example.com", "new@example.com")
    gid = group_with(client, "G", old)
    subs = {"f648f8d5ea4e4cd38e9c": new, MEMBER: new, "string id 1": new}
    patched(send(client, example, gid, subs))
    assert member_ids(client, gid) == {old, new}


@check(
    "entra-patch-group-remove-members-value-list",
    "entra-patch-group-remove-member-filter-path",
    "jumpcloud-patch-group-remove-member-value-list",
)
def group_remove_member(client: TestClient, example: dict[str, Any]) -> None:
    """Remove one member (value list or filter path): only that one goes."""
    gone, stays = users(client, "gone@example.com", "stays@example.com")
    gid = group_with(client, "G", gone, stays)
    subs = {"u1091": gone, "7f4bc1a3-285e-48ae-8202-5accb43efb0e": gone, MEMBER: gone}
    patched(send(client, example, gid, subs))
    assert member_ids(client, gid) == {stays}
    assert read(client, "Users", gone)["id"] == gone


@check("okta-patch-group-membership-remove-and-add")
def okta_membership(client: TestClient, example: dict[str, Any]) -> None:
    """Filtered remove and add in one request."""
    gone, new, stays = users(client, "gone@example.com", "new@example.com", "stays@example.com")
    gid = group_with(client, "G", gone, stays)
    subs = {
        "89bb1940-b905-4575-9e7f-6f887cfb368e": gone,
        "23a35c27-23d3-4c03-b4c5-6443c09e7173": new,
    }
    patched(send(client, example, gid, subs))
    assert member_ids(client, gid) == {new, stays}


@check("okta-patch-group-replace-members", "validator-patch-group-add-member-via-replace")
def group_replace_members(client: TestClient, example: dict[str, Any]) -> None:
    """replace on members sets exactly the list sent."""
    old, new = users(client, "old@example.com", "new@example.com")
    gid = group_with(client, "G", old)
    subs = {"23a35c27-23d3-4c03-b4c5-6443c09e7173": new, MEMBER: new}
    patched(send(client, example, gid, subs))
    assert member_ids(client, gid) == {new}


@check("okta-aiw-put-group")
def okta_put_group(client: TestClient, example: dict[str, Any]) -> None:
    """AIW: PUT with displayName and the full member list replaces the membership."""
    old, new = users(client, "old@example.com", "new@example.com")
    gid = group_with(client, "Old", old)
    response = send(client, example, gid, {"23a35c27-23d3-4c03-b4c5-6443c09e7173": new})
    assert response.status_code == 200, response.text
    assert read(client, "Groups", gid)["displayName"] == "Test SCIMv2"
    assert member_ids(client, gid) == {new}


@check("postman-patch-group-remove-all-members")
def group_remove_all(client: TestClient, example: dict[str, Any]) -> None:
    """remove on members without a value or filter removes every member."""
    a, b = users(client, "a@example.com", "b@example.com")
    gid = group_with(client, "G", a, b)
    patched(send(client, example, gid))
    assert member_ids(client, gid) == set()


@check("entra-delete-group", "okta-delete-group")
def delete_group(client: TestClient, example: dict[str, Any]) -> None:
    """204, then 404; the members (users) remain."""
    (uid,) = users(client, "m@example.com")
    gid = group_with(client, "G", uid)
    response = send(client, example, gid)
    assert response.status_code == 204
    assert_error(client.get(f"/Groups/{gid}"), 404)
    assert "groups" not in read(client, "Users", uid)


# --- the registry itself -------------------------------------------------------------------


def test_every_example_has_a_check() -> None:
    """A newly vendored example needs a check here (and no check names a missing example)."""
    assert set(CHECKS) == set(EXAMPLES)


@pytest.mark.parametrize("example_id", sorted(EXAMPLES))
def test_idp_example(client: TestClient, example_id: str) -> None:
    """The example is handled as its IdP needs (see the check's docstring)."""
    CHECKS[example_id](client, EXAMPLES[example_id])
