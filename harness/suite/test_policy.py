"""Provisioning policies (`--scim-policy FILE`): one check per promise of the contract's
Promises table (docs/ARCHITECTURE.md), each enforcing one sentence of SPEC.md "The
provisioning system" for the promises the policy file declares.

Effects SCIM shows are checked through SCIM; the rest (accounts, seats, logins, audit)
through the admin API of the file's `[admin]` section (the embedded server's own with
`--scim-url embedded`). Without it those checks skip and say so; a promise the policy makes
non-applicable (`seat_cap` null, `delete = "erase"` for re-association) skips with that
reason, keys left out taking the schema's defaults; checks that fill or reset a tenant or
create organizations run only with --scim-destructive (or against the embedded server, a
throwaway database). Without --scim-policy this module is not collected at all
(`harness.policy.session.PolicyRun`). They share one organization's seats, so under xdist
workers they error at once, sending nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import pytest

from harness.checks import expect_scim_error, expect_status
from harness.client import Recorder, Response, ScimClient
from harness.discovery import ENTERPRISE_URN, Capabilities
from harness.policy.admin import AdminClient
from harness.policy.loader import AdminSection, PolicyFile
from harness.policy.promises import promise
from harness.policy.session import POLICY_KEY
from harness.run import RunState
from harness.suite.conftest import CreatedResources
from harness.verdicts import Blocked, HarnessError, StateNotApplied, StatusMismatch, ValueMismatch

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
MAX_FILL = 200
"""Users a seat-cap check creates at most to reach the cap (a bigger gap skips)."""

Person = Callable[..., dict[str, Any]]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def policy_file(pytestconfig: pytest.Config, scim_state: RunState) -> PolicyFile:
    """The declared policy; with the embedded server, its printed admin API as `[admin]`."""
    loaded = pytestconfig.stash.get(POLICY_KEY, None)
    if loaded is None:
        raise HarnessError("the policy checks run only with --scim-policy FILE")
    if hasattr(pytestconfig, "workerinput"):
        raise HarnessError(
            "the policy checks share one organization's seats and injected failures, so they "
            "run in one process: run them without -n (e.g. -m policy)"
        )
    target = scim_state.target
    if target is not None and target.admin_url and target.organization and target.admin_token:
        section = AdminSection(target.admin_url, target.organization, token=target.admin_token)
        return loaded.with_admin(section)
    return loaded


@pytest.fixture(scope="session")
def _admin_session(
    policy_file: PolicyFile, scim_state: RunState
) -> Generator[AdminClient | None, None, None]:
    section = policy_file.admin
    if section is None:
        yield None
        return
    client = AdminClient(
        section.url,
        section.token,
        section.organization,
        timeout=scim_state.settings.timeout,
        recorder=Recorder("admin"),
    )
    yield client
    client.close()


@pytest.fixture
def maybe_admin(_admin_session: AdminClient | None, scim: ScimClient) -> AdminClient | None:
    """The admin API recording into this check's exchanges, or None without `[admin]`."""
    return None if _admin_session is None else _admin_session.bound(scim.recorder)


@pytest.fixture
def admin(maybe_admin: AdminClient | None) -> AdminClient:
    """The admin API; the check skips without an `[admin]` section."""
    if maybe_admin is None:
        pytest.skip(
            "the policy file has no [admin] section: this promise shows only through the "
            "admin API (accounts, seats, logins, audit), which SCIM does not expose"
        )
    return maybe_admin


def _destructive_allowed(state: RunState) -> bool:
    return state.settings.destructive or bool(state.target and state.target.embedded)


def _require_destructive(state: RunState, what: str) -> None:
    if not _destructive_allowed(state):
        pytest.skip(f"{what}; run with --scim-destructive to include it")


@pytest.fixture
def policy_destructive(scim_state: RunState) -> None:
    """Gate: fills or resets the tenant, or creates organizations (embedded: allowed)."""
    _require_destructive(scim_state, "changes tenant-wide state or creates organizations")


def needs(policy: PolicyFile, key: str, *values: Any) -> Any:
    """The value of `key` (declared, else the schema's default); skip when it is null or not
    one of `values`."""
    if not policy.declares(key):
        pytest.skip(f"policy {key} is not set (null): the promise does not apply")
    value = policy.get(key)
    if values and value not in values:
        shown = " or ".join(json.dumps(v) for v in values)
        pytest.skip(f"policy {key}={json.dumps(value)}: this check applies to {key}={shown}")
    return value


def _domains(policy: PolicyFile) -> list[str]:
    return [str(d).lower().lstrip("@") for d in policy.get("registered_domains", []) or []]


@pytest.fixture
def person(policy_file: PolicyFile, user_body: Callable[..., dict[str, Any]]) -> Person:
    """`person(domain=None, **overrides)`: a User body whose userName is an email address on
    the organization's first registered domain (example.com when it registers none)."""
    default = (_domains(policy_file) or ["example.com"])[0]

    def build(domain: str | None = None, **overrides: Any) -> dict[str, Any]:
        body = user_body(**overrides)
        local = str(body["userName"]).split("@", 1)[0]
        email = f"{local}@{domain or default}"
        body["userName"] = email
        body["emails"] = [{"value": email, "type": "work", "primary": True}]
        return body

    return build


def _users(capabilities: Capabilities) -> str:
    return capabilities.endpoint("User").rstrip("/")


def _groups(capabilities: Capabilities) -> str:
    if capabilities.resource_type("Group") is None:
        pytest.skip("the server declares no Group resource type: groups cannot be pushed")
    return capabilities.endpoint("Group").rstrip("/")


