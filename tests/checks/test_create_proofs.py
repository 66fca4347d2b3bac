"""Proofs for harness/suite/test_create.py: each check fails against its defect."""

from __future__ import annotations

from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import DropHeader, EditJson, RewriteStatus
from defects.proving import Proof, Reference
from defects.resources_defects import (
    EchoClientId,
    EditRequest,
    JoinGroupsFromUserBody,
    RefuseBody,
)

COLLECTION = "/(Users|Groups)"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


def _drop(*keys: str) -> Any:
    def edit(body: Any) -> Any:
        return {k: v for k, v in body.items() if k not in keys} if isinstance(body, dict) else body

    return edit


def _fill_user_name(body: Any) -> Any:
    if isinstance(body, dict) and not body.get("userName"):
        body["userName"] = f"{body.get('externalId', 'scimtest')}-filled@example.com"
    return body


def _fill_display_name(body: Any) -> Any:
    if isinstance(body, dict) and not body.get("displayName"):
        body["displayName"] = f"{body.get('externalId', 'scimtest')} filled"
    return body


def _case_sensitive_user_name(body: Any) -> Any:
    """A server comparing userName case-sensitively: a SHOUTED copy is a new name."""
    name = str(body.get("userName", "")) if isinstance(body, dict) else ""
    if name and name == name.upper() and name != name.lower():
        body["userName"] = name.lower() + ".case-sensitive"
    return body


def _first_member_only(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("members"), list):
        body["members"] = body["members"][:1]
    return body


def _forged_created(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        body["meta"]["created"] = "2001-01-01T00:00:00Z"
    return body


def _active_as_string(body: Any) -> Any:
    if isinstance(body, dict) and body.get("active") is True:
        body["active"] = "True"
    return body


def _drop_string_manager(body: Any) -> Any:
    ext = body.get(ENTERPRISE) if isinstance(body, dict) else None
    if isinstance(ext, dict) and isinstance(ext.get("manager"), str):
        del ext["manager"]
    return body


def _to_invalid_syntax(body: Any) -> Any:
    if isinstance(body, dict) and "scimType" in body:
        body["scimType"] = "invalidSyntax"
    return body


def _numeric_display_name(body: Any) -> Any:
    if isinstance(body, dict) and "displayName" in body:
        body["displayName"] = 42
    return body


def _keep_misspelt_urn(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("schemas"), list):
        body["schemas"] = [*body["schemas"], ENTERPRISE[:-5] + "User"]
    return body


PROOFS = [
    Proof("test_create::test_create_answers_201",
          RewriteStatus("POST", COLLECTION, from_status=201, to_status=200)),
    Proof("test_create::test_create_returns_the_created_resource",
          EditJson("POST", COLLECTION, name="201 body without meta", edit=_drop("meta"))),
    Proof("test_create::test_create_location_header_is_meta_location",
          DropHeader("POST", COLLECTION, header="location")),
    Proof("test_create::test_create_is_read_back",
          EditRequest("POST", "/Users", name="displayName not stored", edit=_drop("displayName"))),
    Proof("test_create::test_create_group_with_members_is_read_back",
          EditRequest("POST", "/Groups", name="only the first member stored",
                      edit=_first_member_only)),
    Proof("test_create::test_create_ignores_client_id", EchoClientId("POST", COLLECTION)),
    Proof("test_create::test_create_ignores_client_meta",
          EditJson("GET", "/Users/[^/]+", name="client meta.created kept", edit=_forged_created)),
    Proof("test_create::test_create_ignores_read_only_groups",
          JoinGroupsFromUserBody("*", "/(Users|Groups)(/[^/]+)?")),
    Proof("test_create::test_create_without_user_name_is_refused",
          EditRequest("POST", "/Users", name="userName invented", edit=_fill_user_name)),
    Proof("test_create::test_create_without_user_name_is_400_invalid_value",
          EditJson("POST", "/Users", name="scimType invalidSyntax", edit=_to_invalid_syntax)),
    Proof("test_create::test_create_group_without_display_name_is_refused",
          EditRequest("POST", "/Groups", name="displayName invented", edit=_fill_display_name)),
    Proof("test_create::test_create_duplicate_user_name_is_409_uniqueness",
          RewriteStatus("POST", "/Users", from_status=409, to_status=400)),
    Proof("test_create::test_create_user_name_differing_in_case_is_409",
          EditRequest("POST", "/Users", name="userName case-sensitive",
                      edit=_case_sensitive_user_name)),
    Proof("test_create::test_refused_duplicate_leaves_the_original",
          RewriteStatus("POST", "/Users", from_status=409, to_status=201)),
    Proof("test_create::test_create_with_enterprise_extension_is_read_back",
          EditRequest("POST", "/Users", name="extension dropped", edit=_drop(ENTERPRISE))),
    Proof("test_create::test_create_accepts_entra_body",
          RefuseBody("POST", "/Users", name="client meta refused",
                     when=lambda b: isinstance(b, dict) and "meta" in b)),
    Proof("test_create::test_create_accepts_boolean_strings",
          EditJson("GET", "/Users/[^/]+", name="active stored as a string",
                   edit=_active_as_string)),
    Proof("test_create::test_create_accepts_manager_as_string",
          EditRequest("POST", "/Users", name="manager string accepted, dropped",
                      edit=_drop_string_manager)),
    Proof("test_create::test_create_response_matches_the_schemas",
          EditJson("POST", COLLECTION, name="201 body with a numeric displayName",
                   edit=_numeric_display_name)),
    Proof("test_create::test_create_accepts_entra_legacy_body",
          RefuseBody("POST", "/Users", name="null values refused",
                     when=lambda b: isinstance(b, dict) and None in b.values())),
    Proof("test_create::test_create_accepts_null_id",
          RefuseBody("POST", "/Users", name="id refused",
                     when=lambda b: isinstance(b, dict) and "id" in b)),
    Proof("test_create::test_create_accepts_okta_body",
          RefuseBody("POST", "/Users", name="groups refused", scim_type="mutability",
                     when=lambda b: isinstance(b, dict) and "groups" in b)),
    Proof("test_create::test_create_with_extension_schema_listed_first",
          RefuseBody("POST", "/Users", name="core schema must come first",
                     when=lambda b: isinstance(b, dict) and (b.get("schemas") or [""])[0] != CORE)),
    Proof("test_create::test_create_group_with_empty_members",
          RefuseBody("POST", "/Groups", name="empty members refused",
                     when=lambda b: isinstance(b, dict) and b.get("members") == [])),
    Proof("test_create::test_create_accepts_entra_misspelt_urn",
          EditJson("GET", "/Users/[^/]+", name="unknown URN kept", edit=_keep_misspelt_urn)),
    Proof("test_create::test_create_accepts_attributes_in_any_order",
          RefuseBody("POST", "/Users", name='"schemas" must come first',
                     when=lambda b: isinstance(b, dict) and next(iter(b), "") != "schemas")),
]  # fmt: skip


PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
