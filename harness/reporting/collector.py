"""Merge the phase reports pytest emits (locally or from xdist workers) into CheckRecords.

Each phase report carries `report.scim` (a plain dict, so xdist serializes it); the
controller's logreport hook feeds them here in any order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from harness.reporting.model import CheckRecord

__all__ = ["Collector"]

_RANK = {"passed": 0, "skipped": 1, "warning": 2, "failed": 3, "blocked": 4, "error": 5}


class Collector:
    """Records by nodeid; the worst phase outcome wins, except that a skip stays a skip."""

    def __init__(self) -> None:
        self.records: dict[str, CheckRecord] = {}

    def add(self, nodeid: str, when: str, duration: float, scim: Mapping[str, Any]) -> None:
        record = self.records.get(nodeid)
        if record is None:
            record = self.records[nodeid] = CheckRecord(nodeid=nodeid)
        meta = scim.get("clause") or {}
        if meta:
            record.requirement_ids = list(meta.get("requirement_ids", []))
            record.rfc, record.section = meta.get("rfc"), meta.get("section")
            record.keyword, record.area = meta.get("keyword"), meta.get("area")
        record.profile = scim.get("profile") or record.profile
        record.policy = scim.get("policy") or record.policy
        record.name = scim.get("name") or record.name
        record.title = scim.get("title") or record.title
        record.duration += duration
        outcome = str(scim.get("outcome", "passed"))
        if when == "teardown" and outcome == "failed":
            outcome = "error"
        if record.outcome == "skipped" and when == "teardown" and outcome == "passed":
            return
        if (
            _RANK.get(outcome, 0) > _RANK.get(record.outcome, 0)
            or (when == "setup" and outcome == "skipped")
            or (when == "call" and record.outcome == "passed")
        ):
            record.outcome = outcome
            record.reason = str(scim.get("reason", ""))
            record.expected, record.actual = scim.get("expected"), scim.get("actual")
            record.exchanges = list(scim.get("exchanges", []))

    def exercised_ids(self) -> set[str]:
        """Requirement ids of checks that ran to a verdict (not skipped, blocked or errored)."""
        return {
            rid
            for r in self.records.values()
            if r.outcome in ("passed", "failed", "warning")
            for rid in r.requirement_ids
        }
