"""What the admin API does: organizations, policy, SCIM switch, directory connection,
members, invitations, teams, seats, audit, simulated faults, SSO login and self-signup.

Each function runs its own transaction and, when it changes an organization, drops that
organization from the in-process cache so the next SCIM request sees the change. The HTTP
layer (`endpoints/admin.py`) validates bodies; this module enforces the rules.
"""

# ruff: noqa: S608 - fixed SQL built from module constants; every value is bound

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from reference_server.endpoints.common import ServerState
from reference_server.provisioning.orgs import OrgState, save_org
from reference_server.provisioning.policy import Policy
from reference_server.provisioning.scim_hooks import (
    check_cap,
    profile_of,
    raise_billing,
    release_seat,
)
from reference_server.provisioning.store import Invitation, Seats, Store, now
from reference_server.scim.errors import Conflict, Forbidden, NotFound, Uniqueness
from reference_server.storage.database import Tx
from reference_server.storage.tables import tenants

__all__ = [
    "accounts",
    "add_member",
    "apply_policy_file",
    "audit_events",
    "change_org",
    "create_org",
    "create_team",
    "delete_org",
    "directory_activate",
    "directory_deactivate",
    "directory_delete",
    "directory_put",
    "get_org",
    "invitations",
    "invite",
    "login",
    "members",
    "reconcile",
    "remove_member",
    "revoke_invitation",
    "scim_switch",
    "seats",
    "set_faults",
    "set_role",
    "signup",
    "teams",
]

GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
_MANUAL_REFUSED = (
    "SCIM manages this organization's members: make the change in the IdP, or delete the "
    "directory connection to manage members here"
)


def get_org(state: ServerState, org_id: str) -> OrgState:
    with state.repo.read() as tx:
        org = state.orgs.read(tx, org_id)
    if org is None:
        raise NotFound(f"organization {org_id!r} not found")
    return org


@contextmanager
def _changing(state: ServerState, org_id: str) -> Iterator[Tx]:
    """The transaction of a settings change; the cached organization is dropped once it
    has committed, so the next SCIM request reads the new settings."""
    with state.repo.write() as tx:
        yield tx
    state.orgs.forget(org_id)


def _save(state: ServerState, tx: Tx, org: OrgState) -> OrgState:
    """Persist `org` (with `broken` recomputed) and create its default team."""
    org = state.orgs.updated(org)
    save_org(tx, org)
    name = org.policy.default_team
    if org.governed and name and Store(tx).team_id(org.id, name) is None:
        state.repo.insert(tx, org.id, "Group", {"schemas": [GROUP_SCHEMA], "displayName": name})
    return org


def change_org(
    state: ServerState, org_id: str, changes: dict[str, Any], *, govern: bool = False
) -> OrgState:
    """Apply validated changes: `name`, `admin` (the profile fields to change),
    `sso_configured`, `policy` (a Policy) and the policy keys kept in columns
    (`registered_domains`, `seat_cap`, `sso_enforced`, `default_team`); `govern` puts the
    organization under the rules without changing any."""
    with _changing(state, org_id) as tx:
        org = state.orgs.read(tx, org_id)
        if org is None:
            raise NotFound(f"organization {org_id!r} not found")
        column_keys = ("registered_domains", "seat_cap", "sso_enforced", "default_team")
        # Setting any policy key puts a plain organization under the rules it sets.
        governed = org.governed or govern or any(k in changes for k in ("policy", *column_keys))
        if "admin" in changes:  # a partial profile: the fields not given are kept
            given = changes.pop("admin")
            keys = ("first_name", "last_name", "email")
            first, last, email = (given.get(k, old) for k, old in zip(keys, org.admin, strict=True))
            changes["admin"] = (first, last, email)
        policy = changes.pop("policy", None) or org.policy
        policy = replace(policy, **{k: changes.pop(k) for k in column_keys if k in changes})
        return _save(state, tx, replace(org, policy=policy, governed=governed, **changes))


def create_org(state: ServerState, name: str, changes: dict[str, Any]) -> OrgState:
    """A new organization under the provisioning rules (default policy unless given)."""
    org_id = str(uuid.uuid4())
    with state.repo.write() as tx:
        tx.run("INSERT INTO tenants (id, name, created) VALUES (?, ?, ?)", (org_id, name, now()))
        state.orgs.forget(org_id)
    return change_org(state, org_id, changes, govern=True)


