"""The shipped suite against an independent server, scim2-server 0.8.3 (issue 3 point 11).

It starts scim2-server (benchmarks/scim2_server_app.py, in-memory, bearer token) on
127.0.0.1, runs the whole suite against it in a subprocess and asserts that the checks that
do not pass are exactly those in scim2_server_expected.json, each a real departure of that
server from the RFC documented in docs/peer-findings.md. A check change that makes a new
finding there (a false positive until proven otherwise) fails; so does a finding that went
away (remove it from the list and the document).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import pytest

pytestmark = pytest.mark.peers

REPO_ROOT = Path(__file__).resolve().parents[2]
APP = REPO_ROOT / "benchmarks" / "scim2_server_app.py"
EXPECTED = Path(__file__).with_name("scim2_server_expected.json")
NOT_PASSING = frozenset({"failed", "warning", "blocked", "error"})
START_TIMEOUT = 60.0
SUITE_TIMEOUT = 240.0


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)


@contextlib.contextmanager
def scim2_server(log: Path, token: str) -> Iterator[str]:
    """scim2-server on 127.0.0.1 on a free port; yields its base URL, stops it by its pid."""
    with log.open("wb") as err:
        command = [sys.executable, str(APP), "--host", "127.0.0.1", "--port", "0"]
        proc = subprocess.Popen(
            # One token in 64 starts with '-': glued, argparse cannot take it for an option.
            [*command, f"--bearer-token={token}"],
            stdout=subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            text=True,
        )
    assert proc.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    pump = threading.Thread(target=_pump, args=(proc.stdout, lines), daemon=True)
    pump.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        url = ""
        while not url and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(queue.Empty):
                line = lines.get(timeout=0.1)
                if line.startswith("READY "):
                    url = line.split(" ", 1)[1].strip()
        if not url:
            pytest.fail(f"scim2-server did not print READY:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout=10)
        pump.join(timeout=10)  # the pipe ends once the server is gone
        proc.stdout.close()


def _clean_env() -> dict[str, str]:
    """Our environment without settings that would change the inner run (SCIM_*, PYTEST_*)."""
    drop = ("SCIM_", "PYTEST_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_suite(url: str, token: str, workdir: Path) -> dict[str, Any]:
    """`pytest --scim-url URL` as a user types it, from an empty folder; the JSON report."""
    reports = workdir / "reports"
    options = ["--scim-report-dir", str(reports), "-p", "no:cacheprovider", "-q", "-n", "2"]
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "--scim-url", url, f"--scim-token={token}", *options],
        cwd=workdir,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT,
        check=False,
    )
    report = reports / "scim-report.json"
    output = f"exit {completed.returncode}\n{completed.stdout[-4000:]}\n{completed.stderr[-4000:]}"
    assert completed.returncode in (0, 1), output  # 1: some checks did not pass
    assert report.exists(), output
    loaded: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return loaded


def test_scim2_server_findings_are_exactly_the_documented_ones(tmp_path: Path) -> None:
    pytest.importorskip("scim2_server", reason="scim2-server (dev extra) is not installed")
    expected_doc = json.loads(EXPECTED.read_text(encoding="utf-8"))
    assert metadata.version("scim2-server") == expected_doc["scim2_server_version"], (
        "the documented findings are for another scim2-server version"
    )
    token = secrets.token_urlsafe(24)
    with scim2_server(tmp_path / "scim2-server.log", token) as url:
        report = _run_suite(url, token, tmp_path)

    checks = report["checks"]
    assert len(checks) > 600, f"only {len(checks)} checks ran"
    got = {c["nodeid"]: c["outcome"] for c in checks if c["outcome"] in NOT_PASSING}
    expected: dict[str, str] = expected_doc["not_passing"]
    reasons = {c["nodeid"]: c["reason"].splitlines()[0] for c in checks if c["nodeid"] in got}
    new = {k: f"{v}: {reasons[k]}" for k, v in got.items() if expected.get(k) != v}
    gone = {k: v for k, v in expected.items() if got.get(k) != v}
    assert (new, gone) == ({}, {}), (
        "findings against scim2-server changed (see docs/peer-findings.md)\n"
        f"new or changed (a false positive, or a new real finding to document): "
        f"{json.dumps(new, indent=1)}\n"
        f"documented but gone (remove from scim2_server_expected.json and the doc): "
        f"{json.dumps(gone, indent=1)}"
    )
    assert report["cleanup"]["leftovers"] == [], "the run left resources on scim2-server"
