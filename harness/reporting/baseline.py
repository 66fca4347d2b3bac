"""The CI gate: this run's checks against an earlier JSON report (the baseline).

The run fails only on new failures: checks that passed in the baseline and fail now. Known
failures (failing in both) and fixed checks are listed, never failed. A baseline is any JSON
report of format 1.x, so `--scim-save-baseline` simply writes the report a second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

__all__ = ["FAILING", "PASSING", "GateResult", "check_key", "compare", "load_baseline"]

FAILING = frozenset({"failed", "blocked", "error"})
PASSING = frozenset({"passed", "warning"})


def check_key(nodeid: str) -> str:
    """A nodeid without the folder part (`test_patch.py::test_x[okta]` -> `test_patch::...`),
    so a baseline made in another checkout or install location still matches."""
    path, sep, rest = nodeid.partition("::")
    if not sep:
        return nodeid
    return f"{PurePosixPath(path.replace(chr(92), '/')).stem}::{rest}"


def load_baseline(path: Path) -> dict[str, str]:
    """{check key: outcome} of a baseline report; ValueError saying why it is unusable."""
    try:
        data: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict) or not str(data.get("format_version", "")).startswith("1."):
        raise ValueError(f"{path} is not a SCIM conformance report (format_version 1.x)")
    checks = data.get("checks")
    if not isinstance(checks, list) or not all(
        isinstance(c, dict) and isinstance(c.get("nodeid"), str) and "outcome" in c for c in checks
    ):
        raise ValueError(f"{path}: 'checks' must be a list of records with nodeid and outcome")
    return {check_key(c["nodeid"]): str(c["outcome"]) for c in checks}


@dataclass(frozen=True, slots=True)
class GateResult:
    """Check keys by how they moved between the baseline and this run."""

    baseline: str
    new_failures: list[str] = field(default_factory=list)
    known_failures: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    unbaselined_failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.new_failures

    def lines(self, limit: int = 50) -> list[str]:
        """The terminal's account: a verdict line, then each moved check by kind."""
        verdict = "passed" if self.passed else "FAILED"
        lines = [
            f"baseline gate {verdict} against {self.baseline}: {len(self.new_failures)} new "
            f"failures, {len(self.known_failures)} known failures, {len(self.fixed)} fixed, "
            f"{len(self.unbaselined_failures)} failing checks not passed in the baseline"
        ]
        for label, keys in (
            ("NEW FAILURE", self.new_failures),
            ("FIXED", self.fixed),
            ("KNOWN FAILURE", self.known_failures),
            ("NOT IN BASELINE", self.unbaselined_failures),
        ):
            lines += [f"{label} {key}" for key in keys[:limit]]
            if len(keys) > limit:
                lines.append(f"... and {len(keys) - limit} more ({label.lower()})")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "passed": self.passed,
            "new_failures": list(self.new_failures),
            "known_failures": list(self.known_failures),
            "fixed": list(self.fixed),
            "unbaselined_failures": list(self.unbaselined_failures),
        }


def compare(
    baseline: Mapping[str, str], current: Iterable[tuple[str, str]], *, name: str
) -> GateResult:
    """Sort this run's (nodeid, outcome) pairs against the baseline's outcomes.

    `unbaselined_failures` fail now but did not pass in the baseline because they were absent
    or skipped there: listed, not gated (the baseline promised nothing about them).
    """
    result = GateResult(baseline=name)
    for nodeid, outcome in sorted(current):
        key = check_key(nodeid)
        before = baseline.get(key)
        if outcome in FAILING:
            if before in PASSING:
                result.new_failures.append(key)
            elif before in FAILING:
                result.known_failures.append(key)
            else:
                result.unbaselined_failures.append(key)
        elif before in FAILING and outcome in PASSING:
            result.fixed.append(key)
    return result