def delete_org(state: ServerState, org_id: str) -> None:
    """Delete an organization and everything it holds; accounts outlive it."""
    get_org(state, org_id)
    with state.repo.write() as tx:
        for (digest,) in tx.all("SELECT token_hash FROM tokens WHERE tenant_id = ?", (org_id,)):
            state.verifier.forget(digest)  # its tokens stop working at once
        for table in (
            "attr_index",
            "group_members",
            "resources",
            "resource_counts",
            "memberships",
            "invitations",
            "sso_grants",
            "tokens",
            "audit_events",
        ):
            tx.run(f"DELETE FROM {table} WHERE tenant_id = ?", (org_id,))
        tx.run(f"DELETE FROM {tenants.name} WHERE id = ?", (org_id,))
    state.orgs.forget(org_id)


def apply_policy_file(state: ServerState, org_id: str, policy: Policy) -> OrgState:
    """`--policy FILE` on the bootstrap organization: the policy, its domains, its default
    team, a complete admin profile, SSO configured, SCIM enabled, the directory active."""
    with _changing(state, org_id) as tx:
        org = state.orgs.read(tx, org_id)
        assert org is not None
        admin = (org.admin[0] or "Ada", org.admin[1] or "Admin", org.admin[2] or _admin_email(org))
        org = replace(
            org,
            governed=True,
            policy=policy,
            admin=admin,
            sso_configured=True,
            scim_enabled=True,
            directory="active",
            directory_domains=policy.registered_domains,
        )
        return _save(state, tx, org)


def _admin_email(org: OrgState) -> str:
    domain = org.policy.registered_domains[0] if org.policy.registered_domains else "example.com"
    return f"admin@{domain}"


# --- SCIM switch and directory connection -------------------------------------------------


def scim_switch(state: ServerState, org_id: str, enable: bool) -> OrgState:
    """SPEC: "The admin's profile (first name, last name, email) must be complete first;
    SSO must be set up before SCIM can be."."""
    org = get_org(state, org_id)
    if enable and not org.breaks("scim_prerequisites"):
        missing = [
            label
            for label, value in zip(
                ("admin first name", "admin last name", "admin email"), org.admin, strict=True
            )
            if not value
        ]
        if not org.sso_configured:
            missing.append("SSO configuration")
        if missing:
            raise Conflict(
                f"SCIM cannot be enabled yet: missing {', '.join(missing)} "
                "(complete the admin profile and set up SSO first)"
            )
    with _changing(state, org_id) as tx:
        return _save(state, tx, replace(org, scim_enabled=enable))


def directory_put(state: ServerState, org_id: str, domains: list[str]) -> OrgState:
    """Create or update the directory connection (inactive until activated)."""
    org = get_org(state, org_id)
    status = org.directory if org.directory != "none" else "deactivated"
    with _changing(state, org_id) as tx:
        return _save(state, tx, replace(org, directory=status, directory_domains=tuple(domains)))


def directory_activate(state: ServerState, org_id: str) -> OrgState:
    """SPEC: "Activating the directory connection imports the domains registered with it
    into the organization's allow-list; users who already exist in the IdP are not
    backfilled"."""
    org = get_org(state, org_id)
    _has_directory(org)
    merged = tuple(dict.fromkeys((*org.policy.registered_domains, *org.directory_domains)))
    policy = replace(org.policy, registered_domains=merged)
    with _changing(state, org_id) as tx:
        return _save(state, tx, replace(org, directory="active", policy=policy))


def directory_deactivate(state: ServerState, org_id: str) -> OrgState:
    """SPEC: "deactivating it does not" turn manual management back on."""
    org = get_org(state, org_id)
    _has_directory(org)
    with _changing(state, org_id) as tx:
        return _save(state, tx, replace(org, directory="deactivated"))


def _has_directory(org: OrgState) -> None:
    if org.directory == "none":
        raise Conflict(
            "this organization has no directory connection: create one with "
            "PUT /admin/v1/organizations/{org}/directory first"
        )


def directory_delete(state: ServerState, org_id: str) -> OrgState:
    """SPEC: "Deleting the directory connection turns manual management back on and keeps
    every membership"."""
    org = get_org(state, org_id)
    with _changing(state, org_id) as tx:
        if org.breaks("directory_lifecycle"):
            Store(tx).delete_memberships(org.id)
        return _save(state, tx, replace(org, directory="none", directory_domains=()))


# --- members, invitations, teams, seats ----------------------------------------------------


def _manual(org: OrgState) -> None:
    """SPEC: "Enabling SCIM turns manual user management off: adding, inviting, bulk
    inviting, removing members and revoking invitations are refused"."""
    if org.scim_managed and not org.breaks("manual_management"):
        raise Conflict(_MANUAL_REFUSED)


def members(state: ServerState, org_id: str, email: str | None) -> list[dict[str, Any]]:
    get_org(state, org_id)
    with state.repo.read() as tx:
        return Store(tx).members(org_id, email)


