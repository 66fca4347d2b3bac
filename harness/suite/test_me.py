"""The /Me alias (RFC 7644 section 3.11) of the resource of the authenticated subject.

A server may not support /Me (it SHOULD then answer 501), redirect with 308 to the
subject's resource, or serve the request itself with a Location header naming that
resource. The suite sends writes to /Me only when GET /Me says it is not supported: a
served /Me aliases a subject the run did not create.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.checks import clause, expect_status
from harness.client import Response, ScimClient
from harness.discovery import Capabilities
from harness.verdicts import DataLeak, HeaderMismatch, ValueMismatch

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
WRONG_TOKEN = "scimtest-wrong-token-0000000000000000"  # noqa: S105 - deliberately invalid

Body = dict[str, Any]


def _served(response: Response) -> bool:
    """Whether /Me was answered as supported (processed, or redirected per 3.11)."""
    return 200 <= response.status < 300 or response.status in (301, 302, 303, 307, 308)


def _request(method: str, scim: ScimClient, user_body: Callable[..., Body]) -> Response:
    if method == "GET":
        return scim.get("/Me")
    if method == "DELETE":
        return scim.delete("/Me")
    if method == "PATCH":
        op = {"op": "replace", "path": "displayName", "value": "scimtest me"}
        return scim.patch("/Me", json={"schemas": [PATCH_OP], "Operations": [op]})
    return scim.request(method, "/Me", json=user_body())


@clause("rfc7644-3.11-should-1", "rfc7644-3.11-may-2")
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "PATCH", "DELETE"])
def test_unsupported_me_is_501(
    method: str,
    scim: ScimClient,
    capabilities: Capabilities,
    user_body: Callable[..., Body],
    created: Any,
) -> None:
    """RFC 7644 3.11: a server that does not support /Me SHOULD answer 501 Not Implemented."""
    probe = scim.get("/Me")
    if _served(probe):
        pytest.skip(f"the server supports /Me (GET answered {probe.status})")
    response = probe if method == "GET" else _request(method, scim, user_body)
    if method == "POST" and response.status == 201:
        location = response.location or ""
        created.add(capabilities.endpoint("User"), location.rstrip("/").rsplit("/", 1)[-1])
    if _served(response):
        pytest.skip(f"the server supports {method} /Me ({response.status})")
    expect_status(
        response,
        501,
        why=f"{method} /Me answered {response.status}: RFC 7644 3.11 asks a server without "
        "/Me support for 501 Not Implemented (a 404 reads as 'no such resource'; if /Me is "
        "supported but this token maps to no User, the RFC names no status for that case)",
    )


@clause("rfc7644-3.11-must-1", "rfc7644-3.11-may-3", "rfc7644-3.11-may-5")
def test_served_me_names_the_subject_location(scim: ScimClient) -> None:
    """RFC 7644 3.11: a served /Me carries the aliased resource's permanent Location."""
    response = scim.get("/Me")
    if not _served(response):
        pytest.skip(f"/Me is not supported (GET answered {response.status})")
    location = response.location
    if not location:
        raise HeaderMismatch(
            f"GET /Me answered {response.status} without a Location header",
            expected="Location: <the subject's resource URL>",
            actual="(absent)",
            exchanges=[response.exchange],
        )
    if 300 <= response.status < 400:
        target = expect_status(scim.follow(response), 200)
        body = target.json_object()
        if not body.get("id"):
            raise ValueMismatch(
                "the /Me redirect does not lead to a resource",
                expected="a resource with an id",
                actual=target.text[:300],
                exchanges=[response.exchange, target.exchange],
            )
        return
    body = response.json_object()
    aliased = expect_status(scim.get(location), 200).json_object()
    if not body.get("id") or aliased.get("id") != body.get("id"):
        raise ValueMismatch(
            "the Location of /Me is not the resource /Me returned",
            expected=body.get("id"),
            actual=aliased.get("id"),
            exchanges=[response.exchange],
        )


@clause("rfc7644-2-must-2", "rfc7644-3.11-may-1")
@pytest.mark.parametrize("credential", ["no-token", "wrong-token"])
def test_me_requires_a_valid_credential(credential: str, scim: ScimClient) -> None:
    """RFC 7644 2, 3.11: /Me without a valid credential serves nobody's resource."""
    auth: bool | str = False if credential == "no-token" else WRONG_TOKEN
    response = scim.get("/Me", auth=auth)
    if 200 <= response.status < 300:
        raise DataLeak(
            f"GET /Me ({credential}) was served",
            expected="401 Unauthorized (or 501 when /Me is not supported)",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
