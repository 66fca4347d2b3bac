"""Smoke test of benchmarks/bench_server.py: a tiny run against both servers.

It proves the script starts both servers, seeds them, runs every phase in two rounds and
prints the table, with zero errors. It asserts nothing on timings (the machine may be busy).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "benchmarks" / "bench_server.py"
PHASES = ("lookup+create", "filter", "patch", "page", "get", "group-patch")


def test_bench_script_prints_the_table_with_zero_errors(tmp_path: Path) -> None:
    pytest.importorskip("scim2_server", reason="scim2-server (dev extra) is not installed")
    out_json = tmp_path / "bench.json"
    # Pure by default (no compile in a plain test run); CI's compiled run sets native.
    build = os.environ.get("SCIM_BENCH_BUILD", "pure")
    completed = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--users",
            "20",
            "--concurrency",
            "2",
            "--seconds",
            "0.25",
            "--requests",
            "12",
            "--rounds",
            "2",
            "--bulk-size",
            "10",
            "--json",
            str(out_json),
            "--log-dir",
            str(tmp_path / "logs"),
            "--build",
            build,
        ],
        cwd=REPO_ROOT,
        # A script finds its sibling modules through its own directory on sys.path, which
        # PYTHONSAFEPATH (CI's compiled run) leaves out; the script sets it for the server.
        env={k: v for k, v in os.environ.items() if k != "PYTHONSAFEPATH"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    logs = "\n".join(
        f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted((tmp_path / "logs").glob("*"))
    )
    assert completed.returncode == 0, completed.stderr[-3000:] + logs
    assert "N = 20 users" in completed.stdout
    for phase in PHASES:
        assert phase in completed.stdout

    doc = json.loads(out_json.read_text())
    assert doc["build"] == build
    run = doc["runs"]["20"]
    assert [s["name"] for s in run["servers"]] == ["ours", "scim2"]
    ours_label = "reference_server (mypyc)" if build == "native" else "reference_server"
    assert run["servers"][0]["label"] == ours_label
    for server in run["servers"]:
        assert server["seeded"]["users"] == 20
        assert [p["phase"] for p in server["phases"]] == list(PHASES)
        for phase in server["phases"]:
            assert phase["requests"] > 0, (server["name"], phase["phase"])
            # Two rounds, pooled; the second goes on with new keys (no lookup finds a user
            # the first round created).
            assert len(phase["rounds_us_per_req"]) == 2, phase
            assert phase["errors"] == 0, (
                server["name"],
                phase["phase"],
                phase["error_kinds"],
                logs,
            )
        assert server["rss_end_mb"] > 0
        group_phase = server["phases"][-1]
        # 20 users fill a group in one add: the next add starts a new group.
        assert {"group add 50", "group remove 1", "group create"} <= set(
            group_phase["latency_by_kind"]
        ), (server["name"], group_phase["latency_by_kind"].keys())


SQL_COSTS = REPO_ROOT / "benchmarks" / "sql_costs.py"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["plans", "--users", "300", "--slow-ms", "1000"], "== group add 50:"),
        (["groups", "--users", "400", "--sizes", "150,300", "--pairs", "2"], "members: add 50"),
        (["statements", "--calls", "20"], "raw sqlite3, 1 query"),
    ],
    ids=["plans", "groups", "statements"],
)
def test_sql_costs_modes_run_on_a_small_database(args: list[str], expected: str) -> None:
    """The in-process measurements the README quotes still run (they import the server's
    internals, so a refactoring can break them without any other test noticing)."""
    completed = subprocess.run(
        [sys.executable, str(SQL_COSTS), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert expected in completed.stdout, completed.stdout[-3000:]
    if args[0] == "plans":
        # statements are captured again (the repository bypasses SQLAlchemy's events)
        found = re.search(r"== group add 50: [\d.]+ ms CPU, (\d+) statements", completed.stdout)
        assert found is not None, completed.stdout[-3000:]
        assert int(found.group(1)) > 0
