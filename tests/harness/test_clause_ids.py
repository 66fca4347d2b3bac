"""Every shipped check cites requirement ids that exist in the catalogue (issue 3 point 4b)."""

from __future__ import annotations

import pytest

from harness.checks import ClauseInfo, clause, parse_requirement_id, shipped_checks
from harness.requirements import load_catalogue
from harness.verdicts import HarnessError


def _checks() -> list[ClauseInfo]:
    return shipped_checks()


def test_the_suite_registers_checks() -> None:
    assert len(_checks()) >= 30


@pytest.mark.parametrize("info", _checks(), ids=lambda info: info.name.rsplit(".", 1)[-1])
def test_clause_ids_are_in_the_catalogue(info: ClauseInfo) -> None:
    catalogue = load_catalogue()
    unknown = [i for i in info.requirement_ids if i not in catalogue]
    assert not unknown, f"{info.name} cites unknown requirement ids {unknown}"
    for rid in info.requirement_ids:
        requirement = catalogue[rid]
        assert (f"RFC{requirement.rfc}", requirement.section) == parse_requirement_id(rid)[:2]


@pytest.mark.parametrize("info", _checks(), ids=lambda info: info.name.rsplit(".", 1)[-1])
def test_checks_state_their_rfc_section(info: ClauseInfo) -> None:
    if info.area == "policy":  # a policy check quotes SPEC.md "The provisioning system"
        assert info.doc.startswith('SPEC: "'), f"{info.name}: docstring must quote SPEC.md"
        return
    assert info.doc.startswith("RFC "), f"{info.name}: docstring must start 'RFC <n> <sec>'"


def test_malformed_ids_are_refused() -> None:
    with pytest.raises(HarnessError, match="malformed requirement id"):
        clause("RFC7644-3.12")
