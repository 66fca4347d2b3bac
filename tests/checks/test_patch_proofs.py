"""Proofs for harness/suite/test_patch.py: each check fails against its defect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from defects.batched import BatchedProver
from defects.catalog import EditJson, IgnoreWrite, ReplaceBody, RewriteStatus
from defects.patch_defects import (
    ENTERPRISE_URN,
    EditRequest,
    NonAtomic,
    OnBody,
    Refuse,
    all_primary,
    bump_meta,
    drop_path_filters,
    drop_pathless,
    freeze_meta,
    keep_first_op,
    on_ops,
    wrong_scim_type,
)
from defects.proving import Proof, Reference

USER = "/Users/.+"
GROUP = "/Groups/.+"
ANY = "/(Users|Groups)/.+"
OP = r'"op"\s*:\s*"'

IGNORED = IgnoreWrite("PATCH", USER)
ACCEPTS_ANYTHING = IgnoreWrite("PATCH", ANY)
WRONG_SCIM_TYPE = EditJson("PATCH", USER, name="scimType invalidValue", edit=wrong_scim_type)


def _op_to(kind: str, path: str | None = None) -> Callable[[Any], Any]:
    """A request edit turning every `path` operation into `kind` (append vs replace bugs)."""

    def change(op: dict[str, Any]) -> list[dict[str, Any]]:
        if path is None or op.get("path") == path:
            return [{**op, "op": kind}]
        return [op]

    return on_ops(change)


def _replace_complex_whole(op: dict[str, Any]) -> list[dict[str, Any]]:
    """Replace "name" as a whole: the sub-attributes not sent are lost."""
    if op.get("op") == "replace" and op.get("path") == "name":
        return [{"op": "remove", "path": "name"}, {**op, "op": "add"}]
    return [op]


def _remove_parent(op: dict[str, Any]) -> list[dict[str, Any]]:
    """A remove of "a.b" (or "urn:...:attr") removes "a" (or the whole extension)."""
    path = op.get("path")
    if op.get("op") == "remove" and isinstance(path, str):
        if path.startswith(ENTERPRISE_URN + ":"):
            return [{**op, "path": ENTERPRISE_URN}]
        if "." in path and "[" not in path:
            return [{**op, "path": path.split(".", 1)[0]}]
    return [op]


def _duplicate_emails(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body.get("emails"), list):
        body["emails"] = body["emails"] + [dict(e) for e in body["emails"]]
    return body


def _residue_phone(body: dict[str, Any]) -> dict[str, Any]:
    if "id" in body and not body.get("phoneNumbers"):
        body["phoneNumbers"] = [{"type": "work"}]
    return body


def _no_enterprise_schema(body: dict[str, Any]) -> dict[str, Any]:
    if isinstance(body.get("schemas"), list):
        body["schemas"] = [s for s in body["schemas"] if s != ENTERPRISE_URN]
    return body


def _stub_body(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k in ("schemas", "id", "meta")}


def _add_title(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "title": "not requested"}


def _reverse_ops(body: Any) -> Any:
    """A server that applies the operations in reverse order."""
    if isinstance(body, dict) and isinstance(body.get("Operations"), list):
        body["Operations"] = body["Operations"][::-1]
    return body


def _first_match_only(body: dict[str, Any]) -> dict[str, Any]:
    """A server that replaces only the first record a value filter matches."""
    homes = [e for e in body.get("emails") or [] if isinstance(e, dict) and e.get("type") == "home"]
    if len(homes) > 1:
        homes[-1]["type"] = "other"
    return body


def _no_patch(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "patch": {"supported": False}}


def _case_sensitive_filter(body: Any) -> Any:
    """A server comparing a caseExact=false sub-attribute with case: "HOME" matches nothing."""
    for op in body.get("Operations") or [] if isinstance(body, dict) else []:
        if isinstance(op, dict) and isinstance(op.get("path"), str):
            op["path"] = op["path"].replace('"HOME"', '"HOME (case-sensitive)"')
    return body


def _stale_members(body: dict[str, Any]) -> dict[str, Any]:
    """A 200 PATCH body holding the Group as it was before the PATCH (one member less)."""
    if isinstance(body.get("members"), list):
        body["members"] = body["members"][:-1]
    return body


CAPITALS_IGNORED = OnBody("PATCH", USER, pattern=OP + "[A-Z]", inner=IgnoreWrite())
DUPLICATE_EMAILS = EditJson("GET", USER, name="duplicate emails", edit=_duplicate_emails)
IGNORE_REMOVE = OnBody("PATCH", USER, pattern=OP + "remove", inner=IgnoreWrite())
FILTER_IGNORED = EditRequest("PATCH", USER, name="filter ignored", edit=drop_path_filters)
PRIMARY_NEVER_RESET = EditJson("GET", USER, name="primary never reset", edit=all_primary)
IGNORE_PATHLESS = IGNORED  # one run: a PATCH acknowledged and ignored
PATHLESS_DROPPED = EditRequest(
    "PATCH", USER, name="path-less URN, dotted, active keys ignored", edit=drop_pathless
)
IGNORE_URN_PATHS = IGNORED
REMOVE_PARENT = EditRequest(
    "PATCH", USER, name="remove removes the parent", edit=on_ops(_remove_parent)
)
META_STAMPED = EditJson("GET", USER, name="meta stamped on read", edit=bump_meta)

PROOFS = [
    Proof("test_patch::test_patch_is_supported",
          EditJson("GET", "/ServiceProviderConfig", name="patch unsupported", edit=_no_patch)),
    Proof("test_patch::test_replace_single_valued_attribute", IGNORED),
    Proof("test_patch::test_add_single_valued_attribute_replaces_value", IGNORED),
    Proof("test_patch::test_add_absent_attribute_adds_it", IGNORED),
    Proof("test_patch::test_replace_absent_attribute_adds_it", IGNORED),
    Proof("test_patch::test_replace_sub_attribute", IGNORED),
    Proof("test_patch::test_replace_complex_keeps_unspecified_sub_attributes",
          EditRequest("PATCH", USER, name="replace the complex whole",
                      edit=on_ops(_replace_complex_whole))),
    Proof("test_patch::test_remove_single_valued_attribute",
          IGNORE_REMOVE),
    Proof("test_patch::test_remove_sub_attribute",
          REMOVE_PARENT),
    Proof("test_patch::test_path_attribute_names_are_case_insensitive",
          OnBody("PATCH", USER, pattern="DISPLAYNAME", inner=Refuse(scim_type="invalidPath"))),
    Proof("test_patch::test_add_to_multi_valued_appends",
          EditRequest("PATCH", USER, name="add replaces", edit=_op_to("replace", "emails"))),
    Proof("test_patch::test_add_existing_value_is_not_duplicated", DUPLICATE_EMAILS),
    Proof("test_patch::test_add_same_type_and_value_is_not_duplicated", DUPLICATE_EMAILS),
    Proof("test_patch::test_required_attribute_replaced_by_null_is_refused", ACCEPTS_ANYTHING),
    Proof("test_patch::test_duplicate_user_name_is_refused", IGNORED),
    Proof("test_patch::test_duplicate_user_name_is_409_uniqueness",
          RewriteStatus("PATCH", USER, from_status=409, to_status=400)),
    Proof("test_patch::test_replace_multi_valued_replaces_all_values",
          EditRequest("PATCH", USER, name="replace appends", edit=_op_to("add", "emails"))),
    Proof("test_patch::test_remove_multi_valued_without_filter_removes_all",
          IGNORE_REMOVE),
    Proof("test_patch::test_remove_filtered_value_keeps_the_others",
          FILTER_IGNORED),
    Proof("test_patch::test_remove_last_filtered_value_unassigns_attribute",
          EditJson("GET", USER, name="empty phone left behind", edit=_residue_phone)),
    Proof("test_patch::test_remove_with_compound_value_filter",
          FILTER_IGNORED),
    Proof("test_patch::test_replace_filtered_sub_attribute", IGNORED),
    Proof("test_patch::test_replace_filtered_value_replaces_matching_record",
          FILTER_IGNORED),
    Proof("test_patch::test_primary_on_added_value_resets_the_others",
          PRIMARY_NEVER_RESET),
    Proof("test_patch::test_primary_on_filtered_value_resets_the_others",
          PRIMARY_NEVER_RESET),
    Proof("test_patch::test_add_without_path_sets_attributes",
          IGNORE_PATHLESS),
    Proof("test_patch::test_replace_without_path_sets_attributes",
          IGNORE_PATHLESS),
    Proof("test_patch::test_pathless_replace_deactivates",
          PATHLESS_DROPPED),
    Proof("test_patch::test_pathless_add_extension_object",
          PATHLESS_DROPPED),
    Proof("test_patch::test_pathless_replace_extension_object",
          PATHLESS_DROPPED),
    Proof("test_patch::test_add_extension_attribute_by_urn_path",
          IGNORE_URN_PATHS),
    Proof("test_patch::test_urn_path_adds_extension_to_schemas",
          EditJson("GET", USER, name="extension not in schemas", edit=_no_enterprise_schema)),
    Proof("test_patch::test_replace_extension_attribute_by_urn_path",
          IGNORE_URN_PATHS),
    Proof("test_patch::test_remove_extension_attribute_by_urn_path",
          REMOVE_PARENT),
    Proof("test_patch::test_replace_manager_by_urn_path",
          IGNORE_URN_PATHS),
    Proof("test_patch::test_remove_manager_by_urn_path",
          REMOVE_PARENT),
    Proof("test_patch::test_replace_filter_matching_nothing_is_400_no_target", WRONG_SCIM_TYPE),
    Proof("test_patch::test_remove_without_path_is_400_no_target", WRONG_SCIM_TYPE),
    Proof("test_patch::test_malformed_path_is_refused", IGNORED),
    Proof("test_patch::test_malformed_path_is_400_invalid_path", WRONG_SCIM_TYPE),
    Proof("test_patch::test_read_only_attribute_replace_is_refused", IGNORED),
    Proof("test_patch::test_read_only_attribute_replace_is_400_mutability", WRONG_SCIM_TYPE),
    Proof("test_patch::test_read_only_attribute_remove_is_400_mutability", IGNORED),
    Proof("test_patch::test_required_attribute_remove_is_400_mutability", ACCEPTS_ANYTHING),
    Proof("test_patch::test_immutable_attribute_update_is_refused", IgnoreWrite("PATCH", GROUP)),
    Proof("test_patch::test_unknown_op_is_refused", IGNORED),
    Proof("test_patch::test_patch_of_unknown_resource_is_refused",
          RewriteStatus("PATCH", USER, from_status=404, to_status=200)),
    Proof("test_patch::test_patch_of_unknown_resource_is_404",
          RewriteStatus("PATCH", USER, from_status=404, to_status=400)),
    Proof("test_patch::test_failing_operation_rolls_back_earlier_ones", NonAtomic("PATCH", USER)),
    Proof("test_patch::test_failing_operation_rolls_back_membership", NonAtomic("PATCH", GROUP)),
    Proof("test_patch::test_success_answers_200_with_resource_or_204",
          EditJson("PATCH", USER, name="200 with a stub body", edit=_stub_body)),
    Proof("test_patch::test_attributes_parameter_forces_200",
          ReplaceBody("PATCH", USER, query="attributes", body=b"", status=204)),
    Proof("test_patch::test_attributes_parameter_projects_the_response",
          EditJson("PATCH", USER, name="unrequested title", edit=_add_title)),
    Proof("test_patch::test_noop_add_keeps_last_modified",
          META_STAMPED),
    Proof("test_patch::test_noop_add_keeps_version",
          META_STAMPED),
    Proof("test_patch::test_change_moves_last_modified_and_version",
          EditJson("GET", USER, name="meta frozen", edit=freeze_meta)),
    Proof("test_patch::test_capitalized_op_is_applied_or_refused",
          OnBody("PATCH", USER, pattern=OP + "[A-Z]", inner=IgnoreWrite())),
    Proof("test_patch::test_idp_capitalized_ops_are_applied",
          CAPITALS_IGNORED),
    Proof("test_patch::test_idp_string_boolean_is_accepted",
          OnBody("PATCH", USER, pattern=r'"False"', inner=IgnoreWrite())),
    Proof("test_patch::test_idp_dotted_keys_in_pathless_replace",
          PATHLESS_DROPPED),
    Proof("test_patch::test_idp_manager_as_plain_string",
          OnBody("PATCH", USER, pattern=r'manager"\s*,\s*"value"\s*:\s*"', inner=IgnoreWrite())),
    Proof("test_patch::test_idp_add_filtered_path_creates_missing_value",
          OnBody("PATCH", USER, pattern=OP + r'add"\s*,\s*"path"\s*:\s*"emails\[',
                 inner=IgnoreWrite())),
    Proof("test_patch::test_add_absent_sub_attribute_adds_it", IGNORED),
    Proof("test_patch::test_remove_complex_attribute", IGNORE_REMOVE),
    Proof("test_patch::test_operations_apply_in_order",
          EditRequest("PATCH", USER, name="operations reversed", edit=_reverse_ops)),
    Proof("test_patch::test_replace_active_by_path", IGNORED),
    Proof("test_patch::test_add_absent_multi_valued_attribute_creates_it", IGNORED),
    Proof("test_patch::test_replace_filter_replaces_every_match",
          EditJson("GET", USER, name="first match only", edit=_first_match_only)),
    Proof("test_patch::test_remove_filter_removes_every_match", FILTER_IGNORED),
    Proof("test_patch::test_replace_with_boolean_value_filter", IGNORED),
    Proof("test_patch::test_replace_extension_sub_attribute_by_urn_path", IGNORE_URN_PATHS),
    Proof("test_patch::test_remove_with_filter_operator", FILTER_IGNORED),
    Proof("test_patch::test_path_filter_honours_case_exactness",
          EditRequest("PATCH", USER, name="case-sensitive filter", edit=_case_sensitive_filter)),
    Proof("test_patch::test_excluded_attributes_on_patch_response",
          EditJson("PATCH", USER, name="excluded title returned", edit=_add_title)),
    Proof("test_patch::test_group_patch_answer_lists_the_new_members",
          EditJson("PATCH", GROUP, name="stale members in the answer", edit=_stale_members)),
    Proof("test_patch::test_replace_user_name", IGNORED),
    Proof("test_patch::test_replace_write_only_password",
          OnBody("PATCH", USER, pattern=r'"password"', inner=Refuse())),
    Proof("test_patch::test_later_operations_see_the_implicit_schema_change",
          EditRequest("PATCH", USER, name="first operation only", edit=keep_first_op)),
    Proof("test_patch::test_add_single_object_to_multi_valued",
          OnBody("PATCH", USER, pattern=r'"value"\s*:\s*\{', inner=Refuse())),
    Proof("test_patch::test_duplicate_user_name_in_other_case_is_refused", IGNORED),
    Proof("test_patch::test_at_most_one_primary_after_patch", PRIMARY_NEVER_RESET),
    Proof("test_patch::test_idp_entra_default_update_body", CAPITALS_IGNORED),
]  # fmt: skip


PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    PROVER.prove(reference, proof)
