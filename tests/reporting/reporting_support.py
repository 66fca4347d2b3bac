"""Shared by the report tests: the suite a run executes, a known token; `write_suite` and
`load_json` come from tests/pytester_support.py, which the plugin tests use too.

(A module of its own, not conftest.py: `from conftest import` would find whichever
conftest.py pytest imported last.)
"""

from __future__ import annotations

import pytest
import pytester_support
from pytester_support import GRADED_NOT_PASSING, Served, load_json

__all__ = ["GRADED", "TOKEN", "Served", "load_json", "write_suite"]

TOKEN = "report-token-9c41e7d2a0b35f86"

# One check per outcome, with a failure that carries an exchange and expected/actual.
GRADED = (
    GRADED_NOT_PASSING
    + '''

@clause("rfc7644-4-must-3")
def test_passes(scim):
    """RFC 7644 4: a check that passes."""
    expect_status(scim.get("/ServiceProviderConfig"), 200)


@clause("rfc7644-4-must-3")
@pytest.mark.parametrize("n", [1, 2])
def test_passes_too(scim, n):
    """RFC 7644 4: two more checks that pass."""
    expect_status(scim.get("/ResourceTypes"), 200)
'''
)


def write_suite(pytester: pytest.Pytester, body: str = GRADED) -> None:
    """The shared `write_suite`, with GRADED unless a test brings its own checks."""
    pytester_support.write_suite(pytester, body)
