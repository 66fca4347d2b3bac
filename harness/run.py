"""The hooks of an active SCIM run (registered by harness.plugin only with --scim-url).

Grades each phase by keyword, attaches the masked exchange to pytest's report (so it
reaches the terminal, JUnit and xdist's controller), and on the controller writes the JSON
report and prints the per-area summary.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.checks import clause_of
from harness.client import Recorder
from harness.endpoint import EmbeddedServer, Target
from harness.exchange import Masker, render_curl, render_text
from harness.grading import OUTCOMES, grade
from harness.reporting.collector import Collector
from harness.reporting.model import build_report, validate_report
from harness.settings import Settings
from harness.verdicts import Unsupported

__all__ = ["RECORDER_KEY", "REPORT_NAME", "RUN_KEY", "RunState", "ScimRun", "XdistHooks"]

REPORT_NAME = "scim-report.json"
SUMMARY_LINES = 25
RECORDER_KEY = pytest.StashKey[Recorder]()


@dataclass(slots=True)
class RunState:
    """Everything one process knows about the run; the controller's copy writes the report."""

    settings: Settings
    target: Target | None = None
    uid: str = field(default_factory=lambda: uuid.uuid4().hex)
    worker: str = "main"
    declared: dict[str, Any] | None = None
    discovery_error: str | None = None
    leftovers: list[str] = field(default_factory=list)
    collector: Collector = field(default_factory=Collector)
    server: EmbeddedServer | None = None
    started: float = field(default_factory=time.monotonic)
    report_path: Path | None = None
    report_error: str | None = None
    coverage: dict[str, Any] | None = None

    @property
    def masker(self) -> Masker:
        return Masker([self.target.token if self.target else None, self.settings.token])


RUN_KEY = pytest.StashKey[RunState]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _share(tally: dict[str, Any]) -> str:
    share = tally.get("share")
    pct = f" ({share * 100:.1f}%)" if isinstance(share, float | int) else ""
    return f"{tally.get('exercised', 0)}/{tally.get('testable', 0)}{pct}"


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else item.name


