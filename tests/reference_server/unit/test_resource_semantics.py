"""Request bodies against the published schema: RFC 7643 section 2 characteristics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from reference_server.scim.errors import InvalidSyntax, InvalidValue, Mutability
from reference_server.scim.resources import (
    SEEK_PATHS,
    format_timestamp,
    hash_password,
    index_rows,
    index_values,
    normalize_datetime,
    prepare_create,
    prepare_replace,
    project,
    resource_columns,
    seal_password,
    search_document,
    split_members,
    utc_now,
    verify_password,
)
from reference_server.scim.schemas import CORE_GROUP, CORE_USER, ENTERPRISE_USER, load_registry

REG = load_registry()
# OneLogin's legacy URNs, IdP-compat aliases of the canonical ones in `schemas`.
LEGACY_CORE = "urn:scim:schemas:core:2.0"
LEGACY_ENTERPRISE = "urn:scim:schemas:extension:enterprise:2.0"


def user(**attrs: Any) -> dict[str, Any]:
    return {"schemas": [CORE_USER], "userName": "bjensen@example.com", **attrs}


def test_minimal_user_is_kept() -> None:
    assert prepare_create(REG, "User", user()) == {
        "schemas": [CORE_USER],
        "userName": "bjensen@example.com",
    }


def test_attribute_names_are_case_insensitive_and_stored_canonically() -> None:
    body = {"SCHEMAS": [CORE_USER.upper()], "USERNAME": "x", "Name": {"GIVENNAME": "B"}}
    assert prepare_create(REG, "User", body) == {
        "schemas": [CORE_USER],
        "userName": "x",
        "name": {"givenName": "B"},
    }


def test_read_only_attributes_are_ignored() -> None:
    body = user(id="client-id", meta={"created": "2020-01-01T00:00:00Z"}, groups=[{"value": "g"}])
    assert prepare_create(REG, "User", body) == user()


def test_external_id_and_password_are_kept() -> None:
    """externalId is stored as sent; the password only as its salted hash."""
    stored = prepare_create(REG, "User", user(externalId="E1", password="s3cret!"))
    assert stored["externalId"] == "E1"
    assert stored["password"] != "s3cret!"
    assert "s3cret!" not in repr(stored)
    assert verify_password(stored["password"], "s3cret!")


def test_password_hash_is_salted_scrypt() -> None:
    """Each hash has its own salt; only the right password verifies."""
    first, second = hash_password("pw"), hash_password("pw")
    assert first != second
    assert first.startswith("$scrypt$n=4096,r=8,p=1$")
    assert verify_password(first, "pw")
    assert verify_password(second, "pw")
    assert not verify_password(first, "pw2")
    assert not verify_password("pw", "pw")
    assert not verify_password("$scrypt$garbage", "pw")


def test_put_stores_the_password_hashed() -> None:
    """PUT (Okta echoes its placeholder password) stores a fresh hash, never the text."""
    current = prepare_create(REG, "User", user(password="old"))
    new = prepare_replace(REG, "User", current, user(password="1mz050nq"))
    assert new["password"] != "1mz050nq"
    assert verify_password(new["password"], "1mz050nq")


def test_seal_password_keeps_an_unchanged_hash() -> None:
    """A stored form whose password equals the previous (hashed) one is left alone."""
    previous = prepare_create(REG, "User", user(password="pw"))
    resource = dict(previous)
    seal_password(resource, previous)
    assert resource["password"] == previous["password"]
    resource["password"] = "new"
    seal_password(resource, previous)
    assert verify_password(resource["password"], "new")


def test_explicit_null_under_an_unknown_name_is_skipped() -> None:
    """Entra's older create sends `"manager": null` unqualified: null carries no data."""
    body = user(manager=None, department=None, **{ENTERPRISE_USER: {"nothing": None}})
    assert prepare_create(REG, "User", body) == user()
    with pytest.raises(InvalidValue, match="manager"):
        prepare_create(REG, "User", user(manager="boss"))
    with pytest.raises(InvalidValue, match="nothing"):
        prepare_create(REG, "User", user(**{ENTERPRISE_USER: {"nothing": "x"}}))