@pytest.fixture
def provision(
    scim: ScimClient, capabilities: Capabilities, created: CreatedResources
) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """`provision(body)`: POST /Users, 201 expected (else Blocked); deleted at the end."""

    def post(body: dict[str, Any]) -> dict[str, Any]:
        response = scim.post(_users(capabilities), json=body)
        if response.status != 201:
            raise Blocked(
                f"provisioning {body['userName']} (a prerequisite) answered {response.status}",
                exchanges=[response.exchange],
            )
        resource = response.json_object()
        created.add(_users(capabilities), resource)
        return resource

    return post


@pytest.fixture
def sign_in(admin: AdminClient) -> Callable[[str], dict[str, Any]]:
    """`sign_in(email)`: an SSO login that must succeed (jit: creates account and seat)."""

    def login(email: str) -> dict[str, Any]:
        response = admin.login(email)
        if response.status != 200:
            raise Blocked(
                f"the SSO login of a provisioned user {email} (a prerequisite) answered "
                f"{response.status}",
                exchanges=[response.exchange],
            )
        return response.json_object()

    return login


@pytest.fixture
def onboard(
    provision: Callable[[dict[str, Any]], dict[str, Any]],
    sign_in: Callable[[str], dict[str, Any]],
    person: Person,
    policy_file: PolicyFile,
) -> Callable[..., tuple[dict[str, Any], str]]:
    """`onboard(**overrides) -> (User, email)`: provisioned, and under jit signed in once,
    so the person has an account and a membership whatever `accounts` says."""

    def run(**overrides: Any) -> tuple[dict[str, Any], str]:
        body = person(**overrides)
        user = provision(body)
        email = str(body["userName"]).lower()
        if policy_file.get("accounts") == "jit":
            sign_in(email)
        return user, email

    return run


def _delete(scim: ScimClient, created: CreatedResources, path: str) -> Response:
    response = scim.delete(path)
    expect_status(response, 204, 200, why=f"DELETE {path} answered {response.status}")
    created.forget(path)
    return response


@pytest.fixture
def deprovision(
    scim: ScimClient, capabilities: Capabilities, created: CreatedResources
) -> Callable[[dict[str, Any]], Response]:
    """`deprovision(user)`: the IdP's unassign, a DELETE of the User (200 or 204)."""
    return lambda user: _delete(scim, created, f"{_users(capabilities)}/{user['id']}")


def _patch_active(scim: ScimClient, path: str, active: bool) -> Response:
    body = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": "active", "value": active}],
    }
    return scim.patch(path, json=body)


def _detail(body: dict[str, Any]) -> str:
    return str(body.get("detail") or "")


def _names(detail: str, needle: str, promise_id: str, response: Response) -> None:
    """The error detail names what a person acts on (the cap, the domain, the policy)."""
    __tracebackhide__ = True
    if needle.lower() not in detail.lower():
        raise ValueMismatch(
            f"the error detail does not name {needle!r}, which a person needs to act on it",
            clause=f"policy {promise_id}",
            expected=f"a detail mentioning {needle}",
            actual=detail or "(no detail)",
            exchanges=[response.exchange],
        )


def _state(
    message: str, promise_id: str, expected: Any, actual: Any, admin: Any = None
) -> NoReturn:
    __tracebackhide__ = True
    exchanges = list(admin.recorder.exchanges)[-4:] if isinstance(admin, AdminClient) else []
    raise StateNotApplied(
        message,
        clause=f"policy {promise_id}",
        expected=expected,
        actual=actual,
        exchanges=exchanges,
    )


