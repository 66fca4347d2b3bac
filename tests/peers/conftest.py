"""The `peers` marker: runs of the suite against independent SCIM servers (deselect with
`-m "not peers"`)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "peers: the shipped suite against an independent SCIM server (slow)"
    )
