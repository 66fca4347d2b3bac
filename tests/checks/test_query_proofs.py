"""Proofs for harness/suite/test_query.py: each check fails against its defect.

These run against their own reference server behind a `QuerySwitchboard`, which forwards
the query strings the request-side defects rewrite.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from defects.catalog import EditJson, ReplaceBody, RewriteStatus
from defects.proving import Proof, Reference
from defects.query_defects import (
    CaseInsensitiveEq,
    EditParam,
    Refuse,
    RewriteFilter,
    by_defect,
    error_body,
    list_edit,
    prove_together,
    served_query_reference,
)

USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
USERS = "/Users"
GROUPS = "/Groups"
ROOT = "/?"


def _without(name: str) -> Any:
    return lambda body: {k: v for k, v in body.items() if k != name}


def _sorted_by(key: Any, reverse: bool = False) -> Any:
    return list_edit(lambda rs: sorted(rs, key=key, reverse=reverse))


def _first_email(resource: dict[str, Any]) -> str:
    emails = resource.get("emails") or [{}]
    return str(emails[0].get("value", ""))


def _counts(edit: Any) -> Any:
    def apply(body: Any) -> Any:
        return edit(body) if isinstance(body, dict) and "totalResults" in body else body

    return apply


EMPTY = list_edit(lambda rs: [])
SCIM = "application/scim+json"
EMPTY_LIST = json.dumps({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                         "totalResults": 0, "Resources": []}).encode()  # fmt: skip


def q(check: str) -> str:
    return f"test_query::{check}"


PROOFS = [
    # operators on strings, booleans, dateTimes
    Proof(q("test_string_operator_selects_exactly_the_matches"),
          RewriteFilter("GET", USERS, pattern=r" gt ", replacement=" ge ")),
    Proof(q("test_string_operator_selects_exactly_the_matches"),  # unescaped SQL LIKE
          RewriteFilter("GET", USERS, pattern=r'title co "%"', replacement="title pr")),
    Proof(q("test_boolean_filter_selects_exactly_the_matches"),
          RewriteFilter("GET", USERS, pattern=r"active eq false", replacement="active eq true")),
    Proof(q("test_ordering_a_boolean_is_invalid_filter"),
          RewriteFilter("GET", USERS, pattern=r"active (gt|ge|lt|le) true",
                        replacement="active eq true")),
    Proof(q("test_ordering_a_binary_is_invalid_filter"),
          RewriteFilter("GET", USERS, pattern=r"(x509Certificates\.value) (gt|ge|lt|le)",
                        replacement=r"\1 eq")),
    Proof(q("test_datetime_operator_compares_chronologically"),
          RewriteFilter("GET", USERS, pattern=r"meta\.(created|lastModified) gt",
                        replacement=r"meta.\1 lt")),
    Proof(q("test_datetime_filter_compares_instants_not_strings"),
          RewriteFilter("GET", USERS, pattern=r'(\d\d:\d\d:\d\d)\+14:00"', replacement=r'\1Z"')),
    Proof(q("test_datetime_bound_includes_the_exact_value"),
          RewriteFilter("GET", USERS, pattern=r"meta\.created (g|l)e",
                        replacement=r"meta.created \1t")),
    # logic
    Proof(q("test_logical_operators_combine_expressions"),
          RewriteFilter("GET", USERS, pattern=r" or ", replacement=" and ")),
    Proof(q("test_and_binds_tighter_than_or"),
          RewriteFilter("GET", USERS, pattern=r'(title eq "Analyst" or title eq "Baker") and',
                        replacement=r"(\1) and")),
    Proof(q("test_parentheses_change_the_order_of_evaluation"),
          RewriteFilter("GET", USERS, pattern=r"[()]", replacement="")),
    # attribute paths
    Proof(q("test_complex_filter_applies_to_one_value"),
          RewriteFilter("GET", USERS, pattern=r'emails\[type eq "work" and value co "([^"]*)"\]',
                        replacement=r'emails.type eq "work" and emails.value co "\1"')),
    Proof(q("test_filter_by_schemas_attribute"),
          RewriteFilter("GET", USERS, pattern=r"schemas eq \"[^\"]*\"",
                        replacement=f'schemas eq "{USER_URN}"')),
    Proof(q("test_filter_string_values_are_json_strings"),
          RewriteFilter("GET", USERS, pattern=r"\\u0043", replacement=r"\\\\u0043")),
    Proof(q("test_filter_on_a_non_ascii_value"),
          RewriteFilter("GET", USERS, pattern=r"山", replacement="?")),
    Proof(q("test_sub_attribute_conditions_match_any_values"),
          RewriteFilter("GET", USERS,
                        pattern=r'emails\.type eq "work" and emails\.value co "([^"]*)"',
                        replacement=r'emails[type eq "work" and value co "\1"]')),
    Proof(q("test_multi_valued_filter_matches_a_non_primary_value"),
          RewriteFilter("GET", USERS, pattern=r'emails\.value eq "([^"]*)"',
                        replacement=r'emails[primary eq true and value eq "\1"]')),
    Proof(q("test_presence_of_a_complex_attribute"),
          RewriteFilter("GET", USERS, pattern=r"phoneNumbers pr", replacement="name pr")),
    Proof(q("test_sub_attribute_filter"),
          RewriteFilter("GET", USERS, pattern=r"name\.familyName", replacement="name.givenName")),
    Proof(q("test_urn_qualified_filter"), Refuse("GET", USERS, query=r"filter=urn%3A")),
    Proof(q("test_extension_attribute_filter"), Refuse("GET", USERS, query=r"enterprise")),
    # case
    Proof(q("test_attribute_names_in_filters_ignore_case"),
          Refuse("GET", USERS, query=r"TITLE|FAMILYNAME")),
    Proof(q("test_attribute_operators_ignore_case"),
          Refuse("GET", USERS, query=r"\+(EQ|Ne|CO|Sw|EW|PR|GT|Le)(\+|&|$)")),
    Proof(q("test_logical_operators_ignore_case"), Refuse("GET", USERS, query=r"\+(AND|Or)\+|NOT")),
    Proof(q("test_string_comparison_follows_case_exact"),
          EditJson("GET", USERS, query="SCIMTEST", name="case-sensitive match", edit=EMPTY)),
    Proof(q("test_case_exact_identifier_needs_the_exact_case"),
          CaseInsensitiveEq("GET", USERS, attribute="externalId")),
    # errors
    Proof(q("test_unknown_operator_is_invalid_filter"),
          EditJson("GET", USERS, name="no scimType", edit=_without("scimType"))),
    Proof(q("test_malformed_filter_is_refused"),
          RewriteStatus("GET", USERS, from_status=400, to_status=200)),
    Proof(q("test_malformed_filter_is_400_invalid_filter"),
          EditJson("GET", USERS, name="no scimType", edit=_without("scimType"))),
    Proof(q("test_unknown_attribute_matches_nothing_or_is_refused"),
          RewriteFilter("GET", USERS, pattern=r"scimtestNoSuchAttribute[^)]*",
                        replacement="userName pr")),
    Proof(q("test_defaulted_attribute_is_filtered_as_returned"),
          RewriteFilter("GET", USERS, pattern=r"active pr", replacement="userName pr")),
    Proof(q("test_too_many_results_refusal_says_too_many"),
          Refuse("GET", USERS, query=r"userName\+pr", scim_type="invalidValue")),
    # empty results and IdP lookups
    Proof(q("test_no_match_is_200_with_zero_total"),
          ReplaceBody("GET", "/(Users|Groups)", query="nobody", body=error_body(404),
                      content_type=SCIM, status=404)),
    Proof(q("test_entra_form_encoded_lookup"), Refuse("GET", USERS, query=r"userName\+eq\+")),
    Proof(q("test_percent_encoded_lookup"), Refuse("GET", USERS, query=r"%20")),
    Proof(q("test_unquoted_value_is_refused_or_matched_exactly"),
          RewriteFilter("GET", USERS, pattern=r'externalId eq [^"\s]+$',
                        replacement="externalId pr")),
    Proof(q("test_okta_lookup_with_paging"), EditParam("GET", USERS, param="startIndex", shift=1)),
    # groups
    Proof(q("test_group_filter_by_display_name"),
          RewriteFilter("GET", GROUPS, pattern=r"displayName eq", replacement="displayName ne")),
    Proof(q("test_group_filter_by_member"),
          RewriteFilter("GET", GROUPS, pattern=r' and members\.value eq "[^"]*"', replacement="")),
    Proof(q("test_user_filter_by_group_membership"),
          RewriteFilter("GET", USERS, pattern=r"groups\.value eq", replacement="groups.value ne")),
    Proof(q("test_group_query_with_attributes"),
          EditParam("GET", GROUPS, param="attributes", drop=True)),
    Proof(q("test_group_query_without_members"),
          EditParam("GET", GROUPS, param="excludedAttributes", drop=True)),
    # sorting
    Proof(q("test_sort_by_string"), EditParam("GET", USERS, param="sortOrder", drop=True)),
    Proof(q("test_sort_order_defaults_to_ascending"),
          EditParam("GET", USERS, param="sortOrder", add="descending")),
    Proof(q("test_sort_follows_case_exactness"),
          EditJson("GET", USERS, query="sortBy=displayName", name="case-sensitive order",
                   edit=_sorted_by(lambda r: str(r.get("displayName", ""))))),
    Proof(q("test_sort_by_any_spelling_of_the_attribute"),
          Refuse("GET", USERS, query=r"sortBy=(NAME|urn)", scim_type="invalidValue")),
    Proof(q("test_sort_by_extension_attribute"),
          EditJson("GET", USERS, query="sortBy=urn", name="reversed",
                   edit=list_edit(lambda rs: rs[::-1]))),
    Proof(q("test_sort_multi_valued_by_primary_value"),
          EditJson("GET", USERS, query="sortBy=emails", name="first value, not primary",
                   edit=_sorted_by(_first_email))),
    Proof(q("test_sort_by_datetime"),
          EditJson("GET", USERS, query="sortBy=meta.created", name="reversed",
                   edit=list_edit(lambda rs: rs[::-1]))),
    Proof(q("test_sort_puts_missing_values_last_ascending"),
          EditJson("GET", USERS, query="sortBy=title", name="no title first",
                   edit=_sorted_by(lambda r: "title" in r))),
    # paging
    Proof(q("test_count_limits_the_page"), EditParam("GET", USERS, param="count", drop=True)),
    Proof(q("test_count_limits_an_unfiltered_list"),
          EditJson("GET", USERS, name="no itemsPerPage", edit=_without("itemsPerPage"))),
    Proof(q("test_count_zero_returns_only_the_total"),
          EditParam("GET", USERS, param="count", pattern=r"^0$", replacement="2")),
    Proof(q("test_negative_count_is_zero"),
          EditParam("GET", USERS, param="count", pattern=r"^-\d+$", replacement="10")),
    Proof(q("test_start_index_below_one_is_one"),
          EditParam("GET", USERS, param="startIndex", pattern=r"^(0|-\d+)$", replacement="2")),
    Proof(q("test_start_index_is_one_based"), EditParam("GET", USERS, param="startIndex", shift=1)),
    Proof(q("test_paging_sorted_sees_each_resource_once"),
          EditParam("GET", USERS, param="startIndex", shift=1)),
    Proof(q("test_paging_unsorted_sees_each_resource_once"),
          EditParam("GET", USERS, param="startIndex", shift=1)),
    Proof(q("test_total_results_is_stable_across_pages"),
          EditJson("GET", USERS, name="totalResults counts the page",
                   edit=_counts(lambda b: dict(b, totalResults=len(b.get("Resources", [])))))),
    Proof(q("test_items_per_page_counts_the_page"),
          EditJson("GET", USERS, name="itemsPerPage is the total",
                   edit=_counts(lambda b: dict(b, itemsPerPage=b["totalResults"])))),
    Proof(q("test_start_index_past_the_end_is_an_empty_page"),
          ReplaceBody("GET", USERS, query="startIndex=9", body=error_body(404), content_type=SCIM,
                      status=404)),
    Proof(q("test_count_above_max_results_is_capped"),
          Refuse("GET", USERS, query=r"count=\d{4,}", scim_type="tooMany")),
    Proof(q("test_unknown_query_parameter_is_ignored"),
          Refuse("GET", USERS, query="scimtestUnknownParameter", scim_type="invalidValue")),
    # the ListResponse
    Proof(q("test_list_response_schema_urn"),
          EditJson("GET", "/(Users|Groups)", name="no schemas", edit=_without("schemas"))),
    Proof(q("test_list_response_matches_its_schema"),
          EditJson("GET", USERS, name="totalResults as a string",
                   edit=_counts(lambda b: dict(b, totalResults=str(b["totalResults"]))))),
    Proof(q("test_total_results_and_resources_are_present"),
          EditJson("GET", USERS, name="no totalResults", edit=_without("totalResults"))),
    # attributes and excludedAttributes
    Proof(q("test_attributes_returns_only_those_and_always"),
          EditParam("GET", USERS, param="attributes", drop=True)),
    Proof(q("test_attributes_lists_several_names"),
          EditParam("GET", USERS, param="attributes", pattern=r",.*", replacement="")),
    Proof(q("test_attributes_selects_a_sub_attribute"),
          EditParam("GET", USERS, param="attributes", pattern=r"^name\.givenName$",
                    replacement="name")),
    Proof(q("test_attributes_in_any_spelling"),
          Refuse("GET", USERS, query=r"attributes=urn", scim_type="invalidValue")),
    Proof(q("test_attributes_selects_an_extension_attribute"),
          EditParam("GET", USERS, param="attributes", drop=True)),
    Proof(q("test_excluded_attributes_removes_defaults"),
          EditParam("GET", USERS, param="excludedAttributes", drop=True)),
    Proof(q("test_excluded_attributes_removes_a_sub_attribute"),
          EditParam("GET", USERS, param="excludedAttributes", pattern=r"^name\.familyName$",
                    replacement="name")),
    Proof(q("test_excluded_attributes_keeps_returned_always"),
          EditJson("GET", USERS, query="excludedAttributes=id", name="id excluded",
                   edit=list_edit(lambda rs: [{k: v for k, v in r.items() if k != "id"}
                                              for r in rs]))),
    Proof(q("test_projection_applies_to_a_single_resource"),
          EditParam("GET", "/Users/.+", param="attributes", drop=True)),
    Proof(q("test_filter_applies_to_attributes_not_selected"),
          EditJson("GET", USERS, query=r"attributes=userName&|attributes=userName$",
                   name="filter evaluated on the projection", edit=EMPTY)),
    Proof(q("test_sort_applies_to_attributes_not_selected"),
          EditJson("GET", USERS, query=r"sortBy=name.familyName.*attributes=userName",
                   name="sort ignored for unselected attributes",
                   edit=list_edit(lambda rs: rs[::-1]))),
    # root queries
    Proof(q("test_root_query_spans_resource_types"),
          EditJson("GET", ROOT, name="groups left out",
                   edit=list_edit(lambda rs: [r for r in rs if "userName" in r]))),
    Proof(q("test_root_query_filters_by_resource_type"),
          RewriteFilter("GET", ROOT, pattern=r'meta\.resourceType eq "Group"',
                        replacement='meta.resourceType eq "User"')),
    Proof(q("test_root_query_on_an_attribute_one_type_lacks"),
          Refuse("GET", ROOT, query=r"filter=userName")),
]  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """This module's reference server, behind a switchboard that forwards rewritten queries."""
    with served_query_reference(tmp_path_factory.mktemp("query-reference")) as served:
        yield served


@pytest.mark.parametrize(
    "proofs", by_defect(PROOFS), ids=lambda ps: "+".join(p.function for p in ps)
)
def test_checks_are_proven(reference: Reference, proofs: list[Proof]) -> None:
    prove_together(reference, proofs)
