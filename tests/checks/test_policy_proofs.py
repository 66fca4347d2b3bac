"""Proofs for harness/suite/test_policy.py: every policy check passes against the reference
server under the presets of profiles/policies (a skip where a preset makes its promise
non-applicable, a pass under at least one) and fails against the server started with
`--allow-break --break <promise>` under a preset where the promise applies.

Clean: one outer `pytest --scim-url embedded --scim-policy PRESET` per preset (the harness
starts the server, as a user would), in parallel subprocesses; outcomes from each run's
JSON report. Broken: one server per promise (`--policy PRESET --allow-break --break P`),
started ahead in background threads, and only that promise's check run in-process against
it through a policy file whose `[admin]` section names the server's admin API.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pytest
from defects.catalog import Defect
from defects.proving import FAST, TOKEN, Proof, run_suite

from harness.endpoint import EmbeddedServer
from harness.plugin import SUITE_DIR
from harness.policy.loader import break_names, preset_names, presets_dir
from harness.policy.promises import PROMISES

ROOT = Path(__file__).resolve().parents[2]
MODULE = SUITE_DIR / "test_policy.py"
PARALLEL = 3
RUN_TIMEOUT = 240
ADMIN_ENV = "SCIM_POLICY_PROOF_ADMIN_TOKEN"

BREAK_UNDER: Mapping[str, str] = {}
"""Preset a break is proven under, where the first preset its check passes under (sorted)
would not show the break."""

OTHER_MODE: tuple[tuple[str, str], ...] = (
    ("jit_accounts", "jit-seats-at-first-login"),
    ("seat_billing", "jit-seats-at-first-login"),
    ("seat_cap", "jit-seats-at-first-login"),
    ("seat_release", "eager-keep-account-strict-domains"),
    ("seat_release", "jit-seats-at-first-login"),
    ("domain_allow_list", "erase-on-delete-lenient-domains"),
    ("deactivation", "no-deactivation-admin-managed-teams"),
    ("delete_account", "erase-on-delete-lenient-domains"),
    ("sso_enforcement", "jit-seats-at-first-login"),
    ("teams_from_idp", "no-deactivation-admin-managed-teams"),
    ("group_delete", "group-delete-removes-members"),
    ("group_access", "group-delete-removes-members"),
    ("invitation_fallback", "eager-keep-account-strict-domains"),
    ("attribute_mapping", "jit-seats-at-first-login"),
    ("member_role", "jit-seats-at-first-login"),
)
"""Breaks also proven under the policy's other setting (jit, erase, lenient, refused, false,
on_reconciliation, fallback...): each branch of a check can fail. Not reassociation under
jit: the reference server's `--break reassociation` acts on eager provisioning only."""


@dataclass(frozen=True)
class Break(Defect):
    """The reference server started with `--allow-break --break <promise>`."""

    promise: str = ""

    @property
    def label(self) -> str:
        return f"--break {self.promise}"


MODES: tuple[str, ...] = tuple(name for name in break_names() if ":" in name)
"""`promise:mode` breaks: other ways to break a promise whose check asserts several things
(member_role: an IT admin keeps a paid seat; a sync resets an admin's role; a sync does not
reach the member's profile), each proven to fail the same check."""


def _check_of(promise: str) -> str:
    """The policy check a `--break` name is proven against (`member_role:mode` -> its promise's)."""
    return f"test_policy_{promise.split(':')[0]}"


PROOFS = [Proof(f"test_policy::{_check_of(p)}", Break(promise=p)) for p in (*PROMISES, *MODES)]

Outcomes = dict[str, tuple[str, str]]  # check function -> (outcome, reason)


def run_policy_checks(
    preset: Path,
    report_dir: Path,
    *,
    extra: tuple[str, ...] = (),
    env: Mapping[str, str] | None = None,
) -> Outcomes:
    """An outer pytest run of every policy check (embedded unless `extra` names a URL)."""
    args = [sys.executable, "-m", "pytest", str(MODULE), "--scim-policy", str(preset)]
    args += ["--scim-report-dir", str(report_dir), "-p", "no:cacheprovider", "-q", *FAST]
    args += list(extra) or ["--scim-url", "embedded"]
    done = subprocess.run(
        args,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        env={**os.environ, **(env or {})},
    )
    report = report_dir / "scim-report.json"
    if done.returncode not in (0, 1) or not report.is_file():
        raise AssertionError(
            f"policy run failed to run ({done.returncode}): {' '.join(args)}\n"
            f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        )
    checks = json.loads(report.read_text("utf-8"))["checks"]
    return {
        c["nodeid"].split("::")[-1]: (c["outcome"], str(c.get("reason") or "")[:400])
        for c in checks
    }


