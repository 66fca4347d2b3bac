"""Each profile sends its IdP's requests as documented: the simulator's wire requests are
compared with the wire-format examples of the research notes (reference_examples.json).

Values the IdP fills from its directory (names, ids, e-mails) are compared by shape; what
makes a quirk (op spelling, paths, "False" strings, URNs, keys, nulls, booleans, query
parameters and their order of magnitude) is compared literally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from harness.client import ScimClient
from harness.idp._templates import render
from harness.idp.model import DirectoryGroup, DirectoryUser
from harness.idp.profiles import load_profile, profile_names
from harness.idp.simulator import Simulator

HERE = Path(__file__).parent
EXAMPLES = {e["id"]: e for e in json.loads((HERE / "reference_examples.json").read_text("utf-8"))}
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
USER = DirectoryUser(
    user_name="test.person@example.com",
    given_name="Test",
    family_name="Person",
    email="test.person@example.com",
    display_name="Test Person",
    external_id="00ujl29u0le5T6Aj10h7",
    title="Engineer",
    department="Finance",
    employee_number="E0001",
)
GROUP = DirectoryGroup("Test SCIMv2", "8aa1a0c0")
KEPT = {
    "False", "True", "true", "false", "work", "mobile", "en-US",
    "add", "replace", "remove", "Add", "Replace", "Remove", "1mz050nq",
}  # fmt: skip


def _literal_free(text: str) -> str:
    """A path or filter with its values blanked: `members[value eq "…"]`, `externalId eq …`
    (an unquoted value stays unquoted)."""
    quoted = re.sub(r'"[^"]*"', '"…"', text)
    return re.sub(r"\b(eq|ne|co|sw|ew|gt|ge|lt|le) (?![\"(])[^\s\])]+", r"\1 …", quoted)


def skeleton(value: Any, key: str = "") -> Any:
    """The shape of a JSON value, keeping what makes an IdP's dialect."""
    if isinstance(value, dict):
        return {k: skeleton(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [skeleton(v, key) for v in value]
    if not isinstance(value, str):
        return value
    if key in ("path", "filter") or value.startswith(("urn:", "http://schemas.")):
        return _literal_free(value)
    return value if value in KEPT or key in ("op", "type", "resourceType") else "<str>"


def contains(big: Any, small: Any) -> bool:
    """`small` (a skeleton) is part of `big`: keys, list elements, equal leaves."""
    if isinstance(small, dict):
        return isinstance(big, dict) and all(
            k in big and contains(big[k], v) for k, v in small.items()
        )
    if isinstance(small, list):
        return isinstance(big, list) and all(any(contains(b, s) for b in big) for s in small)
    return bool(big == small)


@dataclass(frozen=True)
class Sent:
    method: str
    path: str  # below the base URL, ids as {id}
    query: list[tuple[str, str]]
    raw_query: str
    body: Any


def _normal_path(path: str) -> str:
    return re.sub(r"^/(Users|Groups)/[^/?]+", r"/\1/{id}", path)


def example_request(example_id: str) -> Sent:
    example = EXAMPLES[example_id]
    parts = urlsplit(example["path"])
    query = parse_qsl(parts.query, keep_blank_values=True)
    return Sent(example["method"], _normal_path(parts.path), query, parts.query, example["body"])


def _respond(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content) if request.content else None
    if request.method == "POST":
        reply: Any = {**(body or {}), "id": "new-id"}
        reply.pop("password", None)
        status = 201
    elif request.method == "GET" and request.url.path.rstrip("/").endswith(("/Users", "/Groups")):
        reply, status = {"schemas": [LIST], "totalResults": 0, "Resources": []}, 200
    elif request.method in ("GET", "PUT"):
        reply = {
            **(body or {}),
            "id": "u1",
            "userName": USER.user_name,
            "meta": {"resourceType": "User"},
        }
        reply.pop("password", None)
        status = 200
    else:
        reply, status = None, 204
    content = b"" if reply is None else json.dumps(reply).encode()
    headers = {"content-type": "application/scim+json"} if content else {}
    return httpx.Response(status, content=content, headers=headers)


def sent_by(profile: str, call: Callable[[Simulator], object]) -> list[Sent]:
    """The requests one simulator operation sends (against a scripted server)."""
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return _respond(request)

    client = ScimClient("http://idp.test/scim/v2", "t", transport=httpx.MockTransport(record))
    call(Simulator(client, load_profile(profile)))
    out = []
    for request in requests:
        raw = request.url.query.decode()
        path = request.url.path.removeprefix("/scim/v2")
        body = json.loads(request.content) if request.content else None
        out.append(
            Sent(
                request.method,
                _normal_path(path),
                parse_qsl(raw, keep_blank_values=True),
                raw,
                body,
            )
        )
    return out


def quirk_sent(profile: str, quirk_id: str) -> Sent:
    """The quirk's request as rendered for a set-up resource."""
    quirk = load_profile(profile).quirk(quirk_id)
    ctx = {"id": "u1", "members": ["m0", "m1", "m2", "m3"], "user": USER, "new": USER,
           "group": GROUP, "new_group": GROUP, "other_id": "m9"}  # fmt: skip
    template = quirk.request
    params = {k: render(v, ctx) for k, v in template.params.items()}
    raw = render(template.query, ctx) if template.query is not None else ""
    query = list(params.items()) or parse_qsl(raw, keep_blank_values=True)
    body = render(template.body, ctx) if template.has_body else None
    return Sent(template.method, _normal_path(render(template.path, ctx)), query, raw, body)


def same_query(ours: Sent, theirs: Sent) -> None:
    assert [k for k, _ in ours.query] == [k for k, _ in theirs.query] or dict(
        ours.query
    ).keys() == dict(theirs.query).keys()
    for (key, value), (_, documented) in zip(sorted(ours.query), sorted(theirs.query), strict=True):
        if key == "filter":
            assert _literal_free(value) == _literal_free(documented)
        elif documented.isdigit():
            assert value == documented, key


OPS = {
    "lookup_user": lambda s: s.lookup_user(USER),
    "create_user": lambda s: s.create_user(USER),
    "update_user": lambda s: s.update_user("u1", USER),
    "deactivate_user": lambda s: s.deactivate_user("u1"),
    "reactivate_user": lambda s: s.reactivate_user("u1"),
    "unassign_user": lambda s: s.unassign_user("u1"),
    "delete_user": lambda s: s.delete_user("u1"),
    "lookup_group": lambda s: s.lookup_group(GROUP),
    "create_group": lambda s: s.create_group(GROUP),
    "add_members": lambda s: s.add_members("g1", ["m0"]),
    "remove_members": lambda s: s.remove_members("g1", ["m0"]),
    "rename_group": lambda s: s.rename_group("g1", GROUP),
    "delete_group": lambda s: s.delete_group("g1"),
    "import_users": lambda s: s.import_users(),
    "probe": lambda s: s.probe(),
}

# (profile, operation, request index, example id, how the bodies compare)
# equal: same skeleton; documented-in-ours: all the example sends, ours sends too (ours adds
# mapped attributes); ours-in-documented: ours is part of the example (a quirk sent alone).
OPERATION_PAIRS = [
    ("entra", "lookup_user", 0, "entra-get-user-by-username-filter", "equal"),
    ("entra", "create_user", 0, "entra-post-user", "documented-in-ours"),
    ("entra", "update_user", 0, "entra-patch-update-default-dialect", "documented-in-ours"),
    ("entra", "deactivate_user", 0, "entra-patch-deactivate-default-dialect", "equal"),
    ("entra", "delete_user", 0, "entra-delete-user", "equal"),
    ("entra", "lookup_group", 0, "entra-get-group-by-displayname-excluding-members", "equal"),
    ("entra", "create_group", 0, "entra-post-group-microsoft-schema-urn", "equal"),
    ("entra", "add_members", 0, "entra-patch-group-add-members", "equal"),
    ("entra", "remove_members", 0, "entra-patch-group-remove-members-value-list", "equal"),
    ("entra", "rename_group", 0, "entra-patch-group-rename", "equal"),
    ("entra", "delete_group", 0, "entra-delete-group", "equal"),
    ("okta", "lookup_user", 0, "okta-get-user-by-username-filter", "equal"),
    ("okta", "probe", 0, "okta-get-users-probe", "equal"),
    ("okta", "probe", 1, "okta-get-groups-probe", "equal"),
    ("okta", "create_user", 0, "okta-post-user", "equal"),
    ("okta", "update_user", 1, "okta-put-user-profile-update", "ours-in-documented"),
    ("okta", "deactivate_user", 0, "okta-patch-deactivate-pathless", "equal"),
    ("okta", "unassign_user", 0, "okta-patch-deactivate-pathless", "equal"),
    ("okta", "reactivate_user", 0, "okta-patch-reactivate-pathless", "equal"),
    ("okta", "create_group", 0, "okta-post-group", "equal"),
    ("okta", "rename_group", 0, "okta-patch-group-rename-with-id", "equal"),
    ("okta", "delete_group", 0, "okta-delete-group", "equal"),
    ("onelogin", "lookup_user", 0, "onelogin-get-user-by-username-trailing-ampersand", "equal"),
    ("onelogin", "probe", 0, "onelogin-get-user-absent-probe", "equal"),
    (
        "onelogin",
        "create_user",
        0,
        "onelogin-post-user-v2-enterprise-template",
        "ours-in-documented",
    ),
    ("onelogin", "unassign_user", 0, "onelogin-delete-user", "equal"),
    ("onelogin", "delete_user", 0, "onelogin-delete-user", "equal"),
    ("jumpcloud", "deactivate_user", 0, "jumpcloud-patch-deprovision-inactive", "equal"),
    ("jumpcloud", "add_members", 0, "jumpcloud-patch-group-add-member-value-list", "equal"),
    ("jumpcloud", "remove_members", 0, "jumpcloud-patch-group-remove-member-value-list", "equal"),
]

QUIRK_PAIRS = [
    ("entra", "capitalized-op-names", "entra-patch-update-default-dialect", "ours-in-documented"),
    ("entra", "string-booleans", "entra-patch-deactivate-default-dialect", "equal"),
    ("entra", "add-on-single-valued", "entra-patch-multi-op-replace-and-add", "ops-spelled-alike"),
    (
        "entra",
        "filtered-path-add",
        "entra-patch-filtered-paths-on-absent-attributes",
        "ours-in-documented",
    ),
    ("entra", "filtered-path-replace", "entra-patch-update-default-dialect", "ours-in-documented"),
    ("entra", "enterprise-urn-path", "entra-patch-enterprise-urn-paths", "equal"),
    ("entra", "remove-members-with-value", "entra-patch-group-remove-members-value-list", "equal"),
    ("entra", "multiple-members-one-add", "entra-patch-group-add-members", "documented-in-ours"),
    ("entra", "manager-as-string", "entra-post-user-manager-plain-string", "documented-in-ours"),
    (
        "entra",
        "null-attributes-in-create",
        "entra-post-user-explicit-nulls-misspelt-urn",
        "nulls-alike",
    ),
    (
        "entra",
        "pathless-replace-dotted-keys",
        "entra-patch-update-flag-dialect-pathless-dotted-keys",
        "ours-in-documented",
    ),
    ("entra", "remove-member-by-filter", "entra-patch-group-remove-member-filter-path", "equal"),
    ("entra", "group-read-excludes-members", "entra-get-group-by-id-excluding-members", "equal"),
    ("entra", "lookup-miss-is-an-empty-list", "entra-get-user-by-username-filter", "equal"),
    ("entra", "manager-by-urn-path", "entra-patch-manager-urn-path-value-object", "equal"),
    (
        "entra",
        "manager-cleared-with-empty-string",
        "entra-patch-manager-remove-replace-empty-string",
        "equal",
    ),
    ("entra", "username-lookup-ignores-case", "validator-get-user-different-case", "equal"),
    ("entra", "app-role-as-json-string", "entra-patch-roles-json-string-value", "equal"),
    ("entra", "unquoted-filter-value", "entra-get-user-by-externalid-unquoted", "equal"),
    ("onelogin", "emails-single-object", "onelogin-post-user-emails-single-object", "equal"),
    ("okta", "pathless-replace-active", "okta-patch-deactivate-pathless", "equal"),
    ("okta", "group-rename-carries-id", "okta-patch-group-rename-with-id", "equal"),
    (
        "okta",
        "remove-and-add-members-in-one-patch",
        "okta-patch-group-membership-remove-and-add",
        "equal",
    ),
    (
        "okta",
        "member-objects-without-type",
        "okta-patch-group-membership-remove-and-add",
        "ours-in-documented",
    ),
    ("okta", "create-sends-password-and-groups", "okta-post-user", "equal"),
    (
        "okta",
        "put-echoes-read-only-attributes",
        "okta-put-user-profile-update",
        "ours-in-documented",
    ),
    ("onelogin", "legacy-schema-urns", "onelogin-put-user-legacy-urns", "equal"),
    (
        "onelogin",
        "trailing-ampersand-query",
        "onelogin-get-user-by-username-trailing-ampersand",
        "equal",
    ),
    ("onelogin", "active-as-string", "onelogin-post-user-active-string-null-id", "equal"),
    ("onelogin", "core-1-0-template", "onelogin-post-user-core-1-0-template", "equal"),
    (
        "jumpcloud",
        "remove-members-with-value",
        "jumpcloud-patch-group-remove-member-value-list",
        "equal",
    ),
]
# Quirks no example shows on the wire (the notes describe them in prose only).
QUIRKS_WITHOUT_EXAMPLE = {
    ("entra", "query-flag-on-base-url"),  # MS-COMPAT describes the flag, prints no request
    ("entra", "capitalised-sub-attribute"),  # MS-TUT's mapping table writes ".Value"
}
# Examples from Microsoft's validator and reference collection stand for Entra's traffic.
SAME_IDP = {"entra": {"entra", "ms-validator", "ms-postman"}}


def compare(ours: Sent, theirs: Sent, how: str) -> None:
    assert ours.method == theirs.method
    assert ours.path == theirs.path
    same_query(ours, theirs)
    if theirs.raw_query.endswith("&"):
        assert ours.raw_query.endswith("&")
    mine, documented = skeleton(ours.body), skeleton(theirs.body)
    if how == "equal":
        assert mine == documented
    elif how == "documented-in-ours":
        assert contains(mine, documented), (mine, documented)
    elif how == "ours-in-documented":
        assert contains(documented, mine), (mine, documented)
    elif how == "ops-spelled-alike":
        assert {o["op"] for o in mine["Operations"]} <= {o["op"] for o in documented["Operations"]}
    elif how == "nulls-alike":
        nulls = {k for k, v in documented.items() if v is None}
        assert {k for k, v in mine.items() if v is None} <= nulls
        assert len(nulls & {k for k, v in mine.items() if v is None}) >= 2
    else:  # pragma: no cover
        raise AssertionError(how)


@pytest.mark.parametrize(("profile", "operation", "index", "example", "how"), OPERATION_PAIRS,
                         ids=[f"{p}-{o}-{e}" for p, o, _, e, _ in OPERATION_PAIRS])  # fmt: skip
def test_operation_is_sent_as_documented(
    profile: str, operation: str, index: int, example: str, how: str
) -> None:
    sent = sent_by(profile, OPS[operation])
    compare(sent[index], example_request(example), how)


@pytest.mark.parametrize(("profile", "quirk", "example", "how"), QUIRK_PAIRS,
                         ids=[f"{p}-{q}" for p, q, _, _ in QUIRK_PAIRS])  # fmt: skip
def test_quirk_is_sent_as_documented(profile: str, quirk: str, example: str, how: str) -> None:
    """The quirk's request has the shape of the IdP's documented request."""
    assert EXAMPLES[example]["idp"] in SAME_IDP.get(profile, {profile})
    compare(quirk_sent(profile, quirk), example_request(example), how)


def test_every_quirk_is_compared_or_listed() -> None:
    """A new quirk comes with its documented example (or a reason it has none)."""
    compared = {(p, q) for p, q, _, _ in QUIRK_PAIRS}
    every = {(p, q.id) for p in profile_names() for q in load_profile(p).quirks}
    assert every == compared | QUIRKS_WITHOUT_EXAMPLE


def test_quirk_sources_are_the_examples_sources() -> None:
    """A quirk cites at least one of the sources of the example it is compared with."""
    for profile, quirk_id, example, _ in QUIRK_PAIRS:
        cited = set(load_profile(profile).quirk(quirk_id).source.split())
        assert cited & set(EXAMPLES[example]["source"]), (profile, quirk_id)


def test_a_changed_dialect_is_caught() -> None:
    """The comparison is not vacuous: a lower-cased Entra op differs from the documented one."""
    ours = quirk_sent("entra", "string-booleans")
    operation = {**ours.body["Operations"][0], "op": "replace"}
    body = {**ours.body, "Operations": [operation]}
    lowered = Sent(ours.method, ours.path, ours.query, ours.raw_query, body)
    with pytest.raises(AssertionError):
        compare(lowered, example_request("entra-patch-deactivate-default-dialect"), "equal")


def test_filter_values_are_blanked_quoted_or_not() -> None:
    assert _literal_free('userName eq "a@b"') == 'userName eq "…"'
    assert _literal_free("externalId eq jyoung") == "externalId eq …"
    assert _literal_free('members[value eq "x"]') == 'members[value eq "…"]'
