"""The plugin from outside (pytester): out of the way without --scim-url, and with it the
shipped suite, grading by keyword, the report and the exchange sections."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from conftest import Served
from pytester_support import GRADED_NOT_PASSING, read_report, write_suite


def _outcomes(result: pytest.RunResult) -> dict[str, int]:
    """Outcome counts without pytest's own warnings count: an in-process run may warn that
    the already imported packages cannot be assertion-rewritten (depends on how pip laid
    out the editable install), which says nothing about the grading under test."""
    return {k: v for k, v in result.parseoutcomes().items() if k != "warnings"}


def test_without_url_the_plugin_stays_out_of_the_way(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\naddopts = --strict-markers --strict-config\n")
    pytester.makepyfile(
        test_own="""
        import pytest

        @pytest.mark.patch
        @pytest.mark.must
        def test_mine():
            assert True
        """
    )
    result = pytester.runpytest("-q")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*SCIM conformance*")
    assert not (pytester.path / "reports").exists()


def test_options_show_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--scim-url=URL*", "*--scim-strict*", "*scim_timeout*"])


def test_bad_option_values_are_usage_errors(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--scim-url", "ftp://x", "--co")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--scim-url: expected an http(s) URL or 'embedded'*"])


def test_a_url_collects_the_shipped_suite_despite_testpaths(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    pytester.makeini("[pytest]\ntestpaths = nowhere\n")
    result = pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "--co", "-q"
    )
    result.stdout.fnmatch_lines(
        ["*test_discovery.py::test_service_provider_config_schema", "*tests collected*"]
    )


GRADED = (
    GRADED_NOT_PASSING
    + '''

@clause("rfc7644-4-must-3")
def test_passes(make_user, read_back):
    """RFC 7644 4: a check that passes."""
    user = make_user()
    read_back(user, {"userName": user["userName"]})
'''
)


def test_outcomes_are_graded_by_keyword(pytester: pytest.Pytester, fake_server: Served) -> None:
    write_suite(pytester, GRADED)
    result = pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "-rA", "test_me.py"
    )
    outcomes = _outcomes(result)
    assert outcomes == {"passed": 1, "failed": 1, "skipped": 1, "warned": 1, "blocked": 1}
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*SCIM exchange*",
        "> GET http://127.0.0.1:*/scim/v2/Users/nobody",
        "< 404 (*",
        "*SCIM conformance*",
        "*me * 1 * 1 * 1 * 1 * 1 * 0*",
        "BLOCKED *test_prerequisite_fails - could not create a User",
        "WARNING *test_should_missed*",
        "requirement coverage: 3/* of the testable RFC requirements exercised; MUST: 2/*",
        "*SCIM report: *scim-report.json",
    ])  # fmt: skip
    checks = read_report(pytester)["checks"]
    graded = {c["nodeid"].split("::")[1]: c["outcome"] for c in checks}
    assert graded == {
        "test_must_broken": "failed",
        "test_should_missed": "warning",
        "test_may_unsupported": "skipped",
        "test_prerequisite_fails": "blocked",
        "test_passes": "passed",
    }
    assert fake_server.fake.users == {}, "make_user's user was not deleted"


def test_strict_fails_a_missed_should(pytester: pytest.Pytester, fake_server: Served) -> None:
    write_suite(pytester, GRADED)
    result = pytester.runpytest(
        "--scim-url",
        fake_server.url,
        "--scim-token",
        fake_server.token,
        "--scim-strict",
        "-k",
        "should",
        "test_me.py",
    )
    result.assert_outcomes(failed=1)


def test_the_token_never_leaks(pytester: pytest.Pytester, fake_server: Served) -> None:
    write_suite(pytester, GRADED)
    result = pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "-rA", "-vv", "test_me.py"
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Bearer ***" in output
    assert fake_server.token not in output
    report = (pytester.path / "reports" / "scim-report.json").read_text(encoding="utf-8")
    assert fake_server.token not in report
    assert "$SCIM_TOKEN" in report


def test_env_and_ini_configure_a_run(
    pytester: pytest.Pytester, fake_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_suite(pytester, GRADED)
    pytester.makeini("[pytest]\nscim_url = http://127.0.0.1:9/nothing\nscim_report_dir = out\n")
    monkeypatch.setenv("SCIM_URL", fake_server.url)  # env beats ini
    monkeypatch.setenv("SCIM_TOKEN", fake_server.token)
    result = pytester.runpytest("-k", "passes", "test_me.py")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "out" / "scim-report.json").is_file()


def test_cleanup_failures_are_reported(pytester: pytest.Pytester, fake_server: Served) -> None:
    write_suite(pytester, GRADED)
    fake_server.fake.faults.add("delete-500")
    result = pytester.runpytest(
        "--scim-url",
        fake_server.url,
        "--scim-token",
        fake_server.token,
        "-k",
        "passes",
        "test_me.py",
    )
    result.stdout.fnmatch_lines(["CLEANUP FAILED: DELETE /Users/*"])
    leftovers = read_report(pytester)["cleanup"]["leftovers"]
    assert len(leftovers) == 1


def test_discovery_failure_blocks_dependents(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester, GRADED)
    result = pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", "wrong-token", "-k", "passes", "test_me.py"
    )
    assert _outcomes(result) == {"blocked": 1, "deselected": 4}
    assert "GET /ServiceProviderConfig answered 401" in result.stdout.str()


def test_report_validates_against_its_schema(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    from harness.reporting.model import validate_report

    write_suite(pytester, GRADED)
    pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py"
    )
    report = read_report(pytester)
    validate_report(report)
    assert report["format_version"] == "1.1"
    assert report["server"]["declared"]["resourceTypes"] == {
        "User": "/Users",
        "Group": "/Groups",
    }
    assert Path(str(report["target"]["url"])).name == "v2"


INTERRUPTED = '''
from harness.checks import clause


@clause("rfc7644-4-must-1")
def test_interrupted(make_user, make_group):
    """RFC 7644 4: creates resources, then the run is interrupted."""
    make_group(members=[make_user()])
    raise KeyboardInterrupt
'''


def test_ctrl_c_still_deletes_what_the_run_created(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester, INTERRUPTED)
    result = pytester.inline_run(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py",
        no_reraise_ctrlc=True,
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.INTERRUPTED
    assert len(fake_server.fake.deletes) == 2
    assert fake_server.fake.users == {}
    assert fake_server.fake.groups == {}


def test_xdist_workers_share_the_target_and_the_controller_reports(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester, GRADED)
    result = pytester.runpytest_subprocess(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "-n", "2",
        "--junitxml", "junit.xml", "-p", "no:cacheprovider", "test_me.py",
    )  # fmt: skip
    assert result.parseoutcomes() == {
        "passed": 1, "failed": 1, "skipped": 1, "warned": 1, "blocked": 1
    }  # fmt: skip
    report = read_report(pytester)
    assert report["summary"]["total"] == 5
    assert report["server"]["declared"] is not None
    junit = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert junit.count("<testcase") == 5
    assert '<property name="scim_outcome" value="blocked"' in junit
    assert fake_server.token not in junit


def test_embedded_starts_and_stops_the_reference_server(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        "--scim-url", "embedded", "-p", "no:cacheprovider", "-k",
        "test_service_provider_config_schema or test_listing_requires_a_valid_credential",
    )  # fmt: skip
    result.assert_outcomes(passed=9)
    report = read_report(pytester)
    assert report["target"]["embedded"] is True
    url = str(report["target"]["url"])
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/scim/v2")
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/ServiceProviderConfig", timeout=2)
