"""Fixtures of the proofs: one reference server per test process, clean outcomes run once."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from defects.proving import Reference, served_reference


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """The reference server behind a defect switchboard (see tests/defects/proving.py)."""
    with served_reference(tmp_path_factory.mktemp("reference")) as served:
        yield served
