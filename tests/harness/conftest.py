"""Fixtures for the harness's own tests: a fake SCIM server served on 127.0.0.1:0."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `defects`

from pytester_support import Served, enable_pytester, served_fake

__all__ = ["Served", "fake_server"]  # tests import Served from here


def pytest_configure(config: pytest.Config) -> None:
    enable_pytester(config)


@pytest.fixture
def fake_server() -> Iterator[Served]:
    """A fresh in-memory fake SCIM server for one test."""
    with served_fake() as served:
        yield served
