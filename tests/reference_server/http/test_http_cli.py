"""The `scim-reference-server` CLI: READY line with the real port, tokens, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest

from reference_server.__main__ import loop_factory

READY_TIMEOUT = 180.0  # generous: CI machines can be heavily loaded


@contextmanager
def _server(
    args: list[str], env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """Start the CLI; yield (process, stdout lines up to READY); SIGTERM it at the end."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "reference_server", "--host", "127.0.0.1", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    lines: list[str] = []
    queue: Queue[str | None] = Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            queue.put(line.rstrip("\n"))
        queue.put(None)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and not (lines and lines[-1].startswith("READY ")):
            try:
                line = queue.get(timeout=max(deadline - time.monotonic(), 0.01))
            except Empty:
                break
            if line is None:
                break
            lines.append(line)
        assert lines, "no output before READY"
        assert lines[-1].startswith("READY "), lines
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        reader.join(timeout=5)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def test_dev_mode_prints_url_and_fresh_token_and_stops_cleanly(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/cli.db"
    with _server(["--database-url", db]) as (proc, lines):
        url = lines[-1].removeprefix("READY ")
        assert url.startswith("http://127.0.0.1:")
        assert not url.endswith(":0/scim/v2")
        assert lines[0] == f"SCIM base URL: {url}"
        token = lines[1].removeprefix("SCIM bearer token: ")
        assert lines[1].startswith("SCIM bearer token: ")
        assert len(token) >= 40
        ok = httpx.get(f"{url}/ServiceProviderConfig", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200
        assert ok.headers["content-type"] == "application/scim+json"
        denied = httpx.get(f"{url}/Users", headers={"Authorization": "Bearer nope"})
        assert denied.status_code == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


@pytest.mark.parametrize("via", ["flag", "env"])
def test_bootstrap_token_is_the_known_value(tmp_path: Path, via: str) -> None:
    token = f"known-token-{via}"
    db = f"sqlite:///{tmp_path}/boot.db"
    args = (
        ["--database-url", db]
        if via == "env"
        else ["--database-url", db, "--bootstrap-token", token]
    )
    env = {"SCIM_REF_BOOTSTRAP_TOKEN": token} if via == "env" else None
    with _server(args, env) as (proc, lines):
        url = lines[-1].removeprefix("READY ")
        assert f"SCIM bearer token: {token}" in lines
        headers = {"Authorization": f"Bearer {token}"}
        created = httpx.post(
            f"{url}/Users",
            json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "cli"},
            headers=headers,
        )
        assert created.status_code == 201
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    # A restart on the same database reuses the organization: the data is still there.
    with _server(args, env) as (_proc, lines):
        url = lines[-1].removeprefix("READY ")
        found = httpx.get(f"{url}/Users", headers={"Authorization": f"Bearer {token}"})
        assert found.json()["totalResults"] == 1


def test_in_memory_database_works(tmp_path: Path) -> None:
    with _server(["--database-url", "sqlite://", "--bootstrap-token", "mem"]) as (_proc, lines):
        url = lines[-1].removeprefix("READY ")
        headers = {"Authorization": "Bearer mem"}
        body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "m"}
        assert httpx.post(f"{url}/Users", json=body, headers=headers).status_code == 201
        assert httpx.get(f"{url}/Users", headers=headers).json()["totalResults"] == 1


def test_bad_port_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reference_server", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--port" in result.stderr


@pytest.mark.parametrize("option", ["--bootstrap-token", "--admin-token"])
def test_a_token_starting_with_a_dash_is_a_value_not_an_option(option: str) -> None:
    """secrets.token_urlsafe starts with '-' one time in 64: argparse must not refuse it."""
    from reference_server.__main__ import parse_args

    args = parse_args([option, "-Xy_z", "--port", "0"])
    assert getattr(args, option[2:].replace("-", "_")) == "-Xy_z"
    assert args.port == 0


def _exchange(
    url: str, request: bytes, done: Callable[[bytes], bool], expect_100: bytes = b""
) -> bytes:
    """Send raw bytes on a fresh connection; read until `done(received)` (10 s at most)."""
    host, port = url.removeprefix("http://").split("/", 1)[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        received = b""
        if expect_100:
            while b"\r\n\r\n" not in received:
                received += sock.recv(65536)
            assert received.startswith(b"HTTP/1.1 100 Continue"), received
            received = b""
            sock.sendall(expect_100)
        while not done(received):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        return received


def test_raw_http_requests_complete(tmp_path: Path) -> None:
    """Raw HTTP/1.1 through the real server: GET, HEAD (no body), `Expect: 100-continue`
    and pipelined requests on one connection all complete."""
    db = f"sqlite:///{tmp_path}/wire.db"
    token = "wire-token-0123456789abcdef"
    with _server(["--database-url", db, "--bootstrap-token", token]) as (_proc, lines):
        url = lines[-1].removeprefix("READY ")
        auth = f"Authorization: Bearer {token}\r\nHost: x\r\n".encode()
        get = b"GET /scim/v2/Users?count=1 HTTP/1.1\r\n" + auth + b"\r\n"
        one = _exchange(url, get, lambda got: got.endswith(b"}"))
        assert one.startswith(b"HTTP/1.1 200 "), one
        assert one.endswith(b"}"), one
        head = _exchange(
            url, b"HEAD /scim/v2/Users HTTP/1.1\r\n" + auth + b"\r\n", lambda got: bool(got)
        )
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert head.endswith(b"\r\n\r\n"), head
        body = b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "w"}'
        post = (
            b"POST /scim/v2/Users HTTP/1.1\r\n" + auth + b"Content-Type: application/scim+json\r\n"
            b"Expect: 100-continue\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n"
        )
        created = _exchange(url, post, lambda got: got.endswith(b"}"), expect_100=body)
        assert created.startswith(b"HTTP/1.1 201 "), created
        two = _exchange(
            url, get + get, lambda got: got.count(b"HTTP/1.1 200 ") == 2 and got.endswith(b"}")
        )
        assert two.count(b"HTTP/1.1 200 ") == 2, two


@pytest.mark.parametrize("loop", ["asyncio", "auto"])
def test_either_event_loop_serves(tmp_path: Path, loop: str) -> None:
    """`--loop asyncio` and the default (uvloop when installed) both serve and stop cleanly."""
    token = "loop-token-0123456789abcdef"
    db = f"sqlite:///{tmp_path}/loop.db"
    with _server(["--database-url", db, "--bootstrap-token", token, "--loop", loop]) as (
        proc,
        lines,
    ):
        url = lines[-1].removeprefix("READY ")
        answer = httpx.get(f"{url}/Users", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200
        assert answer.json()["totalResults"] == 0
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0


def test_loop_factory_names_uvloop_or_asyncio() -> None:
    uvloop = pytest.importorskip("uvloop")
    assert loop_factory("asyncio") is None
    assert loop_factory("auto") is uvloop.new_event_loop
    assert loop_factory("uvloop") is uvloop.new_event_loop
