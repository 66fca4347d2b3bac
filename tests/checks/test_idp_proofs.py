"""Proofs for harness/suite/test_idp.py: each IdP check fails against its defect.

Proofs name one parametrization each (`ParamProof`): a scenario for one profile, a quirk of
one profile. "Refused cleanly" defects make the works-with-IdP verdict fail while the
RFC-strict verdict of a request the RFC does not define still passes (a clean 400);
"accepted and ignored" defects make both fail.
"""

from __future__ import annotations

from typing import Any

import pytest
from defects import idp_defects as d
from defects.batched import BatchedProver
from defects.catalog import Defect, EditJson
from defects.idp_defects import ParamProof
from defects.proving import Reference


def scenario(check: str, profile: str, defect: Defect) -> ParamProof:
    return ParamProof(f"test_idp::test_idp_{check}", defect, param=profile)


def works(profile: str, quirk: str, defect: Defect) -> ParamProof:
    return ParamProof("test_idp::test_quirk_works_with_idp", defect, param=f"{profile}-{quirk}")


def strict(profile: str, quirk: str, defect: Defect) -> ParamProof:
    return ParamProof("test_idp::test_quirk_rfc_strict", defect, param=f"{profile}-{quirk}")


PROOFS = [
    # scenarios
    scenario("assign", "entra", d.MISS_AS_404),
    scenario("assign", "okta", d.CREATE_ANSWERS_200),
    scenario("assign", "generic", d.CREATE_ANSWERS_EMPTY),
    scenario("update", "entra", d.CASE_SENSITIVE_OPS),
    scenario("update", "okta", d.PUT_IGNORED),
    scenario("update", "onelogin", d.PUT_IGNORED),
    scenario("rename_and_email", "entra", d.EMAIL_CHANGES_IGNORED),
    scenario("rename_and_email", "generic", d.EMAIL_CHANGES_IGNORED),
    scenario("deactivate", "entra", d.STRING_BOOLEANS_REFUSED),
    scenario("deactivate", "okta", d.PATHLESS_IGNORED),
    scenario("deactivate", "generic", d.INACTIVE_HIDDEN_FROM_FILTER),
    scenario("reactivate", "entra", d.ACTIVATION_IGNORED),
    scenario("reactivate", "okta", d.ACTIVATION_IGNORED),
    scenario("unassign", "onelogin", d.DELETE_IGNORED),
    scenario("unassign", "okta", d.PATHLESS_IGNORED),
    scenario("reassign_after_delete", "okta", d.ACTIVATION_IGNORED),
    scenario("group_push", "entra", d.REMOVE_WITH_VALUE_EMPTIES),
    scenario("group_push", "jumpcloud", d.REMOVE_WITH_VALUE_EMPTIES),
    scenario("group_push", "okta", d.MEMBER_FILTER_REMOVE_IGNORED),
    scenario("import", "okta", d.COUNTERS_AS_STRINGS),
    scenario("import", "entra", d.COUNTERS_AS_STRINGS),
    scenario("import", "entra", d.START_INDEX_IGNORED),
    scenario("link_existing", "okta", d.FILTER_FINDS_NOTHING),
    scenario("link_existing", "entra", d.FILTER_FINDS_NOTHING),
    scenario("connection_test", "entra", d.MISS_AS_404),
    scenario("connection_test", "okta", d.COUNTERS_AS_STRINGS),
    # entra quirks
    works("entra", "capitalized-op-names", d.CASE_SENSITIVE_OPS),
    strict("entra", "capitalized-op-names", d.CAPITALISED_OP_IGNORED),
    works("entra", "string-booleans", d.STRING_BOOLEANS_REFUSED),
    strict("entra", "string-booleans", d.STRING_FALSE_IGNORED),
    works("entra", "add-on-single-valued", d.ADD_IGNORED),
    strict("entra", "add-on-single-valued", d.ADD_IGNORED),
    works("entra", "filtered-path-add", d.FILTERED_PATH_REFUSED),
    strict("entra", "filtered-path-add", d.FILTERED_PATH_IGNORED),
    works("entra", "filtered-path-replace", d.FILTERED_PATH_IGNORED),
    strict("entra", "filtered-path-replace", d.FILTERED_PATH_REFUSED),
    works("entra", "enterprise-urn-path", d.URN_PATH_IGNORED),
    strict("entra", "enterprise-urn-path", d.URN_PATH_IGNORED),
    works("entra", "remove-members-with-value", d.REMOVE_WITH_VALUE_EMPTIES),
    strict("entra", "remove-members-with-value", d.REMOVE_IGNORED),
    works("entra", "multiple-members-one-add", d.FIRST_MEMBER_ONLY),
    strict("entra", "multiple-members-one-add", d.FIRST_MEMBER_ONLY),
    works("entra", "manager-as-string", d.MANAGER_STRING_REFUSED),
    strict("entra", "manager-as-string", d.MANAGER_STRING_DROPPED),
    works("entra", "null-attributes-in-create", d.NULLS_REFUSED),
    strict("entra", "null-attributes-in-create", d.NULLS_REFUSED),
    works("entra", "query-flag-on-base-url", d.QUERY_FLAG_REFUSED),
    strict("entra", "query-flag-on-base-url", d.QUERY_FLAG_NOT_FOUND),
    works("entra", "pathless-replace-dotted-keys", d.DOTTED_KEYS_REFUSED),
    strict("entra", "pathless-replace-dotted-keys", d.PATHLESS_IGNORED),
    works("entra", "remove-member-by-filter", d.MEMBER_FILTER_REMOVE_IGNORED),
    strict("entra", "remove-member-by-filter", d.MEMBER_FILTER_REMOVE_IGNORED),
    works("entra", "group-read-excludes-members", d.EXCLUDED_MEMBERS_SENT),
    strict("entra", "group-read-excludes-members", d.EXCLUDED_MEMBERS_SENT),
    works("entra", "manager-by-urn-path", d.MANAGER_PATH_IGNORED),
    strict("entra", "manager-by-urn-path", d.MANAGER_PATH_IGNORED),
    works("entra", "manager-cleared-with-empty-string", d.EMPTY_MANAGER_REFUSED),
    strict("entra", "manager-cleared-with-empty-string", d.EMPTY_MANAGER_IGNORED),
    works("entra", "capitalised-sub-attribute", d.CAPITAL_SUB_ATTRIBUTE_REFUSED),
    strict("entra", "capitalised-sub-attribute", d.CAPITAL_SUB_ATTRIBUTE_REFUSED),
    works("entra", "username-lookup-ignores-case", d.CASE_SENSITIVE_USERNAME_FILTER),
    strict("entra", "username-lookup-ignores-case", d.CASE_SENSITIVE_USERNAME_FILTER),
    works("entra", "app-role-as-json-string", d.ROLE_ADD_IGNORED),
    strict("entra", "app-role-as-json-string", d.ROLE_ADD_IGNORED),
    works("entra", "unquoted-filter-value", d.UNQUOTED_FILTER_REFUSED),
    strict("entra", "unquoted-filter-value", d.UNQUOTED_FILTER_MATCHES_NOTHING),
    works("entra", "lookup-miss-is-an-empty-list", d.MISS_AS_404),
    strict("entra", "lookup-miss-is-an-empty-list", d.MISS_AS_404),
    # okta quirks
    works("okta", "pathless-replace-active", d.PATHLESS_IGNORED),
    strict("okta", "pathless-replace-active", d.PATHLESS_IGNORED),
    works("okta", "group-rename-carries-id", d.ID_IN_VALUE_REFUSED),
    strict("okta", "group-rename-carries-id", d.ID_IN_VALUE_IGNORED),
    works("okta", "remove-and-add-members-in-one-patch", d.ONLY_FIRST_OP),
    strict("okta", "remove-and-add-members-in-one-patch", d.ONLY_FIRST_OP),
    works("okta", "member-objects-without-type", d.UNTYPED_MEMBERS_REFUSED),
    strict("okta", "member-objects-without-type", d.UNTYPED_MEMBERS_REFUSED),
    works("okta", "create-sends-password-and-groups", d.GROUPS_IN_CREATE_REFUSED),
    strict("okta", "create-sends-password-and-groups", d.GROUPS_IN_CREATE_REFUSED),
    works("okta", "put-echoes-read-only-attributes", d.META_IN_PUT_REFUSED),
    strict("okta", "put-echoes-read-only-attributes", d.META_IN_PUT_REFUSED),
    # onelogin quirks
    works("onelogin", "legacy-schema-urns", d.LEGACY_URNS_REFUSED),
    strict("onelogin", "legacy-schema-urns", d.LEGACY_URNS_IGNORED),
    works("onelogin", "trailing-ampersand-query", d.TRAILING_AMPERSAND_REFUSED),
    strict("onelogin", "trailing-ampersand-query", d.TRAILING_AMPERSAND_NOT_FOUND),
    works("onelogin", "active-as-string", d.STRING_ACTIVE_REFUSED),
    strict("onelogin", "active-as-string", d.STRING_ACTIVE_AS_FALSE),
    works("onelogin", "emails-single-object", d.EMAILS_OBJECT_REFUSED),
    strict("onelogin", "emails-single-object", d.EMAILS_OBJECT_DROPPED),
    works("onelogin", "core-1-0-template", d.CORE_1_0_REFUSED),
    strict("onelogin", "core-1-0-template", d.CORE_1_0_DROPS_NAME),
    # jumpcloud quirks
    works("jumpcloud", "remove-members-with-value", d.REMOVE_WITH_VALUE_EMPTIES),
    strict("jumpcloud", "remove-members-with-value", d.REMOVE_IGNORED),
]

