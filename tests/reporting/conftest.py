"""Fixtures of the report tests: a fake SCIM server with a known token."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))  # `scim_fake`
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `defects`

from defects.serve import serve
from reporting_support import TOKEN, Served
from scim_fake import FakeScim


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@pytest.fixture
def fake_server() -> Iterator[Served]:
    """A fresh in-memory fake SCIM server with a known token."""
    fake = FakeScim(token=TOKEN)
    with serve(fake.app()) as url:
        yield Served(fake, url)
