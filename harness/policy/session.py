"""The pytest side of a policy run: the policy file loaded once (a bad file is a usage
error before anything is sent), test_policy.py collected only with `--scim-policy`, and the
embedded server's admin API handed to xdist workers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.policy.loader import PolicyFile, PolicyFileError, load_policy
from harness.settings import Settings

__all__ = ["POLICY_KEY", "POLICY_MODULE", "PolicyRun", "PolicyXdistHooks"]

POLICY_MODULE = "test_policy.py"
POLICY_KEY = pytest.StashKey[PolicyFile]()


class PolicyRun:
    """Registered by harness.plugin for every run with --scim-url."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.policy: PolicyFile | None = None
        if settings.policy is None:
            return
        try:
            # Embedded: the bundled server prints its own admin API; a file's [admin] is ignored.
            self.policy = load_policy(settings.policy, read_admin=settings.url != "embedded")
        except PolicyFileError as exc:
            raise pytest.UsageError(f"--scim-policy: {exc}") from None
        config.stash[POLICY_KEY] = self.policy

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        """The policy checks exist only with --scim-policy FILE."""
        if collection_path.name == POLICY_MODULE and self.policy is None:
            return True
        return None

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.policy is None:  # also when test_policy.py is named explicitly
            items[:] = [i for i in items if i.path.name != POLICY_MODULE]


class PolicyXdistHooks:
    """Controller side of xdist: workers get the embedded server's admin API too."""

    def __init__(self, target_of: Any) -> None:
        self.target_of = target_of

    def pytest_configure_node(self, node: Any) -> None:
        target = self.target_of()
        if target is not None and target.admin_url:
            node.workerinput["scim_admin_url"] = target.admin_url
            node.workerinput["scim_admin_token"] = target.admin_token
            node.workerinput["scim_organization"] = target.organization
