"""The pytest side of a policy run: the policy file loaded once (a bad file is a usage
error before anything is sent) and test_policy.py collected only with `--scim-policy`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.policy.loader import PolicyFile, PolicyFileError, load_policy
from harness.settings import Settings

__all__ = ["POLICY_KEY", "POLICY_MODULE", "PolicyRun"]

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
