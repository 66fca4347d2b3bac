"""HTTP protocol: authentication, media types, errors and discovery (RFC 7644 sections 2,
3.1, 3.12 and 4), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from scim_http_helpers import (
    ADMIN_TOKEN,
    GROUP_SCHEMA,
    SCIM_JSON,
    USER_SCHEMA,
    TestClient,
    assert_error,
    new_user,
)

from reference_server.settings import ServerSettings

LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer wrong-token", "Basic dXNlcjpwdw=="])
def test_missing_or_wrong_token_is_401_with_www_authenticate(
    app_client: TestClient, header: str | None
) -> None:
    """RFC 7644 section 2 / RFC 6750 section 3: 401 with a Bearer challenge."""
    headers = {"Authorization": header} if header else {}
    response = app_client.get("/Users", headers=headers)
    assert_error(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="scim"'


@pytest.mark.parametrize("path", ["/ServiceProviderConfig", "/Schemas", "/ResourceTypes"])
def test_discovery_needs_the_token(app_client: TestClient, path: str) -> None:
    assert_error(app_client.get(path), 401)


def test_service_provider_config_is_truthful(client: TestClient, settings: ServerSettings) -> None:
    """RFC 7643 section 5: what the server supports, with its limits."""
    response = client.get("/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"] == SCIM_JSON
    spc = response.json()
    assert spc["patch"] == {"supported": True}
    assert spc["bulk"] == {
        "supported": True,
        "maxOperations": settings.bulk_max_operations,
        "maxPayloadSize": settings.bulk_max_payload_size,
    }
    assert spc["filter"] == {"supported": True, "maxResults": settings.max_results}
    assert spc["sort"] == {"supported": True}
    assert spc["etag"] == {"supported": True}
    assert spc["changePassword"] == {"supported": True}
    assert [s["type"] for s in spc["authenticationSchemes"]] == ["oauthbearertoken"]
    assert spc["meta"]["location"] == "http://testserver/scim/v2/ServiceProviderConfig"


def test_resource_types_and_schemas_list_with_locations(client: TestClient) -> None:
    """RFC 7644 section 4: ListResponses; each item's meta.location points at itself."""
    types = client.get("/ResourceTypes").json()
    assert types["schemas"] == [LIST]
    by_id = {t["id"]: t for t in types["Resources"]}
    assert set(by_id) == {"User", "Group"}
    assert by_id["User"]["meta"]["location"] == "http://testserver/scim/v2/ResourceTypes/User"
    one = client.get("/ResourceTypes/Group")
    assert one.status_code == 200
    assert one.json()["endpoint"] == "/Groups"
    schemas = client.get("/Schemas").json()
    ids = {s["id"] for s in schemas["Resources"]}
    assert {USER_SCHEMA, GROUP_SCHEMA} <= ids
    user = client.get(f"/Schemas/{USER_SCHEMA}")
    assert user.status_code == 200
    assert user.json()["meta"]["location"] == f"http://testserver/scim/v2/Schemas/{USER_SCHEMA}"


@pytest.mark.parametrize("path", ["/Schemas/urn:nope", "/ResourceTypes/Nope"])
def test_unknown_discovery_id_is_404(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404)


@pytest.mark.parametrize("path", ["/Schemas", "/ResourceTypes", "/ServiceProviderConfig"])
def test_filter_on_discovery_is_403(client: TestClient, path: str) -> None:
    """RFC 7644 section 4: "If a 'filter' is provided, ... SHOULD respond with ... 403"."""
    assert_error(client.get(path, params={"filter": 'id eq "User"'}), 403)


def test_unknown_path_is_scim_404(client: TestClient) -> None:
    assert_error(client.get("/Widgets"), 404)


def test_unsupported_method_is_scim_405(client: TestClient) -> None:
    assert_error(client.put("/Users", json={}), 405)
    assert_error(client.delete("/ServiceProviderConfig"), 405)