def start_server(preset: Path, *extra: str) -> EmbeddedServer:
    """The reference server under `preset`, with the SCIM token `run_suite` sends (TOKEN)."""
    server = EmbeddedServer(policy=preset, extra_args=extra, token=TOKEN)
    server.start()
    return server


def url_of(server: EmbeddedServer) -> str:
    """The SCIM base URL of a started server (set by `start`)."""
    assert server.url is not None, "the server was not started"
    return server.url


def admin_token_of(server: EmbeddedServer) -> str:
    """The admin token of a server started with a policy (set by the constructor)."""
    assert server.admin_token is not None, "the server was started without a policy"
    return server.admin_token


def policy_file(server: EmbeddedServer, preset: Path, folder: Path) -> Path:
    """The preset plus an `[admin]` section naming this server's admin API."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "policy.toml"
    path.write_text(
        preset.read_text("utf-8")
        + f'\n[admin]\nurl = "{server.admin_url}"\ntoken_env = "{ADMIN_ENV}"\n'
        f'organization = "{server.organization}"\n',
        encoding="utf-8",
    )
    return path


_TOKEN_VALUE = re.compile(r'\\?"token\\?":\s*\\?"([^"\\]*)')


def _leaks(report_dir: Path, server: EmbeddedServer) -> list[str]:
    """Secrets a run's reports show: the SCIM or admin token, or a token handed out."""
    found = []
    for path in sorted(p for p in report_dir.rglob("*") if p.is_file()):
        text = path.read_text("utf-8", errors="replace")
        found += [
            f"{path.name}: a run token"
            for t in (server.token, server.admin_token)
            if t and t in text
        ]
        found += [
            f"{path.name}: token {v[:4]}..." for v in _TOKEN_VALUE.findall(text) if v != "***"
        ]
    return found


def run_inline(server: EmbeddedServer, policy: Path, report_dir: Path, check: str) -> Outcomes:
    """One policy check in-process (`defects.proving.run_suite`) against a started server."""
    os.environ[ADMIN_ENV] = admin_token_of(server)
    try:
        records = run_suite(
            [f"{MODULE}::{check}"],
            url_of(server),
            report_dir,
            "--scim-policy",
            str(policy),
            "--scim-destructive",
        )
    finally:
        os.environ.pop(ADMIN_ENV, None)
    return {nodeid.split("::")[-1]: (r.outcome, r.reason[:400]) for nodeid, r in records.items()}


def _preset(name: str) -> Path:
    return presets_dir() / f"{name}.toml"


