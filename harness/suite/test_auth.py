"""Authentication (RFC 7644 section 2): no token, a wrong token or a malformed header is
refused with 401 and a WWW-Authenticate challenge, changes nothing and discloses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from harness.checks import clause, expect_status
from harness.client import Response, ScimClient
from harness.discovery import Capabilities
from harness.verdicts import DataLeak, ErrorBodyInvalid, HeaderMismatch, StatusMismatch

WRONG_TOKEN = "scimtest-wrong-token-0000000000000000"  # noqa: S105 - deliberately invalid
ERROR_URN = "urn:ietf:params:scim:api:messages:2.0:Error"

# (label, `auth` argument, extra headers): the ways a request can lack a valid credential.
CREDENTIALS: dict[str, tuple[bool | str, dict[str, str]]] = {
    "no-token": (False, {}),
    "wrong-token": (WRONG_TOKEN, {}),
    "empty-bearer": (False, {"Authorization": "Bearer"}),
    "basic-scheme": (False, {"Authorization": "Basic c2NpbXRlc3Q6c2NpbXRlc3Q="}),
}


def _refused(response: Response, what: str) -> None:
    if 200 <= response.status < 300 or response.status in (304,):
        raise StatusMismatch(
            f"{what} was served without a valid credential",
            expected="401 Unauthorized",
            actual=str(response.status),
            exchanges=[response.exchange],
        )


@clause("rfc7644-2-must-2")
@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_listing_requires_a_valid_credential(
    scim: ScimClient, capabilities: Capabilities, credential: str, resource_type: str
) -> None:
    """RFC 7644 2: a request without a valid credential is refused, whatever is wrong with it."""
    auth, headers = CREDENTIALS[credential]
    path = capabilities.endpoint(resource_type)
    _refused(scim.get(path, auth=auth, headers=headers), f"GET {path} ({credential})")


@clause("rfc7644-3.12-should-1")
@pytest.mark.parametrize("credential", sorted(CREDENTIALS))
def test_missing_credential_is_401(
    scim: ScimClient, capabilities: Capabilities, credential: str
) -> None:
    """RFC 7644 3.12: a missing or invalid authorization header is answered 401 Unauthorized."""
    auth, headers = CREDENTIALS[credential]
    path = capabilities.endpoint("User")
    expect_status(scim.get(path, auth=auth, headers=headers), 401)


@clause("rfc7644-2-must-1")
def test_401_carries_www_authenticate(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 2: a 401 indicates the supported schemes in a WWW-Authenticate header."""
    response = scim.get(capabilities.endpoint("User"), auth=False)
    if response.status != 401:
        pytest.skip(f"the server answered {response.status}, not 401 (see the 401 checks)")
    challenge = response.headers.get("www-authenticate", "")
    if not challenge.strip():
        raise HeaderMismatch(
            "a 401 without a WWW-Authenticate header",
            expected='WWW-Authenticate: Bearer realm="..."',
            actual="(absent)",
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.12-must-1", "rfc7644-3.12-must-2")
def test_401_is_a_scim_error(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 3.12: the refusal carries a SCIM Error body whose status is "401"."""
    response = scim.get(capabilities.endpoint("User"), auth=False)
    _refused(response, "GET without a token")
    ok, body = response.parsed()
    schemas = body.get("schemas") if ok and isinstance(body, dict) else None
    status = body.get("status") if ok and isinstance(body, dict) else None
    if not isinstance(schemas, list) or ERROR_URN not in schemas or status != str(response.status):
        raise ErrorBodyInvalid(
            "the refusal is not a SCIM Error message",
            expected=f'{{"schemas": ["{ERROR_URN}"], "status": "{response.status}"}}',
            actual=response.text[:300] or "(empty body)",
            exchanges=[response.exchange],
        )


def _leaks(response: Response, secrets: list[str]) -> list[str]:
    text = response.text
    return [s for s in secrets if s and s in text]


@clause("rfc7644-2-must-2")
def test_refusal_discloses_no_resource_data(
    scim: ScimClient, capabilities: Capabilities, make_user: Callable[..., dict[str, Any]]
) -> None:
    """RFC 7644 2: a refused request reveals nothing about the resources it asked for."""
    user = make_user()
    endpoint = capabilities.endpoint("User")
    secrets = [user["id"], user["userName"], user.get("externalId", "")]
    for path in (endpoint, f"{endpoint}/{user['id']}"):
        response = scim.get(path, auth=WRONG_TOKEN)
        _refused(response, f"GET {path}")
        leaked = _leaks(response, secrets)
        if leaked:
            raise DataLeak(
                f"the refusal of GET {path} contains data of an existing User",
                expected="no resource data in the response",
                actual=leaked,
                exchanges=[response.exchange],
            )


@clause("rfc7644-2-must-2")
def test_unauthenticated_writes_change_nothing(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Callable[..., dict[str, Any]],
    read_back: Callable[..., dict[str, Any]],
) -> None:
    """RFC 7644 2: PUT, PATCH and DELETE without a credential are refused and have no effect."""
    user = make_user()
    path = f"{capabilities.endpoint('User')}/{user['id']}"
    changed = {k: v for k, v in user.items() if k not in ("id", "meta")}
    changed["displayName"] = "scimtest unauthenticated change"
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "scimtest patched"}],
    }
    _refused(scim.put(path, json=changed, auth=False), f"PUT {path}")
    _refused(scim.patch(path, json=patch, auth=False), f"PATCH {path}")
    _refused(scim.delete(path, auth=False), f"DELETE {path}")
    read_back(user, {"displayName": user.get("displayName"), "userName": user["userName"]})
