"""The policies on the SCIM write path, each with its `--break` (docs/ARCHITECTURE.md,
"Promises"): every test asserts an effect (a status, a detail, a member, a seat count),
once with the promise kept and once with it broken, so each can fail."""

from __future__ import annotations

import pytest
from provisioning_helpers import ENTERPRISE, POLICY, Env, MakeEnv
from scim_http_helpers import PATCH_OP, USER_SCHEMA, assert_error

BREAK = [False, True]


def _env(make_env: MakeEnv, broken: bool, promise: str, **policy: object) -> Env:
    return make_env({**POLICY, **policy}, promise if broken else None)


def test_plain_organization_is_a_scim_store_with_an_audit_log(make_env: MakeEnv) -> None:
    """Without --policy the bootstrap organization behaves as before: no email needed, no
    members, no cap; every write is still audited (actor = the token's id)."""
    env = make_env(None)
    created = env.user("not-an-email")
    assert env.members() == []
    info = env.ok("GET", env.org_path())
    assert info["policy"] is None
    assert info["domains"] == []
    events = env.audit()
    assert [(e["action"], e["outcome"], e["resource_id"]) for e in events] == [
        ("user.create", "ok", created["id"])
    ]
    token_ids = {t["id"] for t in env.ok("GET", env.org_path("/tokens"))["items"]}
    assert events[0]["actor"] in token_ids
    assert env.token not in str(events)