@pytest.mark.parametrize(
    ("content", "scim_type"),
    [
        (b"{not json", "invalidSyntax"),
        (b"[1, 2]", "invalidSyntax"),
        (b'"text"', "invalidSyntax"),
        (b"", "invalidSyntax"),
        (b'{"userName": 1e999999}', "invalidSyntax"),
    ],
)
def test_malformed_body_is_400_invalid_syntax(
    client: TestClient, content: bytes, scim_type: str
) -> None:
    response = client.post("/Users", content=content, headers={"Content-Type": SCIM_JSON})
    assert_error(response, 400, scim_type)


@pytest.mark.parametrize(
    "content_type",
    ["application/scim+json", "application/json", "application/json; charset=utf-8", None],
)
def test_json_media_types_are_accepted(client: TestClient, content_type: str | None) -> None:
    """RFC 7644 section 3.1: application/scim+json, and application/json too."""
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"schemas": ["%s"], "userName": "mt"}' % USER_SCHEMA.encode()
    response = client.post("/Users", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"] == SCIM_JSON


def test_other_media_type_is_415(client: TestClient) -> None:
    response = client.post("/Users", content=b"userName=x", headers={"Content-Type": "text/plain"})
    assert_error(response, 415)


def test_body_over_max_payload_is_413(client: TestClient, settings: ServerSettings) -> None:
    big = b'{"userName": "' + b"x" * settings.bulk_max_payload_size + b'"}'
    assert_error(client.post("/Users", content=big, headers={"Content-Type": SCIM_JSON}), 413)


def test_entra_feature_flag_query_string_is_ignored(client: TestClient) -> None:
    """Entra appends `?aadOptscim062020` to the base URL; unknown parameters are ignored."""
    new_user(client, "entra.flag")
    response = client.get("/Users?aadOptscim062020&filter=userName+eq+%22entra.flag%22")
    assert response.status_code == 200
    assert response.json()["totalResults"] == 1


def test_me_is_501(client: TestClient) -> None:
    """RFC 7644 section 3.11: a provider without /Me "SHOULD respond with ... 501"."""
    assert_error(client.get("/Me"), 501)


def test_tenants_are_isolated(client: TestClient, app_client: TestClient) -> None:
    """A token decides the tenant: another organization's token sees none of this data."""
    created = new_user(client, "isolated.user")
    org = client.post(
        "http://testserver/admin/v1/organizations",
        json={"name": "other"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert org.status_code == 201
    issued = client.post(
        f"http://testserver/admin/v1/organizations/{org.json()['id']}/tokens",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert issued.status_code == 201
    other = {"Authorization": f"Bearer {issued.json()['token']}"}
    assert client.get("/Users", headers=other).json()["totalResults"] == 0
    assert_error(client.get(f"/Users/{created['id']}", headers=other), 404)
    assert_error(client.delete(f"/Users/{created['id']}", headers=other), 404)
    assert client.get(f"/Users/{created['id']}").status_code == 200


def test_unexpected_error_is_a_scim_500_without_internals(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A bug answers 500 with a SCIM Error body; the traceback goes to the log only."""
    from reference_server.endpoints import operations

    def broken(*_args: object) -> None:
        raise RuntimeError("internal-secret-detail")

    monkeypatch.setattr(operations, "search", broken)
    response = client.get("/Users")
    body = assert_error(response, 500)
    assert "internal-secret-detail" not in response.text
    assert "Traceback" not in response.text
    assert "logged" in body["detail"]
    assert "internal-secret-detail" in caplog.text


@pytest.mark.parametrize("path", ["/Users/", "/ServiceProviderConfig/", "/Schemas/"])
def test_a_trailing_slash_is_served_not_redirected(client: TestClient, path: str) -> None:
    """IdPs (and the harness) do not follow redirects: `/Users/?filter=...` is answered."""
    response = client.get(path)
    assert response.status_code == 200, response.text
