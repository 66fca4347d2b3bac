"""Grade a check's phase outcome by the RFC keyword behind it (pure; no pytest objects).

MUST broken: failed. SHOULD missed: warning (failed under --scim-strict). MAY unsupported:
skipped (pytest does that). Prerequisite failed: blocked. Harness bug: error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from harness.exchange import Exchange
from harness.verdicts import Blocked, HarnessError, Keyword, ScimViolation

__all__ = ["OUTCOMES", "Verdict", "grade"]

OUTCOMES = ("passed", "failed", "warning", "skipped", "blocked", "error")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The graded outcome of one phase and what the report says about it."""

    outcome: str
    reason: str = ""
    exchanges: tuple[Exchange, ...] = ()
    keyword: Keyword | None = None

    @property
    def failing(self) -> bool:
        """Whether pytest must count this phase as failed."""
        return self.outcome in ("failed", "blocked", "error")


def grade(
    *,
    when: str,
    pytest_outcome: str,
    error: BaseException | None,
    check_keyword: Keyword | None,
    findings: Sequence[ScimViolation] = (),
    strict: bool = False,
) -> Verdict:
    """The verdict of one phase (setup/call/teardown) from what pytest saw."""
    if pytest_outcome == "skipped":
        return Verdict("skipped", str(error or ""))
    if isinstance(error, Blocked):
        return Verdict("blocked", error.reason, error.exchanges)
    if isinstance(error, ScimViolation):
        keyword = error.keyword or check_keyword or Keyword.MUST
        if keyword is Keyword.SHOULD and not strict:
            return Verdict("warning", str(error), error.exchanges, keyword)
        return Verdict("failed", str(error), error.exchanges, keyword)
    if isinstance(error, AssertionError) and when == "call":
        # A plain `assert` in a check is graded like a violation without its own keyword.
        keyword = check_keyword or Keyword.MUST
        outcome = "warning" if keyword is Keyword.SHOULD and not strict else "failed"
        return Verdict(outcome, f"AssertionError: {error}", (), keyword)
    if error is not None and pytest_outcome == "failed":
        kind = "error" if when != "call" or isinstance(error, HarnessError) else "failed"
        return Verdict(kind, f"{type(error).__name__}: {error}")
    if pytest_outcome == "failed":
        return Verdict("failed" if when == "call" else "error", "")
    if findings and when == "call":
        reason = "\n".join(str(f) for f in findings)
        exchanges = tuple(ex for f in findings for ex in f.exchanges)
        return Verdict("failed" if strict else "warning", reason, exchanges, Keyword.SHOULD)
    return Verdict("passed")
