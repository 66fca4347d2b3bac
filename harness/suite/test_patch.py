"""Modifying with PATCH (RFC 7644 section 3.5.2): add, remove and replace on every path form.

Every check reads the resource back after the PATCH (a 200 that changed nothing fails), and
every refused PATCH must leave the resource as it was (3.5.2: a PATCH is atomic). Checks
named `test_idp_*` grade what real IdPs send beyond the RFC (Entra's "Replace", "False",
dotted keys, a bare manager id): the RFC lets a server refuse those, so a refusal skips
with the reason, and an acknowledged one that changed nothing fails.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import pytest

from harness.checks import clause, expect_scim_error, expect_status
from harness.client import Response, ScimClient
from harness.discovery import ENTERPRISE_URN, Capabilities
from harness.validation.oracle import expect_state
from harness.verdicts import (
    Keyword,
    StateNotApplied,
    StatusMismatch,
    Unsupported,
    ValueMismatch,
)

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
Maker = Callable[..., dict[str, Any]]
ReadBack = Callable[..., dict[str, Any]]
_NO_VALUE: Any = object()


def op(kind: str, path: str | None = None, value: Any = _NO_VALUE) -> dict[str, Any]:
    """One PATCH operation (no "path" when None, no "value" when left out)."""
    operation: dict[str, Any] = {"op": kind}
    if path is not None:
        operation["path"] = path
    if value is not _NO_VALUE:
        operation["value"] = value
    return operation


def patch(
    scim: ScimClient,
    capabilities: Capabilities,
    resource: Mapping[str, Any],
    *operations: dict[str, Any],
    resource_type: str = "User",
    params: Mapping[str, Any] | None = None,
) -> Response:
    """PATCH the resource with a PatchOp message made of `operations`."""
    url = f"{capabilities.endpoint(resource_type).rstrip('/')}/{resource['id']}"
    body = {"schemas": [PATCH_OP], "Operations": list(operations)}
    return scim.patch(url, json=body, params=params)


def succeeded(response: Response) -> Response:
    """RFC 7644 3.5.2: a successful PATCH answers 200 (with the resource) or 204."""
    __tracebackhide__ = True
    return expect_status(response, 200, 204)


def refused_unchanged(
    response: Response,
    resource: Mapping[str, Any],
    read_back: ReadBack,
    *,
    status: int | range = range(400, 500),
    scim_type: str | tuple[str, ...] | None = None,
    resource_type: str = "User",
) -> None:
    """The PATCH was refused with a SCIM Error and the resource reads back as it was."""
    __tracebackhide__ = True
    if 200 <= response.status < 300:
        raise StatusMismatch(
            "the PATCH was accepted, but the RFC requires it to fail",
            expected=f"{status if isinstance(status, int) else '4xx'} SCIM Error"
            + (f" with scimType {scim_type}" if scim_type else ""),
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, status, scim_type)
    read_back(resource, snapshot(resource), resource_type=resource_type)


def idp_applied(
    response: Response,
    resource: Mapping[str, Any],
    read_back: ReadBack,
    expected: Mapping[str, Any],
    resource_type: str = "User",
) -> None:
    """An IdP-dialect PATCH: a clean 4xx SCIM error is the RFC-strict answer to non-RFC input
    (skip, with why, as test_create does); an accepted one MUST have taken effect."""
    __tracebackhide__ = True
    if 400 <= response.status < 500:
        expect_scim_error(response, range(400, 500))
        raise Unsupported(
            "the server refuses what this IdP sends (RFC-strict; that IdP cannot provision)"
        )
    succeeded(response)
    try:
        read_back(resource, expected, resource_type=resource_type)
    except StateNotApplied as exc:
        exc.keyword = Keyword.MUST
        exc.message = "the PATCH was acknowledged but not applied: " + exc.message
        raise


def snapshot(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The client-visible state of a resource, as the oracle compares it."""
    return {k: v for k, v in resource.items() if k not in ("id", "meta", "schemas")}


def needs(capabilities: Capabilities, resource_type: str, *names: str) -> None:
    """Skip unless the server publishes these attributes (dotted: sub-attributes)."""
    rt = capabilities.resource_type(resource_type)
    schema = capabilities.schema(rt.schema) if rt else None
    for name in names:
        top, _, sub = name.partition(".")
        attr = schema.attribute(top) if schema else None
        if attr is None or (sub and attr.sub(sub) is None):
            raise Unsupported(f"the server's {resource_type} schema publishes no {name!r}")


def needs_enterprise(capabilities: Capabilities, *names: str) -> None:
    """Skip unless User carries the enterprise extension with these attributes."""
    rt = capabilities.resource_type("User")
    ext = capabilities.schema(ENTERPRISE_URN)
    if rt is None or ext is None or ENTERPRISE_URN not in {e for e, _ in rt.extensions}:
        raise Unsupported(f"the User resource type does not carry {ENTERPRISE_URN}")
    for name in names:
        if ext.attribute(name) is None:
            raise Unsupported(f"the enterprise extension publishes no {name!r}")


def when(value: Any) -> datetime | None:
    """A meta timestamp as a datetime (None when absent or unparsable)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _emails(*pairs: tuple[str, str], primary: str | None = None) -> list[dict[str, Any]]:
    return [{"value": v, "type": t, "primary": t == primary} for t, v in pairs]


def _addr(user: Mapping[str, Any], tag: str) -> str:
    return str(user.get("userName", "x@example.com")).replace("@", f".{tag}@")


@clause("rfc7644-3.5-should-1")
def test_patch_is_supported(capabilities: Capabilities) -> None:
    """RFC 7644 3.5: implementers SHOULD support PATCH (ServiceProviderConfig patch.supported)."""
    if not capabilities.supports("patch"):
        raise ValueMismatch(
            "the server declares no PATCH support; Groups can then only change by a full PUT",
            expected='"patch": {"supported": true}',
            actual=capabilities.service_provider_config.get("patch"),
            exchanges=capabilities.exchanges[:1],
        )


# -- single-valued and complex attributes ---------------------------------------------------


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2-must-8", "rfc7644-3.5.2-must-14")
def test_replace_single_valued_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: "replace" on a single-valued attribute replaces its value."""
    capabilities.require("patch")
    user = make_user()
    new = f"{user['displayName']} Replaced"
    succeeded(patch(scim, capabilities, user, op("replace", "displayName", new)))
    read_back(user, {"displayName": new, "userName": user["userName"], "title": user["title"]})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-1", "rfc7644-3.5.2.1-may-1")