def _num(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


def _committed(seats: dict[str, Any]) -> int:
    return _num(seats.get("used")) + _num(seats.get("pending"))


@contextmanager
def _organization(
    client: AdminClient, run_prefix: str, fields: dict[str, Any] | None = None
) -> Iterator[str]:
    """A throwaway organization (destructive checks only), deleted at the end."""
    body = {"name": f"{run_prefix}policy-org", **(fields or {})}
    created = client.expect(client.post("/organizations", body), 201)
    org = str(created.get("id") or "")
    if not org:
        raise Blocked("POST /organizations answered no id", exchanges=[])
    try:
        yield org
    finally:
        client.delete(client.org_path("", org))


def _ready_org_fields(run_prefix: str) -> dict[str, Any]:
    return {
        "admin": {
            "first_name": "Policy",
            "last_name": "Check",
            "email": f"{run_prefix}org-admin@example.com".lower(),
        },
        "sso": {"configured": True, "enforced": False},
    }


# -- seats ---------------------------------------------------------------------------------


@promise("seat_cap")
def test_policy_seat_cap(
    policy_file: PolicyFile,
    policy_destructive: None,
    maybe_admin: AdminClient | None,
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    person: Person,
) -> None:
    """SPEC: "Seat cap: at the cap, provisioning is refused with a clear error and no
    invitation is sent." Fills the tenant to the cap; the next POST is refused."""
    cap = int(needs(policy_file, "seat_cap"))
    status = int(policy_file.get("seat_cap_status", 403))
    admin = maybe_admin
    before = admin.seats() if admin else None
    room = cap - _committed(before) if before is not None else cap
    if room > MAX_FILL:
        pytest.skip(f"{room} seats free below the cap of {cap}: more than {MAX_FILL} to fill")
    users = _users(capabilities)
    for filled in range(max(room, 0) + 1):
        body = person()
        if admin is not None and filled == room:
            before = admin.seats()
        response = scim.post(users, json=body)
        if response.status == 201:
            created.add(users, response.json_object())
            continue
        if admin is not None and filled < room:
            raise StatusMismatch(
                f"POST {users} was refused with {filled} of the {room} free seats below the "
                f"cap of {cap} filled",
                clause="policy seat_cap",
                expected="201 below the cap",
                actual=str(response.status),
                exchanges=[response.exchange],
            )
        error = expect_scim_error(response, status, clause="policy seat_cap")
        _names(_detail(error), str(cap), "seat_cap", response)
        if admin is not None:
            email = str(body["userName"])
            if admin.invitations(email):
                _state("an invitation was sent at the cap", "seat_cap", "none", email, admin)
            after = admin.seats()
            assert before is not None
            if _num(after.get("billed")) != _num(before.get("billed")):
                _state(
                    "the refused POST changed the billed seats",
                    "seat_cap",
                    before.get("billed"),
                    after.get("billed"),
                    admin,
                )
        return
    raise StatusMismatch(
        f"{max(room, 0) + 1} users were provisioned with {max(room, 0)} seats free below a "
        f"cap of {cap}: the cap was not enforced",
        clause="policy seat_cap",
        expected=f"{status} at the cap",
        actual="201",
        exchanges=list(scim.recorder.exchanges)[-2:],
    )


@promise("seat_billing")
def test_policy_seat_billing(
    policy_file: PolicyFile,
    scim_state: RunState,
    admin: AdminClient,
    provision: Callable[[dict[str, Any]], dict[str, Any]],
    sign_in: Callable[[str], dict[str, Any]],
    person: Person,
) -> None:
    """SPEC: "Below it, provisioning raises the billed seat count automatically" (eager: at
    provisioning; jit: "account and seat at the first SSO login")."""
    mode = needs(policy_file, "accounts", "eager", "jit")
    before = admin.seats()
    slack = max(_num(before.get("billed")) - _num(before.get("used")), 0)
    if slack and _destructive_allowed(scim_state):  # billed seats nobody uses: reconcile
        admin.expect(admin.post(admin.org_path("/billing/reconcile")), 200, 201, 204)
        before = admin.seats()
        slack = max(_num(before.get("billed")) - _num(before.get("used")), 0)
    count = slack + 1  # enough new seats to pass the billed count
    cap = policy_file.get("seat_cap")
    if count > 20 or (cap is not None and _committed(before) + count > int(cap)):
        pytest.skip(
            f"{count} new users needed to pass the billed count of {before.get('billed')}: "
            f"more than policy seat_cap={cap} leaves room for (a billing reconciliation "
            "would lower it; run with --scim-destructive)"
        )
    emails = [str(provision(person())["userName"]).lower() for _ in range(count)]
    if mode == "jit":
        posted = admin.seats()
        if _num(posted.get("billed")) != _num(before.get("billed")):
            _state(
                "under jit, provisioning alone changed the billed seats",
                "seat_billing",
                before.get("billed"),
                posted.get("billed"),
                admin,
            )
        for email in emails:
            sign_in(email)
    after = admin.seats()
    billed, used = _num(after.get("billed")), _num(after.get("used"))
    if billed < used or billed <= _num(before.get("billed")):
        _state(
            f"{count} new seat(s) past the billed count did not raise it ({mode})",
            "seat_billing",
            f"billed above {before.get('billed')} and at least used ({used})",
            f"billed {billed}",
            admin,
        )


@promise("seat_release")
def test_policy_seat_release(
    policy_file: PolicyFile,
    admin: AdminClient,
    scim_state: RunState,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    deprovision: Callable[[dict[str, Any]], Response],
) -> None:
    """SPEC: "removing users does not lower it until a billing reconciliation (another vendor
    frees the seat at once: a policy setting)"."""
    mode = needs(policy_file, "seat_release", "on_deprovision", "on_reconciliation")
    if mode == "on_reconciliation":
        _require_destructive(scim_state, "runs a billing reconciliation of the tenant")
    user, _ = onboard()
    held = admin.seats()
    deprovision(user)
    after = admin.seats()
    billed = _num(held.get("billed"))
    if _num(after.get("used")) >= _num(held.get("used")):
        _state("DELETE did not free the seat", "seat_release", "used - 1", after, admin)
    if mode == "on_deprovision":
        if _num(after.get("billed")) >= billed:
            _state("billed seats did not drop at DELETE", "seat_release", billed - 1, after, admin)
        return
    if _num(after.get("billed")) != billed:
        _state("billed seats changed before reconciliation", "seat_release", billed, after, admin)
    admin.expect(admin.post(admin.org_path("/billing/reconcile")), 200, 201, 204)
    reconciled = admin.seats()
    if _num(reconciled.get("billed")) >= billed:
        _state(
            "billed seats did not drop at reconciliation",
            "seat_release",
            "lower",
            reconciled,
            admin,
        )


# -- accounts ------------------------------------------------------------------------------


@promise("jit_accounts")
def test_policy_jit_accounts(
    policy_file: PolicyFile,
    admin: AdminClient,
    provision: Callable[[dict[str, Any]], dict[str, Any]],
    person: Person,
) -> None:
    """SPEC: "Just-in-time mode: ... the account is created and a seat allocated at the first
    SSO login. Eager mode: account and seat at provisioning." """
    mode = needs(policy_file, "accounts", "eager", "jit")
    email = str(provision(person())["userName"]).lower()
    account = admin.account(email)
    if mode == "eager":
        if account is None:
            _state("eager: no account after provisioning", "jit_accounts", email, None, admin)
        return
    if account is not None:
        _state(
            "jit: an account exists before the first login", "jit_accounts", None, account, admin
        )
    response = admin.login(email)
    body = admin.expect(response, 200, why=f"jit: the first SSO login answered {response.status}")
    if body.get("created") is not True or body.get("seat") is not True:
        _state("jit: the first login created no account or seat", "jit_accounts", True, body, admin)
    account = admin.account(email)
    if account is None or account.get("organization") != admin.organization:
        _state(
            "jit: no account in the organization after login", "jit_accounts", email, account, admin
        )


@promise("domain_allow_list")
def test_policy_domain_allow_list(
    policy_file: PolicyFile,
    maybe_admin: AdminClient | None,
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    person: Person,
    run_prefix: str,
) -> None:
    """SPEC: "a user whose email domain is not one of the organization's registered domains is
    not provisioned (... a clear SCIM error in its strict setting and record the skip in the
    audit log in its lenient one)"."""
    mode = needs(policy_file, "domain_policy", "strict", "lenient")
    if not _domains(policy_file):
        pytest.skip("the policy registers no domains (registered_domains): no domain check")
    domain = f"{run_prefix.strip('-')}.example.net".lower()
    body = person(domain=domain)
    users = _users(capabilities)
    response = scim.post(users, json=body)
    if mode == "strict":
        if response.status == 201:
            created.add(users, response.json_object())
        error = expect_scim_error(response, 400, "invalidValue", clause="policy domain_allow_list")
        _names(_detail(error), domain, "domain_allow_list", response)
        return
    expect_status(response, 201, clause="policy domain_allow_list")
    resource = response.json_object()
    if resource.get("id"):
        created.add(users, resource)
        stored = scim.get(f"{users}/{resource['id']}")
        expect_status(
            stored,
            404,
            clause="policy domain_allow_list",
            why=f"lenient: the user of an unregistered domain was stored ({stored.status})",
        )
    if maybe_admin is None:
        return
    email = str(body["userName"]).lower()
    if maybe_admin.member(email) is not None:
        _state("lenient: the user became a member", "domain_allow_list", None, email, maybe_admin)
    events = maybe_admin.audit(action="user.create", outcome="skipped")
    rid = resource.get("id")
    if not any(
        (rid and e.get("resource_id") == rid) or email in json.dumps(e).lower() for e in events
    ):
        _state("lenient: no audit event 'skipped'", "domain_allow_list", email, None, maybe_admin)


@promise("one_organization")
def test_policy_one_organization(
    policy_destructive: None,
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    person: Person,
    run_prefix: str,
) -> None:
    """SPEC: "A person belongs to one organization at a time: provisioning someone who is a
    member elsewhere does not move them." """
    body = person()
    email = str(body["userName"]).lower()
    with _organization(admin, run_prefix) as other:
        added = admin.post(admin.org_path("/members", other), {"email": email, "role": "member"})
        admin.expect(added, 200, 201, why="adding a member to a fresh organization failed")
        users = _users(capabilities)
        response = scim.post(users, json=body)
        if response.status in (200, 201):
            created.add(users, response.json_object())
        error = expect_scim_error(response, 409, "uniqueness", clause="policy one_organization")
        _names(_detail(error), email, "one_organization", response)
        account = admin.account(email)
        if account is None or account.get("organization") != other:
            _state("the person was moved", "one_organization", other, account, admin)


@promise("deactivation")
def test_policy_deactivation(
    policy_file: PolicyFile,
    maybe_admin: AdminClient | None,
    scim: ScimClient,
    capabilities: Capabilities,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    provision: Callable[[dict[str, Any]], dict[str, Any]],
    person: Person,
) -> None:
    """SPEC: "Deactivation (active=false) suspends access at once: the user cannot sign in. One
    vendor does not support deactivate/reactivate at all (... the server must refuse it
    clearly)." """
    mode = needs(policy_file, "deactivation", "supported", "refused")
    if mode == "refused":
        user = provision(person())
        response = _patch_active(scim, f"{_users(capabilities)}/{user['id']}", False)
        error = expect_scim_error(response, 400, "invalidValue", clause="policy deactivation")
        _names(_detail(error), "deactivation", "deactivation", response)
        return
    if maybe_admin is None:
        pytest.skip("no [admin] section: sign-in is observed through the admin API's /login")
    admin = maybe_admin
    user, email = onboard()
    path = f"{_users(capabilities)}/{user['id']}"
    expect_status(admin.login(email), 200, why="a provisioned user could not sign in")
    expect_status(_patch_active(scim, path, False), 200, 204, clause="policy deactivation")
    refused = admin.login(email)
    expect_status(refused, 403, clause="policy deactivation", why="a suspended user signed in")
    expect_status(_patch_active(scim, path, True), 200, 204, clause="policy deactivation")
    restored = admin.login(email)
    expect_status(restored, 200, why="reactivation did not restore sign-in")


@promise("delete_account")
def test_policy_delete_account(
    policy_file: PolicyFile,
    admin: AdminClient,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    deprovision: Callable[[dict[str, Any]], Response],
) -> None:
    """SPEC: "Deprovisioning ... keeps the account and its authentication record. (Another
    vendor's DELETE erases the account for good ...: a policy setting.)" """
    mode = needs(policy_file, "delete", "keep_account", "erase")
    user, email = onboard()
    account = admin.account(email)
    if account is None:
        raise Blocked(f"no account for {email} after provisioning and sign-in")
    deprovision(user)
    after = admin.account(email)
    if mode == "keep_account" and (after is None or after.get("id") != account.get("id")):
        _state("keep_account: DELETE erased the account", "delete_account", account, after, admin)
    if mode == "erase" and after is not None:
        _state("erase: the account outlived DELETE", "delete_account", None, after, admin)


@promise("reassociation")
def test_policy_reassociation(
    policy_file: PolicyFile,
    admin: AdminClient,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    provision: Callable[[dict[str, Any]], dict[str, Any]],
    sign_in: Callable[[str], dict[str, Any]],
    person: Person,
    deprovision: Callable[[dict[str, Any]], Response],
) -> None:
    """SPEC: "Provisioning the same person again re-associates the existing account." """
    needs(policy_file, "delete", "keep_account")
    user, email = onboard()
    account = admin.account(email)
    if account is None:
        raise Blocked(f"no account for {email} after provisioning and sign-in")
    deprovision(user)
    again = person()
    again["userName"] = user["userName"]
    again["emails"] = [{"value": user["userName"], "type": "work", "primary": True}]
    provision(again)
    if policy_file.get("accounts") == "jit":
        sign_in(email)
    after = admin.account(email)
    member = admin.member(email)
    if after is None or after.get("id") != account.get("id"):
        _state("re-provisioning made a new account", "reassociation", account, after, admin)
    if member is None or member.get("account_id") != account.get("id"):
        _state("the membership is not the old account's", "reassociation", account, member, admin)


@promise("sso_enforcement")
def test_policy_sso_enforcement(
    policy_file: PolicyFile,
    admin: AdminClient,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    deprovision: Callable[[dict[str, Any]], Response],
) -> None:
    """SPEC: "Without SSO enforcement a removed user may still sign in by other methods; with
    it, never." """
    enforced = needs(policy_file, "sso_enforced", True, False)
    if not enforced and policy_file.get("delete") == "erase":
        pytest.skip("policy delete=erase: a removed user has no account left to sign in with")
    user, email = onboard()
    deprovision(user)
    response = admin.login(email, method="password")
    expected = 403 if enforced else 200
    why = f"a removed user's password login, sso_enforced={json.dumps(enforced)}"
    expect_status(response, expected, clause="policy sso_enforcement", why=why)


@promise("member_role")
def test_policy_member_role(
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    onboard: Callable[..., tuple[dict[str, Any], str]],
) -> None:
    """SPEC: "Every provisioned user gets the Member role; roles are not mapped from the IdP;
    admins can still change roles." Also: "an IT-admin role that has no product access and
    takes no paid seat", and "The IdP is the source of truth": the next sync rewrites the
    profile but leaves the role an admin gave."""
    user, email = onboard()
    member = admin.member(email)
    if member is None:
        raise Blocked(f"{email} is not listed as a member after provisioning")
    if member.get("role") != "member":
        _state("a provisioned user is not a Member", "member_role", "member", member, admin)
    path = admin.org_path(f"/members/{member.get('account_id')}")
    used = admin.seats().get("used")
    changed = admin.patch(path, {"role": "it_admin"})
    admin.expect(changed, 200, why="an admin's role change was refused while SCIM manages")
    after = admin.member(email)
    if after is None or after.get("role") != "it_admin" or after.get("seat"):
        _state("an IT admin still takes a paid seat", "member_role", "it_admin", after, admin)
    freed = admin.seats().get("used")
    if isinstance(used, int) and freed != used - 1:
        _state(f"seats used {used} -> {freed} for an IT admin", "member_role", used, freed, admin)
    admin.expect(admin.patch(path, {"role": "org_admin"}), 200, why="a role change was refused")
    resynced = scim.patch(
        f"{_users(capabilities)}/{user['id']}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Resynced Name"}],
        },
    )
    expect_status(resynced, 200, 204, clause="policy member_role")
    synced = admin.member(email)
    if synced is None or synced.get("role") != "org_admin":
        _state("the next sync reset an admin's role", "member_role", "org_admin", synced, admin)
    if synced.get("display_name") != "Resynced Name":
        _state("the sync did not reach the member", "member_role", "Resynced Name", synced, admin)
    admin.patch(path, {"role": "member"})


