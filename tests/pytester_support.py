"""What the pytester tests of the plugin share (tests/harness, tests/reporting): the fake
SCIM server they run against, the suite a run loads, the checks that grade one per outcome
but `passed`, and reading the JSON report.

Imported as `pytester_support`: both conftest.py files put tests/ and tests/harness (for
`scim_fake`) on sys.path.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from defects.serve import serve
from scim_fake import FakeScim

__all__ = [
    "GRADED_NOT_PASSING",
    "SUITE_CONFTEST",
    "Served",
    "enable_pytester",
    "load_json",
    "read_report",
    "served_fake",
    "write_suite",
]


@dataclass
class Served:
    """A fake SCIM server being served on 127.0.0.1, with its token."""

    fake: FakeScim
    url: str

    @property
    def token(self) -> str:
        return self.fake.token


@contextmanager
def served_fake(token: str | None = None) -> Iterator[Served]:
    """A fresh in-memory fake SCIM server (with `token`, or the fake's own) for one test."""
    fake = FakeScim() if token is None else FakeScim(token=token)
    with serve(fake.app()) as url:
        yield Served(fake, url)


def enable_pytester(config: pytest.Config) -> None:
    """pytester drives the plugin from outside; `pytest_plugins` is only allowed at the
    root, so each conftest that needs it loads it here."""
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


SUITE_CONFTEST = 'pytest_plugins = ["harness.suite.conftest"]\n'

# A failed MUST (with an exchange), a missed SHOULD, an unsupported MAY and a failed
# prerequisite; each test module appends the passing checks it needs.
GRADED_NOT_PASSING = '''
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
'''


def write_suite(pytester: pytest.Pytester, body: str) -> None:
    """A pytester project whose test_me.py runs `body` with the shipped suite's fixtures."""
    pytester.makeconftest(SUITE_CONFTEST)
    pytester.makepyfile(test_me=body)


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def read_report(pytester: pytest.Pytester) -> dict[str, Any]:
    """The JSON report a run wrote to the default folder."""
    return load_json(pytester.path / "reports" / "scim-report.json")
