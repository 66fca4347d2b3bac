"""Proof machinery: run shipped checks against the reference server, clean and with a defect.

One reference server per test process (uvicorn thread, SQLite in a temp folder) sits behind
a `Switchboard`; a proof switches one defect on, runs the named check in-process with
`pytest.main` (with --scim-strict, so a missed SHOULD counts as a failure) and reads the
graded outcome from the plugin's own report records.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from defects.catalog import Defect, Switchboard
from defects.serve import serve
from harness.plugin import SUITE_DIR
from harness.reporting.collector import Collector

__all__ = ["TOKEN", "Proof", "Reference", "prove", "run_suite", "served_reference"]

TOKEN = "proof-token-5f2a9c0e7b1d4e63a8"

# Inner runs skip what only costs time in-process: the unraisable-exception plugin's forced
# garbage collections (seconds with a big heap), marking every plugin for rewriting, and
# plugins the suite does not use.
FAST = ("-p", "no:unraisableexception", "--assert=plain", "-p", "no:hypothesispytest",
        "-p", "no:allure_pytest", "-p", "no:anyio", "-p", "no:respx", "-p", "no:faker",
        "-p", "no:xdist", "-p", "no:xdist.looponfail")  # fmt: skip


@dataclass(frozen=True)
class Proof:
    """`check` ("test_auth::test_401_carries_www_authenticate") fails under `defect`."""

    check: str
    defect: Defect

    @property
    def module(self) -> str:
        return self.check.split("::", 1)[0]

    @property
    def function(self) -> str:
        return self.check.split("::", 1)[1]

    @property
    def target(self) -> str:
        return f"{SUITE_DIR / (self.module + '.py')}::{self.function}"

    def owns(self, nodeid: str) -> bool:
        """Whether a nodeid (any parametrization) belongs to this proof's check."""
        path, _, name = nodeid.partition("::")
        return Path(path).stem == self.module and name.split("[")[0] == self.function


class _Records:
    def __init__(self) -> None:
        self.collector = Collector()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scim = getattr(report, "scim", None)
        if isinstance(scim, dict):
            self.collector.add(report.nodeid, report.when or "", report.duration, scim)


def run_suite(targets: list[str], url: str, report_dir: Path, *extra: str) -> dict[str, Any]:
    """Run shipped checks in-process; {nodeid: CheckRecord} as the plugin graded them."""
    records = _Records()
    args = [
        *targets,
        "--scim-url",
        url,
        "--scim-token",
        TOKEN,
        "--scim-strict",
        "--scim-report-dir",
        str(report_dir),
        "-p",
        "no:cacheprovider",
        "-qq",
        "--no-header",
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *FAST,
        *extra,
    ]
    code = pytest.main(args, plugins=[records])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(f"inner pytest run failed to run: {code!r} for {targets}")
    return dict(records.collector.records)


@dataclass
class Reference:
    """The served reference app, its switchboard, and clean outcomes per suite module."""

    url: str
    board: Switchboard
    report_dir: Path
    _clean: dict[str, dict[str, Any]] = field(default_factory=dict)

    def clean(self, module: str) -> dict[str, Any]:
        """Outcomes of one suite module on the clean server (run once, then cached)."""
        if module not in self._clean:
            with self.board.active(None):
                target = str(SUITE_DIR / f"{module}.py")
                self._clean[module] = run_suite([target], self.url, self.report_dir)
        return self._clean[module]

    def run_with(self, defect: Defect, targets: list[str]) -> dict[str, Any]:
        with self.board.active(defect):
            return run_suite(targets, self.url, self.report_dir)


def prove(reference: Reference, proof: Proof) -> None:
    """The check passes on the clean server and fails with the defect."""
    mine = {n: r for n, r in reference.clean(proof.module).items() if proof.owns(n)}
    assert mine, f"{proof.check} is not in the shipped suite"
    clean = {n: r.outcome for n, r in mine.items()}
    assert all(o in ("passed", "skipped") for o in clean.values()), clean
    assert "passed" in clean.values(), f"{proof.check} never passes on the clean server: {clean}"
    broken = reference.run_with(proof.defect, [proof.target])
    outcomes = {n: (r.outcome, r.reason[:300]) for n, r in broken.items()}
    assert any(o == "failed" for o, _ in outcomes.values()), (
        f"{proof.check} did not fail with {proof.defect.label}: {outcomes}"
    )


@contextmanager
def served_reference(folder: Path) -> Iterator[Reference]:
    """The reference server behind a switchboard."""
    from reference_server.app import create_app
    from reference_server.settings import ServerSettings

    app = create_app(
        ServerSettings(database_url=f"sqlite:///{folder / 'scim.db'}", bootstrap_token=TOKEN)
    )
    board = Switchboard(app, TOKEN)
    with serve(board) as url:
        yield Reference(url, board, folder)
