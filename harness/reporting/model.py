"""The JSON report's model: one record per check, the run's metadata and coverage.

The format is versioned (`format_version`) and validated against report.schema.json
before it is written, so consumers (HTML, baseline gate) can rely on it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from importlib import metadata, resources
from typing import Any

from jsonschema import Draft202012Validator

from harness.grading import OUTCOMES
from harness.verdicts import HarnessError

__all__ = [
    "FORMAT_VERSION",
    "CheckRecord",
    "build_report",
    "harness_version",
    "report_schema",
    "validate_report",
]

FORMAT_VERSION = "1.1"
MAX_EXCHANGES = 10


@dataclass(slots=True)
class CheckRecord:
    """One check's result, merged over its setup, call and teardown phases."""

    nodeid: str
    name: str = ""
    title: str = ""
    requirement_ids: list[str] = field(default_factory=list)
    rfc: str | None = None
    section: str | None = None
    keyword: str | None = None
    area: str | None = None
    profile: str | None = None
    policy: str | None = None
    outcome: str = "passed"
    reason: str = ""
    expected: str | None = None
    actual: str | None = None
    duration: float = 0.0
    exchanges: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "name": self.name,
            "title": self.title,
            "requirement_ids": list(self.requirement_ids),
            "rfc": self.rfc,
            "section": self.section,
            "clause": f"{self.rfc} {self.section}" if self.rfc and self.section else None,
            "keyword": self.keyword,
            "area": self.area,
            "profile": self.profile,
            "policy": self.policy,
            "outcome": self.outcome,
            "reason": self.reason,
            "expected": self.expected,
            "actual": self.actual,
            "duration": round(self.duration, 4),
            "exchanges": self.exchanges[:MAX_EXCHANGES],
        }


def harness_version() -> str:
    try:
        return metadata.version("scim-conformance")
    except metadata.PackageNotFoundError:
        return "0+unknown"


@cache
def report_schema() -> dict[str, Any]:
    text = resources.files("harness.reporting").joinpath("report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate_report(report: Mapping[str, Any]) -> None:
    """HarnessError listing where a report breaks its own schema."""
    validator = Draft202012Validator(report_schema())
    errors = [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}"
        for e in validator.iter_errors(report)
    ]
    if errors:
        raise HarnessError("report breaks report.schema.json: " + "; ".join(errors[:10]))


def build_report(
    *,
    target: Mapping[str, Any],
    settings: Mapping[str, Any],
    declared: Mapping[str, Any] | None,
    discovery_error: str | None,
    checks: Iterable[CheckRecord],
    coverage: Mapping[str, Any] | None,
    leftovers: Iterable[str] = (),
    duration: float = 0.0,
    policies: Mapping[str, Any] | None = None,
    gate: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report as a JSON-ready dict (format `FORMAT_VERSION`)."""
    records = [c.to_dict() for c in sorted(checks, key=lambda c: c.nodeid)]
    summary = {name: 0 for name in OUTCOMES}
    areas: dict[str, dict[str, int]] = {}
    profiles: dict[str, dict[str, int]] = {}
    for record in records:
        summary[record["outcome"]] += 1
        area = areas.setdefault(record["area"] or "other", {name: 0 for name in OUTCOMES})
        area[record["outcome"]] += 1
        if record["profile"]:
            profile = profiles.setdefault(record["profile"], {name: 0 for name in OUTCOMES})
            profile[record["outcome"]] += 1
    return {
        "format_version": FORMAT_VERSION,
        "harness": {"name": "scim-conformance", "version": harness_version()},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "duration": round(duration, 3),
        "target": dict(target),
        "settings": dict(settings),
        "server": {
            "declared": dict(declared) if declared else None,
            "discovery_error": discovery_error,
        },
        "summary": {"total": len(records), **summary},
        "areas": dict(sorted(areas.items())),
        "profiles": dict(sorted(profiles.items())),
        "policies": dict(policies) if policies is not None else None,
        "coverage": dict(coverage) if coverage is not None else None,
        "cleanup": {"leftovers": list(leftovers)},
        "gate": dict(gate) if gate is not None else None,
        "checks": records,
    }
