"""`--scim-url embedded`: the bundled reference server in a subprocess, never imported.

Starts `python -m reference_server --port 0 ...` with a fresh SQLite database and a random
token, waits for its `READY <url>` line, and stops it (SIGTERM, then kill) at the end.
With a policy file (`--scim-policy`) it adds `--policy FILE --admin-token <random>` and
reads the `ADMIN URL:` and `ORGANIZATION:` lines printed before READY: the run's admin API.
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from harness.verdicts import HarnessError

__all__ = ["READY_TIMEOUT", "EmbeddedServer", "Target"]

READY_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Target:
    """Where the suite sends requests, and with which token."""

    url: str
    token: str | None = field(repr=False)
    embedded: bool = False
    admin_url: str | None = None
    admin_token: str | None = field(default=None, repr=False)
    organization: str | None = None


class EmbeddedServer:
    """The reference server as a child process for the length of one run."""

    def __init__(
        self,
        command: str | None = None,
        *,
        ready_timeout: float = READY_TIMEOUT,
        policy: Path | None = None,
        extra_args: tuple[str, ...] = (),
        token: str | None = None,
    ) -> None:
        """`command` is a template with {python}, {database_url} and {token} placeholders;
        `policy` adds `--policy FILE --admin-token <random>`, `extra_args` come last.
        `token` (random by default) is the SCIM token, for a client that sends a fixed one."""
        self.token = token or secrets.token_urlsafe(24)
        self.policy = policy
        self.admin_token = secrets.token_urlsafe(24) if policy is not None else None
        self.extra_args = extra_args
        self.admin_url: str | None = None
        self.organization: str | None = None
        self._dir = Path(tempfile.mkdtemp(prefix="scim-embedded-"))
        self.database_url = f"sqlite:///{self._dir / 'scim.db'}"
        self._command = command
        self.ready_timeout = ready_timeout
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=200)
        self._reader: threading.Thread | None = None
        self.url: str | None = None

    def argv(self) -> list[str]:
        return self._base_argv() + self._policy_args() + list(self.extra_args)

    def _policy_args(self) -> list[str]:
        if self.policy is None or self.admin_token is None:
            return []
        return ["--policy", str(self.policy), f"--admin-token={self.admin_token}"]

    def _base_argv(self) -> list[str]:
        if self._command:
            return [
                part.format(python=sys.executable, database_url=self.database_url, token=self.token)
                for part in shlex.split(self._command)
            ]
        return [
            sys.executable,
            "-m",
            "reference_server",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--database-url",
            self.database_url,
            "--bootstrap-token",
            self.token,
        ]

    def start(self) -> Target:
        """Start the server and wait for READY; HarnessError with its output if it fails."""
        lines: queue.Queue[str | None] = queue.Queue()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.argv(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            env=env,
            cwd=self._dir,
        )
        stdout = self._process.stdout
        assert stdout is not None

        def pump() -> None:
            for line in stdout:
                self._output.append(line.rstrip("\n"))
                lines.put(line)
            lines.put(None)

        self._reader = threading.Thread(target=pump, name="scim-embedded-output", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                self.stop()
                raise HarnessError(self._failure("the embedded server exited before READY"))
            if line.startswith("ADMIN URL:"):
                self.admin_url = line.split(":", 1)[1].strip()
            elif line.startswith("ORGANIZATION:"):
                self.organization = line.split(":", 1)[1].strip()
            elif line.startswith("READY "):
                self.url = line.split(None, 1)[1].strip()
                if self.policy is not None and not (self.admin_url and self.organization):
                    self.stop()
                    raise HarnessError(
                        self._failure(
                            "the embedded server was started with --policy but printed no "
                            "'ADMIN URL:' and 'ORGANIZATION:' lines before READY"
                        )
                    )
                return Target(
                    self.url,
                    self.token,
                    embedded=True,
                    admin_url=self.admin_url,
                    admin_token=self.admin_token,
                    organization=self.organization,
                )
        self.stop()
        raise HarnessError(self._failure(f"no READY line within {self.ready_timeout:g} s"))

    def _failure(self, what: str) -> str:
        output = "\n".join(self._output) or "(no output)"
        text = f"{what}\ncommand: {' '.join(self.argv())}\noutput:\n{output}"
        text = text.replace(self.token, "***")
        return text.replace(self.admin_token, "***") if self.admin_token else text

    def stop(self) -> None:
        """SIGTERM, wait, then kill; remove the database folder."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
            if self._reader is not None:
                self._reader.join(timeout=5)
            if process.stdout is not None:
                with contextlib.suppress(OSError):
                    process.stdout.close()
        shutil.rmtree(self._dir, ignore_errors=True)

    @property
    def output(self) -> list[str]:
        return list(self._output)
