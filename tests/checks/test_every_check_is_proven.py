"""Every registered SCIM check has a proof: a defect it fails against (issue 3 point 9).

Checks still waiting for their proof are listed in unproven.txt; that list may only shrink:
a listed check that is proven, or that no longer exists, fails this test too.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from defects.proving import Proof

from harness.checks import shipped_checks

HERE = Path(__file__).parent
UNPROVEN = HERE / "unproven.txt"


def _registered() -> set[str]:
    return {info.name.removeprefix("harness.suite.") for info in shipped_checks()}


def _proven() -> set[str]:
    proven: set[str] = set()
    for module in sorted(HERE.glob("test_*_proofs.py")):
        proofs = importlib.import_module(f"checks.{module.stem}").PROOFS
        assert all(isinstance(p, Proof) for p in proofs), module.name
        proven |= {p.check for p in proofs}
    return proven


def _listed() -> set[str]:
    lines = UNPROVEN.read_text(encoding="utf-8").splitlines()
    return {ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")}


def test_every_registered_check_has_a_proof() -> None:
    missing = _registered() - _proven() - _listed()
    assert not missing, f"checks without a proof (add one to tests/checks/): {sorted(missing)}"


def test_proofs_name_existing_checks() -> None:
    unknown = _proven() - _registered()
    assert not unknown, f"proofs of checks that do not exist: {sorted(unknown)}"


def test_unproven_list_only_shrinks() -> None:
    listed = _listed()
    proven_now = listed & _proven()
    gone = listed - _registered()
    assert not proven_now, f"proven now, remove from unproven.txt: {sorted(proven_now)}"
    assert not gone, f"no such check, remove from unproven.txt: {sorted(gone)}"
