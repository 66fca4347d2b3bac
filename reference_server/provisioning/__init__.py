"""The provisioning system (issue 5): per-organization policies on the SCIM write path,
accounts, memberships, seats, invitations, the audit log and the admin API's rules.

Modules: `policy` (the [policy] table), `orgs` (settings and their in-process cache),
`store` (fixed SQL), `scim_hooks` (the SCIM write path), `service` (the admin API).
"""

from __future__ import annotations

__all__: list[str] = []