def test_scim_1_0_core_urn_is_an_alias_of_the_core_schema() -> None:
    """OneLogin's core template names only urn:scim:schemas:core:1.0."""
    body = user(name={"givenName": "Test"})
    body["schemas"] = ["urn:scim:schemas:core:1.0"]
    assert prepare_create(REG, "User", body) == user(name={"givenName": "Test"})
    group = {"schemas": ["urn:scim:schemas:core:1.0"], "displayName": "G"}
    assert prepare_create(REG, "Group", group) == {"schemas": [CORE_GROUP], "displayName": "G"}


@pytest.mark.parametrize("body", [{"schemas": [CORE_USER]}, user(userName=""), user(userName=None)])
def test_user_name_required(body: dict[str, Any]) -> None:
    with pytest.raises(InvalidValue, match="userName"):
        prepare_create(REG, "User", body)


def test_group_display_name_required() -> None:
    with pytest.raises(InvalidValue, match="displayName"):
        prepare_create(REG, "Group", {"schemas": [CORE_GROUP]})


@pytest.mark.parametrize(
    "schemas",
    [None, [], [CORE_GROUP], "nope", ["urn:scim:schemas:core:1.1"], [LEGACY_ENTERPRISE]],
)
def test_schemas_must_contain_the_core_schema(schemas: Any) -> None:
    body = user()
    body["schemas"] = schemas
    with pytest.raises(InvalidValue, match="schema"):
        prepare_create(REG, "User", body)


@pytest.mark.parametrize(
    ("schemas", "stored"),
    [
        ([LEGACY_CORE], [CORE_USER]),
        ([LEGACY_CORE, LEGACY_ENTERPRISE], [CORE_USER, ENTERPRISE_USER]),
        ([LEGACY_CORE.upper(), LEGACY_ENTERPRISE.upper()], [CORE_USER, ENTERPRISE_USER]),
        (
            [CORE_USER, LEGACY_CORE, ENTERPRISE_USER, LEGACY_ENTERPRISE],
            [CORE_USER, ENTERPRISE_USER],
        ),
    ],
)
def test_legacy_schema_urns_are_stored_canonically(schemas: list[str], stored: list[str]) -> None:
    body = user(title="Engineer")
    body["schemas"] = schemas
    assert prepare_create(REG, "User", body) == {
        "schemas": stored,
        "userName": "bjensen@example.com",
        "title": "Engineer",
    }


def test_legacy_schema_urns_in_a_replace() -> None:
    current = prepare_create(REG, "User", user(**{ENTERPRISE_USER: {"department": "R&D"}}))
    body = {
        "schemas": [LEGACY_CORE, LEGACY_ENTERPRISE],
        "userName": "bjensen@example.com",
        "title": "OneLogin Title",
        ENTERPRISE_USER: {"department": "Ops"},
    }
    assert prepare_replace(REG, "User", current, body) == {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "userName": "bjensen@example.com",
        "title": "OneLogin Title",
        ENTERPRISE_USER: {"department": "Ops"},
    }


def test_legacy_core_urn_names_the_core_schema_of_the_type_written() -> None:
    body = {"schemas": [LEGACY_CORE, LEGACY_ENTERPRISE], "displayName": "Eng"}
    # A Group has no enterprise extension: that alias is dropped like any foreign URN.
    assert prepare_create(REG, "Group", body) == {"schemas": [CORE_GROUP], "displayName": "Eng"}


def test_body_key_under_a_legacy_urn_is_still_refused() -> None:
    body = user(**{LEGACY_ENTERPRISE: {"department": "R&D"}})
    with pytest.raises(InvalidValue, match=LEGACY_ENTERPRISE):
        prepare_create(REG, "User", body)


