"""Fixtures for the harness's own tests: a fake SCIM server served on 127.0.0.1:0."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `defects`

from defects.serve import serve
from scim_fake import FakeScim


def pytest_configure(config: pytest.Config) -> None:
    # pytester drives the plugin from outside; `pytest_plugins` is only allowed at the root.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


@dataclass
class Served:
    fake: FakeScim
    url: str

    @property
    def token(self) -> str:
        return self.fake.token


@pytest.fixture
def fake_server() -> Iterator[Served]:
    """A fresh in-memory fake SCIM server for one test."""
    fake = FakeScim()
    with serve(fake.app()) as url:
        yield Served(fake, url)
