"""The admin API (/admin/v1): organizations, policy, SCIM switch, tokens, directory,
manual management, sign-up; each promise with its break, and bad bodies answer 400."""

from __future__ import annotations

from typing import Any

import pytest
from provisioning_helpers import ADMIN, POLICY, Env, MakeEnv
from scim_http_helpers import ADMIN_TOKEN, assert_error

BREAK = [False, True]
READY = {
    "admin": {"first_name": "Ada", "last_name": "Admin", "email": "ada@example.com"},
    "sso": {"configured": True, "enforced": False},
}


def test_organization_crud_and_policy(env: Env) -> None:
    """POST/GET/PATCH/DELETE an organization; GET/PUT its policy."""
    created = env.ok(
        "POST",
        "/organizations",
        {"name": "Acme", "domains": ["acme.test"], "seat_cap": 5, **READY},
        201,
    )
    org = created["id"]
    assert created["domains"] == ["acme.test"]
    assert created["admin"]["email"] == "ada@example.com"
    assert created["directory"] == {"status": "none", "domains": []}
    assert created["scim_enabled"] is True
    patched = env.ok("PATCH", env.org_path(org=org), {"seat_cap": None, "default_team": "Core"})
    assert patched["seat_cap"] is None
    assert [t["display_name"] for t in env.ok("GET", env.org_path("/teams", org))["items"]] == [
        "Core"
    ]
    policy = env.ok("PUT", env.org_path("/policy", org), {"accounts": "jit", "seat_cap": 2})
    assert policy["accounts"] == "jit"
    assert policy["seat_cap"] == 2
    assert policy["registered_domains"] == []  # PUT replaces the whole table
    assert env.ok("GET", env.org_path("/policy", org)) == policy
    assert env.ok("GET", env.org_path(org=org))["seat_cap"] == 2
    assert env.admin("DELETE", env.org_path(org=org)).status_code == 204
    assert_error(env.admin("GET", env.org_path(org=org)), 404)


def test_policy_change_reaches_the_scim_path_at_once(env: Env) -> None:
    """The in-process policy cache is dropped when the admin API changes the policy."""
    env.user()
    env.ok("PUT", env.org_path("/policy"), {**POLICY, "seat_cap": 1})
    assert_error(env.post_user(), 403)
    env.ok("PATCH", env.org_path(), {"seat_cap": 5})
    assert env.post_user().status_code == 201


def test_break_key_needs_allow_break(env: Env, make_env: MakeEnv) -> None:
    body = assert_error(
        env.admin("PUT", env.org_path("/policy"), {"break": "seat_cap"}), 400, "invalidValue"
    )
    assert "--allow-break" in body["detail"]
    testing = make_env(POLICY, "audit_log")
    policy = testing.ok(
        "PUT", testing.org_path("/policy"), {**POLICY, "break": "seat_cap", "seat_cap": 1}
    )
    assert policy["break"] == "seat_cap"
    testing.user()
    assert testing.post_user().status_code == 201  # seat_cap broken for this organization


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/organizations", {"name": ""}),
        ("POST", "/organizations", {"name": "x", "seat_cap": -1}),
        ("POST", "/organizations", {"name": "x", "domains": "example.com"}),
        ("POST", "/organizations", {"name": "x", "admin": {"email": "nope"}}),
        ("POST", "/organizations", {"name": "x", "sso": {"configured": "yes"}}),
        ("POST", "/organizations", {"name": "x", "colour": "red"}),
        ("POST", "/organizations", {"name": "x", "policy": {"accounts": "lazy"}}),
        ("POST", "/organizations", {"name": "x", "policy": []}),
        ("PUT", "{org}/policy", {"seat_cap": "ten"}),
        ("PUT", "{org}/policy", {"unknown_key": True}),
        ("PUT", "{org}/policy", {"registered_domains": ["not a domain"]}),
        ("PUT", "{org}/directory", {"domains": [1]}),
        ("POST", "{org}/members", {"email": "a@example.com", "role": "owner"}),
        ("POST", "{org}/invitations", {"email": 7}),
        ("POST", "{org}/teams", {"display_name": ""}),
        ("POST", "{org}/faults", {"transient_failures": -1}),
        ("POST", "{org}/faults", {"transient_failures": True}),
        ("POST", "/login", {"email": "a@example.com", "organization": "x", "method": "magic"}),
        ("POST", "/login", {"email": "a@example.com"}),
        ("POST", "/signup", {"email": ["a@example.com"]}),
    ],
)
def test_bad_bodies_answer_400_with_a_detail(env: Env, method: str, path: str, body: Any) -> None:
    """Never a 500 on bad input: 400 with a detail naming the field."""
    path = path.replace("{org}", env.org_path())
    error = assert_error(env.admin(method, path, body), 400, "invalidValue")
    assert len(error["detail"]) > 10


