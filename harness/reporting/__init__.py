"""The run's results as data: a versioned JSON report, its schema, and the terminal summary.

Workers never write: every check's record travels on pytest's own report object (so it
survives xdist serialization) and the controller collects, then writes once.
"""

from __future__ import annotations

from harness.reporting.collector import Collector
from harness.reporting.model import FORMAT_VERSION, CheckRecord, build_report, validate_report

__all__ = ["FORMAT_VERSION", "CheckRecord", "Collector", "build_report", "validate_report"]