def add_member(state: ServerState, org_id: str, email: str, role: str) -> dict[str, Any]:
    org = get_org(state, org_id)
    _manual(org)
    with state.repo.write() as tx:
        store = Store(tx)
        account = store.account_by_email(email) or store.insert_account(email, {}, ["password"])
        current = store.membership_of(account.id)
        if current is not None:
            where = "this" if current.tenant_id == org.id else "another"
            raise Uniqueness(f"{email} already belongs to {where} organization")
        if role != "it_admin":  # IT admins take no paid seat
            check_cap(store, org)
        store.insert_membership(org.id, account.id, role, "active", None)
        raise_billing(store, org)
        return store.members(org.id, email)[0]


def remove_member(state: ServerState, org_id: str, account_id: str) -> None:
    org = get_org(state, org_id)
    _manual(org)
    with state.repo.write() as tx:
        store = Store(tx)
        current = store.membership_of(account_id)
        if current is None or current.tenant_id != org.id:
            raise NotFound(f"account {account_id!r} is not a member of this organization")
        store.delete_membership(account_id)
        if current.seat:
            release_seat(store, org)


def set_role(state: ServerState, org_id: str, account_id: str, role: str) -> dict[str, Any]:
    """SPEC: "roles are not mapped from the IdP; admins can still change roles" (also while
    SCIM manages the organization). Leaving IT admin takes a paid seat: the cap applies."""
    org = get_org(state, org_id)
    with state.repo.write() as tx:
        store = Store(tx)
        current = store.membership_of(account_id)
        account = store.account_by_id(account_id)
        if current is None or current.tenant_id != org.id or account is None:
            raise NotFound(f"account {account_id!r} is not a member of this organization")
        if not current.seat and role != "it_admin":
            check_cap(store, org)
        store.set_role(account_id, role, seat_for_it_admin=org.breaks("member_role:it_admin_seat"))
        raise_billing(store, org)
        return store.members(org.id, account.email)[0]


def invitations(state: ServerState, org_id: str) -> list[Invitation]:
    get_org(state, org_id)
    with state.repo.read() as tx:
        return Store(tx).invitations(org_id)


def invite(state: ServerState, org_id: str, email: str) -> Invitation:
    org = get_org(state, org_id)
    _manual(org)
    with state.repo.write() as tx:
        return Store(tx).invite(org.id, email, "manual")


def revoke_invitation(state: ServerState, org_id: str, invitation_id: str) -> None:
    org = get_org(state, org_id)
    _manual(org)
    with state.repo.write() as tx:
        store = Store(tx)
        if store.invitation(org.id, invitation_id) is None:
            raise NotFound(f"invitation {invitation_id!r} not found")
        store.set_invitation(org.id, invitation_id, "revoked")


def teams(state: ServerState, org_id: str) -> list[dict[str, Any]]:
    get_org(state, org_id)
    with state.repo.read() as tx:
        return Store(tx).teams(org_id)


def create_team(state: ServerState, org_id: str, display_name: str) -> dict[str, Any]:
    """Admin-made teams exist even when `teams_from_idp` is false (they are SCIM Groups)."""
    get_org(state, org_id)
    with state.repo.write() as tx:
        if Store(tx).team_id(org_id, display_name) is not None:
            raise Uniqueness(f"a team called {display_name!r} already exists")
        res = state.repo.insert(
            tx, org_id, "Group", {"schemas": [GROUP_SCHEMA], "displayName": display_name}
        )
    return {"id": res.id, "display_name": display_name, "members": []}


def seats(state: ServerState, org_id: str) -> Seats:
    org = get_org(state, org_id)
    with state.repo.read() as tx:
        return Store(tx).seats(org.id, org.policy.seat_cap)


def reconcile(state: ServerState, org_id: str) -> Seats:
    """A billing reconciliation: billed seats come down to the seats in use."""
    org = get_org(state, org_id)
    with state.repo.write() as tx:
        store = Store(tx)
        current = store.seats(org.id, org.policy.seat_cap)
        if current.billed > current.used and not org.breaks("seat_release"):
            store.set_billed(org.id, current.used)
        return store.seats(org.id, org.policy.seat_cap)


def audit_events(state: ServerState, org_id: str, filters: dict[str, str]) -> list[Any]:
    get_org(state, org_id)
    with state.repo.read() as tx:
        return Store(tx).audit_events(org_id, filters)


def set_faults(state: ServerState, org_id: str, count: int) -> int:
    get_org(state, org_id)
    state.orgs.faults[org_id] = count
    return count


def accounts(state: ServerState, email: str | None) -> list[dict[str, Any]]:
    with state.repo.read() as tx:
        return [
            {
                "id": a.id,
                "email": a.email,
                "organization": org,
                "auth_methods": a.auth_methods,
            }
            for a, org in Store(tx).accounts(email)
        ]


# --- sign-in and self-signup ----------------------------------------------------------------


