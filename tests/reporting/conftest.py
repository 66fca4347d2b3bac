"""Fixtures of the report tests: a fake SCIM server with a known token."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))  # `scim_fake`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `defects`

from pytester_support import enable_pytester, served_fake
from reporting_support import TOKEN, Served


def pytest_configure(config: pytest.Config) -> None:
    enable_pytester(config)


@pytest.fixture
def fake_server() -> Iterator[Served]:
    """A fresh in-memory fake SCIM server with a known token."""
    with served_fake(TOKEN) as served:
        yield served
