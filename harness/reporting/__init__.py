"""The run's results as data: a versioned JSON report and its schema, the HTML page rendered
from it, and the baseline gate that compares two reports.

Workers never write: every check's record travels on pytest's own report object (so it
survives xdist serialization) and the controller collects, then writes once.
"""

from __future__ import annotations

from harness.reporting.baseline import GateResult, compare, load_baseline
from harness.reporting.collector import Collector
from harness.reporting.html import render_html
from harness.reporting.model import FORMAT_VERSION, CheckRecord, build_report, validate_report

__all__ = [
    "FORMAT_VERSION",
    "CheckRecord",
    "Collector",
    "GateResult",
    "build_report",
    "compare",
    "load_baseline",
    "render_html",
    "validate_report",
]