def login(state: ServerState, email: str, org_id: str, method: str) -> dict[str, Any]:
    """A simulated sign-in. SPEC: "the account is created and a seat allocated at the first
    SSO login" (jit); "Deactivation (active=false) suspends access at once"; "Without SSO
    enforcement a removed user may still sign in by other methods; with it, never."."""
    org = get_org(state, org_id)
    enforced = org.policy.sso_enforced != org.breaks("sso_enforcement")
    with state.repo.write() as tx:
        store = Store(tx)
        account = store.account_by_email(email)
        membership = store.membership_of(account.id) if account else None
        if membership is not None and membership.tenant_id == org.id:
            if membership.status != "active":
                raise Forbidden(f"{email} is suspended in this organization")
            if method == "password" and enforced:
                raise Forbidden("SSO is enforced for this organization: sign in with SSO")
            assert account is not None
            store.add_method(account, method)
            return _signed_in(account.id, org.id, False, membership.seat)
        grant = store.grant_by_email(org.id, email) if method == "sso" else None
        invitation = store.pending_invitation(org.id, email)
        if (grant is not None or invitation is not None) and membership is not None:
            # A member elsewhere (added there since) is not moved by signing in here.
            if not org.breaks("one_organization"):
                raise Forbidden(f"{email} belongs to another organization; remove them there first")
            store.delete_membership(membership.account_id)
        if grant is not None:
            if not grant[1]:
                raise Forbidden(f"{email} is suspended in this organization")
            return _first_login(state, store, org, email, grant[0])
        if invitation is not None:
            store.set_invitation(org.id, invitation.id, "accepted")
            return _join(store, org, email, None, method)
        if account is not None and method == "password":
            # Not a member here (removed, or never): the product account itself.
            if enforced:
                raise Forbidden(
                    f"{email} is not a member of this organization and SSO is enforced: "
                    "other sign-in methods are refused"
                )
            store.add_method(account, method)
            org_of = membership.tenant_id if membership else None
            return {
                "account_id": account.id,
                "organization": org_of,
                "created": False,
                "seat": False,
            }
        if org.breaks("login_gate"):
            account = account or store.insert_account(email, {}, [method])
            return _signed_in(account.id, org.id, False, False)
        raise Forbidden(f"{email} is not provisioned in this organization: assign them in the IdP")


def _signed_in(account_id: str, org_id: str | None, created: bool, seat: bool) -> dict[str, Any]:
    return {"account_id": account_id, "organization": org_id, "created": created, "seat": seat}


def _first_login(
    state: ServerState, store: Store, org: OrgState, email: str, scim_user_id: str
) -> dict[str, Any]:
    """The JIT grant becomes an account (mapped from the SCIM User), a membership, a seat."""
    store.delete_grant(org.id, scim_user_id)
    user = state.repo.get(store.tx, org.id, "User", scim_user_id)
    profile = profile_of(org, user.data) if user is not None else {}
    return _join(store, org, email, scim_user_id, "sso", profile)


def _join(
    store: Store,
    org: OrgState,
    email: str,
    scim_user_id: str | None,
    method: str,
    profile: dict[str, Any] | None = None,
) -> dict[str, Any]:
    check_cap(store, org)  # an invitation or a JIT grant may outlast free seats
    account = store.account_by_email(email)
    created = account is None
    if account is None:
        account = store.insert_account(email, profile or {}, [method])
    else:
        store.add_method(account, method)
        if profile:
            store.update_profile(account.id, profile)
    role = "org_admin" if org.breaks("member_role") else "member"
    membership = store.insert_membership(org.id, account.id, role, "active", scim_user_id)
    raise_billing(store, org)
    return _signed_in(account.id, org.id, created, membership.seat)


def signup(state: ServerState, email: str) -> dict[str, Any]:
    """SPEC: "Users on SCIM-managed domains cannot self-register."."""
    domain = email.rsplit("@", 1)[1]
    with state.repo.write() as tx:
        store = Store(tx)
        managed = [
            org_id
            for (org_id,) in tx.all("SELECT id FROM tenants WHERE directory <> 'none'")
            if _manages(state, tx, org_id, domain)
        ]
        if managed and state.orgs.server_break != "signup":
            raise Forbidden(
                f"{domain} is managed by SCIM: ask your IT admin to assign you in the IdP"
            )
        if store.account_by_email(email) is not None:
            raise Uniqueness(f"an account for {email} already exists: sign in instead")
        account = store.insert_account(email, {}, ["password"])
    return {"account_id": account.id}


def _manages(state: ServerState, tx: Tx, org_id: str, domain: str) -> bool:
    org = state.orgs.read(tx, org_id)
    if org is None or org.breaks("signup"):
        return False
    return domain in org.policy.registered_domains or domain in org.directory_domains
