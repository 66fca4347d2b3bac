"""One run writes four outputs (JSON, HTML, JUnit XML, Allure results), also under xdist, and
none of them carries the bearer token."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from reporting_support import Served, load_json, write_suite

CHECKS = 7  # GRADED in conftest: one per outcome, plus two passing parametrizations


def _allure_results(folder: Path) -> dict[str, dict[str, Any]]:
    results = {}
    for path in folder.glob("*-result.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        results[data["name"]] = data
    return results


def _labels(result: dict[str, Any], name: str) -> list[str]:
    return [label["value"] for label in result["labels"] if label["name"] == name]


def test_a_run_under_xdist_writes_all_four_outputs_without_the_token(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester)
    result = pytester.runpytest_subprocess(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "-n", "2", "test_me.py"
    )
    reports = pytester.path / "reports"
    result.stdout.fnmatch_lines([
        "*SCIM conformance*",
        f"SCIM report: {reports / 'scim-report.json'}",
        f"HTML report: {reports / 'scim-report.html'}",
        f"JUnit XML: {reports / 'junit.xml'}",
        f"Allure results: {reports / 'allure-results'}",
    ])  # fmt: skip
    report = load_json(reports / "scim-report.json")
    assert report["format_version"] == "1.1"
    assert report["summary"]["total"] == CHECKS
    assert "<html" in (reports / "scim-report.html").read_text(encoding="utf-8")

    cases = ET.parse(reports / "junit.xml").getroot().iter("testcase")  # noqa: S314 (our own file)
    props = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in cases
    }
    assert len(props) == CHECKS
    assert props["test_must_broken"]["scim_clause"] == "RFC7644 4"
    assert props["test_must_broken"]["scim_outcome"] == "failed"

    allure = _allure_results(reports / "allure-results")
    assert len(allure) == CHECKS, sorted(allure)
    broken = allure["test_must_broken"]
    assert broken["status"] == "failed"
    assert _labels(broken, "feature") == [report["checks"][0]["area"]]
    assert _labels(broken, "story") == ["RFC7644 4"]
    attachments = [a for a in broken.get("attachments", []) if "SCIM exchange" in a["name"]]
    assert attachments, broken.get("attachments")
    text = (reports / "allure-results" / attachments[0]["source"]).read_text(encoding="utf-8")
    assert "> GET " in text
    assert "/Users/nobody" in text
    assert "Bearer ***" in text
    assert not allure["test_passes"].get("attachments")

    # Every output, every file: the token never appears (masked as ***).
    leaks = [
        str(path.relative_to(pytester.path))
        for path in pytester.path.rglob("*")
        if path.is_file() and fake_server.token.encode() in path.read_bytes()
    ]
    assert leaks == []
    assert fake_server.token not in result.stdout.str() + result.stderr.str()


def test_the_users_junitxml_and_alluredir_win(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester)
    result = pytester.runpytest(
        "--scim-url",
        fake_server.url,
        "--scim-token",
        fake_server.token,
        "--junitxml",
        "mine.xml",
        "--alluredir",
        "my-allure",
        "-k",
        "passes",
        "test_me.py",
    )
    result.stdout.fnmatch_lines(["JUnit XML: *mine.xml", "Allure results: my-allure"])
    assert (pytester.path / "mine.xml").is_file()
    assert list((pytester.path / "my-allure").glob("*-result.json"))
    assert not (pytester.path / "reports" / "junit.xml").exists()
    assert not (pytester.path / "reports" / "allure-results").exists()


def test_without_the_junit_and_allure_plugins_no_such_output_is_claimed(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester)
    result = pytester.runpytest(
        "-p", "no:junitxml", "-p", "no:allure_pytest",
        "--scim-url", fake_server.url, "--scim-token", fake_server.token,
        "-k", "test_passes", "test_me.py",
    )  # fmt: skip
    result.stdout.fnmatch_lines(["HTML report: *scim-report.html"])
    result.stdout.no_fnmatch_line("JUnit XML:*")
    result.stdout.no_fnmatch_line("Allure results:*")
    assert sorted(p.name for p in (pytester.path / "reports").iterdir()) == [
        "scim-report.html",
        "scim-report.json",
    ]


def test_the_default_allure_folder_holds_this_run_only(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester)
    args = ["--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py"]
    pytester.runpytest(*args)
    pytester.runpytest(*args, "-k", "test_passes_too")
    allure = _allure_results(pytester.path / "reports" / "allure-results")
    assert sorted(allure) == ["test_passes_too[1]", "test_passes_too[2]"]


PROFILED = '''
import pytest

from harness.checks import clause, expect_status


@clause("rfc7644-4-must-3")
@pytest.mark.parametrize("who", [pytest.param("okta", marks=pytest.mark.okta),
                                 pytest.param("entra", marks=pytest.mark.entra)])
def test_idp_like(scim, who):
    """RFC 7644 4: a check per IdP profile."""
    expect_status(scim.get("/ServiceProviderConfig"), 200 if who == "okta" else 418)


@pytest.mark.policy
def test_policy_seat_cap(scim):
    """SPEC: at the cap, provisioning is refused."""
    expect_status(scim.get("/ResourceTypes"), 200)
'''


def test_checks_record_their_profile_and_policy(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    pytester.makeconftest(
        'pytest_plugins = ["harness.suite.conftest"]\n\n'
        "def pytest_configure(config):\n"
        '    config.addinivalue_line("markers", "policy: a provisioning policy check")\n'
    )
    pytester.makepyfile(test_me=PROFILED)
    result = pytester.runpytest(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py"
    )
    result.stdout.fnmatch_lines([
        "profile * passed * failed*",
        "entra * 0 * 1 *",
        "okta * 1 * 0 *",
    ])  # fmt: skip
    report = load_json(pytester.path / "reports" / "scim-report.json")
    checks = {c["nodeid"].split("::")[1]: c for c in report["checks"]}
    assert checks["test_idp_like[okta]"]["profile"] == "okta"
    assert checks["test_idp_like[entra]"]["profile"] == "entra"
    assert checks["test_idp_like[entra]"]["expected"] == "418"
    assert checks["test_idp_like[entra]"]["actual"] == "200"
    assert checks["test_policy_seat_cap"]["policy"] == "seat_cap"
    assert checks["test_policy_seat_cap"]["profile"] is None
    assert report["profiles"]["okta"]["passed"] == 1
    assert report["profiles"]["entra"]["failed"] == 1
    assert report["policies"] is None
    junit = (pytester.path / "reports" / "junit.xml").read_text(encoding="utf-8")
    assert 'name="scim_profile" value="entra"' in junit
    assert 'name="scim_policy" value="seat_cap"' in junit
    allure = _allure_results(pytester.path / "reports" / "allure-results")
    params = {p["name"]: p["value"] for p in allure["test_idp_like[okta]"]["parameters"]}
    assert params["profile"] == "'okta'"
    assert _labels(allure["test_policy_seat_cap"], "story") == ["policy seat_cap"]


def test_collect_only_keeps_the_last_runs_outputs(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester)
    args = ["--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py"]
    pytester.runpytest(*args, "-k", "test_passes")
    reports = pytester.path / "reports"
    before = {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()}
    assert sorted(before) == ["junit.xml", "scim-report.html", "scim-report.json"]
    result = pytester.runpytest(*args, "--co")
    assert result.ret == pytest.ExitCode.OK
    assert {p.name: p.read_bytes() for p in reports.iterdir() if p.is_file()} == before
    assert list((reports / "allure-results").glob("*-result.json"))


@pytest.mark.parametrize(
    "order",
    [("allure_pytest.plugin", "harness.plugin"), ("harness.plugin", "allure_pytest.plugin")],
    ids=["allure-first", "allure-last"],
)
def test_allure_results_whichever_plugin_configures_first(
    pytester: pytest.Pytester,
    fake_server: Served,
    monkeypatch: pytest.MonkeyPatch,
    order: tuple[str, str],
) -> None:
    """pytest configures the plugin registered last first: with allure-pytest last it has
    looked for --alluredir before the harness set it, and the harness must catch up."""
    write_suite(pytester)
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    first, second = order
    result = pytester.runpytest_subprocess(
        "-p", first, "-p", second,
        "--scim-url", fake_server.url, "--scim-token", fake_server.token,
        "-k", "test_passes", "test_me.py",
    )  # fmt: skip
    result.stdout.fnmatch_lines(["Allure results: *allure-results"])
    allure = _allure_results(pytester.path / "reports" / "allure-results")
    assert sorted(allure) == ["test_passes", "test_passes_too[1]", "test_passes_too[2]"]


LEAKY = '''
from harness.checks import clause
from harness.settings import SETTINGS_KEY


@clause("rfc7644-4-must-1")
def test_leaky(request):
    """RFC 7644 4: a check whose failure message carries the token (assert rewriting)."""
    token = request.config.stash[SETTINGS_KEY].token
    print("captured:", token)
    assert token == "something else"
'''


def test_a_token_in_a_failure_message_is_masked_in_every_output(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    """pytest writes JUnit and allure-pytest its results: the run masks the files after."""
    write_suite(pytester, LEAKY)
    result = pytester.runpytest_subprocess(
        "--scim-url", fake_server.url, "--scim-token", fake_server.token, "test_me.py"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    reports = pytester.path / "reports"
    assert "***" in (reports / "junit.xml").read_text(encoding="utf-8")
    leaks = [
        str(path.relative_to(pytester.path))
        for path in reports.rglob("*")
        if path.is_file() and fake_server.token.encode() in path.read_bytes()
    ]
    assert leaks == []
