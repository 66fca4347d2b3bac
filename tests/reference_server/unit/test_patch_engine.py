"""The PATCH engine, one test per rule of RFC 7644 section 3.5.2."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reference_server.scim.errors import (
    InvalidPath,
    InvalidSyntax,
    InvalidValue,
    Mutability,
    NoTarget,
)
from reference_server.scim.filter import parse_filter
from reference_server.scim.patch import PATCH_OP, MemberChanges, apply_patch
from reference_server.scim.resources import prepare_create, verify_password
from reference_server.scim.schemas import CORE_GROUP, CORE_USER, ENTERPRISE_USER, load_registry

REG = load_registry()


def user(**attrs: Any) -> dict[str, Any]:
    body = {
        "schemas": [CORE_USER],
        "userName": "bjensen@example.com",
        "displayName": "Babs",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": True},
            {"value": "babs@home.org", "type": "home"},
        ],
        "active": True,
        **attrs,
    }
    return prepare_create(REG, "User", body)


def ops(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def op(name: str, path: str | None = None, value: Any = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"op": name, **extra}
    if path is not None:
        out["path"] = path
    if value is not None:
        out["value"] = value
    return out


def patched(current: dict[str, Any], *operations: dict[str, Any]) -> dict[str, Any]:
    before = copy.deepcopy(current)
    outcome = apply_patch(REG, "User", current, ops(*operations))
    assert current == before, "apply_patch must not modify its input"
    return outcome.resource


# --- message structure -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"Operations": [op("add", "title", "x")]},
        {"schemas": ["urn:nope"], "Operations": [op("add", "title", "x")]},
        {"schemas": [PATCH_OP]},
        {"schemas": [PATCH_OP], "Operations": []},
        {"schemas": [PATCH_OP], "Operations": ["add"]},
        ops(op("move", "title", "x")),
        ops({"path": "title", "value": "x"}),
        ops(op("add", "title")),
    ],
)
def test_malformed_messages_are_invalid_syntax(body: Any) -> None:
    with pytest.raises(InvalidSyntax):
        apply_patch(REG, "User", user(), body)


def test_message_keys_and_op_names_are_case_insensitive() -> None:
    body = {
        "SCHEMAS": [PATCH_OP.upper()],
        "operations": [{"OP": "Replace", "Path": "title", "VALUE": "Boss"}],
    }
    assert apply_patch(REG, "User", user(), body).resource["title"] == "Boss"


# --- add ----------------------------------------------------------------------------------


def test_add_single_valued_sets_or_replaces() -> None:
    assert patched(user(), op("add", "title", "Boss"))["title"] == "Boss"
    assert patched(user(title="A"), op("Add", "title", "B"))["title"] == "B"


def test_add_multi_valued_appends_without_duplicates() -> None:
    new = {"value": "b@x.org", "type": "other"}
    out = patched(user(), op("add", "emails", [new, {"value": "babs@home.org", "type": "home"}]))
    assert out["emails"] == [*user()["emails"], new]


def test_add_same_type_and_value_updates_the_existing_element() -> None:
    out = patched(
        user(), op("add", "emails", [{"value": "BABS@home.org", "type": "home", "display": "H"}])
    )
    assert out["emails"][1] == {"value": "BABS@home.org", "type": "home", "display": "H"}
    assert len(out["emails"]) == 2


def test_add_single_value_to_multi_valued_is_wrapped() -> None:
    out = patched(user(), op("add", "phoneNumbers", {"value": "+1", "type": "work"}))
    assert out["phoneNumbers"] == [{"value": "+1", "type": "work"}]


def test_add_complex_merges_sub_attributes() -> None:
    out = patched(user(), op("add", "name", {"middleName": "J"}))
    assert out["name"] == {"givenName": "Barbara", "familyName": "Jensen", "middleName": "J"}


def test_add_value_already_present_changes_nothing() -> None:
    current = user()
    outcome = apply_patch(REG, "User", current, ops(op("add", "displayName", "Babs")))
    assert outcome.changed is False
    outcome = apply_patch(REG, "User", current, ops(op("add", "emails", current["emails"][:1])))
    assert outcome.changed is False


def test_change_is_reported() -> None:
    assert apply_patch(REG, "User", user(), ops(op("replace", "title", "x"))).changed is True


def test_add_primary_resets_the_others() -> None:
    out = patched(user(), op("add", "emails", [{"value": "n@x", "primary": True}]))
    assert [e.get("primary") for e in out["emails"]] == [False, None, True]


def test_add_with_filter_matching_nothing_creates_the_value() -> None:
    current = user(emails=[{"value": "h@home.org", "type": "home"}])
    out = patched(current, op("add", 'emails[type eq "work"].value', "w@x.org"))
    assert out["emails"] == [
        {"value": "h@home.org", "type": "home"},
        {"type": "work", "value": "w@x.org"},
    ]


def test_add_with_filter_matching_nothing_on_absent_attribute() -> None:
    out = patched(user(), op("add", 'addresses[type eq "work"].streetAddress', "1 Main St"))
    assert out["addresses"] == [{"type": "work", "streetAddress": "1 Main St"}]


def test_add_with_unseedable_filter_matching_nothing_is_no_target() -> None:
    with pytest.raises(NoTarget):
        patched(user(), op("add", 'emails[type co "zz"].value', "w@x.org"))


def test_add_with_filter_matching_sets_sub_attribute() -> None:
    out = patched(user(), op("add", 'emails[type eq "home"].display', "Home"))
    assert out["emails"][1] == {"value": "babs@home.org", "type": "home", "display": "Home"}


def test_add_null_changes_nothing() -> None:
    assert (
        apply_patch(REG, "User", user(), ops({"op": "add", "path": "title", "value": None})).changed
        is False
    )


# --- replace --------------------------------------------------------------------------


def test_replace_sub_attribute() -> None:
    out = patched(user(), op("replace", "name.givenName", "Babs"))
    assert out["name"] == {"givenName": "Babs", "familyName": "Jensen"}


def test_replace_complex_keeps_unspecified_sub_attributes() -> None:
    out = patched(user(), op("replace", "name", {"givenName": "B"}))
    assert out["name"] == {"givenName": "B", "familyName": "Jensen"}


def test_replace_multi_valued_replaces_all() -> None:
    out = patched(user(), op("replace", "emails", [{"value": "only@x"}]))
    assert out["emails"] == [{"value": "only@x"}]


def test_replace_filtered_sub_attribute() -> None:
    out = patched(user(), op("replace", 'emails[type eq "work"].value', "new@x"))
    assert out["emails"][0] == {"value": "new@x", "type": "work", "primary": True}
    assert out["emails"][1] == user()["emails"][1]


def test_replace_filtered_record() -> None:
    out = patched(
        user(), op("replace", 'emails[type eq "home"]', {"value": "h2@x", "type": "home"})
    )
    assert out["emails"][1] == {"value": "h2@x", "type": "home"}


def test_replace_filter_matching_nothing_is_no_target() -> None:
    with pytest.raises(NoTarget):
        patched(user(), op("replace", 'emails[type eq "none"].value', "x@x"))


def test_replace_primary_through_filter_resets_the_others() -> None:
    out = patched(user(), op("replace", 'emails[type eq "home"].primary', "True"))
    assert [e.get("primary") for e in out["emails"]] == [False, True]


def test_replace_null_removes() -> None:
    assert "title" not in patched(
        user(title="x"), {"op": "replace", "path": "title", "value": None}
    )


def test_replace_string_booleans() -> None:
    assert patched(user(), op("Replace", "active", "False"))["active"] is False
    assert patched(user(active=False), op("replace", "active", "true"))["active"] is True


def test_replace_wrong_type_is_invalid_value() -> None:
    with pytest.raises(InvalidValue, match="active"):
        patched(user(), op("replace", "active", "maybe"))


def test_replace_sub_attribute_on_every_element_without_filter() -> None:
    out = patched(user(), op("replace", "emails.type", "other"))
    assert [e["type"] for e in out["emails"]] == ["other", "other"]


# --- remove -----------------------------------------------------------------------------


def test_remove_attribute() -> None:
    assert "title" not in patched(user(title="x"), op("remove", "title"))


def test_remove_sub_attribute_and_empty_parent() -> None:
    out = patched(user(), op("remove", "name.givenName"))
    assert out["name"] == {"familyName": "Jensen"}
    out = patched(out, op("remove", "name.familyName"))
    assert "name" not in out


def test_remove_multi_valued_without_filter_removes_all() -> None:
    assert "emails" not in patched(user(), op("remove", "emails"))


def test_remove_filtered_keeps_the_others() -> None:
    out = patched(user(), op("remove", 'emails[type eq "home"]'))
    assert out["emails"] == user()["emails"][:1]


def test_remove_last_filtered_value_unassigns() -> None:
    out = patched(user(), op("remove", 'emails[value co "@"]'))
    assert "emails" not in out


def test_remove_filter_matching_nothing_is_a_no_op() -> None:
    outcome = apply_patch(REG, "User", user(), ops(op("remove", 'emails[type eq "x"]')))
    assert outcome.changed is False


def test_remove_with_value_removes_only_those() -> None:
    out = patched(user(), op("remove", "emails", [{"value": "babs@home.org"}]))
    assert out["emails"] == user()["emails"][:1]


def test_remove_without_path_is_no_target() -> None:
    with pytest.raises(NoTarget):
        patched(user(), op("remove"))


@pytest.mark.parametrize("path", ["userName", "id", "meta", "meta.created", "groups"])
def test_remove_required_or_read_only_is_mutability(path: str) -> None:
    with pytest.raises(Mutability):
        patched(user(), op("remove", path))


@pytest.mark.parametrize("path", ["id", "meta.lastModified", "groups"])
def test_replace_read_only_is_mutability(path: str) -> None:
    with pytest.raises(Mutability):
        patched(user(), op("replace", path, "x"))


def test_replace_required_with_empty_is_refused() -> None:
    with pytest.raises((InvalidValue, Mutability)):
        patched(user(), op("replace", "userName", ""))


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "nope",
        "name.nope",
        'emails[type eq "work".value',
        "name..givenName",
        "display Name",
        'emails[nope eq "x"]',
        'title[value eq "x"]',
        'emails[type eq "w"].nope',
    ],
)
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidPath):
        patched(user(), op("replace", path, "x"))


def test_path_names_are_case_insensitive_and_stored_canonically() -> None:
    out = patched(user(), op("replace", "NAME.GIVENNAME", "B"), op("add", "TITLE", "T"))
    assert out["name"]["givenName"] == "B"
    assert out["title"] == "T"


def test_urn_qualified_core_path() -> None:
    out = patched(user(), op("replace", f"{CORE_USER}:displayName", "Core"))
    assert out["displayName"] == "Core"


# --- extension ------------------------------------------------------------------------


def test_extension_attribute_by_urn_path_adds_schema() -> None:
    out = patched(user(), op("add", f"{ENTERPRISE_USER}:department", "Legal"))
    assert out[ENTERPRISE_USER] == {"department": "Legal"}
    assert out["schemas"] == [CORE_USER, ENTERPRISE_USER]


def test_removing_the_last_extension_attribute_drops_the_schema() -> None:
    current = user(**{ENTERPRISE_USER: {"department": "Legal"}})
    out = patched(current, op("remove", f"{ENTERPRISE_USER}:department"))
    assert ENTERPRISE_USER not in out
    assert out["schemas"] == [CORE_USER]


def test_manager_plain_string() -> None:
    out = patched(user(), op("replace", f"{ENTERPRISE_USER}:manager", "boss-id"))
    assert out[ENTERPRISE_USER] == {"manager": {"value": "boss-id"}}


def test_manager_sub_attribute_path() -> None:
    out = patched(user(), op("replace", f"{ENTERPRISE_USER}:manager.value", "boss-id"))
    assert out[ENTERPRISE_USER] == {"manager": {"value": "boss-id"}}


def test_manager_removal_shapes() -> None:
    current = user(**{ENTERPRISE_USER: {"manager": "m1", "department": "D"}})
    for operation in (
        op("remove", f"{ENTERPRISE_USER}:manager"),
        op("replace", f"{ENTERPRISE_USER}:manager", ""),
        op("replace", f"{ENTERPRISE_USER}:manager", {"value": ""}),
        op("remove", 'manager[value eq "m1"]'.replace("manager", f"{ENTERPRISE_USER}:manager")),
    ):
        assert patched(current, operation)[ENTERPRISE_USER] == {"department": "D"}, operation


def test_pathless_extension_object_merges() -> None:
    current = user(**{ENTERPRISE_USER: {"department": "Sales", "costCenter": "1"}})
    out = patched(current, op("replace", value={ENTERPRISE_USER: {"department": "Marketing"}}))
    assert out[ENTERPRISE_USER] == {"department": "Marketing", "costCenter": "1"}


def test_remove_whole_extension() -> None:
    current = user(**{ENTERPRISE_USER: {"department": "Sales"}})
    out = patched(current, op("remove", ENTERPRISE_USER))
    assert ENTERPRISE_USER not in out
    assert out["schemas"] == [CORE_USER]


# --- path-less --------------------------------------------------------------------------


def test_pathless_add_sets_attributes() -> None:
    out = patched(
        user(), op("add", value={"emails": [{"value": "n@x", "type": "home"}], "nickName": "Babs"})
    )
    assert out["nickName"] == "Babs"
    assert out["emails"][-1] == {"value": "n@x", "type": "home"}


def test_pathless_replace_with_dotted_and_urn_keys() -> None:
    value = {
        "displayName": "Bjfe",
        "name.givenName": "Kkom",
        "name.familyName": "Unua",
        f"{ENTERPRISE_USER}:employeeNumber": "Aklq",
    }
    out = patched(user(), op("replace", value=value))
    assert out["displayName"] == "Bjfe"
    assert out["name"] == {"givenName": "Kkom", "familyName": "Unua"}
    assert out[ENTERPRISE_USER] == {"employeeNumber": "Aklq"}
    assert ENTERPRISE_USER in out["schemas"]


def test_pathless_read_only_keys_are_ignored() -> None:
    out = patched(user(), op("replace", value={"id": "other", "meta": {}, "displayName": "X"}))
    assert out == {**user(), "displayName": "X"}


def test_pathless_unknown_key_is_invalid_value() -> None:
    with pytest.raises(InvalidValue, match="shoeSize"):
        patched(user(), op("replace", value={"shoeSize": 9}))


def test_pathless_value_must_be_an_object() -> None:
    with pytest.raises(InvalidValue):
        patched(user(), op("replace", value="x"))


# --- atomicity --------------------------------------------------------------------------


def test_failure_leaves_the_input_untouched() -> None:
    current = user()
    before = copy.deepcopy(current)
    with pytest.raises(NoTarget):
        apply_patch(
            REG,
            "User",
            current,
            ops(
                op("replace", "displayName", "Half"),
                op("replace", 'emails[type eq "x"].value', "y"),
            ),
        )
    assert current == before


def test_operations_apply_in_order() -> None:
    out = patched(user(), op("add", "title", "A"), op("remove", "title"), op("add", "title", "C"))
    assert out["title"] == "C"


# --- groups -----------------------------------------------------------------------------

GROUP = {"schemas": [CORE_GROUP], "displayName": "Engineering", "externalId": "e1"}


def group_patch(*operations: dict[str, Any]) -> tuple[dict[str, Any], MemberChanges]:
    outcome = apply_patch(REG, "Group", GROUP, ops(*operations))
    assert outcome.members is not None
    return outcome.resource, outcome.members


def test_group_add_members_is_a_row_operation() -> None:
    resource, members = group_patch(
        op("add", "members", [{"value": "u1"}, {"value": "u2", "type": "user"}])
    )
    assert resource == GROUP
    assert members.add == [{"value": "u1", "type": None}, {"value": "u2", "type": "User"}]
    assert members.remove_ids == set()
    assert not members.remove_all


def test_group_remove_with_value_never_removes_all() -> None:
    _, members = group_patch(op("Remove", "members", [{"value": "u1091"}]))
    assert members.remove_ids == {"u1091"}
    assert members.remove_all is False


def test_group_remove_by_filter_uses_ids() -> None:
    _, members = group_patch(op("remove", 'members[value eq "a"]'))
    assert members.remove_ids == {"a"}
    assert members.remove_filter is None


def test_group_remove_by_other_filter() -> None:
    _, members = group_patch(op("remove", 'members[type eq "Group"]'))
    assert members.remove_filter == parse_filter('type eq "Group"')


def test_group_remove_all() -> None:
    _, members = group_patch(op("remove", "members"))
    assert members.remove_all is True


def test_group_replace_members() -> None:
    _, members = group_patch(
        op("add", "members", [{"value": "x"}]),
        op("replace", "members", [{"value": "a"}, {"value": "a"}]),
    )
    assert members.replace == [{"value": "a", "type": None}]
    assert members.add == []


def test_group_add_then_remove_same_member_cancels() -> None:
    _, members = group_patch(
        op("add", "members", [{"value": "a"}]), op("remove", 'members[value eq "a"]')
    )
    assert members.add == []
    assert members.remove_ids == {"a"}


def test_group_remove_then_add_same_member_keeps_it() -> None:
    _, members = group_patch(
        op("remove", 'members[value eq "a"]'), op("add", "members", [{"value": "a"}])
    )
    assert members.remove_ids == {"a"}
    assert members.add == [{"value": "a", "type": None}]


def test_group_member_type_outside_canonical_values_refused() -> None:
    with pytest.raises(InvalidValue):
        group_patch(op("add", "members", [{"value": "a", "type": "Robot"}]))


def test_group_member_sub_attributes_are_immutable() -> None:
    with pytest.raises(Mutability):
        group_patch(op("replace", 'members[value eq "a"].value', "b"))


def test_group_member_without_value_refused() -> None:
    with pytest.raises(InvalidValue):
        group_patch(op("add", "members", [{"display": "x"}]))


def test_group_remove_display_name_is_mutability() -> None:
    with pytest.raises(Mutability):
        group_patch(op("remove", "displayName"))


def test_user_has_no_member_changes() -> None:
    assert apply_patch(REG, "User", user(), ops(op("add", "title", "x"))).members is None


def test_a_password_set_by_patch_is_stored_hashed() -> None:
    """Like POST and PUT, a PATCH stores the password as a salted hash, never as sent."""
    current = user(password="old")
    for operation in (op("replace", "password", "n3w!"), op("Add", None, {"password": "n3w!"})):
        new = patched(current, operation)
        assert new["password"] != "n3w!"
        assert verify_password(new["password"], "n3w!")


def test_a_patch_elsewhere_keeps_the_password_hash() -> None:
    """Operations on other attributes leave the stored hash as it was."""
    current = user(password="old")
    new = patched(current, op("replace", "title", "T"))
    assert new["password"] == current["password"]
    assert verify_password(new["password"], "old")
