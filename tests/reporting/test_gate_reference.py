"""The gate with the shipped checks against the bundled reference server behind the defect
switchboard of tests/defects: one DELETE defect turns a passing check into a new failure
(the gated run fails); gated against a baseline that already knew it, the run passes."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from defects.catalog import RewriteStatus
from defects.proving import FAST, TOKEN, Reference, served_reference

from harness.plugin import SUITE_DIR

DELETE_200 = RewriteStatus("DELETE", "/(Users|Groups)/[^/]+", from_status=204, to_status=200)
CHECKS = "test_delete_answers_204 or test_deleting_twice_is_404"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    with served_reference(tmp_path_factory.mktemp("reference")) as served:
        yield served


def _run(pytester: pytest.Pytester, reference: Reference, *extra: str) -> pytest.RunResult:
    return pytester.runpytest(
        str(SUITE_DIR / "test_delete.py"),
        "--scim-url",
        reference.url,
        "--scim-token",
        TOKEN,
        "-k",
        CHECKS,
        "-p",
        "no:cacheprovider",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *FAST,
        *extra,
    )


def test_a_defect_fails_the_gate_and_a_known_one_does_not(
    pytester: pytest.Pytester, reference: Reference
) -> None:
    with reference.board.active(None):
        clean = _run(pytester, reference, "--scim-save-baseline", "clean.json")
    assert clean.ret == pytest.ExitCode.OK, clean.stdout.str()

    with reference.board.active(DELETE_200):
        broken = _run(pytester, reference, "--scim-baseline", "clean.json")
    assert broken.ret == pytest.ExitCode.TESTS_FAILED
    broken.stdout.fnmatch_lines([
        "baseline gate FAILED against *clean.json: 2 new failures, 0 known failures*",
        "NEW FAILURE test_delete::test_delete_answers_204[Group]",
        "NEW FAILURE test_delete::test_delete_answers_204[User]",
    ])  # fmt: skip

    shutil.copy(pytester.path / "reports" / "scim-report.json", pytester.path / "known.json")
    with reference.board.active(DELETE_200):
        known = _run(pytester, reference, "--scim-baseline", "known.json")
    assert known.ret == pytest.ExitCode.OK, known.stdout.str()
    known.stdout.fnmatch_lines([
        "baseline gate passed against *known.json: 0 new failures, 2 known failures*",
        "KNOWN FAILURE test_delete::test_delete_answers_204[Group]",
    ])  # fmt: skip

    with reference.board.active(None):
        fixed = _run(pytester, reference, "--scim-baseline", "known.json")
    assert fixed.ret == pytest.ExitCode.OK
    fixed.stdout.fnmatch_lines(["FIXED test_delete::test_delete_answers_204[Group]"])
