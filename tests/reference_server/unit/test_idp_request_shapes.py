"""Every request body of shared/reference/idp-request-shapes.md (Entra, Okta, OneLogin,
JumpCloud) applied to a realistic user or group, checked for the exact resulting state.

Section numbers in the test names refer to that document.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from reference_server.scim.errors import Mutability
from reference_server.scim.patch import PATCH_OP, apply_patch
from reference_server.scim.resources import (
    prepare_create,
    prepare_replace,
    split_members,
    verify_password,
)
from reference_server.scim.schemas import CORE_GROUP, CORE_USER, ENTERPRISE_USER, load_registry

REG = load_registry()
ENT = ENTERPRISE_USER
ADSCIM = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"


def stored_user() -> dict[str, Any]:
    """A user as Entra created it, then stored."""
    return prepare_create(
        REG,
        "User",
        {
            "schemas": [CORE_USER, ENT],
            "externalId": "0a21f0f2",
            "userName": "Test_User@testuser.com",
            "active": True,
            "displayName": "Test User",
            "title": "engineer",
            "emails": [{"primary": True, "type": "work", "value": "Test_User@testuser.com"}],
            "name": {"formatted": "Test User", "familyName": "User", "givenName": "Test"},
            ENT: {"employeeNumber": "1", "department": "R&D"},
        },
    )


def patch(resource_type: str, current: dict[str, Any], *operations: dict[str, Any]) -> Any:
    return apply_patch(
        REG, resource_type, current, {"schemas": [PATCH_OP], "Operations": list(operations)}
    )


# --- 1.3 Entra: users ----------------------------------------------------------------------


def test_entra_1_3_create() -> None:
    body = {
        "schemas": [CORE_USER, ENT],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": [
            {
                "primary": True,
                "type": "work",
                "value": "Test_User_11bb11bb-cc22-dd33-ee44-55ff55ff55ff@testuser.com",
            }
        ],
        "meta": {"resourceType": "User"},
        "name": {
            "formatted": "givenName familyName",
            "familyName": "familyName",
            "givenName": "givenName",
        },
        "roles": [],
    }
    assert prepare_create(REG, "User", body) == {
        "schemas": [CORE_USER, ENT],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee",
        "active": True,
        "emails": body["emails"],
        "name": body["name"],
    }


def test_entra_1_3_create_with_nulls_and_misspelt_urn() -> None:
    body = {
        "schemas": [CORE_USER, "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
        "userName": "UserName123",
        "active": True,
        "addresses": None,
        "title": None,
        "displayName": "Test User",
        ENT: {"manager": None, "department": None},
    }
    assert prepare_create(REG, "User", body) == {
        "schemas": [CORE_USER],
        "userName": "UserName123",
        "active": True,
        "displayName": "Test User",
    }


def test_entra_1_3_manager_plain_string_in_post() -> None:
    body = {"schemas": [CORE_USER, ENT], "userName": "u", ENT: {"manager": "123456"}}
    assert prepare_create(REG, "User", body)[ENT] == {"manager": {"value": "123456"}}


def test_entra_1_3_roles_patch_json_encoded() -> None:
    encoded = json.dumps(
        {"id": "06b07648-ecfe-589f-9d2f-6325724a46ee", "value": "25", "displayName": "Role1234"}
    )
    outcome = patch(
        "User", stored_user(), {"op": "Add", "path": "roles", "value": [{"value": encoded}]}
    )
    assert outcome.resource["roles"] == [{"value": encoded}]


def test_entra_1_3_roles_replace_full_list() -> None:
    roles = [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]
    current = stored_user()
    outcome = patch("User", current, {"op": "replace", "path": "roles", "value": roles})
    assert outcome.resource == {**current, "roles": roles}


# --- 1.4 Entra: PATCH dialects -----------------------------------------------------------


def test_entra_1_4_default_disable() -> None:
    current = stored_user()
    outcome = patch("User", current, {"op": "Replace", "path": "active", "value": "False"})
    assert outcome.resource == {**current, "active": False}
    assert outcome.changed


def test_entra_1_4_default_multi_op_update() -> None:
    current = stored_user()
    outcome = patch(
        "User",
        current,
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {
            "op": "Replace",
            "path": 'emails[type eq "work"].value',
            "value": "TestBcwqnm@test.microsoft.com",
        },
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": f"{ENT}:employeeNumber", "value": "Eqpj"},
    )
    assert outcome.resource == {
        **current,
        "displayName": "Pvlo",
        "emails": [{"primary": True, "type": "work", "value": "TestBcwqnm@test.microsoft.com"}],
        "name": {"formatted": "Test User", "familyName": "Pkqf", "givenName": "Gtfd"},
        "externalId": "Eqpj",
        ENT: {"employeeNumber": "Eqpj", "department": "R&D"},
    }


def test_entra_1_4_flag_disable() -> None:
    current = stored_user()
    outcome = patch("User", current, {"op": "replace", "path": "active", "value": False})
    assert outcome.resource == {**current, "active": False}


def test_entra_1_4_flag_pathless_dotted_keys() -> None:
    current = stored_user()
    outcome = patch(
        "User",
        current,
        {
            "op": "replace",
            "path": 'emails[type eq "work"].value',
            "value": "TestMhvaes@test.microsoft.com",
        },
        {
            "op": "replace",
            "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                f"{ENT}:employeeNumber": "Aklq",
            },
        },
    )
    assert outcome.resource == {
        **current,
        "displayName": "Bjfe",
        "emails": [{"primary": True, "type": "work", "value": "TestMhvaes@test.microsoft.com"}],
        "name": {"formatted": "Test User", "familyName": "Unua", "givenName": "Kkom"},
        ENT: {"employeeNumber": "Aklq", "department": "R&D"},
    }


@pytest.mark.parametrize(
    ("path", "value", "attribute", "expected"),
    [
        (
            'phoneNumbers[type eq "mobile"].value',
            "+1 555 0100",
            "phoneNumbers",
            [{"type": "mobile", "value": "+1 555 0100"}],
        ),
        (
            'addresses[type eq "work"].streetAddress',
            "1 Main St",
            "addresses",
            [{"type": "work", "streetAddress": "1 Main St"}],
        ),
    ],
)
def test_entra_1_4_filtered_add_on_absent_attribute_creates_it(
    path: str, value: str, attribute: str, expected: list[dict[str, Any]]
) -> None:
    current = stored_user()
    outcome = patch("User", current, {"op": "Add", "path": path, "value": value})
    assert outcome.resource == {**current, attribute: expected}


def test_entra_1_4_enterprise_urn_paths() -> None:
    current = stored_user()
    outcome = patch(
        "User",
        current,
        {"op": "Replace", "path": f"{ENT}:department", "value": "Sales"},
        {"op": "Add", "path": f"{ENT}:manager", "value": {"value": "boss-1"}},
    )
    assert outcome.resource[ENT] == {
        "employeeNumber": "1",
        "department": "Sales",
        "manager": {"value": "boss-1"},
    }


def test_entra_1_4_legacy_manager_add_with_array() -> None:
    ref = "https://example.com/scim/v2/Users/boss-2"
    outcome = patch(
        "User",
        stored_user(),
        {"op": "Add", "path": "manager", "value": [{"$ref": ref, "value": "boss-2"}]},
    )
    assert outcome.resource[ENT] == {
        "employeeNumber": "1",
        "department": "R&D",
        "manager": {"$ref": ref, "value": "boss-2"},
    }


def test_entra_1_4_manager_bare_string() -> None:
    outcome = patch(
        "User", stored_user(), {"op": "replace", "path": f"{ENT}:manager", "value": "boss-3"}
    )
    assert outcome.resource[ENT]["manager"] == {"value": "boss-3"}


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": f"{ENT}:manager", "value": {"value": ""}},
        {"op": "replace", "path": f"{ENT}:manager", "value": ""},
        {"op": "remove", "path": f"{ENT}:manager"},
        {"op": "remove", "path": 'manager[value eq "boss-1"]'},
    ],
)
def test_entra_1_4_manager_removal(operation: dict[str, Any]) -> None:
    current = stored_user()
    current[ENT]["manager"] = {"value": "boss-1"}
    outcome = patch("User", current, operation)
    assert outcome.resource[ENT] == {"employeeNumber": "1", "department": "R&D"}


def test_entra_1_4_replace_and_add_mixed() -> None:
    current = stored_user()
    del current["emails"]
    outcome = patch(
        "User",
        current,
        {"op": "Replace", "path": "title", "value": "tester"},
        {"op": "Add", "path": 'emails[type eq "work"].value', "value": "joe@example.com"},
    )
    assert outcome.resource == {
        **current,
        "title": "tester",
        "emails": [{"type": "work", "value": "joe@example.com"}],
    }


# --- 1.5 Entra: groups ---------------------------------------------------------------------

GROUP = {"schemas": [CORE_GROUP], "displayName": "displayName", "externalId": "8aa1a0c0"}


def test_entra_1_5_group_create() -> None:
    body = {
        "schemas": [CORE_GROUP, ADSCIM],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"},
    }
    rest, members = split_members(prepare_create(REG, "Group", body))
    assert rest == {
        "schemas": [CORE_GROUP],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
    }
    assert members == []


def test_entra_1_5_rename() -> None:
    outcome = patch("Group", GROUP, {"op": "Replace", "path": "displayName", "value": "Renamed"})
    assert outcome.resource == {**GROUP, "displayName": "Renamed"}
    assert outcome.members is not None
    assert outcome.members.is_empty()


def test_entra_1_5_add_members() -> None:
    outcome = patch(
        "Group",
        GROUP,
        {
            "op": "Add",
            "path": "members",
            "value": [{"$ref": None, "value": "f648f8d5ea4e4cd38e9c"}, {"value": "second"}],
        },
    )
    assert outcome.resource == GROUP
    assert outcome.members.add == [
        {"value": "f648f8d5ea4e4cd38e9c", "type": None},
        {"value": "second", "type": None},
    ]
    assert outcome.changed


def test_entra_1_5_remove_member_default_dialect() -> None:
    outcome = patch(
        "Group", GROUP, {"op": "Remove", "path": "members", "value": [{"value": "u1091"}]}
    )
    assert outcome.members.remove_ids == {"u1091"}
    assert outcome.members.remove_all is False
    assert outcome.members.add == []


def test_entra_1_5_remove_member_flag_dialect() -> None:
    member = "7f4bc1a3-285e-48ae-8202-5accb43efb0e"
    outcome = patch("Group", GROUP, {"op": "remove", "path": f'members[value eq "{member}"]'})
    assert outcome.members.remove_ids == {member}
    assert outcome.members.remove_all is False


# --- 2 Okta ---------------------------------------------------------------------------------


def test_okta_2_3_create() -> None:
    body = {
        "schemas": [CORE_USER],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": True, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
    }
    expected = {k: v for k, v in body.items() if k not in ("groups", "password")}
    stored = prepare_create(REG, "User", body)
    assert {k: v for k, v in stored.items() if k != "password"} == expected
    assert verify_password(stored["password"], "1mz050nq")  # stored hashed, never as sent


def test_okta_2_4_put_full_replace_with_read_only_attributes() -> None:
    current = stored_user()
    body = {
        **current,
        "id": "5d48a0a8e9f04aa38008",
        "meta": {"resourceType": "User", "version": 'W/"3"'},
        "groups": [{"value": "g1", "display": "Eng"}],
        "title": "principal",
    }
    assert prepare_replace(REG, "User", current, body) == {**current, "title": "principal"}


def test_okta_2_4_deactivate() -> None:
    current = stored_user()
    outcome = patch("User", current, {"op": "replace", "value": {"active": False}})
    assert outcome.resource == {**current, "active": False}


def test_okta_2_4_reactivate() -> None:
    current = {**stored_user(), "active": False}
    outcome = patch("User", current, {"op": "replace", "value": {"active": True}})
    assert outcome.resource == {**current, "active": True}


def test_okta_2_5_group_create() -> None:
    body = {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2", "members": []}
    assert split_members(prepare_create(REG, "Group", body)) == (
        {"schemas": [CORE_GROUP], "displayName": "Test SCIMv2"},
        [],
    )


def test_okta_2_5_rename_with_id_in_value() -> None:
    outcome = patch(
        "Group",
        GROUP,
        {
            "op": "replace",
            "value": {"id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b", "displayName": "Test SCIMv2"},
        },
    )
    assert outcome.resource == {**GROUP, "displayName": "Test SCIMv2"}


def test_okta_2_5_rename_with_the_resource_id_checks_it() -> None:
    """Given the resource's id, Okta's own id is accepted and a different one is 400
    mutability (RFC 7644 3.5.2: a readOnly attribute MUST NOT be modified)."""
    rid = "abf4dd94-a4c0-4f67-89c9-76b03340cb9b"
    rename = {"op": "replace", "value": {"id": rid, "displayName": "Test SCIMv2"}}
    body = {"schemas": [PATCH_OP], "Operations": [rename]}
    outcome = apply_patch(REG, "Group", GROUP, body, resource_id=rid)
    assert outcome.resource == {**GROUP, "displayName": "Test SCIMv2"}
    with pytest.raises(Mutability, match="'id' is readOnly"):
        apply_patch(REG, "Group", GROUP, body, resource_id="another-id")
    pathless_user = {"op": "Replace", "value": {"id": "another-id", "title": "T"}}
    with pytest.raises(Mutability):
        apply_patch(
            REG,
            "User",
            stored_user(),
            {"schemas": [PATCH_OP], "Operations": [pathless_user]},
            resource_id=rid,
        )


def test_okta_2_5_rename_repeated_is_no_change() -> None:
    outcome = patch(
        "Group", GROUP, {"op": "replace", "value": {"id": "x", "displayName": "displayName"}}
    )
    assert outcome.changed is False


def test_okta_2_5_membership_remove_and_add() -> None:
    outcome = patch(
        "Group",
        GROUP,
        {"op": "remove", "path": 'members[value eq "89bb1940-b905-4575-9e7f-6f887cfb368e"]'},
        {
            "op": "add",
            "path": "members",
            "value": [
                {"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "display": "test.user@okta.local"}
            ],
        },
    )
    assert outcome.resource == GROUP
    assert outcome.members.remove_ids == {"89bb1940-b905-4575-9e7f-6f887cfb368e"}
    assert outcome.members.add == [{"value": "23a35c27-23d3-4c03-b4c5-6443c09e7173", "type": None}]


def test_okta_2_5_full_membership_push() -> None:
    outcome = patch(
        "Group",
        GROUP,
        {
            "op": "replace",
            "path": "members",
            "value": [{"value": "a"}, {"value": "b", "display": "B"}],
        },
    )
    assert outcome.members.replace == [{"value": "a", "type": None}, {"value": "b", "type": None}]


def test_okta_2_5_aiw_put_group() -> None:
    body = {
        "schemas": [CORE_GROUP],
        "displayName": "Renamed",
        "members": [{"value": "u1", "display": "x"}],
    }
    replaced = prepare_replace(REG, "Group", GROUP, body)
    assert split_members(replaced) == (
        {"schemas": [CORE_GROUP], "displayName": "Renamed"},
        [{"value": "u1", "type": None}],
    )


# --- 3 OneLogin -------------------------------------------------------------------------


def test_onelogin_3_v2_enterprise_template() -> None:
    body = {
        "schemas": [CORE_USER, ENT],
        "userName": "onelogin-test-user01",
        "name": {"familyName": "User", "givenName": "Test"},
        "title": "Engineer",
        "emails": [{"value": "test@example.com", "type": "work", "primary": True}],
        "addresses": [{"locality": "Paris", "region": "IDF", "country": "FR"}],
        ENT: {"department": "R&D", "manager": {"value": "mgr-7", "displayName": "Boss Person"}},
    }
    stored = prepare_create(REG, "User", body)
    assert stored == {**body, ENT: {"department": "R&D", "manager": {"value": "mgr-7"}}}


def test_onelogin_3_active_as_string_and_null_id() -> None:
    body = {"schemas": [CORE_USER], "userName": "u1", "active": "true", "id": None}
    assert prepare_create(REG, "User", body) == {
        "schemas": [CORE_USER],
        "userName": "u1",
        "active": True,
    }


def test_onelogin_3_emails_as_single_object() -> None:
    body = {"schemas": [CORE_USER], "userName": "u1", "emails": {"value": "u1@example.com"}}
    assert prepare_create(REG, "User", body)["emails"] == [{"value": "u1@example.com"}]


def test_onelogin_3_put_with_non_standard_schemas_is_stored_canonically() -> None:
    body = {
        "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
        "userName": "onelogin-test-user01",
        "name": {"givenName": "Test", "familyName": "User"},
        "active": True,
    }
    # Stored exactly as the same PUT with the canonical URNs (the extension data, omitted
    # from the PUT, is cleared).
    canonical = {**body, "schemas": [CORE_USER, ENT]}
    assert prepare_replace(REG, "User", stored_user(), body) == canonical
    assert prepare_replace(REG, "User", stored_user(), canonical) == canonical


def test_onelogin_3_put_update() -> None:
    current = stored_user()
    body = {
        "schemas": [CORE_USER],
        "userName": "Test_User@testuser.com",
        "name": {"givenName": "New", "familyName": "Name"},
        "active": False,
    }
    assert prepare_replace(REG, "User", current, body) == body


# --- 4 JumpCloud ------------------------------------------------------------------------


def test_jumpcloud_4_member_patch_value_list() -> None:
    outcome = patch(
        "Group",
        GROUP,
        {"op": "add", "path": "members", "value": [{"value": "uid-1"}]},
        {"op": "remove", "path": "members", "value": [{"value": "uid-2"}]},
    )
    assert outcome.members.add == [{"value": "uid-1", "type": None}]
    assert outcome.members.remove_ids == {"uid-2"}
    assert outcome.members.remove_all is False


def test_jumpcloud_4_deprovision_is_active_false() -> None:
    current = stored_user()
    outcome = patch("User", current, {"op": "replace", "path": "active", "value": False})
    assert outcome.resource == {**current, "active": False}
