"""Proofs for harness/suite/test_etag.py: each check fails against its defect."""

from __future__ import annotations

from typing import Any

import pytest
from defects.bulk_etag_defects import (
    AlwaysNotModified,
    DropHeaderOn,
    DropRequestHeader,
    ErrorStatus,
    FirstTagOnly,
    RandomEtag,
    ReplaceRequestHeader,
    StrongIfNoneMatch,
    constant_version,
)
from defects.catalog import DropHeader, EditJson, SetHeader
from defects.proving import Proof, Reference, prove

USERS = "/Users.*"


def _no_version(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("meta"), dict):
        body["meta"].pop("version", None)
    return body


def _listed_version(body: Any) -> Any:
    for resource in body.get("Resources", []):
        resource.setdefault("meta", {})["version"] = 'W/"listed"'
    return body


PROOFS = [
    Proof("test_etag::test_response_carries_etag", DropHeader("*", USERS, header="etag")),
    Proof("test_etag::test_etag_is_an_entity_tag",
          SetHeader("*", USERS, header="etag", value='w/"1"')),
    Proof("test_etag::test_meta_version_is_present",
          EditJson("*", USERS, name="no meta.version", edit=_no_version)),
    Proof("test_etag::test_etag_equals_meta_version", constant_version('W/"other"')),
    Proof("test_etag::test_write_etag_is_the_new_version",
          SetHeader("PUT", USERS, header="etag", value='W/"0"')),
    Proof("test_etag::test_listed_version_is_the_etag",
          EditJson("GET", "/Users", query="filter", name="listed version", edit=_listed_version)),
    Proof("test_etag::test_etag_stable_across_reads", RandomEtag("GET", USERS)),
    Proof("test_etag::test_etag_changes_after_write",
          SetHeader("GET", USERS, header="etag", value='W/"constant"')),
    Proof("test_etag::test_group_etag_changes_with_membership",
          SetHeader("GET", "/Groups.*", header="etag", value='W/"constant"')),
    Proof("test_etag::test_if_none_match_current_is_304",
          DropRequestHeader("GET", USERS, header="if-none-match")),
    Proof("test_etag::test_not_modified_carries_etag", DropHeaderOn("GET", USERS, status=304)),
    Proof("test_etag::test_if_none_match_stale_is_200", AlwaysNotModified("GET", USERS)),
    Proof("test_etag::test_if_none_match_compares_weakly", StrongIfNoneMatch("GET", USERS)),
    Proof("test_etag::test_if_none_match_list_matches_any", FirstTagOnly("GET", USERS)),
    Proof("test_etag::test_stale_if_match_is_refused",
          DropRequestHeader("*", USERS, header="if-match")),
    Proof("test_etag::test_stale_if_match_is_412",
          ErrorStatus("*", USERS, from_status=412, to_status=409)),
    Proof("test_etag::test_current_if_match_is_applied",
          ReplaceRequestHeader("*", USERS, header="if-match", value='W/"999999"')),
    Proof("test_etag::test_group_carries_etag_equal_to_meta_version",
          DropHeader("GET", "/Groups/.+", header="etag")),
    Proof("test_etag::test_stale_if_match_on_group_is_refused",
          DropRequestHeader("PUT", "/Groups/.+", header="if-match")),
    Proof("test_etag::test_if_match_on_unknown_resource_is_404",
          ErrorStatus("DELETE", USERS, from_status=404, to_status=412)),
]  # fmt: skip


@pytest.mark.parametrize("proof", PROOFS, ids=[p.function for p in PROOFS])
def test_check_is_proven(reference: Reference, proof: Proof) -> None:
    prove(reference, proof)
