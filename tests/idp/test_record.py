"""`scim-idp record`: the proxy forwards unchanged, records one masked line per exchange."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from harness.endpoint import EmbeddedServer, Target
from harness.idp import record
from harness.idp.record import RecordingProxy, uvicorn_config
from harness.idp.traffic import load_traffic

SCIM = "application/scim+json"


@contextmanager
def serve(app: Any, *, path: str = "") -> Iterator[str]:
    """Serve an ASGI app (the proxy with its own uvicorn settings) in a thread on 127.0.0.1:0."""
    if isinstance(app, RecordingProxy):
        config = uvicorn_config(app, "127.0.0.1", 0)
    else:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive()
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    base = app.base_path if isinstance(app, RecordingProxy) else path
    try:
        yield f"http://127.0.0.1:{port}{base}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def reference() -> Iterator[Target]:
    """The reference server as a subprocess on a free loopback port, stopped by its pid."""
    server = EmbeddedServer()
    try:
        yield server.start()
    finally:
        server.stop()


def user_body(token: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "alice.recorded@example.com",
        "externalId": "ext-alice",
        "name": {"givenName": "Alice", "familyName": "Recorded"},
        "emails": [{"value": "alice.recorded@example.com", "type": "work", "primary": True}],
        # A token echoed in a body must be masked in the file as well.
        "title": f"echo {token}",
        "active": True,
    }


def record_session(upstream: str, token: str, out: Path) -> list[int]:
    """Create, patch, get, find, delete a user and read it again (404) through the proxy."""
    with out.open("a", encoding="utf-8") as handle, serve(RecordingProxy(upstream, handle)) as url:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM, "Accept": SCIM}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            created = http.post("/Users", json=user_body(token))
            uid = created.json()["id"]
            patch = {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "name.givenName", "value": "Alicia"}],
            }
            answers = [
                created,
                http.patch(f"/Users/{uid}", json=patch),
                http.get(f"/Users/{uid}"),
                http.get("/Users", params={"filter": 'userName eq "alice.recorded@example.com"'}),
                http.delete(f"/Users/{uid}"),
                http.get(f"/Users/{uid}"),
            ]
    return [a.status_code for a in answers]


def test_a_session_is_recorded_one_masked_line_per_exchange(
    reference: Target, tmp_path: Path
) -> None:
    """Issue 4.6: what the IdP sent and got, in order, with the token nowhere in the file."""
    assert reference.token is not None
    out = tmp_path / "traffic.jsonl"
    statuses = record_session(reference.url, reference.token, out)
    assert statuses == [201, 200, 200, 200, 204, 404]
    text = out.read_text(encoding="utf-8")
    assert reference.token not in text
    lines = load_traffic(out)
    assert [line.seq for line in lines] == [1, 2, 3, 4, 5, 6]
    assert [line.response.status for line in lines] == statuses
    assert [line.request.method for line in lines] == [
        "POST",
        "PATCH",
        "GET",
        "GET",
        "DELETE",
        "GET",
    ]
    uid = lines[0].response.body["id"]
    assert lines[1].request.path == f"/Users/{uid}"
    assert lines[3].request.query.startswith("filter=userName")
    assert lines[0].request.header("authorization") == "Bearer ***"
    assert lines[0].request.body["title"] == "echo ***"
    assert lines[0].response.body["title"] == "echo ***"
    assert lines[4].response.body is None
    assert lines[5].response.body["status"] == "404"
    assert all(line.error is None and line.elapsed > 0 for line in lines)


def test_the_idp_gets_the_upstream_answer_unchanged(reference: Target, tmp_path: Path) -> None:
    """The proxy is transparent: same status, body bytes and headers as a direct call."""
    headers = {"Authorization": f"Bearer {reference.token}", "Accept": SCIM}
    direct = httpx.get(reference.url + "/ServiceProviderConfig", headers=headers)
    with (
        (tmp_path / "t.jsonl").open("a") as handle,
        serve(RecordingProxy(reference.url, handle)) as url,
    ):
        proxied = httpx.get(url + "/ServiceProviderConfig", headers=headers)
    assert proxied.status_code == direct.status_code == 200
    assert proxied.content == direct.content
    assert proxied.headers["content-type"] == direct.headers["content-type"]
    names = [k for k, _ in proxied.headers.multi_items()]
    assert names == [k for k, _ in direct.headers.multi_items()]  # no header added or lost


async def _redirecting(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A tiny upstream that redirects every request to another host."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 302,
            "headers": [
                (b"location", b"http://elsewhere.invalid/steal"),
                (b"content-length", b"0"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b""})


def test_redirects_are_passed_back_never_followed(tmp_path: Path) -> None:
    """The token never travels to a host the proxy was not given (a redirect is answered)."""
    out = tmp_path / "t.jsonl"
    with (
        serve(_redirecting, path="/scim/v2") as upstream,
        out.open("a") as handle,
        serve(RecordingProxy(upstream, handle)) as url,
    ):
        answer = httpx.get(url + "/Users", headers={"Authorization": "Bearer s3cret-token"})
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://elsewhere.invalid/steal"
    (line,) = load_traffic(out)
    assert line.response.status == 302
    assert "s3cret-token" not in out.read_text()


def test_an_unreachable_upstream_is_a_502_and_a_recorded_line(tmp_path: Path) -> None:
    """Upstream errors reach the IdP as a SCIM 502 and stay in the file, token masked."""
    out = tmp_path / "t.jsonl"
    with (
        out.open("a") as handle,
        serve(RecordingProxy("http://127.0.0.1:9/scim/v2", handle, timeout=2)) as url,
    ):
        answer = httpx.get(url + "/Users", headers={"Authorization": "Bearer s3cret-token"})
    assert answer.status_code == 502
    assert answer.json()["status"] == "502"
    (line,) = load_traffic(out)
    assert line.response.status == 502
    assert line.error is not None
    assert "ConnectError" in line.error
    assert "s3cret-token" not in out.read_text()


def test_a_request_body_over_the_bound_is_refused(reference: Target, tmp_path: Path) -> None:
    """Bodies are bounded: an oversized request gets 413 and is never forwarded."""
    out = tmp_path / "t.jsonl"
    with (
        out.open("a") as handle,
        serve(RecordingProxy(reference.url, handle, max_body=1000)) as url,
    ):
        answer = httpx.post(url + "/Users", content=b"x" * 5000, headers={"Content-Type": SCIM})
    assert answer.status_code == 413
    (line,) = load_traffic(out)
    assert line.response.status == 413
    assert line.error is not None


def test_record_command_prints_ready_and_writes_the_file(reference: Target, tmp_path: Path) -> None:
    """The CLI entry (`run`) listens on loopback, says READY, and flushes each line."""
    out = tmp_path / "cli.jsonl"
    code = (
        "import argparse, sys\n"
        "from harness.idp import record\n"
        "p = argparse.ArgumentParser(); record.configure_parser(p)\n"
        "sys.exit(record.run(p.parse_args(sys.argv[1:])))\n"
    )
    argv = [sys.executable, "-c", code, "--listen", "0", "--upstream", reference.url,
            "--out", str(out)]  # fmt: skip
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        ready = ""
        deadline = time.monotonic() + 20
        while not ready.startswith("READY ") and time.monotonic() < deadline:
            ready = proc.stdout.readline()
        url = ready.split(None, 1)[1].strip()
        assert url.startswith("http://127.0.0.1:")
        answer = httpx.get(
            url + "/Users", headers={"Authorization": f"Bearer {reference.token}"}, timeout=10
        )
        assert answer.status_code == 200
        (line,) = load_traffic(out)
        assert line.request.path == "/Users"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()
    assert reference.token is not None
    assert reference.token not in out.read_text()


def test_record_refuses_bad_options_with_exit_2(tmp_path: Path) -> None:
    """A URL that is not http(s) is a usage error (exit 2), not a crash."""
    parser = argparse.ArgumentParser()
    record.configure_parser(parser)
    args = parser.parse_args(
        ["--listen", "0", "--upstream", "ftp://x/scim", "--out", str(tmp_path / "t.jsonl")]
    )
    assert record.run(args) == 2


def test_masked_headers_and_relative_paths() -> None:
    """Paths are stored relative to the SCIM base, whichever base the IdP uses."""
    proxy = RecordingProxy("https://scim.example.com/api/scim/v2", out=None)  # type: ignore[arg-type]
    assert proxy.relative_path("/api/scim/v2/Users/1") == "/Users/1"
    assert proxy.relative_path("/Users/1") == "/Users/1"
    assert proxy.relative_path("/api/scim/v2") == "/"
    assert record.request_secrets([("Authorization", "Bearer abcd1234")]) == ["abcd1234"]
    basic = record.request_secrets([("authorization", "Basic dXNlcjpwYXNzd29yZA==")])
    assert "password" in basic
    assert json.dumps(basic)


async def _big(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An upstream answering 5000 bytes in two chunks."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/scim+json"), (b"content-length", b"5000")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"a" * 2500, "more_body": True})
    await send({"type": "http.response.body", "body": b"b" * 2500})


def test_a_large_answer_reaches_the_idp_whole_and_the_file_bounded(tmp_path: Path) -> None:
    """The IdP gets every byte; the file keeps the first max_body bytes and says so."""
    out = tmp_path / "t.jsonl"
    with (
        serve(_big, path="/scim/v2") as upstream,
        out.open("a") as handle,
        serve(RecordingProxy(upstream, handle, max_body=1000)) as url,
    ):
        answer = httpx.get(url + "/Users")
    assert answer.content == b"a" * 2500 + b"b" * 2500
    (line,) = load_traffic(out)
    assert line.response.text == "a" * 1000
    assert line.error == "response body of 5000 bytes; the file keeps the first 1000"