def _scim_managed(admin: AdminClient, organization: str | None = None) -> None:
    info = admin.organization_info(organization)
    directory = info.get("directory") or {}
    status = directory.get("status") if isinstance(directory, dict) else None
    if status not in ("active", "deactivated"):
        pytest.skip(
            f"the organization has no directory connection ({status}): SCIM does not manage it"
        )


@promise("manual_management")
def test_policy_manual_management(
    admin: AdminClient, onboard: Callable[..., tuple[dict[str, Any], str]], person: Person
) -> None:
    """SPEC: "Enabling SCIM turns manual user management off: adding, inviting, bulk inviting,
    removing members and revoking invitations are refused"."""
    _scim_managed(admin)
    _, email = onboard()
    member = admin.member(email)
    if member is None:
        raise Blocked(f"{email} is not listed as a member after provisioning")
    stranger = str(person()["userName"]).lower()
    attempts = [
        ("add", admin.post(admin.org_path("/members"), {"email": stranger, "role": "member"})),
        ("invite", admin.post(admin.org_path("/invitations"), {"email": stranger})),
        ("remove", admin.delete(admin.org_path(f"/members/{member.get('account_id')}"))),
    ]
    pending = [i for i in admin.invitations() if i.get("status") == "pending"]
    if pending:
        revoke = admin.delete(admin.org_path(f"/invitations/{pending[0].get('id')}"))
        attempts.append(("revoke", revoke))
    allowed = [(what, r) for what, r in attempts if r.status != 409]
    if allowed:
        raise StatusMismatch(
            "manual " + ", ".join(w for w, _ in allowed) + " not refused while SCIM manages",
            clause="policy manual_management",
            expected="409",
            actual=", ".join(f"{w}: {r.status}" for w, r in allowed),
            exchanges=[r.exchange for _, r in allowed],
        )