class ScimRun:
    """pytest hooks for a run with --scim-url."""

    def __init__(self, config: pytest.Config, state: RunState) -> None:
        self.config = config
        self.state = state

    def pytest_ignore_collect(self, collection_path: Path) -> bool | None:
        """The replay checks exist only with --scim-replay FILE (nothing to collect else)."""
        if collection_path.name == "test_replay.py" and self.state.settings.replay is None:
            return True
        return None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        info = clause_of(item)
        recorder = item.stash.get(RECORDER_KEY, None)
        error = call.excinfo.value if call.excinfo is not None else None
        verdict = grade(
            when=call.when,
            pytest_outcome=report.outcome,
            error=error,
            check_keyword=info.keyword if info else None,
            findings=recorder.findings if recorder is not None and call.when == "call" else (),
            strict=self.state.settings.strict,
        )
        if isinstance(error, Unsupported) and isinstance(report.longrepr, tuple):
            path, line, _ = report.longrepr
            report.longrepr = (path, line, f"unsupported: {error.reason}")
        if verdict.outcome == "warning":
            report.outcome = "passed"
            report.longrepr = None
            report.sections.append(("SCIM warning (SHOULD)", verdict.reason))
        elif verdict.failing and report.outcome == "passed":
            report.outcome = "failed"
            report.longrepr = verdict.reason
        exchanges = verdict.exchanges
        if not exchanges and recorder is not None and verdict.outcome not in ("passed", "skipped"):
            exchanges = tuple(recorder.exchanges)[-3:]
        if exchanges:
            report.sections.append(
                (
                    "SCIM exchange",
                    "\n\n".join(
                        render_text(e) + "\n# replay: " + render_curl(e) for e in exchanges[-5:]
                    ),
                )
            )
        report.scim = {  # type: ignore[attr-defined]
            "outcome": verdict.outcome,
            "reason": verdict.reason,
            "clause": info.to_dict() if info else None,
            "name": info.name if info else item.nodeid,
            "title": _title(item),
            "exchanges": [e.to_dict() for e in exchanges[-10:]],
        }
        if call.when == "call" or verdict.outcome in ("blocked", "error"):
            prop = ("scim_outcome", verdict.outcome)
            item.user_properties.append(prop)
            report.user_properties.append(prop)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(
        self, report: pytest.TestReport | pytest.CollectReport, config: pytest.Config
    ) -> tuple[str, str, tuple[str, dict[str, bool]]] | None:
        scim = getattr(report, "scim", None)
        if not isinstance(scim, dict):
            return None
        if scim.get("outcome") == "warning" and report.when == "call":
            return "warned", "W", ("WARNING", {"yellow": True})
        if scim.get("outcome") == "blocked":
            return "blocked", "B", ("BLOCKED", {"red": True})
        return None

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.state.settings.replay is None:  # also when test_replay.py is named explicitly
            items[:] = [i for i in items if i.path.name != "test_replay.py"]
        for item in items:
            info = clause_of(item)
            if info is None:
                continue
            item.user_properties += [
                ("scim_requirements", " ".join(info.requirement_ids)),
                ("scim_clause", info.clause),
                ("scim_keyword", str(info.keyword)),
                ("scim_area", info.area),
            ]

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        scim = getattr(report, "scim", None)
        if isinstance(scim, dict) and not _is_worker(self.config):
            self.state.collector.add(report.nodeid, report.when or "", report.duration, scim)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if _is_worker(self.config):
            out: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            out["scim_declared"] = self.state.declared
            out["scim_discovery_error"] = self.state.discovery_error
            out["scim_leftovers"] = list(self.state.leftovers)
            return
        if not self.config.option.collectonly:
            self.write_report()

    def write_report(self) -> None:
        state = self.state
        coverage: dict[str, Any] | None = None
        try:
            from harness.requirements import coverage as catalogue_coverage

            coverage = catalogue_coverage(state.collector.exercised_ids()).to_dict()
        except (ImportError, OSError, ValueError) as exc:  # the catalogue is optional data
            state.report_error = f"coverage unavailable: {exc}"
        masker = state.masker
        target = state.target
        report = build_report(
            target={
                "url": masker.text(target.url) if target else None,
                "embedded": bool(target and target.embedded),
            },
            settings={
                "profiles": list(state.settings.profiles),
                "strict": state.settings.strict,
                "destructive": state.settings.destructive,
                "timeout": state.settings.timeout,
            },
            declared=state.declared,
            discovery_error=state.discovery_error,
            checks=state.collector.records.values(),
            coverage=coverage,
            leftovers=state.leftovers,
            duration=time.monotonic() - state.started,
        )
        validate_report(report)
        text = masker.text(json.dumps(report, indent=2, ensure_ascii=False))
        path = state.settings.report_dir / REPORT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        state.report_path = path
        state.coverage = coverage

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if _is_worker(self.config) or self.config.option.collectonly:
            return
        state = self.state
        tr = terminalreporter
        tr.section("SCIM conformance")
        areas: dict[str, dict[str, int]] = {}
        for record in state.collector.records.values():
            counts = areas.setdefault(record.area or "other", dict.fromkeys(OUTCOMES, 0))
            counts[record.outcome] += 1
        tr.write_line(f"{'area':<12}" + "".join(f"{o:>9}" for o in OUTCOMES))
        for area, counts in sorted(areas.items()):
            tr.write_line(f"{area:<12}" + "".join(f"{counts[o]:>9}" for o in OUTCOMES))
        notable = [r for r in sorted(state.collector.records.values(), key=lambda r: r.nodeid)
                   if r.outcome in ("blocked", "warning")]  # fmt: skip
        for record in notable[:SUMMARY_LINES]:
            reason = state.masker.text(record.reason.splitlines()[0] if record.reason else "")
            tr.write_line(f"{record.outcome.upper()} {record.nodeid} - {reason[:160]}")
        if len(notable) > SUMMARY_LINES:
            tr.write_line(f"... and {len(notable) - SUMMARY_LINES} more blocked or warned checks")
        coverage = state.coverage
        if coverage is not None:
            overall = coverage["overall"]
            must = coverage.get("by_keyword", {}).get("MUST", {})
            tr.write_line(
                f"requirement coverage: {_share(overall)} of the testable RFC requirements "
                f"exercised; MUST: {_share(must)}"
            )
        elif state.report_error:
            tr.write_line(state.report_error)
        for leftover in state.leftovers:
            tr.write_line(f"CLEANUP FAILED: {state.masker.text(leftover)}", red=True)
        if state.discovery_error:
            tr.write_line(f"discovery failed: {state.masker.text(state.discovery_error)}")
        if state.report_path is not None:
            tr.write_line(f"SCIM report: {state.report_path}")


class XdistHooks:
    """Controller side of xdist: share one target with every worker, gather their notes."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        target = self.state.target
        if target is not None:
            node.workerinput["scim_url"] = target.url
            node.workerinput["scim_token"] = target.token
            node.workerinput["scim_embedded"] = target.embedded

    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        out = getattr(node, "workeroutput", None) or {}
        if out.get("scim_declared") and self.state.declared is None:
            self.state.declared = out["scim_declared"]
        if out.get("scim_discovery_error") and self.state.discovery_error is None:
            self.state.discovery_error = out["scim_discovery_error"]
        for leftover in out.get("scim_leftovers") or ():
            self.state.leftovers.append(leftover)
