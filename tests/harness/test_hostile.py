"""A hostile or broken server yields failures carrying the exchange: never a crash of the
harness, never an unbounded read, never a leaked token (issue 3 points 2, 9, 10)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
from conftest import Served
from defects.serve import serve
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.client import MAX_BODY, Recorder, ScimClient
from harness.exchange import BODY_KEEP, render_curl, render_text
from harness.verdicts import (
    BodyNotJson,
    ErrorBodyInvalid,
    HarnessError,
    ServerError,
    TransportFailure,
    UnsafeRedirect,
    WriteOnlyEchoed,
)

TOKEN = "hostile-secret-token-8c1e2f"
BASE = "https://scim.example.com/scim/v2"


def client_for(handler: httpx.MockTransport, **kw: object) -> ScimClient:
    return ScimClient(BASE, TOKEN, transport=handler, recorder=Recorder("t"), **kw)  # type: ignore[arg-type]


def _assert_masked(*texts: str) -> None:
    for text in texts:
        assert TOKEN not in text


def test_html_error_page_is_a_server_error_with_the_exchange() -> None:
    page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
    transport = httpx.MockTransport(
        lambda request: httpx.Response(502, content=page, headers={"content-type": "text/html"})
    )
    with client_for(transport) as scim, pytest.raises(ServerError) as caught:
        scim.get("/Users")
    (exchange,) = caught.value.exchanges
    assert exchange.status == 502
    assert "502 Bad Gateway" in exchange.response_body
    _assert_masked(render_text(exchange), render_curl(exchange), str(caught.value))


def test_a_non_json_body_is_a_typed_violation() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=b"OK", headers={"content-type": "text/plain"})
    )
    with client_for(transport) as scim:
        response = scim.get("/Users")
        with pytest.raises(BodyNotJson, match="not valid JSON"):
            response.json()
        # The wrong media type is a SHOULD finding, kept for grading, not raised.
        assert [f.title for f in scim.recorder.findings] == ["Wrong media type"]


class _Broken(httpx.SyncByteStream):
    def __iter__(self) -> Iterator[bytes]:
        yield b'{"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Res'
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")


def test_a_truncated_body_is_recorded_and_not_json() -> None:
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200, stream=_Broken(), headers={"content-type": "application/scim+json"}
        )
    )
    with client_for(transport) as scim:
        response = scim.get("/Users")
        assert response.truncated
        assert "peer closed" in (response.exchange.error or "")
        with pytest.raises(BodyNotJson, match="cut"):
            response.json()


class _Huge(httpx.SyncByteStream):
    def __init__(self) -> None:
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        chunk = b"x" * 65536
        for _ in range(20 * 1024 * 1024 // len(chunk)):
            self.sent += len(chunk)
            yield chunk


def test_a_huge_body_is_read_up_to_the_cap_and_cut_in_evidence() -> None:
    stream = _Huge()
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            200,
            stream=stream,
            headers={"content-type": "application/scim+json", "content-length": "20971520"},
        )
    )
    with client_for(transport) as scim:
        response = scim.get("/Users")
    assert response.truncated
    assert len(response.content) == MAX_BODY
    assert stream.sent < 20 * 1024 * 1024  # reading stopped early
    exchange = response.exchange
    assert len(exchange.response_body) == BODY_KEEP
    assert exchange.response_cut == 20 * 1024 * 1024 - BODY_KEEP
    assert "[cut: " in render_text(exchange)


def test_a_timeout_is_a_transport_failure_with_the_request() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    scim = client_for(httpx.MockTransport(slow), timeout=0.5)
    with scim, pytest.raises(TransportFailure, match=r"timed out after 0\.5 s") as caught:
        scim.get("/Users")
    (exchange,) = caught.value.exchanges
    assert exchange.status is None
    assert "Bearer ***" in render_text(exchange)


def test_a_refused_connection_is_a_transport_failure() -> None:
    scim = ScimClient("http://127.0.0.1:9/scim/v2", TOKEN, timeout=2)
    with scim, pytest.raises(TransportFailure, match="ConnectError"):
        scim.get("/ServiceProviderConfig")


def test_redirects_are_not_followed_and_never_carry_the_token_elsewhere() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(302, headers={"location": "https://evil.example.net/steal"})

    with client_for(httpx.MockTransport(handler)) as scim:
        response = scim.get("/Users")
        assert response.status == 302
        with pytest.raises(UnsafeRedirect, match="another origin"):
            scim.follow(response)
        with pytest.raises(UnsafeRedirect):
            scim.get("https://evil.example.net/Users")
    assert [r.url.host for r in seen] == ["scim.example.com"]


def test_a_same_origin_redirect_can_be_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/Old"):
            return httpx.Response(301, headers={"location": "/scim/v2/New"})
        assert request.headers["authorization"] == f"Bearer {TOKEN}"
        return httpx.Response(204)

    with client_for(httpx.MockTransport(handler)) as scim:
        assert scim.follow(scim.get("/Old")).status == 204


def test_a_token_echoed_by_the_server_is_masked_everywhere() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        body = {"detail": f"bad token {TOKEN}", "schemas": [], "status": "400"}
        return httpx.Response(400, json=body, headers={"x-echo": TOKEN})

    with client_for(httpx.MockTransport(echo)) as scim, pytest.raises(ErrorBodyInvalid) as caught:
        scim.get("/Users", params={"filter": f'userName eq "{TOKEN}"'})
    (exchange,) = caught.value.exchanges
    _assert_masked(render_text(exchange), render_curl(exchange), json.dumps(exchange.to_dict()))
    _assert_masked(str(caught.value))


def test_an_echoed_password_is_a_violation() -> None:
    user = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "1",
        "userName": "a",
        "password": "s3cret",
    }
    transport = httpx.MockTransport(
        lambda request: httpx.Response(
            201, json=user, headers={"content-type": "application/scim+json"}
        )
    )
    with client_for(transport) as scim, pytest.raises(WriteOnlyEchoed):
        scim.post("/Users", json=user)


def test_the_base_url_query_is_kept_on_every_request() -> None:
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(204)

    transport = httpx.MockTransport(handler)
    with ScimClient(f"{BASE}?aadOptscim062020", TOKEN, transport=transport) as scim:
        scim.get("/Users", params={"count": 2})
    assert seen[0].path == "/scim/v2/Users"
    assert seen[0].params["count"] == "2"
    assert "aadOptscim062020" in seen[0].params


def test_a_request_the_harness_cannot_build_is_its_own_error(fake_server: Served) -> None:
    scim = ScimClient(fake_server.url, fake_server.token)
    with scim, pytest.raises(HarnessError, match="invalid request"):
        scim.get("/Users", headers={"Authorization": "Bearer "})


async def _slow(request: Request) -> Response:
    await asyncio.sleep(3)
    return Response("{}", media_type="application/scim+json")


def test_a_slow_real_server_times_out_cleanly() -> None:
    app = Starlette(routes=[Route("/scim/v2/Users", _slow)])
    with (
        serve(app) as url,
        ScimClient(url, TOKEN, timeout=0.3) as scim,
        pytest.raises(TransportFailure, match="timed out"),
    ):
        scim.get("/Users")


HTML_APP = Starlette(
    routes=[
        Route(
            "/scim/v2/{rest:path}",
            lambda request: Response("<html>maintenance</html>", 503, media_type="text/html"),
        )
    ]
)


def test_the_suite_against_an_html_server_fails_cleanly(pytester: pytest.Pytester) -> None:
    with serve(HTML_APP) as url:
        result = pytester.runpytest(
            "--scim-url",
            url,
            "--scim-token",
            TOKEN,
            "-p",
            "no:cacheprovider",
            "-k",
            "test_discovery or test_auth",
        )
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "< 503" in output
    assert "maintenance" in output
    assert TOKEN not in output
    report = (pytester.path / "reports" / "scim-report.json").read_text(encoding="utf-8")
    assert TOKEN not in report
    outcomes = {c["outcome"] for c in json.loads(report)["checks"]}
    assert outcomes <= {"failed", "blocked"}