@promise("directory_lifecycle")
def test_policy_directory_lifecycle(
    policy_destructive: None, admin: AdminClient, run_prefix: str, person: Person
) -> None:
    """SPEC: "Activating the directory connection imports the domains registered with it ...;
    users who already exist in the IdP are not backfilled" and "Deleting the directory
    connection turns manual management back on and keeps every membership; deactivating it
    does not." """
    domain = f"{run_prefix.strip('-')}.directory.example".lower()
    with _organization(admin, run_prefix, _ready_org_fields(run_prefix)) as org:
        members = admin.org_path("/members", org)
        kept = str(person(domain=domain)["userName"]).lower()
        admin.expect(admin.post(members, {"email": kept, "role": "member"}), 200, 201)
        before = {m.get("email") for m in admin.items(members)}
        admin.expect(admin.put(admin.org_path("/directory", org), {"domains": [domain]}), 200, 201)
        admin.expect(admin.post(admin.org_path("/directory/activate", org)), 200, 201, 204)
        info = admin.organization_info(org)
        if domain not in [str(d).lower() for d in info.get("domains") or []]:
            _state(
                "activation did not import the domain", "directory_lifecycle", domain, info, admin
            )
        if {m.get("email") for m in admin.items(members)} != before:
            _state("activation backfilled members", "directory_lifecycle", before, None, admin)

        def manual_add() -> Response:
            return admin.post(
                members, {"email": str(person()["userName"]).lower(), "role": "member"}
            )

        expect_status(manual_add(), 409, why="manual add allowed with an active directory")
        admin.expect(admin.post(admin.org_path("/directory/deactivate", org)), 200, 201, 204)
        expect_status(manual_add(), 409, why="deactivating the directory re-enabled manual adds")
        admin.expect(admin.delete(admin.org_path("/directory", org)), 200, 204)
        if admin.member(kept, org) is None:
            _state(
                "deleting the directory dropped a member", "directory_lifecycle", kept, None, admin
            )
        expect_status(
            manual_add(), 200, 201, why="manual adds stay off after the directory is deleted"
        )


