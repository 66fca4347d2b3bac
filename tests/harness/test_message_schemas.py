"""The RFC 7643/7644 message JSON Schemas: valid draft 2020-12, accept the RFCs' own examples,
reject the defects they exist to catch, and never reject what the RFC allows."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

SCHEMA_NAMES = (
    "User", "EnterpriseUser", "Group", "ListResponse", "PatchOp", "Error",
    "ServiceProviderConfig", "ResourceType", "Schema", "SearchRequest", "BulkRequest",
    "BulkResponse",
)  # fmt: skip
RFC_SCHEMAS_JSON = Path(__file__).resolve().parents[2] / "docs" / "rfc" / "rfc7643-schemas.json"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _load(name: str) -> dict[str, Any]:
    source = resources.files("harness.validation").joinpath("schemas", f"{name}.json")
    schema: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
    return schema


def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_load(name))


def _errors(name: str, body: Any) -> list[str]:
    return [e.message for e in _validator(name).iter_errors(body)]


# RFC 7643 section 8.3: the certificate, its lines (as wrapped in the RFC) rejoined.
X509 = "".join(
    [
        "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx",
        "EzARBgNVBAgMCkNhbGlmb3JuaWExFDASBgNVBAoMC2V4YW1wbGUuY29tMRQwEgYD",
        "VQQDDAtleGFtcGxlLmNvbTAeFw0xMTEwMjIwNjI0MzFaFw0xMjEwMDQwNjI0MzFa",
        "MH8xCzAJBgNVBAYTAlVTMRMwEQYDVQQIDApDYWxpZm9ybmlhMRQwEgYDVQQKDAtl",
        "eGFtcGxlLmNvbTEhMB8GA1UEAwwYTXMuIEJhcmJhcmEgSiBKZW5zZW4gSUlJMSIw",
        "IAYJKoZIhvcNAQkBFhNiamVuc2VuQGV4YW1wbGUuY29tMIIBIjANBgkqhkiG9w0B",
        "AQEFAAOCAQ8AMIIBCgKCAQEA7Kr+Dcds/JQ5GwejJFcBIP682X3xpjis56AK02bc",
        "1FLgzdLI8auoR+cC9/Vrh5t66HkQIOdA4unHh0AaZ4xL5PhVbXIPMB5vAPKpzz5i",
        "PSi8xO8SL7I7SDhcBVJhqVqr3HgllEG6UClDdHO7nkLuwXq8HcISKkbT5WFTVfFZ",
        "zidPl8HZ7DhXkZIRtJwBweq4bvm3hM1Os7UQH05ZS6cVDgweKNwdLLrT51ikSQG3",
        "DYrl+ft781UQRIqxgwqCfXEuDiinPh0kkvIi5jivVu1Z9QiwlYEdRbLJ4zJQBmDr",
        "SGTMYn4lRc2HgHO4DqB/bnMVorHB0CC6AV1QoFK4GPe1LwIDAQABo3sweTAJBgNV",
        "HRMEAjAAMCwGCWCGSAGG+EIBDQQfFh1PcGVuU1NMIEdlbmVyYXRlZCBDZXJ0aWZp",
        "Y2F0ZTAdBgNVHQ4EFgQU8pD0U0vsZIsaA16lL8En8bx0F/gwHwYDVR0jBBgwFoAU",
        "dGeKitcaF7gnzsNwDx708kqaVt0wDQYJKoZIhvcNAQEFBQADgYEAA81SsFnOdYJt",
        "Ng5Tcq+/ByEDrBgnusx0jloUhByPMEVkoMZ3J7j1ZgI8rAbOkNngX8+pKfTiDz1R",
        "C4+dx8oU6Za+4NJXUjlL5CvV6BEYb1+QAEJwitTVvxB/A67g42/vzgAtoRUeDov1",
        "+GFiBZ+GNF/cAYKcMtGcrs2i97ZkJMo=",
    ]
)


@dataclass(frozen=True)
class Example:
    """A message body copied from the RFC text (JSON syntax slips of the RFC mended)."""

    name: str
    schema: str
    source: str
    body: Any
    note: str = ""


RFC_EXAMPLES: list[Example] = [
    Example(
        "minimal-user",
        "User",
        "RFC 7643 section 8.1, Figure 3",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen@example.com",
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": 'W/"3694e05e9dff590"',
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            },
        },
    ),
    Example(
        "enterprise-user",
        "User",
        "RFC 7643 section 8.3, Figure 5",
        {
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:User",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            ],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "701984",
            "userName": "bjensen@example.com",
            "name": {
                "formatted": "Ms. Barbara J Jensen, III",
                "familyName": "Jensen",
                "givenName": "Barbara",
                "middleName": "Jane",
                "honorificPrefix": "Ms.",
                "honorificSuffix": "III",
            },
            "displayName": "Babs Jensen",
            "nickName": "Babs",
            "profileUrl": "https://login.example.com/bjensen",
            "emails": [
                {"value": "bjensen@example.com", "type": "work", "primary": True},
                {"value": "babs@jensen.org", "type": "home"},
            ],
            "addresses": [
                {
                    "streetAddress": "100 Universal City Plaza",
                    "locality": "Hollywood",
                    "region": "CA",
                    "postalCode": "91608",
                    "country": "USA",
                    "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA",
                    "type": "work",
                    "primary": True,
                },
                {
                    "streetAddress": "456 Hollywood Blvd",
                    "locality": "Hollywood",
                    "region": "CA",
                    "postalCode": "91608",
                    "country": "USA",
                    "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA",
                    "type": "home",
                },
            ],
            "phoneNumbers": [
                {"value": "555-555-5555", "type": "work"},
                {"value": "555-555-4444", "type": "mobile"},
            ],
            "ims": [{"value": "someaimhandle", "type": "aim"}],
            "photos": [
                {
                    "value": "https://photos.example.com/profilephoto/72930000000Ccne/F",
                    "type": "photo",
                },
                {
                    "value": "https://photos.example.com/profilephoto/72930000000Ccne/T",
                    "type": "thumbnail",
                },
            ],
            "userType": "Employee",
            "title": "Tour Guide",
            "preferredLanguage": "en-US",
            "locale": "en-US",
            "timezone": "America/Los_Angeles",
            "active": True,
            "groups": [
                {
                    "value": "e9e30dba-f08f-4109-8486-d5c6a331660a",
                    "$ref": "../Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                    "display": "Tour Guides",
                },
                {
                    "value": "fc348aa8-3835-40eb-a20b-c726e15c55b5",
                    "$ref": "../Groups/fc348aa8-3835-40eb-a20b-c726e15c55b5",
                    "display": "Employees",
                },
                {
                    "value": "71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
                    "$ref": "../Groups/71ddacd2-a8e7-49b8-a5db-ae50d0a5bfd7",
                    "display": "US Employees",
                },
            ],
            "x509Certificates": [{"value": X509}],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
                "employeeNumber": "701984",
                "costCenter": "4130",
                "organization": "Universal Studios",
                "division": "Theme Park",
                "department": "Tour Operations",
                "manager": {
                    "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                    "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                    "displayName": "John Smith",
                },
            },
            "meta": {
                "resourceType": "User",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": 'W/"3694e05e9dff591"',
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
            },
        },
        note="base64 lines of x509Certificates rejoined; 'password' dropped (returned "
        "'never', RFC 7643 section 4.1.1, so a response cannot carry it)",
    ),
    Example(
        "enterprise-extension",
        "EnterpriseUser",
        "RFC 7643 section 8.3, Figure 5",
        {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {
                "value": "26118915-6090-4610-87e4-49d8ca9f808d",
                "$ref": "../Users/26118915-6090-4610-87e4-49d8ca9f808d",
                "displayName": "John Smith",
            },
        },
    ),
    Example(
        "group",
        "Group",
        "RFC 7643 section 8.4, Figure 6",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
            "displayName": "Tour Guides",
            "members": [
                {
                    "value": "2819c223-7f76-453a-919d-413861904646",
                    "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                    "display": "Babs Jensen",
                },
                {
                    "value": "902c246b-6245-4190-8e05-00816be7344a",
                    "$ref": "https://example.com/v2/Users/902c246b-6245-4190-8e05-00816be7344a",
                    "display": "Mandy Pepperidge",
                },
            ],
            "meta": {
                "resourceType": "Group",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": 'W/"3694e05e9dff592"',
                "location": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
            },
        },
    ),
    Example(
        "service-provider-config",
        "ServiceProviderConfig",
        "RFC 7643 section 8.5, Figure 7",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "http://example.com/help/scim.html",
            "patch": {"supported": True},
            "bulk": {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576},
            "filter": {"supported": True, "maxResults": 200},
            "changePassword": {"supported": True},
            "sort": {"supported": True},
            "etag": {"supported": True},
            "authenticationSchemes": [
                {
                    "name": "OAuth Bearer Token",
                    "description": "Authentication scheme using the OAuth Bearer Token Standard",
                    "specUri": "http://www.rfc-editor.org/info/rfc6750",
                    "documentationUri": "http://example.com/help/oauth.html",
                    "type": "oauthbearertoken",
                    "primary": True,
                },
                {
                    "name": "HTTP Basic",
                    "description": "Authentication scheme using the HTTP Basic Standard",
                    "specUri": "http://www.rfc-editor.org/info/rfc2617",
                    "documentationUri": "http://example.com/help/httpBasic.html",
                    "type": "httpbasic",
                },
            ],
            "meta": {
                "location": "https://example.com/v2/ServiceProviderConfig",
                "resourceType": "ServiceProviderConfig",
                "created": "2010-01-23T04:56:22Z",
                "lastModified": "2011-05-13T04:42:34Z",
                "version": 'W/"3694e05e9dff594"',
            },
        },
    ),
    Example(
        "resource-type-user",
        "ResourceType",
        "RFC 7643 section 8.6, Figure 8",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "User Account",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
            "schemaExtensions": [
                {
                    "schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                    "required": True,
                }
            ],
            "meta": {
                "location": "https://example.com/v2/ResourceTypes/User",
                "resourceType": "ResourceType",
            },
        },
    ),
    Example(
        "resource-type-group",
        "ResourceType",
        "RFC 7643 section 8.6, Figure 8",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Group",
            "schema": "urn:ietf:params:scim:schemas:core:2.0:Group",
            "meta": {
                "location": "https://example.com/v2/ResourceTypes/Group",
                "resourceType": "ResourceType",
            },
        },
    ),
    Example(
        "create-response",
        "User",
        "RFC 7644 section 3.3",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "externalId": "bjensen",
            "meta": {
                "resourceType": "User",
                "created": "2011-08-01T18:29:49.793Z",
                "lastModified": "2011-08-01T18:29:49.793Z",
                "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "version": 'W/"f250dd84f0671c3"',
            },
            "name": {
                "formatted": "Ms. Barbara J Jensen III",
                "familyName": "Jensen",
                "givenName": "Barbara",
            },
            "userName": "bjensen",
            "phoneNumbers": [{"value": "555-555-8377", "type": "work"}],
            "emails": [{"value": "bjensen@example.com", "type": "work"}],
        },
    ),
    Example(
        "query-response",
        "ListResponse",
        "RFC 7644 section 3.4.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2,
            "Resources": [
                {"id": "2819c223-7f76-453a-919d-413861904646", "userName": "bjensen"},
                {"id": "c75ad752-64ae-4823-840d-ffa80929976c", "userName": "jsmith"},
            ],
        },
    ),
    Example(
        "search-request",
        "SearchRequest",
        "RFC 7644 section 3.4.3, Figure 4",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "attributes": ["displayName", "userName"],
            "filter": 'displayName sw "smith"',
            "startIndex": 1,
            "count": 10,
        },
    ),
    Example(
        "search-response",
        "ListResponse",
        "RFC 7644 section 3.4.3, Figure 5",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 100,
            "itemsPerPage": 10,
            "startIndex": 1,
            "Resources": [
                {
                    "id": "2819c223-7f76-413861904646",
                    "userName": "jsmith",
                    "displayName": "Smith, James",
                },
                {"id": "c8596b90-7539-4f20968d1908", "displayName": "Smith Family"},
            ],
        },
        note="the '...' placeholder removed",
    ),
    Example(
        "patch-add-member",
        "PatchOp",
        "RFC 7644 section 3.5.2.1",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {
                    "op": "add",
                    "path": "members",
                    "value": [
                        {
                            "display": "Babs Jensen",
                            "$ref": "https://example.com/v2/Users/2819c223...413861904646",
                            "value": "2819c223-7f76-453a-919d-413861904646",
                        }
                    ],
                }
            ],
        },
    ),
    Example(
        "patch-remove-member",
        "PatchOp",
        "RFC 7644 section 3.5.2.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": 'members[value eq "2819c223-7f76-...413861904646"]'}
            ],
        },
    ),
    Example(
        "patch-remove-all-members",
        "PatchOp",
        "RFC 7644 section 3.5.2.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "remove", "path": "members"}],
        },
    ),
    Example(
        "patch-remove-and-add",
        "PatchOp",
        "RFC 7644 section 3.5.2.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "remove", "path": 'members[value eq"2819c223...919d-413861904646"]'},
                {
                    "op": "add",
                    "path": "members",
                    "value": [
                        {
                            "display": "James Smith",
                            "$ref": "https://example.com/v2/Users/08e1d05d...473d93df9210",
                            "value": "08e1d05d...473d93df9210",
                        }
                    ],
                },
            ],
        },
    ),
    Example(
        "patch-replace-address",
        "PatchOp",
        "RFC 7644 section 3.5.2.3",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {
                    "op": "replace",
                    "path": 'addresses[type eq "work"]',
                    "value": {
                        "type": "work",
                        "streetAddress": "911 Universal City Plaza",
                        "locality": "Hollywood",
                        "region": "CA",
                        "postalCode": "91608",
                        "country": "US",
                        "formatted": "911 Universal City Plaza\nHollywood, CA 91608 US",
                        "primary": True,
                    },
                }
            ],
        },
    ),
    Example(
        "patch-replace-sub-attribute",
        "PatchOp",
        "RFC 7644 section 3.5.2.3",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {
                    "op": "replace",
                    "path": 'addresses[type eq "work"].streetAddress',
                    "value": "1010 Broadway Ave",
                }
            ],
        },
    ),
    Example(
        "error-not-found",
        "Error",
        "RFC 7644 section 3.6",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "detail": "Resource 2819c223-7f76-453a-919d-413861904646 not found",
            "status": "404",
        },
    ),
    Example(
        "bulk-request-circular",
        "BulkRequest",
        "RFC 7644 section 3.7.1",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "qwerty",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Group A",
                        "members": [{"type": "Group", "value": "bulkId:ytrewq"}],
                    },
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "ytrewq",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Group B",
                        "members": [{"type": "Group", "value": "bulkId:qwerty"}],
                    },
                },
            ],
        },
    ),
    Example(
        "bulk-circular-result",
        "ListResponse",
        "RFC 7644 section 3.7.1",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 2,
            "Resources": [
                {
                    "id": "c3a26dd3-27a0-4dec-a2ac-ce211e105f97",
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Group A",
                    "meta": {
                        "resourceType": "Group",
                        "created": "2011-08-01T18:29:49.793Z",
                        "lastModified": "2011-08-01T18:29:51.135Z",
                        "location": "https://example.com/v2/Groups/c3a26dd3-27a0-4dec-a2ac-ce211e105f97",
                        "version": 'W/"mvwNGaxB5SDq074p"',
                    },
                    "members": [
                        {
                            "value": "6c5bb468-14b2-4183-baf2-06d523e03bd3",
                            "$ref": "https://example.com/v2/Groups/6c5bb468-14b2-4183-baf2-06d523e03bd3",
                            "type": "Group",
                        }
                    ],
                },
                {
                    "id": "6c5bb468-14b2-4183-baf2-06d523e03bd3",
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Group B",
                    "meta": {
                        "resourceType": "Group",
                        "created": "2011-08-01T18:29:50.873Z",
                        "lastModified": "2011-08-01T18:29:50.873Z",
                        "location": "https://example.com/v2/Groups/6c5bb468-14b2-4183-baf2-06d523e03bd3",
                        "version": 'W/"wGB85s2QJMjiNnuI"',
                    },
                    "members": [
                        {
                            "value": "c3a26dd3-27a0-4dec-a2ac-ce211e105f97",
                            "$ref": "https://example.com/v2/Groups/c3a26dd3-27a0-4dec-a2ac-ce211e105f97",
                            "type": "Group",
                        }
                    ],
                },
            ],
        },
    ),
    Example(
        "bulk-request-bulkid",
        "BulkRequest",
        "RFC 7644 section 3.7.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": [
                {
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": "qwerty",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": "Alice",
                    },
                },
                {
                    "method": "POST",
                    "path": "/Groups",
                    "bulkId": "ytrewq",
                    "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Tour Guides",
                        "members": [{"type": "User", "value": "bulkId:qwerty"}],
                    },
                },
            ],
        },
    ),
    Example(
        "bulk-response-status-code",
        "BulkResponse",
        "RFC 7644 section 3.7.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": [
                {
                    "location": "https://example.com/v2/Users/92b725cd-9465-4e7d-8c16-01f8e146b87a",
                    "method": "POST",
                    "bulkId": "qwerty",
                    "version": 'W/"4weymrEsh5O6cAEK"',
                    "status": {"code": "201"},
                },
                {
                    "location": "https://example.com/v2/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                    "method": "POST",
                    "bulkId": "ytrewq",
                    "version": 'W/"lha5bbazU3fNvfe5"',
                    "status": {"code": "201"},
                },
            ],
        },
    ),
    Example(
        "bulk-response",
        "BulkResponse",
        "RFC 7644 section 3.7.3",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": [
                {
                    "location": "https://example.com/v2/Users/92b725cd-9465-4e7d-8c16-01f8e146b87a",
                    "method": "POST",
                    "bulkId": "qwerty",
                    "version": 'W/"oY4m4wn58tkVjJxK"',
                    "status": "201",
                },
                {
                    "location": "https://example.com/v2/Users/b7c14771-226c-4d05-8860-134711653041",
                    "method": "PUT",
                    "version": 'W/"huJj29dMNgu3WXPD"',
                    "status": "200",
                },
                {
                    "location": "https://example.com/v2/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
                    "method": "PATCH",
                    "version": 'W/"huJj29dMNgu3WXPD"',
                    "status": "200",
                },
                {
                    "location": "https://example.com/v2/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                    "method": "DELETE",
                    "status": "204",
                },
            ],
        },
    ),
    Example(
        "bulk-response-errors",
        "BulkResponse",
        "RFC 7644 section 3.7.3",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
            "Operations": [
                {
                    "method": "POST",
                    "bulkId": "qwerty",
                    "status": "400",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "scimType": "invalidSyntax",
                        "detail": "Request is unparsable, syntactically "
                        "incorrect, or violates schema.",
                        "status": "400",
                    },
                },
                {
                    "location": "https://example.com/v2/Users/b7c14771-226c-4d05-8860-134711653041",
                    "method": "PUT",
                    "status": "412",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "detail": "Failed to update.  Resource changed on the server.",
                        "status": "412",
                    },
                },
                {
                    "location": "https://example.com/v2/Users/5d8d29d3-342c-4b5f-8683-a3cb6763ffcc",
                    "method": "PATCH",
                    "status": "412",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "detail": "Failed to update.  Resource changed on the server.",
                        "status": "412",
                    },
                },
                {
                    "location": "https://example.com/v2/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                    "method": "DELETE",
                    "status": "404",
                    "response": {
                        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                        "detail": "Resource does not exist.",
                        "status": "404",
                    },
                },
            ],
        },
        note='the comma missing after "invalidSyntax" restored',
    ),
    Example(
        "error-payload-too-large",
        "Error",
        "RFC 7644 section 3.7.4",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": "413",
            "detail": "The size of the bulk operation exceeds the maxPayloadSize (1048576).",
        },
    ),
    Example(
        "user-attributes-response",
        "User",
        "RFC 7644 section 3.9",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223-7f76-453a-919d-413861904646",
            "userName": "bjensen",
        },
    ),
    Example(
        "error-mutability",
        "Error",
        "RFC 7644 section 3.12",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "scimType": "mutability",
            "detail": "Attribute 'id' is readOnly",
            "status": "400",
        },
        note='the comma missing after "mutability" restored',
    ),
    Example(
        "resource-types-list",
        "ListResponse",
        "RFC 7644 section 4, Figure 9",
        {
            "totalResults": 2,
            "itemsPerPage": 10,
            "startIndex": 1,
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "Resources": [
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                    "id": "User",
                    "name": "User",
                    "endpoint": "/Users",
                    "description": "User Account",
                    "schema": "urn:ietf:params:scim:schemas:core:2.0:User",
                    "schemaExtensions": [
                        {
                            "schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                            "required": True,
                        }
                    ],
                    "meta": {
                        "location": "https://example.com/v2/ResourceTypes/User",
                        "resourceType": "ResourceType",
                    },
                },
                {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
                    "id": "Group",
                    "name": "Group",
                    "endpoint": "/Groups",
                    "description": "Group",
                    "schema": "urn:ietf:params:scim:schemas:core:2.0:Group",
                    "meta": {
                        "location": "https://example.com/v2/ResourceTypes/Group",
                        "resourceType": "ResourceType",
                    },
                },
            ],
        },
    ),
    Example(
        "error-sensitive",
        "Error",
        "RFC 7644 section 7.5.2",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "detail": "Query filter involving 'name' is restricted or confidential",
            "scimType": "sensitive",
            "status": "404",
        },
    ),
    Example(
        "group-schema",
        "Schema",
        "RFC 7643 section 8.7.1, Figure 9",
        {
            "id": "urn:ietf:params:scim:schemas:core:2.0:Group",
            "name": "Group",
            "description": "Group",
            "attributes": [
                {
                    "name": "displayName",
                    "type": "string",
                    "multiValued": False,
                    "description": "A human-readable name for the Group. REQUIRED.",
                    "required": False,
                    "caseExact": False,
                    "mutability": "readWrite",
                    "returned": "default",
                    "uniqueness": "none",
                },
                {
                    "name": "members",
                    "type": "complex",
                    "multiValued": True,
                    "description": "A list of members of the Group.",
                    "required": False,
                    "subAttributes": [
                        {
                            "name": "value",
                            "type": "string",
                            "multiValued": False,
                            "description": "Identifier of the member of this Group.",
                            "required": False,
                            "caseExact": False,
                            "mutability": "immutable",
                            "returned": "default",
                            "uniqueness": "none",
                        },
                        {
                            "name": "$ref",
                            "type": "reference",
                            "referenceTypes": ["User", "Group"],
                            "multiValued": False,
                            "description": "The URI corresponding to a SCIM "
                            "resource that is a member of this "
                            "Group.",
                            "required": False,
                            "caseExact": False,
                            "mutability": "immutable",
                            "returned": "default",
                            "uniqueness": "none",
                        },
                        {
                            "name": "type",
                            "type": "string",
                            "multiValued": False,
                            "description": "A label indicating the type of "
                            "resource, e.g., 'User' or 'Group'.",
                            "required": False,
                            "caseExact": False,
                            "canonicalValues": ["User", "Group"],
                            "mutability": "immutable",
                            "returned": "default",
                            "uniqueness": "none",
                        },
                    ],
                    "mutability": "readWrite",
                    "returned": "default",
                },
            ],
            "meta": {
                "resourceType": "Schema",
                "location": "/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group",
            },
        },
    ),
]


def _example(name: str) -> Any:
    return copy.deepcopy(next(e.body for e in RFC_EXAMPLES if e.name == name))


# --- the schema files themselves -------------------------------------------------------


def test_every_message_has_a_schema_file() -> None:
    shipped = {
        p.name.removesuffix(".json")
        for p in resources.files("harness.validation").joinpath("schemas").iterdir()
        if p.name.endswith(".json")
    }
    assert shipped == set(SCHEMA_NAMES)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12_with_id_and_title(name: str) -> None:
    schema = _load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}.json")
    assert schema["title"].strip()
    assert "case-insensitive" in schema["$comment"]


def test_schema_ids_are_unique() -> None:
    ids = [_load(name)["$id"] for name in SCHEMA_NAMES]
    assert len(set(ids)) == len(ids)


def test_every_schema_has_an_rfc_example() -> None:
    assert {e.schema for e in RFC_EXAMPLES} == set(SCHEMA_NAMES)


# --- the RFCs' own examples validate ---------------------------------------------------


@pytest.mark.parametrize("example", RFC_EXAMPLES, ids=lambda e: e.name)
def test_rfc_example_validates(example: Example) -> None:
    assert _errors(example.schema, example.body) == []


def test_resources_of_the_rfc_resource_type_list_validate_one_by_one() -> None:
    listing = _example("resource-types-list")
    assert len(listing["Resources"]) == 2
    for resource_type in listing["Resources"]:
        assert _errors("ResourceType", resource_type) == []


@pytest.mark.skipif(
    not RFC_SCHEMAS_JSON.is_file(), reason=f"{RFC_SCHEMAS_JSON} (RFC 7643 section 8.7) not found"
)
def test_every_rfc_schema_representation_validates() -> None:
    document = json.loads(RFC_SCHEMAS_JSON.read_text(encoding="utf-8"))
    representations = [
        *document["section_8_7_1_resource_schemas"],
        *document["section_8_7_2_service_provider_schemas"],
    ]
    assert len(representations) >= 6
    for representation in representations:
        assert _errors("Schema", representation) == [], representation["id"]


# --- defects are caught ----------------------------------------------------------------

Mutation = Callable[[Any], object]


def _drop(*path: str | int) -> Mutation:
    def mutate(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        del body[path[-1]]

    return mutate


def _set(value: Any, *path: str | int) -> Mutation:
    def mutate(body: Any) -> None:
        for key in path[:-1]:
            body = body[key]
        body[path[-1]] = value

    return mutate


CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
DEFECTS: list[tuple[str, str, str, Mutation]] = [
    ("user without id", "User", "minimal-user", _drop("id")),
    ("user with empty id", "User", "minimal-user", _set("", "id")),
    ("user id containing bulkId", "User", "minimal-user", _set("bulkId:qwerty", "id")),
    ("user without schemas", "User", "minimal-user", _drop("schemas")),
    ("user with the Group URN", "User", "minimal-user", _set([CORE_GROUP], "schemas")),
    ("schemas as a string", "User", "minimal-user", _set(CORE_GROUP, "schemas")),
    (
        "duplicate schemas",
        "User",
        "minimal-user",
        _set(["urn:ietf:params:scim:schemas:core:2.0:User"] * 2, "schemas"),
    ),
    ("password returned", "User", "minimal-user", _set("t1meMa$heen", "password")),
    ("two primary emails", "User", "enterprise-user", _set(True, "emails", 1, "primary")),
    ("emails not an array", "User", "enterprise-user", _set({"value": "a@b.c"}, "emails")),
    ("active as a string", "User", "enterprise-user", _set("True", "active")),
    ("created without time", "User", "minimal-user", _set("2010-01-23", "meta", "created")),
    ("lastModified not a date", "User", "minimal-user", _set("yesterday", "meta", "lastModified")),
    ("meta not an object", "User", "minimal-user", _set("User", "meta")),
    (
        "x509 value not base64",
        "User",
        "enterprise-user",
        _set("not base64!", "x509Certificates", 0, "value"),
    ),
    (
        "manager not an object",
        "EnterpriseUser",
        "enterprise-extension",
        _set("26118915", "manager"),
    ),
    ("group without id", "Group", "group", _drop("id")),
    ("members not an array", "Group", "group", _set({"value": "x"}, "members")),
    ("status as a number", "Error", "error-not-found", _set(404, "status")),
    ("status not a code", "Error", "error-not-found", _set("Not Found", "status")),
    ("error without status", "Error", "error-not-found", _drop("status")),
    ("scimType outside Table 9", "Error", "error-mutability", _set("badFilter", "scimType")),
    (
        "error with the ListResponse URN",
        "Error",
        "error-not-found",
        _set(["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "schemas"),
    ),
    ("Resources not an array", "ListResponse", "query-response", _set({}, "Resources")),
    (
        "Resources missing while totalResults > 0",
        "ListResponse",
        "query-response",
        _drop("Resources"),
    ),
    ("totalResults as a string", "ListResponse", "query-response", _set("2", "totalResults")),
    ("totalResults missing", "ListResponse", "query-response", _drop("totalResults")),
    ("startIndex 0", "ListResponse", "search-response", _set(0, "startIndex")),
    (
        "op outside add/remove/replace",
        "PatchOp",
        "patch-add-member",
        _set("delete", "Operations", 0, "op"),
    ),
    ("no operations", "PatchOp", "patch-add-member", _set([], "Operations")),
    ("remove without path", "PatchOp", "patch-remove-member", _drop("Operations", 0, "path")),
    ("add without value", "PatchOp", "patch-add-member", _drop("Operations", 0, "value")),
    ("patch without schemas", "PatchOp", "patch-add-member", _drop("schemas")),
    (
        "attributes and excludedAttributes",
        "SearchRequest",
        "search-request",
        _set(["emails"], "excludedAttributes"),
    ),
    ("sortOrder outside the two", "SearchRequest", "search-request", _set("up", "sortOrder")),
    ("count as a string", "SearchRequest", "search-request", _set("10", "count")),
    ("POST without bulkId", "BulkRequest", "bulk-request-bulkid", _drop("Operations", 0, "bulkId")),
    ("POST without data", "BulkRequest", "bulk-request-bulkid", _drop("Operations", 0, "data")),
    ("method GET", "BulkRequest", "bulk-request-bulkid", _set("GET", "Operations", 0, "method")),
    (
        "operation without path",
        "BulkRequest",
        "bulk-request-bulkid",
        _drop("Operations", 0, "path"),
    ),
    (
        "failed operation without response",
        "BulkResponse",
        "bulk-response-errors",
        _drop("Operations", 0, "response"),
    ),
    (
        "error response with numeric status",
        "BulkResponse",
        "bulk-response-errors",
        _set(400, "Operations", 0, "response", "status"),
    ),
    (
        "PUT result without location",
        "BulkResponse",
        "bulk-response",
        _drop("Operations", 1, "location"),
    ),
    (
        "POST success without location",
        "BulkResponse",
        "bulk-response",
        _drop("Operations", 0, "location"),
    ),
    ("Operations not an array", "BulkResponse", "bulk-response", _set({}, "Operations")),
    (
        "bulk without maxOperations",
        "ServiceProviderConfig",
        "service-provider-config",
        _drop("bulk", "maxOperations"),
    ),
    (
        "patch.supported as a string",
        "ServiceProviderConfig",
        "service-provider-config",
        _set("true", "patch", "supported"),
    ),
    (
        "no authenticationSchemes",
        "ServiceProviderConfig",
        "service-provider-config",
        _drop("authenticationSchemes"),
    ),
    ("resource type without endpoint", "ResourceType", "resource-type-user", _drop("endpoint")),
    (
        "extension without required",
        "ResourceType",
        "resource-type-user",
        _drop("schemaExtensions", 0, "required"),
    ),
    (
        "attribute type outside the RFC",
        "Schema",
        "group-schema",
        _set("text", "attributes", 0, "type"),
    ),
    ("schema without attributes", "Schema", "group-schema", _drop("attributes")),
    (
        "mutability outside the RFC",
        "Schema",
        "group-schema",
        _set("sometimes", "attributes", 0, "mutability"),
    ),
]


@pytest.mark.parametrize(
    ("what", "schema", "example", "mutate"), DEFECTS, ids=[d[0] for d in DEFECTS]
)
def test_defective_body_fails(what: str, schema: str, example: str, mutate: Mutation) -> None:
    body = _example(example)
    assert _errors(schema, body) == []
    mutate(body)
    assert _errors(schema, body) != [], what


# --- never stricter than the RFC -------------------------------------------------------

LENIENT: list[tuple[str, str, str, Mutation]] = [
    (
        "id spelled ID (RFC 7643 2.1)",
        "User",
        "minimal-user",
        lambda b: b.__setitem__("ID", b.pop("id")),
    ),
    (
        "Status spelled with a capital",
        "Error",
        "error-not-found",
        lambda b: b.__setitem__("Status", b.pop("status")),
    ),
    (
        "Operations spelled operations",
        "PatchOp",
        "patch-add-member",
        lambda b: b.__setitem__("operations", b.pop("Operations")),
    ),
    (
        "Entra's capitalised op",
        "PatchOp",
        "patch-replace-address",
        _set("Replace", "Operations", 0, "op"),
    ),
    (
        "remove with Path in another casing",
        "PatchOp",
        "patch-remove-member",
        lambda b: b["Operations"][0].__setitem__("PATH", b["Operations"][0].pop("path")),
    ),
    (
        "an unknown extension attribute",
        "User",
        "minimal-user",
        _set({"badge": "7"}, "urn:example:params:scim:schemas:extension:acme:2.0:User"),
    ),
    ("schemas in another order", "User", "enterprise-user", lambda b: b["schemas"].reverse()),
    (
        "URN scheme and namespace id in capitals (RFC 8141)",
        "User",
        "minimal-user",
        _set(["URN:IETF:params:scim:schemas:core:2.0:User"], "schemas"),
    ),
    ("a server-side extra member in meta", "User", "minimal-user", _set("x", "meta", "tenant")),
    ("no meta (attributes query)", "User", "minimal-user", _drop("meta")),
    ("no userName (attributes query)", "User", "minimal-user", _drop("userName")),
    (
        "dateTime with offset and fraction",
        "User",
        "minimal-user",
        _set("2011-08-01T18:29:49.793+02:00", "meta", "created"),
    ),
    ("members of type Group", "Group", "group", _set("Group", "members", 0, "type")),
    (
        "empty list without Resources",
        "ListResponse",
        "query-response",
        lambda b: (b.pop("Resources"), b.__setitem__("totalResults", 0)),
    ),
    ("error without scimType or detail", "Error", "error-not-found", _drop("detail")),
    (
        "bulk status as a number",
        "BulkResponse",
        "bulk-response",
        _set(201, "Operations", 0, "status"),
    ),
    (
        "failed POST without location",
        "BulkResponse",
        "bulk-response-errors",
        lambda b: b["Operations"][0].pop("location", None),
    ),
    (
        "authentication type beyond the RFC's list",
        "ServiceProviderConfig",
        "service-provider-config",
        _set("apikey", "authenticationSchemes", 0, "type"),
    ),
    (
        "resource type without id or description",
        "ResourceType",
        "resource-type-group",
        lambda b: (b.pop("id"), b.pop("description")),
    ),
    (
        "attribute without mutability/returned/uniqueness (defaults)",
        "Schema",
        "group-schema",
        lambda b: [
            b["attributes"][0].pop(k, None) for k in ("mutability", "returned", "uniqueness")
        ],
    ),
    (
        "startIndex and count below range (interpreted by the server)",
        "SearchRequest",
        "search-request",
        lambda b: (b.__setitem__("startIndex", 0), b.__setitem__("count", -1)),
    ),
]


@pytest.mark.parametrize(
    ("what", "schema", "example", "mutate"), LENIENT, ids=[d[0] for d in LENIENT]
)
def test_body_the_rfc_allows_passes(what: str, schema: str, example: str, mutate: Mutation) -> None:
    body = _example(example)
    mutate(body)
    assert _errors(schema, body) == [], what


def test_only_the_canonical_spelling_is_type_checked() -> None:
    """Documented limit: a member in another casing is neither validated nor rejected."""
    body = _example("minimal-user")
    body["userName"] = 5
    assert _errors("User", body) != []
    body["USERNAME"] = body.pop("userName")
    assert _errors("User", body) == []


def test_enterprise_container_is_validated_inside_a_user() -> None:
    body = _example("enterprise-user")
    body[ENTERPRISE]["manager"] = "26118915"
    assert _errors("User", body) != []
