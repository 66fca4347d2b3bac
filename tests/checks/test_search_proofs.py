"""Proofs for harness/suite/test_search.py: each check fails against its defect.

The defects rewrite SearchRequest members (the body of POST .search) or the ListResponse;
they run against a reference server behind a `QuerySwitchboard`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from defects.catalog import EditJson, RewriteStatus
from defects.proving import Proof, Reference
from defects.query_defects import (
    EditParam,
    NoMatchIs404,
    RewriteFilter,
    by_defect,
    list_edit,
    prove_together,
    served_query_reference,
)

USERS = r"/Users/\.search"
GROUPS = r"/Groups/\.search"
ROOT = r"/\.search"
SCIM = "application/scim+json"


def _without(name: str) -> Any:
    return lambda body: {k: v for k, v in body.items() if k != name}


def s(check: str) -> str:
    return f"test_search::{check}"


PROOFS = [
    Proof(s("test_search_returns_the_matches"),
          RewriteFilter("POST", USERS, pattern=r"userName sw", replacement="userName ew")),
    Proof(s("test_search_answers_a_list_response"),
          EditJson("POST", USERS, name="no schemas", edit=_without("schemas"))),
    Proof(s("test_search_filter_selects_exactly_the_matches"),
          RewriteFilter("POST", USERS, pattern=r" or ", replacement=" and ")),
    Proof(s("test_search_without_match_is_200_with_zero_total"),
          NoMatchIs404("POST", USERS)),
    Proof(s("test_search_attributes_select_the_returned_attributes"),
          EditParam("POST", USERS, param="attributes", drop=True)),
    Proof(s("test_search_excluded_attributes_remove_defaults"),
          EditParam("POST", USERS, param="excludedAttributes", drop=True)),
    Proof(s("test_search_excluded_attributes_keep_returned_always"),
          EditJson("POST", USERS, name="id excluded",
                   edit=list_edit(lambda rs: [{k: v for k, v in r.items() if k != "id"}
                                              for r in rs]))),
    Proof(s("test_search_sorts"), EditParam("POST", USERS, param="sortOrder", drop=True)),
    Proof(s("test_search_sort_order_defaults_to_ascending"),
          EditParam("POST", USERS, param="sortOrder", add="descending")),
    Proof(s("test_search_pages_with_start_index_and_count"),
          EditParam("POST", USERS, param="startIndex", shift=1)),
    Proof(s("test_search_out_of_range_paging_is_clamped"),
          EditParam("POST", USERS, param="startIndex", pattern=r"^(0|-\d+)$", replacement="3")),
    Proof(s("test_search_count_zero_returns_only_the_total"),
          EditParam("POST", USERS, param="count", pattern=r"^0$", replacement="2")),
    Proof(s("test_search_creates_nothing"),
          RewriteStatus("POST", USERS, from_status=200, to_status=201)),
    Proof(s("test_search_unknown_operator_is_invalid_filter"),
          EditJson("POST", USERS, name="no scimType", edit=_without("scimType"))),
    Proof(s("test_search_malformed_filter_is_refused"),
          RewriteStatus("POST", USERS, from_status=400, to_status=200)),
    Proof(s("test_search_malformed_body_is_refused"),
          RewriteStatus("POST", USERS, from_status=400, to_status=200)),
    Proof(s("test_group_search_returns_only_groups"),
          RewriteFilter("POST", GROUPS, pattern=r"displayName co", replacement="displayName ew")),
    Proof(s("test_root_search_spans_resource_types"),
          EditJson("POST", ROOT, name="groups left out",
                   edit=list_edit(lambda rs: [r for r in rs if "userName" in r]))),
]  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reference]:
    """This module's reference server, behind a switchboard that forwards rewritten queries."""
    with served_query_reference(tmp_path_factory.mktemp("search-reference")) as served:
        yield served


@pytest.mark.parametrize(
    "proofs", by_defect(PROOFS), ids=lambda ps: "+".join(p.function for p in ps)
)
def test_checks_are_proven(reference: Reference, proofs: list[Proof]) -> None:
    prove_together(reference, proofs)
