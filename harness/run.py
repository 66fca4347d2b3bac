"""The hooks of an active SCIM run (registered by harness.plugin only with --scim-url).

Grades each phase by keyword, attaches the masked exchange to pytest's report (so it
reaches the terminal, JUnit, Allure and xdist's controller), points JUnit XML and Allure
results into the report folder by default, and on the controller writes the JSON and HTML
reports, applies the --scim-baseline gate and prints the per-area and per-profile summary.
"""

from __future__ import annotations

import json
import sys
import time
import tomllib
import uuid
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.checks import ClauseInfo, clause_of
from harness.client import Recorder
from harness.endpoint import EmbeddedServer, Target
from harness.exchange import Masker, render_curl, render_text
from harness.grading import OUTCOMES, grade
from harness.idp.profiles import profile_names
from harness.reporting.baseline import GateResult, compare, load_baseline
from harness.reporting.collector import Collector
from harness.reporting.html import render_html
from harness.reporting.model import build_report, validate_report
from harness.settings import Settings
from harness.verdicts import ScimViolation, Unsupported

__all__ = [
    "ALLURE_DIR",
    "HTML_NAME",
    "JUNIT_NAME",
    "RECORDER_KEY",
    "REPORT_NAME",
    "RUN_KEY",
    "RunState",
    "ScimRun",
    "XdistHooks",
]

REPORT_NAME = "scim-report.json"
HTML_NAME = "scim-report.html"
JUNIT_NAME = "junit.xml"
ALLURE_DIR = "allure-results"
SUMMARY_LINES = 25
GATE_LINES = 50
EVIDENCE_CHARS = 4000
RECORDER_KEY = pytest.StashKey[Recorder]()
META_KEY = pytest.StashKey["CheckMeta"]()


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
    html_path: Path | None = None
    report_error: str | None = None
    coverage: dict[str, Any] | None = None
    junit_path: Path | None = None
    allure_dir: Path | None = None
    allure: bool = False
    baseline: dict[str, str] | None = None
    gate: GateResult | None = None

    @property
    def masker(self) -> Masker:
        """Masks the SCIM token and, for policy runs, the admin API's token."""
        target = self.target
        return Masker(
            [
                target.token if target else None,
                self.settings.token,
                getattr(target, "admin_token", None),
            ]
        )


RUN_KEY = pytest.StashKey[RunState]()


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _share(tally: dict[str, Any]) -> str:
    share = tally.get("share")
    pct = f" ({share * 100:.1f}%)" if isinstance(share, float | int) else ""
    return f"{tally.get('exercised', 0)}/{tally.get('testable', 0)}{pct}"


@dataclass(frozen=True, slots=True)
class CheckMeta:
    """What a check's item says beyond its clause: the IdP profile and the policy promise."""

    profile: str | None
    policy: str | None


def _check_meta(item: pytest.Item, profiles: frozenset[str]) -> CheckMeta:
    """The profile is the item's profile marker (test_idp.py adds one per parametrization);
    a `policy` check's promise is its marker argument, else its name after `test_policy_`."""
    profile = next((m.name for m in item.iter_markers() if m.name in profiles), None)
    policy: str | None = None
    marker = item.get_closest_marker("policy")
    if marker is not None:
        if marker.args and isinstance(marker.args[0], str):
            policy = marker.args[0]
        else:
            name = str(getattr(item, "originalname", None) or item.name).split("[")[0]
            policy = name.removeprefix("test_policy_")
    return CheckMeta(profile, policy)


def _policies(settings: Settings, masker: Masker) -> dict[str, Any] | None:
    """The declared policies for the report: `settings.policy` (--scim-policy) is a file path
    or a mapping; read defensively, since the option may be absent."""
    value = getattr(settings, "policy", None)
    if value is None:
        return None
    if isinstance(value, dict):
        return {"file": None, "declared": json.loads(masker.text(json.dumps(value, default=str)))}
    path = Path(str(getattr(value, "path", value)))
    declared: dict[str, Any] | None = None
    try:
        declared = dict(tomllib.loads(path.read_text(encoding="utf-8")).get("policy") or {})
    except (OSError, ValueError):
        declared = None
    return {
        "file": masker.text(str(path)),
        "declared": json.loads(masker.text(json.dumps(declared, default=str))),
    }


def _configured_before(config: pytest.Config, plugin: object, other: object) -> bool:
    """Whether pytest_configure of `plugin` has run before that of `other` (pluggy calls the
    implementations from the end of get_hookimpls())."""
    order = [impl.plugin for impl in config.pluginmanager.hook.pytest_configure.get_hookimpls()]
    return plugin in order and other in order and order.index(plugin) > order.index(other)


def _clear_allure_results(directory: Path) -> None:
    """The default results folder holds this run's results only (allure-pytest appends)."""
    if directory.is_dir():
        for path in directory.iterdir():
            if path.is_file() and (path.suffix in (".json", ".txt") or "-attachment" in path.name):
                path.unlink()


