"""The provisioning policies on the SCIM write path: called by `endpoints.operations`
inside the request's transaction, so a refusal rolls back everything the request did.

A plain organization (no policy) skips every rule; its only extra cost is the audit row.
Each function's docstring quotes the SPEC.md sentence it implements.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from reference_server.endpoints.common import Ctx
from reference_server.provisioning.orgs import OrgState
from reference_server.provisioning.store import Account, Membership, Store
from reference_server.scim.errors import (
    Forbidden,
    InvalidValue,
    Refused,
    ScimError,
    ServiceUnavailable,
    Uniqueness,
)
from reference_server.storage.database import Tx

__all__ = [
    "UserPlan",
    "audit",
    "check_cap",
    "check_group_write",
    "deprovision",
    "email_of",
    "group_deleted",
    "keeps_removed_members",
    "plan_user_create",
    "profile_of",
    "provision_user",
    "raise_billing",
    "refusals",
    "release_seat",
    "user_changed",
    "user_deleted",
]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def audit(
    conn: Tx,
    ctx: Ctx,
    action: str,
    resource_type: str,
    resource_id: str | None,
    outcome: str = "ok",
    detail: str = "",
) -> None:
    """One audit event per SCIM write, in the write's own transaction.

    SPEC: "Every SCIM event is written to an audit log (who: which token; what; which
    resource; outcome; when), readable by the admin."
    """
    Store(conn).audit(ctx.tenant, ctx.actor, action, resource_type, resource_id, outcome, detail)


@contextmanager
def refusals(ctx: Ctx, action: str, resource_type: str, resource_id: str | None) -> Iterator[None]:
    """A refused write (a SCIM error) is audited too, in a small transaction of its own:
    the request's transaction has rolled back."""
    try:
        yield
    except ScimError as exc:
        if not ctx.org.breaks("audit_log"):
            outcome = "error" if exc.status >= 500 else "refused"
            with ctx.state.repo.write() as conn:
                audit(conn, ctx, action, resource_type, resource_id, outcome, exc.detail)
        raise


# --- attribute mapping -------------------------------------------------------------------


def email_of(data: dict[str, Any]) -> str | None:
    """SPEC: "`userName` must be the user's email address and is the identity key": the
    lower-cased userName when it has an `@`, else the primary (or first) email."""
    user_name = data.get("userName")
    if isinstance(user_name, str) and "@" in user_name:
        return user_name.strip().lower()
    emails = [e for e in data.get("emails") or [] if isinstance(e, dict)]
    chosen = next((e for e in emails if e.get("primary") is True), emails[0] if emails else None)
    value = chosen.get("value") if chosen else None
    return value.strip().lower() if isinstance(value, str) and "@" in value else None


def profile_of(org: OrgState, data: dict[str, Any]) -> dict[str, Any]:
    """SPEC: "Attribute mapping: userName -> email, name.givenName -> first name,
    name.familyName -> last name, displayName, title, active -> account status, enterprise
    extension department -> department"."""
    name = data.get("name") if isinstance(data.get("name"), dict) else {}
    enterprise = data.get(ENTERPRISE) if isinstance(data.get(ENTERPRISE), dict) else {}
    assert isinstance(name, dict)
    assert isinstance(enterprise, dict)
    department = enterprise.get("department")
    return {
        "first_name": name.get("givenName"),
        "last_name": name.get("familyName"),
        "display_name": data.get("displayName"),
        "title": data.get("title"),
        "department": None if org.breaks("attribute_mapping") else department,
    }


def _active(data: dict[str, Any]) -> bool:
    return data.get("active") is not False


# --- seats -------------------------------------------------------------------------------


def raise_billing(store: Store, org: OrgState) -> None:
    """SPEC: "Below it, provisioning raises the billed seat count automatically"."""
    seats = store.seats(org.id, org.policy.seat_cap)
    if seats.used > seats.billed and not org.breaks("seat_billing"):
        store.set_billed(org.id, seats.used)


def release_seat(store: Store, org: OrgState) -> None:
    """SPEC: "removing users does not lower it until a billing reconciliation (another
    vendor frees the seat at once: a policy setting)"."""
    if org.policy.seat_release != "on_deprovision" or org.breaks("seat_release"):
        return
    seats = store.seats(org.id, org.policy.seat_cap)
    if seats.billed > seats.used:
        store.set_billed(org.id, max(seats.billed - 1, seats.used))


def check_cap(store: Store, org: OrgState) -> None:
    """SPEC: "Seat cap: at the cap, provisioning is refused with a clear error and no
    invitation is sent." Committed seats = active seats + pending JIT grants."""
    cap = org.policy.seat_cap
    if cap is None or org.breaks("seat_cap"):
        return
    store.lock_org(org.id)
    seats = store.seats(org.id, cap)
    if seats.used + seats.pending >= cap:
        raise Refused(
            org.policy.seat_cap_status,
            f"seat cap of {cap} reached: raise it in billing or remove a member",
        )


