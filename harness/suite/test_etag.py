"""Versioning (RFC 7644 section 3.14, RFC 7643 section 3.1 meta.version, RFC 7232).

Every check skips when /ServiceProviderConfig declares "etag.supported": false. A server
that declares ETags sends them as a header equal to meta.version, changes them on every
write, answers conditional GETs with 304 and refuses writes with an outdated If-Match.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from harness.checks import clause, expect_status
from harness.client import Response, ScimClient
from harness.discovery import Capabilities
from harness.verdicts import Blocked, HeaderMismatch, StatusMismatch, ValueMismatch

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ENTITY_TAG = re.compile(r'^(W/)?"[\x21\x23-\x7e\x80-\xff]*"$')
"""RFC 7232 2.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (the W is upper case)."""

Body = dict[str, Any]
Maker = Callable[..., Body]


@pytest.fixture
def etags(capabilities: Capabilities) -> Capabilities:
    """Skips the check when the server declares ETags unsupported."""
    capabilities.require("etag")
    return capabilities


def _path(capabilities: Capabilities, resource: Body, resource_type: str = "User") -> str:
    return f"{capabilities.endpoint(resource_type).rstrip('/')}/{resource['id']}"


def _replacement(user: Body, **changes: Any) -> Body:
    body = {k: v for k, v in user.items() if k not in ("id", "meta", "groups")}
    body.update(changes)
    return body


def _patch(value: str) -> Body:
    return {"schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": value}]}  # fmt: skip


def _prereq(response: Response, *codes: int) -> Response:
    """A response a check builds on; Blocked (not failed) when its status is unexpected."""
    if response.status not in codes:
        raise Blocked(
            f"{response.exchange.method} answered {response.status} (a prerequisite of this "
            "check; the check of that operation reports it)",
            exchanges=[response.exchange],
        )
    return response


def _etag(response: Response, what: str) -> str:
    """The ETag header of a response; HeaderMismatch (RFC 7644 3.14) when it is missing."""
    value = response.headers.get("etag")
    if not value or not value.strip():
        raise HeaderMismatch(
            f"{what} answered without an ETag header",
            expected='ETag: W/"<version>"',
            actual="(absent)",
            exchanges=[response.exchange],
        )
    return str(value).strip()


def _change(
    method: str, scim: ScimClient, etags: Capabilities, user: Body, **kw: Any
) -> tuple[Response, str]:
    """A change of displayName by PUT or PATCH (PATCH needs patch support), or a DELETE."""
    path = _path(etags, user)
    value = f"scimtest {method.lower()} {uuid.uuid4().hex[:8]}"
    if method == "PATCH":
        etags.require("patch")
        return scim.patch(path, json=_patch(value), **kw), value
    if method == "DELETE":
        return scim.delete(path, **kw), value
    return scim.put(path, json=_replacement(user, displayName=value), **kw), value


def _write(method: str, scim: ScimClient, etags: Capabilities, user: Body, **kw: Any) -> Response:
    return _change(method, scim, etags, user, **kw)[0]


def _respond(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker, user_body: Maker,
    created: Any,
) -> tuple[Response, str]:  # fmt: skip
    """A successful GET, POST, PUT or PATCH of a User: the response and the User's id."""
    if method == "POST":
        endpoint = etags.endpoint("User")
        response = scim.post(endpoint, json=user_body())
        rid = ""
        if response.status == 201:
            rid = created.add(endpoint, response.json_object()).rsplit("/", 1)[-1]
        return _prereq(response, 201), rid
    user = make_user()
    return _respond_to(method, scim, etags, user), str(user["id"])


def _respond_to(method: str, scim: ScimClient, etags: Capabilities, user: Body) -> Response:
    if method == "GET":
        return _prereq(scim.get(_path(etags, user)), 200)
    return _prereq(
        _write(method, scim, etags, user), *((200, 204) if method == "PATCH" else (200,))
    )


