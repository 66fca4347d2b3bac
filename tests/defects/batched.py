"""Batched proofs: the checks whose proofs share one defect instance run in one inner pytest
session (one start-up, one discovery) instead of one each. Same verdict rules as `prove`:
each check passes (or skips) on the clean server and fails with its defect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from defects.proving import Proof, Reference

__all__ = ["BatchedProver"]


class BatchedProver:
    """Runs the defective server once per defect instance for all proofs that share it."""

    def __init__(self, proofs: Sequence[Proof]) -> None:
        self.proofs = list(proofs)
        self._runs: dict[int, dict[str, Any]] = {}

    def _broken(self, reference: Reference, proof: Proof) -> dict[str, Any]:
        key = id(proof.defect)
        if key not in self._runs:
            targets = sorted({p.target for p in self.proofs if p.defect is proof.defect})
            self._runs[key] = reference.run_with(proof.defect, targets)
        return {n: r for n, r in self._runs[key].items() if proof.owns(n)}

    def prove(self, reference: Reference, proof: Proof) -> None:
        """The check passes on the clean server and fails with the defect."""
        mine = {n: r for n, r in reference.clean(proof.module).items() if proof.owns(n)}
        assert mine, f"{proof.check} is not in the shipped suite"
        clean = {n: r.outcome for n, r in mine.items()}
        assert all(o in ("passed", "skipped") for o in clean.values()), clean
        assert "passed" in clean.values(), f"{proof.check} never passes clean: {clean}"
        broken = self._broken(reference, proof)
        outcomes = {n: (r.outcome, r.reason[:300]) for n, r in broken.items()}
        assert outcomes, f"{proof.check} did not run with {proof.defect.label}"
        assert any(o == "failed" for o, _ in outcomes.values()), (
            f"{proof.check} did not fail with {proof.defect.label}: {outcomes}"
        )