# -- credentials and the SCIM switch ---------------------------------------------------------


def _scim_as(scim: ScimClient, token: str) -> ScimClient:
    """The target's SCIM API with another token (same origin), recording into this check."""
    return ScimClient(scim.base_url, token, timeout=scim.timeout, recorder=scim.recorder)


@promise("token_rotation")
def test_policy_token_rotation(
    admin: AdminClient, scim: ScimClient, capabilities: Capabilities
) -> None:
    """SPEC: "The admin generates a bearer token; it is shown once. Regenerating it
    invalidates the previous token at once." """
    tokens = admin.org_path("/tokens")
    issued = admin.expect(admin.post(tokens), 201)
    token_id, first = str(issued.get("id") or ""), str(issued.get("token") or "")
    if not token_id or not first:
        raise Blocked("POST .../tokens answered no id or token")
    users = _users(capabilities)
    try:
        with _scim_as(scim, first) as old:
            expect_status(old.get(users, params={"count": 1}), 200, why="a new token was refused")
            rotated = admin.expect(admin.post(f"{tokens}/{token_id}/regenerate"), 200, 201)
            second = str(rotated.get("token") or "")
            stale = old.get(users, params={"count": 1})
            why = "the regenerated token's old secret still works"
            expect_status(stale, 401, clause="policy token_rotation", why=why)
        with _scim_as(scim, second) as new:
            expect_status(
                new.get(users, params={"count": 1}), 200, why="the new secret was refused"
            )
        listing = admin.get(tokens)
        admin.expect(listing, 200)
        if first in listing.text or second in listing.text:
            _state("the token list shows a secret", "token_rotation", "ids only", "a secret", admin)
    finally:
        admin.delete(f"{tokens}/{token_id}")


@promise("scim_prerequisites")
def test_policy_scim_prerequisites(
    policy_destructive: None, admin: AdminClient, run_prefix: str
) -> None:
    """SPEC: "The admin's profile (first name, last name, email) must be complete first; SSO
    must be set up before SCIM can be." """
    with _organization(admin, run_prefix) as org:
        enable = admin.org_path("/scim/enable", org)
        early = admin.post(enable)
        body = expect_scim_error(early, 409, clause="policy scim_prerequisites")
        if not any(word in _detail(body).lower() for word in ("sso", "profile", "admin")):
            _names(_detail(body), "SSO", "scim_prerequisites", early)
        admin.expect(admin.patch(admin.org_path("", org), _ready_org_fields(run_prefix)), 200)
        admin.expect(admin.post(enable), 200, why="enabling SCIM failed with the prerequisites met")


@promise("scim_switch")
def test_policy_scim_switch(
    policy_destructive: None,
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    run_prefix: str,
) -> None:
    """SPEC: "SCIM is configured per organization by an org admin": an organization whose SCIM
    is disabled answers its SCIM requests 403."""
    users = _users(capabilities)
    with _organization(admin, run_prefix, _ready_org_fields(run_prefix)) as org:
        admin.expect(admin.post(admin.org_path("/scim/enable", org)), 200)
        issued = admin.expect(admin.post(admin.org_path("/tokens", org)), 201)
        with _scim_as(scim, str(issued.get("token") or "")) as theirs:
            expect_status(theirs.get(users, params={"count": 1}), 200, why="SCIM is enabled")
            admin.expect(admin.post(admin.org_path("/scim/disable", org)), 200)
            off = theirs.get(users, params={"count": 1})
            expect_scim_error(off, 403, clause="policy scim_switch")


# -- attributes and groups -------------------------------------------------------------------


