"""Provisioning policies (issue 5): the policy file a deployment declares and its admin API.

`loader` reads and validates `--scim-policy FILE` (`[policy]` against
profiles/policies/policy.schema.json, `[admin]` by hand); `admin` is the admin-API client
the policy checks observe effects through; `promises` names the promises (one check each,
`@promise`); `session` holds the pytest hooks of a policy run. The checks themselves live
in harness/suite/test_policy.py.
"""

from __future__ import annotations

__all__: list[str] = []