@pytest.mark.parametrize("broken", BREAK)
def test_seat_cap(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "at the cap, provisioning is refused with a clear error and no invitation is
    sent"; broken: accepted past the cap."""
    env = _env(make_env, broken, "seat_cap", seat_cap=2, invitation_fallback=True)
    env.user()
    env.user()
    billed = env.seats()["billed"]
    third = env.post_user()
    if broken:
        assert third.status_code == 201
        assert env.seats()["used"] == 3
        return
    body = assert_error(third, 403)
    assert body["detail"] == "seat cap of 2 reached: raise it in billing or remove a member"
    assert env.ok("GET", env.org_path("/invitations"))["items"] == []
    assert env.seats() == {"used": 2, "billed": billed, "cap": 2, "pending": 0}


@pytest.mark.parametrize("broken", BREAK)
def test_seat_billing(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Below it, provisioning raises the billed seat count automatically"."""
    env = _env(make_env, broken, "seat_billing")
    env.user()
    assert env.seats()["billed"] == (0 if broken else 1)


@pytest.mark.parametrize("release", ["on_deprovision", "on_reconciliation"])
@pytest.mark.parametrize("broken", BREAK)
def test_seat_release(make_env: MakeEnv, broken: bool, release: str) -> None:
    """SPEC: "removing users does not lower it until a billing reconciliation (another
    vendor frees the seat at once: a policy setting)"; broken: billed never drops."""
    env = _env(make_env, broken, "seat_release", seat_release=release)
    user = env.user()
    assert env.seats()["billed"] == 1
    assert env.scim.delete(f"/Users/{user['id']}").status_code == 204
    at_once = release == "on_deprovision" and not broken
    assert env.seats()["billed"] == (0 if at_once else 1)
    reconciled = env.ok("POST", env.org_path("/billing/reconcile"))
    assert reconciled["billed"] == (1 if broken else 0)


@pytest.mark.parametrize("broken", BREAK)
def test_jit_accounts(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Just-in-time mode: ... the account is created and a seat allocated at the
    first SSO login"; broken: the account exists at provisioning."""
    env = _env(make_env, broken, "jit_accounts", accounts="jit")
    email = env.email()
    env.user(email)
    if broken:
        assert env.account(email) is not None
        return
    assert env.account(email) is None
    assert env.seats() == {"used": 0, "billed": 0, "cap": 3, "pending": 1}
    first = env.login(email)
    assert first.status_code == 200, first.text
    assert first.json()["created"] is True
    assert first.json()["seat"] is True
    assert env.account(email) is not None
    assert env.seats() == {"used": 1, "billed": 1, "cap": 3, "pending": 0}


@pytest.mark.parametrize("broken", BREAK)
def test_eager_accounts(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Eager mode: account and seat at provisioning"; broken: only at login."""
    env = _env(make_env, broken, "jit_accounts", accounts="eager")
    email = env.email()
    env.user(email)
    assert (env.account(email) is None) is broken


@pytest.mark.parametrize("broken", BREAK)
def test_domain_allow_list_strict(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "a user whose email domain is not one of the organization's registered domains
    is not provisioned"; strict: a SCIM error naming the domain."""
    env = _env(make_env, broken, "domain_allow_list", domain_policy="strict")
    response = env.post_user(env.email(domain="example.org"))
    if broken:
        assert response.status_code == 201
        assert len(env.members()) == 1
        return
    body = assert_error(response, 400, "invalidValue")
    assert body["detail"] == "example.org is not a registered domain of this organization"
    assert env.members() == []
    assert env.audit(outcome="refused")[0]["detail"] == body["detail"]


def test_domain_allow_list_lenient_skips_and_audits(make_env: MakeEnv) -> None:
    """Lenient: 201 with the would-be resource, nothing stored, audit `skipped`."""
    env = make_env({**POLICY, "domain_policy": "lenient"})
    email = env.email(domain="example.org")
    response = env.post_user(email)
    assert response.status_code == 201
    assert response.json()["userName"] == email
    assert_error(env.scim.get(f"/Users/{response.json()['id']}"), 404)
    assert env.members() == []
    skipped = env.audit(outcome="skipped")
    assert len(skipped) == 1
    assert "example.org is not a registered domain" in skipped[0]["detail"]


def test_user_name_must_be_an_email_under_registered_domains(env: Env) -> None:
    body = assert_error(env.post_user("plainname"), 400, "invalidValue")
    assert body["detail"] == "userName must be the user's email address"


def test_email_falls_back_to_the_primary_email(env: Env) -> None:
    email = env.email()
    emails = [{"value": "x@example.com"}, {"value": email, "primary": True}]
    env.user("someone", emails=emails)
    assert env.member(email) is not None


@pytest.mark.parametrize("broken", BREAK)
def test_one_organization(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "A person belongs to one organization at a time: provisioning someone who is a
    member elsewhere does not move them."; broken: they are moved."""
    env = _env(make_env, broken, "one_organization")
    other, _ = env.new_org()
    email = env.email()
    env.ok("POST", env.org_path("/members", other), {"email": email, "role": "member"}, 201)
    response = env.post_user(email)
    if broken:
        assert response.status_code == 201
        assert env.member(email, other) is None
        assert env.member(email) is not None
        return
    body = assert_error(response, 409, "uniqueness")
    assert body["detail"] == f"{email} belongs to another organization; remove them there first"
    assert env.member(email, other) is not None
    assert env.member(email) is None


@pytest.mark.parametrize("broken", BREAK)
def test_deactivation_supported(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Deactivation (active=false) suspends access at once: the user cannot sign
    in."; broken: sign-in is kept."""
    env = _env(make_env, broken, "deactivation")
    email = env.email()
    user = env.user(email)
    assert env.login(email).status_code == 200
    assert env.set_active(user["id"], False).status_code == 200
    assert env.login(email).status_code == (200 if broken else 403)
    assert env.member(email)["status"] == ("active" if broken else "suspended")  # type: ignore[index]
    assert env.set_active(user["id"], True).status_code == 200
    assert env.login(email).status_code == 200


@pytest.mark.parametrize("broken", BREAK)
def test_deactivation_refused(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "One vendor does not support deactivate/reactivate at all (a policy setting:
    then the server must refuse it clearly)"."""
    env = _env(make_env, broken, "deactivation", deactivation="refused")
    user = env.user()
    put = {**user, "active": False}
    put.pop("meta", None)
    for response in (
        env.set_active(user["id"], False),
        env.scim.put(f"/Users/{user['id']}", json=put),
    ):
        if broken:
            assert response.status_code == 200
            continue
        body = assert_error(response, 400, "invalidValue")
        assert "deactivation=refused" in body["detail"]
        assert "unassign the user in the IdP" in body["detail"]
    assert (env.scim.get(f"/Users/{user['id']}").json().get("active") is False) is broken


@pytest.mark.parametrize("delete", ["keep_account", "erase"])
@pytest.mark.parametrize("broken", BREAK)
def test_delete_account(make_env: MakeEnv, broken: bool, delete: str) -> None:
    """SPEC: DELETE "keeps the account and its authentication record" (another vendor's
    "DELETE erases the account for good": a policy setting); broken: the opposite."""
    env = _env(make_env, broken, "delete_account", delete=delete)
    email = env.email()
    user = env.user(email)
    assert env.scim.delete(f"/Users/{user['id']}").status_code == 204
    assert env.member(email) is None
    kept = (delete == "keep_account") != broken
    assert (env.account(email) is not None) is kept


@pytest.mark.parametrize("broken", BREAK)
def test_reassociation(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Provisioning the same person again re-associates the existing account."."""
    env = _env(make_env, broken, "reassociation")
    email = env.email()
    user = env.user(email)
    first = env.member(email)["account_id"]  # type: ignore[index]
    env.scim.delete(f"/Users/{user['id']}")
    env.user(email)
    again = env.member(email)["account_id"]  # type: ignore[index]
    assert (again == first) is not broken


@pytest.mark.parametrize("enforced", [True, False])
@pytest.mark.parametrize("broken", BREAK)
def test_sso_enforcement(make_env: MakeEnv, broken: bool, enforced: bool) -> None:
    """SPEC: "Without SSO enforcement a removed user may still sign in by other methods;
    with it, never."; broken: the opposite of the policy."""
    env = _env(make_env, broken, "sso_enforcement", sso_enforced=enforced)
    email = env.email()
    user = env.user(email)
    env.scim.delete(f"/Users/{user['id']}")
    refused = enforced != broken
    response = env.login(email, "password")
    assert response.status_code == (403 if refused else 200), response.text


@pytest.mark.parametrize("broken", BREAK)
def test_member_role(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Every provisioned user gets the Member role; roles are not mapped from the
    IdP; admins can still change roles"."""
    env = _env(make_env, broken, "member_role")
    email = env.email()
    env.user(email, roles=[{"value": "admin"}])
    member = env.member(email)
    assert member is not None
    assert member["role"] == ("org_admin" if broken else "member")
    changed = env.ok(
        "PATCH", env.org_path(f"/members/{member['account_id']}"), {"role": "it_admin"}
    )
    assert changed["role"] == "it_admin"
    assert changed["seat"] is False  # IT admins take no paid seat


@pytest.mark.parametrize(
    "mode",
    [
        None,
        "member_role:it_admin_seat",
        "member_role:sync_resets_role",
        "member_role:sync_skips_profile",
    ],
)
def test_member_role_modes(make_env: MakeEnv, mode: str | None) -> None:
    """The other ways to break member_role: an IT admin keeps a paid seat; the next sync
    resets the role an admin gave; the next sync does not reach the member's profile."""
    env = make_env(POLICY, mode)
    email = env.email()
    user = env.user(email)
    member = env.member(email)
    assert member is not None
    assert member["role"] == "member"
    path = env.org_path(f"/members/{member['account_id']}")
    it_admin = env.ok("PATCH", path, {"role": "it_admin"})
    assert it_admin["seat"] is (mode == "member_role:it_admin_seat")
    env.ok("PATCH", path, {"role": "org_admin"})
    op = {"op": "replace", "path": "displayName", "value": "Resynced"}
    body = {"schemas": [PATCH_OP], "Operations": [op]}
    assert env.scim.patch(f"/Users/{user['id']}", json=body).status_code == 200
    synced = env.member(email)
    assert synced is not None
    reset = mode == "member_role:sync_resets_role"
    assert synced["role"] == ("member" if reset else "org_admin")
    skipped = mode == "member_role:sync_skips_profile"
    assert (synced["display_name"] == "Resynced") is not skipped


@pytest.mark.parametrize("broken", BREAK)
def test_attribute_mapping(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Attribute mapping: userName -> email, name.givenName -> first name,
    name.familyName -> last name, displayName, title, active -> account status, enterprise
    extension department -> department"; broken: department is dropped."""
    env = _env(make_env, broken, "attribute_mapping")
    email = env.email()
    env.user(
        email,
        schemas=[USER_SCHEMA, ENTERPRISE],
        name={"givenName": "Ada", "familyName": "Lovelace"},
        displayName="Ada L.",
        title="Engineer",
        **{ENTERPRISE: {"department": "Research"}},
    )
    member = env.member(email)
    assert member is not None
    assert (member["first_name"], member["last_name"]) == ("Ada", "Lovelace")
    assert (member["display_name"], member["title"]) == ("Ada L.", "Engineer")
    assert member["department"] == (None if broken else "Research")
    assert member["status"] == "active"


@pytest.mark.parametrize("teams_from_idp", [True, False])
@pytest.mark.parametrize("broken", BREAK)
def test_teams_from_idp(make_env: MakeEnv, broken: bool, teams_from_idp: bool) -> None:
    """SPEC: "One vendor cannot create or delete teams from the IdP (a policy setting)."."""
    env = _env(make_env, broken, "teams_from_idp", teams_from_idp=teams_from_idp)
    allowed = teams_from_idp != broken
    response = env.group("team")
    if not allowed:
        body = assert_error(response, 403)
        assert body["detail"] == (
            "teams are managed in the admin console here (policy teams_from_idp=false)"
        )
        team = env.ok("POST", env.org_path("/teams"), {"display_name": f"t-{env.tag}"}, 201)
        assert_error(env.scim.delete(f"/Groups/{team['id']}"), 403)
        assert env.scim.get(f"/Groups/{team['id']}").status_code == 200
        return
    assert response.status_code == 201
    assert env.scim.delete(f"/Groups/{response.json()['id']}").status_code == 204


@pytest.mark.parametrize("broken", BREAK)
def test_group_access(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "an IdP group becomes a team; its members become team members. Removing a
    user from a group that grants access revokes that access."; broken: the team stays."""
    env = _env(make_env, broken, "group_access")
    email = env.email()
    user = env.user(email)
    group = env.group("push", [user["id"]]).json()
    assert group["displayName"] in env.member(email)["teams"]  # type: ignore[index]
    removal = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}"]'}],
    }
    assert env.scim.patch(f"/Groups/{group['id']}", json=removal).status_code in (200, 204)
    teams = env.member(email)["teams"]  # type: ignore[index]
    assert (group["displayName"] in teams) is broken


def test_default_team_receives_new_users(make_env: MakeEnv) -> None:
    """SPEC: "A default team receives new users that no group placed."."""
    env = make_env({**POLICY, "default_team": "Everyone"})
    email = env.email()
    env.user(email)
    assert env.member(email)["teams"] == ["Everyone"]  # type: ignore[index]
    teams = env.ok("GET", env.org_path("/teams"))["items"]
    assert [t["display_name"] for t in teams] == ["Everyone"]


@pytest.mark.parametrize("removes", [True, False])
@pytest.mark.parametrize("broken", BREAK)
def test_group_delete(make_env: MakeEnv, broken: bool, removes: bool) -> None:
    """SPEC: "Deleting a group removes all its users from the organization and revokes
    their pending invitations." (a policy setting); broken: the opposite."""
    env = _env(
        make_env,
        broken,
        "group_delete",
        group_delete_removes_members=removes,
        invitation_fallback=True,
    )
    email, invited = env.email(), env.email()
    user = env.user(email)
    env.ok("POST", env.org_path("/faults"), {"transient_failures": 1})
    fallback = env.user(invited)
    group = env.group("leavers", [user["id"], fallback["id"]]).json()
    assert env.scim.delete(f"/Groups/{group['id']}").status_code == 204
    gone = removes != broken
    assert (env.member(email) is None) is gone
    statuses = {
        i["email"]: i["status"] for i in env.ok("GET", env.org_path("/invitations"))["items"]
    }
    assert statuses[invited] == ("revoked" if gone else "pending")


@pytest.mark.parametrize("broken", BREAK)
def test_invitation_fallback(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "A transient failure while provisioning falls back to an email invitation
    (never when the seat cap is the cause)."; broken: the user is lost silently."""
    env = _env(make_env, broken, "invitation_fallback", invitation_fallback=True, seat_cap=1)
    env.ok("POST", env.org_path("/faults"), {"transient_failures": 1})
    email = env.email()
    response = env.post_user(email)
    assert response.status_code == 201
    invitations = env.ok("GET", env.org_path("/invitations"))["items"]
    if broken:
        assert invitations == []
        assert_error(env.scim.get(f"/Users/{response.json()['id']}"), 404)
        return
    assert [(i["email"], i["reason"], i["status"]) for i in invitations] == [
        (email, "fallback", "pending")
    ]
    assert env.member(email) is None
    assert env.login(email).status_code == 200  # the invitation is accepted at sign-in
    assert env.member(email) is not None
    # At the cap, a transient failure sends no invitation: the cap answers.
    env.ok("POST", env.org_path("/faults"), {"transient_failures": 1})
    assert_error(env.post_user(), 403)
    assert len(env.ok("GET", env.org_path("/invitations"))["items"]) == 1


def test_transient_failure_without_fallback_is_503(env: Env) -> None:
    env.ok("POST", env.org_path("/faults"), {"transient_failures": 1})
    response = env.post_user()
    assert_error(response, 503)
    assert response.headers["Retry-After"].isdigit()
    assert env.scim.get("/Users").json()["totalResults"] == 0
    assert env.audit(outcome="error")[0]["action"] == "user.create"
    assert env.post_user().status_code == 201  # one failure only


@pytest.mark.parametrize("broken", BREAK)
def test_audit_log(make_env: MakeEnv, broken: bool) -> None:
    """SPEC: "Every SCIM event is written to an audit log (who: which token; what; which
    resource; outcome; when)"; broken: refused writes are not recorded."""
    env = _env(make_env, broken, "audit_log")
    user = env.user()
    env.scim.patch(
        f"/Users/{user['id']}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "title", "value": "x"}],
        },
    )
    assert_error(env.post_user(env.email(domain="example.org")), 400, "invalidValue")
    env.scim.delete(f"/Users/{user['id']}")
    events = env.audit()
    seen = [(e["action"], e["outcome"]) for e in events]
    expected = [("user.create", "ok"), ("user.update", "ok")]
    expected += [] if broken else [("user.create", "refused")]
    assert seen == [*expected, ("user.delete", "ok")]
    assert all(e["actor"] and e["time"] and e["resource_type"] == "User" for e in events)
    assert [e["id"] for e in env.audit(resource_id=user["id"])] == [
        e["id"] for e in events if e["resource_id"] == user["id"]
    ]


def test_bulk_operations_go_through_the_policies(env: Env) -> None:
    """Each Bulk operation is one SCIM write: same rules, one audit event each."""
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "a",
                "data": {"schemas": [USER_SCHEMA], "userName": env.email()},
            },
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "b",
                "data": {"schemas": [USER_SCHEMA], "userName": env.email(domain="example.org")},
            },
        ],
    }
    results = env.scim.post("/Bulk", json=body).json()["Operations"]
    assert [r["status"] for r in results] == ["201", "400"]
    assert len(env.members()) == 1
    assert [e["outcome"] for e in env.audit(action="user.create")] == ["ok", "refused"]


@pytest.mark.parametrize("broken", BREAK)
def test_scim_switch(make_env: MakeEnv, broken: bool) -> None:
    """A disabled organization's SCIM requests answer 403; broken: they keep answering."""
    env = _env(make_env, broken, "scim_switch")
    env.ok("POST", env.org_path("/scim/disable"))
    response = env.scim.get("/Users")
    if broken:
        assert response.status_code == 200
        return
    body = assert_error(response, 403)
    assert body["detail"].startswith(
        "SCIM provisioning is disabled for this organization: an admin can enable it"
    )
    env.ok("POST", env.org_path("/scim/enable"))
    assert env.scim.get("/Users").status_code == 200


@pytest.mark.parametrize("broken", BREAK)
def test_login_gate(make_env: MakeEnv, broken: bool) -> None:
    """An unprovisioned person's SSO login is refused; broken: they are let in."""
    env = _env(make_env, broken, "login_gate")
    response = env.login(env.email())
    assert response.status_code == (200 if broken else 403)
    if not broken:
        assert "not provisioned" in response.json()["detail"]


def test_setting_a_policy_key_governs_a_plain_organization(make_env: MakeEnv) -> None:
    """A seat cap set on the plain bootstrap organization is enforced from then on."""
    env = make_env(None)
    env.user("before-the-cap")
    env.ok("PATCH", env.org_path(), {"seat_cap": 1})
    assert env.ok("GET", env.org_path())["policy"]["seat_cap"] == 1
    env.user()
    assert "seat cap of 1 reached" in assert_error(env.post_user(), 403)["detail"]


def _counted(env: Env, org: str) -> tuple[int, int]:
    """(seats in use, pending grants) counted from the rows, not the counters."""
    with env.state.repo.read() as tx:
        used = tx.first(
            "SELECT count(*) FROM memberships WHERE tenant_id = ? AND seat = ?", (org, True)
        )
        pending = tx.first("SELECT count(*) FROM sso_grants WHERE tenant_id = ?", (org,))
    return int(used[0]), int(pending[0])


def test_seat_counters_agree_with_the_rows(make_env: MakeEnv) -> None:
    """The counters a seat check reads follow every membership and grant change."""
    env = make_env(
        {**POLICY, "seat_cap": 20, "accounts": "jit", "group_delete_removes_members": True}
    )
    users = [env.user(env.email()) for _ in range(4)]
    env.login(users[0]["userName"])
    env.login(users[1]["userName"])
    member = env.member(users[1]["userName"])
    assert member is not None
    path = env.org_path(f"/members/{member['account_id']}")
    env.ok("PATCH", path, {"role": "it_admin"})
    env.scim.delete(f"/Users/{users[2]['id']}")  # a pending grant goes
    group = env.group("g", [users[0]["id"], users[3]["id"]]).json()
    env.scim.delete(f"/Groups/{group['id']}")  # a member and a grant go
    seats = env.seats()
    assert (seats["used"], seats["pending"]) == _counted(env, env.org) == (0, 0)
    env.ok("PATCH", path, {"role": "member"})
    seats = env.seats()
    assert (seats["used"], seats["pending"]) == _counted(env, env.org) == (1, 0)


def test_jit_login_of_someone_who_joined_elsewhere_is_refused(make_env: MakeEnv) -> None:
    """Provisioned (JIT) here, then added to another organization: the first SSO login here
    does not move them (one organization at a time) and never answers 500."""
    env = make_env({**POLICY, "accounts": "jit"})
    email = env.email()
    env.user(email)
    other, _ = env.new_org()
    env.ok("POST", env.org_path("/members", other), {"email": email, "role": "member"}, 201)
    refused = assert_error(env.login(email), 403)
    assert "belongs to another organization" in refused["detail"]
    assert env.member(email, other) is not None


@pytest.mark.parametrize("accounts", ["eager", "jit"])
def test_one_user_per_person(make_env: MakeEnv, accounts: str) -> None:
    """A second User whose email (from `emails`) names an already provisioned person: 409."""
    env = make_env({**POLICY, "accounts": accounts})
    email = env.email()
    first = env.user(email)
    again = env.post_user("someone-else", emails=[{"value": email, "primary": True}])
    body = assert_error(again, 409, "uniqueness")
    assert (
        body["detail"]
        == f"{email} is already provisioned in this organization as User {first['id']}"
    )