def test_malformed_json_and_unknown_ids(env: Env) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"}
    response = env.scim.post(f"{ADMIN}/organizations", content=b"{", headers=headers)
    assert_error(response, 400, "invalidSyntax")
    assert_error(env.admin("GET", "/organizations/nope/members"), 404)
    assert_error(env.admin("DELETE", env.org_path("/invitations/nope")), 409)  # SCIM manages
    assert_error(env.admin("POST", env.org_path("/tokens/nope/regenerate")), 404)
    assert_error(env.admin("PATCH", env.org_path("/members/nope"), {"role": "member"}), 404)
    assert env.scim.get(f"{ADMIN}/organizations").status_code == 401


@pytest.mark.parametrize("broken", BREAK)
def test_manual_management(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Enabling SCIM turns manual user management off: adding, inviting, bulk
    inviting, removing members and revoking invitations are refused; changing a member's
    role stays allowed."; broken: they are allowed."""
    env = make_env(POLICY, "manual_management" if broken else None)
    email = env.email()
    env.user(email)
    member = env.member(email)
    assert member is not None
    stranger = env.email()
    attempts = [
        env.admin("POST", env.org_path("/members"), {"email": stranger, "role": "member"}),
        env.admin("POST", env.org_path("/invitations"), {"email": env.email()}),
        env.admin("DELETE", env.org_path(f"/members/{member['account_id']}")),
    ]
    if broken:
        assert [r.status_code for r in attempts] == [201, 201, 204]
        return
    for response in attempts:
        body = assert_error(response, 409)
        assert "make the change in the IdP" in body["detail"]
        assert "delete the directory connection" in body["detail"]
    path = env.org_path(f"/members/{member['account_id']}")
    assert env.ok("PATCH", path, {"role": "org_admin"})["role"] == "org_admin"


@pytest.mark.parametrize("broken", BREAK)
def test_directory_lifecycle(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Activating the directory connection imports the domains registered with it
    into the organization's allow-list; users ... are not backfilled" and "Deleting the
    directory connection turns manual management back on and keeps every membership;
    deactivating it does not."; broken: delete drops the members."""
    env = make_env(POLICY, "directory_lifecycle" if broken else None)
    org = env.ok("POST", "/organizations", {"name": "dir", **READY}, 201)["id"]
    members = env.org_path("/members", org)
    kept = env.email(domain="corp.test")
    env.ok("POST", members, {"email": kept, "role": "member"}, 201)
    directory = env.ok("PUT", env.org_path("/directory", org), {"domains": ["corp.test"]})
    assert directory == {"status": "deactivated", "domains": ["corp.test"]}
    assert env.ok("POST", env.org_path("/directory/activate", org))["status"] == "active"
    assert env.ok("GET", env.org_path(org=org))["domains"] == ["corp.test"]
    assert len(env.members(org)) == 1  # nobody backfilled
    assert_error(env.admin("POST", members, {"email": env.email(), "role": "member"}), 409)
    env.ok("POST", env.org_path("/directory/deactivate", org))
    assert_error(env.admin("POST", members, {"email": env.email(), "role": "member"}), 409)
    assert env.ok("DELETE", env.org_path("/directory", org))["status"] == "none"
    assert (env.member(kept, org) is None) is broken
    env.ok("POST", members, {"email": env.email(), "role": "member"}, 201)


@pytest.mark.parametrize("broken", BREAK)
def test_token_rotation(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "The admin generates a bearer token; it is shown once. Regenerating it
    invalidates the previous token at once."; broken: the old secret keeps working."""
    env = make_env(POLICY, "token_rotation" if broken else None)
    issued = env.ok("POST", env.org_path("/tokens"), None, 201)
    old = {"Authorization": f"Bearer {issued['token']}"}
    assert env.scim.get("/Users", headers=old).status_code == 200  # now cached
    rotated = env.ok("POST", env.org_path(f"/tokens/{issued['id']}/regenerate"), None, 201)
    assert rotated["token"] != issued["token"]
    new = {"Authorization": f"Bearer {rotated['token']}"}
    assert env.scim.get("/Users", headers=new).status_code == 200
    assert env.scim.get("/Users", headers=old).status_code == (200 if broken else 401)
    listing = env.ok("GET", env.org_path("/tokens"))["items"]
    assert issued["id"] in {t["id"] for t in listing}
    assert all(set(t) == {"id", "created", "last_used"} for t in listing)
    assert rotated["token"] not in str(listing)
    assert env.admin("DELETE", env.org_path(f"/tokens/{rotated['id']}")).status_code == 204
    if not broken:
        assert env.scim.get("/Users", headers=new).status_code == 401


@pytest.mark.parametrize("broken", BREAK)
def test_scim_prerequisites(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "The admin's profile (first name, last name, email) must be complete first;
    SSO must be set up before SCIM can be."; broken: enabling is allowed at once."""
    env = make_env(POLICY, "scim_prerequisites" if broken else None)
    org = env.ok("POST", "/organizations", {"name": "new"}, 201)["id"]
    early = env.admin("POST", env.org_path("/scim/enable", org))
    if broken:
        assert early.status_code == 200
        return
    body = assert_error(early, 409)
    for missing in ("admin first name", "admin last name", "admin email", "SSO"):
        assert missing in body["detail"]
    env.ok("PATCH", env.org_path(org=org), READY)
    assert env.ok("POST", env.org_path("/scim/enable", org))["scim_enabled"] is True


@pytest.mark.parametrize("broken", BREAK)
def test_signup(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Users on SCIM-managed domains cannot self-register."; broken: allowed."""
    env = make_env(POLICY, "signup" if broken else None)
    response = env.admin("POST", "/signup", {"email": env.email()})
    if broken:
        assert response.status_code == 201
    else:
        assert "managed by SCIM" in assert_error(response, 403)["detail"]
    free = env.admin("POST", "/signup", {"email": env.email(domain=f"{env.tag}.test")})
    assert free.status_code == 201
    assert env.account(env.email()) is None


def test_accounts_and_login_answers(env: Env) -> None:
    email = env.email()
    user = env.user(email)
    account = env.account(email)
    assert account is not None
    assert account["organization"] == env.org
    signed_in = env.login(email)
    assert signed_in.json() == {
        "account_id": account["id"],
        "organization": env.org,
        "created": False,
        "seat": True,
    }
    env.set_active(user["id"], False)
    assert "suspended" in assert_error(env.login(email), 403)["detail"]


def test_invitations_and_manual_members_without_a_directory(env: Env) -> None:
    """Without a directory connection an admin adds, invites, revokes and removes."""
    org, _ = env.new_org(domains=["example.com"], seat_cap=1)
    invitation = env.ok("POST", env.org_path("/invitations", org), {"email": env.email()}, 201)
    assert (invitation["status"], invitation["reason"]) == ("pending", "manual")
    assert (
        env.admin("DELETE", env.org_path(f"/invitations/{invitation['id']}", org)).status_code
        == 204
    )
    assert env.ok("GET", env.org_path("/invitations", org))["items"][0]["status"] == "revoked"
    added = env.ok(
        "POST", env.org_path("/members", org), {"email": env.email(), "role": "member"}, 201
    )
    full = env.admin(
        "POST", env.org_path("/members", org), {"email": env.email(), "role": "member"}
    )
    assert "seat cap of 1 reached" in assert_error(full, 403)["detail"]
    assert (
        env.admin("DELETE", env.org_path(f"/members/{added['account_id']}", org)).status_code == 204
    )
    assert env.members(org) == []


def test_a_stored_break_needs_allow_break_to_take_effect(make_env: MakeEnv) -> None:
    """A policy's `break` set under --allow-break does nothing on a server started without."""
    testing = make_env(POLICY, "audit_log")
    testing.ok("PUT", testing.org_path("/policy"), {**POLICY, "seat_cap": 1, "break": "seat_cap"})
    testing.user()
    plain = make_env(POLICY)  # the same database, no --allow-break
    scim = {"Authorization": f"Bearer {testing.token}"}
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": plain.email()}
    assert_error(plain.scim.post("/Users", json=body, headers=scim), 403)


_ODD_VALUES: list[Any] = [None, 0, -1, True, "", " ", "x" * 5000, [], {}, ["a"], {"a": 1}, 1.5]
_ROUTES: list[tuple[str, str, tuple[str, ...]]] = [
    ("POST", "/organizations", ("name", "domains", "seat_cap", "policy", "admin", "sso")),
    ("PATCH", "{org}", ("name", "domains", "seat_cap", "default_team", "policy", "admin", "sso")),
    ("PUT", "{org}/policy", ("accounts", "seat_cap", "registered_domains", "default_team")),
    ("PUT", "{org}/directory", ("domains",)),
    ("POST", "{org}/members", ("email", "role")),
    ("POST", "{org}/invitations", ("email",)),
    ("POST", "{org}/teams", ("display_name",)),
    ("POST", "{org}/faults", ("transient_failures",)),
    ("POST", "/login", ("email", "organization", "method")),
    ("POST", "/signup", ("email",)),
]


@pytest.mark.parametrize(("method", "path", "keys"), _ROUTES, ids=lambda v: str(v))
def test_odd_values_never_answer_500(
    env: Env, method: str, path: str, keys: tuple[str, ...]
) -> None:
    """Every field of every admin body, with values of every JSON type: a 4xx SCIM error."""
    path = path.replace("{org}", env.org_path())
    for key in keys:
        for value in _ODD_VALUES:
            response = env.admin(method, path, {key: value})
            assert response.status_code < 500, (key, value, response.text)
            if response.status_code >= 400:
                assert_error(response, response.status_code, response.json().get("scimType"))


def test_jit_grant_follows_active(make_env: MakeEnv) -> None:
    """A JIT user deactivated before the first login cannot sign in; reactivated, can."""
    env = make_env({**POLICY, "accounts": "jit"})
    email = env.email()
    user = env.user(email)
    assert env.set_active(user["id"], False).status_code == 200
    assert "suspended" in assert_error(env.login(email), 403)["detail"]
    env.set_active(user["id"], True)
    assert env.login(email).status_code == 200
    assert env.scim.delete(f"/Users/{user['id']}").status_code == 204
    assert env.seats()["used"] == 0


def test_patching_part_of_the_admin_profile_keeps_the_rest(env: Env) -> None:
    org = env.ok("POST", "/organizations", {"name": "partial", **READY}, 201)["id"]
    patched = env.ok("PATCH", env.org_path(org=org), {"admin": {"last_name": "Lovelace"}})
    assert patched["admin"] == {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
    }
    cleared = env.ok("PATCH", env.org_path(org=org), {"admin": {"email": None}})
    assert cleared["admin"]["email"] is None
    env.ok("POST", env.org_path("/scim/disable", org))
    assert (
        "admin email"
        in assert_error(env.admin("POST", env.org_path("/scim/enable", org)), 409)["detail"]
    )