# --- users -------------------------------------------------------------------------------


@dataclass(slots=True)
class UserPlan:
    """What provisioning a new SCIM User will do, decided before it is stored."""

    email: str | None = None
    account: Account | None = None
    membership: Membership | None = None  # the account's current membership, if any
    skip: str | None = None  # lenient skip: answer 201, store nothing
    lost: bool = False  # a transient failure lost the user (broken invitation_fallback)
    fallback: bool = False  # a transient failure: store the user, send an invitation


def plan_user_create(ctx: Ctx, conn: Tx, data: dict[str, Any]) -> UserPlan:
    """The checks of a User POST, in the order a person would fix them: email, domain,
    other organization, seat cap, then the simulated transient failure."""
    org = ctx.org
    policy = org.policy
    email = email_of(data)
    domains = policy.registered_domains
    if domains and email is None:
        raise InvalidValue("userName must be the user's email address")
    if email is None:
        return UserPlan()
    domain = email.rsplit("@", 1)[1]
    if domains and domain not in domains and not org.breaks("domain_allow_list"):
        # SPEC: "a user whose email domain is not one of the organization's registered
        # domains is not provisioned"; strict answers an error, lenient audits the skip.
        detail = f"{domain} is not a registered domain of this organization"
        if policy.domain_policy == "strict":
            raise InvalidValue(detail)
        return UserPlan(email, skip=f"{detail}: {email} was skipped")
    store = Store(conn)
    account = store.account_by_email(email)
    membership = store.membership_of(account.id) if account else None
    elsewhere = membership is not None and membership.tenant_id != org.id
    if elsewhere and not org.breaks("one_organization"):
        # SPEC: "A person belongs to one organization at a time: provisioning someone who
        # is a member elsewhere does not move them."
        raise Uniqueness(f"{email} belongs to another organization; remove them there first")
    here = membership is not None and membership.tenant_id == org.id
    linked = membership.scim_user_id if membership is not None and here else None
    grant = store.grant_by_email(org.id, email)
    if linked is not None or grant is not None:
        # userName is unique, but the email can also come from `emails`: one User per person.
        raise Uniqueness(
            f"{email} is already provisioned in this organization as User "
            f"{linked or (grant[0] if grant else '')}"
        )
    if not here:
        check_cap(store, org)
    plan = UserPlan(email, account, membership)
    if ctx.state.orgs.take_fault(org.id):
        # SPEC: "A transient failure while provisioning falls back to an email invitation
        # (never when the seat cap is the cause)."
        if org.breaks("invitation_fallback"):
            plan.lost = True
        elif policy.invitation_fallback:
            plan.fallback = True
        else:
            raise ServiceUnavailable(
                f"a transient failure interrupted provisioning {email}: nothing was stored; "
                "retry later"
            )
    return plan


def provision_user(
    ctx: Ctx, conn: Tx, scim_user_id: str, data: dict[str, Any], plan: UserPlan
) -> str:
    """Account, membership, seat (or JIT grant) of a stored User; the audit detail.

    SPEC: "Just-in-time mode: a provisioned user only gains permission to sign in with
    SSO; the account is created and a seat allocated at the first SSO login. Eager mode:
    account and seat at provisioning." "Every provisioned user gets the Member role".
    """
    org = ctx.org
    store = Store(conn)
    email = plan.email
    _join_default_team(store, org, scim_user_id)
    if email is None:
        return "no email: no account"
    if plan.fallback:
        store.invite(org.id, email, "fallback")
        return f"transient failure: an invitation was sent to {email}"
    profile = profile_of(org, data)
    active = _active(data)
    membership = plan.membership
    if membership is not None and membership.tenant_id == org.id:
        # Already a (manual) member here: the directory link takes the membership over.
        store.link(membership.account_id, scim_user_id)
        store.update_profile(membership.account_id, profile)
        return f"linked {email} to the existing member"
    jit = org.policy.accounts == "jit"
    if jit != org.breaks("jit_accounts"):
        store.insert_grant(org.id, email, scim_user_id, active)
        return f"{email} may sign in with SSO (account and seat at the first login)"
    account = plan.account
    if membership is not None:  # a member elsewhere, moved (broken one_organization)
        store.delete_membership(membership.account_id)
    if account is not None and org.breaks("reassociation"):
        store.delete_account(account.id)
        account = None
    if account is None:
        account = store.insert_account(email, profile, ["sso"])
    else:
        store.update_profile(account.id, profile)
    role = "org_admin" if org.breaks("member_role") else "member"
    status = "active" if active or org.breaks("deactivation") else "suspended"
    store.insert_membership(org.id, account.id, role, status, scim_user_id)
    raise_billing(store, org)
    return f"provisioned {email}: account {account.id}, seat allocated"


