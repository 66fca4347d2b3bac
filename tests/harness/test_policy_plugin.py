"""--scim-policy from outside (pytester, against the fake SCIM server): a bad file is a
usage error, the policy checks exist only with the option, and without `[admin]` they skip
saying why while the SCIM-only ones still run (and can fail)."""

from __future__ import annotations

import json

import pytest
from conftest import Served

from harness.plugin import SUITE_DIR

POLICY_MODULE = str(SUITE_DIR / "test_policy.py")


def _run(pytester: pytest.Pytester, served: Served, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--scim-url",
        served.url,
        f"--scim-token={served.token}",
        "-p",
        "no:cacheprovider",
        "-W",  # the harness is already imported (and not rewritten) in this process
        "ignore::pytest.PytestAssertRewriteWarning",
        *args,
    )


def test_a_bad_policy_file_is_a_usage_error(pytester: pytest.Pytester, fake_server: Served) -> None:
    pytester.makefile(".toml", policy='[policy]\naccounts = "lazy"\n')
    result = _run(pytester, fake_server, "--scim-policy", "policy.toml", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--scim-policy: *policy.toml: [[]policy[]].accounts: 'lazy'*"])


def test_an_unknown_preset_is_a_usage_error(pytester: pytest.Pytester, fake_server: Served) -> None:
    result = _run(pytester, fake_server, "--scim-policy", "no-such-preset", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*no-such-preset: no such file, and not a preset name*"])


def test_policy_checks_exist_only_with_the_option(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    without = _run(pytester, fake_server, "--co", "-q", POLICY_MODULE)
    assert "test_policy_" not in without.stdout.str()
    pytester.makefile(".toml", policy="[policy]\n")
    with_it = _run(
        pytester, fake_server, "--scim-policy", "policy.toml", "--co", "-q", "-m", "policy"
    )
    with_it.stdout.fnmatch_lines(
        ["*test_policy.py::test_policy_seat_cap", "*24/* tests collected*"]
    )


def test_without_admin_section_checks_skip_and_scim_ones_still_fail(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    pytester.makefile(".toml", policy="[policy]\nseat_cap = 2\n")
    result = _run(
        pytester,
        fake_server,
        "--scim-policy",
        "policy.toml",
        "--scim-destructive",
        POLICY_MODULE,
        "-rs",
    )
    result.stdout.fnmatch_lines(["*no [[]admin[]] section: this promise shows only through*"])
    report = json.loads((pytester.path / "reports" / "scim-report.json").read_text("utf-8"))
    outcomes = {c["name"].split("::")[-1]: c["outcome"] for c in report["checks"]}
    assert outcomes["test_policy_seat_cap"] == "failed"  # the fake has no cap
    assert outcomes["test_policy_teams_from_idp"] == "passed"  # POST/DELETE /Groups work
    assert outcomes["test_policy_login_gate"] == "skipped"
    assert fake_server.fake.users == {}, "the users filling the tenant were not deleted"
