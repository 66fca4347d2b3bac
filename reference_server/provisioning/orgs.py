"""Organizations' provisioning settings and the in-process cache the SCIM path reads.

A SCIM request needs its organization's policy; reading it from the database on every
request would add a query to the hot path, so `OrgCache` loads it once per organization
and the admin API drops the entry whenever it changes the organization (like the token
cache, but invalidated rather than expiring). An organization whose `policy` column is
NULL is `plain`: it behaves exactly as a SCIM store without the provisioning system.
"""

# ruff: noqa: S608 - fixed SQL built from module constants; every value is bound

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Any

import orjson

from reference_server.provisioning.policy import DEFAULT_POLICY, Policy
from reference_server.storage.database import Database, Tx

__all__ = ["PLAIN", "OrgCache", "OrgState", "save_org"]

_COLS = (
    "id, name, created, domains, seat_cap, default_team, admin_first_name, admin_last_name,"
    " admin_email, sso_configured, sso_enforced, scim_enabled, directory, directory_domains,"
    " policy"
)
_LOAD = f"SELECT {_COLS} FROM tenants WHERE id = ?"
_SAVE = (
    "UPDATE tenants SET name = ?, domains = ?, seat_cap = ?, default_team = ?,"
    " admin_first_name = ?, admin_last_name = ?, admin_email = ?, sso_configured = ?,"
    " sso_enforced = ?, scim_enabled = ?, directory = ?, directory_domains = ?, policy = ?"
    " WHERE id = ?"
)
# The [policy] keys kept in their own columns (the admin API changes them one by one).
_COLUMN_KEYS = ("registered_domains", "seat_cap", "sso_enforced", "default_team")


@dataclass(frozen=True, slots=True)
class OrgState:
    """One organization as the SCIM path and the admin API see it."""

    id: str
    name: str = ""
    created: str = ""
    governed: bool = False  # False: no provisioning rules at all (a plain SCIM store)
    policy: Policy = DEFAULT_POLICY  # with the column-kept keys filled in
    admin: tuple[str | None, str | None, str | None] = (None, None, None)
    sso_configured: bool = False
    scim_enabled: bool = True
    directory: str = "none"
    directory_domains: tuple[str, ...] = ()
    broken: str | None = None  # the promise this server breaks for it (--allow-break)

    def breaks(self, promise: str) -> bool:
        return self.broken == promise

    @property
    def scim_managed(self) -> bool:
        """ "SCIM manages the organization" = its directory connection exists."""
        return self.directory != "none"

    def to_json(self) -> dict[str, Any]:
        p = self.policy
        first, last, email = self.admin
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "domains": list(p.registered_domains),
            "seat_cap": p.seat_cap,
            "default_team": p.default_team,
            "admin": {"first_name": first, "last_name": last, "email": email},
            "sso": {"configured": self.sso_configured, "enforced": p.sso_enforced},
            "scim_enabled": self.scim_enabled,
            "directory": {"status": self.directory, "domains": list(self.directory_domains)},
            "policy": p.to_json() if self.governed else None,
        }


PLAIN = OrgState(id="")


def _policy_from_row(row: tuple[Any, ...]) -> Policy:
    stored = orjson.loads(row[14]) if row[14] else {}
    known = set(Policy.__dataclass_fields__) - set(_COLUMN_KEYS) - {"registered_domains"}
    base = {k: v for k, v in stored.items() if k in known}
    return Policy(
        **base,
        registered_domains=tuple(orjson.loads(row[3])),
        seat_cap=row[4],
        default_team=row[5],
        sso_enforced=bool(row[10]),
    )


def _load_org(tx: Tx, org_id: str, breaks: bool, server_break: str | None) -> OrgState | None:
    """The organization's row; a stored `break` counts only when `breaks` (--allow-break)."""
    row = tx.first(_LOAD, (org_id,))
    if row is None:
        return None
    policy = _policy_from_row(row)
    return OrgState(
        id=row[0],
        name=row[1],
        created=row[2],
        governed=row[14] is not None,
        policy=policy,
        admin=(row[6], row[7], row[8]),
        sso_configured=bool(row[9]),
        scim_enabled=bool(row[11]),
        directory=row[12],
        directory_domains=tuple(orjson.loads(row[13])),
        broken=(policy.broken if breaks else None) or server_break,
    )


def save_org(tx: Tx, org: OrgState) -> None:
    """Write every setting of `org` (the admin API's single write path)."""
    p = org.policy
    stored: dict[str, Any] | None = None
    if org.governed:
        stored = {k: v for k, v in p.to_json().items() if k not in _COLUMN_KEYS}
        stored.pop("break", None)
        if p.broken is not None:
            stored["broken"] = p.broken
    first, last, email = org.admin
    tx.run(
        _SAVE,
        (
            org.name,
            orjson.dumps(list(p.registered_domains)).decode(),
            p.seat_cap,
            p.default_team,
            first,
            last,
            email,
            org.sso_configured,
            p.sso_enforced,
            org.scim_enabled,
            org.directory,
            orjson.dumps(list(org.directory_domains)).decode(),
            orjson.dumps(stored).decode() if stored is not None else None,
            org.id,
        ),
    )


class OrgCache:
    """Organization id -> OrgState, loaded once; the admin API calls `forget` on change.

    `faults` counts the simulated transient failures still to happen per organization
    (`POST .../faults`), in process like the cache itself.
    """

    def __init__(self, db: Database, server_break: str | None, allow_break: bool) -> None:
        self._db = db
        self.server_break = server_break
        self.allow_break = allow_break
        self._cache: dict[str, OrgState] = {}
        # Bumped by `forget`: a load that read before a change never caches the old state.
        self._generation: dict[str, int] = {}
        self._lock = threading.Lock()
        self.faults: dict[str, int] = {}

    def cached(self, org_id: str) -> OrgState | None:
        return self._cache.get(org_id)

    def load(self, org_id: str) -> OrgState | None:
        hit = self._cache.get(org_id)
        if hit is not None:
            return hit
        generation = self._generation.get(org_id, 0)
        with self._db.read() as tx:
            org = self.read(tx, org_id)
        if org is not None:
            with self._lock:
                if self._generation.get(org_id, 0) == generation:
                    self._cache[org_id] = org
        return org

    def read(self, tx: Tx, org_id: str) -> OrgState | None:
        """The organization as stored (no cache), with this server's break settings."""
        return _load_org(tx, org_id, self.allow_break, self.server_break)

    def forget(self, org_id: str) -> None:
        with self._lock:
            self._cache.pop(org_id, None)
            self._generation[org_id] = self._generation.get(org_id, 0) + 1

    def take_fault(self, org_id: str) -> bool:
        """Consume one simulated transient failure of the organization, if any is due."""
        with self._lock:
            left = self.faults.get(org_id, 0)
            if left <= 0:
                return False
            self.faults[org_id] = left - 1
            return True

    def updated(self, org: OrgState, **changes: Any) -> OrgState:
        """`org` with changes; `broken` is recomputed from the policy and the server."""
        new = replace(org, **changes)
        stored = new.policy.broken if self.allow_break else None
        return replace(new, broken=stored or self.server_break)
