"""The `[policy]` table: what an organization promises, parsed into a frozen `Policy`.

One parser serves the `--policy FILE` option and `PUT /admin/v1/.../policy`: the table is
first validated with `profiles/policies/policy.schema.json` (the harness validates policy
files with the same schema), then read into `Policy`. A bad value is a 400 invalidValue
naming the key, never a 500.
"""

from __future__ import annotations

import functools
import json
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from reference_server.scim.errors import InvalidValue

__all__ = [
    "BREAK_NAMES",
    "DEFAULT_POLICY",
    "SCHEMA_PATH",
    "Policy",
    "load_policy_file",
    "parse_policy",
    "validator",
]

_SCHEMA = Path("policies") / "policy.schema.json"
_CHECKOUT = Path(__file__).resolve().parents[2] / "profiles" / _SCHEMA
# Where a regular (non-editable) install keeps the profiles, as the harness looks for them.
_INSTALLED = Path(sys.prefix) / "share" / "scim-conformance" / "profiles" / _SCHEMA
SCHEMA_PATH = _CHECKOUT if _CHECKOUT.is_file() or not _INSTALLED.is_file() else _INSTALLED


@functools.cache
def _schema() -> dict[str, Any]:
    try:
        schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RuntimeError(f"the policy schema is missing: {exc}") from None
    return schema


# The `--break` names: each promise a policy check enforces (ARCHITECTURE.md, "Promises"),
# and `promise:mode` for another way to break one. The schema's `break` enum is their one
# list, shared with the harness.
BREAK_NAMES: tuple[str, ...] = tuple(_schema()["properties"]["break"]["enum"])


@dataclass(frozen=True, slots=True)
class Policy:
    """Every key of the `[policy]` table with its default (the schema's `default`s)."""

    accounts: str = "eager"
    delete: str = "keep_account"
    sso_enforced: bool = False
    domain_policy: str = "strict"
    registered_domains: tuple[str, ...] = ()
    seat_cap: int | None = None
    seat_cap_status: int = 403
    seat_release: str = "on_deprovision"
    deactivation: str = "supported"
    teams_from_idp: bool = True
    group_delete_removes_members: bool = False
    invitation_fallback: bool = False
    default_team: str | None = None
    # Test-only: the promise this organization breaks (`--allow-break`).
    broken: str | None = field(default=None)

    def to_json(self) -> dict[str, Any]:
        """The `[policy]` table as JSON (what GET .../policy answers)."""
        out: dict[str, Any] = {
            "accounts": self.accounts,
            "delete": self.delete,
            "sso_enforced": self.sso_enforced,
            "domain_policy": self.domain_policy,
            "registered_domains": list(self.registered_domains),
            "seat_cap": self.seat_cap,
            "seat_cap_status": self.seat_cap_status,
            "seat_release": self.seat_release,
            "deactivation": self.deactivation,
            "teams_from_idp": self.teams_from_idp,
            "group_delete_removes_members": self.group_delete_removes_members,
            "invitation_fallback": self.invitation_fallback,
            "default_team": self.default_team,
        }
        if self.broken is not None:
            out["break"] = self.broken
        return out


DEFAULT_POLICY = Policy()


@functools.cache
def validator() -> jsonschema.protocols.Validator:
    """The schema's validator, built once; the server builds it at start, so a missing
    schema file stops the start instead of failing a request."""
    schema = _schema()
    cls = jsonschema.validators.validator_for(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def _domain(value: str) -> str:
    return value.strip().lower().removeprefix("@")


def parse_policy(table: Any, *, allow_break: bool) -> Policy:
    """A `[policy]` table (TOML or JSON) as a `Policy`; 400 invalidValue naming the key.

    `break` is refused unless the server runs with `--allow-break` (test-only).
    """
    if not isinstance(table, dict):
        raise InvalidValue("The policy must be a JSON object (the [policy] table).")
    errors = sorted(validator().iter_errors(table), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = ".".join(str(p) for p in first.absolute_path) or "policy"
        raise InvalidValue(f"policy {where}: {first.message}")
    broken = table.get("break")
    if broken is not None and not allow_break:
        raise InvalidValue(
            "policy 'break' is test-only: start the server with --allow-break to use it."
        )
    domains = tuple(dict.fromkeys(_domain(d) for d in table.get("registered_domains") or ()))
    return Policy(
        accounts=table.get("accounts", "eager"),
        delete=table.get("delete", "keep_account"),
        sso_enforced=bool(table.get("sso_enforced", False)),
        domain_policy=table.get("domain_policy", "strict"),
        registered_domains=domains,
        seat_cap=table.get("seat_cap"),
        seat_cap_status=int(table.get("seat_cap_status", 403)),
        seat_release=table.get("seat_release", "on_deprovision"),
        deactivation=table.get("deactivation", "supported"),
        teams_from_idp=bool(table.get("teams_from_idp", True)),
        group_delete_removes_members=bool(table.get("group_delete_removes_members", False)),
        invitation_fallback=bool(table.get("invitation_fallback", False)),
        default_team=table.get("default_team"),
        broken=broken,
    )


def load_policy_file(path: Path) -> dict[str, Any]:
    """The `[policy]` table of a TOML policy file (ValueError with the reason otherwise)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read policy file {path}: {exc}") from None
    table = doc.get("policy", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [policy] must be a table")
    return table
