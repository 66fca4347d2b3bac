"""Fixed SQL of the provisioning system, run in the caller's transaction (`storage.Tx`).

Organizations' settings, accounts, memberships, just-in-time grants, invitations and the
audit log. Like the resource repository, each statement is written once with `?`
placeholders, so a provisioning step costs a few indexed statements and no ORM.
"""

# ruff: noqa: S608 - fixed SQL built from module constants; every value is bound

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from reference_server.scim.errors import Conflict
from reference_server.scim.resources import utc_now
from reference_server.storage.database import Tx

__all__ = [
    "Account",
    "Invitation",
    "Membership",
    "Seats",
    "Store",
    "now",
]


now = utc_now


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    email: str
    first_name: str | None
    last_name: str | None
    display_name: str | None
    title: str | None
    department: str | None
    auth_methods: list[str]
    created: str


@dataclass(frozen=True, slots=True)
class Membership:
    account_id: str
    tenant_id: str
    role: str
    status: str
    scim_user_id: str | None
    seat: bool
    created: str


@dataclass(frozen=True, slots=True)
class Invitation:
    id: str
    email: str
    status: str
    reason: str
    created: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "status": self.status,
            "reason": self.reason,
            "created": self.created,
        }


@dataclass(frozen=True, slots=True)
class Seats:
    used: int
    billed: int
    cap: int | None
    pending: int

    def to_json(self) -> dict[str, Any]:
        return {"used": self.used, "billed": self.billed, "cap": self.cap, "pending": self.pending}