PROVER = BatchedProver(PROOFS)


@pytest.mark.parametrize("proof", PROOFS, ids=[f"{p.function}[{p.param}]" for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: ParamProof) -> None:
    PROVER.prove(reference, proof)


def test_refused_cleanly_still_passes_rfc_strict(reference: Reference) -> None:
    """A clean 400 to a request the RFC does not define: not with Entra, but RFC-strict."""
    target = ParamProof(
        "test_idp::test_quirk_rfc_strict", d.CASE_SENSITIVE_OPS, param="entra-capitalized-op-names"
    )
    outcomes = reference.run_with(target.defect, [target.target])
    assert [r.outcome for n, r in outcomes.items() if target.owns(n)] == ["passed"]


def _newest_dropped_from_walks(walks: int) -> Any:
    """An edit that drops the newest user from the last page of the first `walks` walks of
    the listing: what another writer's deletes do to offset paging while it walks."""
    done = 0

    def edit(body: Any) -> Any:
        nonlocal done
        if not isinstance(body, dict) or done >= walks:
            return body
        resources = body.get("Resources") or []
        start, total = body.get("startIndex", 1), body.get("totalResults", 0)
        if resources and start + len(resources) - 1 >= total:  # the walk's last page
            done += 1
            body["Resources"] = resources[:-1]
        return body

    return edit


def _outcomes(records: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {n: (r.outcome, r.reason[:300]) for n, r in records.items()}


def test_an_import_that_shifts_under_other_writers_is_not_a_failure(reference: Reference) -> None:
    """Offset paging shifts when others delete while an IdP pages (the suite's own workers
    under -n 2 did, against scim2-server: a false "the user import misses ..."). A user
    missing from two walks but present in the third passes; a server that drops it from
    every walk still fails (START_INDEX_IGNORED and COUNTERS_AS_STRINGS above)."""
    target = ParamProof("test_idp::test_idp_import", d.START_INDEX_IGNORED, param="entra").target
    shifting = EditJson(
        "GET", "/Users", query="startIndex", name="shifting", edit=_newest_dropped_from_walks(2)
    )
    outcomes = _outcomes(reference.run_with(shifting, [target]))
    assert outcomes, "the import check did not run"
    assert all(o == "passed" for o, _ in outcomes.values()), outcomes
    always = EditJson(
        "GET", "/Users", query="startIndex", name="drops", edit=_newest_dropped_from_walks(99)
    )
    outcomes = _outcomes(reference.run_with(always, [target]))
    assert any(o == "failed" for o, _ in outcomes.values()), outcomes