def _mask_files(masker: Masker, paths: Iterable[Path]) -> None:
    """Rewrite, masked, the files that carry a secret: pytest writes JUnit and allure-pytest
    its results themselves, and a failing assert or captured output may quote the token."""
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8", errors="surrogateescape")
        except OSError:
            continue
        masked = masker.text(text)
        if masked != text:
            path.write_bytes(masked.encode("utf-8", errors="surrogateescape"))


def _title(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else item.name


class ScimRun:
    """pytest hooks for a run with --scim-url."""

    def __init__(self, config: pytest.Config, state: RunState) -> None:
        self.config = config
        self.state = state

    def pytest_configure(self, config: pytest.Config) -> None:
        """Default outputs next to the JSON report: JUnit XML (unless --junitxml) and Allure
        results (unless --alluredir), on the controller and, for Allure, on each worker."""
        state = self.state
        report_dir = state.settings.report_dir
        workerinput = getattr(config, "workerinput", None)
        # The IdP checks record_property for JUnit; pytest warns that xunit2 has no such
        # element, and warnings are errors in strict projects. The properties are written.
        config.addinivalue_line(
            "filterwarnings",
            "ignore:record_property is incompatible with junit_family:pytest.PytestWarning",
        )
        if config.option.collectonly or config.option.help:
            return  # nothing runs: keep the last run's outputs
        if workerinput is None:
            if config.pluginmanager.has_plugin("junitxml"):  # `-p no:junitxml` turns it off
                if not getattr(config.option, "xmlpath", None):
                    config.option.xmlpath = str(report_dir / JUNIT_NAME)
                state.junit_path = Path(config.option.xmlpath)
            if state.settings.baseline is not None:
                try:
                    state.baseline = load_baseline(state.settings.baseline)
                except ValueError as exc:
                    raise pytest.UsageError(f"--scim-baseline: {exc}") from None
        allure = sys.modules.get("allure_pytest.plugin")  # by module: `-p` names it otherwise
        if allure is None or not config.pluginmanager.is_registered(allure):
            return
        if getattr(config.option, "allure_report_dir", None):
            state.allure_dir = Path(config.option.allure_report_dir)
        else:
            given = workerinput.get("scim_allure_dir") if workerinput else None
            state.allure_dir = Path(given) if given else report_dir / ALLURE_DIR
            if workerinput is None:
                _clear_allure_results(state.allure_dir)
            config.option.allure_report_dir = str(state.allure_dir)
            if _configured_before(config, allure, sys.modules["harness.plugin"]):
                allure.pytest_configure(config)  # it looked before we set the folder

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
            if self.state.allure and verdict.outcome != "passed":
                self._attach(exchanges[-5:], call.when)
        meta = item.stash.get(META_KEY, CheckMeta(None, None))
        violation = error if isinstance(error, ScimViolation) else None
        expected, actual = (
            (self._evidence(violation.expected), self._evidence(violation.actual))
            if violation
            else (None, None)
        )
        report.scim = {  # type: ignore[attr-defined]
            "outcome": verdict.outcome,
            "reason": verdict.reason,
            "clause": info.to_dict() if info else None,
            "name": info.name if info else item.nodeid,
            "title": _title(item),
            "profile": meta.profile,
            "policy": meta.policy,
            "expected": expected,
            "actual": actual,
            "exchanges": [e.to_dict() for e in exchanges[-10:]],
        }
        if call.when == "call" or verdict.outcome in ("blocked", "error"):
            prop = ("scim_outcome", verdict.outcome)
            item.user_properties.append(prop)
            report.user_properties.append(prop)
        return report

    def _evidence(self, value: Any) -> str | None:
        """A violation's expected or actual value as masked text of bounded length."""
        if value is None:
            return None
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        text = self.state.masker.text(text)
        return text if len(text) <= EVIDENCE_CHARS else text[:EVIDENCE_CHARS] + " [...]"

    def _attach(self, exchanges: tuple[Any, ...], when: str) -> None:
        import allure

        text = self.state.masker.text(
            "\n\n".join(render_text(e) + "\n# replay: " + render_curl(e) for e in exchanges)
        )
        allure.attach(
            text, name=f"SCIM exchange ({when})", attachment_type=allure.attachment_type.TEXT
        )

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        meta = item.stash.get(META_KEY, None)
        if self.state.allure and meta is not None and meta.profile:
            import allure

            allure.dynamic.parameter("profile", meta.profile)

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
        profiles = frozenset(profile_names())
        self.state.allure = self.config.pluginmanager.has_plugin("allure_listener")
        for item in items:
            meta = item.stash[META_KEY] = _check_meta(item, profiles)
            info = clause_of(item)
            if meta.profile:
                item.user_properties.append(("scim_profile", meta.profile))
            if meta.policy:
                item.user_properties.append(("scim_policy", meta.policy))
            if self.state.allure:
                self._label(item, info, meta)
            if info is None:
                continue
            item.user_properties += [
                ("scim_requirements", " ".join(info.requirement_ids)),
                ("scim_clause", info.clause),
                ("scim_keyword", str(info.keyword)),
                ("scim_area", info.area),
            ]

    @staticmethod
    def _label(item: pytest.Item, info: ClauseInfo | None, meta: CheckMeta) -> None:
        """Allure: the RFC area is the feature, the section (or the policy) the story."""
        feature = info.area if info else ("policy" if meta.policy else None)
        story = f"policy {meta.policy}" if meta.policy else (info.clause if info else None)
        if feature:
            item.add_marker(pytest.mark.allure_label(feature, label_type="feature"))
        if story:
            item.add_marker(pytest.mark.allure_label(story, label_type="story"))

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
            self.gate(session)
            self.mask_outputs()

    def mask_outputs(self) -> None:
        """JUnit XML (written by now: this hook runs last) and the Allure results."""
        state = self.state
        files = [state.junit_path] if state.junit_path is not None else []
        if state.allure_dir is not None and state.allure_dir.is_dir():
            files += [p for p in state.allure_dir.iterdir() if p.is_file()]
        _mask_files(state.masker, files)

    def gate(self, session: pytest.Session) -> None:
        """With --scim-baseline, only new failures fail the run (known ones are listed)."""
        gate = self.state.gate
        if gate is None or session.exitstatus not in (
            pytest.ExitCode.OK,
            pytest.ExitCode.TESTS_FAILED,
        ):
            return
        session.exitstatus = pytest.ExitCode.OK if gate.passed else pytest.ExitCode.TESTS_FAILED

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
        if state.baseline is not None and state.settings.baseline is not None:
            state.gate = compare(
                state.baseline,
                ((r.nodeid, r.outcome) for r in state.collector.records.values()),
                name=masker.text(str(state.settings.baseline)),
            )
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
            policies=_policies(state.settings, masker),
            gate=state.gate.to_dict() if state.gate else None,
        )
        validate_report(report)
        text = masker.text(json.dumps(report, indent=2, ensure_ascii=False))
        path = state.settings.report_dir / REPORT_NAME
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n", encoding="utf-8")
        state.report_path = path
        state.coverage = coverage
        if state.settings.save_baseline is not None:
            state.settings.save_baseline.parent.mkdir(parents=True, exist_ok=True)
            state.settings.save_baseline.write_text(text + "\n", encoding="utf-8")
        html = masker.text(render_html(json.loads(text)))
        state.html_path = path.with_name(HTML_NAME)
        state.html_path.write_text(html, encoding="utf-8")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if _is_worker(self.config) or self.config.option.collectonly:
            return
        state = self.state
        tr = terminalreporter
        tr.section("SCIM conformance")
        areas: dict[str, dict[str, int]] = {}
        profiles: dict[str, dict[str, int]] = {}
        for record in state.collector.records.values():
            counts = areas.setdefault(record.area or "other", dict.fromkeys(OUTCOMES, 0))
            counts[record.outcome] += 1
            if record.profile:
                counts = profiles.setdefault(record.profile, dict.fromkeys(OUTCOMES, 0))
                counts[record.outcome] += 1
        for title, table in (("area", areas), ("profile", profiles)):
            if not table:
                continue
            tr.write_line(f"{title:<12}" + "".join(f"{o:>9}" for o in OUTCOMES))
            for name, counts in sorted(table.items()):
                tr.write_line(f"{name:<12}" + "".join(f"{counts[o]:>9}" for o in OUTCOMES))
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
        self._gate_summary(tr)
        if state.report_path is not None:
            tr.write_line(f"SCIM report: {state.report_path}")
        if state.html_path is not None:
            tr.write_line(f"HTML report: {state.html_path}")
        if state.junit_path is not None:
            tr.write_line(f"JUnit XML: {state.junit_path}")
        if state.allure_dir is not None:
            tr.write_line(f"Allure results: {state.allure_dir}")

    def _gate_summary(self, tr: Any) -> None:
        gate = self.state.gate
        if gate is None:
            return
        verdict, *moved = gate.lines(GATE_LINES)
        tr.write_line(verdict, green=gate.passed, red=not gate.passed)
        for line in moved:
            tr.write_line(line)


class XdistHooks:
    """Controller side of xdist: share one target with every worker, gather their notes."""

    def __init__(self, state: RunState) -> None:
        self.state = state

    def pytest_configure_node(self, node: Any) -> None:
        target = self.state.target
        if self.state.allure_dir is not None:
            node.workerinput["scim_allure_dir"] = str(self.state.allure_dir)
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
