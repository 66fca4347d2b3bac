"""Proofs for harness/suite/test_read.py: each check fails against its defect."""

from __future__ import annotations

from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import EditJson, RewriteStatus
from defects.proving import Proof, Reference

ITEM = "/(Users|Groups)/[^/]+"
USER = "/Users/[^/]+"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def _set(key: str, value: Any) -> Any:
    def edit(body: Any) -> Any:
        if isinstance(body, dict) and "schemas" in body and "status" not in body:
            body[key] = value
        return body

    return edit


def _drop(key: str) -> Any:
    def edit(body: Any) -> Any:
        if isinstance(body, dict):
            body.pop(key, None)
        return body

    return edit


def _rename(body: Any) -> Any:
    if isinstance(body, dict):
        for key in ("userName", "displayName"):
            if key in body:
                body[key] = f"someone-else-{body[key]}"
    return body


def _moved_created(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        body["meta"]["created"] = "2001-01-01T00:00:00Z"
    return body


def _add_family_name(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("name"), dict):
        body["name"]["familyName"] = "Unrequested"
    return body


def _member_display(body: Any) -> Any:
    if isinstance(body, dict):
        for member in body.get("members") or []:
            member["display"] = "Unrequested"
    return body


PROOFS = [
    Proof("test_read::test_get_by_id_returns_the_resource",
          EditJson("GET", ITEM, name="another resource's name", edit=_rename)),
    Proof("test_read::test_get_agrees_with_the_create_response",
          EditJson("GET", ITEM, name="meta.created differs", edit=_moved_created)),
    Proof("test_read::test_get_unknown_uuid_is_404",
          RewriteStatus("GET", ITEM, from_status=404, to_status=400)),
    Proof("test_read::test_attributes_returns_requested_and_id",
          EditJson("GET", USER, query="attributes=", name="attributes ignored",
                   edit=_set("displayName", "Unrequested"))),
    Proof("test_read::test_attributes_selects_a_sub_attribute",
          EditJson("GET", USER, query="attributes=name", name="whole name returned",
                   edit=_add_family_name)),
    Proof("test_read::test_attribute_names_are_case_insensitive",
          EditJson("GET", USER, query="attributes=USERNAME", name="USERNAME not matched",
                   edit=_drop("userName"))),
    Proof("test_read::test_attributes_selects_an_extension_attribute",
          EditJson("GET", USER, query="attributes=urn", name="core attributes returned too",
                   edit=_set("displayName", "Unrequested"))),
    Proof("test_read::test_excluded_attributes_are_left_out",
          EditJson("GET", USER, query="excludedAttributes=", name="exclusion ignored",
                   edit=_set("displayName", "Excluded"))),
    Proof("test_read::test_excluded_attributes_keep_returned_always",
          EditJson("GET", USER, query="excludedAttributes=id", name="id excluded",
                   edit=_drop("id"))),
    Proof("test_read::test_attributes_keep_the_schemas_attribute",
          EditJson("GET", USER, query="attributes=", name="schemas dropped",
                   edit=_drop("schemas"))),
    Proof("test_read::test_attributes_never_return_a_write_only_value",
          EditJson("GET", USER, query="attributes=password", name="password returned",
                   edit=_set("password", "hunter2"))),
    Proof("test_read::test_group_attributes_can_leave_out_members",
          EditJson("GET", "/Groups/[^/]+", query="excludedAttributes=members",
                   name="members returned", edit=_set("members", [{"value": "x"}]))),
    Proof("test_read::test_user_id_under_groups_is_404",
          RewriteStatus("GET", "/Groups/[^/]+", from_status=404, to_status=400)),
    Proof("test_read::test_attributes_takes_several_names",
          EditJson("GET", USER, query="displayName", name="only the first name honoured",
                   edit=_drop("displayName"))),
    Proof("test_read::test_excluded_attributes_drop_a_sub_attribute",
          EditJson("GET", USER, query="excludedAttributes=name", name="sub-attribute kept",
                   edit=_add_family_name)),
    Proof("test_read::test_attributes_select_a_multi_valued_sub_attribute",
          EditJson("GET", "/Groups/[^/]+", query="attributes=members", name="whole members",
                   edit=_member_display)),
    Proof("test_read::test_excluded_attributes_drop_an_extension",
          EditJson("GET", USER, query="excludedAttributes=urn", name="extension kept",
                   edit=_set(ENTERPRISE, {"department": "Excluded Department"}))),
]  # fmt: skip


PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
