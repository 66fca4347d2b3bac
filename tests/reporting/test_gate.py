"""The regression gate (--scim-baseline): a run fails only on checks that passed in the baseline
and fail now; known failures and fixed checks are listed. Driven from outside against the fake
server, clean and with a DELETE defect."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reporting_support import Served, load_json, write_suite

from harness.reporting.baseline import check_key, compare, load_baseline

GATED = '''
from harness.checks import clause, expect_status


@clause("rfc7644-4-must-1")
def test_always_broken(scim):
    """RFC 7644 4: fails against every server (the known failure)."""
    expect_status(scim.get("/Users/nobody"), 200)


@clause("rfc7644-4-must-3")
def test_delete_answers_204(scim, make_user):
    """RFC 7644 4: a created user can be deleted (fails when DELETE answers 500)."""
    user = make_user()
    expect_status(scim.delete(f"/Users/{user['id']}"), 204)


@clause("rfc7644-4-must-2")
def test_discovery(scim):
    """RFC 7644 4: passes against every server."""
    expect_status(scim.get("/ServiceProviderConfig"), 200)
'''


def _run(pytester: pytest.Pytester, server: Served, *extra: str) -> pytest.RunResult:
    return pytester.runpytest(
        "--scim-url", server.url, "--scim-token", server.token, *extra, "test_me.py"
    )


def test_the_gate_passes_on_known_failures_and_fails_on_new_ones(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester, GATED)
    saved = _run(pytester, fake_server, "--scim-save-baseline", "ci/baseline.json")
    assert saved.ret == pytest.ExitCode.TESTS_FAILED  # no baseline: pytest's own verdict
    baseline = load_json(pytester.path / "ci" / "baseline.json")
    outcomes = {check_key(c["nodeid"]): c["outcome"] for c in baseline["checks"]}
    assert outcomes == {
        "test_me::test_always_broken": "failed",
        "test_me::test_delete_answers_204": "passed",
        "test_me::test_discovery": "passed",
    }

    known = _run(pytester, fake_server, "--scim-baseline", "ci/baseline.json")
    assert known.ret == pytest.ExitCode.OK, known.stdout.str()
    known.stdout.fnmatch_lines([
        "*SCIM conformance*",
        "baseline gate passed against *baseline.json: 0 new failures, 1 known failures, 0 fixed*",
        "KNOWN FAILURE test_me::test_always_broken",
    ])  # fmt: skip
    known.stdout.no_fnmatch_line("NEW FAILURE*")
    assert load_json(pytester.path / "reports" / "scim-report.json")["gate"]["passed"] is True

    fake_server.fake.faults.add("delete-500")  # the defect: DELETE answers 500
    new = _run(pytester, fake_server, "--scim-baseline", "ci/baseline.json")
    assert new.ret == pytest.ExitCode.TESTS_FAILED
    new.stdout.fnmatch_lines([
        "baseline gate FAILED against *: 1 new failures, 1 known failures, 0 fixed*",
        "NEW FAILURE test_me::test_delete_answers_204",
        "KNOWN FAILURE test_me::test_always_broken",
    ])  # fmt: skip
    gate = load_json(pytester.path / "reports" / "scim-report.json")["gate"]
    assert gate["new_failures"] == ["test_me::test_delete_answers_204"]
    assert gate["known_failures"] == ["test_me::test_always_broken"]


def test_fixed_checks_are_listed(pytester: pytest.Pytester, fake_server: Served) -> None:
    write_suite(pytester, GATED)
    _run(pytester, fake_server, "--scim-save-baseline", "baseline.json")
    data = load_json(pytester.path / "baseline.json")
    for check in data["checks"]:
        if check["nodeid"].endswith("test_discovery"):
            check["outcome"] = "failed"  # as if an earlier server version broke it
    (pytester.path / "baseline.json").write_text(json.dumps(data), encoding="utf-8")
    result = _run(pytester, fake_server, "--scim-baseline", "baseline.json")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["FIXED test_me::test_discovery"])


def test_an_unusable_baseline_is_a_usage_error(
    pytester: pytest.Pytester, fake_server: Served
) -> None:
    write_suite(pytester, GATED)
    (pytester.path / "old.json").write_text('{"format_version": "0.9"}', encoding="utf-8")
    for name, message in (
        ("missing.json", "*--scim-baseline: cannot read *missing.json*"),
        ("old.json", "*--scim-baseline: *old.json is not a SCIM conformance report*"),
    ):
        result = _run(pytester, fake_server, "--scim-baseline", name)
        assert result.ret == pytest.ExitCode.USAGE_ERROR
        result.stderr.fnmatch_lines([message])


def test_the_baseline_env_var_and_ini_key_are_read(
    pytester: pytest.Pytester, fake_server: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_suite(pytester, GATED)
    pytester.makeini("[pytest]\nscim_save_baseline = from-ini.json\n")
    _run(pytester, fake_server)
    assert (pytester.path / "from-ini.json").is_file()
    monkeypatch.setenv("SCIM_BASELINE", "from-ini.json")
    result = _run(pytester, fake_server)
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(["baseline gate passed*"])


def test_compare_sorts_checks_by_movement() -> None:
    baseline = {"m::a": "passed", "m::b": "failed", "m::c": "error", "m::d": "skipped"}
    current = [
        ("x/m.py::a", "failed"),  # passed before: new
        ("m.py::b", "blocked"),  # failing both times: known
        ("m.py::c", "passed"),  # fixed
        ("m.py::d", "failed"),  # skipped there: not gated
        ("m.py::e", "error"),  # absent there: not gated
        ("m.py::f", "passed"),
    ]
    gate = compare(baseline, current, name="b.json")
    assert (gate.new_failures, gate.known_failures, gate.fixed) == (["m::a"], ["m::b"], ["m::c"])
    assert gate.unbaselined_failures == ["m::d", "m::e"]
    assert not gate.passed
    assert compare(baseline, current[1:], name="b.json").passed
    assert gate.lines(limit=1)[1:] == [
        "NEW FAILURE m::a",
        "FIXED m::c",
        "KNOWN FAILURE m::b",
        "NOT IN BASELINE m::d",
        "... and 1 more (not in baseline)",
    ]


def test_check_keys_ignore_the_folder() -> None:
    assert (
        check_key("harness/suite/test_patch.py::test_x[okta-a/b]") == "test_patch::test_x[okta-a/b]"
    )
    assert check_key("C:\\repo\\test_patch.py::test_x") == "test_patch::test_x"
    assert check_key("test_patch.py::test_x") == "test_patch::test_x"


def test_load_baseline_rejects_records_without_outcomes(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    path.write_text('{"format_version": "1.1", "checks": [{"nodeid": "a"}]}', encoding="utf-8")
    with pytest.raises(ValueError, match="nodeid and outcome"):
        load_baseline(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ValueError, match="is not JSON"):
        load_baseline(path)