def _join_default_team(store: Store, org: OrgState, scim_user_id: str) -> None:
    """SPEC: "A default team receives new users that no group placed."."""
    name = org.policy.default_team
    if name and org.governed:
        team = store.team_id(org.id, name)
        if team is not None:
            store.add_to_team(org.id, team, scim_user_id)


def user_changed(
    ctx: Ctx, conn: Tx, scim_user_id: str, old: dict[str, Any], new: dict[str, Any]
) -> str:
    """PUT/PATCH of a User: attributes reach the member; `active` suspends or restores.

    SPEC: "Deactivation (active=false) suspends access at once: the user cannot sign in.
    One vendor does not support deactivate/reactivate at all (a policy setting: then the
    server must refuse it clearly)."
    """
    org = ctx.org
    was, now_active = _active(old), _active(new)
    refused = org.policy.deactivation == "refused" and not org.breaks("deactivation")
    if was and not now_active and refused:
        raise InvalidValue(
            "this organization does not support deactivation (policy "
            "deactivation=refused): unassign the user in the IdP instead"
        )
    store = Store(conn)
    status = "active" if now_active or org.breaks("deactivation") else "suspended"
    membership = store.membership_by_scim(org.id, scim_user_id)
    if membership is not None:
        if not org.breaks("member_role:sync_skips_profile"):
            store.update_profile(membership.account_id, profile_of(org, new))
        if org.breaks("member_role:sync_resets_role"):
            store.set_role(membership.account_id, "member")
        email = email_of(new)
        if email is not None and email != email_of(old) and store.account_by_email(email) is None:
            store.set_email(membership.account_id, email)
        if membership.status != status:
            store.set_status(membership.account_id, status)
        return f"member {membership.account_id} is {status}"
    if store.grant_by_scim(org.id, scim_user_id) is not None:
        store.set_grant(org.id, scim_user_id, now_active)
        return f"SSO grant is {'active' if now_active else 'suspended'}"
    return "no member linked"


def deprovision(store: Store, org: OrgState, scim_user_id: str) -> str:
    """SPEC: "Deprovisioning (DELETE, or the IdP's unassign) removes the membership,
    deactivates the licence, clears the directory link, frees the seat per policy, and
    keeps the account and its authentication record." (erase: "DELETE erases the account
    for good", a policy setting.)"""
    store.delete_grant(org.id, scim_user_id)
    membership = store.membership_by_scim(org.id, scim_user_id)
    if membership is None:
        return "no member linked"
    erase = (org.policy.delete == "erase") != org.breaks("delete_account")
    if erase:
        store.delete_account(membership.account_id)
    else:
        store.delete_membership(membership.account_id)
    if membership.seat:
        release_seat(store, org)
    kept = "erased" if erase else "kept"
    return f"membership removed; account {membership.account_id} {kept}"


def user_deleted(ctx: Ctx, conn: Tx, scim_user_id: str) -> str:
    return deprovision(Store(conn), ctx.org, scim_user_id)


# --- groups ------------------------------------------------------------------------------


def check_group_write(ctx: Ctx, method: str) -> None:
    """SPEC: "One vendor cannot create or delete teams from the IdP (a policy setting)."."""
    org = ctx.org
    if not org.governed or method not in ("POST", "DELETE"):
        return
    allowed = org.policy.teams_from_idp != org.breaks("teams_from_idp")
    if not allowed:
        raise Forbidden("teams are managed in the admin console here (policy teams_from_idp=false)")


def keeps_removed_members(ctx: Ctx) -> bool:
    """Broken group_access: a member removed from a group keeps the team (test-only).

    SPEC: "Removing a user from a group that grants access revokes that access."
    """
    return ctx.org.breaks("group_access")


def group_deleted(ctx: Ctx, conn: Tx, group_id: str) -> str:
    """SPEC: "Deleting a group removes all its users from the organization and revokes
    their pending invitations." (a policy setting: otherwise the users stay)."""
    org = ctx.org
    if not org.governed:
        return ""
    removes = org.policy.group_delete_removes_members != org.breaks("group_delete")
    if not removes:
        return "members kept"
    store = Store(conn)
    users = store.user_members(org.id, group_id)
    for scim_user_id in users:
        user = ctx.state.repo.get(conn, org.id, "User", scim_user_id)
        email = email_of(user.data) if user is not None else None
        deprovision(store, org, scim_user_id)
        if email is not None:
            store.revoke_pending(org.id, email)
    return f"{len(users)} member(s) removed from the organization"