def test_add_single_valued_attribute_replaces_value(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: "add" on a single-valued attribute that has a value replaces it."""
    capabilities.require("patch")
    needs(capabilities, "User", "title")
    user = make_user(title="Engineer")
    succeeded(patch(scim, capabilities, user, op("add", "title", "Principal Engineer")))
    read_back(user, {"title": "Principal Engineer", "displayName": user["displayName"]})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-1")
def test_add_absent_attribute_adds_it(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: "add" on an attribute with no value adds the attribute."""
    capabilities.require("patch")
    needs(capabilities, "User", "nickName")
    user = make_user(nickName=None)
    succeeded(patch(scim, capabilities, user, op("add", "nickName", "Babs")))
    read_back(user, {"nickName": "Babs", "title": user["title"]})


@clause("rfc7644-3.5.2.3-must-2")
def test_replace_absent_attribute_adds_it(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: "replace" of an attribute that does not exist is treated as "add"."""
    capabilities.require("patch")
    needs(capabilities, "User", "nickName")
    user = make_user(nickName=None)
    succeeded(patch(scim, capabilities, user, op("replace", "nickName", "Babs")))
    read_back(user, {"nickName": "Babs"})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2-must-14")
def test_replace_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: path "name.givenName" replaces that sub-attribute only."""
    capabilities.require("patch")
    needs(capabilities, "User", "name.givenName", "name.familyName")
    user = make_user()
    succeeded(patch(scim, capabilities, user, op("replace", "name.givenName", "Barbara")))
    read_back(user, {"name": {"givenName": "Barbara", "familyName": user["name"]["familyName"]}})


@clause("rfc7644-3.5.2.3-must-3")
def test_replace_complex_keeps_unspecified_sub_attributes(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: replacing a complex attribute leaves sub-attributes not in "value"."""
    capabilities.require("patch")
    needs(capabilities, "User", "name.givenName", "name.familyName")
    user = make_user()
    succeeded(patch(scim, capabilities, user, op("replace", "name", {"givenName": "Barbara"})))
    read_back(user, {"name": {"givenName": "Barbara", "familyName": user["name"]["familyName"]}})


@clause("rfc7644-3.5.2.2-must-1")
def test_remove_single_valued_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: removing a single-valued attribute leaves it unassigned."""
    capabilities.require("patch")
    needs(capabilities, "User", "title")
    user = make_user(title="Engineer")
    succeeded(patch(scim, capabilities, user, op("remove", "title")))
    read_back(user, {"title": None, "displayName": user["displayName"]})


@clause("rfc7644-3.5.2.2-must-4")
def test_remove_sub_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: removing "name.givenName" unassigns it and keeps the other parts."""
    capabilities.require("patch")
    needs(capabilities, "User", "name.givenName", "name.familyName")
    user = make_user()
    succeeded(patch(scim, capabilities, user, op("remove", "name.givenName")))
    read_back(user, {"name": {"givenName": None, "familyName": user["name"]["familyName"]}})


@clause("rfc7643-2.1-must-2")
def test_path_attribute_names_are_case_insensitive(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 2.1: attribute names are case insensitive, in a PATCH path too."""
    capabilities.require("patch")
    needs(capabilities, "User", "name.givenName")
    user = make_user()
    operations = (
        op("replace", "DISPLAYNAME", "Case Insensitive"),
        op("replace", "Name.GivenName", "Casey"),
    )
    succeeded(patch(scim, capabilities, user, *operations))
    read_back(user, {"displayName": "Case Insensitive", "name": {"givenName": "Casey"}})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-2")
def test_add_absent_sub_attribute_adds_it(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: "add" on "name.middleName" with no value yet sets just that part."""
    capabilities.require("patch")
    needs(capabilities, "User", "name.middleName", "name.familyName")
    user = make_user()
    succeeded(patch(scim, capabilities, user, op("add", "name.middleName", "Jane")))
    read_back(user, {"name": {"middleName": "Jane", "familyName": user["name"]["familyName"]}})


@clause("rfc7644-3.5.2.2-must-1")
def test_remove_complex_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: removing the complex "name" unassigns it with all its sub-attributes."""
    capabilities.require("patch")
    needs(capabilities, "User", "name")
    user = make_user()
    succeeded(patch(scim, capabilities, user, op("remove", "name")))
    read_back(user, {"name": None, "userName": user["userName"]})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2-must-11")
def test_operations_apply_in_order(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: operations apply in their order, each on the result of the one before."""
    capabilities.require("patch")
    needs(capabilities, "User", "title", "nickName")
    user = make_user(nickName=None)
    operations = (
        op("replace", "title", "First"),
        op("replace", "title", "Second"),
        op("add", "nickName", "Temporary"),
        op("remove", "nickName"),
    )
    succeeded(patch(scim, capabilities, user, *operations))
    read_back(user, {"title": "Second", "nickName": None})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.3-must-1")
def test_replace_active_by_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: {"op":"replace","path":"active","value":false} deactivates the user."""
    capabilities.require("patch")
    needs(capabilities, "User", "active")
    user = make_user(active=True)
    succeeded(patch(scim, capabilities, user, op("replace", "active", False)))
    read_back(user, {"active": False, "userName": user["userName"]})


@clause("rfc7643-4.1.1-must-1", "rfc7644-3.5.2-may-1")
def test_replace_user_name(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: the readWrite userName can be replaced (an IdP renames its user)."""
    capabilities.require("patch")
    user = make_user()
    renamed = str(user["userName"]).replace("@", ".renamed@")
    succeeded(patch(scim, capabilities, user, op("replace", "userName", renamed)))
    read_back(user, {"userName": renamed, "displayName": user["displayName"]})


@clause("rfc7643-7-may-10", "rfc7643-7-must-11", keyword="MUST")
def test_replace_write_only_password(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 7: the writeOnly password MAY be updated at any time and is never returned."""
    capabilities.require("patch")
    capabilities.require("changePassword")
    needs(capabilities, "User", "password")
    user = make_user()
    response = succeeded(patch(scim, capabilities, user, op("replace", "password", "Sc1m-t3st!pw")))
    if response.status == 200 and "password" in response.json_object():
        raise ValueMismatch(
            "the PATCH answer returns the writeOnly password",
            expected="no password",
            actual="password present",
            exchanges=[response.exchange],
        )
    got = read_back(user, {"userName": user["userName"]})
    if "password" in got:
        raise ValueMismatch(
            "the read-back returns the writeOnly password",
            expected="no password",
            actual="password present",
        )


# -- multi-valued attributes -----------------------------------------------------------------


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.1-must-1")
def test_add_to_multi_valued_appends(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: "add" on a multi-valued attribute adds a value, keeping the others."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    user = make_user()
    work = user["emails"][0]["value"]
    home = _addr(user, "home")
    succeeded(
        patch(scim, capabilities, user, op("add", "emails", [{"value": home, "type": "home"}]))
    )
    read_back(user, {"emails": [{"value": work, "type": "work"}, {"value": home, "type": "home"}]})


@clause("rfc7644-3.5.2.1-may-1", keyword="SHOULD")
def test_add_single_object_to_multi_valued(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: the value MAY be a JSON object of the complex attribute's
    sub-attributes: {"value": ..., "type": "home"} on "emails" adds one email."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    user = make_user()
    work, home = user["emails"][0]["value"], _addr(user, "home")
    succeeded(patch(scim, capabilities, user, op("add", "emails", {"value": home, "type": "home"})))
    read_back(user, {"emails": [{"value": work, "type": "work"}, {"value": home, "type": "home"}]})


@clause("rfc7644-3.5.2.1-should-1", "rfc7643-2.4-should-2")
def test_add_existing_value_is_not_duplicated(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: adding a value the attribute already holds changes nothing, succeeds."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    user = make_user()
    work = user["emails"][0]["value"]
    again = [{"value": work, "type": "work", "primary": True}]
    succeeded(patch(scim, capabilities, user, op("add", "emails", again)))
    read_back(user, {"emails": [{"value": work, "type": "work"}]})


@clause("rfc7643-2.4-should-2")
def test_add_same_type_and_value_is_not_duplicated(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 2.4: the same (type, value) pair SHOULD NOT come back twice, even when the
    add sent it without the existing value's "primary"."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    user = make_user()
    work = user["emails"][0]["value"]
    succeeded(
        patch(scim, capabilities, user, op("add", "emails", [{"value": work, "type": "work"}]))
    )
    read_back(user, {"emails": [{"value": work, "type": "work"}]})


@clause("rfc7644-3.5.2-may-1", "rfc7644-3.5.2.3-must-1")
def test_replace_multi_valued_replaces_all_values(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: "replace" on a multi-valued attribute without filter replaces all."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    user = make_user()
    user = make_user(
        emails=_emails(("work", _addr(user, "w")), ("home", _addr(user, "h")), primary="work")
    )
    other = _addr(user, "other")
    succeeded(
        patch(
            scim, capabilities, user, op("replace", "emails", [{"value": other, "type": "other"}])
        )
    )
    read_back(user, {"emails": [{"value": other, "type": "other"}]})


@clause("rfc7644-3.5.2.2-must-2")
def test_remove_multi_valued_without_filter_removes_all(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: "remove" of a multi-valued attribute without filter unassigns it."""
    capabilities.require("patch")
    needs(capabilities, "User", "phoneNumbers")
    phones = [
        {"value": "+1-201-555-0101", "type": "work"},
        {"value": "+1-201-555-0102", "type": "mobile"},
    ]
    user = make_user(phoneNumbers=phones)
    succeeded(patch(scim, capabilities, user, op("remove", "phoneNumbers")))
    read_back(user, {"phoneNumbers": None, "userName": user["userName"]})


@clause("rfc7644-3.5.2.2-must-4", "rfc7644-3.5.2.2-must-5")
def test_remove_filtered_value_keeps_the_others(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: remove with a value filter removes the matching records only."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    base = make_user()
    work, home = _addr(base, "w"), _addr(base, "h")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="work"))
    succeeded(patch(scim, capabilities, user, op("remove", 'emails[type eq "home"]')))
    read_back(user, {"emails": [{"value": work, "type": "work"}]})


@clause("rfc7644-3.5.2.2-must-3", "rfc7644-3.5.2.2-must-5")
def test_remove_last_filtered_value_unassigns_attribute(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: when the filter removed the last value, the attribute is unassigned."""
    capabilities.require("patch")
    needs(capabilities, "User", "phoneNumbers")
    user = make_user(phoneNumbers=[{"value": "+1-201-555-0103", "type": "work"}])
    succeeded(patch(scim, capabilities, user, op("remove", 'phoneNumbers[type eq "work"]')))
    read_back(user, {"phoneNumbers": None})


@clause("rfc7644-3.5.2.2-must-4")
def test_remove_with_compound_value_filter(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: "emails[type eq "work" and value ew "..."]" removes just that record."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    base = make_user()
    work, home = _addr(base, "w"), _addr(base, "h")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="home"))
    path = f'emails[type eq "work" and value ew "{work.split("@")[1]}"]'
    succeeded(patch(scim, capabilities, user, op("remove", path)))
    read_back(user, {"emails": [{"value": home, "type": "home"}]})


FILTERED_SUB_ATTRIBUTES = {
    "emails": ("emails", "value", "type", "work"),
    "phoneNumbers": ("phoneNumbers", "value", "type", "work"),
    "addresses": ("addresses", "streetAddress", "type", "work"),
}


@clause("rfc7644-3.5.2.3-must-4")
@pytest.mark.parametrize("attribute", sorted(FILTERED_SUB_ATTRIBUTES))
def test_replace_filtered_sub_attribute(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    read_back: ReadBack,
    attribute: str,
) -> None:
    """RFC 7644 3.5.2.3: 'emails[type eq "work"].value' replaces that sub-attribute only."""
    capabilities.require("patch")
    name, sub, key, tag = FILTERED_SUB_ATTRIBUTES[attribute]
    needs(capabilities, "User", f"{name}.{sub}", f"{name}.{key}")
    values = {
        "emails": ("a.work@example.com", "a.home@example.com", "b.work@example.com"),
        "phoneNumbers": ("+1-201-555-0111", "+1-201-555-0112", "+1-201-555-0113"),
        "addresses": ("1 Work St", "2 Home Rd", "3 New Work Ave"),
    }[attribute]
    user = make_user(**{name: [{sub: values[0], key: tag}, {sub: values[1], key: "home"}]})
    succeeded(
        patch(scim, capabilities, user, op("replace", f'{name}[{key} eq "{tag}"].{sub}', values[2]))
    )
    read_back(user, {name: [{sub: values[2], key: tag}, {sub: values[1], key: "home"}]})


@clause("rfc7644-3.5.2.3-must-4")
def test_replace_filtered_value_replaces_matching_record(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: 'emails[type eq "home"]' with a value object replaces that record."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    base = make_user()
    work, home, new = _addr(base, "w"), _addr(base, "h"), _addr(base, "n")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="work"))
    value = {"value": new, "type": "home"}
    succeeded(patch(scim, capabilities, user, op("replace", 'emails[type eq "home"]', value)))
    read_back(user, {"emails": [{"value": work, "type": "work"}, {"value": new, "type": "home"}]})


@clause("rfc7644-3.5.2.1-must-1")
def test_add_absent_multi_valued_attribute_creates_it(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: "add" on a multi-valued attribute the user lacks creates it."""
    capabilities.require("patch")
    needs(capabilities, "User", "phoneNumbers")
    user = make_user(phoneNumbers=None)
    value = [{"value": "+1-201-555-0142", "type": "mobile"}]
    succeeded(patch(scim, capabilities, user, op("add", "phoneNumbers", value)))
    read_back(user, {"phoneNumbers": value})


@clause("rfc7644-3.5.2.3-must-4")
def test_replace_filter_replaces_every_match(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: a value filter matching two records replaces the sub-attribute in both."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.type")
    base = make_user()
    work, one, two = _addr(base, "w"), _addr(base, "o1"), _addr(base, "o2")
    user = make_user(emails=_emails(("work", work), ("other", one), ("other", two), primary="work"))
    succeeded(
        patch(scim, capabilities, user, op("replace", 'emails[type eq "other"].type', "home"))
    )
    read_back(
        user,
        {
            "emails": [
                {"value": work, "type": "work"},
                {"value": one, "type": "home"},
                {"value": two, "type": "home"},
            ]
        },
    )


@clause("rfc7644-3.5.2.2-must-4")
def test_remove_filter_removes_every_match(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: a value filter matching two records removes both, keeping the rest."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.type")
    base = make_user()
    work, one, two = _addr(base, "w"), _addr(base, "o1"), _addr(base, "o2")
    user = make_user(emails=_emails(("work", work), ("other", one), ("other", two), primary="work"))
    succeeded(patch(scim, capabilities, user, op("remove", 'emails[type eq "other"]')))
    read_back(user, {"emails": [{"value": work, "type": "work"}]})


FILTER_OPERATORS = {
    "co": 'emails[value co "{home_part}"]',
    "sw": 'emails[value sw "{home_start}"]',
    "ne": 'emails[type ne "work"]',
    "and-pr": 'emails[type eq "home" and value pr]',
}


@clause("rfc7644-3.5.2.2-must-4", "rfc7644-3.4.2.2-must-9")
@pytest.mark.parametrize("operator", sorted(FILTER_OPERATORS))
def test_remove_with_filter_operator(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    read_back: ReadBack,
    operator: str,
) -> None:
    """RFC 7644 3.5.2.2: a value filter in a path uses the filter grammar (co, sw, ne, pr, and)."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    base = make_user()
    work, home = _addr(base, "w"), f"zz-home-{base['id'][:8]}@example.org"
    user = make_user(emails=_emails(("work", work), ("home", home), primary="work"))
    path = FILTER_OPERATORS[operator].format(
        home_part=f"home-{base['id'][:8]}", home_start="zz-home-"
    )
    succeeded(patch(scim, capabilities, user, op("remove", path)))
    read_back(user, {"emails": [{"value": work, "type": "work"}]})


@clause("rfc7644-3.4.2.2-must-15", "rfc7643-7-must-7")
def test_path_filter_honours_case_exactness(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.4.2.2: 'emails[type eq "HOME"]' matches "home" when type is not caseExact."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.type")
    rt = capabilities.resource_type("User")
    schema = capabilities.schema(rt.schema) if rt else None
    emails = schema.attribute("emails") if schema else None
    kind = emails.sub("type") if emails else None
    if kind is None or kind.case_exact:
        raise Unsupported("the server declares emails.type caseExact")
    base = make_user()
    work, home = _addr(base, "w"), _addr(base, "h")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="work"))
    succeeded(patch(scim, capabilities, user, op("remove", 'emails[type eq "HOME"]')))
    read_back(user, {"emails": [{"value": work, "type": "work"}]})


@clause("rfc7644-3.5.2.3-must-4")
def test_replace_with_boolean_value_filter(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: 'emails[primary eq true].value' replaces the primary email's value."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.primary")
    base = make_user()
    work, home, new = _addr(base, "w"), _addr(base, "h"), _addr(base, "n")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="home"))
    succeeded(patch(scim, capabilities, user, op("replace", "emails[primary eq true].value", new)))
    read_back(user, {"emails": [{"value": work, "type": "work"}, {"value": new, "type": "home"}]})


@clause("rfc7643-2.4-must-3", "rfc7644-3.5.2-must-12")
def test_at_most_one_primary_after_patch(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 2.4: "primary" true appears at most once: an add carrying two primaries is
    refused (nothing changes) or applied with one primary left."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.primary")
    base = make_user()
    work, home = _addr(base, "w"), _addr(base, "h")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="work"))
    value = [
        {"value": _addr(base, "a"), "type": "other", "primary": True},
        {"value": _addr(base, "b"), "type": "other", "primary": True},
    ]
    response = patch(scim, capabilities, user, op("add", "emails", value))
    if response.status >= 300:
        refused_unchanged(response, user, read_back)
        return
    got = read_back(user, {"userName": user["userName"]})
    primaries = [e for e in got.get("emails") or [] if isinstance(e, dict) and e.get("primary")]
    if len(primaries) > 1:
        raise StateNotApplied(
            "after the PATCH more than one email is primary",
            expected="at most one primary=true",
            actual=primaries,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.5.2-must-10", "rfc7643-2.4-must-3")
def test_primary_on_added_value_resets_the_others(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: adding a value with primary=true sets primary=false on the others."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.primary")
    user = make_user()
    work, home = user["emails"][0]["value"], _addr(user, "home")
    value = [{"value": home, "type": "home", "primary": True}]
    succeeded(patch(scim, capabilities, user, op("add", "emails", value)))
    _expect_primary(read_back(user, {"emails": [{"value": work}, {"value": home}]}), home)


@clause("rfc7644-3.5.2-must-10", "rfc7643-2.4-must-3")
def test_primary_on_filtered_value_resets_the_others(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: 'emails[type eq "home"].primary' true sets primary=false elsewhere."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails.primary")
    base = make_user()
    work, home = _addr(base, "w"), _addr(base, "h")
    user = make_user(emails=_emails(("work", work), ("home", home), primary="work"))
    succeeded(
        patch(scim, capabilities, user, op("replace", 'emails[type eq "home"].primary', True))
    )
    _expect_primary(read_back(user, {"emails": [{"value": work}, {"value": home}]}), home)


def _expect_primary(resource: Mapping[str, Any], value: str) -> None:
    emails = [e for e in resource.get("emails") or [] if isinstance(e, dict)]
    primaries = [str(e.get("value", "")).lower() for e in emails if e.get("primary") is True]
    if primaries != [value.lower()]:
        raise StateNotApplied(
            "after a PATCH made one email primary, the others must have primary=false",
            expected=f"exactly one primary email: {value}",
            actual=[{k: e.get(k) for k in ("value", "primary")} for e in emails],
        )


# -- path-less add and replace ----------------------------------------------------------------


@clause("rfc7644-3.5.2-must-4", "rfc7644-3.5.2.1-must-1")
def test_add_without_path_sets_attributes(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: "add" without path adds the value object's attributes (RFC example)."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails", "nickName")
    user = make_user(nickName=None)
    work, home = user["emails"][0]["value"], _addr(user, "home")
    value = {"emails": [{"value": home, "type": "home"}], "nickName": "Babs"}
    succeeded(patch(scim, capabilities, user, op("add", value=value)))
    read_back(
        user,
        {
            "nickName": "Babs",
            "displayName": user["displayName"],
            "emails": [{"value": work}, {"value": home, "type": "home"}],
        },
    )


@clause("rfc7644-3.5.2-must-4", "rfc7644-3.5.2.3-must-1")
def test_replace_without_path_sets_attributes(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: "replace" without path replaces the attributes in the value object."""
    capabilities.require("patch")
    needs(capabilities, "User", "title")
    user = make_user()
    value = {"displayName": "Path Less", "title": "Replaced Title"}
    succeeded(patch(scim, capabilities, user, op("replace", value=value)))
    read_back(user, {**value, "userName": user["userName"], "name": user["name"]})


@clause("rfc7644-3.5.2.3-must-1")
def test_pathless_replace_deactivates(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: {"op":"replace","value":{"active":false}} (Okta's deactivation)."""
    capabilities.require("patch")
    needs(capabilities, "User", "active")
    user = make_user(active=True)
    succeeded(patch(scim, capabilities, user, op("replace", value={"active": False})))
    read_back(user, {"active": False, "userName": user["userName"]})


# -- the enterprise extension -----------------------------------------------------------------


@clause("rfc7644-3.5.2-must-4", "rfc7643-3.3-must-2")
def test_pathless_add_extension_object(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1: a value keyed by the extension URN adds the extension's attributes."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "department", "costCenter")
    user = make_user()
    ext = {"department": "Research", "costCenter": "CC-42"}
    succeeded(patch(scim, capabilities, user, op("add", value={ENTERPRISE_URN: ext})))
    read_back(user, {ENTERPRISE_URN: ext, "userName": user["userName"]})


@clause("rfc7644-3.5.2-must-4", "rfc7643-3.3-must-2")
def test_pathless_replace_extension_object(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: a replace value keyed by the extension URN replaces those attributes."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "department")
    user = _enterprise_user(make_user, capabilities, department="Sales")
    value = {ENTERPRISE_URN: {"department": "Marketing"}}
    succeeded(patch(scim, capabilities, user, op("replace", value=value)))
    read_back(user, {ENTERPRISE_URN: {"department": "Marketing"}})


def _user_urn(capabilities: Capabilities) -> str:
    rt = capabilities.resource_type("User")
    return rt.schema if rt else "urn:ietf:params:scim:schemas:core:2.0:User"


def _enterprise_user(make_user: Maker, capabilities: Capabilities, **ext: Any) -> dict[str, Any]:
    return make_user(**{ENTERPRISE_URN: ext}, schemas=[_user_urn(capabilities), ENTERPRISE_URN])


@clause("rfc7644-3.5.2-may-3", "rfc7643-3.3-must-2", keyword="MUST")
def test_add_extension_attribute_by_urn_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2/3.10: path "urn:...:enterprise:2.0:User:department" adds the attribute."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "department")
    user = make_user()
    succeeded(patch(scim, capabilities, user, op("add", f"{ENTERPRISE_URN}:department", "Legal")))
    read_back(user, {ENTERPRISE_URN: {"department": "Legal"}})


@clause("rfc7644-3.5.2-may-3", "rfc7643-3-must-1", keyword="MUST")
def test_urn_path_adds_extension_to_schemas(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: adding an attribute by its full URN adds the extension to "schemas"."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "employeeNumber")
    user = make_user()
    path = f"{ENTERPRISE_URN}:employeeNumber"
    succeeded(patch(scim, capabilities, user, op("add", path, "E-1001")))
    actual = read_back(user, {ENTERPRISE_URN: {"employeeNumber": "E-1001"}})
    listed = [str(s).lower() for s in actual.get("schemas") or []]
    if ENTERPRISE_URN.lower() not in listed:
        raise StateNotApplied(
            "the resource holds enterprise attributes but its schemas do not list the extension",
            expected=f'"schemas" containing {ENTERPRISE_URN}',
            actual=actual.get("schemas"),
        )


@clause("rfc7644-3.5.2-must-9", "rfc7644-3.5.2-may-3")
def test_later_operations_see_the_implicit_schema_change(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: once an operation adds the extension (by a URN path), the following
    operations of the same PATCH work on the modified resource."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "employeeNumber", "department")
    user = make_user()
    number, department = f"{ENTERPRISE_URN}:employeeNumber", f"{ENTERPRISE_URN}:department"
    operations = (
        op("add", number, "E-1"),
        op("replace", number, "E-2"),
        op("add", department, "Platform"),
    )
    succeeded(patch(scim, capabilities, user, *operations))
    read_back(user, {ENTERPRISE_URN: {"employeeNumber": "E-2", "department": "Platform"}})


@clause("rfc7644-3.5.2-may-3", "rfc7643-3.3-must-2", keyword="MUST")
def test_replace_extension_attribute_by_urn_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: replace on "urn:...:User:department" replaces the extension value."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "department", "costCenter")
    user = _enterprise_user(make_user, capabilities, department="Sales", costCenter="CC-1")
    succeeded(
        patch(scim, capabilities, user, op("replace", f"{ENTERPRISE_URN}:department", "Finance"))
    )
    read_back(user, {ENTERPRISE_URN: {"department": "Finance", "costCenter": "CC-1"}})


@clause("rfc7644-3.5.2.2-must-1", "rfc7643-3.3-must-2")
def test_remove_extension_attribute_by_urn_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: remove on "urn:...:User:department" unassigns just that attribute."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "department", "costCenter")
    user = _enterprise_user(make_user, capabilities, department="Sales", costCenter="CC-2")
    succeeded(patch(scim, capabilities, user, op("remove", f"{ENTERPRISE_URN}:department")))
    read_back(user, {ENTERPRISE_URN: {"department": None, "costCenter": "CC-2"}})


@clause("rfc7644-3.5.2.3-must-3", "rfc7643-3.3-must-2")
def test_replace_manager_by_urn_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: replace "urn:...:User:manager" with {"value": id} sets the manager."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "manager")
    boss, user = make_user(), make_user()
    path = f"{ENTERPRISE_URN}:manager"
    succeeded(patch(scim, capabilities, user, op("replace", path, {"value": boss["id"]})))
    read_back(user, {ENTERPRISE_URN: {"manager": {"value": boss["id"]}}})


@clause("rfc7644-3.5.2.2-must-1", "rfc7643-3.3-must-2")
def test_remove_manager_by_urn_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: remove "urn:...:User:manager" unassigns the manager."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "manager", "department")
    boss = make_user()
    user = _enterprise_user(
        make_user, capabilities, manager={"value": boss["id"]}, department="Ops"
    )
    succeeded(patch(scim, capabilities, user, op("remove", f"{ENTERPRISE_URN}:manager")))
    read_back(user, {ENTERPRISE_URN: {"manager": None, "department": "Ops"}})


@clause("rfc7644-3.5.2.3-must-3", "rfc7643-3.3-must-2")
def test_replace_extension_sub_attribute_by_urn_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.10: path "urn:...:User:manager.value" replaces the manager's id only."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "manager")
    old, new = make_user(), make_user()
    user = _enterprise_user(make_user, capabilities, manager={"value": old["id"]})
    path = f"{ENTERPRISE_URN}:manager.value"
    succeeded(patch(scim, capabilities, user, op("replace", path, new["id"])))
    read_back(user, {ENTERPRISE_URN: {"manager": {"value": new["id"]}}})


# -- refusals: no target, bad paths, mutability, required ------------------------------------


@clause("rfc7644-3.5.2.3-must-5", "rfc7644-3.5.2-must-12")
def test_replace_filter_matching_nothing_is_400_no_target(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3: a replace whose value filter matches no record fails 400 "noTarget"."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    user = make_user()
    response = patch(
        scim,
        capabilities,
        user,
        op("replace", 'emails[type eq "scimtest-none"].value', "x@example.com"),
    )
    refused_unchanged(response, user, read_back, status=400, scim_type="noTarget")


@clause("rfc7644-3.5.2-must-4", "rfc7644-3.5.2-must-13")
def test_remove_without_path_is_400_no_target(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: "remove" needs a path; without one it fails 400 "noTarget"."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("remove"))
    refused_unchanged(response, user, read_back, status=400, scim_type="noTarget")


MALFORMED_PATHS = {
    "unclosed-filter": 'emails[type eq "work".value',
    "empty-segment": "name..givenName",
    "bad-character": "display Name",
}


@clause("rfc7644-3.5.2-must-13", "rfc7644-3.5.2-must-12")
@pytest.mark.parametrize("shape", sorted(MALFORMED_PATHS))
def test_malformed_path_is_refused(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    read_back: ReadBack,
    shape: str,
) -> None:
    """RFC 7644 3.5.2: an operation on a malformed path fails with a SCIM Error, no change."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("replace", MALFORMED_PATHS[shape], "x"))
    refused_unchanged(response, user, read_back)


@clause("rfc7644-3.12-should-1")
@pytest.mark.parametrize("shape", sorted(MALFORMED_PATHS))
def test_malformed_path_is_400_invalid_path(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, shape: str
) -> None:
    """RFC 7644 3.12: a malformed PATCH path is 400 "invalidPath" ("invalidFilter" in a filter)."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("replace", MALFORMED_PATHS[shape], "x"))
    expect_scim_error(response, 400, ("invalidPath", "invalidFilter"))


@clause("rfc7644-3.5.2-must-5", "rfc7644-3.5.2-must-6", "rfc7644-3.5.2-must-7", "rfc7643-7-must-9")
def test_read_only_attribute_replace_is_refused(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: replacing a readOnly attribute ("id") fails with a SCIM Error."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("replace", "id", "scimtest-not-an-id"))
    refused_unchanged(response, user, read_back)


@clause("rfc7644-3.12-should-1")
def test_read_only_attribute_replace_is_400_mutability(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.12: a change incompatible with the attribute's mutability is 400 "mutability"."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("replace", "id", "scimtest-not-an-id"))
    expect_scim_error(response, 400, "mutability")


@clause("rfc7644-3.5.2.2-must-6")
def test_read_only_attribute_remove_is_400_mutability(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.2: removing a readOnly attribute ("id") fails with scimType "mutability"."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("remove", "id"))
    refused_unchanged(response, user, read_back, scim_type="mutability")


def _required(capabilities: Capabilities, resource_type: str) -> str:
    """A required attribute a client may write (userName, displayName); skip if none."""
    rt = capabilities.resource_type(resource_type)
    schema = capabilities.schema(rt.schema) if rt else None
    for attr in schema.attributes if schema else ():
        if attr.required and attr.mutability in ("readWrite", "immutable"):
            return attr.name
    raise Unsupported(f"the server's {resource_type} schema declares no required attribute")


@clause("rfc7644-3.5.2.2-must-6", "rfc7643-4.1.1-must-3", "rfc7643-4.2-must-1")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_required_attribute_remove_is_400_mutability(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
    resource_type: str,
) -> None:
    """RFC 7644 3.5.2.2: removing a required attribute fails with scimType "mutability"."""
    capabilities.require("patch")
    name = _required(capabilities, resource_type)
    resource = make_user() if resource_type == "User" else make_group()
    response = patch(scim, capabilities, resource, op("remove", name), resource_type=resource_type)
    refused_unchanged(
        response, resource, read_back, scim_type="mutability", resource_type=resource_type
    )


@clause("rfc7644-3.5.2.2-must-6", "rfc7644-3.5.2-must-12")
@pytest.mark.parametrize("resource_type", ["User", "Group"])
def test_required_attribute_replaced_by_null_is_refused(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
    resource_type: str,
) -> None:
    """RFC 7644 3.5.2.2: a replace with null that leaves a required attribute unassigned fails."""
    capabilities.require("patch")
    name = _required(capabilities, resource_type)
    resource = make_user() if resource_type == "User" else make_group()
    response = patch(
        scim, capabilities, resource, op("replace", name, None), resource_type=resource_type
    )
    refused_unchanged(response, resource, read_back, resource_type=resource_type)


@clause("rfc7643-4.1.1-must-2", "rfc7644-3.5.2-must-12")
def test_duplicate_user_name_is_refused(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 4.1.1: userName is unique; a PATCH taking another user's userName fails."""
    capabilities.require("patch")
    taken, user = make_user(), make_user()
    response = patch(scim, capabilities, user, op("replace", "userName", taken["userName"]))
    refused_unchanged(response, user, read_back)


@clause("rfc7643-4.1.1-must-2", "rfc7643-4.1.1-must-3")
def test_duplicate_user_name_in_other_case_is_refused(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 4.1.1: userName is unique and case insensitive: taking another user's name in
    upper case fails too."""
    capabilities.require("patch")
    taken, user = make_user(), make_user()
    response = patch(scim, capabilities, user, op("replace", "userName", taken["userName"].upper()))
    refused_unchanged(response, user, read_back)


@clause("rfc7644-3.12-should-1", "rfc7643-4.1.1-must-2", keyword="SHOULD")
def test_duplicate_user_name_is_409_uniqueness(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.12: a PATCH that breaks userName uniqueness is 409 "uniqueness"."""
    capabilities.require("patch")
    taken, user = make_user(), make_user()
    response = patch(scim, capabilities, user, op("replace", "userName", taken["userName"]))
    expect_scim_error(response, 409, "uniqueness")


@clause("rfc7644-3.5.2-must-6", "rfc7644-3.5.2-must-7", "rfc7643-7-must-10")
def test_immutable_attribute_update_is_refused(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2: a member's immutable "value" cannot be replaced (RFC 7643 4.2, 7)."""
    capabilities.require("patch")
    rt = capabilities.resource_type("Group")
    schema = capabilities.schema(rt.schema) if rt else None
    members = schema.attribute("members") if schema else None
    value = members.sub("value") if members else None
    if value is None or value.mutability != "immutable":
        raise Unsupported("the server's Group schema does not declare members.value immutable")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice])
    path = f'members[value eq "{alice["id"]}"].value'
    response = patch(
        scim, capabilities, group, op("replace", path, bob["id"]), resource_type="Group"
    )
    refused_unchanged(response, group, read_back, resource_type="Group")


@clause("rfc7644-3.5.2-must-3", "rfc7644-3.5.2-must-13")
def test_unknown_op_is_refused(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: SCIM has no JSON Patch "move"; such an operation fails, changing nothing."""
    capabilities.require("patch")
    user = make_user()
    operation = {"op": "move", "from": "displayName", "path": "nickName"}
    refused_unchanged(patch(scim, capabilities, user, operation), user, read_back)


@clause("rfc7644-3.12-must-1", "rfc7644-3.5.2-must-13")
def test_patch_of_unknown_resource_is_refused(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 3.12: a PATCH of an id nobody created fails with a SCIM Error."""
    capabilities.require("patch")
    ghost = {"id": f"scimtest-{time.time_ns():x}"}
    response = patch(scim, capabilities, ghost, op("replace", "displayName", "Nobody"))
    if 200 <= response.status < 300:
        raise StatusMismatch(
            "a PATCH of an id nobody created succeeded",
            expected="404",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    expect_scim_error(response, range(400, 500))


@clause("rfc7644-3.12-should-1")
def test_patch_of_unknown_resource_is_404(scim: ScimClient, capabilities: Capabilities) -> None:
    """RFC 7644 3.12: a PATCH of a resource that does not exist is answered 404 Not Found."""
    capabilities.require("patch")
    ghost = {"id": f"scimtest-{time.time_ns():x}"}
    response = patch(scim, capabilities, ghost, op("replace", "displayName", "Nobody"))
    expect_scim_error(response, 404)


# -- atomicity --------------------------------------------------------------------------------


@clause("rfc7644-3.5.2-must-11", "rfc7644-3.5.2-must-12")
def test_failing_operation_rolls_back_earlier_ones(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: a PATCH is atomic; when its last operation fails, the first is undone."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails", "title")
    user = make_user()
    response = patch(
        scim,
        capabilities,
        user,
        op("replace", "displayName", "Half Applied"),
        op("replace", "title", "Half Applied"),
        op("replace", 'emails[type eq "scimtest-none"].value', "x@example.com"),
    )
    refused_unchanged(response, user, read_back)


@clause("rfc7644-3.5.2-must-11", "rfc7644-3.5.2-must-12")
def test_failing_operation_rolls_back_membership(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    make_group: Maker,
    read_back: ReadBack,
) -> None:
    """RFC 7644 3.5.2: a member added before a failing operation is not kept (atomic PATCH)."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice])
    response = patch(
        scim,
        capabilities,
        group,
        op("add", "members", [{"value": bob["id"]}]),
        op("remove"),
        resource_type="Group",
    )
    refused_unchanged(response, group, read_back, resource_type="Group")


# -- the response -----------------------------------------------------------------------------


@clause("rfc7644-3.5.2-must-14")
def test_success_answers_200_with_resource_or_204(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: success is 200 with the entire updated resource, or 204 No Content."""
    capabilities.require("patch")
    user = make_user()
    response = succeeded(patch(scim, capabilities, user, op("replace", "displayName", "Whole")))
    if response.status == 204:
        if response.content:
            raise ValueMismatch(
                "a 204 answer carries a body",
                expected="no body",
                actual=response.text[:200],
                exchanges=[response.exchange],
            )
        return
    body = response.json_object()
    if body.get("id") != user["id"]:
        raise ValueMismatch(
            "the 200 body is not the patched resource",
            expected=user["id"],
            actual=body.get("id"),
            exchanges=[response.exchange],
        )
    expect_state(
        {"displayName": "Whole", "userName": user["userName"], "name": user["name"]},
        body,
        capabilities,
        "User",
        exchanges=[response.exchange],
    )


@clause("rfc7644-3.5.2-must-15")
def test_attributes_parameter_forces_200(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: with "attributes" in the request the server MUST answer 200."""
    capabilities.require("patch")
    user = make_user()
    response = patch(
        scim,
        capabilities,
        user,
        op("replace", "displayName", "Projected"),
        params={"attributes": "displayName"},
    )
    expect_status(response, 200)
    read_back(user, {"displayName": "Projected"})


@clause("rfc7644-3.9-must-1", "rfc7644-3.5.2-must-14")
def test_attributes_parameter_projects_the_response(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9: "attributes" on a PATCH returns id and the requested attributes only."""
    capabilities.require("patch")
    needs(capabilities, "User", "title")
    user = make_user(title="Engineer")
    response = patch(
        scim,
        capabilities,
        user,
        op("replace", "displayName", "Projected"),
        params={"attributes": "displayName"},
    )
    body = expect_status(response, 200).json_object()
    problems = []
    if body.get("id") != user["id"]:
        problems.append(f"id is {body.get('id')!r}")
    if str(body.get("displayName", "")).lower() != "projected":
        problems.append(f"displayName is {body.get('displayName')!r}")
    if "title" in body:
        problems.append("title was not requested but came back")
    if problems:
        raise ValueMismatch(
            "the PATCH response is not projected to the requested attributes: "
            + "; ".join(problems),
            expected='id and "displayName": "Projected"',
            actual=body,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.9-may-1", "rfc7644-3.4.2.5-must-2", keyword="MUST")
def test_excluded_attributes_on_patch_response(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.9: "excludedAttributes" on a PATCH leaves that attribute out of a 200 body."""
    capabilities.require("patch")
    needs(capabilities, "User", "title")
    user = make_user(title="Engineer")
    response = patch(
        scim,
        capabilities,
        user,
        op("replace", "displayName", "Excluding"),
        params={"excludedAttributes": "title"},
    )
    succeeded(response)
    if response.status == 200:
        body = response.json_object()
        if "title" in body or body.get("id") != user["id"]:
            raise ValueMismatch(
                "the PATCH response ignores excludedAttributes=title",
                expected='the resource with "id" and without "title"',
                actual=body,
                exchanges=[response.exchange],
            )


@clause("rfc7644-3.5.2-must-14", "rfc7644-3.5.2-must-15", "rfc7644-3.9-must-1")
def test_group_patch_answer_lists_the_new_members(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.5.2: a membership PATCH with "attributes=members" answers 200 with the
    members as the PATCH left them (not as they were)."""
    capabilities.require("patch")
    alice, bob = make_user(), make_user()
    group = make_group(members=[alice])
    operation = op("add", "members", [{"value": bob["id"]}])
    response = patch(
        scim,
        capabilities,
        group,
        operation,
        resource_type="Group",
        params={"attributes": "members"},
    )
    body = expect_status(response, 200).json_object()
    expect_state(
        {"members": [{"value": alice["id"]}, {"value": bob["id"]}]},
        body,
        capabilities,
        "Group",
        exchanges=[response.exchange],
    )


# -- meta: lastModified and version ------------------------------------------------------------


def _meta(scim: ScimClient, capabilities: Capabilities, user: Mapping[str, Any]) -> dict[str, Any]:
    response = expect_status(scim.get(f"{capabilities.endpoint('User')}/{user['id']}"), 200)
    meta = response.json_object().get("meta")
    return meta if isinstance(meta, dict) else {}


def _pause_for(meta: Mapping[str, Any]) -> None:
    """Wait past the timestamp's resolution so a change is visible (seconds: 1.1 s)."""
    stamp = str(meta.get("lastModified", ""))
    time.sleep(0.05 if "." in stamp else 1.1)


@clause("rfc7644-3.5.2.1-must-3")
def test_noop_add_keeps_last_modified(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.5.2.1: an add of a value already present SHALL NOT change the modify time."""
    capabilities.require("patch")
    user = make_user()
    before = _meta(scim, capabilities, user)
    if when(before.get("lastModified")) is None:
        raise Unsupported("the server returns no meta.lastModified")
    _pause_for(before)
    succeeded(patch(scim, capabilities, user, op("add", "displayName", user["displayName"])))
    after = _meta(scim, capabilities, user)
    if when(after.get("lastModified")) != when(before.get("lastModified")):
        raise ValueMismatch(
            "a PATCH that changed nothing moved meta.lastModified",
            expected=before.get("lastModified"),
            actual=after.get("lastModified"),
        )


@clause("rfc7644-3.5.2.1-should-1")
def test_noop_add_keeps_version(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.5.2.1: an add of a value already present makes no change (same meta.version)."""
    capabilities.require("patch")
    user = make_user()
    before = _meta(scim, capabilities, user)
    if not before.get("version"):
        raise Unsupported("the server returns no meta.version")
    succeeded(patch(scim, capabilities, user, op("add", "displayName", user["displayName"])))
    after = _meta(scim, capabilities, user)
    if after.get("version") != before.get("version"):
        raise ValueMismatch(
            "a PATCH that changed nothing changed meta.version",
            expected=before.get("version"),
            actual=after.get("version"),
        )


@clause("rfc7644-3.14-must-1", "rfc7643-3.1-must-13", keyword="SHOULD")
def test_change_moves_last_modified_and_version(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker
) -> None:
    """RFC 7643 3.1 / RFC 7644 3.14: a PATCH that changes the resource moves lastModified
    forward and gives it a new version (the old ETag must no longer match)."""
    capabilities.require("patch")
    user = make_user()
    before = _meta(scim, capabilities, user)
    _pause_for(before)
    succeeded(patch(scim, capabilities, user, op("replace", "displayName", "Moved On")))
    after = _meta(scim, capabilities, user)
    old, new = when(before.get("lastModified")), when(after.get("lastModified"))
    problems = []
    if old is not None and (new is None or new <= old):
        problems.append(f"lastModified {before.get('lastModified')} -> {after.get('lastModified')}")
    if before.get("version") and after.get("version") == before.get("version"):
        problems.append(f"version stayed {before.get('version')}")
    if problems:
        raise ValueMismatch(
            "the PATCH changed the resource but not its meta: " + "; ".join(problems),
            expected="a later lastModified, a new version",
            actual={"before": before, "after": after},
        )


# -- operation names: the RFC's lower case and Entra's capitals --------------------------------


@clause("rfc7644-3.5.2-must-3", "rfc7644-3.5.2-must-13")
def test_capitalized_op_is_applied_or_refused(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2: "Replace" is not an RFC op name: a server may refuse it or apply it,
    but never answer success and ignore it."""
    capabilities.require("patch")
    user = make_user()
    response = patch(scim, capabilities, user, op("Replace", "displayName", "Capital Op"))
    if 200 <= response.status < 300:
        read_back(user, {"displayName": "Capital Op"})
    else:
        refused_unchanged(response, user, read_back)


IDP_CAPITALIZED = ("Add", "Replace", "Remove")


@clause("rfc7644-3.5.2-must-3", keyword="SHOULD")
@pytest.mark.parametrize("name", IDP_CAPITALIZED)
def test_idp_capitalized_ops_are_applied(
    scim: ScimClient,
    capabilities: Capabilities,
    make_user: Maker,
    read_back: ReadBack,
    name: str,
) -> None:
    """RFC 7644 3.5.2 (IdP dialect, Entra): "Add", "Replace", "Remove" work as the RFC names.

    Refusing is RFC-strict (a skip: Entra cannot provision); success must apply the op.
    """
    capabilities.require("patch")
    needs(capabilities, "User", "title")
    user = make_user(title="Engineer")
    expected: dict[str, Any] = {"title": None if name == "Remove" else f"{name} Title"}
    operation = op(name, "title") if name == "Remove" else op(name, "title", expected["title"])
    idp_applied(patch(scim, capabilities, user, operation), user, read_back, expected)


@clause("rfc7644-3.5.2-must-3", "rfc7644-3.5.2.3-must-4", keyword="SHOULD")
def test_idp_entra_default_update_body(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2 (IdP dialect, Entra default): Microsoft's published update body, one
    "Replace" per attribute, is applied whole (a refusal skips; ignoring it fails)."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails", "name.givenName", "name.familyName")
    needs_enterprise(capabilities, "employeeNumber")
    user = make_user()
    email = _addr(user, "entra")
    operations = (
        op("Replace", "displayName", "Pvlo Entra"),
        op("Replace", 'emails[type eq "work"].value', email),
        op("Replace", "name.givenName", "Gtfd"),
        op("Replace", "name.familyName", "Pkqf"),
        op("Replace", "externalId", f"{user['externalId']}-entra"),
        op("Replace", f"{ENTERPRISE_URN}:employeeNumber", "Eqpj"),
    )
    expected = {
        "displayName": "Pvlo Entra",
        "emails": [{"value": email, "type": "work"}],
        "name": {"givenName": "Gtfd", "familyName": "Pkqf"},
        "externalId": f"{user['externalId']}-entra",
        ENTERPRISE_URN: {"employeeNumber": "Eqpj"},
    }
    idp_applied(patch(scim, capabilities, user, *operations), user, read_back, expected)


@clause("rfc7644-3.5.2-may-1", keyword="SHOULD")
def test_idp_string_boolean_is_accepted(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2 (IdP dialect, Entra): "active" as the string "False" deactivates.

    Refusing is RFC-strict (a skip: Entra cannot deactivate); success must store false.
    """
    capabilities.require("patch")
    needs(capabilities, "User", "active")
    user = make_user(active=True)
    idp_applied(
        patch(scim, capabilities, user, op("replace", "active", "False")),
        user,
        read_back,
        {"active": False},
    )


@clause("rfc7644-3.5.2.3-must-1", keyword="SHOULD")
def test_idp_dotted_keys_in_pathless_replace(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.3 (IdP dialect, Entra): path-less replace keyed "name.givenName" and
    "urn:...:User:employeeNumber" sets those attributes (a refusal skips)."""
    capabilities.require("patch")
    needs(capabilities, "User", "name.givenName")
    needs_enterprise(capabilities, "employeeNumber")
    user = make_user()
    value = {
        "displayName": "Dotted Keys",
        "name.givenName": "Dotty",
        f"{ENTERPRISE_URN}:employeeNumber": "E-2002",
    }
    idp_applied(
        patch(scim, capabilities, user, op("replace", value=value)),
        user,
        read_back,
        {
            "displayName": "Dotted Keys",
            "name": {"givenName": "Dotty"},
            ENTERPRISE_URN: {"employeeNumber": "E-2002"},
        },
    )


@clause("rfc7644-3.5.2-may-1", keyword="SHOULD")
def test_idp_manager_as_plain_string(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7643 4.3 (IdP dialect, Entra): a manager sent as a bare id string is stored as
    manager.value (a refusal skips)."""
    capabilities.require("patch")
    needs_enterprise(capabilities, "manager")
    boss, user = make_user(), make_user()
    path = f"{ENTERPRISE_URN}:manager"
    response = patch(scim, capabilities, user, op("replace", path, boss["id"]))
    idp_applied(response, user, read_back, {ENTERPRISE_URN: {"manager": {"value": boss["id"]}}})


@clause("rfc7644-3.5.2.1-must-1", keyword="SHOULD")
def test_idp_add_filtered_path_creates_missing_value(
    scim: ScimClient, capabilities: Capabilities, make_user: Maker, read_back: ReadBack
) -> None:
    """RFC 7644 3.5.2.1 (IdP dialect, Entra): add 'emails[type eq "work"].value' with no work
    email yet creates one, as Entra sends for a first work address (a refusal skips)."""
    capabilities.require("patch")
    needs(capabilities, "User", "emails")
    base = make_user()
    home, work = _addr(base, "h"), _addr(base, "w")
    user = make_user(emails=[{"value": home, "type": "home", "primary": True}])
    idp_applied(
        patch(scim, capabilities, user, op("add", 'emails[type eq "work"].value', work)),
        user,
        read_back,
        {"emails": [{"value": home, "type": "home"}, {"value": work, "type": "work"}]},
    )
