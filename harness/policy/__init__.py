"""Provisioning policies (issue 5): the policy file a deployment declares and its admin API.

`harness.policy.loader` reads and validates `--scim-policy FILE` (`[policy]` against
profiles/policies/policy.schema.json, `[admin]` by hand); `harness.policy.admin` is the
admin-API client the policy checks observe effects through. Neither knows pytest.
"""

from __future__ import annotations

__all__: list[str] = []