def test_extension_urn_added_to_schemas_when_body_carries_it() -> None:
    stored = prepare_create(REG, "User", user(**{ENTERPRISE_USER: {"department": "R&D"}}))
    assert stored["schemas"] == [CORE_USER, ENTERPRISE_USER]
    assert stored[ENTERPRISE_USER] == {"department": "R&D"}


def test_extension_keys_are_case_insensitive() -> None:
    body = user(**{ENTERPRISE_USER.lower(): {"DEPARTMENT": "R&D"}})
    body["schemas"] = [CORE_USER, ENTERPRISE_USER.lower()]
    stored = prepare_create(REG, "User", body)
    assert stored[ENTERPRISE_USER] == {"department": "R&D"}
    assert stored["schemas"] == [CORE_USER, ENTERPRISE_USER]


def test_manager_plain_string_becomes_value() -> None:
    stored = prepare_create(REG, "User", user(**{ENTERPRISE_USER: {"manager": "boss-id"}}))
    assert stored[ENTERPRISE_USER] == {"manager": {"value": "boss-id"}}


def test_manager_display_name_is_read_only() -> None:
    body = user(**{ENTERPRISE_USER: {"manager": {"value": "m", "displayName": "Boss"}}})
    assert prepare_create(REG, "User", body)[ENTERPRISE_USER] == {"manager": {"value": "m"}}


@pytest.mark.parametrize(("sent", "stored"), [("True", True), ("false", False), (True, True)])
def test_boolean_strings_are_coerced(sent: Any, stored: bool) -> None:
    assert prepare_create(REG, "User", user(active=sent))["active"] is stored


@pytest.mark.parametrize(
    ("attrs", "where"),
    [
        ({"active": "yes"}, "active"),
        ({"active": 1}, "active"),
        ({"displayName": 5}, "displayName"),
        ({"name": "Barbara"}, "name"),
        ({"title": ["a"]}, "title"),
        ({"emails": [{"value": 3}]}, "emails[0].value"),
        ({"x509Certificates": [{"value": "not base64!"}]}, "x509Certificates[0].value"),
        ({"profileUrl": {"a": 1}}, "profileUrl"),
    ],
)
def test_type_errors_name_the_attribute(attrs: dict[str, Any], where: str) -> None:
    with pytest.raises(InvalidValue) as info:
        prepare_create(REG, "User", user(**attrs))
    assert f"'{where}'" in info.value.detail


def test_binary_accepts_base64_with_or_without_padding() -> None:
    stored = prepare_create(
        REG, "User", user(x509Certificates=[{"value": "TUlJ"}, {"value": "TQ"}])
    )
    assert [c["value"] for c in stored["x509Certificates"]] == ["TUlJ", "TQ"]


def test_nulls_and_empty_lists_are_absent() -> None:
    body = user(displayName=None, roles=[], emails=[None], name={"givenName": None})
    assert prepare_create(REG, "User", body) == user()


def test_single_value_for_multi_valued_is_wrapped() -> None:
    stored = prepare_create(REG, "User", user(emails={"value": "a@x.org", "type": "work"}))
    assert stored["emails"] == [{"value": "a@x.org", "type": "work"}]


def test_custom_type_labels_are_accepted() -> None:
    stored = prepare_create(REG, "User", user(phoneNumbers=[{"value": "1", "type": "cell"}]))
    assert stored["phoneNumbers"][0]["type"] == "cell"


def test_at_most_one_primary() -> None:
    emails = [{"value": "a@x", "primary": True}, {"value": "b@x", "primary": "True"}]
    with pytest.raises(InvalidValue, match="primary"):
        prepare_create(REG, "User", user(emails=emails))


def test_unknown_attribute_refused() -> None:
    with pytest.raises(InvalidValue, match="'shoeSize'"):
        prepare_create(REG, "User", user(shoeSize=42))


def test_unknown_sub_attribute_refused() -> None:
    with pytest.raises(InvalidValue, match="'nick'"):
        prepare_create(REG, "User", user(name={"nick": "B"}))