class PolicyProofs:
    """Clean runs per preset (in parallel, once), break runs per (promise, preset) on demand:
    under xdist each worker runs only its own breaks. The next break's server starts in the
    background while one runs (file order), so a serial run overlaps start-up and checks."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.leaks: dict[tuple[str, str], list[str]] = {}
        self._broken: dict[tuple[str, str], Outcomes] = {}
        self._pool = ThreadPoolExecutor(1)
        self._starting: dict[tuple[str, str], Future[EmbeddedServer]] = {}

    @cached_property
    def clean(self) -> dict[str, Outcomes]:
        names = preset_names()
        assert names, f"no presets in {presets_dir()}"
        with ThreadPoolExecutor(PARALLEL) as pool:
            runs = pool.map(
                lambda n: run_policy_checks(_preset(n), self.folder / f"clean-{n}"), names
            )
            return dict(zip(names, runs, strict=True))

    def preset_for(self, promise: str) -> str | None:
        check = _check_of(promise)
        if promise in BREAK_UNDER:
            return BREAK_UNDER[promise]
        passing = [n for n, runs in self.clean.items() if runs.get(check, ("",))[0] == "passed"]
        return passing[0] if passing else None

    def pairs(self) -> list[tuple[str, str]]:
        """(promise, preset) of every break run, in the order the tests ask for them."""
        primary = [
            (p, preset) for p in (*PROMISES, *MODES) if (preset := self.preset_for(p)) is not None
        ]
        return list(dict.fromkeys([*primary, *OTHER_MODE]))

    def _start(self, pair: tuple[str, str]) -> Future[EmbeddedServer]:
        if pair not in self._starting:
            promise, preset = pair
            self._starting[pair] = self._pool.submit(
                start_server, _preset(preset), "--allow-break", "--break", promise
            )
        return self._starting[pair]

    def broken(self, promise: str, preset: str) -> Outcomes:
        """The outcomes of `test_policy_<promise>` against `--break promise` under preset."""
        pair = (promise, preset)
        if pair in self._broken:
            return self._broken[pair]
        server = self._start(pair).result()
        order = self.pairs()
        if pair in order and order.index(pair) + 1 < len(order):
            self._start(order[order.index(pair) + 1])
        try:
            folder = self.folder / f"break-{promise.replace(':', '-')}-{preset}"
            policy = policy_file(server, _preset(preset), folder)
            outcomes = run_inline(server, policy, folder / "report", _check_of(promise))
            self.leaks[pair] = _leaks(folder / "report", server)
        finally:
            server.stop()
        self._broken[pair] = outcomes
        return outcomes

    def close(self) -> None:
        """Stop servers started ahead that no test asked for."""
        self._pool.shutdown(wait=True)
        for pair, future in self._starting.items():
            if pair not in self._broken and future.exception() is None:
                future.result().stop()


@pytest.fixture(scope="module")
def proofs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PolicyProofs]:
    proving = PolicyProofs(tmp_path_factory.mktemp("policy-proofs"))
    yield proving
    proving.close()


@pytest.mark.parametrize(
    "proof",
    PROOFS,
    ids=[p.defect.promise if isinstance(p.defect, Break) else p.function for p in PROOFS],
)
def test_check_is_proven(proofs: PolicyProofs, proof: Proof) -> None:
    assert isinstance(proof.defect, Break)
    promise = proof.defect.promise
    clean = {name: runs.get(proof.function) for name, runs in proofs.clean.items()}
    assert all(o is not None for o in clean.values()), f"{proof.check} did not run: {clean}"
    bad = {n: o for n, o in clean.items() if o is not None and o[0] not in ("passed", "skipped")}
    assert not bad, f"{proof.check} does not pass on the clean server: {bad}"
    preset = proofs.preset_for(promise)
    assert preset is not None, f"{proof.check} passes under no preset: {clean}"
    outcome = proofs.broken(promise, preset).get(proof.function)
    assert outcome is not None, f"{proof.check} did not run with {proof.defect.label}"
    assert outcome[0] == "failed", (
        f"{proof.check} did not fail with {proof.defect.label} under {preset}: {outcome}"
    )


@pytest.mark.parametrize(("promise", "preset"), OTHER_MODE, ids=[f"{p}-{n}" for p, n in OTHER_MODE])
def test_check_fails_in_its_other_mode(proofs: PolicyProofs, promise: str, preset: str) -> None:
    check = f"test_policy_{promise}"
    assert proofs.clean[preset].get(check, ("",))[0] == "passed", proofs.clean[preset].get(check)
    outcome = proofs.broken(promise, preset).get(check)
    assert outcome is not None, f"{check} did not run with --break {promise} under {preset}"
    assert outcome[0] == "failed", f"{check} did not fail with --break {promise} under {preset}"


def test_reports_never_show_a_secret(proofs: PolicyProofs) -> None:
    """The failing runs' reports (JSON, HTML, JUnit, Allure) carry their exchanges and
    tracebacks: no run token, and no token the admin API handed out, shows in them (a
    Settings repr in JUnit's traceback once did)."""
    proofs.broken("token_rotation", proofs.preset_for("token_rotation") or "")
    assert proofs.leaks
    leaked = {pair: found for pair, found in proofs.leaks.items() if found}
    assert not leaked, leaked


def test_skips_say_why(proofs: PolicyProofs) -> None:
    """A policy check that does not apply says which key or missing section made it so."""
    for preset, runs in proofs.clean.items():
        for check, (outcome, reason) in runs.items():
            if outcome == "skipped":
                assert "policy" in reason or "destructive" in reason, (preset, check, reason)


def test_a_files_admin_section_drives_a_server_the_harness_did_not_start(
    tmp_path: Path,
) -> None:
    """Not embedded: the `[admin]` section of the file (token from its env var) is used,
    and without --scim-destructive the checks that change the tenant skip and say so."""
    preset = _preset(preset_names()[0])
    server = start_server(preset)
    try:
        outcomes = run_policy_checks(
            policy_file(server, preset, tmp_path),
            tmp_path / "report",
            extra=("--scim-url", url_of(server), f"--scim-token={server.token}"),
            env={ADMIN_ENV: admin_token_of(server)},
        )
    finally:
        server.stop()
    assert outcomes["test_policy_login_gate"][0] == "passed", outcomes
    assert outcomes["test_policy_token_rotation"][0] == "passed", outcomes
    outcome, reason = outcomes["test_policy_scim_switch"]
    assert outcome == "skipped", outcomes
    assert "--scim-destructive" in reason
