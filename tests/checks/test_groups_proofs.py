"""Proofs for harness/suite/test_groups.py: each check fails against its defect."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import EditJson, IgnoreWrite, RewriteStatus
from defects.patch_defects import (
    CreateThenFail,
    EditRequest,
    OnBody,
    PartialMembers,
    Refuse,
    drop_path_filters,
    keep_first_op,
    on_ops,
    truncate_values,
)
from defects.proving import Proof, Reference

USER = "/Users/.+"
GROUP = "/Groups/.+"
OP = r'"op"\s*:\s*"'


def _members_op_to(kind: str) -> Callable[[Any], Any]:
    """Operations on "members" become `kind` (add that replaces, replace that appends)."""

    def change(op: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**op, "op": kind}] if op.get("path") == "members" else [op]

    return on_ops(change)


def _rename_loses_members(op: dict[str, Any]) -> list[dict[str, Any]]:
    """A rename implemented as a replace of the whole Group: the members are lost."""
    if op.get("path") == "displayName":
        return [op, {"op": "remove", "path": "members"}]
    return [op]


def _drop_request_members(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "members"}


def _edit_members(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        for member in body.get("members") or [] if isinstance(body, dict) else []:
            if isinstance(member, dict):
                change(member)
        return body

    return edit


def _edit_groups(change: Callable[[dict[str, Any]], None]) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        for group in body.get("groups") or [] if isinstance(body, dict) else []:
            if isinstance(group, dict):
                change(group)
        return body

    return edit


def _duplicate_members(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("members"), list):
        body["members"] = body["members"] + [dict(m) for m in body["members"]]
    return body


def _drop_groups(body: Any) -> Any:
    if isinstance(body, dict):
        body.pop("groups", None)
    return body


def _first_alternative(body: Any) -> Any:
    """A server that evaluates only the first comparison of an "or" filter."""
    for op in body.get("Operations") or [] if isinstance(body, dict) else []:
        if isinstance(op, dict) and isinstance(op.get("path"), str):
            op["path"] = re.sub(r" or [^\]]*\]", "]", op["path"])
    return body


def _first_group_only(body: Any) -> Any:
    """A server whose "groups" keeps only the first membership (stale after later adds)."""
    if isinstance(body, dict) and isinstance(body.get("groups"), list):
        body["groups"] = body["groups"][:1]
    return body


IGNORED_GROUP = IgnoreWrite("PATCH", GROUP)
REMOVE_IGNORED = OnBody("PATCH", GROUP, pattern=OP + "[Rr]emove", inner=IgnoreWrite())
IGNORE_REMOVE = OnBody("PATCH", GROUP, pattern=OP + "remove", inner=IgnoreWrite())
GROUPS_NEVER_SET = EditJson("GET", USER, name="groups never populated", edit=_drop_groups)
SWAP_REF = _edit_members(
    lambda m: m.update({"$ref": str(m.get("$ref", "")).replace("/Users/", "/Groups/")})
)
ONE_OP_ONLY = EditRequest("PATCH", GROUP, name="first operation only", edit=keep_first_op)

PROOFS = [
    Proof("test_groups::test_create_group_with_members",
          EditRequest("POST", "/Groups", name="members ignored", edit=_drop_request_members)),
    Proof("test_groups::test_create_group_response_lists_members",
          EditJson("POST", "/Groups", name="members left out", edit=_drop_request_members)),
    Proof("test_groups::test_add_members_by_patch", IGNORED_GROUP),
    Proof("test_groups::test_add_member_keeps_existing_members",
          EditRequest("PATCH", GROUP, name="add replaces", edit=_members_op_to("replace"))),
    Proof("test_groups::test_add_existing_member_is_not_duplicated",
          EditJson("GET", GROUP, name="duplicate members", edit=_duplicate_members)),
    Proof("test_groups::test_remove_member_by_filter_keeps_the_others", IGNORE_REMOVE),
    Proof("test_groups::test_remove_last_member_unassigns_members", IGNORE_REMOVE),
    Proof("test_groups::test_remove_members_without_filter_removes_all", IGNORE_REMOVE),
    Proof("test_groups::test_replace_members_replaces_all",
          EditRequest("PATCH", GROUP, name="replace appends", edit=_members_op_to("add"))),
    Proof("test_groups::test_remove_and_add_member_in_one_patch", ONE_OP_ONLY),
    Proof("test_groups::test_remove_non_member_changes_nothing",
          EditRequest("PATCH", GROUP, name="filter ignored", edit=drop_path_filters)),
    Proof("test_groups::test_rename_group_keeps_members",
          EditRequest("PATCH", GROUP, name="rename loses members",
                      edit=on_ops(_rename_loses_members))),
    Proof("test_groups::test_fifty_members_in_one_patch",
          EditRequest("PATCH", GROUP, name="20 values per add", edit=truncate_values(20))),
    Proof("test_groups::test_twenty_removals_in_one_patch", ONE_OP_ONLY),
    Proof("test_groups::test_add_member_with_display_and_ref",
          OnBody("PATCH", GROUP, pattern=r'"display"', inner=Refuse(scim_type="mutability"))),
    Proof("test_groups::test_unknown_member_is_refused_or_ignored_atomically",
          PartialMembers("PATCH", GROUP)),
    Proof("test_groups::test_unknown_member_refusal_is_400",
          RewriteStatus("PATCH", GROUP, from_status=400, to_status=404)),
    Proof("test_groups::test_unknown_member_on_create_is_clean", CreateThenFail("POST", "/Groups")),
    Proof("test_groups::test_member_type_is_user",
          EditJson("GET", GROUP, name='members typed "Group"',
                   edit=_edit_members(lambda m: m.update({"type": "Group"})))),
    Proof("test_groups::test_member_ref_resolves_to_the_user",
          EditJson("GET", GROUP, name="member $ref to /Groups", edit=SWAP_REF)),
    Proof("test_groups::test_user_groups_lists_membership_from_create", GROUPS_NEVER_SET),
    Proof("test_groups::test_user_groups_follows_patch_add",
          EditJson("GET", USER, name="groups: first only", edit=_first_group_only)),
    Proof("test_groups::test_user_groups_follows_patch_remove", GROUPS_NEVER_SET),
    Proof("test_groups::test_user_groups_follows_members_replace", GROUPS_NEVER_SET),
    Proof("test_groups::test_user_groups_ref_is_the_group_uri",
          EditJson("GET", USER, name="groups $ref to /Users",
                   edit=_edit_groups(lambda g: g.update({"$ref": f"Users/{g.get('value')}"})))),
    Proof("test_groups::test_user_groups_type_is_direct",
          EditJson("GET", USER, name='groups typed "indirect"',
                   edit=_edit_groups(lambda g: g.update({"type": "indirect"})))),
    Proof("test_groups::test_user_groups_cannot_be_patched",
          RewriteStatus("PATCH", USER, from_status=400, to_status=200)),
    Proof("test_groups::test_idp_remove_member_with_value_list", REMOVE_IGNORED),
    Proof("test_groups::test_idp_entra_add_member",
          OnBody("PATCH", GROUP, pattern=OP + "Add", inner=IgnoreWrite())),
    Proof("test_groups::test_idp_okta_rename_with_id_in_value",
          OnBody("PATCH", GROUP, pattern=r'"id"', inner=IgnoreWrite())),
    Proof("test_groups::test_remove_members_by_or_filter",
          EditRequest("PATCH", GROUP, name="or filter: first term only", edit=_first_alternative)),
    Proof("test_groups::test_replace_members_with_empty_list_empties_the_group",
          EditRequest("PATCH", GROUP, name="replace appends", edit=_members_op_to("add"))),
    Proof("test_groups::test_add_member_with_type",
          OnBody("PATCH", GROUP, pattern=r'"type"', inner=Refuse(scim_type="mutability"))),
    Proof("test_groups::test_pathless_replace_renames_group", IGNORED_GROUP),
    Proof("test_groups::test_add_group_as_member", IGNORED_GROUP),
    Proof("test_groups::test_idp_entra_remove_member", REMOVE_IGNORED),
    Proof("test_groups::test_same_member_twice_in_one_add_is_kept_once",
          EditJson("GET", GROUP, name="duplicate members", edit=_duplicate_members)),
]  # fmt: skip

PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
