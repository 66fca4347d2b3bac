"""Shared by the report tests: the suite a run executes, a known token, report loading.

(A module of its own, not conftest.py: `from conftest import` would find whichever
conftest.py pytest imported last.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scim_fake import FakeScim

TOKEN = "report-token-9c41e7d2a0b35f86"

SUITE_CONFTEST = 'pytest_plugins = ["harness.suite.conftest"]\n'

# One check per outcome, with a failure that carries an exchange and expected/actual.
GRADED = '''
import pytest

from harness.checks import clause, expect_status
from harness.verdicts import Blocked, HeaderMismatch, Unsupported


@clause("rfc7644-4-must-1")
def test_must_broken(scim):
    """RFC 7644 4: a MUST check that fails <b>loudly</b>."""
    expect_status(scim.get("/Users/nobody"), 200)


@clause("rfc7644-4-should-1")
def test_should_missed(scim):
    """RFC 7644 4: a SHOULD check that fails."""
    response = scim.get("/ServiceProviderConfig")
    raise HeaderMismatch("no such header", exchanges=[response.exchange])


@clause("rfc7644-4-may-1")
def test_may_unsupported(scim):
    """RFC 7644 4: a MAY check the server does not support."""
    raise Unsupported("the server declares it unsupported")


@clause("rfc7644-4-must-2")
def test_prerequisite_fails(scim):
    """RFC 7644 4: a check whose prerequisite fails."""
    raise Blocked("could not create a User")


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


@dataclass
class Served:
    """A fake SCIM server being served, with its token."""

    fake: FakeScim
    url: str
    token: str = TOKEN


def write_suite(pytester: pytest.Pytester, body: str = GRADED) -> None:
    pytester.makeconftest(SUITE_CONFTEST)
    pytester.makepyfile(test_me=body)


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data