def _with_body(response: Response) -> dict[str, Any]:
    """The resource in the response; skips when a PATCH answered 204 (RFC 7644 3.5.2 allows)."""
    if response.status == 204:
        pytest.skip("PATCH answered 204 No Content (allowed): no representation to inspect")
    return response.json_object()


def _tag_or_skip(response: Response, what: str) -> str:
    """The ETag; on a 204 without one, skip: the RFC asks for it with a representation."""
    if response.status == 204 and not response.headers.get("etag"):
        pytest.skip("PATCH answered 204 No Content without an ETag: no representation")
    return _etag(response, what)


# -- the ETag header and meta.version -------------------------------------------------------------

RESPONDING = ("GET", "POST", "PUT", "PATCH")


@clause("rfc7644-3.14-must-1")
@pytest.mark.parametrize("method", RESPONDING)
def test_response_carries_etag(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker, user_body: Maker,
    created: Any,
) -> None:  # fmt: skip
    """RFC 7644 3.14: with versioning supported, the ETag is sent as an HTTP header."""
    response, _rid = _respond(method, scim, etags, make_user, user_body, created)
    _tag_or_skip(response, f"{method} of a User")


@clause("rfc7643-3.1-must-15", "rfc7644-3.14-must-1")
@pytest.mark.parametrize("method", RESPONDING)
def test_etag_is_an_entity_tag(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker, user_body: Maker,
    created: Any,
) -> None:  # fmt: skip
    """RFC 7643 3.1: the version is an entity-tag, "W/" (upper case) marking a weak one."""
    response, _rid = _respond(method, scim, etags, make_user, user_body, created)
    tag = _tag_or_skip(response, f"{method} of a User")
    if not ENTITY_TAG.match(tag):
        raise HeaderMismatch(
            f"the ETag {tag!r} is not an RFC 7232 entity-tag",
            expected='"<opaque>" or W/"<opaque>" (W upper case)',
            actual=tag,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.14-must-1", keyword="SHOULD")
@pytest.mark.parametrize("method", RESPONDING)
def test_meta_version_is_present(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker, user_body: Maker,
    created: Any,
) -> None:  # fmt: skip
    """RFC 7644 3.14: the ETag SHOULD also be given as meta.version in the resource."""
    response, _rid = _respond(method, scim, etags, make_user, user_body, created)
    meta = _with_body(response).get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(version, str) or not version:
        raise ValueMismatch(
            "the resource has no meta.version",
            expected='"meta": {"version": "W/\\"...\\""}',
            actual=meta,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.14-must-1", "rfc7643-3.1-must-15", keyword="MUST")
@pytest.mark.parametrize("method", RESPONDING)
def test_etag_equals_meta_version(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker, user_body: Maker,
    created: Any,
) -> None:  # fmt: skip
    """RFC 7643 3.1: meta.version "must be the same as the entity-tag (ETag) HTTP header"."""
    response, _rid = _respond(method, scim, etags, make_user, user_body, created)
    body = _with_body(response)
    tag = _etag(response, f"{method} of a User")
    meta = body.get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    if version is None:
        pytest.skip("no meta.version to compare (see test_meta_version_is_present)")
    if version != tag:
        raise ValueMismatch(
            "meta.version differs from the ETag header",
            expected=tag,
            actual=version,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.14-must-1", "rfc7644-3.1-must-3", keyword="MUST")
@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_write_etag_is_the_new_version(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker, user_body: Maker,
    created: Any,
) -> None:  # fmt: skip
    """RFC 7644 3.14: the ETag a write returns is the version a read right after shows."""
    response, rid = _respond(method, scim, etags, make_user, user_body, created)
    written = _tag_or_skip(response, f"{method} of a User")
    read = _prereq(scim.get(_path(etags, {"id": rid})), 200)
    if _etag(read, "GET after the write") != written:
        raise ValueMismatch(
            f"the {method} answered ETag {written}, a read right after shows another",
            expected=written,
            actual=read.headers.get("etag"),
            exchanges=[response.exchange, read.exchange],
        )


@clause("rfc7644-3.14-must-1", "rfc7644-3.1-must-3", keyword="MUST")
def test_listed_version_is_the_etag(
    scim: ScimClient, etags: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.14: a resource found by a query carries the version its GET sends as ETag."""
    etags.require("filter")
    user = make_user()
    tag = _current(scim, etags, user)
    listed = scim.get(
        etags.endpoint("User"), params={"filter": f'userName eq "{user["userName"]}"'}
    )
    found = [r for r in _prereq(listed, 200).json_object().get("Resources") or []
             if isinstance(r, dict) and r.get("id") == user["id"]]  # fmt: skip
    if not found:
        raise Blocked("the User could not be found by its userName (see test_query)")
    meta = found[0].get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    if version is None:
        pytest.skip("listed resources carry no meta.version (see test_meta_version_is_present)")
    if version != tag:
        raise ValueMismatch(
            "the listed meta.version differs from the resource's ETag",
            expected=tag,
            actual=version,
            exchanges=[listed.exchange],
        )


@clause("rfc7644-3.14-must-1", "rfc7643-3.1-must-15")
def test_group_carries_etag_equal_to_meta_version(
    scim: ScimClient, etags: Capabilities, make_group: Maker
) -> None:
    """RFC 7644 3.14: a Group, too, is served with an ETag header equal to its meta.version."""
    group = make_group()
    response = _prereq(scim.get(_path(etags, group, "Group")), 200)
    tag = _etag(response, "GET of a Group")
    meta = response.json_object().get("meta")
    version = meta.get("version") if isinstance(meta, dict) else None
    if version is not None and version != tag:
        raise ValueMismatch(
            "the Group's meta.version differs from its ETag header",
            expected=tag,
            actual=version,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.14-must-1")
def test_etag_stable_across_reads(scim: ScimClient, etags: Capabilities, make_user: Maker) -> None:
    """RFC 7644 3.14: reading a resource does not change its version."""
    user = make_user()
    first = _prereq(scim.get(_path(etags, user)), 200)
    second = _prereq(scim.get(_path(etags, user)), 200)
    a, b = _etag(first, "GET"), _etag(second, "GET")
    if a != b:
        raise ValueMismatch(
            "two reads of an unchanged resource carry different ETags",
            expected=a,
            actual=b,
            exchanges=[first.exchange, second.exchange],
        )


@clause("rfc7644-3.14-must-1", "rfc7644-3.14-may-3", keyword="MUST")
@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_etag_changes_after_write(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.14: a modification gives the resource a new version (ETag)."""
    user = make_user()
    before = _etag(_prereq(scim.get(_path(etags, user)), 200), "GET")
    _prereq(_write(method, scim, etags, user), 200, 204)
    after_read = _prereq(scim.get(_path(etags, user)), 200)
    after = _etag(after_read, "GET after the write")
    if after == before:
        raise ValueMismatch(
            f"the ETag did not change after a {method} that changed displayName",
            expected=f"an ETag other than {before}",
            actual=after,
            exchanges=[after_read.exchange],
        )


@clause("rfc7644-3.14-must-1", keyword="MUST")
def test_group_etag_changes_with_membership(
    scim: ScimClient, etags: Capabilities, make_user: Maker, make_group: Maker
) -> None:
    """RFC 7644 3.14: adding a member changes the Group's version."""
    etags.require("patch")
    group, user = make_group(), make_user()
    path = _path(etags, group, "Group")
    before = _etag(_prereq(scim.get(path), 200), "GET of the Group")
    add = {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    op = {"schemas": [PATCH_OP], "Operations": [add]}
    _prereq(scim.patch(path, json=op), 200, 204)
    after_read = _prereq(scim.get(path), 200)
    after = _etag(after_read, "GET of the Group after the PATCH")
    if after == before:
        raise ValueMismatch(
            "the Group's ETag did not change when a member was added",
            expected=f"an ETag other than {before}",
            actual=after,
            exchanges=[after_read.exchange],
        )


# -- conditional GET (If-None-Match) ------------------------------------------------------------


def _current(scim: ScimClient, etags: Capabilities, user: Body) -> str:
    return _etag(_prereq(scim.get(_path(etags, user)), 200), "GET")


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


@clause("rfc7644-3.14-may-2", keyword="MUST")
def test_if_none_match_current_is_304(
    scim: ScimClient, etags: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.14: GET with If-None-Match of the current ETag answers 304 Not Modified."""
    user = make_user()
    tag = _current(scim, etags, user)
    expect_status(scim.get(_path(etags, user), headers={"If-None-Match": tag}), 304)


@clause("rfc7644-3.14-may-2", "rfc7644-3.14-must-1", keyword="MUST")
def test_not_modified_carries_etag(scim: ScimClient, etags: Capabilities, make_user: Maker) -> None:
    """RFC 7232 4.1 (as RFC 7644 3.14 uses it): a 304 sends the ETag a 200 would have sent."""
    user = make_user()
    tag = _current(scim, etags, user)
    response = expect_status(scim.get(_path(etags, user), headers={"If-None-Match": tag}), 304)
    got = _etag(response, "the 304 answer")
    if got != tag:
        raise HeaderMismatch(
            "the 304 carries another ETag than the current one",
            expected=tag,
            actual=got,
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.14-may-2", keyword="MUST")
def test_if_none_match_stale_is_200(
    scim: ScimClient, etags: Capabilities, make_user: Maker, read_back: Callable[..., Body]
) -> None:
    """RFC 7644 3.14: If-None-Match of an outdated ETag returns the modified resource (200)."""
    user = make_user()
    old = _current(scim, etags, user)
    changed = _prereq(_write("PUT", scim, etags, user), 200).json_object()
    response = scim.get(_path(etags, user), headers={"If-None-Match": old})
    expect_status(response, 200)
    body = response.json_object()
    if body.get("displayName") != changed.get("displayName"):
        raise ValueMismatch(
            "the conditional GET did not return the modified resource",
            expected=changed.get("displayName"),
            actual=body.get("displayName"),
            exchanges=[response.exchange],
        )


@clause("rfc7644-3.14-may-2", "rfc7644-3.14-may-1", keyword="MUST")
def test_if_none_match_compares_weakly(
    scim: ScimClient, etags: Capabilities, make_user: Maker
) -> None:
    """RFC 7232 3.2 (RFC 7644 3.14): If-None-Match uses weak comparison: W/"x" matches "x"."""
    user = make_user()
    tag = _current(scim, etags, user)
    other = _opaque(tag) if tag.startswith("W/") else f"W/{tag}"
    expect_status(scim.get(_path(etags, user), headers={"If-None-Match": other}), 304)


@clause("rfc7644-3.14-may-2", keyword="MUST")
def test_if_none_match_list_matches_any(
    scim: ScimClient, etags: Capabilities, make_user: Maker
) -> None:
    """RFC 7232 3.2 (RFC 7644 3.14): If-None-Match with a list matches when any tag matches."""
    user = make_user()
    tag = _current(scim, etags, user)
    listed = f'W/"scimtest-other-{uuid.uuid4().hex[:8]}", {tag}'
    expect_status(scim.get(_path(etags, user), headers={"If-None-Match": listed}), 304)


# -- conditional writes (If-Match) ----------------------------------------------------------------

WRITES = ("PUT", "PATCH", "DELETE")


def _stale(scim: ScimClient, etags: Capabilities, make_user: Maker) -> tuple[Body, str, Body]:
    """(a user, an outdated ETag of it, its state now)."""
    user = make_user()
    old = _current(scim, etags, user)
    now = _prereq(_write("PUT", scim, etags, user), 200).json_object()
    if _current(scim, etags, user) == old:
        raise Blocked("the ETag did not change after a PUT (see test_etag_changes_after_write)")
    return user, old, now


@clause("rfc7644-3.14-may-3", "rfc7644-3.14-must-1", keyword="MUST")
@pytest.mark.parametrize("method", WRITES)
def test_stale_if_match_is_refused(
    method: str,
    scim: ScimClient,
    etags: Capabilities,
    make_user: Maker,
    read_back: Callable[..., Body],
) -> None:
    """RFC 7644 3.14: a write with an outdated If-Match fails and leaves the resource as it is."""
    user, old, now = _stale(scim, etags, make_user)
    response = _write(method, scim, etags, user, headers={"If-Match": old})
    if 200 <= response.status < 300:
        raise StatusMismatch(
            f"{method} with an outdated If-Match was performed",
            expected="412 Precondition Failed",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    read_back(user, {"displayName": now.get("displayName")})


@clause("rfc7644-3.14-may-3", keyword="MUST")
def test_stale_if_match_on_group_is_refused(
    scim: ScimClient, etags: Capabilities, make_group: Maker, read_back: Callable[..., Body]
) -> None:
    """RFC 7644 3.14: a Group PUT with an outdated If-Match fails and changes nothing."""
    group = make_group()
    path = _path(etags, group, "Group")
    old = _etag(_prereq(scim.get(path), 200), "GET of the Group")
    body = {k: v for k, v in group.items() if k not in ("id", "meta")}
    renamed = f"{group['displayName']} renamed"
    _prereq(scim.put(path, json={**body, "displayName": renamed}), 200)
    if _etag(_prereq(scim.get(path), 200), "GET of the Group") == old:
        raise Blocked("the Group's ETag did not change after a PUT")
    response = scim.put(path, json={**body, "displayName": f"{renamed} twice"},
                        headers={"If-Match": old})  # fmt: skip
    if 200 <= response.status < 300:
        raise StatusMismatch(
            "a Group PUT with an outdated If-Match was performed",
            expected="412 Precondition Failed",
            actual=str(response.status),
            exchanges=[response.exchange],
        )
    read_back(group, {"displayName": renamed}, resource_type="Group")


@clause("rfc7644-3.12-should-1", "rfc7644-3.14-may-3", keyword="SHOULD")
def test_if_match_on_unknown_resource_is_404(scim: ScimClient, etags: Capabilities) -> None:
    """RFC 7644 3.12 (RFC 7232 5: preconditions yield to the 404): an unknown id stays 404."""
    path = f"{etags.endpoint('User').rstrip('/')}/scimtest-{uuid.uuid4().hex}"
    expect_status(scim.delete(path, headers={"If-Match": 'W/"1"'}), 404)


@clause("rfc7644-3.14-may-3", "rfc7644-3.12-should-1", keyword="SHOULD")
@pytest.mark.parametrize("method", WRITES)
def test_stale_if_match_is_412(
    method: str, scim: ScimClient, etags: Capabilities, make_user: Maker
) -> None:
    """RFC 7644 3.12: the refusal of an outdated If-Match is 412 Precondition Failed."""
    user, old, _ = _stale(scim, etags, make_user)
    expect_status(_write(method, scim, etags, user, headers={"If-Match": old}), 412)


@clause("rfc7644-3.14-may-3", keyword="MUST")
@pytest.mark.parametrize("method", WRITES)
def test_current_if_match_is_applied(
    method: str,
    scim: ScimClient,
    etags: Capabilities,
    make_user: Maker,
    read_back: Callable[..., Body],
) -> None:
    """RFC 7644 3.14: a write whose If-Match is the current ETag succeeds and takes effect."""
    user = make_user()
    tag = _current(scim, etags, user)
    response, value = _change(method, scim, etags, user, headers={"If-Match": tag})
    expect_status(response, *{"PUT": (200,), "PATCH": (200, 204), "DELETE": (204,)}[method])
    if method == "DELETE":
        gone = scim.get(_path(etags, user))
        if gone.status != 404:
            raise StatusMismatch(
                "the DELETE with a current If-Match did not remove the resource",
                expected="404",
                actual=str(gone.status),
                exchanges=[response.exchange, gone.exchange],
            )
        return
    read_back(user, {"displayName": value})