@promise("attribute_mapping")
def test_policy_attribute_mapping(
    admin: AdminClient,
    capabilities: Capabilities,
    onboard: Callable[..., tuple[dict[str, Any], str]],
) -> None:
    """SPEC: "Attribute mapping: userName -> email, name.givenName -> first name,
    name.familyName -> last name, displayName, title, active -> account status, enterprise
    extension department -> department"."""
    extra: dict[str, Any] = {}
    if capabilities.schema(ENTERPRISE_URN) is not None:
        extra = {ENTERPRISE_URN: {"department": "Policy Checks"}}
    user, email = onboard(**extra)
    member = admin.member(email)
    if member is None:
        raise Blocked(f"{email} is not listed as a member after provisioning")
    expected = {
        "email": email,
        "first_name": user.get("name", {}).get("givenName"),
        "last_name": user.get("name", {}).get("familyName"),
        "display_name": user.get("displayName"),
        "title": user.get("title"),
        "status": "active",
    }
    if extra:
        expected["department"] = "Policy Checks"
    wrong = {
        k: member.get(k)
        for k, v in expected.items()
        if str(member.get(k)).lower() != str(v).lower()
    }
    if wrong:
        _state(
            "attributes did not arrive on the member", "attribute_mapping", expected, wrong, admin
        )


@promise("teams_from_idp")
def test_policy_teams_from_idp(
    policy_file: PolicyFile,
    maybe_admin: AdminClient | None,
    scim: ScimClient,
    scim_state: RunState,
    capabilities: Capabilities,
    created: CreatedResources,
    group_body: Callable[..., dict[str, Any]],
) -> None:
    """SPEC: "Group push: an IdP group becomes a team" and "One vendor cannot create or delete
    teams from the IdP (a policy setting)"."""
    allowed = needs(policy_file, "teams_from_idp", True, False)
    groups = _groups(capabilities)
    response = scim.post(groups, json=group_body())
    if response.status == 201:
        created.add(groups, response.json_object())
    if allowed:
        expect_status(response, 201, clause="policy teams_from_idp")
        _delete(scim, created, f"{groups}/{response.json_object()['id']}")
        return
    error = expect_scim_error(response, 403, clause="policy teams_from_idp")
    _names(_detail(error), "teams_from_idp", "teams_from_idp", response)
    if maybe_admin is None or not _destructive_allowed(scim_state):
        return  # deleting needs an admin-made team, which nothing can delete afterwards
    team = maybe_admin.expect(
        maybe_admin.post(
            maybe_admin.org_path("/teams"), {"display_name": group_body()["displayName"]}
        ),
        201,
    )
    refused = scim.delete(f"{groups}/{team.get('id')}")
    expect_scim_error(refused, 403, clause="policy teams_from_idp")


def _team(admin: AdminClient, group_id: str) -> dict[str, Any]:
    team = next((t for t in admin.teams() if t.get("id") == group_id), None)
    if team is None:
        _state("the pushed group is not a team", "group_access", group_id, None, admin)
    assert team is not None
    return team


@promise("group_access")
def test_policy_group_access(
    policy_file: PolicyFile,
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    make_group: Callable[..., dict[str, Any]],
) -> None:
    """SPEC: "an IdP group becomes a team; its members become team members. Removing a user
    from a group that grants access revokes that access. A default team receives new users
    that no group placed." """
    pushed = bool(policy_file.get("teams_from_idp"))
    default = policy_file.get("default_team")
    if not pushed and not default:
        pytest.skip("policy teams_from_idp=false and no default_team: no team comes from SCIM")
    _, loose_email = onboard()
    if default:
        loose = admin.member(loose_email) or {}
        if default not in (loose.get("teams") or []):
            _state(
                "a user no group placed missed the default team",
                "group_access",
                default,
                loose,
                admin,
            )
    if not pushed:
        return  # teams_from_idp=false: only the default team applies
    groups = _groups(capabilities)
    placed, placed_email = onboard()
    account = (admin.member(placed_email) or {}).get("account_id")
    group = make_group(members=[placed])
    if account not in (_team(admin, group["id"]).get("members") or []):
        _state("a group member did not join the team", "group_access", account, None, admin)
    removal = {
        "schemas": [PATCH_OP],
        "Operations": [{"op": "remove", "path": f'members[value eq "{placed["id"]}"]'}],
    }
    expect_status(scim.patch(f"{groups}/{group['id']}", json=removal), 200, 204)
    if account in (_team(admin, group["id"]).get("members") or []):
        _state("removal from the group kept the team access", "group_access", None, account, admin)


@promise("group_delete")
def test_policy_group_delete(
    policy_file: PolicyFile,
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    onboard: Callable[..., tuple[dict[str, Any], str]],
    make_group: Callable[..., dict[str, Any]],
) -> None:
    """SPEC: "Deleting a group removes all its users from the organization and revokes their
    pending invitations." (a policy setting: group_delete_removes_members)"""
    removes = needs(policy_file, "group_delete_removes_members", True, False)
    needs(policy_file, "teams_from_idp", True)
    user, email = onboard()
    group = make_group(members=[user])
    _delete(scim, created, f"{_groups(capabilities)}/{group['id']}")
    member = admin.member(email)
    if removes and member is not None:
        _state("deleting the group kept its member", "group_delete", None, member, admin)
    if removes and any(i.get("status") == "pending" for i in admin.invitations(email)):
        _state(
            "a deleted group's invitation is still pending", "group_delete", "revoked", email, admin
        )
    if not removes and member is None:
        _state("deleting the group removed its member", "group_delete", email, None, admin)


# -- failures, audit, sign-up, sign-in -------------------------------------------------------


