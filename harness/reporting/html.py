"""The standalone HTML report: rendered with Jinja2 (autoescaped) from the JSON report's data.

One file with inline CSS and JS and a Content-Security-Policy that forbids every fetch, so it
opens anywhere without a network: summary score, profile x RFC area matrix, every check (a
failure expands to what was expected, what came and the exchange), the requirement sentences
beside their outcome, and filters by outcome.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from harness.exchange import Exchange, render_text
from harness.grading import OUTCOMES

__all__ = ["NOT_EXERCISED", "NO_PROFILE", "render_html"]

NO_PROFILE = "RFC (no profile)"
NOT_EXERCISED = "not exercised"
FAILING = ("failed", "blocked", "error")
_WORST = {"skipped": 0, "passed": 1, "warning": 2, "failed": 3, "blocked": 4, "error": 5}


@dataclass(slots=True)
class _Requirement:
    id: str
    keyword: str
    section: str
    text: str
    outcome: str = NOT_EXERCISED
    checks: list[str] = field(default_factory=list)


def _exchange_text(data: Mapping[str, Any]) -> str:
    exchange = Exchange(
        method=str(data.get("method", "")),
        url=str(data.get("url", "")),
        request_headers=tuple((str(k), str(v)) for k, v in data.get("request_headers", [])),
        request_body=str(data.get("request_body", "")),
        status=data.get("status"),
        response_headers=tuple((str(k), str(v)) for k, v in data.get("response_headers", [])),
        response_body=str(data.get("response_body", "")),
        elapsed=float(data.get("elapsed_ms", 0.0)) / 1000,
        request_cut=int(data.get("request_cut", 0)),
        response_cut=int(data.get("response_cut", 0)),
        error=data.get("error"),
    )
    curl = data.get("curl")
    return render_text(exchange) + (f"\n# replay: {curl}" if curl else "")


def _counts() -> dict[str, int]:
    return dict.fromkeys(OUTCOMES, 0)


def _matrix(checks: Sequence[Mapping[str, Any]]) -> tuple[list[str], list[str], dict[str, Any]]:
    """Rows (profiles, the profile-less RFC checks first), columns (areas), counts per cell."""
    cells: dict[str, dict[str, dict[str, int]]] = {}
    areas: set[str] = set()
    for check in checks:
        row = check.get("profile") or NO_PROFILE
        area = check.get("area") or "other"
        areas.add(area)
        cells.setdefault(row, {}).setdefault(area, _counts())[check["outcome"]] += 1
    rows = sorted(cells, key=lambda r: (r != NO_PROFILE, r))
    return rows, sorted(areas), cells


def _requirements(
    checks: Sequence[Mapping[str, Any]], catalogue: Mapping[str, Any] | None
) -> list[_Requirement]:
    """Every requirement a check cites or a black box can test, with the worst outcome of
    the checks citing it (document order)."""
    if not catalogue:
        return []
    cited: dict[str, list[Mapping[str, Any]]] = {}
    for check in checks:
        for rid in check.get("requirement_ids", []):
            cited.setdefault(rid, []).append(check)
    rows: list[_Requirement] = []
    for rid, req in catalogue.items():
        by = cited.get(rid, [])
        if not by and not req.testable:
            continue
        row = _Requirement(rid, str(req.keyword), req.section_key, req.text)
        ran = [c["outcome"] for c in by if c["outcome"] != "skipped"]
        if ran:
            row.outcome = max(ran, key=lambda o: _WORST.get(o, 0))
        elif by:
            row.outcome = "skipped"
        row.checks = [str(c["nodeid"]) for c in by]
        rows.append(row)
    return rows


def _load_catalogue() -> Mapping[str, Any] | None:
    try:
        from harness.requirements import load_catalogue

        return load_catalogue()
    except (ImportError, OSError, ValueError):  # the catalogue is optional data
        return None


@cache  # compiled once per process: the proofs render a report per inner run
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("harness.reporting", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["exchange_text"] = _exchange_text
    env.filters["pretty_json"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False)
    return env


def render_html(report: Mapping[str, Any], catalogue: Mapping[str, Any] | None = None) -> str:
    """The HTML page for a JSON report (`catalogue` None: the shipped requirements)."""
    checks: list[Mapping[str, Any]] = list(report.get("checks", []))
    summary = dict(report.get("summary") or {})
    verdicts = sum(summary.get(o, 0) for o in ("passed", "warning", *FAILING))
    good = summary.get("passed", 0) + summary.get("warning", 0)
    score = round(100 * good / verdicts, 1) if verdicts else None
    rows, areas, cells = _matrix(checks)
    requirements = _requirements(checks, _load_catalogue() if catalogue is None else catalogue)
    failing = {c["nodeid"] for c in checks if c["outcome"] in (*FAILING, "warning")}
    texts = {r.id: r.text for r in requirements}
    template = _environment().get_template("report.html.jinja")
    return template.render(
        report=report,
        summary=summary,
        outcomes=OUTCOMES,
        score=score,
        verdicts=verdicts,
        good=good,
        matrix_rows=rows,
        matrix_areas=areas,
        cells=cells,
        checks=checks,
        failing=failing,
        requirements=requirements,
        requirement_counts={
            o: sum(1 for r in requirements if r.outcome == o) for o in (*OUTCOMES, NOT_EXERCISED)
        },
        texts=texts,
        not_exercised=NOT_EXERCISED,
    )