PROFILE_FIELDS = ("first_name", "last_name", "display_name", "title", "department")
_ACCOUNT_COLS = (
    "id, email, first_name, last_name, display_name, title, department, auth_methods, created"
)
_MEMBERSHIP_COLS = "account_id, tenant_id, role, status, scim_user_id, seat, created"
_ACCOUNT_BY_EMAIL = f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE email = ?"
_ACCOUNT_BY_ID = f"SELECT {_ACCOUNT_COLS} FROM accounts WHERE id = ?"
_INSERT_ACCOUNT = f"INSERT INTO accounts ({_ACCOUNT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
_UPDATE_PROFILE = (
    "UPDATE accounts SET first_name = ?, last_name = ?, display_name = ?, title = ?,"
    " department = ? WHERE id = ?"
)
_SET_METHODS = "UPDATE accounts SET auth_methods = ? WHERE id = ?"
_SET_EMAIL = "UPDATE accounts SET email = ? WHERE id = ?"
_DELETE_ACCOUNT = "DELETE FROM accounts WHERE id = ?"
_MEMBERSHIP_OF = f"SELECT {_MEMBERSHIP_COLS} FROM memberships WHERE account_id = ?"
_MEMBERSHIP_BY_SCIM = (
    f"SELECT {_MEMBERSHIP_COLS} FROM memberships WHERE tenant_id = ? AND scim_user_id = ?"
)
_INSERT_MEMBERSHIP = f"INSERT INTO memberships ({_MEMBERSHIP_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
_DELETE_MEMBERSHIP = "DELETE FROM memberships WHERE account_id = ?"
_DELETE_TENANT_MEMBERSHIPS = "DELETE FROM memberships WHERE tenant_id = ?"
_SET_STATUS = "UPDATE memberships SET status = ? WHERE account_id = ?"
_SET_ROLE = "UPDATE memberships SET role = ?, seat = ? WHERE account_id = ?"
_LINK = "UPDATE memberships SET scim_user_id = ? WHERE account_id = ?"
_MEMBERS = (
    "SELECT a.id, a.email, a.first_name, a.last_name, a.display_name, a.title, a.department,"
    " m.role, m.status, m.seat, m.scim_user_id FROM memberships m"
    " JOIN accounts a ON a.id = m.account_id WHERE m.tenant_id = ?"
)
_MEMBER_TEAMS = (
    "SELECT m.account_id, r.display FROM memberships m"
    " JOIN group_members gm ON gm.tenant_id = m.tenant_id AND gm.member_id = m.scim_user_id"
    " JOIN resources r ON r.tenant_id = gm.tenant_id AND r.id = gm.group_id"
    " WHERE m.tenant_id = ? ORDER BY r.display"
)
_TEAM_MEMBERS = (
    "SELECT gm.group_id, m.account_id FROM group_members gm"
    " JOIN memberships m ON m.tenant_id = gm.tenant_id AND m.scim_user_id = gm.member_id"
    " WHERE gm.tenant_id = ? ORDER BY m.account_id"
)
_TEAMS = (
    "SELECT id, display FROM resources WHERE tenant_id = ? AND resource_type = 'Group'"
    " ORDER BY created, id"
)
_TEAM_BY_NAME = (
    "SELECT id FROM resources WHERE tenant_id = ? AND resource_type = 'Group'"
    " AND display_name_lower = ? ORDER BY created, id LIMIT 1"
)
# Seat counters (tenants.used_seats, pending_seats): changed with every membership and
# grant row, in the same transaction, by the methods below and nowhere else.
_SEATS = "SELECT used_seats, billed_seats, pending_seats FROM tenants WHERE id = ?"
_USED_DELTA = "UPDATE tenants SET used_seats = used_seats + ? WHERE id = ?"
_PENDING_DELTA = "UPDATE tenants SET pending_seats = pending_seats + ? WHERE id = ?"
_RELEASE_SEAT = (
    "UPDATE tenants SET used_seats = used_seats - 1 WHERE id ="
    " (SELECT tenant_id FROM memberships WHERE account_id = ? AND seat = ?)"
)
_RELEASE_GRANT = (
    "UPDATE tenants SET pending_seats = pending_seats - 1 WHERE id = ? AND EXISTS"
    " (SELECT 1 FROM sso_grants WHERE tenant_id = ? AND scim_user_id = ?)"
)
_CLEAR_USED = "UPDATE tenants SET used_seats = 0 WHERE id = ?"
_SET_BILLED = "UPDATE tenants SET billed_seats = ? WHERE id = ?"
_GRANT_BY_EMAIL = "SELECT scim_user_id, active FROM sso_grants WHERE tenant_id = ? AND email = ?"
_GRANT_BY_SCIM = "SELECT email, active FROM sso_grants WHERE tenant_id = ? AND scim_user_id = ?"
_INSERT_GRANT = (
    "INSERT INTO sso_grants (tenant_id, email, scim_user_id, active, created)"
    " VALUES (?, ?, ?, ?, ?)"
)
_SET_GRANT = "UPDATE sso_grants SET active = ? WHERE tenant_id = ? AND scim_user_id = ?"
_DELETE_GRANT = "DELETE FROM sso_grants WHERE tenant_id = ? AND scim_user_id = ?"
_INVITATION_COLS = "id, email, status, reason, created"
_INSERT_INVITATION = (
    "INSERT INTO invitations (id, tenant_id, email, status, reason, created)"
    " VALUES (?, ?, ?, ?, ?, ?)"
)
_INVITATIONS = (
    f"SELECT {_INVITATION_COLS} FROM invitations WHERE tenant_id = ? ORDER BY created, id"
)
_INVITATION = f"SELECT {_INVITATION_COLS} FROM invitations WHERE tenant_id = ? AND id = ?"
_PENDING_INVITATION = (
    f"SELECT {_INVITATION_COLS} FROM invitations"
    " WHERE tenant_id = ? AND email = ? AND status = 'pending' ORDER BY created LIMIT 1"
)
_SET_INVITATION = "UPDATE invitations SET status = ? WHERE tenant_id = ? AND id = ?"
_REVOKE_PENDING = (
    "UPDATE invitations SET status = 'revoked' WHERE tenant_id = ? AND email = ?"
    " AND status = 'pending'"
)
_AUDIT = (
    "INSERT INTO audit_events (tenant_id, time, actor, action, resource_type, resource_id,"
    " outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_AUDIT_LIST = (
    "SELECT id, time, actor, action, resource_type, resource_id, outcome, detail"
    " FROM audit_events WHERE tenant_id = ?"
)
_BUMP_GROUP = (
    "UPDATE resources SET version = version + 1, last_modified = ? WHERE tenant_id = ? AND id = ?"
)
_ADD_TEAM_MEMBER = (
    "INSERT INTO group_members (tenant_id, group_id, member_id, member_type)"
    " VALUES (?, ?, ?, 'User') ON CONFLICT DO NOTHING"
)
_USER_MEMBERS = (
    "SELECT member_id FROM group_members WHERE tenant_id = ? AND group_id = ?"
    " AND member_type = 'User'"
)


