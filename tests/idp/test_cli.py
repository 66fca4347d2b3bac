"""The `scim-idp` command line: help everywhere, exit codes 0/1/2, the token never printed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.endpoint import EmbeddedServer, Target
from harness.idp import cli

SECRET = "tok-cli-4f1b9a2e7c"


@pytest.fixture(scope="module")
def server() -> Iterator[Target]:
    """One reference server (127.0.0.1, port 0) for the CLI's runs; stopped by its process."""
    embedded = EmbeddedServer()
    target = embedded.start()
    try:
        yield target
    finally:
        embedded.stop()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_top_level_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("sync", "record", "replay", "diff"):
        assert name in out
    assert "exit codes: 0 ok, 1 failures found, 2 usage or connection error" in out


@pytest.mark.parametrize("name", list(cli.SUBCOMMANDS))
def test_every_subcommand_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """--help works even for a subcommand whose module is not installed yet."""
    assert cli.main([name, "--help"]) == 0
    assert f"usage: scim-idp {name}" in capsys.readouterr().out


def test_sync_help_documents_revisions_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["sync", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Revision N is the same directory N sync cycles later" in out
    assert "2% leave" in out
    assert "--concurrency" in out
    assert "--max-seconds" in out
    assert "exit codes: 0 every operation succeeded" in out


def test_the_console_script_is_installed() -> None:
    """pyproject's `scim-idp` entry point resolves to cli.main."""
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "scim-idp"]
    assert script.value == "harness.idp.cli:main"
    done = subprocess.run(
        [sys.executable, "-c", "from harness.idp.cli import main; raise SystemExit(main())"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "SUBCOMMAND" in done.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "required: SUBCOMMAND"),
        (["nosuch"], "invalid choice"),
        (["sync", "--url", "http://127.0.0.1:9/scim/v2"], "--profile"),
        (["sync", "--profile", "okta"], "--url"),
        (["sync", "--profile", "okta", "--url", "u", "--users", "-1"], "must be 0 or more"),
        (["sync", "--profile", "okta", "--url", "u", "--concurrency", "0"], "between 1 and 256"),
        (["sync", "--profile", "okta", "--url", "u", "--max-seconds", "0"], "more than 0"),
        (["sync", "--profile", "okta", "--url", "ftp://x/scim/v2"], "must be an http(s) URL"),
        (["sync", "--profile", "nosuch", "--url", "http://x/scim/v2"], "no such profile file"),
        (["sync", "--profile", "okta", "--url", "http://x", "--domain", "a b"], "not a domain"),
    ],
)
def test_usage_errors_exit_2(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_missing_subcommand_module_is_refused_clearly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Until its module exists a subcommand says so (exit 2) instead of a traceback."""
    monkeypatch.setitem(
        cli.SUBCOMMANDS, "diff", cli.Subcommand("harness.idp._not_written_yet", "compare")
    )
    assert cli.main(["diff", "--left", "x"]) == 2
    err = capsys.readouterr().err
    assert "the 'diff' subcommand is not available yet" in err
    assert "Traceback" not in err
    assert cli.main(["--help"]) == 0
    assert "compare (not available in this install)" in capsys.readouterr().out
    monkeypatch.setitem(cli.SUBCOMMANDS, "diff", cli.Subcommand("harness.idp.model", "compare"))
    assert cli.main(["diff"]) == 2
    assert "does not define configure_parser and run" in capsys.readouterr().err


def test_an_unreachable_server_exits_2_without_the_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/scim/v2"
    argv = ["sync", "--profile", "okta", "--url", url, "--token", SECRET, "--users", "3"]
    assert cli.main([*argv, "--progress", "plain", "--timeout", "5"]) == 2
    captured = capsys.readouterr()
    assert "error: no answer from the server" in captured.err
    assert SECRET not in captured.out + captured.err


def test_a_refused_token_exits_2(server: Target, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sync", "--profile", "generic", "--url", server.url, "--token", SECRET]
    assert cli.main([*argv, "--users", "3", "--progress", "none"]) == 2
    captured = capsys.readouterr()
    assert "the server refused the token (401)" in captured.err
    assert SECRET not in captured.out + captured.err


def test_a_sync_from_the_command_line(
    server: Target,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 0, the summary on stdout, progress lines on stderr, JSON with the counts; the
    token comes from SCIM_TOKEN and appears nowhere."""
    assert server.token is not None
    monkeypatch.setenv("SCIM_TOKEN", server.token)
    report = tmp_path / "sync.json"
    argv = ["sync", "--profile", "entra", "--url", server.url, "--users", "30", "--groups", "3"]
    code = cli.main([*argv, "--seed", "9", "--progress", "plain", "--json", str(report)])
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert "| users  |      30 |" in captured.out
    assert "req/s:" in captured.out
    assert "p99:" in captured.out
    assert "[scim-idp] users: 30/30 (100%)" in captured.err
    data = json.loads(report.read_text())
    assert data["counts"]["users"]["created"] == 30
    assert data["counts"]["groups"]["created"] == 3
    assert data["failed"] == 0
    for text in (captured.out, captured.err, report.read_text()):
        assert server.token not in text


def test_max_seconds_stops_the_run_with_exit_1(
    server: Target, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bound that expires leaves work undone: reported as skipped, and the run fails."""
    assert server.token is not None
    monkeypatch.setenv("SCIM_TOKEN", server.token)
    argv = ["sync", "--profile", "generic", "--url", server.url, "--users", "20"]
    code = cli.main([*argv, "--seed", "10", "--max-seconds", "0.001", "--progress", "none"])
    out = capsys.readouterr().out
    assert code == 1
    assert "stopped early (--max-seconds reached)" in out


def test_sigterm_stops_the_run_and_still_prints_the_summary(server: Target) -> None:
    """`timeout` or a cancelled CI job sends SIGTERM: the summary of what was done still
    prints, and the exit code says the run was terminated (143)."""
    assert server.token is not None
    argv = [sys.executable, "-m", "harness.idp.cli", "sync", "--profile", "generic"]
    argv += ["--url", server.url, "--users", "3000", "--groups", "0", "--seed", "11"]
    process = subprocess.Popen(
        [*argv, "--progress", "plain", "--concurrency", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "SCIM_TOKEN": server.token},
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("[scim-idp] users: "):
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    assert process.returncode == 143
    assert "stopped early (terminated)" in out
    assert "| users  |" in out
    assert server.token not in out