@promise("invitation_fallback")
def test_policy_invitation_fallback(
    policy_file: PolicyFile,
    policy_destructive: None,
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    person: Person,
    provision: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    """SPEC: "A transient failure while provisioning falls back to an email invitation (never
    when the seat cap is the cause)." Without the fallback: 503, nothing stored."""
    fallback = needs(policy_file, "invitation_fallback", True, False)
    users = _users(capabilities)
    faults = admin.org_path("/faults")

    def post_with_fault() -> tuple[Response, str]:
        admin.expect(admin.post(faults, {"transient_failures": 1}), 200, 201, 204)
        body = person()
        response = scim.post(users, json=body)
        if 200 <= response.status < 300 and response.json_object().get("id"):
            created.add(users, response.json_object())
        return response, str(body["userName"]).lower()

    try:
        response, email = post_with_fault()
        if fallback:
            invited = [i for i in admin.invitations(email) if i.get("reason") == "fallback"]
            if not invited:
                _state(
                    "a transient failure sent no invitation",
                    "invitation_fallback",
                    email,
                    None,
                    admin,
                )
            _never_at_the_cap(policy_file, admin, provision, person, post_with_fault)
            return
        if response.status != 503 or not response.headers.get("retry-after"):
            raise StatusMismatch(
                "a transient failure without fallback did not answer 503 with Retry-After",
                clause="policy invitation_fallback",
                expected="503 + Retry-After",
                actual=f"{response.status} Retry-After={response.headers.get('retry-after')}",
                exchanges=[response.exchange],
            )
        if admin.member(email) is not None or admin.invitations(email):
            _state(
                "a failed provisioning stored something", "invitation_fallback", None, email, admin
            )
    finally:
        admin.post(faults, {"transient_failures": 0})  # a fault the cap kept from firing


def _never_at_the_cap(
    policy_file: PolicyFile,
    admin: AdminClient,
    provision: Callable[[dict[str, Any]], dict[str, Any]],
    person: Person,
    post_with_fault: Callable[[], tuple[Response, str]],
) -> None:
    """Filled to the cap, a POST meeting a transient failure is refused for the cap and
    sends no invitation."""
    if not policy_file.declares("seat_cap"):
        return
    cap = int(policy_file.get("seat_cap"))
    room = cap - _committed(admin.seats())
    if room > MAX_FILL:
        return
    for _ in range(max(room, 0)):
        provision(person())
    response, email = post_with_fault()
    status = int(policy_file.get("seat_cap_status", 403))
    expect_scim_error(response, status, clause="policy invitation_fallback")
    if admin.invitations(email):
        _state("an invitation was sent at the cap", "invitation_fallback", None, email, admin)


@promise("audit_log")
def test_policy_audit_log(
    admin: AdminClient,
    scim: ScimClient,
    capabilities: Capabilities,
    created: CreatedResources,
    person: Person,
) -> None:
    """SPEC: "Every SCIM event is written to an audit log (who: which token; what; which
    resource; outcome; when), readable by the admin." Refused writes included."""
    users = _users(capabilities)
    tokens = admin.org_path("/tokens")
    issued = admin.expect(admin.post(tokens), 201)
    token_id, secret = str(issued.get("id") or ""), str(issued.get("token") or "")
    try:
        with _scim_as(scim, secret) as theirs:  # a token whose id the log must name
            body = person()
            response = theirs.post(users, json=body)
            expect_status(response, 201, why="provisioning with a fresh token failed")
            user = response.json_object()
            created.add(users, user)
            refused_before = len(admin.audit(action="user.create", outcome="refused"))
            duplicate = theirs.post(users, json=body)
            why = "a duplicate userName was accepted"
            expect_status(duplicate, 409, clause="policy audit_log", why=why)
    finally:
        admin.delete(f"{tokens}/{token_id}")
    events = admin.audit(resource_id=user["id"])
    made = [e for e in events if e.get("action") == "user.create" and e.get("outcome") == "ok"]
    if not made:
        _state("no audit event for a create", "audit_log", "user.create ok", events, admin)
    event = made[-1]
    if event.get("actor") != token_id or not event.get("time") or secret in json.dumps(event):
        _state(
            "the create's audit event does not name its token (by id) and a time",
            "audit_log",
            f"actor {token_id}, a time, never the secret",
            event,
            admin,
        )
    refused = admin.audit(action="user.create", outcome="refused")
    mine = [e for e in refused[refused_before:] if e.get("actor") == token_id]
    if not mine:
        _state(
            "a refused write left no audit event naming its token",
            "audit_log",
            f"a refused user.create by {token_id}",
            refused[refused_before:],
            admin,
        )


@promise("signup")
def test_policy_signup(policy_file: PolicyFile, admin: AdminClient, person: Person) -> None:
    """SPEC: "Users on SCIM-managed domains cannot self-register." """
    if not _domains(policy_file):
        pytest.skip("the policy registers no domains (registered_domains): none is SCIM-managed")
    _scim_managed(admin)
    response = admin.post("/signup", {"email": str(person()["userName"]).lower()})
    why = "self-signup on a SCIM-managed domain was not refused"
    expect_status(response, 403, clause="policy signup", why=why)


@promise("login_gate")
def test_policy_login_gate(admin: AdminClient, person: Person) -> None:
    """SPEC: "Just-in-time mode: a provisioned user only gains permission to sign in with SSO":
    a person never provisioned cannot sign in."""
    response = admin.login(str(person()["userName"]).lower())
    why = "an unprovisioned person's SSO login was not refused"
    expect_status(response, 403, clause="policy login_gate", why=why)