def _account(row: tuple[Any, ...]) -> Account:
    return Account(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], orjson.loads(row[7]), row[8]
    )


def _membership(row: tuple[Any, ...]) -> Membership:
    return Membership(row[0], row[1], row[2], row[3], row[4], bool(row[5]), row[6])


class Store:
    """Statements over one transaction; `Store(tx)` is cheap (no state but the Tx)."""

    __slots__ = ("tx",)

    def __init__(self, tx: Tx) -> None:
        self.tx = tx

    # --- accounts --------------------------------------------------------------------

    def account_by_email(self, email: str) -> Account | None:
        row = self.tx.first(_ACCOUNT_BY_EMAIL, (email.lower(),))
        return _account(row) if row else None

    def account_by_id(self, account_id: str) -> Account | None:
        row = self.tx.first(_ACCOUNT_BY_ID, (account_id,))
        return _account(row) if row else None

    def insert_account(self, email: str, profile: dict[str, Any], methods: list[str]) -> Account:
        fields = [profile.get(k) for k in PROFILE_FIELDS]
        row = (str(uuid.uuid4()), email.lower(), *fields, orjson.dumps(methods).decode(), now())
        self._insert(_INSERT_ACCOUNT, row, f"an account for {email} was just created")
        return _account(row)

    def _insert(self, sql: str, row: tuple[Any, ...], what: str) -> None:
        """An INSERT that a concurrent request may have beaten: 409, never a 500."""
        try:
            self.tx.run(sql, row)
        except self.tx.integrity_error:
            raise Conflict(f"{what} by a concurrent request: retry") from None

    def update_profile(self, account_id: str, profile: dict[str, Any]) -> None:
        self.tx.run(_UPDATE_PROFILE, (*(profile.get(k) for k in PROFILE_FIELDS), account_id))

    def set_email(self, account_id: str, email: str) -> None:
        self.tx.run(_SET_EMAIL, (email.lower(), account_id))

    def add_method(self, account: Account, method: str) -> None:
        if method not in account.auth_methods:
            methods = [*account.auth_methods, method]
            self.tx.run(_SET_METHODS, (orjson.dumps(methods).decode(), account.id))

    def delete_account(self, account_id: str) -> None:
        self.delete_membership(account_id)
        self.tx.run(_DELETE_ACCOUNT, (account_id,))

    def accounts(self, email: str | None) -> list[tuple[Account, str | None]]:
        """(account, organization id or None), one email or every account."""
        sql = (
            f"SELECT {', '.join('a.' + c.strip() for c in _ACCOUNT_COLS.split(','))},"
            " m.tenant_id FROM accounts a LEFT OUTER JOIN memberships m ON m.account_id = a.id"
        )
        params: tuple[Any, ...] = ()
        if email is not None:
            sql += " WHERE a.email = ?"
            params = (email.lower(),)
        rows = self.tx.all(sql + " ORDER BY a.created, a.id", params)
        return [(_account(r), r[9]) for r in rows]

    # --- memberships -----------------------------------------------------------------

    def membership_of(self, account_id: str) -> Membership | None:
        row = self.tx.first(_MEMBERSHIP_OF, (account_id,))
        return _membership(row) if row else None

    def membership_by_scim(self, tenant: str, scim_user_id: str) -> Membership | None:
        row = self.tx.first(_MEMBERSHIP_BY_SCIM, (tenant, scim_user_id))
        return _membership(row) if row else None

    def insert_membership(
        self, tenant: str, account_id: str, role: str, status: str, scim_user_id: str | None
    ) -> Membership:
        seat = role != "it_admin"  # IT admins take no paid seat
        m = Membership(account_id, tenant, role, status, scim_user_id, seat, now())
        self._insert(
            _INSERT_MEMBERSHIP,
            (m.account_id, m.tenant_id, m.role, m.status, m.scim_user_id, m.seat, m.created),
            "a membership of this account was just created",
        )
        if seat:
            self.tx.run(_USED_DELTA, (1, tenant))
        return m

    def delete_membership(self, account_id: str) -> None:
        self.tx.run(_RELEASE_SEAT, (account_id, True))
        self.tx.run(_DELETE_MEMBERSHIP, (account_id,))

    def delete_memberships(self, tenant: str) -> None:
        self.tx.run(_CLEAR_USED, (tenant,))
        self.tx.run(_DELETE_TENANT_MEMBERSHIPS, (tenant,))

    def set_status(self, account_id: str, status: str) -> None:
        self.tx.run(_SET_STATUS, (status, account_id))

    def set_role(self, account_id: str, role: str, *, seat_for_it_admin: bool = False) -> None:
        current = self.membership_of(account_id)
        seat = role != "it_admin" or seat_for_it_admin
        self.tx.run(_SET_ROLE, (role, seat, account_id))
        if current is not None and current.seat != seat:
            self.tx.run(_USED_DELTA, (1 if seat else -1, current.tenant_id))

    def link(self, account_id: str, scim_user_id: str | None) -> None:
        self.tx.run(_LINK, (scim_user_id, account_id))

    def members(self, tenant: str, email: str | None) -> list[dict[str, Any]]:
        sql, params = _MEMBERS, [tenant]
        if email is not None:
            sql, params = sql + " AND a.email = ?", [tenant, email.lower()]
        teams: dict[str, list[str]] = {}
        for account_id, display in self.tx.all(_MEMBER_TEAMS, (tenant,)):
            teams.setdefault(account_id, []).append(display)
        out = []
        for r in self.tx.all(sql + " ORDER BY m.created, a.id", params):
            out.append(
                {
                    "account_id": r[0],
                    "email": r[1],
                    "first_name": r[2],
                    "last_name": r[3],
                    "display_name": r[4],
                    "title": r[5],
                    "department": r[6],
                    "role": r[7],
                    "status": r[8],
                    "seat": bool(r[9]),
                    "scim_user_id": r[10],
                    "teams": teams.get(r[0], []),
                }
            )
        return out

    # --- seats -----------------------------------------------------------------------

    def lock_org(self, tenant: str) -> None:
        """Serialise seat-counting writers of one organization (PostgreSQL: a row lock;
        SQLite writers are serialised by BEGIN IMMEDIATE already), so two concurrent POSTs
        cannot both take the last seat."""
        if not self.tx.sqlite:
            self.tx.first("SELECT id FROM tenants WHERE id = ? FOR UPDATE", (tenant,))

    def seats(self, tenant: str, cap: int | None) -> Seats:
        row = self.tx.first(_SEATS, (tenant,))
        used, billed, pending = row if row else (0, 0, 0)
        return Seats(int(used), int(billed), cap, int(pending))

    def set_billed(self, tenant: str, billed: int) -> None:
        self.tx.run(_SET_BILLED, (billed, tenant))

    # --- just-in-time grants ---------------------------------------------------------

    def grant_by_email(self, tenant: str, email: str) -> tuple[str, bool] | None:
        row = self.tx.first(_GRANT_BY_EMAIL, (tenant, email.lower()))
        return (row[0], bool(row[1])) if row else None

    def grant_by_scim(self, tenant: str, scim_user_id: str) -> tuple[str, bool] | None:
        row = self.tx.first(_GRANT_BY_SCIM, (tenant, scim_user_id))
        return (row[0], bool(row[1])) if row else None

    def insert_grant(self, tenant: str, email: str, scim_user_id: str, active: bool) -> None:
        self.tx.run(_INSERT_GRANT, (tenant, email.lower(), scim_user_id, active, now()))
        self.tx.run(_PENDING_DELTA, (1, tenant))

    def set_grant(self, tenant: str, scim_user_id: str, active: bool) -> None:
        self.tx.run(_SET_GRANT, (active, tenant, scim_user_id))

    def delete_grant(self, tenant: str, scim_user_id: str) -> None:
        self.tx.run(_RELEASE_GRANT, (tenant, tenant, scim_user_id))
        self.tx.run(_DELETE_GRANT, (tenant, scim_user_id))

    # --- invitations -----------------------------------------------------------------

    def invite(self, tenant: str, email: str, reason: str) -> Invitation:
        inv = Invitation(str(uuid.uuid4()), email.lower(), "pending", reason, now())
        self.tx.run(_INSERT_INVITATION, (inv.id, tenant, inv.email, "pending", reason, inv.created))
        return inv

    def invitations(self, tenant: str) -> list[Invitation]:
        return [Invitation(*r) for r in self.tx.all(_INVITATIONS, (tenant,))]

    def invitation(self, tenant: str, invitation_id: str) -> Invitation | None:
        row = self.tx.first(_INVITATION, (tenant, invitation_id))
        return Invitation(*row) if row else None

    def pending_invitation(self, tenant: str, email: str) -> Invitation | None:
        row = self.tx.first(_PENDING_INVITATION, (tenant, email.lower()))
        return Invitation(*row) if row else None

    def set_invitation(self, tenant: str, invitation_id: str, status: str) -> None:
        self.tx.run(_SET_INVITATION, (status, tenant, invitation_id))

    def revoke_pending(self, tenant: str, email: str) -> None:
        self.tx.run(_REVOKE_PENDING, (tenant, email.lower()))

    # --- teams (SCIM Groups) ---------------------------------------------------------

    def teams(self, tenant: str) -> list[dict[str, Any]]:
        members: dict[str, list[str]] = {}
        for gid, account_id in self.tx.all(_TEAM_MEMBERS, (tenant,)):
            members.setdefault(gid, []).append(account_id)
        return [
            {"id": gid, "display_name": display, "members": members.get(gid, [])}
            for gid, display in self.tx.all(_TEAMS, (tenant,))
        ]

    def team_id(self, tenant: str, display_name: str) -> str | None:
        row = self.tx.first(_TEAM_BY_NAME, (tenant, display_name.lower()))
        return str(row[0]) if row else None

    def add_to_team(self, tenant: str, group_id: str, scim_user_id: str) -> None:
        if self.tx.run(_ADD_TEAM_MEMBER, (tenant, group_id, scim_user_id)):
            self.tx.run(_BUMP_GROUP, (now(), tenant, group_id))

    def user_members(self, tenant: str, group_id: str) -> list[str]:
        return [r[0] for r in self.tx.all(_USER_MEMBERS, (tenant, group_id))]

    # --- audit -----------------------------------------------------------------------

    def audit(
        self,
        tenant: str,
        actor: str,
        action: str,
        resource_type: str,
        resource_id: str | None,
        outcome: str,
        detail: str,
    ) -> None:
        self.tx.run(
            _AUDIT, (tenant, now(), actor, action, resource_type, resource_id, outcome, detail)
        )

    def audit_events(self, tenant: str, filters: dict[str, str]) -> list[dict[str, Any]]:
        sql, params = _AUDIT_LIST, [tenant]
        for key in ("action", "outcome", "resource_id"):
            if key in filters:
                sql += f" AND {key} = ?"
                params.append(filters[key])
        if "since" in filters:
            sql += " AND time >= ?"
            params.append(filters["since"])
        rows = self.tx.all(sql + " ORDER BY id", params)
        keys = ("id", "time", "actor", "action", "resource_type", "resource_id", "outcome")
        return [{**dict(zip(keys, r[:7], strict=True)), "detail": r[7]} for r in rows]
