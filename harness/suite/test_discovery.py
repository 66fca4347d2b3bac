"""Discovery (RFC 7644 section 4; RFC 7643 sections 5-7): what the server says about itself."""

from __future__ import annotations

from harness.checks import clause, expect_status
from harness.client import ScimClient

SPC_URN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"


@clause("rfc7644-4-must-1")
def test_service_provider_config_schema(scim: ScimClient) -> None:
    """RFC 7644 4: /ServiceProviderConfig answers with the ServiceProviderConfig schema URN."""
    body = expect_status(scim.get("/ServiceProviderConfig"), 200).json_object()
    assert SPC_URN in (body.get("schemas") or []), body.get("schemas")