def test_unknown_schema_urn_is_dropped() -> None:
    body = {
        "schemas": [
            CORE_GROUP,
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "displayName": "Entra group",
    }
    assert prepare_create(REG, "Group", body)["schemas"] == [CORE_GROUP]


def test_body_key_under_unknown_urn_refused() -> None:
    with pytest.raises(InvalidValue, match="urn:example:custom"):
        prepare_create(REG, "User", user(**{"urn:example:custom": {"a": 1}}))


@pytest.mark.parametrize("manager", ["", {"value": ""}])
def test_empty_manager_is_absent(manager: Any) -> None:
    stored = prepare_create(REG, "User", user(**{ENTERPRISE_USER: {"manager": manager}}))
    assert stored == user()


def test_body_must_be_an_object() -> None:
    with pytest.raises(InvalidSyntax):
        prepare_create(REG, "User", [])  # type: ignore[arg-type]


def test_date_time_validated() -> None:
    ok = {"schemas": [CORE_USER], "userName": "u"}
    assert normalize_datetime("2015-01-23T04:56:22+01:00") == "2015-01-23T03:56:22.000000Z"
    assert normalize_datetime("2015-01-23T04:56:22.5Z") == "2015-01-23T04:56:22.500000Z"
    assert normalize_datetime("2015-01-23") is None
    assert normalize_datetime("2015-02-30T00:00:00Z") is None
    assert prepare_create(REG, "User", ok) == ok


def test_format_timestamp_is_utc() -> None:
    from datetime import UTC, datetime

    assert format_timestamp(datetime(2020, 1, 2, 3, 4, 5, 6, UTC)) == "2020-01-02T03:04:05.000006Z"


def test_group_members_split_and_type_canonicalised() -> None:
    body = {
        "schemas": [CORE_GROUP],
        "displayName": "Eng",
        "members": [
            {"value": "u1", "type": "user"},
            {"value": "g1", "type": "Group"},
            {"value": "u1"},
        ],
    }
    stored = prepare_create(REG, "Group", body)
    rest, members = split_members(stored)
    assert rest == {"schemas": [CORE_GROUP], "displayName": "Eng"}
    assert members == [{"value": "u1", "type": "User"}, {"value": "g1", "type": "Group"}]


def test_group_member_type_outside_canonical_values_refused() -> None:
    body = {"schemas": [CORE_GROUP], "displayName": "Eng", "members": [{"value": "u", "type": "x"}]}
    with pytest.raises(InvalidValue, match="members"):
        prepare_create(REG, "Group", body)


def test_group_member_without_value_refused() -> None:
    body = {"schemas": [CORE_GROUP], "displayName": "Eng", "members": [{"type": "User"}]}
    with pytest.raises(InvalidValue, match=r"members\[0\].value"):
        split_members(prepare_create(REG, "Group", body))


def test_replace_clears_absent_attributes() -> None:
    current = prepare_create(REG, "User", user(title="Boss", password="pw", active=True))
    new = prepare_replace(REG, "User", current, user(active=False))
    assert new == user(active=False)


def test_replace_immutable_must_match() -> None:
    # Nothing immutable at the top level of the published schemas: use a synthetic one.
    from reference_server.scim.resources import _keep_immutable
    from reference_server.scim.schemas import AttributeDef

    badge = AttributeDef(
        "badge", "string", False, False, True, "immutable", "default", "none", (), (), ()
    )
    kept: dict[str, Any] = {}
    _keep_immutable({"badge": badge}, {"badge": "A"}, kept, "")
    assert kept == {"badge": "A"}
    _keep_immutable({"badge": badge}, {"badge": "A"}, {"badge": "A"}, "")
    with pytest.raises(Mutability, match="badge"):
        _keep_immutable({"badge": badge}, {"badge": "A"}, {"badge": "B"}, "")


FULL = {
    "schemas": [CORE_USER, ENTERPRISE_USER],
    "id": "42",
    "userName": "bjensen",
    "password": "pw",
    "name": {"givenName": "Barbara", "familyName": "Jensen"},
    "emails": [{"value": "b@x.org", "type": "work", "primary": True}],
    "meta": {"resourceType": "User", "version": 'W/"1"'},
    ENTERPRISE_USER: {"department": "R&D", "manager": {"value": "7", "displayName": "Boss"}},
}


def test_project_default_drops_never() -> None:
    out = project(REG, "User", FULL, None, None)
    assert "password" not in out
    assert out["userName"] == "bjensen"
    assert out[ENTERPRISE_USER] == FULL[ENTERPRISE_USER]
    assert "password" in FULL  # the input is left alone


def test_project_owned_drops_in_place_with_the_same_result() -> None:
    """`owned=True` (a dict built for the answer) may be changed instead of copied."""
    built = {**FULL}
    out = project(REG, "User", built, None, None, owned=True)
    assert out == project(REG, "User", FULL, None, None)
    assert out is built
    assert "password" not in built


def test_project_attributes_keeps_always_and_requested() -> None:
    out = project(REG, "User", FULL, ["userName", "name.givenName", "password"], None)
    assert out == {
        "schemas": FULL["schemas"],
        "id": "42",
        "userName": "bjensen",
        "name": {"givenName": "Barbara"},
    }


def test_project_attributes_extension_paths() -> None:
    out = project(REG, "User", FULL, [f"{ENTERPRISE_USER}:manager.value"], None)
    assert out == {
        "schemas": FULL["schemas"],
        "id": "42",
        ENTERPRISE_USER: {"manager": {"value": "7"}},
    }
    whole = project(REG, "User", FULL, [ENTERPRISE_USER], None)
    assert whole[ENTERPRISE_USER] == FULL[ENTERPRISE_USER]


def test_project_derives_the_manager_ref() -> None:
    """manager.$ref is the location of the User manager.value names, built from the
    resource's own meta.location; it follows the value and the projection rules."""
    base = "https://scim.example.com/scim/v2"
    full = {**FULL, "meta": {**FULL["meta"], "location": f"{base}/Users/42"}}
    manager = project(REG, "User", full, None, None)[ENTERPRISE_USER]["manager"]
    assert manager == {"value": "7", "$ref": f"{base}/Users/7", "displayName": "Boss"}
    stale = {**full, ENTERPRISE_USER: {"manager": {"value": "a b", "$ref": f"{base}/Users/7"}}}
    out = project(REG, "User", stale, None, None)
    assert out[ENTERPRISE_USER]["manager"]["$ref"] == f"{base}/Users/a%20b"
    picked = project(REG, "User", full, [f"{ENTERPRISE_USER}:manager.value"], None)
    assert picked[ENTERPRISE_USER] == {"manager": {"value": "7"}}
    assert "$ref" not in project(REG, "User", FULL, None, None)[ENTERPRISE_USER]["manager"]
    assert full["meta"]["location"] == f"{base}/Users/42"
    assert "$ref" not in FULL[ENTERPRISE_USER]["manager"]  # the input is left alone


def test_project_excluded() -> None:
    out = project(REG, "User", FULL, None, ["emails", "id", "name.familyName", ENTERPRISE_USER])
    assert "emails" not in out
    assert out["id"] == "42"  # returned "always"
    assert out["name"] == {"givenName": "Barbara"}
    assert ENTERPRISE_USER not in out


def test_project_group_members_excluded() -> None:
    group = {"schemas": [CORE_GROUP], "id": "g", "displayName": "G", "members": [{"value": "u"}]}
    assert "members" not in project(REG, "Group", group, None, ["members"])
    assert project(REG, "Group", group, ["members.value"], None)["members"] == [{"value": "u"}]


def test_index_rows_typed_columns() -> None:
    stored = prepare_create(
        REG,
        "User",
        user(
            active=True,
            displayName="Babs",
            emails=[{"value": "B@x.org", "type": "work"}, {"value": "c@x.org", "primary": True}],
            **{ENTERPRISE_USER: {"department": "R&D", "manager": "m1"}},
        ),
    )
    rows = {(r["path"], r["elem"]): r for r in index_rows(REG, "User", stored)}
    assert rows[("active", -1)]["v_bool"] is True
    assert rows[("emails.value", 0)]["v_text"] == "B@x.org"
    assert rows[("emails.value", 0)]["v_lower"] == "b@x.org"
    assert rows[("emails.primary", 1)]["v_bool"] is True
    assert rows[(f"{ENTERPRISE_USER.lower()}:department", -1)]["v_lower"] == "r&d"
    assert rows[(f"{ENTERPRISE_USER.lower()}:manager.value", -1)]["v_text"] == "m1"
    # Extension URNs only: the core URN is in every User (filters compare it in Python).
    assert [r["v_text"] for (path, _), r in rows.items() if path == "schemas"] == [ENTERPRISE_USER]
    assert ("username", -1) not in rows  # a direct column
    assert ("displayname", -1) not in rows
    assert resource_columns(REG, "User", stored) == {
        "user_name_lower": "bjensen@example.com",
        "external_id": None,
        "display_name_lower": "babs",
    }


def test_same_type_and_value_kept_once() -> None:
    emails = [
        {"value": "a@x.org", "type": "work"},
        {"value": "A@X.org", "type": "Work", "primary": True},
        {"value": "a@x.org", "type": "home"},
    ]
    stored = prepare_create(REG, "User", user(emails=emails))
    assert stored["emails"] == [
        {"value": "a@x.org", "type": "work", "primary": True},
        {"value": "a@x.org", "type": "home"},
    ]


def test_index_rows_leave_out_read_only_and_direct_attributes() -> None:
    full = {
        **prepare_create(REG, "User", user(password="pw", title="T")),
        "id": "1",
        "meta": {"created": "2020-01-01T00:00:00Z"},
        "groups": [{"value": "g1", "display": "G"}],
    }
    paths = {row["path"] for row in index_rows(REG, "User", full)}
    assert paths == {"title"}  # `schemas` lists the core URN only: no row (see above)


def test_seek_paths_are_strings_of_some_resource_type() -> None:
    """attr_index keeps strings only (its key is the lower-cased value, migration 0008):
    a SEEK_PATHS entry of another type would fail every write that carries it."""
    for path in SEEK_PATHS:
        leaves = [
            found.leaf
            for rtype in ("User", "Group")
            if (found := REG.resolve(rtype, path)) is not None
        ]
        assert leaves, path
        assert all(leaf.type in ("string", "reference") for leaf in leaves), path


def test_search_document_entries_by_type() -> None:
    """Strings carry the text and its lower-cased form; other types their one value."""
    stored = prepare_create(
        REG,
        "User",
        user(
            emails=[{"value": "A@X.org", "type": "work", "primary": True}],
            active=False,
            **{ENTERPRISE_USER: {"manager": {"value": "m1"}}},
        ),
    )
    doc = orjson.loads(search_document(index_values(REG, "User", stored)))
    assert doc["emails.value"] == [[0, "A@X.org", "a@x.org"]]
    assert doc["emails.primary"] == [[0, True]]
    assert doc["active"] == [[-1, False]]
    assert doc[f"{ENTERPRISE_USER.lower()}:manager.value"] == [[-1, "m1", "m1"]]
    assert "username" not in doc  # a direct column, not a document path
    assert doc["emails"] == [[0]]  # the elements of a multi-valued complex attribute
    assert f"{ENTERPRISE_USER.lower()}:manager" not in doc  # singular: always element -1


def test_utc_now_is_format_timestamp_of_now() -> None:
    """utc_now caches the text of the current second; the result is the same as
    formatting the time (sorted like it, within the same second or not)."""
    before = format_timestamp(datetime.now(UTC))
    stamps = [utc_now() for _ in range(1000)]
    after = format_timestamp(datetime.now(UTC))
    assert all(len(s) == len(before) and s.endswith("Z") for s in stamps)
    assert before <= stamps[0] <= stamps[-1] <= after
    assert stamps == sorted(stamps)
    assert normalize_datetime(stamps[0]) == stamps[0]
