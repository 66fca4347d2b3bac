"""Media type, encoding and errors (RFC 7644 sections 3.1, 3.8, 3.12, 8.1).

Errors come back as SCIM Error messages with the HTTP status as a string; the server speaks
application/scim+json, accepts application/json, and round-trips UTF-8.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status, without_response_checks
from harness.client import ScimClient
from harness.discovery import Capabilities
from harness.verdicts import MediaTypeMismatch, StatusMismatch

SCIM_JSON = "application/scim+json"


@clause("rfc7644-3.12-must-1", "rfc7644-3.12-must-2", "rfc7644-3.2-should-3")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_unknown_id_is_a_scim_error(
    scim: ScimClient, capabilities: Capabilities, resource_type: str
) -> None:
    """RFC 7644 3.12: GET of an unknown id fails with a SCIM Error body carrying its status."""
    path = f"{capabilities.endpoint(resource_type)}/scimtest-{uuid.uuid4().hex}"
    response = scim.get(path)
    if 200 <= response.status < 300:
        raise StatusMismatch(f"GET {path} of an id nobody created succeeded",
                             expected="404", actual=str(response.status),
                             exchanges=[response.exchange])  # fmt: skip
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-3.12-should-1")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_unknown_id_is_404(
    scim: ScimClient, capabilities: Capabilities, resource_type: str
) -> None:
    """RFC 7644 3.12: an unknown resource is answered 404 Not Found."""
    path = f"{capabilities.endpoint(resource_type)}/scimtest-{uuid.uuid4().hex}"
    expect_scim_error(scim.get(path), 404)


@clause("rfc7644-3.12-should-1")
def test_unknown_endpoint_is_404(scim: ScimClient) -> None:
    """RFC 7644 3.12: a request to an endpoint that does not exist is answered 404."""
    expect_status(scim.get(f"/ScimtestNoSuchEndpoint{uuid.uuid4().hex[:8]}"), 404)


MALFORMED = {
    "truncated": b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ',
    "not-json": b"userName=scimtest",
    "trailing-garbage": b'{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]} }',
}


@clause("rfc7644-3.12-must-1", "rfc7644-3.2-should-3", keyword="MUST")
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_malformed_json_is_refused(
    scim: ScimClient, capabilities: Capabilities, shape: str
) -> None:
    """RFC 7644 3.12: a body that is not JSON is refused with a 4xx SCIM Error, creating nothing."""
    response = scim.post(capabilities.endpoint("User"), content=MALFORMED[shape])
    if response.status < 400:
        raise StatusMismatch(
            "a malformed body was accepted",
            expected="400 invalidSyntax",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-3.12-should-1")
@pytest.mark.parametrize("shape", sorted(MALFORMED))
def test_malformed_json_is_400_invalid_syntax(
    scim: ScimClient, capabilities: Capabilities, shape: str
) -> None:
    """RFC 7644 3.12: malformed request bodies are 400 with scimType "invalidSyntax"."""
    response = scim.post(capabilities.endpoint("User"), content=MALFORMED[shape])
    expect_scim_error(response, 400, "invalidSyntax")


@clause("rfc7644-8.1-should-1")
@without_response_checks("media_type")
@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/Users"])
def test_responses_use_the_scim_media_type(scim: ScimClient, path: str) -> None:
    """RFC 7644 8.1: SCIM responses are labelled application/scim+json."""
    response = expect_status(scim.get(path), 200)
    if response.content_type != SCIM_JSON:
        raise MediaTypeMismatch(
            f"GET {path} is labelled {response.content_type or '(nothing)'}",
            expected=f"Content-Type: {SCIM_JSON}",
            actual=f"Content-Type: {response.headers.get('content-type', '(absent)')}",
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.8-must-4")
def test_accepts_accept_scim_json(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 3.8: the server supports "Accept: application/scim+json"."""
    response = scim.get(capabilities.endpoint("User"), headers={"Accept": SCIM_JSON})
    expect_status(response, 200).json_object()


@clause("rfc7644-3.8-must-4", keyword="SHOULD")
def test_accepts_accept_json(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 3.8: the server SHOULD support "Accept: application/json" as well."""
    response = scim.get(capabilities.endpoint("User"), headers={"Accept": "application/json"})
    expect_status(response, 200).json_object()


@clause("rfc7644-3.8-must-1", keyword="SHOULD")
def test_accepts_content_type_json(
    scim: ScimClient,
    capabilities: Capabilities,
    user_body: Callable[..., dict[str, Any]],
    created: Any,
) -> None:
    """RFC 7644 3.8: a JSON body sent as "Content-Type: application/json" is accepted."""
    endpoint = capabilities.endpoint("User")
    response = scim.post(endpoint, content=json.dumps(user_body()).encode(),
                         headers={"Content-Type": "application/json"})  # fmt: skip
    if response.status == 201:
        created.add(endpoint, response.json_object())
    expect_status(response, 201)


@clause("rfc7644-3.8-must-1", "rfc7644-3.8-must-2")
def test_utf8_round_trip(
    make_user: Callable[..., dict[str, Any]], read_back: Callable[..., dict[str, Any]]
) -> None:
    """RFC 7644 3.8: UTF-8 is the encoding: non-ASCII values come back exactly as sent."""
    name = {"givenName": "Zoë", "familyName": "Ångström-山田", "formatted": "Zoë Ångström-山田"}
    user = make_user(name=name, displayName="Zoë Ångström-山田 ✓")
    read_back(user, {"name": name, "displayName": "Zoë Ångström-山田 ✓"})
