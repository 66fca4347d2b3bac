"""The CI example (examples/github-actions/scim-conformance.yml) calls the harness with flags
that exist, gates with a baseline and uploads the reports; its summary script reads a real
report."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from harness.reporting.model import CheckRecord, build_report
from harness.settings import OPTIONS

WORKFLOW = (
    Path(__file__).resolve().parents[2] / "examples" / "github-actions" / "scim-conformance.yml"
)
TEXT = WORKFLOW.read_text(encoding="utf-8")


def test_the_workflow_uses_only_flags_and_env_vars_that_exist() -> None:
    flags = set(re.findall(r"--scim-[a-z-]+", TEXT))
    known = {opt.flag for opt in OPTIONS}
    assert flags <= known, f"unknown flags: {sorted(flags - known)}"
    assert {"--scim-url", "--scim-report-dir", "--scim-baseline", "--scim-save-baseline"} <= flags
    env_vars = set(re.findall(r"^\s+(SCIM_[A-Z_]+):", TEXT, re.M))
    assert env_vars <= {opt.env for opt in OPTIONS}
    assert "SCIM_TOKEN" in env_vars  # the token travels in the environment, not argv
    assert "--scim-token" not in TEXT


def test_the_workflow_structure() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed: structure not parsed")
    workflow: dict[Any, Any] = yaml.safe_load(TEXT)
    steps = workflow["jobs"]["conformance"]["steps"]
    runs = [s for s in steps if "pytest" in s.get("run", "") and "--scim-url" in s["run"]]
    assert len(runs) == 1
    assert runs[0]["env"]["SCIM_TOKEN"] == "${{ secrets.SCIM_TOKEN }}"
    upload = next(s for s in steps if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == "reports/"


def test_the_summary_script_reads_a_report(tmp_path: Path) -> None:
    script = re.search(r"python - <<'PY'[^\n]*\n(.*?)\n\s*PY\n", TEXT, re.S)
    assert script is not None
    report = build_report(
        target={"url": "https://scim.example.com/scim/v2", "embedded": False},
        settings={},
        declared=None,
        discovery_error=None,
        checks=[CheckRecord(nodeid="t.py::a", outcome="failed"), CheckRecord(nodeid="t.py::b")],
        coverage=None,
        gate={
            "baseline": "ci/scim-baseline.json",
            "passed": False,
            "new_failures": ["t::a"],
            "known_failures": [],
            "fixed": [],
            "unbaselined_failures": [],
        },
    )
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "scim-report.json").write_text(json.dumps(report), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script.group(1))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "| 2 | 1 | 1 | 0 | 0 | 0 | 0 |" in done.stdout
    assert "Baseline gate **FAILED**: 1 new failures" in done.stdout
    assert "- new failure: `t::a`" in done.stdout
